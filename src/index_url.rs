//! An index URL, the way cargo names a registry: checked once where it comes from outside,
//! then one type that knows its canonical form (one store entry per registry), whether it is
//! crates.io, and the index the helper's own client reads. The crates.io URLs are written
//! here and nowhere else.

use std::fmt;

/// The crates.io index, in its git spelling: the name cargo gives crates.io in requests and
/// in the `registry` of a dependency.
pub const CRATES_IO_INDEX: &str = "https://github.com/rust-lang/crates.io-index";
/// The crates.io index, in its sparse spelling: where the helper's client reads it.
pub const CRATES_IO_SPARSE: &str = "sparse+https://index.crates.io/";

/// Why a URL from outside is not taken as an index URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadIndexUrl {
    /// It holds characters cargo never sends: invisible, bidirectional, controls, spaces or
    /// other non-ASCII. Such a URL can look like another registry's.
    #[error(
        "cargo-confirm-gui: the index URL {shown} holds characters cargo never sends ({chars}): \
         a URL like that can look like another registry's. Nothing was stored or released"
    )]
    Hidden {
        /// The URL, escaped for a terminal.
        shown: String,
        /// The characters, as `U+XXXX`, comma-separated.
        chars: String,
    },
    /// It has no scheme.
    #[error("{0} is not an index URL")]
    NoScheme(String),
}

/// An index URL as given (cargo's `index-url`, a config's `index`, `--index`), checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexUrl {
    url: String,
}

impl IndexUrl {
    /// Checks an index URL from outside (a request, the command line, a config file). cargo
    /// sends URLs serialised by the `url` crate: ASCII, with no spaces or controls. A URL
    /// with invisible, bidirectional or other non-ASCII characters is refused: it could look
    /// like another registry's (and skip, say, the crates.io token check).
    pub fn parse(url: &str) -> Result<IndexUrl, BadIndexUrl> {
        let bad: Vec<String> = url
            .chars()
            .filter(|c| !c.is_ascii_graphic())
            .map(|c| format!("U+{:04X}", c as u32))
            .collect();
        if !bad.is_empty() {
            return Err(BadIndexUrl::Hidden {
                shown: crate::text::escape(url).text,
                chars: bad.join(", "),
            });
        }
        if !url.contains("://") {
            return Err(BadIndexUrl::NoScheme(url.to_string()));
        }
        Ok(IndexUrl {
            url: url.to_string(),
        })
    }

    /// crates.io, in cargo's spelling for it.
    pub fn crates_io() -> IndexUrl {
        IndexUrl {
            url: CRATES_IO_INDEX.to_string(),
        }
    }

    /// The URL as given.
    pub fn as_str(&self) -> &str {
        &self.url
    }

    /// The canonical form: both crates.io spellings give crates.io's git URL; the scheme and
    /// host are lower-cased, a default port and a trailing slash dropped, so that one
    /// registry never has two store entries.
    pub fn canonical(&self) -> String {
        canonical(&self.url)
    }

    /// Whether this is crates.io, in either spelling (its tokens have a known shape).
    pub fn is_crates_io(&self) -> bool {
        self.canonical() == CRATES_IO_INDEX
    }

    /// Whether cargo reads this index over its sparse protocol.
    pub fn is_sparse(&self) -> bool {
        self.url
            .get(..7)
            .is_some_and(|s| s.eq_ignore_ascii_case("sparse+"))
    }

    /// The index the helper's own client reads: crates.io's sparse one for crates.io.
    pub fn api_index(&self) -> &str {
        if self.is_crates_io() {
            CRATES_IO_SPARSE
        } else {
            &self.url
        }
    }

    /// Whether two index URLs are one registry to cargo's `SourceId`: the same kind (sparse
    /// or git) and the same URL, with no trailing slash, no `.git`, and GitHub paths in
    /// lower case. crates.io's sparse index counts as crates.io, as publishing there goes to
    /// crates.io's `SourceId`.
    pub fn same_registry(&self, other: &IndexUrl) -> bool {
        same_registry(&self.url, &other.url)
    }
}

