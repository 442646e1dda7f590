//! Reading a trail into usage: local files, the trail bucket and LookupEvents (streamed as they
//! arrive), or an Athena query over the trail bucket; then attribution against the function
//! inventory and the principal filter.

use std::path::PathBuf;

use chrono::{DateTime, Utc};

use super::Error;
use crate::athena::{Dialect, Partitions};
use crate::diag::{Diagnostic, Severity};
use crate::fold::GeneralizeLevel;
use crate::identity::Inventory;
use crate::policy::current::CurrentPolicies;
use crate::source::Filters;
use crate::source::live::s3::{S3Url, Window};
use crate::source::live::{Connect, Live, Sources, lookup};
use crate::usage::{Aggregate, Stats, Usage, collect_paths, collect_stream};

/// Where a loader reads from: a file or folder, or AWS (`live` on the command line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Path(PathBuf),
    Live,
}

impl Location {
    /// `live` names AWS, not a file (`./live` is the file).
    pub fn parse(path: PathBuf) -> Location {
        if path.as_os_str() == "live" {
            Location::Live
        } else {
            Location::Path(path)
        }
    }

    pub fn is_live(&self) -> bool {
        matches!(self, Location::Live)
    }
}

/// `--athena TABLE`: where the aggregation runs and what it costs.
#[derive(Debug, Clone)]
pub struct AthenaOptions {
    pub table: String,
    pub workgroup: String,
    pub database: String,
    /// Where Athena writes the results; the workgroup's location when `None`.
    pub output: Option<String>,
    pub price_per_tb: f64,
    pub partitions: Partitions,
}

/// What to read and how: the library's side of every trail-reading command's options.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// Files, directories, `-`, and `s3://BUCKET/PREFIX` URLs.
    pub paths: Vec<String>,
    pub lookup_events: bool,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub accounts: Vec<String>,
    /// Regions to read (all when empty); the first is the AWS clients' region.
    pub regions: Vec<String>,
    /// Principal name globs to keep (all when empty).
    pub principals: Vec<String>,
    /// The function inventory and configuration (`--functions`, repeatable: files of the shapes
    /// [`Inventory::read`] takes, or AWS); ListFunctions by default when reading AWS.
    pub functions: Vec<Location>,
    pub threads: Option<usize>,
    pub max_file_size: u64,
    /// How far resources may be folded as they are read (and keys cut in Athena's SQL): the
    /// `--generalize` of the commands that write policies, [`GeneralizeLevel::Exact`] for the
    /// others (a replay or a diff must not see patterns).
    pub key_level: GeneralizeLevel,
    /// `--cache DIR` for downloaded trail objects.
    pub cache: Option<PathBuf>,
    /// Downloads in flight at once.
    pub concurrency: usize,
    pub athena: Option<AthenaOptions>,
    /// Distinct grants held in memory while reading before they are written to a temporary
    /// file (`--spill-after`; [`crate::usage::Aggregate::spill`]); `usize::MAX`: never.
    pub spill_after: usize,
    /// Leave the grants written to disk there: the caller reads each principal's back when
    /// it needs them ([`Usage::load`]), as [`super::generate_each`] does. Otherwise they are
    /// all read back before [`analyze`] returns, as they also are with `observe` (current
    /// policies are compared with the whole usage of the principals kept).
    pub keep_spilled: bool,
    /// Gather what the whole trail shows of the resources that carried grants are narrowed
    /// to ([`Analysis::observed`]): needed only when current policies are given, whose
    /// unobservable grants are carried (`--current`; `pr` always). Left out otherwise: with
    /// grants on disk it is a pass over all of them.
    pub observe: bool,
    /// Time the read's stages, decompression and parse, in CPU seconds ([`Stats`]'
    /// `seconds_decompress` and `seconds_parse`, which stay 0 otherwise): `--stats` asks.
    pub time_stages: bool,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            paths: Vec::new(),
            lookup_events: false,
            since: None,
            until: None,
            accounts: Vec::new(),
            regions: Vec::new(),
            principals: Vec::new(),
            functions: Vec::new(),
            threads: None,
            max_file_size: crate::source::DEFAULT_MAX_FILE_SIZE,
            key_level: GeneralizeLevel::Exact,
            cache: None,
            concurrency: 16,
            athena: None,
            spill_after: crate::usage::SPILL_AFTER,
            keep_spilled: false,
            observe: false,
            time_stages: false,
        }
    }
}

