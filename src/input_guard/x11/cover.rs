//! What covers the prompt: the root's stacking order, the windows inside the prompt and
//! inside the compositing overlay, and the prompt's own place on screen.

use super::*;

impl Shared {
    pub(super) fn load_stack(&self) -> Result<(), GuardError> {
        let stack = self.load_children(self.session.root)?;
        if let Ok(mut s) = self.stack.lock() {
            *s = stack;
        }
        Ok(())
    }

    /// The children of `parent`, bottom to top, with their geometry and state.
    pub(super) fn load_children(&self, parent: u32) -> Result<Stack, GuardError> {
        let conn = &self.session.conn;
        let tree = conn.query_tree(parent).map_err(err)?.reply().map_err(err)?;
        let cookies: Vec<_> = tree
            .children
            .iter()
            .map(|w| {
                (
                    *w,
                    conn.get_window_attributes(*w).ok(),
                    conn.get_geometry(*w).ok(),
                )
            })
            .collect();
        let mut stack = Stack::default();
        for (w, attrs, geometry) in cookies {
            // A window gone in the meantime is simply skipped.
            let (Some(Ok(a)), Some(Ok(g))) =
                (attrs.map(|c| c.reply()), geometry.map(|c| c.reply()))
            else {
                continue;
            };
            let b = i32::from(g.border_width) * 2;
            stack.add(
                w,
                Win {
                    rect: (
                        i32::from(g.x),
                        i32::from(g.y),
                        i32::from(g.width) + b,
                        i32::from(g.height) + b,
                    ),
                    mapped: a.map_state != MapState::UNMAPPED,
                    input_only: a.class == WindowClass::INPUT_ONLY,
                },
            );
        }
        Ok(stack)
    }

    /// Finds the prompt's ancestor that is a child of the root.
    pub(super) fn find_top(&self) {
        let Some(mut p) = self.prompt.lock().ok().and_then(|p| *p) else {
            return;
        };
        let conn = &self.session.conn;
        let mut w = p.client;
        for _ in 0..16 {
            let Some(tree) = conn.query_tree(w).ok().and_then(|c| c.reply().ok()) else {
                break;
            };
            if tree.parent == self.session.root || tree.parent == x11rb::NONE {
                break;
            }
            // A window manager's frame: what happens inside it matters too.
            let _ = conn.change_window_attributes(
                tree.parent,
                &ChangeWindowAttributesAux::new().event_mask(XEventMask::SUBSTRUCTURE_NOTIFY),
            );
            w = tree.parent;
        }
        p.top = w;
        if let Ok(mut slot) = self.prompt.lock() {
            *slot = Some(p);
        }
    }

    pub(super) fn is_transparent(&self, window: u32) -> bool {
        self.session
            .conn
            .get_property(false, window, self.opacity_atom, AtomEnum::CARDINAL, 0, 1)
            .ok()
            .and_then(|c| c.reply().ok())
            .and_then(|r| r.value32().and_then(|mut v| v.next()))
            .is_some_and(|opacity| opacity != u32::MAX)
    }

    /// Recomputes what covers the prompt and records when it became clear.
    pub(super) fn update_cover(&self) {
        let Some(prompt) = self.prompt.lock().ok().and_then(|p| *p) else {
            return;
        };
        let mut covered = self
            .stack
            .lock()
            .map(|s| s.covering(prompt.top, self.screen))
            .unwrap_or_else(|_| Some("the input guard failed".into()));
        if covered.is_none() {
            covered = self.overlay_cover(prompt);
        }
        if covered.is_none()
            && (self.is_transparent(prompt.client) || self.is_transparent(prompt.top))
        {
            covered = Some("another program made the window see-through".into());
        }
        if covered.is_none() {
            covered = self.inner_cover(prompt);
        }
        let now = Instant::now();
        let changed = if let Ok(mut seen) = self.seen.lock() {
            let was = seen.covered.is_some();
            if was && covered.is_none() {
                seen.clear_since = Some(now);
            }
            let changed = seen.covered != covered;
            seen.covered = covered.clone();
            changed
        } else {
            false
        };
        if covered.is_some_and(|c| c.contains("covers")) {
            self.raise(prompt.top);
        }
        if changed {
            (self.wake)();
        }
    }

