//! Our short loop over cargo-credential's public types.
//!
//! `cargo_credential::main` re-points stdin/stdout at `/dev/tty` while a request runs; we
//! never want a terminal, so the provider speaks the protocol itself: hello, one bounded
//! request line, one response. Request lines (a `login` carries the token) are read into a
//! zeroizing buffer, and so is the serialised response.

use std::io::{BufRead, Read, Write};

use cargo_credential::{
    Action, CacheControl, CredentialHello, CredentialRequest, CredentialResponse,
    Operation as CargoOp, PROTOCOL_VERSION_1, Secret,
};
use zeroize::Zeroizing;

use crate::error::Error;
use crate::request::{CargoRequest, Operation, StoreChange};
use crate::token::Token;

/// Longest request line accepted. Real requests are well under 4 KiB.
const MAX_LINE: usize = 64 * 1024;

/// A request, owned, with the token (for `login`) in a zeroizing type.
#[derive(Debug)]
pub struct Request {
    /// The registry's index URL as cargo sent it.
    pub index_url: String,
    /// The registry's name in cargo's config, when cargo knows it.
    pub registry_name: Option<String>,
    /// What is asked.
    pub operation: Operation,
    /// `login`: the token cargo passed.
    pub login_token: Option<Token>,
    /// `login`: where the person can get a token.
    pub login_url: Option<String>,
    /// Provider args from cargo's config.
    pub args: Vec<String>,
}

impl Request {
    /// "crates-io (https://…)" or just the URL, escaped: it ends up in windows and in
    /// cargo's terminal output.
    pub(crate) fn registry_label(&self) -> String {
        crate::text::escape(&self.raw_registry_label()).text
    }

    /// The same, unescaped: for the windows, which escape and flag it themselves.
    pub fn raw_registry_label(&self) -> String {
        match &self.registry_name {
            Some(n) => format!("{n} ({})", self.index_url),
            None => self.index_url.clone(),
        }
    }
}

/// Writes the hello line.
pub(crate) fn write_hello(out: &mut impl Write) -> std::io::Result<()> {
    let hello = CredentialHello {
        v: vec![PROTOCOL_VERSION_1],
    };
    serde_json::to_writer(&mut *out, &hello)?;
    out.write_all(b"\n")?;
    out.flush()
}

/// Reads one line of at most `MAX_LINE` bytes. `Ok(None)` at end of input.
pub fn read_line(input: &mut impl BufRead) -> Result<Option<Zeroizing<Vec<u8>>>, Error> {
    let mut buf = Zeroizing::new(Vec::with_capacity(1024));
    let n = input
        .take(MAX_LINE as u64 + 1)
        .read_until(b'\n', &mut buf)
        .map_err(|e| Error::Protocol(format!("could not read the request: {e}")))?;
    if n == 0 {
        return Ok(None);
    }
    if buf.last() != Some(&b'\n') && buf.len() > MAX_LINE {
        return Err(Error::Protocol(format!(
            "request line longer than {MAX_LINE} bytes"
        )));
    }
    Ok(Some(buf))
}

