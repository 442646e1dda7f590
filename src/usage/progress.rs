//! A progress bar on stderr while files are read: files, bytes, records per second, ETA. Only
//! when stderr is a terminal; otherwise nothing.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

pub struct Progress {
    bar: Option<ProgressBar>,
    records: AtomicU64,
    started: std::time::Instant,
}

/// Would a bar be drawn (stderr is a terminal, and `TIGHTROLE_NO_PROGRESS` is not set)?
pub fn wanted() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("TIGHTROLE_NO_PROGRESS").is_none()
}

impl Progress {
    /// A bar for `count` inputs of `total` bytes in all.
    pub fn new(count: usize, total: u64) -> Progress {
        let show = wanted() && count > 1;
        let bar = show.then(|| {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            if let Ok(style) =
                ProgressStyle::with_template("{bar:30} {bytes}/{total_bytes} {msg} eta {eta}")
            {
                bar.set_style(style);
            }
            bar
        });
        Progress {
            bar,
            records: AtomicU64::new(0),
            started: std::time::Instant::now(),
        }
    }

    pub fn file_done(&self, bytes: u64, records: u64) {
        let total = self.records.fetch_add(records, Ordering::Relaxed) + records;
        if let Some(bar) = &self.bar {
            bar.inc(bytes);
            let secs = self.started.elapsed().as_secs_f64().max(1e-3);
            bar.set_message(format!(
                "{total} records, {:.0} records/s",
                total as f64 / secs
            ));
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
