//! The CloudTrail record model: only the fields tightrole reads, borrowed from the input
//! buffer while parsing. Everything else in a record is skipped without allocating.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::value::RawValue;

mod params;
pub(crate) mod scan;
pub use params::Params;

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Record<'a> {
    #[serde(borrow, default, deserialize_with = "borrowed")]
    pub event_version: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    pub event_time: Option<Cow<'a, str>>,
    /// Logstash and other collectors move `eventTime` here.
    #[serde(borrow, default, deserialize_with = "borrowed", rename = "@timestamp")]
    pub at_timestamp: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    pub event_source: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    pub event_name: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    pub aws_region: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    pub user_agent: Option<Cow<'a, str>>,
    #[serde(
        borrow,
        default,
        deserialize_with = "borrowed",
        rename = "sourceIPAddress"
    )]
    pub source_ip_address: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    pub error_code: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    pub error_message: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed", rename = "eventID")]
    pub event_id: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    pub event_type: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    pub event_category: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    pub recipient_account_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub user_identity: Option<UserIdentity<'a>>,
    /// Split into names and raw values while the record is parsed ([`Params`]).
    #[serde(borrow, default)]
    pub request_parameters: Option<Params<'a>>,
    /// The raw JSON of `responseElements` (not `null`).
    #[serde(borrow, default, deserialize_with = "raw")]
    pub response_elements: Option<&'a str>,
    #[serde(borrow, default)]
    pub resources: Option<Vec<ResourceRef<'a>>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct UserIdentity<'a> {
    #[serde(borrow, default, deserialize_with = "borrowed", rename = "type")]
    pub kind: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    pub arn: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    pub account_id: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    pub invoked_by: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    pub user_name: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    pub principal_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub session_context: Option<SessionContext<'a>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct SessionContext<'a> {
    #[serde(borrow, default)]
    pub session_issuer: Option<SessionIssuer<'a>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct SessionIssuer<'a> {
    #[serde(borrow, default, deserialize_with = "borrowed", rename = "type")]
    pub kind: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    pub arn: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    pub account_id: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    pub user_name: Option<Cow<'a, str>>,
}

/// One entry of `resources[]`.
#[derive(Debug, Deserialize, Default, Clone)]
pub struct ResourceRef<'a> {
    #[serde(borrow, default, deserialize_with = "borrowed", rename = "ARN")]
    pub arn: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed", rename = "ARNPrefix")]
    pub arn_prefix: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed", rename = "type")]
    pub kind: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed", rename = "accountId")]
    pub account_id: Option<Cow<'a, str>>,
}

/// An optional string field, borrowed from the input when its JSON has no escapes. serde's own
/// `Option<Cow<str>>` always copies: its `borrow` reaches a bare `Cow` only, and every record
/// would allocate a score of strings.
fn borrowed<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Cow<'de, str>>, D::Error> {
    #[derive(Deserialize)]
    struct Borrowed<'a>(#[serde(borrow)] Cow<'a, str>);
    Ok(Option::<Borrowed<'de>>::deserialize(d)?.map(|b| b.0))
}

/// A value kept as its JSON text, unparsed (`None` for `null`).
fn raw<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<&'de str>, D::Error> {
    Ok(Option::<&'de RawValue>::deserialize(d)?.map(RawValue::get))
}

/// Why a record cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordProblem {
    Missing(&'static str),
    BadTime(String),
    /// `requestParameters` cannot be read (nested deeper than the parser's limit).
    Parameters(String),
}

impl RecordProblem {
    /// The reason the summary counts it under.
    pub fn reason(&self) -> DropReason {
        match self {
            RecordProblem::Missing("eventSource") => DropReason::NoEventSource,
            RecordProblem::Missing("eventName") => DropReason::NoEventName,
            RecordProblem::Missing(_) => DropReason::NoUserIdentity,
            RecordProblem::BadTime(_) => DropReason::BadTime,
            RecordProblem::Parameters(_) => DropReason::BadParameters,
        }
    }
}

impl std::fmt::Display for RecordProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RecordProblem::Missing(field) => write!(f, "missing field `{field}`"),
            RecordProblem::BadTime(t) => write!(f, "`eventTime` is not a time: `{t}`"),
            RecordProblem::Parameters(why) => f.write_str(why),
        }
    }
}

