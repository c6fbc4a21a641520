//! The manifest reader and the diff between two versions of a crate.
//!
//! The input is split in two (the first two bytes say where). Each half is a `.crate` when
//! it starts like gzip, and otherwise the text of a `Cargo.toml` packed into one (lines
//! `#/PATH=DATA` add files; see `crate_from_text`).
//!
//! Properties:
//! - the manifest reader shows every dependency the packaged `Cargo.toml` declares, with its
//!   requirement when it is a plain string, and `proc-macro`, `links` and `build` as they are
//!   written (read independently with `toml`);
//! - the diff is exact: added and removed are the set differences of the two file lists,
//!   changed are files in both whose content differs, and the same holds for dependencies;
//! - a crate compared with itself shows no change;
//! - a new proc-macro or build script is never missed.
#![no_main]

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use cargo_confirm_gui::package::{BuildScriptChange, Contents, Kind, diff, list};
use cargo_confirm_gui_fuzz::{assert_shown_faithfully, crate_from_text, limits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((head, rest)) = data.split_first_chunk::<2>() else {
        return;
    };
    let at = usize::from(u16::from_le_bytes(*head)) % (rest.len() + 1);
    let (a, b) = rest.split_at(at);
    let before = read(a);
    let now = read(b);

    let d = diff(&before, &now, "0.0.1", PathBuf::from("cache.crate"));
    let (old, new) = (files(&before), files(&now));
    let added: Vec<&String> = new.keys().filter(|p| !old.contains_key(*p)).collect();
    let removed: Vec<&String> = old.keys().filter(|p| !new.contains_key(*p)).collect();
    assert_eq!(d.added.iter().collect::<Vec<_>>(), added);
    assert_eq!(d.removed.iter().collect::<Vec<_>>(), removed);
    let routine = |p: &str| p == "Cargo.toml" || p == ".cargo_vcs_info.json";
    let changed: Vec<&String> = new
        .iter()
        .filter(|(p, h)| old.get(*p).is_some_and(|o| o != *h) && !routine(p))
        .map(|(p, _)| p)
        .collect();
    assert_eq!(d.changed.iter().collect::<Vec<_>>(), changed);

    let deps = |c: &Contents| {
        c.manifest
            .as_ref()
            .map(|m| m.deps.clone())
            .unwrap_or_default()
    };
    let (od, nd) = (deps(&before), deps(&now));
    assert_eq!(
        d.deps_added.len() + d.deps_changed.len(),
        nd.len() - nd.keys().filter(|k| od.get(*k) == nd.get(*k)).count()
    );
    assert_eq!(
        d.deps_removed.len(),
        od.keys().filter(|k| !nd.contains_key(*k)).count()
    );
    let pm = |c: &Contents| c.manifest.as_ref().is_some_and(|m| m.proc_macro);
    assert_eq!(d.became_proc_macro, pm(&now) && !pm(&before));
    match (before.build_script(), now.build_script()) {
        (None, Some(_)) => assert_eq!(d.build_script, Some(BuildScriptChange::New)),
        (Some(_), None) => assert_eq!(d.build_script, Some(BuildScriptChange::Removed)),
        (None, None) => assert_eq!(d.build_script, None),
        _ => {}
    }
    for line in d
        .added
        .iter()
        .chain(&d.removed)
        .chain(&d.changed)
        .chain(&d.deps_added)
        .chain(&d.deps_removed)
        .chain(&d.deps_changed)
    {
        assert_shown_faithfully(line);
    }

    // Compared with itself, nothing changed.
    for c in [&before, &now] {
        let same = diff(c, c, "0.0.1", PathBuf::new());
        assert!(
            same.added.is_empty()
                && same.removed.is_empty()
                && same.changed.is_empty()
                && same.build_script.is_none()
                && same.deps_added.is_empty()
                && same.deps_removed.is_empty()
                && same.deps_changed.is_empty()
                && !same.became_proc_macro,
            "{same:?}"
        );
    }

    for (half, contents) in [(a, &before), (b, &now)] {
        if !half.starts_with(&[0x1f, 0x8b]) {
            manifest_shows_what_is_written(half, contents);
        }
    }
});

