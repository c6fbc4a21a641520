//! The helper's own child processes: one seam for every process the broker starts of itself.
//!
//! A child is this very binary started again with a marker as its first argument, an
//! environment of its role's choosing (never the caller's as a whole), and two pipes that
//! carry JSON lines: the broker's asks in, the child's answers out. Dropping the handle ends
//! the child. Each role ([`Role`]) names its marker, its two message types and its
//! environment; the child's side reads and writes through [`Lines`].
//!
//! Started from a setgid binary, a child is in the kernel's secure mode and not dumpable from
//! its first instruction, as the broker is; `cli::child` has each role check that its parent
//! is the helper and give up the group before it does anything else.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Write};
use std::marker::PhantomData;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// What a child process is for: its marker argument, what it is asked and what it answers.
pub(crate) trait Role {
    /// The hidden first argument that starts this child.
    const ARG: &'static str;
    /// The role's name, for messages ("the window process").
    const NAME: &'static str;
    /// What the broker sends.
    type Ask: serde::Serialize + serde::de::DeserializeOwned;
    /// What the child answers.
    type Answer: serde::Serialize + serde::de::DeserializeOwned;
}

/// Why talking to a child failed. (`pub` only so that the public error types that carry it
/// may name it; the module is the crate's own.)
#[derive(Debug, thiserror::Error)]
pub enum ChildError {
    /// It could not be started.
    #[error("cannot start {role}: {source}")]
    Start {
        /// Which child.
        role: &'static str,
        /// What the system said.
        source: std::io::Error,
    },
    /// A line to or from it could not be written or read, or it ended.
    #[error("{role}: {source}")]
    Pipe {
        /// Which child.
        role: &'static str,
        /// What happened.
        #[source]
        source: LineError,
    },
    /// Its input was closed (or taken by a writer thread) before this ask.
    #[error("{role}: its input is closed")]
    InputClosed {
        /// Which child.
        role: &'static str,
    },
    /// Its output was taken by a reader thread before this read.
    #[error("{role}: its output is taken")]
    OutputTaken {
        /// Which child.
        role: &'static str,
    },
}

