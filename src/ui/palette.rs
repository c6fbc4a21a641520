//! The windows' colours, for the light or dark look the system asks for (egui follows the
//! theme winit reports; without one, dark).

use egui::{Color32, Ui};

/// Red: stop and look.
pub(crate) fn red(ui: &Ui) -> Color32 {
    pick(ui, (0xe0, 0x40, 0x30), (0xb4, 0x23, 0x18))
}

/// Amber: worth a look.
pub(crate) fn amber(ui: &Ui) -> Color32 {
    pick(ui, (0xd8, 0x9a, 0x20), (0x8a, 0x55, 0x00))
}

/// Green: checked, nothing unusual.
pub(crate) fn green(ui: &Ui) -> Color32 {
    pick(ui, (0x40, 0xb0, 0x60), (0x1a, 0x7f, 0x37))
}

/// Grey: context lines of a diff.
pub(crate) fn grey(ui: &Ui) -> Color32 {
    pick(ui, (0xa0, 0xa0, 0xa0), (0x60, 0x60, 0x60))
}

/// The background of a box of code (a diff).
pub(crate) fn code_bg(ui: &Ui) -> Color32 {
    pick(ui, (0x18, 0x18, 0x18), (0xf2, 0xf2, 0xf2))
}

/// The background of the provider-mode banner.
pub(crate) fn banner_bg(ui: &Ui) -> Color32 {
    pick(ui, (0x4a, 0x36, 0x08), (0xfb, 0xec, 0xc8))
}

fn pick(ui: &Ui, dark: (u8, u8, u8), light: (u8, u8, u8)) -> Color32 {
    let (r, g, b) = if ui.visuals().dark_mode { dark } else { light };
    Color32::from_rgb(r, g, b)
}
