//! Records as other systems export them, back into records: a CloudTrail Lake query result row
//! (a list of one-column objects, nested fields as JSON text or as the query engine's
//! `{key=value, …}` text). The slow path: only these shapes come here, and each row is built
//! into a record of its own.

use serde_json::{Map, Value};

use crate::diag::serde_reason;

/// The record fields tightrole reads, by their lowercase spelling: a query may spell a column
/// in any case (`eventtime`), and its results keep that spelling.
const FIELDS: [&str; 16] = [
    "eventVersion",
    "eventTime",
    "eventSource",
    "eventName",
    "awsRegion",
    "userAgent",
    "errorCode",
    "errorMessage",
    "eventID",
    "eventType",
    "eventCategory",
    "recipientAccountId",
    "userIdentity",
    "requestParameters",
    "responseElements",
    "resources",
];

/// The fields that hold JSON rather than text.
const NESTED: [&str; 4] = [
    "userIdentity",
    "requestParameters",
    "responseElements",
    "resources",
];

/// The keys of `userIdentity` (and its `sessionContext.sessionIssuer`) tightrole reads, and of a
/// `resources[]` entry, as records spell them; the query engine's text gives them in lower case.
const IDENTITY_KEYS: [&str; 9] = [
    "type",
    "arn",
    "accountId",
    "principalId",
    "invokedBy",
    "userName",
    "sessionContext",
    "sessionIssuer",
    "accessKeyId",
];
const RESOURCE_KEYS: [&str; 4] = ["ARN", "ARNPrefix", "accountId", "type"];

fn canonical<'k>(known: &[&'k str], key: &str) -> Option<&'k str> {
    known.iter().copied().find(|k| k.eq_ignore_ascii_case(key))
}

/// Why a row cannot be read: one sentence, naming the column.
pub type RowProblem = String;

/// One row of `QueryResultRows` as the JSON text of one record. A row with an `eventJson`
/// column (an event data store that keeps the whole event) is that event; otherwise the row's
/// columns are the record's fields, matched case-insensitively, with the nested ones decoded.
/// A cell holding `null` (JSON, or the text `null`) is left out.
pub fn lake_row(row: &str) -> Result<String, RowProblem> {
    let cells: Vec<Map<String, Value>> = serde_json::from_str(row).map_err(|e| {
        format!(
            "a query result row is a list of one-column objects: {}",
            serde_reason(&e)
        )
    })?;
    let mut rec = Map::new();
    for (column, value) in cells.into_iter().flatten() {
        if column.eq_ignore_ascii_case("eventJson") {
            return match value {
                Value::String(s) => Ok(s),
                Value::Object(_) => Ok(value.to_string()),
                _ => Err("`eventJson` is not a record".to_string()),
            };
        }
        let Some(field) = canonical(&FIELDS, &column) else {
            rec.insert(column, value);
            continue;
        };
        let value = match value {
            Value::Null => continue,
            Value::String(s) if s == "null" => continue,
            v if NESTED.contains(&field) => nested(field, v)?,
            v => v,
        };
        rec.insert(field.to_string(), value);
    }
    Ok(Value::Object(rec).to_string())
}

/// A nested field's cell as JSON: JSON text parsed, the query engine's `{key=value}` text
/// read, keys respelled as records spell them.
fn nested(field: &str, v: Value) -> Result<Value, RowProblem> {
    let v = match v {
        Value::String(s) => {
            let t = s.trim();
            match serde_json::from_str::<Value>(t) {
                Ok(v @ (Value::Object(_) | Value::Array(_))) => v,
                _ => engine_text(t).ok_or_else(|| {
                    format!("`{field}` is neither JSON nor the query engine's `{{key=value}}` text")
                })?,
            }
        }
        v => v,
    };
    Ok(match field {
        "userIdentity" => respell(v, &IDENTITY_KEYS),
        "resources" => match v {
            Value::Array(items) => Value::Array(
                items
                    .into_iter()
                    .map(|r| respell(r, &RESOURCE_KEYS))
                    .collect(),
            ),
            other => other,
        },
        _ => v,
    })
}

/// `v` with every object key in `known` (in any case) spelled as `known` spells it, at every
/// depth.
fn respell(v: Value, known: &[&str]) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| {
                    let k = canonical(known, &k).map_or(k, str::to_string);
                    (k, respell(v, known))
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(|v| respell(v, known)).collect()),
        other => other,
    }
}

/// How deep the query engine's text may nest: a user identity is three levels deep.
const MAX_DEPTH: usize = 16;