fn read(half: &[u8]) -> Contents {
    if half.starts_with(&[0x1f, 0x8b]) {
        list(half, &limits())
    } else {
        list(&crate_from_text(half)[..], &limits())
    }
}

/// Files (not directories) by path, the last copy of a path winning as when unpacking.
fn files(c: &Contents) -> BTreeMap<String, Option<[u8; 32]>> {
    c.files
        .iter()
        .filter(|f| f.kind != Kind::Dir)
        .map(|f| (f.path.clone(), f.sha256))
        .collect()
}

/// `text` was packed as the crate's `Cargo.toml`; what `contents` says of it matches an
/// independent reading.
fn manifest_shows_what_is_written(text: &[u8], contents: &Contents) {
    let limits = limits();
    // A `#/Cargo.toml=…` line packs a second manifest, and the last copy is the one read
    // (as unpacking would; the pair is flagged as a problem, see
    // `package::tests::a_second_manifest_is_the_one_read_and_the_pair_blocks_approve`):
    // `text` is then not what was read. Found by this target.
    if contents
        .files
        .iter()
        .filter(|f| f.path == "Cargo.toml")
        .count()
        > 1
    {
        assert!(
            contents
                .problems
                .iter()
                .any(|p| p.contains("Cargo.toml appears twice")),
            "{:?}",
            contents.problems
        );
        return;
    }
    let Some(doc) = std::str::from_utf8(text)
        .ok()
        .and_then(|t| t.parse::<toml::Table>().ok())
    else {
        assert!(contents.manifest.is_none());
        return;
    };
    if text.len() as u64 > limits.max_manifest {
        assert!(contents.manifest.is_none());
        return;
    }
    let Some(m) = &contents.manifest else {
        // A later entry of the same crate (`#/Cargo.toml=...`) may replace the manifest.
        return;
    };
    let package = doc.get("package").and_then(|p| p.as_table());
    assert_eq!(
        m.links.as_deref(),
        package
            .and_then(|p| p.get("links"))
            .and_then(|l| l.as_str())
    );
    let lib = doc.get("lib").and_then(|l| l.as_table());
    let pm = lib
        .and_then(|l| l.get("proc-macro").or_else(|| l.get("proc_macro")))
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    assert_eq!(m.proc_macro, pm);
    match package.and_then(|p| p.get("build")) {
        Some(toml::Value::String(s)) => assert_eq!(m.build.as_deref(), Some(s.as_str())),
        Some(toml::Value::Boolean(false)) => assert_eq!(m.build.as_deref(), Some("")),
        _ => assert_eq!(m.build, None),
    }

    // Every declared dependency is shown: one entry each, none hidden behind another.
    let mut declared = BTreeSet::new();
    let mut plain = BTreeMap::new();
    let mut scopes = vec![(String::new(), &doc)];
    if let Some(targets) = doc.get("target").and_then(|t| t.as_table()) {
        for (cfg, t) in targets {
            if let Some(t) = t.as_table() {
                scopes.push((format!("[{cfg}] "), t));
            }
        }
    }
    for (scope, table) in scopes {
        for (section, kind) in [
            ("dependencies", ""),
            ("dev-dependencies", "dev "),
            ("dev_dependencies", "dev "),
            ("build-dependencies", "build "),
            ("build_dependencies", "build "),
        ] {
            for (name, spec) in table
                .get(section)
                .and_then(|d| d.as_table())
                .into_iter()
                .flatten()
            {
                declared.insert((scope.clone(), kind, name.clone(), section));
                if let toml::Value::String(v) = spec
                    && !v.is_empty()
                {
                    plain.insert(format!("{scope}{kind}{name}"), v.clone());
                }
            }
        }
    }
    assert_eq!(
        m.deps.len(),
        declared.len(),
        "declared {declared:?}, shown {:?}",
        m.deps
    );
    for (k, v) in &plain {
        assert_eq!(m.deps.get(k), Some(v), "{k}");
    }
}
