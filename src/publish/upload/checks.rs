//! What the uploader accepts before it connects: crate names and versions, the index and
//! API URLs (plain http only to loopback), and its own TLS agent with the system's roots.

use super::*;

pub(super) fn check_name(name: &str) -> Result<(), Error> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(Error::Invalid {
            what: "name",
            value: shown(name, None),
        })
    }
}

pub(super) fn check_version(vers: &str) -> Result<(), Error> {
    // A semver version has only `[0-9A-Za-z.+-]`: nothing that can leave its path segment.
    match semver::Version::parse(vers) {
        Ok(_) => Ok(()),
        Err(_) => Err(Error::Invalid {
            what: "version",
            value: shown(vers, None),
        }),
    }
}

/// The index URL without `sparse+`, ending in `/`, after the scheme rule.
pub(super) fn index_base(index_url: &str) -> Result<String, Error> {
    let Some(rest) = index_url.strip_prefix("sparse+") else {
        if index_url.starts_with("http://")
            || index_url.starts_with("https://")
            || index_url.starts_with("git+")
            || index_url.starts_with("registry+")
            || index_url.starts_with("ssh://")
            || index_url.starts_with("file://")
        {
            return Err(Error::GitIndex {
                url: shown_url(index_url),
            });
        }
        return Err(Error::Url {
            what: "index URL",
            url: shown_url(index_url),
            reason: "it is not a sparse index URL (`sparse+https://…/`)",
        });
    };
    check_url(rest, "index URL")?;
    let mut base = rest.to_string();
    if !base.ends_with('/') {
        base.push('/');
    }
    Ok(base)
}

/// Whether `url` may be used, and whether it needs TLS: `https://`, or `http://` to a
/// loopback host; no user name or password, no query, no fragment.
pub(super) fn check_url(url: &str, what: &'static str) -> Result<bool, Error> {
    let refuse = |reason| Error::Url {
        what,
        url: shown_url(url),
        reason,
    };
    if url.contains('#') {
        return Err(refuse("it has a fragment"));
    }
    let uri: Uri = url.parse().map_err(|_| refuse("it is not a URL"))?;
    let authority = uri.authority().ok_or_else(|| refuse("it names no host"))?;
    if authority.as_str().contains('@') {
        return Err(refuse("it holds a user name or password"));
    }
    if uri.query().is_some() {
        return Err(refuse("it has a query"));
    }
    match uri.scheme_str() {
        Some("https") => Ok(true),
        Some("http") if loopback(authority.host()).is_some() => Ok(false),
        Some("http") => Err(refuse(
            "plain http is allowed only to a loopback address written out (127.0.0.1, [::1]; \
             not localhost, which may mean either); use https",
        )),
        _ => Err(refuse("only https (or http to loopback) is allowed")),
    }
}

/// The loopback addresses `host` stands for, if it is a loopback host.
pub(super) fn loopback(host: &str) -> Option<Vec<IpAddr>> {
    // Not `localhost`: which address it means first differs between systems, and a program
    // of the user's can listen on the other one (review of "Publish through the helper").
    let ip: IpAddr = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host)
        .parse()
        .ok()?;
    ip.is_loopback().then(|| vec![ip])
}

/// Resolves `https` names with the system resolver and `http` hosts only to loopback, without
/// the system resolver: the scheme rule, again at the moment of connecting.
#[derive(Debug, Default)]
pub(super) struct LoopbackForHttp(DefaultResolver);

impl Resolver for LoopbackForHttp {
    fn resolve(
        &self,
        uri: &Uri,
        config: &ureq::config::Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        if uri.scheme_str() == Some("https") {
            return self.0.resolve(uri, config, timeout);
        }
        let host = uri.host().unwrap_or("");
        let port = uri.port_u16().unwrap_or(80);
        let ips = loopback(host).ok_or_else(|| {
            ureq::Error::BadUri("plain http is allowed only to loopback".to_string())
        })?;
        let mut out = self.empty();
        for ip in ips {
            out.push(SocketAddr::new(ip, port));
        }
        Ok(out)
    }
}

/// An agent with no proxy, no redirects, no error for a status (the caller reads the
/// registry's reasons), and TLS roots only when `tls`.
pub(super) fn agent(tls: bool) -> Result<ureq::Agent, Error> {
    let roots = if tls {
        system_roots()?
    } else {
        // Nothing is trusted: no https connection can succeed through this agent.
        RootCerts::new_with_certs(&[])
    };
    let config = ureq::Agent::config_builder()
        .proxy(None)
        .max_redirects(0)
        .max_redirects_will_error(false)
        .http_status_as_error(false)
        .https_only(false)
        .timeout_connect(Some(CONNECT_TIMEOUT))
        .timeout_global(Some(CALL_TIMEOUT))
        .user_agent(concat!("cargo-confirm-gui/", env!("CARGO_PKG_VERSION")))
        .tls_config(TlsConfig::builder().root_certs(roots).build())
        .build();
    Ok(ureq::Agent::with_parts(
        config,
        DefaultConnector::default(),
        LoopbackForHttp::default(),
    ))
}

/// The OS trust store through the platform verifier, which reads no environment here.
#[cfg(any(not(unix), target_vendor = "apple", target_os = "android"))]
pub(super) fn system_roots() -> Result<RootCerts, Error> {
    Ok(RootCerts::PlatformVerifier)
}

/// The distribution's CA bundle from its fixed path, never from `SSL_CERT_FILE` or
/// `SSL_CERT_DIR` (which the platform verifier would read here).
#[cfg(all(unix, not(target_vendor = "apple"), not(target_os = "android")))]
pub(super) fn system_roots() -> Result<RootCerts, Error> {
    fn read(path: &std::path::Path, certs: &mut Vec<ureq::tls::Certificate<'static>>) {
        let Ok(pem) = std::fs::read(path) else {
            return;
        };
        for item in ureq::tls::parse_pem(&pem).flatten() {
            if let ureq::tls::PemItem::Certificate(c) = item {
                certs.push(c);
            }
        }
    }
    let mut certs = Vec::new();
    if let Some(file) = SYSTEM_CA_FILES
        .iter()
        .map(std::path::Path::new)
        .find(|p| p.is_file())
    {
        read(file, &mut certs);
    }
    if certs.is_empty() {
        for dir in SYSTEM_CA_DIRS {
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            for entry in entries.flatten() {
                read(&entry.path(), &mut certs);
            }
        }
    }
    if certs.is_empty() {
        return Err(Error::NoRoots);
    }
    Ok(RootCerts::new_with_certs(&certs))
}
