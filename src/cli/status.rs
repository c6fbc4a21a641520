//! `cargo confirm-gui status`: the registries cargo knows with whether a token is stored for
//! each, the store, the presence step and the policy in force; `--json` for scripts.

use std::path::Path;

use crate::index_url::CRATES_IO_INDEX;
use crate::pipeline::Deps;
use crate::store::RegistryKey;

use super::Stores;

/// One registry cargo's config names.
#[derive(serde::Serialize)]
struct Registry {
    name: String,
    index: String,
    /// `None`: the store could not be asked.
    token_stored: Option<bool>,
}

/// Prints the status, as text or one JSON object.
#[allow(clippy::print_stdout, reason = "the status is the command's output")]
pub(super) fn status(deps: &Deps<'_>, stores: &Stores, json: bool) -> Result<(), String> {
    let (_, cargo_home, cwd) = super::homes(&deps.env)?;
    let store = stores.open();
    let store_error = store.as_ref().err().map(|e| e.to_string());
    let registries: Vec<Registry> = known_registries(&cwd, &cargo_home)
        .into_iter()
        .map(|(name, index)| {
            let token_stored = match (&store, RegistryKey::parse(&index)) {
                (Ok(s), Ok(key)) => s.contains(&key).ok(),
                _ => None,
            };
            Registry {
                name,
                index,
                token_stored,
            }
        })
        .collect();
    let policy = match &deps.policy_error {
        Some(e) => format!("refused: {e}"),
        None if Path::new(crate::policy::PATH).exists() => {
            format!("{} (root-owned; in force)", crate::policy::PATH)
        }
        None => format!("none ({} absent: the strict defaults)", crate::policy::PATH),
    };
    if json {
        let v = serde_json::json!({
            "version": env!("CARGO_PKG_VERSION"),
            "store": stores.help(),
            "store_error": store_error,
            "presence": stores.presence_help(),
            "policy": policy,
            "registries": registries,
        });
        println!("{v}");
        return Ok(());
    }
    println!("cargo-confirm-gui {}", env!("CARGO_PKG_VERSION"));
    println!("{}", stores.help());
    if let Some(e) = &store_error {
        println!("The store cannot be opened: {e}");
    }
    println!("Presence after Approve: {}", stores.presence_help());
    println!("Policy: {policy}");
    println!("Registries in cargo's config:");
    for r in &registries {
        println!(
            "  {:<16} {:<48} {}",
            crate::text::escape(&r.name).text,
            crate::text::escape(&r.index).text,
            match r.token_stored {
                Some(true) => "token stored",
                Some(false) => "no token (cargo-confirm-gui --enroll --registry NAME)",
                None => "not known (the store could not be asked)",
            }
        );
    }
    Ok(())
}

/// crates-io, then each `[registries.NAME]` with an index in the config files cargo reads.
pub(super) fn known_registries(cwd: &Path, cargo_home: &Path) -> Vec<(String, String)> {
    let mut out = vec![("crates-io".to_string(), CRATES_IO_INDEX.to_string())];
    for f in crate::adopt::config_files(cwd, cargo_home) {
        let Ok(Ok(doc)) = std::fs::read_to_string(&f).map(|t| t.parse::<toml::Table>()) else {
            continue;
        };
        let Some(regs) = doc.get("registries").and_then(|r| r.as_table()) else {
            continue;
        };
        for (name, r) in regs {
            let Some(index) = r.get("index").and_then(|i| i.as_str()) else {
                continue;
            };
            if !out.iter().any(|(n, _)| n == name) {
                out.push((name.clone(), index.to_string()));
            }
        }
    }
    out
}
