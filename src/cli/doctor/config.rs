//! What cargo's config files and the environment say about which provider cargo runs.

use std::path::{Path, PathBuf};

/// What would make cargo run another provider than this one although the config names it:
/// an entry after ours (tried first), a provider list in another config file (cargo appends
/// it after ours), a `[credential-alias]` named like ours, or the environment's equivalents.
pub(super) fn provider_overrides(cwd: &Path, cargo_home: &Path) -> Vec<(String, String)> {
    use crate::adopt::PROVIDER;
    let shown = |s: &str| crate::text::escape(s).text;
    let mut out = Vec::new();
    let home_config = crate::adopt::cargo_config_in(cargo_home);
    // Red team of "Adopt it in one step": an empty `config` made beside `config.toml` hides
    // it from cargo, provider and all.
    for dir in cwd
        .ancestors()
        .map(|d| d.join(".cargo"))
        .chain([cargo_home.to_path_buf()])
    {
        let (bare, with) = (dir.join("config"), dir.join("config.toml"));
        if std::fs::symlink_metadata(&bare).is_ok() && std::fs::symlink_metadata(&with).is_ok() {
            out.push((
                format!(
                    "both {} and {} exist: cargo reads only the first, and ignores the second",
                    bare.display(),
                    with.display()
                ),
                format!(
                    "keep one: merge what {} should hold into {}, and remove it",
                    bare.display(),
                    with.display()
                ),
            ));
        }
    }
    for f in crate::adopt::config_files(cwd, cargo_home) {
        let Ok(Ok(doc)) = std::fs::read_to_string(&f).map(|t| t.parse::<toml::Table>()) else {
            continue;
        };
        if let Some(list) = doc
            .get("registry")
            .and_then(|r| r.get("global-credential-providers"))
            .and_then(|l| l.as_array())
        {
            let entries: Vec<&str> = list.iter().filter_map(|v| v.as_str()).collect();
            let ours = |e: &&str| e.split_whitespace().next() == Some(PROVIDER);
            if f == home_config {
                if let Some(pos) = entries.iter().position(ours)
                    && pos + 1 < entries.len()
                {
                    out.push((
                        format!(
                            "{} lists {} after {PROVIDER}: cargo tries it first",
                            f.display(),
                            shown(&entries[pos + 1..].join(", "))
                        ),
                        format!("move {PROVIDER} to the end of that list"),
                    ));
                }
            } else if entries.iter().any(|e| !ours(e)) {
                out.push((
                    format!(
                        "{} lists credential providers ({}): cargo adds them after yours, and tries them first",
                        f.display(),
                        shown(&entries.join(", "))
                    ),
                    "remove global-credential-providers from that file".into(),
                ));
            }
        }
        // crates.io's own provider setting beats the global list for crates.io.
        if let Some(p) = doc
            .get("registry")
            .and_then(|r| r.get("credential-provider"))
        {
            let first = match p {
                toml::Value::String(s) => s.split_whitespace().next().unwrap_or(""),
                toml::Value::Array(a) => a.first().and_then(|v| v.as_str()).unwrap_or(""),
                _ => "",
            };
            if first != PROVIDER {
                out.push((
                    format!(
                        "{} sets [registry] credential-provider = {}: cargo uses it for crates.io \
                         instead of the global list",
                        f.display(),
                        shown(&toml_value(p))
                    ),
                    "remove that credential-provider line".into(),
                ));
            }
        }
        if let Some(aliases) = doc.get("credential-alias").and_then(|a| a.as_table())
            && let Some(target) = aliases.get(PROVIDER)
        {
            out.push((
                format!(
                    "{} makes `{PROVIDER}` an alias for {}: cargo runs that instead",
                    f.display(),
                    shown(&toml_value(target))
                ),
                "remove that [credential-alias] entry".into(),
            ));
        }
    }
    for (k, _) in std::env::vars() {
        let provider_var = k == "CARGO_REGISTRY_GLOBAL_CREDENTIAL_PROVIDERS"
            || k == "CARGO_REGISTRY_CREDENTIAL_PROVIDER"
            || k.starts_with("CARGO_CREDENTIAL_ALIAS_")
            || (k.starts_with("CARGO_REGISTRIES_") && k.ends_with("_CREDENTIAL_PROVIDER"));
        if provider_var {
            out.push((
                format!("this shell's environment sets {k}, which overrides cargo's config"),
                "unset it, and remove where it is exported".into(),
            ));
        }
    }
    out
}

/// A provider setting as written in the file: `"a b"`, or `["a", "b"]`.
fn toml_value(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => format!("{s:?}"),
        toml::Value::Array(a) => format!(
            "[{}]",
            a.iter().map(toml_value).collect::<Vec<_>>().join(", ")
        ),
        other => format!("{other:?}"),
    }
}

pub(super) fn has_provider(config: &Path) -> bool {
    std::fs::read_to_string(config)
        .ok()
        .and_then(|t| t.parse::<toml_edit::DocumentMut>().ok())
        .is_some_and(|d| crate::adopt::has_provider(&d))
}

/// `[registries.NAME] credential-provider` entries that name another provider.
pub(super) fn other_providers(cwd: &Path, cargo_home: &Path) -> Vec<(PathBuf, String, String)> {
    let mut out = Vec::new();
    for f in crate::adopt::config_files(cwd, cargo_home) {
        let Ok(doc) = std::fs::read_to_string(&f).map(|t| t.parse::<toml::Table>()) else {
            continue;
        };
        let Ok(doc) = doc else { continue };
        let Some(regs) = doc.get("registries").and_then(|r| r.as_table()) else {
            continue;
        };
        for (name, r) in regs {
            let Some(p) = r.get("credential-provider") else {
                continue;
            };
            let (first, shown) = match p {
                toml::Value::String(s) => (
                    s.split_whitespace().next().unwrap_or("").to_string(),
                    s.clone(),
                ),
                toml::Value::Array(a) => (
                    a.first().and_then(|v| v.as_str()).unwrap_or("").to_string(),
                    a.iter()
                        .filter_map(|v| v.as_str())
                        .collect::<Vec<_>>()
                        .join(" "),
                ),
                _ => (String::new(), String::new()),
            };
            // Ours by name only, or by the path of this very binary: a copy of some file
            // named cargo-confirm-gui elsewhere is not this helper.
            let ours = first == crate::adopt::PROVIDER
                || std::fs::canonicalize(&first).ok() == std::fs::read_link("/proc/self/exe").ok();
            if !ours {
                out.push((f.clone(), name.clone(), shown));
            }
        }
    }
    out
}
