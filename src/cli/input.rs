//! Options every trail-reading command shares, turned into the library's
//! [`ReadOptions`](crate::pipeline::ReadOptions), and the reading step every such command starts
//! with: connect when needed, read, report the input's problems.

use std::ops::ControlFlow;
use std::path::PathBuf;

use chrono::Utc;
use clap::Args;

use super::Exit;
use crate::athena::{Dialect, Partitions};
use crate::fold::GeneralizeLevel;
use crate::pipeline::{Analysis, AthenaOptions, Location, ReadOptions};
use crate::source::live::{Connect, Live};

/// The records a command reads: its time window and accounts.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Input")]
pub struct WindowArgs {
    /// Only records at or after this time: RFC 3339, a date, or relative (`90d`, `12h`).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,

    /// Only records at or before this time: RFC 3339, a date, or relative (`1d`).
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,

    /// Only these accounts (repeatable).
    #[arg(long = "account", value_name = "ID")]
    pub accounts: Vec<String>,
}

#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Input")]
pub struct InputArgs {
    /// Trail files or directories (`.json`, `.json.gz`, JSON lines; `-` for stdin), or the
    /// trail bucket: `s3://BUCKET/PREFIX`.
    #[arg(required_unless_present_any = ["lookup_events", "athena"], value_name = "PATH")]
    pub paths: Vec<String>,

    /// Also read CloudTrail LookupEvents in every `--region` (management events only, at most
    /// the last 90 days; paced to AWS's 2 requests per second).
    #[arg(long)]
    pub lookup_events: bool,

    #[command(flatten)]
    pub window: WindowArgs,

    /// Only principals whose name matches this glob (repeatable; `*` and `?`).
    #[arg(long = "principal", value_name = "GLOB")]
    pub principals: Vec<String>,

    /// Functions and their configuration (repeatable): `aws lambda list-functions`,
    /// `get-function(-configuration)`, `list-event-source-mappings` or
    /// `list-function-event-invoke-configs` output (a file, or a directory of them), or `live`
    /// for those calls in every `--region` (the default when reading S3 or LookupEvents).
    #[arg(long, value_name = "FILE|DIR|live", help_heading = "Analysis")]
    pub functions: Vec<PathBuf>,

    /// Worker threads (default: one per core).
    #[arg(long, value_name = "N", value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=4096))]
    pub threads: Option<usize>,

    /// Skip (with a warning) any input larger than this once decompressed: `512M`, `2G`, or
    /// bytes. Guards memory against decompression bombs.
    #[arg(long, value_name = "SIZE", value_parser = |s: &str| crate::model::parse_size(s).map_err(|e| e.to_string()), default_value = "1G")]
    pub max_file_size: u64,

    /// Treat unusable input (a corrupt file, a bad record) as a failure.
    #[arg(long)]
    pub strict: bool,

    /// Distinct grants held in memory while reading before they are written to a temporary
    /// file and read back as needed (memory stays bounded; the output is the same).
    #[arg(long, value_name = "GRANTS", value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..), default_value_t = crate::usage::SPILL_AFTER, help_heading = "Analysis")]
    pub spill_after: usize,

    /// Set by `generate` and `explain` ([`ReadOptions::keep_spilled`]).
    #[arg(skip)]
    pub keep_spilled: bool,

    /// Set when current policies are given ([`ReadOptions::observe`]).
    #[arg(skip)]
    pub observe: bool,

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
#[command(next_help_heading = "AWS")]
pub struct AwsArgs {
    /// The named profile (default: AWS_PROFILE, then `default`).
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,

    /// A region to read (repeatable). Records of other regions are left out, and so are the
    /// layout folders of other regions, local or in the bucket; LookupEvents and ListFunctions
    /// ask only these. The first is the one the AWS clients use. Default: every region in the
    /// trail (the profile's region for the AWS clients).
    #[arg(long = "region", value_name = "REGION")]
    pub regions: Vec<String>,

    /// Send every AWS request here (an emulator, a VPC endpoint).
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,

    /// Keep downloaded trail objects here, by ETag, so that re-runs fetch only what changed.
    #[arg(long, value_name = "DIR")]
    pub cache: Option<PathBuf>,

