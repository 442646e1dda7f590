//! The reviewed mapping tables under `data/`, embedded and parsed once.

use crate::catalog::lowercase;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;

pub const EXCEPTIONS_TSV: &str = include_str!("../../data/cloudtrail-exceptions.tsv");
pub const DENIED_CODES_TSV: &str = include_str!("../../data/denied-error-codes.tsv");
pub const RESOURCE_PARAMS_TSV: &str = include_str!("../../data/resource-params.tsv");
pub const PASSROLE_TSV: &str = include_str!("../../data/passrole.tsv");
pub const TAG_ON_CREATE_TSV: &str = include_str!("../../data/tag-on-create.tsv");
pub const HTTP_METHODS_TSV: &str = include_str!("../../data/http-methods.tsv");
pub const LAMBDA_PLATFORM_TSV: &str = include_str!("../../data/lambda-platform.tsv");
pub const CLOUDTRAIL_ONLY_TSV: &str = include_str!("../../data/cloudtrail-only-events.tsv");

/// How a CloudTrail-only event name (not an API operation) is classified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnlyClass {
    /// A call that IAM does not authorize (the SSO portal's bearer token, a public endpoint).
    PermissionLess,
    /// A console or sign-in flow, or an event AWS itself records: no API call by the principal.
    NotApiCall,
}

/// One row of `data/cloudtrail-only-events.tsv`.
#[derive(Debug, Clone)]
pub struct OnlyRow {
    pub event_source: String,
    pub event_name: String,
    pub class: OnlyClass,
    pub note: String,
    pub line: usize,
}

/// Transforms that read an ARN themselves rather than take it as it is.
pub const ARN_TRANSFORMS: [&str; 1] = ["secret-name"];

/// When an exception row applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum When {
    Always,
    /// requestParameters has a non-empty value for this key.
    Param(String),
}

/// One action an exception row gives, with the request part its resource comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowAction {
    pub action: String,
    pub role: String,
}

#[derive(Debug, Clone)]
pub struct ExceptionRow {
    pub event_source: String,
    pub event_name: String,
    pub when: When,
    /// Empty for a call that needs no permission; for a derived row, the actions the rule
    /// scopes (empty when the rule reads the actions themselves from the request).
    pub actions: Vec<RowAction>,
    /// A named rule that reads the actions or their resources from the request
    /// (`dynamodb-transact`, `partiql`, `bedrock-model`).
    pub derive: Option<String>,
    pub note: String,
    /// 1-based line in the TSV, for messages and tests.
    pub line: usize,
}

/// A request parameter that passes a role to a service.
#[derive(Debug, Clone)]
pub struct PassRoleRow {
    pub event_source: String,
    pub event_name: String,
    /// Dotted path; `[]` takes every element of an array.
    pub path: String,
    pub passed_to: String,
    pub line: usize,
}

/// A create call that also tags: the tag parameter and the tagging action it needs.
#[derive(Debug, Clone)]
pub struct TagRow {
    pub event_source: String,
    pub event_name: String,
    pub param: String,
    pub action: String,
    pub line: usize,
}

/// A REST operation whose IAM action is its HTTP verb (API Gateway).
#[derive(Debug, Clone)]
pub struct HttpOperation {
    pub service: String,
    pub method: String,
    pub uri: String,
}

#[derive(Debug, Clone)]
pub struct Binding {
    pub param: String,
    pub transform: String,
}

#[derive(Debug, Default)]
pub struct Tables {
    /// eventSource (lower case) → eventName → rows. Nested, not keyed by a pair, so that a
    /// record's strings look it up as they are, with no key allocated per record.
    exceptions: BTreeMap<String, BTreeMap<String, Vec<ExceptionRow>>>,
    denied: BTreeSet<String>,
    /// prefix → placeholder → role → bindings.
    bindings: BTreeMap<String, BTreeMap<String, BTreeMap<String, Vec<Binding>>>>,
    pub passrole: Vec<PassRoleRow>,
    /// eventSource (lower case) → eventNames of calls Lambda's platform makes with the
    /// execution role.
    pub lambda_platform: BTreeMap<String, BTreeSet<String>>,
    pub tagging: Vec<TagRow>,
    /// operation name → the REST operations of that name (API Gateway v1 first, then v2)
    http: BTreeMap<String, Vec<HttpOperation>>,
    /// prefix → parameters read by an ARN-aware transform ([`ARN_TRANSFORMS`]).
    arn_params: BTreeMap<String, BTreeSet<String>>,
    /// eventSource (lower case) → eventName → the CloudTrail-only names that are not API
    /// operations.
    only: BTreeMap<String, BTreeMap<String, OnlyRow>>,
    /// Rows that could not be parsed, reported by the table tests.
    pub malformed: Vec<String>,
}

