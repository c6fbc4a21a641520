//! A small cargo registry on 127.0.0.1: sparse index, downloads and the publish, yank and
//! owners API. It records the `Authorization` header of every request, so the demo and the
//! tests can say exactly which token reached the registry.
//!
//! A crate of its own, a dev-dependency of cargo-confirm-gui: the shipped helper holds no
//! HTTP server and no test double (`deny.toml` bans `tiny_http` from its tree).

use std::collections::BTreeMap;
use std::io::Read;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use sha2::{Digest, Sha256};
use tiny_http::{Header, Response, Server};

/// One request the registry received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// HTTP method.
    pub method: String,
    /// Request path.
    pub path: String,
    /// The `Authorization` header, if any.
    pub authorization: Option<String>,
    /// The HTTP status the registry answered.
    pub status: u16,
}

/// How the registry behaves.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The token the registry accepts for the API (and for reads when `auth_required`).
    /// `None` accepts any non-empty token.
    pub token: Option<String>,
    /// Require a token for index reads and downloads (`auth-required` in config.json).
    pub auth_required: bool,
    /// Refuse the publish of this crate (any version) with a 400 and a reason.
    pub refuse: Option<String>,
}

/// One publish the registry accepted: the metadata JSON as sent, and the `.crate` bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct Upload {
    /// The JSON part of the request, parsed.
    pub metadata: serde_json::Value,
    /// The `.crate` part.
    pub bytes: Vec<u8>,
}

#[derive(Default)]
struct State {
    hits: Vec<Hit>,
    index: BTreeMap<String, Vec<String>>,
    files: BTreeMap<(String, String), Vec<u8>>,
    uploads: Vec<Upload>,
}

/// A running registry; stops when dropped.
pub struct Registry {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    state: Arc<Mutex<State>>,
    server: Arc<Server>,
    thread: Option<JoinHandle<()>>,
}

impl Registry {
    /// Starts on a free port of 127.0.0.1.
    pub fn start(opts: Options) -> std::io::Result<Self> {
        let server = Arc::new(Server::http("127.0.0.1:0").map_err(std::io::Error::other)?);
        let port = server
            .server_addr()
            .to_ip()
            .map(|a| a.port())
            .ok_or_else(|| std::io::Error::other("no port"))?;
        let url = format!("http://127.0.0.1:{port}");
        let state = Arc::new(Mutex::new(State::default()));
        let (s, st, u) = (server.clone(), state.clone(), url.clone());
        let thread = std::thread::spawn(move || {
            for req in s.incoming_requests() {
                serve_one(req, &st, &opts, &u);
            }
        });
        Ok(Registry {
            url,
            state,
            server,
            thread: Some(thread),
        })
    }

    /// The index URL cargo is configured with.
    pub fn index_url(&self) -> String {
        format!("sparse+{}/index/", self.url)
    }

    /// Every request so far.
    pub fn hits(&self) -> Vec<Hit> {
        self.state
            .lock()
            .map(|s| s.hits.clone())
            .unwrap_or_default()
    }

    /// The requests that change something (publish, yank, unyank, owners).
    pub fn mutations(&self) -> Vec<Hit> {
        self.hits()
            .into_iter()
            .filter(|h| h.path.starts_with("/api/"))
            .collect()
    }

    /// Every publish accepted so far, in order.
    pub fn uploads(&self) -> Vec<Upload> {
        self.state
            .lock()
            .map(|s| s.uploads.clone())
            .unwrap_or_default()
    }

