//! Is the click on Approve a person's, on the person's screen, seeing what the window shows?
//!
//! On X11 the helper's own connection (checked to reach the same server as the window,
//! see `display`) watches, from before the window exists:
//!
//! - **where input comes from**: XI2 raw events on the root carry `sourceid`, the slave
//!   device that produced them. Input from an XTEST device (`xdotool`, any synthetic-input
//!   tool), from a device the guard cannot name, or any change to the device hierarchy
//!   (a master pointer added for one batch, a slave attached or detached) vetoes the prompt
//!   for good. Approve also needs a raw button press from a real device after arming, and
//!   the pointer's last move before that press must have come from a real device: a warp
//!   (`XWarpPointer`, which moves the pointer with no device behind it) shows as a motion
//!   event whose source is the master device itself;
//! - **what covers the window**: the stacking order of the root's children, top-level and
//!   override-redirect alike. A click counts only if nothing overlapped the prompt during
//!   the whole arming delay before the press, the prompt was fully on screen and not made
//!   transparent; the window says what covers it, and raises itself again;
//! - **the cursor**: the window sets its own arrow (`arrow`). Whenever the displayed
//!   cursor changes (XFixes `DisplayCursorNotify`) while the pointer is over the prompt, it
//!   must still be that arrow, image and hotspot; a click is judged only while it is. A
//!   cursor drawn away from its hotspot would have the person aim at Deny and press Approve.
//!
//! Wayland gives clients no way to inject input into, cover, or re-cursor another client's
//! surface, so there is no guard there; compositors that offer virtual-input protocols to
//! any client are refused instead (see `ui::window`).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub(crate) mod arrow;
// The X11 guard's (Linux); compiled everywhere so that its tests run on every platform.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
mod stack;
#[cfg(target_os = "linux")]
mod x11;
#[cfg(target_os = "linux")]
use crate::display::x11::Session as X11Session;
#[cfg(not(target_os = "linux"))]
use x11::Session as X11Session;