fn rows(tsv: &str) -> impl Iterator<Item = (usize, Vec<&str>)> {
    tsv.lines()
        .enumerate()
        .filter(|(_, l)| !l.starts_with('#') && !l.trim().is_empty())
        .map(|(i, l)| (i + 1, l.split('\t').collect()))
}

impl Tables {
    pub fn embedded() -> Tables {
        let mut t = Tables::parse(EXCEPTIONS_TSV, DENIED_CODES_TSV, RESOURCE_PARAMS_TSV);
        t.parse_extras(PASSROLE_TSV, TAG_ON_CREATE_TSV, HTTP_METHODS_TSV);
        for (line, f) in rows(LAMBDA_PLATFORM_TSV) {
            match f.as_slice() {
                [src, name, note] if !note.trim().is_empty() => {
                    t.lambda_platform
                        .entry(src.to_ascii_lowercase())
                        .or_default()
                        .insert((*name).to_string());
                }
                _ => t.malformed.push(format!("lambda-platform.tsv:{line}")),
            }
        }
        t.parse_only(CLOUDTRAIL_ONLY_TSV);
        t
    }

    /// Parses `data/cloudtrail-only-events.tsv`: eventSource, eventName, class, note.
    pub fn parse_only(&mut self, tsv: &str) {
        for (line, f) in rows(tsv) {
            let row = match f.as_slice() {
                [src, name, class, note] if !note.trim().is_empty() => {
                    let class = match *class {
                        "permission-less" => OnlyClass::PermissionLess,
                        "not-api-call" => OnlyClass::NotApiCall,
                        _ => {
                            self.malformed
                                .push(format!("cloudtrail-only-events.tsv:{line}"));
                            continue;
                        }
                    };
                    OnlyRow {
                        event_source: (*src).to_string(),
                        event_name: (*name).to_string(),
                        class,
                        note: (*note).to_string(),
                        line,
                    }
                }
                _ => {
                    self.malformed
                        .push(format!("cloudtrail-only-events.tsv:{line}"));
                    continue;
                }
            };
            self.only
                .entry(row.event_source.to_ascii_lowercase())
                .or_default()
                .insert(row.event_name.clone(), row);
        }
    }

    /// The row of a CloudTrail-only event name, if it is one.
    pub fn cloudtrail_only(&self, event_source: &str, event_name: &str) -> Option<&OnlyRow> {
        let names = lowercase(event_source, |s| self.only.get(s))?;
        names.get(event_name).or_else(|| {
            names
                .range::<str, _>((Bound::Included("*"), Bound::Unbounded))
                .take_while(|(n, _)| n.starts_with('*'))
                .find(|(n, _)| event_name.ends_with(&n[1..]))
                .map(|(_, row)| row)
        })
    }

    pub fn all_cloudtrail_only(&self) -> impl Iterator<Item = &OnlyRow> {
        self.only.values().flat_map(BTreeMap::values)
    }

    pub fn parse_extras(&mut self, passrole: &str, tagging: &str, http: &str) {
        for (line, f) in rows(passrole) {
            match f.as_slice() {
                [src, name, path, to, note] if !note.trim().is_empty() => {
                    self.passrole.push(PassRoleRow {
                        event_source: (*src).to_string(),
                        event_name: (*name).to_string(),
                        path: (*path).to_string(),
                        passed_to: (*to).to_string(),
                        line,
                    })
                }
                _ => self.malformed.push(format!("passrole.tsv:{line}")),
            }
        }
        for (line, f) in rows(tagging) {
            match f.as_slice() {
                [src, name, param, action, note] if !note.trim().is_empty() => {
                    self.tagging.push(TagRow {
                        event_source: (*src).to_string(),
                        event_name: (*name).to_string(),
                        param: (*param).to_string(),
                        action: (*action).to_string(),
                        line,
                    })
                }
                _ => self.malformed.push(format!("tag-on-create.tsv:{line}")),
            }
        }
        for (line, f) in rows(http) {
            match f.as_slice() {
                [service, op, method, uri] => {
                    self.http
                        .entry((*op).to_string())
                        .or_default()
                        .push(HttpOperation {
                            service: (*service).to_string(),
                            method: (*method).to_string(),
                            uri: (*uri).to_string(),
                        })
                }
                _ => self.malformed.push(format!("http-methods.tsv:{line}")),
            }
        }
    }

    pub fn http_operations(&self, operation: &str) -> &[HttpOperation] {
        self.http.get(operation).map_or(&[], Vec::as_slice)
    }

