//! Presence on Windows: Windows Hello (PIN, face, fingerprint) through `UserConsentVerifier`,
//! whose system dialog names the transaction. Written and type-checked here, never run: these
//! machines have no Windows (SECURITY.md, Platforms).
//!
//! Windows Hello draws its own dialog, outside our window; there is no conversation to relay.
//! The attempt says so in the window, waits for the verdict on a thread of its own, and ends.

use std::sync::mpsc::Sender;

use windows::Security::Credentials::UI::{
    UserConsentVerificationResult, UserConsentVerifier, UserConsentVerifierAvailability,
};
use windows::Win32::System::WinRT::IUserConsentVerifierInterop;
use windows::Win32::UI::WindowsAndMessaging::GetForegroundWindow;
use windows::core::{HSTRING, factory};

use super::{Attempt, Event, Method, Presence, PresenceError, Says};

/// Windows Hello for the person at the desktop.
pub struct Hello;

/// Nothing to relay: Windows Hello asks in its own dialog.
struct Waiting;

impl Attempt for Waiting {
    fn reply(&mut self, _: &str) -> Result<(), String> {
        Err("Windows Hello asks in its own dialog".into())
    }
}

impl Presence for Hello {
    fn method(&self) -> Option<Method> {
        Some(Method {
            asks: "your Windows Hello PIN, face or fingerprint".into(),
            checked_by: "Windows Hello".into(),
        })
    }

    fn ready(&self) -> Result<(), PresenceError> {
        let available = UserConsentVerifier::CheckAvailabilityAsync()
            .and_then(|op| op.join())
            .map_err(|e| {
                PresenceError::Unavailable(format!("Windows Hello cannot be asked: {e}"))
            })?;
        if available == UserConsentVerifierAvailability::Available {
            Ok(())
        } else {
            Err(PresenceError::Unavailable(format!(
                "Windows Hello is not set up ({available:?}); set up a PIN, face or fingerprint \
                 in Settings > Accounts > Sign-in options"
            )))
        }
    }

    fn begin(&self, what: &str, events: Sender<Event>) -> Result<Box<dyn Attempt>, PresenceError> {
        let message = HSTRING::from(format!("cargo-confirm-gui: {what}"));
        let _ = events.send(Event::System(Says::Info(
            "Windows Hello asks in its own window".into(),
        )));
        std::thread::spawn(move || {
            let _ = events.send(Event::SystemDone(verify(&message)));
        });
        Ok(Box::new(Waiting))
    }
}

/// Asks Windows Hello, for the window in front (our window, after Approve).
#[allow(unsafe_code)]
fn verify(message: &HSTRING) -> Result<(), String> {
    let interop = factory::<UserConsentVerifier, IUserConsentVerifierInterop>()
        .map_err(|e| format!("Windows Hello is not available: {e}"))?;
    // SAFETY: GetForegroundWindow has no preconditions; a null window makes the call fail,
    // which is a failure here, never a success.
    let window = unsafe { GetForegroundWindow() };
    // SAFETY: `window` is a window handle or null, `message` a live HSTRING; the call
    // returns an async operation that owns what it needs.
    let op: windows_future::IAsyncOperation<UserConsentVerificationResult> =
        unsafe { interop.RequestVerificationForWindowAsync(window, message) }
            .map_err(|e| format!("Windows Hello could not ask: {e}"))?;
    match op
        .join()
        .map_err(|e| format!("Windows Hello failed: {e}"))?
    {
        UserConsentVerificationResult::Verified => Ok(()),
        other => Err(format!("Windows Hello did not verify you ({other:?})")),
    }
}
