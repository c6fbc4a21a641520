//! Checking the chain: pure functions of the lines as written.

use sha2::{Digest, Sha256};

use super::LINE_MAX;

/// The `prev` of the first record of a fresh log.
pub(crate) const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The sha256 of a line's bytes as written (without its newline), in lowercase hex: what the
/// next record carries as `prev`.
pub(crate) fn line_hash(line: &[u8]) -> String {
    Sha256::digest(line)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A record as read back. Older versions wrote every field but `prev` (and `evidence` only
/// when there was some).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Entry {
    /// Seconds since the Unix epoch.
    pub(crate) time: u64,
    /// Registry index URL.
    pub(crate) registry: String,
    /// Operation verb.
    pub(crate) operation: String,
    /// Crate, version, checksum when known.
    pub(crate) detail: String,
    /// Requester exe path.
    pub(crate) requester: String,
    /// What was decided.
    pub(crate) outcome: String,
    /// What the window showed about the packaged crate (publish only).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    evidence: String,
    /// Where the published bytes came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    provenance: Option<serde_json::Value>,
    /// The hash of the line before; `None` for a record written before the chain existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    prev: Option<String>,
}

/// What [`verify`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every record names the one before it.
    Verified {
        /// How many records there are.
        records: usize,
        /// How many at the beginning carry no `prev`: written by a version before the chain.
        unchained: usize,
        /// Whether the first chained record names a line that is not in the log: records
        /// rotated away (or removed) before the oldest kept.
        continues: bool,
    },
    /// The first record at which the chain does not hold.
    Broken(Break),
}

/// Where and why the chain breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Break {
    /// The record, counted from 0, `audit.jsonl.1`'s first; the number of records when the
    /// break is at the end (see [`verify_head`]).
    pub(crate) index: usize,
    /// That record's time, when it could be read.
    pub(crate) time: Option<u64>,
    pub(crate) why: Why,
}

/// Why the chain breaks at a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Why {
    /// The line is not a record (bad JSON, a missing field, not UTF-8, cut short).
    NotARecord(String),
    /// The line is longer than any the helper writes ([`LINE_MAX`]).
    TooLong,
    /// A record without `prev` after chained ones.
    MissingPrev,
    /// `prev` is not a sha256 in lowercase hex.
    BadPrev,
    /// `prev` is not the hash of the line before, nor of any line in the log.
    Mismatch,
    /// `prev` is the hash of another line of the log (counted from 0), not of the one before.
    OutOfOrder {
        /// The record it names.
        follows: usize,
    },
    /// The record written last (the head) is not in the log.
    EndRemoved,
    /// The record written last (the head) is this one's predecessor, yet records follow.
    AfterHead,
    /// The log has no records, but the helper wrote some.
    LogGone,
}

impl std::fmt::Display for Why {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Why::NotARecord(e) => write!(
                f,
                "not a record ({e}): the line was edited, or cut short by a crash"
            ),
            Why::TooLong => write!(
                f,
                "a line longer than any the helper writes ({LINE_MAX} bytes): it was put there by something else"
            ),
            Why::MissingPrev => write!(
                f,
                "no `prev` after chained records: it was written by something else (or by an \
                 older version after a newer one)"
            ),
            Why::BadPrev => write!(f, "its `prev` is not a sha256: the record was edited"),
            Why::Mismatch => write!(
                f,
                "its `prev` is not the hash of the record before it: that record was edited, or \
                 records were deleted between them"
            ),
            Why::OutOfOrder { follows } => write!(
                f,
                "its `prev` names record {}, not the one before it: records were reordered or copied",
                follows + 1
            ),
            Why::EndRemoved => write!(
                f,
                "the record the helper wrote last (audit.jsonl.head) is not in the log: records \
                 at the end were removed, or the last one was edited"
            ),
            Why::AfterHead => write!(
                f,
                "the helper's last record (audit.jsonl.head) is the one before: this one and any \
                 after it were added by something else"
            ),
            Why::LogGone => write!(
                f,
                "the log is empty, but the helper wrote records (audit.jsonl.head): it was deleted"
            ),
        }
    }
}

fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn broken(index: usize, time: Option<u64>, why: Why) -> Verdict {
    Verdict::Broken(Break { index, time, why })
}

