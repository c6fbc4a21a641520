//! Linking libpam without its development package.
//!
//! The sealed helper checks the person with the system's PAM (`src/presence/pam.rs`, through
//! the `nonstick` crate, which links `-lpam`). The linker looks for `libpam.so`, which only
//! Debian's `libpam0g-dev` provides; every Linux system has the runtime library
//! `libpam.so.0` (login needs it). So that `cargo install --path .` builds on a machine with
//! only the Rust toolchain, this script points the linker at a directory in `OUT_DIR` holding
//! a `libpam.so` link to the runtime library when no `libpam.so` is installed. The binary
//! records the library's soname (`libpam.so.0`) either way: nothing changes at run time.

use std::path::{Path, PathBuf};

/// Where distributions keep shared libraries, multiarch first.
const DIRS: &[&str] = &[
    "/usr/lib/x86_64-linux-gnu",
    "/lib/x86_64-linux-gnu",
    "/usr/lib/aarch64-linux-gnu",
    "/lib/aarch64-linux-gnu",
    "/usr/lib64",
    "/lib64",
    "/usr/lib",
    "/lib",
];

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("linux") {
        return;
    }
    let installed = |name: &str| {
        DIRS.iter()
            .map(|d| Path::new(d).join(name))
            .find(|p| p.exists())
    };
    if installed("libpam.so").is_some() {
        return;
    }
    let Some(runtime) = installed("libpam.so.0") else {
        println!(
            "cargo:warning=no libpam.so.0 found: install the PAM library (Debian: libpam0g) \
             or its development files (libpam0g-dev)"
        );
        return;
    };
    let dir =
        PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("pam-link");
    std::fs::create_dir_all(&dir).expect("create OUT_DIR/pam-link");
    let link = dir.join("libpam.so");
    let _ = std::fs::remove_file(&link);
    // A Linux target is built on a Unix host here; elsewhere the linker must find libpam.so.
    #[cfg(unix)]
    std::os::unix::fs::symlink(&runtime, &link).expect("link libpam.so in OUT_DIR");
    println!("cargo:rustc-link-search=native={}", dir.display());
}
