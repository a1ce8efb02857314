//! The digest of the part of a source tree a render may read.
//!
//! A plugin may read anything under the source root (a kustomize overlay
//! reads `../base`, a chart `file://../common`), and the host cannot see
//! which files a plugin read. Digesting the whole root would be safe but
//! would make every app of a monorepo miss the cache when any one changes.
//! So the digest covers the *closure* of the app:
//!
//! - every file, link and directory below the app directory (ignore files
//!   do not count: a plugin reads an ignored file as any other), `.git`
//!   left out;
//! - then, transitively, every path named in the text of a file already
//!   covered (or on the command line) that leaves its directory: one with
//!   a `..` component (`../base`, `./../base`, `sub/../../x`, `..`,
//!   `file://../lib`), or one under the sandbox's root (`/src/base`),
//!   each both as written (lexically, as kustomize resolves it) and as the
//!   file system resolves it through links;
//! - the target of every link met, resolved the same way.
//!
//! The walk falls back to the whole root when the text alone cannot tell
//! what a render reads: when the app's `kiln.yaml` runs a plugin of the
//! repository (its code may read any path), cannot be parsed, or a file
//! holds an escape that could spell a path (`\x2e`, `\u002f`, a
//! backslash before a line break in a quoted YAML string); and when the
//! files name more than [`MAX_REFERENCES`] such paths, as following each
//! would cost more than reading the whole root (a file of a million
//! `../xN` lines cost millions of `stat` calls).
//!
//! Files are read in chunks (a large file never sits in memory), and
//! anything but a file, a directory or a link (a FIFO, a socket, a device)
//! is refused with an error naming it: a plugin that opened one would
//! block or read without end.
//!
//! For git sources the walk runs over the snapshot of the commit's tree,
//! which the git tree id names; the caller may pass that id instead.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::io::Read as _;
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, Instant};

use crate::stamp::{Stamp, Watch};

/// Files are read, hashed and scanned in chunks of this size.
const CHUNK: usize = 1 << 20;
/// How much of the previous chunk is scanned again with the next, so that
/// a path or marker across the boundary is still found (longer than any
/// path the system opens).
const OVERLAP: usize = 8 << 10;
/// Links followed in resolving one path, as the system allows.
const MAX_HOPS: usize = 40;

/// The most references the walk follows one by one before it takes the
/// whole root instead.
const MAX_REFERENCES: usize = 4096;

/// What one walk over an app's closure found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Closure {
    /// A blake3 digest of every file and link, in path order.
    pub digest: blake3::Hash,
    /// Whether a file holds SOPS metadata (what an encrypted YAML, JSON,
    /// dotenv, INI or binary file carries).
    pub sops_files: bool,
}

/// The closure of the app at `app_dir` (relative to `root`, `.` for the
/// root itself): the app and what it references inside `root`; `named` is
/// more text to find references in, relative to the app (the plugin config
/// the command line adds, e.g. `helm -f ../values.yaml`).
pub fn tree_digest(root: &Path, app_dir: &str, named: &str) -> std::io::Result<Closure> {
    digest(root, app_dir, named, None, Clock::start(None))
}

/// [`tree_digest`] that stops with an error of kind `TimedOut` once it has
/// taken longer than `time` (the render's time bound), however large the
/// tree.
pub fn tree_digest_within(
    root: &Path,
    app_dir: &str,
    named: &str,
    time: Duration,
) -> std::io::Result<Closure> {
    digest(root, app_dir, named, None, Clock::start(Some(time)))
}

/// [`tree_digest`], also recording in `watch` the stamp of every file and
/// directory it read (taken before reading) and of every referenced path
/// that does not exist, so that a later [`Watch::holds`] tells that the
/// digest is still the same without reading anything.
pub fn tree_digest_watched(
    root: &Path,
    app_dir: &str,
    named: &str,
    watch: &mut Watch,
    time: Option<Duration>,
) -> std::io::Result<Closure> {
    digest(root, app_dir, named, Some(watch), Clock::start(time))
}

/// The time bound of a walk.
#[derive(Debug, Clone, Copy)]
struct Clock {
    at: Option<Instant>,
    time: Duration,
}

impl Clock {
    fn start(time: Option<Duration>) -> Self {
        Self {
            at: time.and_then(|t| Instant::now().checked_add(t)),
            time: time.unwrap_or_default(),
        }
    }