/// What reading produced.
pub struct Analysis {
    pub usage: Usage,
    /// The functions and their configuration (`--functions`, or live).
    pub inventory: Inventory,
    pub stats: Stats,
    pub diagnostics: Vec<Diagnostic>,
    /// The resources the whole trail shows for the actions whose carried grants are narrowed
    /// ([`crate::synth::narrow`]), taken before `--principal` keeps some principals: the
    /// evidence is other principals' calls. `None` unless [`ReadOptions::observe`] asked for
    /// it; proposing with current policies without it is an internal error.
    pub observed: Option<crate::synth::narrow::Observed>,
}

impl Analysis {
    /// How many diagnostics are warnings (unusable input).
    pub fn warnings(&self) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.level == Severity::Warning)
            .count()
    }
}

impl ReadOptions {
    /// The record filters these options ask for.
    pub fn filters(&self) -> Filters {
        Filters {
            since: self.since,
            until: self.until,
            accounts: self.accounts.clone(),
            regions: self.regions.clone(),
            functions: Default::default(),
            fold_resources: self.key_level != GeneralizeLevel::Exact,
            max_file_size: Some(self.max_file_size),
            time_stages: self.time_stages,
        }
    }

    /// Options that cannot go together.
    pub fn validate(&self) -> Result<(), Error> {
        if self.athena.is_some() && (!self.paths.is_empty() || self.lookup_events) {
            return Err(Error::AthenaWithPaths);
        }
        Ok(())
    }

    /// Are records read from AWS (the bucket, LookupEvents or Athena)?
    pub fn reads_aws_trail(&self) -> bool {
        self.lookup_events
            || self.paths.iter().any(|p| p.starts_with("s3://"))
            || self.athena.is_some()
    }

    /// Do these options (or the command's own, `also`, such as `--current live`) need a
    /// connection to AWS?
    pub fn needs_aws(&self, also: bool) -> bool {
        also || self.reads_aws_trail() || self.functions.iter().any(Location::is_live)
    }

    /// The Athena query these options ask for, `None` without `--athena`.
    pub fn athena_query(&self) -> Option<crate::athena::Query> {
        let a = self.athena.as_ref()?;
        Some(crate::athena::Query {
            table: a.table.clone(),
            since: self.since,
            until: self.until,
            accounts: self.accounts.clone(),
            regions: self.regions.clone(),
            generalize: self.key_level,
            partitions: a.partitions.clone(),
        })
    }

    /// The SQL `--athena … --dry-run` prints.
    pub fn athena_sql(&self, dialect: Dialect) -> Option<String> {
        self.athena_query().map(|q| crate::athena::sql(&q, dialect))
    }
}

/// Connects to AWS, as for the AWS CLI.
pub fn connect(opts: &Connect) -> Result<Live, Error> {
    Live::connect(opts).map_err(Error::from)
}

/// The function inventory and configuration: every `--functions` (files of any shape
/// [`Inventory::read`] takes, merged; `live` for ListFunctions, ListEventSourceMappings and
/// ListFunctionEventInvokeConfigs), or the live calls by default when the trail itself is read
/// from AWS.
pub fn inventory(opts: &ReadOptions, live: Option<&Live>) -> Result<Inventory, Error> {
    let mut inv = Inventory::default();
    let live_default = opts.functions.is_empty() && opts.reads_aws_trail();
    for from in &opts.functions {
        if let Location::Path(path) = from {
            for file in inventory_files(path)? {
                let text = std::fs::read_to_string(&file).map_err(|source| Error::Inventory {
                    path: file.display().to_string(),
                    source,
                })?;
                inv.read(&text).map_err(|e| Error::InventoryShape {
                    path: file.display().to_string(),
                    reason: e.to_string(),
                })?;
            }
        }
    }
    if live_default || opts.functions.iter().any(Location::is_live) {
        let Some(live) = live else {
            return Err(Error::NoConnection("--functions live"));
        };
        crate::source::live::lambda::add_inventory(live, &mut inv)?;
    }
    Ok(inv)
}

