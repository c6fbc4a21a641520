//! The `.crate` walker, through `package::gather` as the pipeline calls it: the bytes are
//! written where `cargo package` writes, found, opened, hashed and listed in one pass.
//!
//! Properties:
//! - with the bytes' own sha256 as `cksum` the check is a match, on that file;
//! - with any other `cksum` it is never a match, and no contents come back;
//! - every file the report lists is in the archive, decoded independently with `flate2` and
//!   `tar` (same position, size, type and content hash), and a listing without problems is
//!   the whole archive: the list shown is covered by the hash that matched;
//! - the limits hold: entries, sizes and unpacked bytes stay within `Limits`, names within
//!   `MAX_NAME`, and a file above `max_crate_file` is never verified;
//! - the report crosses to the window process (JSON) unchanged, and every path and flag
//!   shows as itself.
#![no_main]

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};
use std::sync::OnceLock;

use cargo_confirm_gui::package::{Check, Kind, MAX_NAME, Places, Report, gather};
use cargo_confirm_gui_fuzz::{assert_shown_faithfully, decode, limits, sha256_hex};
use libfuzzer_sys::fuzz_target;

const NAME: &str = "fuzz";
const VERS: &str = "0.1.0";

struct Place {
    _dir: tempfile::TempDir,
    cwd: PathBuf,
    file: PathBuf,
}

fn place() -> &'static Place {
    static PLACE: OnceLock<Place> = OnceLock::new();
    PLACE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let cwd = dir.path().join("proj");
        let package = cwd.join("target/package");
        std::fs::create_dir_all(&package).expect("target/package");
        let file = package.join(format!("{NAME}-{VERS}.crate"));
        Place {
            _dir: dir,
            cwd,
            file,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let limits = limits();
    let place = place();
    std::fs::write(&place.file, data).expect("writing the .crate");
    let places = Places {
        cwd: Some(place.cwd.clone()),
        ..Places::default()
    };
    let cksum = sha256_hex(data);

    // A checksum that differs from the data's is never a match.
    let mut wrong = cksum.clone().into_bytes();
    wrong[data.len() % 64] = if wrong[data.len() % 64] == b'0' {
        b'1'
    } else {
        b'0'
    };
    let wrong = String::from_utf8(wrong).expect("hex");
    let r = gather(NAME, VERS, &wrong, &places, None, &limits);
    assert!(r.check.blocks_approve(), "{:?}", r.check);
    assert!(r.contents.is_none() && r.opened.is_none(), "{r:?}");
    match &r.check {
        Check::Mismatch { path, actual } => {
            assert_eq!(path, &place.file);
            assert_eq!(actual, &cksum);
        }
        Check::Unreadable { path, .. } => {
            assert_eq!(path, &place.file);
            assert!(data.len() as u64 > limits.max_crate_file, "{:?}", r.check);
        }
        other => panic!("a mismatch reported as {other:?}"),
    }

    let report = gather(NAME, VERS, &cksum, &places, None, &limits);
    if data.len() as u64 > limits.max_crate_file {
        assert!(
            matches!(report.check, Check::Unreadable { .. }) && report.contents.is_none(),
            "a file above max_crate_file: {:?}",
            report.check
        );
        return;
    }
    assert_eq!(report.check, Check::Match(place.file.clone()));
    assert_eq!(report.opened.as_ref(), Some(&place.file));
    let contents = report.contents.as_ref().expect("a match has contents");

    // The limits hold.
    assert!(contents.files.len() <= limits.max_entries);
    assert!(
        contents.unpacked <= limits.max_unpacked,
        "{}",
        contents.unpacked
    );
    let file_bytes: u64 = contents
        .files
        .iter()
        .filter(|f| f.kind == Kind::File)
        .map(|f| f.size)
        .sum();
    assert_eq!(contents.unpacked, file_bytes);
    assert!(contents.files.iter().all(|f| f.size <= limits.max_unpacked));
    // Names are bounded by a path's length, not by the unpacked limit (a byte that is not
    // UTF-8 shows as three).
    for f in &contents.files {
        let link = match &f.kind {
            Kind::Symlink(t) | Kind::Hardlink(t) => t.len(),
            _ => 0,
        };
        assert!(
            f.path.len().max(link) <= 3 * MAX_NAME,
            "{} bytes",
            f.path.len().max(link)
        );
    }
    assert!(contents.problems.iter().all(|p| p.len() <= 8 * MAX_NAME));

    // Every listed file is what the hashed bytes hold.
    let decoded = decode(data, limits.max_entries + 1, 2 * limits.max_unpacked);
    assert!(
        contents.files.len() <= decoded.entries.len(),
        "listed {} entries, the archive has {}",
        contents.files.len(),
        decoded.entries.len()
    );
    let top = decoded
        .entries
        .first()
        .map(|e| e.path.split(|b| *b == b'/').next().unwrap_or(b"").to_vec())
        .unwrap_or_default();
    for (f, e) in contents.files.iter().zip(&decoded.entries) {
        let raw = String::from_utf8_lossy(&e.path);
        assert_eq!(f.path, unpacked_name(&e.path, &top), "listed for {raw:?}");
        assert_eq!(f.size, e.size, "{raw:?}");
        let kind_ok = match &f.kind {
            Kind::File => e.ty.is_file() && f.sha256 == e.sha256,
            Kind::Dir => e.ty.is_dir(),
            Kind::Symlink(_) => e.ty.is_symlink(),
            Kind::Hardlink(_) => e.ty.is_hard_link(),
            Kind::Other(_) => {
                !(e.ty.is_file() || e.ty.is_dir() || e.ty.is_symlink() || e.ty.is_hard_link())
            }
        };
        assert!(kind_ok, "{raw:?}: listed as {:?}, is {:?}", f.kind, e.ty);
    }
    if contents.problems.is_empty() {
        assert!(
            decoded.complete,
            "a clean listing of an archive that goes on"
        );
        assert_eq!(contents.files.len(), decoded.entries.len());
        assert!(contents.manifest.is_some());
    }

    // What the window process receives is what was found, and shows as itself.
    let json = serde_json::to_string(&report).expect("the report serialises");
    // (The files' texts stay in this process, by design: compared as sent.)
    let back: Report = serde_json::from_str(&json).expect("the report deserialises");
    assert_eq!(
        serde_json::to_string(&back).expect("the report serialises again"),
        json
    );
    for f in &contents.files {
        assert_shown_faithfully(&f.path);
    }
    for f in &report.flags {
        assert_shown_faithfully(&f.text);
    }
    let _ = report.summary();
});

/// What an unpacker makes of an entry's name, relative to the crate's directory `top` (the
/// first entry's top directory, where every entry must be): std's path components, as
/// tar's `unpack_in` walks them (`.` and empty parts gone). An entry outside `top` keeps its
/// whole name.
fn unpacked_name(name: &[u8], top: &[u8]) -> String {
    let inside = match name.strip_prefix(top) {
        Some(b"") | Some(b"/") => Some(&b""[..]),
        Some(rest) if rest.starts_with(b"/") => Some(&rest[1..]),
        _ => None,
    };
    let path = Path::new(OsStr::from_bytes(inside.unwrap_or(name)));
    path.components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(String::from_utf8_lossy(s.as_bytes()).into_owned()),
            Component::ParentDir => Some("..".into()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("/")
}
