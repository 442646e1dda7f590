//! `tightrole pr`: write the proposed policies where the current ones live, and the pull
//! request body that explains the change.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::bail;
use clap::{Args as ClapArgs, ValueEnum};

use super::Exit;
use super::generate::SynthArgs;
use super::input::{InputArgs, is_live};
use crate::catalog::Catalog;
use crate::diff::{DiffOptions, diff};
use crate::escape::terminal;
use crate::identity::{PrincipalKind, role_name};
use crate::report::PrincipalOut;
use crate::synth::scope::SOURCE_FUNCTION_ARN;
use crate::usage::{PrincipalId, PrincipalUsage, Usage};
use crate::write::FileSet;

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
    let body = crate::report::pr::body(&report, &out.principals, &original);
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
            terminal(&p.name),
            terminal(&p.account)
        );
        match args.file_format {
            FileFormat::Terraform => {
                let text = crate::report::iac::terraform(std::slice::from_ref(p))?;
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

#[cfg(test)]
mod tests {
    use crate::identity::Inventory;
    use crate::source::Filters;
    use crate::source::Input;
    use crate::usage::{Usage, collect};

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
                .map(|e| e.seen.count)
                .sum()
        };
        assert_eq!(count(&usage), 3);
        assert_eq!(count(&super::per_file(&usage)), 3);
    }
}
