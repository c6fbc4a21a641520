//! Hardening on platforms with nothing to reset or deny yet.

use super::HardenError;

/// Other platforms: not available yet.
pub fn deny_network() -> Result<(), &'static HardenError> {
    Err(&HardenError::Unsupported)
}

/// Other platforms: nothing yet.
pub fn reset_inherited() -> Result<(), HardenError> {
    Ok(())
}
