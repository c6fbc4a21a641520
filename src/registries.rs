//! Which registry a command acts on, as cargo decides it, and resolving a registry name
//! (`--registry NAME`) to its index URL: `CARGO_REGISTRIES_<NAME>_INDEX`, then
//! `.cargo/config.toml` from the working directory up, then `$CARGO_HOME/config.toml`.
//! Every command (the helper's subcommands and `--enroll`, `--migrate`, `get`) resolves
//! through [`Registry::resolve`].

use std::path::Path;

use crate::cargo_config::CargoConfig;
use crate::env::Snapshot;
use crate::index_url::{CRATES_IO_INDEX, IndexUrl};

/// A registry name cargo's config does not define.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "no registry named `{0}` in cargo's config ([registries.{0}] index = \"…\" in .cargo/config.toml or $CARGO_HOME/config.toml); pass --index-url instead"
)]
pub struct UnknownRegistry(pub String);

/// A registry a command acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registry {
    /// The index URL (the store's key): crates.io's is its git URL, as cargo names it.
    pub index_url: String,
    /// Its name in cargo's config, when it has one.
    pub name: Option<String>,
}

impl Registry {
    /// As cargo decides: `index` (`--index`, `--index-url`), `registry` (`--registry`),
    /// `only` (the one registry `package.publish` allows), `registry.default` (the
    /// `CARGO_REGISTRY_DEFAULT` variable, then cargo's config files), then crates.io.
    pub fn resolve(
        index: Option<String>,
        registry: Option<String>,
        only: Option<String>,
        env: &Snapshot,
        cwd: &Path,
    ) -> Result<Registry, UnknownRegistry> {
        if let Some(url) = index {
            return Ok(Registry {
                index_url: url,
                name: None,
            });
        }
        let config = CargoConfig::load(cwd, env.cargo_home.as_deref(), usize::MAX);
        let named = registry
            .or(only)
            .or_else(|| default_name(env, &config))
            .filter(|n| n != "crates-io");
        let Some(name) = named else {
            return Ok(Registry {
                index_url: CRATES_IO_INDEX.to_string(),
                name: Some("crates-io".to_string()),
            });
        };
        let index_url = index_in(&name, &config, env.registry_index_var(&name))?;
        Ok(Registry {
            index_url,
            name: Some(name),
        })
    }

    /// The index the helper's own client reads: crates.io's sparse one for crates.io.
    pub fn api_index(&self) -> String {
        match IndexUrl::parse(&self.index_url) {
            Ok(url) => url.api_index().to_string(),
            Err(_) => self.index_url.clone(),
        }
    }
}

/// Whether `name` is a registry name cargo accepts (letters, digits, `-` and `_`): only such
/// a name is printed into a command for a person to paste.
pub fn is_cargo_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// `registry.default`: the `CARGO_REGISTRY_DEFAULT` variable, then the first config file
/// cargo reads that sets it.
fn default_name(env: &Snapshot, config: &CargoConfig) -> Option<String> {
    env.registry_default
        .clone()
        .or_else(|| config.registry_default().map(|d| d.value))
}

/// Finds the index URL for `name`, or says where it looked.
pub fn index_url_for(
    name: &str,
    cwd: &Path,
    cargo_home: Option<&Path>,
    env_index: Option<String>,
) -> Result<String, UnknownRegistry> {
    // Every ancestor, as cargo reads them: this runs for the person's own `cargo confirm-gui`
    // command, in its working directory.
    index_in(
        name,
        &CargoConfig::load(cwd, cargo_home, usize::MAX),
        env_index,
    )
}

/// [`index_url_for`] in config files already read.
fn index_in(
    name: &str,
    config: &CargoConfig,
    env_index: Option<String>,
) -> Result<String, UnknownRegistry> {
    if name == "crates-io" {
        return Ok(CRATES_IO_INDEX.to_string());
    }
    if let Some(url) = env_index {
        return Ok(url);
    }
    config
        .registry_index(name)
        .map(|i| i.value)
        .ok_or_else(|| UnknownRegistry(name.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_names_cargo_accepts_go_into_a_printed_command() {
        assert!(is_cargo_name("my-registry_2"));
        for bad in ["", "corp; sudo sh -c 'x' #", "a b", "$(x)", "a|b"] {
            assert!(!is_cargo_name(bad), "{bad}");
        }
    }

    #[test]
    fn registry_default_is_honoured_below_every_explicit_choice() {
        let d = tempfile::tempdir().unwrap();
        let proj = d.path().join("p");
        std::fs::create_dir_all(proj.join(".cargo")).unwrap();
        std::fs::write(
            proj.join(".cargo/config.toml"),
            "[registry]\ndefault = \"mine\"\n[registries.mine]\nindex = \"sparse+https://mine/\"\n\
             [registries.other]\nindex = \"sparse+https://other/\"\n",
        )
        .unwrap();
        let env = Snapshot::default();
        let r = |index: Option<&str>, registry: Option<&str>, only: Option<&str>| {
            Registry::resolve(
                index.map(String::from),
                registry.map(String::from),
                only.map(String::from),
                &env,
                &proj,
            )
            .unwrap()
        };
        assert_eq!(r(None, None, None).index_url, "sparse+https://mine/");
        assert_eq!(r(None, None, None).name.as_deref(), Some("mine"));
        assert_eq!(
            r(None, None, Some("other")).index_url,
            "sparse+https://other/"
        );
        assert_eq!(
            r(None, Some("other"), None).index_url,
            "sparse+https://other/"
        );
        assert_eq!(r(Some("sparse+https://x/"), Some("other"), None).name, None);
        let io = r(None, Some("crates-io"), None);
        assert_eq!(io.index_url, CRATES_IO_INDEX);
        assert_eq!(io.api_index(), crate::index_url::CRATES_IO_SPARSE);
        // No config: crates.io.
        let bare = d.path().join("bare");
        std::fs::create_dir_all(&bare).unwrap();
        let none = Registry::resolve(None, None, None, &env, &bare).unwrap();
        assert_eq!(none.name.as_deref(), Some("crates-io"));
    }

    #[test]
    fn resolves_from_config_files() {
        let d = tempfile::tempdir().unwrap();
        let proj = d.path().join("p/q");
        std::fs::create_dir_all(proj.join(".cargo")).unwrap();
        std::fs::create_dir_all(d.path().join("home")).unwrap();
        std::fs::write(
            d.path().join("home/config.toml"),
            "[registries.far]\nindex = \"sparse+https://far/\"\n",
        )
        .unwrap();
        std::fs::write(
            proj.join(".cargo/config.toml"),
            "[registries.near]\nindex = \"sparse+https://near/\"\n",
        )
        .unwrap();
        let home = d.path().join("home");
        assert_eq!(
            index_url_for("near", &proj, Some(&home), None).unwrap(),
            "sparse+https://near/"
        );
        assert_eq!(
            index_url_for("far", &proj, Some(&home), None).unwrap(),
            "sparse+https://far/"
        );
        assert_eq!(
            index_url_for("crates-io", &proj, None, None).unwrap(),
            CRATES_IO_INDEX
        );
        assert_eq!(
            index_url_for("x", &proj, None, Some("u".into())).unwrap(),
            "u"
        );
        assert!(
            index_url_for("nope", &proj, Some(&home), None)
                .unwrap_err()
                .to_string()
                .contains("--index-url")
        );
    }
}
