use super::archive::hash_and_list;
use super::locate::{find_previous, open_regular};
use super::*;
use std::io::{self, Write};

/// One tar entry for [`targz`]: name written raw into the header (so hostile names
/// that `tar::Builder` would refuse can be made), content, type.
struct E<'a>(&'a str, &'a [u8], tar::EntryType);

fn file<'a>(name: &'a str, data: &'a [u8]) -> E<'a> {
    E(name, data, tar::EntryType::Regular)
}

fn tarball(entries: &[E<'_>]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for E(name, data, ty) in entries {
        let mut h = tar::Header::new_gnu();
        let raw = &mut h.as_old_mut().name;
        raw[..name.len()].copy_from_slice(name.as_bytes());
        h.set_entry_type(*ty);
        h.set_mode(0o644);
        if ty.is_symlink() || ty.is_hard_link() {
            h.set_size(0);
            let link = &mut h.as_old_mut().linkname;
            link[..data.len()].copy_from_slice(data);
            h.set_cksum();
            b.append(&h, io::empty()).unwrap();
        } else {
            h.set_size(data.len() as u64);
            h.set_cksum();
            b.append(&h, *data).unwrap();
        }
    }
    b.into_inner().unwrap()
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn targz(entries: &[E<'_>]) -> Vec<u8> {
    gz(&tarball(entries))
}

const MANIFEST: &str = r#"
[package]
name = "foo"
version = "0.2.0"
build = false

[dependencies.serde]
version = "1.0"

[build-dependencies]
cc = "1"

[target."cfg(unix)".dependencies.libc]
version = "0.2"
"#;

fn plain_crate() -> Vec<u8> {
    targz(&[
        file("foo-0.2.0/Cargo.toml", MANIFEST.as_bytes()),
        file("foo-0.2.0/Cargo.toml.orig", b"[package]"),
        file("foo-0.2.0/README.md", b"# foo"),
        file("foo-0.2.0/src/lib.rs", b"pub fn f() {}"),
    ])
}

/// A `.crate` as cargo makes it for `name` `vers`, for other modules' tests.
pub(crate) fn clean_crate(name: &str, vers: &str, body: &str) -> Vec<u8> {
    let top = format!("{name}-{vers}");
    let manifest = format!("[package]\nname = \"{name}\"\nversion = \"{vers}\"\nbuild = false\n");
    let (m, l) = (format!("{top}/Cargo.toml"), format!("{top}/src/lib.rs"));
    targz(&[file(&m, manifest.as_bytes()), file(&l, body.as_bytes())])
}

fn texts(flags: &[Flag]) -> String {
    flags
        .iter()
        .map(|f| format!("{:?}: {}", f.level, f.text))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_plain_crate_lists_cleanly() {
    let c = list(&plain_crate()[..], &Limits::default());
    assert_eq!(c.problems, Vec::<String>::new());
    let paths: Vec<&str> = c.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(
        paths,
        ["Cargo.toml", "Cargo.toml.orig", "README.md", "src/lib.rs"]
    );
    assert_eq!(c.unpacked, (MANIFEST.len() + 9 + 5 + 13) as u64);
    let m = c.manifest.as_ref().unwrap();
    assert_eq!(m.build.as_deref(), Some(""), "build = false");
    assert!(!m.proc_macro);
    assert_eq!(m.deps.get("serde").map(String::as_str), Some("1.0"));
    assert_eq!(m.deps.get("build cc").map(String::as_str), Some("1"));
    assert_eq!(
        m.deps.get("[cfg(unix)] libc").map(String::as_str),
        Some("0.2")
    );
    assert_eq!(c.flags(&Limits::default()), Vec::<Flag>::new());
    let lib = &c.files[3];
    assert_eq!(lib.sha256, Some(Sha256::digest(b"pub fn f() {}").into()));
}

#[test]
fn reviewer_flags() {
    let manifest =
        "[package]\nname = \"m\"\nversion = \"1.0.0\"\nlinks = \"z\"\n[lib]\nproc-macro = true\n";
    let big = vec![b'x'; 2 << 20];
    let c = list(
        &targz(&[
            file("m-1.0.0/Cargo.toml", manifest.as_bytes()),
            file("m-1.0.0/build.rs", b"fn main() {}"),
            file("m-1.0.0/src/lib.rs", b""),
            file("m-1.0.0/src/blob.bin", b"\x7fELF\x02\x01\x01"),
            file("m-1.0.0/vendor/libz.so", b"text really"),
            file("m-1.0.0/data/huge.txt", &big),
            file("m-1.0.0/LICENSE-MIT", b"mit"),
        ])[..],
        &Limits::default(),
    );
    assert_eq!(c.problems, Vec::<String>::new());
    assert_eq!(c.build_script(), Some("build.rs"));
    let t = texts(&c.flags(&Limits::default()));
    assert!(
        t.starts_with("Danger: 2 binary or library file(s): src/blob.bin, vendor/libz.so"),
        "{t}"
    );
    assert!(
        t.contains("Notice: build script build.rs: runs on every machine"),
        "{t}"
    );
    assert!(
        t.contains("Notice: proc-macro: runs inside the compiler"),
        "{t}"
    );
    assert!(t.contains("Notice: links the native library z"), "{t}");
    assert!(
        t.contains("Notice: 1 large file(s): data/huge.txt (2.0 MiB)"),
        "{t}"
    );
    // build.rs has its own flag; LICENSE-MIT is documentation.
    assert!(
        t.contains("Notice: 2 file(s) outside src/: vendor/libz.so, data/huge.txt"),
        "{t}"
    );
}

#[test]
fn directory_entries_for_the_top_directory_are_not_problems() {
    let c = list(
        &targz(&[
            E("d-1.0.0", b"", tar::EntryType::Directory),
            E("d-1.0.0/", b"", tar::EntryType::Directory),
            file("d-1.0.0/Cargo.toml", b"[package]"),
        ])[..],
        &Limits::default(),
    );
    assert_eq!(c.problems, Vec::<String>::new());
}

#[test]
fn a_declared_build_script_elsewhere_is_found() {
    let manifest = "[package]\nname = \"m\"\nversion = \"1.0.0\"\nbuild = \"tools/gen.rs\"\n";
    let c = list(
        &targz(&[
            file("m-1.0.0/Cargo.toml", manifest.as_bytes()),
            file("m-1.0.0/tools/gen.rs", b"fn main() {}"),
        ])[..],
        &Limits::default(),
    );
    assert_eq!(c.build_script(), Some("tools/gen.rs"));
}

fn problems_of(entries: &[E<'_>]) -> String {
    list(&targz(entries)[..], &Limits::default())
        .problems
        .join("\n")
}

#[test]
fn hostile_paths_links_and_specials_are_problems() {
    let t = problems_of(&[
        file("foo-0.1.0/Cargo.toml", b"[package]"),
        file("foo-0.1.0/../../.bashrc", b"evil"),
        file("/etc/cron.d/x", b"evil"),
        file("other-dir/src/lib.rs", b""),
        file("foo-0.1.0-evil/x", b""),
        E(
            "foo-0.1.0/src/key",
            b"/home/u/.ssh/id_ed25519",
            tar::EntryType::Symlink,
        ),
        E("foo-0.1.0/src/hard", b"/etc/shadow", tar::EntryType::Link),
        E("foo-0.1.0/dev", b"", tar::EntryType::Char),
        file("foo-0.1.0/src/lib.rs", b"a"),
        file("foo-0.1.0/src/lib.rs", b"b"),
    ]);
    for want in [
        "foo-0.1.0/../../.bashrc tries to escape the unpack directory",
        "/etc/cron.d/x is outside the crate's directory",
        "/etc/cron.d/x tries to escape",
        "other-dir/src/lib.rs is outside the crate's directory",
        "foo-0.1.0-evil/x is outside the crate's directory",
        "src/key is a link to /home/u/.ssh/id_ed25519",
        "src/hard is a link to /etc/shadow",
        "dev is a special file",
        "src/lib.rs appears twice",
    ] {
        assert!(t.contains(want), "missing {want:?} in:\n{t}");
    }
}

#[test]
fn the_unpack_bound_refuses_every_read_at_the_limit_an_empty_one_too() {
    use std::io::Read;
    let mut b = Bounded::new(&b"abcdef"[..], 4);
    let mut buf = [0u8; 8];
    assert_eq!(b.read(&mut buf).unwrap(), 4);
    assert!(!b.hit());
    assert!(b.read(&mut []).is_err());
    assert!(b.hit());
    assert!(b.read(&mut buf).is_err());
}

#[test]
fn a_gzip_bomb_stops_at_the_limit() {
    // 64 MiB of zeros in one entry compresses to ~64 KiB; the limit is 1 MiB.
    let mut tar = tarball(&[file("b-1.0.0/Cargo.toml", b"[package]")]);
    tar.truncate(tar.len() - 1024); // drop the end-of-archive blocks
    let mut h = tar::Header::new_gnu();
    h.set_path("b-1.0.0/src/zeros").unwrap();
    h.set_size(64 << 20);
    h.set_cksum();
    tar.extend_from_slice(h.as_bytes());
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(&tar).unwrap();
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..64 {
        e.write_all(&zeros).unwrap();
    }
    let bomb = e.finish().unwrap();
    assert!(bomb.len() < 1 << 20, "bomb is {} bytes", bomb.len());
    let limits = Limits {
        max_unpacked: 1 << 20,
        ..Limits::default()
    };
    let c = list(&bomb[..], &limits);
    let t = c.problems.join("\n");
    assert!(t.contains("src/zeros claims to be 64.0 MiB"), "{t}");
}

/// A tar entry whose name (GNU long name) is `len` bytes, under `top/`, then its file.
fn long_name_crate(top: &str, len: usize, link: bool) -> Vec<u8> {
    let mut name = format!("{top}/").into_bytes();
    name.resize(len, b'a');
    let mut tar = Vec::new();
    let mut h = tar::Header::new_gnu();
    h.as_old_mut().name[..13].copy_from_slice(b"././@LongLink");
    h.set_entry_type(if link {
        tar::EntryType::GNULongLink
    } else {
        tar::EntryType::GNULongName
    });
    h.set_size(name.len() as u64);
    h.set_cksum();
    tar.extend_from_slice(h.as_bytes());
    tar.extend_from_slice(&name);
    tar.resize(tar.len().div_ceil(512) * 512, 0);
    let mut h = tar::Header::new_gnu();
    let short = format!("{top}/x");
    h.as_old_mut().name[..short.len()].copy_from_slice(short.as_bytes());
    h.set_entry_type(if link {
        tar::EntryType::Symlink
    } else {
        tar::EntryType::Regular
    });
    h.set_size(0);
    h.set_cksum();
    tar.extend_from_slice(h.as_bytes());
    tar.extend_from_slice(&[0; 1024]);
    gz(&tar)
}

#[test]
fn a_name_longer_than_any_path_stops_the_listing() {
    // Issue 15, found while writing fuzz/fuzz_targets/crate_walk.rs: a GNU long name is
    // bounded only by the unpacked limit. A 930 KB .crate named a file with 200 MiB, which was
    // copied into the listing, the problems, the flags and the window's JSON (830 MB more
    // memory, 10 s). No system unpacks a path that long; the listing stops at the name.
    for link in [false, true] {
        let c = list(
            &long_name_crate("n-1.0.0", 1 << 20, link)[..],
            &Limits::default(),
        );
        let longest = c
            .files
            .iter()
            .map(|f| match &f.kind {
                Kind::Symlink(t) | Kind::Hardlink(t) => f.path.len().max(t.len()),
                _ => f.path.len(),
            })
            .chain(c.problems.iter().map(String::len))
            .max()
            .unwrap_or(0);
        assert!(longest <= 2 * MAX_NAME, "{longest} bytes");
        assert!(
            c.problems
                .iter()
                .any(|p| p.contains("1.0 MiB long") && p.contains("listing stopped there")),
            "{:?}",
            c.problems
        );
    }
    // A name as long as a path may be is listed.
    let c = list(
        &long_name_crate("n-1.0.0", MAX_NAME, false)[..],
        &Limits::default(),
    );
    assert_eq!(c.files.len(), 1);
    assert_eq!(c.files[0].path.len(), MAX_NAME - "n-1.0.0/".len());
}

#[test]
fn endless_decompressed_data_stops_at_the_stream_limit() {
    // Entries of 512 KiB each, many of them: no single entry is too large, the stream is.
    let chunk = vec![b'a'; 512 << 10];
    let names: Vec<String> = (0..8).map(|i| format!("c-1.0.0/src/f{i}.rs")).collect();
    let mut entries = vec![file("c-1.0.0/Cargo.toml", b"[package]")];
    entries.extend(names.iter().map(|n| file(n, &chunk)));
    let limits = Limits {
        max_unpacked: 1 << 20,
        ..Limits::default()
    };
    let c = list(&targz(&entries)[..], &limits);
    assert!(
        c.problems
            .iter()
            .any(|p| p.contains("unpacks to more than 1.0 MiB")),
        "{:?}",
        c.problems
    );
    assert!(c.files.len() < 5, "listed {} entries", c.files.len());
}

#[test]
fn too_many_entries_stop_the_listing() {
    let names: Vec<String> = (0..50).map(|i| format!("d-1.0.0/src/{i}.rs")).collect();
    let entries: Vec<E<'_>> = names.iter().map(|n| file(n, b"")).collect();
    let limits = Limits {
        max_entries: 10,
        ..Limits::default()
    };
    let c = list(&targz(&entries)[..], &limits);
    assert_eq!(c.files.len(), 10);
    assert!(
        c.problems[0].contains("more than 10 entries"),
        "{:?}",
        c.problems
    );
}

#[test]
fn garbage_and_truncation_are_reported_not_fatal() {
    let c = list(&b"this is not gzip at all"[..], &Limits::default());
    assert!(c.problems[0].contains("malformed"), "{:?}", c.problems);
    let good = plain_crate();
    let c = list(&good[..good.len() / 2], &Limits::default());
    assert!(
        c.problems.iter().any(|p| p.contains("malformed")),
        "{:?}",
        c.problems
    );
    // A manifest that is not TOML.
    let c = list(
        &targz(&[file("e-1.0.0/Cargo.toml", b"[package\nname=")])[..],
        &Limits::default(),
    );
    assert!(
        c.problems[0].contains("Cargo.toml cannot be read"),
        "{:?}",
        c.problems
    );
}

#[test]
fn the_hash_covers_every_byte_of_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.crate");
    let mut bytes = plain_crate();
    // Bytes after the gzip member are uploaded too, so they are hashed too.
    bytes.extend_from_slice(b"trailing");
    std::fs::write(&path, &bytes).unwrap();
    let file = open_regular(&path, &Limits::default()).unwrap().unwrap();
    let (hash, contents) = hash_and_list(file, &Limits::default()).unwrap();
    assert_eq!(hash, hex(&Sha256::digest(&bytes)));
    assert_eq!(contents.files.len(), 4);
}

fn places(cwd: &Path, argv: &[&str]) -> Places {
    Places {
        cwd: Some(cwd.to_path_buf()),
        argv: argv.iter().map(|s| s.to_string()).collect(),
        target_dir: None,
        cargo_home: None,
        requester_pid: None,
    }
}

/// Regression (issue 4): cargo 1.95's `publish` writes `package/tmp-crate/`, not
/// `package/`; looking only in the latter left every real publish "not verified".
#[test]
fn candidates_follow_argv_env_and_ancestors() {
    let p = Places {
        target_dir: Some("/env/t".into()),
        ..places(
            Path::new("/w/ws/member"),
            &[
                "cargo",
                "publish",
                "--target-dir",
                "tt",
                "--manifest-path=/m/x/Cargo.toml",
            ],
        )
    };
    let c = candidates("foo", "1.0.0", &p);
    let s: Vec<String> = c.iter().map(|p| p.display().to_string()).collect();
    assert_eq!(s[0], "/w/ws/member/tt/package/tmp-crate/foo-1.0.0.crate");
    assert_eq!(s[1], "/w/ws/member/tt/package/foo-1.0.0.crate");
    assert_eq!(s[2], "/env/t/package/tmp-crate/foo-1.0.0.crate");
    assert_eq!(s[3], "/env/t/package/foo-1.0.0.crate");
    assert_eq!(s[4], "/m/x/target/package/tmp-crate/foo-1.0.0.crate");
    assert_eq!(s[5], "/m/x/target/package/foo-1.0.0.crate");
    assert!(s.contains(&"/w/ws/target/package/foo-1.0.0.crate".to_string()));
    assert!(s.contains(&"/w/ws/member/target/package/foo-1.0.0.crate".to_string()));
    assert_eq!(
        s.iter()
            .filter(|x| *x == "/target/package/foo-1.0.0.crate")
            .count(),
        1
    );
}

#[test]
fn build_target_dir_from_cargo_config_is_followed() {
    let t = tempfile::tempdir().unwrap();
    let ws = t.path().join("ws");
    let member = ws.join("member");
    std::fs::create_dir_all(ws.join(".cargo")).unwrap();
    std::fs::create_dir_all(&member).unwrap();
    let home = t.path().join("cargo-home");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(
        home.join("config.toml"),
        "[build]\ntarget-dir = \"/shared/target\"\n",
    )
    .unwrap();
    // CARGO_HOME's config applies when no project config sets it.
    assert_eq!(
        config_target_dir(&member, Some(&home)),
        Some(PathBuf::from("/shared/target"))
    );
    // The project's own config is closer and wins; relative to the directory of `.cargo`.
    std::fs::write(
        ws.join(".cargo/config.toml"),
        "[build]\ntarget-dir = \"out\"\n",
    )
    .unwrap();
    assert_eq!(
        config_target_dir(&member, Some(&home)),
        Some(ws.join("out"))
    );
    let p = Places {
        cargo_home: Some(home),
        ..places(&member, &["cargo", "publish"])
    };
    let c = candidates("foo", "1.0.0", &p);
    assert_eq!(c[0], ws.join("out/package/tmp-crate/foo-1.0.0.crate"));
    // No config anywhere: nothing extra.
    assert_eq!(config_target_dir(Path::new("/nonexistent/x"), None), None);
}

#[test]
fn names_that_would_build_paths_are_forged() {
    for (name, vers) in [
        ("../../x", "1.0.0"),
        ("a/b", "1.0.0"),
        ("", "1.0.0"),
        ("ok", "1.0/../.."),
    ] {
        let r = gather(
            name,
            vers,
            "00",
            &Places::default(),
            None,
            &Limits::default(),
        );
        assert!(
            matches!(r.check, Check::Forged(_)),
            "{name} {vers}: {:?}",
            r.check
        );
        assert!(r.check.blocks_approve());
    }
}

fn write_crate(root: &Path, rel: &str, bytes: &[u8]) -> PathBuf {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, bytes).unwrap();
    p
}

#[test]
fn gather_matches_mismatches_and_misses() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("ws");
    let bytes = plain_crate();
    let good = hex(&Sha256::digest(&bytes));
    let path = write_crate(&root, "target/package/foo-0.2.0.crate", &bytes);
    let p = places(&root.join("sub"), &["cargo", "publish"]);
    let lim = Limits::default();

    let r = gather("foo", "0.2.0", &good.to_uppercase(), &p, None, &lim);
    assert_eq!(r.check, Check::Match(path.clone()));
    assert_eq!(r.contents.as_ref().unwrap().files.len(), 4);
    assert!(!r.check.blocks_approve());

    let r = gather("foo", "0.2.0", &"0".repeat(64), &p, None, &lim);
    assert_eq!(
        r.check,
        Check::Mismatch {
            path: path.clone(),
            actual: good.clone()
        }
    );
    assert!(r.check.blocks_approve());
    assert!(
        r.contents.is_none(),
        "the contents of a file that is not uploaded are not shown"
    );

    // A stale file in one place, the right one under --target-dir: the match wins.
    let other = plain_crate().into_iter().chain(*b"x").collect::<Vec<u8>>();
    let right = write_crate(&root, "tt/package/foo-0.2.0.crate", &other);
    let p2 = places(&root, &["cargo", "publish", "--target-dir", "tt"]);
    let r = gather(
        "foo",
        "0.2.0",
        &hex(&Sha256::digest(&other)),
        &p2,
        None,
        &lim,
    );
    assert_eq!(r.check, Check::Match(right));

    // Regression, "Nothing the caller supplies" (4): nothing found is not approvable.
    let r = gather("foo", "9.9.9", &good, &p, None, &lim);
    assert!(matches!(r.check, Check::NotFound(ref c) if c.len() > 2));
    assert!(r.check.blocks_approve());
}

#[cfg(target_os = "linux")]
#[test]
fn a_fifo_in_place_of_the_crate_does_not_hang() {
    let dir = tempfile::tempdir().unwrap();
    let pkg = dir.path().join("target/package");
    std::fs::create_dir_all(&pkg).unwrap();
    rustix::fs::mknodat(
        rustix::fs::CWD,
        pkg.join("foo-1.0.0.crate"),
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
        0,
    )
    .unwrap();
    let r = gather(
        "foo",
        "1.0.0",
        &"0".repeat(64),
        &places(dir.path(), &[]),
        None,
        &Limits::default(),
    );
    assert!(
        matches!(r.check, Check::Unreadable { ref why, .. } if why == "not a regular file"),
        "{:?}",
        r.check
    );
}

#[test]
fn the_previous_version_is_the_highest_lower_one_in_the_cache() {
    let home = tempfile::tempdir().unwrap();
    let cache = home.path().join("registry/cache/index.example-1234");
    std::fs::create_dir_all(&cache).unwrap();
    for f in [
        "foo-0.1.0.crate",
        "foo-0.1.5.crate",
        "foo-0.3.0.crate",
        "foo-bar-0.1.9.crate",
        "foo-0.2.0.crate",
        "foo-junk.crate",
    ] {
        std::fs::write(cache.join(f), b"").unwrap();
    }
    let (v, p) = find_previous("foo", "0.2.0", home.path()).unwrap();
    assert_eq!(v.to_string(), "0.1.5");
    assert_eq!(p, cache.join("foo-0.1.5.crate"));
    assert!(find_previous("foo", "0.1.0", home.path()).is_none());
    assert!(find_previous("foo", "1.0.0", Path::new("/nonexistent")).is_none());
}

#[test]
fn the_diff_shows_a_new_build_script_and_dependencies() {
    let old_manifest = "[package]\nname=\"foo\"\nversion=\"0.1.0\"\n[dependencies]\nserde = \"1.0\"\nlog = \"0.4\"\n";
    let new_manifest = "[package]\nname=\"foo\"\nversion=\"0.2.0\"\n[dependencies]\nserde = \"1.1\"\n[dependencies.log]\nversion = \"0.4\"\npackage = \"log-but-evil\"\n[build-dependencies]\ncc = \"1\"\n";
    let before = list(
        &targz(&[
            file("foo-0.1.0/Cargo.toml", old_manifest.as_bytes()),
            file("foo-0.1.0/src/lib.rs", b"old"),
            file("foo-0.1.0/src/gone.rs", b""),
            file("foo-0.1.0/README.md", b"same"),
        ])[..],
        &Limits::default(),
    );
    let now = list(
        &targz(&[
            file("foo-0.2.0/Cargo.toml", new_manifest.as_bytes()),
            file("foo-0.2.0/build.rs", b"fn main() { steal() }"),
            file("foo-0.2.0/src/lib.rs", b"new"),
            file("foo-0.2.0/README.md", b"same"),
        ])[..],
        &Limits::default(),
    );
    let d = diff(&before, &now, "0.1.0", PathBuf::from("/c/foo-0.1.0.crate"));
    assert_eq!(d.added, ["build.rs"]);
    assert_eq!(d.removed, ["src/gone.rs"]);
    assert_eq!(
        d.changed,
        ["src/lib.rs"],
        "Cargo.toml is rewritten every release"
    );
    assert_eq!(d.build_script, Some(BuildScriptChange::New));
    assert_eq!(d.deps_added, ["build cc 1"]);
    assert_eq!(
        d.deps_changed,
        [
            "log: 0.4 -> (really the crate log-but-evil) 0.4",
            "serde: 1.0 -> 1.1"
        ]
    );
    assert!(d.deps_removed.is_empty());
    assert!(!d.became_proc_macro);

    let same = diff(&now, &now, "0.2.0", PathBuf::new());
    assert_eq!(
        same,
        Diff {
            previous: "0.2.0".into(),
            ..Default::default()
        }
    );
}

#[test]
fn gather_flags_a_build_script_new_since_the_cached_version() {
    let dir = tempfile::tempdir().unwrap();
    let old = targz(&[
        file("foo-0.1.0/Cargo.toml", b"[package]\nname=\"foo\"\n"),
        file("foo-0.1.0/src/lib.rs", b""),
    ]);
    let new = targz(&[
        file(
            "foo-0.2.0/Cargo.toml",
            b"[package]\nname=\"foo\"\n[lib]\nproc-macro=true\n",
        ),
        file("foo-0.2.0/build.rs", b"fn main() {}"),
        file("foo-0.2.0/src/lib.rs", b""),
    ]);
    write_crate(dir.path(), "home/registry/cache/r/foo-0.1.0.crate", &old);
    write_crate(dir.path(), "ws/target/package/foo-0.2.0.crate", &new);
    let r = gather(
        "foo",
        "0.2.0",
        &hex(&Sha256::digest(&new)),
        &places(&dir.path().join("ws"), &[]),
        Some(&dir.path().join("home")),
        &Limits::default(),
    );
    let t = texts(&r.flags);
    assert!(
        t.starts_with(
            "Danger: became a proc-macro since 0.1.0\nDanger: build script new since 0.1.0"
        ),
        "{t}"
    );
    assert!(matches!(r.previous, Previous::Found(ref d) if d.added == ["build.rs"]));
    let s = r.summary();
    assert!(
        s.contains("since 0.1.0: +1 -0 ~0 files, build script new"),
        "{s}"
    );
}

#[cfg(target_os = "linux")]
#[test]
fn a_crate_held_open_outside_a_package_directory_is_not_taken() {
    // Review of "Nothing the caller supplies": a worm made cargo's `.package-cache` lock a
    // link to a crate file of its own, so cargo "held" it open.
    let dir = tempfile::tempdir().unwrap();
    let path = write_crate(dir.path(), "cache/foo-1.0.0.crate", &plain_crate());
    let held = std::fs::File::open(&path).unwrap();
    assert!(held_open(std::process::id(), "foo", "1.0.0").is_empty());
    // The same file under a `package/tmp-crate/` directory, where cargo publish writes, is.
    let path = write_crate(
        dir.path(),
        "t/package/tmp-crate/foo-1.0.0.crate",
        &plain_crate(),
    );
    let held2 = std::fs::File::open(&path).unwrap();
    assert_eq!(held_open(std::process::id(), "foo", "1.0.0").len(), 1);
    drop((held, held2));
}

#[cfg(target_os = "linux")]
#[test]
fn the_crate_cargo_holds_open_is_found_even_when_its_path_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let bytes = plain_crate();
    let path = write_crate(root, "target/package/foo-1.0.0.crate", &bytes);
    // This process plays cargo: it holds the file open...
    let held = std::fs::File::open(&path).unwrap();
    let found = held_open(std::process::id(), "foo", "1.0.0");
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, path);
    // ... and the path is then replaced by other bytes: the open file is what counts.
    std::fs::remove_file(&path).unwrap();
    std::fs::write(&path, b"something else").unwrap();
    let mut p = places(Path::new("/nonexistent"), &["cargo", "publish"]);
    p.requester_pid = Some(std::process::id());
    let r = gather(
        "foo",
        "1.0.0",
        &hex(&Sha256::digest(&bytes)),
        &p,
        None,
        &Limits::default(),
    );
    assert!(matches!(r.check, Check::Match(_)), "{:?}", r.check);
    assert!(r.held_by_cargo());
    assert!(recheck(&r, &hex(&Sha256::digest(&bytes)), &Limits::default()).is_ok());
    drop(held);
}

