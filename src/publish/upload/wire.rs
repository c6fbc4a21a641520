//! The registry's wire: one request and its bounded answer, the index's entries, and
//! what of the registry's words may be shown (never the token).

use super::*;

/// A response not yet read: its status, `Location` and body reader.
pub(super) struct Answer {
    pub(super) location: Option<String>,
    pub(super) body: ureq::Body,
    pub(super) limit: u64,
}

pub(super) fn index_get(
    agent: &ureq::Agent,
    url: &str,
    token: Option<&str>,
    timeout: Duration,
) -> Result<(u16, Answer), Error> {
    let mut request = http::Request::get(url)
        .header("Accept", "text/plain")
        .header("Cache-Control", "no-cache")
        // As cargo sends: a server may serve the sparse protocol only to those that ask.
        .header("cargo-protocol", "version=1")
        .body(())
        .map_err(|e| http_error("GET", url, e.into()))?;
    if let Some(token) = token {
        request
            .headers_mut()
            .insert("Authorization", sensitive(token)?);
    }
    let request = agent
        .configure_request(request)
        .timeout_global(Some(timeout))
        .build();
    send(agent, "GET", url, request, INDEX_LIMIT)
}

/// Sends one request with the token (if any) in `Authorization` and `Accept:
/// application/json`, as cargo's registry client does, and returns the status and the answer
/// still to be read.
pub(super) fn exchange(
    agent: &ureq::Agent,
    method: Method,
    url: &str,
    token: Option<&str>,
    body: impl ureq::AsSendBody,
    timeout: Duration,
) -> Result<(u16, Answer), Error> {
    let m = method.to_string();
    let mut request = http::Request::builder()
        .method(method)
        .uri(url)
        .header("Accept", "application/json")
        .body(body)
        .map_err(|e| http_error(&m, url, e.into()))?;
    if m == "PUT" {
        // cargo sends this with every API call, the publish included.
        request
            .headers_mut()
            .insert("Content-Type", HeaderValue::from_static("application/json"));
    }
    if let Some(token) = token {
        request
            .headers_mut()
            .insert("Authorization", sensitive(token)?);
    }
    let request = agent
        .configure_request(request)
        .timeout_global(Some(timeout))
        .build();
    send(agent, &m, url, request, API_LIMIT)
}

pub(super) fn send(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    request: http::Request<impl ureq::AsSendBody>,
    limit: u64,
) -> Result<(u16, Answer), Error> {
    let response = agent.run(request).map_err(|e| http_error(method, url, e))?;
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get("Location")
        .map(|l| String::from_utf8_lossy(l.as_bytes()).into_owned());
    Ok((
        status,
        Answer {
            location,
            body: response.into_body(),
            limit,
        },
    ))
}

/// Reads a 2xx answer's body; anything else becomes an [`Error`] that says what the registry
/// said, without the token.
pub(super) fn read_answer(
    url: &str,
    status: u16,
    mut answer: Answer,
    token: Option<&str>,
    method: &str,
) -> Result<Vec<u8>, Error> {
    let op = format!("{method} {url}");
    if (300..400).contains(&status) {
        return Err(Error::Redirect {
            op,
            status,
            location: answer
                .location
                .map(|l| shown(&l, token))
                .unwrap_or_else(|| "(none)".into()),
        });
    }
    let body = answer.body.with_config().limit(answer.limit).read_to_vec();
    if !(200..300).contains(&status) {
        let details = body.map(|b| errors(&b, token)).unwrap_or_default();
        return Err(Error::Registry {
            op,
            status,
            details,
        });
    }
    let body = body.map_err(|cause| Error::Http {
        op: op.clone(),
        cause,
    })?;
    // Like cargo: an `errors` list is a refusal even with a 200.
    let details = errors(&body, token);
    if serde_json::from_slice::<serde_json::Value>(&body)
        .is_ok_and(|v| v["errors"].as_array().is_some_and(|e| !e.is_empty()))
    {
        return Err(Error::Registry {
            op,
            status,
            details,
        });
    }
    Ok(body)
}

