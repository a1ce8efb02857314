wit_bindgen::generate!({ path: "wit", world: "plugin" });
use kiln::plugin::types::ErrorKind;
use serde_json::Value;

struct Plugin;
impl Guest for Plugin {
    fn info() -> PluginInfo {
        let (name, version) = (env!("CARGO_PKG_NAME").into(), env!("CARGO_PKG_VERSION").into());
        PluginInfo { name, version, description: "Sets the label `team` from `with:`".into(), config_schema: None }
    }
    fn render(req: Request) -> Result<Response, Error> {
        let fail = |kind, message: String, hint: &str| Error { kind, message, file: None, hint: Some(hint.into()) };
        let with: Value = serde_json::from_str(&req.config).unwrap_or_default();
        let team = with["team"].as_str().ok_or_else(|| fail(ErrorKind::BadConfig, "missing config key `team`".into(), "give the step `with: {team: NAME}`"))?;
        let label = |r: String| -> Result<String, Error> {
            let mut doc: Value = serde_json::from_str(&r).map_err(|e| fail(ErrorKind::BadInput, e.to_string(), "kiln sends JSON objects"))?;
            doc["metadata"]["labels"]["team"] = team.into();
            Ok(doc.to_string())
        };
        Ok(Response { resources: req.resources.into_iter().map(label).collect::<Result<_, _>>()?, diagnostics: Vec::new() })
    }
}
export!(Plugin);
