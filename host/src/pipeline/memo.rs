//! Rendering a local app through its memo (see [`crate::cache::MemoId`]):
//! when no file or directory the last render read has changed, its output
//! is taken from the step cache straight away, without digesting the app,
//! loading its pipeline or touching a plugin.

use crate::cache::{CacheStatus, MemoId};
use crate::runtime::{Limits, Runtime};
use crate::stamp::Watch;

use super::run::{Error, RenderOptions, Rendered, digest_while_loading, named_by_options, render};
use super::{App, StepReport, load};

/// What the memo of an app's render keeps: its step reports, the last of
/// which names the cache entry holding the output.
#[derive(serde::Serialize, serde::Deserialize)]
struct AppMemo {
    steps: Vec<MemoStep>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct MemoStep {
    step: String,
    plugin: String,
    plugin_digest: String,
    key: String,
    /// What the step's plugin had shown, to show again.
    notes: Vec<crate::runtime::Note>,
}

/// The id of the memo of rendering `app` with `opts` and default `limits`.
fn memo_id(app: &App, opts: &RenderOptions, limits: Limits) -> MemoId {
    let secrets: Vec<(&str, String)> = opts
        .secrets
        .iter()
        .map(|(name, value)| (name.as_str(), blake3::hash(value).to_hex().to_string()))
        .collect();
    let settings = serde_json::json!({
        "namespace": opts.namespace,
        "kube-version": opts.kube_version,
        "api-versions": opts.api_versions,
        "plugin-config": opts.plugin_config,
        "secrets": secrets,
        "grants": opts.grants.iter().map(|(d, n)| (d.to_hex().to_string(), n)).collect::<Vec<_>>(),
        "limits": format!("{limits:?}"),
        "ceiling": format!("{:?}", opts.ceiling),
        "source-revision": opts.source_revision,
        "source-id": opts.source_id,
        "operator-plugin-bounds": super::oci::operator_fingerprint(),
        "render-seed": opts.render_seed.as_ref().map(super::RenderSeed::id),
        "seed-scope": opts.seed_scope,
    });
    MemoId::new(
        "app-v2",
        &[
            app.root.as_os_str().as_encoded_bytes(),
            app.dir.as_bytes(),
            crate::cache::canonical(&settings).as_bytes(),
        ],
    )
}

/// Renders `app`, from its memo when nothing it read changed. Returns the
/// render and the watch of what it read (empty when there is no cache).
pub fn render_memoized(
    app: &App,
    limits: Limits,
    opts: &RenderOptions,
    runtime: &Runtime,
) -> Result<(Rendered, Watch), Error> {
    let Some(cache) = opts.cache.as_ref().filter(|_| opts.source_digest.is_none()) else {
        let pipeline = load(app, limits)?;
        return Ok((render(app, &pipeline, opts, runtime)?, Watch::default()));
    };
    let id = memo_id(app, opts, limits);
    if let Some((memo, watch)) = cache.memo::<AppMemo>(id, &app.root)
        && let Some(last) = memo.steps.last()
        && let Some(docs) = last
            .key
            .parse()
            .ok()
            .and_then(|key| cache.get(&key))
            .map(|hit| hit.resources)
        && let Ok(resources) = docs
            .iter()
            .map(|d| serde_json::from_str(d))
            .collect::<Result<Vec<_>, _>>()
    {
        tracing::debug!(app = %app.name, "nothing the app reads changed; output from the cache");
        let steps = memo
            .steps
            .into_iter()
            .inspect(|s| {
                for note in &s.notes {
                    note.emit(&s.plugin, &s.step);
                }
            })
            .map(|s| StepReport {
                step: s.step,
                plugin: s.plugin,
                plugin_digest: s.plugin_digest,
                key: s.key,
                resources: docs.len(),
                cache: CacheStatus::Unchanged,
                changed: None,
                notes: s.notes,
            })
            .collect();
        return Ok((Rendered { resources, steps }, watch));
    }
    // Stamps first, then reads: a change made meanwhile shows next time.
    let mut watch = Watch::default();
    // The pipeline read on the loading thread only picks the plugin to load;
    // the render reads `kiln.yaml` again, after its stamp was taken.
    let tree = digest_while_loading(
        app,
        || load(app, limits).ok(),
        runtime,
        || {
            crate::source::tree_digest_watched(
                &app.root,
                &app.dir,
                &named_by_options(opts),
                &mut watch,
                Some(limits.time),
            )
        },
    )
    .map_err(Error::Io)?;
    let pipeline = load(app, limits)?;
    let opts = RenderOptions {
        source_digest: Some(tree),
        ..opts.clone()
    };
    let rendered = render(app, &pipeline, &opts, runtime)?;
    let cacheable = rendered
        .steps
        .iter()
        .all(|s| matches!(s.cache, CacheStatus::Hit | CacheStatus::Miss));
    if cacheable && !rendered.steps.is_empty() {
        let memo = AppMemo {
            steps: rendered
                .steps
                .iter()
                .map(|s| MemoStep {
                    step: s.step.clone(),
                    plugin: s.plugin.clone(),
                    plugin_digest: s.plugin_digest.clone(),
                    key: s.key.clone(),
                    notes: s.notes.clone(),
                })
                .collect(),
        };
        // A snapshot's files are all new, so their stamps are too recent
        // to trust; they never change, so nothing needs watching.
        let kept = if opts.immutable_source {
            Watch::default()
        } else {
            watch.clone()
        };
        cache.put_memo(id, kept, &memo);
    } else {
        // Not memoised: the next run must not take this one's watch as valid.
        watch.mark_racy();
    }
    Ok((rendered, watch))
}
