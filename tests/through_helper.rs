//! `cargo confirm-gui publish`: real cargo runs the subcommand, which packages with cargo,
//! shows the whole plan in one window, and uploads the bytes it read itself, to a registry
//! on 127.0.0.1; a person's click arrives through Xephyr.

#![cfg(target_os = "linux")]

mod support;

use std::io::Read;
use std::process::{Child, Command};
use std::time::Duration;

use cargo_confirm_gui_testkit::Options;
use support::*;

const TOKEN: &str = "tok-through-0123456789abcdef";
const CARGO: Duration = Duration::from_secs(180);

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    cargo_confirm_gui::package::hex(&sha2::Sha256::digest(bytes))
}

/// `cargo confirm-gui publish --registry local …` in the project, spawned.
fn publish_through_helper(p: &Project, extra: &[&str]) -> Command {
    let mut args = vec![
        "confirm-gui",
        "publish",
        "--registry",
        "local",
        "--no-verify",
        "--allow-dirty",
    ];
    args.extend_from_slice(extra);
    p.cargo(&args)
}

fn enrolled(name: &str, refuse: Option<&str>) -> Project {
    let p = Project::new(
        name,
        Options {
            token: Some(TOKEN.into()),
            auth_required: false,
            refuse: refuse.map(str::to_string),
        },
        ProviderConfig::PerRegistry(&[]),
    );
    desk().secret_store(&p.key(), TOKEN);
    p
}

/// Makes the project a workspace of three crates: `NAME-app` depends on `NAME-core`, which
/// depends on `NAME-util`, by path and version; the root package stays out of it.
fn workspace(p: &Project) -> [String; 3] {
    let n = &p.name;
    let [app, core, util] = [format!("{n}-app"), format!("{n}-core"), format!("{n}-util")];
    std::fs::write(
        p.dir.join("Cargo.toml"),
        format!("[workspace]\nmembers = [\"{app}\", \"{core}\", \"{util}\"]\nresolver = \"2\"\n"),
    )
    .unwrap();
    let _ = std::fs::remove_dir_all(p.dir.join("src"));
    for (krate, dep) in [(&app, Some(&core)), (&core, Some(&util)), (&util, None)] {
        std::fs::create_dir_all(p.dir.join(krate).join("src")).unwrap();
        let deps = dep
            .map(|d| {
                format!(
                    "[dependencies]\n{d} = {{ path = \"../{d}\", version = \"0.1.0\", registry = \"local\" }}\n"
                )
            })
            .unwrap_or_default();
        std::fs::write(
            p.dir.join(krate).join("Cargo.toml"),
            format!(
                "[package]\nname = \"{krate}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\
                 description = \"test\"\nlicense = \"MIT\"\npublish = [\"local\"]\n\n{deps}"
            ),
        )
        .unwrap();
        std::fs::write(p.dir.join(krate).join("src/lib.rs"), "pub fn f() {}\n").unwrap();
    }
    [app, core, util]
}

fn approve(mut child: Child, during: impl FnOnce()) -> (std::process::ExitStatus, String) {
    let (_, g) = window_for(&mut child, "cargo-confirm-gui: ");
    during();
    wait_armed();
    let (x, y) = approve_point(g);
    desk().human_click(x, y);
    let (status, _, err) = wait_output(child, CARGO);
    (status, err)
}

