//! Shared roles, scoped per function: Lambda puts `lambda:SourceFunctionArn` in the request
//! context of calls made from a function's execution environment (its code, and CloudWatch Logs
//! and X-Ray calls), not in those its platform makes (environment-variable decryption, network
//! interfaces, event-source polling; Lambda developer guide, "Using source function ARN to
//! control function access behavior"). So one role policy can hold every function's grants,
//! each conditioned on its function's ARN, with platform calls left unconditioned.

use std::collections::BTreeMap;

use crate::identity::{PrincipalKind, role_name};
use crate::usage::{PrincipalId, PrincipalUsage, Usage};

pub const SOURCE_FUNCTION_ARN: &str = "lambda:SourceFunctionArn";

/// Replaces the functions of every role shared by two or more functions with one role principal
/// whose grants are scoped per function. Other principals are kept as they are.
pub fn scope_shared_roles(usage: &Usage) -> Usage {
    let mut by_role: BTreeMap<(String, String), Vec<&PrincipalId>> = BTreeMap::new();
    for (id, p) in &usage.principals {
        if id.kind == PrincipalKind::Function
            && let Some(r) = &p.role_arn
        {
            by_role
                .entry((id.account.clone(), r.clone()))
                .or_default()
                .push(id);
        }
    }
    let mut out = usage.clone();
    for ((account, role_arn), fns) in by_role {
        if fns.len() < 2 {
            continue;
        }
        let role_id = PrincipalId {
            kind: PrincipalKind::Role,
            account: account.clone(),
            name: role_name(&role_arn).to_string(),
        };
        let mut role = out
            .principals
            .remove(&role_id)
            .unwrap_or_else(|| PrincipalUsage {
                role_arn: Some(role_arn.clone()),
                arn: Some(role_arn.clone()),
                ..PrincipalUsage::default()
            });
        for f in fns {
            let Some(p) = out.principals.remove(f) else {
                continue;
            };
            let fn_arn = p.arn.clone().unwrap_or_default();
            role.functions.insert(f.name.clone());
            for (k, ev) in &p.grants {
                let scoped = ev.scoped("ArnEquals", SOURCE_FUNCTION_ARN, &fn_arn);
                match role.grants.get_mut(k) {
                    Some(e) => e.merge(&scoped),
                    None => {
                        role.grants.insert(k.clone(), scoped);
                    }
                }
            }
            for (k, ev) in &p.denied {
                match role.denied.get_mut(k) {
                    Some(e) => e.merge(ev),
                    None => {
                        role.denied.insert(k.clone(), ev.clone());
                    }
                }
            }
            role.data_types.extend(p.data_types.iter().cloned());
        }
        out.principals.insert(role_id, role);
    }
    out
}
