//! The registry's web API, spoken by the helper itself.
//!
//! A worm running as the user can write cargo's config and the helper's environment, so this
//! client takes nothing from either:
//!
//! - **No proxy.** ureq reads `ALL_PROXY`, `HTTPS_PROXY`, `HTTP_PROXY` (either case) and
//!   `NO_PROXY` by default; the agent is built with no proxy, so every connection goes
//!   straight to the registry's own address. cargo's `http.proxy` is never read.
//! - **No redirects.** A 3xx is an error that names where it pointed; nothing is followed, so
//!   the token cannot be carried to another host, nor an upload to another path.
//! - **Plain http only to loopback written as an address** (`127.0.0.0/8`, `[::1]`; not
//!   `localhost`, which means 127.0.0.1 first on some systems and ::1 on others, while a
//!   program of the user's may hold the other), for the index URL and for the `api` URL the
//!   index names. A name resolver of our own enforces it again at connect time without asking
//!   the system resolver, so `HOSTALIASES` or a hostile DNS search list cannot send a
//!   plain-text token elsewhere.
//! - **TLS** is rustls with system roots, and no roots from the environment. On macOS and
//!   Windows that is the platform verifier (the OS trust store, which reads no environment
//!   variable). On Linux and the other Unixes the platform verifier loads its roots through
//!   `rustls-native-certs`, which takes **`SSL_CERT_FILE` and `SSL_CERT_DIR` from the
//!   environment and then trusts only those**: a worm could plant its own CA that way. So on
//!   those systems the helper reads the distribution's CA bundle itself, from the fixed
//!   root-owned paths that `openssl-probe` knows (`SYSTEM_CA_FILES`, `SYSTEM_CA_DIRS`),
//!   and verifies with rustls' WebPKI verifier over exactly those roots, which is what the
//!   platform verifier does there minus the environment. cargo's `http.cainfo` is never read.
//!   ureq does not enable rustls' key log, so `SSLKEYLOGFILE` is not read either.
//! - **Timeouts**: `CONNECT_TIMEOUT` to connect, `CALL_TIMEOUT` for a whole index or API
//!   call, `UPLOAD_TIMEOUT` for a whole upload.
//! - **Bounded answers**: `API_LIMIT` for API answers and `config.json`, `INDEX_LIMIT` for
//!   an index file.
//!
//! The token is borrowed for each call and goes only into that request's `Authorization`
//! header, marked sensitive; the [`Client`] never holds it. No error message carries it: text
//! that comes from the registry has every occurrence of the token replaced before it is shown,
//! and hidden characters escaped (as in [`crate::text::escape`]).

mod checks;
mod wire;

use checks::*;
use wire::*;

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use ureq::http::{self, HeaderValue, Method, Uri};
use ureq::tls::{RootCerts, TlsConfig};
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{DefaultConnector, NextTimeout};

/// Where a crate's index file lives in a sparse index (cargo's layout: `1/a`, `2/ab`,
/// `3/a/abc`, `ab/cd/abcd…`), lowercased.
fn index_path(name: &str) -> String {
    let n = name.to_ascii_lowercase();
    match n.len() {
        1 => format!("1/{n}"),
        2 => format!("2/{n}"),
        3 => format!("3/{}/{n}", &n[..1]),
        _ => format!("{}/{}/{n}", &n[..2], &n[2..4]),
    }
}
/// How long to wait for a TCP (and TLS) connection to the registry.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long one index read or API call (other than the upload) may take, from start to end.
const CALL_TIMEOUT: Duration = Duration::from_secs(120);
/// How long the upload of one crate may take, from start to the registry's answer.
const UPLOAD_TIMEOUT: Duration = Duration::from_secs(600);
/// The largest API answer (and `config.json`) read.
const API_LIMIT: u64 = 1 << 20;
/// The largest index file read.
const INDEX_LIMIT: u64 = 10 << 20;

/// The CA bundles tried in order on Unixes other than macOS: the first that exists is read.
/// The same list as `openssl-probe`, without its `SSL_CERT_FILE`.
const SYSTEM_CA_FILES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/pki/tls/cacert.pem",
    "/etc/ssl/cert.pem",
    "/opt/etc/ssl/certs/ca-certificates.crt",
    "/etc/ssl/certs/cacert.pem",
    "/usr/local/etc/ssl/cert.pem",
    "/etc/openssl/certs/ca-certificates.crt",
];
/// Where single certificate files are read from when none of [`SYSTEM_CA_FILES`] exists.
/// The same list as `openssl-probe`, without its `SSL_CERT_DIR`.
const SYSTEM_CA_DIRS: &[&str] = &[
    "/etc/ssl/certs",
    "/etc/pki/tls/certs",
    "/etc/security/certificates",
];