impl fmt::Display for IndexUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.url)
    }
}

/// See [`IndexUrl::canonical`].
fn canonical(url: &str) -> String {
    let normal = normalise(url.trim().trim_end_matches('/'));
    let crates_io = [CRATES_IO_INDEX, CRATES_IO_SPARSE]
        .iter()
        .any(|c| c.trim_end_matches('/') == normal);
    if crates_io {
        CRATES_IO_INDEX.to_string()
    } else {
        normal
    }
}

/// Lower-cases the scheme and host and drops a default port: `sparse+HTTPS://Example.com:443/x`
/// and `sparse+https://example.com/x` are one registry.
fn normalise(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let scheme = scheme.to_ascii_lowercase();
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let mut authority = authority.to_ascii_lowercase();
    let default_port = if scheme.ends_with("https") {
        ":443"
    } else if scheme.ends_with("http") {
        ":80"
    } else {
        ""
    };
    if !default_port.is_empty()
        && let Some(host) = authority.strip_suffix(default_port)
    {
        authority = host.to_string();
    }
    format!("{scheme}://{authority}{path}")
}

/// [`IndexUrl::same_registry`] for two URLs as written (a dependency's `registry-index` in a
/// manifest has not been through [`IndexUrl::parse`]).
pub fn same_registry(a: &str, b: &str) -> bool {
    source_id(a) == source_id(b)
}

/// The URL as cargo's `SourceId` compares it (see [`IndexUrl::same_registry`]).
fn source_id(url: &str) -> String {
    let url = if url == CRATES_IO_SPARSE {
        CRATES_IO_INDEX
    } else {
        url
    };
    let mut s = url.trim_end_matches('/').to_string();
    let github = [
        "https://github.com/",
        "http://github.com/",
        "git://github.com/",
    ]
    .iter()
    .find(|p| s.starts_with(*p));
    if let Some(prefix) = github {
        s = format!("https://github.com/{}", s[prefix.len()..].to_lowercase());
    }
    s.strip_suffix(".git").map(str::to_string).unwrap_or(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> IndexUrl {
        IndexUrl::parse(s).unwrap()
    }

    #[test]
    fn crates_io_in_either_spelling_reads_the_sparse_index() {
        for s in [
            CRATES_IO_INDEX,
            CRATES_IO_SPARSE,
            "sparse+https://index.crates.io",
            "SPARSE+HTTPS://INDEX.CRATES.IO/",
        ] {
            assert!(url(s).is_crates_io(), "{s}");
            assert_eq!(url(s).api_index(), CRATES_IO_SPARSE, "{s}");
        }
        let other = url("sparse+http://127.0.0.1:1/index/");
        assert!(!other.is_crates_io() && other.is_sparse());
        assert_eq!(other.api_index(), "sparse+http://127.0.0.1:1/index/");
        assert!(!url(CRATES_IO_INDEX).is_sparse());
    }

    #[test]
    fn same_registry_follows_cargos_source_id() {
        assert!(
            url("https://github.com/Rust-Lang/crates.io-index.git")
                .same_registry(&url(CRATES_IO_INDEX))
        );
        assert!(url(CRATES_IO_SPARSE).same_registry(&url(CRATES_IO_INDEX)));
        assert!(!url("sparse+http://h/index/").same_registry(&url("http://h/index/")));
        assert!(url("sparse+http://h/index/").same_registry(&url("sparse+http://h/index")));
    }

    #[test]
    fn urls_that_hide_characters_are_refused_with_their_code_points() {
        let e = IndexUrl::parse("sparse+https://index.crates.io\u{200B}/").unwrap_err();
        let shown = e.to_string();
        assert!(
            shown.contains("U+200B") && shown.contains("\\u{200B}"),
            "{shown}"
        );
        assert_eq!(
            IndexUrl::parse("index.crates.io").unwrap_err(),
            BadIndexUrl::NoScheme("index.crates.io".into())
        );
    }
}
