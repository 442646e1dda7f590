//! `tightrole explain PRINCIPAL [ACTION] --trail PATH…`: why each grant is there.

use std::path::PathBuf;

use anyhow::bail;
use clap::Args as ClapArgs;

use super::generate::SynthArgs;
use super::input::{AthenaArgs, AwsArgs, InputArgs, Read, WindowArgs, read};
use super::{Exit, print_stdout};

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// The principal (function, role or user name; a glob).
    pub principal: String,

    /// Only this action (`s3:GetObject`; a glob).
    pub action: Option<String>,

    /// Trail files or directories.
    #[arg(
        long = "trail",
        value_name = "PATH",
        required_unless_present = "athena"
    )]
    pub trail: Vec<String>,

    /// Functions and their configuration (repeatable), as for `generate --functions`.
    #[arg(long, value_name = "FILE|DIR|live")]
    pub functions: Vec<PathBuf>,

    #[command(flatten)]
    pub window: WindowArgs,

    #[command(flatten)]
    pub synth: SynthArgs,

    #[command(flatten)]
    pub aws: AwsArgs,

    #[command(flatten)]
    pub athena: AthenaArgs,
}

pub fn run(args: Args) -> anyhow::Result<Exit> {
    let input = InputArgs {
        paths: args.trail.clone(),
        window: args.window.clone(),
        principals: vec![args.principal.clone()],
        functions: args.functions.clone(),
        threads: None,
        max_file_size: crate::source::DEFAULT_MAX_FILE_SIZE,
        spill_after: crate::usage::SPILL_AFTER,
        keep_spilled: true,
        observe: args.synth.current.is_some(),
        strict: false,
        stats: None,
        lookup_events: false,
        aws: args.aws.clone(),
        athena: args.athena.clone(),
    };
    let Read { live, analysis } =
        read!(input.read(args.synth.generalize, args.synth.current_is_live()));
    let current = args.synth.load_current(live.as_ref())?;
    let out = crate::pipeline::generate(analysis, &args.synth.settings(), current.as_ref())?;
    if out.principals.is_empty() {
        bail!(
            "no principal named `{}` in the records read (within the filters)",
            args.principal
        );
    }
    print_stdout(&crate::report::explain::explain_text(
        &out,
        args.action.as_deref(),
    ))?;
    Ok(Exit::Ok)
}
