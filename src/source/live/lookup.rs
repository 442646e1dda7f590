//! CloudTrail LookupEvents as a source (`--lookup-events`).
//!
//! LookupEvents needs no trail and no bucket, but it sees **management events only** (no S3
//! object reads, no DynamoDB item calls, no Lambda invocations) and at most the last 90 days.
//! It is also slow by design: AWS allows 2 requests per second per account and region, so each
//! region is paced on the client side to that rate, and regions are read side by side. Pages are
//! written to a spool file in batches and each batch is handed to the pipeline as it fills.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use aws_sdk_cloudtrail::primitives::DateTime as AwsTime;
use chrono::{DateTime, Utc};

use super::error::{Call, LiveError, explain};
use crate::source::{Input, RemoteStats};

/// The documented LookupEvents limit: 2 requests per second per account and region.
pub const REQUESTS_PER_SECOND: u32 = 2;

/// Pages per spooled batch (50 events each).
const PAGES_PER_BATCH: usize = 20;

/// What the note on every `--lookup-events` run says.
pub const MANAGEMENT_ONLY: &str = "LookupEvents returns management events only, from the last 90 days: data events (s3:GetObject and PutObject, DynamoDB item calls, lambda:InvokeFunction, …) are not in it, so permissions only they use show as unused or unobservable here; read the trail bucket (s3://…) to see them";

#[derive(Debug, Clone, Copy)]
pub struct Query {
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

/// Reads one region, every page, paced to the documented rate, sending spooled batches as
/// they fill. `index` numbers the batches (for the order of diagnostics). Stops early when
/// another read failed fatally (`stop`).
#[allow(clippy::too_many_arguments)]
pub async fn read_region(
    config: aws_config::SdkConfig,
    region: String,
    query: &Query,
    spool: PathBuf,
    index: usize,
    stats: Arc<RemoteStats>,
    stop: &std::sync::atomic::AtomicBool,
    tx: tokio::sync::mpsc::Sender<(usize, Input)>,
) -> Result<(), LiveError> {
    let client = aws_sdk_cloudtrail::Client::new(&config);
    let mut pace =
        tokio::time::interval(Duration::from_millis(1000 / u64::from(REQUESTS_PER_SECOND)));
    pace.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut token: Option<String> = None;
    let mut batch: Vec<String> = Vec::new();
    let (mut page, mut first_page, mut batches) = (0usize, 1usize, 0usize);
    loop {
        pace.tick().await;
        if stop.load(Ordering::Relaxed) {
            return Ok(());
        }
        stats.lookup_requests.fetch_add(1, Ordering::Relaxed);
        let resp = client
            .lookup_events()
            .set_start_time(
                query
                    .since
                    .map(|t| AwsTime::from_millis(t.timestamp_millis())),
            )
            .set_end_time(
                query
                    .until
                    .map(|t| AwsTime::from_millis(t.timestamp_millis())),
            )
            .max_results(50)
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(|e| explain(e, Call::LookupEvents, &format!("region {region}"), "*"))?;
        page += 1;
        for e in resp.events() {
            if let Some(text) = e.cloud_trail_event() {
                batch.push(text.to_string());
            }
        }
        stats
            .lookup_events
            .fetch_add(resp.events().len() as u64, Ordering::Relaxed);
        token = resp
            .next_token()
            .map(str::to_string)
            .filter(|t| !t.is_empty());
        let last = token.is_none();
        if (page - first_page + 1 >= PAGES_PER_BATCH || last) && !batch.is_empty() {
            let name = format!("lookup-events {region} pages {first_page}-{page}");
            let path = spool.join(format!("{index}-{batches}.json"));
            write_batch(&path, &batch).map_err(|e| LiveError::Write {
                path: path.display().to_string(),
                reason: crate::source::io_reason(&e),
            })?;
            let input = Input::Spooled {
                name,
                path,
                remove: true,
            };
            if tx.send((index + batches, input)).await.is_err() {
                return Ok(());
            }
            batch.clear();
            batches += 1;
            first_page = page + 1;
        }
        if last {
            return Ok(());
        }
    }
}

/// The batch in the shape `aws cloudtrail lookup-events` prints (`{"Events":[{"CloudTrailEvent":
/// "…"}]}`), which the file reader already accepts.
fn write_batch(path: &Path, batch: &[String]) -> std::io::Result<()> {
    let events: Vec<serde_json::Value> = batch
        .iter()
        .map(|e| serde_json::json!({ "CloudTrailEvent": e }))
        .collect();
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    serde_json::to_writer(&mut f, &serde_json::json!({ "Events": events }))?;
    f.flush()
}
