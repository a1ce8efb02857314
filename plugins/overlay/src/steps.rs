//! The transformer stage of a kustomization, in kustomize's order, and
//! builtin plugin configurations listed in the kustomization.

use kiln_sdk::Error;
use serde_json::Value;

use crate::fieldspec::FieldSpec;
use crate::resmap::ResMap;
use crate::target::{Acc, Ctx, Target, fail, join_origin};
use crate::{generators, patch, plugins, replacements, resmap, transformers};

impl Target {
    pub(crate) fn run_generators(&self, ctx: &mut Ctx, acc: &mut Acc) -> Result<(), Error> {
        let shown = self.shown();
        let global = self.kust.generator_options.as_ref();
        for (kind, list) in [
            ("ConfigMap", &self.kust.config_map_generator),
            ("Secret", &self.kust.secret_generator),
        ] {
            for args in list {
                let opts = generators::merge_options(args.options.as_ref(), global);
                let mut r = generators::generate(&self.ldr, kind, args, &opts)
                    .map_err(|e| fail(e, &shown, "check the generator's sources"))?;
                if ctx.origins {
                    r.origin = Some(format!(
                        "configuredIn: {}\nconfiguredBy:\n  apiVersion: builtin\n  kind: {kind}Generator\n",
                        join_origin(&self.origin, &self.file)
                    ));
                }
                resmap::absorb(&mut acc.res, r).map_err(|e| fail(e, &shown, "use `behavior: merge` or `behavior: replace` to change an inherited object"))?;
            }
        }
        for (cfg, from) in self.plugin_configs(ctx, &self.kust.generators)? {
            let made =
                plugins::generate(&self.ldr, &cfg, global).map_err(|e| fail(e, &shown, ""))?;
            for mut r in made {
                if ctx.origins {
                    let kind = cfg.get("kind").and_then(Value::as_str).unwrap_or_default();
                    let name = crate::res::str_at(&cfg, &["metadata", "name"]).unwrap_or_default();
                    let ns = crate::res::str_at(&cfg, &["metadata", "namespace"])
                        .map(|n| format!("  namespace: {n}\n"))
                        .unwrap_or_default();
                    r.origin = Some(format!(
                        "configuredIn: {from}\nconfiguredBy:\n  apiVersion: builtin\n  kind: {kind}\n  name: {name}\n{ns}"
                    ));
                }
                resmap::absorb(&mut acc.res, r).map_err(|e| fail(e, &shown, ""))?;
            }
        }
        Ok(())
    }