    /// A window of another program's inside the compositing overlay, at any depth (a child
    /// of the compositing manager's own stage window included), viewable and overlapping the
    /// prompt: the overlay is above every window on the root, so whatever is drawn there is
    /// what the person sees. Looked at afresh each time, and every window found is watched.
    pub(super) fn overlay_cover(&self, prompt: Prompt) -> Option<String> {
        let o = self.overlay?;
        let me = self.stack.lock().ok()?.rect(prompt.top)?;
        let conn = &self.session.conn;
        let watch = ChangeWindowAttributesAux::new()
            .event_mask(XEventMask::SUBSTRUCTURE_NOTIFY | XEventMask::STRUCTURE_NOTIFY);
        let mut seen = std::collections::HashSet::new();
        let mut found = None;
        // (window, its origin on the screen, depth)
        let mut todo = vec![(o.window, (0i32, 0i32), 0usize)];
        while let Some((parent, (ox, oy), depth)) = todo.pop() {
            if seen.len() > 1024 || depth > 32 {
                found = Some(
                    "the compositing manager's overlay holds more windows than the guard can check"
                        .to_string(),
                );
                break;
            }
            let Some(tree) = conn.query_tree(parent).ok().and_then(|c| c.reply().ok()) else {
                continue;
            };
            for w in tree.children {
                let _ = conn.change_window_attributes(w, &watch);
                seen.insert(w);
                let (Some(a), Some(g)) = (
                    conn.get_window_attributes(w)
                        .ok()
                        .and_then(|c| c.reply().ok()),
                    conn.get_geometry(w).ok().and_then(|c| c.reply().ok()),
                ) else {
                    continue;
                };
                let b = i32::from(g.border_width);
                let (x, y) = (ox + i32::from(g.x), oy + i32::from(g.y));
                let rect = (
                    x,
                    y,
                    i32::from(g.width) + 2 * b,
                    i32::from(g.height) + 2 * b,
                );
                if found.is_none()
                    && a.map_state == MapState::VIEWABLE
                    && o.foreign(w)
                    && crate::input_guard::stack::overlap(rect, me)
                {
                    found = Some(format!(
                        "a window of another program (0x{w:x}) in the compositing manager's \
                         overlay is drawn over part of it"
                    ));
                }
                todo.push((w, (x + b, y + b), depth + 1));
            }
        }
        let _ = conn.flush();
        if let Ok(mut t) = self.overlay_tree.lock() {
            *t = seen;
        }
        found
    }

    /// What covers the prompt from inside its own window tree: a window another program
    /// created inside the prompt (which draws over it), a sibling stacked over it inside a
    /// window manager's frame, or a frame that cuts part of it off.
    pub(super) fn inner_cover(&self, prompt: Prompt) -> Option<String> {
        let conn = &self.session.conn;
        let visible = |w: u32| {
            conn.get_window_attributes(w)
                .ok()
                .and_then(|c| c.reply().ok())
                .is_some_and(|a| {
                    a.map_state != MapState::UNMAPPED && a.class != WindowClass::INPUT_ONLY
                })
        };
        let rect = |w: u32| {
            conn.get_geometry(w)
                .ok()
                .and_then(|c| c.reply().ok())
                .map(|g| {
                    let b = i32::from(g.border_width) * 2;
                    (
                        i32::from(g.x),
                        i32::from(g.y),
                        i32::from(g.width) + b,
                        i32::from(g.height) + b,
                    )
                })
        };
        let overlap = |a: (i32, i32, i32, i32), b: (i32, i32, i32, i32)| {
            a.0 < b.0 + b.2 && b.0 < a.0 + a.2 && a.1 < b.1 + b.3 && b.1 < a.1 + a.3
        };
        let Some(tree) = conn
            .query_tree(prompt.client)
            .ok()
            .and_then(|c| c.reply().ok())
        else {
            return Some("the window cannot be examined".into());
        };
        if let Some(child) = tree.children.iter().find(|c| visible(**c)) {
            return Some(format!(
                "another program put a window (0x{child:x}) inside this one"
            ));
        }
        let mut w = prompt.client;
        for _ in 0..16 {
            if w == prompt.top {
                return None;
            }
            let Some(tree) = conn.query_tree(w).ok().and_then(|c| c.reply().ok()) else {
                return Some("the window cannot be examined".into());
            };
            let parent = tree.parent;
            let (Some(mine), Some(outer)) = (rect(w), rect(parent)) else {
                return Some("the window cannot be examined".into());
            };
            if mine.0 < 0 || mine.1 < 0 || mine.0 + mine.2 > outer.2 || mine.1 + mine.3 > outer.3 {
                return Some("a window around this one cuts part of it off".into());
            }
            let Some(siblings) = conn.query_tree(parent).ok().and_then(|c| c.reply().ok()) else {
                return Some("the window cannot be examined".into());
            };
            let above = siblings
                .children
                .iter()
                .skip_while(|s| **s != w)
                .skip(1)
                .find(|s| visible(**s) && rect(**s).is_some_and(|r| overlap(r, mine)));
            if let Some(s) = above {
                return Some(format!(
                    "another window (0x{s:x}) inside the frame covers part of it"
                ));
            }
            w = parent;
        }
        Some("the window is nested too deep to examine".into())
    }

