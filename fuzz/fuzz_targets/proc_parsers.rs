//! The requester-chain parsers, fed what a process of the same user writes into `/proc`:
//! its command line, its environment, its command name (in `stat`), and the names of the
//! files its descriptors link to.
//!
//! Properties:
//! - the command line splits into exactly its non-empty NUL-separated arguments, and the
//!   window's one-line rendering keeps each argument one argument (it splits back into them);
//! - whatever command name a process gives itself (up to the kernel's 15 bytes, any byte
//!   but NUL), its parent pid, session and start time are read back exactly from its `stat`;
//! - every descriptor cargo's jobserver client would take from the environment is one the
//!   helper's pipe check knows of (`jobserver_fds` covers the `jobserver` crate's parse);
//! - a descriptor is taken for the packaged `.crate` only when its link names that file in
//!   a package directory, and always when it does, whatever the directories above are called.
#![no_main]

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use cargo_confirm_gui::evidence::cargo::{jobserver_fds, stat_start_time};
use cargo_confirm_gui::evidence::{split_cmdline, stat_ppid_session};
use cargo_confirm_gui::package::is_packaged_crate;
use cargo_confirm_gui::text::{command_line, escape};
use cargo_confirm_gui_fuzz::assert_shown_faithfully;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    cmdline(data);
    stat(data);
    jobserver(data);
    links(data);
});

fn cmdline(data: &[u8]) {
    let argv = split_cmdline(data);
    let expected: Vec<String> = data
        .split(|b| *b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    assert_eq!(argv, expected);
    for a in &argv {
        assert_shown_faithfully(a);
    }
    let shown = command_line(&argv);
    assert!(!shown.text.contains('\n'), "{:?}", shown.text);
    let escaped: Vec<String> = argv.iter().map(|a| escape(a).text).collect();
    assert_eq!(
        shell_words(&shown.text),
        Some(escaped),
        "{:?} does not split back into its arguments",
        shown.text
    );
}

/// Splits a rendered command line: words separated by one space, `'…'` quoting, and `\'`
/// for a quote outside quotes (what `command_line` writes for one inside an argument).
fn shell_words(line: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    if line.is_empty() {
        return Some(words);
    }
    let mut word = String::new();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ' ' => words.push(std::mem::take(&mut word)),
            '\'' => loop {
                match chars.next()? {
                    '\'' => break,
                    c => word.push(c),
                }
            },
            '\\' if chars.peek() == Some(&'\'') => {
                chars.next();
                word.push('\'');
            }
            c => word.push(c),
        }
    }
    words.push(word);
    Some(words)
}

fn stat(data: &[u8]) {
    // Arbitrary bytes where `stat` is read: no panic.
    let _ = stat_ppid_session(data);
    let _ = stat_start_time(data);
    // A stat line as the kernel writes it, around a command name of the process's choice.
    let comm: Vec<u8> = data
        .iter()
        .copied()
        .take_while(|b| *b != 0)
        .take(15)
        .collect();
    let mut numbers = data[comm.len().min(data.len())..].chunks(4).map(|c| {
        c.iter()
            .fold(0u32, |n, b| n.wrapping_mul(251).wrapping_add(u32::from(*b)))
    });
    let ppid = numbers.next().unwrap_or(1);
    let session = numbers.next().unwrap_or(7);
    let start = u64::from(numbers.next().unwrap_or(9)) << 8;
    let line = [
        b"4242 (".as_slice(),
        &comm,
        format!(
            ") S {ppid} 4242 {session} 34816 4242 4194560 1234 0 0 0 12 3 0 0 20 0 1 0 {start} \
             12345678 456 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 \
             0 0 0\n"
        )
        .as_bytes(),
    ]
    .concat();
    assert_eq!(
        stat_ppid_session(&line),
        Some((ppid, session)),
        "command name {comm:?}"
    );
    assert_eq!(stat_start_time(&line), Some(start), "command name {comm:?}");
}

/// Which descriptors the `jobserver` crate (0.1.35, `Client::from_env_ext`, as cargo links
/// it) takes from this environment: the first of `CARGO_MAKEFLAGS`, `MAKEFLAGS`, `MFLAGS`
/// that is set (the first occurrence of it, as `getenv` finds it), its last
/// `--jobserver-auth=` (else `--jobserver-fds=`) anywhere in the value, up to a space, as
/// `R,W` of two non-negative `c_int`s.
fn jobserver_crate_fds(environ: &[u8]) -> Option<(u32, u32)> {
    let vars: Vec<&[u8]> = environ.split(|b| *b == 0).collect();
    let value = ["CARGO_MAKEFLAGS", "MAKEFLAGS", "MFLAGS"]
        .iter()
        .find_map(|key| {
            vars.iter().find_map(|v| {
                v.strip_prefix(key.as_bytes())
                    .and_then(|rest| rest.strip_prefix(b"="))
            })
        })?;
    let value = std::str::from_utf8(value).ok()?;
    let spec = ["--jobserver-auth=", "--jobserver-fds="]
        .iter()
        .find_map(|arg| value.rsplit_once(arg).map(|(_, s)| s))
        .and_then(|s| s.split(' ').next())?;
    let (read, write) = spec.split_once(',')?;
    let read: i32 = read.parse().ok()?;
    let write: i32 = write.parse().ok()?;
    Some((u32::try_from(read).ok()?, u32::try_from(write).ok()?))
}

fn jobserver(data: &[u8]) {
    let ours = jobserver_fds(data);
    if let Some((r, w)) = jobserver_crate_fds(data) {
        assert!(
            ours.contains(&r) && ours.contains(&w),
            "cargo's jobserver takes fds {r},{w} from {:?}; the helper sees {ours:?}",
            String::from_utf8_lossy(data)
        );
    }
    // Every descriptor named is a number the environment spells out.
    let text = String::from_utf8_lossy(data);
    for fd in &ours {
        assert!(text.contains(&fd.to_string()), "{fd} in {text:?}");
    }
}

fn links(data: &[u8]) {
    let want = "fuzz-0.1.0.crate";
    let link = Path::new(OsStr::from_bytes(data));
    if is_packaged_crate(link, want) {
        let name = link.file_name().and_then(|n| n.to_str()).unwrap();
        assert_eq!(name.strip_suffix(" (deleted)").unwrap_or(name), want);
        let mut dirs = link.ancestors().skip(1).filter_map(|d| d.file_name());
        let parent = dirs.next().unwrap();
        assert!(
            parent == "package" || (parent == "tmp-crate" && dirs.next().unwrap() == "package")
        );
    }
    // Whatever the directories above are called, a `.crate` in a package directory is taken.
    let above: Vec<u8> = data.iter().copied().filter(|b| *b != 0).collect();
    for tail in [
        "/package/fuzz-0.1.0.crate",
        "/package/tmp-crate/fuzz-0.1.0.crate",
        "/package/fuzz-0.1.0.crate (deleted)",
    ] {
        let path = [&above[..], tail.as_bytes()].concat();
        assert!(
            is_packaged_crate(Path::new(OsStr::from_bytes(&path)), want),
            "{:?}",
            String::from_utf8_lossy(&path)
        );
    }
    // And never one that only starts like it.
    let path = [&above[..], b"/package/fuzz-0.1.0.crate.orig"].concat();
    assert!(!is_packaged_crate(
        Path::new(OsStr::from_bytes(&path)),
        want
    ));
}