    pub(crate) fn run_transformers(&self, ctx: &mut Ctx, acc: &mut Acc) -> Result<(), Error> {
        let shown = self.shown();
        let k = &self.kust;
        let tc = &acc.config;
        let schema_owned = ctx.schema.clone();
        let schema = schema_owned.as_ref();
        let m = &mut acc.res;
        let pe = |e: patch::Error| fail(e, &shown, "check the patch and the object it targets");
        let te = |e: transformers::Error| fail(e, &shown, "");
        let here = join_origin(&self.origin, &self.file);
        let track = ctx.transformations;
        let note = |m: &mut ResMap, kind: &str| {
            if track {
                let entry = entry(&here, "builtin", kind, "", "");
                for r in m.iter_mut() {
                    r.transformations.push(entry.clone());
                }
            }
        };
        if !k.patches_strategic_merge.is_empty() {
            let patches = patch::load_psm(&self.ldr, &k.patches_strategic_merge).map_err(pe)?;
            patch::strategic_merge_by_id(m, &patches, (false, false), schema).map_err(pe)?;
            note(m, "PatchStrategicMergeTransformer");
        }
        for (i, p) in k.patches.iter().enumerate() {
            patch::patch_entry(m, &self.ldr, p, i, schema).map_err(pe)?;
            note(m, "PatchTransformer");
        }
        if !k.namespace.is_empty() {
            transformers::namespace(m, &k.namespace, &tc.namespace, "", false).map_err(te)?;
            note(m, "NamespaceTransformer");
        }
        if !k.name_prefix.is_empty() {
            transformers::prefix_suffix(m, &k.name_prefix, "", &tc.name_prefix).map_err(te)?;
            note(m, "PrefixTransformer");
        }
        if !k.name_suffix.is_empty() {
            transformers::prefix_suffix(m, "", &k.name_suffix, &tc.name_suffix).map_err(te)?;
            note(m, "SuffixTransformer");
        }
        for label in &k.labels {
            let mut fss: Vec<FieldSpec> = label
                .fields
                .iter()
                .filter_map(FieldSpec::from_value)
                .collect();
            let mut add = |more: &[FieldSpec]| {
                for f in more {
                    if !fss.iter().any(|x| x.gvk == f.gvk && x.path == f.path) {
                        fss.push(f.clone());
                    }
                }
            };
            add(&tc.labels);
            if label.include_selectors {
                add(&tc.common_labels);
            } else {
                if label.include_templates {
                    add(&tc.template_labels);
                }
                if label
                    .include_volume_claim_templates
                    .unwrap_or(label.include_templates)
                {
                    add(&[FieldSpec::with(
                        "apps",
                        "",
                        "StatefulSet",
                        "spec/volumeClaimTemplates[]/metadata/labels",
                        true,
                    )]);
                }
                add(&[FieldSpec::new("", "metadata/labels", true)]);
            }
            transformers::string_map(m, &label.pairs, &fss).map_err(te)?;
            note(m, "LabelTransformer");
        }
        if !k.labels.is_empty() || !k.common_labels.is_empty() {
            transformers::string_map(m, &k.common_labels, &tc.common_labels).map_err(te)?;
            note(m, "LabelTransformer");
        }
        if !k.common_annotations.is_empty() {
            transformers::string_map(m, &k.common_annotations, &tc.common_annotations)
                .map_err(te)?;
            note(m, "AnnotationsTransformer");
        }
        for p in &k.patches_json6902 {
            let target = p.target.clone().unwrap_or_default();
            if target.name.is_empty() {
                return Err(fail(
                    "must specify the target name",
                    &shown,
                    "give each patchesJson6902 entry a target with a name",
                ));
            }
            let (text, src) = if p.path.is_empty() {
                (p.patch.clone(), "inline patch".to_owned())
            } else {
                (
                    self.ldr
                        .read_string(&p.path)
                        .map_err(|e| fail(e, &shown, ""))?,
                    p.path.clone(),
                )
            };
            let ops = crate::yaml::one(&text, &src)?;
            patch::json6902(m, &ops, &target, &src, false).map_err(pe)?;
            note(m, "PatchJson6902Transformer");
        }
        for r in &k.replicas {
            transformers::replicas(m, r, &tc.replicas).map_err(te)?;
            note(m, "ReplicaCountTransformer");
        }
        for img in &k.images {
            transformers::images(m, img, &tc.images).map_err(te)?;
            note(m, "ImageTagTransformer");
        }
        if !k.replacements.is_empty() {
            let list = plugins::load_replacements(&self.ldr, &k.replacements)
                .map_err(|e| fail(e, &shown, ""))?;
            replacements::apply(m, &list)
                .map_err(|e| fail(e, &shown, "check the replacement's source and targets"))?;
            note(m, "ReplacementTransformer");
        }
        for (cfg, from) in self.plugin_configs(ctx, &k.transformers)? {
            plugins::transform(m, &self.ldr, &cfg, tc, schema).map_err(|e| {
                fail(
                    e,
                    &shown,
                    "only kustomize's builtin transformers can run inside the overlay plugin",
                )
            })?;
            if track {
                let text = |p: &[&str]| crate::res::str_at(&cfg, p).unwrap_or_default();
                let e = entry(
                    &from,
                    &text(&["apiVersion"]),
                    &text(&["kind"]),
                    &text(&["metadata", "name"]),
                    &text(&["metadata", "namespace"]),
                );
                for r in m.iter_mut() {
                    r.transformations.push(e.clone());
                }
            }
        }
        Ok(())
    }

    /// Plugin configurations: inline objects, files, or kustomization directories.
    pub(crate) fn plugin_configs(
        &self,
        ctx: &mut Ctx,
        entries: &[String],
    ) -> Result<Vec<(Value, String)>, Error> {
        let shown = self.shown();
        let mut out = Vec::new();
        for e in entries {
            let is_dir = !e.contains('\n') && self.ldr.resolve(e).is_ok_and(|p| p.is_dir());
            if is_dir {
                let ldr = self.ldr.sub(e).map_err(|x| fail(x, &shown, ""))?;
                let sub = self.enter(ctx, ldr, join_origin(&self.origin, e))?;
                let acc = sub.accumulate(ctx, Acc::default());
                ctx.visiting.pop();
                let from = join_origin(&self.origin, e);
                out.extend(acc?.res.into_iter().map(|r| (r.obj, from.clone())));
            } else {
                let configs = plugins::load_configs(&self.ldr, std::slice::from_ref(e))
                    .map_err(|x| fail(x, &shown, ""))?;
                let from = if e.contains('\n')
                    || configs.len() > 1 && !self.ldr.resolve(e).is_ok_and(|p| self.ldr.is_file(&p))
                {
                    join_origin(&self.origin, &self.file)
                } else if self.ldr.resolve(e).is_ok_and(|p| self.ldr.is_file(&p)) {
                    join_origin(&self.origin, e)
                } else {
                    join_origin(&self.origin, &self.file)
                };
                out.extend(configs.into_iter().map(|c| (c, from.clone())));
            }
        }
        Ok(out)
    }
}

/// One entry of the transformations annotation.
fn entry(
    configured_in: &str,
    api_version: &str,
    kind: &str,
    name: &str,
    namespace: &str,
) -> String {
    let mut e = format!(
        "- configuredIn: {configured_in}\n  configuredBy:\n    apiVersion: {api_version}\n    kind: {kind}\n"
    );
    if !name.is_empty() {
        e.push_str("    name: ");
        e.push_str(name);
        e.push('\n');
    }
    if !namespace.is_empty() {
        e.push_str("    namespace: ");
        e.push_str(namespace);
        e.push('\n');
    }
    e
}
