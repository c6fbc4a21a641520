//! The commands run as `cargo-confirm-gui …` rather than through cargo: `--enroll`,
//! `--migrate` and `get`.

use std::io::{IsTerminal, Write};

use crate::env::Snapshot;
use crate::evidence;
use crate::pipeline::{self, Deps};
use crate::protocol::{Answer, Request};
use crate::registries;
use crate::request::{Operation, StoreChange};
use crate::store::RegistryKey;
use crate::ui::Cancel;

use super::Stores;

/// The registry a direct command acts on, as its `--index-url` and `--registry` options
/// name it.
pub struct RegistryOptions {
    /// `--index-url`.
    pub index_url: Option<String>,
    /// `--registry`.
    pub registry: Option<String>,
}

impl RegistryOptions {
    /// The index URL and registry name: `--index-url`, `--registry` (resolved as cargo
    /// does), the registry cargo named in the environment, then `registry.default` and
    /// crates.io, as every command resolves them.
    fn target(&self, env: &Snapshot) -> Result<(String, Option<String>), String> {
        let cwd = std::env::current_dir().map_err(|e| e.to_string())?;
        self.target_in(env, &cwd)
    }

    fn target_in(
        &self,
        env: &Snapshot,
        cwd: &std::path::Path,
    ) -> Result<(String, Option<String>), String> {
        if self.index_url.is_none()
            && self.registry.is_none()
            && let Some(url) = &env.registry_index_url
        {
            return Ok((url.clone(), env.registry_name.clone()));
        }
        let r = registries::Registry::resolve(
            self.index_url.clone(),
            self.registry.clone(),
            None,
            env,
            cwd,
        )
        .map_err(|e| e.to_string())?;
        Ok((r.index_url, r.name))
    }

    /// The request for `operation` on this registry.
    fn request(&self, env: &Snapshot, operation: Operation) -> Result<Request, String> {
        let (index_url, registry_name) = self.target(env)?;
        Ok(super::request(index_url, registry_name, operation))
    }
}

/// `--migrate`: moves a token from the Secret Service into the sealed store, after a window.
/// Only a sealed install has somewhere to move it to.
pub fn migrate(registry: &RegistryOptions, deps: &Deps<'_>, stores: &Stores) -> Result<(), String> {
    #[cfg(target_os = "linux")]
    if let Stores::Sealed { .. } = stores {
        let from = crate::store::default_store().map_err(|e| e.to_string())?;
        let req = registry.request(&deps.env, Operation::Store(StoreChange::Migrate))?;
        pipeline::migrate(&req, deps, from.as_ref(), &Cancel::default())
            .map_err(|e| no_window("--migrate", e))?;
        eprintln!(
            "Moved the token for {} into the sealed store and removed it from the Secret Service.",
            req.registry_label()
        );
        return Ok(());
    }
    let _ = (registry, deps, stores);
    Err(
        "--migrate moves a token into the sealed store, and this helper is not installed \
         sealed (see README, \"Sealed install\")"
            .into(),
    )
}

/// What a person at a shell is told when a command of theirs could not open its window: the
/// gate's own words are written for cargo on a CI runner, which is not who ran this.
fn no_window(command: &str, e: crate::error::Error) -> String {
    use crate::error::Error;
    use crate::gate::Refusal;
    let why = match &e {
        Error::Refused(Refusal::Headless) => {
            "there is no display here (neither DISPLAY nor WAYLAND_DISPLAY is set)".to_string()
        }
        Error::Refused(Refusal::Unreachable(detail)) => {
            format!("the display cannot be reached ({detail})")
        }
        Error::Refused(Refusal::Ci(var)) => {
            format!("this looks like a CI runner (`{var}` is set)")
        }
        _ => return e.report(),
    };
    format!(
        "cargo-confirm-gui {command} needs a window on your desktop, and {why}. Run it from a \
         terminal in your desktop session: the token is only ever typed or pasted into that \
         window, never read from a terminal or the command line. Nothing was changed."
    )
}

