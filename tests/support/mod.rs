//! Real components for end-to-end tests: an Xvfb server with an Xephyr server inside it
//! (a person's input arrives on Xephyr from its virtual mouse/keyboard devices, not XTEST),
//! a private D-Bus session with gnome-keyring unlocked in it, real cargo, and the loopback
//! registry. One set per test binary; GUI tests take `gui_lock()` so one window is open at
//! a time.
#![allow(dead_code, unsafe_code)]

use std::io::{BufRead, BufReader, Write};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

pub use cargo_confirm_gui_testkit::{Options, Registry};

/// The provider binary under test.
pub const PROVIDER: &str = env!("CARGO_BIN_EXE_cargo-confirm-gui");

/// CI markers the child environment must not inherit (CI itself runs with CI=true).
pub const CI_VARS: &[&str] = cargo_confirm_gui::env::CI_MARKERS;

pub struct Desk {
    /// The outer Xvfb display, where "a person" acts on the Xephyr window.
    pub outer: String,
    /// The Xephyr display the provider's windows open on.
    pub display: String,
    /// Private session bus with gnome-keyring.
    pub dbus: String,
    /// Private directories.
    pub root: PathBuf,
}

static DESK: OnceLock<Desk> = OnceLock::new();
static GUI: Mutex<()> = Mutex::new(());

/// One window at a time on the shared Xephyr.
pub fn gui_lock() -> MutexGuard<'static, ()> {
    GUI.lock().unwrap_or_else(|e| e.into_inner())
}

fn die_with_parent(cmd: &mut Command) -> &mut Command {
    // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::TERM))
                .map_err(std::io::Error::from)
        })
    }
}

fn need(tool: &str) {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
        .unwrap_or(false);
    assert!(
        found,
        "`{tool}` is not installed. Run scripts/test.sh, which installs the test packages \
         (xvfb xserver-xephyr xdotool gnome-keyring dbus-x11 libsecret-tools)"
    );
}

/// Who runs a display server in a test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runs {
    /// The person: the dedicated user [`PERSON`], as a real desktop's server is not one the
    /// helper's own user (and so a worm) can start.
    Person,
    /// The helper's own user, as a worm's server would be.
    Worm,
}

/// The user the person's display servers run as.
pub const PERSON: &str = "ccg-person";

fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Creates a system user (no home, no login) unless it exists. Tests run as root.
pub fn ensure_user(name: &str) {
    static LOCK: Mutex<()> = Mutex::new(());
    let _l = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    if Command::new("id")
        .arg(name)
        .output()
        .unwrap()
        .status
        .success()
    {
        return;
    }
    assert!(
        rustix::process::getuid().is_root(),
        "the GUI tests run the person's display servers as the user `{name}`, which only root \
         can create: run scripts/test.sh as root (CI does)"
    );
    // Another test binary may create it at the same moment.
    let out = Command::new("useradd")
        .args([
            "--system",
            "--no-create-home",
            "--shell",
            "/usr/sbin/nologin",
            name,
        ])
        .output()
        .expect("useradd");
    assert!(
        out.status.success()
            || Command::new("id")
                .arg(name)
                .output()
                .unwrap()
                .status
                .success(),
        "useradd {name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The uid of a user.
pub fn uid_of(name: &str) -> u32 {
    let out = run_ok(Command::new("id").args(["-u", name]));
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

/// `program` as the person: another user, with no supplementary groups, dying with the
/// thread that starts it (setpriv sets the parent-death signal after changing user, which
/// would otherwise clear it).
pub fn person_command(program: &str) -> Command {
    ensure_user(PERSON);
    let uid = uid_of(PERSON).to_string();
    let mut cmd = Command::new("setpriv");
    cmd.args([
        "--reuid",
        &uid,
        "--regid",
        &uid,
        "--clear-groups",
        "--pdeathsig",
        "TERM",
        "--",
        program,
    ]);
    cmd
}

/// Starts an X server with `-displayfd` and returns ":N".
pub fn start_x(
    children: &mut Vec<Child>,
    runs: Runs,
    program: &str,
    args: &[&str],
    env_display: Option<&str>,
) -> String {
    // Non-root servers need the socket directory to exist already.
    if std::fs::create_dir("/tmp/.X11-unix").is_ok() {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions("/tmp/.X11-unix", std::fs::Permissions::from_mode(0o1777));
    }
    let (r, w) = rustix::pipe::pipe().expect("pipe");
    let mut cmd = match runs {
        Runs::Person => person_command(program),
        Runs::Worm => Command::new(program),
    };
    // -ac: the helper, the tests' own clients and xdotool run as root, not as the person.
    cmd.arg("-displayfd")
        .arg(w.as_raw_fd().to_string())
        .arg("-ac")
        .args(args);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    match env_display {
        Some(d) => cmd.env("DISPLAY", d),
        None => cmd.env_remove("DISPLAY"),
    };
    children.push(
        die_with_parent(&mut cmd)
            .spawn()
            .unwrap_or_else(|e| panic!("start {program}: {e}")),
    );
    drop(w);
    let mut line = String::new();
    BufReader::new(std::fs::File::from(r))
        .read_line(&mut line)
        .expect("display number");
    let n = line.trim();
    assert!(!n.is_empty(), "{program} did not report a display");
    format!(":{n}")
}

/// A nested pair of X servers, Xephyr inside Xvfb, run by `runs`: input sent to the outer
/// server reaches windows on the inner one from Xephyr's virtual devices, as a person's
/// mouse would. The inner one offers XTEST only when `xtest` (the helper refuses servers
/// that do, unless the policy file accepts them). Returns (outer, inner).
pub fn start_nested(children: &mut Vec<Child>, runs: Runs, xtest: bool) -> (String, String) {
    let outer = start_x(
        children,
        runs,
        "Xvfb",
        &[
            "-screen",
            "0",
            "1400x900x24",
            "-nolisten",
            "tcp",
            "-noreset",
        ],
        None,
    );
    let mut args = vec![
        "-screen",
        "1280x800",
        "-nolisten",
        "tcp",
        "-no-host-grab",
        "-noreset",
    ];
    if !xtest {
        args.extend(["-extension", "XTEST"]);
    }
    let inner = start_x(children, runs, "Xephyr", &args, Some(&outer));
    (outer, inner)
}

const ROOT_PREFIX: &str = "ccg-test-";

fn sweep_stale_roots() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(ROOT_PREFIX))
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

fn start() -> Desk {
    for t in [
        "setpriv",
        "Xvfb",
        "Xephyr",
        "xdotool",
        "dbus-daemon",
        "gnome-keyring-daemon",
        "secret-tool",
        "dbus-send",
    ] {
        need(t);
    }
    // The desk is a static and is never dropped, so each test binary leaves its directory
    // behind. Clear those of earlier runs whose process is gone; otherwise they pile up in
    // /tmp, one per test binary per run.
    sweep_stale_roots();
    let root = std::env::temp_dir().join(format!("{ROOT_PREFIX}{}", std::process::id()));
    for d in ["home", "data", "runtime", "state"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(root.join("runtime"), std::fs::Permissions::from_mode(0o700)).unwrap();

    let (tx, rx) = std::sync::mpsc::channel();
    let root2 = root.clone();
    // The children die with this thread (PR_SET_PDEATHSIG), so it lives as long as the process.
    std::thread::spawn(move || {
        let mut children = Vec::new();
        let (outer, display) = start_nested(&mut children, Runs::Person, false);
        let mut bus = Command::new("dbus-daemon");
        bus.args(["--session", "--nofork", "--print-address"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut bus = die_with_parent(&mut bus).spawn().expect("dbus-daemon");
        let mut addr = String::new();
        BufReader::new(bus.stdout.take().unwrap())
            .read_line(&mut addr)
            .unwrap();
        let dbus = addr.trim().to_string();
        children.push(bus);
        let mut kr = Command::new("gnome-keyring-daemon");
        kr.args(["--foreground", "--unlock", "--components=secrets"])
            .env("DBUS_SESSION_BUS_ADDRESS", &dbus)
            .env("HOME", root2.join("home"))
            .env("XDG_DATA_HOME", root2.join("data"))
            .env("XDG_RUNTIME_DIR", root2.join("runtime"))
            .env_remove("DISPLAY")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut kr = die_with_parent(&mut kr)
            .spawn()
            .expect("gnome-keyring-daemon");
        kr.stdin
            .take()
            .unwrap()
            .write_all(b"test-password")
            .unwrap();
        children.push(kr);
        tx.send((outer, display, dbus)).unwrap();
        loop {
            std::thread::park();
        }
    });
    let (outer, display, dbus) = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("test desktop did not start");
    let desk = Desk {
        outer,
        display,
        dbus,
        root,
    };
    // Wait for the Secret Service to own its name.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let out = Command::new("dbus-send")
            .env("DBUS_SESSION_BUS_ADDRESS", &desk.dbus)
            .args([
                "--session",
                "--print-reply",
                "--dest=org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus.NameHasOwner",
                "string:org.freedesktop.secrets",
            ])
            .output()
            .expect("dbus-send");
        if String::from_utf8_lossy(&out.stdout).contains("boolean true") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "gnome-keyring did not register on the session bus"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    desk
}

/// The person's screen: their own nested servers, with no XTEST.
pub fn desk() -> &'static Desk {
    DESK.get_or_init(start)
}

/// A second screen of the person's whose X server offers XTEST, for the tests of what the
/// guard still does when the policy file accepts such a server. It shares `desk()`'s
/// keyring and directories.
pub fn xtest_desk() -> &'static Desk {
    static XTEST: OnceLock<Desk> = OnceLock::new();
    XTEST.get_or_init(|| {
        let base = desk();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut children = Vec::new();
            tx.send(start_nested(&mut children, Runs::Person, true))
                .unwrap();
            loop {
                std::thread::park();
            }
        });
        let (outer, display) = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the XTEST screen did not start");
        Desk {
            outer,
            display,
            dbus: base.dbus.clone(),
            root: base.root.clone(),
        }
    })
}

/// The root-owned policy file, `/etc/cargo-confirm-gui/policy.toml`, for the length of a
/// test, put back as it was afterwards. Tests that write it take its lock.
pub struct PolicyFile {
    previous: Option<Vec<u8>>,
    made_dir: bool,
    _lock: MutexGuard<'static, ()>,
}

/// Where the policy file is.
pub const POLICY: &str = "/etc/cargo-confirm-gui/policy.toml";

impl PolicyFile {
    /// No policy file (the strict defaults) until [`PolicyFile::set`].
    pub fn none() -> PolicyFile {
        static LOCK: Mutex<()> = Mutex::new(());
        let lock = LOCK.lock().unwrap_or_else(|e| e.into_inner());
        assert!(
            rustix::process::getuid().is_root(),
            "these tests write {POLICY} and must run as root (scripts/test.sh as root)"
        );
        let dir = Path::new(POLICY).parent().unwrap();
        let made_dir = !dir.exists();
        std::fs::create_dir_all(dir).unwrap();
        let previous = std::fs::read(POLICY).ok();
        let _ = std::fs::remove_file(POLICY);
        PolicyFile {
            previous,
            made_dir,
            _lock: lock,
        }
    }

    /// Writes the file, root-owned, with `mode`.
    pub fn set(&self, text: &str, mode: u32) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::write(POLICY, text).unwrap();
        std::fs::set_permissions(POLICY, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    /// A policy that accepts display servers offering virtual input (XTEST here).
    pub fn allowing_virtual_input() -> PolicyFile {
        let p = PolicyFile::none();
        p.set("[display]\nallow-virtual-input = true\n", 0o644);
        p
    }
}

impl Drop for PolicyFile {
    fn drop(&mut self) {
        match &self.previous {
            Some(bytes) => {
                let _ = std::fs::write(POLICY, bytes);
            }
            None => {
                let _ = std::fs::remove_file(POLICY);
                if self.made_dir {
                    let _ = std::fs::remove_dir(Path::new(POLICY).parent().unwrap());
                }
            }
        }
    }
}

/// Window geometry on the Xephyr display.
#[derive(Debug, Clone, Copy)]
pub struct Geom {
    pub x: i32,
    pub y: i32,
    pub w: i32,
    pub h: i32,
}

impl Desk {
    /// Environment for anything that talks to our display and keyring, with no CI markers.
    pub fn env(&self, cmd: &mut Command) {
        for v in CI_VARS {
            cmd.env_remove(v);
        }
        cmd.env("DISPLAY", &self.display)
            .env_remove("WAYLAND_DISPLAY")
            .env("DBUS_SESSION_BUS_ADDRESS", &self.dbus)
            .env("XDG_STATE_HOME", self.root.join("state"))
            .env("XDG_RUNTIME_DIR", self.root.join("runtime"));
    }

    fn xdotool(&self, display: &str, args: &[&str]) -> Output {
        Command::new("xdotool")
            .env("DISPLAY", display)
            .args(args)
            .output()
            .expect("xdotool")
    }

    /// Waits for a visible window whose title contains `name` on the Xephyr display.
    pub fn wait_window(&self, name: &str, timeout: Duration) -> Option<(String, Geom)> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            let out = self.xdotool(&self.display, &["search", "--onlyvisible", "--name", name]);
            if let Some(id) = String::from_utf8_lossy(&out.stdout).lines().next() {
                let id = id.trim().to_string();
                if let Some(g) = self.geometry(&id) {
                    return Some((id, g));
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    /// Whether any provider window is visible now.
    pub fn any_window(&self) -> bool {
        let out = self.xdotool(
            &self.display,
            &["search", "--onlyvisible", "--name", "cargo-confirm-gui"],
        );
        !String::from_utf8_lossy(&out.stdout).trim().is_empty()
    }

    pub fn geometry(&self, id: &str) -> Option<Geom> {
        self.geometry_on(&self.display, id)
    }

    fn geometry_on(&self, display: &str, id: &str) -> Option<Geom> {
        let out = self.xdotool(display, &["getwindowgeometry", "--shell", id]);
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let get = |k: &str| -> Option<i32> {
            text.lines()
                .find_map(|l| l.strip_prefix(&format!("{k}=")))
                .and_then(|v| v.trim().parse().ok())
        };
        Some(Geom {
            x: get("X")?,
            y: get("Y")?,
            w: get("WIDTH")?,
            h: get("HEIGHT")?,
        })
    }

    /// The Xephyr window on the outer display.
    fn xephyr_window(&self) -> String {
        let out = self.xdotool(
            &self.outer,
            &["search", "--onlyvisible", "--class", "Xephyr"],
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .next()
            .map(str::to_string)
            .expect("Xephyr window")
    }

    fn xephyr_origin(&self) -> (i32, i32) {
        let g = self
            .geometry_on(&self.outer, &self.xephyr_window())
            .expect("Xephyr geometry");
        (g.x, g.y)
    }

    /// A person's click at (x, y) of the Xephyr screen: the pointer travels there and
    /// clicks on the outer server, so Xephyr delivers it from its virtual mouse.
    pub fn human_click(&self, x: i32, y: i32) {
        let (ox, oy) = self.xephyr_origin();
        // Approach in a few steps, as a hand would.
        for (dx, dy) in [(-60, -40), (-20, -10), (0, 0)] {
            let (px, py) = ((ox + x + dx).to_string(), (oy + y + dy).to_string());
            assert!(
                self.xdotool(&self.outer, &["mousemove", "--sync", &px, &py])
                    .status
                    .success()
            );
            std::thread::sleep(Duration::from_millis(60));
        }
        assert!(self.xdotool(&self.outer, &["click", "1"]).status.success());
    }

    /// Screenshot of the outer display (what a person would see), for debugging a test.
    pub fn screenshot(&self, path: &Path) {
        let _ = Command::new("import")
            .env("DISPLAY", &self.outer)
            .args(["-window", "root"])
            .arg(path)
            .status();
    }

    /// A person moving the mouse to (x, y) of the Xephyr screen, without clicking.
    pub fn human_move(&self, x: i32, y: i32) {
        let (ox, oy) = self.xephyr_origin();
        let (px, py) = ((ox + x).to_string(), (oy + y).to_string());
        assert!(
            self.xdotool(&self.outer, &["mousemove", "--sync", &px, &py])
                .status
                .success()
        );
    }

    /// A person clicking where the pointer is, without moving it.
    pub fn human_click_here(&self) {
        assert!(self.xdotool(&self.outer, &["click", "1"]).status.success());
    }

    /// Moves the Xephyr pointer with XWarpPointer, a client request that produces no
    /// device motion (what a worm that avoids XTEST would do).
    pub fn warp_pointer(&self, x: i32, y: i32) {
        use x11rb::connection::Connection;
        use x11rb::protocol::xproto::ConnectionExt;
        let (conn, screen) = x11rb::connect(Some(&self.display)).expect("connect");
        let root = conn.setup().roots[screen].root;
        conn.warp_pointer(x11rb::NONE, root, 0, 0, 0, 0, x as i16, y as i16)
            .unwrap();
        conn.flush().unwrap();
        conn.get_input_focus().unwrap().reply().unwrap();
    }

    /// A person typing on the keyboard (through Xephyr).
    pub fn human_type(&self, text: &str) {
        let id = self.xephyr_window();
        assert!(
            self.xdotool(&self.outer, &["windowfocus", "--sync", &id])
                .status
                .success()
        );
        assert!(
            self.xdotool(&self.outer, &["type", "--delay", "30", text])
                .status
                .success()
        );
    }

    /// A person pressing keys by name (`Return`, `Escape`) on the keyboard, through Xephyr.
    pub fn human_keys(&self, keys: &[&str]) {
        let id = self.xephyr_window();
        assert!(
            self.xdotool(&self.outer, &["windowfocus", "--sync", &id])
                .status
                .success()
        );
        let mut args = vec!["key", "--delay", "30"];
        args.extend_from_slice(keys);
        assert!(self.xdotool(&self.outer, &args).status.success());
    }

    /// A worm's click: XTEST on the provider's own display.
    pub fn xtest_click(&self, x: i32, y: i32) {
        let (px, py) = (x.to_string(), y.to_string());
        assert!(
            self.xdotool(
                &self.display,
                &["mousemove", "--sync", &px, &py, "click", "1"]
            )
            .status
            .success()
        );
    }

    /// A worm typing text: XTEST on the provider's own display.
    pub fn xtest_type(&self, text: &str) {
        assert!(
            self.xdotool(&self.display, &["type", "--delay", "30", text])
                .status
                .success()
        );
    }

    /// A worm typing `text` into window `id` with XSendEvent: key events that no device made,
    /// sent straight to the window (a newline is Return). Only characters the keyboard map
    /// has without modifiers, and spaces.
    pub fn send_keys(&self, id: &str, text: &str) {
        self.send_keys_focused(id, text, None);
    }

    /// The same, the keyboard focus first moved to window `id`, and back to `restore` after
    /// (what a worm does while the person types in another window).
    pub fn send_keys_focused(&self, id: &str, text: &str, restore: Option<u32>) {
        use x11rb::connection::Connection;
        use x11rb::protocol::xproto::{
            ConnectionExt, EventMask, KEY_PRESS_EVENT, KEY_RELEASE_EVENT, KeyPressEvent,
        };
        let (conn, screen) = x11rb::connect(Some(&self.display)).expect("connect");
        let root = conn.setup().roots[screen].root;
        let (min, max) = (conn.setup().min_keycode, conn.setup().max_keycode);
        let map = conn
            .get_keyboard_mapping(min, max - min + 1)
            .unwrap()
            .reply()
            .unwrap();
        let per = map.keysyms_per_keycode as usize;
        let keycode = |sym: u32| -> u8 {
            map.keysyms
                .chunks(per)
                .position(|c| c.first() == Some(&sym))
                .map(|i| min + i as u8)
                .unwrap_or_else(|| panic!("no keycode for keysym {sym:#x}"))
        };
        let window: u32 = id.parse().expect("window id");
        if restore.is_some() {
            conn.set_input_focus(
                x11rb::protocol::xproto::InputFocus::PARENT,
                window,
                x11rb::CURRENT_TIME,
            )
            .unwrap()
            .check()
            .unwrap();
        }
        for ch in text.chars() {
            let sym = if ch == '\n' { 0xff0d } else { ch as u32 };
            let detail = keycode(sym);
            for response_type in [KEY_PRESS_EVENT, KEY_RELEASE_EVENT] {
                let ev = KeyPressEvent {
                    response_type,
                    detail,
                    sequence: 0,
                    time: x11rb::CURRENT_TIME,
                    root,
                    event: window,
                    child: x11rb::NONE,
                    root_x: 0,
                    root_y: 0,
                    event_x: 10,
                    event_y: 10,
                    state: Default::default(),
                    same_screen: true,
                };
                let mask = if response_type == KEY_PRESS_EVENT {
                    EventMask::KEY_PRESS
                } else {
                    EventMask::KEY_RELEASE
                };
                conn.send_event(true, window, mask, ev)
                    .unwrap()
                    .check()
                    .expect("the X server refused the event");
            }
        }
        if let Some(back) = restore {
            conn.set_input_focus(
                x11rb::protocol::xproto::InputFocus::PARENT,
                back,
                x11rb::CURRENT_TIME,
            )
            .unwrap()
            .check()
            .unwrap();
        }
    }

    /// An ordinary window of the person's (a terminal, say) on the test display, mapped and
    /// given the keyboard focus; it lives as long as the returned connection.
    pub fn plain_window(&self) -> (x11rb::rust_connection::RustConnection, u32) {
        use x11rb::connection::Connection;
        use x11rb::protocol::xproto::{
            ConnectionExt, CreateWindowAux, EventMask, InputFocus, WindowClass,
        };
        let (conn, screen) = x11rb::connect(Some(&self.display)).expect("connect");
        let root = conn.setup().roots[screen].root;
        let w = conn.generate_id().unwrap();
        conn.create_window(
            x11rb::COPY_DEPTH_FROM_PARENT,
            w,
            root,
            0,
            0,
            200,
            100,
            0,
            WindowClass::INPUT_OUTPUT,
            x11rb::COPY_FROM_PARENT,
            &CreateWindowAux::new().event_mask(EventMask::KEY_PRESS),
        )
        .unwrap();
        conn.map_window(w).unwrap();
        conn.flush().unwrap();
        std::thread::sleep(Duration::from_millis(200));
        conn.set_input_focus(InputFocus::PARENT, w, x11rb::CURRENT_TIME)
            .unwrap()
            .check()
            .unwrap();
        (conn, w)
    }

    /// A worm's key presses: XTEST on the provider's own display.
    pub fn xtest_keys(&self, keys: &[&str]) {
        let mut args = vec!["key", "--delay", "50"];
        args.extend_from_slice(keys);
        assert!(self.xdotool(&self.display, &args).status.success());
    }

    /// Destroys a window from another client (what a hostile program could do).
    pub fn destroy_window(&self, id: &str) {
        self.xdotool(&self.display, &["windowclose", id]);
    }

    /// Asks a window to close the way a window manager's close button does
    /// (a `WM_DELETE_WINDOW` client message).
    pub fn close_window(&self, id: &str) {
        use x11rb::protocol::xproto::{ClientMessageEvent, ConnectionExt, EventMask};
        let (conn, _) = x11rb::connect(Some(&self.display)).expect("connect");
        let atom = |n: &str| {
            conn.intern_atom(false, n.as_bytes())
                .unwrap()
                .reply()
                .unwrap()
                .atom
        };
        let (protocols, delete) = (atom("WM_PROTOCOLS"), atom("WM_DELETE_WINDOW"));
        let window: u32 = id.parse().expect("window id");
        let ev = ClientMessageEvent::new(32, window, protocols, [delete, 0, 0, 0, 0]);
        // Checked, i.e. a round trip: a request flushed just before the connection closes
        // is sometimes dropped by the server (1 run in 5-20 here, the window then stayed
        // open until its timeout).
        conn.send_event(false, window, EventMask::NO_EVENT, ev)
            .unwrap()
            .check()
            .expect("the X server refused the close request");
    }

    /// Reads a token from the Secret Service with libsecret's own client.
    pub fn secret_lookup(&self, index_key: &str) -> Option<String> {
        let out = Command::new("secret-tool")
            .env("DBUS_SESSION_BUS_ADDRESS", &self.dbus)
            .args([
                "lookup",
                "service",
                "cargo-confirm-gui",
                "username",
                index_key,
            ])
            .output()
            .expect("secret-tool");
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).to_string())
            .filter(|s| !s.is_empty())
    }

    /// Stores a token with libsecret's own client.
    pub fn secret_store(&self, index_key: &str, token: &str) {
        let mut child = Command::new("secret-tool")
            .env("DBUS_SESSION_BUS_ADDRESS", &self.dbus)
            .args([
                "store",
                "--label=test",
                "service",
                "cargo-confirm-gui",
                "username",
                index_key,
            ])
            .stdin(Stdio::piped())
            .spawn()
            .expect("secret-tool");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(token.as_bytes())
            .unwrap();
        assert!(child.wait().unwrap().success());
    }
}

/// The window's Approve button centre, in Xephyr screen coordinates.
pub fn approve_point(g: Geom) -> (i32, i32) {
    let c = cargo_confirm_gui::ui::layout::approve_center(egui::vec2(g.w as f32, g.h as f32));
    (g.x + c.x as i32, g.y + c.y as i32)
}

/// The window's Deny button centre, in Xephyr screen coordinates.
pub fn deny_point(g: Geom) -> (i32, i32) {
    let r = cargo_confirm_gui::ui::layout::deny_rect(egui::Rect::from_min_size(
        egui::Pos2::ZERO,
        egui::vec2(g.w as f32, g.h as f32),
    ));
    (g.x + r.center().x as i32, g.y + r.center().y as i32)
}

/// A throwaway cargo project publishing to a test registry.
pub struct Project {
    pub dir: PathBuf,
    pub cargo_home: PathBuf,
    pub registry: Registry,
    pub name: String,
    _tmp: tempfile::TempDir,
}

/// How cargo finds the provider.
pub enum ProviderConfig<'a> {
    /// `credential-provider = [PATH, args...]` on the registry.
    PerRegistry(&'a [&'a str]),
    /// `[registry] global-credential-providers = ["cargo-confirm-gui ..."]`, found on PATH.
    Global(&'a str),
    /// `credential-provider = ["cargo:token-from-stdout", PATH, "get"]`.
    TokenFromStdout,
}

impl Project {
    pub fn new(name: &str, opts: Options, provider: ProviderConfig<'_>) -> Project {
        let tmp = tempfile::tempdir().unwrap();
        let registry = Registry::start(opts).unwrap();
        let dir = tmp.path().join(name);
        let cargo_home = tmp.path().join("cargo-home");
        std::fs::create_dir_all(dir.join("src")).unwrap();
        std::fs::create_dir_all(&cargo_home).unwrap();
        let runtime = tmp.path().join("runtime");
        std::fs::create_dir_all(&runtime).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&runtime, std::fs::Permissions::from_mode(0o700)).unwrap();
        std::fs::write(
            dir.join("Cargo.toml"),
            format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\ndescription = \"test\"\nlicense = \"MIT\"\n\n[workspace]\n"),
        )
        .unwrap();
        std::fs::write(dir.join("src/lib.rs"), "pub fn f() {}\n").unwrap();
        let provider_line = match provider {
            ProviderConfig::PerRegistry(args) => {
                let mut items = vec![format!("{PROVIDER:?}")];
                items.extend(args.iter().map(|a| format!("{a:?}")));
                format!("credential-provider = [{}]\n", items.join(", "))
            }
            ProviderConfig::Global(_) => String::new(),
            ProviderConfig::TokenFromStdout => format!(
                "credential-provider = [\"cargo:token-from-stdout\", {PROVIDER:?}, \"get\"]\n"
            ),
        };
        let global = match provider {
            ProviderConfig::Global(entry) => {
                format!("[registry]\nglobal-credential-providers = [{entry:?}]\n\n")
            }
            _ => String::new(),
        };
        std::fs::write(
            cargo_home.join("config.toml"),
            format!(
                "{global}[registries.local]\nindex = \"{}\"\n{provider_line}",
                registry.index_url()
            ),
        )
        .unwrap();
        Project {
            dir,
            cargo_home,
            registry,
            name: name.to_string(),
            _tmp: tmp,
        }
    }

    /// A project whose registry accepts `token`, already enrolled in the Secret Service.
    pub fn enrolled(name: &str, token: &str, args: &[&str]) -> Project {
        let p = Project::new(
            name,
            Options {
                token: Some(token.into()),
                auth_required: false,
                refuse: None,
            },
            ProviderConfig::PerRegistry(args),
        );
        desk().secret_store(&p.key(), token);
        p
    }

    /// `cargo publish` of this project to its registry, not yet spawned.
    pub fn publish_cmd(&self) -> Command {
        self.cargo(&[
            "publish",
            "--registry",
            "local",
            "--no-verify",
            "--allow-dirty",
        ])
    }

    /// `cargo publish`, spawned.
    pub fn publish(&self) -> Child {
        self.publish_cmd().spawn().unwrap()
    }

    /// The store key for this project's registry.
    pub fn key(&self) -> String {
        cargo_confirm_gui::store::RegistryKey::from_index_url(&self.registry.index_url())
            .as_str()
            .to_string()
    }

    /// This project's own runtime directory (prompt lock, cooldown), so tests do not
    /// inherit each other's Deny cooldown.
    pub fn runtime(&self) -> PathBuf {
        self._tmp.path().join("runtime")
    }

    /// Ends a cooldown a Deny started, as any program of the user's can in the default
    /// install (the state is in the user's runtime directory).
    pub fn clear_cooldown(&self) {
        let _ = std::fs::remove_file(self.runtime().join("cargo-confirm-gui/last-deny"));
    }

    /// This project's own state directory, where the provider keeps its audit log.
    pub fn state(&self) -> PathBuf {
        self._tmp.path().join("state")
    }

    /// The provider's audit records for this project, oldest first.
    pub fn audit(&self) -> Vec<serde_json::Value> {
        let log = cargo_confirm_gui::audit::log_path(&self.state());
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// Rewrites the manifest: this version, with `extra` appended.
    pub fn manifest(&self, version: &str, extra: &str) {
        std::fs::write(
            self.dir.join("Cargo.toml"),
            format!(
                "[package]\nname = \"{}\"\nversion = \"{version}\"\nedition = \"2021\"\ndescription = \"test\"\nlicense = \"MIT\"\n\n[workspace]\n{extra}",
                self.name
            ),
        )
        .unwrap();
    }

    /// The provider run directly (as a worm would), wired like `cargo` below.
    pub fn provider(&self) -> Command {
        let mut cmd = Command::new(PROVIDER);
        desk().env(&mut cmd);
        cmd.env("XDG_RUNTIME_DIR", self.runtime())
            .env("XDG_STATE_HOME", self.state())
            .current_dir(&self.dir);
        cmd
    }

    /// The request line cargo would send to publish `name` `vers` with `cksum` to this
    /// project's registry; a test that plays the worm sends it itself.
    pub fn publish_request(&self, name: &str, vers: &str, cksum: &str) -> serde_json::Value {
        serde_json::json!({
            "v": 1,
            "registry": {"index-url": self.registry.index_url(), "name": "local"},
            "kind": "get",
            "operation": "publish",
            "name": name,
            "vers": vers,
            "cksum": cksum,
        })
    }

    /// A real `cargo` command in this project, wired to the test desktop.
    pub fn cargo(&self, args: &[&str]) -> Command {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.args(args).current_dir(&self.dir);
        desk().env(&mut cmd);
        let provider_dir = Path::new(PROVIDER).parent().unwrap();
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut paths = vec![provider_dir.to_path_buf()];
        paths.extend(std::env::split_paths(&path));
        cmd.env("CARGO_HOME", &self.cargo_home)
            .env("XDG_RUNTIME_DIR", self.runtime())
            .env("XDG_STATE_HOME", self.state())
            .env("PATH", std::env::join_paths(paths).unwrap())
            .env("CARGO_TARGET_DIR", self.dir.join("target"))
            .env("CARGO_TERM_COLOR", "never")
            .env_remove("CARGO_REGISTRY_TOKEN")
            .env_remove("CARGO_REGISTRIES_LOCAL_TOKEN")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // RUSTUP_HOME must survive the CARGO_HOME change for the rustc proxy.
        if std::env::var_os("RUSTUP_HOME").is_none()
            && let Some(h) = std::env::var_os("HOME")
        {
            cmd.env("RUSTUP_HOME", Path::new(&h).join(".rustup"));
        }
        cmd
    }
}

/// Waits for a child with a deadline; kills it if the deadline passes.
pub fn wait_output(mut child: Child, timeout: Duration) -> (ExitStatus, String, String) {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(_status) = child.try_wait().unwrap() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "child did not finish in {timeout:?}\nstdout: {}\nstderr: {}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status,
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

/// Waits for the provider's window while `child` runs; on failure, kills the child and
/// panics with its output, so a missing window says why.
pub fn window_for(child: &mut Child, name: &str) -> (String, Geom) {
    window_for_on(desk(), child, name)
}

/// [`window_for`] on another screen of the person's.
pub fn window_for_on(d: &Desk, child: &mut Child, name: &str) -> (String, Geom) {
    let deadline = Instant::now() + Duration::from_secs(40);
    while Instant::now() < deadline {
        if let Some(w) = d.wait_window(name, Duration::from_millis(500)) {
            return w;
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
    }
    let _ = child.kill();
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut e, &mut err);
    }
    panic!("no window titled {name:?} appeared; the command's stderr:\n{err}");
}

/// Starts `cmd` the way cargo runs a credential provider (`--cargo-plugin`, all three
/// standard streams piped) and writes `request` as its first line. Stdin stays open, as
/// cargo keeps it, until the caller drops it.
pub fn start_plugin(cmd: &mut Command, request: &str) -> (Child, std::process::ChildStdin) {
    let mut child = cmd
        .arg("--cargo-plugin")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{request}").unwrap();
    (child, stdin)
}

/// Which button a person clicks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Click {
    Approve,
    Deny,
}

