//! Change stamps of files and directories, to tell "unchanged since last
//! time" from a `stat` instead of reading contents.
//!
//! A [`Stamp`] is what `stat` says about an entry: size, modification and
//! change times (nanoseconds), inode and type. Any write to a file changes
//! its mtime and ctime; adding, removing or renaming an entry of a directory
//! changes the directory's. A [`Watch`] is a list of stamps taken *before*
//! the entries were read, so a change made while they were being read shows
//! as a mismatch next time, never as a false match.
//!
//! Timestamps are only as fine as the kernel's clock tick, so two writes
//! within one tick can leave the same mtime. As git does with its index, a
//! stamp taken within [`RACY`] of the entry's last change is not trusted:
//! the watch is marked racy and never reports that nothing changed.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How recent a change may be for its stamp to be trusted.
pub const RACY: Duration = Duration::from_secs(2);

/// What `stat` says about a file or directory. (Kept as a tuple: memos
/// hold thousands of them, and a JSON array is shorter than an object.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(from = "StampTuple", into = "StampTuple")]
pub struct Stamp {
    len: u64,
    /// Nanoseconds since the Unix epoch (i64 reaches the year 2262).
    mtime: i64,
    ctime: i64,
    ino: u64,
    dir: bool,
}

type StampTuple = (u64, i64, i64, u64, bool);

impl From<StampTuple> for Stamp {
    fn from((len, mtime, ctime, ino, dir): StampTuple) -> Self {
        Self {
            len,
            mtime,
            ctime,
            ino,
            dir,
        }
    }
}

impl From<Stamp> for StampTuple {
    fn from(s: Stamp) -> Self {
        (s.len, s.mtime, s.ctime, s.ino, s.dir)
    }
}

impl Stamp {
    /// The stamp of `meta` (from `symlink_metadata`, so links are stamped
    /// themselves).
    pub fn of(meta: &std::fs::Metadata) -> Self {
        #[cfg(unix)]
        let (ctime, ino) = {
            use std::os::unix::fs::MetadataExt as _;
            (
                meta.ctime()
                    .saturating_mul(1_000_000_000)
                    .saturating_add(meta.ctime_nsec()),
                meta.ino(),
            )
        };
        #[cfg(not(unix))]
        let (ctime, ino) = (0, 0);
        Self {
            len: meta.len(),
            mtime: meta.modified().map_or(0, nanos),
            ctime,
            ino,
            dir: meta.is_dir(),
        }
    }

    /// The stamp of the entry at `path`; `None` when it does not exist.
    pub fn read(path: &Path) -> Option<Self> {
        std::fs::symlink_metadata(path).ok().map(|m| Self::of(&m))
    }

    /// Whether the entry changed within [`RACY`] before `now`.
    fn is_recent(&self, now: i64) -> bool {
        let racy = i64::try_from(RACY.as_nanos()).expect("two seconds fit");
        self.mtime.max(self.ctime) > now - racy
    }
}

fn nanos(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_nanos()).unwrap_or(i64::MAX),
    }
}

/// The directory watches are checked against, opened once: each stamp is
/// then read relative to it (no walk of the base path per entry, no path
/// joined per entry).
#[derive(Debug)]
pub struct Base<'p> {
    path: &'p Path,
    #[cfg(target_os = "linux")]
    dir: Option<rustix::fd::OwnedFd>,
}

impl<'p> Base<'p> {
    /// Opens `path`; when it cannot be opened, stamps are read by path.
    pub fn open(path: &'p Path) -> Self {
        Self {
            path,
            #[cfg(target_os = "linux")]
            dir: rustix::fs::open(
                path,
                rustix::fs::OFlags::PATH
                    | rustix::fs::OFlags::DIRECTORY
                    | rustix::fs::OFlags::CLOEXEC,
                rustix::fs::Mode::empty(),
            )
            .ok(),
        }
    }

