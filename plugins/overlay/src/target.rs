//! One kustomization directory: accumulating its resources, bases and
//! components, then running its generators and transformers.

use std::path::{Path, PathBuf};

use kiln_sdk::Error;
use serde_json::Value;

use crate::fieldspec::TransformerConfig;
use crate::kustomization::Kustomization;
use crate::loader::{KUSTOMIZATION_FILES, Loader};
use crate::res::Res;
use crate::resmap::{self, ResMap};
use crate::vars;
use crate::vars::Var;

/// State shared by the whole build.
#[derive(Debug, Default)]
pub(crate) struct Ctx {
    /// Kustomization directories being built, outermost first.
    pub visiting: Vec<PathBuf>,
    /// Whether resources carry origin annotations.
    pub origins: bool,
    /// Whether resources record the transformers applied to them.
    pub transformations: bool,
    /// A custom `OpenAPI` document giving merge keys of custom types.
    pub schema: Option<Value>,
}

/// Resources, field specs and variables gathered so far.
#[derive(Debug, Default)]
pub(crate) struct Acc {
    pub res: ResMap,
    pub config: std::sync::Arc<TransformerConfig>,
    pub vars: Vec<Var>,
}

/// A loaded kustomization.
pub(crate) struct Target {
    pub ldr: Loader,
    pub kust: Kustomization,
    pub file: String,
    /// Path of this directory relative to the top one, for origin annotations.
    pub origin: String,
}

/// Builds an error naming a file, with a hint.
pub(crate) fn fail(msg: impl std::fmt::Display, file: &str, hint: &str) -> Error {
    let mut e = Error::bad_input(msg.to_string()).with_file(file);
    if !hint.is_empty() {
        e = e.with_hint(hint);
    }
    e
}

pub(crate) fn join_origin(base: &str, rel: &str) -> String {
    let joined = crate::loader::clean(&Path::new(base).join(rel));
    joined.to_string_lossy().into_owned()
}

impl Target {
    /// Loads the kustomization file of `ldr.dir`.
    pub(crate) fn load(ctx: &mut Ctx, ldr: Loader, origin: String) -> Result<Self, Error> {
        let dir_name = ldr.display(&ldr.dir);
        let found: Vec<&str> = KUSTOMIZATION_FILES
            .iter()
            .copied()
            .filter(|f| ldr.is_file(&ldr.dir.join(f)))
            .collect();
        let file = match found.as_slice() {
            [] => {
                return Err(fail(
                    format!(
                        "unable to find one of 'kustomization.yaml', 'kustomization.yml' or 'Kustomization' in directory '{dir_name}'"
                    ),
                    &dir_name,
                    "add a kustomization.yaml to the directory, or point `path` at one that has it",
                ));
            }
            [f] => (*f).to_owned(),
            _ => {
                return Err(fail(
                    format!("Found multiple kustomization files under: {dir_name}"),
                    &dir_name,
                    "keep only one kustomization file",
                ));
            }
        };
        let shown = ldr.display(&ldr.dir.join(&file));
        let text = ldr.read_string(&file).map_err(|e| fail(e, &shown, ""))?;
        let doc = crate::yaml::one(&text, &shown)?;
        let kust = Kustomization::from_value(&doc).map_err(|e| {
            fail(e, &shown, "remove or rename the field; see the kustomization reference for the accepted fields")
        })?;
        let required = if kust.is_component() {
            "kustomize.config.k8s.io/v1alpha1"
        } else {
            "kustomize.config.k8s.io/v1beta1"
        };
        if !kust.kind.is_empty() && kust.kind != "Kustomization" && kust.kind != "Component" {
            return Err(fail(
                format!(
                    "Failed to read kustomization file under {dir_name}:\nkind should be Kustomization or Component"
                ),
                &shown,
                "set `kind: Kustomization` or `kind: Component`",
            ));
        }
        if !kust.api_version.is_empty() && kust.api_version != required {
            let kind = if kust.kind.is_empty() {
                "Kustomization"
            } else {
                &kust.kind
            };
            return Err(fail(
                format!(
                    "Failed to read kustomization file under {dir_name}:\napiVersion for {kind} should be {required}"
                ),
                &shown,
                "fix the `apiVersion` of the kustomization",
            ));
        }
        if !kust.validators.is_empty() {
            return Err(fail(
                "validators are not supported by the overlay plugin",
                &shown,
                "validate the rendered output in a later pipeline step instead",
            ));
        }
        if !kust.helm_charts.is_empty() || !kust.helm_chart_inflation_generator.is_empty() {
            return Err(fail(
                "helmCharts are not supported by the overlay plugin",
                &shown,
                "render the chart with a helm step before the overlay step",
            ));
        }
        let openapi_path = kust
            .openapi
            .iter()
            .find(|(k, _)| k == "path")
            .map(|(_, v)| v.clone());
        let openapi_version = kust.openapi.iter().any(|(k, _)| k == "version");
        if openapi_path.is_some() && openapi_version {
            return Err(fail(
                "builtin version and custom schema provided, cannot use both",
                &shown,
                "keep either `openapi.path` or `openapi.version`",
            ));
        }
        if let Some((_, v)) = kust.openapi.iter().find(|(k, _)| k == "version")
            && v != "v1.21.2"
        {
            return Err(fail(
                format!("the specified OpenAPI version {v:?} is not built in"),
                &shown,
                "use `openapi.version: v1.21.2` or give a schema file with `openapi.path`",
            ));
        }
        if let Some(p) = openapi_path {
            let text = ldr
                .read_string(&p)
                .map_err(|e| fail(e, &shown, "check the `openapi.path` of the kustomization"))?;
            let schema = crate::yaml::one(&text, &p)?;
            if ctx.schema.is_none() {
                ctx.schema = Some(schema);
            }
        }
        Ok(Self {
            ldr,
            kust,
            file,
            origin,
        })
    }

