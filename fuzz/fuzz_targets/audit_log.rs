//! The audit log's reader: `audit::split_lines`, `audit::verify` and `audit::verify_head`,
//! what `cargo confirm-gui log` runs over `audit.jsonl` and `audit.jsonl.head`.
//!
//! The input is read two ways.
//!
//! - As a log a program wrote (the file is the user's in the default install). Property: the
//!   reader never panics; a log it calls verified has exactly its lines as records, and
//!   each chained record names the sha256 of the line before it (checked here with
//!   `serde_json` and `sha2`, apart from the reader).
//! - As a script of records and one tamper. The records are written with the helper's own
//!   `audit::append` (fields from the input, quotes, newlines and invisible characters
//!   included), so the log is the one the helper writes; it must verify, with its head.
//!   Then one record is edited (a byte changed), deleted, or two are swapped. Property: the
//!   chain or the head reports it, except a deletion of the oldest records, which is
//!   reported as "continues records no longer kept" (what a rotation leaves).
#![no_main]

use std::sync::OnceLock;

use cargo_confirm_gui::audit::{self, Verdict};
use libfuzzer_sys::fuzz_target;
use sha2::{Digest, Sha256};

fn dir() -> &'static tempfile::TempDir {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().expect("a temporary directory"))
}

fn hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Reads `data` as a log: whatever it holds, a verified log is a chain.
fn as_written(data: &[u8]) {
    let lines = audit::split_lines(data);
    let verdict = audit::verify(&lines);
    let _ = audit::verify_head(
        &lines,
        &String::from_utf8_lossy(&data[..data.len().min(80)]),
    );
    let Verdict::Verified {
        records, unchained, ..
    } = verdict
    else {
        return;
    };
    assert_eq!(records, lines.len());
    assert!(unchained <= records);
    for (i, line) in lines.iter().enumerate() {
        let value: serde_json::Value =
            serde_json::from_slice(line).expect("a verified line is JSON");
        let prev = value.get("prev").and_then(|p| p.as_str());
        if i < unchained {
            assert!(prev.is_none(), "record {i} counted unchained has a prev");
            continue;
        }
        let prev = prev.expect("a chained record has a prev");
        if i > 0 {
            assert_eq!(
                prev,
                hex(&lines[i - 1]),
                "record {i} does not name the one before"
            );
        }
    }
}

/// Up to 8 records from the input: each a field text and a time.
fn records(data: &[u8]) -> Vec<(u64, String)> {
    data.split(|&b| b == 0xff)
        .take(8)
        .enumerate()
        .map(|(i, chunk)| {
            (
                1_700_000_000 + i as u64,
                String::from_utf8_lossy(chunk).into(),
            )
        })
        .collect()
}

fn tampered(data: &[u8]) {
    let Some((&op, rest)) = data.split_first() else {
        return;
    };
    let Some((&at, rest)) = rest.split_first() else {
        return;
    };
    let records = records(rest);
    if records.len() < 2 {
        return;
    }
    let log = dir().path().join("audit.jsonl");
    for p in [
        log.clone(),
        audit::head_path(&log),
        audit::rotated_path(&log),
    ] {
        let _ = std::fs::remove_file(p);
    }
    for (time, text) in &records {
        audit::append(
            &log,
            &audit::Record {
                time: *time,
                registry: text,
                operation: "publish",
                detail: text.chars().rev().collect(),
                requester: "/usr/bin/cargo".into(),
                outcome: "approved".into(),
                evidence: text.clone(),
                provenance: None,
            },
        )
        .expect("a record in a fresh temporary directory is written");
    }
    let bytes = std::fs::read(&log).expect("the log was written");
    let head = std::fs::read_to_string(audit::head_path(&log)).expect("the head was written");
    let mut lines = audit::split_lines(&bytes);
    assert_eq!(lines.len(), records.len(), "one line per record");
    assert_eq!(
        audit::verify(&lines),
        Verdict::Verified {
            records: records.len(),
            unchained: 0,
            continues: false
        }
    );
    assert_eq!(audit::verify_head(&lines, &head), None);

    let n = lines.len();
    let i = at as usize % n;
    let oldest_removed = match op % 3 {
        0 => {
            // One byte of record i changed (to one it was not).
            let line = &mut lines[i];
            let k = (op as usize / 3) % line.len();
            line[k] = line[k].wrapping_add(1 + op / 3 % 255);
            false
        }
        1 => {
            lines.remove(i);
            i == 0
        }
        _ => {
            let j = (i + 1 + (op as usize / 3) % (n - 1)) % n;
            lines.swap(i, j);
            false
        }
    };
    let verdict = audit::verify(&lines);
    let head_break = audit::verify_head(&lines, &head);
    let detected = matches!(verdict, Verdict::Broken(_)) || head_break.is_some();
    if oldest_removed {
        assert!(
            detected
                || matches!(
                    verdict,
                    Verdict::Verified {
                        continues: true,
                        ..
                    }
                ),
            "removing the oldest record went unsaid: {verdict:?}"
        );
    } else {
        assert!(detected, "op {op} at {i} went unseen: {verdict:?}");
    }
}

fuzz_target!(|data: &[u8]| {
    as_written(data);
    tampered(data);
});