/// Why the guard cannot watch the X server, or lost it. The `Display` is the message.
#[derive(Debug, thiserror::Error)]
pub enum GuardError {
    /// A request to the X server, or its reply, failed.
    #[cfg(target_os = "linux")]
    #[error("{0}")]
    Request(#[source] x11rb::errors::ReplyError),
    /// The server refused to send the events the guard judges by.
    #[cfg(target_os = "linux")]
    #[error("cannot watch {what} ({source})")]
    Watch {
        /// What ("raw input", "the cursor").
        what: &'static str,
        /// The server's refusal.
        #[source]
        source: x11rb::errors::ReplyError,
    },
    /// A compositing manager runs and its overlay window cannot be examined.
    #[error(
        "a compositing manager runs, but its overlay window cannot be examined, so \
         what it shows above the prompt cannot be checked"
    )]
    OverlayHidden,
    /// No Generic Event Extension: XInput 2 events would never arrive.
    #[error("the X server lacks the Generic Event Extension, so XInput 2 events cannot arrive")]
    NoGenericEvents,
    /// No XInput 2.
    #[cfg(target_os = "linux")]
    #[error("the X server has no XInput 2 ({0})")]
    NoXInput2(#[source] x11rb::errors::ReplyError),
    /// XInput older than 2.2.
    #[error("the X server has XInput {major}.{minor}, 2.2 is needed")]
    OldXInput {
        /// Major version.
        major: u16,
        /// Minor version.
        minor: u16,
    },
    /// No XFixes.
    #[cfg(target_os = "linux")]
    #[error("the X server has no XFixes, so the cursor cannot be checked ({0})")]
    NoXFixes(#[source] x11rb::errors::ReplyError),
    /// XFixes older than 2.
    #[error("the X server has XFixes {major}, 2 is needed to check the cursor")]
    OldXFixes {
        /// Major version.
        major: u32,
    },
    /// The session's root is no screen of the server.
    #[error("no such screen")]
    NoScreen,
    /// Not built on this platform.
    #[error("X11 input watching is only built on Linux")]
    NotBuilt,
}

/// Other platforms have no X server to watch: [`Guard::start_x11`] always fails there.
#[cfg(not(target_os = "linux"))]
mod x11 {
    use super::*;
    pub(crate) struct Watcher;
    pub struct Session;
    impl Watcher {
        pub(crate) fn start(
            _: Arc<Session>,
            _: Arc<Mutex<Seen>>,
            _: Box<dyn Fn() + Send + Sync>,
        ) -> Result<Watcher, GuardError> {
            Err(GuardError::NotBuilt)
        }
        pub(crate) fn sync(&self) -> Result<(), GuardError> {
            Ok(())
        }
        pub(crate) fn set_window(&self, _: u32) {}
        pub(crate) fn check_drawing(&self) {}
    }
}

/// What the guard has seen so far.
#[derive(Debug, Clone)]
pub struct Seen {
    /// Why the prompt is vetoed for good, if it is: synthetic input, an unnamed device, a
    /// device hierarchy change, a foreign cursor.
    pub veto: Option<String>,
    /// When a real device last moved the pointer.
    pub last_real_motion: Option<Instant>,
    /// When a real device last pressed the primary button.
    pub last_real_press: Option<Instant>,
    /// The keys (X keycodes) real keyboards pressed while the prompt had the keyboard
    /// focus, the last `KEYS_KEPT` of them; `real_keys_before` counts those let go before.
    pub real_keys: Vec<u32>,
    /// How many real key presses were dropped from the front of `real_keys`.
    pub real_keys_before: u64,
    /// Whether the pointer's last move came from a real device (not a warp by a program).
    // Read by the X11 guard only.
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    last_motion_real: bool,
    /// Whether, at the last real press, the pointer had last been moved by a program.
    press_after_warp: bool,
    /// What covers the prompt now (or why it is not fully shown), if anything.
    pub covered: Option<String>,
    /// When the prompt was last seen going from covered (or not yet shown) to clear.
    clear_since: Option<Instant>,
    /// The prompt was uncovered and the helper has not drawn it again since: what it shows
    /// cannot be read back and compared yet, so a click does not count (X11).
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    redrawing: bool,
}

impl Default for Seen {
    fn default() -> Self {
        Seen {
            veto: None,
            last_real_motion: None,
            last_real_press: None,
            real_keys: Vec::new(),
            real_keys_before: 0,
            last_motion_real: true,
            press_after_warp: false,
            // Not shown yet: the prompt counts as clear only from the moment it is.
            covered: Some("the window is not shown yet".into()),
            clear_since: None,
            redrawing: false,
        }
    }
}

/// How many of the real key presses made into the prompt the guard keeps.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
pub(crate) const KEYS_KEPT: usize = 4096;

impl Seen {
    /// The real keys pressed into the prompt from the `n`-th on (counted from the guard's
    /// start); `None` when some of those are no longer kept.
    pub(crate) fn real_keys_from(&self, n: u64) -> Option<&[u32]> {
        let skip = usize::try_from(n.checked_sub(self.real_keys_before)?).ok()?;
        self.real_keys.get(skip..)
    }

    /// How many real keys were pressed into the prompt since the guard started.
    pub(crate) fn real_keys_total(&self) -> u64 {
        self.real_keys_before + self.real_keys.len() as u64
    }
}

/// Whether every key in `given` (in order) was pressed by a real keyboard into the prompt
/// (`real`, in order): `given` must be a subsequence of `real`. Extra real presses are
/// allowed (a window manager's shortcut takes some); a key no keyboard pressed, or pressed
/// while another window had the focus, is not. `None` in `given`: a key with no keycode.
pub(crate) fn keys_are_real(given: &[Option<u32>], real: &[u32]) -> bool {
    let mut real = real.iter();
    given
        .iter()
        .all(|g| g.is_some_and(|code| real.any(|r| *r == code)))
}

/// A running input-origin guard.
pub struct Guard {
    seen: Arc<Mutex<Seen>>,
    inner: x11::Watcher,
}

/// Why an Approve click is not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Objection {
    /// The prompt is vetoed for good, for this reason.
    Vetoed(String),
    /// Something covered the prompt now or within the arming delay before the press.
    Covered(String),
    /// The pointer did not reach Approve through real-device motion after arming, or no
    /// real device pressed the button.
    NoRealMotion,
}

