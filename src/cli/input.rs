//! Options every trail-reading command shares, and the pipeline they run.

use std::path::PathBuf;

use anyhow::{Context as _, bail};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use clap::Args;

use super::Exit;
use crate::diag::{Diagnostic, Level};
use crate::identity::Inventory;
use crate::source::athena::{Dialect, Partitions};
use crate::source::live::s3::{S3Url, Window};
use crate::source::live::{Connect, Live, Sources, lookup};
use crate::usage::{Aggregate, Filters, Stats, Usage, collect_paths, collect_stream};

#[derive(Debug, Clone, Args)]
pub struct InputArgs {
    /// Trail files or directories (`.json`, `.json.gz`, JSON lines; `-` for stdin), or the
    /// trail bucket: `s3://BUCKET/PREFIX`.
    #[arg(
        required_unless_present_any = ["lookup_events", "athena"],
        value_name = "PATH",
        help_heading = "Input"
    )]
    pub paths: Vec<String>,

    /// Also read CloudTrail LookupEvents in every `--region` (management events only, at most
    /// the last 90 days; paced to AWS's 2 requests per second).
    #[arg(long, help_heading = "Input")]
    pub lookup_events: bool,

    /// Only records at or after this time: RFC 3339, a date, or relative (`90d`, `12h`).
    #[arg(long, value_name = "TIME", help_heading = "Input")]
    pub since: Option<String>,

    /// Only records at or before this time: RFC 3339, a date, or relative (`1d`).
    #[arg(long, value_name = "TIME", help_heading = "Input")]
    pub until: Option<String>,

    /// Only these accounts (repeatable).
    #[arg(long = "account", value_name = "ID", help_heading = "Input")]
    pub accounts: Vec<String>,

    /// Only principals whose name matches this glob (repeatable; `*` and `?`).
    #[arg(long = "principal", value_name = "GLOB", help_heading = "Input")]
    pub principals: Vec<String>,

    /// Function inventory: the JSON printed by `aws lambda list-functions`, or `live` for
    /// ListFunctions in every `--region` (the default when reading S3 or LookupEvents).
    #[arg(long, value_name = "FILE|live", help_heading = "Analysis")]
    pub functions: Option<PathBuf>,

    /// Worker threads (default: one per core).
    #[arg(long, value_name = "N", value_parser = thread_count, help_heading = "Input")]
    pub threads: Option<usize>,

    /// Skip (with a warning) any input larger than this once decompressed: `512M`, `2G`, or
    /// bytes. Guards memory against decompression bombs.
    #[arg(long, value_name = "SIZE", value_parser = byte_size, default_value = "1G", help_heading = "Input")]
    pub max_file_size: u64,

    /// Treat unusable input (a corrupt file, a bad record) as a failure.
    #[arg(long, help_heading = "Input")]
    pub strict: bool,

    #[command(flatten)]
    pub aws: AwsArgs,

    #[command(flatten)]
    pub athena: AthenaArgs,

    /// How far resources may be folded as they are read, and S3 object keys cut when Athena
    /// aggregates: set from `--generalize` by the commands that write policies. Every other
    /// command sees the exact resources (a replay or a diff must not see patterns).
    #[arg(skip = crate::synth::Level::Exact)]
    pub key_level: crate::synth::Level,

    /// Print end-of-run figures (files, bytes, records, throughput, time per stage) to stderr,
    /// as text or JSON.
    #[arg(long, value_enum, value_name = "FORMAT", num_args = 0..=1, require_equals = true, default_missing_value = "text", help_heading = "Output")]
    pub stats: Option<StatsFormat>,
}

/// How to reach AWS, as for the AWS CLI. Only used by the live sources (`s3://…`,
/// `--lookup-events`, `--functions live`, `--current live`).
#[derive(Debug, Clone, Args)]
pub struct AwsArgs {
    /// The named profile (default: AWS_PROFILE, then `default`).
    #[arg(long, value_name = "NAME", help_heading = "AWS")]
    pub profile: Option<String>,

    /// A region to read (repeatable). Records of other regions are left out, and so are the
    /// layout folders of other regions, local or in the bucket; LookupEvents and ListFunctions
    /// ask only these. The first is the one the AWS clients use. Default: every region in the
    /// trail (the profile's region for the AWS clients).
    #[arg(long = "region", value_name = "REGION", help_heading = "AWS")]
    pub regions: Vec<String>,

    /// Send every AWS request here (an emulator, a VPC endpoint).
    #[arg(long, value_name = "URL", help_heading = "AWS")]
    pub endpoint_url: Option<String>,

