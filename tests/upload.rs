//! Issue 12: a worm that sets a proxy or a CA in the helper's environment does not see the
//! upload.
//!
//! The environment is process-wide, so this binary holds one test, and the proxy variables are
//! set only in children it starts (this same binary, in a given role): they have them from
//! their first instruction, as the helper would, and no `unsafe` `set_var` is needed.

#![cfg(target_os = "linux")]

use std::io::Read;
use std::net::TcpListener;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use cargo_confirm_gui::publish::upload::Client;
use cargo_confirm_gui_testkit::{Options, Registry};

const TOKEN: &str = "cio-Proxy-Test-39c2";
/// Which part a child plays; unset in the parent.
const ROLE: &str = "UPLOAD_TEST_ROLE";
/// The registry's index URL, for the children.
const INDEX: &str = "UPLOAD_TEST_INDEX";
const PROXY_VARS: [&str; 6] = [
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
];

/// A "proxy" on 127.0.0.1 that counts the connections it gets and answers none of them.
fn proxy() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            seen.fetch_add(1, Ordering::SeqCst);
            let mut stream = stream;
            let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
            let _ = stream.read(&mut [0; 1024]);
        }
    });
    (url, count)
}

/// Runs this test again in a child, as `role`, with every proxy variable set to `proxy` and
/// the CA variables naming files that do not exist.
fn child(role: &str, index: &str, proxy: &str) {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "--exact",
        "proxies_in_the_environment_are_not_used",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(ROLE, role)
    .env(INDEX, index)
    .env_remove("NO_PROXY")
    .env_remove("no_proxy")
    .env("SSL_CERT_FILE", "/nonexistent/worm-ca.pem")
    .env("SSL_CERT_DIR", "/nonexistent/worm-certs");
    for var in PROXY_VARS {
        cmd.env(var, proxy);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{role} child failed\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn publish_body(name: &str, vers: &str, crate_bytes: &[u8]) -> Vec<u8> {
    let meta = serde_json::json!({
        "name": name, "vers": vers, "deps": [], "features": {}, "links": null,
    })
    .to_string();
    let mut body = Vec::new();
    body.extend_from_slice(&(meta.len() as u32).to_le_bytes());
    body.extend_from_slice(meta.as_bytes());
    body.extend_from_slice(&(crate_bytes.len() as u32).to_le_bytes());
    body.extend_from_slice(crate_bytes);
    body
}

#[test]
fn proxies_in_the_environment_are_not_used() {
    match std::env::var(ROLE).as_deref() {
        // The helper's client, with the worm's proxy in its environment.
        Ok("client") => {
            for var in PROXY_VARS {
                assert!(std::env::var_os(var).is_some(), "{var} is not set");
            }
            let index = std::env::var(INDEX).unwrap();
            let client = Client::new(&index, None).unwrap();
            client
                .publish(TOKEN, &publish_body("direct", "1.0.0", b"the bytes"))
                .unwrap();
            client
                .wait_for(None, "direct", "1.0.0", Duration::from_secs(5))
                .unwrap();
            client.yank(TOKEN, "direct", "1.0.0").unwrap();
            return;
        }
        // The control: ureq as it comes does use the proxy from this environment, so the
        // client's silence above is its own doing.
        Ok("control") => {
            let index = std::env::var(INDEX).unwrap();
            let config = format!("{}config.json", index.trim_start_matches("sparse+"));
            let _ = ureq::get(&config).call();
            return;
        }
        // The worm's CA in place of the system's: the client must still load the system
        // roots and start a TLS handshake (the platform verifier would have trusted only what
        // SSL_CERT_FILE names, and found nothing to trust here).
        Ok("tls") => {
            assert!(std::env::var_os("SSL_CERT_FILE").is_some());
            let index = std::env::var(INDEX).unwrap();
            let e = Client::new(&index, None).unwrap_err();
            assert!(
                matches!(e, cargo_confirm_gui::publish::upload::Error::Http { .. }),
                "{e:?}"
            );
            return;
        }
        Ok(other) => panic!("unknown role {other}"),
        Err(_) => {}
    }

    let registry = Registry::start(Options {
        token: Some(TOKEN.into()),
        ..Options::default()
    })
    .unwrap();

    let (proxy_url, connections) = proxy();
    child("client", &registry.index_url(), &proxy_url);
    assert_eq!(connections.load(Ordering::SeqCst), 0, "the proxy was used");
    assert_eq!(registry.uploads().len(), 1);
    assert_eq!(registry.uploads()[0].bytes, b"the bytes");
    let mutations: Vec<(String, String)> = registry
        .mutations()
        .into_iter()
        .map(|h| (h.method, h.path))
        .collect();
    assert_eq!(
        mutations,
        vec![
            ("PUT".into(), "/api/v1/crates/new".into()),
            ("DELETE".into(), "/api/v1/crates/direct/1.0.0/yank".into()),
        ]
    );

    // SSL_CERT_FILE and SSL_CERT_DIR naming nothing: a TLS handshake still starts, so the
    // roots came from the system's fixed paths and not from the environment.
    let tls = TcpListener::bind("127.0.0.1:0").unwrap();
    let tls_index = format!("sparse+https://{}/", tls.local_addr().unwrap());
    let first_byte = std::thread::spawn(move || {
        let (mut stream, _) = tls.accept().unwrap();
        let mut byte = [0u8; 1];
        stream.read_exact(&mut byte).map(|()| byte[0]).ok()
    });
    let (tls_proxy, tls_proxy_connections) = proxy();
    child("tls", &tls_index, &tls_proxy);
    assert_eq!(
        first_byte.join().unwrap(),
        Some(0x16),
        "no TLS handshake record"
    );
    assert_eq!(tls_proxy_connections.load(Ordering::SeqCst), 0);

    let (control_url, control_connections) = proxy();
    let hits = registry.hits().len();
    child("control", &registry.index_url(), &control_url);
    assert!(
        control_connections.load(Ordering::SeqCst) >= 1,
        "the control did not go through the proxy: the test would prove nothing"
    );
    assert_eq!(
        registry.hits().len(),
        hits,
        "the control reached the registry"
    );
}