/// `--enroll`: the window to paste a token in, and the token stored.
pub fn enroll(registry: &RegistryOptions, deps: &Deps<'_>) -> Result<(), String> {
    let req = registry.request(
        &deps.env,
        Operation::Store(StoreChange::Login {
            token_given: false,
            enroll: true,
        }),
    )?;
    pipeline::handle(&req, deps, &Cancel::default()).map_err(|e| no_window("--enroll", e))?;
    eprintln!(
        "Stored the token for {} ({}).",
        req.registry_label(),
        RegistryKey::from_index_url(&req.index_url)
    );
    Ok(())
}

/// `get`: the token printed to a pipe after a window, for `cargo:token-from-stdout`; refused
/// to a terminal, under cargo, and for a sealed store unless the policy allows it.
#[allow(
    clippy::print_stdout,
    reason = "printing the token to a pipe is what `get` is for"
)]
pub fn get(registry: &RegistryOptions, deps: &Deps<'_>, stores: &Stores) -> Result<(), String> {
    if std::io::stdout().is_terminal() {
        return Err("cargo-confirm-gui get prints the token only to a pipe, never to a terminal. \
                    Use it as `credential-provider = [\"cargo:token-from-stdout\", \"cargo-confirm-gui\", \"get\"]`."
            .into());
    }
    // Regression, "Nothing the caller supplies" (6): a worm switched cargo's config to
    // `cargo:token-from-stdout` + `get`, so the one window came at cargo's pre-flight read,
    // named nothing, and cargo kept the token for every operation of its run.
    let parent_is_cargo = evidence::parent_exe().ends_with("/cargo");
    if deps.env.registry_index_url.is_some() || parent_is_cargo {
        return Err(
            "cargo-confirm-gui get refuses to run under cargo: with `cargo:token-from-stdout` \
             cargo asks before it has packaged anything, names no crate or operation, and keeps \
             the token for its whole run and every operation, so one Approve would authorise \
             whatever it does next. Use the plugin form instead: `credential-provider = \
             [\"cargo-confirm-gui\"]` (README, \"Use it\"). Nothing was released."
                .into(),
        );
    }
    // Red team, "Nothing the caller supplies": a wrapper between cargo and `get` (`sh -c
    // 'env -u CARGO_REGISTRY_INDEX_URL cargo-confirm-gui get'`) passes the checks above, and
    // any program can read the pipe. A sealed token goes to a pipe only where root allows it.
    #[cfg(not(target_os = "linux"))]
    let _ = stores;
    #[cfg(target_os = "linux")]
    if matches!(stores, Stores::Sealed { .. }) && !deps.allowed.sealed_get {
        return Err(format!(
            "cargo-confirm-gui get refuses to print a token of the sealed store: its window \
             cannot say what the token will be used for, and any program running as you could \
             be reading the pipe. Use the plugin form (`credential-provider = \
             [\"cargo-confirm-gui\"]`) or `cargo confirm-gui publish`; an administrator can \
             allow it with `sealed-get = true` under [requests] in {}. Nothing was released.",
            crate::policy::PATH
        ));
    }
    let req = registry.request(&deps.env, Operation::Caller)?;
    match pipeline::handle(&req, deps, &Cancel::default()).map_err(|e| e.report())? {
        Answer::Token { token, .. } => {
            let mut out = std::io::stdout().lock();
            writeln!(out, "{}", token.expose())
                .and_then(|_| out.flush())
                .map_err(|e| e.to_string())
        }
        _ => Err("unexpected answer".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enroll_honours_registry_default_as_the_subcommands_do() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join(".cargo")).unwrap();
        std::fs::write(
            d.path().join(".cargo/config.toml"),
            "[registry]\ndefault = \"mine\"\n[registries.mine]\nindex = \"sparse+https://mine/\"\n",
        )
        .unwrap();
        let none = RegistryOptions {
            index_url: None,
            registry: None,
        };
        let (url, name) = none.target_in(&Snapshot::default(), d.path()).unwrap();
        assert_eq!(url, "sparse+https://mine/");
        assert_eq!(name.as_deref(), Some("mine"));
        let named = RegistryOptions {
            index_url: None,
            registry: Some("crates-io".into()),
        };
        let (url, _) = named.target_in(&Snapshot::default(), d.path()).unwrap();
        assert_eq!(url, crate::index_url::CRATES_IO_INDEX);
    }
}