    /// The stamp of `rel` (relative to the base); `None` when it does not
    /// exist. The same as [`Stamp::read`] of the joined path.
    pub fn stamp(&self, rel: &str) -> Option<Stamp> {
        #[cfg(target_os = "linux")]
        if let Some(dir) = &self.dir
            && !rel.starts_with('/')
        {
            use rustix::fs::{AtFlags, FileType, StatxFlags};
            // The base itself is recorded as "" (a path joined with "" is
            // the path).
            let rel = if rel.is_empty() { "." } else { rel };
            match rustix::fs::statx(
                dir,
                rel,
                AtFlags::SYMLINK_NOFOLLOW,
                StatxFlags::TYPE
                    | StatxFlags::SIZE
                    | StatxFlags::INO
                    | StatxFlags::MTIME
                    | StatxFlags::CTIME,
            ) {
                Ok(s) => {
                    let time = |t: rustix::fs::StatxTimestamp| {
                        t.tv_sec
                            .saturating_mul(1_000_000_000)
                            .saturating_add(i64::from(t.tv_nsec))
                    };
                    return Some(Stamp {
                        len: s.stx_size,
                        mtime: time(s.stx_mtime),
                        ctime: time(s.stx_ctime),
                        ino: s.stx_ino,
                        dir: FileType::from_raw_mode(u32::from(s.stx_mode)) == FileType::Directory,
                    });
                }
                Err(rustix::io::Errno::NOSYS) => {}
                Err(_) => return None,
            }
        }
        Stamp::read(&self.path.join(rel))
    }
}

/// Stamps read while checking watches, by path: watches checked together
/// (the apps of one run) share entries, which are then read once.
#[derive(Debug, Default)]
pub struct Stats<'w> {
    seen: std::collections::HashMap<&'w str, Option<Stamp>, PathHash>,
}

/// FNV-1a over the path's bytes: the paths come from kiln's own memos, and
/// this map is looked up once per stamp checked, so the resistance of std's
/// hasher to chosen keys buys nothing here and costs as much as the lookup.
#[derive(Debug, Default, Clone, Copy)]
struct PathHash;

impl std::hash::BuildHasher for PathHash {
    type Hasher = Fnv;
    fn build_hasher(&self) -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

struct Fnv(u64);

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// Stamps of entries (paths relative to a base directory), taken before
/// they were read.
///
/// A directory may also be recorded by the names of its entries
/// ([`Watch::add_dir`]): then a changed stamp (an editor saving a file by
/// renaming a new one over it touches the directory) still holds when the
/// names are the same, and a recent stamp does not make the watch racy.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Watch {
    entries: Vec<(String, Option<Stamp>)>,
    #[serde(default)]
    names: std::collections::BTreeMap<String, String>,
    racy: bool,
}

/// A digest of the names of the entries of the directory at `path`.
fn names_digest(path: &Path) -> Option<String> {
    let mut names: Vec<std::ffi::OsString> = std::fs::read_dir(path)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.file_name()))
        .collect();
    names.sort();
    let mut h = blake3::Hasher::new();
    for n in &names {
        let bytes = n.as_encoded_bytes();
        h.update(&(bytes.len() as u64).to_le_bytes());
        h.update(bytes);
    }
    Some(h.finalize().to_hex().to_string())
}

impl Watch {
    /// Records `rel` with `stamp` (`None`: the entry does not exist, and
    /// its appearing counts as a change).
    pub fn add(&mut self, rel: &str, stamp: Option<Stamp>) {
        if stamp.is_some_and(|s| s.is_recent(nanos(SystemTime::now()))) {
            self.racy = true;
        }
        self.entries.push((rel.to_owned(), stamp));
    }

    /// Records `rel` with `stamp` as if taken long after its last change.
    #[cfg(test)]
    pub(crate) fn add_trusted(&mut self, rel: &str, stamp: Option<Stamp>) {
        self.entries.push((rel.to_owned(), stamp));
    }

    /// Records the directory at `path` as `rel` (relative to the base the
    /// watch is checked against) as it is now, with the names of its
    /// entries, read before the caller reads them.
    pub fn add_dir(&mut self, rel: &str, path: &Path) {
        let Some(names) = names_digest(path) else {
            self.add(rel, None);
            return;
        };
        self.entries.push((rel.to_owned(), Stamp::read(path)));
        self.names.insert(rel.to_owned(), names);
    }

    /// Records `rel` (relative to `base`) as it is now.
    pub fn add_path(&mut self, base: &Path, rel: &str) {
        self.add(rel, Stamp::read(&base.join(rel)));
    }

