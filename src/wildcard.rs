//! IAM-style wildcard matching: `*` matches any run of characters (including none) and `?`
//! matches exactly one. Used for actions (case-insensitively), resources (case-sensitively)
//! and the `--principal` filter.
//!
//! Resource patterns are written in IAM's policy syntax (version 2012-10-17), where `${*}`,
//! `${?}` and `${$}` stand for a literal `*`, `?` and `$`, and any other `${…}` is a policy
//! variable. Text from a log is put into that syntax with [`escape`], so an object literally
//! named `*` is granted as `${*}`, never as "everything"; [`matches`] reads the three escapes
//! as the literal characters they stand for.

use std::borrow::Cow;

/// One element of a pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    Lit(char),
    Star,
    One,
}

/// The pattern's elements: `${*}`, `${?}` and `${$}` are literals, `*` and `?` wildcards.
fn tokens(pattern: &str) -> Vec<Tok> {
    let mut out = Vec::with_capacity(pattern.len());
    let mut rest = pattern;
    while let Some(c) = rest.chars().next() {
        if c == '$' {
            let lit = ["${*}", "${?}", "${$}"]
                .into_iter()
                .find(|e| rest.starts_with(e));
            if let Some(e) = lit {
                out.push(Tok::Lit(e.as_bytes()[2] as char));
                rest = &rest[e.len()..];
                continue;
            }
        }
        out.push(match c {
            '*' => Tok::Star,
            '?' => Tok::One,
            c => Tok::Lit(c),
        });
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// Whether `s` holds none of `*`, `?` and `$`: as a pattern, it matches only itself (exactly,
/// or ignoring case when asked). One pass for the three bytes, since this is asked of every
/// resource and every value put in one. The pass does not stop at a hit, so the compiler
/// compares many bytes at a time inline: the texts are short and nearly always plain, and a
/// call to `memchr3` for each cost more than its search.
#[inline]
pub fn is_plain(s: &str) -> bool {
    !s.bytes()
        .fold(false, |hit, b| hit | matches!(b, b'*' | b'?' | b'$'))
}

/// Does `pattern` match `text`? Iterative with single-star backtracking, so it runs in
/// O(len(pattern) × len(text)) at worst and never recurses. In the pattern, `${*}`, `${?}` and
/// `${$}` match the literal characters; `text` is taken as it is.
pub fn matches(pattern: &str, text: &str, case_insensitive: bool) -> bool {
    // A pattern with no wildcard and no `${…}` is its own text: compared whole (the replay
    // compares each grant with every exact resource of its statements, mostly in vain)
    if is_plain(pattern) {
        if !case_insensitive {
            return pattern == text;
        }
        if pattern.is_ascii() && text.is_ascii() {
            return pattern.eq_ignore_ascii_case(text);
        }
    }
    // ARNs and action names are ASCII: matched as bytes, with nothing allocated (the replay
    // and the generalizer ask this of every grant against every statement)
    if pattern.is_ascii() && text.is_ascii() && !has_variable(pattern) {
        return matches_ascii(pattern.as_bytes(), text.as_bytes(), case_insensitive);
    }
    matches_chars(pattern, text, case_insensitive)
}

/// [`matches`] on ASCII text, for a pattern without `${…}`.
fn matches_ascii(p: &[u8], t: &[u8], case_insensitive: bool) -> bool {
    // The pattern's literal head (up to its first `*` or `?`) must start the text: compared
    // as one run, and only what follows is globbed a byte at a time (a proposal's patterns
    // are long ARNs that end in their only `*`, and the replay asks each of its grants)
    let at = memchr::memchr2(b'*', b'?', p).unwrap_or(p.len());
    let (head, p) = p.split_at(at);
    let Some((start, t)) = t.split_at_checked(at) else {
        return false;
    };
    let same = if case_insensitive {
        head.eq_ignore_ascii_case(start)
    } else {
        head == start
    };
    // (a lone `*` after it takes any rest)
    same && (p == b"*"
        || glob(
            p,
            t,
            |b| b == b'*',
            |b, c| b == b'?' || b == c || (case_insensitive && b.eq_ignore_ascii_case(&c)),
        ))
}

/// [`matches`] on any text, by `char`, reading the `${*}`, `${?}` and `${$}` escapes.
fn matches_chars(pattern: &str, text: &str, case_insensitive: bool) -> bool {
    let p: Vec<Tok> = if has_variable(pattern) {
        tokens(pattern)
    } else {
        pattern
            .chars()
            .map(|c| match c {
                '*' => Tok::Star,
                '?' => Tok::One,
                c => Tok::Lit(c),
            })
            .collect()
    };
    let t: Vec<char> = text.chars().collect();
    let eq = |a: char, b: char| {
        if case_insensitive {
            a.eq_ignore_ascii_case(&b) || a.to_lowercase().eq(b.to_lowercase())
        } else {
            a == b
        }
    };
    glob(
        &p,
        &t,
        |x| x == Tok::Star,
        |x, c| match x {
            Tok::One => true,
            Tok::Lit(l) => eq(l, c),
            Tok::Star => false,
        },
    )
}

/// The matching both forms share: `is_star` elements of the pattern match any run of the
/// text, the others one element where `step` says so. Iterative, backtracking to the last star
/// only.
fn glob<P: Copy, T: Copy>(
    p: &[P],
    t: &[T],
    is_star: impl Fn(P) -> bool,
    step: impl Fn(P, T) -> bool,
) -> bool {
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while let Some(&c) = t.get(ti) {
        let here = p.get(pi).copied();
        if here.is_some_and(|x| !is_star(x) && step(x, c)) {
            pi += 1;
            ti += 1;
        } else if here.is_some_and(&is_star) {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    while p.get(pi).copied().is_some_and(&is_star) {
        pi += 1;
    }
    pi == p.len()
}

/// `true` when the pattern holds a wildcard: a `*` or `?` that is not one of the literal
/// escapes `${*}`, `${?}`.
pub fn has_wildcard(s: &str) -> bool {
    if !has_variable(s) {
        return s.contains(['*', '?']);
    }
    tokens(s).iter().any(|t| matches!(t, Tok::Star | Tok::One))
}

/// Whether `s` holds `${` (a policy variable or an escape): memchr's search for `$`, not a
/// substring searcher built per call, since this is asked of every resource.
pub fn has_variable(s: &str) -> bool {
    find_variable(s).is_some()
}

/// Where the first `${` of `s` starts, found as [`has_variable`] finds it.
pub fn find_variable(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    memchr::memchr_iter(b'$', b).find(|&i| b.get(i + 1) == Some(&b'{'))
}

/// Text from a log, written so that IAM reads it literally in a resource or a condition value:
/// `*` → `${*}`, `?` → `${?}`, and a `$` that starts `${` → `${$}` (a policy variable could
/// otherwise be spelled). Text without these comes back borrowed.
pub fn escape(s: &str) -> Cow<'_, str> {
    // one pass for the three bytes (nearly every resource has none of them), not a search per
    // character set
    if is_plain(s) || (!s.contains(['*', '?']) && !has_variable(s)) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' => out.push_str("${*}"),
            '?' => out.push_str("${?}"),
            '$' if chars.peek() == Some(&'{') => out.push_str("${$}"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// The literal text an escaped string stands for (`${*}` → `*`); wildcards stay as they are.
pub fn unescape(s: &str) -> Cow<'_, str> {
    if !has_variable(s) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(
        tokens(s)
            .into_iter()
            .map(|t| match t {
                Tok::Lit(c) => c,
                Tok::Star => '*',
                Tok::One => '?',
            })
            .collect(),
    )
}

/// A policy variable's key and default: `aws:username`, or `key, 'default'`.
fn variable(body: &str) -> (&str, Option<&str>) {
    match body.split_once(',') {
        Some((k, d)) => {
            let d = d.trim();
            let d = d
                .strip_prefix('\'')
                .and_then(|d| d.strip_suffix('\''))
                .unwrap_or(d);
            (k.trim(), Some(d))
        }
        None => (body.trim(), None),
    }
}

/// The pattern with each policy variable replaced by its value (escaped, as IAM substitutes
/// values literally); `None` when a variable has no value and no default. A pattern without
/// variables comes back as it is.
pub fn substitute(pattern: &str, value: impl Fn(&str) -> Option<String>) -> Option<String> {
    let mut out = String::with_capacity(pattern.len());
    let mut rest = pattern;
    while let Some(i) = find_variable(rest) {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let Some(j) = after.find('}') else {
            out.push_str(&rest[i..]);
            return Some(out);
        };
        let body = &after[..j];
        if matches!(body, "*" | "?" | "$") {
            out.push_str(&rest[i..i + 2 + j + 1]);
        } else {
            let (key, default) = variable(body);
            let v = value(key).or_else(|| default.map(str::to_string))?;
            out.push_str(&escape(&v));
        }
        rest = &after[j + 1..];
    }
    out.push_str(rest);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The byte matcher and the `char` matcher agree on ASCII patterns and text.
        #[test]
        fn ascii_fast_path_agrees(
            p in "[ab*?:/${}A]{0,12}",
            t in "[ab:/${}A]{0,16}",
            ci: bool,
        ) {
            let fast = if p.is_ascii() && t.is_ascii() && !has_variable(&p) {
                matches_ascii(p.as_bytes(), t.as_bytes(), ci)
            } else {
                matches_chars(&p, &t, ci)
            };
            proptest::prop_assert_eq!(fast, matches_chars(&p, &t, ci));
            proptest::prop_assert_eq!(matches(&p, &t, ci), matches_chars(&p, &t, ci));
        }

        /// A pattern without a wildcard or a `$` (compared whole) matches as the `char`
        /// matcher says, non-ASCII letters and their cases included.
        #[test]
        fn literal_patterns_agree(
            p in "[aAéÉßk:/{}]{0,8}",
            t in "[aAéÉßk:/{}]{0,8}",
            ci: bool,
        ) {
            proptest::prop_assert_eq!(matches(&p, &t, ci), matches_chars(&p, &t, ci));
            for q in [t.clone(), t.to_ascii_uppercase(), t.to_uppercase()] {
                proptest::prop_assert_eq!(matches(&q, &t, ci), matches_chars(&q, &t, ci));
            }
        }
    }

    #[test]
    fn has_variable_finds_dollar_brace_anywhere() {
        for (s, want) in [
            ("", false),
            ("$", false),
            ("a$b{", false),
            ("${", true),
            ("a$${x}", true),
            ("arn:aws:s3:::b/k$", false),
            ("arn:aws:s3:::b/${aws:username}", true),
        ] {
            assert_eq!(has_variable(s), want, "{s}");
            assert_eq!(has_variable(s), s.contains("${"), "{s}");
        }
    }

    #[test]
    fn stars_and_questions() {
        assert!(matches("*", "", false));
        assert!(matches("s3:Get*", "s3:GetObject", false));
        assert!(matches("s3:get*", "S3:GetObject", true));
        assert!(!matches("s3:get*", "s3:GetObject", false));
        assert!(matches("arn:aws:s3:::b/*", "arn:aws:s3:::b/a/b/c", false));
        assert!(!matches("arn:aws:s3:::b/*", "arn:aws:s3:::bb/a", false));
        assert!(matches("secret:db-??????", "secret:db-AbCdEf", false));
        assert!(!matches("secret:db-??????", "secret:db-AbCdE", false));
        assert!(matches("a*b*c", "aXXbYYc", false));
        assert!(!matches("a*b*c", "aXXbYY", false));
        assert!(matches("*a", "aaaa", false));
    }

    #[test]
    fn escapes_are_literals() {
        // an object literally named `*` is that object, not the bucket
        assert!(matches("arn:aws:s3:::b/${*}", "arn:aws:s3:::b/*", false));
        assert!(!matches("arn:aws:s3:::b/${*}", "arn:aws:s3:::b/x", false));
        assert!(!matches("arn:aws:s3:::b/${?}", "arn:aws:s3:::b/x", false));
        assert!(matches(
            "arn:aws:s3:::b/a${$}{x}",
            "arn:aws:s3:::b/a${x}",
            false
        ));
        assert!(matches("arn:aws:s3:::b/*", "arn:aws:s3:::b/*", false));
        assert!(!has_wildcard("arn:aws:s3:::b/${*}${?}"));
        assert!(has_wildcard("arn:aws:s3:::b/${*}*"));
        assert_eq!(escape("a*b?c${d}$e"), "a${*}b${?}c${$}{d}$e");
        assert_eq!(
            escape("[$LATEST]"),
            "[$LATEST]",
            "a lone `$` is literal already"
        );
        assert_eq!(unescape("a${*}b${?}c${$}{d}$e"), "a*b?c${d}$e");
        assert_eq!(
            substitute("arn:aws:s3:::b/${aws:username}/${*}/${x, 'd'}", |k| {
                (k == "aws:username").then(|| "u".into())
            })
            .as_deref(),
            Some("arn:aws:s3:::b/u/${*}/d"),
            "keys and defaults"
        );
        assert_eq!(
            substitute("b/${aws:username}/${*}", |k| (k == "aws:username")
                .then(|| "a*".into()))
            .as_deref(),
            Some("b/a${*}/${*}")
        );
        assert_eq!(substitute("b/${aws:username}", |_| None), None);
    }

    proptest::proptest! {
        #[test]
        fn literal_matches_itself(s in "[a-zA-Z0-9:/._-]{0,40}") {
            proptest::prop_assert!(matches(&s, &s, false));
            proptest::prop_assert!(matches("*", &s, false));
        }

        /// Any text, escaped, matches exactly itself: never more.
        #[test]
        fn escaped_text_matches_only_itself(s in "[a*?${}/.]{0,12}", t in "[a*?${}/.]{0,12}") {
            let e = escape(&s);
            proptest::prop_assert!(!has_wildcard(&e));
            // no policy variable: substitution with no values leaves it as it is
            proptest::prop_assert_eq!(substitute(&e, |_| None), Some(e.to_string()));
            let back = unescape(&e).into_owned();
            proptest::prop_assert_eq!(back, s.clone());
            proptest::prop_assert_eq!(matches(&e, &t, false), s == t);
        }
    }
}
