//! Options every trail-reading command shares, turned into the library's
//! [`ReadOptions`](crate::pipeline::ReadOptions), and the reading step every such command starts
//! with: connect when needed, read, report the input's problems.

use std::ops::ControlFlow;
use std::path::PathBuf;

use anyhow::{Context as _, bail};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use clap::Args;

use super::Exit;
use crate::athena::{Dialect, Partitions};
use crate::fold::GeneralizeLevel;
use crate::pipeline::{Analysis, AthenaOptions, Location, ReadOptions};
use crate::source::live::{Connect, Live};

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
    pub fn connect_options(&self) -> Connect {
        Connect {
            profile: self.profile.clone(),
            regions: self.regions.clone(),
            endpoint_url: self.endpoint_url.clone(),
            max_attempts: self.max_attempts,
        }
    }
}

/// A path option that may name AWS instead (`--current live`, `--functions live`).
pub fn location(path: &std::path::Path) -> Location {
    Location::parse(path.to_path_buf())
}

/// A reading command's start: the AWS connection (when anything is read from AWS) and what was
/// read.
pub struct Read {
    pub live: Option<Live>,
    pub analysis: Analysis,
}

impl InputArgs {
    /// The library's options for these arguments; `key_level` is how far the command lets
    /// resources be folded as they are read (its `--generalize`, or exact).
    pub fn options(&self, key_level: GeneralizeLevel) -> anyhow::Result<ReadOptions> {
        let now = Utc::now();
        let time = |s: &Option<String>| s.as_deref().map(|s| parse_time(s, now)).transpose();
        let has = |c: &str| self.athena.partitions.iter().any(|p| p.trim() == c);
        Ok(ReadOptions {
            paths: self.paths.clone(),
            lookup_events: self.lookup_events,
            since: time(&self.since)?,
            until: time(&self.until)?,
            accounts: self.accounts.clone(),
            regions: self.aws.regions.clone(),
            principals: self.principals.clone(),
            functions: self.functions.as_deref().map(location),
            threads: self.threads,
            max_file_size: self.max_file_size,
            key_level,
            cache: self.aws.cache.clone(),
            concurrency: self.aws.concurrency,
            athena: self.athena.table.as_ref().map(|table| AthenaOptions {
                table: table.clone(),
                workgroup: self.athena.workgroup.clone(),
                database: self.athena.database.clone(),
                output: self.athena.output.clone(),
                price_per_tb: self.athena.price_per_tb,
                partitions: Partitions {
                    timestamp: has("timestamp"),
                    account: has("account"),
                    region: has("region"),
                },
            }),
        })
    }

    /// Connects to AWS when `opts` (or the command's own options, `also`) read from it. A dry
    /// run of `--athena` sends nothing.
    pub fn live(&self, opts: &ReadOptions, also: bool) -> anyhow::Result<Option<Live>> {
        let needs = if self.athena.dry_run {
            ReadOptions {
                athena: None,
                ..opts.clone()
            }
            .needs_aws(also)
        } else {
            opts.needs_aws(also)
        };
        Ok(if needs {
            Some(crate::pipeline::connect(&self.aws.connect_options())?)
        } else {
            None
        })
    }

    /// Connects when needed, then [`analyze`](Self::analyze)s.
    pub fn read(
        &self,
        key_level: GeneralizeLevel,
        also_live: bool,
    ) -> anyhow::Result<ControlFlow<Exit, Read>> {
        let opts = self.options(key_level)?;
        let live = self.live(&opts, also_live)?;
        Ok(match self.analyze(&opts, live.as_ref())? {
            ControlFlow::Break(exit) => ControlFlow::Break(exit),
            ControlFlow::Continue(analysis) => ControlFlow::Continue(Read { live, analysis }),
        })
    }

    /// Reads the trail and reports the input's problems and figures on stderr. `Break` with the
    /// exit code when the command stops here: `--athena … --dry-run` printed its SQL, or no
    /// usable record was read.
    pub fn analyze(
        &self,
        opts: &ReadOptions,
        live: Option<&Live>,
    ) -> anyhow::Result<ControlFlow<Exit, Analysis>> {
        opts.validate()?;
        if self.athena.dry_run
            && let Some(sql) = opts.athena_sql(self.athena.dialect)
        {
            super::print_stdout(&sql)?;
            return Ok(ControlFlow::Break(Exit::Ok));
        }
        let analysis = crate::pipeline::analyze(opts, live)?;
        eprint!("{}", crate::report::diagnostics_text(&analysis.diagnostics));
        if analysis.warnings() > 0 {
            eprintln!(
                "summary: {} of {} input(s) unusable, {} unusable record(s); everything else was read",
                analysis.stats.files_unusable, analysis.stats.files, analysis.stats.records_bad
            );
        }
        match self.stats {
            Some(StatsFormat::Text) => {
                eprintln!("stats: {}", crate::report::stats_text(&analysis.stats))
            }
            Some(StatsFormat::Json) => eprintln!("{}", serde_json::to_string(&analysis.stats)?),
            None => {}
        }
        if analysis.usage.records == 0 {
            eprintln!("error: no usable CloudTrail record was read, so no policy can be concluded");
            if analysis.stats.records_filtered_out > 0 {
                eprintln!(
                    "help: {} record(s) were outside the `--since`/`--until`/`--account` filters",
                    analysis.stats.records_filtered_out
                );
            } else {
                eprintln!(
                    "help: check the paths; trail files are `.json` or `.json.gz` under AWSLogs/…/CloudTrail/"
                );
            }
            return Ok(ControlFlow::Break(Exit::NoInput));
        }
        Ok(ControlFlow::Continue(analysis))
    }

    /// The exit code once the command's own output is written.
    pub fn final_exit(&self, analysis: &Analysis) -> Exit {
        let warnings = analysis.warnings();
        if self.strict && warnings > 0 {
            eprintln!("error: {warnings} input warning(s) and `--strict` was given");
            return Exit::InputWarnings;
        }
        Exit::Ok
    }
}

/// `let Read { live, analysis } = read!(args.input.read(…));`: returns the exit code when the
/// read says to stop.
macro_rules! read {
    ($e:expr) => {
        match $e? {
            std::ops::ControlFlow::Break(exit) => return Ok(exit),
            std::ops::ControlFlow::Continue(read) => read,
        }
    };
}
pub(crate) use read;

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