    /// The kustomization file, relative to the source root.
    pub(crate) fn shown(&self) -> String {
        self.ldr.display(&self.ldr.dir.join(&self.file))
    }

    /// Gathers everything this kustomization makes on top of `acc`.
    pub(crate) fn accumulate(&self, ctx: &mut Ctx, mut acc: Acc) -> Result<Acc, Error> {
        let shown = self.shown();
        for path in &self.kust.resources {
            self.accumulate_resource(ctx, &mut acc, path)?;
        }
        // Field specs of configuration files come first, so that a built-in spec
        // they cover (same path, a kind they name) is dropped, as kustomize does.
        let mut config = TransformerConfig::default();
        for c in &self.kust.configurations {
            let text = self
                .ldr
                .read_string(c)
                .map_err(|e| fail(e, &shown, "check the `configurations` entry"))?;
            let v = crate::yaml::one(&text, c)?;
            config.merge(&TransformerConfig::from_value(&v));
        }
        for c in &self.kust.crds {
            let text = self
                .ldr
                .read_string(c)
                .map_err(|e| fail(e, &shown, "check the `crds` entry"))?;
            let v = crate::yaml::one(&text, c)?;
            config.merge(&crate::crds::config_from_crds(&v));
        }
        let config = if config == TransformerConfig::default() {
            TransformerConfig::defaults()
        } else {
            config.merge(&TransformerConfig::defaults());
            std::sync::Arc::new(config)
        };
        TransformerConfig::absorb(&mut acc.config, config);
        self.run_generators(ctx, &mut acc)?;
        for path in &self.kust.components {
            let ldr = self
                .ldr
                .sub(path)
                .map_err(|e| fail(e, &shown, "check the `components` entry"))?;
            if ldr.is_file(&ldr.dir) {
                return Err(fail(
                    format!(
                        "accumulating components: must build at directory: '{path}': file is not directory"
                    ),
                    &shown,
                    "list component directories under `components`; files go under `resources`",
                ));
            }
            let origin = join_origin(&self.origin, path);
            let sub = self.enter(ctx, ldr, origin)?;
            if !sub.kust.is_component() {
                let root = sub.ldr.display(&sub.ldr.dir);
                ctx.visiting.pop();
                return Err(fail(
                    format!(
                        "accumulating components: accumulateDirectory: \"expected kind 'Component' for path '{root}' but got '{}'\"",
                        sub.kust.kind
                    ),
                    &sub.shown(),
                    "set `kind: Component` in the component's kustomization",
                ));
            }
            acc = sub.accumulate(ctx, acc)?;
            ctx.visiting.pop();
        }
        self.run_transformers(ctx, &mut acc)?;
        let incoming: Vec<Var> = self
            .kust
            .vars
            .iter()
            .map(Var::from_value)
            .collect::<Result<_, _>>()
            .map_err(|e| fail(e, &shown, ""))?;
        vars::merge(&mut acc.res, &mut acc.vars, &incoming)
            .map_err(|e| fail(e, &shown, "give each var a unique name and a unique target"))?;
        Ok(acc)
    }

