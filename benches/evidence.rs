//! Evidence gathering on a 10 MB `.crate`, side by side with `sha256sum`, the tool a
//! person would otherwise use to check a checksum by hand.
//!
//! `cargo bench --bench evidence` prints, for each contender, the median and fastest wall
//! time over the runs, the ratio of medians against `sha256sum`, and the peak resident
//! memory of one run as a process (through GNU `time`, when `/usr/bin/time` exists).
//!
//! The `.crate` was packaged from a git repository of 10,000 commits (made with
//! `git fast-import`; the check itself never runs git): its `.cargo_vcs_info.json` names the
//! last one, which a remote-tracking ref holds.
//!
//! Contenders, all on the same file in the same run, interleaved:
//! - `sha256sum FILE` as a process;
//! - this bench re-run as a process doing only the hash and the listing (inflate, per-file
//!   hashes), the part the two threads of `hash_and_list` share: so process start-up is
//!   counted on both sides;
//! - this bench re-run as a process doing the whole check the window waits for: hash, list,
//!   flags, the file and line diffs against a cached previous version, and provenance;
//! - both in-process, and sha2 alone in-process, for reference.

#![allow(clippy::print_stdout)] // A benchmark prints its results.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use cargo_confirm_gui::package::{self, Limits, Places};
use sha2::{Digest, Sha256};

const RUNS: usize = 15;
const FILES: usize = 200;
const FILE_SIZE: usize = 50 * 1024;

/// Incompressible bytes (xorshift), so the compressed `.crate` is about 10 MB.
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

const BUILD_RS: &[u8] = b"fn main() {\n    println!(\"cargo:rerun-if-changed=build.rs\");\n}\n";
const COMMITS: usize = 10_000;

fn manifest(version: &str) -> String {
    format!("[package]\nname = \"bench\"\nversion = \"{version}\"\n[dependencies]\nserde = \"1\"\n")
}

/// A repository whose last of [`COMMITS`] commits holds the crate's files, and a
/// remote-tracking ref on it. Returns that commit.
fn make_repo(dir: &Path) -> String {
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("git (to make the bench's repository)");
        assert!(out.status.success(), "git {args:?}: {out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    std::fs::create_dir_all(dir).unwrap();
    git(&["init", "-q"]);
    let mut stream = Vec::new();
    let mut w = |b: &[u8]| stream.extend_from_slice(b);
    for i in 1..=COMMITS {
        w(format!(
            "commit refs/heads/main\nmark :{i}\ncommitter B <b@example.com> {} +0000\ndata 1\nc\n",
            1_600_000_000 + i
        )
        .as_bytes());
        if i > 1 {
            w(format!("from :{}\n", i - 1).as_bytes());
        }
        if i == COMMITS {
            let mut file = |path: &str, data: &[u8]| {
                w(format!("M 644 inline {path}\ndata {}\n", data.len()).as_bytes());
                w(data);
                w(b"\n");
            };
            file("Cargo.toml", manifest("1.0.0").as_bytes());
            file("build.rs", BUILD_RS);
            for f in 0..FILES {
                file(&format!("src/m{f}.rs"), &noise(f as u64 + 1, FILE_SIZE));
            }
        }
        w(b"\n");
    }
    let mut fi = Command::new("git")
        .args(["fast-import", "--quiet"])
        .current_dir(dir)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(fi.stdin.as_mut().unwrap(), &stream).unwrap();
    drop(fi.stdin.take());
    assert!(fi.wait().unwrap().success());
    git(&["update-ref", "refs/remotes/origin/main", "refs/heads/main"]);
    git(&["rev-parse", "refs/heads/main"]).trim().to_string()
}

fn make_crate(version: &str, extra_build_rs: bool, commit: Option<&str>) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut add = |path: String, data: &[u8]| {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, format!("bench-{version}/{path}"), data)
            .unwrap();
    };
    add("Cargo.toml".into(), manifest(version).as_bytes());
    add("Cargo.toml.orig".into(), manifest(version).as_bytes());
    if let Some(c) = commit {
        let info = format!("{{\"git\":{{\"sha1\":\"{c}\"}},\"path_in_vcs\":\"\"}}");
        add(".cargo_vcs_info.json".into(), info.as_bytes());
    }
    if extra_build_rs {
        add("build.rs".into(), BUILD_RS);
    }
    for i in 0..FILES {
        add(format!("src/m{i}.rs"), &noise(i as u64 + 1, FILE_SIZE));
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &b.into_inner().unwrap()).unwrap();
    gz.finish().unwrap()
}

fn gather(file: &Path, cargo_home: &Path, cksum: &str, repo: &Path) -> package::Report {
    let places = Places {
        cwd: Some(repo.to_path_buf()),
        argv: Vec::new(),
        target_dir: Some(file.parent().unwrap().parent().unwrap().to_path_buf()),
        cargo_home: None,
        requester_pid: None,
    };
    package::gather(
        "bench",
        "1.0.0",
        cksum,
        &places,
        Some(cargo_home),
        &Limits::default(),
    )
}