#[test]
fn a_second_manifest_under_a_dotted_or_recased_name_is_a_problem_that_blocks_approve() {
    // Review of "Publish through the helper": `foo-0.2.0/./Cargo.toml`, appended after the
    // real one, is the manifest once tar's unpack_in has dropped the `.` (a hidden build
    // script ran for every consumer); the window's walker took it for another file.
    for second in [
        "foo-0.2.0/./Cargo.toml",
        "foo-0.2.0//Cargo.toml",
        "foo-0.2.0/CARGO.TOML",
    ] {
        let bytes = targz(&[
            file("foo-0.2.0/Cargo.toml", MANIFEST.as_bytes()),
            file("foo-0.2.0/src/lib.rs", b"pub fn f() {}"),
            file(
                second,
                b"[package]\nname = \"foo\"\nversion = \"0.2.0\"\nbuild = \"src/lib.rs\"\n",
            ),
        ]);
        let (report, _) = report_for_bytes(
            "foo",
            "0.2.0",
            &bytes,
            Path::new("/t/foo-0.2.0.crate"),
            None,
            &Limits::default(),
            None,
        );
        let problems = &report.contents.as_ref().unwrap().problems;
        assert!(
            problems.iter().any(|p| p.contains("appears twice")),
            "{second}: {problems:?}"
        );
        assert!(report.blocks_approve(), "{second}");
    }
    // The plain crate has none, and is approvable.
    let (report, _) = report_for_bytes(
        "foo",
        "0.2.0",
        &plain_crate(),
        Path::new("/t/foo-0.2.0.crate"),
        None,
        &Limits::default(),
        None,
    );
    assert!(!report.blocks_approve(), "{:?}", report.contents);
}

