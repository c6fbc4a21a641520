//! `cargo-confirm-gui demo`: publishes a throwaway crate with real `cargo publish` to a
//! registry served on 127.0.0.1, through the real window and the real store, so a newcomer
//! sees the whole flow in one command. The demo's token is a throwaway for that registry,
//! stored under its own entry and removed afterwards.

use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use crate::registry_server::{Options, Registry};
use crate::store::{RegistryKey, TokenStore};
use crate::token::Token;

/// What happened.
#[derive(Debug)]
pub struct Report {
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
pub fn run(
    exe: &Path,
    cargo: &Path,
    work: &Path,
    store: &dyn TokenStore,
) -> Result<Report, String> {
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

/// The cargo binary: `$CARGO` when run through cargo, else `cargo` on the PATH.
pub fn cargo_binary(cargo_env: Option<PathBuf>) -> PathBuf {
    cargo_env.unwrap_or_else(|| PathBuf::from("cargo"))
}
