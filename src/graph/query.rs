//! Questions asked of the usage: who touches a resource, which roles are shared, and what a
//! function can reach today against what it used (its blast radius).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::catalog::Catalog;
use crate::identity::{PrincipalKind, role_account, role_name};
use crate::policy::current::CurrentPolicies;
use crate::usage::Usage;
use crate::wildcard::matches;

pub const BLAST_SCHEMA: &str = "tightrole/blast/v1";

/// Why a blast-radius question has no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("no function `{0}` in the trail")]
    NoFunction(String),
    #[error("function `{0}` has no known role")]
    NoRole(String),
    #[error("no current policy for role `{role}` in `{from}`")]
    NoPolicy { role: String, from: String },
    #[error("no principal in the trail matches `{0}` (by name, role or function)")]
    NoPrincipal(String),
}

/// Only the principals one of `globs` names ([`crate::wildcard::matches`]): by its name, the
/// name of the role a function runs as, or a function seen running as a role. None named is an
/// error, so that a mistyped name is not drawn as an empty graph. No globs keeps every one.
pub fn principals(usage: &mut Usage, globs: &[String]) -> Result<(), QueryError> {
    if globs.is_empty() {
        return Ok(());
    }
    usage.principals.retain(|id, p| {
        let role = p.role_arn.as_deref().map(role_name);
        let names = std::iter::once(id.name.as_str())
            .chain(role)
            .chain(p.functions.iter().map(String::as_str))
            .collect::<Vec<_>>();
        globs
            .iter()
            .any(|g| names.iter().any(|n| matches(g, n, false)))
    });
    if usage.principals.is_empty() {
        return Err(QueryError::NoPrincipal(globs.join("` or `")));
    }
    Ok(())
}

/// Only the grants on resources matching `pattern`, and the principals that have one.
pub fn who(usage: &mut Usage, pattern: &str) {
    for p in usage.principals.values_mut() {
        p.grants.retain(|(_, r), _| matches(pattern, r, false));
    }
    usage.principals.retain(|_, p| !p.grants.is_empty());
}

/// Only the functions of roles that two or more functions share ([`Usage::shared_roles`]).
pub fn shared(usage: &mut Usage) {
    let keep: BTreeSet<_> = usage
        .shared_roles()
        .into_values()
        .flatten()
        .map(|(id, _)| id.clone())
        .collect();
    usage.principals.retain(|id, _| keep.contains(id));
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct BlastRow {
    pub action: String,
    pub granted_on: Vec<String>,
    /// `used` by this function, `used-by-role` (other functions or sessions of its role), `unused`.
    pub status: &'static str,
    pub count: u64,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct BlastOutput {
    pub schema: &'static str,
    pub function: String,
    pub role: String,
    pub granted: usize,
    pub used: usize,
    pub rows: Vec<BlastRow>,
}

/// What function `fname` can reach with its role's `current` policies, and which of it the
/// function (or its role's other principals) used.
pub fn blast(
    usage: &Usage,
    fname: &str,
    current: &CurrentPolicies,
) -> Result<BlastOutput, QueryError> {
    let Some((_, f)) = usage
        .principals
        .iter()
        .find(|(id, _)| id.kind == PrincipalKind::Function && id.name == fname)
    else {
        return Err(QueryError::NoFunction(fname.to_string()));
    };
    let Some(role_arn) = &f.role_arn else {
        return Err(QueryError::NoRole(fname.to_string()));
    };
    let role = role_name(role_arn).to_string();
    let Some(cp) = current.for_role_in(&role, role_account(role_arn)) else {
        return Err(QueryError::NoPolicy {
            role,
            from: current.source.clone(),
        });
    };
    let granted = crate::policy::expand::granted(
        cp.policies.iter().map(|p| (p.source.as_str(), &p.document)),
        Catalog::embedded(),
    );
    let mine: BTreeMap<&str, u64> = f.grants.iter().fold(BTreeMap::new(), |mut m, ((a, _), e)| {
        *m.entry(a.as_str()).or_default() += e.seen.count;
        m
    });
    let roles: BTreeSet<&str> = usage
        .principals
        .values()
        .filter(|p| p.role_arn.as_deref() == Some(role_arn.as_str()))
        .flat_map(|p| p.grants.keys().map(|(a, _)| a.as_str()))
        .collect();
    let rows: Vec<BlastRow> = granted
        .iter()
        .map(|(a, g)| BlastRow {
            action: a.clone(),
            granted_on: g.resources.iter().cloned().collect(),
            status: if mine.contains_key(a.as_str()) {
                "used"
            } else if roles.contains(a.as_str()) {
                "used-by-role"
            } else {
                "unused"
            },
            count: mine.get(a.as_str()).copied().unwrap_or(0),
        })
        .collect();
    Ok(BlastOutput {
        schema: BLAST_SCHEMA,
        function: fname.to_string(),
        role,
        granted: rows.len(),
        used: rows.iter().filter(|r| r.status == "used").count(),
        rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::usage::{PrincipalId, PrincipalUsage};

    fn usage() -> Usage {
        let mut u = Usage::default();
        let mut add = |kind, name: &str, role: Option<&str>, functions: &[&str]| {
            u.principals.insert(
                PrincipalId {
                    kind,
                    account: "111122223333".into(),
                    name: name.into(),
                },
                PrincipalUsage {
                    role_arn: role.map(|r| format!("arn:aws:iam::111122223333:role/{r}")),
                    functions: functions.iter().map(|f| f.to_string()).collect(),
                    ..PrincipalUsage::default()
                },
            );
        };
        add(
            PrincipalKind::Function,
            "orders-api",
            Some("shop-role"),
            &[],
        );
        add(
            PrincipalKind::Function,
            "orders-worker",
            Some("shop-role"),
            &[],
        );
        add(PrincipalKind::Function, "payments", Some("pay-role"), &[]);
        add(PrincipalKind::Role, "legacy-role", None, &["old-fn"]);
        add(PrincipalKind::User, "alice", None, &[]);
        u
    }

    fn kept(globs: &[&str]) -> Result<Vec<String>, QueryError> {
        let mut u = usage();
        let globs: Vec<String> = globs.iter().map(|g| g.to_string()).collect();
        principals(&mut u, &globs)?;
        Ok(u.principals.keys().map(|id| id.name.clone()).collect())
    }

    #[test]
    fn principals_match_by_name_role_or_function() {
        assert_eq!(kept(&["alice"]).unwrap(), ["alice"]);
        assert_eq!(
            kept(&["shop-role"]).unwrap(),
            ["orders-api", "orders-worker"],
            "the functions of a role"
        );
        assert_eq!(kept(&["old-fn"]).unwrap(), ["legacy-role"]);
        assert_eq!(
            kept(&["orders-*", "pay*"]).unwrap(),
            ["orders-api", "orders-worker", "payments"]
        );
        assert_eq!(kept(&[]).unwrap().len(), 5);
        assert_eq!(
            kept(&["nope", "neither"]).unwrap_err().to_string(),
            "no principal in the trail matches `nope` or `neither` (by name, role or function)"
        );
    }
}
