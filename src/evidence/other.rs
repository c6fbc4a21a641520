//! Who asked, on platforms with no way to inspect the requester yet.

use super::{Requester, Warning};

/// No identity beyond the name yet: nothing to check again at Approve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CargoIdentity;

impl CargoIdentity {
    /// Nothing to check again.
    pub(super) fn recheck(&self) -> Result<(), super::NotCargo> {
        Ok(())
    }
}

/// The direct parent's executable path, for the audit log: not read on this platform yet.
pub(crate) fn parent_exe() -> String {
    String::new()
}

/// Other platforms: no chain yet.
pub fn requester() -> Requester {
    Requester {
        warnings: vec![Warning::NotInspectable],
        ..Default::default()
    }
}
