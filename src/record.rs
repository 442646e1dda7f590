//! The CloudTrail record model: only the fields tightrole reads, borrowed from the input
//! buffer while parsing. Everything else in a record is skipped without allocating.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::value::RawValue;

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Record<'a> {
    #[serde(borrow, default)]
    pub event_version: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub event_time: Option<Cow<'a, str>>,
    /// Logstash and other collectors move `eventTime` here.
    #[serde(borrow, default, rename = "@timestamp")]
    pub at_timestamp: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub event_source: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub event_name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub aws_region: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub user_agent: Option<Cow<'a, str>>,
    #[serde(borrow, default, rename = "sourceIPAddress")]
    pub source_ip_address: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub error_code: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub error_message: Option<Cow<'a, str>>,
    #[serde(borrow, default, rename = "eventID")]
    pub event_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub event_type: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub event_category: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub recipient_account_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub user_identity: Option<UserIdentity<'a>>,
    #[serde(borrow, default)]
    pub request_parameters: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub response_elements: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub resources: Option<Vec<ResourceRef<'a>>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct UserIdentity<'a> {
    #[serde(borrow, default, rename = "type")]
    pub kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub arn: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub account_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub invoked_by: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub user_name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
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
    #[serde(borrow, default, rename = "type")]
    pub kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub arn: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub account_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub user_name: Option<Cow<'a, str>>,
}

/// One entry of `resources[]`.
#[derive(Debug, Deserialize, Default, Clone)]
pub struct ResourceRef<'a> {
    #[serde(borrow, default, rename = "ARN")]
    pub arn: Option<Cow<'a, str>>,
    #[serde(borrow, default, rename = "ARNPrefix")]
    pub arn_prefix: Option<Cow<'a, str>>,
    #[serde(borrow, default, rename = "type")]
    pub kind: Option<Cow<'a, str>>,
    #[serde(borrow, default, rename = "accountId")]
    pub account_id: Option<Cow<'a, str>>,
}

/// Why a record cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordProblem {
    Missing(&'static str),
    BadTime(String),
}

impl std::fmt::Display for RecordProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RecordProblem::Missing(field) => write!(f, "missing field `{field}`"),
            RecordProblem::BadTime(t) => write!(f, "`eventTime` is not an RFC 3339 time: `{t}`"),
        }
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

    /// Checks the fields every use of a record needs and parses its time.
    pub fn validate(&self) -> Result<DateTime<Utc>, RecordProblem> {
        let time = self.event_time.as_ref().or(self.at_timestamp.as_ref());
        for (field, v) in [
            ("eventSource", self.event_source.as_ref()),
            ("eventName", self.event_name.as_ref()),
            ("eventTime", time),
        ] {
            if v.is_none_or(|s| s.is_empty()) {
                return Err(RecordProblem::Missing(field));
            }
        }
        if self.user_identity.is_none() {
            return Err(RecordProblem::Missing("userIdentity"));
        }
        let t = time.map_or("", |t| t.as_ref());
        DateTime::parse_from_rfc3339(t)
            .map(|d| d.with_timezone(&Utc))
            .map_err(|_| RecordProblem::BadTime(t.to_string()))
    }

    /// `responseElements` as a JSON object; `None` when absent, null or not an object.
    pub fn response(&self) -> Option<serde_json::Map<String, serde_json::Value>> {
        let raw = self.response_elements?;
        match serde_json::from_str::<serde_json::Value>(raw.get()).ok()? {
            serde_json::Value::Object(m) => Some(m),
            _ => None,
        }
    }

    /// `requestParameters` as a JSON object (`None` when absent, null or not an object), or
    /// why it cannot be read (nested deeper than the parser's limit).
    pub fn params_checked(
        &self,
    ) -> Result<Option<serde_json::Map<String, serde_json::Value>>, String> {
        let Some(raw) = self.request_parameters else {
            return Ok(None);
        };
        match serde_json::from_str::<serde_json::Value>(raw.get()) {
            Ok(serde_json::Value::Object(m)) => Ok(Some(m)),
            Ok(_) => Ok(None),
            Err(e) => Err(format!(
                "`requestParameters` cannot be read: {}",
                crate::diag::serde_reason(&e)
            )),
        }
    }

    /// `requestParameters` as a JSON object; `None` when absent, null or not an object.
    pub fn params(&self) -> Option<serde_json::Map<String, serde_json::Value>> {
        let raw = self.request_parameters?;
        match serde_json::from_str::<serde_json::Value>(raw.get()).ok()? {
            serde_json::Value::Object(m) => Some(m),
            _ => None,
        }
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
    let digits: Vec<usize> = body
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_ascii_digit() || *c == '_')
        .map(|(i, _)| i)
        .collect();
    let Some(&start) = digits.last() else {
        return name;
    };
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
        let p = r.params().unwrap_or_default();
        assert_eq!(p.get("key").and_then(|v| v.as_str()), Some("ké"));
        assert_eq!(r.resources.map(|v| v.len()), Some(1));
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
}
