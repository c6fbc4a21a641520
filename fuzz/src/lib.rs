//! What the fuzz targets share: the limits they run under, an independent reading of a
//! `.crate`, and the checks on what the windows show.
//!
//! The targets live in `fuzz_targets/`; `scripts/fuzz.sh` runs them. Each states a property
//! of the helper's own code, checked against an independent reading of the same bytes where
//! there is one.

use std::io::{Read, Write};

use cargo_confirm_gui::package::Limits;
use cargo_confirm_gui::text::{escape, is_hidden};
use sha2::{Digest, Sha256};

/// The limits the `.crate` targets run under: [`Limits::default`] scaled down, so that a
/// limit is reached by inputs of fuzzing size and "the limits hold" is checked, not assumed.
/// libFuzzer's `-rss_limit_mb`, `-malloc_limit_mb` and `-timeout` (scripts/fuzz.sh) bound
/// the memory and time of one input under these limits.
pub fn limits() -> Limits {
    Limits {
        max_crate_file: 48 << 10,
        max_unpacked: 256 << 10,
        max_entries: 64,
        max_manifest: 8 << 10,
        large_file: 16 << 10,
    }
}

/// sha256, lower-case hex, as cargo sends it in `cksum`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// One tar entry as read here, apart from the helper's walker.
#[derive(Debug)]
pub struct Entry {
    /// The path as the archive gives it (long names and pax paths applied).
    pub path: Vec<u8>,
    /// The type byte.
    pub ty: tar::EntryType,
    /// The size the archive gives.
    pub size: u64,
    /// sha256 of the content, for regular files.
    pub sha256: Option<[u8; 32]>,
}

/// A `.crate` read with `flate2` and `tar` directly, as cargo and crates.io unpack it.
#[derive(Debug, Default)]
pub struct Decoded {
    /// Entries in archive order.
    pub entries: Vec<Entry>,
    /// The archive was read to its end without an error or a bound.
    pub complete: bool,
}

/// Reads `data` as a gzip-compressed tar, up to `max_entries` entries and `max_unpacked`
/// decompressed bytes (bounds only so that one input stays cheap; they are looser than the
/// walker's).
pub fn decode(data: &[u8], max_entries: usize, max_unpacked: u64) -> Decoded {
    let mut out = Decoded::default();
    let gz = flate2::read::GzDecoder::new(data).take(max_unpacked);
    let mut archive = tar::Archive::new(gz);
    let Ok(entries) = archive.entries() else {
        return out;
    };
    for entry in entries {
        if out.entries.len() >= max_entries {
            return out;
        }
        let Ok(mut entry) = entry else {
            return out;
        };
        let ty = entry.header().entry_type();
        let path = entry.path_bytes().into_owned();
        let size = entry.size();
        let sha256 = if ty.is_file() {
            let mut h = Sha256::new();
            if std::io::copy(&mut entry, &mut HashWriter(&mut h)).is_err() {
                return out;
            }
            Some(h.finalize().into())
        } else {
            None
        };
        out.entries.push(Entry {
            path,
            ty,
            size,
            sha256,
        });
    }
    out.complete = true;
    out
}

struct HashWriter<'a>(&'a mut Sha256);

impl Write for HashWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The inverse of [`escape`]: `None` when `shown` is not something `escape` writes.
pub fn unescape(shown: &str) -> Option<String> {
    let mut out = String::new();
    let mut chars = shown.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next()? {
            '\\' => out.push('\\'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'u' => {
                if chars.next()? != '{' {
                    return None;
                }
                let hex: String = chars.by_ref().take_while(|c| *c != '}').collect();
                out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
            }
            _ => return None,
        }
    }
    Some(out)
}

/// What the window shows for `value` (passed through [`escape`]) is one line, holds nothing
/// hidden, and reads back as exactly `value`: two different values never look the same.
pub fn assert_shown_faithfully(value: &str) {
    let shown = escape(value);
    assert!(
        !shown.text.chars().any(|c| is_hidden(c) || c == '\n'),
        "shown text still hides something: {:?}",
        shown.text
    );
    assert_eq!(
        unescape(&shown.text).as_deref(),
        Some(value),
        "shown as {:?}",
        shown.text
    );
    assert_eq!(
        shown.hidden,
        value
            .chars()
            .any(|c| c != '\\' && (is_hidden(c) || matches!(c, '\n' | '\r' | '\t'))),
        "{value:?}"
    );
}

/// A `.crate` made from text: the whole text is `Cargo.toml`, and each line `#/PATH=DATA`
/// (a TOML comment) adds the file PATH holding DATA, all under `fuzz-0.1.0/`. Names are
/// written raw into the header, as a hostile packer would.
pub fn crate_from_text(text: &[u8]) -> Vec<u8> {
    let mut tar = Vec::new();
    let mut add = |name: &[u8], data: &[u8]| {
        let mut h = tar::Header::new_gnu();
        let full = [b"fuzz-0.1.0/", name].concat();
        let raw = &mut h.as_old_mut().name;
        let n = full.len().min(raw.len());
        raw[..n].copy_from_slice(&full[..n]);
        h.set_entry_type(tar::EntryType::Regular);
        h.set_mode(0o644);
        h.set_size(data.len() as u64);
        h.set_cksum();
        tar.extend_from_slice(h.as_bytes());
        tar.extend_from_slice(data);
        tar.resize(tar.len().div_ceil(512) * 512, 0);
    };
    add(b"Cargo.toml", text);
    for line in text.split(|b| *b == b'\n') {
        if let Some(rest) = line.strip_prefix(b"#/") {
            let (name, data) = match rest.iter().position(|b| *b == b'=') {
                Some(i) => (&rest[..i], &rest[i + 1..]),
                None => (rest, &b""[..]),
            };
            add(name, data);
        }
    }
    tar.extend_from_slice(&[0; 1024]);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&tar).expect("writing to a Vec");
    gz.finish().expect("writing to a Vec")
}
