//! One escaping helper per output format the renderers write: markdown (code spans with a
//! long-enough fence, text, messages), HTML, Mermaid and DOT labels. Strings from CloudTrail are
//! written by whoever could make a call or name an uploaded file; every one passes through the
//! helper of the format it lands in, and none lets a newline or a control character through.
//! (The terminal's escaping is [`crate::escape`], below the diagnostics that use it.)
//!
//! Ordinary names (letters, digits, `-`, `/`, `:`, `.`, `_` in a code span) come out unchanged,
//! so the escaping only shows where a value is hostile.

use crate::escape::{is_hidden, push_visible, terminal};

fn code_span(s: &str, cell: bool) -> String {
    let mut body = String::with_capacity(s.len() + 2);
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if is_hidden(c) {
            push_visible(&mut body, c);
        } else if cell && c == '|' {
            // GFM splits table cells on `|` even inside a code span; `\|` is the cell's own
            // escape and is read as `|` in the span
            body.push_str("\\|");
        } else if cell && c == '\\' && chars.peek() == Some(&'|') {
            // `\\|` would end the cell: a backslash before a pipe is shown as its code point
            body.push_str("\\u{5c}");
        } else {
            body.push(c);
        }
    }
    if body.is_empty() {
        return "` `".to_string();
    }
    let mut longest = 0;
    let mut run = 0;
    for c in body.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    let fence = "`".repeat(longest + 1);
    // CommonMark strips one space from each end when both are spaces, and a backtick next to
    // the fence would lengthen it: pad with one space, which the parser strips again.
    let all_spaces = body.chars().all(|c| c == ' ');
    let pad = body.starts_with('`')
        || body.ends_with('`')
        || (!all_spaces && body.starts_with(' ') && body.ends_with(' '));
    let sp = if pad { " " } else { "" };
    format!("{fence}{sp}{body}{sp}{fence}")
}

/// Markdown outside tables: `s` as one code span, its fence longer than any backtick run in it,
/// newlines and control characters shown as escapes. Nothing in a code span is markdown or
/// HTML.
pub fn md_code(s: &str) -> String {
    code_span(s, false)
}

/// As [`md_code`], for a cell of a GFM table (`|` escaped as the table needs).
pub fn md_code_cell(s: &str) -> String {
    code_span(s, true)
}

/// Markdown text where a code span cannot be used (inside a sentence the reader should read as
/// prose): every character that could start markup, HTML, an entity, a link or an autolink is
/// backslash-escaped, control characters are shown as escapes. Safe in a table cell. For inline
/// positions (after fixed text on the line), not the start of a line.
pub fn md_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    let chars: Vec<char> = s.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        let at = |k: usize| chars.get(i + k).copied();
        match c {
            c if is_hidden(c) => push_visible(&mut out, c),
            // inline markup, raw HTML, entities, links and images, table cells,
            // strikethrough, math, footnotes, email autolinks
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '&' | '~' | '!' | '#' | '$' | '^'
            | '@' | '|' => {
                out.push('\\');
                out.push(c);
            }
            // GFM autolinks `scheme://…` and `www.…`: an escaped `:` or `.` starts none
            ':' if at(1) == Some('/') && at(2) == Some('/') => out.push_str("\\:"),
            '.' if i >= 3 && chars[i - 3..i].iter().all(|w| w.eq_ignore_ascii_case(&'w')) => {
                out.push_str("\\.")
            }
            _ => out.push(c),
        }
    }
    out
}

/// A message that quotes values in backticks (`` `s3:GetObject` was never used before``): the
/// quoted parts as code spans, the rest as [`md_text`]. A backtick inside a quoted value only
/// moves where the spans fall; every part is escaped either way.
pub fn md_message(s: &str, cell: bool) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    let parts: Vec<&str> = s.split('`').collect();
    let closed = parts.len() % 2 == 1;
    for (i, part) in parts.iter().enumerate() {
        let quoted = i % 2 == 1 && (closed || i + 1 < parts.len());
        if quoted {
            out.push_str(&code_span(part, cell));
        } else if i % 2 == 1 {
            // an unpaired backtick: the rest is text
            out.push_str("\\`");
            out.push_str(&md_text(part));
        } else {
            out.push_str(&md_text(part));
        }
    }
    out
}

/// A principal label (`function orders-api`): the kind as text, the name as a code span.
pub fn md_principal(label: &str, cell: bool) -> String {
    match label.split_once(' ') {
        Some((kind, name))
            if matches!(
                kind,
                "function" | "role" | "user" | "root" | "federated" | "service" | "other"
            ) =>
        {
            format!("{kind} {}", code_span(name, cell))
        }
        _ => code_span(label, cell),
    }
}

/// HTML text and attribute values (also SVG): `& < > " '` as entities, control characters
/// shown as escapes.
pub fn html(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if is_hidden(c) => push_visible(&mut out, c),
            c => out.push(c),
        }
    }
    out
}

