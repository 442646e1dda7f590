//! `tightrole check`: would this policy break anything the principals did in the window?

use std::path::PathBuf;

use clap::Args as ClapArgs;

use super::input::{InputArgs, Read, read};
use super::values::TextOrJson as Format;
use super::{Exit, print_stdout};
use crate::fold::GeneralizeLevel;

#[derive(Debug, ClapArgs)]
pub struct Args {
    #[command(flatten)]
    pub input: InputArgs,

    /// The policy to check: one policy file (applied to every selected principal), a directory
    /// of policy files, or `aws iam get-account-authorization-details` output.
    #[arg(long, value_name = "FILE|DIR", help_heading = "Analysis")]
    pub policy: PathBuf,

    /// Do not check what the Lambda runtime needs from the functions' configuration.
    #[arg(long, help_heading = "Analysis")]
    pub no_runtime: bool,

    #[arg(long, value_enum, default_value_t = Format::Text, help_heading = "Output")]
    pub format: Format,
}

pub fn run(args: Args) -> anyhow::Result<Exit> {
    let mut diags = Vec::new();
    let policies = crate::policy::current::load(&args.policy, &mut diags)?;
    eprint!("{}", crate::report::diagnostics_text(&diags));
    let Read { analysis, .. } = read!(args.input.read(GeneralizeLevel::Exact, false));
    let runtime = (!args.no_runtime).then_some(&analysis.inventory);
    let out = crate::diff::check::check(&analysis.usage, &policies, runtime);
    let text = match args.format {
        Format::Json => super::json(&out)?,
        Format::Text => crate::report::check::check_text(&out),
    };
    print_stdout(&text)?;
    let exit = args.input.final_exit(&analysis);
    if exit != Exit::Ok {
        return Ok(exit);
    }
    Ok(if out.passes() {
        Exit::Ok
    } else {
        Exit::Findings
    })
}