/// Why a record (or what stood where one should be) was dropped: the summary counts each.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum DropReason {
    NoEventSource,
    NoEventName,
    NoUserIdentity,
    BadTime,
    BadParameters,
    /// JSON that does not read as a record (a field of the wrong type, not an object).
    Unreadable,
    /// A LookupEvents entry without its `CloudTrailEvent` string.
    NoCloudTrailEvent,
    /// A record embedded in an export's field (`_raw`, `event`, `message`, a CloudTrail Lake
    /// row) that cannot be read.
    BadEmbedded,
    /// The point where a file stops parsing (what follows is lost).
    CutOff,
}

impl DropReason {
    /// How the summary says it, after a count: `3 without `eventSource``.
    pub fn phrase(self) -> &'static str {
        match self {
            DropReason::NoEventSource => "without `eventSource`",
            DropReason::NoEventName => "without `eventName`",
            DropReason::NoUserIdentity => "without `userIdentity`",
            DropReason::BadTime => "with an unreadable `eventTime`",
            DropReason::BadParameters => "with unreadable `requestParameters`",
            DropReason::Unreadable => "not readable as a record",
            DropReason::NoCloudTrailEvent => "lookup event(s) without `CloudTrailEvent`",
            DropReason::BadEmbedded => "with an unreadable embedded record",
            DropReason::CutOff => "where a file stopped parsing",
        }
    }
}

/// Dropped records by reason.
pub type Dropped = std::collections::BTreeMap<DropReason, u64>;

/// The time of a record: RFC 3339 first (what CloudTrail writes, without allocating), then the
/// other spellings exports use ([`parse_export_time`]). `None` when it is neither.
pub fn parse_event_time(t: &str) -> Option<DateTime<Utc>> {
    if let Some(d) = cloudtrail_time(t) {
        return Some(d);
    }
    match DateTime::parse_from_rfc3339(t) {
        Ok(d) => Some(d.with_timezone(&Utc)),
        Err(_) => parse_export_time(t),
    }
}

