//! The repository is the worm's ground (issue "Where did these bytes come from", third red
//! team): attacks on the provenance check itself, each with a repository the worm shaped and a
//! `.crate` made by hand the way cargo makes it (so no registry and no cargo run is needed),
//! checked through the library's `list` and `provenance::check`.

#![cfg(target_os = "linux")]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use cargo_confirm_gui::package::{Limits, Provenance, list, provenance};
use cargo_confirm_gui::policy::PublishRules;

/// Runs a shell script in `dir` (git with a fixed identity), and returns its output.
fn sh(dir: &Path, script: &str) -> String {
    let out = Command::new("bash")
        .arg("-ec")
        .arg(script)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "P")
        .env("GIT_AUTHOR_EMAIL", "p@example.com")
        .env("GIT_COMMITTER_NAME", "P")
        .env("GIT_COMMITTER_EMAIL", "p@example.com")
        .env_remove("GIT_DIR")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A `.crate` of `files` (path, text) as cargo packages it, naming `commit` at `path_in_vcs`.
fn krate(dir: &Path, commit: &str, path_in_vcs: &str, files: &[(&str, &str)]) -> PathBuf {
    let root = dir.join("pkg/foo-0.1.0");
    std::fs::create_dir_all(&root).unwrap();
    let vcs = format!(
        "{{\"git\":{{\"sha1\":\"{commit}\",\"dirty\":false}},\"path_in_vcs\":\"{path_in_vcs}\"}}"
    );
    for (path, text) in files
        .iter()
        .copied()
        .chain([(".cargo_vcs_info.json", vcs.as_str())])
    {
        let f = root.join(path);
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(f, text).unwrap();
    }
    let out = dir.join("foo-0.1.0.crate");
    sh(
        &dir.join("pkg"),
        &format!("tar czf {} foo-0.1.0", out.display()),
    );
    out
}

fn check(start: &Path, krate: &Path) -> Provenance {
    let contents = list(std::fs::File::open(krate).unwrap(), &Limits::default());
    provenance::check(Some(start), &contents, Duration::from_secs(2))
}

const MANIFEST: &str = "[package]\nname = \"foo\"\nversion = \"0.1.0\"\nedition = \"2021\"\n";
const LIB: &str = "pub fn f() {}\n";

fn lock(itoa: &str, checksum: &str) -> String {
    format!(
        "version = 4\n\n[[package]]\nname = \"foo\"\nversion = \"0.1.0\"\ndependencies = [\"itoa\"]\n\n\
         [[package]]\nname = \"itoa\"\nversion = \"{itoa}\"\n\
         source = \"registry+https://github.com/rust-lang/crates.io-index\"\nchecksum = \"{checksum}\"\n"
    )
}

/// A pushed repository holding `files`; returns its commit.
fn pushed(dir: &Path, files: &[(&str, &str)]) -> String {
    let w = dir.join("w");
    for (path, text) in files {
        let f = w.join(path);
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(f, text).unwrap();
    }
    sh(
        dir,
        "git init -q --bare remote && cd w && git init -q -b main && git add . && \
         git commit -qm first && git remote add origin ../remote && git push -q origin main",
    );
    sh(&w, "git rev-parse HEAD")
}

