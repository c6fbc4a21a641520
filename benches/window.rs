//! The publish window against pinentry-gtk-2, the lightest confirmation window a person
//! would otherwise use, on one X server, interleaved.
//!
//! `cargo bench --bench window` (as root, like the tests: the X server runs as another
//! user, the person, so the helper accepts it; `scripts/bench-window.sh` installs
//! pinentry-gtk2 first when it is missing). It prints, for each contender:
//!
//! - **first frame**: from just before the process is spawned to the first time its window
//!   holds a drawn frame. An observer on the X server watches every new top-level window
//!   with DAMAGE; at each damage report it reads the window back and counts a frame as
//!   drawn once it holds at least [`DRAWN_COLOURS`] colours (a background fill is one
//!   colour; anti-aliased text is dozens). The time is that of the damage report.
//! - **peak RSS**: the peak resident set (`VmHWM`) of the processes behind the window, read
//!   while it is up: for the helper, the broker and its window process summed (pages they
//!   share are counted twice, so this overstates ours); for pinentry, its one process.
//!
//! Ours is the real publish window: the release helper run as cargo runs it, a token in a
//! real Secret Service, a 200-file `.crate` on disk matching the request's checksum, so
//! the window opens with the crate verified and its contents listed.
//!
//! Last, in-process: a full redraw of that window (egui frame, tessellation, rasterising
//! every pixel) with the 200 files listed, the work of each frame while scrolling.

#[cfg(not(target_os = "linux"))]
fn main() {
    eprintln!("the window benchmark runs on Linux only");
}

#[cfg(target_os = "linux")]
fn main() {
    linux::main();
}

#[cfg(target_os = "linux")]
#[path = "../tests/support/mod.rs"]
mod support;

#[cfg(target_os = "linux")]
#[path = "../tests/fixtures/mod.rs"]
mod fixtures;

#[cfg(target_os = "linux")]
mod linux {

    #![allow(clippy::print_stdout, clippy::print_stderr)] // A benchmark prints its results.

    use super::support;

    use std::collections::{HashMap, HashSet};
    use std::io::Write;
    use std::process::{Child, Command, Stdio};
    use std::sync::mpsc;
    use std::time::{Duration, Instant};

    use cargo_confirm_gui::package::{self, Limits, Pending, Places};
    use cargo_confirm_gui::request::{CargoRequest, Operation};
    use cargo_confirm_gui::ui::confirm::{self, ConfirmState};
    use cargo_confirm_gui::ui::raster::{Canvas, Rasterizer};
    use cargo_confirm_gui::ui::{PromptOptions, Transaction, layout};
    use sha2::{Digest, Sha256};
    use support::{Project, Runs};
    use x11rb::connection::Connection;
    use x11rb::protocol::Event;
    use x11rb::protocol::damage::{ConnectionExt as _, ReportLevel};
    use x11rb::protocol::xproto::{
        ChangeWindowAttributesAux, ConnectionExt as _, EventMask, ImageFormat,
    };

    /// Rounds unless `CCG_BENCH_ROUNDS` asks for more (a steadier median on a noisy machine).
    const ROUNDS: usize = 8;
    const FILES: usize = 200;
    /// A drawn frame holds at least this many colours.
    const DRAWN_COLOURS: usize = 16;
    /// How long each window stays up after its first frame before its memory is read.
    const UP: Duration = Duration::from_millis(1500);
    const REDRAWS: usize = 60;

