//! `tightrole pr`: write the proposed policies where the current ones live, and the pull
//! request body that explains the change.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::bail;
use clap::{Args as ClapArgs, ValueEnum};

use super::Exit;
use super::generate::SynthArgs;
use super::input::{InputArgs, is_live};
use crate::catalog::Catalog;
use crate::diff::{DiffClass, DiffOptions, DiffReport, diff};
use crate::graph::{AccessGraph, render};
use crate::identity::{PrincipalKind, role_name};
use crate::report::PrincipalOut;
use crate::synth::scope::SOURCE_FUNCTION_ARN;
use crate::usage::{PrincipalId, PrincipalUsage, Usage};
use crate::write::{FileSet, printable};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FileFormat {
    /// `<role>.json`: IAM policy documents.
    Json,
    /// `<role>.tf`
    Terraform,
    /// `<role>.yaml`: CloudFormation `AWS::IAM::RolePolicy`.
    Cloudformation,
}

#[derive(Debug, ClapArgs)]
pub struct Args {
    #[command(flatten)]
    pub input: InputArgs,

    #[command(flatten)]
    pub synth: SynthArgs,

    /// Where to write the proposed policies: one file per role (`<role>.json`) and per user
    /// (`user/<name>.json`), the layout `--current DIR` reads. Usually the directory that holds
    /// the current policies, so the pull request is a plain `git diff`.
    #[arg(long, value_name = "DIR", help_heading = "Output")]
    pub out: PathBuf,

    /// Where to write the pull request body.
    #[arg(
        long,
        value_name = "FILE",
        default_value = "PR.md",
        help_heading = "Output"
    )]
    pub body: PathBuf,

    #[arg(long, value_enum, default_value_t = FileFormat::Json, help_heading = "Output")]
    pub file_format: FileFormat,
}

/// Every principal grouped by the role (or user) its policy file is for: functions of a role
/// with two or more functions are scoped with `lambda:SourceFunctionArn`.
fn per_file(usage: &Usage) -> Usage {
    let mut fns_per_role: BTreeMap<String, usize> = BTreeMap::new();
    for (id, p) in &usage.principals {
        if let (PrincipalKind::Function, Some(r)) = (id.kind, &p.role_arn) {
            *fns_per_role.entry(r.clone()).or_default() += 1;
        }
    }
    let mut out = Usage {
        principals: BTreeMap::new(),
        ..usage.clone()
    };
    for (id, p) in &usage.principals {
        let (key, scope) = match (id.kind, &p.role_arn) {
            (PrincipalKind::Function | PrincipalKind::Role, Some(r)) => (
                PrincipalId {
                    kind: PrincipalKind::Role,
                    account: id.account.clone(),
                    name: role_name(r).to_string(),
                },
                id.kind == PrincipalKind::Function && fns_per_role.get(r).copied().unwrap_or(0) > 1,
            ),
            _ => (id.clone(), false),
        };
        let entry = out.principals.entry(key).or_insert_with(|| PrincipalUsage {
            role_arn: p.role_arn.clone(),
            arn: if id.kind == PrincipalKind::Function {
                p.role_arn.clone()
            } else {
                p.arn.clone()
            },
            ..PrincipalUsage::default()
        });
        if id.kind == PrincipalKind::Function {
            entry.functions.insert(id.name.clone());
        }
        let fn_arn = p.arn.clone().unwrap_or_default();
        for (k, ev) in &p.grants {
            let ev = if scope {
                ev.scoped("ArnEquals", SOURCE_FUNCTION_ARN, &fn_arn)
            } else {
                ev.clone()
            };
            match entry.grants.get_mut(k) {
                Some(e) => e.merge(&ev),
                None => {
                    entry.grants.insert(k.clone(), ev);
                }
            }
        }
        // Denied calls are counted once: inserted when new, merged when the role has them.
        for (k, ev) in &p.denied {
            match entry.denied.get_mut(k) {
                Some(e) => e.merge(ev),
                None => {
                    entry.denied.insert(k.clone(), ev.clone());
                }
            }
        }
        entry.data_types.extend(p.data_types.iter().cloned());
    }
    out
}

pub fn run(args: Args) -> anyhow::Result<Exit> {
    // The resources stay exact (`InputArgs::key_level`): the body's diff replays every observed
    // call against the current policies, and a folded pattern would not match a narrower grant.
    let Some(current_path) = args.synth.current.clone() else {
        bail!("`pr` needs `--current`: the policies the pull request changes");
    };
    let live = args.input.live(is_live(&current_path))?;
    let mut analysis = args.input.analyze(live.as_ref())?;
    if let Some(exit) = analysis.report_input(&args.input) {
        return Ok(exit);
    }
    let original = analysis.usage.clone();
    analysis.usage = per_file(&analysis.usage);
    let mut synth = args.synth.clone();
    synth.shared_role = super::generate::SharedRole::Split;
    let Some(current) = super::generate::load_synth_current(&synth, live.as_ref())? else {
        bail!("`pr` needs `--current`: the policies the pull request changes");
    };
    let out = super::generate::build(&analysis, &synth, Some(&current))?;
    for d in &current.diagnostics {
        eprintln!("{d}");
    }
    let report = diff(
        &original,
        &current.policies,
        &DiffOptions::default(),
        Catalog::embedded(),
    );
    let body = pr_body(&report, &out.principals, &original);
    let mut files = policy_files(&args, &out.principals)?;
    let policies = files.len();
    files.add(&args.body, body, "the pull request body")?;
    // All or nothing: a failure leaves the policies and the body as they were.
    files.commit()?;
    eprintln!(
        "wrote {policies} policy file(s) under `{}` and the pull request body `{}`",
        args.out.display(),
        args.body.display()
    );
    Ok(analysis.final_exit(&args.input))
}

