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

use super::{Attempt, Event, LinkError, Method, Presence, PresenceError, Says};

/// Why Windows Hello cannot run, or did not verify the person. The `Display` is the message.
#[derive(Debug, thiserror::Error)]
pub enum HelloError {
    /// Its availability could not be checked.
    #[error("Windows Hello cannot be asked: {0}")]
    CannotCheck(#[source] windows::core::Error),
    /// It is not set up on this machine, or not for this person.
    #[error(
        "Windows Hello is not set up ({0:?}); set up a PIN, face or fingerprint in Settings > \
         Accounts > Sign-in options"
    )]
    NotSetUp(UserConsentVerifierAvailability),
    /// Its interop factory is missing.
    #[error("Windows Hello is not available: {0}")]
    NotAvailable(#[source] windows::core::Error),
    /// The request for the window failed.
    #[error("Windows Hello could not ask: {0}")]
    CouldNotAsk(#[source] windows::core::Error),
    /// Waiting for its verdict failed.
    #[error("Windows Hello failed: {0}")]
    Failed(#[source] windows::core::Error),
    /// It answered, and not "verified".
    #[error("Windows Hello did not verify you ({0:?})")]
    NotVerified(UserConsentVerificationResult),
}

/// Windows Hello for the person at the desktop.
pub struct Hello;

/// Nothing to relay: Windows Hello asks in its own dialog.
struct Waiting;

impl Attempt for Waiting {
    fn reply(&mut self, _: &str) -> Result<(), LinkError> {
        Err(LinkError::OwnDialog {
            system: "Windows Hello",
        })
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
        let unavailable = |e: HelloError| PresenceError::Unavailable(e.to_string());
        let available = UserConsentVerifier::CheckAvailabilityAsync()
            .and_then(|op| op.join())
            .map_err(|e| unavailable(HelloError::CannotCheck(e)))?;
        if available == UserConsentVerifierAvailability::Available {
            Ok(())
        } else {
            Err(unavailable(HelloError::NotSetUp(available)))
        }
    }

    fn begin(&self, what: &str, events: Sender<Event>) -> Result<Box<dyn Attempt>, PresenceError> {
        let message = HSTRING::from(format!("cargo-confirm-gui: {what}"));
        let _ = events.send(Event::System(Says::Info(
            "Windows Hello asks in its own window".into(),
        )));
        std::thread::spawn(move || {
            let verdict = verify(&message).map_err(|e| e.to_string());
            let _ = events.send(Event::SystemDone(verdict));
        });
        Ok(Box::new(Waiting))
    }
}

/// Asks Windows Hello, for the window in front (our window, after Approve).
#[allow(unsafe_code)]
fn verify(message: &HSTRING) -> Result<(), HelloError> {
    let interop = factory::<UserConsentVerifier, IUserConsentVerifierInterop>()
        .map_err(HelloError::NotAvailable)?;
    // SAFETY: GetForegroundWindow has no preconditions; a null window makes the call fail,
    // which is a failure here, never a success.
    let window = unsafe { GetForegroundWindow() };
    // SAFETY: `window` is a window handle or null, `message` a live HSTRING; the call
    // returns an async operation that owns what it needs.
    let op: windows_future::IAsyncOperation<UserConsentVerificationResult> =
        unsafe { interop.RequestVerificationForWindowAsync(window, message) }
            .map_err(HelloError::CouldNotAsk)?;
    match op.join().map_err(HelloError::Failed)? {
        UserConsentVerificationResult::Verified => Ok(()),
        other => Err(HelloError::NotVerified(other)),
    }
}