    pub fn main() {
        if !rustix::process::geteuid().is_root() {
            eprintln!(
                "bench window: run as root (like the test suite): the X server must belong to \
             another user, the person, for the helper to open a window on it"
            );
            std::process::exit(2);
        }
        if Command::new("pinentry-gtk-2")
            .arg("--version")
            .output()
            .is_err()
        {
            eprintln!("bench window: pinentry-gtk-2 is missing (apt-get install pinentry-gtk2)");
            std::process::exit(2);
        }
        let project = project_with_files();
        let (name, vers, cksum) = package_it(&project);
        let request = project.publish_request(&name, &vers, &cksum).to_string();

        let mut servers = Vec::new();
        let display = support::start_x(
            &mut servers,
            Runs::Person,
            "Xvfb",
            &[
                "-screen",
                "0",
                "1280x800x24",
                "-nolisten",
                "tcp",
                "-noreset",
                "-extension",
                "XTEST",
            ],
            None,
        );
        let frames = Observer::start(&display);

        let rounds: usize = std::env::var("CCG_BENCH_ROUNDS")
            .ok()
            .and_then(|r| r.parse().ok())
            .filter(|r| *r > 0)
            .unwrap_or(ROUNDS);
        let mut ours = Vec::new();
        let mut theirs = Vec::new();
        for round in 0..rounds {
            // Alternate who goes first, so neither always runs on a warmer cache.
            let order = if round % 2 == 0 {
                [true, false]
            } else {
                [false, true]
            };
            for is_ours in order {
                let m = if is_ours {
                    run_ours(&project, &display, &request, &frames)
                } else {
                    run_pinentry(&display, &frames)
                };
                let m = m.unwrap_or_else(|e| panic!("round {round}: {e}"));
                if is_ours { &mut ours } else { &mut theirs }.push(m);
            }
        }

        println!("window on one Xvfb, {rounds} interleaved rounds (median, min-max)");
        println!("{:<44} {:>24} {:>24}", "", "first frame", "peak RSS");
        let row = |label: &str, ms: &[Measure]| {
            let t: Vec<f64> = ms
                .iter()
                .map(|m| m.first_frame.as_secs_f64() * 1e3)
                .collect();
            let r: Vec<f64> = ms.iter().map(|m| m.rss_kib as f64 / 1024.0).collect();
            println!(
                "{label:<44} {:>24} {:>24}",
                format!("{:.1} ms ({:.1}-{:.1})", median(&t), min(&t), max(&t)),
                format!("{:.1} MiB ({:.1}-{:.1})", median(&r), min(&r), max(&r)),
            );
            (median(&t), median(&r))
        };
        let (pt, pr) = row("pinentry-gtk-2 CONFIRM", &theirs);
        let (ot, or) = row("cargo-confirm-gui publish, 200 files", &ours);
        println!(
            "ratio ours / pinentry-gtk-2: first frame {:.2}x, peak RSS {:.2}x",
            ot / pt,
            or / pr
        );

        let redraw = full_redraws(&project, &name, &vers, &cksum);
        println!(
            "full redraw of the publish window, {FILES} files, {}x{} px: median {:.2} ms, max {:.2} ms over {REDRAWS}",
            layout::CONFIRM_SIZE.x,
            layout::CONFIRM_SIZE.y,
            median(&redraw),
            max(&redraw)
        );
        drop(servers);
    }

    struct Measure {
        first_frame: Duration,
        rss_kib: u64,
    }

    fn median(v: &[f64]) -> f64 {
        let mut s = v.to_vec();
        s.sort_by(f64::total_cmp);
        let n = s.len();
        if n % 2 == 1 {
            s[n / 2]
        } else {
            (s[n / 2 - 1] + s[n / 2]) / 2.0
        }
    }

    fn min(v: &[f64]) -> f64 {
        v.iter().copied().fold(f64::INFINITY, f64::min)
    }

    fn max(v: &[f64]) -> f64 {
        v.iter().copied().fold(0.0, f64::max)
    }

    /// A project of 200 small source files, enrolled in the tests' keyring.
    fn project_with_files() -> Project {
        let p = Project::enrolled("benchwin", "bench-token-not-shown", &[]);
        let mut lib = String::new();
        for i in 0..FILES - 1 {
            lib.push_str(&format!("pub mod m{i:03};\n"));
            std::fs::write(
                p.dir.join(format!("src/m{i:03}.rs")),
                format!("/// Module {i}.\npub fn f{i}() -> usize {{\n    {i}\n}}\n"),
            )
            .unwrap();
        }
        std::fs::write(p.dir.join("src/lib.rs"), lib).unwrap();
        p
    }

