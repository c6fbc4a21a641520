//! Who asked, on macOS: the direct parent through the code-signing API.

use super::{ProcessInfo, Requester, Warning};

pub(crate) use super::name_only::{CargoIdentity, parent_exe};

/// macOS: the direct parent, found through the code-signing API, with its signing status.
/// Written against security-framework's documented API; built by the macOS CI job only.
pub fn requester() -> Requester {
    use security_framework::os::macos::code_signing::{
        Flags, GuestAttributes, SecCode, SecRequirement,
    };
    let mut r = Requester::default();
    let Some(ppid) = rustix::process::getppid() else {
        r.warnings.push(Warning::Orphaned);
        return r;
    };
    let pid = ppid.as_raw_nonzero().get();
    let mut attrs = GuestAttributes::new();
    attrs.set_pid(pid);
    let code = SecCode::copy_guest_with_attribues(None, &attrs, Flags::NONE);
    let exe = code
        .as_ref()
        .map_err(|e| e.to_string())
        .and_then(|c| c.path(Flags::NONE).map_err(|e| e.to_string()))
        .and_then(|url| url.to_path().ok_or_else(|| "not a file path".to_string()));
    let signing = match &code {
        Err(e) => format!("signature unknown ({e})"),
        Ok(c) => {
            let check = |text: &str| {
                text.parse::<SecRequirement>()
                    .and_then(|req| c.check_validity(Flags::NONE, &req))
                    .is_ok()
            };
            if check("anchor apple") {
                "signed by Apple".into()
            } else if check(crate::store::macos::DEVELOPER_ID) {
                "signed with a Developer ID".into()
            } else if check("always") {
                "ad-hoc signed or unsigned".into()
            } else {
                "INVALID signature (modified after signing?)".into()
            }
        }
    };
    r.chain.push(ProcessInfo {
        pid: pid as u32,
        exe: exe.clone(),
        cmdline: format!("({signing})"),
        argv: Vec::new(),
        cwd: Err("not read on macOS yet".into()),
    });
    r.parent_is_cargo = exe
        .as_ref()
        .ok()
        .and_then(|e| e.file_name())
        .is_some_and(|n| n == "cargo");
    if r.parent_is_cargo {
        r.cargo = Some(CargoIdentity);
    }
    if !r.parent_is_cargo {
        r.warnings.push(Warning::NotCargo);
    }
    if signing.starts_with("INVALID") {
        r.warnings.push(Warning::InvalidSignature);
    }
    r
}
