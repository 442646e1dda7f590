//! `tightrole generate`: one least-privilege policy per principal.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use clap::{Args as ClapArgs, ValueEnum};

use super::input::InputArgs;
use super::{Exit, print_stdout};
use crate::catalog::Catalog;
use crate::graph::AccessGraph;
use crate::report::{self, GENERATE_SCHEMA, GenerateOutput, PrincipalOut, Summary};
use crate::synth::{replay, synthesize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Each principal's policy with its flags, for reading.
    Text,
    /// One versioned document (`tightrole/generate/v1`), see docs/formats/generate-json.md.
    Json,
}

#[derive(Debug, ClapArgs)]
pub struct Args {
    #[command(flatten)]
    pub input: InputArgs,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text, help_heading = "Output")]
    pub format: Format,

    /// Also write one policy file per principal: DIR/<kind>/<name>.json.
    #[arg(long, value_name = "DIR", help_heading = "Output")]
    pub out: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<Exit> {
    let analysis = args.input.analyze()?;
    if let Some(exit) = analysis.report_input(&args.input) {
        return Ok(exit);
    }
    let catalog = Catalog::embedded();
    let usage = &analysis.usage;
    let mut principals = Vec::new();
    for (id, p) in &usage.principals {
        let policy = if p.grants.is_empty() {
            None
        } else {
            let policy = synthesize(&p.grants, catalog);
            let failures = replay(&policy, p);
            if let Some(f) = failures.first() {
                bail!(
                    "internal error: replay of {} `{}` failed: {f}; no policy was written",
                    id.kind,
                    id.name
                );
            }
            Some(policy)
        };
        principals.push(PrincipalOut::new(id, p, policy));
    }
    let graph = AccessGraph::from_usage(usage);
    let unmapped = report::unmapped_rows(usage);
    let out = GenerateOutput {
        schema: GENERATE_SCHEMA,
        catalog: catalog.provenance.catalog.clone(),
        window: report::window(usage),
        summary: Summary {
            files: analysis.stats.files,
            records: analysis.stats.records,
            records_used: usage.records,
            records_without_principal: usage.no_principal,
            principals: principals.len(),
            unmapped_event_kinds: unmapped.len(),
            graph_nodes: graph.node_count(),
            graph_edges: graph.edge_count(),
        },
        principals,
        unmapped,
        diagnostics: analysis.diagnostics.clone(),
    };
    if let Some(dir) = &args.out {
        write_policies(dir, &out.principals)?;
    }
    match args.format {
        Format::Json => {
            let mut s = serde_json::to_string_pretty(&out).context("cannot render JSON")?;
            s.push('\n');
            print_stdout(&s)?;
        }
        Format::Text => print_stdout(&report::generate_text(&out))?,
    }
    Ok(analysis.final_exit(&args.input))
}

/// A file name from a principal name: letters, digits, `-`, `_`, `.`, `@`, `+`, `=`, `,`; the
/// rest becomes `_`.
fn file_stem(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.@+=,".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Writes DIR/<kind>/<name>.json for every principal with a policy, each atomically. When two
/// principals of one kind share a name across accounts, the account is added.
pub fn write_policies(dir: &Path, principals: &[PrincipalOut]) -> anyhow::Result<()> {
    let mut names: BTreeMap<(String, String), usize> = BTreeMap::new();
    for p in principals.iter().filter(|p| p.policy.is_some()) {
        *names
            .entry((p.kind.to_string(), p.name.clone()))
            .or_default() += 1;
    }
    for p in principals {
        let Some(policy) = &p.policy else { continue };
        let stem = file_stem(&p.name);
        let file = if names
            .get(&(p.kind.to_string(), p.name.clone()))
            .copied()
            .unwrap_or(0)
            > 1
        {
            format!("{stem}@{}.json", p.account)
        } else {
            format!("{stem}.json")
        };
        let path = dir.join(p.kind.as_str()).join(file);
        let mut text = policy.to_json_pretty();
        text.push('\n');
        crate::write::atomic_write(&path, text.as_bytes())
            .with_context(|| format!("cannot write `{}`", path.display()))?;
    }
    Ok(())
}