#[test]
fn one_crate_is_uploaded_by_the_helper_exactly_as_approved_even_when_rewritten_after() {
    let _g = gui_lock();
    let p = enrolled("through-one", None);
    let child = publish_through_helper(&p, &[]).spawn().unwrap();
    let file = p.dir.join("target/package/through-one-0.1.0.crate");
    let mut approved = Vec::new();
    let (status, err) = approve(child, || {
        // The window is up: the helper holds the bytes. A worm now rewrites the file in
        // place, as it did between cargo's hash and cargo's upload.
        std::fs::File::open(&file)
            .unwrap()
            .read_to_end(&mut approved)
            .unwrap();
        std::fs::write(&file, b"not the crate the person saw").unwrap();
    });
    assert!(status.success(), "{err}");
    assert!(
        err.contains("Published through-one 0.1.0 as approved"),
        "{err}"
    );
    // Each step that takes a while says so as it starts, in order.
    let at = |what: &str| err.find(what).unwrap_or_else(|| panic!("{what} in {err}"));
    assert!(
        at("Packaging through-one") < at("Checking 1 crate:")
            && at("Checking 1 crate:") < at("Uploading 1 crate to local")
            && at("Uploaded through-one v0.1.0") < at("Waiting for through-one v0.1.0")
            && at("Waiting for through-one v0.1.0") < at("Published through-one v0.1.0"),
        "{err}"
    );
    let uploads = p.registry.uploads();
    assert_eq!(uploads.len(), 1);
    assert_eq!(uploads[0].bytes, approved, "the registry got other bytes");
    let puts = p.registry.mutations();
    assert_eq!(puts.len(), 1, "{puts:?}");
    assert_eq!(puts[0].authorization.as_deref(), Some(TOKEN));
    // The audit names the plan with the checksum the window showed.
    let last = p.audit().last().unwrap().clone();
    assert_eq!(last["outcome"], "approved", "{last}");
    assert!(
        last["detail"]
            .as_str()
            .unwrap()
            .contains(&sha256_hex(&approved)),
        "{last}"
    );
}

