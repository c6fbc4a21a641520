//! cargo's configuration files, found as cargo finds them and each read once into a TOML
//! table, with typed answers to the questions the helper asks of them: which registry is the
//! default, a registry's index URL, the target directory. Each answer names the file it came
//! from. Every reader of cargo's config (the registry resolver, the `.crate` locator, setup,
//! doctor) starts here.
//!
//! Files cargo reads, nearest first: `.cargo/config.toml` and `.cargo/config` in the working
//! directory and its ancestors, then `CARGO_HOME`'s `config.toml` and `config`; after each,
//! the files its `include` names (and theirs). Each comes with the directory a relative path
//! in it is relative to: the one holding `.cargo`, or `CARGO_HOME`'s parent.
//!
//! Red team of "Fail closed whatever the caller sets": an `[alias] confirm-gui` in a file a
//! config `include`s ran instead of the helper, and `doctor`, which did not follow includes,
//! saw nothing.

use std::path::{Path, PathBuf};

/// A file larger than this is not read (cargo's own are a few KiB). cargo would read it: a
/// file cargo reads that is not read here stops every typed answer (see [`CargoConfig::first`]).
const FILE_MAX: u64 = 16 << 20;

/// How deep `include`s are followed (cargo refuses a cycle; this only bounds the walk).
const INCLUDE_DEPTH: usize = 8;

/// One config file cargo would read.
#[derive(Debug, Clone)]
pub struct ConfigFile {
    /// Where it is (it may not exist).
    pub path: PathBuf,
    /// The directory a relative path in it is relative to.
    pub base: PathBuf,
    /// Its contents, when it exists, is a regular file of at most 1 MiB, and parses.
    pub doc: Option<toml::Table>,
    /// Whether cargo reads it: where a `.cargo` directory (or `CARGO_HOME`) holds both
    /// `config` and `config.toml`, cargo reads `config` alone (with a warning). Both are
    /// listed, so that a clear token or an alias in either is found; only what cargo reads
    /// answers the typed questions.
    pub read_by_cargo: bool,
}

/// A value from cargo's config, with the file that set it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sourced<T> {
    /// The value.
    pub value: T,
    /// The file it came from.
    pub from: PathBuf,
}

/// cargo's config files for one working directory, each read once.
#[derive(Debug, Clone, Default)]
pub struct CargoConfig {
    files: Vec<ConfigFile>,
}

impl CargoConfig {
    /// The files for `cwd` (the first `depth` directories of it and its ancestors) and
    /// `cargo_home`, nearest first, includes after the file that names them.
    pub fn load(cwd: &Path, cargo_home: Option<&Path>, depth: usize) -> CargoConfig {
        let mut places: Vec<(PathBuf, PathBuf)> = cwd
            .ancestors()
            .take(depth)
            .map(|dir| (dir.join(".cargo"), dir.to_path_buf()))
            .collect();
        if let Some(home) = cargo_home {
            // Relative to the parent of CARGO_HOME, as for any `.cargo` directory.
            let base = home.parent().unwrap_or(home);
            places.push((home.to_path_buf(), base.to_path_buf()));
        }
        let mut config = CargoConfig::default();
        for (dir, base) in places {
            // cargo's `get_file_path`: `config` if it can be opened (following links), else
            // `config.toml`.
            let bare_read = std::fs::File::open(dir.join("config")).is_ok();
            config.add(dir.join("config.toml"), base.clone(), !bare_read, 0);
            config.add(dir.join("config"), base, bare_read, 0);
        }
        config
    }

    /// `path`, then what its `include` names, relative to `path`'s own directory: a path, a
    /// list of paths, or a list of `{ path = …, optional = … }` tables.
    fn add(&mut self, path: PathBuf, base: PathBuf, read_by_cargo: bool, depth: usize) {
        if self.files.iter().any(|f| f.path == path) {
            return;
        }
        let doc = read(&path);
        let includes = match &doc {
            Some(doc) if depth < INCLUDE_DEPTH => includes_of(doc),
            _ => Vec::new(),
        };
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        self.files.push(ConfigFile {
            path,
            base: base.clone(),
            doc,
            read_by_cargo,
        });
        // The including file's values win over its includes, and a later include's over an
        // earlier one's (cargo merges them in that order): nearest first means file, then the
        // includes from the last.
        for inc in includes.into_iter().rev() {
            self.add(dir.join(inc), base.clone(), read_by_cargo, depth + 1);
        }
    }