/// The policy files of every proposal, named by [`crate::write::principal_stems`]: the same
/// role name in two accounts gets two files, and two principals that would share a file are an
/// error.
fn policy_files(args: &Args, principals: &[PrincipalOut]) -> anyhow::Result<FileSet> {
    let with_policy: Vec<&PrincipalOut> =
        principals.iter().filter(|p| p.policy.is_some()).collect();
    let group = |p: &PrincipalOut| {
        if p.kind == PrincipalKind::User {
            "user"
        } else {
            ""
        }
    };
    let keys: Vec<(&str, &str, &str)> = with_policy
        .iter()
        .map(|p| (group(p), p.name.as_str(), p.account.as_str()))
        .collect();
    let stems = crate::write::principal_stems(&keys);
    let mut files = FileSet::new();
    for (p, stem) in with_policy.into_iter().zip(stems) {
        let dir = match group(p) {
            "" => args.out.clone(),
            g => args.out.join(g),
        };
        let owner = format!(
            "{} `{}` of account `{}`",
            p.kind,
            printable(&p.name),
            printable(&p.account)
        );
        match args.file_format {
            FileFormat::Terraform => {
                let text = crate::report::iac::terraform(std::slice::from_ref(p));
                files.add(&dir.join(format!("{stem}.tf")), text, owner)?;
            }
            FileFormat::Cloudformation => {
                let text = crate::report::iac::cloudformation(std::slice::from_ref(p))?;
                files.add(&dir.join(format!("{stem}.yaml")), text, owner)?;
            }
            FileFormat::Json => {
                let docs: Vec<&crate::policy::PolicyDocument> = if p.policies.is_empty() {
                    p.policy.iter().collect()
                } else {
                    p.policies.iter().collect()
                };
                for (i, d) in docs.iter().enumerate() {
                    let name = if i == 0 {
                        format!("{stem}.json")
                    } else {
                        format!("{stem}.{}.json", i + 1)
                    };
                    files.add(&dir.join(name), d.to_json_pretty() + "\n", owner.clone())?;
                }
            }
        }
    }
    Ok(files)
}

