//! `tightrole pr`: write the proposed policies where the current ones live, and the pull
//! request body that explains the change.

use std::path::PathBuf;

use anyhow::bail;
use clap::Args as ClapArgs;

use super::Exit;
use super::generate::SynthArgs;
use super::input::{InputArgs, Read, location, read};
use crate::fold::GeneralizeLevel;
use crate::pipeline::{self, pr::PolicyFileFormat};

#[derive(Debug, ClapArgs)]
pub struct Args {
    #[command(flatten)]
    pub input: InputArgs,

    #[command(flatten)]
    pub synth: SynthArgs,

    /// Where to write the proposed policies: one file per role (`<role>.json`) and per user
    /// (`user/<name>.json`), the layout `--current DIR` reads (other kinds in a folder of their
    /// own). Usually the directory that holds the current policies, so the pull request is a
    /// plain `git diff`.
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

    #[arg(long, value_enum, default_value_t = PolicyFileFormat::Json, help_heading = "Output")]
    pub file_format: PolicyFileFormat,
}

pub fn run(mut args: Args) -> anyhow::Result<Exit> {
    args.input.observe = true;
    let Some(current_path) = args.synth.current.clone() else {
        bail!("`pr` needs `--current`: the policies the pull request changes");
    };
    // The resources stay exact: the body's diff replays every observed call.
    let also = location(&current_path).is_live();
    let Read { live, analysis } = read!(args.input.read(GeneralizeLevel::Exact, also));
    let Some(current) = args.synth.load_current(live.as_ref())? else {
        bail!("`pr` needs `--current`: the policies the pull request changes");
    };
    for d in &current.diagnostics {
        eprintln!("{d}");
    }
    let pr = pipeline::pr::pull_request(
        &analysis,
        &args.synth.settings(),
        &current,
        &args.out,
        args.file_format,
        &args.body,
    )?;
    // All or nothing: a failure leaves the policies and the body as they were.
    pr.files.commit()?;
    eprintln!(
        "wrote {} policy file(s) under `{}` and the pull request body `{}`",
        pr.policies,
        args.out.display(),
        args.body.display()
    );
    Ok(args.input.final_exit(&analysis))
}
