//! `requestParameters`, read lazily, in the record's own parse. The mapping reads a few of a
//! call's parameters (a bucket and a key, a table name); the rest (a `Host`, a message, a
//! DynamoDB key, a KMS encryption context) it never looks at. They were kept as raw JSON while
//! the record was parsed and then parsed again, whole, into a `serde_json::Map`: 3.6% of the
//! growing benchmark trail's instructions. Now the record's parse splits the object into names
//! and raw values, borrowed from the input, and a value is parsed when it is first asked for.
//!
//! A value that might not parse into a `serde_json::Value` (it holds an escape, a number with
//! an exponent or hundreds of digits, or nests near the parser's limit: [`surely_parses`]) is
//! parsed at once, so that the record is refused for what the whole parse refused it for, with
//! the parameter named (a value that a later one of the same name replaces included). The
//! differences from that whole parse, all on input no CloudTrail writer produces:
//! `requestParameters` that is not an object (which the mapping never read) is skipped without a
//! depth limit; a bare number out of range there, and an escape serde_json refuses (a lone
//! surrogate, `\ud800`) in a member's name or in a bare string, make the record unreadable
//! (dropped as such, and its file read again record by record) rather than its parameters.

use std::borrow::Cow;
use std::cell::OnceCell;
use std::fmt;

use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use smallvec::SmallVec;

/// A record's parameters by name, in name order; one entry per name, the last one given (as a
/// JSON object parsed into a map keeps it).
#[derive(Default)]
pub struct Params<'a> {
    /// In name order.
    entries: Vec<(Cow<'a, str>, Slot<'a>)>,
    /// `requestParameters` was not an object: there are no parameters to read.
    not_object: bool,
    /// Why a parameter cannot be read (`deep`: recursion limit exceeded …).
    problem: Option<String>,
}

/// An object's members as they come: names and raw values, on the stack for up to eight (a
/// `Vec` was an allocation a record, and its growth another; the entries are one, sized).
pub(super) type Members<'a> = SmallVec<[(Cow<'a, str>, &'a str); 8]>;

enum Slot<'a> {
    /// The JSON of a value that cannot fail to parse ([`surely_parses`]), parsed when first
    /// asked for.
    Lazy(&'a str, OnceCell<Value>),
    Parsed(Value),
    /// A value of a map the caller holds (one item of a transaction).
    Borrowed(&'a Value),
}

/// The text of a JSON string without escapes: what is between its quotes. `None` for any other
/// value, and for a string with an escape (which only a parse can read).
fn plain_string(json: &str) -> Option<&str> {
    match json.as_bytes() {
        [b'"', inner @ .., b'"'] if !inner.contains(&b'\\') => Some(&json[1..json.len() - 1]),
        _ => None,
    }
}

impl Slot<'_> {
    fn value(&self) -> &Value {
        match self {
            Slot::Lazy(json, cell) => cell.get_or_init(|| match plain_string(json) {
                Some(text) => Value::String(text.to_string()),
                None => serde_json::from_str(json).unwrap_or(Value::Null),
            }),
            Slot::Parsed(v) => v,
            Slot::Borrowed(v) => v,
        }
    }

    /// The value when it is a string, without parsing a string that has no escape.
    fn as_str(&self) -> Option<&str> {
        match self {
            Slot::Lazy(json, _) => plain_string(json).or_else(|| self.value().as_str()),
            _ => self.value().as_str(),
        }
    }
}

/// serde_json's nesting limit: a container opened at this depth (the top-level object is depth
/// 1) is refused.
const PARSER_DEPTH_LIMIT: usize = 128;

