//! The ingestion pipeline: read every input (in parallel, one file per task), filter, attribute,
//! map and aggregate; merge the per-file aggregates at the end.

use std::sync::Mutex;
use std::time::Instant;

use rayon::prelude::*;
use serde::Serialize;

use std::collections::BTreeMap;

use super::{Aggregate, SpillError};
use crate::diag::Diagnostic;
use crate::identity::actor;
use crate::mapping::Mapper;
use crate::model::Seen;
use crate::record::{DropReason, Dropped, Record, RecordProblem};
use crate::source::{FileReport, Filters, Input, Stream};

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// End-of-run figures.
#[derive(Debug, Clone, Default, Serialize, schemars::JsonSchema)]
pub struct Stats {
    /// Paths given on the command line (files, directories, `-`), and how many do not exist.
    pub paths: u64,
    pub paths_missing: u64,
    pub files: u64,
    pub files_skipped_by_layout: u64,
    pub files_unusable: u64,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub records: u64,
    pub records_filtered_out: u64,
    /// Records (or values standing where records should be) that could not be used.
    pub records_bad: u64,
    /// `records_bad` by reason (they add up to it).
    pub records_dropped: Dropped,
    /// Records used without a time (no `eventTime`): counted as usage, kept by every time
    /// filter, and left out of first and last seen, the window and the active days.
    pub records_untimed: u64,
    /// Bytes of grants written to a temporary file while reading (`--spill-after`), and read
    /// back as they were needed.
    #[serde(skip_serializing_if = "is_zero")]
    pub bytes_spilled: u64,
    /// Wall time of the whole read.
    pub seconds: f64,
    /// CPU time spent reading and decompressing, and parsing, mapping and aggregating, summed
    /// over the worker threads; measured only when asked for ([`crate::source::Filters`]'
    /// `time_stages`, which `--stats` sets), 0 otherwise.
    pub seconds_decompress: f64,
    pub seconds_parse: f64,
    /// Requests, downloads and cache hits of the live sources, when any was read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub live: Option<crate::source::LiveStats>,
    /// The Athena query, when the aggregation was pushed down.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub athena: Option<AthenaStats>,
}

#[derive(Debug, Clone, Default, Serialize, schemars::JsonSchema)]
pub struct AthenaStats {
    pub execution_id: String,
    pub rows: u64,
    pub bytes_scanned: u64,
    pub cost_usd: f64,
    pub result_pages: u64,
}

struct FileResult {
    report: FileReport,
    filtered: u64,
    /// Records dropped after parsing (by validation), by reason.
    dropped: Dropped,
    untimed: u64,
}

/// Warns of an unusable record; the first 100 of a file are named, the rest only counted.
fn unusable(
    diags: &mut Vec<Diagnostic>,
    name: &str,
    ordinal: u64,
    problem: &dyn std::fmt::Display,
) {
    if diags.len() < 100 {
        diags.push(
            Diagnostic::warning(name, format!("unusable record: {problem}"))
                .at(format!("record {ordinal}")),
        );
    }
}

enum Taken {
    Used,
    /// Used, without a time.
    Untimed,
    Filtered,
    Bad(RecordProblem),
}

/// Filters, maps and aggregates one record; `span` is the calls it stands for when it is an
/// aggregated row (one call at its own time otherwise).
fn take(
    rec: &Record<'_>,
    span: Option<Seen>,
    filters: &Filters,
    mapper: &Mapper,
    agg: &mut Aggregate,
) -> Taken {
    let time = match rec.validate() {
        Ok(t) => t,
        Err(problem) => return Taken::Bad(problem),
    };
    let span = span.unwrap_or(Seen::at(time));
    // `--since`/`--until` cannot place a record without a time: it is kept (and counted)
    let outside_window = match (span.first_seen, span.last_seen) {
        (Some(first), Some(last)) => !filters.keeps_time(first) && !filters.keeps_time(last),
        _ => false,
    };
    if outside_window
        || !filters.keeps_account(rec.account())
        || !filters.keeps_region(rec.region())
    {
        return Taken::Filtered;
    }
    let params = match rec.params_checked() {
        Ok(p) => p,
        Err(problem) => return Taken::Bad(problem),
    };
    let mapping = mapper.map_with(rec, params);
    agg.facts.observe(rec, params);
    let lambda_marker = crate::identity::lambda_marker(rec);
    let who = actor(rec)
        .ok()
        .map(|a| crate::identity::fold_sessions(a, &filters.functions, lambda_marker, time));
    agg.add_span(
        rec,
        span,
        &mapping,
        who,
        filters.fold_resources,
        lambda_marker,
    );
    if span.first_seen.is_none() {
        Taken::Untimed
    } else {
        Taken::Used
    }
}

