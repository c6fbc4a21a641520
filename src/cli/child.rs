//! The processes the helper starts of itself, each with one job and no privilege: the
//! window process (`ui::process`), the authentication process (`presence::pam`) and the
//! uploader (`publish`).

use std::process::ExitCode;

use crate::env::Snapshot;

/// The window process (`ui::process`): no privilege at all, an allowlisted environment, one
/// window, one answer on stdout.
pub fn window_process() -> ExitCode {
    #[cfg(target_os = "linux")]
    if let Err(e) = crate::sealed::check_parent().and_then(|()| crate::sealed::drop_all()) {
        eprintln!("cargo-confirm-gui: {e}");
        return ExitCode::FAILURE;
    }
    match crate::ui::process::serve(Snapshot::capture()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cargo-confirm-gui: the window process failed: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The uploader process (`publish`): no privilege, no group, an empty environment; the only
/// part of the helper that may use the network, and only once a person approved.
pub fn upload_process() -> ExitCode {
    #[cfg(target_os = "linux")]
    if let Err(e) = crate::sealed::check_parent().and_then(|()| crate::sealed::drop_all()) {
        eprintln!("cargo-confirm-gui: {e}");
        return ExitCode::FAILURE;
    }
    match crate::publish::serve_upload() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cargo-confirm-gui: the uploader failed: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The authentication process (`presence::pam`, Linux): no group, the language variables
/// only; PAM's questions relayed over its pipes, one verdict.
pub fn presence_process() -> ExitCode {
    #[cfg(target_os = "linux")]
    {
        if let Err(e) = crate::sealed::check_parent().and_then(|()| crate::sealed::drop_all()) {
            eprintln!("cargo-confirm-gui: {e}");
            return ExitCode::FAILURE;
        }
        match crate::presence::pam::serve() {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("cargo-confirm-gui: the authentication process failed: {e}");
                ExitCode::FAILURE
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        eprintln!("cargo-confirm-gui: no authentication process on this platform");
        ExitCode::FAILURE
    }
}