    /// An error once the bound has passed.
    fn check(&self, root: &Path) -> std::io::Result<()> {
        match self.at {
            Some(at) if Instant::now() >= at => Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!(
                    "reading the source tree under {} (to key the render, before any step runs) \
                     ran longer than {:?}; make the tree smaller (--root, or move large files out) \
                     or raise --timeout",
                    root.display(),
                    self.time
                ),
            )),
            _ => Ok(()),
        }
    }
}

const SOPS_MARKERS: [&[u8]; 4] = [
    b"sops_mac=ENC[",
    b"\"mac\": \"ENC[",
    b"mac: ENC[",
    b"[sops]",
];

/// Whether `bytes` look like a file encrypted by SOPS.
pub(crate) fn is_sops_file(bytes: &[u8]) -> bool {
    SOPS_MARKERS
        .iter()
        .any(|m| memchr::memmem::find(bytes, m).is_some())
}

fn digest(
    root: &Path,
    app_dir: &str,
    named: &str,
    watch: Option<&mut Watch>,
    clock: Clock,
) -> std::io::Result<Closure> {
    let mut files: BTreeMap<String, blake3::Hash> = BTreeMap::new();
    let mut sops_files = false;
    walk(root, app_dir, named, watch, clock, &mut |name, entry| {
        let hash = match entry {
            Entry::Link(target) => blake3::hash(format!("link:{}", target.display()).as_bytes()),
            Entry::File { hash, sops } => {
                sops_files |= sops;
                hash
            }
        };
        files.insert(name, hash);
    })?;
    let mut h = blake3::Hasher::new();
    h.update(&(files.len() as u64).to_le_bytes());
    for (name, digest) in &files {
        h.update(&(name.len() as u64).to_le_bytes());
        h.update(name.as_bytes());
        h.update(digest.as_bytes());
    }
    Ok(Closure {
        digest: h.finalize(),
        sops_files,
    })
}

/// A file or link met by [`walk`].
enum Entry<'a> {
    Link(&'a Path),
    File { hash: blake3::Hash, sops: bool },
}

/// What reading one file found.
#[derive(Default)]
struct Scan {
    /// Paths it names that leave its directory, as written.
    references: BTreeSet<String>,
    /// It holds an escape that could spell a path.
    escapes: bool,
    /// It holds SOPS metadata.
    sops: bool,
}

/// The paths the walk must still cover, and where it stands.
struct Queue<'r> {
    root: &'r Path,
    paths: Vec<PathBuf>,
    seen: BTreeSet<PathBuf>,
    whole_root: bool,
    /// References met so far.
    references: usize,
}

impl Queue<'_> {
    /// Queues `reference`, seen in a file of `dir` (relative to the root):
    /// as written and as the file system resolves it. A path that does not
    /// exist is recorded in `watch`, so that its appearing counts.
    fn reference(&mut self, dir: &Path, reference: &str, watch: Option<&mut Watch>) {
        if self.whole_root {
            return;
        }
        self.references += 1;
        if self.references > MAX_REFERENCES {
            self.whole_root = true;
            return;
        }
        let (base, rest) = match reference.strip_prefix("/src") {
            Some(rest) if rest.is_empty() || rest.starts_with('/') => {
                (PathBuf::new(), rest.trim_start_matches('/'))
            }
            _ => (dir.to_path_buf(), reference),
        };
        let mut watch = watch;
        for inside in [
            lexical(&base, rest),
            physical(self.root, &base, rest, watch.as_deref_mut()),
        ]
        .into_iter()
        .flatten()
        {
            if self.root.join(&inside).symlink_metadata().is_ok() {
                self.paths.push(inside);
            } else if let Some(w) = watch.as_deref_mut() {
                w.add(&slashed(&inside), None);
            }
        }
    }
}

