//! What the packaged `Cargo.toml` says that a reviewer must see: build script, links,
//! proc-macro and every dependency with its requirement.

use std::collections::BTreeMap;

/// What the packaged `Cargo.toml` says that a reviewer must see.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Manifest {
    /// `[lib] proc-macro = true`.
    pub proc_macro: bool,
    /// `package.build`: `Some(path)` for a build script, `None` for the default (`build.rs`
    /// when present), and `Some("")` for `build = false`.
    pub build: Option<String>,
    /// `package.links`.
    pub links: Option<String>,
    /// Dependencies: "kind name" → requirement, e.g. `build cc` → `1.0`.
    pub deps: BTreeMap<String, String>,
}

/// Why the packaged `Cargo.toml` cannot be read: the listing says "the packaged Cargo.toml
/// cannot be read: " and this.
#[derive(Debug, thiserror::Error)]
pub(super) enum ManifestError {
    /// Not UTF-8.
    #[error(transparent)]
    Utf8(#[from] std::str::Utf8Error),
    /// Not TOML; the message without the parser's excerpt of the text.
    #[error("{}", .0.message())]
    Toml(#[source] toml::de::Error),
}

pub(super) fn parse_manifest(text: &[u8]) -> Result<Manifest, ManifestError> {
    let text = std::str::from_utf8(text)?;
    let doc: toml::Table = toml::from_str(text).map_err(ManifestError::Toml)?;
    let package = doc.get("package").and_then(|p| p.as_table());
    let build = package.and_then(|p| p.get("build")).and_then(|b| match b {
        toml::Value::String(s) => Some(s.clone()),
        toml::Value::Boolean(false) => Some(String::new()),
        _ => None,
    });
    let links = package
        .and_then(|p| p.get("links"))
        .and_then(|l| l.as_str())
        .map(str::to_string);
    let lib = doc.get("lib").and_then(|l| l.as_table());
    // `proc-macro = true`, or `crate-type = ["proc-macro"]`, which cargo compiles the same.
    let proc_macro = lib
        .and_then(|l| l.get("proc-macro").or_else(|| l.get("proc_macro")))
        .and_then(|v| v.as_bool())
        .unwrap_or(false)
        || lib
            .and_then(|l| l.get("crate-type").or_else(|| l.get("crate_type")))
            .and_then(|v| v.as_array())
            .is_some_and(|a| {
                a.iter()
                    .any(|t| matches!(t.as_str(), Some("proc-macro" | "proc_macro")))
            });
    let mut deps = BTreeMap::new();
    collect_deps(&doc, "", &mut deps);
    if let Some(targets) = doc.get("target").and_then(|t| t.as_table()) {
        for (cfg, t) in targets {
            if let Some(t) = t.as_table() {
                collect_deps(t, &format!("[{cfg}] "), &mut deps);
            }
        }
    }
    Ok(Manifest {
        proc_macro,
        build,
        links,
        deps,
    })
}

fn collect_deps(table: &toml::Table, scope: &str, out: &mut BTreeMap<String, String>) {
    for (section, kind) in [
        ("dependencies", ""),
        ("dev-dependencies", "dev "),
        ("dev_dependencies", "dev "),
        ("build-dependencies", "build "),
        ("build_dependencies", "build "),
    ] {
        let Some(deps) = table.get(section).and_then(|d| d.as_table()) else {
            continue;
        };
        for (name, spec) in deps {
            let mut what = match spec {
                toml::Value::String(v) => v.clone(),
                toml::Value::Table(t) => {
                    let mut w = t
                        .get("version")
                        .and_then(|v| v.as_str())
                        .unwrap_or("*")
                        .to_string();
                    if let Some(git) = t.get("git").and_then(|v| v.as_str()) {
                        w = format!("git {git}");
                    }
                    for key in ["registry", "registry-index"] {
                        if let Some(r) = t.get(key).and_then(|v| v.as_str()) {
                            w.push_str(&format!(" from {r}"));
                        }
                    }
                    // A rename hides which crate is really pulled in: show it.
                    if let Some(p) = t.get("package").and_then(|v| v.as_str())
                        && p != name
                    {
                        w = format!("(really the crate {p}) {w}");
                    }
                    w
                }
                _ => "?".to_string(),
            };
            if what.is_empty() {
                what = "*".into();
            }
            out.insert(format!("{scope}{kind}{name}"), what);
        }
    }
}
