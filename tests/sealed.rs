//! The sealed install on Linux, tested as ordinary users: `scripts/install-sealed.sh` puts
//! the helper setgid into a root-owned prefix with a group-only token directory; then, as
//! the non-root users `ccg-alice` and `ccg-bob` (created here; CI runs as root), a person
//! enrolls a token, approves a publish and a logout through real windows, while the users'
//! own programs try to list, read and replace the token files, preload code into the
//! helper, trace it, and reach each other's tokens. None of that may work; the controls
//! show each attack does work against an ordinary binary.

#![cfg(target_os = "linux")]

mod support;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use support::*;

const GROUP: &str = "ccg-sealed-test";
const ALICE: &str = "ccg-alice";
const BOB: &str = "ccg-bob";
const TOKEN: &str = "sealed-token-0123456789";
/// The password alice and bob have in the tests' own copy of /etc/shadow.
const PASSWORD: &str = "correct horse 7";
const ATTACK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/attack.py");
/// How long the helper may take to answer once a person has clicked.
const ANSWER: Duration = Duration::from_secs(60);
const INSTALL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/install-sealed.sh");

struct Sealed {
    root: PathBuf,
    exe: PathBuf,
    store: PathBuf,
    /// The registry alice publishes to.
    registry: Registry,
    /// Its index URL.
    url: String,
    /// A copy of the toolchain alice can run (hard links: the real one is under /root).
    toolchain: PathBuf,
    /// The tests' copies of /etc/shadow (alice's and bob's passwords set) and /etc/pam.d
    /// (the install's PAM service in it), mounted over the real ones in a private mount
    /// namespace for every command run as a user: the machine's own files are not touched.
    ns: PathBuf,
    _tmp: tempfile::TempDir,
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("spawn");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The install, made once per test binary. Only root can make one: the tests are ignored
/// unless asked for (`--include-ignored`, which scripts/test.sh passes as root), and fail
/// rather than pass when asked for elsewhere.
fn sealed() -> &'static Sealed {
    static S: OnceLock<Sealed> = OnceLock::new();
    S.get_or_init(|| {
        assert!(
            rustix::process::getuid().is_root(),
            "the sealed tests need root: they make users and a setgid install"
        );
        let tmp = tempfile::tempdir().unwrap();
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let root = tmp.path().to_path_buf();
        // The PAM directory the helper will read: a copy of the machine's, into which the
        // install below writes its service (the Debian package's is already in the copy).
        let ns = root.join("ns");
        std::fs::create_dir(&ns).unwrap();
        run(Command::new("cp").arg("-a").arg("/etc/pam.d").arg(ns.join("pam.d")));
        // CCG_SEALED_EXE: an install made elsewhere, with the store its sealed.toml names
        // (scripts/test-deb.sh: the Debian package's), instead of one made here.
        let (exe, store) = if let Some(exe) = std::env::var_os("CCG_SEALED_EXE") {
            let exe = PathBuf::from(exe);
            let config = std::fs::read_to_string(exe.with_file_name("sealed.toml")).unwrap();
            let config: toml::Table = toml::from_str(&config).unwrap();
            let store = PathBuf::from(config["store"].as_str().unwrap());
            (exe, store)
        } else {
            let prefix = root.join("opt");
            let store = root.join("store");
            run(Command::new("bash").arg(INSTALL).args([
                "--bin",
                PROVIDER,
                "--prefix",
                prefix.to_str().unwrap(),
                "--store",
                store.to_str().unwrap(),
                "--group",
                GROUP,
                "--no-link",
                "--pam-dir",
                ns.join("pam.d").to_str().unwrap(),
            ]));
            (prefix.join("cargo-confirm-gui"), store)
        };
        for user in [ALICE, BOB] {
            ensure_user(user);
            // Each user's own home, runtime and state directories.
            for sub in ["home", "runtime"] {
                let d = root.join(format!("{user}-{sub}"));
                std::fs::create_dir(&d).unwrap();
                run(Command::new("chown").arg(user).arg(&d));
                std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o700)).unwrap();
            }
        }
        set_passwords(&ns, &[ALICE, BOB]);
        let registry = Registry::start(Options {
            token: Some(TOKEN.into()),
            auth_required: false,
            refuse: None,
        })
        .unwrap();
        let url = registry.index_url();
        // Real cargo for alice: the test's own toolchain, linked where she can reach it.
        let cargo = PathBuf::from(std::env::var("CARGO").expect("run under cargo"));
        let real = cargo.parent().and_then(Path::parent).unwrap();
        let toolchain = root.join("toolchain");
        if !Command::new("cp")
            .arg("-al")
            .arg(real)
            .arg(&toolchain)
            .status()
            .unwrap()
            .success()
        {
            run(Command::new("cp").arg("-a").arg(real).arg(&toolchain));
        }
        // Alice's project and cargo home, the sealed helper as the registry's provider.
        let project = root.join("alice-project");
        std::fs::create_dir_all(project.join("src")).unwrap();
        std::fs::write(
            project.join("Cargo.toml"),
            "[package]\nname = \"sealed\"\nversion = \"1.0.0\"\nedition = \"2021\"\ndescription = \"t\"\nlicense = \"MIT\"\n\n[workspace]\n",
        )
        .unwrap();
        std::fs::write(project.join("src/lib.rs"), "").unwrap();
        let cargo_home = root.join("alice-cargo-home");
        std::fs::create_dir_all(&cargo_home).unwrap();
        std::fs::write(
            cargo_home.join("config.toml"),
            format!(
                "[registries.local]\nindex = \"{url}\"\ncredential-provider = [{:?}]\n",
                exe
            ),
        )
        .unwrap();
        run(Command::new("chown")
            .args(["-R", ALICE])
            .arg(&project)
            .arg(&cargo_home));
        let s = Sealed {
            exe,
            store,
            registry,
            url,
            toolchain,
            ns,
            root,
            _tmp: tmp,
        };
        // Where this runs as root the namespace must work: a failure here fails every test,
        // loudly, rather than letting them run against the machine's own files.
        let out = Command::new("unshare")
            .args(["-m", "--propagation", "private", "--", "sh", "-c"])
            .arg(
                "mount --bind \"$1\" /etc/shadow && mount --bind \"$2\" /etc/pam.d && \
                 grep -q '^ccg-alice:[$]6[$]' /etc/shadow && test -e /etc/pam.d/cargo-confirm-gui",
            )
            .arg("sh")
            .arg(s.ns.join("shadow"))
            .arg(s.ns.join("pam.d"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "the private mount namespace with the tests' shadow and pam.d failed: {out:?}"
        );
        s
    })
}

/// Gives `users` the password [`PASSWORD`] in a copy of /etc/shadow under `ns`, with the
/// real file's owner and mode (unix_chkpwd reads it through its group).
fn set_passwords(ns: &Path, users: &[&str]) {
    let hash =
        run(Command::new("openssl").args(["passwd", "-6", "-salt", "ccgtestsalt", PASSWORD]));
    let hash = String::from_utf8(hash.stdout).unwrap().trim().to_string();
    let shadow = std::fs::read_to_string("/etc/shadow").unwrap();
    let copy: String = shadow
        .lines()
        .map(|l| {
            let mut f: Vec<&str> = l.split(':').collect();
            if users.contains(&f[0]) && f.len() > 2 {
                f[1] = &hash;
            }
            f.join(":") + "\n"
        })
        .collect();
    let path = ns.join("shadow");
    std::fs::write(&path, copy).unwrap();
    run(Command::new("chown")
        .arg("--reference=/etc/shadow")
        .arg(&path));
    run(Command::new("chmod")
        .arg("--reference=/etc/shadow")
        .arg(&path));
}

