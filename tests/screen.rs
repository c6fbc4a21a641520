//! Only the person's own screen: a worm running as the user tries to have the prompt
//! approved with no person, or with a person misled about what they click. Each attack runs
//! against the real binary under real cargo, with the person's X servers run by another user
//! (see `support`); each ends with nothing published, and each has its control, in which a
//! person's click on their own screen approves.

#![cfg(target_os = "linux")]

mod support;

use std::process::Child;
use std::time::Duration;

use x11rb::connection::Connection;
use x11rb::protocol::xfixes::ConnectionExt as _;
use x11rb::protocol::xinput::{self, ConnectionExt as _};
use x11rb::protocol::xproto::{
    ChangeWindowAttributesAux, ConnectionExt as _, CreateGCAux, CreateWindowAux, Rectangle,
    WindowClass,
};
use x11rb::protocol::xtest::ConnectionExt as _;
use x11rb::rust_connection::RustConnection;
use x11rb::wrapper::ConnectionExt as _;

use support::*;

const TOKEN: &str = "tok-screen-0123456789abcdef";
const CARGO: Duration = Duration::from_secs(120);

fn project(name: &str) -> Project {
    warm_up();
    Project::enrolled(name, TOKEN, &[])
}

/// One window opened and answered before the first test's, on this binary's fresh servers.
/// Twice in full runs of the suite (never alone, never under a CPU or build load made by
/// hand) the first test's control click did not count in five tries and its window timed
/// out, whichever test came first: the first window on new servers, not the test's attack.
/// This asserts nothing; each test's own window and assertions are unchanged.
fn warm_up() {
    static WARM: std::sync::Once = std::sync::Once::new();
    WARM.call_once(|| {
        let p = Project::enrolled("screen-warm-up", TOKEN, &["--timeout=20"]);
        let mut child = p.publish();
        let (_, g) = window_for(&mut child, "cargo-confirm-gui");
        wait_armed();
        let (x, y) = approve_point(g);
        for _ in 0..3 {
            desk().human_click(x, y);
            std::thread::sleep(Duration::from_secs(2));
            if child.try_wait().unwrap().is_some() {
                break;
            }
        }
        let _ = wait_output(child, Duration::from_secs(30));
    });
}

/// The worm's own connection to the person's display (it runs as the helper's user).
fn worm() -> (RustConnection, u32) {
    let (conn, screen) = x11rb::connect(Some(&desk().display)).expect("connect");
    let root = conn.setup().roots[screen].root;
    (conn, root)
}

/// cargo is still waiting and the registry got nothing.
fn still_waiting(p: &Project, child: &mut Child) {
    std::thread::sleep(Duration::from_millis(800));
    assert!(
        child.try_wait().unwrap().is_none(),
        "cargo finished: the click was accepted"
    );
    assert!(
        p.registry.mutations().is_empty(),
        "{:?}",
        p.registry.mutations()
    );
}