/// The click being judged.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Click {
    /// When Approve armed.
    pub(crate) armed_at: Instant,
    /// How long the prompt must have been clear before the press.
    pub(crate) arm_delay: Duration,
}

impl Guard {
    /// Starts watching the X server of `session`. `wake` is called from the watcher thread
    /// when something changes, so the window can redraw.
    pub fn start_x11(
        session: Arc<X11Session>,
        wake: impl Fn() + Send + Sync + 'static,
    ) -> Result<Guard, GuardError> {
        let seen = Arc::new(Mutex::new(Seen::default()));
        let inner = x11::Watcher::start(session, seen.clone(), Box::new(wake))?;
        Ok(Guard { seen, inner })
    }

    /// Tells the guard which window is the prompt, once it exists.
    pub(crate) fn set_window(&self, window: u32) {
        self.inner.set_window(window);
    }

    /// The current state, without waiting.
    pub fn seen(&self) -> Seen {
        self.seen
            .lock()
            .map(|s| s.clone())
            .unwrap_or_else(|_| Seen {
                veto: Some("the input guard failed".into()),
                ..Seen::default()
            })
    }

    /// Reads the prompt back: another program's drawing in it vetoes it (X11).
    pub(crate) fn check_drawing(&self) {
        self.inner.check_drawing();
    }

    /// The state after a round trip to the server: every event generated before this call
    /// has been handled.
    pub(crate) fn sync_seen(&self) -> Result<Seen, GuardError> {
        self.inner.sync()?;
        Ok(self.seen())
    }

    /// Judges an Approve click. First makes a round trip to the server, so every event
    /// generated before the click has been handled, and checks the cursor on screen now.
    pub(crate) fn judge(&self, click: &Click) -> Result<(), Objection> {
        if let Err(e) = self.inner.sync() {
            return Err(Objection::Vetoed(format!(
                "the input guard lost the X server ({e})"
            )));
        }
        judge(&self.seen(), click)
    }
}

