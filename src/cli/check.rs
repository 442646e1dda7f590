//! `tightrole check`: would this policy break anything the principals did in the window?

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args as ClapArgs, ValueEnum};
use serde::Serialize;

use super::input::{InputArgs, Read, read};
use super::{Exit, print_stdout};
use crate::escape::terminal as t;
use crate::fold::GeneralizeLevel;
use crate::identity::{PrincipalKind, role_name};
use crate::policy::Decision;
use crate::synth::replay_contexts;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug, ClapArgs)]
pub struct Args {
    #[command(flatten)]
    pub input: InputArgs,

    /// The policy to check: one policy file (applied to every selected principal), a directory
    /// of policy files, or `aws iam get-account-authorization-details` output.
    #[arg(long, value_name = "FILE|DIR", help_heading = "Analysis")]
    pub policy: PathBuf,

    #[arg(long, value_enum, default_value_t = Format::Text, help_heading = "Output")]
    pub format: Format,
}

#[derive(Debug, Serialize)]
pub struct Blocked {
    pub principal: String,
    pub action: String,
    pub resource: String,
    pub decision: Decision,
    pub count: u64,
    pub last_seen: chrono::DateTime<chrono::Utc>,
}

#[derive(Serialize)]
struct CheckOutput {
    schema: &'static str,
    policy: String,
    checked_calls: usize,
    principals_checked: Vec<String>,
    principals_without_policy: Vec<String>,
    blocked: Vec<Blocked>,
    /// Calls denied in the trail that the policy would allow: a widening to review.
    denied_now_allowed: Vec<Blocked>,
}

pub fn run(args: Args) -> anyhow::Result<Exit> {
    let mut diags = Vec::new();
    let policies = crate::policy::current::load(&args.policy, &mut diags)?;
    for d in &diags {
        eprintln!("{d}");
    }
    let Read { analysis, .. } = read!(args.input.read(GeneralizeLevel::Exact, false));
    let mut out = CheckOutput {
        schema: "tightrole/check/v1",
        policy: policies.source.clone(),
        checked_calls: 0,
        principals_checked: Vec::new(),
        principals_without_policy: Vec::new(),
        blocked: Vec::new(),
        denied_now_allowed: Vec::new(),
    };
    for (id, p) in &analysis.usage.principals {
        let label = format!("{} {}", id.kind, id.name);
        let cp = match id.kind {
            PrincipalKind::User => policies.for_user(&id.name),
            PrincipalKind::Function => p
                .role_arn
                .as_deref()
                .and_then(|r| policies.for_role(role_name(r)))
                .or(policies.any.as_ref()),
            _ => policies.for_role(&id.name),
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
                    Some(arn) if ev.service_made == 0 && ev.platform == 0 => {
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
                    action: action.clone(),
                    resource: resource.clone(),
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
                    action: action.clone(),
                    resource: resource.clone(),
                    decision: Decision::Allow,
                    count: ev.seen.count,
                    last_seen: ev.seen.last_seen,
                });
            }
        }
    }
    let text = match args.format {
        Format::Json => serde_json::to_string_pretty(&out).context("cannot render JSON")? + "\n",
        Format::Text => {
            let mut s = String::new();
            for b in &out.blocked {
                let what = match b.decision {
                    Decision::ExplicitDeny => "explicitly denied",
                    Decision::ImplicitDeny => "not allowed",
                    _ => "allowed only under a condition the trail cannot check",
                };
                s.push_str(&format!(
                    "{}: `{}` on `{}` would be {what} ({} call(s), last {})\n",
                    t(&b.principal),
                    t(&b.action),
                    t(&b.resource),
                    b.count,
                    b.last_seen.format("%Y-%m-%dT%H:%M:%SZ")
                ));
            }
            for b in &out.denied_now_allowed {
                s.push_str(&format!(
                    "{}: `{}` on `{}` was denied in the trail and would be allowed ({} call(s), last {})\n",
                    t(&b.principal),
                    t(&b.action),
                    t(&b.resource),
                    b.count,
                    b.last_seen.format("%Y-%m-%dT%H:%M:%SZ")
                ));
            }
            if !out.principals_without_policy.is_empty() {
                s.push_str(&format!(
                    "not checked (no policy for them in `{}`): {}\n",
                    t(&out.policy),
                    t(&out.principals_without_policy.join(", "))
                ));
            }
            s.push_str(&format!(
                "{} observed call kind(s) of {} principal(s) replayed against `{}`: {} would break\n",
                out.checked_calls,
                out.principals_checked.len(),
                t(&out.policy),
                out.blocked.len()
            ));
            s
        }
    };
    print_stdout(&text)?;
    let exit = args.input.final_exit(&analysis);
    if exit != Exit::Ok {
        return Ok(exit);
    }
    Ok(if out.blocked.is_empty() {
        Exit::Ok
    } else {
        Exit::Findings
    })
}