/// The person clicks Approve and it goes through: the upload carries the token. On a loaded
/// machine the window may not have re-armed by the time `wait_armed` returns (it counts the
/// arming delay from when the prompt is back in plain view); a person would click again, and
/// so does this control, up to five times.
fn person_approves(p: &Project, mut child: Child, g: Geom) {
    let (x, y) = approve_point(g);
    for _ in 0..5 {
        desk().human_click(x, y);
        let deadline = std::time::Instant::now() + Duration::from_secs(4);
        while std::time::Instant::now() < deadline && child.try_wait().unwrap().is_none() {
            std::thread::sleep(Duration::from_millis(100));
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        wait_armed();
    }
    let (status, _, err) = wait_output(child, CARGO);
    assert!(
        status.success(),
        "a person's click did not approve: {err}\nthe log's last record: {:?}",
        p.audit().last()
    );
    assert_eq!(
        p.registry.mutations()[0].authorization.as_deref(),
        Some(TOKEN)
    );
}

/// The prompt is vetoed for good: the person's Approve does nothing, their Deny ends it.
fn vetoed_then_denied(p: &Project, mut child: Child, g: Geom) {
    let (x, y) = approve_point(g);
    desk().human_click(x, y);
    still_waiting(p, &mut child);
    let (x, y) = deny_point(g);
    desk().human_click(x, y);
    let (status, _, err) = wait_output(child, CARGO);
    assert!(!status.success() && err.contains("denied"), "{err}");
    assert!(p.registry.mutations().is_empty());
}

/// The worm's decoy: an override-redirect window over the prompt, kept on top by a thread
/// that raises it again every few milliseconds (the prompt raises itself too).
struct Decoy {
    window: u32,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    raiser: Option<std::thread::JoinHandle<()>>,
}

impl Decoy {
    fn new(g: Geom) -> Decoy {
        let (conn, root) = worm();
        let window = decoy_window(&conn, root, g);
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let raiser = std::thread::spawn(move || {
            let above = x11rb::protocol::xproto::ConfigureWindowAux::new()
                .stack_mode(x11rb::protocol::xproto::StackMode::ABOVE);
            while !flag.load(std::sync::atomic::Ordering::SeqCst) {
                let _ = conn.configure_window(window, &above);
                let _ = conn.flush();
                std::thread::sleep(Duration::from_millis(5));
            }
            let _ = conn.destroy_window(window);
            let _ = conn.sync();
        });
        Decoy {
            window,
            stop,
            raiser: Some(raiser),
        }
    }

    /// Gone: unmapped and destroyed, and no longer raised.
    fn remove(mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(r) = self.raiser.take() {
            r.join().unwrap();
        }
        let _ = self.window;
    }
}

/// An override-redirect window over `g`, drawn white, through which input falls (its input
/// shape is empty): what the person sees is the worm's.
fn decoy_window(conn: &RustConnection, root: u32, g: Geom) -> u32 {
    let w = conn.generate_id().unwrap();
    conn.create_window(
        x11rb::COPY_DEPTH_FROM_PARENT,
        w,
        root,
        g.x as i16,
        g.y as i16,
        g.w as u16,
        g.h as u16,
        0,
        WindowClass::INPUT_OUTPUT,
        0,
        &CreateWindowAux::new()
            .override_redirect(1)
            .background_pixel(0xffffff),
    )
    .unwrap();
    conn.xfixes_query_version(5, 0).unwrap().reply().unwrap();
    let empty = conn.generate_id().unwrap();
    conn.xfixes_create_region(empty, &[]).unwrap();
    conn.xfixes_set_window_shape_region(w, x11rb::protocol::shape::SK::INPUT, 0, 0, empty)
        .unwrap();
    conn.map_window(w).unwrap();
    // Its own "OK" where Approve is.
    let gc = conn.generate_id().unwrap();
    conn.create_gc(gc, w, &CreateGCAux::new().foreground(0x2060c0))
        .unwrap();
    let (ax, ay) = approve_point(Geom { x: 0, y: 0, ..g });
    conn.poly_fill_rectangle(
        w,
        gc,
        &[Rectangle {
            x: (ax - 60) as i16,
            y: (ay - 16) as i16,
            width: 120,
            height: 32,
        }],
    )
    .unwrap();
    conn.sync().unwrap();
    w
}

#[test]
fn a_decoy_over_the_prompt_makes_a_persons_click_count_for_nothing() {
    let _g = gui_lock();
    let p = project("screen-decoy");
    let mut child = p.publish();
    let (_, g) = window_for(&mut child, "cargo-confirm-gui");
    wait_armed();
    let d = Decoy::new(g);
    std::thread::sleep(Duration::from_millis(1500));
    // The person clicks the decoy's "OK"; the click falls through onto Approve.
    let (x, y) = approve_point(g);
    desk().human_click(x, y);
    still_waiting(&p, &mut child);
    // Control: the decoy goes; once the prompt has been in plain view for the arming
    // delay, the person's click approves.
    d.remove();
    wait_armed();
    person_approves(&p, child, g);
}

#[test]
fn a_decoy_gone_a_moment_before_the_click_still_does_not_count() {
    let _g = gui_lock();
    let p = project("screen-decoy-gone");
    let mut child = p.publish();
    let (_, g) = window_for(&mut child, "cargo-confirm-gui");
    wait_armed();
    let d = Decoy::new(g);
    std::thread::sleep(Duration::from_millis(1500));
    // The worm watches the pointer approach and pulls the decoy just before the press.
    d.remove();
    let (x, y) = approve_point(g);
    desk().human_click(x, y);
    still_waiting(&p, &mut child);
    // Control: clear for the whole arming delay, the next click counts.
    wait_armed();
    person_approves(&p, child, g);
}

/// A cursor whose arrow is drawn `offset` pixels left of its real hotspot.
fn lying_cursor(conn: &RustConnection, root: u32, offset: u16) -> u32 {
    let (w, h) = (offset + 16, 20u16);
    let source = conn.generate_id().unwrap();
    let mask = conn.generate_id().unwrap();
    conn.create_pixmap(1, source, root, w, h).unwrap();
    conn.create_pixmap(1, mask, root, w, h).unwrap();
    let gc = conn.generate_id().unwrap();
    conn.create_gc(gc, source, &CreateGCAux::new().foreground(0))
        .unwrap();
    for pixmap in [source, mask] {
        conn.change_gc(
            gc,
            &x11rb::protocol::xproto::ChangeGCAux::new().foreground(0),
        )
        .unwrap();
        conn.poly_fill_rectangle(
            pixmap,
            gc,
            &[Rectangle {
                x: 0,
                y: 0,
                width: w,
                height: h,
            }],
        )
        .unwrap();
        conn.change_gc(
            gc,
            &x11rb::protocol::xproto::ChangeGCAux::new().foreground(1),
        )
        .unwrap();
        // An arrow at the left edge: a wedge, one more pixel wide each row.
        let rows: Vec<Rectangle> = (0..14)
            .map(|y| Rectangle {
                x: 0,
                y,
                width: (y + 1) as u16,
                height: 1,
            })
            .collect();
        conn.poly_fill_rectangle(pixmap, gc, &rows).unwrap();
    }
    let cursor = conn.generate_id().unwrap();
    conn.create_cursor(
        cursor, source, mask, 0, 0, 0, 0xffff, 0xffff, 0xffff, offset, 0,
    )
    .unwrap();
    cursor
}

#[test]
fn an_offset_hotspot_cursor_on_the_prompt_approves_nothing() {
    let _g = gui_lock();
    let p = project("screen-cursor");
    let mut child = p.publish();
    let (id, g) = window_for(&mut child, "cargo-confirm-gui");
    wait_armed();
    let (conn, root) = worm();
    // Deny's centre is this far left of Approve's: the person puts the drawn arrow on Deny.
    let offset = (approve_point(g).0 - deny_point(g).0) as u16;
    let cursor = lying_cursor(&conn, root, offset);
    conn.change_window_attributes(
        id.parse().unwrap(),
        &ChangeWindowAttributesAux::new().cursor(cursor),
    )
    .unwrap();
    conn.sync().unwrap();
    // The drawn arrow sits on Deny, so the real hotspot is on Approve: the click lands there.
    let (x, y) = approve_point(g);
    desk().human_click(x, y);
    still_waiting(&p, &mut child);
    let (x, y) = deny_point(g);
    desk().human_click(x, y);
    let (status, _, err) = wait_output(child, CARGO);
    assert!(!status.success(), "{err}");
    assert!(p.registry.mutations().is_empty());

    // Control: the same publish (its own cooldown), the window's own arrow, a person's
    // click approves.
    let p = project("screen-cursor-control");
    let child = p.publish();
    let (status, _, err) = person_answers(child, "cargo-confirm-gui", Click::Approve);
    assert!(status.success(), "{err}");
    assert_eq!(
        p.registry.mutations()[0].authorization.as_deref(),
        Some(TOKEN)
    );
}

fn add_master(conn: &RustConnection, name: &str) {
    let name = name.as_bytes().to_vec();
    let len = (8 + name.len().div_ceil(4) * 4) / 4;
    conn.xinput_xi_change_hierarchy(&[xinput::HierarchyChange {
        len: len as u16,
        data: xinput::HierarchyChangeData::AddMaster(xinput::HierarchyChangeDataAddMaster {
            send_core: true,
            enable: true,
            name,
        }),
    }])
    .unwrap();
}

fn remove_master(conn: &RustConnection, pointer: u16) {
    conn.xinput_xi_change_hierarchy(&[xinput::HierarchyChange {
        len: 3,
        data: xinput::HierarchyChangeData::RemoveMaster(xinput::HierarchyChangeDataRemoveMaster {
            deviceid: pointer,
            return_mode: xinput::ChangeMode::ATTACH,
            return_pointer: 2,
            return_keyboard: 3,
        }),
    }])
    .unwrap();
}

fn master_pointer(conn: &RustConnection, name: &str) -> u16 {
    let want = format!("{name} pointer");
    conn.xinput_xi_query_device(0u16)
        .unwrap()
        .reply()
        .unwrap()
        .infos
        .iter()
        .find(|d| d.name == want.as_bytes())
        .map(|d| d.deviceid)
        .expect("the new master pointer")
}

#[test]
fn a_hierarchy_change_during_the_prompt_vetoes_it() {
    let _g = gui_lock();
    let p = project("screen-hierarchy");
    let mut child = p.publish();
    let (_, g) = window_for(&mut child, "cargo-confirm-gui");
    wait_armed();
    let (conn, _) = worm();
    conn.xinput_xi_query_version(2, 2).unwrap().reply().unwrap();
    add_master(&conn, "spare");
    conn.sync().unwrap();
    let id = master_pointer(&conn, "spare");
    remove_master(&conn, id);
    conn.sync().unwrap();
    vetoed_then_denied(&p, child, g);
}

#[test]
fn a_master_pointer_that_lives_for_one_batch_clicks_nothing() {
    // XTEST: only where the policy file accepts a server that offers it.
    let _g = gui_lock();
    let _policy = PolicyFile::allowing_virtual_input();
    let d = xtest_desk();
    let p = project("screen-transient-master");
    let mut child = p.publish_cmd().env("DISPLAY", &d.display).spawn().unwrap();
    let (_, g) = window_for_on(d, &mut child, "cargo-confirm-gui");
    wait_armed();
    let (conn, screen) = x11rb::connect(Some(&d.display)).expect("connect");
    let root = conn.setup().roots[screen].root;
    conn.xinput_xi_query_version(2, 2).unwrap().reply().unwrap();
    conn.xtest_get_version(2, 2).unwrap().reply().unwrap();
    add_master(&conn, "worm");
    conn.sync().unwrap();
    let id = master_pointer(&conn, "worm");
    // One batch, no round trip: the new master becomes this client's pointer, its XTEST
    // device moves onto Approve and clicks, and the master is removed again.
    let (x, y) = approve_point(g);
    conn.xinput_xi_set_client_pointer(x11rb::NONE, id).unwrap();
    for (kind, detail) in [(6u8, 0u8), (4, 1), (5, 1)] {
        conn.xtest_fake_input(kind, detail, 0, root, x as i16, y as i16, 0)
            .unwrap();
    }
    remove_master(&conn, id);
    conn.flush().unwrap();
    conn.sync().unwrap();
    still_waiting(&p, &mut child);
    let (x, y) = approve_point(g);
    d.human_click(x, y);
    still_waiting(&p, &mut child);
    let (x, y) = deny_point(g);
    d.human_click(x, y);
    let (status, _, err) = wait_output(child, CARGO);
    assert!(!status.success() && err.contains("denied"), "{err}");
    assert!(p.registry.mutations().is_empty());
}

#[test]
fn a_window_put_inside_the_prompt_makes_a_click_count_for_nothing() {
    // Red-team finding 5: a child of the prompt's own window, drawn over its content, is
    // not a child of the root, so the stacking order alone never sees it.
    let _g = gui_lock();
    let p = project("screen-inner-child");
    let mut child = p.publish();
    let (id, g) = window_for(&mut child, "cargo-confirm-gui");
    wait_armed();
    let (conn, _) = worm();
    let inner = conn.generate_id().unwrap();
    conn.create_window(
        x11rb::COPY_DEPTH_FROM_PARENT,
        inner,
        id.parse().unwrap(),
        0,
        0,
        g.w as u16,
        (g.h - 80) as u16,
        0,
        WindowClass::INPUT_OUTPUT,
        0,
        &CreateWindowAux::new().background_pixel(0x20a040),
    )
    .unwrap();
    conn.map_window(inner).unwrap();
    conn.sync().unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let (x, y) = approve_point(g);
    desk().human_click(x, y);
    still_waiting(&p, &mut child);
    // Control: gone, and clear for the arming delay: the person's click counts.
    conn.destroy_window(inner).unwrap();
    conn.sync().unwrap();
    wait_armed();
    person_approves(&p, child, g);
}

#[test]
fn a_warp_after_each_real_move_turns_no_click_into_approve() {
    // Red-team finding 6: the worm watches the person's raw motion and warps the pointer
    // onto Approve right after each move; the person aims at Deny and presses on Approve.
    let _g = gui_lock();
    let p = project("screen-warp-chase");
    let mut child = p.publish();
    let (_, g) = window_for(&mut child, "cargo-confirm-gui");
    wait_armed();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = stop.clone();
    let (ax, ay) = approve_point(g);
    let warper = std::thread::spawn(move || {
        let (conn, root) = worm();
        conn.xinput_xi_query_version(2, 2).unwrap().reply().unwrap();
        conn.xinput_xi_select_events(
            root,
            &[xinput::EventMask {
                deviceid: 1, // all master devices
                mask: vec![xinput::XIEventMask::RAW_MOTION],
            }],
        )
        .unwrap();
        conn.sync().unwrap();
        let mut warps = 0;
        while !flag.load(std::sync::atomic::Ordering::SeqCst) {
            match conn.poll_for_event().unwrap() {
                Some(x11rb::protocol::Event::XinputRawMotion(_)) => {
                    conn.warp_pointer(x11rb::NONE, root, 0, 0, 0, 0, ax as i16, ay as i16)
                        .unwrap();
                    conn.flush().unwrap();
                    warps += 1;
                }
                Some(_) => {}
                None => std::thread::sleep(Duration::from_millis(1)),
            }
        }
        warps
    });
    let (dx, dy) = deny_point(g);
    desk().human_click(dx, dy);
    still_waiting(&p, &mut child);
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    assert!(warper.join().unwrap() > 0, "the worm never warped");
    // Control: no more warping; the person's own move and click approve.
    std::thread::sleep(Duration::from_millis(300));
    person_approves(&p, child, g);
}

/// The running helpers' pids (cargo's children in plugin mode).
fn helpers() -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| {
                let c = String::from_utf8_lossy(&c);
                c.starts_with(PROVIDER) && c.contains("--cargo-plugin")
            })
        })
        .collect()
}