fn pr_body(report: &DiffReport, proposals: &[PrincipalOut], usage: &Usage) -> String {
    let mut s = String::from("## Least-privilege policies from CloudTrail\n\n");
    if let Some(w) = &report.window {
        let _ = writeln!(
            s,
            "Proposed by tightrole from the calls seen between {} and {}, against `{}`.\n",
            w.first.format("%Y-%m-%d"),
            w.last.format("%Y-%m-%d"),
            report.current
        );
    }
    let risky = report.risky_removed();
    let _ = writeln!(
        s,
        "**{} risky grant(s) removed**, {} unused permission(s) removed, {} kept because the trail cannot show them unused, {} denied call kind(s) seen.\n",
        risky,
        report.count(DiffClass::Unused),
        report.count(DiffClass::Unobservable),
        report.count(DiffClass::Denied)
    );
    let _ = writeln!(
        s,
        "| role | functions | actions before | after | removed | risky grants removed |\n|---|---|---:|---:|---:|---:|"
    );
    for p in &report.principals {
        let m = &p.summary;
        let _ = writeln!(
            s,
            "| {} {} | {} | {} | {} | {:.0}% | {} |",
            p.kind,
            p.name,
            p.functions.keys().cloned().collect::<Vec<_>>().join(", "),
            m.granted_before,
            m.granted_after,
            m.share_removed * 100.0,
            m.risky_removed.len()
        );
    }
    let kept: Vec<String> = report
        .principals
        .iter()
        .flat_map(|p| {
            p.entries
                .iter()
                .filter(|e| e.class == DiffClass::Unobservable)
                .map(move |e| {
                    format!(
                        "- {} {}: `{}`: {}",
                        p.kind,
                        p.name,
                        e.action,
                        e.reason.clone().unwrap_or_default()
                    )
                })
        })
        .collect();
    if !kept.is_empty() {
        let _ = writeln!(
            s,
            "\n### Kept: permissions this trail cannot show unused\n\n{}",
            kept.join("\n")
        );
    }
    let denied: Vec<String> = report
        .principals
        .iter()
        .flat_map(|p| {
            p.entries
                .iter()
                .filter(|e| e.class == DiffClass::Denied)
                .map(move |e| {
                    format!(
                        "- {} {}: `{}` on {} ({} call(s))",
                        p.kind,
                        p.name,
                        e.action,
                        e.after.join(", "),
                        e.count
                    )
                })
        })
        .collect();
    if !denied.is_empty() {
        let _ = writeln!(
            s,
            "\n### Denied calls seen (not granted)\n\n{}",
            denied.join("\n")
        );
    }
    let changed: BTreeSet<&str> = report
        .principals
        .iter()
        .filter(|p| p.summary.removed > 0 || p.summary.narrowed > 0)
        .map(|p| p.name.as_str())
        .collect();
    let mut graph_usage = usage.clone();
    graph_usage.principals.retain(|id, p| {
        let owner = p
            .role_arn
            .as_deref()
            .map(role_name)
            .unwrap_or(id.name.as_str());
        changed.contains(owner) && id.kind == PrincipalKind::Function
    });
    for p in graph_usage.principals.values_mut() {
        p.grants =
            crate::synth::generalize::generalize_grants(&p.grants, crate::synth::Level::Prefix, 32);
    }
    if !graph_usage.principals.is_empty() {
        let _ = writeln!(
            s,
            "\n### Functions changed\n\n```mermaid\n{}```",
            render::mermaid(&AccessGraph::from_usage(&graph_usage))
        );
    }
    let _ = writeln!(s, "\n### Per role");
    for p in &report.principals {
        let _ = writeln!(
            s,
            "\n<details><summary>{} {}: {} → {} actions</summary>\n",
            p.kind, p.name, p.summary.granted_before, p.summary.granted_after
        );
        let _ = writeln!(s, "| class | action | before | after |\n|---|---|---|---|");
        for e in p.entries.iter().filter(|e| e.class != DiffClass::Unused) {
            let _ = writeln!(
                s,
                "| {} | `{}` | {} | {} |",
                e.class.as_str(),
                e.action,
                cell(&e.before),
                cell(&e.after)
            );
        }
        let mut unused: BTreeMap<&str, usize> = BTreeMap::new();
        for e in p.entries.iter().filter(|e| e.class == DiffClass::Unused) {
            *unused
                .entry(e.action.split(':').next().unwrap_or(""))
                .or_default() += 1;
        }
        for (svc, n) in unused {
            let _ = writeln!(s, "| unused | `{svc}:` {n} action(s) | | removed |");
        }
        if let Some(prop) = proposals.iter().find(|x| x.name == p.name) {
            for g in &prop.generalizations {
                let _ = writeln!(
                    s,
                    "\n`{}` stands for {} observed resource(s).",
                    g.pattern,
                    g.observed_text()
                );
            }
        }
        let _ = writeln!(s, "\n</details>");
    }
    s.push_str("\n---\nGenerated by `tightrole pr`. Review the policy files in this change; `tightrole check --policy FILE` replays the observed calls against any edit.\n");
    s
}

fn cell(v: &[String]) -> String {
    let s = match v.len() {
        0 => String::new(),
        1..=2 => v.join(", "),
        n => format!("{}, … ({n})", v[0]),
    };
    s.replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    use crate::identity::Inventory;
    use crate::source::Input;
    use crate::usage::{Filters, Usage, collect};

    /// Issue #18: a denied call was inserted, then merged into itself, counting twice.
    #[test]
    fn per_file_counts_each_denied_call_once() {
        let dir = tempfile::tempdir().unwrap();
        let rec = |id: &str| {
            serde_json::json!({
                "eventVersion": "1.09", "eventTime": "2026-11-02T10:00:00Z",
                "userIdentity": {"type": "AssumedRole", "accountId": "111122223333",
                    "arn": "arn:aws:sts::111122223333:assumed-role/app-role/s",
                    "sessionContext": {"sessionIssuer": {"type": "Role",
                        "arn": "arn:aws:iam::111122223333:role/app-role", "userName": "app-role"}}},
                "eventSource": "s3.amazonaws.com", "eventName": "DeleteObject",
                "awsRegion": "eu-west-1", "userAgent": "aws-cli/2.15.0",
                "requestParameters": {"bucketName": "b", "key": "k"}, "errorCode": "AccessDenied",
                "eventID": id, "eventType": "AwsApiCall", "recipientAccountId": "111122223333"
            })
        };
        let path = dir.path().join("t.json");
        let records = serde_json::json!({"Records": [rec("a"), rec("b"), rec("c")]});
        std::fs::write(&path, records.to_string()).unwrap();
        let (agg, _, _) = collect(&[Input::File(path)], &Filters::default(), Some(1));
        let usage = Usage::resolve(agg, &Inventory::default());
        let count = |u: &Usage| -> u64 {
            u.principals
                .values()
                .flat_map(|p| p.denied.values())
                .map(|e| e.count)
                .sum()
        };
        assert_eq!(count(&usage), 3);
        assert_eq!(count(&super::per_file(&usage)), 3);
    }
}
