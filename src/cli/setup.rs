//! `cargo confirm-gui setup`: the provider in cargo's config, every clear-text token moved
//! into the store after one window (its clear copies then removed), and what is left to do.
//! Running it again changes nothing.

use std::path::Path;

use crate::adopt::{self, Found};
use crate::env::Snapshot;
use crate::index_url::CRATES_IO_INDEX;
use crate::pipeline::{self, Adoptee, Deps};
use crate::registries;
use crate::request::AdoptItem;
use crate::store::{RegistryKey, TokenStore};
use crate::ui::Cancel;

use super::Stores;

/// The whole of `setup`, step by step. All or nothing: when a later step fails, the provider
/// it added to cargo's config is taken out again, and it says so.
pub(super) fn setup(deps: &Deps<'_>, stores: &Stores) -> Result<(), String> {
    let (home, cargo_home, cwd) = super::homes(&deps.env)?;
    for f in adopt::config_files(&cwd, &cargo_home) {
        for done in adopt::rewrite_credential_process(&f).map_err(|e| e.to_string())? {
            eprintln!("Rewrote {done} (cargo ignores credential-process).");
        }
    }
    let added = add_provider(&cargo_home)?;
    adopt_tokens(deps, stores, &home, &cargo_home, &cwd).map_err(|e| {
        if !added {
            return e;
        }
        let config = adopt::cargo_config_in(&cargo_home);
        match adopt::remove_provider(&config) {
            Ok(_) => format!(
                "{e}\nsetup did not finish: it took the provider out of {} again, and changed \
                 nothing else",
                config.display()
            ),
            Err(undo) => format!(
                "{e}\nsetup did not finish, and could not take the provider out of {} again \
                 ({undo}): cargo-confirm-gui is still listed there",
                config.display()
            ),
        }
    })
}

/// Moves the clear-text tokens into the store, after one window; says what is left.
fn adopt_tokens(
    deps: &Deps<'_>,
    stores: &Stores,
    home: &Path,
    cargo_home: &Path,
    cwd: &Path,
) -> Result<(), String> {
    let (home, cargo_home, cwd) = (home, cargo_home, cwd);
    eprintln!(
        "Looking for clear-text registry tokens (cargo's credentials and config files, \
         shell start-up files)..."
    );
    let (found, notes) = adopt::scan(home, cargo_home, cwd);
    for n in &notes {
        eprintln!("note: {n}");
    }
    // The store is needed only when there is something to move.
    let store = if found.is_empty() {
        None
    } else {
        Some(stores.open().map_err(|e| e.to_string())?)
    };
    let adoptees = adoptees(&found, cwd, &deps.env, store.as_deref())?;
    drop(store);
    if !adoptees.is_empty() {
        pipeline::adopt(&adoptees, deps, &Cancel::default()).map_err(|e| e.report())?;
        remove_clear_copies(&found, &adoptees)?;
    }
    if adoptees.is_empty() && notes.is_empty() {
        eprintln!("No clear-text registry token found.");
    }
    what_is_left(stores);
    Ok(())
}

/// Adds this helper to `[registry] global-credential-providers` in the config file cargo
/// reads (an empty `config` beside `config.toml` hides the latter), and says so when it did.
/// Returns whether it did.
fn add_provider(cargo_home: &Path) -> Result<bool, String> {
    let config = adopt::cargo_config_in(cargo_home);
    let added = adopt::add_provider(&config).map_err(|e| e.to_string())?;
    if added {
        eprintln!(
            "Added {} to [registry] global-credential-providers in {}.",
            adopt::PROVIDER,
            config.display()
        );
    }
    Ok(added)
}

/// `setup --undo` and `uninstall`: the provider out of every config file cargo reads, and
/// where the tokens stay.
pub(super) fn undo(deps: &Deps<'_>, stores: &Stores) -> Result<(), String> {
    let (_, cargo_home, cwd) = super::homes(&deps.env)?;
    let mut removed = Vec::new();
    let mut files = adopt::config_files(&cwd, &cargo_home);
    let home_config = adopt::cargo_config_in(&cargo_home);
    if !files.contains(&home_config) {
        files.push(home_config);
    }
    for f in files {
        removed.extend(adopt::remove_provider(&f).map_err(|e| e.to_string())?);
    }
    if removed.is_empty() {
        eprintln!("cargo's config does not name cargo-confirm-gui: nothing to undo.");
    }
    for r in &removed {
        eprintln!("Removed {r}.");
    }
    eprintln!(
        "The tokens stay where they are: {} cargo will not find them now; to use one again, \
         run `cargo confirm-gui setup`, or store it with `cargo login` elsewhere. To delete \
         them, revoke them at the registry (crates.io: https://crates.io/settings/tokens).",
        stores.help()
    );
    Ok(())
}

/// One store entry per registry for the tokens `found`; two different clear tokens for one
/// registry are for the person to sort out, not for this helper to pick from.
fn adoptees(
    found: &[Found],
    cwd: &Path,
    env: &Snapshot,
    store: Option<&dyn TokenStore>,
) -> Result<Vec<Adoptee>, String> {
    let mut adoptees: Vec<Adoptee> = Vec::new();
    for f in found {
        let key = registry_key(&f.registry, cwd, env).map_err(|e| {
            format!(
                "a token for `{}` was found in {}, but {e}",
                f.registry, f.source
            )
        })?;
        match adoptees.iter().find(|a| a.key == key) {
            Some(a) if a.token.expose() == f.token.expose() => {}
            Some(a) => {
                return Err(format!(
                    "two different tokens for `{}`: in {} and in {}. Remove the one you do not \
                     use, then run setup again; nothing was changed",
                    f.registry, a.item.source, f.source
                ));
            }
            None => adoptees.push(adoptee(f, key, cwd, env, store)?),
        }
    }
    Ok(adoptees)
}