#[test]
fn control_a_persons_click_on_their_own_screen_approves() {
    let _g = gui_lock();
    let p = project("screen-control");
    let mut child = p.publish();
    let (_, g) = window_for(&mut child, "cargo-confirm-gui");
    wait_armed();
    // While the window is up, the helper shares no memory another program could open and
    // draw into: no POSIX shm object, no SysV segment.
    let pids = helpers();
    assert_eq!(pids.len(), 1, "{pids:?}");
    let maps = std::fs::read_to_string(format!("/proc/{}/maps", pids[0])).unwrap();
    assert!(
        !maps.contains("/dev/shm/") && !maps.contains("SYSV"),
        "{maps}"
    );
    person_approves(&p, child, g);
}

/// A compositing manager, as far as the guard can tell: it owns `_NET_WM_CM_S0` and holds
/// the Composite overlay window, through which input falls (what mutter, KWin and picom do
/// on X11). Dropped, it lets go of both.
struct Compositor {
    /// Held: the selection and the overlay last as long as this connection.
    _conn: RustConnection,
    overlay: u32,
    /// The manager's own window inside the overlay, as mutter's stage is.
    stage: u32,
}

impl Compositor {
    fn start() -> Compositor {
        use x11rb::protocol::composite::ConnectionExt as _;
        let (conn, root) = worm();
        let owner = conn.generate_id().unwrap();
        conn.create_window(
            x11rb::COPY_DEPTH_FROM_PARENT,
            owner,
            root,
            0,
            0,
            1,
            1,
            0,
            WindowClass::INPUT_OUTPUT,
            0,
            &CreateWindowAux::new(),
        )
        .unwrap();
        let atom = conn
            .intern_atom(false, b"_NET_WM_CM_S0")
            .unwrap()
            .reply()
            .unwrap()
            .atom;
        conn.set_selection_owner(owner, atom, x11rb::CURRENT_TIME)
            .unwrap();
        conn.composite_query_version(0, 4).unwrap().reply().unwrap();
        // Every window is drawn off screen, into a pixmap of its own, as a compositing
        // manager has it (it paints them itself, into its stage).
        conn.composite_redirect_subwindows(root, x11rb::protocol::composite::Redirect::MANUAL)
            .unwrap();
        let overlay = conn
            .composite_get_overlay_window(root)
            .unwrap()
            .reply()
            .unwrap()
            .overlay_win;
        // Input falls through the overlay to the windows below, as every compositing
        // manager sets it up.
        conn.xfixes_query_version(5, 0).unwrap().reply().unwrap();
        let empty = conn.generate_id().unwrap();
        conn.xfixes_create_region(empty, &[]).unwrap();
        conn.xfixes_set_window_shape_region(
            overlay,
            x11rb::protocol::shape::SK::INPUT,
            0,
            0,
            empty,
        )
        .unwrap();
        let screen = &conn.setup().roots[0];
        let (w, h) = (screen.width_in_pixels, screen.height_in_pixels);
        let stage = conn.generate_id().unwrap();
        conn.create_window(
            x11rb::COPY_DEPTH_FROM_PARENT,
            stage,
            overlay,
            0,
            0,
            w,
            h,
            0,
            WindowClass::INPUT_OUTPUT,
            0,
            &CreateWindowAux::new(),
        )
        .unwrap();
        conn.xfixes_set_window_shape_region(stage, x11rb::protocol::shape::SK::INPUT, 0, 0, empty)
            .unwrap();
        conn.map_window(stage).unwrap();
        conn.sync().unwrap();
        Compositor {
            _conn: conn,
            overlay,
            stage,
        }
    }
}