#[test]
fn a_workspace_publishes_in_dependency_order_after_one_window() {
    let _g = gui_lock();
    let p = enrolled("through-ws", None);
    let [app, core, util] = workspace(&p);
    let child = publish_through_helper(&p, &["--workspace"])
        .spawn()
        .unwrap();
    let (status, err) = approve(child, || {});
    assert!(status.success(), "{err}");
    let order: Vec<String> = p
        .registry
        .uploads()
        .iter()
        .map(|u| u.metadata["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(order, [util.clone(), core.clone(), app.clone()]);
    // One window, one decision in the log, for all three.
    let decisions = p.audit();
    assert_eq!(decisions.len(), 1, "{decisions:?}");
    for krate in [&app, &core, &util] {
        assert!(
            decisions[0]["detail"]
                .as_str()
                .unwrap()
                .contains(krate.as_str()),
            "{decisions:?}"
        );
    }
}

#[test]
fn a_registry_refusing_the_second_crate_stops_the_plan_and_says_what_was_published() {
    let _g = gui_lock();
    let p = enrolled("through-refuse", Some("through-refuse-core"));
    let [app, core, util] = workspace(&p);
    let child = publish_through_helper(&p, &["--workspace"])
        .spawn()
        .unwrap();
    let (status, err) = approve(child, || {});
    assert!(!status.success(), "{err}");
    assert!(err.contains("is refused by this registry"), "{err}");
    assert!(err.contains(&format!("published: {util} 0.1.0")), "{err}");
    assert!(
        err.contains(&format!("not published: {core} 0.1.0, {app} 0.1.0")),
        "{err}"
    );
    assert_eq!(p.registry.published(), vec![format!("{util} 0.1.0")]);
}

#[test]
fn a_proxy_in_cargos_config_and_the_environment_is_not_used() {
    // A worm that writes cargo's config or the environment routes cargo's own requests
    // through its proxy; the helper's upload takes neither.
    let _g = gui_lock();
    let p = enrolled("through-proxy", None);
    let proxy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let proxy_url = format!("http://{}", proxy.local_addr().unwrap());
    proxy.set_nonblocking(true).unwrap();
    let config = p.cargo_home.join("config.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        format!("[http]\nproxy = \"{proxy_url}\"\n\n{text}"),
    )
    .unwrap();
    let mut cmd = publish_through_helper(&p, &[]);
    for var in [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ] {
        cmd.env(var, &proxy_url);
    }
    let (status, err) = approve(cmd.spawn().unwrap(), || {});
    assert!(status.success(), "{err}");
    assert_eq!(p.registry.uploads().len(), 1);
    assert!(
        proxy.accept().is_err(),
        "something connected to the worm's proxy"
    );
}

#[test]
fn deny_uploads_nothing_and_a_token_on_the_command_line_is_refused() {
    let _g = gui_lock();
    let p = enrolled("through-deny", None);
    let mut child = publish_through_helper(&p, &[]).spawn().unwrap();
    let (_, g) = window_for(&mut child, "cargo-confirm-gui: PUBLISH");
    wait_armed();
    let (x, y) = deny_point(g);
    desk().human_click(x, y);
    let (status, _, err) = wait_output(child, CARGO);
    assert!(!status.success());
    assert!(err.contains("denied in the confirmation window"), "{err}");
    assert!(p.registry.mutations().is_empty());

    let (status, _, err) = wait_output(
        publish_through_helper(&p, &["--token", "x"])
            .spawn()
            .unwrap(),
        CARGO,
    );
    assert!(!status.success());
    assert!(err.contains("--token is not taken"), "{err}");
    assert!(p.registry.mutations().is_empty());
}

#[test]
fn yank_and_unyank_are_sent_by_the_helper_after_a_window_each() {
    let _g = gui_lock();
    let p = enrolled("through-yank", None);
    let yank = |extra: &[&str]| {
        let mut args = vec![
            "confirm-gui",
            "yank",
            "--registry",
            "local",
            "--version",
            "0.1.0",
        ];
        args.extend_from_slice(extra);
        args.push("through-yank");
        p.cargo(&args).spawn().unwrap()
    };
    let mut child = yank(&[]);
    let (_, g) = window_for(&mut child, "cargo-confirm-gui: YANK through-yank 0.1.0");
    wait_armed();
    let (x, y) = approve_point(g);
    desk().human_click(x, y);
    let (status, _, err) = wait_output(child, CARGO);
    assert!(status.success(), "{err}");
    assert!(err.contains("Yanked through-yank 0.1.0"), "{err}");

    let mut child = yank(&["--undo"]);
    let (_, g) = window_for(&mut child, "cargo-confirm-gui: UN-YANK through-yank 0.1.0");
    wait_armed();
    let (x, y) = deny_point(g);
    desk().human_click(x, y);
    let (status, _, _) = wait_output(child, CARGO);
    assert!(!status.success());
    p.clear_cooldown();

    let (status, err) = approve(yank(&["--undo"]), || {});
    assert!(status.success(), "{err}");
    let calls: Vec<(String, String, Option<String>)> = p
        .registry
        .mutations()
        .into_iter()
        .map(|h| (h.method, h.path, h.authorization))
        .collect();
    assert_eq!(
        calls,
        [
            (
                "DELETE".to_string(),
                "/api/v1/crates/through-yank/0.1.0/yank".to_string(),
                Some(TOKEN.to_string())
            ),
            (
                "PUT".to_string(),
                "/api/v1/crates/through-yank/0.1.0/unyank".to_string(),
                Some(TOKEN.to_string())
            ),
        ]
    );
}

#[test]
fn a_second_manifest_hidden_under_a_dotted_name_blocks_approve() {
    // Review of "Publish through the helper": a worm replaced the .crate between cargo's
    // write and the helper's read with a copy that also holds `NAME-VERS/./Cargo.toml`, a
    // manifest naming a build script; the window showed one amber note, and every consumer's
    // build ran the script. Here the cargo the helper runs is the worm's wrapper, which does
    // the same deterministically.
    let _g = gui_lock();
    let p = enrolled("through-dotted", None);
    let real = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let wrapper = p.dir.join("worm-cargo.sh");
    std::fs::write(
        &wrapper,
        format!(
            r#"#!/bin/sh
"{real}" "$@" || exit $?
[ "$1" = package ] || exit 0
exec python3 - "$CARGO_TARGET_DIR/package/through-dotted-0.1.0.crate" <<'PY'
import io, sys, tarfile
path = sys.argv[1]
src = tarfile.open(path, "r:gz")
members = [(m, src.extractfile(m).read() if m.isfile() else None) for m in src.getmembers()]
out = io.BytesIO()
with tarfile.open(fileobj=out, mode="w:gz", format=tarfile.GNU_FORMAT) as t:
    for m, data in members:
        t.addfile(m, io.BytesIO(data) if data is not None else None)
    evil = b'[package]\nname = "through-dotted"\nversion = "0.1.0"\nbuild = "src/lib.rs"\n'
    info = tarfile.TarInfo("through-dotted-0.1.0/./Cargo.toml")
    info.size = len(evil)
    t.addfile(info, io.BytesIO(evil))
open(path, "wb").write(out.getvalue())
PY
"#
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let cmd = p.cargo(&[]);
    let mut run = Command::new(PROVIDER);
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => run.env(k, v),
            None => run.env_remove(k),
        };
    }
    run.env("CARGO", &wrapper)
        .args([
            "confirm-gui",
            "publish",
            "--registry",
            "local",
            "--no-verify",
            "--allow-dirty",
        ])
        .current_dir(&p.dir)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = run.spawn().unwrap();
    let (_, g) = window_for(&mut child, "cargo-confirm-gui: PUBLISH");
    wait_armed();
    let (x, y) = approve_point(g);
    desk().human_click(x, y);
    std::thread::sleep(Duration::from_millis(800));
    assert!(
        child.try_wait().unwrap().is_none(),
        "a person's Approve was accepted for a crate with a hidden manifest"
    );
    let (x, y) = deny_point(g);
    desk().human_click(x, y);
    let (status, _, err) = wait_output(child, CARGO);
    assert!(!status.success(), "{err}");
    assert!(p.registry.uploads().is_empty());
    let last = p.audit().last().unwrap().clone();
    assert!(
        last["evidence"].as_str().unwrap().contains("appears twice"),
        "{last}"
    );
}

#[test]
fn owner_changes_are_sent_by_the_helper_after_a_window() {
    let _g = gui_lock();
    let p = enrolled("through-owner", None);
    let child = p
        .cargo(&[
            "confirm-gui",
            "owner",
            "--registry",
            "local",
            "--add",
            "alice,bob",
            "through-owner",
        ])
        .spawn()
        .unwrap();
    let (status, err) = approve(child, || {});
    assert!(status.success(), "{err}");
    let child = p
        .cargo(&[
            "confirm-gui",
            "owner",
            "--registry",
            "local",
            "--list",
            "through-owner",
        ])
        .spawn()
        .unwrap();
    let (status, err) = approve(child, || {});
    assert!(status.success(), "{err}");
    let calls: Vec<(String, String, Option<String>)> = p
        .registry
        .mutations()
        .into_iter()
        .map(|h| (h.method, h.path, h.authorization))
        .collect();
    let path = "/api/v1/crates/through-owner/owners".to_string();
    assert_eq!(
        calls,
        [
            ("PUT".to_string(), path.clone(), Some(TOKEN.to_string())),
            ("GET".to_string(), path, Some(TOKEN.to_string())),
        ]
    );
}

#[test]
fn with_provider_mutations_refused_only_the_helper_publishes() {
    // Issue "Fail closed whatever the caller sets": `provider-mutations = "refuse"` in the
    // root policy is the local "trusted publishing only" switch: cargo's own publish (the
    // token would go to cargo) is refused with the way through the helper, which works.
    let _g = gui_lock();
    let policy = PolicyFile::none();
    policy.set("[requests]\nprovider-mutations = \"refuse\"\n", 0o644);
    let p = enrolled("policy-mutations", None);
    let started = std::time::Instant::now();
    let (status, _, err) = wait_output(p.publish(), Duration::from_secs(120));
    assert!(!status.success(), "{err}");
    assert!(
        err.contains("provider-mutations = \"refuse\"")
            && err.contains("run `cargo confirm-gui publish` with the same arguments"),
        "{err}"
    );
    assert!(!desk().any_window());
    assert!(started.elapsed() < Duration::from_secs(30));
    assert!(p.registry.uploads().is_empty());
    // The helper's own publish is not cargo's request: a window, a person's click, uploaded.
    let child = publish_through_helper(&p, &[]).spawn().unwrap();
    let (status, _, err) = person_answers(child, "cargo-confirm-gui", Click::Approve);
    assert!(status.success(), "{err}");
    assert_eq!(p.registry.uploads().len(), 1);
}
