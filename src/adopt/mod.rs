//! `cargo confirm-gui setup` and `doctor`: find registry tokens kept in clear text (the first
//! thing a worm reads), add the provider to cargo's config, and say what is left.
//!
//! Where tokens are looked for:
//! - `$CARGO_HOME/credentials.toml` and `credentials` (what `cargo login` writes);
//! - a `token` key in cargo's config files (`$CARGO_HOME/config.toml`, `config`, and
//!   `.cargo/config.toml` / `.cargo/config` from the working directory up);
//! - `CARGO_REGISTRY_TOKEN` / `CARGO_REGISTRIES_<NAME>_TOKEN` exported in the shell start-up
//!   files of the home directory.
//!
//! Files are edited in place with `toml_edit` (comments and layout stay) and replaced
//! atomically with the same permissions; no backup is kept, since a backup would be another
//! clear copy.

mod error;
pub(crate) use error::AdoptError;

use std::path::{Path, PathBuf};

use crate::token::Token;

/// The provider entry `setup` adds.
pub(crate) const PROVIDER: &str = "cargo-confirm-gui";

/// Where a clear-text token was found, and so how to remove it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    /// `[registry] token` (crates.io) or `[registries.NAME] token` in a TOML file.
    Toml {
        /// The file.
        file: PathBuf,
        /// `None` for `[registry]` (crates.io), else the registry's name.
        registry: Option<String>,
    },
    /// An assignment of `var` on line `line` (1-based) of a shell start-up file.
    Shell {
        /// The file.
        file: PathBuf,
        /// Its line, as found.
        line: usize,
        /// The variable.
        var: String,
    },
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Toml {
                file,
                registry: None,
            } => write!(f, "{} ([registry] token)", file.display()),
            Source::Toml {
                file,
                registry: Some(r),
            } => write!(f, "{} ([registries.{r}] token)", file.display()),
            Source::Shell { file, line, var } => {
                write!(f, "{} line {line} ({var})", file.display())
            }
        }
    }
}

/// A token found in clear text.
#[derive(Debug)]
pub(crate) struct Found {
    /// The registry's name (`crates-io` for crates.io).
    pub(crate) registry: String,
    pub(crate) token: Token,
    /// Where it is.
    pub(crate) source: Source,
}

/// What [`scan`] saw that it could not take (a computed value, a file it could not read).
type Notes = Vec<String>;

/// The shell start-up files looked at, relative to the home directory.
const SHELL_FILES: &[&str] = &[
    ".profile",
    ".bashrc",
    ".bash_profile",
    ".bash_login",
    ".bash_aliases",
    ".zshrc",
    ".zshenv",
    ".zprofile",
    ".zlogin",
    ".envrc",
    ".pam_environment",
    ".config/fish/config.fish",
    ".config/fish/fish_variables",
];

/// Directories whose files are looked at too, relative to the home directory.
const SHELL_DIRS: &[&str] = &[".config/environment.d", ".config/fish/conf.d"];

/// The largest file read.
const READ_MAX: u64 = 1 << 20;

/// Reads a small regular file without hanging on a FIFO or following a link silently:
/// `Ok(None)` when it does not exist; the text, and the link's target when it is one.
fn read_text(path: &Path) -> Result<Option<(String, Option<PathBuf>)>, AdoptError> {
    use std::io::Read;
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return Ok(None);
    };
    let link = meta
        .file_type()
        .is_symlink()
        .then(|| std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()));
    let mut opts = std::fs::OpenOptions::new();
    opts.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.custom_flags(0o4000); // O_NONBLOCK: a FIFO must not hang setup
    }
    let io = |source| AdoptError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = opts.open(path).map_err(io)?;
    if !file.metadata().map(|m| m.is_file()).unwrap_or(false) {
        return Err(AdoptError::NotRegular {
            path: path.to_path_buf(),
        });
    }
    let mut text = String::new();
    file.take(READ_MAX + 1)
        .read_to_string(&mut text)
        .map_err(io)?;
    if text.len() as u64 > READ_MAX {
        return Err(AdoptError::TooLarge {
            path: path.to_path_buf(),
        });
    }
    Ok(Some((text, link)))
}

/// Whether `line` names a registry token variable at all (however it sets it).
fn mentions_token_var(line: &str) -> Option<&str> {
    if let Some(i) = line.find("CARGO_REGISTRY_TOKEN") {
        return Some(&line[i..i + "CARGO_REGISTRY_TOKEN".len()]);
    }
    let i = line.find("CARGO_REGISTRIES_")?;
    let rest = &line[i..];
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    rest[..end].ends_with("_TOKEN").then(|| &rest[..end])
}

