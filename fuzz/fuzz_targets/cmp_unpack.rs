//! The CMP server's tarball reader (`host/src/cmp/unpack.rs`, compiled in
//! here as it is): any bytes either unpack or fail with an error, and in
//! both cases nothing is written outside the destination, the caps hold
//! (bytes on disk, entries), and every symlink left behind resolves inside.
//!
//! The first byte picks the input: even, the rest is a tar stream the
//! target gzips (so mutations reach the tar reader); odd, the rest is fed
//! as the gzipped stream itself (the gzip layer).
#![no_main]

use std::io::Write as _;
use std::path::Path;

use libfuzzer_sys::fuzz_target;

#[path = "../../host/src/cmp/unpack.rs"]
#[allow(dead_code, unreachable_pub)]
mod unpack;

/// Small caps, so a run finds the edges quickly.
const CAPS: unpack::Caps = unpack::Caps {
    stream_bytes: 1 << 20,
    unpacked_bytes: 256 << 10,
    entries: 64,
    ratio: 100,
};

fuzz_target!(|input: &[u8]| {
    let Some((&pick, rest)) = input.split_first() else {
        return;
    };
    let gz = if pick & 1 == 0 {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(rest).expect("writing to a Vec");
        enc.finish().expect("writing to a Vec")
    } else {
        rest.to_vec()
    };
    let parent = tempfile::tempdir().expect("a temp dir");
    let dest = parent.path().join("dest");
    fs_err::create_dir(&dest).expect("a fresh dir");
    fs_err::write(parent.path().join("sentinel"), b"s").expect("a fresh file");
    let result = unpack::unpack(gz.as_slice(), gz.len() as u64, &dest, CAPS);

    // Nothing beside the destination, and the sentinel untouched.
    let mut beside: Vec<_> = fs_err::read_dir(parent.path())
        .expect("the parent")
        .map(|e| e.expect("an entry").file_name())
        .collect();
    beside.sort();
    assert_eq!(
        beside,
        ["dest", "sentinel"],
        "written beside the destination"
    );
    assert_eq!(
        fs_err::read(parent.path().join("sentinel")).expect("the sentinel"),
        b"s"
    );

    let mut tally = Tally::default();
    walk(
        &dest,
        &dest.canonicalize().expect("the destination"),
        &mut tally,
        result.is_ok(),
    );
    // The caps hold for what lands on disk, hard-link copies included,
    // whether or not the tarball was accepted.
    assert!(
        tally.bytes <= CAPS.unpacked_bytes,
        "{} bytes on disk past the {} cap ({result:?})",
        tally.bytes,
        CAPS.unpacked_bytes
    );
    assert!(
        tally.entries <= CAPS.entries,
        "{} entries on disk past the {} cap ({result:?})",
        tally.entries,
        CAPS.entries
    );
    if let Ok(done) = result {
        assert!(done.bytes <= CAPS.unpacked_bytes);
        assert_eq!(done.files, tally.files, "files reported vs on disk");
    }
});

#[derive(Default)]
struct Tally {
    bytes: u64,
    entries: u64,
    files: u64,
}

/// Counts what is under `dir`; when the tarball was accepted, every symlink
/// must lead inside `root` (or nowhere).
fn walk(dir: &Path, root: &Path, tally: &mut Tally, accepted: bool) {
    for entry in fs_err::read_dir(dir).expect("a directory it made") {
        let entry = entry.expect("an entry");
        let path = entry.path();
        let meta = fs_err::symlink_metadata(&path).expect("an entry");
        tally.entries += 1;
        if meta.file_type().is_symlink() {
            if accepted && let Ok(to) = path.canonicalize() {
                assert!(
                    to.starts_with(root),
                    "{} leads to {}",
                    path.display(),
                    to.display()
                );
            }
        } else if meta.is_dir() {
            walk(&path, root, tally, accepted);
        } else {
            assert!(
                meta.is_file(),
                "{} is neither file, dir nor link",
                path.display()
            );
            tally.files += 1;
            tally.bytes += meta.len();
        }
    }
}
