//! The kiln plugin entry point.

use std::path::Path;

use kiln_sdk::prelude::*;

use crate::api::{Options, render_parsed};

/// The step's options with the render context's defaults filled in.
fn options(req: &Request) -> Result<Options, Error> {
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
    Ok(opts)
}

/// Renders the chart of `app` and gives the resources, in `helm template`
/// order, led by a `RenderedText` resource when `emit_text` is set.
pub fn render_resources(root: &Path, app: &Path, opts: &Options) -> Result<Vec<Value>, Error> {
    let (text, mut parsed) = render_parsed(root, app, opts).map_err(|e| {
        let err = Error::bad_input(e.to_string());
        match e.file() {
            Some(f) => err.with_file(f),
            None => err,
        }
    })?;
    let mut docs = Vec::new();
    for mut doc in crate::order::split_documents(&text) {
        // The split takes the line break before a `---`; in the printed
        // stream it still ends the document's last line (a `|` block keeps it).
        if !doc.ends_with('\n') {
            doc.push('\n');
        }
        // A manifest or hook was parsed when it was sorted; CRD files were not.
        let known = doc
            .strip_prefix("# Source: ")
            .and_then(|d| d.split_once('\n'))
            .and_then(|(_, content)| parsed.remove(content.strip_suffix('\n')?));
        match known {
            Some(value) => docs.push(value),
            None => docs.push(crate::order::parse_lenient(&doc, "helm template output")?),
        }
    }
    let mut out = Vec::with_capacity(docs.len() + 1);
    if opts.emit_text {
        out.push(json!({
            "apiVersion": "kiln.dev/v1alpha1",
            "kind": "RenderedText",
            "metadata": {"name": "helm"},
            "text": text,
        }));
    }
    out.extend(docs.into_iter().filter(Value::is_object));
    Ok(out)
}

struct Helm;

impl Plugin for Helm {
    fn render(req: Request) -> Result<Response, Error> {
        let opts = options(&req)?;
        let root = Path::new(kiln_sdk::SOURCE_ROOT);
        let mut resources = req.resources.clone();
        resources.extend(render_resources(root, &req.context.app_path(), &opts)?);
        Ok(Response::new(resources))
    }
}

kiln_sdk::export!(Helm);