/// cargo's config files, nearest first: `.cargo/config.toml` and `.cargo/config` from `cwd`
/// up, then `$CARGO_HOME`'s.
pub(crate) fn config_files(cwd: &Path, cargo_home: &Path) -> Vec<PathBuf> {
    // `CARGO_HOME` is usually `~/.cargo`, which the walk up from a directory under `~` meets
    // first: each file is listed once, where cargo reads it first.
    let mut seen = std::collections::HashSet::new();
    crate::package::cargo_config_files(cwd, Some(cargo_home), usize::MAX)
        .into_iter()
        .map(|(f, _)| f)
        .filter(|f| seen.insert(f.clone()))
        .collect()
}

/// The config file cargo reads in `dir` (`CARGO_HOME` or a `.cargo` directory): `config`
/// when it exists, since cargo then ignores a `config.toml` beside it (with only a warning),
/// else `config.toml`.
pub(crate) fn cargo_config_in(dir: &Path) -> PathBuf {
    let bare = dir.join("config");
    if std::fs::symlink_metadata(&bare).is_ok() {
        bare
    } else {
        dir.join("config.toml")
    }
}

/// Every clear-text token in the places listed in the module docs.
pub(crate) fn scan(home: &Path, cargo_home: &Path, cwd: &Path) -> (Vec<Found>, Notes) {
    let mut found = Vec::new();
    let mut notes = Vec::new();
    let mut toml_files = vec![
        cargo_home.join("credentials.toml"),
        cargo_home.join("credentials"),
    ];
    toml_files.extend(config_files(cwd, cargo_home));
    for file in toml_files {
        scan_toml(&file, &mut found, &mut notes);
    }
    let names = registry_names(cwd, cargo_home);
    for file in shell_files(home) {
        scan_shell(&file, &names, &mut found, &mut notes);
    }
    (found, notes)
}

/// [`read_text`], with a file that cannot be read noted and passed over.
fn read_or_note(file: &Path, notes: &mut Notes) -> Option<(String, Option<PathBuf>)> {
    match read_text(file) {
        Ok(t) => t,
        Err(e) => {
            notes.push(e.to_string());
            None
        }
    }
}

/// Tokens found in a file that is a link are reported, not edited: setup does not write
/// through links (the clear copy would stay in the target, a dotfiles repository say). Turns
/// `found[from..]`, all from the link to `target`, into notes.
fn linked(found: &mut Vec<Found>, notes: &mut Notes, from: usize, target: &Path) {
    for f in found.drain(from..) {
        notes.push(format!(
            "{}: a token, in a file that is a link to {}; setup does not edit through \
             links: remove it there by hand, and store the token with \
             cargo-confirm-gui --enroll",
            f.source,
            target.display()
        ));
    }
}

/// The `[registry]` and `[registries.NAME]` tokens of one credentials or config file.
fn scan_toml(file: &Path, found: &mut Vec<Found>, notes: &mut Notes) {
    let Some((text, link)) = read_or_note(file, notes) else {
        return;
    };
    let before = found.len();
    let doc = match text.parse::<toml_edit::DocumentMut>() {
        Ok(d) => d,
        Err(e) => {
            notes.push(format!("{} cannot be read as TOML: {e}", file.display()));
            return;
        }
    };
    if let Some(t) = doc
        .get("registry")
        .and_then(|r| r.get("token"))
        .and_then(|t| t.as_str())
    {
        found.push(Found {
            registry: "crates-io".into(),
            token: Token::new(t.to_string()),
            source: Source::Toml {
                file: file.to_path_buf(),
                registry: None,
            },
        });
    }
    if let Some(regs) = doc.get("registries").and_then(|r| r.as_table_like()) {
        for (name, table) in regs.iter() {
            if let Some(t) = table.get("token").and_then(|t| t.as_str()) {
                found.push(Found {
                    registry: name.to_string(),
                    token: Token::new(t.to_string()),
                    source: Source::Toml {
                        file: file.to_path_buf(),
                        registry: Some(name.to_string()),
                    },
                });
            }
        }
    }
    if let Some(target) = link {
        linked(found, notes, before, &target);
    }
}

/// The shell start-up files under `home`: [`SHELL_FILES`], then each of [`SHELL_DIRS`]'
/// files in name order.
fn shell_files(home: &Path) -> Vec<PathBuf> {
    let mut shell_files: Vec<PathBuf> = SHELL_FILES.iter().map(|r| home.join(r)).collect();
    for dir in SHELL_DIRS {
        if let Ok(entries) = std::fs::read_dir(home.join(dir)) {
            let mut files: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
            files.sort();
            shell_files.extend(files);
        }
    }
    shell_files
}

