//! Folding on read: how a resource ARN is cut as it is read when the policy will be
//! generalized, and the generalization level that decides it. Below both the aggregation
//! ([`crate::usage`]), which folds as it reads, and synthesis ([`crate::synth`]), which
//! generalizes what was read into the same patterns; the Athena push-down ([`crate::athena`])
//! cuts keys the same way in SQL.

use serde::Serialize;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum GeneralizeLevel {
    /// Every observed ARN as it is.
    Exact,
    /// Longest common path prefixes (bounded per bucket), indexes and log streams per parent.
    #[default]
    Prefix,
    /// One pattern per bucket, table's indexes, or log group.
    Type,
}

/// What a resource ARN is a child of, for collapsing.
pub(crate) enum Parent<'a> {
    /// An S3 object: (`arn:…:::bucket/`, key).
    S3 { head: &'a str, key: &'a str },
    /// A DynamoDB index: `…:table/T/index/`.
    Index { head: &'a str },
    /// A log stream: `…:log-group:G:log-stream:`.
    LogStream { head: &'a str },
}

pub(crate) fn parent(arn: &str) -> Option<Parent<'_>> {
    if let Some(rest) = arn.strip_prefix("arn:") {
        // `partition:service:region:account:resource`: the first four colons (this is asked of
        // every resource read)
        let [first, second, _, fourth] = crate::arn::four_colons(rest)?;
        let service = &rest[first + 1..second];
        let resource = &rest[fourth + 1..];
        let res_start = arn.len() - resource.len();
        // substring finders built once, not a searcher per call as `str::find` builds
        static INDEX: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
            std::sync::LazyLock::new(|| memchr::memmem::Finder::new("/index/"));
        static LOG_STREAM: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
            std::sync::LazyLock::new(|| memchr::memmem::Finder::new(":log-stream:"));
        match service {
            "s3" => {
                let slash = memchr::memchr(b'/', resource.as_bytes())?;
                if slash == 0 {
                    return None;
                }
                let split = res_start + slash + 1;
                return Some(Parent::S3 {
                    head: &arn[..split],
                    key: &arn[split..],
                });
            }
            "dynamodb" => {
                let i = INDEX.find(resource.as_bytes())?;
                return Some(Parent::Index {
                    head: &arn[..res_start + i + "/index/".len()],
                });
            }
            "logs" => {
                let i = LOG_STREAM.find(resource.as_bytes())?;
                return Some(Parent::LogStream {
                    head: &arn[..res_start + i + ":log-stream:".len()],
                });
            }
            _ => {}
        }
    }
    None
}

/// Does a path segment look like a value that changes (a date, a number, an id) rather than a
/// name? `2026`, `2026-11-01`, `20261101T0505Z`, a UUID, a long hex id.
pub fn is_variable_segment(seg: &str) -> bool {
    let seg = seg.trim_end_matches('/');
    if seg.is_empty() {
        return false;
    }
    let digits = seg.bytes().filter(u8::is_ascii_digit).count();
    let date_like = digits > 0
        && seg
            .bytes()
            .all(|b| b.is_ascii_digit() || b"-_:.TZ".contains(&b));
    let hex_id =
        seg.len() >= 16 && digits > 0 && seg.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
    date_like || hex_id
}

/// The part of a key's directory before its first variable segment: `uploads/2026/11/a.jpg` →
/// `uploads/`; `None` for a key with no directory.
pub(crate) fn stable_dir(key: &str) -> Option<&str> {
    let dir_end = key.rfind('/')? + 1;
    let mut end = 0;
    while end < dir_end {
        let next = end + key[end..dir_end].find('/').map_or(dir_end - end, |i| i + 1);
        if is_variable_segment(&key[end..next]) {
            break;
        }
        end = next;
    }
    Some(&key[..end])
}

