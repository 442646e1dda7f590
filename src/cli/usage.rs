//! `tightrole usage`: what each principal did.

use anyhow::Context as _;
use clap::{Args as ClapArgs, ValueEnum};
use serde::Serialize;

use super::input::{InputArgs, Read, read};
use super::{Exit, print_stdout};
use crate::fold::GeneralizeLevel;
use crate::model::Window;
use crate::report::{self, PrincipalOut, USAGE_SCHEMA, UnmappedRow};

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

#[derive(Serialize)]
struct UsageOutput {
    schema: &'static str,
    window: Option<Window>,
    principals: Vec<PrincipalOut>,
    unmapped: Vec<UnmappedRow>,
}

pub fn run(args: Args) -> anyhow::Result<Exit> {
    let Read { analysis, .. } = read!(args.input.read(GeneralizeLevel::Exact, false));
    let usage = &analysis.usage;
    let principals: Vec<PrincipalOut> = usage
        .principals
        .iter()
        .map(|(id, p)| PrincipalOut::new(id, p, None))
        .collect();
    match args.format {
        Format::Text => print_stdout(&report::usage_text(&principals))?,
        Format::Json => {
            let out = UsageOutput {
                schema: USAGE_SCHEMA,
                window: usage.window,
                principals,
                unmapped: report::unmapped_rows(usage),
            };
            let mut s = serde_json::to_string_pretty(&out).context("cannot render JSON")?;
            s.push('\n');
            print_stdout(&s)?;
        }
    }
    Ok(args.input.final_exit(&analysis))
}
