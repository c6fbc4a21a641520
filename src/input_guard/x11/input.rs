//! Where input comes from: the devices, raw events and their sources, the pointer's
//! crossings and motion, and the cursor on screen.

use super::*;

impl Shared {
    pub(super) fn refresh_devices(&self) -> Result<(), GuardError> {
        let reply = self
            .session
            .conn
            .xinput_xi_query_device(device_id(Device::ALL))
            .map_err(err)?
            .reply()
            .map_err(err)?;
        let map = reply
            .infos
            .iter()
            .map(|d| (d.deviceid, String::from_utf8_lossy(&d.name).into_owned()))
            .collect();
        if let Ok(mut m) = self.devices.lock() {
            *m = map;
        }
        Ok(())
    }

    /// The device's name; `None` when the server no longer (or never) knew it.
    pub(super) fn name_of(&self, id: u16) -> Option<String> {
        let known = self.devices.lock().ok().and_then(|m| m.get(&id).cloned());
        known.or_else(|| {
            let _ = self.refresh_devices();
            self.devices.lock().ok().and_then(|m| m.get(&id).cloned())
        })
    }

    /// The cursor on screen, where the pointer is over the prompt, must be the prompt's
    /// own arrow. `judging`: a click is being judged, so the pointer is over the prompt.
    pub(super) fn check_cursor(&self, judging: bool) {
        let Some(prompt) = self.prompt.lock().ok().and_then(|p| *p) else {
            return;
        };
        let Some(image) = self
            .session
            .conn
            .xfixes_get_cursor_image()
            .ok()
            .and_then(|c| c.reply().ok())
        else {
            self.veto("the cursor on screen could not be read".into());
            return;
        };
        if arrow::is_ours(
            image.width,
            image.height,
            image.xhot,
            image.yhot,
            &image.cursor_image,
        ) {
            return;
        }
        let over_prompt = self
            .stack
            .lock()
            .ok()
            .and_then(|s| s.rect(prompt.top))
            .is_some_and(|(x, y, w, h)| {
                let (px, py) = (i32::from(image.x), i32::from(image.y));
                px >= x && py >= y && px < x + w && py < y + h
            });
        if judging || over_prompt {
            self.veto(format!(
                "the cursor over this window is not its own ({}x{}, hotspot {},{}): another \
                 program set a cursor whose picture may lie about where the pointer is",
                image.width, image.height, image.xhot, image.yhot
            ));
        }
    }

    /// XI2 motion: whether the last pointer motion came from a real device. A warp moves the
    /// pointer with no device behind it: the event's source is the master itself.
    pub(super) fn pointer_motion(&self, source: u16, device: u16) {
        let real = source != device && self.name_of(source).is_some_and(|n| !n.contains("XTEST"));
        if let Ok(mut seen) = self.seen.lock() {
            seen.last_motion_real = real;
        }
    }

    /// The pointer entered or left the prompt. An active grab by another client (one that
    /// starts or ends while the pointer is over the prompt) takes every pointer event for
    /// itself: it can warp the pointer or show a cursor of its own unseen. Window managers'
    /// passive grabs (click to focus) are not vetoed.
    pub(super) fn crossing(&self, mode: NotifyMode) {
        if mode == NotifyMode::GRAB || mode == NotifyMode::UNGRAB {
            self.veto(
                "another program grabbed the pointer while this window was open (it can move \
                 the pointer or show a cursor of its own unseen)"
                    .into(),
            );
        }
    }

    pub(super) fn is_prompt(&self, window: u32) -> bool {
        self.prompt
            .lock()
            .ok()
            .and_then(|p| *p)
            .is_some_and(|p| p.client == window || p.top == window)
    }

    /// A device was added, removed, attached or detached: always a veto.
    pub(super) fn devices_changed(&self) {
        let _ = self.refresh_devices();
        self.veto(
            "the input devices changed while this window was open (a pointer or \
             keyboard was added, removed, attached or detached)"
                .into(),
        );
    }

    pub(super) fn raw_input(&self, source: u16, raw: Raw) {
        let (primary_press, motion) = (raw == Raw::Button(true), raw == Raw::Motion);
        let Some(name) = self.name_of(source) else {
            self.veto(format!(
                "input came from a device the X server no longer knows (id {source}), so it \
                 counts as synthetic"
            ));
            return;
        };
        // XTEST slave devices are how every X server exposes synthetic input.
        if name.contains("XTEST") {
            self.veto(format!(
                "synthetic input from \"{name}\" was seen while this window was open"
            ));
            return;
        }
        if let Ok(mut seen) = self.seen.lock() {
            let now = Instant::now();
            if motion {
                seen.last_real_motion = Some(now);
            }
            if primary_press {
                seen.last_real_press = Some(now);
                seen.press_after_warp = !seen.last_motion_real;
            }
            if let Raw::KeyPress(code) = raw
                && self.focused.load(std::sync::atomic::Ordering::SeqCst)
            {
                seen.real_keys.push(code);
                if seen.real_keys.len() > crate::input_guard::KEYS_KEPT {
                    seen.real_keys.remove(0);
                    seen.real_keys_before += 1;
                }
            }
        }
        // The cursor at the press, not only at the release: a program's pointer grab can
        // show its own cursor until the press, then give the pointer back with ours.
        if primary_press {
            self.check_cursor(false);
        }
    }
}