fn depth(v: &Value) -> usize {
    match v {
        Value::Array(a) => 1 + a.iter().map(depth).max().unwrap_or(0),
        Value::Object(o) => 1 + o.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// Does this value's JSON (valid, as the record's parse found it) parse into a
/// `serde_json::Value` whatever it holds, one level below the top-level object? It does unless
/// it nests near the parser's limit, holds an escape (a lone surrogate is refused), or holds a
/// number with an exponent or hundreds of digits (which may be out of range). A scan of its
/// bytes, without building anything: the DynamoDB keys and KMS encryption contexts the mapping
/// never reads are not parsed at all.
fn surely_parses(json: &[u8]) -> bool {
    let mut depth = 0usize;
    let mut digits = 0usize;
    let mut i = 0;
    while i < json.len() {
        match json[i] {
            b'"' => {
                // the string's end, or an escape: either way the first quote or backslash
                match memchr::memchr2(b'"', b'\\', &json[i + 1..]) {
                    Some(n) if json[i + 1 + n] == b'"' => i += n + 2,
                    _ => return false,
                }
                digits = 0;
                continue;
            }
            b'[' | b'{' => {
                depth += 1;
                if depth + 1 >= PARSER_DEPTH_LIMIT - 8 {
                    return false;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            b'0'..=b'9' => {
                digits += 1;
                if digits >= 300 {
                    return false;
                }
            }
            b'.' => {}
            b'e' | b'E' if digits > 0 => return false,
            _ => digits = 0,
        }
        i += 1;
    }
    true
}

/// A value [`surely_parses`] could not clear, parsed now; what keeps it from parsing (or from
/// nesting within the object's limit) becomes the parameters' problem, if none came first.
fn parse_now(name: &str, json: &str, problem: &mut Option<String>) -> Value {
    let v = match serde_json::from_str::<Value>(json) {
        Ok(v) => v,
        Err(e) => {
            problem.get_or_insert_with(|| unreadable(name, &e));
            Value::Null
        }
    };
    // one level below the object's: the object's parse refused it at the limit
    if depth(&v) + 1 >= PARSER_DEPTH_LIMIT
        && let Err(e) = serde_json::from_str::<Value>(&format!("[{json}]"))
    {
        problem.get_or_insert_with(|| unreadable(name, &e));
    }
    v
}

impl<'a> Params<'a> {
    /// The parameters of an object's members, the last of equal names winning. A value a later
    /// one of its name replaces is still checked: the whole object's parse refused it too.
    /// `plain_strings`: the members' strings hold no escape and no control character (the
    /// record scanner's, which declines a record with any), so a value that is a string parses
    /// and is not scanned again ([`surely_parses`]; most values are strings).
    pub(super) fn of_members(mut members: Members<'a>, plain_strings: bool) -> Params<'a> {
        // reversed, sorted stably: the first of each run is the one kept
        members.reverse();
        members.sort_by(|a, b| a.0.cmp(&b.0));
        let mut problem = None;
        let mut entries: Vec<(Cow<'a, str>, Slot<'a>)> = Vec::with_capacity(members.len());
        for (name, json) in members {
            let replaced = entries.last().is_some_and(|(kept, _)| *kept == name);
            let slot = if (plain_strings && json.starts_with('"')) || surely_parses(json.as_bytes())
            {
                Slot::Lazy(json, OnceCell::new())
            } else {
                Slot::Parsed(parse_now(&name, json, &mut problem))
            };
            if !replaced {
                entries.push((name, slot));
            }
        }
        Params {
            entries,
            not_object: false,
            problem,
        }
    }

    /// Not an object: no parameters.
    fn none() -> Params<'a> {
        Params {
            not_object: true,
            ..Params::default()
        }
    }

    /// The parameters (`None` when `requestParameters` is not an object), or why one of them
    /// cannot be read.
    pub fn checked(&self) -> Result<Option<&Params<'a>>, &str> {
        match (&self.problem, self.not_object) {
            (Some(why), _) => Err(why),
            (None, true) => Ok(None),
            (None, false) => Ok(Some(self)),
        }
    }

    /// The parameters of a map the caller holds (one item of a transaction).
    pub fn of_map(map: &'a Map<String, Value>) -> Params<'a> {
        Params {
            entries: map
                .iter()
                .map(|(k, v)| (Cow::Borrowed(k.as_str()), Slot::Borrowed(v)))
                .collect(),
            ..Params::default()
        }
    }

    fn slot(&self, name: &str) -> Option<&Slot<'a>> {
        let i = self
            .entries
            .binary_search_by(|(k, _)| k.as_ref().cmp(name))
            .ok()?;
        Some(&self.entries[i].1)
    }

    /// The value of `name`.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.slot(name).map(Slot::value)
    }

    /// The value of `name` when it is a string: its text, borrowed from the input when its
    /// JSON has no escape (as most parameters' have none), without parsing it into a `Value`.
    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.slot(name)?.as_str()
    }

    /// Every parameter, in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.entries.iter().map(|(k, s)| (k.as_ref(), s.value()))
    }

    /// The parameters that may hold an ARN (a string that starts with `arn:`, an array, or
    /// anything parsed already): numbers, literals, objects and other strings are not parsed.
    pub fn maybe_arns(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.entries
            .iter()
            .filter(|(_, s)| match s {
                Slot::Lazy(json, _) => json.starts_with("\"arn:") || json.starts_with('['),
                _ => true,
            })
            .map(|(k, s)| (k.as_ref(), s.value()))
    }

    /// All of them as one JSON object, to walk paths from.
    pub fn to_object(&self) -> Value {
        Value::Object(
            self.iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        )
    }
}

