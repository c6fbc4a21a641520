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

/// The pipeline's steps in the order a request meets them (src/lib.rs). A step's modules
/// may use an earlier step, never a later one; `pipeline` (the driver) may use them all.
/// The window's step holds the display checks and the input guard it runs.
const STEPS: &[&[&str]] = &[
    &["protocol"],
    &["env"],
    &["gate"],
    &["store"],
    &["evidence"],
    &["ui", "display", "input_guard"],
    &["audit"],
];

/// Modules every step may use: the vocabulary of a request, its errors, its words. They
/// must use no step at all, or a step would reach a later one through them.
const SHARED: &[&str] = &[
    "error",
    "text",
    "token",
    "index_url",
    "request",
    "policy",
    "package",
    "publish",
    "harden",
    "sealed",
    "throttle",
];

/// The top-level modules `path`'s code names with `crate::` (in `use` lists too).
fn crate_modules(source: &str) -> std::collections::BTreeSet<String> {
    let mut found = std::collections::BTreeSet::new();
    for (i, _) in source.match_indices("crate::") {
        let rest = &source[i + "crate::".len()..];
        if let Some(list) = rest.strip_prefix('{') {
            // `use crate::{a::b, c}`: every name at the top of the list.
            let mut depth = 0;
            let mut item = String::new();
            for ch in list.chars() {
                match ch {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        found.extend(first_segment(&item));
                        item.clear();
                        continue;
                    }
                    _ => {}
                }
                item.push(ch);
            }
            found.extend(first_segment(&item));
        } else {
            found.extend(first_segment(rest));
        }
    }
    found
}

fn first_segment(s: &str) -> Option<String> {
    let name: String = s
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    (!name.is_empty()).then_some(name)
}

/// Every `.rs` file of top-level module `module` (`src/m.rs` and `src/m/**`), with the
/// names of the modules it uses.
fn uses_of(module: &str) -> Vec<(String, std::collections::BTreeSet<String>)> {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    let single = src.join(format!("{module}.rs"));
    if single.exists() {
        files.push(single);
    }
    let mut dirs = vec![src.join(module)];
    while let Some(d) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                files.push(p);
            }
        }
    }
    assert!(!files.is_empty(), "no source for module {module}");
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            (p.display().to_string(), crate_modules(&text))
        })
        .collect()
}

#[test]
fn no_step_uses_a_later_step_and_shared_modules_use_none() {
    let mut wrong = Vec::new();
    for (i, step) in STEPS.iter().enumerate() {
        let later: Vec<&str> = STEPS[i + 1..]
            .iter()
            .flat_map(|s| s.iter().copied())
            .collect();
        for module in *step {
            for (file, used) in uses_of(module) {
                for u in used.iter().filter(|u| later.contains(&u.as_str())) {
                    wrong.push(format!("{file} (step {module}) uses the later step {u}"));
                }
            }
        }
    }
    let steps: Vec<&str> = STEPS.iter().flat_map(|s| s.iter().copied()).collect();
    for module in SHARED {
        for (file, used) in uses_of(module) {
            for u in used.iter().filter(|u| steps.contains(&u.as_str())) {
                wrong.push(format!("{file} (shared) uses the step {u}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_layer_check_reads_every_form_of_a_crate_path() {
    let used = crate_modules(
        "use crate::gate::Refusal;\nuse crate::{ui::{a, b}, store};\nlet x = crate::audit::f();",
    );
    let names: Vec<&str> = used.iter().map(String::as_str).collect();
    assert_eq!(names, ["audit", "gate", "store", "ui"]);
}