/// What went wrong talking to a registry. No variant carries the token.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The index URL is a git index.
    #[error(
        "`{url}` is a git index; the helper publishes only to sparse registries. Configure the \
         registry's sparse index (`sparse+https://…/`) if it has one, or publish with `cargo \
         publish`"
    )]
    GitIndex {
        /// The index URL as given.
        url: String,
    },
    /// A URL the helper will not connect to, or cannot read.
    #[error("the {what} `{url}` is refused: {reason}")]
    Url {
        /// Which URL: "index URL", "API URL".
        what: &'static str,
        /// The URL (escaped).
        url: String,
        /// Why.
        reason: &'static str,
    },
    /// The registry wants a token for reading its index and none was given.
    #[error(
        "{url} needs a token to be read (the registry is `auth-required`) and none was given; \
         log in to this registry first"
    )]
    AuthRequired {
        /// What was read.
        url: String,
    },
    /// The token cannot be sent in an HTTP header.
    #[error(
        "the token holds characters that cannot go in an HTTP header (a line break or a \
         control character); log in to this registry again"
    )]
    BadToken,
    /// A crate name or version that cannot be part of a registry path.
    #[error("`{value}` is not a valid crate {what}")]
    Invalid {
        /// "name" or "version".
        what: &'static str,
        /// The value (escaped).
        value: String,
    },
    /// No system CA certificates were found.
    #[error(
        "no system CA certificates were found in {}, nor in {}; install the system's CA \
         certificates (the `ca-certificates` package)",
        SYSTEM_CA_FILES.join(", "),
        SYSTEM_CA_DIRS.join(", ")
    )]
    NoRoots,
    /// The connection or the exchange failed: DNS, TCP, TLS, a timeout, an oversized answer.
    #[error("{op} failed: {cause}. Check the network and the registry's URL, then try again")]
    Http {
        /// The method and URL.
        op: String,
        /// What ureq reported.
        cause: ureq::Error,
    },
    /// The registry answered with a redirect, which the helper does not follow.
    #[error(
        "{op}: the registry answered {status} with a redirect to `{location}`; the helper \
         follows no redirects. Configure the registry's final URL"
    )]
    Redirect {
        /// The method and URL.
        op: String,
        /// The HTTP status.
        status: u16,
        /// The `Location` header (escaped), or "(none)".
        location: String,
    },
    /// The registry refused the request.
    #[error("{op}: the registry answered {status}: {}. {}", details_text(.details), hint(*.status))]
    Registry {
        /// The method and URL.
        op: String,
        /// The HTTP status.
        status: u16,
        /// The registry's `errors[].detail` texts (escaped, token removed), or the start of
        /// its answer when it gave none.
        details: Vec<String>,
    },
    /// `config.json` is not what a registry serves.
    #[error("the registry's {url} {reason}; check the index URL")]
    Config {
        /// Its URL.
        url: String,
        /// What is wrong (escaped).
        reason: String,
    },
    /// An index file is not what a registry serves.
    #[error("the index file {url} {reason}")]
    Index {
        /// Its URL.
        url: String,
        /// What is wrong (escaped).
        reason: String,
    },
    /// The version did not appear in the index in time.
    #[error(
        "`{name} {vers}` did not appear in the index ({url}) within {} s{}. The registry \
         accepted the upload; look again later (`cargo info {name}@{vers}`) before publishing \
         anything that depends on it",
        .waited.as_secs(),
        .last.as_deref().map(|l| format!(" (last answer: {l})")).unwrap_or_default()
    )]
    NotInIndex {
        /// The crate.
        name: String,
        /// The version.
        vers: String,
        /// The index file's URL.
        url: String,
        /// How long the helper waited.
        waited: Duration,
        /// The last failed read, if the last read failed.
        last: Option<String>,
    },
}

fn details_text(details: &[String]) -> String {
    if details.is_empty() {
        "no reason given".to_string()
    } else {
        details.join("; ")
    }
}

fn hint(status: u16) -> &'static str {
    match status {
        401 | 403 => {
            "The registry refused the token: log in to this registry again, or check \
                      that the token may publish this crate"
        }
        429 => "The registry is limiting requests: wait, then try again",
        500..=599 => "The registry failed: try again later",
        _ => "Nothing was changed by this request",
    }
}

/// The line of one version in a sparse index file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexEntry {
    /// The sha256 of the `.crate`, lowercase hex, as the index lists it.
    pub(crate) cksum: String,
    /// Whether the version is yanked.
    yanked: bool,
}

use crate::request::OwnerChange;

