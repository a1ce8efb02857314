use std::io::Write as _;

use super::*;

/// A gzipped tarball of `entries`, each written as given (no checks).
fn tgz(entries: &[(&str, tar::EntryType, &[u8], Option<&str>)]) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut b = tar::Builder::new(gz);
    for (path, kind, data, link) in entries {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(*kind);
        h.set_size(data.len() as u64);
        h.set_mode(0o755);
        // Raw name bytes: `set_path` would refuse `..` and absolute paths.
        let name = &mut h.as_old_mut().name;
        name[..path.len()].copy_from_slice(path.as_bytes());
        if let Some(l) = link {
            h.as_old_mut().linkname[..l.len()].copy_from_slice(l.as_bytes());
        }
        h.set_cksum();
        b.append(&h, *data).unwrap();
    }
    b.into_inner().unwrap().finish().unwrap()
}

fn run(bytes: &[u8], caps: Caps) -> (tempfile::TempDir, Result<Unpacked, Error>) {
    let dir = tempfile::tempdir().unwrap();
    let r = unpack(bytes, bytes.len() as u64, dir.path(), caps);
    (dir, r)
}

const REG: tar::EntryType = tar::EntryType::Regular;
const DIR: tar::EntryType = tar::EntryType::Directory;
const SYM: tar::EntryType = tar::EntryType::Symlink;
const HARD: tar::EntryType = tar::EntryType::Link;

#[test]
fn unpacks_files_dirs_and_inner_links_with_fixed_modes() {
    let bytes = tgz(&[
        (".", DIR, b"", None),
        ("app", DIR, b"", None),
        ("app/a.yaml", REG, b"kind: A\n", None),
        ("app/link.yaml", SYM, b"", Some("a.yaml")),
        ("app/up", SYM, b"", Some("..")),
        ("app/copy.yaml", HARD, b"", Some("app/a.yaml")),
        ("deep/x/y.yaml", REG, b"y", None),
    ]);
    let (dir, r) = run(&bytes, Caps::default());
    let done = r.unwrap();
    assert_eq!(done.files, 3);
    let read = |p: &str| fs_err::read_to_string(dir.path().join(p)).unwrap();
    assert_eq!(read("app/a.yaml"), "kind: A\n");
    assert_eq!(read("app/link.yaml"), "kind: A\n");
    assert_eq!(read("app/copy.yaml"), "kind: A\n");
    assert_eq!(read("deep/x/y.yaml"), "y");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = fs_err::metadata(dir.path().join("app/a.yaml"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o111, 0, "the executable bit is dropped");
    }
}

#[test]
fn refuses_escaping_paths() {
    for path in ["../evil.yaml", "app/../../evil.yaml", "/etc/evil.yaml"] {
        let (_d, r) = run(&tgz(&[(path, REG, b"x", None)]), Caps::default());
        assert!(
            matches!(r, Err(Error::Escape(ref p)) if p == path),
            "{path}: {r:?}"
        );
    }
}

#[test]
fn refuses_symlinks_out() {
    for (i, target) in ["../../etc", "/etc/passwd", "a/../../.."]
        .iter()
        .enumerate()
    {
        let bytes = tgz(&[("a", DIR, b"", None), ("l", SYM, b"", Some(target))]);
        let (_d, r) = run(&bytes, Caps::default());
        assert!(
            matches!(r, Err(Error::SymlinkOut { .. })),
            "{i} {target}: {r:?}"
        );
    }
    // Each link inside on its own, out when followed through another.
    let bytes = tgz(&[
        ("sub", DIR, b"", None),
        ("sub/u", SYM, b"", Some("..")),
        ("v", SYM, b"", Some("sub/u/..")),
    ]);
    let (_d, r) = run(&bytes, Caps::default());
    assert!(
        matches!(r, Err(Error::SymlinkOut { ref entry, .. }) if entry == "v"),
        "{r:?}"
    );
}

#[test]
fn refuses_writing_through_a_symlink() {
    let outside = tempfile::tempdir().unwrap();
    let target = outside.path().to_string_lossy().into_owned();
    // The link alone would be refused at the end; the file after it must
    // never be written through it in between.
    // Links are made last, so `l/f` lands in a directory `l` and the link
    // then clashes with it: nothing is ever written through a link.
    let bytes = tgz(&[
        ("l", SYM, b"", Some("sub")),
        ("sub", DIR, b"", None),
        ("l/f", REG, b"x", None),
    ]);
    let (d, r) = run(&bytes, Caps::default());
    assert!(matches!(r, Err(Error::Clash(ref e)) if e == "l"), "{r:?}");
    assert!(!d.path().join("sub/f").exists());
    let bytes = tgz(&[("l", SYM, b"", Some(&target)), ("x", REG, b"x", None)]);
    let (_d, r) = run(&bytes, Caps::default());
    assert!(matches!(r, Err(Error::SymlinkOut { .. })), "{r:?}");
    assert_eq!(fs_err::read_dir(outside.path()).unwrap().count(), 0);
}