/// The token assignments of one shell start-up file; `names` are the registries cargo's
/// config defines.
fn scan_shell(file: &Path, names: &[String], found: &mut Vec<Found>, notes: &mut Notes) {
    let Some((text, link)) = read_or_note(file, notes) else {
        return;
    };
    let before = found.len();
    for (i, line) in text.lines().enumerate() {
        scan_shell_line(file, i + 1, line, names, found, notes);
    }
    if let Some(target) = link {
        linked(found, notes, before, &target);
    }
}

/// Line `n` (1-based) of shell file `file`: a token it sets is found; a token variable it
/// sets or uses in a way setup cannot move is noted.
fn scan_shell_line(
    file: &Path,
    n: usize,
    line: &str,
    names: &[String],
    found: &mut Vec<Found>,
    notes: &mut Notes,
) {
    let Some((var, value)) = shell_assignment(line) else {
        // Set some other way (`export A=1 CARGO_REGISTRY_TOKEN=…`, fish's universal
        // variables, a condition first): named, for the person to remove.
        if !line.trim_start().starts_with('#')
            && let Some(var) = mentions_token_var(line)
        {
            notes.push(format!(
                "{} line {}: sets or uses {var} in a way setup does not edit; remove \
                 it by hand, and store the token with cargo-confirm-gui --enroll",
                file.display(),
                n
            ));
        }
        return;
    };
    let Some(registry) = registry_of_var(&var, names) else {
        return;
    };
    let source = Source::Shell {
        file: file.to_path_buf(),
        line: n,
        var: var.clone(),
    };
    match value {
        Some(v) if !v.is_empty() => found.push(Found {
            registry,
            token: Token::new(v),
            source,
        }),
        _ => notes.push(format!(
            "{source}: the value is computed (a command or a variable), so it was not \
             moved; remove that line and store the token with cargo-confirm-gui --enroll"
        )),
    }
}

/// The registry names cargo's config files define, for telling `CARGO_REGISTRIES_MY_REG_TOKEN`
/// apart from `my_reg` and `my-reg`.
fn registry_names(cwd: &Path, cargo_home: &Path) -> Vec<String> {
    let mut names = Vec::new();
    for f in config_files(cwd, cargo_home) {
        let Ok(text) = std::fs::read_to_string(&f) else {
            continue;
        };
        let Ok(doc) = text.parse::<toml::Table>() else {
            continue;
        };
        if let Some(r) = doc.get("registries").and_then(|r| r.as_table()) {
            names.extend(r.keys().cloned());
        }
    }
    names
}

/// The registry a token variable is for: `CARGO_REGISTRY_TOKEN` is crates.io's;
/// `CARGO_REGISTRIES_<NAME>_TOKEN` names a registry as cargo spells it in the variable
/// (upper case, `-` as `_`).
pub(crate) fn registry_of_var(var: &str, known: &[String]) -> Option<String> {
    if var == "CARGO_REGISTRY_TOKEN" {
        return Some("crates-io".into());
    }
    let name = var
        .strip_prefix("CARGO_REGISTRIES_")?
        .strip_suffix("_TOKEN")?;
    if name.is_empty() {
        return None;
    }
    let spelled = |k: &String| k.to_ascii_uppercase().replace('-', "_") == name;
    Some(
        known
            .iter()
            .find(|k| spelled(k))
            .cloned()
            .unwrap_or_else(|| name.to_ascii_lowercase().replace('_', "-")),
    )
}

/// A shell line that sets a token variable: `export VAR=value`, `VAR=value`,
/// `declare -x VAR=value`, fish's `set -gx VAR value`. Returns the variable and its value when
/// the value is a plain literal (`None` when it is computed: `$(…)`, backticks, `$VAR`).
fn shell_assignment(line: &str) -> Option<(String, Option<String>)> {
    let t = line.trim_start();
    if t.starts_with('#') {
        return None;
    }
    let (var, raw) = if let Some(rest) = t.strip_prefix("set ") {
        // fish: set [-g] [-x] [-U] VAR value
        let mut words = rest.split_whitespace().skip_while(|w| w.starts_with('-'));
        let var = words.next()?;
        let value: Vec<&str> = words.collect();
        (var.to_string(), value.join(" "))
    } else {
        let rest = t
            .strip_prefix("export ")
            .or_else(|| t.strip_prefix("declare -x "))
            .unwrap_or(t)
            .trim_start();
        let (var, value) = rest.split_once('=')?;
        (var.trim().to_string(), value.trim().to_string())
    };
    let is_token_var = var == "CARGO_REGISTRY_TOKEN"
        || (var.starts_with("CARGO_REGISTRIES_") && var.ends_with("_TOKEN"));
    if !is_token_var || !var.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return None;
    }
    // A trailing comment or command after the value: take the first word (quoted or not).
    let value = match raw.chars().next() {
        Some('\'') => raw[1..].split_once('\'').map(|(v, _)| v.to_string()),
        Some('"') => raw[1..]
            .split_once('"')
            .map(|(v, _)| v.to_string())
            .filter(|v| !v.contains(['$', '`', '\\'])),
        Some(_) => raw
            .split([' ', '\t', ';'])
            .next()
            .map(str::to_string)
            .filter(|v| !v.contains(['$', '`', '\\', '(', ')'])),
        None => Some(String::new()),
    };
    Some((var, value))
}