    /// Keep downloaded trail objects here, by ETag, so that re-runs fetch only what changed.
    #[arg(long, value_name = "DIR", help_heading = "AWS")]
    pub cache: Option<PathBuf>,

    /// Downloads in flight at once.
    #[arg(long, value_name = "N", default_value_t = 16, help_heading = "AWS")]
    pub concurrency: usize,

    /// Attempts per AWS request: throttling, 5xx and connection errors are retried with
    /// exponential backoff.
    #[arg(long, value_name = "N", default_value_t = 5, help_heading = "AWS")]
    pub max_attempts: u32,
}

/// Aggregate in Amazon Athena instead of reading the trail here (see docs/scale.md).
#[derive(Debug, Clone, Args)]
pub struct AthenaArgs {
    /// The CloudTrail table to query (`tightrole athena ddl` prints one with partition
    /// projection); no PATH is read.
    #[arg(
        id = "athena",
        long = "athena",
        value_name = "TABLE",
        help_heading = "Athena"
    )]
    pub table: Option<String>,

    /// The Athena workgroup.
    #[arg(
        long,
        value_name = "NAME",
        default_value = "primary",
        help_heading = "Athena"
    )]
    pub workgroup: String,

    /// The Glue database of the table.
    #[arg(
        long,
        value_name = "NAME",
        default_value = "default",
        help_heading = "Athena"
    )]
    pub database: String,

    /// Where Athena writes the results (`s3://…`); the workgroup's location when not given.
    #[arg(long, value_name = "S3_URL", help_heading = "Athena")]
    pub output: Option<String>,

    /// Print the SQL and stop (nothing is sent to AWS).
    #[arg(long, requires = "athena", help_heading = "Athena")]
    pub dry_run: bool,

    /// The SQL dialect of `--dry-run` (`duckdb` runs on the same JSON files locally).
    #[arg(long, value_enum, default_value_t = Dialect::Athena, help_heading = "Athena")]
    pub dialect: Dialect,

    /// The price of a TB scanned, for the cost line.
    #[arg(
        long,
        value_name = "USD",
        default_value_t = 5.0,
        help_heading = "Athena"
    )]
    pub price_per_tb: f64,

    /// The table's partition columns (comma-separated): the DDL of `tightrole athena ddl` has
    /// `timestamp,account,region`; AWS's single-account table has only `timestamp`.
    #[arg(
        long = "athena-partitions",
        value_name = "COLUMNS",
        value_delimiter = ',',
        default_value = "timestamp,account,region",
        help_heading = "Athena"
    )]
    pub partitions: Vec<String>,
}

impl AwsArgs {
    pub fn connect(&self) -> anyhow::Result<Live> {
        Ok(Live::connect(&Connect {
            profile: self.profile.clone(),
            regions: self.regions.clone(),
            endpoint_url: self.endpoint_url.clone(),
            max_attempts: self.max_attempts,
        })?)
    }
}

/// Loads `--current`: a file or folder, or (`live`) GetAccountAuthorizationDetails.
pub fn load_current(
    path: &std::path::Path,
    live: Option<&Live>,
    diags: &mut Vec<Diagnostic>,
) -> anyhow::Result<crate::policy::current::CurrentPolicies> {
    if is_live(path) {
        let Some(live) = live else {
            bail!("internal error: `--current live` without an AWS connection");
        };
        return Ok(crate::source::live::iam::current(live, diags)?);
    }
    Ok(crate::policy::current::load(path, diags)?)
}

/// `--current live` and `--functions live` name AWS, not a file (`./live` is the file).
pub fn is_live(path: &std::path::Path) -> bool {
    path.as_os_str() == "live"
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StatsFormat {
    Text,
    Json,
}

/// `--threads`: a count of at least 1.
fn thread_count(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err("a number of threads, 1 or more".to_string()),
    }
}