/// Checks that each record names the line before it, `audit.jsonl.1`'s lines first. Records
/// without `prev` are unchained (an older version) at the beginning of the log, and a break
/// anywhere else. An edited record shows at the record after it (whose `prev` no longer
/// matches); a deleted one at the record that followed it; a reordered pair at the first
/// of the two. The end of the log is checked against the head by [`verify_head`].
pub fn verify<L: AsRef<[u8]>>(lines: &[L]) -> Verdict {
    let hashes: Vec<String> = lines.iter().map(|l| line_hash(l.as_ref())).collect();
    let mut unchained = 0;
    let mut chained = false;
    let mut continues = false;
    for (i, line) in lines.iter().enumerate() {
        let line = line.as_ref();
        if line.len() > LINE_MAX {
            return broken(i, None, Why::TooLong);
        }
        let entry: Entry = match serde_json::from_slice(line) {
            Ok(e) => e,
            Err(e) => return broken(i, None, Why::NotARecord(e.to_string())),
        };
        let time = Some(entry.time);
        let Some(prev) = entry.prev else {
            if chained {
                return broken(i, time, Why::MissingPrev);
            }
            unchained += 1;
            continue;
        };
        if !is_sha256_hex(&prev) {
            return broken(i, time, Why::BadPrev);
        }
        // The first record may name a line rotated away, but not one still in the log.
        let names = || hashes.iter().position(|h| *h == prev);
        if i == 0 {
            if let Some(follows) = names() {
                return broken(i, time, Why::OutOfOrder { follows });
            }
            continues = prev != GENESIS;
        } else if prev != hashes[i - 1] {
            let why = match names() {
                Some(follows) => Why::OutOfOrder { follows },
                None => Why::Mismatch,
            };
            return broken(i, time, why);
        }
        chained = true;
    }
    Verdict::Verified {
        records: lines.len(),
        unchained,
        continues,
    }
}