/// The query engine's (Trino's) text of a struct, map or array, as CloudTrail Lake and Athena
/// print them: `{type=AssumedRole, arn=arn:aws:sts::…, sessioncontext={sessionissuer={…}}}`,
/// `[{arn=…, type=AWS::S3::Object}]`. Values are text (`null` is null); a value that is JSON
/// (a map's nested value) is taken as JSON. The text is not JSON and is ambiguous where a value
/// holds `, name=`: a value runs to the next `, ` followed by a key and `=`, or to the bracket
/// that closes its container. `None` when it is not such text.
pub fn engine_text(text: &str) -> Option<Value> {
    let mut p = Parser {
        s: text.as_bytes(),
        i: 0,
    };
    let v = p.container(0)?;
    (p.i == p.s.len()).then_some(v)
}

struct Parser<'s> {
    s: &'s [u8],
    i: usize,
}

impl Parser<'_> {
    fn rest(&self) -> &[u8] {
        self.s.get(self.i..).unwrap_or_default()
    }

    fn container(&mut self, depth: usize) -> Option<Value> {
        if depth > MAX_DEPTH {
            return None;
        }
        match self.rest().first()? {
            b'{' => self.object(depth),
            b'[' => self.array(depth),
            _ => None,
        }
    }

    /// A key and `=` start here: `[A-Za-z0-9_@$.:-]+=`.
    fn key_at(&self, at: usize) -> Option<usize> {
        let rest = self.s.get(at..)?;
        let n = rest.iter().take_while(|c| is_key_byte(**c)).count();
        (n > 0 && rest.get(n) == Some(&b'=')).then_some(n)
    }

    fn object(&mut self, depth: usize) -> Option<Value> {
        self.i += 1;
        let mut m = Map::new();
        if self.rest().first() == Some(&b'}') {
            self.i += 1;
            return Some(Value::Object(m));
        }
        loop {
            let n = self.key_at(self.i)?;
            let key = std::str::from_utf8(self.s.get(self.i..self.i + n)?).ok()?;
            self.i += n + 1;
            let v = self.value(depth, b'}')?;
            m.insert(key.to_string(), v);
            match self.rest() {
                [b'}', ..] => {
                    self.i += 1;
                    return Some(Value::Object(m));
                }
                [b',', b' ', ..] => self.i += 2,
                _ => return None,
            }
        }
    }

    fn array(&mut self, depth: usize) -> Option<Value> {
        self.i += 1;
        let mut a = Vec::new();
        if self.rest().first() == Some(&b']') {
            self.i += 1;
            return Some(Value::Array(a));
        }
        loop {
            a.push(self.value(depth, b']')?);
            match self.rest() {
                [b']', ..] => {
                    self.i += 1;
                    return Some(Value::Array(a));
                }
                [b',', b' ', ..] => self.i += 2,
                _ => return None,
            }
        }
    }

    /// One value inside a container that `close` ends.
    fn value(&mut self, depth: usize, close: u8) -> Option<Value> {
        let rest = self.rest();
        if matches!(rest.first(), Some(b'{' | b'[')) {
            // JSON text as a map's value (`{"LocationConstraint":"eu-west-1"}`), else more of
            // the engine's text
            let mut json = serde_json::Deserializer::from_slice(rest).into_iter::<Value>();
            if let Some(Ok(v)) = json.next() {
                let end = self.i + json.byte_offset();
                if self.ends_value(end, close) {
                    self.i = end;
                    return Some(v);
                }
            }
            return self.container(depth + 1);
        }
        let start = self.i;
        let mut end = start;
        while end < self.s.len() && !self.ends_value(end, close) {
            end += 1;
        }
        let text = std::str::from_utf8(self.s.get(start..end)?).ok()?;
        self.i = end;
        Some(if text == "null" {
            Value::Null
        } else {
            Value::String(text.to_string())
        })
    }

    /// Whether a value inside a container that `close` ends stops at `at`: before `, ` and a
    /// key (in an object) or `, ` (in an array), or before a closing bracket that the text
    /// after it allows (the end, another closing bracket, or `, `).
    fn ends_value(&self, at: usize, close: u8) -> bool {
        let rest = self.s.get(at..).unwrap_or_default();
        match rest {
            [b',', b' ', ..] => close == b']' || self.key_at(at + 2).is_some(),
            [c, after @ ..] if *c == close => {
                matches!(after, [] | [b'}' | b']', ..] | [b',', b' ', ..])
            }
            _ => false,
        }
    }
}