#[test]
fn a_decoy_inside_the_compositing_overlay_makes_a_click_count_for_nothing() {
    // Red team of "Only the person's own screen": a window inside the compositing manager's
    // overlay window is drawn above everything, but is no child of the root and sends the
    // root no events, so the stacking order never saw it. And one level down, inside the
    // manager's own stage window (any client may make a window anywhere), neither did a
    // look at the overlay's own children.
    let _g = gui_lock();
    let cm = Compositor::start();
    for (name, parent) in [
        ("screen-overlay-decoy", cm.overlay),
        ("screen-stage-decoy", cm.stage),
    ] {
        let p = project(name);
        let mut child = p.publish();
        let (_, g) = window_for(&mut child, "cargo-confirm-gui");
        wait_armed();
        let (conn, _) = worm();
        let decoy = decoy_window(&conn, parent, g);
        std::thread::sleep(Duration::from_millis(1500));
        let (x, y) = approve_point(g);
        desk().human_click(x, y);
        still_waiting(&p, &mut child);
        // Control: the compositor's screen with nothing of the worm's in it; the click
        // counts.
        conn.destroy_window(decoy).unwrap();
        conn.sync().unwrap();
        wait_armed();
        person_approves(&p, child, g);
    }
    drop(cm);
}

#[test]
fn a_prompt_moved_under_the_persons_pointer_must_arm_again() {
    // Red team of "Only the person's own screen": an armed prompt moved so that Approve
    // lands where the person is about to click (a bait asking for a double click elsewhere).
    let _g = gui_lock();
    let p = project("screen-moved");
    let mut child = p.publish();
    let (id, g) = window_for(&mut child, "cargo-confirm-gui");
    wait_armed();
    let (conn, _) = worm();
    let moved = Geom {
        x: g.x + 40,
        y: g.y + 24,
        ..g
    };
    conn.configure_window(
        id.parse().unwrap(),
        &x11rb::protocol::xproto::ConfigureWindowAux::new()
            .x(moved.x)
            .y(moved.y),
    )
    .unwrap();
    conn.sync().unwrap();
    // The person's click lands on Approve at once, where the prompt now is.
    std::thread::sleep(Duration::from_millis(150));
    let (x, y) = approve_point(moved);
    desk().human_click(x, y);
    still_waiting(&p, &mut child);
    // Control: still where it was moved to, and in plain view for the arming delay.
    wait_armed();
    person_approves(&p, child, moved);
}