    /// Every file, nearest first, read or not.
    pub fn files(&self) -> &[ConfigFile] {
        &self.files
    }

    /// The first file cargo reads, nearest first, for which `get` finds a value. None as
    /// soon as a file cargo reads exists but could not be read here (too large, unreadable,
    /// not TOML): what cargo takes from it is unknown, so no later file answers for it.
    pub fn first<T>(&self, get: impl Fn(&toml::Table, &Path) -> Option<T>) -> Option<Sourced<T>> {
        for f in self.files.iter().filter(|f| f.read_by_cargo) {
            let Some(doc) = &f.doc else {
                if std::fs::symlink_metadata(&f.path).is_ok() {
                    return None;
                }
                continue;
            };
            if let Some(value) = get(doc, &f.base) {
                return Some(Sourced {
                    value,
                    from: f.path.clone(),
                });
            }
        }
        None
    }

    /// `registry.default`.
    pub fn registry_default(&self) -> Option<Sourced<String>> {
        self.first(|doc, _| Some(doc.get("registry")?.get("default")?.as_str()?.to_string()))
    }

    /// `[registries.NAME] index`.
    pub fn registry_index(&self, name: &str) -> Option<Sourced<String>> {
        self.first(|doc, _| {
            Some(
                doc.get("registries")?
                    .get(name)?
                    .get("index")?
                    .as_str()?
                    .to_string(),
            )
        })
    }

    /// `build.target-dir`, relative to the directory holding its `.cargo`.
    pub fn target_dir(&self) -> Option<Sourced<PathBuf>> {
        self.first(|doc, base| {
            let dir = doc.get("build")?.as_table()?.get("target-dir")?.as_str()?;
            Some(base.join(dir))
        })
    }
}

/// `path` as a TOML table, when it is a regular file of at most [`FILE_MAX`] that parses.
fn read(path: &Path) -> Option<toml::Table> {
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_file() || meta.len() > FILE_MAX {
        return None;
    }
    std::fs::read_to_string(path).ok()?.parse().ok()
}

