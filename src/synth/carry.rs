//! Grants carried into a proposal although the trail does not show them used: those the trail
//! cannot show unused (from `--current`: the diff's `unobservable` class, which the pipeline
//! hands in, see [`crate::diff::unobservable`]) and those on a keep-list.

use std::collections::BTreeMap;

use super::Carried;
use super::narrow::Observed;
use crate::catalog::Catalog;
use crate::identity::{PrincipalKind, role_name};
use crate::policy::Matcher;
use crate::policy::expand::expand_actions;
use crate::usage::{PrincipalId, PrincipalUsage};
use crate::wildcard::matches;

/// One keep-list line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeepRow {
    pub principal: String,
    pub action: String,
    pub resource: String,
    pub reason: String,
}

/// A keep-list line that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{path}` line {line}: {problem}")]
pub struct KeepError {
    pub path: String,
    pub line: usize,
    pub problem: KeepProblem,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeepProblem {
    #[error("expected PRINCIPAL, ACTION, RESOURCE and REASON separated by tabs")]
    Shape,
    #[error("every kept permission needs a reason")]
    NoReason,
    #[error("`{0}` is not an action in the IAM catalog")]
    UnknownAction(String),
}

/// Parses a keep-list: `PRINCIPAL-GLOB<TAB>ACTION<TAB>RESOURCE<TAB>REASON`, `#` comments.
/// Every action (or pattern) must name catalog actions, and every line must give a reason.
pub fn parse_keep(text: &str, path: &str, catalog: &Catalog) -> Result<Vec<KeepRow>, KeepError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let err = |problem| KeepError {
            path: path.to_string(),
            line: i + 1,
            problem,
        };
        let f: Vec<&str> = line.split('\t').map(str::trim).collect();
        let [principal, action, resource, reason] = f.as_slice() else {
            return Err(err(KeepProblem::Shape));
        };
        if reason.is_empty() {
            return Err(err(KeepProblem::NoReason));
        }
        if expand_actions(&Matcher::Is(vec![(*action).to_string()]), catalog).is_empty() {
            return Err(err(KeepProblem::UnknownAction((*action).to_string())));
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
    unobservable: Unobservable,
    keep: Vec<KeepRow>,
    /// The resources the trail shows elsewhere, that unobservable grants are narrowed to.
    observed: Observed,
}

/// (kind `role`/`user`, name) → the grants of that role or user the trail cannot show unused.
pub type Unobservable = BTreeMap<(PrincipalKind, String), Vec<Carried>>;

impl Carry {
    /// What to carry: the current policies' unobservable grants, narrowed to what `observed`
    /// shows of their resources, and the keep-list (as it is written).
    pub fn new(unobservable: Unobservable, keep: Vec<KeepRow>, observed: Observed) -> Carry {
        Carry {
            unobservable,
            keep,
            observed,
        }
    }

    /// The grants carried for one principal: its role's (or its own) unobservable grants,
    /// narrowed where the trail shows their resources ([`super::narrow`]), and the keep-list
    /// lines whose glob matches its name.
    pub fn for_principal(
        &self,
        id: &PrincipalId,
        p: &PrincipalUsage,
        catalog: &Catalog,
    ) -> Vec<Carried> {
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
            .into_iter()
            .flatten()
            .flat_map(|c| self.observed.narrow(&id.account, c.clone(), catalog))
            .collect();
        for k in &self.keep {
            if matches(&k.principal, &id.name, false) {
                out.push(Carried {
                    action: k.action.clone(),
                    resources: vec![k.resource.clone()],
                    label: "Kept".to_string(),
                    reason: k.reason.clone(),
                    ..Carried::default()
                });
            }
        }
        out.sort();
        out.dedup();
        out
    }
}