    /// Versions published so far, as "name vers".
    pub fn published(&self) -> Vec<String> {
        self.state
            .lock()
            .map(|s| s.files.keys().map(|(n, v)| format!("{n} {v}")).collect())
            .unwrap_or_default()
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Where a crate's index file lives in a sparse index.
pub fn index_path(name: &str) -> String {
    let n = name.to_ascii_lowercase();
    match n.len() {
        1 => format!("1/{n}"),
        2 => format!("2/{n}"),
        3 => format!("3/{}/{n}", &n[..1]),
        _ => format!("{}/{}/{n}", &n[..2], &n[2..4]),
    }
}

fn json(status: u16, body: String) -> Response<std::io::Cursor<Vec<u8>>> {
    Response::from_string(body)
        .with_status_code(status)
        .with_header(Header::from_bytes("Content-Type", "application/json").expect("static header"))
}

fn serve_one(mut req: tiny_http::Request, state: &Mutex<State>, opts: &Options, url: &str) {
    let method = req.method().to_string();
    let path = req.url().split('?').next().unwrap_or("").to_string();
    let authorization = req
        .headers()
        .iter()
        .find(|h| h.field.equiv("Authorization"))
        .map(|h| h.value.as_str().to_string());
    let token_ok = match (&authorization, &opts.token) {
        (None, _) => false,
        (Some(a), Some(t)) => a == t,
        (Some(a), None) => !a.is_empty(),
    };
    let mut body = Vec::new();
    // Only a declared body: with `Connection: Upgrade` (cargo's h2c offer) tiny_http hands
    // over the whole socket as the "body", and reading it to the end would never return.
    if let Some(n) = req.body_length() {
        let _ = req
            .as_reader()
            .take(n.min(64 << 20) as u64)
            .read_to_end(&mut body);
    }

    let is_api = path.starts_with("/api/");
    // Like real private registries (RFC 3139), an auth-required registry answers 401 with
    // `WWW-Authenticate` for everything, config.json included.
    let response = if (is_api || opts.auth_required) && !token_ok {
        if opts.auth_required && !is_api {
            json(
                401,
                r#"{"errors":[{"detail":"authentication required"}]}"#.into(),
            )
            .with_header(
                Header::from_bytes("WWW-Authenticate", format!("Cargo login_url=\"{url}/me\""))
                    .expect("header"),
            )
        } else {
            json(
                403,
                r#"{"errors":[{"detail":"missing or wrong token"}]}"#.into(),
            )
        }
    } else {
        route(&method, &path, &body, state, opts, url)
    };
    let status = response.status_code().0;
    if let Ok(mut s) = state.lock() {
        s.hits.push(Hit {
            method,
            path,
            authorization,
            status,
        });
    }
    let _ = req.respond(response);
}

fn route(
    method: &str,
    path: &str,
    body: &[u8],
    state: &Mutex<State>,
    opts: &Options,
    url: &str,
) -> Response<std::io::Cursor<Vec<u8>>> {
    let mut st = match state.lock() {
        Ok(s) => s,
        Err(_) => return json(500, "{}".into()),
    };
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (method, parts.as_slice()) {
        ("GET", ["index", "config.json"]) => json(
            200,
            serde_json::json!({"dl": format!("{url}/dl"), "api": url, "auth-required": opts.auth_required}).to_string(),
        ),
        ("GET", ["index", rest @ ..]) => {
            let name = rest.last().copied().unwrap_or("");
            match st.index.get(&name.to_ascii_lowercase()) {
                Some(lines) if index_path(name) == rest.join("/") => json(200, lines.join("\n") + "\n"),
                _ => json(404, "{}".into()),
            }
        }
        ("GET", ["dl", name, vers, "download"]) => match st.files.get(&(name.to_string(), vers.to_string())) {
            Some(bytes) => Response::from_data(bytes.clone()),
            None => json(404, "{}".into()),
        },
        ("PUT", ["api", "v1", "crates", "new"]) => match publish(&mut st, body, opts) {
            Ok(()) => json(200, r#"{"warnings":{"invalid_categories":[],"invalid_badges":[],"other":[]}}"#.into()),
            Err(e) => json(400, serde_json::json!({"errors":[{"detail": e}]}).to_string()),
        },
        ("DELETE", ["api", "v1", "crates", _, _, "yank"]) | ("PUT", ["api", "v1", "crates", _, _, "unyank"]) => {
            json(200, r#"{"ok":true}"#.into())
        }
        ("GET", ["api", "v1", "crates", _, "owners"]) => json(200, r#"{"users":[]}"#.into()),
        ("PUT" | "DELETE", ["api", "v1", "crates", _, "owners"]) => json(200, r#"{"ok":true,"msg":"done"}"#.into()),
        _ => json(404, r#"{"errors":[{"detail":"not found"}]}"#.into()),
    }
}

fn publish(st: &mut State, body: &[u8], opts: &Options) -> Result<(), String> {
    let take = |b: &[u8], at: usize| -> Result<(usize, usize), String> {
        let len = b.get(at..at + 4).ok_or("short body")?;
        let n = u32::from_le_bytes(len.try_into().map_err(|_| "short body")?) as usize;
        if at + 4 + n > b.len() {
            return Err("short body".into());
        }
        Ok((at + 4, at + 4 + n))
    };
    let (js, je) = take(body, 0)?;
    let (cs, ce) = take(body, je)?;
    let meta: serde_json::Value =
        serde_json::from_slice(&body[js..je]).map_err(|e| e.to_string())?;
    let name = meta["name"].as_str().ok_or("no name")?.to_string();
    let vers = meta["vers"].as_str().ok_or("no vers")?.to_string();
    if opts.refuse.as_deref() == Some(name.as_str()) {
        return Err(format!("crate `{name}` is refused by this registry"));
    }
    let crate_bytes = body[cs..ce].to_vec();
    let cksum: String = Sha256::digest(&crate_bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let deps: Vec<serde_json::Value> = meta["deps"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|d| {
                    let explicit = d["explicit_name_in_toml"].as_str();
                    serde_json::json!({
                        "name": explicit.unwrap_or(d["name"].as_str().unwrap_or("")),
                        "req": d["version_req"],
                        "features": d["features"],
                        "optional": d["optional"],
                        "default_features": d["default_features"],
                        "target": d["target"],
                        "kind": d["kind"],
                        "registry": d["registry"],
                        "package": explicit.map(|_| d["name"].clone()),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let line = serde_json::json!({
        "name": name, "vers": vers, "deps": deps, "cksum": cksum,
        "features": meta["features"], "yanked": false, "links": meta["links"],
    });
    st.index
        .entry(name.to_ascii_lowercase())
        .or_default()
        .push(line.to_string());
    st.uploads.push(Upload {
        metadata: meta,
        bytes: crate_bytes.clone(),
    });
    st.files.insert((name, vers), crate_bytes);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparse_paths() {
        assert_eq!(index_path("a"), "1/a");
        assert_eq!(index_path("ab"), "2/ab");
        assert_eq!(index_path("abc"), "3/a/abc");
        assert_eq!(index_path("Serde"), "se/rd/serde");
    }
}

#[cfg(test)]
mod http_tests {
    use super::*;
    use std::io::{Read, Write};

    fn get(url: &str, path: &str) -> String {
        let addr = url.trim_start_matches("http://");
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    }

    #[test]
    fn serves_config_and_records_hits() {
        let r = Registry::start(Options::default()).unwrap();
        let resp = get(&r.url, "/index/config.json");
        assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
        assert!(resp.contains(&format!("\"api\":\"{}\"", r.url)), "{resp}");
        let resp = get(&r.url, "/index/fo/o-/foo-bar");
        assert!(resp.starts_with("HTTP/1.1 404"), "{resp}");
        let resp = get(&r.url, "/api/v1/crates/foo/owners");
        assert!(resp.starts_with("HTTP/1.1 403"), "{resp}");
        // cargo offers an h2c upgrade on plain http; the server must still answer.
        let addr = r.url.trim_start_matches("http://");
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        write!(s, "GET /index/config.json HTTP/1.1\r\nHost: {addr}\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n").unwrap();
        let mut buf = [0u8; 12];
        s.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"HTTP/1.1 200");
        assert_eq!(r.hits().len(), 4);
        assert_eq!(r.mutations().len(), 1);
    }
}
