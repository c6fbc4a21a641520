//! Reading the archive: one bounded pass over the gzip-compressed tar stream that lists every
//! entry, hashes its content, and keeps the packaged `Cargo.toml`; and the hashing reader
//! that covers every byte of the file.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{self, Read};

use sha2::{Digest, Sha256};

use super::manifest::{Manifest, parse_manifest};
use super::{Limits, hex, human_size};

/// What a tar entry is.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Kind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link to this target.
    Symlink(String),
    /// A hard link to this target.
    Hardlink(String),
    /// Anything else (device, fifo, unknown type byte).
    Other(String),
}

/// One entry of the archive.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FileEntry {
    /// Path inside the crate, with the `NAME-VERS/` prefix removed when present.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// What it is.
    pub kind: Kind,
    /// sha256 of the content (regular files read in full).
    pub sha256: Option<[u8; 32]>,
    /// Git's object id of the content as a blob (sha1 of `blob LEN\0` and the content), to
    /// compare with a commit's tree.
    #[serde(default)]
    pub git: Option<[u8; 20]>,
    /// Starts like an executable or a library (ELF, Mach-O, PE, wasm, ar).
    pub(crate) binary: bool,
}

/// What is inside the archive.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Contents {
    /// Entries in archive order.
    pub files: Vec<FileEntry>,
    /// Bytes of regular files.
    pub unpacked: u64,
    /// The packaged `Cargo.toml`, if it could be read.
    pub manifest: Option<Manifest>,
    /// Hostile or malformed things; any of them deserves a red flag.
    pub problems: Vec<String>,
    /// The text of the files a reviewer may read line by line (`.cargo_vcs_info.json`, the
    /// manifests, Rust sources, files outside `src/`; up to `TEXTS_MAX` in all): kept for
    /// the provenance check and the line diffs, never sent to the window.
    #[serde(skip)]
    pub texts: BTreeMap<String, String>,
    /// The bytes in `texts`.
    #[serde(skip)]
    texts_len: u64,
}

impl Contents {
    /// An empty listing with one problem: it stopped, and why.
    fn stopped(why: &str) -> Contents {
        Contents {
            problems: vec![why.to_string()],
            ..Default::default()
        }
    }
}

/// The most text [`Contents::texts`] keeps of one file, and of all of them: what a person can
/// read in a window, and what a hostile archive may make the helper hold.
pub const TEXT_MAX: u64 = 256 << 10;
/// See [`TEXT_MAX`].
pub const TEXTS_MAX: u64 = 4 << 20;
/// The most of `Cargo.lock` kept, to compare its pins with the commit's.
pub const LOCK_MAX: u64 = 1 << 20;

/// Longest entry name or link target listed, in bytes: Linux's `PATH_MAX`. A GNU long name
/// or a pax path is otherwise bounded only by [`Limits::max_unpacked`], and every copy of it
/// (listing, problems, flags, the window) would cost as much.
pub const MAX_NAME: usize = 4096;

fn looks_binary(head: &[u8]) -> bool {
    const MAGIC: &[&[u8]] = &[
        b"\x7fELF",
        b"\xfe\xed\xfa\xce",
        b"\xfe\xed\xfa\xcf",
        b"\xce\xfa\xed\xfe",
        b"\xcf\xfa\xed\xfe",
        b"\xca\xfe\xba\xbe",
        b"MZ",
        b"\0asm",
        b"!<arch>",
    ];
    MAGIC.iter().any(|m| head.starts_with(m))
}

/// Reads through `inner`, hashing every byte that passes.
struct Hashing<R> {
    inner: R,
    hasher: Sha256,
    read: u64,
    cap: u64,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let room = (self.cap.saturating_sub(self.read)).min(buf.len() as u64) as usize;
        if room == 0 && !buf.is_empty() {
            // One byte more than the cap tells a file that grew apart from one that ended.
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => Err(io::Error::other("the file grew while it was read")),
            };
        }
        let n = self.inner.read(&mut buf[..room])?;
        self.hasher.update(&buf[..n]);
        self.read += n as u64;
        Ok(n)
    }
}

