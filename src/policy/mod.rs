//! The one IAM policy model: parse every legal form, print canonical JSON, evaluate.

pub mod current;
mod eval;
pub mod expand;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

pub use eval::{
    Context, Decision, ForAction, Request, evaluate, evaluate_all, evaluate_for_action, for_action,
};

pub const POLICY_VERSION: &str = "2012-10-17";

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
pub enum Effect {
    Allow,
    Deny,
}

/// `Action` or `NotAction`, `Resource` or `NotResource`: the values, and whether negated.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Matcher {
    Is(Vec<String>),
    Not(Vec<String>),
}

impl Matcher {
    pub fn values(&self) -> &[String] {
        match self {
            Matcher::Is(v) | Matcher::Not(v) => v,
        }
    }
}

pub use crate::model::Conditions;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub sid: Option<String>,
    pub effect: Effect,
    /// `Principal` / `NotPrincipal` of resource policies, kept as written.
    pub principal: Option<Value>,
    pub not_principal: Option<Value>,
    pub action: Matcher,
    pub resource: Matcher,
    pub condition: Conditions,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyDocument {
    pub version: String,
    pub id: Option<String>,
    pub statements: Vec<Statement>,
}

impl Default for PolicyDocument {
    fn default() -> Self {
        PolicyDocument {
            version: POLICY_VERSION.to_string(),
            id: None,
            statements: Vec::new(),
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PolicyError {
    #[error("{0}")]
    Json(String),
    #[error("statement {index}: {problem}")]
    Statement { index: usize, problem: String },
}

// ---------- parsing ----------

fn one_or_many<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(Option::<OneOrMany>::deserialize(d)?.map(|v| match v {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    }))
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn conditions<'de, D: Deserializer<'de>>(d: D) -> Result<Conditions, D::Error> {
    let raw =
        Option::<BTreeMap<String, BTreeMap<String, Value>>>::deserialize(d)?.unwrap_or_default();
    let mut out = Conditions::new();
    for (op, keys) in raw {
        let mut m = BTreeMap::new();
        for (k, v) in keys {
            let vals = match &v {
                Value::Array(a) => a.iter().map(scalar).collect::<Option<BTreeSet<_>>>(),
                other => scalar(other).map(|s| BTreeSet::from([s])),
            }
            .ok_or_else(|| {
                D::Error::custom(format!(
                    "condition `{op}` key `{k}` has a value that is not a string, number or boolean"
                ))
            })?;
            m.insert(k, vals);
        }
        out.insert(op, m);
    }
    Ok(out)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStatement {
    #[serde(rename = "Sid", default)]
    sid: Option<String>,
    #[serde(rename = "Effect")]
    effect: Effect,
    #[serde(rename = "Principal", default)]
    principal: Option<Value>,
    #[serde(rename = "NotPrincipal", default)]
    not_principal: Option<Value>,
    #[serde(rename = "Action", default, deserialize_with = "one_or_many")]
    action: Option<Vec<String>>,
    #[serde(rename = "NotAction", default, deserialize_with = "one_or_many")]
    not_action: Option<Vec<String>>,
    #[serde(rename = "Resource", default, deserialize_with = "one_or_many")]
    resource: Option<Vec<String>>,
    #[serde(rename = "NotResource", default, deserialize_with = "one_or_many")]
    not_resource: Option<Vec<String>>,
    #[serde(rename = "Condition", default, deserialize_with = "conditions")]
    condition: Conditions,
}

#[derive(Deserialize)]
struct RawDocument {
    #[serde(rename = "Version", default)]
    version: Option<String>,
    #[serde(rename = "Id", default)]
    id: Option<String>,
    #[serde(rename = "Statement")]
    statement: OneOrManyStatements,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrManyStatements {
    Many(Vec<Value>),
    One(Value),
}

fn statement(index: usize, v: Value) -> Result<Statement, PolicyError> {
    let err = |problem: String| PolicyError::Statement { index, problem };
    let raw: RawStatement = serde_json::from_value(v).map_err(|e| err(e.to_string()))?;
    let action = match (raw.action, raw.not_action) {
        (Some(a), None) => Matcher::Is(a),
        (None, Some(a)) => Matcher::Not(a),
        (Some(_), Some(_)) => return Err(err("has both `Action` and `NotAction`".into())),
        (None, None) => return Err(err("has neither `Action` nor `NotAction`".into())),
    };
    let resource = match (raw.resource, raw.not_resource) {
        (Some(r), None) => Matcher::Is(r),
        (None, Some(r)) => Matcher::Not(r),
        (Some(_), Some(_)) => return Err(err("has both `Resource` and `NotResource`".into())),
        // Trust and resource policies may omit Resource: it is the resource itself.
        (None, None) => Matcher::Is(vec!["*".to_string()]),
    };
    Ok(Statement {
        sid: raw.sid,
        effect: raw.effect,
        principal: raw.principal,
        not_principal: raw.not_principal,
        action,
        resource,
        condition: raw.condition,
    })
}

impl PolicyDocument {
    /// Parses a policy document. Text that does not start with `{` is URL-decoded first: IAM
    /// returns documents percent-encoded.
    pub fn parse(text: &str) -> Result<PolicyDocument, PolicyError> {
        let trimmed = text.trim_start();
        let decoded;
        let text = if trimmed.starts_with('{') {
            trimmed
        } else {
            decoded = percent_encoding::percent_decode_str(trimmed)
                .decode_utf8_lossy()
                .into_owned();
            decoded.as_str()
        };
        let raw: RawDocument = serde_json::from_str(text)
            .map_err(|e| PolicyError::Json(crate::diag::serde_reason(&e)))?;
        let values = match raw.statement {
            OneOrManyStatements::Many(v) => v,
            OneOrManyStatements::One(v) => vec![v],
        };
        let statements = values
            .into_iter()
            .enumerate()
            .map(|(i, v)| statement(i + 1, v))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(PolicyDocument {
            version: raw.version.unwrap_or_else(|| POLICY_VERSION.to_string()),
            id: raw.id,
            statements,
        })
    }

    /// Canonical JSON: two-space indentation, fixed key order, lists always as arrays.
    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// The size IAM counts against its limits: characters without whitespace.
    pub fn iam_size(&self) -> usize {
        // serde_json's compact text, as sonic-rs writes it (the same text, its strings checked
        // for escapes many bytes at a time; a test holds the count to serde_json's text)
        let text = sonic_rs::to_string(self).unwrap_or_default();
        if text.is_ascii() {
            // the common case, a byte at a time (ASCII's whitespace as `char::is_whitespace`
            // has it)
            text.bytes()
                .filter(|b| !matches!(b, b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r' | b' '))
                .count()
        } else {
            text.chars().filter(|c| !c.is_whitespace()).count()
        }
    }
}

impl<'de> Deserialize<'de> for PolicyDocument {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        PolicyDocument::parse(&v.to_string()).map_err(D::Error::custom)
    }
}

// ---------- printing ----------

impl Serialize for Statement {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        if let Some(sid) = &self.sid {
            m.serialize_entry("Sid", sid)?;
        }
        m.serialize_entry("Effect", &self.effect)?;
        if let Some(p) = &self.principal {
            m.serialize_entry("Principal", p)?;
        }
        if let Some(p) = &self.not_principal {
            m.serialize_entry("NotPrincipal", p)?;
        }
        match &self.action {
            Matcher::Is(a) => m.serialize_entry("Action", a)?,
            Matcher::Not(a) => m.serialize_entry("NotAction", a)?,
        }
        match &self.resource {
            Matcher::Is(r) => m.serialize_entry("Resource", r)?,
            Matcher::Not(r) => m.serialize_entry("NotResource", r)?,
        }
        if !self.condition.is_empty() {
            m.serialize_entry("Condition", &self.condition)?;
        }
        m.end()
    }
}

impl Serialize for PolicyDocument {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("Version", &self.version)?;
        if let Some(id) = &self.id {
            m.serialize_entry("Id", id)?;
        }
        m.serialize_entry("Statement", &self.statements)?;
        m.end()
    }
}

/// The JSON Schema of a policy document as tightrole prints it (always arrays, never a bare
/// string; `Condition` values always lists).
impl schemars::JsonSchema for PolicyDocument {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "PolicyDocument".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let list = schemars::json_schema!({"type": "array", "items": {"type": "string"}});
        schemars::json_schema!({
            "description": "An IAM policy document, in tightrole's canonical form.",
            "type": "object",
            "required": ["Version", "Statement"],
            "additionalProperties": false,
            "properties": {
                "Version": {"type": "string", "enum": ["2012-10-17", "2008-10-17"]},
                "Id": {"type": "string"},
                "Statement": {"type": "array", "items": {
                    "type": "object",
                    "required": ["Effect"],
                    "additionalProperties": false,
                    "properties": {
                        "Sid": {"type": "string"},
                        "Effect": {"enum": ["Allow", "Deny"]},
                        "Principal": {},
                        "NotPrincipal": {},
                        "Action": list,
                        "NotAction": list,
                        "Resource": list,
                        "NotResource": list,
                        "Condition": {"type": "object", "additionalProperties": {
                            "type": "object", "additionalProperties": list
                        }}
                    },
                    "oneOf": [{"required": ["Action"]}, {"required": ["NotAction"]}]
                }}
            }
        })
    }
}

impl fmt::Display for PolicyDocument {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_json_pretty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The size IAM counts is the characters without whitespace of the compact text,
        /// whatever the resource holds (spaces, tabs, non-ASCII letters and spaces).
        #[test]
        fn iam_size_counts_characters_without_whitespace(
            resource in "[a/ \t\u{a0}\u{2003}\u{3000}é\u{1F600}\\\"\u{1}]{0,80}",
        ) {
            let doc = PolicyDocument::parse(&serde_json::json!({
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
                    "Resource": format!("arn:aws:s3:::{resource}")}]
            }).to_string());
            proptest::prop_assert!(doc.is_ok());
            let doc = doc.unwrap_or_default();
            let text = serde_json::to_string(&doc).unwrap_or_default();
            proptest::prop_assert_eq!(
                doc.iam_size(),
                text.chars().filter(|c| !c.is_whitespace()).count()
            );
        }
    }

