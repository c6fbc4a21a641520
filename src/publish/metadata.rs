//! The publish request's metadata (cargo's `NewCrate`), built from the manifest inside the
//! packaged `.crate`.
//!
//! cargo builds this JSON in `prepare_transmit` (`src/cargo/ops/registry/publish.rs`) from
//! the same normalized manifest that `cargo package` writes into the archive, so the
//! archive's `Cargo.toml` holds everything it needs. [`build`] reads that manifest (and the
//! readme it names) from the bytes in memory, within [`Limits`], and follows cargo's rules
//! field by field:
//!
//! - dependencies in cargo's order: `[dependencies]`, `[dev-dependencies]`,
//!   `[build-dependencies]`, then for each `[target.X]` in name order its normal, build and
//!   dev tables; each table in name order, as cargo's `BTreeMap` holds them;
//! - `version_req` as `semver` prints it (`0.1` becomes `^0.1`), `target` as cargo prints a
//!   platform (`cfg(target_os="linux")` becomes `cfg(target_os = "linux")`);
//! - `registry` only for a dependency from another registry than the one published to, with
//!   crates.io's index URL for a dependency that names no registry;
//! - `registry` and `explicit_name_in_toml` left out when absent; every other optional field
//!   present as `null`;
//! - `readme` is the readme's text, `readme_file` its path.
//!
//! Where cargo would refuse the manifest (an unparseable requirement, a `dep:` feature on a
//! dependency), so does [`build`]. Artifact dependencies (`-Z bindeps`) are refused rather
//! than sent differently from cargo.

use std::collections::BTreeMap;
use std::io::{self, Read};

use serde_json::{Map, Value, json};

use crate::index_url::{CRATES_IO_INDEX, same_registry};
use crate::package::{Bounded, Limits, human_size, validate_name};

/// What one packaged crate will be published as.
#[derive(Debug, Clone, PartialEq)]
pub struct Metadata {
    /// The package name.
    pub name: String,
    /// The version, as cargo prints it.
    pub vers: String,
    /// The JSON part of the publish request, exactly as cargo would send it.
    pub json: Value,
    /// Names (the real package names) of the crate's normal and build dependencies, for
    /// ordering a plan; each name once, in manifest order.
    pub depends_on: Vec<String>,
}

/// Largest readme sent. crates.io refuses a publish body over 10 MB, and the readme is part
/// of it; a larger one in a small `.crate` is a gzip bomb, not documentation.
const MAX_README: u64 = 10 << 20;