    /// `cargo package`s the project; returns (name, version, sha256 of the .crate).
    fn package_it(p: &Project) -> (String, String, String) {
        let out = p
            .cargo(&["package", "--no-verify", "--allow-dirty", "--offline"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "cargo package: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let path = p.dir.join("target/package/benchwin-0.1.0.crate");
        let bytes = std::fs::read(&path).unwrap();
        let cksum = format!("{:x}", Sha256::digest(&bytes));
        ("benchwin".into(), "0.1.0".into(), cksum)
    }

    fn vm_hwm_kib(pid: u32) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))?
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()
    }

    fn kill(child: &mut Child) {
        let _ = child.kill();
        let _ = child.wait();
    }

    fn run_ours(
        p: &Project,
        display: &str,
        request: &str,
        frames: &Observer,
    ) -> Result<Measure, String> {
        let mut cmd = p.provider();
        // Where cargo put the .crate: the helper looks there, as it does under a real cargo.
        cmd.env("DISPLAY", display)
            .env("CARGO_TARGET_DIR", p.dir.join("target"))
            .arg("--cargo-plugin")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        frames.drain();
        let t0 = Instant::now();
        let mut child = cmd.spawn().map_err(|e| e.to_string())?;
        let mut stdin = child.stdin.take().unwrap();
        writeln!(stdin, "{request}").map_err(|e| e.to_string())?;
        let first = frames.first_frame_after(t0, Duration::from_secs(20));
        std::thread::sleep(UP);
        let window = support::window_process_of(child.id());
        let rss = vm_hwm_kib(child.id()).unwrap_or(0) + window.and_then(vm_hwm_kib).unwrap_or(0);
        // Killed, not answered: no Deny, so no cooldown for the next round.
        kill(&mut child);
        if let Some(w) = window {
            let _ = rustix::process::kill_process(
                rustix::process::Pid::from_raw(w as i32).unwrap(),
                rustix::process::Signal::KILL,
            );
        }
        drop(stdin);
        frames.wait_gone(Duration::from_secs(5));
        let first = first.ok_or("the helper's window never drew a frame")?;
        if window.is_none() {
            return Err("the helper ran no window process".into());
        }
        Ok(Measure {
            first_frame: first,
            rss_kib: rss,
        })
    }

    fn run_pinentry(display: &str, frames: &Observer) -> Result<Measure, String> {
        let mut cmd = Command::new("pinentry-gtk-2");
        cmd.args(["--display", display])
            .env("DISPLAY", display)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        frames.drain();
        let t0 = Instant::now();
        let mut child = cmd.spawn().map_err(|e| e.to_string())?;
        let mut stdin = child.stdin.take().unwrap();
        // A confirmation of about the same length as ours.
        writeln!(
            stdin,
            "SETTITLE cargo publish\nSETDESC cargo wants to PUBLISH benchwin 0.1.0%0Ato local \
         (sparse+http://127.0.0.1/index/)%0ASHA-256 {}\nSETOK Approve\nSETCANCEL Deny\nCONFIRM",
            "ab".repeat(32)
        )
        .map_err(|e| e.to_string())?;
        let first = frames.first_frame_after(t0, Duration::from_secs(20));
        std::thread::sleep(UP);
        let rss = vm_hwm_kib(child.id()).unwrap_or(0);
        kill(&mut child);
        drop(stdin);
        frames.wait_gone(Duration::from_secs(5));
        Ok(Measure {
            first_frame: first.ok_or("pinentry's window never drew a frame")?,
            rss_kib: rss,
        })
    }

    /// What the observer reports.
    enum Seen {
        /// A window first held a drawn frame at this instant.
        Drawn(Instant),
        /// No drawn window is mapped any more.
        AllGone,
    }

    /// A client of the X server that watches new top-level windows for their first frame.
    struct Observer {
        rx: mpsc::Receiver<Seen>,
    }

    impl Observer {
        fn start(display: &str) -> Observer {
            let (conn, screen) = x11rb::connect(Some(display)).expect("connect to the bench Xvfb");
            let root = conn.setup().roots[screen].root;
            conn.damage_query_version(1, 1).unwrap().reply().unwrap();
            conn.change_window_attributes(
                root,
                &ChangeWindowAttributesAux::new().event_mask(EventMask::SUBSTRUCTURE_NOTIFY),
            )
            .unwrap();
            conn.flush().unwrap();
            let (tx, rx) = mpsc::channel();
            std::thread::spawn(move || {
                let mut watched: HashMap<u32, u32> = HashMap::new(); // window → damage
                let mut drawn: HashSet<u32> = HashSet::new();
                loop {
                    let Ok(ev) = conn.wait_for_event() else {
                        return;
                    };
                    let at = Instant::now();
                    match ev {
                        Event::CreateNotify(c) if c.parent == root => {
                            let d = conn.generate_id().unwrap();
                            // Fails (an error event, ignored) for input-only windows.
                            let _ = conn.damage_create(d, c.window, ReportLevel::NON_EMPTY);
                            let _ = conn.flush();
                            watched.insert(c.window, d);
                        }
                        Event::DamageNotify(n) => {
                            let _ = conn.damage_subtract(n.damage, 0u32, 0u32);
                            if drawn.contains(&n.drawable) {
                                continue;
                            }
                            let g = n.geometry;
                            let Ok(Ok(img)) = conn
                                .get_image(
                                    ImageFormat::Z_PIXMAP,
                                    n.drawable,
                                    0,
                                    0,
                                    g.width,
                                    g.height,
                                    !0,
                                )
                                .map(|c| c.reply())
                            else {
                                continue;
                            };
                            let colours: HashSet<&[u8]> = img.data.chunks_exact(4).collect();
                            if colours.len() >= DRAWN_COLOURS {
                                drawn.insert(n.drawable);
                                let _ = tx.send(Seen::Drawn(at));
                            }
                        }
                        Event::DestroyNotify(d) => {
                            watched.remove(&d.window);
                            if drawn.remove(&d.window) && drawn.is_empty() {
                                let _ = tx.send(Seen::AllGone);
                            }
                        }
                        Event::UnmapNotify(u) if drawn.remove(&u.window) && drawn.is_empty() => {
                            let _ = tx.send(Seen::AllGone);
                        }
                        _ => {}
                    }
                }
            });
            Observer { rx }
        }

        fn drain(&self) {
            while self.rx.try_recv().is_ok() {}
        }

        fn first_frame_after(&self, t0: Instant, timeout: Duration) -> Option<Duration> {
            let deadline = t0 + timeout;
            loop {
                let left = deadline.checked_duration_since(Instant::now())?;
                match self.rx.recv_timeout(left) {
                    Ok(Seen::Drawn(at)) => return Some(at.duration_since(t0)),
                    Ok(Seen::AllGone) => continue,
                    Err(_) => return None,
                }
            }
        }

        fn wait_gone(&self, timeout: Duration) {
            let deadline = Instant::now() + timeout;
            while let Some(left) = deadline.checked_duration_since(Instant::now()) {
                if let Ok(Seen::AllGone) | Err(_) = self.rx.recv_timeout(left) {
                    return;
                }
            }
        }
    }

    /// Times full redraws of the publish window with the project's 200 files listed.
    fn full_redraws(p: &Project, name: &str, vers: &str, cksum: &str) -> Vec<f64> {
        let places = Places {
            cwd: Some(p.dir.clone()),
            argv: Vec::new(),
            target_dir: None,
            cargo_home: None,
            requester_pid: None,
        };
        let report = package::gather(name, vers, cksum, &places, None, &Limits::default());
        assert!(
            matches!(report.check, package::Check::Match(_)),
            "the bench crate did not verify"
        );
        let tx = Transaction {
            requester: cargo_confirm_gui::evidence::requester(),
            store: "Secret Service".into(),
            recent_requests: 1,
            package: Some(Pending::ready(report)),
            ..super::fixtures::transaction(Operation::Cargo(CargoRequest::Publish {
                name: name.into(),
                vers: vers.into(),
                cksum: cksum.into(),
            }))
        };
        let opts = PromptOptions {
            timeout: Duration::from_secs(60),
            arm_delay: Duration::from_secs(1),
        };
        let mut state = ConfirmState::new(tx, &opts);
        let ctx = egui::Context::default();
        cargo_confirm_gui::ui::text_options(&ctx);
        let mut raster = Rasterizer::default();
        let size = layout::CONFIRM_SIZE;
        let mut canvas = Canvas::new(size.x as usize, size.y as usize);
        let mut times = Vec::new();
        for i in 0..REDRAWS + 5 {
            let raw = egui::RawInput {
                screen_rect: Some(egui::Rect::from_min_size(egui::Pos2::ZERO, size)),
                time: Some(i as f64 * 0.05),
                // Scroll the file list a little each frame, as a person reading it would.
                events: vec![
                    egui::Event::PointerMoved(egui::pos2(360.0, 470.0)),
                    egui::Event::MouseWheel {
                        unit: egui::MouseWheelUnit::Point,
                        delta: egui::vec2(0.0, if (i / 20) % 2 == 0 { -12.0 } else { 12.0 }),
                        modifiers: egui::Modifiers::NONE,
                        phase: egui::TouchPhase::Move,
                        source: egui::MouseWheelSource::Wheel,
                    },
                ],
                ..Default::default()
            };
            let t = Instant::now();
            let mut out = ctx.run_ui(raw, |ui| confirm::view(ui, &mut state));
            let prims = ctx.tessellate(std::mem::take(&mut out.shapes), out.pixels_per_point);
            let mut textures = std::mem::take(&mut out.textures_delta);
            raster.set_textures(&mut textures);
            canvas.reset(size.x as usize, size.y as usize);
            raster.paint(&mut canvas, &prims, out.pixels_per_point);
            raster.free_textures(textures);
            let took = t.elapsed().as_secs_f64() * 1e3;
            // The first frames build the font atlas; a person's scrolling starts after.
            if i == 0 {
                println!("first frame in-process (fonts loaded, atlas built): {took:.2} ms");
            }
            if i >= 5 {
                times.push(took);
            }
        }
        times
    }
}
