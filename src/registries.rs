//! Resolving a registry name (`--registry NAME`) to its index URL, as cargo would:
//! `CARGO_REGISTRIES_<NAME>_INDEX`, then `.cargo/config.toml` from the working directory up,
//! then `$CARGO_HOME/config.toml`.

use std::path::Path;

use crate::package::cargo_config_files;
use crate::store::CRATES_IO_INDEX;

/// Finds the index URL for `name`, or says where it looked.
pub fn index_url_for(
    name: &str,
    cwd: &Path,
    cargo_home: Option<&Path>,
    env_index: Option<String>,
) -> Result<String, String> {
    if name == "crates-io" {
        return Ok(CRATES_IO_INDEX.to_string());
    }
    if let Some(url) = env_index {
        return Ok(url);
    }
    // Every ancestor, as cargo reads them: this runs for the person's own `cargo confirm-gui`
    // command, in its working directory.
    for (f, _) in &cargo_config_files(cwd, cargo_home, usize::MAX) {
        let Ok(text) = std::fs::read_to_string(f) else {
            continue;
        };
        let Ok(doc) = text.parse::<toml::Table>() else {
            continue;
        };
        let url = doc
            .get("registries")
            .and_then(|r| r.get(name))
            .and_then(|r| r.get("index"))
            .and_then(|i| i.as_str());
        if let Some(url) = url {
            return Ok(url.to_string());
        }
    }
    Err(format!(
        "no registry named `{name}` in cargo's config ([registries.{name}] index = \"…\" in .cargo/config.toml or $CARGO_HOME/config.toml); pass --index-url instead"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

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
                .contains("--index-url")
        );
    }
}
