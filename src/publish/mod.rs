//! Publishing through the helper (`cargo confirm-gui publish`): cargo packages, the helper
//! reads each `.crate` into its own memory once, shows the whole plan in one window, and
//! uploads exactly those bytes itself, so the token never leaves the helper.
//!
//! - `package` runs `cargo package` with the person's selection and reads each file once;
//! - [`metadata`] builds the upload's JSON from the packaged manifest, as cargo does;
//! - [`upload`] speaks the registry's web API over the helper's own connections (rustls,
//!   system roots, no proxy from the environment or cargo's config, plain http only to
//!   loopback);
//! - `Uploader` is the process that does it: started before the window (while the helper
//!   may still start a setgid process), with an empty environment, and the only part of the
//!   helper allowed the network. It gets the token over a pipe after a person's Approve.

mod error;
pub mod metadata;
pub(crate) use error::Error;
#[cfg(target_os = "linux")]
pub mod upload;
#[cfg(not(target_os = "linux"))]
#[path = "upload_other.rs"]
pub(crate) mod upload;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use zeroize::Zeroizing;

/// The argument that makes the binary the uploader process.
pub const UPLOAD_ARG: &str = "__upload";

/// How long the uploader waits for a published version to appear in the index.
const INDEX_WAIT: Duration = Duration::from_secs(120);

/// The largest `.crate` read (crates.io's limit is 10 MiB; private registries may allow
/// more).
const MAX_CRATE: u64 = 1 << 30;

/// One packaged crate, read into memory once: what the window shows and what is uploaded.
#[derive(Debug, Clone)]
pub(crate) struct Packaged {
    /// Crate name, from cargo's "Packaging" line.
    pub(crate) name: String,
    /// Version.
    pub(crate) vers: String,
    /// Where cargo wrote it.
    pub(crate) path: PathBuf,
    /// The bytes, read once.
    pub(crate) bytes: Vec<u8>,
    /// `package.publish` as cargo reads it: `None` anywhere, else the registries allowed
    /// (empty: `publish = false`).
    publish: Option<Vec<String>>,
}

/// A workspace package as `cargo metadata` names it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
struct Member {
    name: String,
    #[serde(rename = "version")]
    vers: String,
    publish: Option<Vec<String>>,
}

/// The part of `cargo metadata --format-version 1 --no-deps` the helper reads. Our own
/// four fields rather than the `cargo_metadata` crate: its `Package` requires some twenty
/// fields and adds camino to the build, for two strings and a list per package.
#[derive(serde::Deserialize)]
struct CargoMetadata {
    packages: Vec<Member>,
    target_directory: Option<PathBuf>,
}

/// The options of `cargo publish` that `cargo metadata` takes too, so that it reads the same
/// workspace and configuration as `cargo package`.
fn metadata_args(args: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        for flag in ["--manifest-path", "--config", "-Z"] {
            if a == flag {
                out.push(a.clone());
                if let Some(v) = it.next() {
                    out.push(v.clone());
                }
            } else if a.starts_with(&format!("{flag}=")) {
                out.push(a.clone());
            }
        }
        if matches!(a.as_str(), "--locked" | "--offline" | "--frozen") {
            out.push(a.clone());
        }
    }
    out
}

/// The options of `cargo publish` that `cargo package` does not take, and what to do.
fn package_args(args: &[String]) -> Result<Vec<String>, Error> {
    let mut out = Vec::new();
    for a in args {
        let flag = a.split('=').next().unwrap_or(a);
        match flag {
            "--token" => {
                return Err(Error::TokenArgument);
            }
            "--dry-run" => {
                return Err(Error::DryRun);
            }
            // cargo's "Packaging" lines are how the helper learns what was packaged.
            "-q" | "--quiet" => {}
            _ => out.push(a.clone()),
        }
    }
    Ok(out)
}

