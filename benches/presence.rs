//! What the presence step costs beyond the person's typing: PAM's own work, measured in the
//! sealed helper's authentication process, against `unix_chkpwd`, the check `pam_unix` itself
//! runs for a user who is not root, side by side in one run.
//!
//! `cargo bench --bench presence` as root (`scripts/bench-presence.sh`): it gives a test
//! person (`ccg-alice`) a password in a copy of /etc/shadow, puts the PAM service the sealed
//! install writes into a copy of /etc/pam.d, and runs itself again as that person inside a
//! private mount namespace holding both copies, so that the machine's files are not touched
//! and PAM takes the path it takes on a desktop (`unix_chkpwd`, setgid shadow). Each round:
//!
//! - **spawn**: starting the authentication process (this binary, `__presence`), as the
//!   broker does ahead of the window;
//! - **to prompt**: from the start of the attempt to PAM's question (service file, modules);
//! - **check**: from the answer to PAM's verdict (the password hashed and compared,
//!   `pam_acct_mgmt` too): the time the person waits after pressing Enter;
//! - **unix_chkpwd**: the same password checked by running `unix_chkpwd` directly.
//!
//! A wrong password costs the same plus the delay the PAM stack sets on failure
//! (`pam_faildelay`, or pam_unix's default 2 s), which is not measured here.

#[cfg(not(target_os = "linux"))]
fn main() {
    eprintln!("the presence benchmark runs on Linux only");
}

#[cfg(target_os = "linux")]
fn main() {
    linux::main();
}

#[cfg(target_os = "linux")]
mod linux {
    #![allow(clippy::print_stdout, clippy::print_stderr)] // A benchmark prints its results.

    use std::io::Write;
    use std::process::{Command, ExitCode, Stdio};
    use std::sync::mpsc::Sender;
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    use cargo_confirm_gui::presence::pam::Pam;
    use cargo_confirm_gui::presence::{
        self, Event, LinkError, Presence, Reply, Says, ToWindow, WhoWindow,
    };

    const PERSON: &str = "ccg-alice";
    const PASSWORD: &str = "correct horse 7";
    const PERSON_ARG: &str = "--as-person";

    pub fn main() {
        let args: Vec<String> = std::env::args().collect();
        match args.get(1).map(String::as_str) {
            Some(presence::PRESENCE_ARG) => {
                let code = cargo_confirm_gui::cli::child::presence_process();
                std::process::exit(if code == ExitCode::SUCCESS { 0 } else { 1 });
            }
            Some(PERSON_ARG) => as_person(),
            _ => as_root(),
        }
    }