/// The helper's own HTTP client for one registry: no proxy, no redirects, system roots only,
/// plain http only to loopback (see the module docs).
pub struct Client {
    agent: ureq::Agent,
    /// The index's base URL, without `sparse+`, ending in `/`.
    index: String,
    /// The `api` URL from `config.json`, without a trailing `/`.
    api: String,
    /// `config.json` said `auth-required`, or could be read only with the token.
    auth_required: bool,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("index", &self.index)
            .field("api", &self.api)
            .field("auth_required", &self.auth_required)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// For the registry whose index URL is `index_url` (`sparse+https://…/`, or
    /// `sparse+http://` only to loopback written as an address: `127.0.0.0/8`, `::1`). Git indexes are
    /// refused: only sparse registries are supported. Reads `config.json` from the index to
    /// learn the `api` URL, which must obey the same scheme rule (and be https when the index
    /// is); `token_for_index` is sent
    /// only if the registry answers 401 without it (`auth-required`), and then with every
    /// later index read.
    pub fn new(index_url: &str, token_for_index: Option<&str>) -> Result<Client, Error> {
        let index = index_base(index_url)?;
        let index_tls = index.starts_with("https://");
        let agent = agent(index_tls)?;
        let url = format!("{index}config.json");
        let mut auth_required = false;
        let (status, body) = match exchange(&agent, Method::GET, &url, None, (), CALL_TIMEOUT) {
            Ok((401, _)) => {
                let token = token_for_index.ok_or_else(|| Error::AuthRequired {
                    url: format!("the index's {url}"),
                })?;
                auth_required = true;
                exchange(&agent, Method::GET, &url, Some(token), (), CALL_TIMEOUT)?
            }
            other => other?,
        };
        let body = read_answer(&url, status, body, token_for_index, "GET")?;
        let config: serde_json::Value =
            serde_json::from_slice(&body).map_err(|e| Error::Config {
                url: url.clone(),
                reason: format!("is not JSON ({e})"),
            })?;
        auth_required |= config["auth-required"].as_bool() == Some(true);
        let api = match &config["api"] {
            serde_json::Value::String(api) => api.trim_end_matches('/').to_string(),
            serde_json::Value::Null => {
                return Err(Error::Config {
                    url,
                    reason: "names no `api` URL: this registry takes no uploads".into(),
                });
            }
            _ => {
                return Err(Error::Config {
                    url,
                    reason: "has an `api` that is not a string".into(),
                });
            }
        };
        let api_tls = check_url(&api, "API URL")?;
        if index_tls && !api_tls {
            // Plain text to a loopback port that some other local program may hold.
            return Err(Error::Url {
                what: "API URL",
                url: shown_url(&api),
                reason: "the index is served over https, so its API must be too",
            });
        }
        // The agent's roots are loaded only when some URL needs TLS.
        let agent = if api_tls && !index_tls {
            self::agent(true)?
        } else {
            agent
        };
        Ok(Client {
            agent,
            index,
            api,
            auth_required,
        })
    }

    /// The registry's `api` URL, as `config.json` names it, without a trailing `/`.
    #[cfg(test)]
    fn api(&self) -> &str {
        &self.api
    }

    /// `PUT {api}/api/v1/crates/new` with `Authorization: <token>` and `body` (cargo's publish
    /// body: the metadata JSON and the `.crate`, each after its length). Returns the registry's
    /// warnings, one a line, or its refusal with the HTTP status and its `errors[].detail`.
    pub fn publish(&self, token: &str, body: &[u8]) -> Result<Vec<String>, Error> {
        let url = format!("{}/api/v1/crates/new", self.api);
        let (status, answer) = exchange(
            &self.agent,
            Method::PUT,
            &url,
            Some(token),
            body,
            UPLOAD_TIMEOUT,
        )?;
        let answer = read_answer(&url, status, answer, Some(token), "PUT")?;
        Ok(warnings(&answer, token))
    }