/// Review 3 of the window ("Presence the desktop cannot forge"): on X11 any client may draw
/// into the prompt, reshape it, grab the pointer over it or hide the cursor. A click there is
/// never the last word (the sealed install asks for the person's password after it); these
/// vetoes are defence in depth, each kept because this test shows it firing. The control is
/// `control_a_persons_click_on_their_own_screen_approves`.
mod the_desktop_drives_the_window {
    use super::*;
    use x11rb::protocol::shape::{self, ConnectionExt as _};
    use x11rb::protocol::xproto::{ClipOrdering, EventMask, GrabMode};

    /// The worm paints `rects` into the prompt in red, again every few milliseconds (the
    /// prompt redraws itself ten times a second), until dropped.
    struct Painter {
        stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
        thread: Option<std::thread::JoinHandle<()>>,
    }

    impl Painter {
        fn new(window: u32, rects: Vec<Rectangle>) -> Painter {
            let (conn, _) = worm();
            let gc = conn.generate_id().unwrap();
            conn.create_gc(gc, window, &CreateGCAux::new().foreground(0x00ff_0000))
                .unwrap();
            let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
            let flag = stop.clone();
            let thread = std::thread::spawn(move || {
                while !flag.load(std::sync::atomic::Ordering::SeqCst) {
                    let _ = conn.poly_fill_rectangle(window, gc, &rects);
                    let _ = conn.flush();
                    std::thread::sleep(Duration::from_millis(5));
                }
            });
            Painter {
                stop,
                thread: Some(thread),
            }
        }
    }