/// Aggregates rows that were aggregated elsewhere (Athena): each row is decoded into a record
/// and added with its count and its first and last time, through the same mapping as a file's
/// records.
pub fn collect_rows(
    name: &str,
    rows: &[BTreeMap<String, Option<String>>],
    filters: &Filters,
) -> (Aggregate, Stats, Vec<Diagnostic>) {
    let start = Instant::now();
    let mapper = Mapper::embedded();
    let mut agg = Aggregate::default();
    let mut stats = Stats {
        files: 1,
        ..Stats::default()
    };
    let mut diags = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let ordinal = i as u64 + 1;
        let (json, span) = match crate::athena::row_record(row) {
            Ok(r) => r,
            Err(problem) => {
                stats.drop(DropReason::Unreadable);
                unusable(&mut diags, name, ordinal, &problem);
                continue;
            }
        };
        let rec: Record<'_> = match serde_json::from_str(&json) {
            Ok(r) => r,
            Err(e) => {
                stats.drop(DropReason::Unreadable);
                unusable(&mut diags, name, ordinal, &crate::diag::serde_reason(&e));
                continue;
            }
        };
        match take(&rec, Some(span), filters, mapper, &mut agg) {
            Taken::Used | Taken::Untimed => stats.records += span.count,
            Taken::Filtered => stats.records_filtered_out += span.count,
            Taken::Bad(problem) => {
                stats.drop(problem.reason());
                unusable(&mut diags, name, ordinal, &problem);
            }
        }
    }
    stats.seconds = start.elapsed().as_secs_f64();
    (agg, stats, diags)
}

/// Reads one input into `agg`: the worker's own aggregate, so records are aggregated where they
/// are read and nothing is merged per file. Records read before a file breaks are kept, as
/// they would be after a merge.
fn read_one(input: &Input, filters: &Filters, mapper: &Mapper, agg: &mut Aggregate) -> FileResult {
    let name = input.display();
    let mut filtered = 0u64;
    let mut bad = 0u64;
    let mut untimed = 0u64;
    let mut dropped = Dropped::new();
    let mut diags: Vec<Diagnostic> = Vec::new();
    let mut on_record = |rec: &Record<'_>, ordinal: u64| match take(rec, None, filters, mapper, agg)
    {
        Taken::Used => {}
        Taken::Untimed => untimed += 1,
        Taken::Filtered => filtered += 1,
        Taken::Bad(problem) => {
            bad += 1;
            *dropped.entry(problem.reason()).or_default() += 1;
            unusable(&mut diags, &name, ordinal, &problem);
        }
    };
    let limit = filters
        .max_file_size
        .unwrap_or(crate::source::DEFAULT_MAX_FILE_SIZE);
    let mut report =
        crate::source::read_input_limited(input, limit, filters.time_stages, &mut on_record);
    if bad > 100 {
        diags.push(Diagnostic::warning(
            &name,
            format!("{} more unusable record(s) not listed", bad - 100),
        ));
    }
    report.diagnostics.extend(diags);
    if untimed > 0 {
        // once per file, not per record: an export that drops the time drops it everywhere
        report.diagnostics.push(Diagnostic::warning(
            &name,
            format!(
                "{untimed} record(s) without `eventTime`: counted as usage and kept by `--since`/`--until`, but they give no first or last seen"
            ),
        ));
    }
    FileResult {
        report,
        filtered,
        dropped,
        untimed,
    }
}

/// New grants a worker holds in its own aggregate before it empties it into the one the
/// workers share ([`Aggregate::absorb`]): some 5 MB a worker (on the growing 1 M benchmark
/// trail eight threads peak about 30 MB above two). Each worker used to keep its aggregate to
/// the end, so a grant met by several workers was held once by each of them: on that trail
/// the read ended at 67 MB on two threads against 45 MB on one.
const LOCAL_GRANTS: usize = 16_384;

/// Everything one worker gathered: added to per thread as files finish, so memory holds one
/// of these per thread, not one per file; its aggregate holds only what the worker read since
/// it last emptied it into the shared one.
#[derive(Default)]
struct Acc {
    agg: Aggregate,
    stats: Stats,
    diags: Vec<(usize, Vec<Diagnostic>)>,
}