/// `--functions PATH`: the file, or every `.json` file of the directory, in name order.
fn inventory_files(path: &std::path::Path) -> Result<Vec<PathBuf>, Error> {
    if !path.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let err = |source| Error::Inventory {
        path: path.display().to_string(),
        source,
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(path).map_err(err)? {
        let p = entry.map_err(err)?.path();
        if p.is_file() && p.extension().is_some_and(|x| x == "json") {
            files.push(p);
        }
    }
    files.sort();
    Ok(files)
}

/// Loads `--current`: a file or folder, or GetAccountAuthorizationDetails.
pub fn load_current(
    from: &Location,
    live: Option<&Live>,
    diags: &mut Vec<Diagnostic>,
) -> Result<CurrentPolicies, Error> {
    match (from, live) {
        (Location::Live, Some(live)) => {
            crate::source::live::iam::current(live, diags).map_err(Error::from)
        }
        (Location::Live, None) => Err(Error::NoConnection("--current live")),
        (Location::Path(p), _) => Ok(crate::policy::current::load(p, diags)?),
    }
}

/// Reads, attributes and aggregates every input. `live` is the connection from [`connect`],
/// shared with `--current live`.
pub fn analyze(opts: &ReadOptions, live: Option<&Live>) -> Result<Analysis, Error> {
    if let Some(n) = opts.threads {
        // For the whole run (reading, synthesis, replay), not only the read. Fails only when
        // the pool was built before, in which case it is already in use.
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global();
    }
    opts.validate()?;
    let mut filters = opts.filters();
    let inventory = inventory(opts, live)?;
    filters.functions = inventory.functions.keys().cloned().collect();
    let (agg, stats, mut diagnostics) = match (&opts.athena, live) {
        (Some(athena), Some(live)) => read_athena(opts, athena, &filters, live)?,
        (Some(_), None) => return Err(Error::NoConnection("--athena")),
        (None, _) => read_trail(opts, &filters, live)?,
    };
    let mut usage = Usage::resolve(agg, &inventory);
    // Current policies (what `observe` is for) are compared with the whole usage of the
    // principals kept, so their grants are all read back then, once: here, before observing,
    // when they are not kept on disk or every principal is kept; after the `--principal`
    // filter otherwise (observing reads every principal's back one at a time, and only the
    // kept ones are then held).
    let load_all = !opts.keep_spilled || opts.observe;
    let observed = if opts.observe {
        if !opts.keep_spilled || opts.principals.is_empty() {
            usage.load_all()?;
        }
        Some(crate::synth::narrow::Observed::from_usage(
            &usage,
            &inventory,
            crate::catalog::Catalog::embedded(),
        )?)
    } else {
        None
    };
    usage.retain_principals(&opts.principals);
    if load_all {
        usage.load_all()?;
    } else {
        // after `--principal`: only the principals kept are rewritten
        usage.compact_spilled();
    }
    note_idle(&usage, &mut diagnostics);
    note_unusable_keys(&usage, &mut diagnostics);
    Ok(Analysis {
        usage,
        inventory,
        stats,
        diagnostics,
        observed,
    })
}

/// Reads the trail: local files, and the bucket and LookupEvents when live.
fn read_trail(
    opts: &ReadOptions,
    filters: &Filters,
    live: Option<&Live>,
) -> Result<(Aggregate, Stats, Vec<Diagnostic>), Error> {
    let (urls, local): (Vec<&String>, Vec<&String>) =
        opts.paths.iter().partition(|p| p.starts_with("s3://"));
    let local: Vec<String> = local.into_iter().cloned().collect();
    let mut diagnostics = Vec::new();
    let (agg, stats, diags) = match live {
        Some(live) if !urls.is_empty() || opts.lookup_events => {
            let (inputs, found) = crate::source::discover(&local);
            diagnostics.extend(found);
            let sources = Sources {
                buckets: urls
                    .iter()
                    .map(|u| S3Url::parse(u))
                    .collect::<Result<_, _>>()
                    .map_err(Error::from)?,
                window: window(filters, &opts.regions),
                lookup: opts.lookup_events.then_some(lookup::Query {
                    since: filters.since,
                    until: filters.until,
                }),
                cache: opts.cache.clone(),
                concurrency: opts.concurrency,
                filters: filters.clone(),
            };
            let (stream, mut pending) = live.start(&sources, inputs).map_err(Error::from)?;
            let (agg, mut stats, diags) =
                collect_stream(stream, filters, opts.threads, opts.spill_after);
            diagnostics.extend(live.finish(&mut pending).map_err(Error::from)?);
            diagnostics.extend(pending.notes.clone());
            note_regions(&opts.regions, &mut diagnostics);
            stats.live = Some(pending.stats.snapshot());
            (agg, stats, diags)
        }
        None if !urls.is_empty() => return Err(Error::NoConnection("s3://")),
        _ => collect_paths(local, filters, opts.threads, opts.spill_after),
    };
    diagnostics.extend(diags);
    Ok((agg, stats, diagnostics))
}

/// Runs the aggregation on Athena and reads its rows.
fn read_athena(
    opts: &ReadOptions,
    athena: &AthenaOptions,
    filters: &Filters,
    live: &Live,
) -> Result<(Aggregate, Stats, Vec<Diagnostic>), Error> {
    let table = &athena.table;
    let sql = opts.athena_sql(Dialect::Athena).unwrap_or_default();
    let done = crate::source::live::athena::run(
        live,
        &sql,
        &crate::source::live::athena::Target {
            workgroup: athena.workgroup.clone(),
            database: athena.database.clone(),
            output: athena.output.clone(),
        },
    )
    .map_err(Error::from)?;
    let cost = crate::source::live::athena::cost(done.bytes_scanned, athena.price_per_tb);
    let mut unbounded = Vec::new();
    if filters.since.is_none() {
        unbounded.push(Diagnostic::note(
            format!("--athena {table}"),
            "no `--since`: the query was not limited to a window of days and scanned the whole table",
        ));
    }
    let name = format!("athena query {}", done.execution_id);
    let (agg, mut stats, mut diagnostics) = crate::usage::collect_rows(&name, &done.rows, filters);
    diagnostics.extend(unbounded);
    note_regions(&opts.regions, &mut diagnostics);
    diagnostics.push(Diagnostic::note(
        &name,
        format!(
            "{} row(s) for {} call(s); {} byte(s) scanned, about USD {cost:.4} at USD {} per TB; {:.1} s",
            done.rows.len(),
            stats.records,
            done.bytes_scanned,
            athena.price_per_tb,
            done.seconds
        ),
    ));
    stats.seconds = done.seconds;
    stats.athena = Some(crate::usage::AthenaStats {
        execution_id: done.execution_id,
        rows: done.rows.len() as u64,
        bytes_scanned: done.bytes_scanned,
        cost_usd: cost,
        result_pages: done.result_pages,
    });
    Ok((agg, stats, diagnostics))
}

/// `--region` limits what is read, from the layout, LookupEvents and Athena alike; global
/// services log in us-east-1, so leaving it out loses their calls.
fn note_regions(regions: &[String], diagnostics: &mut Vec<Diagnostic>) {
    if !regions.is_empty() && !regions.iter().any(|r| r == "us-east-1") {
        diagnostics.push(Diagnostic::note(
            "--region",
            "us-east-1 is not among the regions read: global services (IAM, STS's global endpoint, CloudFront, Route 53) log their calls there, so those calls are not in this analysis; add `--region us-east-1` to include them",
        ));
    }
}

/// Keys the mapping made that are not an action and a resource (never expected): said, not
/// dropped in silence.
pub(crate) fn note_unusable_keys(usage: &Usage, diagnostics: &mut Vec<Diagnostic>) {
    for (a, r) in &usage.unusable_keys {
        diagnostics.push(Diagnostic::warning(
            "mapping",
            format!(
                "internal error: `{a}` on `{r}` is not an IAM action and a resource, so it is in no proposal; please report it"
            ),
        ));
    }
}

fn note_idle(usage: &Usage, diagnostics: &mut Vec<Diagnostic>) {
    for (f, role) in &usage.idle_functions {
        diagnostics.push(Diagnostic::note(
            "function inventory",
            format!(
                "function `{f}` (role {}) made no call in this window: every permission its role grants it is unused or unobservable",
                role.as_deref().map_or("unknown", crate::identity::role_name)
            ),
        ));
    }
}

/// The S3 listing window: the filters' accounts, the `--region`s given, and the days of
/// `--since`..`--until` (now when absent) with a day of slack either side, as for local files.
fn window(filters: &Filters, regions: &[String]) -> Window {
    let days = filters.since.and_then(|s| {
        let until = filters.until.unwrap_or_else(Utc::now);
        Some((
            s.date_naive().checked_sub_days(chrono::Days::new(1))?,
            until.date_naive().checked_add_days(chrono::Days::new(1))?,
        ))
    });
    Window {
        accounts: filters.accounts.clone(),
        regions: regions.to_vec(),
        days,
    }
}
