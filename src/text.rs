//! What is shown is what is there. Every value the windows show that came from outside (the
//! request, `/proc`, the `.crate`) passes through [`escape`]: control characters (newlines
//! included), format characters (bidirectional overrides and isolates, zero-width spaces and
//! joiners, the BOM, tag characters), line and paragraph separators, spaces other than the
//! plain one, non-spacing and enclosing marks (which can draw over the character before them),
//! variation selectors and invisible letters are written as
//! visible escapes (`\n`, `\u{202E}`), so a value cannot hide part of itself, reorder what
//! follows it, or push the next line out of view. Such a value is also flagged, and the
//! window says so in red.

use unicode_general_category::{GeneralCategory, get_general_category};

/// A value made safe to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shown {
    /// The text with every hidden character escaped.
    pub text: String,
    /// Whether anything had to be escaped.
    pub hidden: bool,
}

/// Whether `c` would not show as itself: invisible, a control, or able to move other text.
pub fn is_hidden(c: char) -> bool {
    use GeneralCategory as G;
    match get_general_category(c) {
        G::Control
        | G::Format
        | G::LineSeparator
        | G::ParagraphSeparator
        | G::PrivateUse
        | G::Surrogate
        | G::Unassigned
        | G::NonspacingMark
        | G::EnclosingMark => true,
        G::SpaceSeparator => c != ' ',
        // Letters that draw nothing: Hangul fillers, the braille blank.
        _ => matches!(
            c,
            '\u{115F}' | '\u{1160}' | '\u{3164}' | '\u{FFA0}' | '\u{2800}'
        ),
    }
}

/// Escapes `s` for showing (see the module docs). A backslash is doubled, so an escape in
/// the output always means an escaped character.
pub fn escape(s: &str) -> Shown {
    let mut text = String::with_capacity(s.len());
    let mut hidden = false;
    for c in s.chars() {
        match c {
            '\\' => text.push_str("\\\\"),
            '\n' => text.push_str("\\n"),
            '\r' => text.push_str("\\r"),
            '\t' => text.push_str("\\t"),
            c if is_hidden(c) => text.push_str(&format!("\\u{{{:X}}}", c as u32)),
            c => {
                text.push(c);
                continue;
            }
        }
        if c != '\\' {
            hidden = true;
        }
    }
    Shown { text, hidden }
}

/// A command line, one argument after another, each escaped and quoted when it holds a space
/// or is empty: an argument containing spaces cannot pass for several.
pub fn command_line(argv: &[String]) -> Shown {
    let mut hidden = false;
    let parts: Vec<String> = argv
        .iter()
        .map(|a| {
            let e = escape(a);
            hidden |= e.hidden;
            if e.text.is_empty() || e.text.contains([' ', '\'', '"']) {
                format!("'{}'", e.text.replace('\'', "'\\''"))
            } else {
                e.text
            }
        })
        .collect();
    Shown {
        text: parts.join(" "),
        hidden,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_unchanged() {
        for s in [
            "sparse+https://index.crates.io/",
            "/home/you/my crate/target",
            "naïve café 日本語",
            "",
        ] {
            assert_eq!(
                escape(s),
                Shown {
                    text: s.into(),
                    hidden: false
                }
            );
        }
    }

    #[test]
    fn what_hides_is_escaped_and_flagged() {
        // Regression, "Nothing the caller supplies" (7): a zero-width space and a
        // right-to-left override made an index URL look like crates.io.
        let e = escape("https://index.crates.io\u{200B}.evil\u{202E}moc.example/");
        assert!(e.hidden);
        assert_eq!(
            e.text,
            "https://index.crates.io\\u{200B}.evil\\u{202E}moc.example/"
        );
        for (c, shown) in [
            ('\n', "\\n"),
            ('\r', "\\r"),
            ('\t', "\\t"),
            ('\u{0}', "\\u{0}"),
            ('\u{1B}', "\\u{1B}"),
            ('\u{200D}', "\\u{200D}"),
            ('\u{2066}', "\\u{2066}"),
            ('\u{FEFF}', "\\u{FEFF}"),
            ('\u{00A0}', "\\u{A0}"),
            ('\u{2028}', "\\u{2028}"),
            ('\u{0301}', "\\u{301}"),
            ('\u{FE0F}', "\\u{FE0F}"),
            ('\u{E0041}', "\\u{E0041}"),
            ('\u{3164}', "\\u{3164}"),
            ('\u{E000}', "\\u{E000}"),
        ] {
            let e = escape(&format!("a{c}b"));
            assert_eq!(e.text, format!("a{shown}b"), "{:X}", c as u32);
            assert!(e.hidden, "{:X}", c as u32);
        }
        // A literal backslash stays distinguishable from an escape, and is not flagged.
        let e = escape("a\\nb");
        assert_eq!(e.text, "a\\\\nb");
        assert!(!e.hidden);
    }

    #[test]
    fn a_command_line_keeps_its_argument_boundaries() {
        let argv: Vec<String> = [
            "cargo",
            "owner",
            "--add",
            "mallory\n\n\nfriend",
            "my crate",
            "",
        ]
        .map(String::from)
        .into();
        let c = command_line(&argv);
        assert_eq!(
            c.text,
            "cargo owner --add mallory\\n\\n\\nfriend 'my crate' ''"
        );
        assert!(c.hidden);
        assert!(!c.text.contains('\n'));
    }
}
