//! The reviewed mapping tables under `data/`, embedded and parsed once.

use std::collections::{BTreeMap, BTreeSet};

pub const EXCEPTIONS_TSV: &str = include_str!("../../data/cloudtrail-exceptions.tsv");
pub const DENIED_CODES_TSV: &str = include_str!("../../data/denied-error-codes.tsv");
pub const RESOURCE_PARAMS_TSV: &str = include_str!("../../data/resource-params.tsv");

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
    /// Empty for a call that needs no permission.
    pub actions: Vec<RowAction>,
    pub note: String,
    /// 1-based line in the TSV, for messages and tests.
    pub line: usize,
}

#[derive(Debug, Clone)]
pub struct Binding {
    pub param: String,
    pub transform: String,
}

#[derive(Debug, Default)]
pub struct Tables {
    exceptions: BTreeMap<(String, String), Vec<ExceptionRow>>,
    denied: BTreeSet<String>,
    bindings: BTreeMap<(String, String, String), Vec<Binding>>,
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
            let actions = if *actions == "-" {
                Vec::new()
            } else {
                actions
                    .split_whitespace()
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
                note: (*note).to_string(),
                line,
            };
            t.exceptions
                .entry((src.to_ascii_lowercase(), (*name).to_string()))
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
                [prefix, ph, role, param, transform, _note] => t
                    .bindings
                    .entry((
                        (*prefix).to_string(),
                        (*ph).to_string(),
                        (*role).to_string(),
                    ))
                    .or_default()
                    .push(Binding {
                        param: (*param).to_string(),
                        transform: (*transform).to_string(),
                    }),
                _ => t.malformed.push(format!("resource-params.tsv:{line}")),
            }
        }
        t
    }

    pub fn exception_rows(&self, event_source: &str, event_name: &str) -> &[ExceptionRow] {
        self.exceptions
            .get(&(event_source.to_ascii_lowercase(), event_name.to_string()))
            .map_or(&[], Vec::as_slice)
    }

    pub fn all_exceptions(&self) -> impl Iterator<Item = &ExceptionRow> {
        self.exceptions.values().flatten()
    }

    pub fn is_denied(&self, error_code: &str) -> bool {
        self.denied.contains(error_code)
    }

    pub fn bindings(&self, prefix: &str, placeholder: &str, role: &str) -> &[Binding] {
        self.bindings
            .get(&(
                prefix.to_string(),
                placeholder.to_string(),
                role.to_string(),
            ))
            .map_or(&[], Vec::as_slice)
    }

    pub fn all_bindings(&self) -> impl Iterator<Item = (&(String, String, String), &Binding)> {
        self.bindings
            .iter()
            .flat_map(|(k, v)| v.iter().map(move |b| (k, b)))
    }
}
