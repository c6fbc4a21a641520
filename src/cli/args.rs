//! The one command line of the helper, as one clap tree: `cargo-confirm-gui …` and `cargo
//! confirm-gui …` are the same commands (cargo runs this binary with `confirm-gui` first).
//! Every command is listed in `--help`; `--help` on any of them prints its help and does
//! nothing else; `--version` works in both forms. Completions and the man page are generated
//! from this tree (`__generate`).

use clap::{Parser, Subcommand};

/// How the binary is configured in cargo, for `--help`.
pub const USAGE_HELP: &str = "In ~/.cargo/config.toml:\n  [registry]\n  global-credential-providers = [\"cargo-confirm-gui\"]\n\n(Not `credential-process = [...]`: cargo 1.74 and later ignore that key and fall back to a plain-text token. `cargo confirm-gui setup` rewrites it.)";

/// A cargo credential provider that releases a registry token only after a person clicks
/// Approve in a window showing what is being published.
#[derive(Parser, Debug)]
#[command(name = "cargo-confirm-gui", version)]
pub struct Cli {
    /// Open the window to paste and store a token.
    #[arg(long)]
    pub enroll: bool,
    /// Sealed install only: move a token from the Secret Service into the sealed store,
    /// after a person confirms it in a window.
    #[arg(long, conflicts_with = "enroll")]
    pub migrate: bool,
    /// Registry name from cargo's config (default: crates-io).
    #[arg(long, global = true, conflicts_with = "index_url")]
    pub registry: Option<String>,
    /// Registry index URL.
    #[arg(long, global = true)]
    pub index_url: Option<String>,
    /// Set by cargo when it runs a credential provider.
    #[arg(long, hide = true)]
    pub cargo_plugin: bool,
    /// What to do (none: cargo runs this program itself, as a credential provider).
    #[command(subcommand)]
    pub command: Option<Cmd>,
}

/// The commands, each one line in `--help`.
#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Print the token to a pipe after approval, for `cargo:token-from-stdout`.
    Get,
    /// Publish through the helper: package with cargo, show the whole plan in one window,
    /// upload the approved bytes itself (the token never leaves the helper).
    #[command(
        long_about = "Packages with cargo (cargo package, with the options given), reads each \
                      .crate into this helper's memory once, shows the whole plan in one \
                      window, and after a person's Approve uploads exactly those bytes itself: \
                      the token never leaves this helper. Takes the options of cargo publish; \
                      --token and --dry-run are not taken.",
        after_help = "Examples:\n  cargo confirm-gui publish\n  cargo confirm-gui publish -p foo --registry my-registry\n  cargo confirm-gui publish --workspace"
    )]
    Publish {
        /// The options of `cargo publish` (--registry, -p, --workspace, --allow-dirty, …).
        #[arg(
            trailing_var_arg = true,
            allow_hyphen_values = true,
            value_name = "CARGO_PUBLISH_OPTIONS"
        )]
        args: Vec<String>,
    },
    /// Yank a version (or un-yank it with --undo), after a window; the helper sends it.
    Yank {
        /// The version to yank (or `CRATE@VERSION`).
        #[arg(long, visible_alias = "vers")]
        version: Option<String>,
        /// Un-yank instead.
        #[arg(long)]
        undo: bool,
        /// Registry index URL (as cargo's --index).
        #[arg(long)]
        index: Option<String>,
        /// The crate (or `CRATE@VERSION`).
        #[arg(value_name = "CRATE")]
        krate: String,
    },
    /// Invite or remove owners of a crate, or list them, after a window; the helper sends it.
    Owner {
        /// Invite these logins as owners (comma-separated or repeated).
        #[arg(long, short = 'a', value_name = "LOGIN")]
        add: Vec<String>,
        /// Remove these logins as owners.
        #[arg(long, short = 'r', value_name = "LOGIN")]
        remove: Vec<String>,
        /// List the owners.
        #[arg(long, short = 'l')]
        list: bool,
        /// Registry index URL (as cargo's --index).
        #[arg(long)]
        index: Option<String>,
        /// The crate.
        #[arg(value_name = "CRATE")]
        krate: String,
    },
    /// Add the provider to cargo's config, and move clear-text tokens into the store.
    Setup {
        /// Undo setup: take the provider out of cargo's config (tokens stay in the store).
        #[arg(long)]
        undo: bool,
    },
    /// Take the provider out of cargo's config and say where the tokens are.
    Uninstall,
    /// Check that you are protected; exits 1 when something needs fixing.
    Doctor,
    /// The registries with a stored token, the store, the presence step and the policy.
    Status {
        /// One JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// The decisions, and the log's hash chain verified.
    Log {
        /// Only records since then: 7d, 24h, 30m, or a date (2026-11-25).
        #[arg(long, value_name = "WHEN")]
        since: Option<String>,
        /// One JSON object a line, then the verdict.
        #[arg(long)]
        json: bool,
    },
    /// Checks the install as every start does, and says so (for install-sealed.sh and the
    /// package's postinst): the helper's refusal, with its fixes, when the install is unsafe.
    #[command(name = "__check-install", hide = true)]
    CheckInstall,
    /// Writes the shell completions and the man page into a directory (for packagers).
    #[command(name = "__generate", hide = true)]
    Generate {
        /// Where to write them.
        dir: std::path::PathBuf,
    },
}

impl Cmd {
    /// `publish`'s arguments as they go on to `cargo package` (with `--registry` back in front):
    /// the one pass-through; every other command takes clap's typed values.
    pub fn raw(&self, registry: &Option<String>) -> Vec<String> {
        let opt = |name: &str, v: &Option<String>| {
            v.iter()
                .flat_map(|v| [format!("--{name}"), v.clone()])
                .collect::<Vec<_>>()
        };
        match self {
            Cmd::Publish { args } => {
                let mut a = opt("registry", registry);
                a.extend(args.iter().cloned());
                a
            }
            _ => Vec::new(),
        }
    }
}

/// The help of one command, as `cargo confirm-gui NAME --help` prints it.
pub fn help_of(name: &str) -> String {
    use clap::CommandFactory;
    let mut cli = Cli::command().bin_name("cargo confirm-gui");
    cli.build();
    match cli.find_subcommand_mut(name) {
        Some(c) => c.render_help().to_string(),
        None => cli.render_help().to_string(),
    }
}

/// The arguments clap parses: `cargo confirm-gui X …` is `cargo-confirm-gui X …`.
pub fn normalise(args: Vec<String>) -> Vec<String> {
    match args.get(1).map(String::as_str) {
        Some("confirm-gui") => {
            let mut out = vec!["cargo confirm-gui".to_string()];
            out.extend(args.into_iter().skip(2));
            out
        }
        _ => args,
    }
}

/// Writes bash, zsh and fish completions and the man page `cargo-confirm-gui.1` into `dir`.
pub fn generate(dir: &std::path::Path) -> Result<(), String> {
    use clap::CommandFactory;
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut cmd = Cli::command();
    for shell in [
        clap_complete::Shell::Bash,
        clap_complete::Shell::Zsh,
        clap_complete::Shell::Fish,
    ] {
        clap_complete::generate_to(shell, &mut cmd, "cargo-confirm-gui", dir)
            .map_err(|e| format!("completions for {shell}: {e}"))?;
    }
    let mut page = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut page)
        .map_err(|e| format!("the man page: {e}"))?;
    std::fs::write(dir.join("cargo-confirm-gui.1"), page).map_err(|e| format!("the man page: {e}"))
}