    impl Drop for Painter {
        fn drop(&mut self) {
            self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
            if let Some(t) = self.thread.take() {
                let _ = t.join();
            }
        }
    }

    /// The project's last audit record: why the Deny came.
    fn last_record(p: &Project) -> String {
        p.audit().last().expect("an audit record").to_string()
    }

    /// A 120x30 rectangle around screen point (x, y), in the coordinates of the window at `g`.
    fn around(g: Geom, (x, y): (i32, i32)) -> Rectangle {
        Rectangle {
            x: (x - g.x - 60) as i16,
            y: (y - g.y - 15) as i16,
            width: 120,
            height: 30,
        }
    }

    #[test]
    fn labels_drawn_swapped_into_the_prompt_veto_it() {
        let _g = gui_lock();
        let p = project("desktop-draw");
        let mut child = p.publish();
        let (id, g) = window_for(&mut child, "cargo-confirm-gui");
        wait_armed();
        // What a worm does to swap the labels: paint over the two buttons, again and again.
        let painter = Painter::new(
            id.parse().unwrap(),
            vec![around(g, approve_point(g)), around(g, deny_point(g))],
        );
        std::thread::sleep(Duration::from_millis(700));
        let (x, y) = approve_point(g);
        desk().human_click(x, y);
        still_waiting(&p, &mut child);
        drop(painter);
        let (x, y) = deny_point(g);
        desk().human_click(x, y);
        let (status, _, err) = wait_output(child, CARGO);
        assert!(!status.success() && err.contains("denied"), "{err}");
        assert!(p.registry.mutations().is_empty());
        let rec = last_record(&p);
        assert!(
            rec.contains("another program drew into this window"),
            "{rec}"
        );
    }