    /// Downloads in flight at once.
    #[arg(long, value_name = "N", default_value_t = 16)]
    pub concurrency: usize,

    /// Attempts per AWS request: throttling, 5xx and connection errors are retried with
    /// exponential backoff.
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub max_attempts: u32,
}

/// Aggregate in Amazon Athena instead of reading the trail here (see docs/scale.md).
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Athena")]
pub struct AthenaArgs {
    /// The CloudTrail table to query (`tightrole athena ddl` prints one with partition
    /// projection); no PATH is read.
    #[arg(id = "athena", long = "athena", value_name = "TABLE")]
    pub table: Option<String>,

    /// The Athena workgroup.
    #[arg(long, value_name = "NAME", default_value = "primary")]
    pub workgroup: String,

    /// The Glue database of the table.
    #[arg(long, value_name = "NAME", default_value = "default")]
    pub database: String,

    /// Where Athena writes the results (`s3://…`); the workgroup's location when not given.
    #[arg(long, value_name = "S3_URL")]
    pub output: Option<String>,

    /// Print the SQL and stop (nothing is sent to AWS).
    #[arg(long, requires = "athena")]
    pub dry_run: bool,

    /// The SQL dialect of `--dry-run` (`duckdb` runs on the same JSON files locally).
    #[arg(long, value_enum, default_value_t = Dialect::Athena)]
    pub dialect: Dialect,

    /// The price of a TB scanned, for the cost line.
    #[arg(long, value_name = "USD", default_value_t = 5.0)]
    pub price_per_tb: f64,

    /// The table's partition columns (comma-separated): the DDL of `tightrole athena ddl` has
    /// `timestamp,account,region`; AWS's single-account table has only `timestamp`.
    #[arg(
        long = "athena-partitions",
        value_name = "COLUMNS",
        value_delimiter = ',',
        default_value = "timestamp,account,region"
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
        let time = |s: &Option<String>| {
            s.as_deref()
                .map(|s| crate::model::parse_time(s, now))
                .transpose()
        };
        let has = |c: &str| self.athena.partitions.iter().any(|p| p.trim() == c);
        Ok(ReadOptions {
            paths: self.paths.clone(),
            lookup_events: self.lookup_events,
            since: time(&self.window.since)?,
            until: time(&self.window.until)?,
            accounts: self.window.accounts.clone(),
            regions: self.aws.regions.clone(),
            principals: self.principals.clone(),
            functions: self.functions.iter().map(|p| location(p)).collect(),
            threads: self.threads,
            max_file_size: self.max_file_size,
            spill_after: self.spill_after,
            keep_spilled: self.keep_spilled,
            observe: self.observe,
            time_stages: self.stats.is_some(),
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
        eprint!(
            "{}",
            crate::report::input_text(&analysis.diagnostics, &analysis.stats)
        );
        self.print_stats(&analysis.stats)?;
        if analysis.usage.records == 0 {
            let filters = opts.filters();
            eprint!(
                "{}",
                crate::report::no_input_text(&analysis.stats, &filters)
            );
            return Ok(ControlFlow::Break(if analysis.stats.all_filtered_out() {
                Exit::OutsideFilters
            } else {
                Exit::NoInput
            }));
        }
        Ok(ControlFlow::Continue(analysis))
    }

    /// `--stats`: the read's figures on stderr.
    pub fn print_stats(&self, stats: &crate::usage::Stats) -> anyhow::Result<()> {
        match self.stats {
            Some(StatsFormat::Text) => eprintln!("stats: {}", crate::report::stats_text(stats)),
            Some(StatsFormat::Json) => eprintln!("{}", serde_json::to_string(stats)?),
            None => {}
        }
        Ok(())
    }

    /// The exit code once the command's own output is written.
    pub fn final_exit(&self, analysis: &Analysis) -> Exit {
        self.final_exit_after(analysis.warnings())
    }

    /// As [`InputArgs::final_exit`], for a read that had `warnings` warnings.
    pub fn final_exit_after(&self, warnings: usize) -> Exit {
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
