//! Usage → one minimized policy per principal, replayed through the evaluator before it is
//! shown.
//!
//! First cut: one statement per distinct resource set, actions sorted, exact ARNs, stable Sids.
//! Calls AWS made on the principal's behalf (`invokedBy`) are granted in statements of their
//! own, marked `ByService`, and calls Lambda's platform made with a function's execution role
//! in statements marked `LambdaPlatform`, apart from the code's own calls. Denied and permission-less calls
//! are never granted.

use std::collections::{BTreeMap, BTreeSet};

use crate::catalog::{AccessLevel, Catalog};
use crate::policy::{
    Conditions, Context, Decision, Effect, Matcher, PolicyDocument, Request, Statement, evaluate,
};
use crate::usage::{Conds, Grants, Origin, PrincipalUsage};

/// An observed call the proposed policy would not allow: always an internal error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the proposed policy does not allow the observed call `{action}` on `{resource}` ({decision:?})"
)]
pub struct ReplayFailure {
    pub action: String,
    pub resource: String,
    pub decision: Decision,
}

/// Builds the policy for one principal's grants.
pub fn synthesize(grants: &Grants, catalog: &Catalog) -> PolicyDocument {
    // An action the code also calls is not split off: service-made rows of it merge in.
    let mut by_code: BTreeSet<&str> = BTreeSet::new();
    for ((action, _), ev) in grants {
        if ev.origin() == Origin::Code {
            by_code.insert(action.as_str());
        }
    }
    // (action, origin, conditions) → resources
    type Key<'g> = (&'g str, Origin, Option<&'g Conds>);
    let mut per_action: BTreeMap<Key<'_>, BTreeSet<&str>> = BTreeMap::new();
    for ((action, resource), ev) in grants {
        let origin = if by_code.contains(action.as_str()) {
            Origin::Code
        } else {
            ev.origin()
        };
        per_action
            .entry((action.as_str(), origin, ev.grant_conditions()))
            .or_default()
            .insert(resource.as_str());
    }
    // (origin, conditions, resources) → actions
    type Group<'g> = (Origin, Option<&'g Conds>, BTreeSet<&'g str>);
    let mut groups: BTreeMap<Group<'_>, BTreeSet<&str>> = BTreeMap::new();
    for ((action, origin, conds), resources) in per_action {
        let resources = if resources.contains("*") {
            BTreeSet::from(["*"])
        } else {
            resources
        };
        groups
            .entry((origin, conds, resources))
            .or_default()
            .insert(action);
    }
    let mut statements: Vec<(Vec<String>, Vec<String>, Origin, Conditions)> = groups
        .into_iter()
        .map(|((origin, conds, res), actions)| {
            let mut actions: Vec<String> = actions.into_iter().map(str::to_string).collect();
            actions.sort_by_key(|a| a.to_ascii_lowercase());
            let condition: Conditions = conds
                .map(|c| {
                    c.iter()
                        .map(|(op, keys)| {
                            let keys = keys
                                .iter()
                                .map(|(k, v)| (k.clone(), v.iter().cloned().collect()))
                                .collect();
                            (op.clone(), keys)
                        })
                        .collect()
                })
                .unwrap_or_default();
            (
                actions,
                res.into_iter().map(str::to_string).collect(),
                origin,
                condition,
            )
        })
        .collect();
    statements.sort_by(|a, b| (a.2, &a.0, &a.1, &a.3).cmp(&(b.2, &b.0, &b.1, &b.3)));
    let mut used_sids: BTreeMap<String, usize> = BTreeMap::new();
    let statements = statements
        .into_iter()
        .map(|(actions, resources, origin, condition)| {
            let mut sid = sid_for(&actions, catalog);
            match origin {
                Origin::Code => {}
                Origin::Service => sid.push_str("ByService"),
                Origin::LambdaPlatform => sid.push_str("LambdaPlatform"),
            }
            let n = used_sids.entry(sid.clone()).or_insert(0);
            *n += 1;
            if *n > 1 {
                sid = format!("{sid}{n}");
            }
            Statement {
                sid: Some(sid),
                effect: Effect::Allow,
                principal: None,
                not_principal: None,
                action: Matcher::Is(actions),
                resource: Matcher::Is(resources),
                condition,
            }
        })
        .collect();
    PolicyDocument {
        statements,
        ..PolicyDocument::default()
    }
}

