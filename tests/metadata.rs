//! Issue 12: the upload's metadata, built from the packaged crate, is what `cargo publish`
//! sends for the same crate.
//!
//! Real cargo publishes a set of crates to loopback registries that record every upload;
//! then [`metadata::build`] runs on each recorded `.crate` and its JSON must equal the JSON
//! cargo sent. Three registries: `local` (the one most crates go to), `other` (a second
//! alternative registry) and `mirror`, which stands in for crates.io through source
//! replacement, so that dependencies on "crates.io" resolve offline and cargo still names
//! crates.io's index in what it sends. No display, no window, no token store.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Instant;

use cargo_confirm_gui::publish::metadata;
use cargo_confirm_gui_testkit::{Options, Registry, Upload};
use serde_json::Value;

fn start() -> Registry {
    Registry::start(Options {
        token: None,
        auth_required: false,
        refuse: None,
    })
    .expect("start a loopback registry")
}

struct World {
    tmp: tempfile::TempDir,
    local: Registry,
    other: Registry,
    mirror: Registry,
}

impl World {
    fn new() -> World {
        let world = World {
            tmp: tempfile::tempdir().unwrap(),
            local: start(),
            other: start(),
            mirror: start(),
        };
        let config = format!(
            r#"[registries.local]
index = "{local}"

[registries.other]
index = "{other}"

[registries.mirror]
index = "{mirror}"

[source.crates-io]
replace-with = "mirror-source"

[source.mirror-source]
registry = "{mirror}"

[registry]
global-credential-providers = ["cargo:token"]
"#,
            local = world.local.index_url(),
            other = world.other.index_url(),
            mirror = world.mirror.index_url(),
        );
        write(&world.home(), &[("config.toml", &config)]);
        world
    }

    fn home(&self) -> PathBuf {
        self.tmp.path().join("cargo-home")
    }

    /// `cargo ARGS` in `dir`, with this world's CARGO_HOME; panics with cargo's output on
    /// failure.
    fn cargo(&self, dir: &Path, args: &[&str]) -> Output {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(cargo);
        // What `cargo test` sets for this test binary is not for the cargo under test.
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("CARGO_") || k == "RUSTFLAGS" {
                cmd.env_remove(k);
            }
        }
        // RUSTUP_HOME must survive the CARGO_HOME change for a rustup proxy.
        if std::env::var_os("RUSTUP_HOME").is_none()
            && let Some(h) = std::env::var_os("HOME")
        {
            cmd.env("RUSTUP_HOME", Path::new(&h).join(".rustup"));
        }
        let out = cmd
            .args(args)
            .current_dir(dir)
            .env("CARGO_HOME", self.home())
            .env("CARGO_TARGET_DIR", self.tmp.path().join("target"))
            .env("CARGO_TERM_COLOR", "never")
            .env("CARGO_REGISTRIES_LOCAL_TOKEN", "anything")
            .env("CARGO_REGISTRIES_OTHER_TOKEN", "anything")
            .env("CARGO_REGISTRIES_MIRROR_TOKEN", "anything")
            .stdin(Stdio::null())
            .output()
            .expect("run cargo");
        assert!(
            out.status.success(),
            "cargo {args:?} in {} failed:\n{}{}",
            dir.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    fn publish(&self, dir: &Path, registry: &str, packages: &[&str]) {
        let mut args = vec![
            "publish",
            "--registry",
            registry,
            "--no-verify",
            "--allow-dirty",
        ];
        for p in packages {
            args.extend(["-p", p]);
        }
        self.cargo(dir, &args);
    }
}

fn write(root: &Path, files: &[(&str, &str)]) {
    for (path, text) in files {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}

/// A small library crate's manifest and source.
fn leaf_crate(name: &str, version: &str, extra: &str) -> [(String, String); 2] {
    [
        (
            format!("{name}/Cargo.toml"),
            format!(
                "[package]\nname = \"{name}\"\nversion = \"{version}\"\nedition = \"2021\"\n{extra}"
            ),
        ),
        (format!("{name}/src/lib.rs"), String::new()),
    ]
}

/// Every leaf of the JSON as `path = value`, for a diff a person can read.
fn flatten(v: &Value, path: String, out: &mut Vec<String>) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, v) in m {
                flatten(v, format!("{path}.{k}"), out);
            }
        }
        Value::Array(a) if !a.is_empty() => {
            for (i, v) in a.iter().enumerate() {
                flatten(v, format!("{path}[{i}]"), out);
            }
        }
        Value::String(s) if s.len() > 80 => {
            out.push(format!("{path} = {:?}… ({} bytes)", &s[..60], s.len()))
        }
        v => out.push(format!("{path} = {v}")),
    }
}