/// The paths `doc`'s `include` key names, as written.
fn includes_of(doc: &toml::Table) -> Vec<String> {
    let one = |v: &toml::Value| match v {
        toml::Value::String(p) => Some(p.clone()),
        toml::Value::Table(t) => t.get("path").and_then(|p| p.as_str()).map(str::to_string),
        _ => None,
    };
    match doc.get("include") {
        Some(toml::Value::Array(list)) => list.iter().filter_map(one).collect(),
        Some(v) => one(v).into_iter().collect(),
        None => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nearest_file_wins_and_includes_follow_the_file_that_names_them() {
        let d = tempfile::tempdir().unwrap();
        let proj = d.path().join("p");
        let cwd = proj.join("a");
        let home = d.path().join("home/.cargo");
        for dir in [proj.join(".cargo"), cwd.join(".cargo"), home.clone()] {
            std::fs::create_dir_all(dir).unwrap();
        }
        std::fs::write(
            cwd.join(".cargo/config.toml"),
            "include = \"more.toml\"\n[registries.near]\nindex = \"sparse+https://near/\"\n",
        )
        .unwrap();
        std::fs::write(
            cwd.join(".cargo/more.toml"),
            "[registry]\ndefault = \"near\"\n",
        )
        .unwrap();
        std::fs::write(
            proj.join(".cargo/config.toml"),
            "[registries.near]\nindex = \"sparse+https://far/\"\n[build]\ntarget-dir = \"t\"\n",
        )
        .unwrap();
        std::fs::write(home.join("config.toml"), "[registry]\ndefault = \"home\"\n").unwrap();
        let c = CargoConfig::load(&cwd, Some(&home), usize::MAX);
        let near = c.registry_index("near").unwrap();
        assert_eq!(near.value, "sparse+https://near/");
        assert_eq!(near.from, cwd.join(".cargo/config.toml"));
        // The include comes right after its file: before the parent directory and home.
        let default = c.registry_default().unwrap();
        assert_eq!(default.value, "near");
        assert_eq!(default.from, cwd.join(".cargo/more.toml"));
        assert_eq!(c.target_dir().unwrap().value, proj.join("t"));
        assert!(c.registry_index("nowhere").is_none());
    }

    #[test]
    fn where_config_and_config_toml_both_exist_only_config_answers() {
        // cargo reads `config` alone then: a worm's `config.toml` beside it must not name the
        // registry the helper publishes to, nor hide the one cargo uses.
        let d = tempfile::tempdir().unwrap();
        let cargo = d.path().join(".cargo");
        std::fs::create_dir_all(&cargo).unwrap();
        std::fs::write(
            cargo.join("config.toml"),
            "[registries.r]\nindex = \"sparse+https://worm/\"\n",
        )
        .unwrap();
        std::fs::write(
            cargo.join("config"),
            "[registries.r]\nindex = \"sparse+https://real/\"\n",
        )
        .unwrap();
        let c = CargoConfig::load(d.path(), None, 1);
        assert_eq!(c.registry_index("r").unwrap().value, "sparse+https://real/");
        // Both are still listed, for the scans that look at every file.
        assert_eq!(c.files().iter().filter(|f| f.doc.is_some()).count(), 2);
        std::fs::remove_file(cargo.join("config")).unwrap();
        let c = CargoConfig::load(d.path(), None, 1);
        assert_eq!(c.registry_index("r").unwrap().value, "sparse+https://worm/");
    }

    #[test]
    fn includes_follow_cargos_order_and_an_unread_file_stops_the_answer() {
        // Red team 3, checked against cargo 1.95: the later include wins, the including file
        // over both; a `config` that cannot be opened leaves `config.toml` to cargo; a file
        // cargo reads that is not read here answers nothing rather than the next file.
        let d = tempfile::tempdir().unwrap();
        let cargo = d.path().join("p/.cargo");
        std::fs::create_dir_all(&cargo).unwrap();
        let index = |u: &str| format!("[registries.r]\nindex = \"{u}\"\n");
        std::fs::write(cargo.join("a.toml"), index("sparse+https://a/")).unwrap();
        std::fs::write(cargo.join("b.toml"), index("sparse+https://b/")).unwrap();
        std::fs::write(
            cargo.join("config.toml"),
            "include = [\"a.toml\", \"b.toml\"]\n",
        )
        .unwrap();
        let c = CargoConfig::load(&d.path().join("p"), None, 1);
        assert_eq!(c.registry_index("r").unwrap().value, "sparse+https://b/");
        #[cfg(unix)]
        {
            let socket = std::os::unix::net::UnixListener::bind(cargo.join("config")).unwrap();
            let c = CargoConfig::load(&d.path().join("p"), None, 1);
            assert_eq!(c.registry_index("r").unwrap().value, "sparse+https://b/");
            drop(socket);
            std::fs::remove_file(cargo.join("config")).unwrap();
        }
        std::fs::write(cargo.join("b.toml"), "not = toml = at all").unwrap();
        let c = CargoConfig::load(&d.path().join("p"), None, 1);
        assert_eq!(c.registry_index("r"), None);
    }

    #[test]
    fn a_file_that_is_not_a_regular_small_file_is_not_read() {
        let d = tempfile::tempdir().unwrap();
        let cargo = d.path().join(".cargo");
        std::fs::create_dir_all(cargo.join("config.toml")).unwrap();
        std::fs::write(
            cargo.join("config"),
            format!("# {}\n[registry]\ndefault = \"x\"\n", "x".repeat(16 << 20)),
        )
        .unwrap();
        let c = CargoConfig::load(d.path(), None, 1);
        assert!(c.files().iter().all(|f| f.doc.is_none()));
        assert!(c.registry_default().is_none());
    }
}
