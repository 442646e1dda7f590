//! IAM-style wildcard matching: `*` matches any run of characters (including none) and `?`
//! matches exactly one. Used for actions (case-insensitively), resources (case-sensitively)
//! and the `--principal` filter.

/// Does `pattern` match `text`? Iterative with single-star backtracking, so it runs in
/// O(len(pattern) × len(text)) at worst and never recurses.
pub fn matches(pattern: &str, text: &str, case_insensitive: bool) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let eq = |a: char, b: char| {
        if case_insensitive {
            a.eq_ignore_ascii_case(&b) || a.to_lowercase().eq(b.to_lowercase())
        } else {
            a == b
        }
    };
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || (p[pi] != '*' && eq(p[pi], t[ti]))) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
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
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// `true` when the text holds `*` or `?`.
pub fn has_wildcard(s: &str) -> bool {
    s.contains(['*', '?'])
}

#[cfg(test)]
mod tests {
    use super::matches;

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

    proptest::proptest! {
        #[test]
        fn literal_matches_itself(s in "[a-zA-Z0-9:/._-]{0,40}") {
            proptest::prop_assert!(matches(&s, &s, false));
            proptest::prop_assert!(matches("*", &s, false));
        }
    }
}
