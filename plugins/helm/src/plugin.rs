//! The kiln plugin entry point.

use kiln_sdk::prelude::*;

use crate::api::{Options, render_text};

struct Helm;

impl Plugin for Helm {
    fn render(req: Request) -> Result<Response, Error> {
        let mut opts: Options = req.config_as()?;
        if opts.namespace.is_none() {
            opts.namespace.clone_from(&req.context.namespace);
        }
        if opts.kube_version.is_none() && !req.context.kube_version.is_empty() {
            opts.kube_version = Some(req.context.kube_version.clone());
        }
        if opts.api_versions.is_empty() {
            opts.api_versions.clone_from(&req.context.api_versions);
        }
        let root = std::path::Path::new(kiln_sdk::SOURCE_ROOT);
        let app = req.context.app_path();
        let text = render_text(root, &app, &opts).map_err(|e| {
            let err = Error::bad_input(e.to_string());
            match e.file() {
                Some(f) => err.with_file(f),
                None => err,
            }
        })?;
        let docs = kiln_sdk::yaml::parse_stream(&text, "helm template output")?;
        let mut resources = req.resources;
        if opts.emit_text {
            resources.push(json!({
                "apiVersion": "kiln.dev/v1alpha1",
                "kind": "RenderedText",
                "metadata": {"name": "helm"},
                "text": text,
            }));
        }
        resources.extend(docs.into_iter().filter(Value::is_object));
        Ok(Response::new(resources))
    }
}

kiln_sdk::export!(Helm);