    pub(crate) fn enter(
        &self,
        ctx: &mut Ctx,
        ldr: Loader,
        origin: String,
    ) -> Result<Target, Error> {
        if let Some(v) = ctx.visiting.iter().find(|v| v.starts_with(&ldr.dir)) {
            return Err(fail(
                format!(
                    "cycle detected: candidate root '{}' contains visited root '{}'",
                    ldr.display(&ldr.dir),
                    ldr.display(v)
                ),
                &self.shown(),
                "kustomizations must not include themselves or a directory above them",
            ));
        }
        ctx.visiting.push(ldr.dir.clone());
        match Target::load(ctx, ldr, origin) {
            Ok(t) => Ok(t),
            Err(e) => {
                ctx.visiting.pop();
                Err(e)
            }
        }
    }

    fn accumulate_resource(&self, ctx: &mut Ctx, acc: &mut Acc, path: &str) -> Result<(), Error> {
        let shown = self.shown();
        let full = self.ldr.resolve(path).map_err(|e| {
            fail(
                format!("accumulating resources: {e}"),
                &shown,
                "resources must be local files or directories inside the source tree",
            )
        })?;
        if full.is_dir() {
            let ldr = self.ldr.sub(path).map_err(|e| fail(e, &shown, ""))?;
            let origin = join_origin(&self.origin, path);
            let sub = self
                .enter(ctx, ldr, origin)
                .map_err(|e| prefix_err(e, &format!("accumulating resources from '{path}'")))?;
            if sub.kust.is_component() {
                ctx.visiting.pop();
                return Err(fail(
                    format!(
                        "accumulating resources: expected kind != 'Component' for path '{}'",
                        sub.ldr.display(&sub.ldr.dir)
                    ),
                    &shown,
                    "list components under `components`",
                ));
            }
            let sub_acc = sub.accumulate(ctx, Acc::default())?;
            ctx.visiting.pop();
            resmap::append_all(&mut acc.res, sub_acc.res).map_err(|e| {
                fail(
                    format!("accumulating resources: {e}"),
                    &shown,
                    "two bases define the same object; give one a namePrefix or nameSuffix",
                )
            })?;
            TransformerConfig::absorb(&mut acc.config, sub_acc.config);
            vars::merge_set(&mut acc.vars, &sub_acc.vars)
                .map_err(|e| fail(e, &shown, "give each var a unique name"))?;
            return Ok(());
        }
        if !self.ldr.is_file(&full) {
            return Err(fail(
                format!(
                    "accumulating resources: resource '{path}' not found in '{}'",
                    self.ldr.display(&self.ldr.dir)
                ),
                &shown,
                "create the file or directory, or remove it from `resources`",
            ));
        }
        let text = self.ldr.read_string(path).map_err(|e| fail(format!("accumulating resources: {e}"), &shown, "keep resource files in or below the kustomization directory; reference other directories as bases"))?;
        let file = self.ldr.display(&full);
        let docs = crate::yaml::stream(&text, &file)?;
        // Paths into each document hold while no List is flattened.
        let mut empty = crate::yaml::empty_values(&text)
            .filter(|e| {
                let list = |d: &Value| {
                    d.get("kind")
                        .and_then(Value::as_str)
                        .is_some_and(|k| k.ends_with("List"))
                };
                e.len() == docs.len() && !docs.iter().any(list)
            })
            .unwrap_or_default()
            .into_iter();
        let docs = kiln_sdk::flatten_lists(docs);
        for d in docs {
            if !d.is_object() {
                return Err(fail(
                    format!("accumulating resources from '{path}': document is not a mapping"),
                    &file,
                    "",
                ));
            }
            let mut r = Res::new(d);
            r.empty_values = empty.next().unwrap_or_default();
            // kustomize keeps label values as written (`i: 1` stays an int);
            // annotations it rewrites as strings.
            {
                let field = "annotations";
                let map = r.string_map(field);
                if map.values().any(|v| !v.is_string()) {
                    let fixed = map.into_iter().map(|(k, v)| {
                        let text = crate::res::scalar_text(&v).unwrap_or_default();
                        (k, Value::String(text))
                    });
                    r.set_string_map(field, fixed.collect());
                }
            }
            if ctx.origins {
                r.origin = Some(format!("path: {}\n", join_origin(&self.origin, path)));
            }
            resmap::append(&mut acc.res, r).map_err(|e| {
                fail(
                    format!("accumulating resources from '{path}': {e}"),
                    &shown,
                    "each object may be listed once",
                )
            })?;
        }
        Ok(())
    }
}

fn prefix_err(mut e: Error, prefix: &str) -> Error {
    e.message = format!("{prefix}: {}", e.message);
    e
}
