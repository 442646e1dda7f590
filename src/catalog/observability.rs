//! Whether CloudTrail logs an action: as a management event, as a data event (only when the
//! trail's selectors enable that resource type), or not at all. From `data/data-events.tsv` and
//! `data/unlogged-actions.tsv`.

use std::sync::OnceLock;

use serde::Serialize;

use crate::wildcard::matches;

const DATA_EVENTS_TSV: &str = include_str!("../../data/data-events.tsv");
const UNLOGGED_TSV: &str = include_str!("../../data/unlogged-actions.tsv");

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case", tag = "logged", content = "data_event_type")]
pub enum Observability {
    /// Logged as a management event, on by default in every trail.
    Management,
    /// Logged only when the trail's data-event selectors enable this `resources.type`.
    Data(String),
    /// Never logged: a trail can never show it unused.
    Unlogged,
}

impl Observability {
    pub fn describe(&self) -> String {
        match self {
            Observability::Management => "management event".to_string(),
            Observability::Data(t) => format!("data event ({t})"),
            Observability::Unlogged => "not logged by CloudTrail".to_string(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct DataEventType {
    pub resource_type: String,
    pub event_source: String,
    pub patterns: Vec<String>,
    pub note: String,
}

#[derive(Debug, Default)]
pub struct ObservabilityTable {
    pub data: Vec<DataEventType>,
    pub unlogged: Vec<(String, String)>,
    pub malformed: Vec<String>,
}

impl ObservabilityTable {
    pub fn embedded() -> &'static ObservabilityTable {
        static T: OnceLock<ObservabilityTable> = OnceLock::new();
        T.get_or_init(|| ObservabilityTable::parse(DATA_EVENTS_TSV, UNLOGGED_TSV))
    }

    pub fn parse(data: &str, unlogged: &str) -> ObservabilityTable {
        let mut t = ObservabilityTable::default();
        for (i, line) in data.lines().enumerate() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            match line.split('\t').collect::<Vec<_>>().as_slice() {
                [rt, src, pats, note] => t.data.push(DataEventType {
                    resource_type: (*rt).to_string(),
                    event_source: (*src).to_string(),
                    patterns: pats.split_whitespace().map(str::to_string).collect(),
                    note: (*note).to_string(),
                }),
                _ => t.malformed.push(format!("data-events.tsv:{}", i + 1)),
            }
        }
        for (i, line) in unlogged.lines().enumerate() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            match line.split('\t').collect::<Vec<_>>().as_slice() {
                [a, note] => t.unlogged.push(((*a).to_string(), (*note).to_string())),
                _ => t.malformed.push(format!("unlogged-actions.tsv:{}", i + 1)),
            }
        }
        t
    }

    /// How CloudTrail logs `prefix:Action`.
    pub fn of(&self, qualified: &str) -> Observability {
        if self
            .unlogged
            .iter()
            .any(|(p, _)| matches(p, qualified, true))
        {
            return Observability::Unlogged;
        }
        for d in &self.data {
            if d.patterns.iter().any(|p| matches(p, qualified, true)) {
                return Observability::Data(d.resource_type.clone());
            }
        }
        Observability::Management
    }

    /// The data-event type a record of this event source belongs to, when it is a data event.
    pub fn data_type_for_source(&self, event_source: &str) -> Option<&str> {
        self.data
            .iter()
            .find(|d| d.event_source.eq_ignore_ascii_case(event_source))
            .map(|d| d.resource_type.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;

    #[test]
    fn tables_are_well_formed_and_name_catalog_actions() {
        let t = ObservabilityTable::embedded();
        assert!(t.malformed.is_empty(), "{:?}", t.malformed);
        let c = Catalog::embedded();
        for d in &t.data {
            for p in &d.patterns {
                assert!(
                    c.all_actions().any(|a| matches(p, a.qualified(), true)),
                    "`{p}` matches no catalog action"
                );
            }
        }
        for (p, note) in &t.unlogged {
            assert!(!note.is_empty());
            assert!(
                c.all_actions().any(|a| matches(p, a.qualified(), true)),
                "`{p}`"
            );
        }
    }

    #[test]
    fn classifies() {
        let t = ObservabilityTable::embedded();
        assert_eq!(
            t.of("s3:GetObject"),
            Observability::Data("AWS::S3::Object".into())
        );
        assert_eq!(t.of("s3:ListBucket"), Observability::Management);
        assert_eq!(t.of("iam:PassRole"), Observability::Unlogged);
        assert_eq!(t.of("logs:PutLogEvents"), Observability::Unlogged);
        assert_eq!(
            t.of("lambda:InvokeFunction"),
            Observability::Data("AWS::Lambda::Function".into())
        );
        assert_eq!(
            t.data_type_for_source("dynamodb.amazonaws.com"),
            Some("AWS::DynamoDB::Table")
        );
    }
}
