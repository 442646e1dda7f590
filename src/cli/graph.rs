//! `tightrole graph`: the usage graph, and three questions asked of it.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{Context as _, bail};
use clap::{Args as ClapArgs, ValueEnum};
use serde::Serialize;

use super::input::{InputArgs, Read, read};
use super::{Exit, print_stdout};
use crate::catalog::Catalog;
use crate::escape::terminal as t;
use crate::graph::{AccessGraph, render};
use crate::identity::{PrincipalKind, role_name};
use crate::usage::Usage;
use crate::wildcard::matches;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A readable listing (the default for `--who`, `--blast` and `--shared`).
    Text,
    /// Graphviz DOT.
    Dot,
    /// A Mermaid flowchart that renders on GitHub.
    Mermaid,
    /// Nodes and edges with their evidence (`tightrole/graph/v1`).
    Json,
}

#[derive(Debug, ClapArgs)]
pub struct Args {
    #[command(flatten)]
    pub input: InputArgs,

    #[arg(long, value_enum, help_heading = "Output")]
    pub format: Option<Format>,

    /// Which principals touch resources matching this pattern (`*orders*`), with which actions.
    #[arg(long, value_name = "RESOURCE-PATTERN", help_heading = "Queries")]
    pub who: Option<String>,

    /// Everything this function can reach today (needs `--current`) against what it used.
    #[arg(
        long,
        value_name = "FUNCTION",
        help_heading = "Queries",
        requires = "current"
    )]
    pub blast: Option<String>,

    /// Roles shared by several functions, and what each function uses.
    #[arg(long, help_heading = "Queries")]
    pub shared: bool,

    /// Current policies, for `--blast`.
    #[arg(long, value_name = "FILE|DIR", help_heading = "Queries")]
    pub current: Option<PathBuf>,

    /// Resources are drawn as the patterns a policy would use (see `generate --generalize`).
    #[arg(long, value_enum, default_value_t = crate::fold::GeneralizeLevel::Prefix, help_heading = "Output")]
    pub generalize: crate::fold::GeneralizeLevel,
}

pub fn run(args: Args) -> anyhow::Result<Exit> {
    let Read { analysis, .. } = read!(args.input.read(args.generalize, false));
    let mut usage = analysis.usage.clone();
    for p in usage.principals.values_mut() {
        p.grants = crate::synth::generalize::generalize_grants(&p.grants, args.generalize, 32);
    }
    let query = args.who.is_some() || args.blast.is_some() || args.shared;
    let format = args
        .format
        .unwrap_or(if query { Format::Text } else { Format::Mermaid });
    if let Some(fname) = &args.blast {
        let text = blast(&usage, fname, args.current.as_deref(), format)?;
        print_stdout(&text)?;
        return Ok(args.input.final_exit(&analysis));
    }
    if let Some(pattern) = &args.who {
        for p in usage.principals.values_mut() {
            p.grants.retain(|(_, r), _| matches(pattern, r, false));
        }
        usage.principals.retain(|_, p| !p.grants.is_empty());
    }
    if args.shared {
        let shared = shared_roles(&usage);
        usage.principals.retain(|id, p| {
            id.kind == PrincipalKind::Function
                && p.role_arn.as_ref().is_some_and(|r| shared.contains_key(r))
        });
    }
    let g = AccessGraph::from_usage(&usage);
    let text = match format {
        Format::Dot => render::dot(&g),
        Format::Mermaid => render::mermaid(&g),
        Format::Json => render::json(&g),
        Format::Text => listing(&usage, args.shared),
    };
    print_stdout(&text)?;
    Ok(args.input.final_exit(&analysis))
}

/// Role ARN → the functions running as it, for roles with two or more.
fn shared_roles(usage: &Usage) -> BTreeMap<String, BTreeSet<String>> {
    let mut m: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (id, p) in &usage.principals {
        if let (PrincipalKind::Function, Some(r)) = (id.kind, &p.role_arn) {
            m.entry(r.clone()).or_default().insert(id.name.clone());
        }
    }
    m.retain(|_, f| f.len() > 1);
    m
}