/// Why a `.crate` cannot be published as cargo would publish it. `Display` is the message
/// people see (after the crate's name); `source` keeps what the parser or the reader said.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The `.crate` is larger than [`Limits::max_crate_file`].
    #[error("the .crate is larger than {}; it is not read", human_size(*.max))]
    CrateTooLarge {
        /// The limit, in bytes.
        max: u64,
    },
    /// No `Cargo.toml` under the archive's top directory.
    #[error("the .crate has no Cargo.toml at its root; package it again with `cargo package`")]
    NoManifest,
    /// The packaged `Cargo.toml` is not UTF-8.
    #[error("the packaged Cargo.toml is not UTF-8; package it again")]
    ManifestNotUtf8(#[source] std::string::FromUtf8Error),
    /// The packaged `Cargo.toml` does not parse.
    #[error("the packaged Cargo.toml is not valid TOML: {}", .0.message())]
    ManifestToml(#[source] toml::de::Error),
    /// The archive's top directory is not `NAME-VERS`.
    #[error("the .crate's files are under {top}/, not {expected}/; package it again")]
    WrongTop {
        /// The directory the files are under.
        top: String,
        /// `NAME-VERS` from the manifest.
        expected: String,
    },
    /// The readme the manifest names is not in the archive.
    #[error("the readme {file} that Cargo.toml names is not in the .crate; package it again")]
    ReadmeMissing {
        /// `package.readme`.
        file: String,
    },
    /// The readme is not UTF-8.
    #[error("the readme {file} is not UTF-8, which cargo requires")]
    ReadmeNotUtf8 {
        /// `package.readme`.
        file: String,
        /// Where the bytes stopped being UTF-8.
        #[source]
        source: std::string::FromUtf8Error,
    },
    /// `package.readme` has `..` in it.
    #[error("the readme path {path} leaves the package")]
    ReadmeOutside {
        /// `package.readme`.
        path: String,
    },
    /// `package.readme` names a directory, or nothing.
    #[error("the readme path {path:?} names no file")]
    ReadmeNoFile {
        /// `package.readme`.
        path: String,
    },
    /// `package.readme` is a number, a table…
    #[error("package.readme is neither a path nor false")]
    ReadmeKind,
    /// No `[package]` table.
    #[error("the packaged Cargo.toml has no [package]")]
    NoPackage,
    /// `package.name` or `package.version` is absent.
    #[error("package.{key} is missing")]
    Missing {
        /// "name" or "version".
        key: &'static str,
    },
    /// `package.name` or `package.version` cannot be a crate's.
    #[error(transparent)]
    Name(#[from] crate::package::InvalidName),
    /// `package.version` is not a semver version.
    #[error("package.version {vers:?} is not a version: {source}")]
    Version {
        /// The text.
        vers: String,
        /// What semver said.
        #[source]
        source: semver::Error,
    },
    /// A key that must be a string is not.
    #[error("{scope}.{key} is not a string")]
    NotString {
        /// The table (`package`, a dependency's name, `badges.NAME`).
        scope: String,
        /// The key.
        key: String,
    },
    /// A value that must be a list of strings is not.
    #[error("{what} is not a list of strings")]
    NotStrings {
        /// The key, dotted (`package.authors`, `features.std`).
        what: String,
    },
    /// A value that must be a table is not.
    #[error("{what} is not a table")]
    NotTable {
        /// As the manifest names it (`[features]`, `badges.maintenance`).
        what: String,
    },
    /// A dependency is neither `"1.0"` nor `{ ... }`.
    #[error("dependency {key} is neither a version nor a table")]
    DependencyKind {
        /// The dependency's key.
        key: String,
    },
    /// A key that only an unpackaged or unstable manifest has.
    #[error(
        "dependency {key} has `{field}`, which a manifest packaged by stable cargo never has; \
         package it again with stable cargo"
    )]
    DependencyUnsupported {
        /// The dependency's key.
        key: String,
        /// `workspace`, `registry`, `artifact`, `lib` or `target`.
        field: &'static str,
    },
    /// A dependency without a version requirement (a path or git dependency).
    #[error("dependency {key} has no version; cargo cannot publish it either")]
    DependencyNoVersion {
        /// The dependency's key.
        key: String,
    },
    /// A requirement semver does not read.
    #[error("dependency {key}: {version:?} is not a requirement: {source}")]
    Requirement {
        /// The dependency's key.
        key: String,
        /// The requirement's text.
        version: String,
        /// What semver said.
        #[source]
        source: semver::Error,
    },
    /// A `dep:` or `a/b` feature on a dependency.
    #[error("dependency {key} enables feature {feature:?}, which cargo does not allow there")]
    DependencyFeature {
        /// The dependency's key.
        key: String,
        /// The feature.
        feature: String,
    },
    /// `optional` or `default-features` is not a boolean.
    #[error("dependency {key}: `{flag}` is not true or false")]
    DependencyFlag {
        /// The dependency's key.
        key: String,
        /// The flag.
        flag: String,
    },
    /// A `[target.'cfg(...)']` that cargo-platform does not read.
    #[error("target {key:?} is not a cfg expression cargo reads: {source}")]
    Cfg {
        /// The `[target]` key.
        key: String,
        /// What cargo-platform said.
        #[source]
        source: cargo_platform::ParseError,
    },
    /// A `[target.NAME]` that is not a target name.
    #[error("target {key:?} is not a target name cargo reads")]
    TargetName {
        /// The `[target]` key.
        key: String,
        /// What cargo-platform said.
        #[source]
        source: cargo_platform::ParseError,
    },
    /// The archive inflates past [`Limits::max_unpacked`].
    #[error("the .crate unpacks to more than {} (a gzip bomb?)", human_size(*.max))]
    GzipBomb {
        /// The limit, in bytes.
        max: u64,
    },
    /// The archive is not gzip + tar, or is cut short.
    #[error("the .crate cannot be read: {0}")]
    Unreadable(#[source] io::Error),
    /// More entries than [`Limits::max_entries`].
    #[error("the .crate has more than {max} entries")]
    TooManyEntries {
        /// The limit.
        max: usize,
    },
    /// The manifest or the readme is larger than the helper reads.
    #[error("{path} in the .crate is larger than {}", human_size(*.max))]
    FileTooLarge {
        /// Its path under the top directory.
        path: String,
        /// The limit, in bytes.
        max: u64,
    },
}

/// Builds cargo's publish metadata (`NewCrate`) for the `.crate` held in `bytes`, to be
/// published to the registry whose index URL is `target_index` (as cargo writes it, e.g.
/// `sparse+http://127.0.0.1:PORT/index/`, or `CRATES_IO_INDEX`).
///
/// Reads the packaged `Cargo.toml` and the readme it names from the archive in memory, within
/// [`Limits::default`]; nothing is written to disk. A malformed or hostile archive, or a
/// manifest cargo would not have written, is an `Err` that says what is wrong.
pub fn build(bytes: &[u8], target_index: &str) -> Result<Metadata, Error> {
    let limits = Limits::default();
    if bytes.len() as u64 > limits.max_crate_file {
        return Err(Error::CrateTooLarge {
            max: limits.max_crate_file,
        });
    }
    let (top, text) =
        find_file(bytes, &limits, "Cargo.toml", limits.max_manifest)?.ok_or(Error::NoManifest)?;
    let text = String::from_utf8(text).map_err(Error::ManifestNotUtf8)?;
    let doc: toml::Table = toml::from_str(&text).map_err(Error::ManifestToml)?;
    let mut meta = from_manifest(&doc, target_index)?;
    let expected = format!("{}-{}", meta.name, meta.vers);
    if top != expected {
        return Err(Error::WrongTop { top, expected });
    }
    if let Some(file) = meta.json["readme_file"].as_str() {
        let path = archive_path(file)?;
        let (_, raw) = find_file(bytes, &limits, &path, MAX_README)?
            .ok_or_else(|| Error::ReadmeMissing { file: file.into() })?;
        let readme = String::from_utf8(raw).map_err(|source| Error::ReadmeNotUtf8 {
            file: file.into(),
            source,
        })?;
        meta.json["readme"] = Value::String(readme);
    }
    Ok(meta)
}

/// The body of `PUT /api/v1/crates/new`: u32 LE length + JSON, u32 LE length + the `.crate`.
pub(crate) fn body(json: &Value, bytes: &[u8]) -> Vec<u8> {
    let json = json.to_string();
    let mut out = Vec::with_capacity(8 + json.len() + bytes.len());
    out.extend_from_slice(&(json.len() as u32).to_le_bytes());
    out.extend_from_slice(json.as_bytes());
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(bytes);
    out
}

/// The metadata from a parsed packaged manifest; `readme` is left `null` for [`build`] to
/// fill from the archive.
fn from_manifest(doc: &toml::Table, target_index: &str) -> Result<Metadata, Error> {
    let package = doc
        .get("package")
        .and_then(|p| p.as_table())
        .ok_or(Error::NoPackage)?;
    let (name, vers) = name_and_version(package)?;
    let (deps, depends_on) = all_dependencies(doc, target_index)?;
    let features = features(doc)?;
    let readme_file = match package.get("readme") {
        None | Some(toml::Value::Boolean(false)) => None,
        Some(toml::Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(Error::ReadmeKind),
    };
    let badges = badges(doc)?;

    let opt = |key: &str| string(package, key, "package").map(|s| json!(s));
    let json = json!({
        "name": name,
        "vers": vers,
        "deps": deps,
        "features": features,
        "authors": strings(package.get("authors"), "package.authors")?,
        "description": opt("description")?,
        "documentation": opt("documentation")?,
        "homepage": opt("homepage")?,
        "readme": null,
        "readme_file": readme_file,
        "keywords": strings(package.get("keywords"), "package.keywords")?,
        "categories": strings(package.get("categories"), "package.categories")?,
        "license": opt("license")?,
        "license_file": opt("license-file")?,
        "repository": opt("repository")?,
        "badges": badges,
        "links": opt("links")?,
        "rust_version": opt("rust-version")?,
    });
    Ok(Metadata {
        name,
        vers,
        json,
        depends_on,
    })
}

/// `package.name` and `package.version`, the version as `semver` prints it, both checked as
/// the name and version of a file the helper will look for.
fn name_and_version(package: &toml::Table) -> Result<(String, String), Error> {
    let name = string(package, "name", "package")?.ok_or(Error::Missing { key: "name" })?;
    let vers = string(package, "version", "package")?.ok_or(Error::Missing { key: "version" })?;
    let vers = semver::Version::parse(&vers)
        .map_err(|source| Error::Version {
            vers: vers.clone(),
            source,
        })?
        .to_string();
    validate_name(&name, &vers)?;
    Ok((name, vers))
}

/// Every dependency table of the manifest, in cargo's order (see the module docs): the
/// `deps` array, and the names for [`Metadata::depends_on`].
fn all_dependencies(
    doc: &toml::Table,
    target_index: &str,
) -> Result<(Vec<Value>, Vec<String>), Error> {
    let mut deps = Vec::new();
    let mut depends_on = Vec::new();
    let mut add = |table: &toml::Table, kind: Kind, target: Option<&str>| {
        dependencies(
            table,
            kind,
            target,
            target_index,
            &mut deps,
            &mut depends_on,
        )
    };
    add(doc, Kind::Normal, None)?;
    add(doc, Kind::Dev, None)?;
    add(doc, Kind::Build, None)?;
    if let Some(targets) = doc.get("target") {
        let targets = targets.as_table().ok_or_else(|| not_table("[target]"))?;
        let sorted: BTreeMap<&String, &toml::Value> = targets.iter().collect();
        for (key, table) in sorted {
            let table = table
                .as_table()
                .ok_or_else(|| not_table(format!("[target.{key:?}]")))?;
            let platform = platform(key)?;
            add(table, Kind::Normal, Some(&platform))?;
            add(table, Kind::Build, Some(&platform))?;
            add(table, Kind::Dev, Some(&platform))?;
        }
    }
    Ok((deps, depends_on))
}

/// `[features]` as the upload's `features` object.
fn features(doc: &toml::Table) -> Result<Map<String, Value>, Error> {
    let mut features = Map::new();
    if let Some(table) = doc.get("features") {
        let table = table.as_table().ok_or_else(|| not_table("[features]"))?;
        for (feature, values) in table {
            let values = strings(Some(values), &format!("features.{feature}"))?;
            features.insert(feature.clone(), json!(values));
        }
    }
    Ok(features)
}

/// `[badges]` as the upload's `badges` object: tables of strings only.
fn badges(doc: &toml::Table) -> Result<Map<String, Value>, Error> {
    let mut badges = Map::new();
    if let Some(table) = doc.get("badges") {
        let table = table.as_table().ok_or_else(|| not_table("[badges]"))?;
        for (badge, attrs) in table {
            let attrs = attrs
                .as_table()
                .ok_or_else(|| not_table(format!("badges.{badge}")))?;
            let mut out = Map::new();
            for (k, v) in attrs {
                let v = v.as_str().ok_or_else(|| Error::NotString {
                    scope: format!("badges.{badge}"),
                    key: k.clone(),
                })?;
                out.insert(k.clone(), json!(v));
            }
            badges.insert(badge.clone(), Value::Object(out));
        }
    }
    Ok(badges)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Normal,
    Dev,
    Build,
}

impl Kind {
    /// The table's name, and the older spelling cargo still reads.
    fn tables(self) -> [&'static str; 2] {
        match self {
            Kind::Normal => ["dependencies", "dependencies"],
            Kind::Dev => ["dev-dependencies", "dev_dependencies"],
            Kind::Build => ["build-dependencies", "build_dependencies"],
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Kind::Normal => "normal",
            Kind::Dev => "dev",
            Kind::Build => "build",
        }
    }
}

/// Appends one dependency table's entries, as cargo's `dep_to_dependency` and
/// `prepare_transmit` make them.
fn dependencies(
    scope: &toml::Table,
    kind: Kind,
    target: Option<&str>,
    target_index: &str,
    out: &mut Vec<Value>,
    depends_on: &mut Vec<String>,
) -> Result<(), Error> {
    let [name, old] = kind.tables();
    let Some(table) = scope.get(name).or_else(|| scope.get(old)) else {
        return Ok(());
    };
    let table = table
        .as_table()
        .ok_or_else(|| not_table(format!("[{name}]")))?;
    let sorted: BTreeMap<&String, &toml::Value> = table.iter().collect();
    for (key, spec) in sorted {
        let (dep, real) = dependency(key, spec, kind, target, target_index)?;
        out.push(dep);
        if kind != Kind::Dev && !depends_on.contains(&real) {
            depends_on.push(real);
        }
    }
    Ok(())
}

/// The dependency `key = spec` as the upload names it, and the real name of the package it
/// is on.
fn dependency(
    key: &str,
    spec: &toml::Value,
    kind: Kind,
    target: Option<&str>,
    target_index: &str,
) -> Result<(Value, String), Error> {
    let empty = toml::Table::new();
    let (version, detail) = match spec {
        toml::Value::String(v) => (Some(v.clone()), &empty),
        toml::Value::Table(t) => (string(t, "version", key)?, t),
        _ => return Err(Error::DependencyKind { key: key.into() }),
    };
    for unsupported in ["workspace", "registry", "artifact", "lib", "target"] {
        if detail.contains_key(unsupported) {
            return Err(Error::DependencyUnsupported {
                key: key.into(),
                field: unsupported,
            });
        }
    }
    let version = version.ok_or_else(|| Error::DependencyNoVersion { key: key.into() })?;
    let version_req = semver::VersionReq::parse(&version)
        .map_err(|source| Error::Requirement {
            key: key.into(),
            version: version.clone(),
            source,
        })?
        .to_string();
    let features = strings(detail.get("features"), &format!("{key}.features"))?;
    for f in &features {
        if f.contains('/') || f.starts_with("dep:") {
            return Err(Error::DependencyFeature {
                key: key.into(),
                feature: f.clone(),
            });
        }
    }
    let optional = flag(detail, key, "optional", "optional", false)?;
    let default_features = flag(detail, key, "default-features", "default_features", true)?;
    let package = string(detail, "package", key)?;
    let real = package.clone().unwrap_or_else(|| key.to_string());
    let registry = match string(detail, "registry-index", key)? {
        Some(index) if same_registry(&index, target_index) => None,
        Some(index) => Some(index),
        None if same_registry(CRATES_IO_INDEX, target_index) => None,
        None => Some(CRATES_IO_INDEX.to_string()),
    };
    let mut dep = Map::new();
    dep.insert("optional".into(), json!(optional));
    dep.insert("default_features".into(), json!(default_features));
    dep.insert("name".into(), json!(real));
    dep.insert("features".into(), json!(features));
    dep.insert("version_req".into(), json!(version_req));
    dep.insert("target".into(), json!(target));
    dep.insert("kind".into(), json!(kind.as_str()));
    if let Some(r) = registry {
        dep.insert("registry".into(), json!(r));
    }
    if package.is_some() {
        dep.insert("explicit_name_in_toml".into(), json!(key));
    }
    Ok((Value::Object(dep), real))
}

/// The dependency `key`'s boolean `k` (or its older spelling `k2`), `default` when absent.
fn flag(detail: &toml::Table, key: &str, k: &str, k2: &str, default: bool) -> Result<bool, Error> {
    match detail.get(k).or_else(|| detail.get(k2)) {
        None => Ok(default),
        Some(toml::Value::Boolean(b)) => Ok(*b),
        Some(_) => Err(Error::DependencyFlag {
            key: key.into(),
            flag: k.into(),
        }),
    }
}

/// A `[target.KEY]` as cargo prints the platform: cargo-platform's own parser and printer,
/// the ones cargo uses for `NewCrateDependency::target`.
fn platform(key: &str) -> Result<String, Error> {
    let platform: cargo_platform::Platform = key.parse().map_err(|source| {
        let key = key.to_string();
        if key.starts_with("cfg(") && key.ends_with(')') {
            Error::Cfg { key, source }
        } else {
            Error::TargetName { key, source }
        }
    })?;
    Ok(platform.to_string())
}

fn not_table(what: impl Into<String>) -> Error {
    Error::NotTable { what: what.into() }
}

/// `table[key]` as a string, absent as `None`, anything else an error naming `scope.key`.
fn string(table: &toml::Table, key: &str, scope: &str) -> Result<Option<String>, Error> {
    match table.get(key) {
        None => Ok(None),
        Some(toml::Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(Error::NotString {
            scope: scope.into(),
            key: key.into(),
        }),
    }
}

/// An array of strings, absent as empty.
fn strings(value: Option<&toml::Value>, what: &str) -> Result<Vec<String>, Error> {
    let Some(value) = value else {
        return Ok(Vec::new());
    };
    let err = || Error::NotStrings { what: what.into() };
    value
        .as_array()
        .ok_or_else(err)?
        .iter()
        .map(|v| v.as_str().map(str::to_string).ok_or_else(err))
        .collect()
}

/// A manifest path (`readme`) as the archive names the file: `/`-separated, no `.`.
fn archive_path(path: &str) -> Result<String, Error> {
    let mut parts = Vec::new();
    for part in path.split(['/', '\\']) {
        match part {
            "" | "." => {}
            ".." => return Err(Error::ReadmeOutside { path: path.into() }),
            p => parts.push(p),
        }
    }
    if parts.is_empty() {
        return Err(Error::ReadmeNoFile { path: path.into() });
    }
    Ok(parts.join("/"))
}

/// The first regular file at `path` under the archive's top directory, at most `max` bytes:
/// `(top directory, contents)`, or `None` when there is no such file.
fn find_file(
    bytes: &[u8],
    limits: &Limits,
    path: &str,
    max: u64,
) -> Result<Option<(String, Vec<u8>)>, Error> {
    let mut gz = Bounded::new(flate2::read::GzDecoder::new(bytes), limits.max_unpacked);
    let found = find_in(&mut gz, limits, path, max);
    match found {
        Err(_) if gz.hit() => Err(Error::GzipBomb {
            max: limits.max_unpacked,
        }),
        Err(e) => Err(Error::Unreadable(e)),
        Ok(found) => found,
    }
}

/// The walk itself: I/O errors out, the verdict (found, absent, too large) in.
#[allow(clippy::type_complexity)]
fn find_in(
    reader: &mut impl Read,
    limits: &Limits,
    path: &str,
    max: u64,
) -> io::Result<Result<Option<(String, Vec<u8>)>, Error>> {
    let mut archive = tar::Archive::new(reader);
    let mut top: Option<String> = None;
    for (n, entry) in archive.entries()?.enumerate() {
        if n >= limits.max_entries {
            return Ok(Err(Error::TooManyEntries {
                max: limits.max_entries,
            }));
        }
        let mut entry = entry?;
        let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let first = raw.split('/').next().unwrap_or("").to_string();
        let top = top.get_or_insert(first);
        let Some(rel) = raw
            .strip_prefix(top.as_str())
            .and_then(|r| r.strip_prefix('/'))
        else {
            continue;
        };
        if rel != path || !entry.header().entry_type().is_file() {
            continue;
        }
        if entry.size() > max {
            return Ok(Err(Error::FileTooLarge {
                path: path.into(),
                max,
            }));
        }
        let mut data = Vec::new();
        entry.by_ref().take(max + 1).read_to_end(&mut data)?;
        if data.len() as u64 > max {
            return Ok(Err(Error::FileTooLarge {
                path: path.into(),
                max,
            }));
        }
        return Ok(Ok(Some((top.clone(), data))));
    }
    Ok(Ok(None))
}

/// The dependencies of an upload's metadata, one line each, for the window: `name req`, then
/// what sets it apart (`build`, `dev`, a target, another registry, the name it is known by).
pub(crate) fn dependency_lines(json: &serde_json::Value) -> Vec<String> {
    let Some(deps) = json["deps"].as_array() else {
        return Vec::new();
    };
    deps.iter()
        .map(|d| {
            let mut line = format!(
                "{} {}",
                d["name"].as_str().unwrap_or("?"),
                d["version_req"].as_str().unwrap_or("?")
            );
            let mut notes = Vec::new();
            match d["kind"].as_str() {
                Some("normal") | None => {}
                Some(k) => notes.push(k.to_string()),
            }
            if let Some(t) = d["target"].as_str() {
                notes.push(t.to_string());
            }
            if d["optional"].as_bool() == Some(true) {
                notes.push("optional".into());
            }
            if let Some(r) = d["registry"].as_str() {
                notes.push(format!("from {r}"));
            }
            if let Some(n) = d["explicit_name_in_toml"].as_str() {
                notes.push(format!("used as {n}"));
            }
            if !notes.is_empty() {
                line.push_str(&format!(" ({})", notes.join(", ")));
            }
            line
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const INDEX: &str = "sparse+http://127.0.0.1:1/index/";

    /// A `.crate` in memory: `files` under `top/`, gzip-compressed.
    fn archive(top: &str, files: &[(&str, &[u8])]) -> Vec<u8> {
        let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let mut tar = tar::Builder::new(gz);
        for (path, data) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            header.set_entry_type(tar::EntryType::Regular);
            tar.append_data(&mut header, format!("{top}/{path}"), *data)
                .unwrap();
        }
        tar.into_inner().unwrap().finish().unwrap()
    }

    const MANIFEST: &str = r#"
[package]
name = "demo"
version = "1.0.0"
readme = "docs/README.md"

[dependencies]
zed = "1"
alpha = { version = "0.2.3", features = ["a"], optional = true, default-features = false }
renamed = { package = "real", version = "1", registry-index = "sparse+http://127.0.0.1:1/index" }

[target."cfg(any(unix,target_os=\"wasi\"))".build-dependencies]
cc = "1.0"
"#;

    fn demo() -> Vec<u8> {
        archive(
            "demo-1.0.0",
            &[
                ("Cargo.toml", MANIFEST.as_bytes()),
                ("docs/README.md", "hello\n".as_bytes()),
            ],
        )
    }

    #[test]
    fn body_is_two_length_prefixed_parts() {
        let json = json!({"name": "demo", "vers": "1.0.0"});
        let text = json.to_string();
        let b = body(&json, b"CRATE");
        let n = text.len();
        assert_eq!(b[..4], (n as u32).to_le_bytes());
        assert_eq!(&b[4..4 + n], text.as_bytes());
        assert_eq!(b[4 + n..8 + n], 5u32.to_le_bytes());
        assert_eq!(&b[8 + n..], b"CRATE");
        assert_eq!(b.len(), 8 + n + 5);
    }

    #[test]
    fn builds_deps_in_cargos_order_and_shape() {
        let m = build(&demo(), INDEX).unwrap();
        assert_eq!((m.name.as_str(), m.vers.as_str()), ("demo", "1.0.0"));
        assert_eq!(
            m.json["deps"],
            json!([
                {"optional": true, "default_features": false, "name": "alpha", "features": ["a"],
                 "version_req": "^0.2.3", "target": null, "kind": "normal",
                 "registry": CRATES_IO_INDEX},
                {"optional": false, "default_features": true, "name": "real", "features": [],
                 "version_req": "^1", "target": null, "kind": "normal",
                 "explicit_name_in_toml": "renamed"},
                {"optional": false, "default_features": true, "name": "zed", "features": [],
                 "version_req": "^1", "target": null, "kind": "normal",
                 "registry": CRATES_IO_INDEX},
                {"optional": false, "default_features": true, "name": "cc", "features": [],
                 "version_req": "^1.0", "kind": "build",
                 "target": "cfg(any(unix, target_os = \"wasi\"))", "registry": CRATES_IO_INDEX},
            ])
        );
        assert_eq!(m.depends_on, ["alpha", "real", "zed", "cc"]);
        assert_eq!(m.json["readme"], "hello\n");
        assert_eq!(m.json["readme_file"], "docs/README.md");
        assert_eq!(m.json["features"], json!({}));
        assert_eq!(m.json["badges"], json!({}));
        assert_eq!(m.json["authors"], json!([]));
        for key in [
            "description",
            "license",
            "license_file",
            "links",
            "rust_version",
        ] {
            assert_eq!(m.json.get(key), Some(&Value::Null), "{key}");
        }
    }

    #[test]
    fn crates_io_dependencies_name_no_registry_when_publishing_to_crates_io() {
        for index in [CRATES_IO_INDEX, crate::index_url::CRATES_IO_SPARSE] {
            let m = build(&demo(), index).unwrap();
            assert!(m.json["deps"][2].get("registry").is_none(), "{index}");
            assert_eq!(
                m.json["deps"][1]["registry"], "sparse+http://127.0.0.1:1/index",
                "{index}"
            );
        }
    }

    #[test]
    fn platforms_print_as_cargo_prints_them() {
        for (key, printed) in [
            ("cfg(unix)", "cfg(unix)"),
            ("cfg(target_os=\"linux\")", "cfg(target_os = \"linux\")"),
            (
                "cfg( all( unix , not(windows) ,) )",
                "cfg(all(unix, not(windows)))",
            ),
            ("cfg(any())", "cfg(any())"),
            ("cfg(r#true)", "cfg(true)"),
            ("cfg(r#async)", "cfg(r#async)"),
            (
                "cfg(not(any(target_os=\"linux\",false)))",
                "cfg(not(any(target_os = \"linux\", false)))",
            ),
            ("x86_64-unknown-linux-gnu", "x86_64-unknown-linux-gnu"),
        ] {
            assert_eq!(platform(key).unwrap(), printed, "{key}");
        }
        for bad in [
            "cfg(unix",
            "cfg()",
            "cfg(a = b)",
            "cfg(a \"b\")",
            "cfg(\"x)",
            "cfg(\tunix)",
            "cfg(not(unix, windows))",
            "not a target",
        ] {
            assert!(platform(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn registries_compare_as_cargo_compares_them() {
        assert!(same_registry(
            "sparse+http://h/index/",
            "sparse+http://h/index"
        ));
        assert!(!same_registry("sparse+http://h/index/", "http://h/index/"));
        assert!(same_registry(
            "https://github.com/Rust-Lang/crates.io-index.git",
            CRATES_IO_INDEX
        ));
        assert!(same_registry(
            crate::index_url::CRATES_IO_SPARSE,
            CRATES_IO_INDEX
        ));
    }

    #[test]
    fn hostile_archives_are_errors() {
        let big = format!(
            "[package]\nname = \"demo\"\nversion = \"1.0.0\"\n#{}\n",
            "x".repeat(1 << 20)
        );
        let cases: Vec<(&str, Vec<u8>, &str)> = vec![
            ("no manifest", archive("demo-1.0.0", &[("src/lib.rs", b"")]), "no Cargo.toml"),
            ("huge manifest", archive("demo-1.0.0", &[("Cargo.toml", big.as_bytes())]), "larger than"),
            ("invalid TOML", archive("demo-1.0.0", &[("Cargo.toml", b"[package\nname=")]), "not valid TOML"),
            ("not UTF-8", archive("demo-1.0.0", &[("Cargo.toml", b"\xff\xfe")]), "not UTF-8"),
            ("no package", archive("demo-1.0.0", &[("Cargo.toml", b"[lib]\n")]), "no [package]"),
            (
                "wrong directory",
                archive("evil-1.0.0", &[("Cargo.toml", MANIFEST.as_bytes()), ("docs/README.md", b"")]),
                "not demo-1.0.0/",
            ),
            ("readme missing", archive("demo-1.0.0", &[("Cargo.toml", MANIFEST.as_bytes())]), "not in the .crate"),
            (
                "readme outside",
                archive("demo-1.0.0", &[("Cargo.toml", MANIFEST.replace("docs/README.md", "../x").as_bytes())]),
                "leaves the package",
            ),
            (
                "unnormalized",
                archive("demo-1.0.0", &[("Cargo.toml", b"[package]\nname = \"demo\"\nversion.workspace = true\n")]),
                "not a string",
            ),
            (
                "bad requirement",
                archive("demo-1.0.0", &[("Cargo.toml", b"[package]\nname = \"demo\"\nversion = \"1.0.0\"\n[dependencies]\na = \"one\"\n")]),
                "not a requirement",
            ),
            ("not gzip", b"PK\x03\x04 a zip".to_vec(), "cannot be read"),
            ("empty", Vec::new(), "cannot be read"),
        ];
        for (what, bytes, says) in cases {
            let err = build(&bytes, INDEX).expect_err(what);
            assert!(err.to_string().contains(says), "{what}: {err}");
        }
    }

    #[test]
    fn unpacking_stops_at_the_limit() {
        let zeros = vec![0u8; 64 << 10];
        let bytes = archive(
            "demo-1.0.0",
            &[("big", &zeros), ("Cargo.toml", MANIFEST.as_bytes())],
        );
        let limits = Limits {
            max_unpacked: 16 << 10,
            ..Limits::default()
        };
        let err = find_file(&bytes, &limits, "Cargo.toml", 1 << 20).unwrap_err();
        assert!(err.to_string().contains("gzip bomb"), "{err}");
        let limits = Limits {
            max_entries: 1,
            ..Limits::default()
        };
        let err = find_file(&bytes, &limits, "Cargo.toml", 1 << 20).unwrap_err();
        assert!(err.to_string().contains("entries"), "{err}");
    }

    #[test]
    fn truncated_or_corrupted_archives_never_panic() {
        let good = demo();
        for n in 0..good.len() {
            let _ = build(&good[..n], INDEX);
        }
        for i in 0..good.len() {
            let mut bad = good.clone();
            bad[i] ^= 0x55;
            let _ = build(&bad, INDEX);
        }
    }
}