/// The store entry for the token `f`, under `key`, with what the window shows of it.
fn adoptee(
    f: &Found,
    key: RegistryKey,
    cwd: &Path,
    env: &Snapshot,
    store: Option<&dyn TokenStore>,
) -> Result<Adoptee, String> {
    Ok(Adoptee {
        item: AdoptItem {
            registry: f.registry.clone(),
            fingerprint: f.token.fingerprint(),
            index: {
                // Red team of "Adopt it in one step": the key and the words shown were
                // read from the config files separately; a file swapped between the
                // two reads showed one index and stored under another.
                let (url, origin) = index_origin(&f.registry, cwd, env);
                if url.as_deref().map(RegistryKey::parse) != Some(Ok(key.clone())) {
                    return Err(format!(
                        "the index of `{}` changed while setup read cargo's config \
                         ({origin}); nothing was changed: run setup again",
                        f.registry
                    ));
                }
                origin
            },
            source: f.source.to_string(),
            already_stored: match store {
                Some(s) => s.contains(&key).map_err(|e| e.to_string())?,
                None => false,
            },
        },
        key,
        token: f.token.clone(),
    })
}

/// Removes every clear copy that can go, after the tokens were stored; those that cannot
/// are all named at the end, as the error.
fn remove_clear_copies(found: &[Found], adoptees: &[Adoptee]) -> Result<(), String> {
    let mut still_there = Vec::new();
    for f in found {
        if let Err(e) = adopt::remove(&f.source, &f.token) {
            still_there.push(format!(
                "stored, but the clear copy in {} is still there: {e}",
                f.source
            ));
            continue;
        }
        let kept = adoptees
            .iter()
            .any(|a| a.item.source == f.source.to_string() && a.item.already_stored);
        if kept {
            eprintln!(
                "Removed the clear token in {}; the token already stored for `{}` was kept \
                 (cargo-confirm-gui --enroll replaces it).",
                f.source, f.registry
            );
        } else {
            eprintln!(
                "Moved the token in {} into the store, and removed it there.",
                f.source
            );
        }
    }
    if !still_there.is_empty() {
        return Err(still_there.join("\n"));
    }
    Ok(())
}

/// What `setup` cannot do itself: a new shell when this one holds a token, the sealed
/// install, publishing through the helper, and `doctor`.
fn what_is_left(stores: &Stores) {
    if std::env::vars().any(|(k, _)| adopt::registry_of_var(&k, &[]).is_some()) {
        eprintln!("This shell still has a registry token in its environment: open a new shell.");
    }
    eprintln!("What is left:");
    #[cfg(target_os = "linux")]
    if matches!(stores, Stores::Default) {
        eprintln!(
            "  - this install cannot protect the token: any program of yours can read it from \
             the Secret Service, and a click in your session can be forged. The sealed install \
             keeps it where only this helper reads it and asks for your password (PAM) before \
             every release: sudo scripts/install-sealed.sh, then cargo-confirm-gui --migrate \
             (README, \"Sealed install\")"
        );
    }
    #[cfg(not(target_os = "linux"))]
    let _ = stores;
    eprintln!("  - publish with `cargo confirm-gui publish`, which keeps the token in this helper");
    eprintln!("  - `cargo confirm-gui doctor` checks all of this");
}

/// The store key for a registry name, as cargo resolves it.
fn registry_key(name: &str, cwd: &Path, env: &Snapshot) -> Result<RegistryKey, String> {
    let url = registries::index_url_for(
        name,
        cwd,
        env.cargo_home.as_deref(),
        env.registry_index_var(name),
    )
    .map_err(|e| e.to_string())?;
    RegistryKey::parse(&url).map_err(|e| e.to_string())
}

/// The index URL of registry `name` and, for the window, where it came from:
/// "INDEX (from WHERE)".
fn index_origin(name: &str, cwd: &Path, env: &Snapshot) -> (Option<String>, String) {
    if name == "crates-io" {
        return (
            Some(CRATES_IO_INDEX.to_string()),
            format!("{CRATES_IO_INDEX} (crates.io)"),
        );
    }
    if let Some(url) = env.registry_index_var(name) {
        return (
            Some(url.to_string()),
            format!("{url} (from the environment, which any program running as you can set)"),
        );
    }
    let files = env
        .cargo_home
        .as_deref()
        .map(|h| adopt::config_files(cwd, h))
        .unwrap_or_default();
    for f in files {
        let Ok(doc) = std::fs::read_to_string(&f).map(|t| t.parse::<toml::Table>()) else {
            continue;
        };
        if let Some(url) = doc.ok().and_then(|d| {
            d.get("registries")?
                .get(name)?
                .get("index")?
                .as_str()
                .map(str::to_string)
        }) {
            let origin = format!(
                "{url} (from {}, which any program running as you can write)",
                f.display()
            );
            return (Some(url), origin);
        }
    }
    (None, "?".into())
}
