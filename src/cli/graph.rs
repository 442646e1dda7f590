//! `tightrole graph`: the usage graph, and three questions asked of it.

use std::path::PathBuf;

use clap::Args as ClapArgs;

use super::input::{InputArgs, Read, read};
use super::{Exit, print_stdout};
use crate::pipeline::graph::{GraphFormat, GraphOptions, draw};

#[derive(Debug, ClapArgs)]
#[command(mut_arg("principals", |a| a.help("Only principals matching this glob (repeatable; `*` and `?`) by name, role (a function's) or function (a role's), drawn in full")))]
pub struct Args {
    #[command(flatten)]
    pub input: InputArgs,

    #[arg(long, value_enum, help_heading = "Output")]
    pub format: Option<GraphFormat>,

    /// Which principals touch resources matching this pattern (`*orders*`), with which actions.
    #[arg(long, value_name = "RESOURCE-PATTERN", help_heading = "Queries")]
    pub who: Option<String>,

    /// Everything this function can reach today (needs `--current`) against what it used.
    #[arg(
        long,
        value_name = "FUNCTION",
        help_heading = "Queries",
        requires = "current",
        conflicts_with = "principals"
    )]
    pub blast: Option<String>,

    /// Roles shared by several functions, and what each function uses.
    #[arg(long, help_heading = "Queries")]
    pub shared: bool,

    /// Current policies, for `--blast`: policy files, an authorization-details export, or
    /// `live` (IAM's GetAccountAuthorizationDetails).
    #[arg(long, value_name = "FILE|DIR|live", help_heading = "Queries")]
    pub current: Option<PathBuf>,

    /// Resources are drawn as the patterns a policy would use (see `generate --generalize`).
    #[arg(long, value_enum, default_value_t = crate::fold::GeneralizeLevel::Prefix, help_heading = "Output")]
    pub generalize: crate::fold::GeneralizeLevel,
}

pub fn run(mut args: Args) -> anyhow::Result<Exit> {
    // `--principal` here also matches roles and functions: the query applies it, not the read
    let principals = std::mem::take(&mut args.input.principals);
    let blast = args
        .blast
        .zip(args.current.as_deref().map(super::input::location));
    let live_current = blast.as_ref().is_some_and(|(_, c)| c.is_live());
    let Read { live, analysis } = read!(args.input.read(args.generalize, live_current));
    let opts = GraphOptions {
        format: args.format,
        generalize: args.generalize,
        who: args.who,
        shared: args.shared,
        principals,
        blast,
    };
    let drawing = draw(&analysis.usage, &opts, live.as_ref())?;
    for d in &drawing.diagnostics {
        eprintln!("{d}");
    }
    print_stdout(&drawing.text)?;
    if let Some(note) = drawing.left_out {
        eprintln!("note: {note}");
    }
    Ok(args.input.final_exit(&analysis))
}