    #[test]
    fn a_prompt_cut_down_by_another_program_is_vetoed() {
        let _g = gui_lock();
        let p = project("desktop-shape");
        let mut child = p.publish();
        let (id, g) = window_for(&mut child, "cargo-confirm-gui");
        wait_armed();
        // The person's pointer is elsewhere (so no cursor over the prompt changes with it).
        desk().human_move(g.x + g.w + 40, g.y + g.h / 2);
        let (conn, _) = worm();
        // Only the Approve button is left of the prompt; what shows around it is below.
        let (ax, ay) = approve_point(g);
        conn.shape_rectangles(
            shape::SO::SET,
            shape::SK::BOUNDING,
            ClipOrdering::UNSORTED,
            id.parse().unwrap(),
            0,
            0,
            &[Rectangle {
                x: (ax - g.x - 60) as i16,
                y: (ay - g.y - 15) as i16,
                width: 120,
                height: 30,
            }],
        )
        .unwrap();
        conn.sync().unwrap();
        // The person clicks what they see: the one button left.
        std::thread::sleep(Duration::from_millis(700));
        desk().human_click(ax, ay);
        still_waiting(&p, &mut child);
        // Its shape back, so the person can reach Deny.
        conn.shape_mask(
            shape::SO::SET,
            shape::SK::BOUNDING,
            id.parse().unwrap(),
            0,
            0,
            x11rb::NONE,
        )
        .unwrap();
        conn.sync().unwrap();
        let (x, y) = deny_point(g);
        desk().human_click(x, y);
        let (status, _, err) = wait_output(child, CARGO);
        assert!(!status.success() && err.contains("denied"), "{err}");
        assert!(p.registry.mutations().is_empty());
        let rec = last_record(&p);
        assert!(rec.contains("changed this window's shape"), "{rec}");
    }

