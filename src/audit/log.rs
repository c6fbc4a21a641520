//! `cargo confirm-gui log`: recent decisions as a table (or JSON lines), and the chain
//! verified.

use std::io::{Read, Write};
use std::path::Path;

use super::{Break, Entry, ROTATE_AT, Verdict, Why, head_path, rotated_path, split_lines};
use crate::text::escape;

/// The most a file of the log may hold before it is refused unread: the helper rotates at
/// [`ROTATE_AT`], so a bigger file was written by something else.
const READ_MAX: u64 = 2 * ROTATE_AT;

/// The decision column is cut to this many characters; `--json` has it whole.
const DECISION_MAX: usize = 48;

/// Columns are padded to at most this width; a longer cell runs on.
const COLUMN_MAX: usize = 40;

/// Why `cargo confirm-gui log` stopped before verifying. Paths and arguments are held
/// escaped, as shown.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LogError {
    /// `--since` does not parse.
    #[error("cargo confirm-gui log: --since: {0}")]
    Since(#[source] SinceError),
    /// Neither `XDG_STATE_HOME` nor `HOME`: no place for a log.
    #[error("cargo confirm-gui log: there is no audit log: neither XDG_STATE_HOME nor HOME is set")]
    NoLog,
    /// A file of the log cannot be read.
    #[error("cannot read the audit log {path}: {source}")]
    Read {
        /// The file (escaped).
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A file of the log is bigger than the helper writes.
    #[error(
        "the audit log {path} is more than {max} bytes, more than the helper ever writes: \
         something else wrote to it. Look at it in a pager before trusting any of it."
    )]
    TooBig {
        /// The file (escaped).
        path: String,
        /// The most the helper writes.
        max: u64,
    },
    /// Writing the table or the JSON lines failed.
    #[error("cargo confirm-gui log: {0}")]
    Write(#[source] std::io::Error),
}

/// Why `--since` does not parse; the argument is held escaped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum SinceError {
    /// Neither a duration nor a date.
    #[error(
        "--since takes a duration (7d, 24h, 30m) or a date (2026-11-25, \
         2026-11-25T10:00:00Z), not `{0}`"
    )]
    Unreadable(String),
    /// A duration of more seconds than a u64 holds.
    #[error("--since {0}: that is longer ago than time")]
    TooLong(String),
}

/// `--since`: a duration back from `now` (`45s`, `30m`, `24h`, `7d`, `2w`) or a date,
/// `YYYY-MM-DD` (midnight UTC) or RFC 3339 (`2026-11-25T10:00:00Z`,
/// `2026-11-25 10:00:00.5+01:00`; jiff also takes ISO 8601's `+0100` and `10:00Z`). Returns
/// seconds since the epoch. The durations stay our own: jiff's `Span` reads ISO 8601
/// (`P7D`) and its "friendly" `7d`, but also `1y`/`1mo`, which need a calendar and a time
/// zone to mean a number of seconds.
fn parse_since(s: &str, now: u64) -> Result<u64, SinceError> {
    let unit = match s.as_bytes().last() {
        Some(b's') => Some(1),
        Some(b'm') => Some(60),
        Some(b'h') => Some(3600),
        Some(b'd') => Some(86_400),
        Some(b'w') => Some(7 * 86_400),
        _ => None,
    };
    let digits = &s[..s.len().saturating_sub(1)];
    if let Some(unit) = unit
        && !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
    {
        let n: u64 = digits.parse().map_err(|_| too_long(s))?;
        return Ok(now.saturating_sub(n.checked_mul(unit).ok_or_else(|| too_long(s))?));
    }
    parse_date(s).ok_or_else(|| SinceError::Unreadable(escape(s).text))
}

fn too_long(s: &str) -> SinceError {
    SinceError::TooLong(escape(s).text)
}