/// The value of `--flag V` or `--flag=V` in `args`.
pub(crate) fn arg_value(args: &[String], flag: &str) -> Option<String> {
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == flag {
            return it.next().cloned();
        }
        if let Some(v) = a.strip_prefix(flag).and_then(|r| r.strip_prefix('=')) {
            return Some(v.to_string());
        }
    }
    None
}

/// `NAME VERS` from a line of cargo's output: `   Packaging foo v1.2.3 (/path)`.
fn packaging_line(line: &str) -> Option<(String, String)> {
    // cargo colours its status words (CSI sequences); anstream's stripper (already in clap's
    // tree) also drops OSC hyperlinks and other control sequences.
    let plain = anstream::adapter::strip_str(line).to_string();
    let rest = plain.trim_start().strip_prefix("Packaging ")?;
    let mut words = rest.split_whitespace();
    let name = words.next()?;
    let vers = words.next()?.strip_prefix('v')?;
    Some((name.to_string(), vers.to_string()))
}

/// Runs `cargo package` (the `cargo` that ran this subcommand) with the person's selection,
/// showing its output as it goes, and reads each `.crate` it made into memory, once.
pub(crate) fn package(cargo: &Path, args: &[String]) -> Result<Vec<Packaged>, Error> {
    let forwarded = package_args(args)?;
    let (target_dir, members) = workspace(cargo, args)?;
    let mut cmd = Command::new(cargo);
    cmd.arg("package")
        .args(&forwarded)
        // The "Packaging" lines are how the helper learns what was packaged.
        .env("CARGO_TERM_QUIET", "false")
        .stdin(Stdio::null())
        .stdout(Stdio::inherit())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|source| Error::CargoPackage {
        cargo: cargo.to_path_buf(),
        source,
    })?;
    let mut packaged = Vec::new();
    if let Some(err) = child.stderr.take() {
        for line in BufReader::new(err).lines() {
            let Ok(line) = line else { break };
            eprintln!("{line}");
            if let Some(p) = packaging_line(&line) {
                packaged.push(p);
            }
        }
    }
    let status = child.wait().map_err(Error::CargoPackageWait)?;
    if !status.success() {
        return Err(Error::PackageFailed { status });
    }
    if packaged.is_empty() {
        return Err(Error::PackagedNothing);
    }
    packaged
        .into_iter()
        .map(|(name, vers)| {
            crate::package::validate_name(&name, &vers).map_err(Error::BadPackagingLine)?;
            // Anything can write lines into cargo's stderr pipe (`/proc/CARGO/fd/2`): only a
            // package of this workspace counts.
            let member = members
                .iter()
                .find(|m| m.name == name && m.vers == vers)
                .ok_or_else(|| Error::NotMember {
                    name: name.clone(),
                    vers: vers.clone(),
                })?;
            let path = target_dir
                .join("package")
                .join(format!("{name}-{vers}.crate"));
            let bytes = read_once(&path)?;
            Ok(Packaged {
                name,
                vers,
                path,
                bytes,
                publish: member.publish.clone(),
            })
        })
        .collect()
}

fn read_once(path: &Path) -> Result<Vec<u8>, Error> {
    let unreadable = |source| Error::ReadCrate {
        path: path.to_path_buf(),
        source,
    };
    let mut opts = std::fs::OpenOptions::new();
    opts.read(true);
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // Not a FIFO that hangs the helper, not a link to some other file.
        opts.custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW);
    }
    let file = opts.open(path).map_err(unreadable)?;
    if !file.metadata().map(|m| m.is_file()).unwrap_or(false) {
        return Err(Error::NotRegularFile {
            path: path.to_path_buf(),
        });
    }
    let mut bytes = Vec::new();
    file.take(MAX_CRATE + 1)
        .read_to_end(&mut bytes)
        .map_err(unreadable)?;
    if bytes.len() as u64 > MAX_CRATE {
        return Err(Error::CrateTooLarge {
            path: path.to_path_buf(),
        });
    }
    Ok(bytes)
}

