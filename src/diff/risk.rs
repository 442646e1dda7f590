//! Risk classes of grants, from `data/risk.tsv` plus the Permissions management access level.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use serde::Serialize;

use crate::catalog::{AccessLevel, Catalog};
use crate::wildcard::matches;

const RISK_TSV: &str = include_str!("../../data/risk.tsv");

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum RiskClass {
    PrivilegeEscalation,
    CredentialsExposure,
    DataExfiltration,
    ResourceExposure,
    InfrastructureModification,
}

impl RiskClass {
    pub fn as_str(self) -> &'static str {
        match self {
            RiskClass::PrivilegeEscalation => "privilege-escalation",
            RiskClass::CredentialsExposure => "credentials-exposure",
            RiskClass::DataExfiltration => "data-exfiltration",
            RiskClass::ResourceExposure => "resource-exposure",
            RiskClass::InfrastructureModification => "infrastructure-modification",
        }
    }

    fn parse(s: &str) -> Option<RiskClass> {
        Some(match s {
            "privilege-escalation" => RiskClass::PrivilegeEscalation,
            "credentials-exposure" => RiskClass::CredentialsExposure,
            "data-exfiltration" => RiskClass::DataExfiltration,
            "resource-exposure" => RiskClass::ResourceExposure,
            "infrastructure-modification" => RiskClass::InfrastructureModification,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone)]
pub struct RiskRow {
    pub pattern: String,
    pub star_only: bool,
    pub class: RiskClass,
    pub note: String,
}

#[derive(Debug, Default)]
pub struct RiskTable {
    pub rows: Vec<RiskRow>,
    pub malformed: Vec<String>,
}

impl RiskTable {
    pub fn embedded() -> &'static RiskTable {
        static T: OnceLock<RiskTable> = OnceLock::new();
        T.get_or_init(|| RiskTable::parse(RISK_TSV))
    }

    pub fn parse(text: &str) -> RiskTable {
        let mut t = RiskTable::default();
        for (i, line) in text.lines().enumerate() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            match line.split('\t').collect::<Vec<_>>().as_slice() {
                [pattern, scope, class, note] if matches!(*scope, "any" | "star") => {
                    match RiskClass::parse(class) {
                        Some(class) => t.rows.push(RiskRow {
                            pattern: (*pattern).to_string(),
                            star_only: *scope == "star",
                            class,
                            note: (*note).to_string(),
                        }),
                        None => t.malformed.push(format!("risk.tsv:{}", i + 1)),
                    }
                }
                _ => t.malformed.push(format!("risk.tsv:{}", i + 1)),
            }
        }
        t
    }

    /// The risk classes of granting `action` on these resource patterns.
    pub fn classes<'r>(
        &self,
        action: &str,
        resources: impl IntoIterator<Item = &'r String>,
        catalog: &Catalog,
    ) -> BTreeSet<RiskClass> {
        let on_star = resources
            .into_iter()
            .any(|r| r == "*" || r.starts_with("all except"));
        let mut out: BTreeSet<RiskClass> = self
            .rows
            .iter()
            .filter(|r| matches(&r.pattern, action, true) && (!r.star_only || on_star))
            .map(|r| r.class)
            .collect();
        if let Some(def) = catalog.action_qualified(action) {
            if def.access == AccessLevel::PermissionsManagement {
                out.insert(RiskClass::ResourceExposure);
            }
            if def.access == AccessLevel::Write && on_star {
                out.insert(RiskClass::InfrastructureModification);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_well_formed() {
        let t = RiskTable::embedded();
        assert!(t.malformed.is_empty(), "{:?}", t.malformed);
        let c = Catalog::embedded();
        for r in &t.rows {
            assert!(
                c.all_actions()
                    .any(|a| matches(&r.pattern, a.qualified(), true)),
                "{}",
                r.pattern
            );
        }
    }

    #[test]
    fn classes() {
        let t = RiskTable::embedded();
        let c = Catalog::embedded();
        let star = vec!["*".to_string()];
        let one = vec!["arn:aws:iam::1:role/r".to_string()];
        assert!(
            t.classes("iam:PassRole", &star, c)
                .contains(&RiskClass::PrivilegeEscalation)
        );
        assert!(
            !t.classes("iam:PassRole", &one, c)
                .contains(&RiskClass::PrivilegeEscalation)
        );
        assert!(
            t.classes("iam:PutRolePolicy", &one, c)
                .contains(&RiskClass::PrivilegeEscalation)
        );
        assert!(
            t.classes("s3:PutBucketPolicy", &one, c)
                .contains(&RiskClass::ResourceExposure)
        );
        assert!(
            t.classes("sqs:DeleteQueue", &star, c)
                .contains(&RiskClass::InfrastructureModification)
        );
        assert!(
            t.classes("dynamodb:Scan", &star, c)
                .contains(&RiskClass::DataExfiltration)
        );
        assert!(t.classes("dynamodb:Scan", &one, c).is_empty());
    }
}