/// Writes `text` to `file` through a temporary file in the same directory, with the file's
/// permissions, and renames it over: the file is never half-written, and no copy stays.
fn replace_file(file: &Path, text: &str) -> Result<(), AdoptError> {
    use std::io::Write;
    let dir = file.parent().ok_or_else(|| AdoptError::NoDirectory {
        path: file.to_path_buf(),
    })?;
    let perms = std::fs::metadata(file)
        .map(|m| m.permissions())
        .map_err(|source| AdoptError::Io {
            path: file.to_path_buf(),
            source,
        })?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(AdoptError::Write)?;
    tmp.as_file()
        .set_permissions(perms)
        .map_err(AdoptError::Write)?;
    tmp.write_all(text.as_bytes())
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(AdoptError::Write)?;
    tmp.persist(file).map_err(AdoptError::Persist)?;
    Ok(())
}

/// What a shell line that set a token becomes: a command that does nothing (in sh, bash,
/// zsh and fish alike), saying why.
pub const REPLACED: &str =
    "true # cargo-confirm-gui setup moved the registry token set here into the store";

/// Removes the clear copy at `source`, keeping everything else in the file (comments
/// included). A credentials file left with nothing in it is deleted.
pub(crate) fn remove(source: &Source, token: &Token) -> Result<(), AdoptError> {
    match source {
        Source::Toml { file, registry } => remove_from_toml(file, registry.as_deref(), token),
        Source::Shell { file, var, .. } => remove_from_shell(file, var, token),
    }
}

/// Removes `[registry] token` (`registry` `None`) or `[registries.NAME] token` from `file`,
/// when it is still `token`.
fn remove_from_toml(file: &Path, registry: Option<&str>, token: &Token) -> Result<(), AdoptError> {
    let text = std::fs::read_to_string(file).map_err(AdoptError::Write)?;
    let mut doc = text
        .parse::<toml_edit::DocumentMut>()
        .map_err(AdoptError::Edit)?;
    let table = match registry {
        None => doc.get_mut("registry"),
        Some(r) => doc.get_mut("registries").and_then(|t| t.get_mut(r)),
    };
    if let Some(t) = table.and_then(|t| t.as_table_like_mut()) {
        // Only the token the window showed: one changed since (by a program, or by
        // the person) was not stored, and is not lost.
        match t.get("token").and_then(|v| v.as_str()) {
            Some(now) if now == token.expose() => {
                t.remove("token");
            }
            Some(_) => {
                return Err(AdoptError::TokenChanged {
                    path: file.to_path_buf(),
                });
            }
            None => {}
        }
    }
    drop_empty_tables(&mut doc, registry);
    let is_credentials = file
        .file_name()
        .is_some_and(|n| n == "credentials.toml" || n == "credentials");
    if is_credentials && doc.as_table().is_empty() {
        return std::fs::remove_file(file).map_err(AdoptError::Write);
    }
    replace_file(file, &doc.to_string())
}

/// Empty tables that only held the token go too: `[registries.NAME]`, then `[registry]` and
/// `[registries]`.
fn drop_empty_tables(doc: &mut toml_edit::DocumentMut, registry: Option<&str>) {
    if let Some(r) = registry
        && let Some(regs) = doc
            .get_mut("registries")
            .and_then(|t| t.as_table_like_mut())
        && regs
            .get(r)
            .and_then(|t| t.as_table_like())
            .is_some_and(|t| t.is_empty())
    {
        regs.remove(r);
    }
    for key in ["registry", "registries"] {
        if doc
            .get(key)
            .and_then(|t| t.as_table_like())
            .is_some_and(|t| t.is_empty())
        {
            doc.remove(key);
        }
    }
}