/// `YYYY-MM-DD` or an RFC 3339 date-time, in seconds since the epoch (0 before it). jiff
/// reads both (a date-time without an offset is refused: it would name no instant).
fn parse_date(s: &str) -> Option<u64> {
    let at = if s.len() == 10 {
        let day = s.parse::<jiff::civil::Date>().ok()?;
        jiff::tz::Offset::UTC
            .to_timestamp(day.to_datetime(jiff::civil::Time::midnight()))
            .ok()?
    } else {
        s.parse::<jiff::Timestamp>().ok()?
    };
    Some(u64::try_from(at.as_second()).unwrap_or(0))
}

/// Seconds since the epoch as `YYYY-MM-DD HH:MM:SS` (UTC). A time past jiff's range (after
/// the year 9999, only from a tampered log) is shown as the bare count of seconds.
fn format_time(secs: u64) -> String {
    i64::try_from(secs)
        .ok()
        .and_then(|s| jiff::Timestamp::from_second(s).ok())
        .map_or_else(
            || format!("{secs}s after 1970"),
            |t| t.strftime("%Y-%m-%d %H:%M:%S").to_string(),
        )
}

/// The log as read: both files' lines (`audit.jsonl.1` first) and the head.
struct Loaded {
    lines: Vec<Vec<u8>>,
    /// How many of `lines` come from `audit.jsonl.1`.
    rotated: usize,
    head: String,
}

/// A file of the log, empty when missing, refused when bigger than the helper writes.
fn read_file(path: &Path, max: u64) -> Result<Vec<u8>, LogError> {
    let shown = || escape(&path.to_string_lossy()).text;
    let f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(LogError::Read {
                path: shown(),
                source,
            });
        }
    };
    let mut bytes = Vec::new();
    f.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| LogError::Read {
            path: shown(),
            source,
        })?;
    if bytes.len() as u64 > max {
        return Err(LogError::TooBig { path: shown(), max });
    }
    Ok(bytes)
}

fn load(path: &Path) -> Result<Loaded, LogError> {
    let mut lines = split_lines(&read_file(&rotated_path(path), READ_MAX)?);
    let rotated = lines.len();
    lines.extend(split_lines(&read_file(path, READ_MAX)?));
    let head = String::from_utf8_lossy(&read_file(&head_path(path), 1024)?).into_owned();
    Ok(Loaded {
        lines,
        rotated,
        head,
    })
}

/// The crate and version in a record's `detail` (its first two words: `NAME VERS sha256:…`),
/// with how many more crates a publish plan names (`a 1.0.0 sha256:…, b 1.0.0 sha256:…`).
fn crate_and_version(detail: &str) -> (String, String) {
    let mut crates = detail.split(", ");
    let mut words = crates.next().unwrap_or("").split(' ');
    let name = escape(words.next().unwrap_or("")).text;
    let vers = words
        .next()
        .filter(|w| !w.starts_with("sha256:"))
        .map(|w| escape(w).text)
        .unwrap_or_default();
    let more = crates.count();
    let name = if more > 0 && !name.is_empty() {
        format!("{name} (+{more})")
    } else {
        name
    };
    (name, vers)
}

/// `s` cut to `max` characters, marked when cut.
fn cut(s: String, max: usize) -> String {
    if s.chars().count() <= max {
        return s;
    }
    let mut c: String = s.chars().take(max - 1).collect();
    c.push('…');
    c
}

/// The registry as a column: crates.io by its name, any other index without its scheme, so
/// that the columns after it stay in line.
fn registry_column(url: &str) -> String {
    if crate::store::RegistryKey::parse(url).is_ok_and(|k| k.is_crates_io()) {
        return "crates-io".into();
    }
    let bare = url.strip_prefix("sparse+").unwrap_or(url);
    let bare = bare.split_once("://").map_or(bare, |(_, rest)| rest);
    cut(escape(bare.trim_end_matches('/')).text, COLUMN_MAX)
}

/// The table's row for a record: every text escaped, since the log holds what callers sent.
fn row(e: &Entry) -> [String; 7] {
    let (name, vers) = crate_and_version(&e.detail);
    [
        format_time(e.time),
        registry_column(&e.registry),
        escape(&e.operation).text,
        name,
        vers,
        cut(escape(&e.outcome).text, DECISION_MAX),
        escape(&e.requester).text,
    ]
    .map(|c| if c.is_empty() { "-".to_string() } else { c })
}