#[test]
fn a_proc_macro_by_crate_type_is_flagged() {
    // Review of "Publish through the helper": `[lib] crate-type = ["proc-macro"]` compiles as
    // a proc-macro, and the window only knew `proc-macro = true`.
    let manifest =
        b"[package]\nname = \"foo\"\nversion = \"0.2.0\"\n\n[lib]\ncrate-type = [\"proc-macro\"]\n";
    let bytes = targz(&[
        file("foo-0.2.0/Cargo.toml", manifest),
        file("foo-0.2.0/src/lib.rs", b""),
    ]);
    let c = list(&bytes[..], &Limits::default());
    assert!(c.manifest.as_ref().unwrap().proc_macro);
}

#[test]
fn a_second_manifest_is_the_one_read_and_the_pair_blocks_approve() {
    // Found by fuzzing (issue 15, manifest_diff): an archive whose first Cargo.toml is not
    // TOML and whose second is. The walker read the second, as unpacking would; the
    // property the fuzz target checked assumed the first. What matters to the person: the
    // manifest shown is the copy that wins, and the pair is flagged, so Approve is dead.
    let c = list(
        &targz(&[
            file("foo-0.1.0/Cargo.toml", b"\xba\x00 not toml ["),
            file(
                "foo-0.1.0/Cargo.toml",
                b"[package]\nname = \"foo\"\nversion = \"0.1.0\"\nlinks = \"z\"\n",
            ),
            file("foo-0.1.0/src/lib.rs", b""),
        ])[..],
        &Limits::default(),
    );
    let m = c.manifest.as_ref().expect("the second copy is read");
    assert_eq!(m.links.as_deref(), Some("z"));
    assert!(
        c.problems
            .iter()
            .any(|p| p.contains("Cargo.toml appears twice")),
        "{:?}",
        c.problems
    );
}