/// CloudTrail's own spelling, `YYYY-MM-DDTHH:MM:SSZ` exactly, read from its digits: about two
/// thirds of the instructions of the full RFC 3339 parse, which every record's time went
/// through (0.8% of a read's). The date and time are checked by chrono as that parse checks them; anything else
/// (another length, a fraction, an offset, a leap second, an impossible date) is `None` here
/// and left to [`DateTime::parse_from_rfc3339`], so what is accepted, and how, is the same.
fn cloudtrail_time(t: &str) -> Option<DateTime<Utc>> {
    let b: &[u8; 20] = t.as_bytes().try_into().ok()?;
    let shape_ok = b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'Z';
    if !shape_ok {
        return None;
    }
    let num = |at: std::ops::Range<usize>| -> Option<u32> {
        b[at].iter().try_fold(0u32, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    let year = i32::try_from(num(0..4)?).ok()?;
    let date = chrono::NaiveDate::from_ymd_opt(year, num(5..7)?, num(8..10)?)?;
    let time = date.and_hms_opt(num(11..13)?, num(14..16)?, num(17..19)?)?;
    Some(time.and_utc())
}

/// The time spellings of the systems CloudTrail is exported to: CloudTrail Lake and
/// Athena/Trino (`2024-10-17 21:48:45.000`, `… UTC`), Splunk (`2024-10-17T21:48:45.000+0000`),
/// Panther (`2024-10-17 21:48:45.000000000`), Snowflake (`2024-10-17 21:48:45.000 +0000`),
/// OpenSearch (`2024-10-17T21:48:45`). That is a date, `T` or a space, `HH:MM:SS`, 0 to 9
/// fractional digits (after `.` or `,`), and a zone: none (UTC), `Z`, `UTC`, `GMT`, `±HH:MM`,
/// `±HHMM` or `±HH`, optionally after a space.
pub fn parse_export_time(t: &str) -> Option<DateTime<Utc>> {
    use chrono::{FixedOffset, NaiveDate, NaiveTime, TimeZone};
    let b = t.as_bytes();
    let num = |from: usize, len: usize| -> Option<u32> {
        let digits = b.get(from..from + len)?;
        digits.iter().try_fold(0u32, |n, c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    let at = |i: usize, c: u8| b.get(i) == Some(&c);
    if !(at(4, b'-') && at(7, b'-') && matches!(b.get(10), Some(b'T' | b't' | b' '))) {
        return None;
    }
    if !(at(13, b':') && at(16, b':')) {
        return None;
    }
    let (year, month, day) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    let (hour, minute, second) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    let mut i = 19;
    let mut nanos = 0u32;
    if matches!(b.get(i), Some(b'.' | b',')) {
        let digits = b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if !(1..=9).contains(&digits) {
            return None;
        }
        nanos = num(i + 1, digits)? * 10u32.pow(9 - digits as u32);
        i += 1 + digits;
    }
    let mut rest = &t[i..];
    if let Some(r) = rest.strip_prefix(' ') {
        rest = r;
    }
    let offset_secs: i32 = match rest {
        "" | "Z" | "z" | "UTC" | "GMT" => 0,
        _ => {
            let sign = match rest.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let z = &rest.as_bytes()[1..];
            let two = |s: &[u8]| -> Option<i32> {
                match s {
                    [a @ b'0'..=b'9', c @ b'0'..=b'9'] => {
                        Some(i32::from(a - b'0') * 10 + i32::from(c - b'0'))
                    }
                    _ => None,
                }
            };
            let (h, m) = match z.len() {
                2 => (two(z)?, 0),
                4 => (two(&z[..2])?, two(&z[2..])?),
                5 if z[2] == b':' => (two(&z[..2])?, two(&z[3..])?),
                _ => return None,
            };
            if h > 23 || m > 59 {
                return None;
            }
            sign * (h * 3600 + m * 60)
        }
    };
    let date = NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)?;
    // a leap second (`:60`) is the last second of the minute, as RFC 3339 parsing reads it
    let time = if second == 60 {
        NaiveTime::from_hms_nano_opt(hour, minute, 59, 1_000_000_000 + nanos)?
    } else {
        NaiveTime::from_hms_nano_opt(hour, minute, second, nanos)?
    };
    FixedOffset::east_opt(offset_secs)?
        .from_local_datetime(&date.and_time(time))
        .single()
        .map(|d| d.with_timezone(&Utc))
}

/// At most `max` characters of `s`, cut on a character boundary, with `…` when cut: a value
/// quoted in a message stays short whatever the log holds.
pub fn clip(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_string(),
    }
}

impl<'a> Record<'a> {
    pub fn source(&self) -> &str {
        self.event_source.as_deref().unwrap_or("")
    }

    pub fn name(&self) -> &str {
        self.event_name.as_deref().unwrap_or("")
    }

    pub fn region(&self) -> &str {
        self.aws_region.as_deref().unwrap_or("")
    }

    /// The account the call was made in: `recipientAccountId`, else the caller's account.
    pub fn account(&self) -> &str {
        self.recipient_account_id
            .as_deref()
            .or_else(|| self.user_identity.as_ref()?.account_id.as_deref())
            .unwrap_or("")
    }

    pub fn invoked_by(&self) -> Option<&str> {
        self.user_identity.as_ref()?.invoked_by.as_deref()
    }

    /// Checks the fields every use of a record needs and parses its time: `None` when the
    /// record has none (no `eventTime`, or an empty one), which does not make it unusable.
    pub fn validate(&self) -> Result<Option<DateTime<Utc>>, RecordProblem> {
        for (field, v) in [
            ("eventSource", self.event_source.as_ref()),
            ("eventName", self.event_name.as_ref()),
        ] {
            if v.is_none_or(|s| s.is_empty()) {
                return Err(RecordProblem::Missing(field));
            }
        }
        if self.user_identity.is_none() {
            return Err(RecordProblem::Missing("userIdentity"));
        }
        let Some(t) = [&self.event_time, &self.at_timestamp]
            .into_iter()
            .flatten()
            .map(|t| t.as_ref())
            .find(|t| !t.is_empty())
        else {
            return Ok(None);
        };
        match parse_event_time(t) {
            Some(time) => Ok(Some(time)),
            None => Err(RecordProblem::BadTime(clip(t, 64))),
        }
    }

    /// `responseElements` as a JSON object; `None` when absent, null or not an object.
    pub fn response(&self) -> Option<serde_json::Map<String, serde_json::Value>> {
        let raw = self.response_elements?;
        match serde_json::from_str::<serde_json::Value>(raw).ok()? {
            serde_json::Value::Object(m) => Some(m),
            _ => None,
        }
    }

    /// `requestParameters` (`None` when absent, null or not an object), or why one of them
    /// cannot be read (nested deeper than the parser's limit, a number out of range).
    pub fn params_checked(&self) -> Result<Option<&Params<'a>>, RecordProblem> {
        match &self.request_parameters {
            None => Ok(None),
            Some(p) => p
                .checked()
                .map_err(|why| RecordProblem::Parameters(why.to_string())),
        }
    }

    /// `requestParameters`; `None` when absent, null, not an object or unreadable.
    pub fn params(&self) -> Option<&Params<'a>> {
        self.params_checked().ok().flatten()
    }
}

