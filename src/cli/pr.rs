//! `tightrole pr`: write the proposed policies where the current ones live, and the pull
//! request body that explains the change.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{Context as _, bail};
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
                Some(crate::report::iac::terraform(std::slice::from_ref(p))?),
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
    let body = pr_body(&report, &out.principals, &original);
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
