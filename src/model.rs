//! The small shared types of the pipeline's data, below every stage that uses them: when
//! something was seen ([`Seen`]), the window a run covers ([`Window`]), and the typed names in
//! a grant's key ([`Action`], [`ArnPattern`]).

use std::borrow::Cow;
use std::fmt;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// Calls alike: how many, and the first and last time. The one `{count, first, last}` of the
/// project: a grant's evidence carries it, an Athena row stands for one, the drift state keeps
/// one per grant across runs.
///
/// The times are those of the calls that had one: a record without `eventTime` (an export that
/// dropped it) counts, but has no time to give. `first_seen` and `last_seen` are `None` (JSON
/// `null`) when no call behind them had a time, never a made-up date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Seen {
    pub count: u64,
    /// The first time of the calls; `null` when none of them had a time.
    #[serde(serialize_with = "time_text")]
    pub first_seen: Option<DateTime<Utc>>,
    /// The last time of the calls; `null` when none of them had a time.
    #[serde(serialize_with = "time_text")]
    pub last_seen: Option<DateTime<Utc>>,
}

impl Seen {
    /// Writes its three fields into a struct being written, as its own `Serialize` names
    /// them: for the outputs that write them beside other fields (the evidence rows) without
    /// `serde(flatten)`, which writes every field of the struct as a map's entry.
    pub fn fields<M: serde::ser::SerializeStruct>(&self, m: &mut M) -> Result<(), M::Error> {
        /// A time written by [`time_text`].
        struct Time<'a>(&'a Option<DateTime<Utc>>);
        impl Serialize for Time<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                time_text(self.0, s)
            }
        }
        m.serialize_field("count", &self.count)?;
        m.serialize_field("first_seen", &Time(&self.first_seen))?;
        m.serialize_field("last_seen", &Time(&self.last_seen))
    }
}

/// A time as chrono serializes it (`2026-08-19T07:21:54Z`), written without `fmt`'s machinery
/// when it is a whole second of the years 0 to 9999, as every CloudTrail time is: the evidence
/// rows hold two times each, and chrono's `Display` was a tenth of writing the JSON output.
/// Any other time is left to chrono.
fn time_text<S: serde::Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    use chrono::{Datelike, Timelike};
    let Some(t) = t else {
        return s.serialize_none();
    };
    let year = t.year();
    if t.nanosecond() != 0 || !(0..=9999).contains(&year) {
        return t.serialize(s);
    }
    let mut b = *b"0000-00-00T00:00:00Z";
    let mut put = |at: usize, n: u32, digits: usize| {
        let mut n = n;
        for i in (at..at + digits).rev() {
            b[i] = b'0' + (n % 10) as u8;
            n /= 10;
        }
    };
    put(0, year.unsigned_abs(), 4);
    put(5, t.month(), 2);
    put(8, t.day(), 2);
    put(11, t.hour(), 2);
    put(14, t.minute(), 2);
    put(17, t.second(), 2);
    s.serialize_str(std::str::from_utf8(&b).map_err(serde::ser::Error::custom)?)
}

/// The earlier of two times that may be unknown: a known time wins over none.
fn earliest(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (t, None) | (None, t) => t,
    }
}

/// The later of two times that may be unknown: a known time wins over none.
fn latest(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (t, None) | (None, t) => t,
    }
}

impl Seen {
    /// One call at `time`.
    pub fn once(time: DateTime<Utc>) -> Seen {
        Seen::at(Some(time))
    }

    /// One call, at `time` when it had one.
    pub fn at(time: Option<DateTime<Utc>>) -> Seen {
        Seen {
            count: 1,
            first_seen: time,
            last_seen: time,
        }
    }

    /// `count` calls between `first` and `last`.
    pub fn span(first: DateTime<Utc>, last: DateTime<Utc>, count: u64) -> Seen {
        Seen {
            count,
            first_seen: Some(first),
            last_seen: Some(last),
        }
    }

    /// Adds `other`'s calls: counts add, the times widen (a call without a time widens
    /// nothing).
    pub fn merge(&mut self, other: &Seen) {
        self.count += other.count;
        self.first_seen = earliest(self.first_seen, other.first_seen);
        self.last_seen = latest(self.last_seen, other.last_seen);
    }

    /// Whether a call at `time` comes before a call at `other` in the order of the evidence:
    /// by time, a call with a time before one without; `None` when they cannot be told apart.
    pub fn before(time: Option<DateTime<Utc>>, other: Option<DateTime<Utc>>) -> Option<bool> {
        match (time, other) {
            (Some(a), Some(b)) if a != b => Some(a < b),
            (Some(_), None) => Some(true),
            (None, Some(_)) => Some(false),
            _ => None,
        }
    }
}