    /// The prompt keeps itself on top while it is up (at most ten times a second, so a
    /// decoy that keeps raising itself does not start a storm).
    pub(super) fn raise(&self, top: u32) {
        let now = Instant::now();
        if let Ok(mut last) = self.last_raise.lock() {
            if last.is_some_and(|t| now - t < Duration::from_millis(100)) {
                return;
            }
            *last = Some(now);
        }
        let _ = self
            .session
            .conn
            .configure_window(top, &ConfigureWindowAux::new().stack_mode(StackMode::ABOVE));
        let _ = self.session.conn.flush();
    }

    /// A new child of the root: added to the stack, unmapped.
    pub(super) fn root_child_created(&self, e: CreateNotifyEvent) {
        let b = i32::from(e.border_width) * 2;
        let input_only = self
            .session
            .conn
            .get_window_attributes(e.window)
            .ok()
            .and_then(|c| c.reply().ok())
            .is_some_and(|a| a.class == WindowClass::INPUT_ONLY);
        self.restack(|s| {
            s.add(
                e.window,
                Win {
                    rect: (
                        i32::from(e.x),
                        i32::from(e.y),
                        i32::from(e.width) + b,
                        i32::from(e.height) + b,
                    ),
                    mapped: false,
                    input_only,
                },
            )
        });
    }

    /// A child of the root moved, resized or restacked; the prompt's own top-level moving
    /// restarts the arming delay.
    pub(super) fn root_child_configured(&self, e: ConfigureNotifyEvent) {
        let b = i32::from(e.border_width) * 2;
        let above = (e.above_sibling != x11rb::NONE).then_some(e.above_sibling);
        let rect = (
            i32::from(e.x),
            i32::from(e.y),
            i32::from(e.width) + b,
            i32::from(e.height) + b,
        );
        let moved = self.prompt_moves(e.window, rect);
        self.restack(|s| s.configure(e.window, rect, above));
        if moved {
            self.moved();
        }
    }

    /// A child of the root moved with its parent's resize; the prompt's own top-level moving
    /// restarts the arming delay.
    pub(super) fn root_child_gravity(&self, e: GravityNotifyEvent) {
        let moved = self
            .stack
            .lock()
            .ok()
            .and_then(|s| s.rect(e.window))
            .is_some_and(|(_, _, w, h)| {
                self.prompt_moves(e.window, (i32::from(e.x), i32::from(e.y), w, h))
            });
        self.restack(|s| s.moved(e.window, i32::from(e.x), i32::from(e.y)));
        if moved {
            self.moved();
        }
    }

    /// A window changed parents: the root's stack follows, and the prompt's top-level and
    /// what covers it are found again whoever was reparented.
    pub(super) fn reparented(&self, e: ReparentNotifyEvent) {
        let root = self.session.root;
        if e.event == root {
            if e.parent == root {
                // Reparented into the root: geometry and state from the server.
                let _ = self.load_stack();
            } else {
                self.restack(|s| s.remove(e.window));
            }
        }
        // The prompt moved into a window manager's frame (or out of one).
        self.find_top();
        self.update_cover();
    }

    /// Whether `window` is the prompt's top-level and `rect` is not where it was.
    pub(super) fn prompt_moves(&self, window: u32, rect: (i32, i32, i32, i32)) -> bool {
        let top = self.prompt.lock().ok().and_then(|p| *p).map(|p| p.top);
        top == Some(window)
            && self
                .stack
                .lock()
                .ok()
                .and_then(|s| s.rect(window))
                .is_some_and(|old| old != rect)
    }

    /// Red team of "Only the person's own screen": an armed prompt moved (or resized) so
    /// that Approve lands under the pointer of a person clicking something else. A moved
    /// prompt is treated like an uncovered one: clear only from now, so the whole arming
    /// delay must pass again before a press counts.
    pub(super) fn moved(&self) {
        if let Ok(mut seen) = self.seen.lock()
            && seen.covered.is_none()
        {
            seen.clear_since = Some(Instant::now());
        }
        (self.wake)();
    }

    /// Whether `ev` is about the compositing overlay or a window inside it, at any depth.
    pub(super) fn in_overlay_event(&self, ev: &Event) -> bool {
        let about = match ev {
            Event::CreateNotify(e) => e.parent,
            Event::DestroyNotify(e) => e.event,
            Event::MapNotify(e) => e.event,
            Event::UnmapNotify(e) => e.event,
            Event::ConfigureNotify(e) => e.event,
            Event::ReparentNotify(e) => e.event,
            Event::GravityNotify(e) => e.event,
            Event::CirculateNotify(e) => e.event,
            _ => return false,
        };
        self.overlay.is_some_and(|o| o.window == about)
            || self.overlay_tree.lock().is_ok_and(|t| t.contains(&about))
    }

    /// Something changed inside the overlay: look at all of it again.
    pub(super) fn handle_overlay(&self, _: Event) {
        self.update_cover();
    }

    pub(super) fn restack(&self, f: impl FnOnce(&mut Stack)) {
        if let Ok(mut s) = self.stack.lock() {
            f(&mut s);
        }
        self.update_cover();
    }
}
