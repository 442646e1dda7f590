//! Text for the terminal: control and invisible format characters shown as visible escapes.
//! The diagnostics, the command line's messages and every text renderer use it; the escaping of
//! the other formats (markdown, HTML, Mermaid, DOT) lives with their renderers in
//! [`crate::report::escape`]. Strings from CloudTrail (keys, names, tags, session names, error
//! messages) are written by whoever could make a call or name an uploaded file: every one of
//! them passes through the helper of the format it lands in, and no helper lets a newline or a
//! control character through.
//!
//! Ordinary names (letters, digits, `-`, `/`, `:`, `.`, `_` in a code span) come out unchanged,
//! so the escaping only shows where a value is hostile.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Characters shown as a visible escape instead of themselves: control characters (C0, DEL,
/// C1: newline, carriage return, escape, backspace, …) and the invisible Unicode format
/// characters that reorder or hide text (bidirectional overrides and isolates, zero-width
/// characters, line and paragraph separators, the byte-order mark).
pub fn is_hidden(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{200b}'..='\u{200f}'
                | '\u{2028}'..='\u{202e}'
                | '\u{2060}'..='\u{2069}'
                | '\u{feff}'
        )
}

/// The visible form of a hidden character: `\n`, `\r`, `\t`, else `\u{1b}`.
pub fn push_visible(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        _ => {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        }
    }
}

/// Terminal and plain text: hidden characters as visible escapes (`\u{1b}`, `\r`, `\n`), the
/// rest unchanged. Applying it twice changes nothing more.
pub fn terminal(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_hidden) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_hidden(c) {
            push_visible(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// As [`terminal`] for text of many lines (a pretty-printed policy): line breaks are kept, every
/// other hidden character is shown as an escape.
pub fn terminal_lines(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| c != '\n' && is_hidden(c)) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(s.split('\n').map(terminal).collect::<Vec<_>>().join("\n"))
}

/// The last `n` characters of `s` (never cut inside a character), with `…` before them when
/// something was cut.
pub fn tail_chars(s: &str, n: usize) -> Cow<'_, str> {
    let count = s.chars().count();
    if count <= n {
        return Cow::Borrowed(s);
    }
    let start = s.char_indices().nth(count - n).map_or(s.len(), |(i, _)| i);
    Cow::Owned(format!("…{}", &s[start..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_text() {
        assert_eq!(terminal("\u{1b}[31mred\r\u{8}"), "\\u{1b}[31mred\\r\\u{8}");
        assert_eq!(terminal("plain"), "plain");
        assert_eq!(tail_chars("写真/猫.jpg", 5), "…猫.jpg");
        assert_eq!(tail_chars("abc", 5), "abc");
    }
}