/// Why one JSON line could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum LineError {
    /// The value could not be written as JSON.
    #[error("{0}")]
    Encode(#[source] serde_json::Error),
    /// The pipe failed.
    #[error("{0}")]
    Io(#[source] std::io::Error),
    /// The line was longer than `MAX_LINE`.
    #[error("a line longer than the limit")]
    TooLong,
    /// The input ended inside a line: the writer died mid-line.
    #[error("an unfinished line")]
    Unfinished,
    /// The line is not the JSON of what was expected.
    #[error("{0}")]
    Decode(#[source] serde_json::Error),
}

/// This binary, for starting it again: on Linux `/proc/self/exe`, the very file running even
/// if its path was replaced since; elsewhere the path the system reports for this process.
pub(crate) fn self_exe() -> Result<PathBuf, std::io::Error> {
    if cfg!(target_os = "linux") {
        Ok(PathBuf::from("/proc/self/exe"))
    } else {
        std::env::current_exe()
    }
}

/// A running child of role `R`. Dropping it closes its input and ends it.
pub(crate) struct Child<R: Role> {
    process: std::process::Child,
    to: Option<std::process::ChildStdin>,
    from: Option<BufReader<std::process::ChildStdout>>,
    _role: PhantomData<R>,
}

impl<R: Role> Child<R> {
    /// Starts `R`'s child with exactly the environment `env`.
    pub(crate) fn start(env: Vec<(String, OsString)>) -> Result<Self, ChildError> {
        let start = |source| ChildError::Start {
            role: R::NAME,
            source,
        };
        let mut process = Command::new(self_exe().map_err(start)?)
            .arg(R::ARG)
            .env_clear()
            .envs(env)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(start)?;
        let (to, from) = (process.stdin.take(), process.stdout.take());
        Ok(Child {
            process,
            to,
            from: from.map(BufReader::new),
            _role: PhantomData,
        })
    }

    fn pipe(source: LineError) -> ChildError {
        ChildError::Pipe {
            role: R::NAME,
            source,
        }
    }

    /// The child's process id.
    pub(crate) fn id(&self) -> u32 {
        self.process.id()
    }

    /// Sends one ask. The line is wiped after writing: asks may carry a secret.
    pub(crate) fn send(&mut self, ask: &R::Ask) -> Result<(), ChildError> {
        let to = self
            .to
            .as_mut()
            .ok_or(ChildError::InputClosed { role: R::NAME })?;
        write_line(to, ask).map_err(Self::pipe)
    }

    /// Reads the next answer; `None` when the child closed its output.
    pub(crate) fn recv(&mut self) -> Result<Option<R::Answer>, ChildError> {
        let from = self
            .from
            .as_mut()
            .ok_or(ChildError::OutputTaken { role: R::NAME })?;
        read_line(from).map_err(Self::pipe)
    }

    /// Takes the input pipe, for a writer thread of the caller's.
    pub(crate) fn take_input(&mut self) -> Option<std::process::ChildStdin> {
        self.to.take()
    }

    /// Takes the output pipe, for a reader thread of the caller's.
    pub(crate) fn take_output(&mut self) -> Option<BufReader<std::process::ChildStdout>> {
        self.from.take()
    }

    /// Closes the child's input and waits for it to end on its own.
    pub(crate) fn finish(mut self) -> Option<std::process::ExitStatus> {
        drop(self.to.take());
        self.process.wait().ok()
    }
}

impl<R: Role> Drop for Child<R> {
    fn drop(&mut self) {
        // Killing a child that already ended is harmless (the error is ignored for that);
        // waiting reaps it either way, and a child that cannot be reaped has nothing to give.
        drop(self.to.take());
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// Writes `value` as one JSON line and flushes; the serialized bytes are wiped after.
pub(crate) fn write_line<T: serde::Serialize>(
    to: &mut impl Write,
    value: &T,
) -> Result<(), LineError> {
    let mut line = zeroize::Zeroizing::new(serde_json::to_vec(value).map_err(LineError::Encode)?);
    line.push(b'\n');
    to.write_all(&line)
        .and_then(|()| to.flush())
        .map_err(LineError::Io)
}

/// The longest line either side accepts: a window's transaction with a 200-file report is
/// far below it.
const MAX_LINE: u64 = 16 << 20;

/// Reads one JSON line; `None` at the end of input. The line read is wiped after parsing.
pub(crate) fn read_line<T: serde::de::DeserializeOwned>(
    from: &mut impl BufRead,
) -> Result<Option<T>, LineError> {
    let mut line = zeroize::Zeroizing::new(Vec::new());
    let n = std::io::Read::take(&mut *from, MAX_LINE)
        .read_until(b'\n', &mut line)
        .map_err(LineError::Io)?;
    if n == 0 {
        return Ok(None);
    }
    if line.last() != Some(&b'\n') {
        return Err(if n as u64 >= MAX_LINE {
            LineError::TooLong
        } else {
            LineError::Unfinished
        });
    }
    serde_json::from_slice(&line)
        .map(Some)
        .map_err(LineError::Decode)
}

/// The child's side of the pipes: its asks on stdin, its answers on stdout.
pub(crate) struct Lines<R: Role> {
    input: BufReader<std::io::Stdin>,
    _role: PhantomData<R>,
}

impl<R: Role> Default for Lines<R> {
    fn default() -> Self {
        Lines {
            input: BufReader::new(std::io::stdin()),
            _role: PhantomData,
        }
    }
}

impl<R: Role> Lines<R> {
    /// The next ask; `None` when the broker closed the pipe.
    pub(crate) fn recv(&mut self) -> Result<Option<R::Ask>, LineError> {
        read_line(&mut self.input)
    }

    /// Sends one answer.
    pub(crate) fn send(answer: &R::Answer) -> Result<(), LineError> {
        write_line(&mut std::io::stdout().lock(), answer)
    }

    /// The input, for a reader thread.
    pub(crate) fn into_input(self) -> BufReader<std::io::Stdin> {
        self.input
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_round_trip_and_refuse_what_is_cut_off() {
        let mut buf = Vec::new();
        write_line(&mut buf, &vec!["a".to_string(), "b\nc".to_string()]).unwrap();
        assert_eq!(buf.iter().filter(|b| **b == b'\n').count(), 1);
        let mut r = std::io::Cursor::new(buf.clone());
        let back: Option<Vec<String>> = read_line(&mut r).unwrap();
        assert_eq!(back.unwrap(), ["a", "b\nc"]);
        assert_eq!(read_line::<Vec<String>>(&mut r).unwrap(), None);
        // A writer that died mid-line: an error, not a message.
        let mut cut = std::io::Cursor::new(buf[..buf.len() - 1].to_vec());
        assert!(matches!(
            read_line::<Vec<String>>(&mut cut),
            Err(LineError::Unfinished)
        ));
    }
}
