//! A model of the root window's children, bottom to top, kept from `SubstructureNotify`
//! events in the order the server sent them: from it, what covers the prompt at every
//! moment, not only when someone happens to look.

use std::collections::HashMap;

/// One child of the root window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Win {
    /// Outer rectangle in root coordinates, border included: x, y, width, height.
    pub(crate) rect: (i32, i32, i32, i32),
    /// Mapped (for a child of the root, that is viewable).
    pub(crate) mapped: bool,
    /// An `InputOnly` window draws nothing and so covers nothing.
    pub(crate) input_only: bool,
}

/// The root's children and their stacking order.
#[derive(Debug, Clone, Default)]
pub(crate) struct Stack {
    /// Bottom first.
    order: Vec<u32>,
    wins: HashMap<u32, Win>,
}

/// Whether two rectangles (x, y, width, height) share any pixel.
pub(crate) fn overlap(a: (i32, i32, i32, i32), b: (i32, i32, i32, i32)) -> bool {
    let (ax1, ay1) = (a.0 + a.2, a.1 + a.3);
    let (bx1, by1) = (b.0 + b.2, b.1 + b.3);
    a.0 < bx1 && b.0 < ax1 && a.1 < by1 && b.1 < ay1
}

impl Stack {
    /// A window created (or reparented into the root): it goes on top.
    pub(crate) fn add(&mut self, id: u32, win: Win) {
        self.order.retain(|w| *w != id);
        self.order.push(id);
        self.wins.insert(id, win);
    }

    /// Destroyed, or reparented away from the root.
    pub(crate) fn remove(&mut self, id: u32) {
        self.order.retain(|w| *w != id);
        self.wins.remove(&id);
    }

    /// Mapped or unmapped.
    pub(crate) fn set_mapped(&mut self, id: u32, mapped: bool) {
        if let Some(w) = self.wins.get_mut(&id) {
            w.mapped = mapped;
        }
    }

    /// Moved, resized or restacked: `above` is the sibling it now sits directly on,
    /// `None` for the bottom.
    pub(crate) fn configure(&mut self, id: u32, rect: (i32, i32, i32, i32), above: Option<u32>) {
        let Some(w) = self.wins.get_mut(&id) else {
            return;
        };
        w.rect = rect;
        self.order.retain(|x| *x != id);
        let at = match above {
            Some(sibling) => self
                .order
                .iter()
                .position(|x| *x == sibling)
                .map_or(self.order.len(), |i| i + 1),
            None => 0,
        };
        self.order.insert(at, id);
    }

    /// Moved without a restack (`GravityNotify`, `ReparentNotify` into the root).
    pub(crate) fn moved(&mut self, id: u32, x: i32, y: i32) {
        if let Some(w) = self.wins.get_mut(&id) {
            w.rect.0 = x;
            w.rect.1 = y;
        }
    }

    /// `CirculateNotify`: to the top or the bottom.
    pub(crate) fn circulate(&mut self, id: u32, to_top: bool) {
        if !self.wins.contains_key(&id) {
            return;
        }
        self.order.retain(|x| *x != id);
        if to_top {
            self.order.push(id);
        } else {
            self.order.insert(0, id);
        }
    }

    /// Whether `id` is a known child of the root.
    #[cfg(test)]
    fn contains(&self, id: u32) -> bool {
        self.wins.contains_key(&id)
    }

    /// The rectangle of a known child.
    pub(crate) fn rect(&self, id: u32) -> Option<(i32, i32, i32, i32)> {
        self.wins.get(&id).map(|w| w.rect)
    }