/// Visits every file and link of the app's closure (see the module docs),
/// with its path relative to `root`.
fn walk(
    root: &Path,
    app_dir: &str,
    named: &str,
    mut watch: Option<&mut Watch>,
    clock: Clock,
    visit: &mut dyn FnMut(String, Entry<'_>),
) -> std::io::Result<()> {
    let start = if app_dir == "." {
        PathBuf::new()
    } else {
        PathBuf::from(app_dir)
    };
    let mut queue = Queue {
        root,
        paths: Vec::new(),
        seen: BTreeSet::new(),
        whole_root: false,
        references: 0,
    };
    if runs_repository_plugin(root, &start, watch.as_deref_mut()) {
        queue.whole_root = true;
    }
    // Paths the command line names for the steps (`helm -f ../values.yaml`)
    // are read as if a file of the app named them.
    let named = scan_text(named);
    queue.whole_root |= named.escapes;
    for r in &named.references {
        queue.reference(&start, r, watch.as_deref_mut());
    }
    queue.paths.push(start);
    loop {
        if queue.whole_root && !queue.seen.contains(Path::new("")) {
            queue.paths.clear();
            queue.seen.clear();
            queue.paths.push(PathBuf::new());
        }
        let Some(rel) = queue.paths.pop() else { break };
        if queue.seen.iter().any(|s| rel.starts_with(s)) {
            continue;
        }
        queue.seen.insert(rel.clone());
        let path = root.join(&rel);
        let walker = ignore::WalkBuilder::new(&path)
            .standard_filters(false)
            .follow_links(false)
            .filter_entry(|e| e.file_name() != ".git")
            .build();
        for entry in walker {
            clock.check(root)?;
            let entry = entry.map_err(std::io::Error::other)?;
            let Some(ty) = entry.file_type() else {
                continue;
            };
            let p = entry.path();
            let rel_path = p.strip_prefix(root).unwrap_or(p);
            let name = slashed(rel_path);
            if let Some(w) = watch.as_deref_mut() {
                if ty.is_dir() {
                    w.add_dir(&name, p);
                } else {
                    w.add(&name, Stamp::read(p));
                }
            }
            let dir = rel_path.parent().unwrap_or(Path::new(""));
            if ty.is_symlink() {
                let target = fs_err::read_link(p)?;
                queue.reference(dir, &target.to_string_lossy(), watch.as_deref_mut());
                visit(name, Entry::Link(&target));
            } else if ty.is_file() {
                let (hash, scan) = read_file(p, &|| clock.check(root))?;
                queue.whole_root |= scan.escapes;
                for r in &scan.references {
                    queue.reference(dir, r, watch.as_deref_mut());
                }
                visit(
                    name,
                    Entry::File {
                        hash,
                        sops: scan.sops,
                    },
                );
            } else if !ty.is_dir() {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!(
                        "{} is not a regular file, directory or link (a FIFO, socket or device); \
                         remove it from the source tree",
                        p.display()
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Whether the app's `kiln.yaml` runs a plugin of the repository (or
/// cannot be read as a pipeline): then the whole root counts.
fn runs_repository_plugin(root: &Path, app: &Path, watch: Option<&mut Watch>) -> bool {
    let rel = app.join(crate::model::file::FILE_NAME);
    let path = root.join(&rel);
    if let Some(w) = watch {
        w.add(&slashed(&rel), Stamp::read(&path));
    }
    match fs_err::symlink_metadata(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return false,
        Ok(m) if m.is_file() => {}
        _ => return true,
    }
    let Ok(text) = super::read_config(&path) else {
        return true;
    };
    crate::model::file::parse(&text, "kiln.yaml").map_or(true, |p| {
        p.steps.iter().any(|s| {
            s.plugin.contains('/')
                || Path::new(&s.plugin)
                    .extension()
                    .is_some_and(|e| e.eq_ignore_ascii_case("wasm"))
        })
    })
}

/// Hashes the file at `path` and scans it, a chunk at a time.
fn read_file(
    path: &Path,
    check: &dyn Fn() -> std::io::Result<()>,
) -> std::io::Result<(blake3::Hash, Scan)> {
    let mut file = fs_err::File::open(path)?;
    let mut hasher = blake3::Hasher::new();
    let mut scan = Scan::default();
    let mut window: Vec<u8> = Vec::new();
    // A buffer the size of the file (up to a chunk): zeroing a whole chunk
    // for every small file of a tree costs more than reading it.
    let size = file
        .metadata()
        .map_or(CHUNK as u64, |m| m.len().saturating_add(1));
    let mut chunk = vec![0u8; usize::try_from(size).map_or(CHUNK, |s| s.clamp(4 << 10, CHUNK))];
    loop {
        check()?;
        let n = file.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        hasher.update(&chunk[..n]);
        window.extend_from_slice(&chunk[..n]);
        // Most chunks name no path and escape nothing: skip them fast. A
        // reference has `..` or `/src`; every escape [`scan_text`] looks for
        // starts with a backslash and `x`, `u` or a line break.
        let may_name = [
            &b".."[..],
            b"/src",
            b"\\x",
            b"\\X",
            b"\\u",
            b"\\U",
            b"\\\n",
            b"\\\r",
        ]
        .iter()
        .any(|p| memchr::memmem::find(&window, p).is_some());
        if may_name {
            let text = String::from_utf8_lossy(&window);
            let found = scan_text(&text);
            scan.references.extend(found.references);
            scan.escapes |= found.escapes;
        }
        scan.sops |= is_sops_file(&window);
        let keep = window.len().min(OVERLAP);
        window.drain(..window.len() - keep);
    }
    Ok((hasher.finalize(), scan))
}

/// The references and escapes in `text`.
fn scan_text(text: &str) -> Scan {
    let mut scan = Scan::default();
    let lower = text.to_ascii_lowercase();
    scan.escapes = [
        "\\x2e",
        "\\x2f",
        "\\u002e",
        "\\u002f",
        "\\u0000002e",
        "\\u0000002f",
        "\\\n",
        "\\\r",
    ]
    .iter()
    .any(|e| lower.contains(e));
    for r in references(text) {
        scan.references.insert(r.to_owned());
    }
    scan
}

/// Paths in `text` that leave their directory: with a `..` component, or
/// under `/src`.
fn references(text: &str) -> impl Iterator<Item = &str> {
    let delimiter = |c: char| c.is_whitespace() || "\"'`,;()[]{}<>=|:".contains(c);
    text.split(delimiter).filter_map(|token| {
        // `file://../x` splits into `file` and `//../x`.
        let token = token.strip_prefix("//").unwrap_or(token);
        let token = token.trim_start_matches('-');
        let climbs = token.split('/').any(|c| c == "..");
        let under_src = token == "/src" || token.starts_with("/src/");
        (climbs || under_src).then_some(token)
    })
}

/// `reference` from `dir` (relative to the root), resolved lexically;
/// `None` when it leaves the root.
fn lexical(dir: &Path, reference: &str) -> Option<PathBuf> {
    let mut out: Vec<&std::ffi::OsStr> = dir.iter().collect();
    for part in Path::new(reference).components() {
        match part {
            Component::ParentDir => {
                out.pop()?;
            }
            Component::Normal(p) => out.push(p),
            Component::CurDir => {}
            _ => return None,
        }
    }
    Some(out.iter().collect())
}

/// `reference` from `dir` (relative to `root`), resolved as the file system
/// would, through the links inside the root (each recorded in `watch`):
/// a path free of links; `None` when it leaves the root, a link is
/// absolute (the sandbox refuses those) or there are too many.
fn physical(
    root: &Path,
    dir: &Path,
    reference: &str,
    mut watch: Option<&mut Watch>,
) -> Option<PathBuf> {
    let mut out: Vec<OsString> = dir.iter().map(ToOwned::to_owned).collect();
    let mut pending: std::collections::VecDeque<OsString> = Path::new(reference)
        .components()
        .map(|c| c.as_os_str().to_owned())
        .collect();
    if Path::new(reference).is_absolute() {
        return None;
    }
    let mut hops = 0;
    while let Some(part) = pending.pop_front() {
        match part.to_str() {
            Some("..") => {
                out.pop()?;
            }
            Some("." | "") => {}
            _ => {
                out.push(part);
                let rel: PathBuf = out.iter().collect();
                let path = root.join(&rel);
                let Ok(meta) = path.symlink_metadata() else {
                    // The rest does not exist (yet): as written from here.
                    let rest: PathBuf = pending.iter().collect();
                    return lexical(&rel, &rest.to_string_lossy());
                };
                if meta.is_symlink() {
                    hops += 1;
                    if let Some(w) = watch.as_deref_mut() {
                        w.add(&slashed(&rel), Some(Stamp::of(&meta)));
                    }
                    let target = fs_err::read_link(&path).ok()?;
                    if hops > MAX_HOPS || target.is_absolute() {
                        return None;
                    }
                    out.pop();
                    for c in target.components().rev() {
                        pending.push_front(c.as_os_str().to_owned());
                    }
                }
            }
        }
    }
    Some(out.iter().collect())
}

/// A relative path as the watch and the digest name it.
fn slashed(p: &Path) -> String {
    p.to_string_lossy().replace('\\', "/")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, rel: &str, text: &str) {
        let p = root.join(rel);
        fs_err::create_dir_all(p.parent().expect("has parent")).expect("mkdir");
        fs_err::write(p, text).expect("write");
    }

    #[test]
    fn references_are_found() {
        let refs: Vec<_> = references(
            "resources:\n- ../base\n- ../../common/x.yaml\nrepository: \"file://../lib\"\n\
             - ./../a\n- sub/../../b\n- /src/c\n- ..\npath:../d\n- [\"/src\"]\n- x/y\n- /srcx\n",
        )
        .collect();
        assert_eq!(
            refs,
            vec![
                "../base",
                "../../common/x.yaml",
                "../lib",
                "./../a",
                "sub/../../b",
                "/src/c",
                "..",
                "../d",
                "/src"
            ]
        );
        assert!(scan_text("resources: [\"\\x2e\\x2e/base\"]").escapes);
        assert!(scan_text("k: \"..\\\n  /base\"").escapes);
        assert!(!scan_text("k: \"a\\nb\"").escapes);
    }

    #[cfg(unix)]
    #[test]
    fn links_are_followed_inside_the_root() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let root = tmp.path();
        write(root, "base/cm.yaml", "a");
        write(root, "overlay/kustomization.yaml", "resources:\n- base\n");
        std::os::unix::fs::symlink("../base", root.join("overlay/base")).expect("link");
        std::os::unix::fs::symlink("..", root.join("overlay/up")).expect("link");
        assert_eq!(
            physical(root, Path::new("overlay"), "base/cm.yaml", None),
            Some(PathBuf::from("base/cm.yaml"))
        );
        assert_eq!(
            physical(root, Path::new("overlay"), "up/overlay/up/base", None),
            Some(PathBuf::from("base"))
        );
        assert_eq!(physical(root, Path::new("overlay"), "up/..", None), None);
        let before = tree_digest(root, "overlay", "").expect("digest");
        write(root, "base/cm.yaml", "b");
        assert_ne!(before, tree_digest(root, "overlay", "").expect("digest"));
    }

    #[test]
    fn every_spelling_of_a_sibling_counts() {
        for text in [
            "resources:\n- ./../base\n",
            "resources:\n- /src/base\n",
            "resources:\n- sub/../../base\n",
            "resources: [\"../base/\"]\n",
            "resources:\n- \"\\x2e\\x2e/base\"\n",
        ] {
            let tmp = tempfile::tempdir().expect("temp dir");
            let root = tmp.path();
            write(root, "base/cm.yaml", "a");
            write(root, "overlay/kustomization.yaml", text);
            let before = tree_digest(root, "overlay", "").expect("digest");
            write(root, "base/cm.yaml", "b");
            assert_ne!(
                before,
                tree_digest(root, "overlay", "").expect("digest"),
                "{text}"
            );
        }
    }

    #[test]
    fn a_repository_plugin_makes_the_whole_root_count() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let root = tmp.path();
        write(root, "other/data.txt", "a");
        write(
            root,
            "app/kiln.yaml",
            "apiVersion: kiln.dev/v1alpha1\nkind: Pipeline\nsteps:\n- plugin: ./p.wasm\n",
        );
        let before = tree_digest(root, "app", "").expect("digest");
        write(root, "other/data.txt", "b");
        assert_ne!(before, tree_digest(root, "app", "").expect("digest"));
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_is_refused() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let root = tmp.path();
        write(root, "app/cm.yaml", "a");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            root.join("app/pipe"),
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .expect("mkfifo");
        let err = tree_digest(root, "app", "").expect_err("refused");
        assert!(err.to_string().contains("app/pipe"), "{err}");
    }

    #[test]
    fn digest_covers_files_the_command_line_names() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let root = tmp.path();
        write(root, "app/Chart.yaml", "name: app\n");
        write(root, "env/prod.yaml", "replicas: 1\n");
        let named = r#"[["helm",{"values":["../env/prod.yaml"]}]]"#;
        let before = tree_digest(root, "app", named).expect("digest");
        assert_ne!(before, tree_digest(root, "app", "").expect("digest"));
        write(root, "env/prod.yaml", "replicas: 2\n");
        assert_ne!(
            before,
            tree_digest(root, "app", named).expect("digest"),
            "a values file outside the app counts when it is named"
        );
    }

    #[test]
    fn digest_covers_the_app_and_what_it_names() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let root = tmp.path();
        write(root, "base/deploy.yaml", "kind: Deployment\n");
        write(
            root,
            "overlay/kustomization.yaml",
            "resources:\n- ../base\n",
        );
        write(root, "other/cm.yaml", "kind: ConfigMap\n");
        write(root, "overlay/.gitignore", "junk/\n");
        let before = tree_digest(root, "overlay", "").expect("digest");
        write(root, "other/cm.yaml", "kind: Secret\n");
        assert_eq!(
            before,
            tree_digest(root, "overlay", "").expect("digest"),
            "unrelated files do not count"
        );
        write(root, "overlay/junk/big.bin", "ignored");
        assert_ne!(
            before,
            tree_digest(root, "overlay", "").expect("digest"),
            "ignored files count: a plugin reads them as any other"
        );
        write(root, "base/deploy.yaml", "kind: StatefulSet\n");
        assert_ne!(
            before,
            tree_digest(root, "overlay", "").expect("digest"),
            "the referenced base counts"
        );
    }
}
