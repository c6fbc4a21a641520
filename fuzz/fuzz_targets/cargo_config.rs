//! The cargo-config walks: `build.target-dir` (`package::config_target_dir`, where the
//! `.crate` is looked for) and `[registries.NAME] index` (`registries::index_url_for`).
//!
//! The input is written as `.cargo/config.toml` of a project, and the walks start two
//! directories below it. Property: a result comes from that file and is exactly what it
//! says (read independently with `toml`), relative to the directory holding `.cargo`; a
//! file that says nothing gives nothing; one input costs bounded time (libFuzzer's
//! `-timeout`).
#![no_main]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use cargo_confirm_gui::package::config_target_dir;
use cargo_confirm_gui::registries::index_url_for;
use libfuzzer_sys::fuzz_target;

struct Place {
    _dir: tempfile::TempDir,
    project: PathBuf,
    cwd: PathBuf,
    /// Whether a directory above the temporary one has a `.cargo` of its own (then a file
    /// that says nothing may still give a result, from there).
    outside_config: bool,
}

fn place() -> &'static Place {
    static PLACE: OnceLock<Place> = OnceLock::new();
    PLACE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let project = dir.path().join("proj");
        let cwd = project.join("a/b");
        std::fs::create_dir_all(&cwd).expect("the project");
        std::fs::create_dir_all(project.join(".cargo")).expect(".cargo");
        let outside_config = dir.path().ancestors().any(|d| d.join(".cargo").exists());
        Place {
            _dir: dir,
            project,
            cwd,
            outside_config,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let place = place();
    let file = place.project.join(".cargo/config.toml");
    std::fs::write(&file, data).expect("writing the config");
    let doc = std::str::from_utf8(data)
        .ok()
        .and_then(|t| t.parse::<toml::Table>().ok());

    let said = doc
        .as_ref()
        .and_then(|d| d.get("build")?.as_table()?.get("target-dir")?.as_str())
        .map(|dir| place.project.join(dir));
    let found = config_target_dir(&place.cwd, None);
    match (&said, &found) {
        (Some(s), f) => assert_eq!(f.as_ref(), Some(s)),
        (None, Some(f)) => assert!(place.outside_config, "{f:?} from a file that says nothing"),
        (None, None) => {}
    }
    // A relative target-dir stays where the file says, relative to the project.
    if let Some(f) = &found
        && said.is_some()
    {
        let dir = doc.as_ref().unwrap()["build"]["target-dir"]
            .as_str()
            .unwrap();
        if Path::new(dir).is_relative() {
            assert!(f.starts_with(&place.project), "{f:?}");
        }
    }

    // The registry names the file declares, and one it may not.
    let registries = doc
        .as_ref()
        .and_then(|d| d.get("registries"))
        .and_then(|r| r.as_table());
    let mut names: Vec<String> = registries
        .map(|r| r.keys().take(4).cloned().collect())
        .unwrap_or_default();
    names.push("fuzz".into());
    for name in names {
        let said = registries
            .and_then(|r| r.get(&name))
            .and_then(|r| r.get("index"))
            .and_then(|i| i.as_str());
        let found = index_url_for(&name, &place.cwd, None, None);
        match (said, &found) {
            _ if name == "crates-io" => {
                assert_eq!(
                    found.as_deref(),
                    Ok(cargo_confirm_gui::index_url::CRATES_IO_INDEX)
                )
            }
            (Some(s), f) => assert_eq!(f.as_deref(), Ok(s)),
            (None, Ok(f)) => assert!(place.outside_config, "{f:?} for {name:?}"),
            (None, Err(e)) => assert!(e.to_string().contains(&format!("`{name}`")), "{e}"),
        }
    }
});