/// The hash and the listing, as the window's check does them (two threads).
fn hash_list(file: &Path) {
    let f = std::fs::File::open(file).unwrap();
    let (_, contents) = package::hash_and_list(f, &Limits::default()).unwrap();
    assert!(contents.problems.is_empty(), "{:?}", contents.problems);
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Peak resident set of one run of `cmd`, in KiB, through GNU time.
fn peak_kib(program: &Path, args: &[&str]) -> Option<u64> {
    let out = Command::new("/usr/bin/time")
        .args(["-f", "%M"])
        .arg(program)
        .args(args)
        .output()
        .ok()?;
    let err = String::from_utf8_lossy(&out.stderr);
    err.lines().last()?.trim().parse().ok()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    // Child modes: one whole check, or the hash and the listing only, as a process.
    if let Some(i) = args.iter().position(|a| a == "child") {
        let r = gather(
            Path::new(&args[i + 1]),
            Path::new(&args[i + 2]),
            &args[i + 3],
            Path::new(&args[i + 4]),
        );
        assert!(matches!(r.check, package::Check::Match(_)));
        assert!(r.provenance.is_some_and(|p| p.checked));
        return;
    }
    if let Some(i) = args.iter().position(|a| a == "hash-list") {
        hash_list(Path::new(&args[i + 1]));
        return;
    }

    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    let commit = make_repo(&repo);
    let file: PathBuf = dir.path().join("target/package/bench-1.0.0.crate");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    let bytes = make_crate("1.0.0", true, Some(&commit));
    std::fs::write(&file, &bytes).unwrap();
    let home = dir.path().join("cargo-home");
    let cache = home.join("registry/cache/index.example");
    std::fs::create_dir_all(&cache).unwrap();
    std::fs::write(
        cache.join("bench-0.9.0.crate"),
        make_crate("0.9.0", false, None),
    )
    .unwrap();
    let cksum = package::hex(&Sha256::digest(&bytes));
    drop(bytes);

    // Sanity: every contender sees the same file and agrees.
    let r = gather(&file, &home, &cksum, &repo);
    assert!(matches!(r.check, package::Check::Match(_)), "{:?}", r.check);
    let package::Previous::Found(d) = &r.previous else {
        panic!("{:?}", r.previous)
    };
    assert!(
        d.lines.iter().any(|l| l.why == "build script"),
        "the build script's lines: {:?}",
        d.lines
    );
    let p = r.provenance.as_ref().unwrap();
    assert!(
        p.checked && p.on_remote == Some(true) && !p.mismatched(),
        "{p:?}"
    );
    let out = Command::new("sha256sum").arg(&file).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).starts_with(&cksum));

    let me = std::env::current_exe().unwrap();
    let file_s = file.to_str().unwrap();
    let home_s = home.to_str().unwrap();
    let repo_s = repo.to_str().unwrap();
    let child_args = ["child", file_s, home_s, &cksum, repo_s];
    let hash_list_args = ["hash-list", file_s];

    let mut t: [Vec<Duration>; 6] = Default::default();
    for _ in 0..RUNS {
        let s = Instant::now();
        assert!(
            Command::new("sha256sum")
                .arg(&file)
                .output()
                .unwrap()
                .status
                .success()
        );
        t[0].push(s.elapsed());

        let s = Instant::now();
        assert!(
            Command::new(&me)
                .args(hash_list_args)
                .status()
                .unwrap()
                .success()
        );
        t[1].push(s.elapsed());

        let s = Instant::now();
        assert!(
            Command::new(&me)
                .args(child_args)
                .status()
                .unwrap()
                .success()
        );
        t[2].push(s.elapsed());

        let s = Instant::now();
        hash_list(&file);
        t[3].push(s.elapsed());

        let s = Instant::now();
        std::hint::black_box(gather(&file, &home, &cksum, &repo));
        t[4].push(s.elapsed());

        let s = Instant::now();
        std::hint::black_box(Sha256::digest(std::fs::read(&file).unwrap()));
        t[5].push(s.elapsed());
    }
    let size = std::fs::metadata(&file).unwrap().len();
    println!(
        "evidence gathering on a {:.1} MB .crate ({FILES} files, {:.1} MB unpacked, previous version cached, a repository of {COMMITS} commits), {RUNS} runs each",
        size as f64 / 1e6,
        (FILES * FILE_SIZE) as f64 / 1e6
    );
    let names = [
        "sha256sum FILE (process)",
        "hash + inflate + list (process)",
        "whole check (process)",
        "hash + inflate + list (in-process)",
        "whole check (in-process)",
        "sha2 hash only (in-process)",
    ];
    let base = median(t[0].clone());
    let peaks = [
        peak_kib(Path::new("/usr/bin/sha256sum"), &[file_s]),
        peak_kib(&me, &hash_list_args),
        peak_kib(&me, &child_args),
        None,
        None,
        None,
    ];
    println!(
        "{:<38} {:>10} {:>10} {:>12} {:>12}",
        "contender", "median", "fastest", "vs sha256sum", "peak RSS"
    );
    for (i, name) in names.iter().enumerate() {
        let m = median(t[i].clone());
        let f = *t[i].iter().min().unwrap();
        println!(
            "{:<38} {:>8.1}ms {:>8.1}ms {:>11.2}x {:>12}",
            name,
            m.as_secs_f64() * 1e3,
            f.as_secs_f64() * 1e3,
            m.as_secs_f64() / base.as_secs_f64(),
            peaks[i].map_or("-".to_string(), |k| format!("{:.1} MiB", k as f64 / 1024.0)),
        );
    }
}
