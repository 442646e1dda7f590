//! `check`: the observed calls replayed against a given policy. Would it break anything the
//! principals did in the window, and would it allow a call the trail shows denied?

use serde::Serialize;

use crate::identity::{PrincipalKind, role_account, role_name};
use crate::policy::Decision;
use crate::policy::current::CurrentPolicies;
use crate::synth::replay_contexts;
use crate::usage::Usage;

pub const CHECK_SCHEMA: &str = "tightrole/check/v1";

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Blocked {
    pub principal: String,
    pub action: String,
    pub resource: String,
    pub decision: Decision,
    pub count: u64,
    /// `null` when none of the calls had a time.
    pub last_seen: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct CheckOutput {
    pub schema: &'static str,
    pub policy: String,
    pub checked_calls: usize,
    pub principals_checked: Vec<String>,
    pub principals_without_policy: Vec<String>,
    pub blocked: Vec<Blocked>,
    /// Calls denied in the trail that the policy would allow: a widening to review.
    pub denied_now_allowed: Vec<Blocked>,
    /// What the Lambda runtime needs for a function (from its configuration) that the policy
    /// does not allow: applied, it would break the function as surely as a blocked call.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub runtime_missing: Vec<RuntimeGap>,
}

impl CheckOutput {
    /// No observed call is blocked and nothing the runtime needs is missing.
    pub fn passes(&self) -> bool {
        self.blocked.is_empty() && self.runtime_missing.is_empty()
    }
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct RuntimeGap {
    pub principal: String,
    pub action: String,
    pub resource: String,
    /// The configuration that implies it (`LoggingConfig.LogGroup`, …).
    pub field: String,
}

/// Replays every observed call of every principal against the policy that applies to it in
/// `policies` (its role's, its own, or the single policy that applies to all).
/// With `runtime` (the functions' configuration), what the Lambda runtime needs for each function
/// is checked too ([`CheckOutput::runtime_missing`]).
pub fn check(
    usage: &Usage,
    policies: &CurrentPolicies,
    runtime: Option<&crate::identity::Inventory>,
) -> CheckOutput {
    let mut out = CheckOutput {
        schema: CHECK_SCHEMA,
        policy: policies.source.clone(),
        checked_calls: 0,
        principals_checked: Vec::new(),
        principals_without_policy: Vec::new(),
        blocked: Vec::new(),
        denied_now_allowed: Vec::new(),
        runtime_missing: Vec::new(),
    };
    for (id, p) in &usage.principals {
        let label = format!("{} {}", id.kind, id.name);
        let cp = match id.kind {
            PrincipalKind::User => policies.for_user_in(&id.name, &id.account),
            PrincipalKind::Function => p
                .role_arn
                .as_deref()
                .and_then(|r| policies.for_role_in(role_name(r), role_account(r)))
                .or(policies.any.as_ref()),
            _ => policies.for_role_in(&id.name, &id.account),
        };
        let Some(cp) = cp else {
            if !p.grants.is_empty() {
                out.principals_without_policy.push(label);
            }
            continue;
        };
        out.principals_checked.push(label.clone());
        // A function's own calls carry lambda:SourceFunctionArn; its platform's do not.
        let fn_arn = (id.kind == PrincipalKind::Function)
            .then(|| p.arn.clone())
            .flatten();
        for ((action, resource), ev) in &p.grants {
            out.checked_calls += 1;
            let worst = replay_contexts(ev)
                .into_iter()
                .map(|ctx| match &fn_arn {
                    Some(arn) if ev.service_made() == 0 && ev.platform() == 0 => {
                        ctx.with(crate::synth::scope::SOURCE_FUNCTION_ARN, arn.clone())
                    }
                    _ => ctx,
                })
                .map(|ctx| cp.evaluate(action, resource, &ctx))
                .max()
                .unwrap_or(Decision::Allow);
            if worst != Decision::Allow {
                out.blocked.push(Blocked {
                    principal: label.clone(),
                    action: action.to_string(),
                    resource: resource.to_string(),
                    decision: worst,
                    count: ev.seen.count,
                    last_seen: ev.seen.last_seen,
                });
            }
        }
        for ((action, resource), ev) in &p.denied {
            let allowed = replay_contexts(ev)
                .into_iter()
                .any(|ctx| cp.evaluate(action, resource, &ctx) == Decision::Allow);
            if allowed {
                out.denied_now_allowed.push(Blocked {
                    principal: label.clone(),
                    action: action.to_string(),
                    resource: resource.to_string(),
                    decision: Decision::Allow,
                    count: ev.seen.count,
                    last_seen: ev.seen.last_seen,
                });
            }
        }
        if let (Some(inv), PrincipalKind::Function) = (runtime, id.kind) {
            let f = inv.functions.get(&id.name);
            let reqs = crate::runtime::requirements(&crate::runtime::Function {
                name: &id.name,
                arn: f.and_then(|f| f.arn.as_deref()).or(p.arn.as_deref()),
                account: &id.account,
                config: f.map(|f| &f.config),
            });
            for r in reqs {
                for action in &r.actions {
                    let sample = crate::diff::sample_resource(&r.resource);
                    let ctx = crate::policy::Context::default().with(
                        crate::synth::scope::SOURCE_FUNCTION_ARN,
                        p.arn.clone().unwrap_or_default(),
                    );
                    if cp.evaluate(action, &sample, &ctx) != Decision::Allow {
                        out.runtime_missing.push(RuntimeGap {
                            principal: label.clone(),
                            action: action.clone(),
                            resource: r.resource.clone(),
                            field: r.field.clone(),
                        });
                    }
                }
            }
        }
    }
    out
}