    pub fn parse(exceptions: &str, denied: &str, params: &str) -> Tables {
        let mut t = Tables::default();
        for (line, f) in rows(exceptions) {
            let [src, name, when, actions, note] = f.as_slice() else {
                t.malformed
                    .push(format!("cloudtrail-exceptions.tsv:{line}"));
                continue;
            };
            let when = match when.strip_prefix("param:") {
                Some(p) => When::Param(p.to_string()),
                None if *when == "-" => When::Always,
                None => {
                    t.malformed
                        .push(format!("cloudtrail-exceptions.tsv:{line}"));
                    continue;
                }
            };
            // `derive:RULE` alone, or followed by the actions the rule scopes.
            let mut words = actions.split_whitespace().peekable();
            let derive = words
                .next_if(|w| w.starts_with("derive:"))
                .and_then(|w| w.strip_prefix("derive:"))
                .map(str::to_string);
            let actions = if *actions == "-" {
                Vec::new()
            } else {
                words
                    .map(|a| match a.split_once('@') {
                        Some((a, r)) => RowAction {
                            action: a.to_string(),
                            role: r.to_string(),
                        },
                        None => RowAction {
                            action: a.to_string(),
                            role: "-".to_string(),
                        },
                    })
                    .collect()
            };
            let row = ExceptionRow {
                event_source: (*src).to_string(),
                event_name: (*name).to_string(),
                when,
                actions,
                derive,
                note: (*note).to_string(),
                line,
            };
            t.exceptions
                .entry(src.to_ascii_lowercase())
                .or_default()
                .entry((*name).to_string())
                .or_default()
                .push(row);
        }
        for (line, f) in rows(denied) {
            match f.as_slice() {
                [code, note] if !note.trim().is_empty() => {
                    t.denied.insert((*code).to_string());
                }
                _ => t.malformed.push(format!("denied-error-codes.tsv:{line}")),
            }
        }
        for (line, f) in rows(params) {
            match f.as_slice() {
                [prefix, ph, role, param, transform, _note] => {
                    if ARN_TRANSFORMS.contains(transform) {
                        t.arn_params
                            .entry((*prefix).to_string())
                            .or_default()
                            .insert((*param).to_string());
                    }
                    t.bindings
                        .entry((*prefix).to_string())
                        .or_default()
                        .entry((*ph).to_string())
                        .or_default()
                        .entry((*role).to_string())
                        .or_default()
                        .push(Binding {
                            param: (*param).to_string(),
                            transform: (*transform).to_string(),
                        })
                }
                _ => t.malformed.push(format!("resource-params.tsv:{line}")),
            }
        }
        t
    }

    pub fn exception_rows(&self, event_source: &str, event_name: &str) -> &[ExceptionRow] {
        lowercase(event_source, |s| self.exceptions.get(s))
            .and_then(|names| names.get(event_name))
            .map_or(&[], Vec::as_slice)
    }

    pub fn all_exceptions(&self) -> impl Iterator<Item = &ExceptionRow> {
        self.exceptions
            .values()
            .flat_map(BTreeMap::values)
            .flatten()
    }

    pub fn is_denied(&self, error_code: &str) -> bool {
        self.denied.contains(error_code)
    }

    /// The bindings of a placeholder for every role (`-`, `copy-source`, …).
    pub fn bindings_any_role(&self, prefix: &str, placeholder: &str) -> Vec<&Binding> {
        self.bindings
            .get(prefix)
            .and_then(|by| by.get(placeholder))
            .into_iter()
            .flat_map(|by_role| by_role.values().flatten())
            .collect()
    }

    /// The error codes that mean "denied".
    pub fn denied_codes(&self) -> impl Iterator<Item = &str> {
        self.denied.iter().map(String::as_str)
    }

    /// Every exception row.
    pub fn all_exception_rows(&self) -> impl Iterator<Item = &ExceptionRow> {
        self.exceptions
            .values()
            .flat_map(BTreeMap::values)
            .flatten()
    }

    pub fn bindings(&self, prefix: &str, placeholder: &str, role: &str) -> &[Binding] {
        self.bindings
            .get(prefix)
            .and_then(|by| by.get(placeholder))
            .and_then(|by| by.get(role))
            .map_or(&[], Vec::as_slice)
    }

    /// The parameters a binding of this prefix reads with a transform that takes ARNs itself
    /// (`secret-name`: a partial secret ARN needs its suffix pattern), so that their values
    /// are not used as ARNs as they are.
    pub fn arn_params_of(&self, prefix: &str) -> impl Iterator<Item = &String> {
        self.arn_params.get(prefix).into_iter().flatten()
    }
}
