//! Where the requester is known by its name only (macOS, other platforms): no identity to
//! check again at Approve, and no executable read for the log.

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