    #[test]
    fn parses_every_legal_form() {
        let text = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}}"#;
        let p = PolicyDocument::parse(text);
        assert!(p.is_ok());
        let text = r#"{"Statement":[{"Sid":"A","Effect":"Deny","NotAction":["iam:*"],"NotResource":"arn:aws:s3:::x",
            "Condition":{"Bool":{"aws:SecureTransport":false},"NumericLessThan":{"s3:max-keys":[10,"20"]}}},
            {"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}"#;
        let p = PolicyDocument::parse(text);
        let Ok(p) = p else { panic!("{p:?}") };
        assert_eq!(p.statements.len(), 2);
        assert_eq!(p.statements[0].action, Matcher::Not(vec!["iam:*".into()]));
        assert_eq!(
            p.statements[0].condition["Bool"]["aws:SecureTransport"],
            BTreeSet::from(["false".to_string()])
        );
        assert_eq!(
            p.statements[0].condition["NumericLessThan"]["s3:max-keys"],
            BTreeSet::from(["10".to_string(), "20".to_string()])
        );
    }

    #[test]
    fn url_encoded_documents() {
        let enc = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22s3%3A%2A%22%2C%22Resource%22%3A%22%2A%22%7D%5D%7D";
        let p = PolicyDocument::parse(enc);
        assert_eq!(
            p.map(|p| p.statements[0].action.values().to_vec()),
            Ok(vec!["s3:*".to_string()])
        );
    }

    #[test]
    fn rejects_contradictions() {
        let e = PolicyDocument::parse(
            r#"{"Statement":[{"Effect":"Allow","Action":"a:b","NotAction":"a:c"}]}"#,
        );
        assert_eq!(
            e,
            Err(PolicyError::Statement {
                index: 1,
                problem: "has both `Action` and `NotAction`".into()
            })
        );
        assert!(
            PolicyDocument::parse(r#"{"Statement":[{"Effect":"Maybe","Action":"a:b"}]}"#).is_err()
        );
    }

    #[test]
    fn print_parse_round_trip() {
        let text = r#"{"Version":"2012-10-17","Statement":[{"Sid":"X","Effect":"Allow","Action":["s3:GetObject"],"Resource":["arn:aws:s3:::b/*"],"Condition":{"StringEquals":{"aws:RequestedRegion":["eu-west-1"]}}}]}"#;
        let p = PolicyDocument::parse(text).unwrap_or_default();
        let again = PolicyDocument::parse(&p.to_json_pretty()).unwrap_or_default();
        assert_eq!(p, again);
        assert_eq!(serde_json::to_string(&p).unwrap_or_default(), text);
    }
}