#[test]
fn a_lock_pin_the_commit_does_not_have_is_named() {
    let d = tempfile::tempdir().unwrap();
    let committed = lock("1.0.19", &"a".repeat(64));
    let commit = pushed(
        d.path(),
        &[
            ("Cargo.toml", MANIFEST),
            ("src/lib.rs", LIB),
            ("Cargo.lock", &committed),
        ],
    );
    // The worm pinned another version in the working tree's lock and hid the edit from git
    // (`update-index --assume-unchanged`): cargo packs that lock.
    let k = krate(
        d.path(),
        &commit,
        "",
        &[
            ("Cargo.toml", MANIFEST),
            ("Cargo.toml.orig", MANIFEST),
            ("src/lib.rs", LIB),
            ("Cargo.lock", &lock("1.0.18", &"b".repeat(64))),
        ],
    );
    let p = check(&d.path().join("w"), &k);
    assert!(p.checked, "{p:?}");
    assert_eq!(p.lock_changes, ["itoa 1.0.18"], "{p:?}");
    assert_eq!(p.differs, ["Cargo.lock"], "{p:?}");
    let (tone, line) = p.verdict(0);
    assert_eq!(tone, provenance::Tone::Bad, "{line}");
    // The same lock as committed passes.
    let d2 = tempfile::tempdir().unwrap();
    let commit = pushed(
        d2.path(),
        &[
            ("Cargo.toml", MANIFEST),
            ("src/lib.rs", LIB),
            ("Cargo.lock", &committed),
        ],
    );
    let k = krate(
        d2.path(),
        &commit,
        "",
        &[
            ("Cargo.toml", MANIFEST),
            ("Cargo.toml.orig", MANIFEST),
            ("src/lib.rs", LIB),
            ("Cargo.lock", &committed),
        ],
    );
    let p = check(&d2.path().join("w"), &k);
    assert_eq!(p.verdict(0).0, provenance::Tone::Good, "{p:?}");
}

#[test]
fn a_lock_with_no_lock_in_the_commit_is_not_called_the_commits() {
    // Red team 2: with no `Cargo.lock` committed, the packaged pins were never compared, and
    // the verdict said "same files" in green while a worm's index chose the versions.
    let d = tempfile::tempdir().unwrap();
    let commit = pushed(d.path(), &[("Cargo.toml", MANIFEST), ("src/lib.rs", LIB)]);
    let k = krate(
        d.path(),
        &commit,
        "",
        &[
            ("Cargo.toml", MANIFEST),
            ("Cargo.toml.orig", MANIFEST),
            ("src/lib.rs", LIB),
            ("Cargo.lock", &lock("1.0.18", &"b".repeat(64))),
        ],
    );
    let p = check(&d.path().join("w"), &k);
    assert!(p.checked && p.differs.is_empty(), "{p:?}");
    let (tone, line) = p.verdict(0);
    assert_eq!(tone, provenance::Tone::Look, "{line}");
    assert!(line.contains("Cargo.lock (the commit has none"), "{line}");
    let clean = PublishRules {
        require_clean: true,
        ..Default::default()
    };
    assert!(clean.refuses(Some(&p)).is_some());
}

#[test]
fn values_inherited_from_the_workspace_are_not_called_the_commits() {
    let d = tempfile::tempdir().unwrap();
    let member = format!("{MANIFEST}[dependencies]\nitoa.workspace = true\n");
    let commit = pushed(
        d.path(),
        &[
            (
                "Cargo.toml",
                "[workspace]\nmembers = [\"foo\"]\n[workspace.dependencies]\nitoa = \"1\"\n",
            ),
            ("foo/Cargo.toml", &member),
            ("foo/src/lib.rs", LIB),
        ],
    );
    // cargo reads the workspace's Cargo.toml from the working tree and never checks it for
    // changes: the worm swapped the dependency there, and the member's own files match.
    let k = krate(
        d.path(),
        &commit,
        "foo",
        &[
            (
                "Cargo.toml",
                &format!("{MANIFEST}[dependencies.itoa]\nversion = \"2\"\npackage = \"memchr\"\n"),
            ),
            ("Cargo.toml.orig", &member),
            ("src/lib.rs", LIB),
        ],
    );
    let p = check(&d.path().join("w/foo"), &k);
    assert!(p.checked && p.differs.is_empty(), "{p:?}");
    let (tone, line) = p.verdict(0);
    assert_eq!(tone, provenance::Tone::Look, "{line}");
    assert!(line.contains("not compared with it"), "{line}");
    let clean = PublishRules {
        require_clean: true,
        ..Default::default()
    };
    assert!(clean.refuses(Some(&p)).is_some());
}