/// Stops a decompressed stream after `left` bytes, and remembers that it did, so that the
/// error a reader above it makes of the stop can be told from a malformed stream. Shared with
/// the publish metadata, which reads the same archives.
///
/// Once the limit is reached every read fails, even one into an empty buffer: whatever the
/// reader above asks for, the first read that meets the limit says so.
pub(crate) struct Bounded<R> {
    inner: R,
    left: u64,
    hit: bool,
}

impl<R> Bounded<R> {
    /// `inner`, of which at most `left` bytes are read.
    pub(crate) fn new(inner: R, left: u64) -> Bounded<R> {
        Bounded {
            inner,
            left,
            hit: false,
        }
    }

    /// Whether a read failed because the limit was reached.
    pub(crate) fn hit(&self) -> bool {
        self.hit
    }
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            self.hit = true;
            return Err(io::Error::other("unpacked size limit reached"));
        }
        let room = self.left.min(buf.len() as u64) as usize;
        let n = self.inner.read(&mut buf[..room])?;
        self.left -= n as u64;
        Ok(n)
    }
}

/// The sha256 of `file`'s bytes (hex), reading at most [`Limits::max_crate_file`].
pub(super) fn hash_only(file: File, limits: &Limits) -> io::Result<String> {
    let mut hashing = Hashing {
        inner: file,
        hasher: Sha256::new(),
        read: 0,
        cap: limits.max_crate_file,
    };
    io::copy(&mut hashing, &mut io::sink())?;
    Ok(hex(&hashing.hasher.finalize()))
}

/// One read of `file`: the sha256 of its bytes, and what the archive holds. The bytes are
/// hashed on this thread as they are read, and handed to a second thread that inflates and
/// lists them, so the two run side by side (the file is read once, never held whole).
///
/// # Errors
///
/// Reading the file failed, or it is larger than [`Limits::max_crate_file`].
pub fn hash_and_list(file: File, limits: &Limits) -> io::Result<(String, Contents)> {
    let mut hashing = Hashing {
        inner: file,
        hasher: Sha256::new(),
        read: 0,
        cap: limits.max_crate_file,
    };
    // A few chunks in flight: enough to keep both threads busy, little memory.
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(8);
    std::thread::scope(|s| {
        let lister = s.spawn(move || list(Chunks::new(rx), limits));
        let mut listing = Some(tx);
        let read = loop {
            let mut chunk = vec![0u8; 64 << 10];
            let n = match hashing.read(&mut chunk) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => break Err(e),
            };
            if n == 0 {
                break Ok(());
            }
            chunk.truncate(n);
            // The lister may stop early (a problem, a limit): everything after is still part
            // of the file cargo uploads, and still hashed.
            if let Some(tx) = &listing
                && tx.send(chunk).is_err()
            {
                listing = None;
            }
        };
        drop(listing);
        let contents = lister
            .join()
            .unwrap_or_else(|_| Contents::stopped("the archive listing failed"));
        read.map(|()| contents)
    })
    .map(|contents| (hex(&hashing.hasher.finalize()), contents))
}

/// The chunks [`hash_and_list`] hands over, as a reader; ends when the sender is dropped.
struct Chunks {
    rx: std::sync::mpsc::Receiver<Vec<u8>>,
    chunk: Vec<u8>,
    at: usize,
}

impl Chunks {
    fn new(rx: std::sync::mpsc::Receiver<Vec<u8>>) -> Chunks {
        Chunks {
            rx,
            chunk: Vec::new(),
            at: 0,
        }
    }
}

