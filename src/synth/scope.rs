//! Shared roles, scoped per function: Lambda puts `lambda:SourceFunctionArn` in the request
//! context of calls made from a function's execution environment (its code, and CloudWatch Logs
//! and X-Ray calls), not in those its platform makes (environment-variable decryption, network
//! interfaces, event-source polling; Lambda developer guide, "Using source function ARN to
//! control function access behavior"). So one role policy can hold every function's grants,
//! each conditioned on its function's ARN, with platform calls left unconditioned.

use crate::usage::{EvidenceMap, PrincipalUsage, Usage};

pub const SOURCE_FUNCTION_ARN: &str = "lambda:SourceFunctionArn";

/// Replaces the functions of every role shared by two or more functions with one role principal
/// whose grants are scoped per function. Other principals are kept as they are.
pub fn scope_shared_roles(usage: &Usage) -> Usage {
    let mut out = usage.clone();
    for (role_id, fns) in usage.shared_roles() {
        let role_arn = fns
            .iter()
            .find_map(|(_, p)| p.role_arn.clone())
            .unwrap_or_default();
        let mut role = out
            .principals
            .remove(&role_id)
            .unwrap_or_else(|| PrincipalUsage {
                role_arn: Some(role_arn.clone()),
                arn: Some(role_arn.clone()),
                ..PrincipalUsage::default()
            });
        for (f, p) in fns {
            out.principals.remove(f);
            let fn_arn = p.arn.clone().unwrap_or_default();
            role.functions.insert(f.name.clone());
            role.grants.add_all(p.grants.iter().map(|(k, ev)| {
                (
                    k.clone(),
                    ev.scoped("ArnEquals", SOURCE_FUNCTION_ARN, &fn_arn),
                )
            }));
            role.denied
                .add_all(p.denied.iter().map(|(k, ev)| (k.clone(), ev.clone())));
            role.data_types.extend(p.data_types.iter().cloned());
            role.calls += p.calls;
            role.days.merge(&p.days);
        }
        out.principals.insert(role_id, role);
    }
    out
}
