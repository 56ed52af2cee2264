//! The one boundary where text a provider chose enters the report model (and any other output: stderr,
//! transcripts). A provider under test is untrusted: its error details, `implementation`, fetched documents and
//! echoed headers must not repaint the terminal, break an XML or HTML file, fill the disk, or carry the
//! bearer token back out. Every such string passes [`Sanitizer::field`] (or [`Sanitizer::line`]) before it is
//! kept, in this order:
//!
//! 1. redact: every occurrence of a secret's exact value becomes [`REDACTED`] (first, so that a cut can never
//!    leave half a token behind);
//! 2. make visible: control characters (ANSI escapes, carriage returns, C1 controls), Unicode bidi overrides and
//!    the characters XML 1.0 forbids (U+FFFE, U+FFFF) are written as `\u{..}` escapes; `\n` is kept in fields
//!    (renderers indent continuation lines) and escaped in lines;
//! 3. bound: a field keeps at most [`FIELD_LIMIT`] bytes and ends with `... N bytes cut`.
//!
//! [`Budget`] bounds the total: once [`TOTAL_BUDGET`] bytes of provider text are in a report, each further field
//! keeps at most [`TIGHT_LIMIT`] bytes.

use std::fmt::Write;

/// Largest provider-chosen field kept, in bytes (before the cut notice).
pub const FIELD_LIMIT: usize = 4 * 1024;
/// Provider text a report holds at full field size; past it each field is cut to [`TIGHT_LIMIT`].
pub const TOTAL_BUDGET: usize = 1024 * 1024;
/// Field size once the budget is spent.
pub const TIGHT_LIMIT: usize = 256;
/// What a secret is replaced with.
pub const REDACTED: &str = "<redacted>";
/// Longest excerpt of a fetched or malformed body quoted in a report, in characters.
pub const EXCERPT_CHARS: usize = 120;

/// Redacts the run's secrets (the bearer token) and makes provider text safe to keep.
#[derive(Clone, Default)]
pub struct Sanitizer {
    secrets: Vec<String>,
}

impl std::fmt::Debug for Sanitizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sanitizer")
            .field("secrets", &self.secrets.len())
            .finish()
    }
}

impl Sanitizer {
    /// A sanitizer that redacts each non-empty secret's exact value.
    pub fn new(secrets: impl IntoIterator<Item = String>) -> Self {
        let mut secrets: Vec<String> = secrets.into_iter().filter(|s| !s.is_empty()).collect();
        // Longest first, so a secret that contains another is redacted whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        secrets.dedup();
        Self { secrets }
    }

    /// Replace every secret by [`REDACTED`]; nothing else changes.
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for secret in &self.secrets {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), REDACTED);
            }
        }
        out
    }

    /// A multi-line report field: redacted, visible, at most [`FIELD_LIMIT`] bytes.
    pub fn field(&self, text: &str) -> String {
        cut(&visible(&self.redact(text), true), FIELD_LIMIT)
    }

    /// A one-line value (an implementation name, a message on stderr): like [`Self::field`], newlines escaped too.
    pub fn line(&self, text: &str) -> String {
        cut(&visible(&self.redact(text), false), FIELD_LIMIT)
    }

    /// A short one-line excerpt of a body someone sent (a fetched document, a malformed response):
    /// `N bytes: `text`` with at most [`EXCERPT_CHARS`] characters.
    pub fn excerpt(&self, body: &[u8]) -> String {
        excerpt_with(&self.redact(&String::from_utf8_lossy(body)), body.len())
    }
}

/// [`Sanitizer::excerpt`] for text that carries no secret (the harness's own fetches).
pub fn excerpt(body: &[u8]) -> String {
    excerpt_with(&String::from_utf8_lossy(body), body.len())
}

fn excerpt_with(text: &str, bytes: usize) -> String {
    let mut out: String = text.chars().take(EXCERPT_CHARS).collect();
    if text.chars().nth(EXCERPT_CHARS).is_some() {
        out.push('…');
    }
    format!("{bytes} bytes: `{}`", visible(&out, false))
}

