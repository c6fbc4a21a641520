//! Who asked, on platforms with no way to inspect the requester yet.

use super::{Requester, Warning};

pub(crate) use super::name_only::{CargoIdentity, parent_exe};

/// Other platforms: no chain yet.
pub fn requester() -> Requester {
    Requester {
        warnings: vec![Warning::NotInspectable],
        ..Default::default()
    }
}