#[test]
fn refuses_hard_links_out_and_special_files() {
    let (_d, r) = run(
        &tgz(&[("h", HARD, b"", Some("../../etc/passwd"))]),
        Caps::default(),
    );
    assert!(matches!(r, Err(Error::HardLinkOut { .. })), "{r:?}");
    let (_d, r) = run(
        &tgz(&[("h", HARD, b"", Some("/etc/passwd"))]),
        Caps::default(),
    );
    assert!(matches!(r, Err(Error::HardLinkOut { .. })), "{r:?}");
    for (kind, name) in [
        (tar::EntryType::Fifo, "FIFO"),
        (tar::EntryType::Char, "character device"),
        (tar::EntryType::Block, "block device"),
    ] {
        let (_d, r) = run(&tgz(&[("dev", kind, b"", None)]), Caps::default());
        assert!(
            matches!(r, Err(Error::Special { kind, .. }) if kind == name),
            "{r:?}"
        );
    }
}

#[test]
fn stops_a_tar_bomb_at_the_ratio() {
    let zeros = vec![0u8; 64 << 20];
    let bytes = tgz(&[("bomb", REG, &zeros, None)]);
    assert!(bytes.len() < 1 << 20);
    let (dir, r) = run(&bytes, Caps::default());
    assert!(matches!(r, Err(Error::Ratio { cap: 100 })), "{r:?}");
    let written = fs_err::metadata(dir.path().join("bomb")).map_or(0, |m| m.len());
    assert!(written <= 16 << 20, "stopped early, wrote {written}");
}

#[test]
fn stops_at_the_size_and_entry_caps() {
    let mut data = Vec::new();
    // Random-ish bytes compress badly, so only the size cap can stop them.
    let mut x: u32 = 1;
    for _ in 0..(2 << 20) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        data.write_all(&x.to_le_bytes()[..1]).unwrap();
    }
    let bytes = tgz(&[("big", REG, &data, None)]);
    let caps = Caps {
        unpacked_bytes: 1 << 20,
        ..Caps::default()
    };
    let (_d, r) = run(&bytes, caps);
    assert!(
        matches!(r, Err(Error::TooLarge { cap }) if cap == 1 << 20),
        "{r:?}"
    );
    let many: Vec<(String, tar::EntryType, &[u8], Option<&str>)> = (0..20)
        .map(|i| (format!("f{i}"), REG, &b"x"[..], None))
        .collect();
    let refs: Vec<(&str, tar::EntryType, &[u8], Option<&str>)> = many
        .iter()
        .map(|(p, k, d, l)| (p.as_str(), *k, *d, *l))
        .collect();
    let (_d, r) = run(
        &tgz(&refs),
        Caps {
            entries: 10,
            ..Caps::default()
        },
    );
    assert!(matches!(r, Err(Error::TooManyEntries { cap: 10 })), "{r:?}");
}

#[test]
fn refuses_what_is_not_a_tarball() {
    let (_d, r) = run(b"not gzip at all", Caps::default());
    assert!(matches!(r, Err(Error::Format(_))), "{r:?}");
}

/// Hard links are unpacked as copies: each copy is bytes on disk the tar
/// stream does not carry, so they count against the size cap (one 1 MiB
/// file and 1,000 links to it would otherwise write 1 GiB from a stream of
/// 1.5 MiB).
#[test]
fn hard_link_copies_count_against_the_size_cap() {
    let data = vec![7u8; 64 << 10];
    let mut entries: Vec<(String, tar::EntryType, &[u8], Option<&str>)> =
        vec![("big".to_owned(), REG, &data[..], None)];
    for i in 0..40 {
        entries.push((format!("copy{i}"), HARD, &b""[..], Some("big")));
    }
    let refs: Vec<(&str, tar::EntryType, &[u8], Option<&str>)> = entries
        .iter()
        .map(|(p, k, d, l)| (p.as_str(), *k, *d, *l))
        .collect();
    let caps = Caps {
        unpacked_bytes: 1 << 20,
        ..Caps::default()
    };
    let (dir, r) = run(&tgz(&refs), caps);
    assert!(
        matches!(r, Err(Error::TooLarge { cap }) if cap == 1 << 20),
        "{r:?}"
    );
    let on_disk: u64 = fs_err::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    assert!(
        on_disk <= 1 << 20,
        "{on_disk} bytes written under a 1 MiB cap"
    );
}

/// Regression test (found by the `cmp_unpack` fuzz target): an entry that
/// repeats a file's name replaces the file, as tar does, and the count of
/// files unpacked is what is on disk.
#[test]
fn a_repeated_entry_replaces_its_file_and_counts_once() {
    let entries: [(&str, tar::EntryType, &[u8], Option<&str>); 3] = [
        ("a.yaml", REG, b"one", None),
        ("a.yaml", REG, b"two", None),
        ("b.yaml", HARD, b"", Some("a.yaml")),
    ];
    let (dir, r) = run(&tgz(&entries), Caps::default());
    let done = r.expect("unpacks");
    assert_eq!(done.files, 2);
    assert_eq!(fs_err::read(dir.path().join("a.yaml")).unwrap(), b"two");
    let again = [
        ("a.yaml", REG, &b"one"[..], None),
        ("b.yaml", HARD, &b""[..], Some("a.yaml")),
        ("b.yaml", HARD, &b""[..], Some("a.yaml")),
    ];
    let (_dir, r) = run(&tgz(&again), Caps::default());
    assert_eq!(r.expect("unpacks").files, 2);
}
