//! The stdout backend: a YAML stream or a JSON list.

use serde_json::Value;

/// The format of the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// A YAML stream, documents separated by `---`.
    #[default]
    Yaml,
    /// A JSON array of resources.
    Json,
}

/// Formats `resources`.
pub fn format(resources: &[Value], format: Format) -> String {
    match format {
        Format::Yaml => kiln_resource::yaml::to_stream(resources),
        Format::Json => {
            let mut text = Vec::with_capacity(kiln_resource::yaml::size_hint(resources));
            serde_json::to_writer_pretty(&mut text, resources)
                .expect("JSON values always serialize");
            text.push(b'\n');
            String::from_utf8(text).expect("serde_json writes UTF-8")
        }
    }
}

/// The kind of the `kiln.dev/v1alpha1` document holding text a plugin wants
/// printed in place of the YAML stream (`helm template` output, comments
/// and all).
const RENDERED_TEXT: &str = "RenderedText";

/// Separates the `kiln.dev/v1alpha1` `RenderedText` documents from the
/// resources. The text is kept, to be printed in place of the YAML stream,
/// only when the step that produced the output ran the built-in `helm`
/// plugin (`producer` is its blake3 digest, in hex: a plugin named `helm`
/// or a copy under another name does not count) and the text parses to
/// exactly the resources, in order: what a reviewer reads on stdout is then
/// what `-o json`, `--output-dir`, `diff` and `apply` use. Otherwise the
/// text is dropped and the resources are formatted.
pub fn split_rendered_text(
    resources: Vec<Value>,
    producer: Option<&str>,
) -> (Option<String>, Vec<Value>) {
    let mut text = None;
    let mut texts = 0usize;
    let rest: Vec<Value> = resources
        .into_iter()
        .filter(|r| {
            let is_text = r["apiVersion"] == "kiln.dev/v1alpha1" && r["kind"] == RENDERED_TEXT;
            if is_text {
                texts += 1;
                text = r["text"].as_str().map(str::to_owned);
            }
            !is_text
        })
        .collect();
    let helm = crate::builtin::digest("helm").map(|d| d.to_hex());
    let trusted = texts == 1 && producer.is_some() && producer == helm.as_deref();
    let text = text.filter(|t| {
        let exact = trusted
            && kiln_resource::yaml::parse_stream(t, "rendered text").is_ok_and(|docs| docs == rest);
        if !exact {
            tracing::debug!(
                "dropping a RenderedText document that is not helm's own text of the resources"
            );
        }
        exact
    });
    (text, rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text_doc(text: &str) -> Value {
        serde_json::json!({"apiVersion": "kiln.dev/v1alpha1", "kind": "RenderedText", "metadata": {"name": "helm"}, "text": text})
    }

    fn config_map(name: &str) -> Value {
        serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}})
    }

    /// Regression test for issue #12: any plugin's `RenderedText` replaced
    /// the YAML stream, whatever the resources were.
    #[test]
    fn rendered_text_passes_only_from_helm_and_only_when_exact() {
        let helm = crate::builtin::digest("helm")
            .expect("helm is built in")
            .to_hex();
        let helm = Some(helm.as_str());
        let exact =
            "# Source: c/templates/a.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n";
        let lying = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: harmless\n";
        let resources = || vec![text_doc(exact), config_map("a")];

        let (text, rest) = split_rendered_text(resources(), helm);
        assert_eq!(text.as_deref(), Some(exact));
        assert_eq!(rest, vec![config_map("a")]);

        // Another plugin's text, even one that names itself helm.
        let other = blake3::hash(b"not helm").to_hex();
        let (text, rest) = split_rendered_text(resources(), Some(other.as_str()));
        assert_eq!((text, rest.len()), (None, 1));
        assert_eq!(split_rendered_text(resources(), None).0, None);

        // Helm's text that is not the resources (a later step changed them).
        let (text, rest) = split_rendered_text(vec![text_doc(lying), config_map("a")], helm);
        assert_eq!((text, rest), (None, vec![config_map("a")]));
        let (text, _) = split_rendered_text(
            vec![text_doc(exact), config_map("a"), config_map("b")],
            helm,
        );
        assert_eq!(text, None, "an object missing from the text");
        // Two texts: neither is trusted.
        let (text, rest) = split_rendered_text(
            vec![text_doc(exact), text_doc(exact), config_map("a")],
            helm,
        );
        assert_eq!((text, rest.len()), (None, 1));
    }
}
