//! What cargo's config files and the environment say about which provider cargo runs.

use std::path::{Path, PathBuf};

use crate::adopt::{self, PROVIDER};

/// A problem line of the checklist and its fix.
type Problem = (String, String);

/// Whether `config` lists this helper in `[registry] global-credential-providers`.
pub(super) fn has_provider(config: &Path) -> bool {
    std::fs::read_to_string(config)
        .ok()
        .and_then(|t| t.parse::<toml_edit::DocumentMut>().ok())
        .is_some_and(|d| adopt::has_provider(&d))
}

/// What would make cargo run another provider than this one although the config names it:
/// a config file hidden by another, an entry after ours (tried first), a provider list in
/// another config file (cargo appends it after ours), crates.io's own provider setting, a
/// `[credential-alias]` named like ours, or the environment's equivalents.
pub(super) fn provider_overrides(cwd: &Path, cargo_home: &Path) -> Vec<Problem> {
    let home_config = adopt::cargo_config_in(cargo_home);
    let mut out = hidden_configs(cwd, cargo_home);
    for f in adopt::config_files(cwd, cargo_home) {
        let Ok(Ok(doc)) = std::fs::read_to_string(&f).map(|t| t.parse::<toml::Table>()) else {
            continue;
        };
        out.extend(global_list(&f, &doc, &home_config));
        out.extend(crates_io_provider(&f, &doc));
        out.extend(alias(&f, &doc));
        out.extend(command_alias(&f, &doc));
        out.extend(old_key(&f, &doc));
    }
    out.extend(environment_overrides());
    out
}

/// Red team of "Adopt it in one step": an empty `config` made beside `config.toml` hides it
/// from cargo, provider and all. One problem per `.cargo` directory (up from `cwd`, then
/// cargo's home) that holds both.
fn hidden_configs(cwd: &Path, cargo_home: &Path) -> Vec<Problem> {
    let mut out = Vec::new();
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
    out
}

/// `[registry] global-credential-providers` in file `f`: in cargo's home config, an entry
/// after ours (cargo tries it first); in any other file, a list naming another provider
/// (cargo adds it after ours, and tries it first).
fn global_list(f: &Path, doc: &toml::Table, home_config: &Path) -> Option<Problem> {
    let list = doc
        .get("registry")
        .and_then(|r| r.get("global-credential-providers"))
        .and_then(|l| l.as_array())?;
    let entries: Vec<&str> = list.iter().filter_map(|v| v.as_str()).collect();
    let ours = |e: &&str| e.split_whitespace().next() == Some(PROVIDER);
    if f == home_config {
        let pos = entries.iter().position(ours)?;
        (pos + 1 < entries.len()).then(|| {
            (
                format!(
                    "{} lists {} after {PROVIDER}: cargo tries it first",
                    f.display(),
                    shown(&entries[pos + 1..].join(", "))
                ),
                format!("move {PROVIDER} to the end of that list"),
            )
        })
    } else if entries.iter().any(|e| !ours(e)) {
        Some((
            format!(
                "{} lists credential providers ({}): cargo adds them after yours, and tries them first",
                f.display(),
                shown(&entries.join(", "))
            ),
            "remove global-credential-providers from that file".into(),
        ))
    } else {
        None
    }
}

/// `[registry] credential-provider` naming another provider: crates.io's own provider
/// setting beats the global list for crates.io.
fn crates_io_provider(f: &Path, doc: &toml::Table) -> Option<Problem> {
    let p = doc
        .get("registry")
        .and_then(|r| r.get("credential-provider"))?;
    let first = match p {
        toml::Value::String(s) => s.split_whitespace().next().unwrap_or(""),
        toml::Value::Array(a) => a.first().and_then(|v| v.as_str()).unwrap_or(""),
        _ => "",
    };
    (first != PROVIDER).then(|| {
        (
            format!(
                "{} sets [registry] credential-provider = {}: cargo uses it for crates.io \
                 instead of the global list",
                f.display(),
                shown(&toml_value(p))
            ),
            "remove that credential-provider line".into(),
        )
    })
}

/// A `[credential-alias]` entry named like this helper: cargo runs its target instead.
fn alias(f: &Path, doc: &toml::Table) -> Option<Problem> {
    let target = doc
        .get("credential-alias")
        .and_then(|a| a.as_table())?
        .get(PROVIDER)?;
    Some((
        format!(
            "{} makes `{PROVIDER}` an alias for {}: cargo runs that instead",
            f.display(),
            shown(&toml_value(target))
        ),
        "remove that [credential-alias] entry".into(),
    ))
}