/// How a resource is folded as it is read, when the policy will be generalized
/// (`--generalize prefix` or `type`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadFold<'a> {
    /// Into the pattern `stem*`: an S3 object key in a directory becomes its stable directory
    /// and `*` (`b/uploads/2026/11/a.jpg` → `b/uploads/*`), a log stream its group's
    /// `…:log-stream:*`. The stem is where the resource starts (a slice of it).
    Into { stem: &'a str },
    /// An S3 object at the top of its bucket (a key without `/`): kept as it is, unless its
    /// principal touches too many such keys ([`crate::usage::FOLD_TOP_LEVEL_AFTER`]); then
    /// folded into the bucket's pattern, `head` and `*`.
    TopLevel { head: &'a str },
    /// Kept as it is: a resource already in a folded form, anything else.
    Keep,
}

/// How `arn` is folded as it is read ([`ReadFold`]). Generalization never names anything finer
/// than these patterns, so the policy from folded resources is the one from the exact
/// resources; the Athena push-down cuts keys the same way in SQL.
pub fn read_fold(arn: &str) -> ReadFold<'_> {
    let stem_len = match parent(arn) {
        Some(Parent::S3 { head, key }) => match stable_dir(key) {
            Some(dir) => head.len() + dir.len(),
            None if !key.is_empty() => return ReadFold::TopLevel { head },
            None => return ReadFold::Keep,
        },
        Some(Parent::LogStream { head }) => head.len(),
        Some(Parent::Index { .. }) | None => return ReadFold::Keep,
    };
    let (stem, rest) = arn.split_at_checked(stem_len).unwrap_or((arn, ""));
    // a resource already in its folded form stays as it is
    if rest == "*" {
        ReadFold::Keep
    } else {
        ReadFold::Into { stem }
    }
}

/// The pattern a resource is folded into as it is read ([`ReadFold::Into`]); `None` when it
/// stays as it is.
pub fn fold_on_read(arn: &str) -> Option<String> {
    match read_fold(arn) {
        ReadFold::Into { stem } => Some(format!("{stem}*")),
        ReadFold::TopLevel { .. } | ReadFold::Keep => None,
    }
}

/// The stem of a pattern resources were folded into: the pattern less its `*`. Each resource
/// folded into it starts with the stem, and its fold keeps only the rest of each example
/// ([`crate::usage::Folded`]).
pub fn fold_stem(pattern: &str) -> &str {
    pattern.strip_suffix('*').unwrap_or(pattern)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The service and resource of an ARN, as `splitn` gives them.
    fn parts_by_split(arn: &str) -> Option<(&str, &str)> {
        let [_, service, _, _, resource] = crate::arn::split_by_splitn(arn)?;
        Some((service, resource))
    }

    fn head(p: &Parent<'_>) -> String {
        match p {
            Parent::S3 { head, key } => format!("s3 {head} {key}"),
            Parent::Index { head } => format!("index {head}"),
            Parent::LogStream { head } => format!("logs {head}"),
        }
    }

    proptest::proptest! {
        /// The colons found a byte at a time cut an ARN where `splitn` does: whatever the text, a
        /// parent is found exactly for the ARNs whose service and resource give one.
        #[test]
        fn an_arn_is_cut_where_splitn_cuts_it(
            arn in "(arn:)?(aws|:|s3|logs|dynamodb|/|é|b|log-stream|/index/){0,12}",
        ) {
            let ours = parent(&arn).map(|p| head(&p));
            let expected = parts_by_split(&arn).and_then(|(service, resource)| {
                let start = arn.len() - resource.len();
                match service {
                    "s3" => resource
                        .find('/')
                        .filter(|&i| i > 0)
                        .map(|i| format!("s3 {} {}", &arn[..start + i + 1], &arn[start + i + 1..])),
                    "dynamodb" => resource
                        .find("/index/")
                        .map(|i| format!("index {}", &arn[..start + i + "/index/".len()])),
                    "logs" => resource
                        .find(":log-stream:")
                        .map(|i| format!("logs {}", &arn[..start + i + ":log-stream:".len()])),
                    _ => None,
                }
            });
            proptest::prop_assert_eq!(ours, expected, "{}", arn);
        }
    }

    #[test]
    fn parents_of_real_arns() {
        let p = |a: &str| parent(a).map(|p| head(&p));
        assert_eq!(
            p("arn:aws:s3:::b/uploads/a.jpg").as_deref(),
            Some("s3 arn:aws:s3:::b/ uploads/a.jpg")
        );
        assert_eq!(
            p("arn:aws:logs:eu-west-1:1:log-group:/aws/lambda/f:log-stream:2026/x").as_deref(),
            Some("logs arn:aws:logs:eu-west-1:1:log-group:/aws/lambda/f:log-stream:")
        );
        assert_eq!(
            p("arn:aws:dynamodb:eu-west-1:1:table/t/index/by-day").as_deref(),
            Some("index arn:aws:dynamodb:eu-west-1:1:table/t/index/")
        );
        assert_eq!(p("arn:aws:dynamodb:eu-west-1:1:table/t"), None);
        assert_eq!(p("arn:aws:logs:eu-west-1:1:log-group:/aws/lambda/f"), None);
        assert_eq!(p("arn:aws:s3:::/k"), None);
        assert_eq!(p("arn:aws:s3:::b"), None);
        assert_eq!(p("arn:aws:sqs:eu-west-1:1:q"), None);
        assert_eq!(p("arn:aws:s3"), None);
    }
}