    /// Marks the watch as never holding (what it describes was not kept).
    pub fn mark_racy(&mut self) {
        self.racy = true;
    }

    /// Whether a stamp was too recent to be trusted.
    pub fn is_racy(&self) -> bool {
        self.racy
    }

    /// Whether every entry under `base` still has its stamp (and none was
    /// racy): then nothing recorded has changed since.
    pub fn holds(&self, base: &Path) -> bool {
        !self.racy
            && entries_hold(
                self.entries
                    .iter()
                    .map(|(rel, stamp)| (rel.as_str(), *stamp)),
                |rel| self.names.get(rel).map(String::as_str),
                &Base::open(base),
                &mut Stats::default(),
            )
    }
}

/// Whether every entry still has its stamp, or (a directory) the names it
/// had.
fn entries_hold<'w, 'n>(
    mut entries: impl Iterator<Item = (&'w str, Option<Stamp>)>,
    names: impl Fn(&str) -> Option<&'n str>,
    base: &Base<'_>,
    stats: &mut Stats<'w>,
) -> bool {
    entries.all(|(rel, stamp)| {
        let now = *stats.seen.entry(rel).or_insert_with(|| base.stamp(rel));
        now == stamp
            || names(rel).is_some_and(|n| names_digest(&base.path.join(rel)).as_deref() == Some(n))
    })
}

/// A [`Watch`] as stored, read without copying its paths out of the memo
/// (a large `--all` memo holds thousands; copying each cost more than
/// checking it). Serialises exactly as the [`Watch`] it was.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct WatchView<'a> {
    #[serde(borrow)]
    entries: Vec<(&'a str, Option<Stamp>)>,
    #[serde(borrow)]
    names: std::collections::BTreeMap<&'a str, &'a str>,
    racy: bool,
}

impl<'a> WatchView<'a> {
    /// Whether a stamp was too recent to be trusted.
    pub fn is_racy(&self) -> bool {
        self.racy
    }

    /// The number of entries, for checking in parts.
    pub fn entry_count(&self) -> usize {
        self.entries.len()
    }

    /// Whether the entries `start..end` still hold (as [`Watch::holds`]
    /// checks them all), asking `stats` first: a large watch is checked in
    /// parts on several threads, and watches checked together share
    /// entries. Every part of a racy watch fails.
    pub fn holds_part(
        &self,
        base: &Base<'_>,
        stats: &mut Stats<'a>,
        start: usize,
        end: usize,
    ) -> bool {
        !self.racy
            && entries_hold(
                self.entries[start.min(end)..end.min(self.entries.len())]
                    .iter()
                    .copied(),
                |rel| self.names.get(rel).copied(),
                base,
                stats,
            )
    }

    /// [`WatchView::holds_part`] for every entry.
    pub fn holds_with(&self, base: &Base<'_>, stats: &mut Stats<'a>) -> bool {
        self.holds_part(base, stats, 0, self.entries.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn age(path: &Path, secs: u64) {
        let file = std::fs::File::options()
            .write(true)
            .open(path)
            .or_else(|_| std::fs::File::open(path))
            .expect("open");
        file.set_modified(SystemTime::now() - Duration::from_secs(secs))
            .expect("set mtime");
    }

    #[test]
    fn a_fresh_write_is_racy_and_an_old_one_holds_until_changed() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let file = tmp.path().join("a.yaml");
        std::fs::write(&file, "one").expect("write");
        let mut fresh = Watch::default();
        fresh.add_path(tmp.path(), "a.yaml");
        assert!(fresh.is_racy(), "ctime is now, so the stamp is not trusted");
        assert!(!fresh.holds(tmp.path()));

        // ctime cannot be set back, so compare stamps directly.
        age(&file, 60);
        let before = Stamp::read(&file).expect("exists");
        assert_eq!(Stamp::read(&file), Some(before));
        std::fs::write(&file, "two").expect("write");
        assert_ne!(
            Stamp::read(&file),
            Some(before),
            "a write changes the stamp"
        );
        assert_eq!(Stamp::read(&tmp.path().join("missing")), None);
    }

    #[test]
    fn a_directory_holds_while_its_names_do() {
        let tmp = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir(tmp.path().join("d")).expect("mkdir");
        std::fs::write(tmp.path().join("d/a"), "1").expect("write");
        let mut watch = Watch::default();
        watch.add_dir("d", &tmp.path().join("d"));
        assert!(!watch.is_racy(), "names make a fresh directory stamp safe");
        // An atomic save: a new file renamed over the old one.
        std::fs::write(tmp.path().join("d/.a.tmp"), "2").expect("write");
        std::fs::rename(tmp.path().join("d/.a.tmp"), tmp.path().join("d/a")).expect("rename");
        assert!(watch.holds(tmp.path()), "same names");
        std::fs::write(tmp.path().join("d/b"), "").expect("write");
        assert!(!watch.holds(tmp.path()), "a new entry");
    }

    #[test]
    fn stamps_read_under_a_base_are_those_read_by_path() {
        let tmp = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir(tmp.path().join("d")).expect("mkdir");
        std::fs::write(tmp.path().join("d/a"), "one").expect("write");
        #[cfg(unix)]
        std::os::unix::fs::symlink("a", tmp.path().join("d/link")).expect("symlink");
        let base = Base::open(tmp.path());
        for rel in [
            "",
            ".",
            "d",
            "d/a",
            "d/link",
            "d/missing",
            "missing/a",
            "d/a/below",
        ] {
            let by_path = Stamp::read(&tmp.path().join(rel));
            assert_eq!(base.stamp(rel), by_path, "{rel}");
        }
        assert!(base.stamp("d").is_some_and(|s| s.dir));
        assert!(base.stamp("d/a").is_some_and(|s| !s.dir && s.len == 3));
        // A link is stamped itself, not what it points to.
        #[cfg(unix)]
        assert_ne!(base.stamp("d/link"), base.stamp("d/a"));
        let outside = tmp.path().join("d/a");
        assert_eq!(
            base.stamp(&outside.to_string_lossy()),
            Stamp::read(&outside)
        );
    }

    #[test]
    fn a_stored_watch_is_read_in_place_and_checked_in_parts() {
        let tmp = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir(tmp.path().join("d")).expect("mkdir");
        let mut watch = Watch::default();
        watch.add_dir("d", &tmp.path().join("d"));
        for name in ["a", "b", "c"] {
            std::fs::write(tmp.path().join(name), name).expect("write");
            watch.add_trusted(name, Stamp::read(&tmp.path().join(name)));
        }
        let stored = postcard::to_allocvec(&watch).expect("serialise");
        let view: WatchView<'_> = postcard::from_bytes(&stored).expect("read in place");
        assert_eq!(
            postcard::to_allocvec(&view).expect("serialise"),
            stored,
            "a view is written back exactly as the watch was"
        );
        assert_eq!(view.entry_count(), 4);
        std::fs::write(tmp.path().join("c"), "changed").expect("write");
        let base = Base::open(tmp.path());
        let mut stats = Stats::default();
        assert!(view.holds_part(&base, &mut stats, 0, 3), "d, a and b");
        assert!(!view.holds_part(&base, &mut stats, 3, 4), "c changed");
        assert!(!view.holds_with(&base, &mut stats));
        assert!(!watch.holds(tmp.path()));
    }

    #[test]
    fn an_old_watch_holds_and_notices_changes() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let file = tmp.path().join("a.yaml");
        std::fs::write(&file, "one").expect("write");
        let stamp = Stamp::read(&file).expect("exists");
        // Pretend the stamp was taken long after the file last changed.
        let mut watch = Watch::default();
        watch.entries.push(("a.yaml".into(), Some(stamp)));
        watch.entries.push(("gone.yaml".into(), None));
        assert!(watch.holds(tmp.path()));
        std::fs::write(tmp.path().join("gone.yaml"), "").expect("write");
        assert!(!watch.holds(tmp.path()), "a new file is a change");
        std::fs::remove_file(tmp.path().join("gone.yaml")).expect("rm");
        assert!(watch.holds(tmp.path()));
        std::fs::write(&file, "two").expect("write");
        assert!(!watch.holds(tmp.path()), "a rewrite is a change");
    }
}