impl Stats {
    /// Counts one dropped record.
    fn drop(&mut self, reason: DropReason) {
        self.records_bad += 1;
        *self.records_dropped.entry(reason).or_default() += 1;
    }

    /// Adds dropped records by reason.
    fn add_dropped(&mut self, dropped: &Dropped) {
        for (reason, n) in dropped {
            self.records_bad += n;
            *self.records_dropped.entry(*reason).or_default() += n;
        }
    }

    /// Records were read (or files skipped by the date in their path) but the filters kept
    /// none: the window or the accounts are wrong, not the input.
    pub fn all_filtered_out(&self) -> bool {
        self.records == self.records_filtered_out
            && self.records_filtered_out + self.files_skipped_by_layout > 0
    }
}

impl Acc {
    fn add(mut self, index: usize, r: FileResult) -> Acc {
        self.stats.files += 1;
        self.stats.bytes_in += r.report.bytes_in;
        self.stats.bytes_out += r.report.bytes_out;
        self.stats.records += r.report.records;
        self.stats.add_dropped(&r.report.dropped);
        self.stats.add_dropped(&r.dropped);
        self.stats.records_untimed += r.untimed;
        self.stats.records_filtered_out += r.filtered;
        self.stats.seconds_decompress += r.report.seconds_decompress;
        self.stats.seconds_parse += r.report.seconds_parse;
        if r.report.skipped {
            self.stats.files_unusable += 1;
        }
        if !r.report.diagnostics.is_empty() {
            self.diags.push((index, r.report.diagnostics));
        }
        self
    }

    fn merge(mut self, o: Acc) -> Acc {
        self.stats.files += o.stats.files;
        self.stats.bytes_in += o.stats.bytes_in;
        self.stats.bytes_out += o.stats.bytes_out;
        self.stats.records += o.stats.records;
        self.stats.add_dropped(&o.stats.records_dropped);
        self.stats.records_untimed += o.stats.records_untimed;
        self.stats.records_filtered_out += o.stats.records_filtered_out;
        self.stats.seconds_decompress += o.stats.seconds_decompress;
        self.stats.seconds_parse += o.stats.seconds_parse;
        self.stats.files_unusable += o.stats.files_unusable;
        self.stats.files_skipped_by_layout += o.stats.files_skipped_by_layout;
        self.diags.extend(o.diags);
        self.agg.merge(o.agg);
        self
    }
}

/// Reads every input and returns the merged aggregate, the statistics and every diagnostic in
/// input order. Files are read in parallel (one task per file); each thread's aggregate is
/// emptied into a shared one as it grows, and what is left of it at the end is merged. The
/// result does not depend on the thread count.
pub fn collect(
    inputs: &[Input],
    filters: &Filters,
    threads: Option<usize>,
) -> (Aggregate, Stats, Vec<Diagnostic>) {
    collect_with(inputs, filters, threads, LOCAL_GRANTS, usize::MAX)
}

/// [`collect`], a worker emptying its aggregate into the shared one at `local_grants` new
/// grants, and the shared one written to disk at `spill_after` ([`Aggregate::spill`]).
fn collect_with(
    inputs: &[Input],
    filters: &Filters,
    threads: Option<usize>,
    local_grants: usize,
    spill_after: usize,
) -> (Aggregate, Stats, Vec<Diagnostic>) {
    let bytes = inputs
        .iter()
        .filter(|i| keeps_input(filters, i))
        .filter_map(Input::size)
        .sum();
    run(
        inputs.len(),
        bytes,
        filters,
        threads,
        (local_grants, spill_after),
        move |work: &(dyn Fn(usize, &Input) + Sync), dry: &(dyn Fn() + Sync)| {
            UntilDry {
                inputs: inputs.iter().enumerate(),
                dry,
            }
            .par_bridge()
            .for_each(|(i, input)| work(i, input))
        },
    )
}

