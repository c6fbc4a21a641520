//! Where did the input come from? On X11 a second connection watches XI2 raw events on the
//! root window: each carries `sourceid`, the slave device that produced it. Input from an
//! XTEST device (`xdotool`, any synthetic-input tool) vetoes the prompt, and Approve also
//! requires that the pointer's last movement came from a real device (not a warp).
//!
//! Wayland has no cross-client input injection, so there is no guard there (see
//! SECURITY.md for the wlroots virtual-pointer caveat).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[cfg(target_os = "linux")]
mod x11;
#[cfg(target_os = "linux")]
use crate::display::x11::Session as X11Session;
#[cfg(not(target_os = "linux"))]
use x11::Session as X11Session;

/// Other platforms have no X server to watch: [`Guard::start_x11`] always fails there.
#[cfg(not(target_os = "linux"))]
mod x11 {
    use super::*;
    pub struct Watcher;
    pub struct Session;
    impl Watcher {
        pub fn start(
            _: Arc<Session>,
            _: Arc<Mutex<Seen>>,
            _: Box<dyn Fn() + Send + Sync>,
        ) -> Result<Watcher, String> {
            Err("X11 input watching is only built on Linux".into())
        }
        pub fn sync(&self) -> Result<(), String> {
            Ok(())
        }
    }
}

/// How close the last pointer move seen by the window must follow the last real-device
/// motion. A warp moves the pointer with no raw motion behind it.
pub const WARP_TOLERANCE: Duration = Duration::from_millis(250);

/// What the guard has seen so far.
#[derive(Debug, Default, Clone)]
pub struct Seen {
    /// The first synthetic device that produced input while the prompt was up.
    pub synthetic: Option<String>,
    /// When a real device last moved the pointer.
    pub last_real_motion: Option<Instant>,
}

/// A running input-origin guard.
pub struct Guard {
    seen: Arc<Mutex<Seen>>,
    inner: x11::Watcher,
}

/// Why an Approve click is not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Objection {
    /// Synthetic input was seen: the prompt is vetoed for good.
    Synthetic(String),
    /// The pointer did not reach Approve through real-device motion after arming.
    NoRealMotion,
}

impl Guard {
    /// Starts watching the X server of `session`. `wake` is called from the watcher thread
    /// when something changes, so the window can redraw.
    pub fn start_x11(
        session: Arc<X11Session>,
        wake: impl Fn() + Send + Sync + 'static,
    ) -> Result<Guard, String> {
        let seen = Arc::new(Mutex::new(Seen::default()));
        let inner = x11::Watcher::start(session, seen.clone(), Box::new(wake))?;
        Ok(Guard { seen, inner })
    }

    /// The current state, without waiting.
    pub fn seen(&self) -> Seen {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Judges an Approve click. First makes one round trip to the server, so every raw
    /// event generated before the click has been processed.
    ///
    /// `armed_at`: when Approve armed. `last_pointer_move`: when the window last saw the
    /// pointer move.
    pub fn judge(
        &self,
        armed_at: Instant,
        last_pointer_move: Option<Instant>,
    ) -> Result<(), Objection> {
        if let Err(e) = self.inner.sync() {
            return Err(Objection::Synthetic(format!(
                "the input guard lost the X server ({e})"
            )));
        }
        judge(&self.seen(), armed_at, last_pointer_move)
    }
}

/// The rule, separated for unit tests.
pub fn judge(
    seen: &Seen,
    armed_at: Instant,
    last_pointer_move: Option<Instant>,
) -> Result<(), Objection> {
    if let Some(dev) = &seen.synthetic {
        return Err(Objection::Synthetic(dev.clone()));
    }
    let Some(real) = seen.last_real_motion.filter(|t| *t >= armed_at) else {
        return Err(Objection::NoRealMotion);
    };
    match last_pointer_move {
        Some(ui) if ui > real + WARP_TOLERANCE => Err(Objection::NoRealMotion),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules() {
        let t0 = Instant::now();
        let at = |ms| t0 + Duration::from_millis(ms);
        let seen = |real: Option<u64>, syn: Option<&str>| Seen {
            synthetic: syn.map(str::to_string),
            last_real_motion: real.map(at),
        };
        // Real motion after arming, window saw the move at the same time: accepted.
        assert_eq!(
            judge(&seen(Some(1500), None), at(1000), Some(at(1510))),
            Ok(())
        );
        // No real motion since arming (pointer was already there, or warped).
        assert_eq!(
            judge(&seen(Some(500), None), at(1000), Some(at(600))),
            Err(Objection::NoRealMotion)
        );
        assert_eq!(
            judge(&seen(None, None), at(1000), None),
            Err(Objection::NoRealMotion)
        );
        // Real motion, then a warp much later.
        assert_eq!(
            judge(&seen(Some(1500), None), at(1000), Some(at(3000))),
            Err(Objection::NoRealMotion)
        );
        // Any synthetic input wins.
        assert_eq!(
            judge(
                &seen(Some(1500), Some("Virtual core XTEST pointer")),
                at(1000),
                Some(at(1500))
            ),
            Err(Objection::Synthetic("Virtual core XTEST pointer".into()))
        );
    }
}