/// Whether `c` must not reach an output raw: controls (except tab, and newline when `keep_newlines`),
/// bidi overrides and isolates, and characters XML 1.0 forbids.
fn hidden(c: char, keep_newlines: bool) -> bool {
    match c {
        '\t' => false,
        '\n' => !keep_newlines,
        '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => true,
        '\u{fffe}' | '\u{ffff}' => true,
        c => c.is_control(),
    }
}

/// `text` with every [`hidden`] character written as a `\u{..}` escape (`\n` as `\n` when escaped).
pub fn visible(text: &str, keep_newlines: bool) -> String {
    if !text.chars().any(|c| hidden(c, keep_newlines)) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if !hidden(c, keep_newlines) {
            out.push(c);
        } else if c == '\n' {
            out.push_str("\\n");
        } else if c == '\r' {
            out.push_str("\\r");
        } else {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        }
    }
    out
}

/// `text` cut to at most `limit` bytes on a character boundary, with `... N bytes cut` appended when cut.
pub fn cut(text: &str, limit: usize) -> String {
    if text.len() <= limit {
        return text.to_string();
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}... {} bytes cut", &text[..end], text.len() - end)
}

/// The total bound over one report: fields are charged in report order, so the result is deterministic.
#[derive(Debug, Default)]
pub struct Budget {
    spent: usize,
}

impl Budget {
    /// `field` (already [`Sanitizer::field`]ed) as kept: whole while the budget lasts, then cut to [`TIGHT_LIMIT`].
    pub fn take(&mut self, field: String) -> String {
        let kept = if self.spent >= TOTAL_BUDGET {
            cut(&field, TIGHT_LIMIT)
        } else {
            field
        };
        self.spent = self.spent.saturating_add(kept.len());
        kept
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_xml_invalid_characters_become_visible() {
        let s = Sanitizer::default();
        assert_eq!(s.field("a\u{1b}[2Jb"), "a\\u{1b}[2Jb");
        assert_eq!(s.field("x\ry"), "x\\ry");
        assert_eq!(s.field("one\ntwo\tthree"), "one\ntwo\tthree");
        assert_eq!(s.line("one\ntwo"), "one\\ntwo");
        assert_eq!(
            s.field("\u{ffff}\u{fffe}\u{9b}\u{202e}"),
            "\\u{ffff}\\u{fffe}\\u{9b}\\u{202e}"
        );
        assert_eq!(s.field("héllo ✓"), "héllo ✓");
    }

    #[test]
    fn fields_are_cut_on_a_character_boundary() {
        let s = Sanitizer::default();
        let long = "é".repeat(FIELD_LIMIT);
        let kept = s.field(&long);
        assert!(
            kept.ends_with(&format!("... {} bytes cut", long.len() - FIELD_LIMIT)),
            "{}",
            &kept[kept.len() - 30..]
        );
        assert!(kept.len() < FIELD_LIMIT + 30);
        assert_eq!(s.field("short"), "short");
    }

    #[test]
    fn secrets_are_redacted_before_the_cut() {
        let token = "tok-0123456789";
        let s = Sanitizer::new(["".to_string(), token.to_string()]);
        let mut text = "a".repeat(FIELD_LIMIT - 4);
        text.push_str(token);
        let kept = s.field(&text);
        assert!(!kept.contains("tok-0"), "a cut must not leave part of the token");
        assert_eq!(s.line(&format!("Bearer {token}!")), "Bearer <redacted>!");
        assert!(!s.excerpt(token.as_bytes()).contains(token));
    }

    #[test]
    fn the_budget_bounds_the_total() {
        let mut budget = Budget::default();
        let field = "x".repeat(FIELD_LIMIT);
        let total: usize = (0..1000).map(|_| budget.take(field.clone()).len()).sum();
        assert!(
            total < TOTAL_BUDGET + FIELD_LIMIT + 1000 * (TIGHT_LIMIT + 32),
            "{total}"
        );
        assert!(budget.take(field).len() < TIGHT_LIMIT + 32);
    }

    #[test]
    fn excerpts_are_short_and_single_line() {
        let e = excerpt(&[b'<'; 10_000]);
        assert!(e.starts_with("10000 bytes: `"));
        assert!(e.len() < EXCERPT_CHARS + 40);
        assert_eq!(excerpt(b"a\nb\x1b"), "4 bytes: `a\\nb\\u{1b}`");
    }
}
