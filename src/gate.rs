//! The gate: a pure decision from the request, the environment and the policy.
//!
//! It runs before the store or any display is touched, so a CI refusal costs nothing
//! and never opens a window.

use std::time::Duration;

use clap::{Parser, ValueEnum};

use crate::env::Snapshot;

pub(crate) use crate::policy::ReadPolicy;
use crate::request::{CargoRequest, Operation};

/// `--ci=`: what to do on CI runners and without a display.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub(crate) enum CiPolicy {
    /// Fail at once with guidance (fatal for cargo).
    #[default]
    Refuse,
    /// Answer "not found", so cargo falls through to the next provider.
    Pass,
}

/// Options written after the program name in cargo's `credential-provider` config, and so
/// in each request's `args`. A worm running as the user writes that config, so these may
/// only tighten what the root-owned policy file allows (`Options::within`).
#[derive(Debug, Clone, Parser, PartialEq)]
#[command(
    name = "cargo-confirm-gui (provider args)",
    no_binary_name = true,
    disable_help_flag = true,
    disable_version_flag = true
)]
pub struct Options {
    /// Accepted for `credential-provider = ["cargo-confirm-gui", "get"]`; no effect.
    #[arg(value_parser = ["get"], hide = true)]
    get: Option<String>,
    /// Authenticated reads: `prompt` (the default), or `allow` where the policy file allows it.
    #[arg(long, value_enum)]
    read: Option<ReadPolicy>,
    /// On CI or without a display: `refuse` (default) or `pass`.
    #[arg(long, value_enum, default_value_t)]
    pub(crate) ci: CiPolicy,
    /// Seconds before an unanswered window counts as Deny.
    #[arg(long, default_value_t = 120, value_parser = clap::value_parser!(u64).range(5..=3600))]
    timeout: u64,
    /// Seconds after a Deny during which requests are refused without a window (the policy
    /// file's, 30 by default; only raised here).
    #[arg(long, value_parser = clap::value_parser!(u64).range(0..=3600))]
    cooldown: Option<u64>,
    /// Seconds the window must be visible and focused before Approve arms (1 s at least).
    #[arg(long = "arm-delay", default_value_t = 1.0, value_parser = parse_arm_delay)]
    arm_delay: f64,
}

pub(crate) use crate::policy::Requests as Allowed;

/// Why provider args are refused. The `Display` is the message cargo prints.
#[derive(Debug, thiserror::Error)]
pub enum OptionsError {
    /// clap refused an option: unknown, a bad value, a value out of range.
    #[error(
        "cargo-confirm-gui: bad option in cargo's `credential-provider` config: {}. Nothing was \
         released. Fix that entry in ~/.cargo/config.toml; valid options: {}",
        first_line(source),
        option_list()
    )]
    Bad {
        /// clap's own error.
        #[source]
        source: clap::Error,
    },
    /// An option would loosen what the root-owned policy file allows.
    #[error(
        "cargo-confirm-gui: {what} in cargo's `credential-provider` config would loosen the \
         policy, and any program running as you can write that config, so it is refused. Only \
         the root-owned {} can: {setting} under [requests]",
        crate::policy::PATH
    )]
    Loosens {
        /// The option as the person wrote it, with why it loosens.
        what: String,
        /// The policy file's setting that could do it.
        setting: String,
    },
}

/// The first line of clap's message, without its `error: `.
fn first_line(e: &clap::Error) -> String {
    let msg = e.to_string();
    msg.lines()
        .next()
        .unwrap_or("")
        .trim_start_matches("error: ")
        .to_string()
}

/// Why `--arm-delay` is refused (clap puts it in its message).
#[derive(Debug, thiserror::Error)]
enum ArmDelayError {
    /// Not a number.
    #[error("`{given}` is not a number of seconds")]
    NotANumber {
        /// What was written.
        given: String,
        /// What the parser said.
        #[source]
        source: std::num::ParseFloatError,
    },
    /// Outside 1 to 30 seconds.
    #[error("the arming delay can only be raised, to between 1 and 30 seconds")]
    OutOfRange,
}