/// The time a run's records cover: the first and the last event time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Window {
    pub first: DateTime<Utc>,
    pub last: DateTime<Utc>,
}

impl Window {
    /// The window of one call.
    pub fn at(time: DateTime<Utc>) -> Window {
        Window {
            first: time,
            last: time,
        }
    }

    /// Widened to take in `first..=last`.
    pub fn widen(&mut self, first: DateTime<Utc>, last: DateTime<Utc>) {
        self.first = self.first.min(first);
        self.last = self.last.max(last);
    }

    /// Both windows in one (`None` when neither is known).
    pub fn union(a: Option<Window>, b: Option<Window>) -> Option<Window> {
        match (a, b) {
            (Some(mut a), Some(b)) => {
                a.widen(b.first, b.last);
                Some(a)
            }
            (w, None) | (None, w) => w,
        }
    }

    /// Whole days between the first and the last event.
    pub fn days(&self) -> i64 {
        (self.last - self.first).num_days()
    }
}

/// A policy `Condition` block: operator → key → values (strings, as IAM compares them). The one
/// condition type: a policy's statements carry it, a grant's evidence keeps the conditions every
/// call behind it satisfied, and the mapping says which conditions one call satisfied.
pub type Conditions = std::collections::BTreeMap<
    String,
    std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
>;

/// Adds `key` = `value` under `operator` to `c`.
pub fn add_condition(c: &mut Conditions, operator: &str, key: &str, value: String) {
    c.entry(operator.to_string())
        .or_default()
        .entry(key.to_string())
        .or_default()
        .insert(value);
}

/// The conditions a call satisfied that is known to carry `key` = `value` (one entry).
pub fn condition(operator: &str, key: &str, value: String) -> Conditions {
    let mut c = Conditions::new();
    add_condition(&mut c, operator, key, value);
    c
}

/// Why a text cannot be an [`Action`] or an [`ArnPattern`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("`{0}` is not an IAM action (expected `service:Name`)")]
    Action(String),
    #[error("`{0}` is not a resource (expected an ARN, an ARN pattern, or `*`)")]
    Resource(String),
}

