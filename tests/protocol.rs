//! The real binary speaking cargo's protocol on pipes: exact stdout, clear errors, and
//! refusals decided before any display or keychain is touched.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

const PROVIDER: &str = env!("CARGO_BIN_EXE_cargo-confirm-gui");
const PUBLISH: &str = r#"{"v":1,"registry":{"index-url":"sparse+http://127.0.0.1:9/index/","name":"local"},"kind":"get","operation":"publish","name":"foo","vers":"1.0.0","cksum":"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"ARGS}"#;

fn publish_with(args: &str) -> String {
    PUBLISH.replace("ARGS", args)
}

/// Runs `--cargo-plugin` with a clean environment plus `env`, sends `input`, keeps stdin
/// open (as cargo does) until the response line arrives, returns (stdout lines, stderr).
// Spawns on its own rather than through `support::start_plugin`: tests/support is
// Linux-only (x11rb), and these tests also build for macOS and Windows.
fn plugin(input: &[u8], env: &[(&str, &str)]) -> (Vec<String>, String, bool) {
    let mut cmd = Command::new(PROVIDER);
    cmd.arg("--cargo-plugin")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default());
    cmd.env("HOME", std::env::temp_dir());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut lines = Vec::new();
    let mut hello = String::new();
    out.read_line(&mut hello).unwrap();
    lines.push(hello.trim_end().to_string());
    // A line too long to read is answered, and the pipe closed, before it is all written.
    let _ = stdin.write_all(input).and_then(|()| stdin.flush());
    if !input.is_empty() {
        let mut resp = String::new();
        out.read_line(&mut resp).unwrap();
        lines.push(resp.trim_end().to_string());
    }
    drop(stdin);
    let status = child.wait().unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    (lines, err, status.success())
}

fn message(line: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}"));
    assert_eq!(v["Err"]["kind"], "other", "{line}");
    v["Err"]["message"].as_str().unwrap().to_string()
}