/// Parses `--since`/`--until`: RFC 3339, `YYYY-MM-DD`, or `N{s,m,h,d,w}` before now.
pub fn parse_time(s: &str, now: DateTime<Utc>) -> anyhow::Result<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d")
        && let Some(t) = d.and_hms_opt(0, 0, 0)
    {
        return Ok(t.and_utc());
    }
    // the last character is the unit (cut on a character boundary: `90日` is an error, not a panic)
    let (num, unit) = s.split_at(s.char_indices().last().map_or(0, |(i, _)| i));
    let n: i64 = num.parse().with_context(|| {
        format!("`{s}` is not a time: use RFC 3339, YYYY-MM-DD, or a duration like `90d`")
    })?;
    let d = match unit {
        "s" => Duration::try_seconds(n),
        "m" => Duration::try_minutes(n),
        "h" => Duration::try_hours(n),
        "d" => Duration::try_days(n),
        "w" => Duration::try_weeks(n),
        _ => None,
    };
    match d.and_then(|d| now.checked_sub_signed(d)) {
        Some(t) => Ok(t),
        None => bail!("`{s}` is not a time: use RFC 3339, YYYY-MM-DD, or a duration like `90d`"),
    }
}

pub struct Analysis {
    pub usage: Usage,
    pub stats: Stats,
    pub diagnostics: Vec<Diagnostic>,
    /// `--athena … --dry-run`: the SQL was printed and nothing else is to be done.
    pub dry_run: bool,
}

impl InputArgs {
    /// The record filters these options ask for.
    pub fn filters(&self) -> anyhow::Result<Filters> {
        let now = Utc::now();
        Ok(Filters {
            since: self
                .since
                .as_deref()
                .map(|s| parse_time(s, now))
                .transpose()?,
            until: self
                .until
                .as_deref()
                .map(|s| parse_time(s, now))
                .transpose()?,
            accounts: self.accounts.clone(),
            regions: self.aws.regions.clone(),
            functions: Default::default(),
            fold_resources: self.key_level != crate::synth::Level::Exact,
            max_file_size: Some(self.max_file_size),
        })
    }

    /// Are records read from AWS (the bucket, LookupEvents or Athena)?
    fn reads_aws_trail(&self) -> bool {
        self.lookup_events
            || self.paths.iter().any(|p| p.starts_with("s3://"))
            || (self.athena.table.is_some() && !self.athena.dry_run)
    }

    /// Connects to AWS when these options (or the command's own, `also`) read from it.
    pub fn live(&self, also: bool) -> anyhow::Result<Option<Live>> {
        if also || self.reads_aws_trail() || self.functions.as_deref().is_some_and(is_live) {
            Ok(Some(self.aws.connect()?))
        } else {
            Ok(None)
        }
    }

    /// The function inventory: `--functions FILE`, or ListFunctions when live.
    pub fn inventory(&self, live: Option<&Live>) -> anyhow::Result<Inventory> {
        match (&self.functions, live) {
            (Some(path), _) if !is_live(path) => {
                let text = std::fs::read_to_string(path).with_context(|| {
                    format!("cannot read function inventory `{}`", path.display())
                })?;
                Inventory::parse(&text).map_err(|e| {
                    anyhow::anyhow!(
                        "`{}` is not `aws lambda list-functions` output: {}",
                        path.display(),
                        crate::source::serde_reason(&e)
                    )
                })
            }
            (Some(_), Some(live)) => Ok(crate::source::live::lambda::inventory(live)?),
            (None, Some(live)) if self.reads_aws_trail() => {
                Ok(crate::source::live::lambda::inventory(live)?)
            }
            _ => Ok(Inventory::default()),
        }
    }

    /// Reads, attributes and aggregates every input. `live` is the AWS connection from
    /// [`live`](Self::live), shared with `--current live`.
    pub fn analyze(&self, live: Option<&Live>) -> anyhow::Result<Analysis> {
        if let Some(n) = self.threads {
            // For the whole run (reading, synthesis, replay), not only the read. Fails only when
            // the pool was built before, in which case it is already in use.
            let _ = rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build_global();
        }
        let mut filters = self.filters()?;
        if let Some(table) = &self.athena.table {
            if !self.paths.is_empty() || self.lookup_events {
                bail!(
                    "`--athena` reads the table, not PATHs or LookupEvents: give one or the other"
                );
            }
            if self.athena.dry_run {
                let query = self.athena_query(table, &filters);
                super::print_stdout(&crate::source::athena::sql(&query, self.athena.dialect))?;
                return Ok(Analysis {
                    usage: Usage::default(),
                    stats: Stats::default(),
                    diagnostics: Vec::new(),
                    dry_run: true,
                });
            }
        }
        let inventory = self.inventory(live)?;
        filters.functions = inventory.functions.keys().cloned().collect();
        let (agg, stats, mut diagnostics) = match (&self.athena.table, live) {
            (Some(table), Some(live)) => self.read_athena(table, &filters, live)?,
            (Some(_), None) => bail!("internal error: `--athena` without an AWS connection"),
            (None, _) => self.read_trail(&filters, live)?,
        };
        let mut usage = Usage::resolve(agg, &inventory);
        usage.retain_principals(&self.principals);
        self.note_idle(&usage, &mut diagnostics);
        Ok(Analysis {
            usage,
            stats,
            diagnostics,
            dry_run: false,
        })
    }