/// The target directory `cargo package` writes to (`--target-dir` when given, else what
/// `cargo metadata` says, which reads `CARGO_TARGET_DIR` and cargo's config as `cargo package`
/// does), and the workspace's packages.
fn workspace(cargo: &Path, args: &[String]) -> Result<(PathBuf, Vec<Member>), Error> {
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .args(metadata_args(args))
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(Error::CargoMetadata)?;
    if !out.status.success() {
        return Err(Error::MetadataFailed);
    }
    let v: CargoMetadata = serde_json::from_slice(&out.stdout).map_err(Error::MetadataOutput)?;
    let members = v.packages;
    let target_dir = match arg_value(args, "--target-dir") {
        Some(t) => {
            let t = PathBuf::from(t);
            if t.is_absolute() {
                t
            } else {
                std::env::current_dir().map_err(Error::CurrentDir)?.join(t)
            }
        }
        None => v.target_directory.ok_or(Error::NoTargetDirectory)?,
    };
    Ok((target_dir, members))
}

/// cargo's `package.publish` rules for a plan going to `registry` (`None`: a registry given
/// by URL): a crate with `publish = false` is left out of a plan of several (as
/// `cargo publish --workspace` does) and refused alone; a list that does not name the
/// registry refuses. Returns the crates kept and the names left out.
pub(crate) fn publish_rules(
    crates: Vec<Packaged>,
    registry: Option<&str>,
) -> Result<(Vec<Packaged>, Vec<String>), Error> {
    let several = crates.len() > 1;
    let mut kept = Vec::new();
    let mut left_out = Vec::new();
    for c in crates {
        match &c.publish {
            None => kept.push(c),
            Some(list) if list.is_empty() && several => {
                left_out.push(format!("{} {}", c.name, c.vers));
            }
            Some(list) if list.is_empty() => {
                return Err(Error::PublishFalse {
                    name: c.name,
                    vers: c.vers,
                });
            }
            Some(list) => match registry {
                Some(r) if list.iter().any(|l| l == r) => kept.push(c),
                _ => {
                    return Err(Error::RegistryNotAllowed {
                        allowed: list.clone(),
                        name: c.name,
                        vers: c.vers,
                        registry: registry.map(str::to_string),
                    });
                }
            },
        }
    }
    if kept.is_empty() {
        return Err(Error::NothingPublishable);
    }
    Ok((kept, left_out))
}

/// The registry cargo would pick when none is named: the only one every crate's
/// `package.publish` allows, if there is one such.
pub(crate) fn default_registry(crates: &[Packaged]) -> Option<String> {
    let mut lists = crates.iter().filter_map(|c| c.publish.as_ref());
    let first = lists.next()?;
    match first.as_slice() {
        [only] if lists.all(|l| l.as_slice() == [only.clone()]) => Some(only.clone()),
        _ => None,
    }
}

/// Orders `crates` so that each comes after the crates of the plan it depends on (cargo's
/// order otherwise). `depends_on[i]` lists the crate names crate `i` depends on.
pub(crate) fn dependency_order(
    names: &[String],
    depends_on: &[Vec<String>],
) -> Result<Vec<usize>, Error> {
    let mut done: Vec<usize> = Vec::new();
    let mut left: Vec<usize> = (0..names.len()).collect();
    while !left.is_empty() {
        let ready = left.iter().position(|&i| {
            depends_on[i].iter().all(|d| {
                !names.contains(d) || d == &names[i] || done.iter().any(|&j| &names[j] == d)
            })
        });
        match ready {
            Some(pos) => done.push(left.remove(pos)),
            None => {
                return Err(Error::Cycle {
                    names: left.iter().map(|&i| names[i].clone()).collect(),
                });
            }
        }
    }
    Ok(done)
}

/// One crate for the uploader: its identity and the request body (metadata and bytes).
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub(crate) struct JobCrate {
    name: String,
    vers: String,
    cksum: String,
    len: usize,
}

