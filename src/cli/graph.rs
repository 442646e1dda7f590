//! `tightrole graph`: the usage graph, and three questions asked of it.

use std::path::PathBuf;

use anyhow::bail;
use clap::{Args as ClapArgs, ValueEnum};

use super::input::{InputArgs, Read, read};
use super::{Exit, print_stdout};
use crate::graph::{AccessGraph, query};
use crate::report;
use crate::report::graph::render;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A readable listing (the default for `--who`, `--blast` and `--shared`).
    Text,
    /// Graphviz DOT.
    Dot,
    /// A Mermaid flowchart that renders on GitHub.
    Mermaid,
    /// Nodes and edges with their evidence (`tightrole/graph/v2`).
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
        let Some(path) = &args.current else {
            bail!("`--blast` needs `--current`");
        };
        let mut diags = Vec::new();
        let current = crate::policy::current::load(path, &mut diags)?;
        for d in &diags {
            eprintln!("{d}");
        }
        let out = query::blast(&usage, fname, &current)?;
        let text = match format {
            Format::Json => super::json(&out)?,
            _ => report::graph::blast_text(&out),
        };
        print_stdout(&text)?;
        return Ok(args.input.final_exit(&analysis));
    }
    if let Some(pattern) = &args.who {
        query::who(&mut usage, pattern);
    }
    if args.shared {
        query::shared(&mut usage);
    }
    let g = AccessGraph::from_usage(&usage);
    let text = match format {
        Format::Dot => render::dot(&g),
        Format::Mermaid => render::mermaid(&g),
        Format::Json => render::json(&g)?,
        Format::Text => report::graph::listing(&usage, args.shared),
    };
    print_stdout(&text)?;
    Ok(args.input.final_exit(&analysis))
}