/// Parses and validates one request line.
pub fn parse(line: &[u8]) -> Result<Request, Error> {
    let text = std::str::from_utf8(line)
        .map_err(|_| Error::Protocol("request is not UTF-8".into()))?
        .trim_end_matches(['\n', '\r']);
    if text.trim().is_empty() {
        return Err(Error::Protocol("empty request line".into()));
    }
    let req: CredentialRequest<'_> = serde_json::from_str(text).map_err(|e| {
        // serde_json's message names the field and column, never the values.
        Error::Protocol(format!("malformed JSON request ({e})"))
    })?;
    if req.v != PROTOCOL_VERSION_1 {
        return Err(Error::Protocol(format!(
            "unsupported protocol version {} (this provider speaks {PROTOCOL_VERSION_1})",
            req.v
        )));
    }
    let mut login_token = None;
    let mut login_url = None;
    let operation = match &req.action {
        Action::Get(op) => match op {
            CargoOp::Read => Operation::Cargo(CargoRequest::Read {
                authenticated: !req.registry.headers.is_empty(),
            }),
            CargoOp::Publish { name, vers, cksum } => Operation::Cargo(CargoRequest::Publish {
                name: name.to_string(),
                vers: vers.to_string(),
                cksum: cksum.to_string(),
            }),
            CargoOp::Yank { name, vers } => Operation::Cargo(CargoRequest::Yank {
                name: name.to_string(),
                vers: vers.to_string(),
                undo: false,
            }),
            CargoOp::Unyank { name, vers } => Operation::Cargo(CargoRequest::Yank {
                name: name.to_string(),
                vers: vers.to_string(),
                undo: true,
            }),
            CargoOp::Owners { name } => Operation::Cargo(CargoRequest::Owners {
                name: name.to_string(),
            }),
            _ => Operation::Unknown,
        },
        Action::Login(opts) => {
            login_token = opts
                .token
                .as_ref()
                .map(|t| Token::new(t.as_ref().expose().to_string()));
            login_url = opts.login_url.map(str::to_string);
            Operation::Store(StoreChange::Login {
                token_given: login_token.is_some(),
                enroll: false,
            })
        }
        Action::Logout => Operation::Store(StoreChange::Logout),
        _ => Operation::Unknown,
    };
    if let Operation::Cargo(CargoRequest::Publish { cksum, .. }) = &operation
        && !(cksum.len() == 64 && cksum.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        return Err(Error::Protocol(
            "the publish checksum is not a sha256 hex digest".into(),
        ));
    }
    Ok(Request {
        index_url: req.registry.index_url.to_string(),
        registry_name: req.registry.name.map(str::to_string),
        operation,
        login_token,
        login_url,
        args: req.args.iter().map(|s| s.to_string()).collect(),
    })
}

/// A successful answer. `Debug` shows no secret ([`Token`]'s is redacted).
#[derive(Debug)]
pub(crate) enum Answer {
    /// Hand over a token.
    Token {
        /// The token.
        token: Token,
        /// Whether cargo may reuse it in this session.
        cache_session: bool,
        /// Whether cargo may use it for other operations.
        operation_independent: bool,
    },
    /// Login stored.
    Login,
    /// Logout done.
    Logout,
}