/// What the uploader is asked to do with each crate of a job.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) enum Action {
    /// Upload its body, then wait for it in the index.
    Publish,
    /// Yank the version.
    Yank,
    /// Unyank the version.
    Unyank,
    /// List, add or remove the crate's owners.
    Owners(crate::request::OwnerChange),
}

/// What the uploader is told to do: a JSON line, followed by the crates' bodies.
#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct JobHead {
    action: Action,
    index_url: String,
    token: String,
    crates: Vec<JobCrate>,
}

/// What the uploader says about one crate: a JSON line each.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) enum Outcome {
    /// The registry accepted it; its warnings.
    Published {
        /// Crate name.
        name: String,
        /// Version.
        vers: String,
        /// The registry's warnings.
        warnings: Vec<String>,
    },
    /// The index lists it with this checksum.
    Indexed {
        /// Crate name.
        name: String,
        /// Version.
        vers: String,
        /// The checksum the index lists.
        cksum: String,
    },
    /// The registry yanked (or, with `undo`, unyanked) it.
    Yanked {
        /// Crate name.
        name: String,
        /// Version.
        vers: String,
        /// It was an unyank.
        undo: bool,
    },
    /// The registry answered an owners request: the owners listed, or its message.
    Owners {
        /// Crate name.
        name: String,
        /// What the registry said (escaped).
        lines: Vec<String>,
    },
    /// It failed; the plan stops here.
    Failed {
        /// Crate name.
        name: String,
        /// Version.
        vers: String,
        /// Why.
        why: String,
    },
}

/// One crate of a job for the uploader: its identity, the checksum the person approved, and
/// the request body (the upload's metadata and the `.crate`'s bytes; empty for a yank or an
/// owners change, which send none).
#[derive(Debug, Clone, Default)]
pub(crate) struct Job {
    /// Crate name.
    pub(crate) name: String,
    /// Version (empty for an owners change).
    pub(crate) vers: String,
    /// The approved checksum (empty where nothing is uploaded).
    pub(crate) cksum: String,
    /// What is uploaded.
    pub(crate) body: Vec<u8>,
}

/// The uploader process's role: one job head (a JSON line, then the crates' bodies as raw
/// bytes), and an [`Outcome`] line per step.
pub(crate) struct UploaderRole;

impl crate::child::Role for UploaderRole {
    const ARG: &'static str = UPLOAD_ARG;
    const NAME: &'static str = "the uploader";
    type Ask = JobHead;
    type Answer = Outcome;
}

/// The uploader process, started before any window and told what to do only after a
/// person's Approve. Dropping it unused ends it with nothing sent.
pub(crate) struct Uploader {
    child: crate::child::Child<UploaderRole>,
}

impl Uploader {
    /// Starts the uploader (this binary, `__upload`) with an empty environment.
    pub(crate) fn start() -> Result<Uploader, Error> {
        let env = vec![("PATH".to_string(), "/usr/bin:/bin".into())];
        crate::child::Child::start(env)
            .map(|child| Uploader { child })
            .map_err(Error::UploaderStart)
    }

    /// Hands over the job (the token, and each crate's body in plan order) and reports each
    /// outcome to `each` as it comes. Stops at the first failure.
    pub(crate) fn run(
        mut self,
        action: Action,
        index_url: &str,
        token: &str,
        crates: &[Job],
        mut each: impl FnMut(&Outcome),
    ) -> Result<Vec<Outcome>, Error> {
        let mut head = JobHead {
            action,
            index_url: index_url.to_string(),
            token: token.to_string(),
            crates: crates
                .iter()
                .map(|job| JobCrate {
                    name: job.name.clone(),
                    vers: job.vers.clone(),
                    cksum: job.cksum.clone(),
                    len: job.body.len(),
                })
                .collect(),
        };
        let mut to = self.child.take_input().ok_or(Error::UploaderUsed)?;
        // The head is written (and its line wiped) here; the head's own copy of the token
        // is wiped right after.
        let written = crate::child::write_line(&mut to, &head);
        zeroize::Zeroize::zeroize(&mut head.token);
        written.map_err(Error::GiveJob)?;
        // Written from a thread of its own: the uploader answers for one crate before it
        // reads the next body, and a long answer must not block both sides.
        let bodies: Vec<Vec<u8>> = crates.iter().map(|c| c.body.clone()).collect();
        let writer = std::thread::spawn(move || -> std::io::Result<()> {
            for body in &bodies {
                to.write_all(body)?;
            }
            to.flush()
        });
        let mut outcomes = Vec::new();
        while let Some(o) = self.child.recv().map_err(Error::Answer)? {
            each(&o);
            outcomes.push(o);
        }
        let _ = self.child.finish();
        // A failure stops the uploader before it reads every body: that is not an error.
        let _ = writer.join();
        Ok(outcomes)
    }
}