/// The registry's reasons: each `errors[].detail`, or the start of the answer when it is not
/// that shape.
pub(super) fn errors(body: &[u8], token: Option<&str>) -> Vec<String> {
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(body)
        && let Some(errors) = v["errors"].as_array()
    {
        return errors
            .iter()
            .map(|e| match &e["detail"] {
                serde_json::Value::String(d) => shown(d, token),
                other => shown(&other.to_string(), token),
            })
            .collect();
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return Vec::new();
    }
    let cut: String = text.chars().take(300).collect();
    let more = if cut.len() < text.len() { "…" } else { "" };
    vec![format!("{}{more}", shown(&cut, token))]
}

/// The `warnings` object of a publish answer, one line per warning.
pub(super) fn warnings(body: &[u8], token: &str) -> Vec<String> {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else {
        return if body.iter().all(u8::is_ascii_whitespace) {
            Vec::new()
        } else {
            vec!["the registry accepted the upload but its answer was not JSON".into()]
        };
    };
    let Some(warnings) = v["warnings"].as_object() else {
        return Vec::new();
    };
    let mut lines = Vec::new();
    for (kind, list) in warnings {
        let prefix = match kind.as_str() {
            "invalid_categories" => "not a valid category slug, ignored: ".to_string(),
            "invalid_badges" => "not a valid badge, ignored: ".to_string(),
            "other" => String::new(),
            other => format!("{}: ", shown(other, Some(token))),
        };
        let items: Vec<&serde_json::Value> = match list {
            serde_json::Value::Array(a) => a.iter().collect(),
            serde_json::Value::Null => Vec::new(),
            v => vec![v],
        };
        for item in items {
            let text = match item {
                serde_json::Value::String(s) => s.clone(),
                v => v.to_string(),
            };
            lines.push(format!("{prefix}{}", shown(&text, Some(token))));
        }
    }
    lines
}

/// The line for `vers` in an index file, if it is there.
pub(super) fn find_version(
    url: &str,
    file: &[u8],
    name: &str,
    vers: &str,
) -> Result<Option<IndexEntry>, Error> {
    let wanted = semver::Version::parse(vers).ok();
    for line in file.split(|b| *b == b'\n') {
        // A line this version of the helper cannot read is skipped, as cargo skips it.
        let Ok(v) = serde_json::from_slice::<serde_json::Value>(line) else {
            continue;
        };
        let (Some(n), Some(ve)) = (v["name"].as_str(), v["vers"].as_str()) else {
            continue;
        };
        let same = ve == vers
            || matches!((&wanted, semver::Version::parse(ve)), (Some(w), Ok(ve)) if *w == ve);
        if !n.eq_ignore_ascii_case(name) || !same {
            continue;
        }
        let cksum = v["cksum"]
            .as_str()
            .filter(|c| c.len() == 64 && c.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| Error::Index {
                url: url.to_string(),
                reason: format!("lists `{name} {vers}` without a valid sha256 `cksum`"),
            })?;
        return Ok(Some(IndexEntry {
            cksum: cksum.to_ascii_lowercase(),
            yanked: v["yanked"].as_bool().unwrap_or(false),
        }));
    }
    Ok(None)
}

/// Registry text made safe to show: hidden characters escaped, the token cut out.
pub(super) fn shown(text: &str, token: Option<&str>) -> String {
    let text = match token {
        Some(t) if !t.is_empty() => text.replace(t, "[token]"),
        _ => text.to_string(),
    };
    crate::text::escape(&text).text
}

/// A URL made safe to show: a user name or password in it is replaced.
pub(super) fn shown_url(url: &str) -> String {
    let Some(start) = url.find("://").map(|i| i + 3) else {
        return shown(url, None);
    };
    let end = url[start..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| start + i);
    match url[start..end].rfind('@') {
        Some(at) => shown(&format!("{}***{}", &url[..start], &url[start + at..]), None),
        None => shown(url, None),
    }
}

pub(super) fn sensitive(token: &str) -> Result<HeaderValue, Error> {
    let mut value = HeaderValue::from_str(token).map_err(|_| Error::BadToken)?;
    value.set_sensitive(true);
    Ok(value)
}

pub(super) fn http_error(method: &str, url: &str, cause: ureq::Error) -> Error {
    Error::Http {
        op: format!("{method} {url}"),
        cause,
    }
}
