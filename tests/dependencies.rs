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

#[test]
fn no_test_double_or_http_server_in_the_shipped_tree() {
    // Issue 14, "Ship only what ships": the loopback registry and its HTTP server were
    // compiled into the setgid helper, with a `demo` subcommand that started them. They live
    // in the test kit now, a dev-dependency; the memory store exists only in unit tests.
    for p in ["tiny_http", "cargo-confirm-gui-testkit"] {
        assert!(!tree_has(p), "{p} is in the shipped dependency tree");
    }
    // What the shipped binary says it can do: no demo, no server.
    let out = Command::new(env!("CARGO_BIN_EXE_cargo-confirm-gui"))
        .arg("--help")
        .output()
        .expect("--help");
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("Commands:") && help.contains("get"), "{help}");
    assert!(!help.contains("demo"), "{help}");
    // Nor a symbol of either, nor of the memory store, in the binary itself (legacy mangling:
    // the unit-test binary, which has the memory store, holds `5store6memory`).
    let binary = std::fs::read(env!("CARGO_BIN_EXE_cargo-confirm-gui")).expect("the binary");
    for symbol in ["tiny_http", "cargo_confirm_gui_testkit", "5store6memory"] {
        assert!(
            !binary.windows(symbol.len()).any(|w| w == symbol.as_bytes()),
            "{symbol} is in the shipped binary"
        );
    }
}