fn listing(usage: &Usage, by_role: bool) -> String {
    let mut s = String::new();
    let mut groups: BTreeMap<
        String,
        Vec<(&crate::usage::PrincipalId, &crate::usage::PrincipalUsage)>,
    > = BTreeMap::new();
    for (id, p) in &usage.principals {
        let key = if by_role {
            format!(
                "role {}",
                p.role_arn.as_deref().map(role_name).unwrap_or("?")
            )
        } else {
            String::new()
        };
        groups.entry(key).or_default().push((id, p));
    }
    for (group, members) in groups {
        if !group.is_empty() {
            let names: Vec<&str> = members.iter().map(|(id, _)| id.name.as_str()).collect();
            let _ = writeln!(
                s,
                "{} is shared by {} functions: {}",
                t(&group),
                names.len(),
                t(&names.join(", "))
            );
        }
        for (id, p) in members {
            let _ = writeln!(
                s,
                "{}{} {}",
                if group.is_empty() { "" } else { "  " },
                id.kind,
                t(&id.name)
            );
            let mut per_resource: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
            for (a, r) in p.grants.keys() {
                per_resource.entry(r).or_default().push(a);
            }
            for (r, actions) in per_resource {
                let _ = writeln!(
                    s,
                    "{}  {}: {}",
                    if group.is_empty() { "" } else { "  " },
                    t(r),
                    t(&actions.join(", "))
                );
            }
        }
    }
    if s.is_empty() {
        s.push_str("nothing matched\n");
    }
    s
}

#[derive(Serialize)]
struct BlastRow {
    action: String,
    granted_on: Vec<String>,
    /// `used` by this function, `used-by-role` (other functions or sessions of its role), `unused`.
    status: &'static str,
    count: u64,
}

#[derive(Serialize)]
struct BlastOutput {
    schema: &'static str,
    function: String,
    role: String,
    granted: usize,
    used: usize,
    rows: Vec<BlastRow>,
}

fn blast(
    usage: &Usage,
    fname: &str,
    current: Option<&std::path::Path>,
    format: Format,
) -> anyhow::Result<String> {
    let Some((_, f)) = usage
        .principals
        .iter()
        .find(|(id, _)| id.kind == PrincipalKind::Function && id.name == fname)
    else {
        bail!("no function `{fname}` in the trail");
    };
    let Some(role_arn) = &f.role_arn else {
        bail!("function `{fname}` has no known role");
    };
    let role = role_name(role_arn).to_string();
    let Some(path) = current else {
        bail!("`--blast` needs `--current`");
    };
    let mut diags = Vec::new();
    let cur = crate::policy::current::load(path, &mut diags)?;
    for d in &diags {
        eprintln!("{d}");
    }
    let Some(cp) = cur.for_role(&role) else {
        bail!(
            "no current policy for role `{role}` in `{}`",
            path.display()
        );
    };
    let granted = crate::policy::expand::granted(
        cp.policies.iter().map(|p| (p.source.as_str(), &p.document)),
        Catalog::embedded(),
    );
    let mine: BTreeMap<&str, u64> = f.grants.iter().fold(BTreeMap::new(), |mut m, ((a, _), e)| {
        *m.entry(a.as_str()).or_default() += e.seen.count;
        m
    });
    let roles: BTreeSet<&str> = usage
        .principals
        .values()
        .filter(|p| p.role_arn.as_deref() == Some(role_arn.as_str()))
        .flat_map(|p| p.grants.keys().map(|(a, _)| a.as_str()))
        .collect();
    let rows: Vec<BlastRow> = granted
        .iter()
        .map(|(a, g)| BlastRow {
            action: a.clone(),
            granted_on: g.resources.iter().cloned().collect(),
            status: if mine.contains_key(a.as_str()) {
                "used"
            } else if roles.contains(a.as_str()) {
                "used-by-role"
            } else {
                "unused"
            },
            count: mine.get(a.as_str()).copied().unwrap_or(0),
        })
        .collect();
    let out = BlastOutput {
        schema: "tightrole/blast/v1",
        function: fname.to_string(),
        role,
        granted: rows.len(),
        used: rows.iter().filter(|r| r.status == "used").count(),
        rows,
    };
    Ok(match format {
        Format::Json => serde_json::to_string_pretty(&out).context("cannot render JSON")? + "\n",
        _ => {
            let mut s = format!(
                "function {} (role {}) can reach {} action(s) today and used {}:\n",
                t(&out.function),
                t(&out.role),
                out.granted,
                out.used
            );
            for status in ["used", "used-by-role", "unused"] {
                let rows: Vec<&BlastRow> = out.rows.iter().filter(|r| r.status == status).collect();
                if rows.is_empty() {
                    continue;
                }
                let _ = writeln!(s, "  {status} ({}):", rows.len());
                for r in rows
                    .iter()
                    .take(if status == "unused" { 25 } else { usize::MAX })
                {
                    let count = if r.count > 0 {
                        format!(" ({} calls)", r.count)
                    } else {
                        String::new()
                    };
                    let _ = writeln!(
                        s,
                        "    {} on {}{count}",
                        t(&r.action),
                        t(&r.granted_on.join(", "))
                    );
                }
                if status == "unused" && rows.len() > 25 {
                    let _ = writeln!(s, "    … {} more", rows.len() - 25);
                }
            }
            s
        }
    })
}