fn parse_arm_delay(s: &str) -> Result<f64, ArmDelayError> {
    let v: f64 = s.parse().map_err(|source| ArmDelayError::NotANumber {
        given: s.to_string(),
        source,
    })?;
    if !(1.0..=30.0).contains(&v) {
        return Err(ArmDelayError::OutOfRange);
    }
    Ok(v)
}

impl Default for Options {
    fn default() -> Self {
        Options::parse_from(std::iter::empty::<&str>())
    }
}

/// The list of provider options, for messages and `--help`: written from the one clap
/// definition above, so it cannot drift.
pub fn option_list() -> String {
    let cmd = <Options as clap::CommandFactory>::command();
    cmd.get_arguments()
        .filter(|a| !a.is_hide_set())
        .filter_map(|a| {
            let long = a.get_long()?;
            let values: Vec<String> = a
                .get_possible_values()
                .iter()
                .map(|v| v.get_name().to_string())
                .collect();
            Some(if values.is_empty() {
                format!("--{long}=SECONDS")
            } else {
                format!("--{long}={}", values.join("|"))
            })
        })
        .collect::<Vec<_>>()
        .join(", ")
}

impl Options {
    /// Parses the provider args cargo forwards, with a message that names the bad one.
    pub fn from_args(args: &[&str]) -> Result<Self, OptionsError> {
        Options::try_parse_from(args).map_err(|source| OptionsError::Bad { source })
    }

    /// Checks the options against what the policy file allows: they may tighten it, never
    /// loosen it. A loosening option is an error that says where such a setting lives.
    pub(crate) fn within(mut self, allowed: &Allowed) -> Result<Self, OptionsError> {
        let only_root = |what: &str, setting: &str| OptionsError::Loosens {
            what: what.to_string(),
            setting: setting.to_string(),
        };
        match (self.read, allowed.read) {
            (Some(ReadPolicy::Allow), ReadPolicy::Prompt) => {
                return Err(only_root("`--read=allow`", "read = \"allow\""));
            }
            (None, admin) => self.read = Some(admin),
            _ => {}
        }
        match self.cooldown {
            Some(c) if c < allowed.cooldown => {
                return Err(only_root(
                    &format!("`--cooldown={c}` (shorter than {} s)", allowed.cooldown),
                    &format!("cooldown = {c}"),
                ));
            }
            None => self.cooldown = Some(allowed.cooldown),
            _ => {}
        }
        Ok(self)
    }

    /// The window timeout.
    pub(crate) fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout)
    }

    /// The cooldown after a Deny.
    pub(crate) fn cooldown(&self) -> Duration {
        Duration::from_secs(self.cooldown.unwrap_or(Allowed::default().cooldown))
    }

    /// The read policy.
    fn read(&self) -> ReadPolicy {
        self.read.unwrap_or_default()
    }

    /// The arming delay.
    pub(crate) fn arm_delay(&self) -> Duration {
        Duration::from_secs_f64(self.arm_delay)
    }
}

pub(crate) use crate::error::Refusal;

/// What the pipeline does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Fail with this refusal (fatal for cargo).
    Refuse(Refusal),
    /// Answer "not found" so cargo moves on to its next provider.
    PassToNext,
    /// cargo's header-less pre-flight read before `publish`: answer with a placeholder
    /// that is not the secret, if a token is enrolled.
    Preflight,
    /// Release the read token without a window (`--read=allow`).
    ReleaseRead,
    /// Open the window.
    Prompt,
    /// The operation is not one this version understands.
    Unsupported,
}