/// Writes one response line. The serialised line is wiped after writing.
pub(crate) fn write_response(
    out: &mut impl Write,
    result: Result<Answer, Error>,
) -> std::io::Result<()> {
    let result: Result<CredentialResponse, cargo_credential::Error> = match result {
        Ok(Answer::Token {
            token,
            cache_session,
            operation_independent,
        }) => Ok(CredentialResponse::Get {
            token: Secret::from(token.expose().to_string()),
            cache: if cache_session {
                CacheControl::Session
            } else {
                CacheControl::Never
            },
            operation_independent,
        }),
        Ok(Answer::Login) => Ok(CredentialResponse::Login),
        Ok(Answer::Logout) => Ok(CredentialResponse::Logout),
        Err(e) => Err(e.into()),
    };
    let line = Zeroizing::new(serde_json::to_vec(&result).map_err(std::io::Error::other)?);
    // Take the plain String back out of cargo's Secret so it can be wiped too.
    if let Ok(CredentialResponse::Get { token, .. }) = result {
        let mut s = token.expose();
        zeroize::Zeroize::zeroize(&mut s);
    }
    out.write_all(&line)?;
    out.write_all(b"\n")?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(r: Result<Answer, Error>) -> String {
        let mut out = Vec::new();
        write_response(&mut out, r).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn hello_is_exact() {
        let mut out = Vec::new();
        write_hello(&mut out).unwrap();
        assert_eq!(out, b"{\"v\":[1]}\n");
    }

    #[test]
    fn publish_request() {
        let line = br#"{"v":1,"registry":{"index-url":"sparse+http://127.0.0.1:1/index/","name":"local"},"kind":"get","operation":"publish","name":"foo","vers":"1.2.3","cksum":"0000000000000000000000000000000000000000000000000000000000000abc","args":["get"]}"#;
        let r = parse(line).unwrap();
        assert_eq!(r.index_url, "sparse+http://127.0.0.1:1/index/");
        assert_eq!(r.registry_name.as_deref(), Some("local"));
        assert_eq!(r.args, vec!["get"]);
        assert!(
            matches!(r.operation, Operation::Cargo(CargoRequest::Publish { ref name, .. }) if name == "foo")
        );
    }

    #[test]
    fn read_with_and_without_headers() {
        let pre =
            br#"{"v":1,"registry":{"index-url":"https://x/"},"kind":"get","operation":"read"}"#;
        assert_eq!(
            parse(pre).unwrap().operation,
            Operation::Cargo(CargoRequest::Read {
                authenticated: false
            })
        );
        let auth = br#"{"v":1,"registry":{"index-url":"https://x/","headers":["WWW-Authenticate: Cargo login_url=\"https://x/me\""]},"kind":"get","operation":"read"}"#;
        assert_eq!(
            parse(auth).unwrap().operation,
            Operation::Cargo(CargoRequest::Read {
                authenticated: true
            })
        );
    }

    #[test]
    fn login_token_is_captured() {
        let line = br#"{"v":1,"registry":{"index-url":"https://x/"},"kind":"login","token":"s3cret","login-url":"https://x/me"}"#;
        let r = parse(line).unwrap();
        assert_eq!(r.login_token.as_ref().unwrap().expose(), "s3cret");
        assert_eq!(
            r.operation,
            Operation::Store(StoreChange::Login {
                token_given: true,
                enroll: false
            })
        );
        assert!(!format!("{r:?}").contains("s3cret"));
    }

    #[test]
    fn unknown_kinds_are_forward_compatible() {
        let op =
            br#"{"v":1,"registry":{"index-url":"https://x/"},"kind":"get","operation":"teleport"}"#;
        assert_eq!(parse(op).unwrap().operation, Operation::Unknown);
        let kind = br#"{"v":1,"registry":{"index-url":"https://x/"},"kind":"dance"}"#;
        assert_eq!(parse(kind).unwrap().operation, Operation::Unknown);
    }

    #[test]
    fn malformed_lines_are_protocol_errors() {
        for bad in [
            &b"not json"[..],
            b"{}",
            b"",
            b"\xff\xfe",
            br#"{"v":2,"registry":{"index-url":"https://x/"},"kind":"logout"}"#,
            br#"{"v":1,"registry":{"index-url":"https://x/"},"kind":"get","operation":"publish","name":"a","vers":"1","cksum":"zz"}"#,
        ] {
            assert!(matches!(parse(bad), Err(Error::Protocol(_))), "{bad:?}");
        }
    }

    #[test]
    fn long_lines_are_refused() {
        let mut input = std::io::Cursor::new(vec![b'a'; MAX_LINE + 10]);
        assert!(matches!(read_line(&mut input), Err(Error::Protocol(m)) if m.contains("longer")));
        let mut input = std::io::Cursor::new(b"{}\n".to_vec());
        assert_eq!(&read_line(&mut input).unwrap().unwrap()[..], b"{}\n");
        assert!(read_line(&mut input).unwrap().is_none());
    }

    #[test]
    fn exact_responses() {
        let tok = |c, o| {
            Ok(Answer::Token {
                token: Token::new("t0k".into()),
                cache_session: c,
                operation_independent: o,
            })
        };
        assert_eq!(
            answer(tok(false, false)),
            "{\"Ok\":{\"kind\":\"get\",\"token\":\"t0k\",\"cache\":\"never\",\"operation_independent\":false}}\n"
        );
        assert_eq!(
            answer(tok(true, true)),
            "{\"Ok\":{\"kind\":\"get\",\"token\":\"t0k\",\"cache\":\"session\",\"operation_independent\":true}}\n"
        );
        assert_eq!(answer(Ok(Answer::Login)), "{\"Ok\":{\"kind\":\"login\"}}\n");
        assert_eq!(
            answer(Ok(Answer::Logout)),
            "{\"Ok\":{\"kind\":\"logout\"}}\n"
        );
        assert_eq!(
            answer(Err(Error::NotEnrolled {
                registry: "r".into()
            })),
            "{\"Err\":{\"kind\":\"not-found\"}}\n"
        );
        assert_eq!(
            answer(Err(Error::Unsupported)),
            "{\"Err\":{\"kind\":\"operation-not-supported\"}}\n"
        );
        let denied = answer(Err(Error::Denied {
            what: "publish of a 1.0.0".into(),
            reason: crate::error::DenyReason::Timeout,
        }));
        assert!(denied.starts_with("{\"Err\":{\"kind\":\"other\",\"message\":\"cargo-confirm-gui: publish of a 1.0.0 denied: nobody answered"), "{denied}");
    }
}