/// The uploader process: reads one job from stdin, uploads each crate in order with the
/// helper's own client, waits for each to appear in the index, and says what happened on
/// stdout, a JSON line per step. No job (the broker closed the pipe) ends it quietly.
pub(crate) fn serve_upload() -> Result<(), Error> {
    let mut input = BufReader::new(std::io::stdin().lock());
    let Some(head) = read_job_head(&mut input)? else {
        return Ok(());
    };
    let token = Zeroizing::new(head.token);
    let mut out = std::io::stdout().lock();
    let client = match upload::Client::new(&head.index_url, Some(&token)) {
        Ok(c) => c,
        Err(e) => {
            let first = head.crates.first();
            return say(
                &mut out,
                &Outcome::Failed {
                    name: first.map(|c| c.name.clone()).unwrap_or_default(),
                    vers: first.map(|c| c.vers.clone()).unwrap_or_default(),
                    why: e.to_string(),
                },
            );
        }
    };
    match &head.action {
        Action::Owners(change) => each_crate(&head.crates, &mut out, |c| {
            let lines = client.owners(&token, &c.name, change)?;
            Ok(Outcome::Owners {
                name: c.name.clone(),
                lines,
            })
        }),
        Action::Yank | Action::Unyank => each_crate(&head.crates, &mut out, |c| {
            let undo = head.action == Action::Unyank;
            if undo {
                client.unyank(&token, &c.name, &c.vers)?;
            } else {
                client.yank(&token, &c.name, &c.vers)?;
            }
            Ok(Outcome::Yanked {
                name: c.name.clone(),
                vers: c.vers.clone(),
                undo,
            })
        }),
        Action::Publish => serve_publish(&client, &token, &head.crates, &mut input, &mut out),
    }
}

/// The job's first line, at most 1 MiB; `None` when the broker closed the pipe first. The
/// line holds the token, so it is wiped once read.
fn read_job_head(input: &mut impl BufRead) -> Result<Option<JobHead>, Error> {
    let mut line = Zeroizing::new(Vec::new());
    input
        .by_ref()
        .take(1 << 20)
        .read_until(b'\n', &mut line)
        .map_err(Error::ReadJob)?;
    if line.is_empty() {
        return Ok(None);
    }
    let head: JobHead = serde_json::from_slice(&line).map_err(Error::BadJob)?;
    Ok(Some(head))
}

/// A registry's text cut to about 2 KiB: the broker shows it, and a registry is not trusted to
/// keep it short.
fn cap(s: String) -> String {
    if s.len() <= 2048 {
        return s;
    }
    let mut end = 2000;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes in all)", &s[..end], s.len())
}

/// Writes `o` as one JSON line, the registry's words in it capped (at most 20 warnings).
fn say(out: &mut impl Write, o: &Outcome) -> Result<(), Error> {
    let o = match o.clone() {
        Outcome::Published {
            name,
            vers,
            warnings,
        } => Outcome::Published {
            name,
            vers,
            warnings: warnings.into_iter().take(20).map(cap).collect(),
        },
        Outcome::Failed { name, vers, why } => Outcome::Failed {
            name,
            vers,
            why: cap(why),
        },
        other => other,
    };
    let o = &o;
    let mut l = serde_json::to_vec(o).map_err(Error::Encode)?;
    l.push(b'\n');
    out.write_all(&l)
        .and_then(|()| out.flush())
        .map_err(Error::Say)
}

