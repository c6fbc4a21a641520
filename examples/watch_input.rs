//! Prints what the input-origin guard sees on `$DISPLAY` for a few seconds: a tool for
//! checking how a given input method looks to the guard (`xdotool`, a real mouse, …).

#[cfg(not(target_os = "linux"))]
fn main() {
    eprintln!("watch_input looks at an X server: Linux only");
}

#[cfg(target_os = "linux")]
fn main() {
    let display = std::env::var("DISPLAY").expect("DISPLAY");
    let session = cargo_confirm_gui::display::x11::Session::connect(&display).expect("connect");
    let guard =
        cargo_confirm_gui::input_guard::Guard::start_x11(std::sync::Arc::new(session), || {})
            .expect("guard");
    for _ in 0..40 {
        std::thread::sleep(std::time::Duration::from_millis(100));
        let seen = guard.seen();
        eprintln!(
            "veto={:?} covered={:?} last_real_motion={:?} last_real_press={:?}",
            seen.veto,
            seen.covered,
            seen.last_real_motion.map(|t| t.elapsed()),
            seen.last_real_press.map(|t| t.elapsed())
        );
    }
}
