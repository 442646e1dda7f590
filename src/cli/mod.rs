//! The command line: clap definitions, a file per subcommand. The only place that prints, but
//! for the read's progress bar on a terminal's stderr (`usage::progress`).

mod athena;
mod catalog;
mod check;
mod demo;
mod diff;
mod drift;
mod exit;
mod explain;
mod generate;
mod graph;
mod input;
mod meta;
mod pr;
mod usage;
mod values;

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use exit::Exit;

#[derive(Debug, Parser)]
#[command(
    name = "tightrole",
    version,
    about = "Least-privilege IAM policies for every Lambda function, role and user, from what CloudTrail shows they did",
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print the least-privilege policy of every principal in the trail.
    Generate(generate::Args),
    /// Print what each principal did: action, resource, count, last seen.
    Usage(usage::Args),
    /// Compare current policies with what the trail shows: used, unused, unobservable, missing,
    /// denied, and the risk of each grant.
    Diff(diff::Args),
    /// The usage graph (function → role → action → resource) as DOT, Mermaid or JSON, and
    /// `--who`, `--blast`, `--shared` queries.
    Graph(graph::Args),
    /// Write the proposed policies over the current ones (one file per role) and a pull
    /// request body.
    Pr(pr::Args),
    /// The weekly drift report: newly used, newly unused, denied spikes, policy drift.
    Drift(drift::Args),
    /// Why each grant of a principal is there: the calls, the generalization, what was kept.
    Explain(explain::Args),
    /// Replay the observed calls against a policy: would it break anything?
    Check(check::Args),
    /// Inspect the mapping: coverage of a trail, or what the catalog says of an action.
    Catalog(catalog::Args),
    /// Write the bundled demo trail: a seeded, synthetic serverless shop.
    DemoTrail(demo::Args),
    /// Push the aggregation down to Amazon Athena: the CloudTrail table's DDL.
    Athena(athena::Args),
    /// Print the JSON Schema of a JSON output, or write them all.
    Schema(meta::SchemaArgs),
    /// Print a shell's completion script (`tightrole completions bash > …`).
    Completions(meta::CompletionsArgs),
    /// Print the man page, or write a page per command with `--out`.
    Man(meta::ManArgs),
}

/// Parses the command line, runs it, and maps the outcome to an exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                Exit::Usage.code()
            } else {
                0
            });
        }
    };
    let result = match cli.command {
        Command::Generate(a) => generate::run(a),
        Command::Usage(a) => usage::run(a),
        Command::DemoTrail(a) => demo::run(a),
        Command::Catalog(a) => catalog::run(a),
        Command::Diff(a) => diff::run(a),
        Command::Check(a) => check::run(a),
        Command::Explain(a) => explain::run(a),
        Command::Graph(a) => graph::run(a),
        Command::Pr(a) => pr::run(a),
        Command::Drift(a) => drift::run(a),
        Command::Athena(a) => athena::run(a),
        Command::Schema(a) => meta::schema(a),
        Command::Completions(a) => meta::completions(a),
        Command::Man(a) => meta::man(a),
    };
    match result {
        Ok(exit) => ExitCode::from(exit.code()),
        Err(e) => {
            if crate::pipeline::is_broken_pipe(e.as_ref()) {
                return ExitCode::SUCCESS;
            }
            let (msg, help) = crate::pipeline::error_text(e.as_ref());
            eprintln!("{}", crate::escape::terminal(&msg));
            if let Some(help) = help {
                eprintln!("help: {}", crate::escape::terminal(help));
            }
            ExitCode::from(Exit::Failure.code())
        }
    }
}

/// A value as pretty JSON with a final newline.
fn json<T: serde::Serialize + ?Sized>(value: &T) -> anyhow::Result<String> {
    Ok(serde_json::to_string_pretty(value)
        .map_err(|e| anyhow::anyhow!("cannot render JSON: {e}"))?
        + "\n")
}

/// Writes to stdout; a closed pipe is not an error the user needs to see.
fn print_stdout(text: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()
}