/// Decides what to do with a request. Pure: no I/O.
pub fn decide(op: &Operation, env: &Snapshot, policy: &Options) -> Verdict {
    if *op == Operation::Unknown {
        return Verdict::Unsupported;
    }
    let refusal = match &env.ci_marker {
        Some(var) => Some(Refusal::Ci(var.clone())),
        None if !env.has_display() => Some(Refusal::Headless),
        None => None,
    };
    if let Some(refusal) = refusal {
        return match policy.ci {
            CiPolicy::Refuse => Verdict::Refuse(refusal),
            CiPolicy::Pass => Verdict::PassToNext,
        };
    }
    match op {
        Operation::Cargo(CargoRequest::Read {
            authenticated: false,
        }) => Verdict::Preflight,
        Operation::Cargo(CargoRequest::Read {
            authenticated: true,
        }) if policy.read() == ReadPolicy::Allow => Verdict::ReleaseRead,
        _ => Verdict::Prompt,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::StoreChange;

    fn desktop() -> Snapshot {
        Snapshot {
            x11_display: Some(":0".into()),
            ..Default::default()
        }
    }

    fn publish() -> Operation {
        Operation::Cargo(CargoRequest::Publish {
            name: "a".into(),
            vers: "1.0.0".into(),
            cksum: "00".into(),
        })
    }

    #[test]
    fn ci_refuses_every_operation_before_anything_else() {
        let env = Snapshot {
            ci_marker: Some("GITHUB_ACTIONS".into()),
            ..desktop()
        };
        for op in [
            publish(),
            Operation::Cargo(CargoRequest::Read {
                authenticated: false,
            }),
            Operation::Cargo(CargoRequest::Read {
                authenticated: true,
            }),
            Operation::Store(StoreChange::Login {
                token_given: true,
                enroll: false,
            }),
            Operation::Store(StoreChange::Logout),
            Operation::Caller,
        ] {
            assert_eq!(
                decide(&op, &env, &Options::default()),
                Verdict::Refuse(Refusal::Ci("GITHUB_ACTIONS".into())),
                "{op:?}"
            );
        }
    }

    #[test]
    fn headless_refuses() {
        assert_eq!(
            decide(&publish(), &Snapshot::default(), &Options::default()),
            Verdict::Refuse(Refusal::Headless)
        );
    }

    #[test]
    fn ci_pass_falls_through() {
        let policy = Options::from_args(&["--ci=pass"]).unwrap();
        assert_eq!(
            decide(&publish(), &Snapshot::default(), &policy),
            Verdict::PassToNext
        );
    }

    #[test]
    fn mutations_prompt() {
        for op in [
            publish(),
            Operation::Cargo(CargoRequest::Yank {
                name: "a".into(),
                vers: "1.0.0".into(),
                undo: false,
            }),
            Operation::Cargo(CargoRequest::Yank {
                name: "a".into(),
                vers: "1.0.0".into(),
                undo: true,
            }),
            Operation::Cargo(CargoRequest::Owners { name: "a".into() }),
            Operation::Store(StoreChange::Login {
                token_given: false,
                enroll: false,
            }),
            Operation::Store(StoreChange::Logout),
            Operation::Caller,
        ] {
            assert_eq!(
                decide(&op, &desktop(), &Options::default()),
                Verdict::Prompt,
                "{op:?}"
            );
        }
    }

    #[test]
    fn read_policy() {
        let pre = Operation::Cargo(CargoRequest::Read {
            authenticated: false,
        });
        let auth = Operation::Cargo(CargoRequest::Read {
            authenticated: true,
        });
        // Allowed by root: `--read=allow`, or no option at all, releases without a window.
        let root_allows = Allowed {
            read: ReadPolicy::Allow,
            ..Allowed::default()
        };
        let allow = Options::from_args(&["get", "--read=allow"])
            .unwrap()
            .within(&root_allows)
            .unwrap();
        let unset = Options::from_args(&[])
            .unwrap()
            .within(&root_allows)
            .unwrap();
        assert_eq!(decide(&auth, &desktop(), &unset), Verdict::ReleaseRead);
        // ... and `--read=prompt` tightens it again.
        let prompt = Options::from_args(&["--read=prompt"])
            .unwrap()
            .within(&root_allows)
            .unwrap();
        assert_eq!(decide(&auth, &desktop(), &prompt), Verdict::Prompt);
        assert_eq!(
            decide(&pre, &desktop(), &Options::default()),
            Verdict::Preflight
        );
        assert_eq!(decide(&pre, &desktop(), &allow), Verdict::Preflight);
        assert_eq!(
            decide(&auth, &desktop(), &Options::default()),
            Verdict::Prompt
        );
        assert_eq!(decide(&auth, &desktop(), &allow), Verdict::ReleaseRead);
    }

    #[test]
    fn unknown_is_unsupported() {
        assert_eq!(
            decide(&Operation::Unknown, &desktop(), &Options::default()),
            Verdict::Unsupported
        );
    }

    #[test]
    fn options_from_a_request_only_tighten() {
        let default = Allowed::default();
        // Regression, "Nothing the caller supplies" (1): the worm wrote `--read=allow` into
        // the request and the sealed helper released a read token with no window.
        let e = Options::from_args(&["get", "--read=allow"])
            .unwrap()
            .within(&default)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("`--read=allow`")
                && e.contains("/etc/cargo-confirm-gui/policy.toml")
                && e.contains("read = \"allow\""),
            "{e}"
        );
        // A shorter cooldown loosens; a longer one, a longer timeout or arming delay tighten.
        let e = Options::from_args(&["--cooldown=0"])
            .unwrap()
            .within(&default)
            .unwrap_err()
            .to_string();
        assert!(e.contains("`--cooldown=0` (shorter than 30 s)"), "{e}");
        let o = Options::from_args(&["--cooldown=90", "--timeout=600", "--arm-delay=3"])
            .unwrap()
            .within(&default)
            .unwrap();
        assert_eq!(o.cooldown(), Duration::from_secs(90));
        assert_eq!(o.read(), ReadPolicy::Prompt);
        // The policy file's shorter cooldown is the floor, and the default.
        let short = Allowed {
            cooldown: 5,
            ..Allowed::default()
        };
        let o = Options::from_args(&[]).unwrap().within(&short).unwrap();
        assert_eq!(o.cooldown(), Duration::from_secs(5));
        assert!(
            Options::from_args(&["--cooldown=5"])
                .unwrap()
                .within(&short)
                .is_ok()
        );
        assert!(
            Options::from_args(&["--cooldown=4"])
                .unwrap()
                .within(&short)
                .is_err()
        );
    }

    #[test]
    fn the_option_list_comes_from_the_definition() {
        let list = option_list();
        for o in [
            "--read=prompt|allow",
            "--ci=refuse|pass",
            "--timeout=SECONDS",
            "--cooldown=SECONDS",
            "--arm-delay=SECONDS",
        ] {
            assert!(list.contains(o), "{list}");
        }
    }

    #[test]
    fn policy_args() {
        let p = Options::from_args(&[]).unwrap();
        assert_eq!(
            (p.read(), p.ci, p.timeout, p.arm_delay),
            (ReadPolicy::Prompt, CiPolicy::Refuse, 120, 1.0)
        );
        let p = Options::from_args(&["get", "--timeout=30", "--arm-delay=2.5"]).unwrap();
        assert_eq!((p.timeout, p.arm_delay), (30, 2.5));
        // The arming delay can only be raised.
        assert!(
            Options::from_args(&["--arm-delay=0.2"])
                .unwrap_err()
                .to_string()
                .contains("only be raised")
        );
        let e = Options::from_args(&["--auto-approve"])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("--auto-approve") && e.contains("valid options"),
            "{e}"
        );
        assert!(Options::from_args(&["--read=yes"]).is_err());
    }
}