/// Waits for the window titled `title`, lets it arm, has a person click `button`
/// (through Xephyr), and waits for the command to finish.
pub fn person_answers(
    mut child: Child,
    title: &str,
    button: Click,
) -> (ExitStatus, String, String) {
    let (_, g) = window_for(&mut child, title);
    wait_armed();
    let (x, y) = match button {
        Click::Approve => approve_point(g),
        Click::Deny => deny_point(g),
    };
    desk().human_click(x, y);
    wait_output(child, Duration::from_secs(120))
}

/// After a counted Approve, the window asks who approved: a person types `password` into its
/// field on the real keyboard (through Xephyr) and presses Enter.
pub fn person_authenticates(password: &str) {
    desk()
        .wait_window("confirm it is you", Duration::from_secs(30))
        .expect("the window asks who approved after Approve");
    desk().human_type(password);
    desk().human_keys(&["Return"]);
}

/// Waits long enough for the window to arm (1 s by default) with margin.
pub fn wait_armed() {
    std::thread::sleep(Duration::from_millis(1600));
}

/// A headless wlroots compositor (sway) run by `runs`, with its own runtime directory.
/// sway offers every client the virtual-pointer and virtual-keyboard protocols.
pub struct Sway {
    child: Child,
    /// The compositor's socket, to give the helper as an absolute `WAYLAND_DISPLAY`.
    pub socket: PathBuf,
    _runtime: tempfile::TempDir,
}