/// The outcome that ends a job at crate `c`.
fn failed(c: &JobCrate, why: String) -> Outcome {
    Outcome::Failed {
        name: c.name.clone(),
        vers: c.vers.clone(),
        why,
    }
}

/// Runs `act` on each crate in turn and says its outcome, up to the first failure, which ends
/// the job (owners, yank and unyank jobs).
fn each_crate(
    crates: &[JobCrate],
    out: &mut impl Write,
    mut act: impl FnMut(&JobCrate) -> Result<Outcome, upload::Error>,
) -> Result<(), Error> {
    for c in crates {
        match act(c) {
            Ok(outcome) => say(out, &outcome)?,
            Err(e) => return say(out, &failed(c, e.to_string())),
        }
    }
    Ok(())
}

/// A publish job: each crate's body, read from `input` only when its turn comes, uploaded and
/// then waited for in the index, up to the first failure.
fn serve_publish(
    client: &upload::Client,
    token: &str,
    crates: &[JobCrate],
    input: &mut impl Read,
    out: &mut impl Write,
) -> Result<(), Error> {
    for c in crates {
        let mut body = vec![0u8; c.len];
        input.read_exact(&mut body).map_err(Error::JobEnded)?;
        match client.publish(token, &body) {
            Ok(warnings) => say(
                out,
                &Outcome::Published {
                    name: c.name.clone(),
                    vers: c.vers.clone(),
                    warnings,
                },
            )?,
            Err(e) => return say(out, &failed(c, e.to_string())),
        }
        match client.wait_for(Some(token), &c.name, &c.vers, INDEX_WAIT) {
            Ok(entry) => say(
                out,
                &Outcome::Indexed {
                    name: c.name.clone(),
                    vers: c.vers.clone(),
                    cksum: entry.cksum,
                },
            )?,
            Err(e) => {
                return say(
                    out,
                    &failed(c, format!("published, but not seen in the index: {e}")),
                );
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn packaging_lines_are_read_with_or_without_colour() {
        assert_eq!(
            packaging_line("   Packaging foo-bar v1.2.3-rc.1 (/tmp/x)"),
            Some(("foo-bar".into(), "1.2.3-rc.1".into()))
        );
        assert_eq!(
            packaging_line("\u{1b}[1m\u{1b}[32m   Packaging\u{1b}[0m foo v0.1.0 (/tmp/x)"),
            Some(("foo".into(), "0.1.0".into()))
        );
        assert_eq!(packaging_line("    Packaged 4 files, 1.0KiB"), None);
        assert_eq!(packaging_line("   Verifying foo v0.1.0"), None);
        // An OSC 8 hyperlink around the name (terminals that support it): the link's target
        // is not part of the words.
        assert_eq!(
            packaging_line(
                "   Packaging \u{1b}]8;;file:///tmp/x\u{1b}\\foo\u{1b}]8;;\u{1b}\\ v0.1.0 (/tmp/x)"
            ),
            Some(("foo".into(), "0.1.0".into()))
        );
    }

    #[test]
    fn the_token_and_a_dry_run_are_refused_and_quiet_is_dropped() {
        assert!(
            package_args(&s(&["--token", "x"]))
                .unwrap_err()
                .to_string()
                .contains("store")
        );
        assert!(package_args(&s(&["--token=x"])).is_err());
        assert!(package_args(&s(&["--dry-run"])).is_err());
        assert_eq!(
            package_args(&s(&["-q", "-p", "a", "--registry", "local"])).unwrap(),
            s(&["-p", "a", "--registry", "local"])
        );
    }

    #[test]
    fn cargo_metadata_is_read_as_typed() {
        let out = br#"{"packages":[
            {"name":"a","version":"1.0.0","publish":null,"id":"path+file:///w/a#1.0.0",
             "dependencies":[],"targets":[],"features":{},"manifest_path":"/w/a/Cargo.toml"},
            {"name":"b","version":"0.1.0-rc.1","publish":["local"],"edition":"2024"}],
            "workspace_members":[],"target_directory":"/w/target","version":1}"#;
        let v: CargoMetadata = serde_json::from_slice(out).unwrap();
        assert_eq!(v.target_directory, Some(PathBuf::from("/w/target")));
        let read: Vec<_> = v
            .packages
            .iter()
            .map(|m| (m.name.as_str(), m.vers.as_str(), m.publish.clone()))
            .collect();
        assert_eq!(
            read,
            [
                ("a", "1.0.0", None),
                ("b", "0.1.0-rc.1", Some(vec!["local".to_string()]))
            ]
        );
        // A package without its name is not read as a package named "".
        assert!(
            serde_json::from_slice::<CargoMetadata>(br#"{"packages":[{"version":"1.0.0"}]}"#)
                .is_err()
        );
    }

    #[test]
    fn a_plan_uploads_dependencies_first() {
        let names = s(&["app", "core", "util"]);
        let deps = vec![s(&["core", "serde"]), s(&["util"]), s(&[])];
        let order = dependency_order(&names, &deps).unwrap();
        let named: Vec<&str> = order.iter().map(|&i| names[i].as_str()).collect();
        assert_eq!(named, ["util", "core", "app"]);
        let cycle = vec![s(&["core"]), s(&["app"]), s(&[])];
        assert!(
            dependency_order(&names, &cycle)
                .unwrap_err()
                .to_string()
                .contains("cycle")
        );
    }

    fn packaged(name: &str, publish: Option<&[&str]>) -> Packaged {
        Packaged {
            name: name.into(),
            vers: "1.0.0".into(),
            path: PathBuf::from("/t"),
            bytes: Vec::new(),
            publish: publish.map(s),
        }
    }

    #[test]
    fn cargos_publish_rules_hold() {
        // Review of "Publish through the helper": a `publish = false` crate was uploaded, and
        // `publish = ["local"]` went to crates.io.
        let names = |v: &[Packaged]| v.iter().map(|c| c.name.clone()).collect::<Vec<_>>();
        let alone = publish_rules(vec![packaged("internal", Some(&[]))], Some("local"));
        assert!(alone.unwrap_err().to_string().contains("publish = false"));
        let (kept, out) = publish_rules(
            vec![packaged("a", None), packaged("internal", Some(&[]))],
            Some("crates-io"),
        )
        .unwrap();
        assert_eq!((names(&kept), out), (s(&["a"]), s(&["internal 1.0.0"])));
        let wrong = publish_rules(vec![packaged("a", Some(&["local"]))], Some("crates-io"));
        assert!(
            wrong
                .unwrap_err()
                .to_string()
                .contains("may only be published to local")
        );
        assert!(publish_rules(vec![packaged("a", Some(&["local"]))], None).is_err());
        let (kept, _) = publish_rules(
            vec![packaged("a", Some(&["local", "other"]))],
            Some("other"),
        )
        .unwrap();
        assert_eq!(names(&kept), s(&["a"]));
        assert_eq!(
            default_registry(&[packaged("a", Some(&["local"])), packaged("b", None)]).as_deref(),
            Some("local")
        );
        assert_eq!(
            default_registry(&[packaged("a", Some(&["local"])), packaged("b", Some(&["x"]))]),
            None
        );
        assert_eq!(default_registry(&[packaged("a", None)]), None);
    }

    #[test]
    fn arg_values_in_both_forms() {
        assert_eq!(
            arg_value(&s(&["--registry", "x"]), "--registry").as_deref(),
            Some("x")
        );
        assert_eq!(
            arg_value(&s(&["--registry=y"]), "--registry").as_deref(),
            Some("y")
        );
        assert_eq!(arg_value(&s(&["--registryz"]), "--registry"), None);
    }
}