/// The request contexts under which the evidence's calls were made: one per condition value
/// (other keys at their first value); the empty context for unconditioned calls.
pub fn replay_contexts(ev: &crate::usage::Evidence) -> Vec<Context> {
    let Some(conds) = ev.grant_conditions() else {
        return vec![Context::default()];
    };
    let keys: Vec<(&String, &BTreeSet<String>)> = conds.values().flat_map(|k| k.iter()).collect();
    let base = keys.iter().fold(Context::default(), |c, (k, vals)| {
        match vals.iter().next() {
            Some(v) => c.with(k, v.clone()),
            None => c,
        }
    });
    let mut out = vec![base.clone()];
    for (k, vals) in &keys {
        for v in vals.iter().skip(1) {
            let mut c = base.clone();
            c.values.insert(k.to_ascii_lowercase(), vec![v.clone()]);
            out.push(c);
        }
    }
    out
}

/// `S3Read`, `DynamodbWrite`, `LogsKmsWrite`: the services (up to three) and the most
/// sensitive access level of the statement's actions.
fn sid_for(actions: &[String], catalog: &Catalog) -> String {
    let mut prefixes: Vec<&str> = actions.iter().filter_map(|a| a.split(':').next()).collect();
    prefixes.dedup();
    let mut sid: String = prefixes.iter().take(3).map(|p| pascal(p)).collect();
    if prefixes.len() > 3 {
        sid.push_str("More");
    }
    let level = actions
        .iter()
        .filter_map(|a| catalog.action_qualified(a).map(|d| d.access))
        .max();
    sid.push_str(match level {
        Some(AccessLevel::List) => "List",
        Some(AccessLevel::Read) => "Read",
        Some(AccessLevel::Tagging) => "Tagging",
        Some(AccessLevel::Write) => "Write",
        Some(AccessLevel::PermissionsManagement) => "Permissions",
        None => "Access",
    });
    sid
}

fn pascal(s: &str) -> String {
    s.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// Replays every observed successful call through the evaluator. Any call not allowed is
/// returned; the caller must treat a non-empty result as an internal error.
pub fn replay(policy: &PolicyDocument, usage: &PrincipalUsage) -> Vec<ReplayFailure> {
    let mut out = Vec::new();
    for ((action, resource), ev) in &usage.grants {
        for ctx in replay_contexts(ev) {
            let decision = evaluate(
                policy,
                &Request {
                    action,
                    resource,
                    context: &ctx,
                },
            );
            if decision != Decision::Allow {
                out.push(ReplayFailure {
                    action: action.clone(),
                    resource: resource.clone(),
                    decision,
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::usage::Evidence;
    use chrono::{TimeZone, Utc};

    fn ev(service: bool) -> Evidence {
        let t = Utc
            .with_ymd_and_hms(2026, 11, 1, 0, 0, 0)
            .single()
            .unwrap_or_default();
        let mut e = Evidence::new(t, "id");
        e.count = 1;
        if service {
            e.service_made = 1;
        }
        e
    }

    #[test]
    fn groups_by_resource_set_and_labels_service_made() {
        let mut g = Grants::new();
        g.insert(
            ("s3:GetObject".into(), "arn:aws:s3:::b/k".into()),
            ev(false),
        );
        g.insert(
            ("s3:PutObject".into(), "arn:aws:s3:::b/k".into()),
            ev(false),
        );
        g.insert(
            (
                "dynamodb:GetItem".into(),
                "arn:aws:dynamodb:eu-west-1:1:table/t".into(),
            ),
            ev(false),
        );
        g.insert(
            ("kms:Decrypt".into(), "arn:aws:kms:eu-west-1:1:key/k".into()),
            ev(true),
        );
        let p = synthesize(&g, Catalog::embedded());
        let sids: Vec<_> = p
            .statements
            .iter()
            .map(|s| s.sid.clone().unwrap_or_default())
            .collect();
        assert_eq!(sids, ["DynamodbRead", "S3Write", "KmsWriteByService"]);
        assert_eq!(
            p.statements[1].action.values(),
            ["s3:GetObject", "s3:PutObject"]
        );
        let u = PrincipalUsage {
            grants: g,
            ..PrincipalUsage::default()
        };
        assert!(replay(&p, &u).is_empty());
    }
}