impl fmt::Debug for Params<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

fn unreadable(name: &str, e: &serde_json::Error) -> String {
    // a name is the log's text: shown short and visible
    let short: String = name.chars().take(64).collect();
    format!(
        "`requestParameters.{}` cannot be read: {}",
        crate::escape::terminal(&short),
        crate::diag::serde_reason(e)
    )
}

/// An object is split into its members' names (borrowed unless escaped) and raw values;
/// anything else is skipped.
impl<'de: 'a, 'a> Deserialize<'de> for Params<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Params<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut m: M) -> Result<Params<'de>, M::Error> {
                #[derive(Deserialize)]
                struct Name<'a>(#[serde(borrow)] Cow<'a, str>);
                let mut members = Members::new();
                while let Some(Name(k)) = m.next_key::<Name<'de>>()? {
                    members.push((k, m.next_value::<&'de RawValue>()?.get()));
                }
                Ok(Params::of_members(members, false))
            }
            fn visit_seq<S: SeqAccess<'de>>(self, mut s: S) -> Result<Params<'de>, S::Error> {
                // no parameters, but refused as the whole parse refused it (nested too deep)
                let mut p = Params::none();
                while let Some(raw) = s.next_element::<&'de RawValue>()? {
                    let json = raw.get();
                    if p.problem.is_none()
                        && !surely_parses(json.as_bytes())
                        && let Err(e) = serde_json::from_str::<Value>(&format!("[{json}]"))
                    {
                        p.problem = Some(format!(
                            "`requestParameters` cannot be read: {}",
                            crate::diag::serde_reason(&e)
                        ));
                    }
                }
                Ok(p)
            }
            fn visit_unit<E>(self) -> Result<Params<'de>, E> {
                Ok(Params::none())
            }
            fn visit_bool<E>(self, _: bool) -> Result<Params<'de>, E> {
                Ok(Params::none())
            }
            fn visit_i64<E>(self, _: i64) -> Result<Params<'de>, E> {
                Ok(Params::none())
            }
            fn visit_u64<E>(self, _: u64) -> Result<Params<'de>, E> {
                Ok(Params::none())
            }
            fn visit_f64<E>(self, _: f64) -> Result<Params<'de>, E> {
                Ok(Params::none())
            }
            fn visit_str<E>(self, _: &str) -> Result<Params<'de>, E> {
                Ok(Params::none())
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The parameters as a record's parse reads them.
    fn read(s: &str) -> Params<'_> {
        serde_json::from_str(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    /// What the mapping read before: the whole value as a map (`None` when not an object).
    fn whole(s: &str) -> Result<Option<Map<String, Value>>, String> {
        match serde_json::from_str::<Value>(s) {
            Ok(Value::Object(m)) => Ok(Some(m)),
            Ok(_) => Ok(None),
            Err(e) => Err(e.to_string()),
        }
    }

    fn lazy(s: &str) -> Result<Option<Map<String, Value>>, String> {
        read(s)
            .checked()
            .map(|p| p.map(|p| p.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()))
            .map_err(str::to_string)
    }

    #[test]
    fn reads_as_the_whole_map_does() {
        for s in [
            r#"{"bucketName":"b","key":"k","Host":"b.s3.amazonaws.com"}"#,
            r#"{"key":"k\u00e9\"","n":1.5,"big":1e308,"t":true,"f":false,"z":null}"#,
            r#"{"a":"1","a":"2","b":{"x":[1,{"y":"z"}]},"a":"3"}"#,
            r#"{"\u0061rn":"arn:aws:sns:eu-west-1:1:t","arn":"x"}"#,
            r#"{}"#,
            r#"["arn:aws:s3:::b"]"#,
            r#""a string""#,
            r#"12"#,
            r#"true"#,
            r#"{"k":"写真/1.jpg","e":""}"#,
        ] {
            assert_eq!(lazy(s), whole(s), "{s}");
        }
    }

    #[test]
    fn refuses_what_the_whole_parse_refuses() {
        // one level below the limit inside an entry is the limit for the whole
        for n in [120, 125, 126, 127, 128, 200] {
            let s = format!(r#"{{"a":"x","deep":{}1{}}}"#, "[".repeat(n), "]".repeat(n));
            assert_eq!(lazy(&s).is_err(), whole(&s).is_err(), "depth {n}");
            if let Err(why) = lazy(&s) {
                assert!(
                    why.starts_with("`requestParameters.deep` cannot be read: recursion limit"),
                    "{why}"
                );
            }
        }
        // a value a later one of its name replaces still had to parse
        let deep = format!("{}1{}", "[".repeat(130), "]".repeat(130));
        for s in [
            r#"{"n":1e999,"n":1}"#.to_string(),
            r#"{"k":"\ud800","k":"x"}"#.to_string(),
            format!(r#"{{"d":{deep},"d":1}}"#),
        ] {
            assert!(whole(&s).is_err(), "{s}");
            assert!(lazy(&s).is_err(), "{s}");
        }
        for s in [r#"{"n":1e999}"#, r#"{"a":"b","n":-1e400}"#] {
            assert!(whole(s).is_err());
            assert!(
                lazy(s).is_err_and(|why| why.contains("`requestParameters.n`")),
                "{s}"
            );
        }
        // not an object: no parameters, and refused when too deep
        for n in [100, 126, 127, 128, 200] {
            let s = format!("{}1{}", "[".repeat(n), "]".repeat(n));
            assert_eq!(lazy(&s).is_err(), whole(&s).is_err(), "depth {n}");
            assert!(lazy(&s).is_err() || lazy(&s) == Ok(None));
        }
        // a hostile name is shown short and visible
        let s = format!(r#"{{"{}\u001b[31m":1e999}}"#, "n".repeat(500));
        let why = lazy(&s).err().unwrap_or_default();
        assert!(why.len() < 200 && !why.contains('\u{1b}'), "{why}");
    }

    #[test]
    fn plain_values_are_parsed_only_when_asked_for() {
        let p = read(
            r#"{"bucketName":"b","key":"arn:x","Host":"h","list":["arn:y"],"z":null,"k":{"pk":{"S":"1"}},"e":"a\u0062"}"#,
        );
        let parsed = |p: &Params<'_>| {
            p.entries
                .iter()
                .filter(|(_, s)| match s {
                    Slot::Lazy(_, c) => c.get().is_some(),
                    _ => true,
                })
                .count()
        };
        assert_eq!(parsed(&p), 1, "only the escaped string");
        assert_eq!(p.get("bucketName").and_then(Value::as_str), Some("b"));
        assert_eq!(parsed(&p), 2);
        let arns: Vec<&str> = p.maybe_arns().map(|(k, _)| k).collect();
        assert_eq!(
            arns,
            ["e", "key", "list"],
            "the Host, the null and the key object are not parsed for ARNs"
        );
        assert_eq!(parsed(&p), 4);
        assert_eq!(p.get("e").and_then(Value::as_str), Some("ab"));
        assert_eq!(p.get("missing"), None);
        assert_eq!(p.iter().count(), 7);
    }

    #[test]
    fn of_map_and_to_object_round_trip() {
        let m = whole(r#"{"tableName":"t","key":{"pk":{"S":"1"}}}"#)
            .ok()
            .flatten()
            .unwrap_or_default();
        let p = Params::of_map(&m);
        assert_eq!(p.get("tableName").and_then(Value::as_str), Some("t"));
        assert_eq!(p.to_object(), Value::Object(m.clone()));
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            "[a-z:/\"\\\\é ]{0,8}".prop_map(Value::String),
            Just(Value::String("arn:aws:s3:::b/k".into())),
        ];
        leaf.prop_recursive(3, 12, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map("[a-c]{1,2}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// Any object, with names repeated in any order, reads as serde_json's map reads it.
        #[test]
        fn any_object_reads_as_the_map_does(
            members in prop::collection::vec(("[a-d\"é]{1,3}", json_value()), 0..8),
        ) {
            let body: Vec<String> = members
                .iter()
                .map(|(k, v)| format!("{}:{}", Value::String(k.clone()), v))
                .collect();
            let s = format!("{{{}}}", body.join(","));
            prop_assert_eq!(lazy(&s), whole(&s));
            let p = read(&s);
            let m = whole(&s).ok().flatten().unwrap_or_default();
            for (k, _) in &members {
                prop_assert_eq!(p.get(k), m.get(k));
                // a string's text, asked for before the value is parsed, then after
                let fresh = read(&s);
                prop_assert_eq!(fresh.get_str(k), m.get(k).and_then(Value::as_str));
                prop_assert_eq!(p.get_str(k), m.get(k).and_then(Value::as_str));
            }
            // every parameter that holds an ARN string is offered to the ARN scan
            for (k, v) in &m {
                if v.as_str().is_some_and(|s| s.starts_with("arn:")) {
                    prop_assert!(p.maybe_arns().any(|(n, _)| n == k), "{}", k);
                }
            }
        }
    }
}