#[test]
fn the_lines_a_reviewer_must_read_are_shown_added_and_removed() {
    let manifest = |v: &str, extra: &str| {
        format!("[package]\nname = \"foo\"\nversion = \"{v}\"\nproc-macro = false\n{extra}")
    };
    let old_build = "fn main() {\n    println!(\"cargo:rerun-if-changed=build.rs\");\n}\n";
    let new_build = "fn main() {\n    println!(\"cargo:rerun-if-changed=build.rs\");\n    \
                     std::process::Command::new(\"curl\").arg(\"evil\").status().ok();\n}\n";
    let (m1, m2) = (
        manifest("0.1.0", ""),
        manifest("0.2.0", "[dependencies]\nlog = \"0.4\"\n"),
    );
    let before = list(
        &targz(&[
            file("foo-0.1.0/Cargo.toml", m1.as_bytes()),
            file("foo-0.1.0/build.rs", old_build.as_bytes()),
            file("foo-0.1.0/src/lib.rs", b"pub fn f() {}\n"),
        ])[..],
        &Limits::default(),
    );
    let now = list(
        &targz(&[
            file("foo-0.2.0/Cargo.toml", m2.as_bytes()),
            file("foo-0.2.0/build.rs", new_build.as_bytes()),
            file("foo-0.2.0/src/lib.rs", b"pub fn f() { changed() }\n"),
            file("foo-0.2.0/scripts/setup.sh", b"#!/bin/sh\nrm -rf ~\n"),
        ])[..],
        &Limits::default(),
    );
    let d = diff(&before, &now, "0.1.0", PathBuf::new());
    let whys: Vec<(&str, &str)> = d
        .lines
        .iter()
        .map(|l| (l.path.as_str(), l.why.as_str()))
        .collect();
    // Not src/lib.rs: not a proc-macro, and inside src/.
    assert_eq!(
        whys,
        [
            ("build.rs", "build script"),
            ("Cargo.toml", "manifest"),
            ("scripts/setup.sh", "outside src/")
        ]
    );
    let build = &d.lines[0];
    assert_eq!((build.added, build.removed), (1, 0));
    assert!(
        build
            .hunks
            .iter()
            .any(|h| h.starts_with('+') && h.contains("curl")),
        "{:?}",
        build.hunks
    );
    let m = &d.lines[1];
    assert!(
        m.hunks.contains(&"-version = \"0.1.0\"".to_string()),
        "{:?}",
        m.hunks
    );
    assert!(
        m.hunks.contains(&"+log = \"0.4\"".to_string()),
        "{:?}",
        m.hunks
    );
    // A new file is all added.
    assert_eq!((d.lines[2].added, d.lines[2].removed), (2, 0));
}