    #[test]
    fn a_pointer_grab_over_the_prompt_is_vetoed() {
        let _g = gui_lock();
        let p = project("desktop-grab");
        let mut child = p.publish();
        let (_, g) = window_for(&mut child, "cargo-confirm-gui");
        wait_armed();
        // The person's pointer rests on the prompt; the worm grabs the pointer for a moment
        // (long enough to warp it or show a cursor of its own), then lets it go.
        desk().human_move(g.x + g.w / 2, g.y + g.h / 3);
        std::thread::sleep(Duration::from_millis(200));
        let (conn, root) = worm();
        let grabbed = conn
            .grab_pointer(
                false,
                root,
                EventMask::NO_EVENT,
                GrabMode::ASYNC,
                GrabMode::ASYNC,
                x11rb::NONE,
                x11rb::NONE,
                x11rb::CURRENT_TIME,
            )
            .unwrap()
            .reply()
            .unwrap();
        assert_eq!(grabbed.status, x11rb::protocol::xproto::GrabStatus::SUCCESS);
        std::thread::sleep(Duration::from_millis(100));
        conn.ungrab_pointer(x11rb::CURRENT_TIME).unwrap();
        conn.sync().unwrap();
        vetoed_then_denied(&p, child, g);
        let rec = last_record(&p);
        assert!(rec.contains("grabbed the pointer"), "{rec}");
    }

    #[test]
    fn a_hidden_cursor_and_an_arrow_painted_beside_the_hotspot_approve_nothing() {
        // No client can tell that the cursor is hidden (XFixes HideCursor changes nothing a
        // client can read and sends no event), so hiding it is not vetoed by itself. What the
        // worm must then show, an arrow of its own away from the real hotspot, is drawing in
        // the prompt (or a window over it, `a_decoy_over_the_prompt_…`): vetoed.
        let _g = gui_lock();
        let p = project("desktop-hide");
        let mut child = p.publish();
        let (id, g) = window_for(&mut child, "cargo-confirm-gui");
        wait_armed();
        let (conn, root) = worm();
        conn.xfixes_query_version(5, 0).unwrap().reply().unwrap();
        conn.xfixes_hide_cursor(root).unwrap();
        conn.sync().unwrap();
        // The painted "arrow" sits on Deny; the real hotspot will be on Approve.
        let (dx, dy) = deny_point(g);
        let arrow = Painter::new(
            id.parse().unwrap(),
            vec![Rectangle {
                x: (dx - g.x) as i16,
                y: (dy - g.y) as i16,
                width: 12,
                height: 18,
            }],
        );
        std::thread::sleep(Duration::from_millis(700));
        let (x, y) = approve_point(g);
        desk().human_click(x, y);
        still_waiting(&p, &mut child);
        drop(arrow);
        conn.xfixes_show_cursor(root).unwrap();
        conn.sync().unwrap();
        let (x, y) = deny_point(g);
        desk().human_click(x, y);
        let (status, _, err) = wait_output(child, CARGO);
        assert!(!status.success() && err.contains("denied"), "{err}");
        assert!(p.registry.mutations().is_empty());
        let rec = last_record(&p);
        assert!(
            rec.contains("another program drew into this window"),
            "{rec}"
        );
    }
}
