//! Shared roles, scoped per function: Lambda puts `lambda:SourceFunctionArn` in the request
//! context of calls made from a function's execution environment (its code, and CloudWatch Logs
//! and X-Ray calls), not in those its platform makes (environment-variable decryption, network
//! interfaces, event-source polling; Lambda developer guide, "Using source function ARN to
//! control function access behavior"). So one role policy can hold every function's grants,
//! each conditioned on its function's ARN, with platform calls left unconditioned.

use std::sync::Arc;

use crate::model::Conditions;
use crate::usage::{EvidenceMap, PrincipalId, PrincipalUsage, Usage};

pub const SOURCE_FUNCTION_ARN: &str = "lambda:SourceFunctionArn";

/// The condition block of a function's own calls: `ArnEquals` its ARN (escaped), made once and
/// shared by all of its scoped grants ([`crate::usage::Evidence::scoped`]).
pub fn source_function(fn_arn: &str) -> Arc<Conditions> {
    Arc::new(crate::model::condition(
        "ArnEquals",
        SOURCE_FUNCTION_ARN,
        crate::wildcard::escape(fn_arn).into_owned(),
    ))
}

/// Replaces the functions of every role shared by two or more functions with one role principal
/// whose grants are scoped per function. Other principals are kept as they are. Takes the usage:
/// the functions' usage moves under their role (a copy of the whole usage was held beside it).
pub fn scope_shared_roles(mut usage: Usage) -> Usage {
    // the grants are moved as they are in memory: every one must have been read back
    debug_assert!(
        !usage.is_spilled(),
        "scoping a usage whose grants are on disk"
    );
    let shared: Vec<(PrincipalId, Vec<PrincipalId>)> = usage
        .shared_roles()
        .into_iter()
        .map(|(role, fns)| (role, fns.into_iter().map(|(f, _)| f.clone()).collect()))
        .collect();
    for (role_id, fns) in shared {
        let fns: Vec<(PrincipalId, PrincipalUsage)> = fns
            .into_iter()
            .filter_map(|f| usage.principals.remove(&f).map(|p| (f, p)))
            .collect();
        let role_arn = fns
            .iter()
            .find_map(|(_, p)| p.role_arn.clone())
            .unwrap_or_default();
        let mut role = usage
            .principals
            .remove(&role_id)
            .unwrap_or_else(|| PrincipalUsage {
                role_arn: Some(role_arn.clone()),
                arn: Some(role_arn.clone()),
                ..PrincipalUsage::default()
            });
        for (f, p) in fns {
            let fn_arn = p.arn.clone().unwrap_or_default();
            let condition = source_function(&fn_arn);
            role.functions.insert(f.name);
            role.grants.add_all(p.grants.into_iter().map(|(k, ev)| {
                let scoped = ev.scoped(&condition);
                (k, scoped)
            }));
            role.denied.add_all(p.denied);
            role.data_types.extend(p.data_types);
            role.calls += p.calls;
            role.days.merge(&p.days);
        }
        usage.principals.insert(role_id, role);
    }
    usage
}