impl Drop for Sway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts sway headless, with an empty configuration and no Xwayland.
pub fn sway(runs: Runs) -> Sway {
    use std::os::unix::fs::PermissionsExt;
    let runtime = tempfile::tempdir().unwrap();
    std::fs::set_permissions(runtime.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    let config = runtime.path().join("config");
    std::fs::write(&config, "xwayland disable\n").unwrap();
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut cmd = match runs {
        Runs::Person => {
            run_ok(Command::new("chown").arg(PERSON).arg(runtime.path()));
            person_command("sway")
        }
        Runs::Worm => Command::new("sway"),
    };
    let child = die_with_parent(
        cmd.arg("-c")
            .arg(&config)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("XDG_RUNTIME_DIR", runtime.path())
            .env("WLR_BACKENDS", "headless")
            .env("WLR_LIBINPUT_NO_DEVICES", "1")
            .env("WLR_RENDERER", "pixman")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    )
    .spawn()
    .expect("sway is not installed; scripts/test.sh installs it");
    let deadline = Instant::now() + Duration::from_secs(20);
    let socket = loop {
        let found = std::fs::read_dir(runtime.path())
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .find(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("wayland-") && !n.ends_with(".lock"))
            });
        if let Some(s) = found {
            break s;
        }
        assert!(Instant::now() < deadline, "sway did not start");
        std::thread::sleep(Duration::from_millis(50));
    };
    Sway {
        child,
        socket,
        _runtime: runtime,
    }
}

/// The window process (`__window`) that the helper `pid` started, if it is running.
pub fn window_process_of(pid: u32) -> Option<u32> {
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let child: u32 = e.file_name().to_str()?.parse().ok()?;
        let stat = std::fs::read_to_string(format!("/proc/{child}/stat")).ok()?;
        let ppid: u32 = stat
            .get(stat.rfind(')')? + 2..)?
            .split(' ')
            .nth(1)?
            .parse()
            .ok()?;
        let cmdline = std::fs::read(format!("/proc/{child}/cmdline")).ok()?;
        (ppid == pid && cmdline.split(|b| *b == 0).nth(1) == Some(b"__window".as_slice()))
            .then_some(child)
    })
}

/// The one window process running (`__window`), and the helper that started it.
pub fn any_window_process() -> Option<(u32, u32)> {
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: u32 = e.file_name().to_str()?.parse().ok()?;
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
        if cmdline.split(|b| *b == 0).nth(1) != Some(b"__window".as_slice()) {
            return None;
        }
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let ppid = stat
            .get(stat.rfind(')')? + 2..)?
            .split(' ')
            .nth(1)?
            .parse()
            .ok()?;
        Some((pid, ppid))
    })
}
