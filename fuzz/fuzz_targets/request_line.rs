//! The protocol request line, through the pipeline's own `read_line` and `parse`.
//!
//! Property: a request that parses is the request. Re-serialised by cargo-credential's own
//! types it parses to the same request; rebuilt in cargo's protocol format from what the
//! helper kept, it parses to the same request again (nothing shown or acted on was lost or
//! invented). Its registry canonicalises to one store key, and its label reads back as
//! itself in the window.
#![no_main]

use cargo_confirm_gui::gate::Options;
use cargo_confirm_gui::protocol::{self, Request};
use cargo_confirm_gui::request::{CargoRequest, Operation, StoreChange};
use cargo_confirm_gui::store::RegistryKey;
use cargo_confirm_gui_fuzz::assert_shown_faithfully;
use libfuzzer_sys::fuzz_target;
use serde_json::json;

fuzz_target!(|data: &[u8]| {
    let mut input = data;
    let Ok(Some(line)) = protocol::read_line(&mut input) else {
        return;
    };
    let Ok(first) = protocol::parse(&line) else {
        return;
    };

    // cargo-credential's own types take the same line and write it back.
    let text = std::str::from_utf8(&line)
        .expect("parse accepted a line that is not UTF-8")
        .trim_end_matches(['\n', '\r']);
    let cargo: cargo_credential::CredentialRequest<'_> =
        serde_json::from_str(text).expect("parse accepted what cargo-credential refuses");
    let again = serde_json::to_string(&cargo).expect("serialising a parsed request");
    let second = protocol::parse(again.as_bytes())
        .unwrap_or_else(|e| panic!("the re-serialised request {again:?} does not parse: {e}"));
    assert_same(&first, &second, &again);

    // What the helper kept is enough to write the request again.
    let rebuilt = rebuild(&first).to_string();
    let third = protocol::parse(rebuilt.as_bytes())
        .unwrap_or_else(|e| panic!("the rebuilt request {rebuilt:?} does not parse: {e}"));
    assert_same(&first, &third, &rebuilt);

    // One registry, one store key: the canonical URL is its own canonical form, and only
    // crates.io's own hosts get crates.io's key (its token).
    if let Ok(key) = RegistryKey::parse(&first.index_url) {
        let canonical = key.as_str();
        assert_eq!(RegistryKey::from_index_url(canonical), key);
        assert!(
            canonical.chars().all(|c| c.is_ascii_graphic()),
            "{canonical:?}"
        );
        if key.is_crates_io() {
            let url = first.index_url.to_ascii_lowercase();
            let host = url
                .split_once("://")
                .map(|(_, rest)| rest.split('/').next().unwrap_or(""))
                .unwrap_or("");
            assert!(
                matches!(
                    host,
                    "github.com" | "github.com:443" | "index.crates.io" | "index.crates.io:443"
                ),
                "{:?} has crates.io's key",
                first.index_url
            );
        }
    }
    assert_shown_faithfully(&first.raw_registry_label());
    if let Operation::Cargo(CargoRequest::Publish { name, vers, .. })
    | Operation::Cargo(CargoRequest::Yank { name, vers, undo: false })
    | Operation::Cargo(CargoRequest::Yank { name, vers, undo: true }) = &first.operation
    {
        assert_shown_faithfully(name);
        assert_shown_faithfully(vers);
    }

    // Provider options come from cargo's config, which the same user writes.
    let args: Vec<&str> = first.args.iter().map(String::as_str).collect();
    let _ = Options::from_args(&args);
});

fn assert_same(a: &Request, b: &Request, line: &str) {
    assert_eq!(a.index_url, b.index_url, "{line}");
    assert_eq!(a.registry_name, b.registry_name, "{line}");
    assert_eq!(a.operation, b.operation, "{line}");
    assert_eq!(
        a.login_token.as_ref().map(|t| t.expose().to_string()),
        b.login_token.as_ref().map(|t| t.expose().to_string()),
        "{line}"
    );
    assert_eq!(a.login_url, b.login_url, "{line}");
    assert_eq!(a.args, b.args, "{line}");
}

/// The request in cargo's credential-protocol format, from the helper's own `Request`.
fn rebuild(r: &Request) -> serde_json::Value {
    let mut registry = json!({ "index-url": r.index_url });
    if let Some(name) = &r.registry_name {
        registry["name"] = json!(name);
    }
    let mut v = json!({ "v": 1, "registry": registry });
    let mut set = |k: &str, x: serde_json::Value| v[k] = x;
    match &r.operation {
        Operation::Cargo(CargoRequest::Read { authenticated }) => {
            set("kind", json!("get"));
            set("operation", json!("read"));
            if *authenticated {
                set("registry", {
                    let mut reg =
                        json!({ "index-url": r.index_url, "headers": ["WWW-Authenticate: Cargo"] });
                    if let Some(name) = &r.registry_name {
                        reg["name"] = json!(name);
                    }
                    reg
                });
            }
        }
        Operation::Cargo(CargoRequest::Publish { name, vers, cksum }) => {
            set("kind", json!("get"));
            set("operation", json!("publish"));
            set("name", json!(name));
            set("vers", json!(vers));
            set("cksum", json!(cksum));
        }
        Operation::Cargo(CargoRequest::Yank { name, vers, undo }) => {
            set("kind", json!("get"));
            let op = if *undo { "unyank" } else { "yank" };
            set("operation", json!(op));
            set("name", json!(name));
            set("vers", json!(vers));
        }
        Operation::Cargo(CargoRequest::Owners { name }) => {
            set("kind", json!("get"));
            set("operation", json!("owners"));
            set("name", json!(name));
        }
        Operation::Store(StoreChange::Login { .. }) => {
            set("kind", json!("login"));
            if let Some(t) = &r.login_token {
                set("token", json!(t.expose()));
            }
            if let Some(u) = &r.login_url {
                set("login-url", json!(u));
            }
        }
        Operation::Store(StoreChange::Logout) => set("kind", json!("logout")),
        Operation::Unknown => set("kind", json!("a-kind-from-the-future")),
        other => panic!("parse made {other:?}, which no request line names"),
    }
    if !r.args.is_empty() {
        v["args"] = json!(r.args);
    }
    v
}
