//! The X11 watcher: XI2 raw events on the root window through a second x11rb connection.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::Seen;
use crate::display::x11::Session;
use x11rb::connection::{Connection, RequestConnection};
use x11rb::protocol::Event;
use x11rb::protocol::xinput::{ConnectionExt as _, Device, EventMask, XIEventMask};
use x11rb::protocol::xproto::ConnectionExt as _;

type Wake = Box<dyn Fn() + Send + Sync>;

pub(super) struct Watcher {
    shared: Arc<Shared>,
}

struct Shared {
    session: Arc<Session>,
    devices: Mutex<HashMap<u16, String>>,
    seen: Arc<Mutex<Seen>>,
    wake: Wake,
}

fn device_id(d: Device) -> u16 {
    u16::from(bool::from(d))
}

impl Watcher {
    pub(super) fn start(
        session: Arc<Session>,
        seen: Arc<Mutex<Seen>>,
        wake: Wake,
    ) -> Result<Watcher, String> {
        let conn = &session.conn;
        let root = session.root;
        // XI2 events travel as generic events: without this extension the server accepts
        // the selection below but never delivers a single raw event.
        if conn
            .extension_information("Generic Event Extension")
            .ok()
            .flatten()
            .is_none()
        {
            return Err(
                "the X server lacks the Generic Event Extension, so XInput 2 events cannot arrive"
                    .into(),
            );
        }
        let v = conn
            .xinput_xi_query_version(2, 2)
            .map_err(|e| e.to_string())?
            .reply()
            .map_err(|e| format!("the X server has no XInput 2 ({e})"))?;
        if (v.major_version, v.minor_version) < (2, 2) {
            return Err(format!(
                "the X server has XInput {}.{}, 2.2 is needed",
                v.major_version, v.minor_version
            ));
        }
        let raw = XIEventMask::RAW_BUTTON_PRESS
            | XIEventMask::RAW_BUTTON_RELEASE
            | XIEventMask::RAW_KEY_PRESS
            | XIEventMask::RAW_KEY_RELEASE
            | XIEventMask::RAW_MOTION;
        // Raw events for the master devices carry the slave `sourceid`; hierarchy changes
        // must be selected separately, on all devices.
        let masks = [
            EventMask {
                deviceid: device_id(Device::ALL_MASTER),
                mask: vec![raw],
            },
            EventMask {
                deviceid: device_id(Device::ALL),
                mask: vec![XIEventMask::HIERARCHY],
            },
        ];
        conn.xinput_xi_select_events(root, &masks)
            .map_err(|e| e.to_string())?
            .check()
            .map_err(|e| format!("cannot watch raw input ({e})"))?;
        let shared = Arc::new(Shared {
            session,
            devices: Mutex::new(HashMap::new()),
            seen,
            wake,
        });
        shared.refresh_devices()?;
        let thread_shared = shared.clone();
        std::thread::spawn(move || {
            while let Ok(ev) = thread_shared.session.conn.wait_for_event() {
                thread_shared.handle(ev);
            }
            // The connection died: from now on nothing can be judged; sync() reports it.
        });
        Ok(Watcher { shared })
    }

    /// One round trip, then handle whatever arrived before it.
    pub(super) fn sync(&self) -> Result<(), String> {
        let s = &self.shared;
        let conn = &s.session.conn;
        conn.get_input_focus()
            .map_err(|e| e.to_string())?
            .reply()
            .map_err(|e| e.to_string())?;
        while let Some(ev) = conn.poll_for_event().map_err(|e| e.to_string())? {
            s.handle(ev);
        }
        Ok(())
    }
}

impl Shared {
    fn refresh_devices(&self) -> Result<(), String> {
        let reply = self
            .session
            .conn
            .xinput_xi_query_device(device_id(Device::ALL))
            .map_err(|e| e.to_string())?
            .reply()
            .map_err(|e| e.to_string())?;
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

    fn name_of(&self, id: u16) -> String {
        let known = self.devices.lock().ok().and_then(|m| m.get(&id).cloned());
        match known {
            Some(n) => n,
            None => {
                let _ = self.refresh_devices();
                self.devices
                    .lock()
                    .ok()
                    .and_then(|m| m.get(&id).cloned())
                    .unwrap_or_else(|| format!("unknown device {id}"))
            }
        }
    }

    fn handle(&self, ev: Event) {
        let (source, motion) = match ev {
            Event::XinputRawButtonPress(e) | Event::XinputRawButtonRelease(e) => {
                (e.sourceid, false)
            }
            Event::XinputRawMotion(e) => (e.sourceid, true),
            Event::XinputRawKeyPress(e) | Event::XinputRawKeyRelease(e) => (e.sourceid, false),
            Event::XinputHierarchy(_) => {
                let _ = self.refresh_devices();
                return;
            }
            _ => return,
        };
        let name = self.name_of(source);
        // XTEST slave devices are how every X server exposes synthetic input.
        let synthetic = name.contains("XTEST");
        if let Ok(mut seen) = self.seen.lock() {
            if synthetic {
                seen.synthetic.get_or_insert(name);
            } else if motion {
                seen.last_real_motion = Some(Instant::now());
            }
        }
        if synthetic {
            (self.wake)();
        }
    }
}