fn is_key_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'_' | b'@' | b'$' | b'.' | b':' | b'-')
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// CloudTrail Lake prints a `userIdentity` struct this way (ids and names made up).
    const IDENTITY: &str = "{type=AssumedRole, principalid=AROAEXAMPLEID:orders-api, arn=arn:aws:sts::111122223333:assumed-role/orders-role/orders-api, accountid=111122223333, accesskeyid=ASIAEXAMPLE, username=null, sessioncontext={attributes={creationdate=2024-10-17 21:00:00.000, mfaauthenticated=false}, sessionissuer={type=Role, principalid=AROAEXAMPLEID, arn=arn:aws:iam::111122223333:role/orders-role, accountid=111122223333, username=orders-role}, sourceidentity=null, ec2roledelivery=null, ec2issuedinvpc=null}, invokedby=null, identityprovider=null, credentialid=null, onbehalfof=null}";

    #[test]
    fn the_engines_text_of_a_user_identity() {
        let v = engine_text(IDENTITY).unwrap_or_default();
        assert_eq!(v["type"], "AssumedRole");
        assert_eq!(
            v["sessioncontext"]["sessionissuer"]["arn"],
            "arn:aws:iam::111122223333:role/orders-role"
        );
        assert_eq!(
            v["sessioncontext"]["attributes"]["creationdate"],
            "2024-10-17 21:00:00.000"
        );
        assert_eq!(v["username"], Value::Null);
        let v = respell(v, &IDENTITY_KEYS);
        assert_eq!(v["principalId"], "AROAEXAMPLEID:orders-api");
        assert_eq!(
            v["sessionContext"]["sessionIssuer"]["userName"],
            "orders-role"
        );
    }

    #[test]
    fn the_engines_text_of_maps_and_arrays() {
        // a value with `, ` but no key after it, `=` inside a value, JSON as a map's value
        let v = engine_text(
            r#"{bucketName=b, key=a, b=c.txt, x-amz-acl=private, CreateBucketConfiguration={"LocationConstraint":"eu-west-1"}}"#,
        );
        assert_eq!(
            v,
            Some(
                json!({"bucketName": "b", "key": "a", "b": "c.txt", "x-amz-acl": "private",
                        "CreateBucketConfiguration": {"LocationConstraint": "eu-west-1"}})
            )
        );
        let v = engine_text("{key=photos, 2024/a.jpg, bucketName=b}");
        assert_eq!(
            v,
            Some(json!({"key": "photos, 2024/a.jpg", "bucketName": "b"}))
        );
        assert_eq!(
            engine_text("[{accountid=111122223333, type=AWS::S3::Object, arn=arn:aws:s3:::b/k}]"),
            Some(
                json!([{"accountid": "111122223333", "type": "AWS::S3::Object", "arn": "arn:aws:s3:::b/k"}])
            )
        );
        assert_eq!(engine_text("{}"), Some(json!({})));
        assert_eq!(engine_text("[]"), Some(json!([])));
        assert_eq!(engine_text("{a=}"), Some(json!({"a": ""})));
        // `,` and `=` without a space belong to the value (session names may hold both)
        assert_eq!(engine_text("{a=b,c=d}"), Some(json!({"a": "b,c=d"})));
    }

    #[test]
    fn what_is_not_the_engines_text() {
        for bad in [
            "", "x", "{", "{a}", "{a=b", "{a=b}}", "{a=b} x", "[a, b", "{=b}",
        ] {
            assert_eq!(engine_text(bad), None, "`{bad}`");
        }
        let deep = format!("{}{}", "{a=".repeat(10_000), "}".repeat(10_000));
        assert_eq!(engine_text(&deep), None, "nesting is bounded");
    }

    #[test]
    fn a_lake_row_is_one_record() {
        let row = json!([
            {"eventVersion": "1.09"},
            {"eventtime": "2024-10-17 21:48:45.000"},
            {"eventSource": "s3.amazonaws.com"},
            {"eventName": "GetObject"},
            {"errorCode": "null"},
            {"userIdentity": IDENTITY},
            {"requestParameters": "{\"bucketName\":\"b\",\"key\":\"k\"}"},
            {"resources": "[{accountid=111122223333, type=AWS::S3::Object, arn=arn:aws:s3:::b/k}]"},
            {"sourceIPAddress": "203.0.113.9"}
        ]);
        let rec: Value = serde_json::from_str(&lake_row(&row.to_string()).unwrap_or_default())
            .unwrap_or_default();
        assert_eq!(rec["eventTime"], "2024-10-17 21:48:45.000");
        assert!(rec.get("errorCode").is_none(), "`null` is no error");
        assert_eq!(
            rec["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"],
            "arn:aws:iam::111122223333:role/orders-role"
        );
        assert_eq!(
            rec["requestParameters"],
            json!({"bucketName": "b", "key": "k"})
        );
        assert_eq!(rec["resources"][0]["ARN"], "arn:aws:s3:::b/k");
        assert_eq!(rec["sourceIPAddress"], "203.0.113.9");
        // a row that keeps the whole event
        let row = json!([{"eventJson": "{\"eventName\":\"GetObject\"}"}, {"eventName": "x"}]);
        assert_eq!(
            lake_row(&row.to_string()).unwrap_or_default(),
            r#"{"eventName":"GetObject"}"#
        );
    }

    #[test]
    fn a_bad_row_is_named() {
        let e = lake_row(r#"[{"userIdentity": "{type=IAMUser, arn"}]"#).unwrap_err();
        assert!(e.contains("`userIdentity` is neither JSON"), "{e}");
        let e = lake_row(r#"{"eventName": "x"}"#).unwrap_err();
        assert!(e.contains("list of one-column objects"), "{e}");
    }
}
