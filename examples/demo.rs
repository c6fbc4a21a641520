//! The demo: publishes a throwaway crate with real `cargo publish` to a registry served on
//! 127.0.0.1, through the real window and the real store (the Secret Service), so a newcomer
//! sees the whole flow in one command. The demo's token is a throwaway for that registry,
//! stored under its own entry and removed afterwards.
//!
//!     cargo build && cargo run --example demo [-- --provider PATH]
//!
//! The provider is `--provider`, else the `cargo-confirm-gui` built beside this example,
//! else the one on `PATH`. An example, not a subcommand: the shipped helper holds no HTTP
//! server (the registry is the test kit's).

use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use cargo_confirm_gui::env::Snapshot;
use cargo_confirm_gui::gate::{self, Options as GateOptions, Verdict};
use cargo_confirm_gui::request::{CargoRequest, Operation};
use cargo_confirm_gui::store::{RegistryKey, TokenStore};
use cargo_confirm_gui::token::Token;
use cargo_confirm_gui_testkit::{Options, Registry};

/// What happened.
#[derive(Debug)]
struct Report {
    /// `cargo publish` succeeded.
    pub cargo_ok: bool,
    /// The registry received the upload with exactly the demo token.
    pub upload_had_token: bool,
    /// How many API requests reached the registry at all.
    pub api_requests: usize,
    /// Crate name and version.
    pub crate_id: String,
}

struct EntryGuard<'a> {
    store: &'a dyn TokenStore,
    key: RegistryKey,
}

impl Drop for EntryGuard<'_> {
    fn drop(&mut self) {
        if let Err(e) = self.store.delete(&self.key) {
            eprintln!("demo: could not remove the demo entry {}: {e}", self.key);
        }
    }
}

fn throwaway_token() -> Token {
    let seed = format!(
        "{:?}{}{:p}",
        std::time::SystemTime::now(),
        std::process::id(),
        seed_marker as fn()
    );
    let hex: String = Sha256::digest(seed.as_bytes())[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Token::new(format!("ccgdemo{hex}"))
}

fn seed_marker() {}

/// Runs the demo: `exe` is this program (the provider cargo will run), `cargo` the cargo
/// binary, `work` an empty directory for the throwaway crate.
fn run(exe: &Path, cargo: &Path, work: &Path, store: &dyn TokenStore) -> Result<Report, String> {
    let token = throwaway_token();
    let registry = Registry::start(Options {
        token: Some(token.expose().to_string()),
        auth_required: false,
        refuse: None,
    })
    .map_err(|e| format!("could not start the local registry: {e}"))?;
    let key = RegistryKey::from_index_url(&registry.index_url());
    if store.contains(&key).map_err(|e| e.to_string())? {
        return Err(format!(
            "an entry for {key} already exists; not touching it"
        ));
    }
    store
        .set(
            &key,
            "cargo-confirm-gui demo (throwaway, removed after the demo)",
            &token,
        )
        .map_err(|e| e.to_string())?;
    let _guard = EntryGuard { store, key };

    let suffix: String = token.expose()["ccgdemo".len()..].chars().take(8).collect();
    let name = format!("confirm-demo-{suffix}");
    let dir = work.join(&name);
    std::fs::create_dir_all(dir.join("src")).map_err(|e| e.to_string())?;
    std::fs::create_dir_all(dir.join(".cargo")).map_err(|e| e.to_string())?;
    std::fs::write(
        dir.join("Cargo.toml"),
        format!(
            "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\
             description = \"throwaway crate published by cargo-confirm-gui demo\"\n\
             license = \"MIT\"\n\n[workspace]\n"
        ),
    )
    .map_err(|e| e.to_string())?;
    std::fs::write(
        dir.join("src/lib.rs"),
        "//! A throwaway crate.\npub fn hello() -> &'static str { \"hello\" }\n",
    )
    .map_err(|e| e.to_string())?;
    std::fs::write(
        dir.join(".cargo/config.toml"),
        format!(
            "[registries.confirm-demo]\nindex = \"{}\"\ncredential-provider = [{}, \"get\"]\n",
            registry.index_url(),
            toml_string(exe)
        ),
    )
    .map_err(|e| e.to_string())?;

    eprintln!(
        "demo: publishing {name} 0.1.0 to {} — a window will ask you to approve.",
        registry.url
    );
    let status = Command::new(cargo)
        .args([
            "publish",
            "--registry",
            "confirm-demo",
            "--no-verify",
            "--allow-dirty",
        ])
        .current_dir(&dir)
        .env("CARGO_TARGET_DIR", work.join("target"))
        .env_remove("CARGO_REGISTRY_TOKEN")
        .status()
        .map_err(|e| format!("could not run {}: {e}", cargo.display()))?;

    let mutations = registry.mutations();
    let upload_had_token = mutations.iter().any(|h| {
        h.method == "PUT"
            && h.path == "/api/v1/crates/new"
            && h.status == 200
            && h.authorization.as_deref() == Some(token.expose())
    });
    Ok(Report {
        cargo_ok: status.success(),
        upload_had_token,
        api_requests: mutations.len(),
        crate_id: format!("{name} 0.1.0"),
    })
}

fn toml_string(p: &Path) -> String {
    let s = p.display().to_string();
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The provider cargo will run: `--provider PATH`, else the one built beside this example
/// (`target/debug/examples/demo` → `target/debug/cargo-confirm-gui`), else `PATH`'s.
fn provider() -> Result<PathBuf, String> {
    let mut args = std::env::args().skip(1);
    match (args.next().as_deref(), args.next()) {
        (Some("--provider"), Some(p)) => return Ok(PathBuf::from(p)),
        (None, _) => {}
        _ => return Err("usage: demo [--provider PATH]".into()),
    }
    let beside = std::env::current_exe()
        .ok()
        .and_then(|e| Some(e.parent()?.parent()?.join("cargo-confirm-gui")))
        .filter(|p| p.is_file());
    Ok(beside.unwrap_or_else(|| PathBuf::from("cargo-confirm-gui")))
}

fn demo() -> Result<(), String> {
    let env = Snapshot::capture();
    let probe = Operation::Cargo(CargoRequest::Publish {
        name: "demo".into(),
        vers: "0.1.0".into(),
        cksum: String::new(),
    });
    if let Verdict::Refuse(r) = gate::decide(&probe, &env, &GateOptions::default()) {
        return Err(r.message());
    }
    let policy = cargo_confirm_gui::policy::Policy::load().map_err(|e| e.to_string())?;
    cargo_confirm_gui::display::probe(&env, &policy.display).map_err(|e| format!("{e:?}"))?;
    let store = cargo_confirm_gui::store::default_store().map_err(|e| e.to_string())?;
    let exe = provider()?;
    let work = std::env::temp_dir().join(format!("cargo-confirm-gui-demo-{}", std::process::id()));
    let cargo = env.cargo.clone().unwrap_or_else(|| PathBuf::from("cargo"));
    let report = run(&exe, &cargo, &work, store.as_ref());
    let _ = std::fs::remove_dir_all(&work);
    let report = report?;
    if report.upload_had_token {
        eprintln!(
            "demo: {} was published; the registry received exactly the token you approved.",
            report.crate_id
        );
        Ok(())
    } else if report.api_requests == 0 {
        Err(format!(
            "not published; the registry received no token (cargo ok: {}).",
            report.cargo_ok
        ))
    } else {
        Err(format!(
            "the registry received {} API request(s) but no valid upload.",
            report.api_requests
        ))
    }
}

fn main() -> std::process::ExitCode {
    match demo() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("demo: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
