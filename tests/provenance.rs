//! Where did these bytes come from (issue "Where did these bytes come from"): real cargo
//! publishes a crate from a git repository the test makes, with a bare "remote" on disk; the
//! window shows, and the audit record keeps, whether the `.crate` holds exactly the commit's
//! bytes and whether that commit was pushed. The helper reads the repository as data: it never
//! runs git (the tests do, to make the repositories), and nothing the repository's config or
//! hooks name ever runs.

#![cfg(target_os = "linux")]

mod support;

use std::path::Path;
use std::process::Command;

use support::*;

const TOKEN: &str = "tok-provenance-0123456789";

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args([
            "-c",
            "user.name=Test Person",
            "-c",
            "user.email=person@example.com",
        ])
        .args([
            "-c",
            "init.defaultBranch=main",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .env_remove("GIT_DIR")
        .output()
        .expect("git");
    assert!(out.status.success(), "git {args:?}: {out:?}");
}

/// What git prints, trimmed.
fn git_out(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env_remove("GIT_DIR")
        .output()
        .expect("git");
    assert!(out.status.success(), "git {args:?}: {out:?}");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The worm's commit: the working tree (with its edit) as a commit with the same message and
/// no parent, like the first commit it will stand in for.
fn worms_commit(dir: &Path) -> String {
    git(dir, &["add", "-A"]);
    let tree = git_out(dir, &["write-tree"]);
    git_out(
        dir,
        &[
            "-c",
            "user.name=Test Person",
            "-c",
            "user.email=person@example.com",
            "commit-tree",
            &tree,
            "-m",
            "first",
        ],
    )
}

/// The record's provenance says the bytes cannot be traced, and nothing says "same files".
fn assert_untraceable(rec: &serde_json::Value) {
    let prov = &rec["provenance"];
    assert!(
        prov["forged"].is_string() || prov["differs"] != serde_json::json!([]),
        "the worm's bytes passed for the commit's: {rec}"
    );
    let evidence = rec["evidence"].as_str().unwrap();
    assert!(!evidence.contains("same files"), "{rec}");
}

/// A project in a git repository whose every file is committed and pushed to a bare remote.
fn pushed(name: &str) -> Project {
    let p = Project::enrolled(name, TOKEN, &[]);
    let remote = p.dir.parent().unwrap().join("remote.git");
    git(
        p.dir.parent().unwrap(),
        &["init", "-q", "--bare", remote.to_str().unwrap()],
    );
    git(&p.dir, &["init", "-q"]);
    std::fs::write(p.dir.join(".gitignore"), "target/\n").unwrap();
    git(&p.dir, &["add", "."]);
    git(&p.dir, &["commit", "-q", "-m", "first"]);
    git(
        &p.dir,
        &["remote", "add", "origin", remote.to_str().unwrap()],
    );
    git(&p.dir, &["push", "-q", "origin", "main"]);
    p
}

/// A person approves the publish; the record of it.
fn approve(p: &Project) -> serde_json::Value {
    let (status, _, err) = person_answers(p.publish(), "cargo-confirm-gui", Click::Approve);
    assert!(status.success(), "{err}");
    p.audit().last().cloned().expect("a record")
}

#[test]
fn a_pushed_clean_commit_matches_and_says_where() {
    let _g = gui_lock();
    let p = pushed("prov-pushed");
    let rec = approve(&p);
    let prov = &rec["provenance"];
    assert_eq!(prov["checked"], true, "{rec}");
    assert_eq!(prov["on_remote"], true, "{rec}");
    assert_eq!(prov["remote_ref"], "origin/main", "{rec}");
    assert_eq!(prov["dirty"], false, "{rec}");
    assert_eq!(prov["differs"], serde_json::json!([]), "{rec}");
    assert_eq!(prov["untracked"], serde_json::json!([]), "{rec}");
    assert!(
        rec["evidence"]
            .as_str()
            .unwrap()
            .contains("source: same files as commit"),
        "{rec}"
    );
    // `cargo confirm-gui log --json` gives the same object back.
    let out = Command::new(PROVIDER)
        .args(["confirm-gui", "log", "--json"])
        .env("XDG_STATE_HOME", p.state())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let first: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().next().unwrap()).unwrap();
    assert_eq!(first["provenance"], *prov, "{first}");
}

#[test]
fn a_commit_made_after_the_push_is_local_only() {
    let _g = gui_lock();
    let p = pushed("prov-local");
    std::fs::write(
        p.dir.join("src/lib.rs"),
        "pub fn f() { /* the worm's */ }\n",
    )
    .unwrap();
    git(&p.dir, &["commit", "-q", "-am", "a commit nobody pushed"]);
    let rec = approve(&p);
    let prov = &rec["provenance"];
    assert_eq!(prov["checked"], true, "{rec}");
    assert_eq!(prov["on_remote"], false, "{rec}");
    assert_eq!(prov["local_only"]["commits"], 1, "{rec}");
    assert_eq!(prov["local_only"]["committer"], "Test Person", "{rec}");
    assert_eq!(prov["differs"], serde_json::json!([]), "{rec}");
    assert!(
        rec["evidence"].as_str().unwrap().contains("local only"),
        "{rec}"
    );
}

#[test]
fn an_edit_after_the_commit_and_a_file_git_does_not_track_are_named() {
    let _g = gui_lock();
    let p = pushed("prov-dirty");
    // Published with --allow-dirty (as Project::publish does): an edit nobody committed, and
    // a new file nobody added.
    std::fs::write(p.dir.join("src/lib.rs"), "pub fn f() { /* edited */ }\n").unwrap();
    std::fs::write(p.dir.join("src/extra.rs"), "pub fn g() {}\n").unwrap();
    let rec = approve(&p);
    let prov = &rec["provenance"];
    assert_eq!(prov["checked"], true, "{rec}");
    assert_eq!(prov["dirty"], true, "{rec}");
    assert_eq!(prov["differs"], serde_json::json!(["src/lib.rs"]), "{rec}");
    assert_eq!(
        prov["untracked"],
        serde_json::json!(["src/extra.rs"]),
        "{rec}"
    );
    assert!(
        rec["evidence"]
            .as_str()
            .unwrap()
            .contains("2 files differ from commit"),
        "{rec}"
    );
}

#[test]
fn nothing_the_repository_names_is_ever_run() {
    let _g = gui_lock();
    let p = pushed("prov-hooks");
    let marker = p.dir.parent().unwrap().join("ran");
    // The script writes down its whole ancestry: cargo itself may run what the repository
    // names (it reads the repository with its own git library), the helper must not.
    let touch = format!(
        "#!/bin/sh\np=$$\nwhile [ \"$p\" -gt 1 ]; do tr '\\\\0' ' ' < /proc/$p/cmdline; echo; \
         p=$(awk '{{print $4}}' /proc/$p/stat); done >> {}\necho --- >> {}\n",
        marker.display(),
        marker.display()
    );
    // Every hook, an fsmonitor, a filter and a textconv that would leave the marker.
    for hook in [
        "post-checkout",
        "pre-commit",
        "post-index-change",
        "reference-transaction",
        "fsmonitor-watchman",
    ] {
        let h = p.dir.join(".git/hooks").join(hook);
        std::fs::write(&h, &touch).unwrap();
        std::fs::set_permissions(&h, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    }
    let script = p.dir.parent().unwrap().join("run.sh");
    std::fs::write(&script, &touch).unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    // A filter is given the file on its stdin: it reads it all first, or cargo's git library,
    // writing to a filter that has exited, fails with a broken pipe (seen on a loaded
    // machine) before any window.
    let filter = p.dir.parent().unwrap().join("filter.sh");
    std::fs::write(
        &filter,
        touch.replacen("#!/bin/sh\n", "#!/bin/sh\ncat > /dev/null\n", 1),
    )
    .unwrap();
    std::fs::set_permissions(&filter, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let (s, f) = (script.display(), filter.display());
    let mut config = std::fs::read_to_string(p.dir.join(".git/config")).unwrap();
    config.push_str(&format!(
        "[core]\n\tfsmonitor = {s}\n\thooksPath = .git/hooks\n[filter \"x\"]\n\tclean = {f}\n\tsmudge = {f}\n\
         [diff \"x\"]\n\ttextconv = {s}\n"
    ));
    std::fs::write(p.dir.join(".git/config"), config).unwrap();
    std::fs::write(p.dir.join(".gitattributes"), "* filter=x diff=x\n").unwrap();
    // The trap is live: git itself springs it.
    let _ = std::fs::remove_file(&marker);
    git(&p.dir, &["status", "--short"]);
    let sprung = std::fs::read_to_string(&marker).unwrap_or_default();
    assert!(
        sprung.contains("git"),
        "the trap did not spring for git: {sprung:?}"
    );
    let _ = std::fs::remove_file(&marker);
    let rec = approve(&p);
    assert!(rec["provenance"]["commit"].is_string(), "{rec}");
    let ran = std::fs::read_to_string(&marker).unwrap_or_default();
    assert!(
        !ran.contains("cargo-confirm-gui"),
        "the helper ran something the repository names while reading its provenance:\n{ran}"
    );
}

#[test]
fn a_loose_object_rewritten_under_the_commits_id_is_caught() {
    let _g = gui_lock();
    let p = pushed("prov-forged");
    let real = git_out(&p.dir, &["rev-parse", "HEAD"]);
    // The worm edits the code, makes a commit of it, and writes that commit's bytes into the
    // file named after the pushed commit: git's object store trusts a file's name, so HEAD
    // (and origin/main) now "are" the worm's tree.
    std::fs::write(
        p.dir.join("src/lib.rs"),
        "pub fn f() { /* the worm's */ }\n",
    )
    .unwrap();
    let forged = worms_commit(&p.dir);
    let path = |id: &str| p.dir.join(".git/objects").join(&id[..2]).join(&id[2..]);
    std::fs::set_permissions(
        path(&real),
        std::os::unix::fs::PermissionsExt::from_mode(0o644),
    )
    .unwrap();
    std::fs::copy(path(&forged), path(&real)).unwrap();
    assert!(
        git_out(&p.dir, &["cat-file", "-p", &real]).contains(&git_out(
            &p.dir,
            &["rev-parse", &format!("{forged}^{{tree}}")]
        )),
        "the forgery did not take"
    );
    let rec = approve(&p);
    assert_eq!(rec["provenance"]["commit"], real.as_str(), "{rec}");
    assert_eq!(rec["provenance"]["forged"], real.as_str(), "{rec}");
    assert_untraceable(&rec);
    assert!(
        rec["evidence"]
            .as_str()
            .unwrap()
            .contains("repository was rewritten"),
        "{rec}"
    );
}

#[test]
fn a_replace_ref_cannot_stand_in_for_the_commit() {
    let _g = gui_lock();
    let p = pushed("prov-replace");
    let real = git_out(&p.dir, &["rev-parse", "HEAD"]);
    // `refs/replace/<pushed commit>` names the worm's commit: git (and a reader that honours
    // replace refs) sees the worm's tree under the pushed commit's id.
    std::fs::write(
        p.dir.join("src/lib.rs"),
        "pub fn f() { /* the worm's */ }\n",
    )
    .unwrap();
    let forged = worms_commit(&p.dir);
    git(&p.dir, &["replace", &real, &forged]);
    assert_eq!(
        git_out(&p.dir, &["rev-parse", "HEAD^{tree}"]),
        git_out(&p.dir, &["rev-parse", &format!("{forged}^{{tree}}")]),
        "the replace ref did not take"
    );
    let rec = approve(&p);
    assert_eq!(rec["provenance"]["commit"], real.as_str(), "{rec}");
    assert_eq!(
        rec["provenance"]["differs"],
        serde_json::json!(["src/lib.rs"]),
        "{rec}"
    );
    assert_untraceable(&rec);
}

#[test]
fn a_repository_that_borrows_objects_is_not_checked_and_the_window_still_works() {
    let _g = gui_lock();
    let p = pushed("prov-alternates");
    // Objects borrowed from another store (`objects/info/alternates`): cargo and git follow
    // it; the helper will not read objects from a place the repository names, so it says it
    // could not check, and the person can still decide.
    let remote = p.dir.parent().unwrap().join("remote.git/objects");
    std::fs::write(
        p.dir.join(".git/objects/info/alternates"),
        format!("{}\n", remote.display()),
    )
    .unwrap();
    let rec = approve(&p);
    let prov = &rec["provenance"];
    assert_eq!(prov["checked"], false, "{rec}");
    assert!(
        prov["why_not"].as_str().unwrap().contains("alternates"),
        "{rec}"
    );
    // Never "same files".
    assert!(
        !rec["evidence"].as_str().unwrap().contains("same files"),
        "{rec}"
    );
}

#[test]
fn no_repository_says_so_plainly() {
    let _g = gui_lock();
    let p = Project::enrolled("prov-none", TOKEN, &[]);
    let rec = approve(&p);
    let prov = &rec["provenance"];
    assert_eq!(prov["checked"], false, "{rec}");
    assert!(
        prov["why_not"].as_str().unwrap().contains("no VCS info"),
        "{rec}"
    );
}

#[test]
fn a_huge_history_is_not_checked_and_the_window_still_works() {
    let _g = gui_lock();
    let p = Project::enrolled("prov-huge", TOKEN, &[]);
    // 60,000 commits no remote has (more than the walk's bound), then the project on top.
    git(&p.dir, &["init", "-q"]);
    let mut stream = String::new();
    for i in 1..=60_000u32 {
        stream.push_str(&format!(
            "commit refs/heads/main\nmark :{i}\ncommitter T <t@example.com> 1700000000 +0000\n\
             data 1\nc\n"
        ));
        if i > 1 {
            stream.push_str(&format!("from :{}\n", i - 1));
        }
        stream.push('\n');
    }
    let mut fi = Command::new("git")
        .args(["fast-import", "--quiet"])
        .current_dir(&p.dir)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    fi.stdin
        .take()
        .unwrap()
        .write_all(stream.as_bytes())
        .unwrap();
    assert!(fi.wait().unwrap().success());
    std::fs::write(p.dir.join(".gitignore"), "target/\n").unwrap();
    git(&p.dir, &["add", "."]);
    git(&p.dir, &["commit", "-q", "-m", "the project"]);
    let rec = approve(&p);
    let prov = &rec["provenance"];
    assert_eq!(prov["checked"], false, "{rec}");
    let why = prov["why_not"].as_str().unwrap();
    assert!(
        why.contains("more than") || why.contains("longer than"),
        "{rec}"
    );
    assert!(
        !rec["evidence"].as_str().unwrap().contains("same files"),
        "{rec}"
    );
}

/// Clicks Approve in a window whose Approve the policy blocks: nothing happens; then Deny.
fn approve_is_blocked(mut child: std::process::Child) -> (std::process::ExitStatus, String) {
    let (_, g) = window_for(&mut child, "cargo-confirm-gui");
    wait_armed();
    let (x, y) = approve_point(g);
    desk().human_click(x, y);
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert!(
        child.try_wait().unwrap().is_none(),
        "a blocked Approve ended the window"
    );
    let (x, y) = deny_point(g);
    desk().human_click(x, y);
    let (status, _, err) = wait_output(child, std::time::Duration::from_secs(120));
    (status, err)
}

#[test]
fn the_policy_can_require_a_pushed_clean_commit() {
    // `[publish] require-pushed` and `require-clean` in the root policy: provenance becomes
    // a gate. A pushed, clean commit is approvable; a local-only commit and an edit after the
    // commit are not (Approve does nothing; the person can only Deny), in both modes.
    let _g = gui_lock();
    let policy = PolicyFile::none();
    policy.set(
        "[publish]\nrequire-pushed = true\nrequire-clean = true\n",
        0o644,
    );
    let p = pushed("prov-policy");
    let rec = approve(&p);
    assert_eq!(rec["outcome"], "approved", "{rec}");
    assert_eq!(p.registry.uploads().len(), 1);

    // A commit nobody pushed, published by cargo itself (provider mode).
    p.manifest("0.1.1", "");
    git(&p.dir, &["commit", "-q", "-am", "0.1.1, not pushed"]);
    let (status, err) = approve_is_blocked(p.publish());
    assert!(!status.success(), "{err}");
    assert_eq!(p.registry.uploads().len(), 1);
    let rec = p.audit().last().cloned().unwrap();
    assert_eq!(rec["provenance"]["on_remote"], false, "{rec}");

    // Pushed, then an edit after the commit, through the helper's own publish.
    p.clear_cooldown();
    git(&p.dir, &["push", "-q", "origin", "main"]);
    std::fs::write(p.dir.join("src/lib.rs"), "pub fn f() { /* edited */ }\n").unwrap();
    let child = p
        .cargo(&[
            "confirm-gui",
            "publish",
            "--registry",
            "local",
            "--no-verify",
            "--allow-dirty",
        ])
        .spawn()
        .unwrap();
    let (status, err) = approve_is_blocked(child);
    assert!(!status.success(), "{err}");
    assert_eq!(p.registry.uploads().len(), 1);
    let rec = p.audit().last().cloned().unwrap();
    // A plan's record holds one provenance per crate.
    assert_eq!(
        rec["provenance"][0]["differs"],
        serde_json::json!(["src/lib.rs"]),
        "{rec}"
    );
}

#[test]
fn a_commit_signed_by_a_key_the_policy_names_is_shown_by_name() {
    // `require-signed` with `allowed-signers` in the root policy: the helper verifies the
    // commit's SSH signature itself (ssh-keygen makes it here; the helper never runs it), and
    // names the signer only from the policy. An unsigned commit on top is blocked.
    let _g = gui_lock();
    let p = pushed("prov-signed");
    let home = p.dir.parent().unwrap();
    let key = home.join("signing-key");
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "you", "-f"])
        .arg(&key)
        .output()
        .expect("ssh-keygen");
    assert!(out.status.success(), "{out:?}");
    let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
    let policy = PolicyFile::none();
    policy.set(
        &format!(
            "[publish]\nrequire-signed = true\nallowed-signers = [\"you@example.com {}\"]\n",
            public.trim()
        ),
        0o644,
    );
    let k = key.to_str().unwrap().to_string();
    let signed_commit = |msg: &str| {
        git(
            &p.dir,
            &[
                "-c",
                "gpg.format=ssh",
                "-c",
                &format!("user.signingkey={k}"),
                "commit",
                "-q",
                "-S",
                "--allow-empty",
                "-m",
                msg,
            ],
        )
    };
    signed_commit("signed by you");
    git(&p.dir, &["push", "-q", "origin", "main"]);
    let rec = approve(&p);
    let sig = &rec["provenance"]["signature"];
    assert_eq!(sig["format"], "ssh", "{rec}");
    assert_eq!(sig["valid"], true, "{rec}");
    assert_eq!(sig["signer"], "you@example.com", "{rec}");
    assert_eq!(p.registry.uploads().len(), 1);

    p.manifest("0.1.1", "");
    git(&p.dir, &["commit", "-q", "-am", "0.1.1, unsigned"]);
    git(&p.dir, &["push", "-q", "origin", "main"]);
    let (status, err) = approve_is_blocked(p.publish());
    assert!(!status.success(), "{err}");
    let rec = p.audit().last().cloned().unwrap();
    assert_eq!(
        rec["provenance"]["signature"],
        serde_json::Value::Null,
        "{rec}"
    );
    assert_eq!(p.registry.uploads().len(), 1);
}
