//! `tightrole demo-trail`: write the bundled demo trail (a seeded, synthetic serverless shop).

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args as ClapArgs;

use super::Exit;

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// Directory to write the trail into (the S3 layout `AWSLogs/…` is created under it).
    #[arg(long, value_name = "DIR", default_value = "examples/demo-trail")]
    pub out: PathBuf,
}

pub fn run(args: Args) -> anyhow::Result<Exit> {
    let files = crate::trailgen::write_demo(&args.out)
        .with_context(|| format!("cannot write the demo trail under `{}`", args.out.display()))?;
    eprintln!(
        "wrote {} trail file(s) under `{}`",
        files.len(),
        args.out.display()
    );
    Ok(Exit::Ok)
}