fn diff(ours: &Value, cargos: &Value) -> String {
    let (mut a, mut b) = (Vec::new(), Vec::new());
    flatten(ours, String::new(), &mut a);
    flatten(cargos, String::new(), &mut b);
    let mut text = String::new();
    for line in b.iter().filter(|l| !a.contains(l)) {
        text.push_str(&format!("  cargo: {line}\n"));
    }
    for line in a.iter().filter(|l| !b.contains(l)) {
        text.push_str(&format!("  ours:  {line}\n"));
    }
    text
}

#[test]
fn metadata_is_what_cargo_sends() {
    let started = Instant::now();
    let world = World::new();
    let root = world.tmp.path();

    // Dependencies first: one workspace of small crates, published to three registries.
    let deps = root.join("deps");
    let mut files: Vec<(String, String)> = vec![(
        "Cargo.toml".into(),
        "[workspace]\nresolver = \"2\"\nmembers = [\"*\"]\n".into(),
    )];
    files.extend(leaf_crate(
        "leaf",
        "0.1.4",
        "description = \"a leaf\"\nlicense = \"MIT\"\n\n[features]\ndefault = [\"std\"]\nstd = []\nextra = []\n",
    ));
    files.extend(leaf_crate("renamed-real", "0.2.0", "license = \"MIT\"\n"));
    // Found by cargo without a `readme` key.
    files.push(("renamed-real/README.md".into(), "# renamed-real\n".into()));
    files.extend(leaf_crate("opt-dep", "0.1.0", "[features]\nx = []\n"));
    files.extend(leaf_crate("build-helper", "1.2.3", ""));
    files.extend(leaf_crate("unix-helper", "0.1.0", ""));
    files.extend(leaf_crate("dev-helper", "0.1.0", ""));
    files.extend(leaf_crate("tgt-helper", "0.1.0", ""));
    files.extend(leaf_crate("cio-dep", "1.0.0", "[features]\nstd = []\n"));
    files.extend(leaf_crate("other-dep", "0.3.1", ""));
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    write(&deps, &refs);
    world.publish(&deps, "mirror", &["cio-dep"]);
    world.publish(&deps, "other", &["other-dep"]);
    world.publish(
        &deps,
        "local",
        &[
            "leaf",
            "renamed-real",
            "opt-dep",
            "build-helper",
            "unix-helper",
            "dev-helper",
            "tgt-helper",
        ],
    );

    // The application: a workspace whose crates depend on each other by path and are
    // published in one command, in order.
    let app = root.join("app");
    write(
        &app,
        &[
            (
                "Cargo.toml",
                r#"[workspace]
resolver = "2"
members = ["core", "sink", "local-only"]

[workspace.package]
version = "0.1.0"
edition = "2021"
authors = ["Workspace Author"]

[workspace.dependencies]
leaf = { version = "0.1", registry = "local", default-features = false }
"#,
            ),
            (
                "README.md",
                "# The kitchen sink\n\nA readme from the workspace root, with \"quotes\", \\ and ünïcödé.\n",
            ),
            ("LICENSE-CORE", "Core licence text\n"),
            (
                "core/Cargo.toml",
                r#"[package]
name = "app-core"
version.workspace = true
edition.workspace = true
authors.workspace = true
description = "The core"
license-file = "../LICENSE-CORE"
readme = false

[dependencies]
leaf = { workspace = true, features = ["std"] }
"#,
            ),
            ("core/src/lib.rs", ""),
            (
                "sink/Cargo.toml",
                r#"[package]
name = "kitchen-sink"
version = "0.2.0-beta.1"
edition = "2021"
authors = ["Ann <ann@example.com>", "Bo"]
description = "Every field cargo sends"
documentation = "https://docs.example.com/kitchen-sink"
homepage = "https://example.com/kitchen-sink"
repository = "https://example.com/kitchen-sink.git"
license = "MIT OR Apache-2.0"
keywords = ["metadata", "publish"]
categories = ["development-tools::cargo-plugins"]
readme = "../README.md"
links = "sink"
rust-version = "1.70"
build = "build.rs"

[badges]
maintenance = { status = "experimental" }

[features]
default = ["std"]
std = ["leaf/std", "cio-dep?/std"]
fancy = ["dep:opt-dep", "opt-dep?/x"]
mirror = ["dep:cio-dep"]
empty = []

[dependencies]
app-core = { path = "../core", version = "0.1.0", registry = "local" }
leaf = { version = "0.1", registry = "local", default-features = false, features = ["extra"] }
short = { package = "renamed-real", version = "0.2", registry = "local" }
opt-dep = { version = "~0.1.0", registry = "local", optional = true }
cio-dep = { version = ">=1.0, <2", optional = true }
other-dep = { version = "0.3", registry = "other" }

[dev-dependencies]
dev-helper = { version = "0.1", registry = "local" }
local-only = { path = "../local-only" }

[build-dependencies]
build-helper = { version = "=1.2.3", registry = "local" }

[target.'cfg(unix)'.dependencies]
unix-helper = { version = "0.1", registry = "local" }

[target.'cfg(all(target_os="linux",not(windows)))'.build-dependencies]
tgt-helper = { version = "0.1", registry = "local" }

[target.x86_64-unknown-linux-gnu.dev-dependencies]
tgt-helper = { version = "0.1", registry = "local" }
"#,
            ),
            ("sink/build.rs", "fn main() {}\n"),
            ("sink/src/lib.rs", ""),
            (
                "local-only/Cargo.toml",
                "[package]\nname = \"local-only\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n",
            ),
            ("local-only/src/lib.rs", ""),
        ],
    );
    world.publish(&app, "local", &["app-core", "kitchen-sink"]);

    let mut seen = Vec::new();
    let mut failures = String::new();
    let mut sink = None;
    for registry in [&world.mirror, &world.other, &world.local] {
        for Upload {
            metadata: sent,
            bytes,
        } in registry.uploads()
        {
            let name = sent["name"].as_str().unwrap().to_string();
            seen.push(name.clone());
            match metadata::build(&bytes, &registry.index_url()) {
                Ok(built) if built.json == sent => {
                    assert_eq!(built.name, name);
                    assert_eq!(Some(built.vers.as_str()), sent["vers"].as_str());
                    if name == "kitchen-sink" {
                        sink = Some(built);
                    }
                }
                Ok(built) => failures.push_str(&format!(
                    "{name}: our metadata differs from cargo's:\n{}",
                    diff(&built.json, &sent)
                )),
                Err(e) => failures.push_str(&format!("{name}: {e}\n")),
            }
        }
    }
    assert!(failures.is_empty(), "{failures}");
    seen.sort();
    assert_eq!(
        seen,
        [
            "app-core",
            "build-helper",
            "cio-dep",
            "dev-helper",
            "kitchen-sink",
            "leaf",
            "opt-dep",
            "other-dep",
            "renamed-real",
            "tgt-helper",
            "unix-helper",
        ]
    );

    // The plan's order: cargo uploaded app-core first, and the metadata says why.
    let order: Vec<String> = world
        .local
        .uploads()
        .iter()
        .map(|u| u.metadata["name"].as_str().unwrap().to_string())
        .collect();
    let at = |n: &str| order.iter().position(|o| o == n).unwrap();
    assert!(at("app-core") < at("kitchen-sink"), "{order:?}");
    let sink = sink.unwrap();
    assert_eq!(
        sink.depends_on,
        [
            "app-core",
            "cio-dep",
            "leaf",
            "opt-dep",
            "other-dep",
            "renamed-real",
            "build-helper",
            // cargo's order of targets: `cfg(all(...))` sorts before `cfg(unix)`.
            "tgt-helper",
            "unix-helper",
        ]
    );
    // The comparison above is only as good as the cases cargo actually sent.
    let sent = &world.local.uploads()[at("kitchen-sink")].metadata;
    let deps = sent["deps"].as_array().unwrap();
    let kinds: Vec<&str> = deps.iter().map(|d| d["kind"].as_str().unwrap()).collect();
    for kind in ["normal", "dev", "build"] {
        assert!(kinds.contains(&kind), "no {kind} dependency in {sent}");
    }
    assert!(deps.iter().any(|d| d["target"] == "cfg(unix)"), "{sent}");
    assert!(
        deps.iter()
            .any(|d| d["explicit_name_in_toml"] == "short" && d["name"] == "renamed-real"),
        "{sent}"
    );
    assert!(
        sent["readme"].as_str().unwrap().contains("ünïcödé"),
        "{sent}"
    );
    assert_eq!(sent["links"], "sink");
    assert_eq!(sent["rust_version"], "1.70");

    let took = started.elapsed();
    eprintln!("metadata comparison: {} uploads in {took:.1?}", seen.len());
    assert!(took.as_secs() < 60, "took {took:?}");
}