/// `credential-process = ["cargo-confirm-gui", …]`, the key of the credential RFC's unstable
/// days that posts (and this project's own design card) still show: cargo 1.74 and later ignore
/// it ("unused config key") and fall back to a plain-text token.
fn old_key(f: &Path, doc: &toml::Table) -> Vec<Problem> {
    let mut tables: Vec<(String, &toml::Value)> = Vec::new();
    if let Some(r) = doc.get("registry") {
        tables.push(("[registry]".into(), r));
    }
    if let Some(regs) = doc.get("registries").and_then(|r| r.as_table()) {
        tables.extend(regs.iter().map(|(n, r)| (format!("[registries.{n}]"), r)));
    }
    tables
        .into_iter()
        .filter_map(|(name, t)| {
            let v = t.get("credential-process")?;
            let words = toml_value(v);
            words.contains(PROVIDER).then(|| {
                (
                    format!(
                        "{} {name} has credential-process = {}: cargo ignores that key and \
                         falls back to a plain-text token",
                        f.display(),
                        shown(&words)
                    ),
                    "run `cargo confirm-gui setup`: it rewrites it to credential-provider, \
                     keeping the arguments"
                        .into(),
                )
            })
        })
        .collect()
}

/// The cargo subcommand this helper answers to (`cargo confirm-gui …`).
const SUBCOMMAND: &str = "confirm-gui";

/// A cargo command alias named `confirm-gui` (`[alias]`): cargo runs it instead of this
/// helper for `cargo confirm-gui …`. Red team of "Fail closed whatever the caller sets": such
/// an alias ran a plain `cargo publish` with code injected into cargo, so the person's
/// "publish through the helper" handed the token to cargo; cargo's own warning about an
/// alias that shadows a subcommand is easy to miss.
fn command_alias(f: &Path, doc: &toml::Table) -> Option<Problem> {
    let target = doc
        .get("alias")
        .and_then(|a| a.as_table())?
        .get(SUBCOMMAND)?;
    Some((
        format!(
            "{} defines the cargo alias `{SUBCOMMAND}` = {}: `cargo {SUBCOMMAND}` runs that, not \
             this helper",
            f.display(),
            shown(&toml_value(target))
        ),
        format!("remove `{SUBCOMMAND}` from that file's [alias] table"),
    ))
}

/// The environment variables that override cargo's provider settings, one problem each.
fn environment_overrides() -> Vec<Problem> {
    let mut out = Vec::new();
    for (k, _) in std::env::vars() {
        let provider_var = k == "CARGO_REGISTRY_GLOBAL_CREDENTIAL_PROVIDERS"
            || k == "CARGO_REGISTRY_CREDENTIAL_PROVIDER"
            || k.starts_with("CARGO_CREDENTIAL_ALIAS_")
            || (k.starts_with("CARGO_REGISTRIES_") && k.ends_with("_CREDENTIAL_PROVIDER"))
            // `cargo confirm-gui` itself, made an alias (see `command_alias`).
            || k == "CARGO_ALIAS_CONFIRM_GUI"
            || k == "CARGO_ALIAS_CONFIRM-GUI";
        if provider_var {
            out.push((
                format!("this shell's environment sets {k}, which overrides cargo's config"),
                "unset it, and remove where it is exported".into(),
            ));
        }
    }
    out
}

/// Text from a config file as it may be shown: every character that would not show as
/// itself escaped.
fn shown(s: &str) -> String {
    crate::text::escape(s).text
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

/// `[registries.NAME] credential-provider` entries that name another provider: the file,
/// the registry's name and the provider as written.
pub(super) fn other_providers(cwd: &Path, cargo_home: &Path) -> Vec<(PathBuf, String, String)> {
    let mut out = Vec::new();
    for f in adopt::config_files(cwd, cargo_home) {
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
            let (first, shown) = provider_words(p);
            // Ours by name only, or by the path of this very binary: a copy of some file
            // named cargo-confirm-gui elsewhere is not this helper.
            let ours = first == PROVIDER
                || std::fs::canonicalize(&first).ok() == std::fs::read_link("/proc/self/exe").ok();
            if !ours {
                out.push((f.clone(), name.clone(), shown));
            }
        }
    }
    out
}

/// A `credential-provider` value's program (its first word) and the whole of it, words
/// joined by spaces.
fn provider_words(p: &toml::Value) -> (String, String) {
    match p {
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
    }
}
