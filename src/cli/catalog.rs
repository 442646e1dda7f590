//! `tightrole catalog coverage` and `tightrole catalog show`.

use anyhow::bail;
use clap::{Args as ClapArgs, Subcommand};

use super::input::{InputArgs, Read, read};
use super::values::TextOrJson as Format;
use super::{Exit, print_stdout};
use crate::catalog::Catalog;
use crate::fold::GeneralizeLevel;
use crate::report::catalog as out;

#[derive(Debug, ClapArgs)]
pub struct Args {
    #[command(subcommand)]
    command: Sub,
}

#[derive(Debug, Subcommand)]
enum Sub {
    /// Per (eventSource, eventName) in the trail: its class, action(s) and count, and the share
    /// mapped or classified.
    Coverage(Box<CoverageArgs>),
    /// An action (`s3:GetObject`) or a service prefix (`s3`): access level, resource types,
    /// condition keys, whether CloudTrail logs it, and the events that map to it.
    Show(ShowArgs),
}

#[derive(Debug, ClapArgs)]
pub struct CoverageArgs {
    #[command(flatten)]
    input: InputArgs,
    #[arg(long, value_enum, default_value_t = Format::Text, help_heading = "Output")]
    format: Format,
}

#[derive(Debug, ClapArgs)]
pub struct ShowArgs {
    /// `prefix:Action` or a service prefix.
    #[arg(value_name = "ACTION|PREFIX")]
    what: String,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

pub fn run(args: Args) -> anyhow::Result<Exit> {
    match args.command {
        Sub::Coverage(a) => coverage(*a),
        Sub::Show(a) => show(a),
    }
}

fn coverage(args: CoverageArgs) -> anyhow::Result<Exit> {
    let Read { analysis, .. } = read!(args.input.read(GeneralizeLevel::Exact, false));
    let cov = out::coverage(&analysis.usage);
    let text = match args.format {
        Format::Json => super::json(&cov)?,
        Format::Text => out::coverage_text(&cov),
    };
    print_stdout(&text)?;
    Ok(args.input.final_exit(&analysis))
}

fn show(args: ShowArgs) -> anyhow::Result<Exit> {
    let catalog = Catalog::embedded();
    let what = args.what.trim();
    let text = if what.contains(':') {
        let Some(a) = out::action_out(catalog, what) else {
            bail!("`{what}` is not an action in the IAM catalog");
        };
        match args.format {
            Format::Json => super::json(&a)?,
            Format::Text => out::action_text(&a),
        }
    } else {
        let Some(s) = out::service_out(catalog, what) else {
            bail!("`{what}` is not a service prefix in the IAM catalog");
        };
        match args.format {
            Format::Json => super::json(&s)?,
            Format::Text => out::service_text(&s),
        }
    };
    print_stdout(&text)?;
    Ok(Exit::Ok)
}