/// Replaces each line of shell file `file` that sets `var` to `token` and does nothing else.
fn remove_from_shell(file: &Path, var: &str, token: &Token) -> Result<(), AdoptError> {
    let text = std::fs::read_to_string(file).map_err(AdoptError::Write)?;
    // Every line that sets this variable to this token goes, wherever it is now, when
    // it does nothing else. One that also runs something (`export …=x && source …`), or
    // that a `\` joins to the line before, is kept and named: dropping it would change
    // what the file does.
    let mut kept: Vec<String> = Vec::new();
    let mut left = Vec::new();
    let mut joined = false;
    for (n, l) in text.split_inclusive('\n').enumerate() {
        let sets = matches!(shell_assignment(l), Some((v, Some(value)))
            if v == var && value == token.expose());
        if sets && !joined && only_assignment(l) {
            // Replaced, not dropped: the line may be the only one in an `if` or a
            // function, which an empty body would break.
            let indent = &l[..l.len() - l.trim_start().len()];
            kept.push(format!("{indent}{REPLACED}\n"));
            joined = false;
            continue;
        }
        if sets {
            left.push(n + 1);
        }
        joined = l.trim_end_matches(['\n', '\r']).ends_with('\\');
        kept.push(l.to_string());
    }
    replace_file(file, &kept.concat())?;
    if left.is_empty() {
        Ok(())
    } else {
        Err(AdoptError::LinesLeft {
            path: file.to_path_buf(),
            var: var.to_string(),
            lines: left,
        })
    }
}

/// Whether a shell line that sets a token variable does nothing else: after the value, only
/// spaces, one `;`, or a comment.
fn only_assignment(line: &str) -> bool {
    let t = line.trim();
    if let Some(rest) = t.strip_prefix("set ") {
        // fish: `set [-flags] VAR value`, one word of value.
        let words: Vec<&str> = rest
            .split_whitespace()
            .skip_while(|w| w.starts_with('-'))
            .collect();
        return words.len() == 2 && !words[1].contains([';', '&', '|']);
    }
    let Some((_, raw)) = t.split_once('=') else {
        return false;
    };
    let after = match raw.chars().next() {
        Some(q @ ('\'' | '"')) => match raw[1..].split_once(q) {
            Some((_, after)) => after,
            None => return false,
        },
        _ => raw.trim_start_matches(|c: char| !matches!(c, ' ' | '\t' | ';' | '#')),
    };
    let after = after.trim_start();
    let after = after.strip_prefix(';').unwrap_or(after).trim_start();
    after.is_empty() || after.starts_with('#')
}

/// Adds this provider to `[registry] global-credential-providers` in `config` (cargo's
/// config file in `$CARGO_HOME`), creating the file when missing. Returns whether anything
/// changed. cargo tries the providers from the last entry to the first, so it goes last.
pub(crate) fn add_provider(config: &Path) -> Result<bool, AdoptError> {
    let text = match std::fs::read_to_string(config) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(source) => {
            return Err(AdoptError::Io {
                path: config.to_path_buf(),
                source,
            });
        }
    };
    let mut doc = text
        .parse::<toml_edit::DocumentMut>()
        .map_err(|source| AdoptError::Toml {
            path: config.to_path_buf(),
            source,
        })?;
    if has_provider(&doc) {
        return Ok(false);
    }
    let registry = doc
        .entry("registry")
        .or_insert_with(|| toml_edit::Item::Table(toml_edit::Table::new()));
    let registry = registry
        .as_table_like_mut()
        .ok_or_else(|| AdoptError::RegistryNotTable {
            path: config.to_path_buf(),
        })?;
    let list = registry
        .entry("global-credential-providers")
        .or_insert(toml_edit::value(toml_edit::Array::new()));
    let arr = list
        .as_array_mut()
        .ok_or_else(|| AdoptError::ProvidersNotList {
            path: config.to_path_buf(),
        })?;
    arr.push(PROVIDER);
    if text.is_empty() {
        if let Some(dir) = config.parent() {
            std::fs::create_dir_all(dir).map_err(AdoptError::Write)?;
        }
        std::fs::write(config, doc.to_string()).map_err(AdoptError::Write)?;
        return Ok(true);
    }
    replace_file(config, &doc.to_string())?;
    Ok(true)
}

/// Whether a provider value (`"cargo-confirm-gui get"`, `["cargo-confirm-gui", "get"]`, a
/// path to it) names this helper.
fn names_helper(v: &toml_edit::Item) -> bool {
    let first = |s: &str| {
        s.split_whitespace()
            .next()
            .and_then(|w| Path::new(w).file_name())
            .is_some_and(|n| n == PROVIDER)
    };
    match v {
        toml_edit::Item::Value(toml_edit::Value::String(s)) => first(s.value()),
        toml_edit::Item::Value(toml_edit::Value::Array(a)) => {
            a.get(0).and_then(|v| v.as_str()).is_some_and(first)
        }
        _ => false,
    }
}