#[test]
fn a_long_diff_is_cut_and_says_how_much() {
    let old: String = (0..2000).map(|i| format!("line {i}\n")).collect();
    let new: String = (0..2000)
        .map(|i| format!("line {i} changed {}\n", "x".repeat(300)))
        .collect();
    let l = review::line_diff("build.rs", "build script", Some(&old), Some(&new));
    assert_eq!((l.added, l.removed), (2000, 2000));
    assert_eq!(l.hunks.len(), review::DIFF_LINES);
    assert_eq!(l.cut, 4000 - review::DIFF_LINES);
    assert!(
        l.hunks
            .iter()
            .all(|h| h.chars().count() <= review::DIFF_LINE_CHARS + 2)
    );
    let none = review::line_diff("build.rs", "build script", None, None);
    assert!(none.unavailable.is_some());
}

#[test]
fn a_manifest_that_only_bumped_its_version_shows_no_lines() {
    let before = list(
        &clean_crate("foo", "0.1.0", "pub fn f() {}")[..],
        &Limits::default(),
    );
    let now = list(
        &clean_crate("foo", "0.2.0", "pub fn f() {}")[..],
        &Limits::default(),
    );
    let d = diff(&before, &now, "0.1.0", PathBuf::new());
    assert!(d.lines.is_empty(), "{:?}", d.lines);
}
