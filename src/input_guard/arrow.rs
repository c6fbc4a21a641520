//! The arrow every window of ours shows: drawn here, never taken from a cursor theme the
//! caller could choose (`XCURSOR_PATH`, `Xcursor.theme`, `~/.icons`), so the guard can tell
//! it from a cursor someone else set, by image and hotspot.

/// Width and height in pixels.
pub(crate) const SIZE: usize = 16;
/// The hotspot: the arrow's tip.
pub(crate) const HOTSPOT: (u16, u16) = (0, 0);

/// Straight RGBA, fully opaque or fully transparent (so it reads back unchanged as the
/// server's premultiplied ARGB).
pub(crate) fn rgba() -> Vec<u8> {
    let mut out = vec![0u8; SIZE * SIZE * 4];
    for y in 0..SIZE {
        // A left-leaning arrow: the outline widens by one pixel a row for 11 rows.
        let width = if y < 11 { y + 1 } else { 0 };
        for x in 0..width.min(SIZE) {
            let edge = x == 0 || x + 1 == width || y == 10;
            let px = if edge {
                [0, 0, 0, 255]
            } else {
                [255, 255, 255, 255]
            };
            out[(y * SIZE + x) * 4..][..4].copy_from_slice(&px);
        }
    }
    // The stem.
    for y in 11..16 {
        for x in 4..7 {
            let edge = x == 4 || x == 6 || y == 15;
            let px = if edge {
                [0, 0, 0, 255]
            } else {
                [255, 255, 255, 255]
            };
            out[(y * SIZE + x) * 4..][..4].copy_from_slice(&px);
        }
    }
    out
}

/// The same picture as the server reports it (XFixes `GetCursorImage`): one ARGB word a
/// pixel.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn argb() -> Vec<u32> {
    rgba()
        .chunks_exact(4)
        .map(|p| (p[3] as u32) << 24 | (p[0] as u32) << 16 | (p[1] as u32) << 8 | p[2] as u32)
        .collect()
}

/// Whether a cursor the server reports is this arrow: same size, hotspot and pixels.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
pub(crate) fn is_ours(width: u16, height: u16, xhot: u16, yhot: u16, pixels: &[u32]) -> bool {
    usize::from(width) == SIZE
        && usize::from(height) == SIZE
        && (xhot, yhot) == HOTSPOT
        && pixels == argb().as_slice()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_arrow_is_opaque_or_transparent_and_its_tip_is_the_hotspot() {
        let rgba = rgba();
        assert!(rgba.chunks_exact(4).all(|p| p[3] == 0 || p[3] == 255));
        // Transparent pixels are all zero, so premultiplying changes nothing.
        assert!(
            rgba.chunks_exact(4)
                .all(|p| p[3] == 255 || p == [0, 0, 0, 0])
        );
        let (x, y) = HOTSPOT;
        assert_eq!(
            rgba[(y as usize * SIZE + x as usize) * 4 + 3],
            255,
            "the hotspot is on the arrow's tip"
        );
        assert_eq!(argb()[0], 0xff00_0000);
    }

    #[test]
    fn only_the_same_picture_at_the_same_hotspot_is_ours() {
        let s = SIZE as u16;
        assert!(is_ours(s, s, 0, 0, &argb()));
        // The same picture with its hotspot moved: the lying cursor.
        assert!(!is_ours(s, s, 15, 0, &argb()));
        let mut other = argb();
        other[17] ^= 1;
        assert!(!is_ours(s, s, 0, 0, &other));
        assert!(!is_ours(s + 1, s, 0, 0, &argb()));
    }
}