/// The tests share one install and one display.
fn lock() -> (MutexGuard<'static, ()>, MutexGuard<'static, ()>) {
    static L: Mutex<()> = Mutex::new(());
    let g = gui_lock();
    (L.lock().unwrap_or_else(|e| e.into_inner()), g)
}

/// `program args…` as `user`, with that user's own directories and the test display.
fn as_user(s: &Sealed, user: &str, program: &Path) -> Command {
    as_user_env(s, user, program, &[])
}

/// The PAM directory commands run as a user see, when a test replaces the install's.
static PAM_DIR: Mutex<Option<PathBuf>> = Mutex::new(None);

/// Shell commands run as root inside the namespace, after the mounts and before the user's
/// command, when a test needs more there (a system bus and polkitd).
static NS_EXTRA: Mutex<Option<String>> = Mutex::new(None);

/// The same, with more variables (a `DISPLAY` among them replaces the test display).
fn as_user_env(s: &Sealed, user: &str, program: &Path, env: &[(&str, PathBuf)]) -> Command {
    let home = s.root.join(format!("{user}-home"));
    // A private mount namespace with the tests' shadow and pam.d, then the user.
    let mut cmd = Command::new("unshare");
    let extra = NS_EXTRA
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
        .unwrap_or_default();
    cmd.args(["-m", "--propagation", "private", "--", "sh", "-c"])
        .arg(format!(
            "mount --bind \"$1\" /etc/shadow && mount --bind \"$2\" /etc/pam.d && {extra} \
             shift 2 && exec \"$@\""
        ))
        .arg("sh")
        .arg(s.ns.join("shadow"))
        .arg(
            PAM_DIR
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone()
                .unwrap_or_else(|| s.ns.join("pam.d")),
        )
        .args(["runuser", "-u", user, "--", "env", "-i"]);
    cmd.arg(format!("HOME={}", home.display()))
        .arg(format!("XDG_STATE_HOME={}/state", home.display()))
        .arg(format!(
            "XDG_RUNTIME_DIR={}",
            s.root.join(format!("{user}-runtime")).display()
        ))
        .arg(format!("DISPLAY={}", desk().display))
        .arg("PATH=/usr/bin:/bin");
    // Given last, so they win over the defaults above.
    for (k, v) in env {
        cmd.arg(format!("{k}={}", v.display()));
    }
    cmd.arg(program);
    cmd
}

fn shell_as(s: &Sealed, user: &str, script: &str) -> Output {
    as_user(s, user, Path::new("/bin/sh"))
        .args(["-c", script])
        .output()
        .unwrap()
}

/// A genuine `cargo publish` of alice's project, as alice, with the sealed helper as the
/// registry's credential provider.
fn cargo_publish(s: &Sealed) -> Command {
    cargo_publish_in(s, &s.root.join("alice-project"), &[], &[])
}

/// A genuine `cargo publish` of a version of alice's crate never published before (cargo
/// refuses a version its index already lists), with `provider_args` after the helper in her
/// cargo config (a cargo home of its own) and `env` for cargo.
fn cargo_publish_with(s: &Sealed, provider_args: &[&str], env: &[(&str, PathBuf)]) -> Command {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(1);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let project = s.root.join(format!("alice-project-2.0.{n}"));
    std::fs::create_dir_all(project.join("src")).unwrap();
    std::fs::write(
        project.join("Cargo.toml"),
        format!(
            "[package]\nname = \"sealed\"\nversion = \"2.0.{n}\"\nedition = \"2021\"\n\
             description = \"t\"\nlicense = \"MIT\"\n\n[workspace]\n"
        ),
    )
    .unwrap();
    std::fs::write(project.join("src/lib.rs"), "").unwrap();
    run(Command::new("chown").args(["-R", ALICE]).arg(&project));
    cargo_publish_in(s, &project, provider_args, env)
}

fn cargo_publish_in(
    s: &Sealed,
    project: &Path,
    provider_args: &[&str],
    env: &[(&str, PathBuf)],
) -> Command {
    let mut cargo_home = s.root.join("alice-cargo-home");
    if !provider_args.is_empty() {
        cargo_home = s.root.join("alice-cargo-home-args");
        std::fs::create_dir_all(&cargo_home).unwrap();
        let mut provider = vec![format!("{:?}", s.exe)];
        provider.extend(provider_args.iter().map(|a| format!("{a:?}")));
        std::fs::write(
            cargo_home.join("config.toml"),
            format!(
                "[registries.local]\nindex = \"{}\"\ncredential-provider = [{}]\n",
                s.url,
                provider.join(", ")
            ),
        )
        .unwrap();
        run(Command::new("chown").args(["-R", ALICE]).arg(&cargo_home));
    }
    let mut vars = vec![
        ("CARGO_HOME", cargo_home),
        ("RUSTC", s.toolchain.join("bin/rustc")),
        ("CARGO_TARGET_DIR", project.join("target")),
    ];
    vars.extend(env.iter().cloned());
    let mut cmd = as_user_env(s, ALICE, &s.toolchain.join("bin/cargo"), &vars);
    cmd.args([
        "publish",
        "--registry",
        "local",
        "--no-verify",
        "--allow-dirty",
    ])
    .current_dir(project)
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    cmd
}

