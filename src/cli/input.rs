//! Options every trail-reading command shares, and the pipeline they run.

use std::path::PathBuf;

use anyhow::{Context as _, bail};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use clap::Args;

use super::Exit;
use crate::diag::{Diagnostic, Level};
use crate::identity::Inventory;
use crate::usage::{Filters, Stats, Usage, collect};

#[derive(Debug, Clone, Args)]
pub struct InputArgs {
    /// Trail files or directories (`.json`, `.json.gz`, JSON lines; `-` for stdin).
    #[arg(required = true, value_name = "PATH", help_heading = "Input")]
    pub paths: Vec<String>,

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

    /// Function inventory: the JSON printed by `aws lambda list-functions`.
    #[arg(long, value_name = "FILE", help_heading = "Analysis")]
    pub functions: Option<PathBuf>,

    /// Worker threads (default: one per core).
    #[arg(long, value_name = "N", help_heading = "Input")]
    pub threads: Option<usize>,

    /// Treat unusable input (a corrupt file, a bad record) as a failure.
    #[arg(long, help_heading = "Input")]
    pub strict: bool,

    /// Print end-of-run figures (files, bytes, records, throughput, time per stage) to stderr,
    /// as text or JSON.
    #[arg(long, value_enum, value_name = "FORMAT", num_args = 0..=1, require_equals = true, default_missing_value = "text", help_heading = "Output")]
    pub stats: Option<StatsFormat>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StatsFormat {
    Text,
    Json,
}

/// Parses `--since`/`--until`: RFC 3339, `YYYY-MM-DD`, or `N{s,m,h,d,w}` before now.
pub fn parse_time(s: &str, now: DateTime<Utc>) -> anyhow::Result<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        if let Some(t) = d.and_hms_opt(0, 0, 0) {
            return Ok(t.and_utc());
        }
    }
    let (num, unit) = s.split_at(s.len().saturating_sub(1));
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
}

impl InputArgs {
    /// Reads, attributes and aggregates every input.
    pub fn analyze(&self) -> anyhow::Result<Analysis> {
        let now = Utc::now();
        let filters = Filters {
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
        };
        let inventory = match &self.functions {
            Some(path) => {
                let text = std::fs::read_to_string(path).with_context(|| {
                    format!("cannot read function inventory `{}`", path.display())
                })?;
                Inventory::parse(&text).map_err(|e| {
                    anyhow::anyhow!(
                        "`{}` is not `aws lambda list-functions` output: {}",
                        path.display(),
                        crate::source::serde_reason(&e)
                    )
                })?
            }
            None => Inventory::default(),
        };
        let (inputs, mut diagnostics) = crate::source::discover(&self.paths);
        let (agg, stats, diags) = collect(&inputs, &filters, self.threads);
        diagnostics.extend(diags);
        let mut usage = Usage::resolve(agg, &inventory);
        usage.retain_principals(&self.principals);
        Ok(Analysis {
            usage,
            stats,
            diagnostics,
        })
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
            eprintln!("{level}: {} more input(s) with: {message}", n - 10);
        }
    }
}

impl Analysis {
    /// Prints diagnostics and stats to stderr; returns the exit code the input alone calls for
    /// (`None` when the command may go on to succeed).
    pub fn report_input(&self, args: &InputArgs) -> Option<Exit> {
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