#[test]
fn a_linked_worktree_of_a_repository_that_borrows_objects_is_not_read() {
    let d = tempfile::tempdir().unwrap();
    let commit = pushed(d.path(), &[("Cargo.toml", MANIFEST), ("src/lib.rs", LIB)]);
    sh(
        d.path(),
        "git clone -q --shared w borrower && cd borrower && git worktree add -q ../wt HEAD",
    );
    let k = krate(
        d.path(),
        &commit,
        "",
        &[
            ("Cargo.toml", MANIFEST),
            ("Cargo.toml.orig", MANIFEST),
            ("src/lib.rs", LIB),
        ],
    );
    for dir in ["borrower", "wt"] {
        let p = check(&d.path().join(dir), &k);
        assert!(!p.checked, "{dir}: {p:?}");
        assert!(
            p.why_not.as_deref().unwrap_or("").contains("alternates"),
            "{dir}: {p:?}"
        );
    }
}

/// Peak resident memory of this process, in KiB.
fn peak_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[test]
fn a_commit_object_that_claims_gigabytes_is_not_inflated() {
    use std::io::Write;
    let d = tempfile::tempdir().unwrap();
    let commit = pushed(d.path(), &[("Cargo.toml", MANIFEST), ("src/lib.rs", LIB)]);
    // The worm rewrites the commit's loose object: a header claiming 3 GB, then 400 MB of
    // zeros (400 KB on disk). Inflated on, it would take the memory the check is bounded in.
    let object = d
        .path()
        .join(format!("w/.git/objects/{}/{}", &commit[..2], &commit[2..]));
    sh(d.path(), &format!("chmod u+w {}", object.display()));
    let mut z = flate2::write::ZlibEncoder::new(
        std::fs::File::create(&object).unwrap(),
        flate2::Compression::fast(),
    );
    z.write_all(b"commit 3000000000\0").unwrap();
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..400 {
        z.write_all(&zeros).unwrap();
    }
    z.finish().unwrap();
    drop(zeros);
    let k = krate(
        d.path(),
        &commit,
        "",
        &[
            ("Cargo.toml", MANIFEST),
            ("Cargo.toml.orig", MANIFEST),
            ("src/lib.rs", LIB),
        ],
    );
    let before = peak_kib();
    let p = check(&d.path().join("w"), &k);
    assert!(!p.checked, "{p:?}");
    assert!(!p.verdict(0).1.contains("same files"), "{p:?}");
    // Past the check's budget, nothing goes on inflating in the background.
    std::thread::sleep(Duration::from_secs(3));
    let grew = peak_kib().saturating_sub(before);
    assert!(grew < 100 << 10, "peak memory grew by {grew} KiB");
}

#[test]
fn a_committed_lock_whose_blob_is_gone_is_not_the_commits() {
    // Red team 3: the commit names a Cargo.lock, but its blob is not in the clone's object
    // store (the worm deleted the loose object; the remote still has it). `compare_lock`
    // returns with nothing said, and the verdict is green while the packaged lock pins a
    // version the commit does not.
    let d = tempfile::tempdir().unwrap();
    let committed = lock("1.0.19", &"a".repeat(64));
    let commit = pushed(
        d.path(),
        &[
            ("Cargo.toml", MANIFEST),
            ("src/lib.rs", LIB),
            ("Cargo.lock", &committed),
        ],
    );
    let w = d.path().join("w");
    let blob = sh(&w, "git rev-parse HEAD:Cargo.lock");
    std::fs::remove_file(w.join(format!(".git/objects/{}/{}", &blob[..2], &blob[2..]))).unwrap();
    let k = krate(
        d.path(),
        &commit,
        "",
        &[
            ("Cargo.toml", MANIFEST),
            ("Cargo.toml.orig", MANIFEST),
            ("src/lib.rs", LIB),
            ("Cargo.lock", &lock("1.0.18", &"b".repeat(64))),
        ],
    );
    let p = check(&w, &k);
    let (tone, line) = p.verdict(0);
    assert_ne!(tone, provenance::Tone::Good, "{line} / {p:?}");
}
