//! `tightrole drift`: the weekly report. Reads only what is new since the last run (the state
//! file remembers), and compares it with everything before and with the approved baseline.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use chrono::Duration;
use clap::{Args as ClapArgs, ValueEnum};

use super::Exit;
use super::input::InputArgs;
use crate::drift::{DriftOptions, Finding, ReadFile, State, report};
use crate::identity::{InventoryFunction, PrincipalKind, role_name};
use crate::source::Input;
use crate::usage::{Usage, collect};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Markdown,
    Json,
    /// SARIF 2.1.0, for GitHub code scanning (exits 0 on success whatever it finds).
    Sarif,
    /// One self-contained HTML file with a graph and sortable tables.
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

    /// The policies deployed now, to detect changes made outside review.
    #[arg(long, value_name = "FILE|DIR", help_heading = "Drift")]
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

fn file_id(i: &Input) -> Option<(String, ReadFile)> {
    let Input::File(p) = i else { return None };
    let m = std::fs::metadata(p).ok()?;
    let modified = m
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs() as i64);
    Some((
        p.display().to_string(),
        ReadFile {
            size: m.len(),
            modified,
        },
    ))
}

/// The report to `--out` (atomically) or to stdout.
fn write_report(out: Option<&Path>, text: &str) -> std::io::Result<()> {
    match out {
        Some(p) => crate::write::atomic_write(p, text.as_bytes()),
        None => {
            use std::io::Write as _;
            let mut w = std::io::stdout().lock();
            w.write_all(text.as_bytes())?;
            w.flush()
        }
    }
}

fn parse_duration(s: &str) -> anyhow::Result<Duration> {
    let (n, unit) = s.split_at(s.char_indices().last().map_or(0, |(i, _)| i));
    let n: i64 = n
        .parse()
        .with_context(|| format!("`{s}` is not a duration: use `90d`, `12w` or `48h`"))?;
    let d = match unit {
        "h" => Duration::try_hours(n),
        "d" => Duration::try_days(n),
        "w" => Duration::try_weeks(n),
        _ => None,
    };
    d.with_context(|| format!("`{s}` is not a duration: use `90d`, `12w` or `48h`"))
}

pub fn run(args: Args) -> anyhow::Result<Exit> {
    if args.input.lookup_events
        || args.input.athena.table.is_some()
        || args.input.paths.iter().any(|p| p.starts_with("s3://"))
    {
        anyhow::bail!(
            "`drift` reads local trail files: its state remembers which files it has read. Sync the bucket first (`aws s3 sync s3://BUCKET/AWSLogs/ trail/`), then run `drift trail/`"
        );
    }
    let unused_after = parse_duration(&args.unused_after)?;
    let mut diags = Vec::new();
    let baseline = crate::policy::current::load(&args.baseline, &mut diags)?;
    let current = match &args.current {
        Some(p) => Some(crate::policy::current::load(p, &mut diags)?),
        None => None,
    };
    let stored = match &args.state {
        Some(p) => State::load(p)?,
        None => State::new(),
    };
    let (inputs, discover_diags) = crate::source::discover(&args.input.paths);
    diags.extend(discover_diags);
    let mut filters = args.input.filters()?;
    let live = args.input.live(false)?;
    let mut inventory = args.input.inventory(live.as_ref())?;
    let listed: BTreeSet<String> = inventory.functions.keys().cloned().collect();
    // Functions known from earlier periods stay functions.
    for (k, role) in &stored.roles {
        if let Some(f) = k.strip_prefix("function ") {
            inventory
                .functions
                .entry(f.to_string())
                .or_insert_with(|| InventoryFunction {
                    name: f.to_string(),
                    arn: None,
                    role: Some(role.clone()),
                });
        }
    }
    filters.functions = inventory.functions.keys().cloned().collect();
    if let Some(n) = args.input.threads {
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global();
    }
    let is_read = |i: &Input| file_id(i).is_some_and(|(p, id)| stored.files.get(&p) == Some(&id));
    let (old, new): (Vec<Input>, Vec<Input>) = inputs.into_iter().partition(|i| is_read(i));
    let analyze = |inputs: &[Input], diags: &mut Vec<crate::diag::Diagnostic>| -> Usage {
        let (agg, _, d) = collect(inputs, &filters, args.input.threads);
        diags.extend(d);
        let mut u = Usage::resolve(agg, &inventory);
        u.retain_principals(&args.input.principals);
        u
    };
    let before = if args.full {
        let mut s = State::new();
        let u = analyze(&old, &mut diags);
        s.absorb(&u);
        s.files = old.iter().filter_map(file_id).collect();
        s
    } else {
        stored.clone()
    };
    let period = analyze(&new, &mut diags);
    super::input::print_diagnostics(&diags);
    if period.records == 0 {
        eprintln!(
            "error: no usable CloudTrail record in the {} new input(s) since the last run; nothing to report",
            new.len()
        );
        return Ok(Exit::NoInput);
    }
    let mut after = before.clone();
    after.absorb(&period);
    after.files.extend(new.iter().filter_map(file_id));
    let opts = DriftOptions {
        unused_after,
        inventory: listed,
    };
    let r = report(
        &before,
        &after,
        &period,
        &baseline,
        current.as_ref(),
        &opts,
        (new.len() as u64, old.len() as u64),
    );
    let text = match args.format {
        Format::Markdown => crate::report::drift::markdown(&r),
        Format::Json => serde_json::to_string_pretty(&r).context("cannot render JSON")? + "\n",
        Format::Sarif => crate::report::drift::sarif(&r),
        Format::Html => {
            // principal → the roles it runs as and the findings it has
            let mut g: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for (id, p) in &period.principals {
                let e = g.entry(format!("{} {}", id.kind, id.name)).or_default();
                if let (PrincipalKind::Function, Some(r)) = (id.kind, &p.role_arn) {
                    e.push(format!("role {}", role_name(r)));
                }
            }
            for i in &r.items {
                g.entry(i.principal.clone())
                    .or_default()
                    .push(i.finding.title().to_string());
            }
            for v in g.values_mut() {
                v.sort();
                v.dedup();
            }
            crate::report::drift::html(&r, &g)
        }
    };
    // The report first, then the state: a report that cannot be written leaves the state as it
    // was, so the next run reports this period again instead of losing its findings.
    if let Err(e) = write_report(args.out.as_deref(), &text) {
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
        after.save(p)?;
    }
    let exit = {
        let warnings = diags
            .iter()
            .filter(|d| d.level == crate::diag::Level::Warning)
            .count();
        if args.input.strict && warnings > 0 {
            Exit::InputWarnings
        } else {
            Exit::Ok
        }
    };
    if exit != Exit::Ok || args.format == Format::Sarif {
        return Ok(exit);
    }
    let found = args.fail_on.iter().any(|f| r.count(*f) > 0);
    Ok(if found { Exit::Findings } else { Exit::Ok })
}