fn request(s: &Sealed, op: &str) -> String {
    let url = &s.url;
    let extra = match op {
        "publish" => format!(
            r#","name":"sealed","vers":"1.0.0","cksum":"{}""#,
            "0".repeat(64)
        ),
        _ => String::new(),
    };
    let kind = match op {
        "logout" => r#""kind":"logout""#.to_string(),
        _ => format!(r#""kind":"get","operation":"{op}"{extra}"#),
    };
    format!(r#"{{"v":1,"registry":{{"index-url":"{url}","name":"local"}},{kind}}}"#)
}

/// The sealed helper in plugin mode as `user`, with `op` written on its stdin.
fn plugin(s: &Sealed, user: &str, op: &str) -> (Child, std::process::ChildStdin) {
    start_plugin(&mut as_user(s, user, &s.exe), &request(s, op))
}

fn token_files(s: &Sealed, user: &str) -> Vec<PathBuf> {
    let dir = s.store.join(uid_of(user).to_string());
    std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "token"))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
#[ignore = "needs root: it makes users and a setgid install (scripts/test.sh as root runs it)"]
fn a_person_enrolls_publishes_and_logs_out_while_the_users_programs_cannot_touch_the_token() {
    let s = sealed();
    let _l = lock();
    let d = desk();

    // Enroll as alice, through the window (the token is typed by a person).
    let mut child = as_user(s, ALICE, &s.exe)
        .args(["--enroll", "--index-url", &s.url])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (_, g) = window_for(&mut child, "store a registry token");
    wait_armed();
    d.human_type(TOKEN);
    let (x, y) = approve_point(g);
    d.human_click(x, y);
    // In the sealed install every store write needs the person's password too.
    person_authenticates(PASSWORD);
    let (status, out, err) = wait_output(child, Duration::from_secs(30));
    assert!(status.success(), "{err}");
    assert!(!out.contains(TOKEN) && !err.contains(TOKEN));

    // The token is in alice's private directory of the sealed store.
    let files = token_files(s, ALICE);
    assert_eq!(files.len(), 1, "{files:?}");
    let file = &files[0];
    assert!(std::fs::read_to_string(file).unwrap().contains(TOKEN));
    let dir = file.parent().unwrap();
    assert_eq!(std::fs::metadata(dir).unwrap().uid(), uid_of(ALICE));
    assert_eq!(std::fs::metadata(dir).unwrap().mode() & 0o777, 0o700);

    // Alice's own programs can neither list, read, replace nor remove it.
    let f = file.display();
    let st = s.store.display();
    for (what, script) in [
        ("list the store", format!("ls {st}")),
        ("list her directory", format!("ls {}", dir.display())),
        ("read the file", format!("cat {f}")),
        ("replace the file", format!("echo evil > {f}")),
        ("remove the file", format!("rm -f {f}")),
        (
            "chmod her directory",
            format!("chmod 755 {}", dir.display()),
        ),
    ] {
        let out = shell_as(s, ALICE, &script);
        assert!(!out.status.success(), "alice could {what}");
        let text = String::from_utf8_lossy(&out.stderr);
        assert!(text.contains("Permission denied"), "{what}: {text}");
    }
    assert!(std::fs::read_to_string(file).unwrap().contains(TOKEN));

    // A publish by alice's real cargo, approved by a person, uploads with the token.
    let child = cargo_publish(s).spawn().unwrap();
    let (status, _, err) = person_answers_with(child, Click::Approve, Some(PASSWORD), || {
        // With its window open, the helper runs without its group: effective gid is alice's
        // own, the group is only kept as the saved gid (taken back around store work).
        let pid = run(Command::new("pgrep").args([
            "-u",
            ALICE,
            "-f",
            "cargo-confirm-gui --cargo-plugin",
        ]));
        let pid = String::from_utf8_lossy(&pid.stdout).trim().to_string();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let gids: Vec<u32> = status
            .lines()
            .find_map(|l| l.strip_prefix("Gid:"))
            .unwrap()
            .split_whitespace()
            .map(|g| g.parse().unwrap())
            .collect();
        let group = std::fs::metadata(&s.exe).unwrap().gid();
        let own = gids[0];
        assert_ne!(own, group);
        assert_eq!(gids, [own, own, group, own], "real, effective, saved, fs");
    });
    assert!(status.success(), "{err}");
    assert!(!err.contains(TOKEN), "{err}");
    assert_eq!(
        s.registry.mutations()[0].authorization.as_deref(),
        Some(TOKEN)
    );

    // Bob's helper does not see alice's token: no window, "not found".
    let (child, stdin) = plugin(s, BOB, "publish");
    drop(stdin);
    let (_, out, _) = wait_output(child, ANSWER);
    assert!(out.contains(r#""kind":"not-found""#), "{out}");
    assert!(!out.contains(TOKEN));
    let out = shell_as(s, BOB, &format!("cat {f}; ls {}", dir.display()));
    assert!(!out.status.success());

    // Logout, approved by a person, removes the file.
    let (child, stdin) = plugin(s, ALICE, "logout");
    let (status, out, err) = person_answers_keeping(child, stdin, Click::Approve, || {});
    assert!(status.success(), "{err}");
    assert!(out.contains(r#""Ok":{"kind":"logout"}"#), "{out}");
    assert!(token_files(s, ALICE).is_empty());
}

#[test]
#[ignore = "needs root: it makes users and a setgid install (scripts/test.sh as root runs it)"]
fn publish_through_the_helper_keeps_the_token_out_of_every_process_of_the_users() {
    // Issue "Publish through the helper": alice's real cargo runs the subcommand; the token
    // goes from the sealed store to the uploader, which started setgid (non-dumpable, so
    // alice's programs cannot open its descriptors or memory), and from there only to the
    // registry.
    let s = sealed();
    let _l = lock();
    ensure_enrolled(s);
    let before = s.registry.uploads().len();
    let exe_dir = s.exe.parent().unwrap().display().to_string();
    let mut cmd = as_user_env(
        s,
        ALICE,
        Path::new("/usr/bin/env"),
        &[
            ("CARGO_HOME", s.root.join("alice-cargo-home")),
            ("RUSTC", s.toolchain.join("bin/rustc")),
            ("CARGO_TARGET_DIR", s.root.join("alice-project/target")),
        ],
    );
    cmd.arg(format!("PATH={exe_dir}:/usr/bin:/bin"))
        .arg(s.toolchain.join("bin/cargo"))
        .args([
            "confirm-gui",
            "publish",
            "--registry",
            "local",
            "--no-verify",
            "--allow-dirty",
        ])
        .current_dir(s.root.join("alice-project"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = cmd.spawn().unwrap();
    let (status, out, err) = person_answers_with(child, Click::Approve, Some(PASSWORD), || {
        let pid = run(Command::new("pgrep").args(["-u", ALICE, "-f", "__upload"]));
        let pid = String::from_utf8_lossy(&pid.stdout).trim().to_string();
        assert!(!pid.is_empty(), "no uploader process");
        // Alice's programs cannot look into the uploader.
        let look = shell_as(
            s,
            ALICE,
            &format!("ls /proc/{pid}/fd; cat /proc/{pid}/environ"),
        );
        assert!(!look.status.success(), "{look:?}");
        // It holds no group at all.
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let group = std::fs::metadata(&s.exe).unwrap().gid().to_string();
        let gids = status.lines().find_map(|l| l.strip_prefix("Gid:")).unwrap();
        assert!(!gids.split_whitespace().any(|g| g == group), "{gids}");
    });
    assert!(status.success(), "{err}");
    assert!(!out.contains(TOKEN) && !err.contains(TOKEN));
    assert!(err.contains("Published sealed 1.0.0 as approved"), "{err}");
    let uploads = s.registry.uploads();
    assert_eq!(uploads.len(), before + 1);
    let last = s.registry.mutations().last().unwrap().clone();
    assert_eq!(last.authorization.as_deref(), Some(TOKEN));
}

/// Alice has a token for the test registry: enrolled through the window (a person types it)
/// unless an earlier test did.
fn ensure_enrolled(s: &Sealed) {
    let d = desk();
    // The store's file name for the registry's key (src/store/sealed.rs): other tests leave
    // tokens for other registries.
    let key = cargo_confirm_gui::store::RegistryKey::from_index_url(&s.url);
    let name: String = {
        use sha2::Digest;
        sha2::Sha256::digest(key.as_str().as_bytes())[..20]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    let enrolled = token_files(s, ALICE)
        .iter()
        .any(|f| f.file_stem().is_some_and(|n| n == name.as_str()));
    if !enrolled {
        let mut child = as_user(s, ALICE, &s.exe)
            .args(["--enroll", "--index-url", &s.url])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (_, g) = window_for(&mut child, "store a registry token");
        wait_armed();
        d.human_type(TOKEN);
        let (x, y) = approve_point(g);
        d.human_click(x, y);
        person_authenticates(PASSWORD);
        let (status, _, err) = wait_output(child, Duration::from_secs(30));
        assert!(status.success(), "{err}");
    }
}

/// A person answers the window of `child`, with `while_open` run once it is up; after an
/// Approve that needs it, they type `password` when the window asks who approved.
fn person_answers_with(
    mut child: Child,
    button: Click,
    password: Option<&str>,
    while_open: impl FnOnce(),
) -> (std::process::ExitStatus, String, String) {
    let (_, g) = window_for(&mut child, "cargo-confirm-gui");
    while_open();
    wait_armed();
    let (x, y) = match button {
        Click::Approve => approve_point(g),
        Click::Deny => deny_point(g),
    };
    desk().human_click(x, y);
    if let Some(p) = password {
        person_authenticates(p);
    }
    wait_output(child, ANSWER)
}

/// Like `person_answers`, but keeps cargo's end of stdin open until the answer.
fn person_answers_keeping(
    mut child: Child,
    stdin: std::process::ChildStdin,
    button: Click,
    while_open: impl FnOnce(),
) -> (std::process::ExitStatus, String, String) {
    let g = loop {
        if let Some(w) = desk().wait_window("cargo-confirm-gui", Duration::from_millis(500)) {
            break w.1;
        }
        if child.try_wait().unwrap().is_some() {
            let (_, out, err) = wait_output(child, ANSWER);
            panic!("the helper answered without a window: {out}{err}");
        }
    };
    while_open();
    wait_armed();
    let (x, y) = match button {
        Click::Approve => approve_point(g),
        Click::Deny => deny_point(g),
    };
    desk().human_click(x, y);
    if button == Click::Approve {
        // Every write to the sealed store needs the person's password too.
        person_authenticates(PASSWORD);
    }
    let result = wait_output(child, ANSWER);
    drop(stdin);
    result
}

#[test]
#[ignore = "needs root: it makes users and a setgid install (scripts/test.sh as root runs it)"]
fn ld_preload_and_ptrace_do_not_work_against_the_sealed_helper() {
    let s = sealed();
    let _l = lock();
    // A library that leaves a mark when it is loaded into a process.
    let lib_dir = s.root.join("preload");
    std::fs::create_dir_all(&lib_dir).unwrap();
    std::fs::set_permissions(&lib_dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let src = lib_dir.join("evil.c");
    std::fs::write(
        &src,
        "#include <stdio.h>\n#include <stdlib.h>\n__attribute__((constructor)) static void evil(void) {\n  const char *m = getenv(\"MARK\"); if (m) { FILE *f = fopen(m, \"w\"); if (f) fclose(f); }\n}\n",
    )
    .unwrap();
    let so = lib_dir.join("evil.so");
    run(Command::new("gcc")
        .args(["-shared", "-fPIC", "-o"])
        .arg(&so)
        .arg(&src));
    std::fs::set_permissions(&so, std::fs::Permissions::from_mode(0o755)).unwrap();
    // An ordinary copy of the same binary, owned by alice: the control.
    let plain = lib_dir.join("plain-cargo-confirm-gui");
    std::fs::copy(&s.exe, &plain).unwrap();
    std::fs::set_permissions(&plain, std::fs::Permissions::from_mode(0o755)).unwrap();

    let preload = |bin: &Path, mark: &Path| {
        let _ = std::fs::remove_file(mark);
        as_user(s, ALICE, Path::new("/usr/bin/env"))
            .arg(format!("LD_PRELOAD={}", so.display()))
            .arg(format!("MARK={}", mark.display()))
            .arg(bin)
            .arg("--version")
            .output()
            .unwrap();
        mark.exists()
    };
    assert!(
        preload(&plain, &lib_dir.join("mark-plain")),
        "control: LD_PRELOAD does not work here, so the test cannot tell"
    );
    assert!(
        !preload(&s.exe, &lib_dir.join("mark-sealed")),
        "LD_PRELOAD was honoured by the setgid helper"
    );

    // ptrace and /proc/PID/mem, by a same-user process that spawned the helper itself.
    let script = lib_dir.join("attack.py");
    std::fs::copy(ATTACK, &script).unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = as_user(s, ALICE, Path::new("/usr/bin/python3"))
        .arg(&script)
        .arg(&s.exe)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        text.contains("control {'mem': 'readable', 'ptrace': 'attached'}"),
        "{text}"
    );
    let provider = text
        .lines()
        .find(|l| l.starts_with("provider"))
        .unwrap_or("");
    assert!(provider.contains("'mem': 'denied:13'"), "{text}");
    assert!(provider.contains("'ptrace': 'denied:1'"), "{text}");
}

#[test]
#[ignore = "needs root: it makes users and a setgid install (scripts/test.sh as root runs it)"]
fn an_unsafe_install_is_refused_with_the_command_that_fixes_it() {
    let s = sealed();
    let _l = lock();
    let prefix = s.exe.parent().unwrap();
    std::fs::set_permissions(prefix, std::fs::Permissions::from_mode(0o777)).unwrap();
    let (child, stdin) = plugin(s, ALICE, "publish");
    drop(stdin);
    let (status, out, err) = wait_output(child, ANSWER);
    std::fs::set_permissions(prefix, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert!(!status.success());
    assert!(out.is_empty(), "{out}");
    assert!(
        err.contains(&format!(
            "{} must be owned by root and writable by nobody else. Fix: sudo chown root {0} && sudo chmod go-w {0}",
            prefix.display()
        )),
        "{err}"
    );
    assert!(!desk().any_window());
    // The help says which store is used.
    let out = as_user(s, ALICE, &s.exe).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(
        help.contains(&format!(
            "Token store: the sealed store {}",
            s.store.display()
        )),
        "{help}"
    );
}

#[test]
#[ignore = "needs root: it makes users and a setgid install (scripts/test.sh as root runs it)"]
fn migrate_moves_a_secret_service_token_into_the_sealed_store_after_one_approval() {
    let s = sealed();
    let _l = lock();
    let url = "sparse+http://127.0.0.1:9/sealed-migrate/";
    let key = cargo_confirm_gui::store::RegistryKey::from_index_url(url);
    let uid = uid_of(ALICE);
    let before = token_files(s, ALICE).len();
    // Alice's own session: a private bus with gnome-keyring, a token stored in it by
    // libsecret's client, then the helper's --migrate. While its window is up, one of
    // alice's programs rewrites the item (regression, "Nothing the caller supplies" (8)):
    // what is moved must be what the window showed.
    let home = s.root.join(format!("{ALICE}-home"));
    let _ = std::fs::remove_file(home.join("window-up"));
    let _ = std::fs::remove_file(home.join("swapped"));
    let script = format!(
        "printf pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1 || exit 3\n\
         printf %s '{TOKEN}-migrated' | secret-tool store --label=t service cargo-confirm-gui username '{key}' || exit 4\n\
         mkdir -p \"$HOME/dc\" && printf '[registries.sm]\\nindex = \"{url}\"\\n' > \"$HOME/dc/config.toml\"\n\
         CARGO_HOME=\"$HOME/dc\" \"$0\" confirm-gui doctor 2>&1 | grep -A1 'still holds'\n\
         \"$0\" --migrate --index-url '{url}' & pid=$!\n\
         while [ ! -e \"$HOME/window-up\" ]; do sleep 0.1; done\n\
         printf %s 'swapped-by-a-program' | secret-tool store --label=t service cargo-confirm-gui username '{key}' || exit 5\n\
         touch \"$HOME/swapped\"\n\
         wait $pid; rc=$?\n\
         echo \"migrate rc=$rc\"\n\
         secret-tool lookup service cargo-confirm-gui username '{key}' && echo still-in-secret-service\n\
         exit 0",
        key = key.as_str()
    );
    let mut child = as_user(s, ALICE, Path::new("/usr/bin/dbus-run-session"))
        .args(["--", "/bin/sh", "-c", &script])
        .arg(&s.exe)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (_, g) = window_for(&mut child, "Move the registry token into the sealed store?");
    std::fs::write(home.join("window-up"), "").unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !home.join("swapped").exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "the item was not rewritten"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    wait_armed();
    let (x, y) = approve_point(g);
    desk().human_click(x, y);
    person_authenticates(PASSWORD);
    let (_, out, err) = wait_output(child, ANSWER);
    assert!(out.contains("migrate rc=0"), "{out}{err}");
    // Before the move, doctor named the token left where any program of alice's reads it,
    // with the command that moves it.
    assert!(
        out.contains("[FIX ] the Secret Service still holds a token for sm")
            && out.contains("cargo-confirm-gui --migrate --registry sm"),
        "{out}"
    );
    assert!(!out.contains("still-in-secret-service"), "{out}");
    assert!(!out.contains(TOKEN) && !err.contains(TOKEN), "{out}{err}");
    let files = token_files(s, ALICE);
    assert_eq!(files.len(), before + 1, "{files:?} (uid {uid})");
    let moved: Vec<String> = files
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap())
        .collect();
    assert!(
        moved
            .iter()
            .any(|t| t.contains(&format!("{TOKEN}-migrated"))),
        "what the window showed was moved"
    );
    assert!(
        !moved.iter().any(|t| t.contains("swapped-by-a-program")),
        "the rewritten item was moved"
    );
}

#[test]
#[ignore = "needs root: it makes users and a setgid install (scripts/test.sh as root runs it)"]
fn the_cooldown_and_the_log_are_out_of_the_users_reach() {
    // Regression, "Nothing the caller supplies" (5): the cooldown, the prompt lock and the
    // audit log lived in directories the user owns, so the user's programs could delete
    // the cooldown, hold the lock, and forge or erase the log.
    let s = sealed();
    let _l = lock();
    let enroll = || {
        as_user(s, BOB, &s.exe)
            .args(["--enroll", "--index-url", &s.url])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    // A person cancels bob's enroll window: that starts the cooldown.
    let (status, _, err) = person_answers_with(enroll(), Click::Deny, None, || {});
    assert!(!status.success() && err.contains("denied"), "{err}");

    // Bob's own programs clear everything of his they can reach...
    let uid = uid_of(BOB);
    let state = s.store.join(uid.to_string());
    let out = shell_as(
        s,
        BOB,
        &format!(
            "rm -rf \"$XDG_RUNTIME_DIR\"/* \"$HOME\"/.local; ls {0}/state; rm -f {0}/audit.jsonl",
            state.display()
        ),
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Permission denied"),
        "{out:?}"
    );
    // ... and still the next request is refused without a window.
    let started = std::time::Instant::now();
    let (status, _, err) = wait_output(enroll(), ANSWER);
    assert!(!status.success());
    assert!(
        err.contains("requests are refused without a window"),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(!desk().any_window());
    // The log of both is where only the helper writes.
    let log = std::fs::read_to_string(state.join("audit.jsonl")).unwrap();
    let last: Vec<&str> = log.lines().rev().take(2).collect();
    assert!(
        last[1].contains("denied in the confirmation window"),
        "{log}"
    );
    assert!(last[0].contains("refused without a window"), "{log}");
    let meta = std::fs::metadata(&state).unwrap();
    assert_eq!(meta.mode() & 0o777, 0o700);
}

#[test]
#[ignore = "needs root: it makes users and a setgid install (scripts/test.sh as root runs it)"]
fn get_prints_no_sealed_token_to_a_pipe_unless_root_allows_it() {
    // Red team of "Nothing the caller supplies": `get` checked only its direct parent and
    // CARGO_REGISTRY_INDEX_URL, so a wrapper (`sh -c 'env -u CARGO_REGISTRY_INDEX_URL
    // cargo-confirm-gui get'`) as cargo's token-from-stdout provider got a contentless window
    // at the person's next publish, and the token on a pipe any program can read.
    let s = sealed();
    let _l = lock();
    let script = format!(
        "env -u CARGO_REGISTRY_INDEX_URL {} get --index-url {} | cat",
        s.exe.display(),
        s.url
    );
    let started = std::time::Instant::now();
    let out = shell_as(s, ALICE, &script);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.stdout.is_empty(), "{out:?}");
    assert!(
        err.contains("refuses to print a token of the sealed store")
            && err.contains("sealed-get = true")
            && err.contains("Nothing was released"),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(!desk().any_window());
}

#[test]
#[ignore = "needs root: it makes users and a setgid install (scripts/test.sh as root runs it)"]
fn the_window_process_serves_only_the_helper() {
    // Review of "Nothing the caller supplies": the sealed binary's window mode could be run
    // directly by the user's programs, with a request and a display policy of their own, so
    // the genuine window would tell a story the worm wrote.
    let s = sealed();
    let _l = lock();
    let out = as_user(s, ALICE, &s.exe)
        .arg("__window")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("not started by the helper"), "{err}");
    assert!(!desk().any_window());
}

#[test]
#[ignore = "needs root: it makes users and a setgid install (scripts/test.sh as root runs it)"]
fn the_window_runs_without_the_group_and_without_the_callers_library_paths() {
    // Regression, "Nothing the caller supplies" (2): with LIBGL_DRIVERS_PATH pointing at the
    // worm's own driver, the sealed helper loaded it after dropping its group to the saved
    // gid, and the driver's constructor took the group back. Every variable that names a
    // library, driver, plugin or module directory is tried here, each with a "library" whose
    // constructor leaves a mark: no mark may appear.
    let s = sealed();
    let _l = lock();
    let dir = s.root.join("loader-paths");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let mark = dir.join("mark");
    let src = dir.join("evil.c");
    std::fs::write(
        &src,
        format!(
            "#include <stdio.h>\n__attribute__((constructor)) static void evil(void) {{ FILE *f = fopen(\"{}\", \"w\"); if (f) fclose(f); }}\n",
            mark.display()
        ),
    )
    .unwrap();
    let so = dir.join("evil.so");
    run(Command::new("gcc")
        .args(["-shared", "-fPIC", "-o"])
        .arg(&so)
        .arg(&src));
    // The same library under every name a loader or a driver search would open.
    for name in [
        "swrast_dri.so",
        "kms_swrast_dri.so",
        "libX11.so.6",
        "libxcb.so.1",
        "libwayland-client.so.0",
        "libxkbcommon.so.0",
        "libxkbcommon-x11.so.0",
        "libXcursor.so.1",
        "libXi.so.6",
        "libEGL.so.1",
        "libGL.so.1",
        "dri_gbm.so",
        "gconv-modules",
    ] {
        std::fs::copy(&so, dir.join(name)).unwrap();
    }
    std::fs::write(
        dir.join("50_evil.json"),
        format!(
            "{{\"file_format_version\":\"1.0.0\",\"ICD\":{{\"library_path\":\"{}\"}}}}",
            so.display()
        ),
    )
    .unwrap();
    let d = dir.display().to_string();
    let vars = [
        ("LD_PRELOAD", so.display().to_string()),
        ("LD_LIBRARY_PATH", d.clone()),
        ("LIBGL_DRIVERS_PATH", d.clone()),
        ("GBM_BACKENDS_PATH", d.clone()),
        ("__EGL_VENDOR_LIBRARY_DIRS", d.clone()),
        (
            "__EGL_VENDOR_LIBRARY_FILENAMES",
            dir.join("50_evil.json").display().to_string(),
        ),
        (
            "VK_ICD_FILENAMES",
            dir.join("50_evil.json").display().to_string(),
        ),
        ("XCURSOR_PATH", d.clone()),
        ("XLOCALEDIR", d.clone()),
        ("GCONV_PATH", d.clone()),
        ("XKB_CONFIG_ROOT", d.clone()),
        ("WAYLAND_DEBUG", "1".into()),
    ];
    let _ = std::fs::remove_file(&mark);
    // A window, with all of these in the environment cargo gave the helper.
    let mut cmd = as_user(s, ALICE, Path::new("/usr/bin/env"));
    for (k, v) in &vars {
        cmd.arg(format!("{k}={v}"));
    }
    cmd.arg(&s.exe).args(["--enroll", "--index-url", &s.url]);
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let group = std::fs::metadata(&s.exe).unwrap().gid();
    let (status, _, err) = person_answers_with(child, Click::Deny, None, || {
        let (window, broker) = any_window_process().expect("the window process");
        assert_eq!(
            std::fs::read_link(format!("/proc/{broker}/exe")).unwrap(),
            s.exe
        );
        // No thread of the window process holds the group in any of its gids.
        for task in std::fs::read_dir(format!("/proc/{window}/task"))
            .unwrap()
            .flatten()
        {
            let status = std::fs::read_to_string(task.path().join("status")).unwrap();
            let gids = status.lines().find_map(|l| l.strip_prefix("Gid:")).unwrap();
            assert!(
                !gids.split_whitespace().any(|g| g.parse() == Ok(group)),
                "a window thread holds the group: Gid {gids}"
            );
        }
        // Its environment is the allowlist, nothing the caller added.
        let environ = std::fs::read(format!("/proc/{window}/environ")).unwrap();
        for var in environ.split(|b| *b == 0).filter(|v| !v.is_empty()) {
            let key = String::from_utf8_lossy(var.split(|b| *b == b'=').next().unwrap());
            assert!(
                cargo_confirm_gui::env::WINDOW_ENV.contains(&key.as_ref())
                    || cargo_confirm_gui::env::WINDOW_FIXED
                        .iter()
                        .any(|(k, _)| *k == key)
                    || key == "WAYLAND_DISPLAY",
                "the window process got {key}"
            );
        }
        // The broker, which holds the group, never loads a display library.
        let maps = std::fs::read_to_string(format!("/proc/{broker}/maps")).unwrap();
        for lib in [
            "libX11",
            "libxcb",
            "libwayland",
            "libxkbcommon",
            "libEGL",
            "libGL",
        ] {
            assert!(!maps.contains(lib), "the broker mapped {lib}");
        }
    });
    assert!(!status.success() && err.contains("denied"), "{err}");
    assert!(
        !mark.exists(),
        "a library from the caller's environment was loaded"
    );
}

/// Clears `user`'s cooldown (as root: the user's own programs cannot), so that a test can go
/// on after a Deny.
fn clear_cooldown(s: &Sealed, user: &str) {
    let _ = std::fs::remove_file(
        s.store
            .join(uid_of(user).to_string())
            .join("state/last-deny"),
    );
}

#[test]
#[ignore = "needs root: it makes users and a setgid install (scripts/test.sh as root runs it)"]
fn presence_a_wrong_password_or_none_releases_nothing_and_every_publish_asks_again() {
    // Issue "Presence the desktop cannot forge": after a person's Approve, PAM must confirm
    // who approved, in the window, for every release.
    let s = sealed();
    let _l = lock();
    ensure_enrolled(s);
    clear_cooldown(s, ALICE);
    let uploads = || s.registry.uploads().len();
    let before = uploads();

    // Approve, then a wrong password: nothing is published, PAM's words are given, and the
    // cooldown follows as after a Deny.
    let child = cargo_publish_with(s, &[], &[]).spawn().unwrap();
    let (status, _, err) =
        person_answers_with(child, Click::Approve, Some("not the password"), || {});
    assert!(!status.success(), "{err}");
    assert!(
        err.contains("the system did not confirm who you are"),
        "{err}"
    );
    assert!(err.contains("Nothing was released"), "{err}");
    assert!(!err.contains(TOKEN));
    assert_eq!(uploads(), before);
    let (status, _, err) = wait_output(cargo_publish_with(s, &[], &[]).spawn().unwrap(), ANSWER);
    assert!(!status.success());
    assert!(
        err.contains("requests are refused without a window"),
        "{err}"
    );
    assert!(!desk().any_window());
    clear_cooldown(s, ALICE);

    // Approve, and no password at all: the window times out as a Deny.
    let child = cargo_publish_with(s, &["--timeout=8"], &[])
        .spawn()
        .unwrap();
    let (status, _, err) = person_answers_with(child, Click::Approve, None, || {});
    assert!(!status.success(), "{err}");
    assert!(err.contains("nobody answered"), "{err}");
    assert_eq!(uploads(), before);
    clear_cooldown(s, ALICE);

    // The right password publishes; the next publish asks again (`person_authenticates` fails
    // the test if the window does not ask).
    for n in 1..=2 {
        let child = cargo_publish_with(s, &[], &[]).spawn().unwrap();
        let (status, _, err) = person_answers_with(child, Click::Approve, Some(PASSWORD), || {});
        assert!(status.success(), "{err}");
        assert_eq!(uploads(), before + n);
    }
    // The audit log says what the person was asked and how it ended.
    let log = std::fs::read_to_string(s.store.join(uid_of(ALICE).to_string()).join("audit.jsonl"))
        .unwrap();
    assert!(log.contains("presence: "), "{log}");
}

#[test]
#[ignore = "needs root: it makes users and a setgid install (scripts/test.sh as root runs it)"]
fn presence_keys_a_program_injects_never_answer_for_the_person() {
    // The worm knows the password (X11 lets it read keystrokes) and types it into the window
    // itself: through XTEST, on a server whose policy allows XTEST, and through XSendEvent.
    let s = sealed();
    let _l = lock();
    ensure_enrolled(s);
    clear_cooldown(s, ALICE);
    let before = s.registry.uploads().len();

    // XTEST: allowed on this server by the policy file, so the window opens; the person
    // approves; the worm types the password with XTEST.
    {
        let _policy = PolicyFile::allowing_virtual_input();
        let d = xtest_desk();
        let mut child = cargo_publish_with(s, &[], &[("DISPLAY", d.display.clone().into())])
            .spawn()
            .unwrap();
        let (_, g) = window_for_on(d, &mut child, "cargo-confirm-gui");
        wait_armed();
        let (x, y) = approve_point(g);
        d.human_click(x, y);
        d.wait_window("confirm it is you", Duration::from_secs(30))
            .expect("the window asks who approved");
        d.xtest_type(PASSWORD);
        d.xtest_keys(&["Return"]);
        let (status, _, err) = wait_output(child, ANSWER);
        assert!(!status.success(), "{err}");
        assert!(err.contains("not a person's"), "{err}");
        assert_eq!(s.registry.uploads().len(), before);
    }
    clear_cooldown(s, ALICE);

    // XSendEvent: key events no device made, sent straight into the window.
    let mut child = cargo_publish_with(s, &["--timeout=20"], &[])
        .spawn()
        .unwrap();
    let (_, g) = window_for(&mut child, "cargo-confirm-gui");
    wait_armed();
    let (x, y) = approve_point(g);
    desk().human_click(x, y);
    let (id, _) = desk()
        .wait_window("confirm it is you", Duration::from_secs(30))
        .expect("the window asks who approved");
    desk().send_keys(&id, &format!("{PASSWORD}\n"));
    let (status, _, err) = wait_output(child, ANSWER);
    assert!(!status.success(), "{err}");
    assert!(err.contains("not a person's"), "{err}");
    assert_eq!(s.registry.uploads().len(), before);
    clear_cooldown(s, ALICE);

    // Red team: the same while the person types in another window of theirs, the worm moving
    // the keyboard focus to the prompt just for its keys. (Counted against every real key
    // press on the screen, the keys passed and a token was released.)
    let mut child = cargo_publish_with(s, &["--timeout=30"], &[])
        .spawn()
        .unwrap();
    let (_, g) = window_for(&mut child, "cargo-confirm-gui");
    wait_armed();
    let (x, y) = approve_point(g);
    desk().human_click(x, y);
    let (id, _) = desk()
        .wait_window("confirm it is you", Duration::from_secs(30))
        .expect("the window asks who approved");
    let (_terminal, term) = desk().plain_window();
    let typing = std::thread::spawn(|| desk().human_type("git status && ls -la src"));
    std::thread::sleep(Duration::from_millis(200));
    desk().send_keys_focused(&id, &format!("{PASSWORD}\n"), Some(term));
    typing.join().unwrap();
    let (status, _, err) = wait_output(child, ANSWER);
    assert!(!status.success(), "{err}");
    assert!(err.contains("not a person's"), "{err}");
    assert_eq!(s.registry.uploads().len(), before);
    clear_cooldown(s, ALICE);
}

#[test]
#[ignore = "needs root: it makes users and a setgid install (scripts/test.sh as root runs it)"]
fn presence_a_missing_or_broken_pam_service_releases_nothing() {
    let s = sealed();
    let _l = lock();
    ensure_enrolled(s);
    clear_cooldown(s, ALICE);
    let before = s.registry.uploads().len();
    let dir = s.root.join("pam-variants");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir(&dir).unwrap();
    let pamd = |name: &str, service: Option<&str>| {
        let d = dir.join(name);
        run(Command::new("cp").arg("-a").arg(s.ns.join("pam.d")).arg(&d));
        let file = d.join("cargo-confirm-gui");
        std::fs::remove_file(&file).unwrap();
        if let Some(text) = service {
            std::fs::write(&file, text).unwrap();
        }
        d
    };
    struct Restore;
    impl Drop for Restore {
        fn drop(&mut self) {
            *PAM_DIR.lock().unwrap_or_else(|e| e.into_inner()) = None;
        }
    }
    let _restore = Restore;

    // No service file: refused before any window, with the command that writes it. (PAM
    // would otherwise fall back to its `other` service.)
    *PAM_DIR.lock().unwrap() = Some(pamd("missing", None));
    let started = std::time::Instant::now();
    let (status, _, err) = wait_output(cargo_publish_with(s, &[], &[]).spawn().unwrap(), ANSWER);
    assert!(!status.success());
    assert!(err.contains("refused before showing a window"), "{err}");
    assert!(err.contains("install-sealed.sh"), "{err}");
    assert!(!desk().any_window());
    assert!(started.elapsed() < Duration::from_secs(20));

    // A service whose module does not exist: the window asks, PAM fails, nothing released.
    *PAM_DIR.lock().unwrap() = Some(pamd(
        "broken",
        Some("auth required pam_no_such_module.so\naccount required pam_permit.so\n"),
    ));
    let child = cargo_publish_with(s, &["--timeout=20"], &[])
        .spawn()
        .unwrap();
    let (status, _, err) = person_answers_with(child, Click::Approve, None, || {});
    assert!(!status.success(), "{err}");
    assert!(
        err.contains("the system did not confirm who you are"),
        "{err}"
    );
    assert_eq!(s.registry.uploads().len(), before);
    clear_cooldown(s, ALICE);

    // Not root's alone: a service file others may write is refused like a missing one.
    let writable = pamd(
        "writable",
        Some("auth required pam_permit.so\naccount required pam_permit.so\n"),
    );
    std::fs::set_permissions(
        writable.join("cargo-confirm-gui"),
        std::fs::Permissions::from_mode(0o666),
    )
    .unwrap();
    *PAM_DIR.lock().unwrap() = Some(writable);
    let (status, _, err) = wait_output(cargo_publish_with(s, &[], &[]).spawn().unwrap(), ANSWER);
    assert!(!status.success());
    assert!(err.contains("only root can change"), "{err}");
    assert_eq!(s.registry.uploads().len(), before);
}

#[test]
#[ignore = "needs root: it makes users and a setgid install (scripts/test.sh as root runs it)"]
fn what_the_caller_sets_is_reset_or_refused_and_the_defences_still_record() {
    // Issue "Fail closed whatever the caller sets": the worm lowered RLIMIT_FSIZE and ignored
    // SIGXFSZ, then started the setgid helper: every write failed, and the cooldown, the
    // count and the audit record with it; Deny after Deny, each at once, until a habitual
    // Approve. Now a hard limit below what the helper needs is a refusal naming it, and the
    // rest is reset before anything else.
    let s = sealed();
    let _l = lock();
    let exe = s.exe.display().to_string();
    let bash = |script: &str| {
        as_user(s, BOB, Path::new("/bin/bash"))
            .args(["-c", script, "bash", &exe])
            .output()
            .unwrap()
    };
    for (flag, value, name) in [
        ("-f", "1000", "RLIMIT_FSIZE"),
        ("-n", "64", "RLIMIT_NOFILE"),
        ("-u", "16", "RLIMIT_NPROC"),
        ("-v", "1000000", "RLIMIT_AS"),
        ("-d", "100000", "RLIMIT_DATA"),
        ("-s", "1024", "RLIMIT_STACK"),
        ("-t", "10", "RLIMIT_CPU"),
    ] {
        let out = bash(&format!("ulimit {flag} {value} && exec \"$1\" --version"));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{name}: {out:?}");
        assert!(
            err.contains(name) && err.contains("Nothing was released"),
            "{name}: {err}"
        );
        // Control: the same limit lowered only as far as the caller may raise it again.
        let out = bash(&format!(
            "ulimit -S {flag} {value} && exec \"$1\" --version"
        ));
        assert!(out.status.success(), "{name} (soft only): {out:?}");
    }
    // no_new_privs survives exec, and would start the helper without its group: refused.
    let out = as_user(s, BOB, Path::new("/usr/bin/setpriv"))
        .args(["--no-new-privs", &exe, "--enroll", "--index-url", &s.url])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("did not start with its group"),
        "{out:?}"
    );

    // The original attack, with every soft setting the caller has: a file-size limit of
    // one block and SIGXFSZ ignored, other signals ignored and blocked, a descriptor left
    // open, stdout closed, umask 000. Then a person's Deny.
    let uid = uid_of(BOB);
    let _ = std::fs::remove_file(s.store.join(uid.to_string()).join("state/last-deny"));
    let script = format!(
        "trap '' XFSZ TERM HUP INT; ulimit -S -f 1; umask 000; exec 7</etc/hostname; \
         exec /usr/bin/python3 -c 'import os, signal, sys; \
         signal.pthread_sigmask(signal.SIG_BLOCK, {{signal.SIGTERM, signal.SIGCHLD, signal.SIGALRM}}); \
         os.execv(sys.argv[1], sys.argv[1:])' \"$1\" --enroll --index-url {} 1>&-",
        s.url
    );
    let child = as_user(s, BOB, Path::new("/bin/bash"))
        .args(["-c", &script, "bash", &exe])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (status, _, err) = person_answers_with(child, Click::Deny, None, || {
        let (window, broker) = any_window_process().expect("the window process");
        for pid in [broker, window] {
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
            let field = |k: &str| {
                status
                    .lines()
                    .find_map(|l| l.strip_prefix(k))
                    .unwrap()
                    .trim()
                    .to_string()
            };
            // Only SIGPIPE ignored (the Rust runtime's own), nothing blocked.
            assert_eq!(field("SigIgn:"), "0000000000001000", "pid {pid}");
            assert_eq!(field("SigBlk:"), "0000000000000000", "pid {pid}");
            assert_eq!(field("Umask:"), "0077", "pid {pid}");
            // Whatever the helper opened itself since, nothing is the caller's file.
            for fd in std::fs::read_dir(format!("/proc/{pid}/fd"))
                .unwrap()
                .flatten()
            {
                let target = std::fs::read_link(fd.path()).unwrap_or_default();
                assert_ne!(
                    target,
                    Path::new("/etc/hostname"),
                    "pid {pid} kept the caller's descriptor"
                );
            }
        }
        let limits = std::fs::read_to_string(format!("/proc/{broker}/limits")).unwrap();
        let fsize = limits
            .lines()
            .find(|l| l.starts_with("Max file size"))
            .unwrap();
        assert!(fsize.contains("unlimited"), "{fsize}");
    });
    assert!(!status.success() && err.contains("denied"), "{err}");
    // The Deny started the cooldown, and both the Deny and the refusal are in the log.
    let (status, _, err) = wait_output(
        as_user(s, BOB, &s.exe)
            .args(["--enroll", "--index-url", &s.url])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
        ANSWER,
    );
    assert!(!status.success());
    assert!(
        err.contains("requests are refused without a window"),
        "{err}"
    );
    let log = std::fs::read_to_string(s.store.join(uid.to_string()).join("audit.jsonl")).unwrap();
    let last: Vec<&str> = log.lines().rev().take(2).collect();
    assert!(
        last[1].contains("denied in the confirmation window"),
        "{log}"
    );
    assert!(last[0].contains("refused without a window"), "{log}");
    let _ = std::fs::remove_file(s.store.join(uid.to_string()).join("state/last-deny"));
}

/// A private system bus and polkitd, inside a test's mount namespace (`NS_EXTRA`), then
/// `worm` in the background, as root (it drops to the user itself), its output in `log`.
fn with_polkit(worm: &str, log: &Path) -> String {
    format!(
        "mount -t tmpfs tmpfs /run/dbus && dbus-daemon --system --fork --nopidfile && \
         (/usr/lib/polkit-1/polkitd --no-debug >/dev/null 2>&1 &) && \
         for i in $(seq 50); do pkaction >/dev/null 2>&1 && break; sleep 0.1; done && \
         ({worm}) >{} 2>&1 </dev/null & ",
        log.display()
    )
}

#[test]
#[ignore = "needs root: it makes users and a setgid install (scripts/test.sh as root runs it)"]
fn presence_a_worms_polkit_agent_for_the_helper_plays_no_part() {
    // Issue "Presence the desktop cannot forge": any program of the person's may register a
    // polkit agent for one process, and it outranks the desktop's agent; had the helper asked
    // polkit, the worm's agent would get the question (and the password). The helper asks
    // PAM itself, in its own window.
    let s = sealed();
    let _l = lock();
    ensure_enrolled(s);
    clear_cooldown(s, ALICE);
    let log = s.root.join("polkit-agent.log");
    let _ = std::fs::remove_file(&log);
    struct Restore;
    impl Drop for Restore {
        fn drop(&mut self) {
            *NS_EXTRA.lock().unwrap_or_else(|e| e.into_inner()) = None;
        }
    }
    let _restore = Restore;
    // The worm waits for the helper cargo starts, and registers an agent for it.
    let agent = |target: &str| {
        format!("runuser -u {ALICE} -- script -q -e -c \"pkttyagent --process {target}\" /dev/null")
    };
    *NS_EXTRA.lock().unwrap() = Some(with_polkit(
        &format!(
            "while ! pid=$(pgrep -u {ALICE} -f -- cargo-plugin); do sleep 0.05; done; {}",
            agent("$pid")
        ),
        &log,
    ));
    let before = s.registry.uploads().len();
    let child = cargo_publish_with(s, &[], &[]).spawn().unwrap();
    let (status, _, err) = person_answers_with(child, Click::Approve, Some(PASSWORD), || {
        // The worm's agent is live for the helper: a polkit question about the helper's
        // process (asked here, in the helper's namespace, on its system bus) reaches it.
        let pid = run(Command::new("pgrep").args(["-u", ALICE, "-f", "--", "cargo-plugin"]));
        let pid = String::from_utf8_lossy(&pid.stdout).trim().to_string();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        let mut asked = None;
        while !std::fs::read_to_string(&log).is_ok_and(|t| t.contains("AUTHENTICATING")) {
            assert!(
                std::time::Instant::now() < deadline,
                "no agent for the helper {pid}: {asked:?}"
            );
            asked = Command::new("nsenter")
                .args(["-t", &pid, "-m", "--", "runuser", "-u", ALICE, "--"])
                .args(["timeout", "2", "pkcheck", "--action-id"])
                .args(["org.freedesktop.policykit.exec", "--process", &pid])
                .arg("--allow-user-interaction")
                .output()
                .ok();
        }
    });
    // Yet the person's password, typed in the helper's window, is what published; the
    // agent saw only the question asked above, never one from the helper.
    assert!(status.success(), "{err}");
    assert_eq!(s.registry.uploads().len(), before + 1);
    let said = std::fs::read_to_string(&log).unwrap_or_default();
    assert_eq!(said.matches("AUTHENTICATING").count(), 1, "{said}");
    clear_cooldown(s, ALICE);
}
