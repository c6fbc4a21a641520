//! The secret itself: a zeroizing string with no `Display` and a redacted `Debug`.

use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// A registry token. The bytes are wiped when it is dropped; it cannot be printed.
#[derive(Clone)]
pub struct Token(Zeroizing<String>);

impl Token {
    /// Wraps a token, trimming the whitespace a paste tends to carry along.
    pub fn new(mut raw: String) -> Self {
        let trimmed = raw.trim();
        if trimmed.len() != raw.len() {
            let t = trimmed.to_string();
            zeroize::Zeroize::zeroize(&mut raw);
            raw = t;
        }
        Token(Zeroizing::new(raw))
    }

    /// The secret text. Call only at the store boundary and when writing the response.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// A short, non-reversible fingerprint a person can compare: `SHA256:ab12 cd34 ef56`.
    ///
    /// 48 bits of a hash of a high-entropy token tell a person "same or different token"
    /// without revealing anything usable.
    pub(crate) fn fingerprint(&self) -> String {
        let digest = Sha256::digest(self.0.as_bytes());
        let hex: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
        format!("SHA256:{} {} {}", &hex[0..4], &hex[4..8], &hex[8..12])
    }

    /// Checks the token's shape before it is stored. `crates_io` adds the crates.io format.
    pub(crate) fn validate(&self, crates_io: bool) -> Result<(), &'static str> {
        let t = self.expose();
        if t.is_empty() {
            return Err("the token is empty");
        }
        if t.chars().any(char::is_whitespace) {
            return Err("the token contains whitespace; paste exactly the token");
        }
        if t.chars().any(char::is_control) {
            return Err("the token contains control characters");
        }
        let shaped_for_crates_io = t
            .strip_prefix("cio")
            .is_some_and(|r| r.len() == 32 && r.bytes().all(|b| b.is_ascii_alphanumeric()));
        if crates_io && !shaped_for_crates_io {
            return Err("crates.io tokens are `cio` followed by 32 letters and digits");
        }
        // A crates.io token stored for another registry would be sent there: a worm that
        // set `registry.default` to its own registry has the person paste crates.io's
        // token into a window for it.
        if !crates_io && shaped_for_crates_io {
            return Err(
                "this is a crates.io token (`cio…`), and this registry is not \
                        crates.io: stored here it would be sent to this registry. Check which \
                        registry the window names",
            );
        }
        Ok(())
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let t = Token::new("cioabcdefghijklmnopqrstuvwxyz123456".into());
        assert_eq!(format!("{t:?}"), "Token(<redacted>)");
    }

    #[test]
    fn trims_paste_whitespace() {
        let t = Token::new("  secret-token\n".into());
        assert_eq!(t.expose(), "secret-token");
    }

    #[test]
    fn validation() {
        let good = Token::new(format!("cio{}", "a1".repeat(16)));
        assert_eq!(good.validate(true), Ok(()));
        assert!(Token::new("cioshort".into()).validate(true).is_err());
        // A crates.io token is refused for any other registry.
        assert!(good.validate(false).is_err());
        assert!(Token::new("cioshort".into()).validate(false).is_ok());
        assert!(
            Token::new(format!("cix{}", "a".repeat(32)))
                .validate(true)
                .is_err()
        );
        assert!(
            Token::new(format!("cio{}-", "a".repeat(31)))
                .validate(true)
                .is_err()
        );
        assert!(Token::new("".into()).validate(false).is_err());
        assert!(Token::new("two words".into()).validate(false).is_err());
        assert_eq!(Token::new("anything-else".into()).validate(false), Ok(()));
    }

    #[test]
    fn fingerprint_is_short_and_stable() {
        let t = Token::new("secret-token".into());
        let fp = t.fingerprint();
        assert_eq!(fp, Token::new("secret-token".into()).fingerprint());
        assert_ne!(fp, Token::new("secret-tokeN".into()).fingerprint());
        assert_eq!(fp.len(), "SHA256:".len() + 14);
        assert!(!fp.contains("secret"));
    }
}
