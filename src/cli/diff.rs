//! `tightrole diff`: current policies against what the trail shows.

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::{Args as ClapArgs, ValueEnum};

use std::ops::ControlFlow;

use super::input::{InputArgs, location};
use super::{Exit, print_stdout};
use crate::catalog::Catalog;
use crate::diff::{DiffOptions, FailOn, diff};
use crate::fold::GeneralizeLevel;
use crate::report::diff::{Style, markdown, text};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For reading in a terminal (coloured when stdout is one).
    Text,
    /// One versioned document (`tightrole/diff/v2`).
    Json,
    /// Tables for a pull request or a wiki.
    Markdown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Color {
    Auto,
    Always,
    Never,
}

impl Color {
    pub fn enabled(self) -> bool {
        match self {
            Color::Always => true,
            Color::Never => false,
            Color::Auto => {
                std::env::var_os("NO_COLOR").is_none() && std::io::stdout().is_terminal()
            }
        }
    }
}

#[derive(Debug, ClapArgs)]
pub struct Args {
    #[command(flatten)]
    pub input: InputArgs,

    /// Current policies: a directory of policy files, `aws iam get-account-authorization-details`
    /// output, one policy file, or `live` (GetAccountAuthorizationDetails).
    #[arg(long, value_name = "FILE|DIR", help_heading = "Analysis")]
    pub current: PathBuf,

    /// A window shorter than this many days, or a function first seen fewer days before its
    /// end, lowers confidence and is said so.
    #[arg(long, value_name = "DAYS", help_heading = "Analysis")]
    pub min_observed: Option<u32>,

    /// Do not count what the Lambda runtime needs from the functions' configuration (their logs,
    /// event sources, dead-letter queues, …) as required.
    #[arg(long, help_heading = "Analysis")]
    pub no_runtime: bool,

    #[arg(long, value_enum, default_value_t = Format::Text, help_heading = "Output")]
    pub format: Format,

    /// Exit with 10 when the diff has findings of this kind (repeatable).
    #[arg(long, value_enum, value_name = "KIND", help_heading = "Output")]
    pub fail_on: Vec<FailOn>,

    #[arg(long, value_enum, default_value_t = Color::Auto, help_heading = "Output")]
    pub color: Color,
}

pub fn run(args: Args) -> anyhow::Result<Exit> {
    let mut diags = Vec::new();
    let opts = args.input.options(GeneralizeLevel::Exact)?;
    let from = location(&args.current);
    let live = args.input.live(&opts, from.is_live())?;
    let current = crate::pipeline::load_current(&from, live.as_ref(), &mut diags)?;
    eprint!("{}", crate::report::diagnostics_text(&diags));
    let analysis = match args.input.analyze(&opts, live.as_ref())? {
        ControlFlow::Break(exit) => return Ok(exit),
        ControlFlow::Continue(a) => a,
    };
    let report = diff(
        &analysis.usage,
        &current,
        &DiffOptions {
            min_observed_days: args.min_observed,
            runtime: (!args.no_runtime).then(|| analysis.inventory.clone()),
        },
        Catalog::embedded(),
    );
    let out = match args.format {
        Format::Json => super::json(&crate::report::diff::output(&report))?,
        Format::Markdown => markdown(&report),
        Format::Text => text(
            &report,
            Style {
                color: args.color.enabled(),
            },
        ),
    };
    print_stdout(&out)?;
    let exit = args.input.final_exit(&analysis);
    if exit != Exit::Ok {
        return Ok(exit);
    }
    let found = args.fail_on.iter().any(|f| report.has(*f));
    Ok(if found { Exit::Findings } else { Exit::Ok })
}