/// Reads the local inputs under `paths` (files, directories, `-`), found as they are read
/// ([`crate::source::walk`]): memory does not grow with the number of files. Diagnostics come
/// in the order of [`collect`] on the discovered list: what the walk met first, then each
/// input's in input order. Grants are written to disk once `spill_after` are held
/// ([`Aggregate::spill`]).
pub fn collect_paths(
    paths: Vec<String>,
    filters: &Filters,
    threads: Option<usize>,
    spill_after: usize,
) -> (Aggregate, Stats, Vec<Diagnostic>) {
    // The totals are only for the progress bar: walked for it only when it is shown.
    let (count, bytes) = if crate::usage::progress::wanted() {
        crate::source::walk(paths.clone(), |_| {})
            .filter(|i| keeps_input(filters, i))
            .fold((0, 0), |(n, b), i| (n + 1, b + i.size().unwrap_or(0)))
    } else {
        (0, 0)
    };
    let paths_given = paths.len();
    let found = std::sync::Arc::new(Mutex::new(Vec::new()));
    let sink = found.clone();
    let inputs = crate::source::walk(paths, move |d| {
        sink.lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(d)
    })
    .enumerate();
    let stream = Stream {
        count,
        bytes,
        inputs: Box::new(inputs),
    };
    let given = paths_given as u64;
    let (agg, mut stats, diags) = collect_stream(stream, filters, threads, spill_after);
    let mut all = std::mem::take(&mut *found.lock().unwrap_or_else(|p| p.into_inner()));
    stats.paths = given;
    stats.paths_missing = crate::source::missing_paths(&all);
    all.extend(diags);
    (agg, stats, all)
}

/// Like [`collect`], for inputs that arrive over time: each is read as soon as a worker is free.
/// Grants are written to disk once `spill_after` are held ([`Aggregate::spill`]).
pub fn collect_stream(
    stream: Stream,
    filters: &Filters,
    threads: Option<usize>,
    spill_after: usize,
) -> (Aggregate, Stats, Vec<Diagnostic>) {
    let Stream {
        count,
        bytes,
        inputs,
    } = stream;
    run(
        count,
        bytes,
        filters,
        threads,
        (LOCAL_GRANTS, spill_after),
        move |work: &(dyn Fn(usize, &Input) + Sync), dry: &(dyn Fn() + Sync)| {
            UntilDry { inputs, dry }
                .par_bridge()
                .for_each(|(i, input)| work(i, &input))
        },
    )
}

/// Runs `f` on `pool` when there is one (a caller's own `--threads`), on the global pool
/// otherwise.
fn on_pool<R: Send>(pool: Option<&rayon::ThreadPool>, f: impl FnOnce() -> R + Send) -> R {
    match pool {
        Some(p) => p.install(f),
        None => f(),
    }
}

/// The inputs, calling `dry` on the thread that asks for one more and finds none: a worker
/// out of work empties what the idle workers gathered while the others read their last files.
struct UntilDry<'f, I> {
    inputs: I,
    dry: &'f (dyn Fn() + Sync),
}

impl<I: Iterator> Iterator for UntilDry<'_, I> {
    type Item = I::Item;
    fn next(&mut self) -> Option<I::Item> {
        let next = self.inputs.next();
        if next.is_none() {
            (self.dry)();
        }
        next
    }
}

fn keeps_input(filters: &Filters, input: &Input) -> bool {
    input
        .layout_name()
        .is_none_or(|name| filters.keeps_path(&name))
}

