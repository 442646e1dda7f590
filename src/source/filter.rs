//! Which records and inputs a run keeps: the window, the accounts and the regions, applied to
//! each record before it is mapped, and to an input's S3 layout path before it is even read.

use chrono::{DateTime, Days, Utc};

use super::{Input, layout_info};

/// Record filters, applied before mapping.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// Accounts to keep (all when empty).
    pub accounts: Vec<String>,
    /// Regions to keep (all when empty): `--region`, for local files as for the bucket.
    pub regions: Vec<String>,
    /// Functions of the inventory: their sessions are never folded early.
    pub functions: std::collections::BTreeSet<String>,
    /// Fold S3 object keys and log streams into the patterns a generalized policy names as
    /// they are read (see [`crate::usage::Aggregate::add_span`]); only for commands that generalize.
    pub fold_resources: bool,
    /// Inputs larger than this once decompressed are skipped with a warning (`None`: the
    /// default, [`crate::source::DEFAULT_MAX_FILE_SIZE`]).
    pub max_file_size: Option<u64>,
    /// Time each input's decompression and parse in the thread's CPU time, for `--stats`
    /// ([`crate::source::FileReport::seconds_parse`]): three reads of that clock a file, each a
    /// system call (some 500 ns, and a run-queue lock) on the machines measured, so they are
    /// made only when asked for.
    pub time_stages: bool,
}

impl Filters {
    /// The record filters in force, as the options that set them: `--since 2027-01-01T00:00:00Z,
    /// --account 111122223333`; empty when none is.
    pub fn describe(&self) -> String {
        let time = |t: &DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let mut parts = Vec::new();
        if let Some(t) = &self.since {
            parts.push(format!("--since {}", time(t)));
        }
        if let Some(t) = &self.until {
            parts.push(format!("--until {}", time(t)));
        }
        if !self.accounts.is_empty() {
            parts.push(format!("--account {}", self.accounts.join(",")));
        }
        if !self.regions.is_empty() {
            parts.push(format!("--region {}", self.regions.join(",")));
        }
        parts.join(", ")
    }

    pub fn keeps_time(&self, t: DateTime<Utc>) -> bool {
        self.since.is_none_or(|s| t >= s) && self.until.is_none_or(|u| t <= u)
    }

    pub fn keeps_account(&self, a: &str) -> bool {
        self.accounts.is_empty() || self.accounts.iter().any(|x| x == a)
    }

    pub fn keeps_region(&self, r: &str) -> bool {
        self.regions.is_empty() || self.regions.iter().any(|x| x == r)
    }

    /// Can a file at this path hold records the filters keep? Uses the S3 layout
    /// (`…/ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/`), with a day of slack for delivery delay.
    pub fn keeps_path(&self, path: &str) -> bool {
        let Some(l) = layout_info(path) else {
            return true;
        };
        if !self.keeps_account(&l.account) || !self.keeps_region(&l.region) {
            return false;
        }
        if let Some(s) = self.since
            && let Some(limit) = s.date_naive().checked_sub_days(Days::new(1))
            && l.date < limit
        {
            return false;
        }
        if let Some(u) = self.until
            && let Some(limit) = u.date_naive().checked_add_days(Days::new(1))
            && l.date > limit
        {
            return false;
        }
        true
    }
}

/// Inputs that arrive while others are read: remote objects as their downloads finish.
pub struct Stream {
    /// How many inputs will arrive, and their size in bytes, as far as known (for progress).
    pub count: usize,
    pub bytes: u64,
    /// Each input with its place in the overall order (for the order of diagnostics).
    pub inputs: Box<dyn Iterator<Item = (usize, Input)> + Send>,
}