    /// Sets up the person and the namespace, then runs the rounds as the person.
    fn as_root() {
        assert!(
            rustix::process::getuid().is_root(),
            "run as root (scripts/bench-presence.sh): it gives a test user a password in a \
             private copy of /etc/shadow"
        );
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        std::fs::set_permissions(dir, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        if Command::new("id")
            .arg(PERSON)
            .output()
            .map(|o| !o.status.success())
            .unwrap_or(true)
        {
            run(Command::new("useradd").args(["--system", "--no-create-home", PERSON]));
        }
        run(Command::new("cp")
            .arg("-a")
            .arg("/etc/pam.d")
            .arg(dir.join("pam.d")));
        std::fs::write(
            dir.join("pam.d/cargo-confirm-gui"),
            "@include common-auth\n@include common-account\n",
        )
        .unwrap();
        let hash = run(Command::new("openssl").args(["passwd", "-6", PASSWORD]));
        let hash = String::from_utf8(hash.stdout).unwrap().trim().to_string();
        let shadow: String = std::fs::read_to_string("/etc/shadow")
            .unwrap()
            .lines()
            .map(|l| {
                let mut f: Vec<&str> = l.split(':').collect();
                if f[0] == PERSON && f.len() > 2 {
                    f[1] = &hash;
                }
                f.join(":") + "\n"
            })
            .collect();
        std::fs::write(dir.join("shadow"), shadow).unwrap();
        run(Command::new("chown")
            .arg("--reference=/etc/shadow")
            .arg(dir.join("shadow")));
        run(Command::new("chmod")
            .arg("--reference=/etc/shadow")
            .arg(dir.join("shadow")));
        // This binary, where the person can run it.
        let exe = dir.join("bench-presence");
        std::fs::copy(std::env::current_exe().unwrap(), &exe).unwrap();
        let rounds = std::env::var("CCG_BENCH_ROUNDS").unwrap_or_else(|_| "20".into());
        let status = Command::new("unshare")
            .args(["-m", "--propagation", "private", "--", "sh", "-c"])
            .arg(
                "mount --bind \"$1\" /etc/shadow && mount --bind \"$2\" /etc/pam.d && shift 2 \
                 && exec \"$@\"",
            )
            .arg("sh")
            .arg(dir.join("shadow"))
            .arg(dir.join("pam.d"))
            .args(["runuser", "-u", PERSON, "--", "env", "-i"])
            .arg(format!("CCG_BENCH_ROUNDS={rounds}"))
            .arg(&exe)
            .arg(PERSON_ARG)
            .status()
            .unwrap();
        assert!(status.success(), "the rounds failed");
    }

    fn run(cmd: &mut Command) -> std::process::Output {
        let out = cmd.output().expect("spawn");
        assert!(out.status.success(), "{cmd:?}: {out:?}");
        out
    }

    /// What one round measured, in milliseconds.
    #[derive(Default, Clone, Copy)]
    struct Round {
        spawn: f64,
        to_prompt: f64,
        check: f64,
        chkpwd: f64,
    }

    /// A window that answers PAM's first question at once, and notes when.
    struct Answering {
        events: Option<Sender<Event>>,
        started: Instant,
        prompted: Arc<Mutex<Option<Instant>>>,
    }

    impl WhoWindow for Answering {
        fn attach(&mut self, events: Sender<Event>) -> Result<(), LinkError> {
            self.events = Some(events);
            Ok(())
        }
        fn say(&mut self, what: &ToWindow) -> Result<(), LinkError> {
            if let ToWindow::Says(Says::Prompt { .. }) = what {
                *self.prompted.lock().unwrap() = Some(Instant::now());
                let events = self.events.as_ref().ok_or(LinkError::ChannelClosed)?;
                events.send(Event::Person(Reply::Answer(PASSWORD.into())))?;
            }
            Ok(())
        }
    }

    fn one_round() -> Round {
        let t0 = Instant::now();
        let pam = Pam::new(None);
        pam.ready().expect("the PAM service file");
        pam.prepare();
        let spawned = Instant::now();
        let prompted = Arc::new(Mutex::new(None));
        let mut window = Answering {
            events: None,
            started: spawned,
            prompted: prompted.clone(),
        };
        presence::run(&pam, "a benchmark", &mut window, Duration::from_secs(30))
            .expect("PAM confirmed the person");
        let done = Instant::now();
        let asked = prompted.lock().unwrap().expect("PAM asked");
        let c0 = Instant::now();
        let mut chk = Command::new("/usr/sbin/unix_chkpwd")
            .args([PERSON, "nullok"])
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = chk.stdin.take().unwrap();
        stdin.write_all(format!("{PASSWORD}\0").as_bytes()).unwrap();
        drop(stdin);
        assert!(
            chk.wait().unwrap().success(),
            "unix_chkpwd refused the password"
        );
        let chkpwd = c0.elapsed();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        Round {
            spawn: ms(spawned - t0),
            to_prompt: ms(asked - window.started),
            check: ms(done - asked),
            chkpwd: ms(chkpwd),
        }
    }

    fn median(mut v: Vec<f64>) -> (f64, f64, f64) {
        v.sort_by(f64::total_cmp);
        (v[v.len() / 2], v[0], v[v.len() - 1])
    }

    fn as_person() {
        let rounds: usize = std::env::var("CCG_BENCH_ROUNDS")
            .ok()
            .and_then(|r| r.parse().ok())
            .unwrap_or(20);
        // One round to warm the page cache, not counted.
        one_round();
        let all: Vec<Round> = (0..rounds).map(|_| one_round()).collect();
        let show = |name: &str, f: fn(&Round) -> f64| {
            let (m, lo, hi) = median(all.iter().map(f).collect());
            println!("{name:<44} {m:7.1} ms  ({lo:.1}–{hi:.1})");
        };
        println!("presence, {rounds} rounds, medians (min–max):");
        show("authentication process started", |r| r.spawn);
        show("attempt start to PAM's question", |r| r.to_prompt);
        show("answer to PAM's verdict (the person waits)", |r| r.check);
        show("unix_chkpwd alone, same password", |r| r.chkpwd);
        let (check, _, _) = median(all.iter().map(|r| r.check).collect());
        let (chk, _, _) = median(all.iter().map(|r| r.chkpwd).collect());
        let (prompt, _, _) = median(all.iter().map(|r| r.to_prompt).collect());
        println!(
            "PAM's own work (question + verdict): {:.1} ms; the verdict is {:.2}x unix_chkpwd alone",
            prompt + check,
            check / chk
        );
    }
}