/// The shared pipeline: `drive` hands every input to `work`, from as many threads as it likes.
/// A worker empties its aggregate into the shared one at `local_grants` new grants; the shared
/// one is written to disk when it holds more than `spill_after`, and, if it ever was, once
/// more at the end, so that only what does not grow with the grants is left in memory.
fn run<D>(
    count: usize,
    bytes: u64,
    filters: &Filters,
    threads: Option<usize>,
    (local_grants, spill_after): (usize, usize),
    drive: D,
) -> (Aggregate, Stats, Vec<Diagnostic>)
where
    D: FnOnce(&(dyn Fn(usize, &Input) + Sync), &(dyn Fn() + Sync)) + Send,
{
    let start = Instant::now();
    let mapper = Mapper::embedded();
    let progress = crate::usage::progress::Progress::new(count, bytes);
    // One accumulator per worker, not per rayon split: a task takes an idle accumulator from
    // the pool (or starts one), adds its file and puts it back, so at most one accumulator per
    // thread ever exists and memory grows with distinct usage, not with the number of files.
    let pool: Mutex<Vec<Acc>> = Mutex::new(Vec::new());
    let lock = || pool.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let idle = || lock().pop().unwrap_or_default();
    // What the workers have read, each distinct grant once. A worker adds records to its own
    // aggregate (no lock a record) and empties it into this one after a file once it holds
    // `local_grants` new grants, or twice that if another worker is emptying its own.
    let shared: Mutex<Aggregate> = Mutex::new(Aggregate::default());
    // Why writing to disk failed, once it has: then the grants stay in memory.
    let spill_failed: Mutex<Option<SpillError>> = Mutex::new(None);
    let spill = |into: &mut Aggregate| {
        let mut failed = spill_failed.lock().unwrap_or_else(|p| p.into_inner());
        if failed.is_none()
            && let Err(e) = into.spill()
        {
            *failed = Some(e);
        }
    };
    // What the workers gathered last is written too once anything was (the tail then holds
    // none), or when it took the total past twice the bound; a trail just past it keeps it,
    // rather than write and read back at once what it holds once. (The end of the read, and a
    // worker that finds no input left.)
    let spill_the_last = |into: &mut Aggregate| {
        if into.has_spilled() || into.held() > spill_after.saturating_mul(2) {
            spill(into);
        }
    };
    let empty_into_shared = |agg: &mut Aggregate| {
        let pending = agg.pending();
        if pending < local_grants {
            return;
        }
        let into = match shared.try_lock() {
            Ok(into) => Some(into),
            Err(std::sync::TryLockError::Poisoned(p)) => Some(p.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => (pending >= local_grants.saturating_mul(2))
                .then(|| shared.lock().unwrap_or_else(|p| p.into_inner())),
        };
        if let Some(mut into) = into {
            into.absorb(agg, true);
            if into.held() > spill_after {
                spill(&mut into);
            }
        }
    };
    let work = |i: usize, input: &Input| {
        if !keeps_input(filters, input) {
            if let Input::Spooled {
                path, remove: true, ..
            } = input
            {
                let _ = std::fs::remove_file(path);
            }
            let mut acc = idle();
            acc.stats.files_skipped_by_layout += 1;
            lock().push(acc);
            return;
        }
        let mut acc = idle();
        let r = read_one(input, filters, mapper, &mut acc.agg);
        progress.file_done(r.report.bytes_in, r.report.records);
        empty_into_shared(&mut acc.agg);
        let acc = acc.add(i, r);
        lock().push(acc);
    };
    // A worker that finds no input left empties the idle workers' aggregates (its own among
    // them) into the shared one while the others read their last files, so the end of the
    // read merges what the last worker gathered, not every worker's. It writes to disk as the
    // end does, not at `spill_after`.
    let dry = || {
        let mut idle: Vec<Acc> = std::mem::take(&mut *lock());
        if idle.iter().any(|a| a.agg.pending() > 0) {
            let mut into = shared.lock().unwrap_or_else(|p| p.into_inner());
            for a in &mut idle {
                into.absorb(&mut a.agg, false);
            }
            spill_the_last(&mut into);
        }
        lock().extend(idle);
    };
    // The CLI sizes the global pool (`--threads`); a private pool only for a caller that asks
    // for another size. The read and the merge at its end both run on it.
    let private = match threads
        .filter(|n| *n != rayon::current_num_threads())
        .map(|n| rayon::ThreadPoolBuilder::new().num_threads(n).build())
    {
        Some(Ok(p)) => Some(p),
        _ => None,
    };
    on_pool(private.as_ref(), || drive(&work, &dry));
    progress.finish();
    let accs = pool
        .into_inner()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let mut agg = shared
        .into_inner()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let Acc {
        agg: rest,
        mut stats,
        mut diags,
    } = accs.into_iter().reduce(Acc::merge).unwrap_or_default();
    on_pool(private.as_ref(), || agg.merge_in_parallel(rest));
    spill_the_last(&mut agg);
    stats.bytes_spilled = agg.bytes_spilled();
    diags.sort_by_key(|(i, _)| *i);
    stats.seconds = start.elapsed().as_secs_f64();
    let mut diags: Vec<Diagnostic> = diags.into_iter().flat_map(|(_, d)| d).collect();
    if let Some(e) = spill_failed.into_inner().unwrap_or_else(|p| p.into_inner()) {
        // a note, not a warning: every record was used (`--strict` is about the input)
        diags.push(Diagnostic::note(
            std::env::temp_dir().display().to_string(),
            format!("{e}; the grants not yet written are kept in memory"),
        ));
    }
    (agg, stats, diags)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::Inventory;
    use crate::usage::Usage;

    /// `dry` is called when the inputs run dry, on every ask after that, and not before.
    #[test]
    fn the_inputs_say_when_they_run_dry() {
        use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
        let calls = AtomicUsize::new(0);
        let dry = || {
            calls.fetch_add(1, Relaxed);
        };
        let mut it = UntilDry {
            inputs: [1, 2].into_iter(),
            dry: &dry,
        };
        assert_eq!((it.next(), calls.load(Relaxed)), (Some(1), 0));
        assert_eq!((it.next(), calls.load(Relaxed)), (Some(2), 0));
        assert_eq!((it.next(), calls.load(Relaxed)), (None, 1));
        assert_eq!((it.next(), calls.load(Relaxed)), (None, 2));
    }

    /// Workers that empty their aggregates into the shared one after every file (or after a
    /// few), on one thread or several, read the same usage as one thread that never does: the
    /// same principals with the same grants (folded ones included), denied calls, calls and
    /// days, and the same event counts and window.
    #[test]
    fn emptying_into_the_shared_aggregate_changes_no_usage() {
        let dir = tempfile::tempdir().unwrap();
        let files = crate::trailgen::write_bench(
            dir.path(),
            4_000,
            7,
            crate::trailgen::BenchProfile::Growing,
        )
        .unwrap();
        let inputs: Vec<Input> = files.into_iter().map(Input::File).collect();
        assert!(inputs.len() > 20, "{}", inputs.len());
        let filters = Filters {
            fold_resources: true,
            ..Filters::default()
        };
        let read = |threads: usize, local: usize, spill_after: usize| {
            let (agg, stats, diags) =
                collect_with(&inputs, &filters, Some(threads), local, spill_after);
            assert!(diags.is_empty(), "{diags:?}");
            assert_eq!(stats.records, 4_000);
            // written when the workers' last grants, all of them here, are more than twice
            // the bound (about 1,000 distinct grants), or earlier
            let spills = spill_after < 500;
            assert_eq!(agg.has_spilled(), spills, "{spill_after}");
            assert_eq!(stats.bytes_spilled > 0, spills);
            let mut u = Usage::resolve(agg, &Inventory::default());
            u.load_all().unwrap();
            u
        };
        let once = read(1, usize::MAX, usize::MAX);
        let grants = |u: &Usage| u.principals.values().map(|p| p.grants.len()).sum::<usize>();
        let folded = once
            .principals
            .values()
            .flat_map(|p| p.grants.values())
            .filter(|e| e.folded.is_some())
            .count();
        assert!(
            grants(&once) > 500 && folded > 50,
            "{} {folded}",
            grants(&once)
        );
        // (with `usize::MAX` the workers never empty theirs: each worker's whole aggregate is
        // merged at the end, and most actors are in both). Written to disk after every file,
        // or every few: the same usage once read back.
        for (threads, local, spill_after) in [
            (1, 1, usize::MAX),
            (3, 1, usize::MAX),
            (2, 64, usize::MAX),
            (2, usize::MAX, usize::MAX),
            (3, 4_096, usize::MAX),
            (1, 1, 1),
            (3, 1, 50),
            (2, 64, 300),
            (2, usize::MAX, 1),
            (2, usize::MAX, 2_000),
        ] {
            let u = read(threads, local, spill_after);
            let at = format!("{threads} threads, emptied at {local}, spilled at {spill_after}");
            assert_eq!(
                u.principals.keys().collect::<Vec<_>>(),
                once.principals.keys().collect::<Vec<_>>(),
                "{at}"
            );
            for ((id, p), q) in u.principals.iter().zip(once.principals.values()) {
                assert!(p.grants == q.grants, "{at}: {id:?} grants");
                assert!(p.denied == q.denied, "{at}: {id:?} denied");
                assert!(p.permission_less == q.permission_less, "{at}: {id:?}");
                assert_eq!((p.calls, &p.days), (q.calls, &q.days), "{at}: {id:?}");
                assert_eq!((&p.role_arn, &p.arn), (&q.role_arn, &q.arn), "{at}: {id:?}");
                assert_eq!(p.function_evidence, q.function_evidence, "{at}: {id:?}");
                assert_eq!(p.data_types, q.data_types, "{at}: {id:?}");
            }
            assert!(u.events == once.events, "{at}: events");
            assert_eq!(
                (u.records, u.no_principal, u.window),
                (once.records, once.no_principal, once.window),
                "{at}"
            );
        }
    }
}
