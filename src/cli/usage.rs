//! `tightrole usage`: what each principal did.

use clap::{Args as ClapArgs, ValueEnum};

use super::input::{InputArgs, Read, read};
use super::{Exit, print_stdout};
use crate::fold::GeneralizeLevel;
use crate::report;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A table per principal: action, resource, count, last seen.
    Text,
    /// One versioned document (`tightrole/usage/v1`).
    Json,
}

#[derive(Debug, ClapArgs)]
pub struct Args {
    #[command(flatten)]
    pub input: InputArgs,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text, help_heading = "Output")]
    pub format: Format,
}

pub fn run(args: Args) -> anyhow::Result<Exit> {
    let Read { analysis, .. } = read!(args.input.read(GeneralizeLevel::Exact, false));
    let out = report::usage_output(&analysis.usage);
    let text = match args.format {
        Format::Text => report::usage_text(&out.principals),
        Format::Json => super::json(&out)?,
    };
    print_stdout(&text)?;
    Ok(args.input.final_exit(&analysis))
}
