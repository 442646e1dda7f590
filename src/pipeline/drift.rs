//! `drift`: one period of the weekly report. Reads only the inputs that are new since the last
//! run (the state remembers which it read), and compares them with everything before and with
//! the approved baseline.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use chrono::Duration;

use super::{Error, ReadOptions};
use crate::diag::Diagnostic;
use crate::drift::{DriftOptions, DriftReport, ReadFile, State, StateError, report};
use crate::identity::InventoryFunction;
use crate::source::Input;
use crate::usage::{Usage, collect};

/// What a drift run reads besides the trail.
#[derive(Debug, Clone)]
pub struct DriftInputs {
    /// The policies as last approved.
    pub baseline: PathBuf,
    /// The policies deployed now.
    pub current: Option<PathBuf>,
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

/// Runs one period. `drift` reads local files only: its state remembers which it has read.
pub fn drift(opts: &ReadOptions, inputs: &DriftInputs) -> Result<DriftRun, Error> {
    if opts.lookup_events
        || opts.athena.is_some()
        || opts.paths.iter().any(|p| p.starts_with("s3://"))
    {
        return Err(Error::DriftNotLocal);
    }
    let mut diags = Vec::new();
    let baseline = crate::policy::current::load(&inputs.baseline, &mut diags)?;
    let current = match &inputs.current {
        Some(p) => Some(crate::policy::current::load(p, &mut diags)?),
        None => None,
    };
    let stored = match &inputs.state {
        Some(p) => State::load(p)?,
        None => State::new(),
    };
    let (found, discover_diags) = crate::source::discover(&opts.paths);
    diags.extend(discover_diags);
    let mut filters = opts.filters();
    let mut inventory = super::inventory(opts, None)?;
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
    let analyze = |inputs: &[Input], diags: &mut Vec<Diagnostic>| -> Usage {
        let (agg, _, d) = collect(inputs, &filters, opts.threads);
        diags.extend(d);
        let mut u = Usage::resolve(agg, &inventory);
        u.retain_principals(&opts.principals);
        super::read::note_unusable_keys(&u, diags);
        u
    };
    let before = if inputs.full {
        let mut s = State::new();
        let u = analyze(&old, &mut diags);
        s.absorb(&u);
        s.files = old.iter().filter_map(file_id).collect();
        s
    } else {
        stored.clone()
    };
    let period = analyze(&new, &mut diags);
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
        diagnostics: diags,
    })
}

/// Saves the state of a run, once its report is written.
pub fn save_state(run: &DriftRun, path: &Path) -> Result<(), StateError> {
    run.after.save(path)
}