    /// Reads the trail: local files, and the bucket and LookupEvents when live.
    fn read_trail(
        &self,
        filters: &Filters,
        live: Option<&Live>,
    ) -> anyhow::Result<(Aggregate, Stats, Vec<Diagnostic>)> {
        let (urls, local): (Vec<&String>, Vec<&String>) =
            self.paths.iter().partition(|p| p.starts_with("s3://"));
        let local: Vec<String> = local.into_iter().cloned().collect();
        let mut diagnostics = Vec::new();
        let (agg, stats, diags) = match live {
            Some(live) if !urls.is_empty() || self.lookup_events => {
                let (inputs, found) = crate::source::discover(&local);
                diagnostics.extend(found);
                let sources = Sources {
                    buckets: urls
                        .iter()
                        .map(|u| S3Url::parse(u))
                        .collect::<Result<_, _>>()?,
                    window: window(filters, &self.aws.regions),
                    lookup: self.lookup_events.then_some(lookup::Query {
                        since: filters.since,
                        until: filters.until,
                    }),
                    cache: self.aws.cache.clone(),
                    concurrency: self.aws.concurrency,
                    filters: filters.clone(),
                };
                let (stream, mut pending) = live.start(&sources, inputs)?;
                let (agg, mut stats, diags) = collect_stream(stream, filters, self.threads);
                diagnostics.extend(live.finish(&mut pending)?);
                diagnostics.extend(pending.notes.clone());
                self.note_regions(&mut diagnostics);
                stats.live = Some(pending.stats.snapshot());
                (agg, stats, diags)
            }
            _ => collect_paths(local, filters, self.threads),
        };
        diagnostics.extend(diags);
        Ok((agg, stats, diagnostics))
    }

    /// The Athena query these options ask for.
    pub fn athena_query(&self, table: &str, filters: &Filters) -> crate::source::athena::Query {
        let has = |c: &str| self.athena.partitions.iter().any(|p| p.trim() == c);
        crate::source::athena::Query {
            table: table.to_string(),
            since: filters.since,
            until: filters.until,
            accounts: filters.accounts.clone(),
            regions: self.aws.regions.clone(),
            generalize: self.key_level,
            partitions: Partitions {
                timestamp: has("timestamp"),
                account: has("account"),
                region: has("region"),
            },
        }
    }