/// Strips an API-version suffix: `ListFunctions20150331` → `ListFunctions`,
/// `UpdateFunctionCode20150331v2` → `UpdateFunctionCode`, `GetDistribution2020_05_31` →
/// `GetDistribution`. Returns the name unchanged when it has none.
pub fn strip_version(name: &str) -> &str {
    let b = name.as_bytes();
    let mut end = b.len();
    // optional vN
    let mut i = end;
    while i > 0 && b[i - 1].is_ascii_digit() {
        i -= 1;
    }
    if i < end && i > 0 && b[i - 1] == b'v' {
        end = i - 1;
    }
    let body = &name[..end];
    // where the trailing run of digits and `_` starts (ASCII: bytes are chars)
    let run = body
        .bytes()
        .rev()
        .take_while(|c| c.is_ascii_digit() || *c == b'_')
        .count();
    if run == 0 {
        return name;
    }
    let start = body.len() - run;
    let suffix = &body[start..];
    let is_version = (suffix.len() == 8 && suffix.bytes().all(|c| c.is_ascii_digit()))
        || (suffix.len() == 10
            && suffix.as_bytes()[4] == b'_'
            && suffix.as_bytes()[7] == b'_'
            && suffix.bytes().filter(u8::is_ascii_digit).count() == 8);
    if is_version && start > 0 {
        &name[..start]
    } else {
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_only_what_it_needs() {
        let json = r#"{"eventVersion":"1.08","userIdentity":{"type":"AssumedRole",
            "arn":"arn:aws:sts::111122223333:assumed-role/r/f","sessionContext":{"sessionIssuer":
            {"type":"Role","arn":"arn:aws:iam::111122223333:role/r"},"attributes":{"x":1}}},
            "eventTime":"2026-11-01T10:00:00Z","eventSource":"s3.amazonaws.com","eventName":"GetObject",
            "awsRegion":"eu-west-1","eventID":"e-1","requestParameters":{"bucketName":"b","key":"k\u00e9"},
            "responseElements":null,"additionalEventData":{"big":[1,2,3]},
            "resources":[{"type":"AWS::S3::Object","ARN":"arn:aws:s3:::b/k"}],"recipientAccountId":"111122223333"}"#;
        let r: Record = serde_json::from_str(json).unwrap_or_default();
        assert_eq!(r.name(), "GetObject");
        assert_eq!(r.event_id.as_deref(), Some("e-1"));
        assert_eq!(r.account(), "111122223333");
        assert!(r.validate().is_ok());
        let key = r
            .params()
            .and_then(|p| p.get("key"))
            .and_then(|v| v.as_str());
        assert_eq!(key, Some("ké"));
        assert_eq!(r.resources.map(|v| v.len()), Some(1));
    }

    #[test]
    fn strings_are_borrowed_from_the_input_unless_escaped() {
        let json = r#"{"eventName":"GetObject","eventSource":"s3.amazonaws.com",
            "userAgent":"a\"b","userIdentity":{"type":"AssumedRole","arn":"arn:x",
            "sessionContext":{"sessionIssuer":{"arn":"arn:y","userName":null}}},
            "resources":[{"ARN":"arn:z","type":"AWS::S3::Object"}]}"#;
        let r: Record = serde_json::from_str(json).unwrap_or_default();
        let borrowed = |c: &Option<Cow<'_, str>>| matches!(c, Some(Cow::Borrowed(_)));
        assert!(borrowed(&r.event_name) && borrowed(&r.event_source));
        // an escaped string cannot be a slice of the input: it is decoded into its own
        assert!(matches!(&r.user_agent, Some(Cow::Owned(s)) if s == "a\"b"));
        let who = r.user_identity.unwrap_or_default();
        assert!(borrowed(&who.kind) && borrowed(&who.arn));
        let issuer = who
            .session_context
            .and_then(|c| c.session_issuer)
            .unwrap_or_default();
        assert!(borrowed(&issuer.arn));
        assert_eq!(issuer.user_name, None);
        let res = r.resources.unwrap_or_default();
        assert!(borrowed(&res[0].arn) && borrowed(&res[0].kind));
    }

    #[test]
    fn validation_names_the_missing_field() {
        let r: Record =
            serde_json::from_str(r#"{"eventSource":"s3.amazonaws.com"}"#).unwrap_or_default();
        assert_eq!(r.validate(), Err(RecordProblem::Missing("eventName")));
        let r: Record = serde_json::from_str(
            r#"{"eventSource":"a","eventName":"b","eventTime":"yesterday","userIdentity":{}}"#,
        )
        .unwrap_or_default();
        assert!(matches!(r.validate(), Err(RecordProblem::BadTime(_))));
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .map(|d| d.with_timezone(&Utc))
            .unwrap_or_default()
    }

    /// CloudTrail's spelling read from its digits gives what the full RFC 3339 parse gives,
    /// and declines (to that parse) everything it does not read the same way.
    #[test]
    fn cloudtrail_time_agrees_with_rfc3339() {
        let mut texts: Vec<String> = [
            "2026-11-02T10:00:00Z",
            "1970-01-01T00:00:00Z",
            "0000-01-01T00:00:00Z",
            "9999-12-31T23:59:59Z",
            "2024-02-29T12:00:00Z",
            "2023-02-29T12:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-00-10T00:00:00Z",
            "2026-11-31T00:00:00Z",
            "2026-11-02T24:00:00Z",
            "2026-11-02T23:60:00Z",
            "2016-12-31T23:59:60Z",
            "2026-11-02t10:00:00Z",
            "2026-11-02T10:00:00z",
            "2026-11-02 10:00:00Z",
            "2026-11-02T10:00:0aZ",
            "2026-11-02T10:00:00+",
            "+026-11-02T10:00:00Z",
            "2026-1-02T10:00:00ZZ",
            "2026-11-02T10:00:00.5Z",
            "2026-11-02T10:00:00+01:00",
            "",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        // every position replaced by each byte of interest
        for i in 0..20 {
            for c in [b'0', b'9', b'/', b':', b'a', b' '] {
                let mut t = b"2026-11-02T10:00:00Z".to_vec();
                t[i] = c;
                texts.push(String::from_utf8(t).unwrap_or_default());
            }
        }
        // the fast path is taken for CloudTrail's own times
        for t in [
            "2026-11-02T10:00:00Z",
            "2024-02-29T12:00:00Z",
            "0000-01-01T00:00:00Z",
            "9999-12-31T23:59:59Z",
        ] {
            assert!(cloudtrail_time(t).is_some(), "{t}");
        }
        for t in &texts {
            let full = DateTime::parse_from_rfc3339(t)
                .ok()
                .map(|d| d.with_timezone(&Utc));
            if let Some(d) = cloudtrail_time(t) {
                assert_eq!(Some(d), full, "{t}");
            }
            // declining is safe: the full parse decides, so the whole is what it was
            let before = full.or_else(|| parse_export_time(t));
            assert_eq!(parse_event_time(t), before, "{t}");
        }
    }

    /// One row per system that exports CloudTrail, with the spelling it gives `eventTime`.
    #[test]
    fn export_time_spellings() {
        let at = utc("2024-10-17T21:48:45Z");
        let ms = utc("2024-10-17T21:48:45.123Z");
        for (system, text, want) in [
            ("CloudTrail (RFC 3339)", "2024-10-17T21:48:45Z", at),
            ("CloudTrail Lake", "2024-10-17 21:48:45.000", at),
            (
                "CloudTrail Lake, milliseconds",
                "2024-10-17 21:48:45.123",
                ms,
            ),
            ("Athena/Trino timestamp", "2024-10-17 21:48:45.000", at),
            ("Athena/Trino with zone", "2024-10-17 21:48:45.000 UTC", at),
            ("Trino, no fraction", "2024-10-17 21:48:45", at),
            ("Splunk", "2024-10-17T21:48:45.000+00:00", at),
            (
                "Splunk, zone without colon",
                "2024-10-17T21:48:45.000+0000",
                at,
            ),
            ("Panther", "2024-10-17 21:48:45.000000000", at),
            ("Panther with Z", "2024-10-17 21:48:45.123000000Z", ms),
            (
                "Snowflake TIMESTAMP_TZ",
                "2024-10-17 21:48:45.000 +0000",
                at,
            ),
            ("Snowflake, other zone", "2024-10-17 23:48:45.000 +0200", at),
            (
                "Snowflake, negative zone",
                "2024-10-17 14:48:45.000 -07:00",
                at,
            ),
            ("OpenSearch", "2024-10-17T21:48:45.000Z", at),
            ("OpenSearch, no zone", "2024-10-17T21:48:45", at),
            ("zone hours only", "2024-10-17T22:48:45+01", at),
            ("GMT", "2024-10-17 21:48:45 GMT", at),
            ("comma decimal", "2024-10-17 21:48:45,123", ms),
            (
                "one digit",
                "2024-10-17 21:48:45.1",
                utc("2024-10-17T21:48:45.1Z"),
            ),
            (
                "nine digits",
                "2024-10-17 21:48:45.123456789",
                utc("2024-10-17T21:48:45.123456789Z"),
            ),
        ] {
            assert_eq!(parse_event_time(text), Some(want), "{system}: `{text}`");
        }
    }

    #[test]
    fn what_is_not_a_time() {
        for text in [
            "",
            "yesterday",
            "2024-10-17",
            "2024-10-17 21:48",
            "2024-10-17X21:48:45",
            "2024-13-17 21:48:45",
            "2024-02-30 21:48:45",
            "2024-10-17 25:48:45",
            "2024-10-17 21:48:45.",
            "2024-10-17 21:48:45.1234567890",
            "2024-10-17 21:48:45 +2400",
            "2024-10-17 21:48:45 +01:5",
            "2024-10-17 21:48:45 CEST",
            "2024-10-17 21:48:45Z trailing",
            "２０２４-10-17 21:48:45",
            "2024-10-17 21:48:4é",
            "1761998400",
        ] {
            assert_eq!(parse_event_time(text), None, "`{text}`");
        }
    }

    #[test]
    fn a_record_without_a_time_is_still_valid() {
        let r: Record = serde_json::from_str(
            r#"{"eventSource":"s3.amazonaws.com","eventName":"GetObject","userIdentity":{}}"#,
        )
        .unwrap_or_default();
        assert_eq!(r.validate(), Ok(None));
        let r: Record = serde_json::from_str(
            r#"{"eventSource":"s3.amazonaws.com","eventName":"GetObject","eventTime":"","userIdentity":{}}"#,
        )
        .unwrap_or_default();
        assert_eq!(r.validate(), Ok(None), "an empty time is no time");
        let r: Record = serde_json::from_str(
            r#"{"eventSource":"s3.amazonaws.com","eventName":"GetObject","eventTime":"2024-10-17 21:48:45.000","userIdentity":{}}"#,
        )
        .unwrap_or_default();
        assert_eq!(r.validate(), Ok(Some(utc("2024-10-17T21:48:45Z"))));
    }

    #[test]
    fn a_bad_time_is_quoted_short() {
        let long = "9".repeat(10_000);
        let json = format!(
            r#"{{"eventSource":"a","eventName":"b","eventTime":"{long}","userIdentity":{{}}}}"#
        );
        let r: Record = serde_json::from_str(&json).unwrap_or_default();
        let Err(problem) = r.validate() else {
            panic!("accepted")
        };
        assert!(problem.to_string().len() < 100, "{problem}");
        assert_eq!(problem.reason(), DropReason::BadTime);
        assert_eq!(clip("猫の写真", 2), "猫の…");
    }
}