/// `<code>…</code>` around [`html`]: a value inside an HTML block of markdown (`<summary>`),
/// where code spans are not parsed.
pub fn html_code(s: &str) -> String {
    format!("<code>{}</code>", html(s))
}

/// A Mermaid label inside `["…"]` or `|"…"|` (or a `%%` comment): `"` `#` `<` `>` `&` `` ` ``
/// `|` `%` as Mermaid entity codes, control characters as visible escapes; no newline, so no
/// label can end its line or the code fence around the graph. `%` because Mermaid looks for
/// `%%{…}%%` directives (which set the theme and the configuration) anywhere in the text,
/// labels included.
pub fn mermaid_label(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '"' => out.push_str("#quot;"),
            '#' => out.push_str("#35;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '&' => out.push_str("#amp;"),
            '`' => out.push_str("#96;"),
            '|' => out.push_str("#124;"),
            '%' => out.push_str("#37;"),
            c if is_hidden(c) => push_visible(&mut out, c),
            c => out.push(c),
        }
    }
    out
}

/// A Graphviz DOT quoted string (or the text of a `//` comment): `\` and `"` escaped, control
/// characters shown as visible escapes (whose backslash is escaped too, so a newline from the log
/// is the text `\n`, not a line break). Every backslash is doubled, so no text from the log can
/// start one of Graphviz's label escapes (`\n`, `\l`, `\r`, `\N`, `\G`, …) or end the string:
/// a renderer joins escaped parts with its own `\n` to break a label into lines.
pub fn dot_label(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in terminal(s).chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_spans_outlast_backticks() {
        assert_eq!(md_code("a"), "`a`");
        assert_eq!(md_code("a`b"), "``a`b``");
        assert_eq!(md_code("`a"), "`` `a ``");
        assert_eq!(md_code("```"), "```` ``` ````");
        assert_eq!(md_code(" a "), "`  a  `");
        assert_eq!(md_code(""), "` `");
        assert_eq!(md_code("a\nb\u{1b}"), "`a\\nb\\u{1b}`");
        assert_eq!(md_code_cell("a|b"), "`a\\|b`");
        assert_eq!(md_code_cell("a\\|b"), "`a\\u{5c}\\|b`");
    }

    #[test]
    fn text_escapes_markup() {
        assert_eq!(
            md_text("orders-api, orders-worker"),
            "orders-api, orders-worker"
        );
        assert_eq!(md_text("<img>"), "\\<img\\>");
        assert_eq!(md_text("https://x www.y"), "https\\://x www\\.y");
        assert_eq!(
            md_message("`s3:GetObject` was never used", true),
            "`s3:GetObject` was never used"
        );
    }

    #[test]
    fn labels() {
        assert_eq!(mermaid_label("a\"b<c>\n"), "a#quot;b#lt;c#gt;\\n");
        assert_eq!(dot_label("a\"b\\\n"), "a\\\"b\\\\\\\\n");
        assert_eq!(html("<a href='x'>&"), "&lt;a href=&#39;x&#39;&gt;&amp;");
    }

    /// Text from the log cannot end a DOT string, start a label escape or a line, or break out
    /// of a `//` comment.
    #[test]
    fn hostile_dot_labels() {
        for (hostile, want) in [
            ("a\\nb", "a\\\\nb"),
            ("a\\lb\\rc", "a\\\\lb\\\\rc"),
            (
                "\\N \\G \\E \\T \\H \\L",
                "\\\\N \\\\G \\\\E \\\\T \\\\H \\\\L",
            ),
            ("x\"]; evil [label=\"pwned", "x\\\"]; evil [label=\\\"pwned"),
            ("trailing\\", "trailing\\\\"),
            ("a\nb\r\u{2028}c", "a\\\\nb\\\\r\\\\u{2028}c"),
            ("<b>html</b>", "<b>html</b>"),
        ] {
            let got = dot_label(hostile);
            assert_eq!(got, want, "{hostile:?}");
            assert!(!got.contains('\n') && !got.contains('\r'));
            // every backslash is one of an escaped pair or escapes a quote
            let mut chars = got.chars();
            while let Some(c) = chars.next() {
                if c == '\\' {
                    assert!(matches!(chars.next(), Some('\\' | '"')), "{got}");
                } else {
                    assert_ne!(c, '"', "an unescaped quote in {got}");
                }
            }
        }
    }

    /// Text from the log cannot end a Mermaid string or line, set a directive, or start markup.
    #[test]
    fn hostile_mermaid_labels() {
        for hostile in [
            "%%{init: {\"theme\": \"forest\"}}%%",
            "x\"]) --> evil[\"pwned",
            "a|b`c`<img src=x>&amp;#35;",
            "line\nclick p0 call alert()\r\u{2028}",
        ] {
            let got = mermaid_label(hostile);
            for bad in ['"', '%', '|', '`', '<', '>', '\n', '\r', '\u{2028}'] {
                assert!(!got.contains(bad), "{bad:?} in {got}");
            }
        }
        assert_eq!(mermaid_label("100%"), "100#37;");
    }
}