/// The rule, separated for unit tests.
fn judge(seen: &Seen, click: &Click) -> Result<(), Objection> {
    if let Some(why) = &seen.veto {
        return Err(Objection::Vetoed(why.clone()));
    }
    if let Some(what) = &seen.covered {
        return Err(Objection::Covered(what.clone()));
    }
    if seen.redrawing {
        return Err(Objection::Covered(
            "the window was still being drawn again after something covered it".into(),
        ));
    }
    let Some(press) = seen.last_real_press.filter(|t| *t >= click.armed_at) else {
        return Err(Objection::NoRealMotion);
    };
    match seen.clear_since {
        Some(clear) if clear + click.arm_delay <= press => {}
        _ => {
            return Err(Objection::Covered(format!(
                "another window covered this one less than {:.1} s before the click",
                click.arm_delay.as_secs_f64()
            )));
        }
    }
    if seen
        .last_real_motion
        .filter(|t| *t >= click.armed_at)
        .is_none()
        || seen.press_after_warp
    {
        return Err(Objection::NoRealMotion);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules() {
        let t0 = Instant::now();
        let at = |ms| t0 + Duration::from_millis(ms);
        let seen = |real: Option<u64>, press: Option<u64>, veto: Option<&str>| Seen {
            veto: veto.map(str::to_string),
            last_real_motion: real.map(at),
            last_real_press: press.map(at),
            covered: None,
            clear_since: Some(at(0)),
            ..Seen::default()
        };
        let click = |armed: u64, _ui: Option<u64>| Click {
            armed_at: at(armed),
            arm_delay: Duration::from_millis(1000),
        };
        // Real motion and a real press after arming, window saw the move at the same time.
        assert_eq!(
            judge(
                &seen(Some(1500), Some(1600), None),
                &click(1000, Some(1510))
            ),
            Ok(())
        );
        // No real motion since arming (pointer was already there, or warped).
        assert_eq!(
            judge(&seen(Some(500), Some(1600), None), &click(1000, Some(600))),
            Err(Objection::NoRealMotion)
        );
        assert_eq!(
            judge(&seen(None, Some(1600), None), &click(1000, None)),
            Err(Objection::NoRealMotion)
        );
        // Real motion, then a warp by a program before the press (red-team finding 6: a
        // worm warping right after every real movement).
        let warped = Seen {
            press_after_warp: true,
            ..seen(Some(1500), Some(1600), None)
        };
        assert_eq!(
            judge(&warped, &click(1000, None)),
            Err(Objection::NoRealMotion)
        );
        // No press from a real device after arming.
        assert_eq!(
            judge(&seen(Some(1500), Some(900), None), &click(1000, Some(1510))),
            Err(Objection::NoRealMotion)
        );
        assert_eq!(
            judge(&seen(Some(1500), None, None), &click(1000, Some(1510))),
            Err(Objection::NoRealMotion)
        );
        // Any veto wins.
        assert_eq!(
            judge(
                &seen(Some(1500), Some(1600), Some("synthetic input")),
                &click(1000, Some(1500))
            ),
            Err(Objection::Vetoed("synthetic input".into()))
        );
    }

    #[test]
    fn keys_count_only_when_a_keyboard_pressed_them_into_the_prompt_in_order() {
        let k = |v: &[u32]| v.iter().map(|c| Some(*c)).collect::<Vec<_>>();
        assert!(keys_are_real(&k(&[38, 39]), &[38, 39]));
        // A shortcut the window manager took in between.
        assert!(keys_are_real(&k(&[38, 39]), &[38, 64, 39]));
        // A key sent by a program: more given than pressed, or another key, or out of order.
        assert!(!keys_are_real(&k(&[38, 39, 40]), &[38, 39]));
        assert!(!keys_are_real(&k(&[38, 41]), &[38, 39]));
        assert!(!keys_are_real(&k(&[39, 38]), &[38, 39]));
        assert!(!keys_are_real(&[None], &[38]));
        assert!(keys_are_real(&[], &[]));
        let seen = Seen {
            real_keys: vec![1, 2, 3],
            real_keys_before: 10,
            ..Seen::default()
        };
        assert_eq!(seen.real_keys_from(11), Some(&[2, 3][..]));
        assert_eq!(seen.real_keys_from(13), Some(&[][..]));
        assert_eq!(seen.real_keys_from(9), None);
        assert_eq!(seen.real_keys_total(), 13);
    }

    #[test]
    fn the_prompt_must_be_clear_for_the_whole_delay_before_the_press() {
        let t0 = Instant::now();
        let at = |ms| t0 + Duration::from_millis(ms);
        let click = Click {
            armed_at: at(1000),
            arm_delay: Duration::from_millis(1000),
        };
        let seen = |covered: Option<&str>, clear: Option<u64>| Seen {
            veto: None,
            last_real_motion: Some(at(2400)),
            last_real_press: Some(at(2500)),
            covered: covered.map(str::to_string),
            clear_since: clear.map(at),
            ..Seen::default()
        };
        assert_eq!(judge(&seen(None, Some(1400)), &click), Ok(()));
        // Covered now.
        assert!(matches!(
            judge(&seen(Some("window 0x400001"), Some(1400)), &click),
            Err(Objection::Covered(_))
        ));
        // A decoy that went away 100 ms before the press.
        assert!(matches!(
            judge(&seen(None, Some(2400)), &click),
            Err(Objection::Covered(_))
        ));
        // Never seen clear.
        assert!(matches!(
            judge(&seen(None, None), &click),
            Err(Objection::Covered(_))
        ));
        // A fresh guard counts the window as not shown yet.
        assert!(Seen::default().covered.is_some());
        // Clear long enough, but not drawn again since: nothing to compare yet.
        let redrawing = Seen {
            redrawing: true,
            ..seen(None, Some(1400))
        };
        assert!(matches!(
            judge(&redrawing, &click),
            Err(Objection::Covered(_))
        ));
    }
}