    /// Polls the sparse index file of `name` until the line for `vers` appears or `timeout`
    /// passes, and returns that line's `cksum` and `yanked`. Each read asks caches in between
    /// for a fresh copy (`Cache-Control: no-cache`), as a CDN in front of an index may
    /// otherwise answer with the file as it was before the upload. The token is sent only to
    /// an `auth-required` registry.
    pub fn wait_for(
        &self,
        token_for_index: Option<&str>,
        name: &str,
        vers: &str,
        timeout: Duration,
    ) -> Result<IndexEntry, Error> {
        check_name(name)?;
        check_version(vers)?;
        let url = format!("{}{}", self.index, index_path(name));
        let start = Instant::now();
        let deadline = start + timeout;
        let mut pause = Duration::from_millis(200);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            // A failed connection, a busy or failing registry is tried again until the deadline;
            // a refusal is final.
            let last = match self.read_index(&url, token_for_index, left) {
                Ok(Some(file)) => match find_version(&url, &file, name, vers)? {
                    Some(entry) => return Ok(entry),
                    None => None,
                },
                Ok(None) => None,
                Err(
                    e @ (Error::Http { .. }
                    | Error::Registry {
                        status: 429 | 500..,
                        ..
                    }),
                ) => Some(e.to_string()),
                Err(e) => return Err(e),
            };
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Error::NotInIndex {
                    name: name.to_string(),
                    vers: vers.to_string(),
                    url,
                    waited: start.elapsed(),
                    last,
                });
            }
            std::thread::sleep(pause.min(left));
            pause = (pause * 2).min(Duration::from_secs(5));
        }
    }

    /// `DELETE {api}/api/v1/crates/{name}/{vers}/yank`.
    pub fn yank(&self, token: &str, name: &str, vers: &str) -> Result<(), Error> {
        self.set_yanked(token, name, vers, Method::DELETE, "yank")
    }

    /// `PUT {api}/api/v1/crates/{name}/{vers}/unyank`.
    pub(crate) fn unyank(&self, token: &str, name: &str, vers: &str) -> Result<(), Error> {
        self.set_yanked(token, name, vers, Method::PUT, "unyank")
    }

    /// `GET`, `PUT` or `DELETE {api}/api/v1/crates/{name}/owners`: lists the owners' logins,
    /// or adds or removes `users` and returns the registry's message.
    pub(crate) fn owners(
        &self,
        token: &str,
        name: &str,
        change: &OwnerChange,
    ) -> Result<Vec<String>, Error> {
        check_name(name)?;
        let url = format!("{}/api/v1/crates/{name}/owners", self.api);
        let (method, users) = match change {
            OwnerChange::List => (Method::GET, None),
            OwnerChange::Add(u) => (Method::PUT, Some(u)),
            OwnerChange::Remove(u) => (Method::DELETE, Some(u)),
        };
        let m = method.to_string();
        let (status, answer) = match users {
            None => exchange(&self.agent, method, &url, Some(token), (), CALL_TIMEOUT)?,
            Some(users) => {
                let body = serde_json::json!({ "users": users })
                    .to_string()
                    .into_bytes();
                exchange(
                    &self.agent,
                    method,
                    &url,
                    Some(token),
                    &body[..],
                    CALL_TIMEOUT,
                )?
            }
        };
        let body = read_answer(&url, status, answer, Some(token), &m)?;
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        let shown = |s: &str| crate::text::escape(s).text;
        Ok(match change {
            OwnerChange::List => v["users"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|u| {
                            let login = shown(u["login"].as_str().unwrap_or("?"));
                            match u["name"].as_str() {
                                Some(n) => format!("{login} ({})", shown(n)),
                                None => login,
                            }
                        })
                        .collect()
                })
                .unwrap_or_default(),
            _ => v["msg"].as_str().map(shown).into_iter().collect(),
        })
    }

    fn set_yanked(
        &self,
        token: &str,
        name: &str,
        vers: &str,
        method: Method,
        what: &str,
    ) -> Result<(), Error> {
        check_name(name)?;
        check_version(vers)?;
        let url = format!("{}/api/v1/crates/{name}/{vers}/{what}", self.api);
        let m = method.to_string();
        let (status, answer) = if method == Method::PUT {
            exchange(
                &self.agent,
                method,
                &url,
                Some(token),
                &[][..],
                CALL_TIMEOUT,
            )?
        } else {
            exchange(&self.agent, method, &url, Some(token), (), CALL_TIMEOUT)?
        };
        read_answer(&url, status, answer, Some(token), &m)?;
        Ok(())
    }

    /// One read of an index file: `Some(text)`, or `None` while it does not exist (404, 410
    /// and 451, as cargo reads them).
    fn read_index(
        &self,
        url: &str,
        token: Option<&str>,
        left: Duration,
    ) -> Result<Option<Vec<u8>>, Error> {
        let timeout = left.clamp(Duration::from_secs(5), CALL_TIMEOUT);
        let send_token = if self.auth_required {
            Some(token.ok_or_else(|| Error::AuthRequired {
                url: url.to_string(),
            })?)
        } else {
            None
        };
        let (mut status, mut answer) = index_get(&self.agent, url, send_token, timeout)?;
        if status == 401 && send_token.is_none() {
            let token = token.ok_or_else(|| Error::AuthRequired {
                url: url.to_string(),
            })?;
            (status, answer) = index_get(&self.agent, url, Some(token), timeout)?;
        }
        match status {
            404 | 410 | 451 => Ok(None),
            _ => read_answer(url, status, answer, token, "GET").map(Some),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cargo_confirm_gui_testkit::{Options, Registry};
    use sha2::{Digest, Sha256};
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;
    use std::sync::{Arc, Mutex};

    const TOKEN: &str = "cio-Secret-4f1d9a";

    /// cargo's publish body: the metadata JSON and the `.crate`, each after its u32 LE length.
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

    fn registry(auth_required: bool, refuse: Option<&str>) -> Registry {
        Registry::start(Options {
            token: Some(TOKEN.into()),
            auth_required,
            refuse: refuse.map(str::to_string),
        })
        .expect("registry")
    }

    fn sha256_hex(bytes: &[u8]) -> String {
        Sha256::digest(bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Neither the message nor the Debug form of `e` holds the token.
    fn assert_no_token(e: &Error, token: &str) {
        assert!(!e.to_string().contains(token), "{e}");
        assert!(!format!("{e:?}").contains(token), "{e:?}");
    }

    #[test]
    fn publish_then_wait_for_gives_the_checksum_of_the_uploaded_bytes() {
        let r = registry(false, None);
        let client = Client::new(&r.index_url(), None).unwrap();
        assert_eq!(client.api(), r.url);
        let crate_bytes = b"not really a gzip, but bytes all the same".repeat(1000);
        let warnings = client
            .publish(TOKEN, &publish_body("Foo_bar", "0.1.0", &crate_bytes))
            .unwrap();
        assert_eq!(warnings, Vec::<String>::new());
        let entry = client
            .wait_for(None, "Foo_bar", "0.1.0", Duration::from_secs(5))
            .unwrap();
        assert_eq!(
            entry,
            IndexEntry {
                cksum: sha256_hex(&crate_bytes),
                yanked: false
            }
        );
        assert_eq!(r.uploads().len(), 1);
        assert_eq!(r.uploads()[0].bytes, crate_bytes);
        let mutations = r.mutations();
        assert_eq!(mutations.len(), 1);
        assert_eq!(
            (mutations[0].method.as_str(), mutations[0].path.as_str()),
            ("PUT", "/api/v1/crates/new")
        );
        assert_eq!(mutations[0].authorization.as_deref(), Some(TOKEN));
        // The index was read without the token: this registry does not require one.
        assert!(
            r.hits()
                .iter()
                .filter(|h| !h.path.starts_with("/api/"))
                .all(|h| h.authorization.is_none()),
            "{:?}",
            r.hits()
        );
    }

    #[test]
    fn yank_and_unyank_reach_the_api_with_the_token() {
        let r = registry(false, None);
        let client = Client::new(&r.index_url(), None).unwrap();
        client.yank(TOKEN, "foo", "1.2.3-rc.1").unwrap();
        client.unyank(TOKEN, "foo", "1.2.3-rc.1").unwrap();
        let seen: Vec<(String, String, Option<String>, u16)> = r
            .mutations()
            .into_iter()
            .map(|h| (h.method, h.path, h.authorization, h.status))
            .collect();
        assert_eq!(
            seen,
            vec![
                (
                    "DELETE".into(),
                    "/api/v1/crates/foo/1.2.3-rc.1/yank".into(),
                    Some(TOKEN.into()),
                    200
                ),
                (
                    "PUT".into(),
                    "/api/v1/crates/foo/1.2.3-rc.1/unyank".into(),
                    Some(TOKEN.into()),
                    200
                ),
            ]
        );
        // A name or version that could leave its path segment is refused before sending.
        for (name, vers) in [("../foo", "1.0.0"), ("foo", "1.0.0/../../x"), ("", "1.0.0")] {
            let e = client.yank(TOKEN, name, vers).unwrap_err();
            assert!(matches!(e, Error::Invalid { .. }), "{e:?}");
        }
        assert_eq!(r.mutations().len(), 2);
    }

    #[test]
    fn a_wrong_token_gives_the_registrys_reason_and_not_the_token() {
        let r = registry(false, None);
        let client = Client::new(&r.index_url(), None).unwrap();
        let wrong = "cio-Wrong-77e0c1";
        let e = client
            .publish(wrong, &publish_body("foo", "0.1.0", b"x"))
            .unwrap_err();
        assert!(
            matches!(&e, Error::Registry { status: 403, details, .. }
                if details == &["missing or wrong token".to_string()]),
            "{e:?}"
        );
        let msg = e.to_string();
        assert!(msg.contains("403"), "{msg}");
        assert!(msg.contains("log in to this registry again"), "{msg}");
        assert_no_token(&e, wrong);
        let e = client.yank(wrong, "foo", "0.1.0").unwrap_err();
        assert!(matches!(e, Error::Registry { status: 403, .. }), "{e:?}");
        assert_no_token(&e, wrong);
        assert!(r.uploads().is_empty());
    }

    #[test]
    fn a_refused_crate_gives_the_registrys_reason_and_not_the_token() {
        let r = registry(false, Some("nope"));
        let client = Client::new(&r.index_url(), None).unwrap();
        let e = client
            .publish(TOKEN, &publish_body("nope", "1.0.0", b"x"))
            .unwrap_err();
        assert!(
            matches!(&e, Error::Registry { status: 400, details, .. }
                if details == &["crate `nope` is refused by this registry".to_string()]),
            "{e:?}"
        );
        assert!(
            e.to_string()
                .contains("crate `nope` is refused by this registry"),
            "{e}"
        );
        assert_no_token(&e, TOKEN);
        assert!(r.uploads().is_empty());
    }

    #[test]
    fn registry_text_is_shown_without_the_token_and_with_hidden_characters_escaped() {
        let body = format!(
            r#"{{"errors":[{{"detail":"token {TOKEN} is bad\u001b[2J"}},{{"detail":7}}]}}"#
        );
        assert_eq!(
            errors(body.as_bytes(), Some(TOKEN)),
            vec![
                "token [token] is bad\\u{1B}[2J".to_string(),
                "7".to_string()
            ]
        );
        let html = format!("<html>{TOKEN}\n{}</html>", "x".repeat(400));
        let shown = errors(html.as_bytes(), Some(TOKEN));
        assert_eq!(shown.len(), 1);
        assert!(shown[0].starts_with("<html>[token]\\nxxx"), "{shown:?}");
        assert!(shown[0].ends_with('…'), "{shown:?}");
        let w = warnings(
            br#"{"warnings":{"invalid_categories":["a","b"],"invalid_badges":[],"other":["be careful"]}}"#,
            TOKEN,
        );
        assert_eq!(
            w,
            vec![
                "not a valid category slug, ignored: a",
                "not a valid category slug, ignored: b",
                "be careful"
            ]
        );
    }

    #[test]
    fn an_auth_required_registry_is_read_with_the_token() {
        let r = registry(true, None);
        let e = Client::new(&r.index_url(), None).unwrap_err();
        assert!(matches!(e, Error::AuthRequired { .. }), "{e:?}");
        assert!(e.to_string().contains("log in"), "{e}");

        let client = Client::new(&r.index_url(), Some(TOKEN)).unwrap();
        let config_reads: Vec<Option<String>> = r
            .hits()
            .into_iter()
            .filter(|h| h.path == "/index/config.json")
            .map(|h| h.authorization)
            .collect();
        // Without, then (answered 401) once more without by the second `new`, then with.
        assert_eq!(config_reads, vec![None, None, Some(TOKEN.into())]);

        client
            .publish(TOKEN, &publish_body("abc", "2.0.0", b"abc bytes"))
            .unwrap();
        let e = client
            .wait_for(None, "abc", "2.0.0", Duration::from_secs(5))
            .unwrap_err();
        assert!(matches!(e, Error::AuthRequired { .. }), "{e:?}");
        let entry = client
            .wait_for(Some(TOKEN), "abc", "2.0.0", Duration::from_secs(5))
            .unwrap();
        assert_eq!(entry.cksum, sha256_hex(b"abc bytes"));
        let index_reads: Vec<_> = r
            .hits()
            .into_iter()
            .filter(|h| h.path == "/index/3/a/abc")
            .collect();
        assert_eq!(index_reads.len(), 1, "{index_reads:?}");
        assert_eq!(index_reads[0].authorization.as_deref(), Some(TOKEN));
        assert_eq!(index_reads[0].status, 200);
    }

    #[test]
    fn plain_http_beyond_loopback_and_git_indexes_are_refused_before_any_connection() {
        for url in [
            "sparse+http://example.com/index/",
            "sparse+http://10.0.0.1:8080/index/",
            "sparse+http://[::ffff:127.0.0.1]/index/",
            "sparse+http://localhost.example.com/",
            "sparse+http://127.0.0.1.nip.io/",
            "sparse+ftp://127.0.0.1/index/",
            "sparse+https://user:pw-8812@example.com/index/",
            "sparse+https://example.com/index/?x=1",
            "sparse+not a url",
            "crates-io",
        ] {
            let e = Client::new(url, Some(TOKEN)).unwrap_err();
            assert!(matches!(e, Error::Url { .. }), "{url}: {e:?}");
            assert_no_token(&e, "pw-8812");
        }
        let e = Client::new("https://me:hunter2@example.com/index.git", None).unwrap_err();
        assert_no_token(&e, "hunter2");
        assert!(
            e.to_string()
                .contains("`https://***@example.com/index.git`"),
            "{e}"
        );
        for url in [
            "https://github.com/rust-lang/crates.io-index",
            "git+https://example.com/index.git",
            "registry+https://github.com/rust-lang/crates.io-index",
            "ssh://git@example.com/index.git",
            "file:///srv/index",
            "http://127.0.0.1/index",
        ] {
            let e = Client::new(url, None).unwrap_err();
            assert!(matches!(e, Error::GitIndex { .. }), "{url}: {e:?}");
            assert!(e.to_string().contains("only to sparse registries"), "{e}");
        }
        for url in [
            "sparse+http://127.0.0.1:1/",
            "sparse+http://127.9.8.7:1/",
            "sparse+http://[::1]:1/",
            "sparse+https://index.crates.io/",
        ] {
            assert!(index_base(url).is_ok(), "{url}");
        }
        // Review of "Publish through the helper": `localhost` may mean ::1 to cargo and
        // 127.0.0.1 here, where a program of the user's can listen instead.
        assert!(index_base("sparse+http://LocalHost:1/").is_err());
        assert_eq!(
            index_base("sparse+http://127.0.0.1:1/index").unwrap(),
            "http://127.0.0.1:1/index/"
        );
    }

    /// A server on 127.0.0.1 that answers each request with `answer(request head)` and
    /// records the heads it saw.
    struct Canned {
        url: String,
        heads: Arc<Mutex<Vec<String>>>,
    }

    impl Canned {
        fn start(answer: impl Fn(&str) -> String + Send + 'static) -> Canned {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let url = format!("http://{}", listener.local_addr().unwrap());
            let heads = Arc::new(Mutex::new(Vec::new()));
            let seen = heads.clone();
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    let Ok(mut stream) = stream else { return };
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    let mut head = String::new();
                    loop {
                        let mut line = String::new();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                            break;
                        }
                        head.push_str(&line);
                    }
                    let len = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|n| n.trim().parse::<u64>().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    let _ = std::io::copy(&mut (&mut reader).take(len), &mut std::io::sink());
                    let reply = answer(&head);
                    seen.lock().unwrap().push(head);
                    let _ = stream.write_all(reply.as_bytes());
                }
            });
            Canned { url, heads }
        }

        fn heads(&self) -> Vec<String> {
            self.heads.lock().unwrap().clone()
        }
    }

    fn reply(status: &str, extra: &str, body: &str) -> String {
        format!(
            "HTTP/1.1 {status}\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    }

    #[test]
    fn an_api_url_beyond_loopback_over_plain_http_is_refused() {
        for api in [
            "http://example.com",
            "ftp://127.0.0.1",
            "http://10.1.2.3:80",
        ] {
            let config = serde_json::json!({ "dl": "x", "api": api }).to_string();
            let server = Canned::start(move |_| reply("200 OK", "", &config));
            let e = Client::new(&format!("sparse+{}/", server.url), None).unwrap_err();
            assert!(
                matches!(
                    e,
                    Error::Url {
                        what: "API URL",
                        ..
                    }
                ),
                "{api}: {e:?}"
            );
        }
        let server = Canned::start(|_| reply("200 OK", "", r#"{"dl":"x"}"#));
        let e = Client::new(&format!("sparse+{}/", server.url), None).unwrap_err();
        assert!(e.to_string().contains("takes no uploads"), "{e}");
    }

    #[test]
    fn redirects_are_not_followed() {
        let elsewhere = Canned::start(|_| reply("200 OK", "", "{}"));
        let target = elsewhere.url.clone();
        let server = Canned::start(move |head| {
            if head.starts_with("GET /config.json") {
                let host = head
                    .lines()
                    .find_map(|l| l.strip_prefix("host:").or(l.strip_prefix("Host:")))
                    .unwrap_or("");
                let me = format!("http://{}", host.trim());
                reply("200 OK", "", &serde_json::json!({ "api": me }).to_string())
            } else {
                reply(
                    "307 Temporary Redirect",
                    &format!("Location: {target}/api/v1/crates/new\r\n"),
                    "",
                )
            }
        });
        let client = Client::new(&format!("sparse+{}/", server.url), None).unwrap();
        let e = client
            .publish(TOKEN, &publish_body("foo", "0.1.0", b"x"))
            .unwrap_err();
        assert!(matches!(e, Error::Redirect { status: 307, .. }), "{e:?}");
        assert!(e.to_string().contains(&elsewhere.url), "{e}");
        assert!(elsewhere.heads().is_empty(), "{:?}", elsewhere.heads());
        let e = client
            .wait_for(None, "foo", "0.1.0", Duration::from_secs(1))
            .unwrap_err();
        assert!(matches!(e, Error::Redirect { .. }), "{e:?}");
        assert!(elsewhere.heads().is_empty(), "{:?}", elsewhere.heads());
    }

    #[test]
    fn index_reads_ask_for_a_fresh_copy_and_carry_no_token() {
        let line = serde_json::json!({
            "name": "serde", "vers": "1.0.0", "deps": [], "features": {},
            "cksum": "AB".repeat(32), "yanked": true,
        });
        let file = format!("not json\n{line}\n");
        let server = Canned::start(move |head| {
            if head.starts_with("GET /config.json") {
                reply("200 OK", "", r#"{"api":"http://127.0.0.1:9"}"#)
            } else if head.starts_with("GET /se/rd/serde") {
                reply("200 OK", "", &file)
            } else {
                reply("404 Not Found", "", "")
            }
        });
        let client = Client::new(&format!("sparse+{}", server.url), None).unwrap();
        let entry = client
            .wait_for(Some(TOKEN), "Serde", "1.0.0", Duration::from_secs(5))
            .unwrap();
        assert_eq!(
            entry,
            IndexEntry {
                cksum: "ab".repeat(32),
                yanked: true
            }
        );
        let heads = server.heads();
        let read = heads
            .iter()
            .find(|h| h.starts_with("GET /se/rd/serde "))
            .unwrap();
        let read = read.to_ascii_lowercase();
        assert!(read.contains("\r\ncache-control: no-cache\r\n"), "{read}");
        assert!(!read.contains("authorization"), "{read}");
    }

    #[test]
    fn wait_for_times_out_when_the_version_never_appears() {
        let r = registry(false, None);
        let client = Client::new(&r.index_url(), None).unwrap();
        client
            .publish(TOKEN, &publish_body("late", "1.0.0", b"x"))
            .unwrap();
        let start = Instant::now();
        let e = client
            .wait_for(None, "late", "1.0.1", Duration::from_millis(1500))
            .unwrap_err();
        let waited = start.elapsed();
        assert!(
            matches!(&e, Error::NotInIndex { name, vers, last: None, .. }
                if name == "late" && vers == "1.0.1"),
            "{e:?}"
        );
        assert!(
            e.to_string()
                .starts_with("`late 1.0.1` did not appear in the index"),
            "{e}"
        );
        assert!(
            waited >= Duration::from_millis(1500) && waited < Duration::from_secs(4),
            "{waited:?}"
        );
        // A crate with no index file at all (404) times out the same way.
        let e = client
            .wait_for(None, "never", "1.0.0", Duration::from_millis(300))
            .unwrap_err();
        assert!(matches!(e, Error::NotInIndex { .. }), "{e:?}");
        assert!(
            r.hits()
                .iter()
                .filter(|h| h.path == "/index/la/te/late")
                .count()
                >= 3
        );
    }

    #[test]
    fn plain_http_connects_only_to_loopback_even_past_the_url_check() {
        let agent = agent(false).unwrap();
        let e = agent.get("http://example.com/").call().unwrap_err();
        assert!(matches!(e, ureq::Error::BadUri(_)), "{e:?}");
        let server = Canned::start(|_| reply("200 OK", "", "hi"));
        let port = server.url.rsplit(':').next().unwrap();
        let e = agent
            .get(format!("http://localhost:{port}/"))
            .call()
            .unwrap_err();
        assert!(matches!(e, ureq::Error::BadUri(_)), "{e:?}");
        let mut r = agent
            .get(format!("http://127.0.0.1:{port}/"))
            .call()
            .unwrap();
        assert_eq!(r.body_mut().read_to_string().unwrap(), "hi");
        // And https through an agent built for loopback only trusts nothing.
        let e = agent
            .get(format!("https://127.0.0.1:{port}/"))
            .call()
            .unwrap_err();
        assert!(!matches!(e, ureq::Error::BadUri(_)), "{e:?}");
    }

    #[test]
    fn answers_are_read_with_a_limit() {
        let big = "x".repeat(API_LIMIT as usize + 1);
        let server = Canned::start(move |_| reply("200 OK", "", &big));
        let e = Client::new(&format!("sparse+{}/", server.url), None).unwrap_err();
        assert!(
            matches!(
                e,
                Error::Http {
                    cause: ureq::Error::BodyExceedsLimit(_),
                    ..
                }
            ),
            "{e:?}"
        );
    }

    #[cfg(all(unix, not(target_vendor = "apple"), not(target_os = "android")))]
    #[test]
    fn system_roots_are_read_from_the_fixed_paths() {
        if SYSTEM_CA_FILES
            .iter()
            .any(|p| std::path::Path::new(p).is_file())
        {
            let roots = system_roots().unwrap();
            assert!(
                matches!(&roots, RootCerts::Specific(c) if c.len() > 10),
                "too few roots"
            );
        }
    }
}