#[test]
fn hello_then_nothing_when_cargo_sends_no_request() {
    let (lines, err, ok) = plugin(b"", &[]);
    assert_eq!(lines, vec![r#"{"v":[1]}"#]);
    assert!(ok && err.is_empty(), "{err}");
}

#[test]
fn malformed_lines_get_a_protocol_error_and_no_token() {
    for bad in ["not json\n", "{}\n", "{\"v\":1}\n", "\n"] {
        let (lines, _, _) = plugin(bad.as_bytes(), &[("DISPLAY", ":0")]);
        let m = message(&lines[1]);
        assert!(
            m.contains("bad request from cargo") && m.contains("Nothing was released"),
            "{bad:?}: {m}"
        );
    }
}

#[test]
fn unknown_protocol_version_is_refused() {
    let line = publish_with("").replace("\"v\":1", "\"v\":2") + "\n";
    let (lines, _, _) = plugin(line.as_bytes(), &[("DISPLAY", ":0")]);
    assert!(message(&lines[1]).contains("unsupported protocol version 2"));
}

#[test]
fn overlong_line_is_refused() {
    let mut line = vec![b'x'; 70 * 1024];
    line.push(b'\n');
    let (lines, _, _) = plugin(&line, &[]);
    assert!(message(&lines[1]).contains("longer than"));
}

#[test]
fn unknown_operation_is_not_supported() {
    let line =
        r#"{"v":1,"registry":{"index-url":"https://x/"},"kind":"get","operation":"teleport"}"#
            .to_string()
            + "\n";
    let (lines, _, _) = plugin(line.as_bytes(), &[("DISPLAY", ":0")]);
    assert_eq!(lines[1], r#"{"Err":{"kind":"operation-not-supported"}}"#);
}

#[test]
fn ci_marker_refuses_with_guidance() {
    let line = publish_with("") + "\n";
    for var in [
        "CI",
        "GITHUB_ACTIONS",
        "GITLAB_CI",
        "BUILDKITE",
        "TF_BUILD",
        "JENKINS_URL",
        "CIRCLECI",
        "TEAMCITY_VERSION",
    ] {
        let (lines, _, _) = plugin(line.as_bytes(), &[(var, "true"), ("DISPLAY", ":0")]);
        let m = message(&lines[1]);
        assert!(m.contains(&format!("(`{var}` is set)")), "{m}");
        assert!(
            m.contains("trusted publishing")
                && m.contains("cargo:token")
                && m.contains("--ci=pass"),
            "{m}"
        );
    }
}

#[test]
fn no_display_refuses_with_guidance() {
    let (lines, _, _) = plugin((publish_with("") + "\n").as_bytes(), &[]);
    assert!(message(&lines[1]).contains("there is no display"));
}

#[test]
fn ci_pass_answers_not_found() {
    let (lines, _, _) = plugin(
        (publish_with(r#","args":["--ci=pass"]"#) + "\n").as_bytes(),
        &[("CI", "true")],
    );
    assert_eq!(lines[1], r#"{"Err":{"kind":"not-found"}}"#);
}

#[test]
fn bad_provider_args_name_the_problem() {
    let (lines, _, _) = plugin(
        (publish_with(r#","args":["--approve-everything"]"#) + "\n").as_bytes(),
        &[("DISPLAY", ":0")],
    );
    let m = message(&lines[1]);
    assert!(
        m.contains("--approve-everything") && m.contains("valid options"),
        "{m}"
    );
}

#[test]
fn missing_keychain_gives_a_clear_error() {
    // A pre-flight read needs only the store; the session bus here does not exist.
    let line = r#"{"v":1,"registry":{"index-url":"https://x/"},"kind":"get","operation":"read"}"#
        .to_string()
        + "\n";
    let (lines, _, _) = plugin(
        line.as_bytes(),
        &[
            ("DISPLAY", ":0"),
            ("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus"),
        ],
    );
    // What failed is the message; the store's own words come as cargo's "Caused by".
    let m = message(&lines[1]);
    assert!(m.contains("the token store failed"), "{m}");
    let v: serde_json::Value = serde_json::from_str(&lines[1]).unwrap();
    let cause = v["Err"]["caused-by"][0].as_str().unwrap_or_default();
    assert!(
        cause.contains("Secret Service")
            && cause.contains("not available")
            && cause.contains("gnome-keyring"),
        "{}",
        lines[1]
    );
}

#[test]
fn get_refuses_to_print_to_a_terminal() {
    // `script` gives the command a pty for stdout, as a person's terminal would.
    let out = Command::new("script")
        .args([
            "-qec",
            &format!("{PROVIDER} get --index-url https://x/"),
            "/dev/null",
        ])
        .env("DISPLAY", ":0")
        .stdin(Stdio::null())
        .output()
        .expect("script (util-linux)");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("never to a terminal"), "{text}");
    assert!(!out.status.success());
}

#[test]
fn help_names_the_store() {
    let out = Command::new(PROVIDER).arg("--help").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Secret Service")
            && text.contains("--enroll")
            && text.contains("global-credential-providers"),
        "{text}"
    );
}

#[test]
fn help_names_the_token_store_in_use() {
    let out = Command::new(PROVIDER).arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    // A plain build (not installed sealed) uses the desktop keychain and says how to seal it.
    #[cfg(target_os = "linux")]
    {
        assert!(help.contains("Token store: the Secret Service"), "{help}");
        assert!(help.contains("sudo scripts/install-sealed.sh"), "{help}");
    }
    assert!(help.contains("global-credential-providers"), "{help}");
}

#[test]
fn an_index_url_hiding_characters_is_refused_before_anything_else() {
    // Regression, "Nothing the caller supplies" (7): a zero-width space and a right-to-left
    // override in the index URL. Refused with a display set and no keychain: the check
    // comes first, and the message shows the characters as escapes.
    let line = PUBLISH.replace(
        "sparse+http://127.0.0.1:9/index/",
        "sparse+https://index.crates.io\u{200B}.evil\u{202E}/",
    );
    let (lines, _, _) = plugin(
        format!("{}\n", line.replace("ARGS", "")).as_bytes(),
        &[("DISPLAY", ":99")],
    );
    let m = message(&lines[1]);
    assert!(
        m.contains("holds characters cargo never sends (U+200B, U+202E)")
            && m.contains("\\u{200B}")
            && !m.contains('\u{202E}'),
        "{m}"
    );
}

/// Compares `actual` with the golden file `tests/golden/NAME`, or writes it when
/// `UPDATE_GOLDEN=1` (then review the diff before committing it).
fn golden(name: &str, actual: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (UPDATE_GOLDEN=1 writes it)", path.display()));
    if expected != actual {
        let first = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| expected.lines().count().min(actual.lines().count()));
        panic!(
            "{} differs at line {} (UPDATE_GOLDEN=1 rewrites it):\n--- expected\n{}\n--- actual\n{}",
            path.display(),
            first + 1,
            expected.lines().nth(first).unwrap_or("(end)"),
            actual.lines().nth(first).unwrap_or("(end)")
        );
    }
}

#[test]
fn every_protocol_error_reads_as_written() {
    // Issue 14: golden text for what cargo shows a person, so that a change of wording is
    // a reviewed diff. CI=1: the gate refuses before any keychain or display is touched.
    let cases: Vec<(&str, String)> = vec![
        ("not JSON", "this is not json\n".into()),
        ("a protocol version this provider does not speak", publish_with("").replace(r#"{"v":1"#, r#"{"v":2"#) + "\n"),
        ("an unknown operation", r#"{"v":1,"registry":{"index-url":"https://x/"},"kind":"get","operation":"teleport"}"#.to_string() + "\n"),
        ("a request that loosens the policy", publish_with(r#","args":["--read=allow"]"#) + "\n"),
        ("a shorter cooldown", publish_with(r#","args":["--cooldown=1"]"#) + "\n"),
        ("an option this provider does not know", publish_with(r#","args":["--approve"]"#) + "\n"),
        ("an index URL hiding characters", publish_with("").replace("127.0.0.1:9", "127.0.0.1:9\u{200b}") + "\n"),
        ("a publish on CI", publish_with("") + "\n"),
        ("a read on CI", r#"{"v":1,"registry":{"index-url":"sparse+http://127.0.0.1:9/index/"},"kind":"get","operation":"read","headers":["WWW-Authenticate: Cargo"]}"#.to_string() + "\n"),
        ("a login on CI", r#"{"v":1,"registry":{"index-url":"sparse+http://127.0.0.1:9/index/"},"kind":"login","token":"x"}"#.to_string() + "\n"),
        ("a line longer than any cargo sends", format!("{{\"v\":1,\"pad\":\"{}\"}}\n", "x".repeat(1 << 20))),
    ];
    let mut text = String::new();
    for (what, line) in cases {
        let (lines, _, _) = plugin(line.as_bytes(), &[("CI", "true")]);
        let answer = lines.get(1).cloned().unwrap_or_default();
        let shown = match serde_json::from_str::<serde_json::Value>(&answer) {
            Ok(v) => v.to_string(),
            Err(_) => answer,
        };
        text.push_str(&format!("## {what}\n{shown}\n\n"));
    }
    golden("protocol-errors.txt", &text);
}

// The help names the platform's store; its golden text is kept for the platform the tests
// run on here.
#[cfg(target_os = "linux")]
#[test]
fn the_help_reads_as_written() {
    let out = Command::new(PROVIDER)
        .arg("--help")
        .env_clear()
        .output()
        .unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    golden("help-linux.txt", &help);
}
