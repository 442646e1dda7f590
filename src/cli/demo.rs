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

    /// Write the second period instead (the following week: a new action, a denied burst), for
    /// trying `drift`.
    #[arg(long)]
    pub period2: bool,

    /// Write the benchmark trail instead: this many synthetic records over 90 days (56 a file).
    #[arg(long, value_name = "N")]
    pub bench_records: Option<u64>,

    /// Seed of the benchmark trail.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,

    /// The benchmark app: the same whatever N is, or an account that keeps growing.
    #[arg(long, value_enum, default_value = "steady")]
    pub bench_profile: crate::trailgen::BenchProfile,
}

pub fn run(args: Args) -> anyhow::Result<Exit> {
    let files = if let Some(n) = args.bench_records {
        crate::trailgen::write_bench(&args.out, n, args.seed, args.bench_profile)
    } else if args.period2 {
        crate::trailgen::write_demo_period2(&args.out)
    } else {
        crate::trailgen::write_demo(&args.out)
    }
    .with_context(|| format!("cannot write the demo trail under `{}`", args.out.display()))?;
    let (n, out) = (files.len(), args.out.display());
    eprintln!("wrote {n} trail file(s) under `{out}`");
    Ok(Exit::Ok)
}