    /// Runs the aggregation on Athena and reads its rows.
    fn read_athena(
        &self,
        table: &str,
        filters: &Filters,
        live: &Live,
    ) -> anyhow::Result<(Aggregate, Stats, Vec<Diagnostic>)> {
        let query = self.athena_query(table, filters);
        let sql = crate::source::athena::sql(&query, Dialect::Athena);
        let done = crate::source::live::athena::run(
            live,
            &sql,
            &crate::source::live::athena::Target {
                workgroup: self.athena.workgroup.clone(),
                database: self.athena.database.clone(),
                output: self.athena.output.clone(),
            },
        )?;
        let cost = crate::source::live::athena::cost(done.bytes_scanned, self.athena.price_per_tb);
        let mut unbounded = Vec::new();
        if filters.since.is_none() {
            unbounded.push(Diagnostic::note(
                format!("--athena {table}"),
                "no `--since`: the query was not limited to a window of days and scanned the whole table",
            ));
        }
        let name = format!("athena query {}", done.execution_id);
        let (agg, mut stats, mut diagnostics) =
            crate::usage::collect_rows(&name, &done.rows, filters);
        diagnostics.extend(unbounded);
        self.note_regions(&mut diagnostics);
        diagnostics.push(Diagnostic::note(
            &name,
            format!(
                "{} row(s) for {} call(s); {} byte(s) scanned, about USD {cost:.4} at USD {} per TB; {:.1} s",
                done.rows.len(),
                stats.records,
                done.bytes_scanned,
                self.athena.price_per_tb,
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
    fn note_regions(&self, diagnostics: &mut Vec<Diagnostic>) {
        let regions = &self.aws.regions;
        if !regions.is_empty() && !regions.iter().any(|r| r == "us-east-1") {
            diagnostics.push(Diagnostic::note(
                "--region",
                "us-east-1 is not among the regions read: global services (IAM, STS's global endpoint, CloudFront, Route 53) log their calls there, so those calls are not in this analysis; add `--region us-east-1` to include them",
            ));
        }
    }

    fn note_idle(&self, usage: &Usage, diagnostics: &mut Vec<Diagnostic>) {
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

/// Prints diagnostics, at most ten of each message: a directory of 100,000 empty files says so
/// in a dozen lines, not 100,000.
pub fn print_diagnostics(diags: &[Diagnostic]) {
    let mut seen: std::collections::BTreeMap<(Level, &str), usize> =
        std::collections::BTreeMap::new();
    for d in diags {
        let n = seen.entry((d.level, d.message.as_str())).or_default();
        *n += 1;
        if *n <= 10 {
            eprintln!("{d}");
        }
    }
    for ((level, message), n) in seen {
        if n > 10 {
            let level = if level == Level::Warning {
                "warning"
            } else {
                "note"
            };
            eprintln!(
                "{level}: {} more input(s) with: {}",
                n - 10,
                crate::escape::terminal(message)
            );
        }
    }
}

impl Analysis {
    /// Prints diagnostics and stats to stderr; returns the exit code the input alone calls for
    /// (`None` when the command may go on to succeed).
    pub fn report_input(&self, args: &InputArgs) -> Option<Exit> {
        if self.dry_run {
            return Some(Exit::Ok);
        }
        print_diagnostics(&self.diagnostics);
        let warnings = self
            .diagnostics
            .iter()
            .filter(|d| d.level == Level::Warning)
            .count();
        if warnings > 0 {
            eprintln!(
                "summary: {} of {} input(s) unusable, {} unusable record(s); everything else was read",
                self.stats.files_unusable, self.stats.files, self.stats.records_bad
            );
        }
        match args.stats {
            Some(StatsFormat::Text) => {
                eprintln!("stats: {}", crate::report::stats_text(&self.stats))
            }
            Some(StatsFormat::Json) => {
                eprintln!("{}", serde_json::to_string(&self.stats).unwrap_or_default())
            }
            None => {}
        }
        if self.usage.records == 0 {
            eprintln!("error: no usable CloudTrail record was read, so no policy can be concluded");
            if self.stats.records_filtered_out > 0 {
                eprintln!(
                    "help: {} record(s) were outside the `--since`/`--until`/`--account` filters",
                    self.stats.records_filtered_out
                );
            } else {
                eprintln!(
                    "help: check the paths; trail files are `.json` or `.json.gz` under AWSLogs/…/CloudTrail/"
                );
            }
            return Some(Exit::NoInput);
        }
        None
    }

    /// The exit code once the command's own output is written.
    pub fn final_exit(&self, args: &InputArgs) -> Exit {
        let warnings = self
            .diagnostics
            .iter()
            .filter(|d| d.level == Level::Warning)
            .count();
        if args.strict && warnings > 0 {
            eprintln!("error: {warnings} input warning(s) and `--strict` was given");
            return Exit::InputWarnings;
        }
        Exit::Ok
    }
}

/// `--max-file-size`: bytes, or a number with `K`, `M`, `G` (powers of 1,024).
fn byte_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (num, mul) = match t.char_indices().last() {
        Some((i, c)) if c.eq_ignore_ascii_case(&'k') => (&t[..i], 1u64 << 10),
        Some((i, c)) if c.eq_ignore_ascii_case(&'m') => (&t[..i], 1 << 20),
        Some((i, c)) if c.eq_ignore_ascii_case(&'g') => (&t[..i], 1 << 30),
        _ => (t, 1),
    };
    num.trim()
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mul))
        .filter(|n| *n > 0)
        .ok_or_else(|| {
            format!("`{s}` is not a size: give bytes, or a number with K, M or G (`512M`)")
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn times() {
        let now = Utc
            .with_ymd_and_hms(2026, 11, 28, 12, 0, 0)
            .single()
            .unwrap_or_default();
        let t = |s| {
            parse_time(s, now)
                .map(|t| t.to_rfc3339())
                .unwrap_or_default()
        };
        assert_eq!(t("90d"), "2026-08-30T12:00:00+00:00");
        assert_eq!(t("12h"), "2026-11-28T00:00:00+00:00");
        assert_eq!(t("2026-11-01"), "2026-11-01T00:00:00+00:00");
        assert_eq!(t("2026-11-01T10:00:00+01:00"), "2026-11-01T09:00:00+00:00");
        assert!(parse_time("soon", now).is_err());
        assert!(parse_time("5y", now).is_err());
    }
}