/// Checks the end of the log against `head`, the contents of `audit.jsonl.head` (the hash of
/// the line the helper wrote last): what the chain cannot see, since nothing follows the last
/// record. An empty head (an older version wrote none) checks nothing.
pub fn verify_head<L: AsRef<[u8]>>(lines: &[L], head: &str) -> Option<Break> {
    let head = head.trim();
    if head.is_empty() {
        return None;
    }
    let Some(last) = lines.last() else {
        return Some(Break {
            index: 0,
            time: None,
            why: Why::LogGone,
        });
    };
    if line_hash(last.as_ref()) == head {
        return None;
    }
    let time_of = |i: usize| {
        serde_json::from_slice::<Entry>(lines[i].as_ref())
            .ok()
            .map(|e| e.time)
    };
    Some(
        match lines.iter().position(|l| line_hash(l.as_ref()) == head) {
            Some(k) => Break {
                index: k + 1,
                time: time_of(k + 1),
                why: Why::AfterHead,
            },
            None => Break {
                index: lines.len(),
                time: None,
                why: Why::EndRemoved,
            },
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A chained log of `n` records, as `append` writes it.
    fn log(n: usize) -> Vec<String> {
        let mut lines: Vec<String> = Vec::new();
        for i in 0..n {
            let prev = lines
                .last()
                .map_or(GENESIS.to_string(), |l| line_hash(l.as_bytes()));
            lines.push(old_record(i, &format!(r#","prev":"{prev}""#)));
        }
        lines
    }

    /// A record as an older version wrote it, with `tail` added before the closing brace.
    fn old_record(i: usize, tail: &str) -> String {
        format!(
            r#"{{"time":{},"registry":"https://r/","operation":"publish","detail":"c{i} 1.0.0 sha256:ab","requester":"/usr/bin/cargo","outcome":"approved"{tail}}}"#,
            1_700_000_000 + i
        )
    }

    fn broken_at(v: &Verdict) -> (usize, &Why) {
        match v {
            Verdict::Broken(b) => (b.index, &b.why),
            v => panic!("not broken: {v:?}"),
        }
    }

    #[test]
    fn an_untouched_log_verifies() {
        assert_eq!(
            verify(&log(5)),
            Verdict::Verified {
                records: 5,
                unchained: 0,
                continues: false
            }
        );
        assert_eq!(
            verify::<String>(&[]),
            Verdict::Verified {
                records: 0,
                unchained: 0,
                continues: false
            }
        );
    }

    #[test]
    fn an_edited_field_breaks_the_chain_at_the_next_record() {
        let mut lines = log(5);
        lines[2] = lines[2].replace("approved", "denied");
        let v = verify(&lines);
        assert_eq!(broken_at(&v), (3, &Why::Mismatch));
        let Verdict::Broken(b) = v else { panic!() };
        assert_eq!(b.time, Some(1_700_000_003));
        // The last record edited: only the head sees it.
        let mut lines = log(5);
        let head = line_hash(lines[4].as_bytes());
        lines[4] = lines[4].replace("approved", "denied");
        assert!(matches!(verify(&lines), Verdict::Verified { .. }));
        assert_eq!(verify_head(&lines, &head).unwrap().why, Why::EndRemoved);
    }

    #[test]
    fn an_edited_prev_is_seen() {
        let mut lines = log(3);
        lines[1] = lines[1].replace(&line_hash(lines[0].as_bytes()), &"a".repeat(64));
        assert_eq!(broken_at(&verify(&lines)), (1, &Why::Mismatch));
        let mut lines = log(3);
        lines[1] = lines[1].replace(&line_hash(lines[0].as_bytes()), "nothex");
        assert_eq!(broken_at(&verify(&lines)), (1, &Why::BadPrev));
    }

    #[test]
    fn a_deleted_record_breaks_the_chain_where_it_was() {
        let mut lines = log(5);
        lines.remove(2);
        assert_eq!(broken_at(&verify(&lines)), (2, &Why::Mismatch));
        // The last ones deleted: the head.
        let mut lines = log(5);
        let head = line_hash(lines[4].as_bytes());
        lines.truncate(3);
        assert!(matches!(verify(&lines), Verdict::Verified { .. }));
        let b = verify_head(&lines, &head).unwrap();
        assert_eq!((b.index, b.why), (3, Why::EndRemoved));
        // All of it.
        assert_eq!(verify_head::<String>(&[], &head).unwrap().why, Why::LogGone);
    }

    #[test]
    fn a_reordered_pair_breaks_the_chain_at_the_first() {
        let mut lines = log(5);
        lines.swap(0, 1);
        assert_eq!(
            broken_at(&verify(&lines)),
            (0, &Why::OutOfOrder { follows: 1 })
        );
        let mut lines = log(5);
        lines.swap(1, 2);
        assert_eq!(
            broken_at(&verify(&lines)),
            (1, &Why::OutOfOrder { follows: 2 })
        );
        // A record copied again further on.
        let mut lines = log(4);
        lines.push(lines[1].clone());
        assert_eq!(
            broken_at(&verify(&lines)),
            (4, &Why::OutOfOrder { follows: 0 })
        );
    }

    #[test]
    fn an_inserted_record_breaks_the_chain() {
        let mut lines = log(4);
        lines.insert(2, old_record(9, &format!(r#","prev":"{GENESIS}""#)));
        assert_eq!(broken_at(&verify(&lines)), (2, &Why::Mismatch));
        // Appended at the end with a good `prev`: only the head sees it.
        let mut lines = log(4);
        let head = line_hash(lines[3].as_bytes());
        let prev = line_hash(lines[3].as_bytes());
        lines.push(old_record(9, &format!(r#","prev":"{prev}""#)));
        assert!(matches!(verify(&lines), Verdict::Verified { .. }));
        let b = verify_head(&lines, &head).unwrap();
        assert_eq!(
            (b.index, b.why, b.time),
            (4, Why::AfterHead, Some(1_700_000_009))
        );
    }

    #[test]
    fn an_old_log_without_prev_is_unchained_at_the_beginning_only() {
        // An older version wrote three records; this one chains on from the last of them.
        let mut lines: Vec<String> = (0..3).map(|i| old_record(i, "")).collect();
        for i in 3..5 {
            let prev = line_hash(lines.last().unwrap().as_bytes());
            lines.push(old_record(i, &format!(r#","prev":"{prev}""#)));
        }
        assert_eq!(
            verify(&lines),
            Verdict::Verified {
                records: 5,
                unchained: 3,
                continues: false
            }
        );
        // The last unchained record is covered by the first chained one.
        let mut edited = lines.clone();
        edited[2] = edited[2].replace("approved", "denied");
        assert_eq!(broken_at(&verify(&edited)), (3, &Why::Mismatch));
        // A record without `prev` after chained ones is a break, not an old version.
        lines.push(old_record(5, ""));
        assert_eq!(broken_at(&verify(&lines)), (5, &Why::MissingPrev));
        // An older version's records carry no head either: nothing to check at the end.
        assert_eq!(verify_head(&lines, ""), None);
    }

    #[test]
    fn a_line_that_is_not_a_record_is_a_break() {
        for bad in [
            "".to_string(),
            "not json".to_string(),
            r#"{"time":1}"#.to_string(),
            "{\"time\":1,\"registry\":\"\u{0}".to_string(),
        ] {
            let mut lines = log(3);
            lines.insert(1, bad.clone());
            assert!(
                matches!(broken_at(&verify(&lines)), (1, Why::NotARecord(_))),
                "{bad:?}"
            );
        }
        let mut lines: Vec<Vec<u8>> = log(3).into_iter().map(String::into_bytes).collect();
        lines[1].extend_from_slice(b"\xff");
        assert!(matches!(
            broken_at(&verify(&lines)),
            (1, Why::NotARecord(_))
        ));
    }

    #[test]
    fn a_log_that_begins_after_a_rotation_says_so() {
        let mut lines = log(4);
        lines.remove(0);
        assert_eq!(
            verify(&lines),
            Verdict::Verified {
                records: 3,
                unchained: 0,
                continues: true
            }
        );
    }
}
