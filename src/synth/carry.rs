//! Grants carried into a proposal although the trail does not show them used: those the trail
//! cannot show unused (from `--current`, via the diff's classes) and those on a keep-list.

use std::collections::BTreeMap;
use std::path::Path;

use super::Carried;
use crate::catalog::Catalog;
use crate::diff::{DiffClass, DiffOptions, diff};
use crate::identity::{PrincipalKind, role_name};
use crate::policy::Matcher;
use crate::policy::current::CurrentPolicies;
use crate::policy::expand::expand_actions;
use crate::usage::{PrincipalId, PrincipalUsage, Usage};
use crate::wildcard::matches;

/// One keep-list line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeepRow {
    pub principal: String,
    pub action: String,
    pub resource: String,
    pub reason: String,
}

/// Parses a keep-list: `PRINCIPAL-GLOB<TAB>ACTION<TAB>RESOURCE<TAB>REASON`, `#` comments.
/// Every action (or pattern) must name catalog actions, and every line must give a reason.
pub fn parse_keep(text: &str, path: &str, catalog: &Catalog) -> anyhow::Result<Vec<KeepRow>> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = line.split('\t').map(str::trim).collect();
        let [principal, action, resource, reason] = f.as_slice() else {
            anyhow::bail!(
                "`{path}` line {}: expected PRINCIPAL, ACTION, RESOURCE and REASON separated by tabs",
                i + 1
            );
        };
        if reason.is_empty() {
            anyhow::bail!(
                "`{path}` line {}: every kept permission needs a reason",
                i + 1
            );
        }
        if expand_actions(&Matcher::Is(vec![(*action).to_string()]), catalog).is_empty() {
            anyhow::bail!(
                "`{path}` line {}: `{action}` is not an action in the IAM catalog",
                i + 1
            );
        }
        out.push(KeepRow {
            principal: (*principal).to_string(),
            action: (*action).to_string(),
            resource: (*resource).to_string(),
            reason: (*reason).to_string(),
        });
    }
    Ok(out)
}

#[derive(Debug, Default)]
pub struct Carry {
    /// (kind `role`/`user`, name) → unobservable grants of that role or user today.
    unobservable: BTreeMap<(PrincipalKind, String), Vec<Carried>>,
    keep: Vec<KeepRow>,
}

impl Carry {
    pub fn load(
        current: Option<&CurrentPolicies>,
        keep: Option<&Path>,
        usage: &Usage,
    ) -> anyhow::Result<Carry> {
        let catalog = Catalog::embedded();
        let mut c = Carry::default();
        if let Some(cur) = current {
            let report = diff(usage, cur, &DiffOptions::default(), catalog);
            for p in report.principals {
                let rows = p
                    .entries
                    .iter()
                    .filter(|e| e.class == DiffClass::Unobservable)
                    .map(|e| Carried {
                        action: e.action.clone(),
                        resources: e
                            .before
                            .iter()
                            .filter(|r| !r.starts_with("all except"))
                            .cloned()
                            .collect(),
                        label: "Unobservable".to_string(),
                        reason: e.reason.clone().unwrap_or_default(),
                    })
                    .filter(|c| !c.resources.is_empty())
                    .collect();
                c.unobservable.insert((p.kind, p.name), rows);
            }
        }
        if let Some(path) = keep {
            let text = std::fs::read_to_string(path).map_err(|e| {
                anyhow::anyhow!(
                    "cannot read `{}`: {}",
                    path.display(),
                    crate::diag::io_reason(&e)
                )
            })?;
            c.keep = parse_keep(&text, &path.display().to_string(), catalog)?;
        }
        Ok(c)
    }

    /// The grants carried for one principal: its role's (or its own) unobservable grants, and
    /// the keep-list lines whose glob matches its name.
    pub fn for_principal(&self, id: &PrincipalId, p: &PrincipalUsage) -> Vec<Carried> {
        let key = match id.kind {
            PrincipalKind::User => Some((PrincipalKind::User, id.name.clone())),
            PrincipalKind::Role => Some((PrincipalKind::Role, id.name.clone())),
            PrincipalKind::Function => p
                .role_arn
                .as_deref()
                .map(|r| (PrincipalKind::Role, role_name(r).to_string())),
            _ => None,
        };
        let mut out: Vec<Carried> = key
            .and_then(|k| self.unobservable.get(&k))
            .cloned()
            .unwrap_or_default();
        for k in &self.keep {
            if matches(&k.principal, &id.name, false) {
                out.push(Carried {
                    action: k.action.clone(),
                    resources: vec![k.resource.clone()],
                    label: "Kept".to_string(),
                    reason: k.reason.clone(),
                });
            }
        }
        out.sort();
        out.dedup();
        out
    }
}
