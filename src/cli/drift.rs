//! `tightrole drift`: the weekly report. Reads only what is new since the last run (the state
//! file remembers), and compares it with everything before and with the approved baseline.

use std::path::PathBuf;

use clap::{Args as ClapArgs, ValueEnum};

use super::Exit;
use super::input::InputArgs;
use crate::drift::Finding;
use crate::fold::GeneralizeLevel;
use crate::pipeline::{self, drift::DriftInputs};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Markdown,
    Json,
    /// SARIF 2.1.0, for GitHub code scanning (exits 0 on success whatever it finds).
    Sarif,
    /// One self-contained HTML page: findings with their policy lines, graph, daily activity.
    Html,
}

#[derive(Debug, ClapArgs)]
pub struct Args {
    #[command(flatten)]
    pub input: InputArgs,

    /// The policies as last approved (a directory of policy files, as `--current` reads them).
    #[arg(long, value_name = "DIR", help_heading = "Drift")]
    pub baseline: PathBuf,

    /// Remembers what was used and which inputs were read, so the next run reads only new ones.
    #[arg(long, value_name = "FILE", help_heading = "Drift")]
    pub state: Option<PathBuf>,

    /// The policies deployed now, to detect changes made outside review: policy files, an
    /// authorization-details export, or `live` (IAM's GetAccountAuthorizationDetails).
    #[arg(long, value_name = "FILE|DIR|live", help_heading = "Drift")]
    pub current: Option<PathBuf>,

    /// A granted action unused for this long is reported (`90d`, `12w`).
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "90d",
        help_heading = "Drift"
    )]
    pub unused_after: String,

    /// Recompute the state from the trail files it lists instead of trusting it (same result).
    #[arg(long, help_heading = "Drift")]
    pub full: bool,

    #[arg(long, value_enum, default_value_t = Format::Markdown, help_heading = "Output")]
    pub format: Format,

    /// Write the report to FILE, atomically, instead of stdout. The state is saved only once
    /// the report is written.
    #[arg(long, value_name = "FILE", help_heading = "Output")]
    pub out: Option<PathBuf>,

    /// Exit with 10 when the report has findings of this kind (repeatable; not in SARIF mode).
    #[arg(long, value_enum, value_name = "FINDING", help_heading = "Output")]
    pub fail_on: Vec<Finding>,
}

pub fn run(args: Args) -> anyhow::Result<Exit> {
    let opts = args.input.options(GeneralizeLevel::Exact)?;
    let inputs = DriftInputs {
        baseline: args.baseline.clone(),
        current: args.current.as_deref().map(super::input::location),
        state: args.state.clone(),
        unused_after: crate::model::parse_duration(&args.unused_after)?,
        full: args.full,
    };
    pipeline::drift::check_local(&opts)?;
    let current_live = inputs.current.as_ref().is_some_and(|c| c.is_live());
    let live = args.input.live(&opts, current_live)?;
    let run = pipeline::drift::drift(&opts, &inputs, live.as_ref())?;
    eprint!("{}", crate::report::diagnostics_text(&run.diagnostics));
    args.input.print_stats(&run.stats)?;
    if run.period.records == 0 {
        eprintln!(
            "error: no usable CloudTrail record in the {} new input(s) since the last run; nothing to report",
            run.new_inputs
        );
        return Ok(Exit::NoInput);
    }
    let r = &run.report;
    let text = match args.format {
        Format::Markdown => crate::report::drift::markdown(r),
        Format::Json => super::json(&crate::report::drift::output(r))?,
        Format::Sarif => crate::report::sarif::sarif(r),
        Format::Html => crate::report::drift::html(r),
    };
    // The report first, then the state: a report that cannot be written leaves the state as it
    // was, so the next run reports this period again instead of losing its findings.
    let written = match args.out.as_deref() {
        Some(p) => crate::write::atomic_write(p, text.as_bytes()),
        None => super::print_stdout(&text),
    };
    if let Err(e) = written {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            return Err(e.into());
        }
        let to = args
            .out
            .as_ref()
            .map_or("stdout".to_string(), |p| format!("`{}`", p.display()));
        anyhow::bail!(
            "cannot write the report to {to}: {}; the state file was left as it was",
            crate::diag::io_reason(&e)
        );
    }
    if let Some(p) = &args.state {
        pipeline::drift::save_state(&run, p)?;
    }
    let exit = if args.input.strict && run.warnings() > 0 {
        Exit::InputWarnings
    } else {
        Exit::Ok
    };
    if exit != Exit::Ok || args.format == Format::Sarif {
        return Ok(exit);
    }
    let found = args.fail_on.iter().any(|f| r.count(*f) > 0);
    Ok(if found { Exit::Findings } else { Exit::Ok })
}
