//! The shipped dependency tree must never contain an accessibility adapter: an exported
//! accessibility tree would let any same-user program "press" Approve (egui-winit's and
//! winit's default features pull one in, so this guards against a careless feature change).
//! Nor any GL or GPU crate: the window draws on the CPU, and GL is the largest body of
//! code a process loads from driver directories at run time.

use std::process::Command;

fn tree_has(package: &str) -> bool {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "tree",
            "--locked",
            "--offline",
            "-e",
            "normal,build",
            "--target",
            "all",
            "-i",
            package,
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo tree");
    let err = String::from_utf8_lossy(&out.stderr);
    if out.status.success() {
        // In the lockfile but only through dev-dependencies: "nothing to print".
        return !out.stdout.is_empty();
    }
    assert!(
        err.contains("did not match any packages"),
        "cargo tree failed for another reason: {err}"
    );
    false
}

#[test]
fn no_accessibility_adapter_in_the_shipped_tree() {
    for p in [
        "accesskit_winit",
        "accesskit_unix",
        "atspi",
        "accesskit_macos",
        "accesskit_windows",
    ] {
        assert!(!tree_has(p), "{p} is in the shipped dependency tree");
    }
}

#[test]
fn no_gl_or_gpu_crate_in_the_shipped_tree() {
    for p in [
        "glow",
        "glutin",
        "glutin-winit",
        "glutin_egl_sys",
        "glutin_glx_sys",
        "khronos-egl",
        "wgpu",
        "wgpu-hal",
        "ash",
        "eframe",
        "egui_glow",
        "egui-wgpu",
    ] {
        assert!(!tree_has(p), "{p} is in the shipped dependency tree");
    }
}

#[test]
fn the_check_itself_can_see_packages() {
    // If this failed, the tests above would pass for the wrong reason.
    assert!(tree_has("winit"));
    assert!(tree_has("egui-winit"));
}