fn write_table(
    out: &mut impl Write,
    rows: &[[String; 7]],
    total: usize,
    since: Option<u64>,
) -> std::io::Result<()> {
    if rows.is_empty() {
        return match since {
            Some(t) => writeln!(
                out,
                "no decisions since {} UTC ({total} in the log)",
                format_time(t)
            ),
            None => writeln!(out, "no decisions in the log"),
        };
    }
    let header = [
        "time (UTC)",
        "registry",
        "operation",
        "crate",
        "version",
        "decision",
        "requester",
    ];
    let mut widths = header.map(|h| h.chars().count());
    for r in rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count().min(COLUMN_MAX));
        }
    }
    let line = |out: &mut dyn Write, cells: &[&str]| -> std::io::Result<()> {
        let mut text = String::new();
        for (i, (c, w)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == cells.len() {
                text.push_str(c);
            } else {
                text.push_str(&format!("{c:<w$}  "));
            }
        }
        writeln!(out, "{}", text.trim_end())
    };
    line(out, &header)?;
    for r in rows {
        line(out, &r.each_ref().map(String::as_str))?;
    }
    Ok(())
}

/// `v` as JSON with every character outside printable ASCII written as `\uXXXX`: a script
/// that prints it passes on no terminal control or bidirectional override either.
fn ascii_json(v: &impl serde::Serialize) -> String {
    let s = serde_json::to_string(v).unwrap_or_default();
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii() && !c.is_ascii_control() {
            out.push(c);
        } else {
            // Outside a string JSON has only printable ASCII, so `c` is inside one.
            for u in c.encode_utf16(&mut [0; 2]) {
                out.push_str(&format!("\\u{u:04x}"));
            }
        }
    }
    out
}

/// Where a break is, in words: the record, its time, and its file and line.
fn place(b: &Break, log: &Loaded, path: &Path) -> (Option<String>, Option<usize>) {
    if b.index >= log.lines.len() {
        return (None, None);
    }
    let (file, line) = if b.index < log.rotated {
        (rotated_path(path), b.index + 1)
    } else {
        (path.to_path_buf(), b.index - log.rotated + 1)
    };
    let name = file.file_name().map(|n| escape(&n.to_string_lossy()).text);
    (name, Some(line))
}

fn describe(v: &Verdict, log: &Loaded, path: &Path) -> String {
    match v {
        Verdict::Verified {
            records,
            unchained,
            continues,
        } => {
            let mut s = format!("chain verified: {records} records");
            if *unchained > 0 {
                s.push_str(&format!(
                    " (the first {unchained} unchained: written by an older version, before the chain)"
                ));
            }
            if *continues {
                s.push_str(
                    " (the oldest kept continues records no longer kept: rotated away, or removed)",
                );
            }
            s
        }
        Verdict::Broken(b) if b.why == Why::LogGone => format!("CHAIN BROKEN: {}", b.why),
        Verdict::Broken(b) => {
            let (file, line) = place(b, log, path);
            let mut at = Vec::new();
            if let Some(t) = b.time {
                at.push(format!("{} UTC", format_time(t)));
            }
            if let (Some(file), Some(line)) = (file, line) {
                at.push(format!("{file} line {line}"));
            }
            let at = if at.is_empty() {
                String::new()
            } else {
                format!(" ({})", at.join(", "))
            };
            if b.index >= log.lines.len() {
                format!("CHAIN BROKEN after record {}, the last: {}", b.index, b.why)
            } else {
                format!("CHAIN BROKEN at record {}{at}: {}", b.index + 1, b.why)
            }
        }
    }
}

fn verdict_json(v: &Verdict, log: &Loaded, path: &Path, sealed: bool) -> serde_json::Value {
    match v {
        Verdict::Verified {
            records,
            unchained,
            continues,
        } => serde_json::json!({
            "chain": "verified",
            "records": records,
            "unchained": unchained,
            "continues": continues,
            "sealed": sealed,
        }),
        Verdict::Broken(b) => {
            let (file, line) = place(b, log, path);
            serde_json::json!({
                "chain": "broken",
                "record": b.index + 1,
                "time": b.time,
                "file": file,
                "line": line,
                "why": b.why.to_string(),
                "sealed": sealed,
            })
        }
    }
}

