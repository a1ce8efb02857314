//! `kiln cache`, and the cache flags of `render` and `diff`.

use super::{ExitStatus, GlobalArgs, write_stdout};
use crate::cache::{DEFAULT_MAX_SIZE, DiskStore};
use crate::runtime::limits;
use crate::service::CacheChoice;

/// Environment variable naming the render cache (`redis://HOST:PORT`, or `off`).
pub(crate) const KILN_CACHE: &str = "KILN_CACHE";
/// Environment variable bounding the disk cache (e.g. `2GiB`).
pub(crate) const KILN_CACHE_MAX_SIZE: &str = "KILN_CACHE_MAX_SIZE";

/// How long an unused git snapshot is kept by `kiln cache gc`.
const SNAPSHOT_MAX_AGE: std::time::Duration = std::time::Duration::from_hours(7 * 24);

/// Render cache options.
#[derive(Debug, Clone, Default, clap::Args)]
#[command(next_help_heading = "Cache options")]
pub struct CacheArgs {
    /// A shared render cache (redis://HOST:PORT[/DB]), or `off`; default the disk cache.
    #[arg(long, value_name = "URL", env = KILN_CACHE)]
    pub cache: Option<String>,
    /// Render every step without reading or writing the render cache.
    #[arg(long)]
    pub no_cache: bool,
    /// Size bound of the disk cache; least recently used entries go first.
    #[arg(long, value_name = "SIZE", env = KILN_CACHE_MAX_SIZE, value_parser = limits::parse_size)]
    pub cache_max_size: Option<usize>,
}

impl CacheArgs {
    fn max_size(&self) -> u64 {
        self.cache_max_size.map_or(DEFAULT_MAX_SIZE, |s| s as u64)
    }

    /// The render cache these flags select.
    pub(crate) fn choice(&self) -> CacheChoice {
        match self.cache.as_deref().filter(|s| !s.is_empty()) {
            _ if self.no_cache => CacheChoice::Off,
            Some("off") => CacheChoice::Off,
            Some(spec) => CacheChoice::Shared(spec.to_owned()),
            None => CacheChoice::Disk {
                max_size: self.max_size(),
            },
        }
    }
}

/// Inspect or clean the render cache.
#[derive(Debug, clap::Subcommand)]
pub enum CacheCommand {
    /// Print the number and size of cached step results.
    Stats {
        #[command(flatten)]
        cache: CacheArgs,
    },
    /// Drop damaged entries, then least recently used ones beyond the size bound, and git snapshots and memos unused for a week.
    Gc {
        #[command(flatten)]
        cache: CacheArgs,
    },
    /// Remove every cached step result (and, with --git, the git mirrors and snapshots).
    Clear {
        /// Also remove the git mirrors and snapshots.
        #[arg(long)]
        git: bool,
    },
}

impl CacheCommand {
    /// Runs the command.
    pub fn execute(self, _global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
        let dir = crate::env::cache_dir();
        match self {
            Self::Stats { cache } => {
                let store = DiskStore::new(&dir, cache.max_size());
                let stats = store.stats();
                write_stdout(&format!(
                    "directory: {}\nentries: {}\nbytes: {} ({})\nmax-bytes: {} ({})\n",
                    store.dir().display(),
                    stats.entries,
                    stats.bytes,
                    human(stats.bytes),
                    stats.max_bytes,
                    human(stats.max_bytes)
                ))?;
            }
            Self::Gc { cache } => {
                let removed = DiskStore::new(&dir, cache.max_size()).gc(true);
                let snapshots = crate::source::git::gc_snapshots(&dir, SNAPSHOT_MAX_AGE);
                let memos = crate::cache::gc_memos(&dir, SNAPSHOT_MAX_AGE);
                write_stdout(&format!(
                    "removed {removed} entries, {snapshots} git snapshots and {memos} memos\n"
                ))?;
            }
            Self::Clear { git } => {
                DiskStore::new(&dir, 0).clear()?;
                if git {
                    let git_dir = dir.join("git-v0");
                    match fs_err::remove_dir_all(&git_dir) {
                        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
                        _ => {}
                    }
                }
            }
        }
        Ok(ExitStatus::Success)
    }
}

#[expect(clippy::cast_precision_loss, reason = "an approximate size for people")]
fn human(bytes: u64) -> String {
    match bytes {
        0..1024 => format!("{bytes} B"),
        1024..1_048_576 => format!("{:.1} KiB", bytes as f64 / 1024.0),
        1_048_576..1_073_741_824 => format!("{:.1} MiB", bytes as f64 / 1_048_576.0),
        _ => format!("{:.1} GiB", bytes as f64 / 1_073_741_824.0),
    }
}