/// The tables of `doc` that may hold a provider key: `[registry]` and each
/// `[registries.NAME]`, with their names for people.
fn provider_tables(
    doc: &mut toml_edit::DocumentMut,
) -> Vec<(String, &mut dyn toml_edit::TableLike)> {
    let mut out: Vec<(String, &mut dyn toml_edit::TableLike)> = Vec::new();
    for (key, item) in doc.iter_mut() {
        match key.get() {
            "registry" => {
                if let Some(t) = item.as_table_like_mut() {
                    out.push(("[registry]".into(), t));
                }
            }
            "registries" => {
                if let Some(regs) = item.as_table_like_mut() {
                    for (name, r) in regs.iter_mut() {
                        let name = format!("[registries.{}]", name.get());
                        if let Some(t) = r.as_table_like_mut() {
                            out.push((name, t));
                        }
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// `config` as an editable document; `None` when there is no such file.
fn editable(config: &Path) -> Result<Option<toml_edit::DocumentMut>, AdoptError> {
    let Ok(text) = std::fs::read_to_string(config) else {
        return Ok(None);
    };
    text.parse::<toml_edit::DocumentMut>()
        .map(Some)
        .map_err(|source| AdoptError::Toml {
            path: config.to_path_buf(),
            source,
        })
}

/// Rewrites `credential-process = [...]` naming this helper to `credential-provider`, keeping
/// the arguments: cargo 1.74 and later ignore the old key ("unused config key") and fall back
/// to a plain-text token, and posts from the RFC's unstable days still show it. Returns what
/// was rewritten, for people.
pub(crate) fn rewrite_credential_process(config: &Path) -> Result<Vec<String>, AdoptError> {
    let Some(mut doc) = editable(config)? else {
        return Ok(Vec::new());
    };
    let mut done = Vec::new();
    for (name, t) in provider_tables(&mut doc) {
        let old = t
            .get("credential-process")
            .filter(|v| names_helper(v))
            .cloned();
        if let Some(v) = old {
            t.remove("credential-process");
            if t.get("credential-provider").is_none() {
                t.insert("credential-provider", v);
            }
            done.push(format!(
                "{name} credential-process → credential-provider in {}",
                config.display()
            ));
        }
    }
    if !done.is_empty() {
        replace_file(config, &doc.to_string())?;
    }
    Ok(done)
}

/// Takes this helper out of `config`: from `global-credential-providers`, and every
/// `credential-provider` (or old `credential-process`) that names it. Returns what was
/// removed, for people.
pub(crate) fn remove_provider(config: &Path) -> Result<Vec<String>, AdoptError> {
    let Some(mut doc) = editable(config)? else {
        return Ok(Vec::new());
    };
    let mut done = Vec::new();
    for (name, t) in provider_tables(&mut doc) {
        if let Some(a) = t
            .get_mut("global-credential-providers")
            .and_then(|l| l.as_array_mut())
        {
            let before = a.len();
            a.retain(|v| {
                !v.as_str().is_some_and(|s| {
                    s.split_whitespace()
                        .next()
                        .and_then(|w| Path::new(w).file_name())
                        .is_some_and(|n| n == PROVIDER)
                })
            });
            if a.len() != before {
                done.push(format!("{name} global-credential-providers"));
            }
        }
        for key in ["credential-provider", "credential-process"] {
            if t.get(key).is_some_and(names_helper) {
                t.remove(key);
                done.push(format!("{name} {key}"));
            }
        }
    }
    if !done.is_empty() {
        replace_file(config, &doc.to_string())?;
    }
    Ok(done
        .into_iter()
        .map(|d| format!("{d} in {}", config.display()))
        .collect())
}

/// Whether `doc` lists this provider in `global-credential-providers`.
pub(crate) fn has_provider(doc: &toml_edit::DocumentMut) -> bool {
    doc.get("registry")
        .and_then(|r| r.get("global-credential-providers"))
        .and_then(|l| l.as_array())
        .is_some_and(|a| {
            a.iter().any(|v| {
                v.as_str()
                    .is_some_and(|s| s.split_whitespace().next() == Some(PROVIDER))
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOK: &str = "cioAbcdefghijklmnopqrstuvwxyz0123456";

    #[test]
    fn shell_lines_are_read_as_a_shell_would() {
        let a = |l: &str| shell_assignment(l);
        assert_eq!(
            a("export CARGO_REGISTRY_TOKEN=abc # mine"),
            Some(("CARGO_REGISTRY_TOKEN".into(), Some("abc".into())))
        );
        assert_eq!(
            a("  CARGO_REGISTRIES_MY_REG_TOKEN='a b'"),
            Some(("CARGO_REGISTRIES_MY_REG_TOKEN".into(), Some("a b".into())))
        );
        assert_eq!(
            a("set -gx CARGO_REGISTRY_TOKEN xyz"),
            Some(("CARGO_REGISTRY_TOKEN".into(), Some("xyz".into())))
        );
        assert_eq!(
            a("export CARGO_REGISTRY_TOKEN=$(pass show cargo)"),
            Some(("CARGO_REGISTRY_TOKEN".into(), None))
        );
        assert_eq!(
            a("export CARGO_REGISTRY_TOKEN=\"$TOKEN\""),
            Some(("CARGO_REGISTRY_TOKEN".into(), None))
        );
        assert_eq!(a("# export CARGO_REGISTRY_TOKEN=abc"), None);
        assert_eq!(a("export CARGO_HOME=/x"), None);
    }

    #[test]
    fn variable_names_map_to_registry_names() {
        let known = vec!["my-reg".to_string()];
        assert_eq!(
            registry_of_var("CARGO_REGISTRIES_MY_REG_TOKEN", &known).as_deref(),
            Some("my-reg")
        );
        assert_eq!(
            registry_of_var("CARGO_REGISTRY_TOKEN", &known).as_deref(),
            Some("crates-io")
        );
        assert_eq!(
            registry_of_var("CARGO_REGISTRIES_OTHER_TOKEN", &known).as_deref(),
            Some("other")
        );
        assert_eq!(registry_of_var("CARGO_REGISTRIES__TOKEN", &known), None);
    }

    fn home() -> (tempfile::TempDir, PathBuf, PathBuf, PathBuf) {
        let d = tempfile::tempdir().unwrap();
        let home = d.path().join("home");
        let cargo_home = home.join(".cargo");
        let cwd = home.join("proj");
        std::fs::create_dir_all(&cargo_home).unwrap();
        std::fs::create_dir_all(&cwd).unwrap();
        (d, home, cargo_home, cwd)
    }

    #[test]
    fn tokens_are_found_removed_and_the_rest_of_each_file_kept() {
        let (_d, home, cargo_home, cwd) = home();
        std::fs::write(
            cargo_home.join("credentials.toml"),
            format!("[registry]\ntoken = \"{TOK}\"\n\n[registries.my-reg]\ntoken = \"t2\"\n"),
        )
        .unwrap();
        let config = "# my settings\n[registries.my-reg]\nindex = \"sparse+https://r.example/\" # keep\ntoken = \"t3\"\n\n[build]\njobs = 2\n";
        std::fs::write(cargo_home.join("config.toml"), config).unwrap();
        std::fs::write(
            home.join(".bashrc"),
            "alias ll='ls -l'\nexport CARGO_REGISTRIES_MY_REG_TOKEN=t4\nexport CARGO_REGISTRY_TOKEN=$(pass cargo)\n",
        )
        .unwrap();
        let (found, notes) = scan(&home, &cargo_home, &cwd);
        let seen: Vec<(&str, &str)> = found
            .iter()
            .map(|f| (f.registry.as_str(), f.token.expose()))
            .collect();
        assert_eq!(
            seen,
            [
                ("crates-io", TOK),
                ("my-reg", "t2"),
                ("my-reg", "t3"),
                ("my-reg", "t4")
            ]
        );
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(notes[0].contains(".bashrc line 3"), "{notes:?}");
        for f in &found {
            remove(&f.source, &f.token).unwrap();
        }
        assert!(!cargo_home.join("credentials.toml").exists());
        let after = std::fs::read_to_string(cargo_home.join("config.toml")).unwrap();
        assert!(
            after.contains("# my settings") && after.contains("# keep"),
            "{after}"
        );
        assert!(
            after.contains("jobs = 2") && !after.contains("t3"),
            "{after}"
        );
        let rc = std::fs::read_to_string(home.join(".bashrc")).unwrap();
        assert_eq!(
            rc,
            format!("alias ll='ls -l'\n{REPLACED}\nexport CARGO_REGISTRY_TOKEN=$(pass cargo)\n")
        );
        let (found, _) = scan(&home, &cargo_home, &cwd);
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn a_line_that_does_more_and_a_token_changed_since_the_window_are_kept() {
        // Red team of "Adopt it in one step": the whole shell line went, with the command
        // after the token (`&& source ~/.work`), and a line joined by `\` to the one before
        // changed that command; a TOML token changed after the window was removed unstored.
        let (_d, home, cargo_home, cwd) = home();
        let rc = "export CARGO_REGISTRY_TOKEN=t1 && source ~/.work\n\
                  cmd --flag \\\n\
                  CARGO_REGISTRY_TOKEN=t1\n\
                  export CARGO_REGISTRY_TOKEN='t1'  ; # old\n\
                  echo done\n";
        std::fs::write(home.join(".bashrc"), rc).unwrap();
        let (found, _) = scan(&home, &cargo_home, &cwd);
        let shell: Vec<_> = found.iter().filter(|f| f.token.expose() == "t1").collect();
        assert!(!shell.is_empty(), "{found:?}");
        let err = remove(&shell[0].source, &shell[0].token)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("line 1, 3 of") && err.contains("by hand"),
            "{err}"
        );
        assert_eq!(
            std::fs::read_to_string(home.join(".bashrc")).unwrap(),
            format!(
                "export CARGO_REGISTRY_TOKEN=t1 && source ~/.work\ncmd --flag \\\nCARGO_REGISTRY_TOKEN=t1\n{REPLACED}\necho done\n"
            )
        );

        let creds = cargo_home.join("credentials.toml");
        std::fs::write(&creds, "[registry]\ntoken = \"shown\"\n").unwrap();
        let (found, _) = scan(&home, &cargo_home, &cwd);
        let shown = found.iter().find(|f| f.token.expose() == "shown").unwrap();
        std::fs::write(&creds, "[registry]\ntoken = \"changed\"\n").unwrap();
        let err = remove(&shown.source, &shown.token).unwrap_err().to_string();
        assert!(err.contains("changed after the window"), "{err}");
        assert!(std::fs::read_to_string(&creds).unwrap().contains("changed"));
    }

    #[cfg(unix)]
    #[test]
    fn links_fifos_and_other_ways_of_setting_a_token_are_named_not_edited() {
        // Review of "Adopt it in one step": a symlinked .bashrc became a plain file while its
        // target (a dotfiles repository) kept the token, and doctor said all was well; a FIFO
        // hung setup; tokens set other ways were not seen at all.
        let (_d, home, cargo_home, cwd) = home();
        let dotfiles = home.join("dotfiles");
        std::fs::create_dir_all(&dotfiles).unwrap();
        std::fs::write(
            dotfiles.join("bashrc"),
            "export CARGO_REGISTRY_TOKEN=linked\n",
        )
        .unwrap();
        std::os::unix::fs::symlink(dotfiles.join("bashrc"), home.join(".bashrc")).unwrap();
        std::fs::write(
            home.join(".profile"),
            "export CARGO_HOME=/x CARGO_REGISTRY_TOKEN=two\n[ -x /bin/sh ] && export CARGO_REGISTRY_TOKEN=cond\n",
        )
        .unwrap();
        std::fs::create_dir_all(home.join(".config/fish")).unwrap();
        std::fs::write(
            home.join(".config/fish/fish_variables"),
            "SETUVAR --export CARGO_REGISTRIES_MY_REG_TOKEN:uni\n",
        )
        .unwrap();
        let fifo = cargo_home.join("credentials");
        assert!(
            std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap()
                .success()
        );
        let (found, notes) = scan(&home, &cargo_home, &cwd);
        assert!(found.is_empty(), "{found:?}");
        let all = notes.join("\n");
        assert!(all.contains("not a regular file"), "{all}");
        assert!(all.contains("a link to"), "{all}");
        assert!(all.contains(".profile line 1"), "{all}");
        assert!(all.contains(".profile line 2"), "{all}");
        assert!(all.contains("fish_variables line 1"), "{all}");
        // Nothing was edited.
        assert_eq!(
            std::fs::read_to_string(dotfiles.join("bashrc")).unwrap(),
            "export CARGO_REGISTRY_TOKEN=linked\n"
        );
        assert!(
            std::fs::symlink_metadata(home.join(".bashrc"))
                .unwrap()
                .file_type()
                .is_symlink()
        );
    }

    #[test]
    fn the_provider_is_added_once_and_comments_stay() {
        let (_d, _home, cargo_home, _cwd) = home();
        let config = cargo_home.join("config.toml");
        assert!(add_provider(&config).unwrap());
        assert!(!add_provider(&config).unwrap());
        std::fs::write(
            &config,
            "# mine\n[registry]\nglobal-credential-providers = [\"cargo:token\"] # old\n",
        )
        .unwrap();
        assert!(add_provider(&config).unwrap());
        let text = std::fs::read_to_string(&config).unwrap();
        assert!(text.contains("# mine") && text.contains("# old"), "{text}");
        assert!(
            text.contains("[\"cargo:token\", \"cargo-confirm-gui\"]"),
            "{text}"
        );
        assert!(!add_provider(&config).unwrap());
    }
}