/// An IAM action as a policy names it, `service:Name`: a prefix of lowercase letters, digits
/// and `-`, a colon, and a name without whitespace. It may hold `*`/`?` (an action pattern from
/// a current policy, or `s3:*` from `--compact`); the key of an observed grant never does.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, schemars::JsonSchema)]
#[serde(transparent)]
pub struct Action(Cow<'static, str>);

impl Action {
    /// The action `s`, validated. A catalog name (`&'static str`) is kept as it is: the read
    /// phase's grants name their action by the catalog's own `prefix:Name`, and a copy of it
    /// for each of them was a small allocation a grant, made while the usage is resolved.
    pub fn new(s: impl Into<Cow<'static, str>>) -> Result<Action, NameError> {
        let s = s.into();
        let ok = match s.split_once(':') {
            Some((service, name)) => {
                !service.is_empty()
                    && service
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                    && !name.is_empty()
                    && !name.contains(':')
                    && !name.chars().any(char::is_whitespace)
            }
            None => false,
        };
        if ok {
            Ok(Action(s))
        } else {
            Err(NameError::Action(s.into_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The service prefix (`s3`).
    pub fn service(&self) -> &str {
        self.0.split_once(':').map_or("", |(s, _)| s)
    }

    /// The name after the prefix (`GetObject`).
    pub fn name(&self) -> &str {
        self.0.split_once(':').map_or("", |(_, n)| n)
    }
}

/// A resource as a policy names it: an ARN (its log-derived parts escaped, see
/// [`crate::wildcard::escape`]), an ARN pattern, or `*`. It starts with `arn:` and has the
/// ARN's six parts, or is `*`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, schemars::JsonSchema)]
#[serde(transparent)]
pub struct ArnPattern(String);

impl ArnPattern {
    pub fn new(s: impl Into<String>) -> Result<ArnPattern, NameError> {
        let s = s.into();
        if ArnPattern::is_valid(&s) {
            Ok(ArnPattern(s))
        } else {
            Err(NameError::Resource(s))
        }
    }

    /// Whether [`ArnPattern::new`] takes `s`: `*`, or an ARN of six parts.
    pub fn is_valid(s: &str) -> bool {
        // six parts: five colons or more (memchr, not a `splitn` searcher per part)
        s == "*"
            || (s.starts_with("arn:") && memchr::memchr_iter(b':', s.as_bytes()).nth(4).is_some())
    }

    /// Every resource (`*`).
    pub fn any() -> ArnPattern {
        ArnPattern("*".to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! text_impls {
    ($t:ty) => {
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl std::ops::Deref for $t {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }
        impl AsRef<str> for $t {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
        impl std::borrow::Borrow<str> for $t {
            fn borrow(&self) -> &str {
                &self.0
            }
        }
        impl PartialEq<str> for $t {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }
        impl PartialEq<&str> for $t {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }
        impl From<$t> for String {
            fn from(v: $t) -> String {
                v.0.into()
            }
        }
    };
}
text_impls!(Action);
text_impls!(ArnPattern);

/// A value given as text (an option, a setting) that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    #[error("`{0}` is not a time: use RFC 3339, YYYY-MM-DD, or a duration like `90d`")]
    Time(String),
    #[error("`{0}` is not a duration: use `90d`, `12w` or `48h`")]
    Duration(String),
    #[error("`{0}` is not a size: give bytes, or a number with K, M or G (`512M`)")]
    Size(String),
}

/// Parses `--since`/`--until`: RFC 3339, `YYYY-MM-DD`, or `N{s,m,h,d,w}` before now.
pub fn parse_time(s: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, ValueError> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d")
        && let Some(t) = d.and_hms_opt(0, 0, 0)
    {
        return Ok(t.and_utc());
    }
    // the last character is the unit (cut on a character boundary: `90日` is an error, not a panic)
    let (num, unit) = s.split_at(s.char_indices().last().map_or(0, |(i, _)| i));
    let n: i64 = num.parse().map_err(|_| ValueError::Time(s.to_string()))?;
    let d = match unit {
        "s" => Duration::try_seconds(n),
        "m" => Duration::try_minutes(n),
        "h" => Duration::try_hours(n),
        "d" => Duration::try_days(n),
        "w" => Duration::try_weeks(n),
        _ => None,
    };
    match d.and_then(|d| now.checked_sub_signed(d)) {
        Some(t) => Ok(t),
        None => Err(ValueError::Time(s.to_string())),
    }
}

/// `--max-file-size`: bytes, or a number with `K`, `M`, `G` (powers of 1,024).
pub fn parse_size(s: &str) -> Result<u64, ValueError> {
    let t = s.trim();
    let (num, mul) = match t.char_indices().last() {
        Some((i, c)) if c.eq_ignore_ascii_case(&'k') => (&t[..i], 1u64 << 10),
        Some((i, c)) if c.eq_ignore_ascii_case(&'m') => (&t[..i], 1 << 20),
        Some((i, c)) if c.eq_ignore_ascii_case(&'g') => (&t[..i], 1 << 30),
        _ => (t, 1),
    };
    num.trim()
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mul))
        .filter(|n| *n > 0)
        .ok_or_else(|| ValueError::Size(s.to_string()))
}

/// Parses a duration: `90d`, `12w`, `48h`.
pub fn parse_duration(s: &str) -> Result<Duration, ValueError> {
    let (n, unit) = s.split_at(s.char_indices().last().map_or(0, |(i, _)| i));
    let n: i64 = n.parse().map_err(|_| ValueError::Duration(s.to_string()))?;
    let d = match unit {
        "h" => Duration::try_hours(n),
        "d" => Duration::try_days(n),
        "w" => Duration::try_weeks(n),
        _ => None,
    };
    d.ok_or_else(|| ValueError::Duration(s.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The fast path writes what chrono writes, for whole seconds and for any other time
        /// (fractions, leap seconds, years before 0 and after 9999), and `null` for none.
        #[test]
        fn times_are_written_as_chrono_writes_them(
            secs in -400_000_000_000i64..400_000_000_000,
            nanos in proptest::prop_oneof![proptest::strategy::Just(0u32), 0u32..2_000_000_000],
            none in proptest::bool::weighted(0.05),
        ) {
            let t = DateTime::from_timestamp(secs, nanos).filter(|_| !none);
            let seen = Seen { count: 1, first_seen: t, last_seen: t };
            let ours = serde_json::to_value(seen).unwrap_or_default();
            let chrono = serde_json::to_value(t).unwrap_or_default();
            proptest::prop_assert_eq!(&ours["first_seen"], &chrono);
            proptest::prop_assert_eq!(&ours["last_seen"], &chrono);
        }
    }

    #[test]
    fn benchmark_times_take_the_fast_path_and_read_back() {
        let t = DateTime::from_timestamp(1_790_000_000, 0);
        let text = serde_json::to_string(&Seen::at(t)).unwrap_or_default();
        assert_eq!(
            text,
            r#"{"count":1,"first_seen":"2026-09-21T14:13:20Z","last_seen":"2026-09-21T14:13:20Z"}"#
        );
        let back: Seen = serde_json::from_str(&text).unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(back, Seen::at(t));
    }

    #[test]
    fn actions_are_validated() {
        assert!(Action::new("s3:GetObject").is_ok());
        assert!(Action::new("s3:Get*").is_ok());
        assert!(Action::new("ec2-instance-connect:SendSSHPublicKey").is_ok());
        for bad in [
            "",
            "s3",
            ":GetObject",
            "s3:",
            "S3:GetObject",
            "s3:Get Object",
            "a:b:c",
        ] {
            assert_eq!(
                Action::new(bad),
                Err(NameError::Action(bad.to_string())),
                "{bad}"
            );
        }
        let a = Action::new("dynamodb:Query").unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!((a.service(), a.name()), ("dynamodb", "Query"));
    }

    /// A catalog name is kept as it is, without a copy; a name given as a `String` is kept as
    /// that `String`. Either way it is the same action: equal, ordered and hashed as its text.
    #[test]
    fn a_static_name_is_kept_without_a_copy() {
        use std::hash::BuildHasher;
        let name: &'static str = "s3:GetObject";
        let borrowed = Action::new(name).unwrap_or_else(|e| unreachable!("{e}"));
        assert!(matches!(borrowed.0, Cow::Borrowed(s) if std::ptr::eq(s, name)));
        let owned = Action::new(name.to_string()).unwrap_or_else(|e| unreachable!("{e}"));
        assert!(matches!(owned.0, Cow::Owned(_)));
        assert_eq!(borrowed, owned);
        let later =
            Action::new(String::from("s3:PutObject")).unwrap_or_else(|e| unreachable!("{e}"));
        assert!(borrowed < later && owned < later);
        let h = std::collections::hash_map::RandomState::new();
        assert_eq!(h.hash_one(&borrowed), h.hash_one(&owned));
        assert_eq!(String::from(borrowed.clone()), name);
        // a name that is not an action is reported as text, whichever way it came
        assert_eq!(
            Action::new("S3:GetObject"),
            Err(NameError::Action("S3:GetObject".to_string()))
        );
    }

    #[test]
    fn resources_are_validated() {
        assert!(ArnPattern::new("*").is_ok());
        assert!(ArnPattern::new("arn:aws:s3:::b/k").is_ok());
        assert!(ArnPattern::new("arn:aws:logs:us-east-1:1:log-group:g:*").is_ok());
        for bad in ["", "b/k", "arn:aws:s3", "arn:aws:s3::b", "**"] {
            assert!(ArnPattern::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn seen_merges() {
        let t = |s: i64| DateTime::from_timestamp(s, 0).unwrap_or_default();
        let mut a = Seen::once(t(10));
        a.merge(&Seen::span(t(5), t(7), 3));
        assert_eq!(a, Seen::span(t(5), t(10), 4));
        // a call without a time counts and moves neither end
        a.merge(&Seen::at(None));
        assert_eq!(a, Seen::span(t(5), t(10), 5));
        let mut u = Seen::at(None);
        u.merge(&Seen::at(None));
        assert_eq!((u.count, u.first_seen, u.last_seen), (2, None, None));
        u.merge(&Seen::once(t(4)));
        assert_eq!(u, Seen::span(t(4), t(4), 3));
        assert_eq!(Seen::before(Some(t(1)), None), Some(true));
        assert_eq!(Seen::before(None, Some(t(1))), Some(false));
        assert_eq!(Seen::before(None, None), None);
        let w = Window::union(Some(Window::at(t(3))), Some(Window::at(t(9))));
        assert_eq!(
            w,
            Some(Window {
                first: t(3),
                last: t(9)
            })
        );
    }

    #[test]
    fn times() {
        let now = chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 11, 28, 12, 0, 0)
            .single()
            .unwrap_or_default();
        let t = |s| {
            parse_time(s, now)
                .map(|t| t.to_rfc3339())
                .unwrap_or_default()
        };
        assert_eq!(t("90d"), "2026-08-30T12:00:00+00:00");
        assert_eq!(t("12h"), "2026-11-28T00:00:00+00:00");
        assert_eq!(t("2026-11-01"), "2026-11-01T00:00:00+00:00");
        assert_eq!(t("2026-11-01T10:00:00+01:00"), "2026-11-01T09:00:00+00:00");
        assert!(parse_time("soon", now).is_err());
        assert!(parse_time("5y", now).is_err());
    }

    #[test]
    fn sizes_and_durations() {
        assert_eq!(parse_size("512M"), Ok(512 << 20));
        assert_eq!(parse_size("2g"), Ok(2 << 30));
        assert_eq!(parse_size("100"), Ok(100));
        assert!(
            parse_size("0").is_err() && parse_size("1T").is_err() && parse_size("ＭB").is_err()
        );
        assert_eq!(parse_duration("12w"), Ok(Duration::weeks(12)));
        assert!(parse_duration("90日").is_err() && parse_duration("d").is_err());
    }
}