/// `cargo confirm-gui log [--since DURATION|DATE] [--json]` (clap reads them:
/// `cli::args::Cmd::Log`): writes the decisions in the audit log of `state` to `out`, as a
/// table or as JSON lines, verifies the whole chain (both files, and the head), and says what
/// it found. Returns whether the chain verified; an error when `since` does not parse or the
/// log cannot be read.
pub(crate) fn log_command(
    since: Option<&str>,
    json: bool,
    state: &crate::state::State,
    out: &mut impl Write,
) -> Result<bool, LogError> {
    let since = since
        .map(|v| parse_since(v, super::now()))
        .transpose()
        .map_err(LogError::Since)?;
    let io = LogError::Write;
    let path = state.audit.as_deref().ok_or(LogError::NoLog)?;
    let log = state.run(|| load(path))?;
    let mut verdict = super::verify(&log.lines);
    if matches!(verdict, Verdict::Verified { .. })
        && let Some(b) = super::verify_head(&log.lines, &log.head)
    {
        verdict = Verdict::Broken(b);
    }
    let entries: Vec<Entry> = log
        .lines
        .iter()
        .filter_map(|l| serde_json::from_slice(l).ok())
        .collect();
    let shown = entries.iter().filter(|e| since.is_none_or(|t| e.time >= t));
    let sealed = state.sealed_away();
    if json {
        for e in shown {
            writeln!(out, "{}", ascii_json(e)).map_err(io)?;
        }
        writeln!(
            out,
            "{}",
            ascii_json(&verdict_json(&verdict, &log, path, sealed))
        )
        .map_err(io)?;
    } else {
        let rows: Vec<[String; 7]> = shown.map(row).collect();
        write_table(out, &rows, entries.len(), since).map_err(io)?;
        writeln!(out, "{}", describe(&verdict, &log, path)).map_err(io)?;
        if !sealed {
            writeln!(
                out,
                "note: this log is in your own directory ({}), where your programs can also \
                 rewrite all of it and every hash: the chain shows partial edits, not a whole \
                 new log. In the sealed install they cannot reach it (README, \"Sealed install\").",
                escape(&path.to_string_lossy()).text
            )
            .map_err(io)?;
        }
    }
    out.flush().map_err(io)?;
    Ok(matches!(verdict, Verdict::Verified { .. }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{Record, append, line_hash};
    use crate::state::State;

    fn record<'a>(time: u64, detail: &str, outcome: &str, requester: &str) -> Record<'a> {
        Record {
            time,
            registry: "sparse+https://index.crates.io/",
            operation: "publish",
            detail: detail.into(),
            requester: requester.into(),
            outcome: outcome.into(),
            evidence: String::new(),
            provenance: None,
        }
    }

    /// A state whose log is in a fresh directory, with three decisions.
    fn state_with_log() -> (tempfile::TempDir, State) {
        let dir = tempfile::tempdir().unwrap();
        let state = State::user(None, Some(dir.path()));
        let path = state.audit.clone().unwrap();
        let t = parse_date("2026-11-20T10:00:00Z").unwrap();
        append(
            &path,
            &record(t, "foo 1.0.0 sha256:ab", "approved", "/usr/bin/cargo"),
        )
        .unwrap();
        append(
            &path,
            &record(
                t + 86_400,
                "a 0.1.0 sha256:01, b 0.2.0 sha256:02",
                "denied in the confirmation window",
                "/usr/bin/cargo",
            ),
        )
        .unwrap();
        append(
            &path,
            &record(t + 2 * 86_400, "", "refused: not cargo", "/tmp/worm"),
        )
        .unwrap();
        (dir, state)
    }

    fn run(a: &[&str], state: &State) -> (Result<bool, String>, String) {
        let mut out = Vec::new();
        // What clap gives: `--since VALUE` (or `--since=VALUE`) and `--json`.
        let since = a.iter().enumerate().find_map(|(i, x)| {
            x.strip_prefix("--since=")
                .or_else(|| (*x == "--since").then(|| a[i + 1]))
        });
        let r =
            log_command(since, a.contains(&"--json"), state, &mut out).map_err(|e| e.to_string());
        (r, String::from_utf8(out).unwrap())
    }

    #[test]
    fn the_registry_column_is_short_and_enroll_is_not_login() {
        assert_eq!(
            registry_column("sparse+https://index.crates.io/"),
            "crates-io"
        );
        assert_eq!(
            registry_column("https://github.com/rust-lang/crates.io-index"),
            "crates-io"
        );
        assert_eq!(
            registry_column("sparse+http://127.0.0.1:9/my-registry/"),
            "127.0.0.1:9/my-registry"
        );
        let long = format!("sparse+https://{}/", "r".repeat(80));
        assert_eq!(registry_column(&long).chars().count(), COLUMN_MAX);
        let enroll = crate::request::Operation::Store(crate::request::StoreChange::Login {
            token_given: false,
            enroll: true,
        });
        assert_eq!(enroll.verb(), "enroll");
    }

    #[test]
    fn the_table_shows_each_decision_and_the_chain() {
        let (_dir, state) = state_with_log();
        let (r, out) = run(&[], &state);
        assert_eq!(r, Ok(true), "{out}");
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines[0].starts_with("time (UTC)"), "{out}");
        assert!(lines[0].contains("requester"), "{out}");
        let first: Vec<&str> = lines[1].split_whitespace().collect();
        assert_eq!(
            first,
            [
                "2026-11-20",
                "10:00:00",
                "crates-io",
                "publish",
                "foo",
                "1.0.0",
                "approved",
                "/usr/bin/cargo"
            ]
        );
        assert!(
            lines[2].contains("a (+1)  ") && lines[2].contains("0.1.0"),
            "{out}"
        );
        assert!(
            lines[3].contains("/tmp/worm") && lines[3].contains(" -  "),
            "{out}"
        );
        assert_eq!(lines[4], "chain verified: 3 records");
        assert!(lines[5].starts_with("note: this log is in your own directory"));
    }

    #[test]
    fn since_shows_only_the_recent_decisions_and_still_verifies_all() {
        let (_dir, state) = state_with_log();
        let (r, out) = run(&["--since", "2026-11-21"], &state);
        assert_eq!(r, Ok(true));
        assert!(!out.contains("foo") && out.contains("a (+1)"), "{out}");
        assert!(out.contains("chain verified: 3 records"), "{out}");
        let (_, out) = run(&["--since=2030-01-01"], &state);
        assert!(
            out.starts_with("no decisions since 2030-01-01 00:00:00 UTC (3 in the log)"),
            "{out}"
        );
    }

    #[test]
    fn json_is_one_record_a_line_and_then_the_verdict() {
        let (_dir, state) = state_with_log();
        let (r, out) = run(&["--json"], &state);
        assert_eq!(r, Ok(true));
        let values: Vec<serde_json::Value> = out
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(values.len(), 4);
        assert_eq!(values[0]["detail"], "foo 1.0.0 sha256:ab");
        assert_eq!(values[0]["prev"], crate::audit::GENESIS);
        assert_eq!(
            values[3],
            serde_json::json!({"chain": "verified", "records": 3, "unchained": 0,
                               "continues": false, "sealed": false})
        );
    }

    #[test]
    fn a_tampered_log_names_the_record() {
        let (_dir, state) = state_with_log();
        let path = state.audit.clone().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(
            &path,
            text.replace("denied in the confirmation window", "approved"),
        )
        .unwrap();
        let (r, out) = run(&[], &state);
        assert_eq!(r, Ok(false));
        assert!(
            out.contains(
                "CHAIN BROKEN at record 3 (2026-11-22 10:00:00 UTC, audit.jsonl line 3): its \
                 `prev` is not the hash of the record before it"
            ),
            "{out}"
        );
        let (r, out) = run(&["--json"], &state);
        assert_eq!(r, Ok(false));
        let last: serde_json::Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
        assert_eq!(last["chain"], "broken");
        assert_eq!(last["record"], 3);
        assert_eq!(last["file"], "audit.jsonl");
        assert_eq!(last["line"], 3);
    }

    #[test]
    fn a_removed_last_record_is_seen_by_the_head() {
        let (_dir, state) = state_with_log();
        let path = state.audit.clone().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let kept: Vec<&str> = text.lines().take(2).collect();
        std::fs::write(&path, kept.join("\n") + "\n").unwrap();
        let (r, out) = run(&[], &state);
        assert_eq!(r, Ok(false));
        assert!(
            out.contains("CHAIN BROKEN after record 2, the last: the record the helper wrote last"),
            "{out}"
        );
        std::fs::remove_file(&path).unwrap();
        let (r, out) = run(&[], &state);
        assert_eq!(r, Ok(false));
        assert!(out.contains("CHAIN BROKEN: the log is empty"), "{out}");
    }

    #[test]
    fn a_break_in_the_rotated_file_names_it() {
        let (_dir, state) = state_with_log();
        let path = state.audit.clone().unwrap();
        std::fs::rename(&path, rotated_path(&path)).unwrap();
        append(&path, &record(2_000_000_000, "bar 2.0.0", "approved", "/c")).unwrap();
        let (r, out) = run(&[], &state);
        assert_eq!(r, Ok(true), "{out}");
        assert!(out.contains("chain verified: 4 records"), "{out}");
        let old = std::fs::read_to_string(rotated_path(&path)).unwrap();
        let mut lines: Vec<&str> = old.lines().collect();
        lines.swap(0, 1);
        std::fs::write(rotated_path(&path), lines.join("\n") + "\n").unwrap();
        let (r, out) = run(&[], &state);
        assert_eq!(r, Ok(false));
        assert!(
            out.contains("CHAIN BROKEN at record 1 (2026-11-21 10:00:00 UTC, audit.jsonl.1 line 1): its `prev` names record 2"),
            "{out}"
        );
    }

    #[test]
    fn an_older_log_is_reported_unchained() {
        let dir = tempfile::tempdir().unwrap();
        let state = State::user(None, Some(dir.path()));
        let path = state.audit.clone().unwrap();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let old = r#"{"time":1,"registry":"r","operation":"yank","detail":"foo 1.0.0","requester":"/usr/bin/cargo","outcome":"approved"}"#;
        std::fs::write(&path, format!("{old}\n{old}\n")).unwrap();
        append(&path, &record(2, "foo 1.0.1", "approved", "/usr/bin/cargo")).unwrap();
        let (r, out) = run(&[], &state);
        assert_eq!(r, Ok(true), "{out}");
        assert!(
            out.contains(
                "chain verified: 3 records (the first 2 unchained: written by an older version"
            ),
            "{out}"
        );
        let (_, out) = run(&["--json"], &state);
        assert!(out.contains(r#""unchained":2"#), "{out}");
        let first: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
        assert!(first.get("prev").is_none(), "{out}");
        let third: serde_json::Value = serde_json::from_str(out.lines().nth(2).unwrap()).unwrap();
        assert_eq!(third["prev"], line_hash(old.as_bytes()));
    }

    #[test]
    fn hostile_text_in_the_log_is_escaped() {
        let dir = tempfile::tempdir().unwrap();
        let state = State::user(None, Some(dir.path()));
        let path = state.audit.clone().unwrap();
        append(
            &path,
            &Record {
                time: 5,
                registry: "https://r/\u{1b}[2J",
                operation: "publish\r",
                detail: "evil\u{202e}gnp 1.0.0\n sha256:00".into(),
                requester: "/tmp/x\u{1b}]0;title\u{7}".into(),
                outcome: "approved\u{200b}".into(),
                evidence: String::new(),
                provenance: None,
            },
        )
        .unwrap();
        let (r, out) = run(&[], &state);
        assert_eq!(r, Ok(true), "{out}");
        assert!(!out.chars().any(|c| c.is_control() && c != '\n'), "{out:?}");
        assert!(
            !out.contains('\u{202e}') && !out.contains('\u{200b}'),
            "{out:?}"
        );
        assert_eq!(out.lines().count(), 4, "{out:?}");
        for shown in [
            "r/\\u{1B}[2J",
            "publish\\r",
            "evil\\u{202E}gnp",
            "/tmp/x\\u{1B}]0;title\\u{7}",
            "approved\\u{200B}",
        ] {
            assert!(out.contains(shown), "{shown} in {out}");
        }
        let (_, out) = run(&["--json"], &state);
        assert!(out.is_ascii() && !out.chars().any(|c| c.is_ascii_control() && c != '\n'));
        let v: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
        assert_eq!(v["detail"], "evil\u{202e}gnp 1.0.0\n sha256:00");
    }

    #[test]
    fn arguments() {
        let now = 1_000_000;
        assert_eq!(parse_since("30m", now), Ok(now - 1800));
        assert_eq!(parse_since("24h", now), Ok(now - 86_400));
        assert_eq!(parse_since("7d", now), Ok(now - 7 * 86_400));
        assert_eq!(parse_since("2w", now), Ok(0));
        assert_eq!(parse_since("45s", now), Ok(now - 45));
        assert_eq!(parse_since("1970-01-02", now), Ok(86_400));
        assert_eq!(parse_since("2026-11-25", now), Ok(1_795_564_800));
        assert_eq!(
            parse_since("2026-11-25T10:00:00Z", now),
            Ok(1_795_564_800 + 36_000)
        );
        assert_eq!(
            parse_since("2026-11-25t10:00:00.123+01:30", now),
            Ok(1_795_564_800 + 36_000 - 5400)
        );
        assert_eq!(
            parse_since("2026-11-25 10:00:00-02:00", now),
            Ok(1_795_564_800 + 36_000 + 7200)
        );
        assert_eq!(parse_since("2024-02-29", now), Ok(1_709_164_800));
        assert_eq!(parse_since("1960-01-01", now), Ok(0));
        for bad in [
            "",
            "d",
            "7",
            "7y",
            "-7d",
            "7 d",
            "99999999999999999999d",
            "2025-02-29",
            "2026-13-01",
            "2026-11-25T10:00",
            "2026-11-25T10:00:00",
            "2026-11-25T24:00:00Z",
            "2026-11-25T10:00:00.Z",
            "2026-1-5",
            "25/11/2026",
        ] {
            assert!(parse_since(bad, now).is_err(), "{bad:?}");
        }
        assert_eq!(parse_since("1h", now), Ok(now - 3600));
        // jiff reads ISO 8601 beyond RFC 3339: an offset without its colon, a time without
        // seconds. Both name one instant, so they are taken.
        assert_eq!(
            parse_since("2026-11-25T10:00:00+0100", now),
            Ok(1_795_564_800 + 36_000 - 3600)
        );
        assert_eq!(
            parse_since("2026-11-25T10:00Z", now),
            Ok(1_795_564_800 + 36_000)
        );
    }

    #[test]
    fn dates_are_shown_in_utc() {
        assert_eq!(format_time(0), "1970-01-01 00:00:00");
        assert_eq!(format_time(1_795_564_800 + 36_061), "2026-11-25 10:01:01");
        assert_eq!(format_time(951_782_400), "2000-02-29 00:00:00");
        assert_eq!(format_time(253_402_128_000), "9999-12-30 00:00:00");
        // A tampered time prints, it does not panic.
        assert_eq!(format_time(u64::MAX), "18446744073709551615s after 1970");
        assert_eq!(format_time(253_402_300_800), "253402300800s after 1970");
    }

    #[test]
    fn no_log_yet_verifies_empty() {
        let dir = tempfile::tempdir().unwrap();
        let state = State::user(None, Some(dir.path()));
        let (r, out) = run(&[], &state);
        assert_eq!(r, Ok(true));
        assert!(
            out.starts_with("no decisions in the log\nchain verified: 0 records"),
            "{out}"
        );
        let (r, _) = run(&[], &State::default());
        assert!(r.unwrap_err().contains("no audit log"));
    }
}
