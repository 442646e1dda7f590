//! `drift`: one period of the weekly report. Reads only the inputs that are new since the last
//! run (the state remembers which it read), and compares them with everything before and with
//! the approved baseline.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use chrono::Duration;

use super::{Error, Location, ReadOptions};
use crate::diag::Diagnostic;
use crate::drift::{DriftOptions, DriftReport, ReadFile, State, StateError, report};
use crate::identity::InventoryFunction;
use crate::source::Input;
use crate::source::live::Live;
use crate::usage::{Stats, Usage, collect};

/// What a drift run reads besides the trail.
#[derive(Debug, Clone)]
pub struct DriftInputs {
    /// The policies as last approved.
    pub baseline: PathBuf,
    /// The policies deployed now: files, or live IAM (`GetAccountAuthorizationDetails`).
    pub current: Option<Location>,
    /// The state file, if any (a missing file is a new state).
    pub state: Option<PathBuf>,
    pub unused_after: Duration,
    /// Recompute the state from the inputs it lists instead of trusting it.
    pub full: bool,
}

/// One period: the report, and the state to save once the report is written.
pub struct DriftRun {
    pub report: DriftReport,
    /// The state with this period absorbed.
    pub after: State,
    /// This period's usage.
    pub period: Usage,
    /// Inputs read in this period.
    pub new_inputs: usize,
    /// The figures of this period's read.
    pub stats: Stats,
    pub diagnostics: Vec<Diagnostic>,
}

impl DriftRun {
    /// How many diagnostics are warnings (unusable input).
    pub fn warnings(&self) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.level == crate::diag::Severity::Warning)
            .count()
    }
}

/// The identity of a file already read: path, size and modification time.
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

/// `drift` reads local trail files only: its state remembers which it has read. An error for
/// options that read the trail from AWS.
pub fn check_local(opts: &ReadOptions) -> Result<(), Error> {
    if opts.reads_aws_trail() {
        return Err(Error::DriftNotLocal);
    }
    Ok(())
}

/// Runs one period over local trail files ([`check_local`]). `live` is the connection that
/// `--current live` and `--functions live` read from.
pub fn drift(
    opts: &ReadOptions,
    inputs: &DriftInputs,
    live: Option<&Live>,
) -> Result<DriftRun, Error> {
    check_local(opts)?;
    let mut diags = Vec::new();
    let baseline = crate::policy::current::load(&inputs.baseline, &mut diags)?;
    let current = match &inputs.current {
        Some(from) => Some(super::load_current(from, live, &mut diags)?),
        None => None,
    };
    let stored = match &inputs.state {
        Some(p) => State::load(p)?,
        None => State::new(),
    };
    let (found, discover_diags) = crate::source::discover(&opts.paths);
    let missing_paths = crate::source::missing_paths(&discover_diags);
    diags.extend(discover_diags);
    let mut filters = opts.filters();
    let mut inventory = super::inventory(opts, live)?;
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
                    ..InventoryFunction::default()
                });
        }
    }
    filters.functions = inventory.functions.keys().cloned().collect();
    if let Some(n) = opts.threads {
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global();
    }
    let is_read = |i: &Input| file_id(i).is_some_and(|(p, id)| stored.files.get(&p) == Some(&id));
    let (old, new): (Vec<Input>, Vec<Input>) = found.into_iter().partition(|i| is_read(i));
    let analyze = |inputs: &[Input], diags: &mut Vec<Diagnostic>| -> (Usage, Stats) {
        let (agg, stats, d) = collect(inputs, &filters, opts.threads);
        diags.extend(d);
        let mut u = Usage::resolve(agg, &inventory);
        u.retain_principals(&opts.principals);
        super::read::note_unusable_keys(&u, diags);
        (u, stats)
    };
    let before = if inputs.full {
        let mut s = State::new();
        let (u, _) = analyze(&old, &mut diags);
        s.absorb(&u);
        s.files = old.iter().filter_map(file_id).collect();
        s
    } else {
        stored.clone()
    };
    let (period, mut stats) = analyze(&new, &mut diags);
    stats.paths = opts.paths.len() as u64;
    stats.paths_missing = missing_paths;
    let mut after = before.clone();
    after.absorb(&period);
    after.files.extend(new.iter().filter_map(file_id));
    let drift_opts = DriftOptions {
        unused_after: inputs.unused_after,
        inventory: listed,
    };
    let report = report(
        &before,
        &after,
        &period,
        &baseline,
        current.as_ref(),
        &drift_opts,
        (new.len() as u64, old.len() as u64),
    );
    Ok(DriftRun {
        report,
        after,
        period,
        new_inputs: new.len(),
        stats,
        diagnostics: diags,
    })
}

/// Saves the state of a run, once its report is written.
pub fn save_state(run: &DriftRun, path: &Path) -> Result<(), StateError> {
    run.after.save(path)
}
