//! `tightrole pr`: write the proposed policies where the current ones live, and the pull
//! request body that explains the change.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context as _, bail};
use clap::{Args as ClapArgs, ValueEnum};

use super::Exit;
use super::generate::SynthArgs;
use super::input::{InputArgs, is_live};
use crate::catalog::Catalog;
use crate::diff::{DiffOptions, diff};
use crate::identity::{PrincipalKind, role_name};
use crate::synth::scope::SOURCE_FUNCTION_ARN;
use crate::usage::{PrincipalId, PrincipalUsage, Usage};

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
        for (k, ev) in &p.denied {
            entry
                .denied
                .entry(k.clone())
                .or_insert_with(|| ev.clone())
                .merge(ev);
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
    let mut written = Vec::new();
    for p in &out.principals {
        if p.policy.is_none() {
            continue;
        }
        let (ext, text) = match args.file_format {
            FileFormat::Json => ("json", None),
            FileFormat::Terraform => (
                "tf",
                Some(crate::report::iac::terraform(std::slice::from_ref(p))),
            ),
            FileFormat::Cloudformation => (
                "yaml",
                Some(crate::report::iac::cloudformation(std::slice::from_ref(p))?),
            ),
        };
        let dir = if p.kind == PrincipalKind::User {
            args.out.join("user")
        } else {
            args.out.clone()
        };
        let docs: Vec<&crate::policy::PolicyDocument> = if p.policies.is_empty() {
            p.policy.iter().collect()
        } else {
            p.policies.iter().collect()
        };
        match text {
            Some(t) => {
                let path = dir.join(format!("{}.{ext}", p.name));
                crate::write::atomic_write(&path, t.as_bytes())
                    .with_context(|| format!("cannot write `{}`", path.display()))?;
                written.push(path);
            }
            None => {
                for (i, d) in docs.iter().enumerate() {
                    let name = if i == 0 {
                        format!("{}.json", p.name)
                    } else {
                        format!("{}.{}.json", p.name, i + 1)
                    };
                    let path = dir.join(name);
                    crate::write::atomic_write(&path, (d.to_json_pretty() + "\n").as_bytes())
                        .with_context(|| format!("cannot write `{}`", path.display()))?;
                    written.push(path);
                }
            }
        }
    }
    let body = crate::report::pr::body(&report, &out.principals, &original);
    crate::write::atomic_write(&args.body, body.as_bytes())
        .with_context(|| format!("cannot write `{}`", args.body.display()))?;
    eprintln!(
        "wrote {} policy file(s) under `{}` and the pull request body `{}`",
        written.len(),
        args.out.display(),
        args.body.display()
    );
    Ok(analysis.final_exit(&args.input))
}