    /// Why the prompt, whose top-level is the root child `top`, is not fully shown on a
    /// screen of `screen` (width, height), if it is not: not mapped, partly off screen, or
    /// covered by a window stacked above it. `None` when it is fully shown.
    pub(crate) fn covering(&self, top: u32, screen: (i32, i32)) -> Option<String> {
        let Some(me) = self.wins.get(&top) else {
            return Some("the window is not shown yet".into());
        };
        if !me.mapped {
            return Some("the window is not shown".into());
        }
        let (x, y, w, h) = me.rect;
        if x < 0 || y < 0 || x + w > screen.0 || y + h > screen.1 {
            return Some("the window is partly off the screen".into());
        }
        let position = self.order.iter().position(|id| *id == top)?;
        self.order[position + 1..].iter().find_map(|id| {
            let other = self.wins.get(id)?;
            (other.mapped && !other.input_only && overlap(other.rect, me.rect)).then(|| {
                let (ox, oy, ow, oh) = other.rect;
                format!("another window (0x{id:x}, {ow}x{oh} at {ox},{oy}) covers part of it")
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCREEN: (i32, i32) = (1000, 800);

    fn win(x: i32, y: i32, w: i32, h: i32) -> Win {
        Win {
            rect: (x, y, w, h),
            mapped: true,
            input_only: false,
        }
    }

    #[test]
    fn what_is_above_and_overlapping_covers() {
        let mut s = Stack::default();
        s.add(1, win(0, 0, 1000, 800)); // a desktop below
        s.add(2, win(100, 100, 400, 300)); // the prompt
        assert_eq!(s.covering(2, SCREEN), None);
        // A decoy on top, overlapping.
        s.add(3, win(450, 350, 200, 100));
        assert!(s.covering(2, SCREEN).unwrap().contains("0x3"));
        // Unmapped, or InputOnly: covers nothing.
        s.set_mapped(3, false);
        assert_eq!(s.covering(2, SCREEN), None);
        s.set_mapped(3, true);
        s.wins.get_mut(&3).unwrap().input_only = true;
        assert_eq!(s.covering(2, SCREEN), None);
        s.wins.get_mut(&3).unwrap().input_only = false;
        // Restacked below the prompt: fine; raised again: covers.
        s.configure(3, (450, 350, 200, 100), Some(1));
        assert_eq!(s.covering(2, SCREEN), None);
        s.configure(3, (450, 350, 200, 100), Some(2));
        assert!(s.covering(2, SCREEN).is_some());
        // Moved away (touching edges do not overlap).
        s.configure(3, (500, 100, 200, 100), Some(2));
        assert_eq!(s.covering(2, SCREEN), None);
        s.circulate(2, false);
        s.configure(3, (499, 100, 200, 100), Some(1));
        assert!(s.covering(2, SCREEN).is_some());
        s.remove(3);
        // The desktop is above the prompt now (the prompt went to the bottom).
        assert!(s.covering(2, SCREEN).unwrap().contains("0x1"));
        s.circulate(2, true);
        assert_eq!(s.covering(2, SCREEN), None);
    }

    #[test]
    fn the_prompt_must_be_mapped_and_on_screen() {
        let mut s = Stack::default();
        assert!(s.covering(2, SCREEN).unwrap().contains("not shown yet"));
        s.add(
            2,
            Win {
                mapped: false,
                ..win(0, 0, 10, 10)
            },
        );
        assert!(s.covering(2, SCREEN).unwrap().contains("not shown"));
        s.set_mapped(2, true);
        assert_eq!(s.covering(2, SCREEN), None);
        s.moved(2, -5, 0);
        assert!(s.covering(2, SCREEN).unwrap().contains("off the screen"));
        s.moved(2, 995, 0);
        assert!(s.covering(2, SCREEN).unwrap().contains("off the screen"));
    }

    #[test]
    fn events_for_unknown_windows_change_nothing() {
        let mut s = Stack::default();
        s.add(2, win(0, 0, 10, 10));
        s.configure(9, (0, 0, 10, 10), Some(2));
        s.set_mapped(9, true);
        s.circulate(9, true);
        assert_eq!(s.covering(2, SCREEN), None);
        assert!(!s.contains(9));
    }
}