impl Read for Chunks {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.at == self.chunk.len() {
            match self.rx.recv() {
                Ok(c) => {
                    self.chunk = c;
                    self.at = 0;
                }
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.chunk.len() - self.at);
        buf[..n].copy_from_slice(&self.chunk[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// Lists a gzip-compressed tar stream, within `limits`. Problems end up in
/// [`Contents::problems`]; this never fails.
pub fn list(reader: impl Read, limits: &Limits) -> Contents {
    let mut contents = Contents::default();
    let mut bounded = Bounded::new(flate2::read::GzDecoder::new(reader), limits.max_unpacked);
    let mut manifest_text: Option<Vec<u8>> = None;
    let result = list_entries(&mut bounded, limits, &mut contents, &mut manifest_text);
    if let Err(e) = result {
        if bounded.hit() {
            contents.problems.push(format!(
                "the archive unpacks to more than {} (a gzip bomb?); listing stopped there",
                human_size(limits.max_unpacked)
            ));
        } else {
            contents.problems.push(format!(
                "the archive is malformed ({e}); listing stopped there"
            ));
        }
    }
    match manifest_text.map(|t| parse_manifest(&t)) {
        Some(Ok(m)) => contents.manifest = Some(m),
        Some(Err(e)) => contents
            .problems
            .push(format!("the packaged Cargo.toml cannot be read: {e}")),
        None if contents.problems.is_empty() => contents
            .problems
            .push("the archive has no Cargo.toml at its root".into()),
        None => {}
    }
    contents
}

fn list_entries(
    reader: &mut impl Read,
    limits: &Limits,
    contents: &mut Contents,
    manifest: &mut Option<Vec<u8>>,
) -> io::Result<()> {
    let mut archive = tar::Archive::new(reader);
    let mut prefix: Option<String> = None;
    let mut seen = BTreeSet::new();
    for entry in archive.entries()? {
        let mut entry = entry?;
        if contents.files.len() >= limits.max_entries {
            contents.problems.push(format!(
                "more than {} entries; listing stopped there",
                limits.max_entries
            ));
            return Ok(());
        }
        let Some((raw, size)) = name_and_size(&entry, limits, &mut contents.problems) else {
            return Ok(());
        };
        let path = unpacked_path(&raw, &mut prefix, &mut contents.problems);
        let kind = kind_of(&entry);
        flag_kind(&path, &kind, &mut contents.problems);
        // Case-insensitive file systems (macOS, Windows) unpack `CARGO.TOML` over `Cargo.toml`.
        if kind != Kind::Dir && !seen.insert(path.to_lowercase()) {
            contents.problems.push(format!(
                "{path} appears twice (letter case aside); which copy wins depends on the tool"
            ));
        }
        let mut sha256 = None;
        let mut git = None;
        let mut binary = false;
        if kind == Kind::File {
            let manifest_here = path == "Cargo.toml" && size <= limits.max_manifest;
            let text_here = kept_text_candidate(&path, size, contents);
            let read = read_content(&mut entry, size, manifest_here || text_here)?;
            binary = read.binary;
            sha256 = Some(read.sha256);
            git = Some(read.git);
            contents.unpacked += size;
            if text_here && let Ok(text) = std::str::from_utf8(&read.kept) {
                contents.texts_len += text.len() as u64;
                contents.texts.insert(path.clone(), text.to_string());
            }
            if manifest_here {
                *manifest = Some(read.kept);
            }
        }
        contents.files.push(FileEntry {
            path,
            size,
            kind,
            sha256,
            git,
            binary,
        });
    }
    Ok(())
}

/// What the listing says of a name beyond [`MAX_NAME`].
fn too_long(what: &str, len: usize) -> String {
    format!(
        "{what} is {} long, longer than any path a system unpacks; listing stopped there",
        human_size(len as u64)
    )
}

/// The entry's name (lossily decoded) and claimed size, or `None` with the problem noted when
/// its name, its link's target or its size is beyond what is listed: copying such a header
/// around would cost as much as it claims, so the listing stops at it.
fn name_and_size<R: Read>(
    entry: &tar::Entry<'_, R>,
    limits: &Limits,
    problems: &mut Vec<String>,
) -> Option<(String, u64)> {
    let raw = {
        let name = entry.path_bytes();
        if name.len() > MAX_NAME {
            problems.push(too_long("an entry's name", name.len()));
            return None;
        }
        String::from_utf8_lossy(&name).into_owned()
    };
    if let Some(len) = entry.link_name_bytes().map(|l| l.len())
        && len > MAX_NAME
    {
        problems.push(too_long(&format!("the name {raw} links to"), len));
        return None;
    }
    let size = entry.size();
    if size > limits.max_unpacked {
        problems.push(format!(
            "{raw} claims to be {}; listing stopped there",
            human_size(size)
        ));
        return None;
    }
    Some((raw, size))
}

/// The path inside the crate that the entry named `raw` unpacks to, noting every way the name
/// differs from what cargo writes. `prefix` is the top directory, taken from the first entry.
fn unpacked_path(raw: &str, prefix: &mut Option<String>, problems: &mut Vec<String>) -> String {
    // Every entry must sit under one top directory, as cargo writes it.
    let top = raw.split('/').next().unwrap_or("").to_string();
    let prefix = prefix.get_or_insert_with(|| top.clone());
    let path = match raw.strip_prefix(prefix.as_str()) {
        // The top directory itself, or an entry inside it.
        Some("") | Some("/") => String::new(),
        Some(rest) if rest.starts_with('/') => rest[1..].to_string(),
        _ => {
            problems.push(format!("{raw} is outside the crate's directory"));
            raw.to_string()
        }
    };
    if raw.starts_with('/')
        || raw.split(['/', '\\']).any(|c| c == "..")
        || raw.contains('\\')
        || raw.contains(':')
    {
        problems.push(format!("{raw} tries to escape the unpack directory"));
    }
    // What an unpacker makes of the name (tar's `unpack_in`, as cargo uses it): `.` and
    // empty components dropped. `NAME-VERS/./Cargo.toml` is the manifest, once unpacked.
    let normal: String = path
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect::<Vec<_>>()
        .join("/");
    if normal != path.trim_end_matches('/') {
        problems.push(format!(
            "{raw} has `.` or empty parts in its name, which cargo never writes; unpacked, \
             it is {normal}"
        ));
    }
    normal
}

/// What the entry's header says it is.
fn kind_of<R: Read>(entry: &tar::Entry<'_, R>) -> Kind {
    let ty = entry.header().entry_type();
    let link = || {
        entry
            .link_name_bytes()
            .map(|l| String::from_utf8_lossy(&l).into_owned())
            .unwrap_or_default()
    };
    if ty.is_file() {
        Kind::File
    } else if ty.is_dir() {
        Kind::Dir
    } else if ty.is_symlink() {
        Kind::Symlink(link())
    } else if ty.is_hard_link() {
        Kind::Hardlink(link())
    } else {
        Kind::Other(format!("type {:?}", ty.as_byte() as char))
    }
}

/// Notes a kind of entry that cargo never packages.
fn flag_kind(path: &str, kind: &Kind, problems: &mut Vec<String>) {
    match kind {
        Kind::Symlink(t) | Kind::Hardlink(t) => problems.push(format!(
            "{path} is a link to {t}; cargo never packages links"
        )),
        Kind::Other(t) => problems.push(format!("{path} is a special file ({t})")),
        Kind::File | Kind::Dir => {}
    }
}

/// What one pass over a regular file's content gives.
struct Content {
    sha256: [u8; 32],
    git: [u8; 20],
    binary: bool,
    /// The whole content, when it was asked for (the manifest); else empty.
    kept: Vec<u8>,
}

/// Whether the text of the file at `path` is kept (while the listing runs, before the
/// manifest says which build script or library it has; bounded by [`TEXTS_MAX`]).
fn kept_text_candidate(path: &str, size: u64, contents: &Contents) -> bool {
    let kept = contents.texts_len;
    // The lock is compared with the commit's (provenance): a large project's runs to
    // hundreds of KiB.
    if path == "Cargo.lock" {
        return size <= LOCK_MAX && kept + size <= TEXTS_MAX;
    }
    let wanted = path == ".cargo_vcs_info.json"
        || path == "Cargo.toml"
        || path == "Cargo.toml.orig"
        || path.ends_with(".rs")
        || super::review::outside_src(path);
    wanted && size <= TEXT_MAX && kept + size <= TEXTS_MAX
}

/// Reads a regular file's content to its end in one pass, hashing it (sha256, and git's blob
/// id of `size` bytes), looking at its first bytes, and keeping it all when `keep`.
fn read_content(entry: &mut impl Read, size: u64, keep: bool) -> io::Result<Content> {
    let mut blob = <sha1::Sha1 as sha1::Digest>::new();
    sha1::Digest::update(&mut blob, format!("blob {size}\0").as_bytes());
    let mut hasher = Sha256::new();
    let mut head = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    let mut kept = Vec::new();
    loop {
        let n = entry.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        sha1::Digest::update(&mut blob, &buf[..n]);
        if head.len() < 8 {
            head.extend_from_slice(&buf[..n.min(8 - head.len())]);
        }
        if keep {
            kept.extend_from_slice(&buf[..n]);
        }
    }
    Ok(Content {
        sha256: hasher.finalize().into(),
        git: sha1::Digest::finalize(blob).into(),
        binary: looks_binary(&head),
        kept,
    })
}
