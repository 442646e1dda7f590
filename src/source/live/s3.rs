//! The trail bucket: `s3://BUCKET/PREFIX` inputs.
//!
//! The listing follows the delivery layout `AWSLogs/[ORG-ID/]ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/`
//! and prunes before it goes deep: accounts not asked for (`--account`), regions not asked for
//! (`--region`), and folders other than `CloudTrail/` (digests, Insights) are never listed; with
//! a time window, each region's day folders in the window (plus a day of slack either side, as for
//! local files) are listed directly, so a 7-day query against a 2-year trail lists 9 days, not 2
//! years. Objects are downloaded concurrently (bounded) and handed to the pipeline as each
//! arrives; `--cache DIR` keeps them by ETag so that a re-run downloads nothing that did not
//! change.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use aws_sdk_s3::Client;
use chrono::NaiveDate;

use super::Live;
use super::error::{AwsError, Call, LiveError, explain};
use crate::diag::Diagnostic;
use crate::source::{Input, RemoteStats};

/// Every AWS region, in every partition, that the S3 SDK names as a bucket location, and
/// us-east-1 (the location with no constraint), sorted: the regions a trail bucket can hold
/// folders for. The SDK's list (`BucketLocationConstraint::values`) is kept current by AWS
/// with each release; its legacy `EU` alias is not a region and is left out.
pub fn known_regions() -> Vec<&'static str> {
    let mut regions: Vec<&'static str> = aws_sdk_s3::types::BucketLocationConstraint::values()
        .iter()
        .copied()
        .filter(|r| {
            r.contains('-')
                && r.ends_with(|c: char| c.is_ascii_digit())
                && r.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
        .chain(["us-east-1"])
        .collect();
    regions.sort_unstable();
    regions.dedup();
    regions
}

/// `s3://BUCKET/PREFIX`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Url {
    pub bucket: String,
    pub prefix: String,
}

impl S3Url {
    pub fn parse(s: &str) -> Result<S3Url, LiveError> {
        let Some(rest) = s.strip_prefix("s3://") else {
            return Err(LiveError::NotS3Url { url: s.to_string() });
        };
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(LiveError::NoBucket { url: s.to_string() });
        }
        Ok(S3Url {
            bucket: bucket.to_string(),
            prefix: prefix.to_string(),
        })
    }
}

/// What the listing keeps: the layout's account, region and day folders.
#[derive(Debug, Clone, Default)]
pub struct Window {
    /// Accounts to list (all when empty).
    pub accounts: Vec<String>,
    /// Regions to list (all when empty).
    pub regions: Vec<String>,
    /// Day folders to list, inclusive (slack already added); `None` lists every day.
    pub days: Option<(NaiveDate, NaiveDate)>,
}

/// One object found by the listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    pub key: String,
    pub etag: String,
    pub size: u64,
}

/// One `ListObjectsV2` result, all pages of it.
#[derive(Debug, Default)]
pub struct Listing {
    /// Sub-folders (common prefixes), when listed with the `/` delimiter.
    pub folders: Vec<String>,
    pub objects: Vec<Object>,
}

/// Lists a bucket. The S3 implementation is [`S3Lister`]; the pruning walk is written against
/// this trait so that its decisions can be checked without a network.
pub trait Lister {
    /// Lists everything under `prefix`, or (with `delimited`) its objects and sub-folders.
    fn list(
        &self,
        prefix: &str,
        delimited: bool,
    ) -> impl Future<Output = Result<Listing, AwsError>>;
}

const TRAIL_SUFFIXES: [&str; 3] = [".json.gz", ".json", ".jsonl.gz"];

fn is_account(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// Where a folder sits in the delivery layout.
#[derive(Debug, PartialEq, Eq)]
enum Place<'a> {
    /// Above `ACCOUNT/CloudTrail/` (the bucket root, `AWSLogs/`, an organization folder).
    Above,
    /// `…/ACCOUNT/` itself.
    Account,
    /// `…/ACCOUNT/CloudTrail/`: its sub-folders are regions.
    CloudTrail,
    /// `…/CloudTrail/REGION/`.
    Region(&'a str),
    /// Below a region (a year or a day folder).
    Below,
}

fn place(prefix: &str) -> Place<'_> {
    let segs: Vec<&str> = prefix.trim_end_matches('/').split('/').collect();
    let found = (1..segs.len()).rfind(|&i| segs[i] == "CloudTrail" && is_account(segs[i - 1]));
    match found {
        Some(i) if i + 1 == segs.len() => Place::CloudTrail,
        Some(i) if i + 2 == segs.len() => Place::Region(segs[i + 1]),
        Some(_) => Place::Below,
        None if segs.last().is_some_and(|s| is_account(s)) => Place::Account,
        None => Place::Above,
    }
}

/// The last path segment of a folder prefix.
fn leaf(folder: &str) -> &str {
    folder
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default()
}

/// Walks `prefix`, pruning by the window, and returns the trail objects in key order.
pub async fn walk<L: Lister>(
    lister: &L,
    prefix: &str,
    window: &Window,
) -> Result<Vec<Object>, AwsError> {
    let mut out = Vec::new();
    // A file or an arbitrary key prefix: list it as it is.
    if !prefix.is_empty() && !prefix.ends_with('/') {
        out = lister.list(prefix, false).await?.objects;
    } else {
        let mut stack = vec![prefix.to_string()];
        while let Some(folder) = stack.pop() {
            match place(&folder) {
                Place::Region(region) => {
                    if !window.regions.is_empty() && !window.regions.iter().any(|r| r == region) {
                        continue;
                    }
                    match window.days {
                        Some((first, last)) => {
                            for day in first.iter_days().take_while(|d| *d <= last) {
                                let p = format!("{folder}{}/", day.format("%Y/%m/%d"));
                                out.extend(lister.list(&p, false).await?.objects);
                            }
                        }
                        None => out.extend(lister.list(&folder, false).await?.objects),
                    }
                }
                Place::Below => out.extend(lister.list(&folder, false).await?.objects),
                here => {
                    let listing = lister.list(&folder, true).await?;
                    out.extend(listing.objects);
                    for sub in listing.folders {
                        let name = leaf(&sub);
                        let keep = match here {
                            // Only `CloudTrail/`: not `CloudTrail-Digest/`, `CloudTrail-Insight/`.
                            Place::Account => name == "CloudTrail",
                            Place::CloudTrail => {
                                window.regions.is_empty()
                                    || window.regions.iter().any(|r| r == name)
                            }
                            _ => {
                                !is_account(name)
                                    || window.accounts.is_empty()
                                    || window.accounts.iter().any(|a| a == name)
                            }
                        };
                        if keep {
                            stack.push(sub);
                        }
                    }
                }
            }
        }
    }
    out.retain(|o| TRAIL_SUFFIXES.iter().any(|s| o.key.ends_with(s)));
    out.sort_by(|a, b| a.key.cmp(&b.key));
    out.dedup_by(|a, b| a.key == b.key);
    Ok(out)
}

/// The S3 lister: `ListObjectsV2`, every page, following a redirect to the bucket's region.
pub struct S3Lister<'l> {
    live: &'l Live,
    bucket: String,
    client: tokio::sync::Mutex<Client>,
    pub requests: AtomicU64,
}

impl<'l> S3Lister<'l> {
    pub fn new(live: &'l Live, bucket: &str) -> S3Lister<'l> {
        S3Lister {
            live,
            bucket: bucket.to_string(),
            client: tokio::sync::Mutex::new(s3_client(live, None)),
            requests: AtomicU64::new(0),
        }
    }

    pub async fn client(&self) -> Client {
        self.client.lock().await.clone()
    }
}

/// An S3 client, for the bucket's region when it is known.
fn s3_client(live: &Live, region: Option<&str>) -> Client {
    let config = match region {
        Some(r) => live.config_for(r),
        None => live.config.clone(),
    };
    let mut b = aws_sdk_s3::config::Builder::from(&config);
    if live.endpoint_override() {
        b = b.force_path_style(true);
    }
    Client::from_conf(b.build())
}

/// The ARN of a bucket or an object (`path`), in the partition of the client's region: what an
/// error message names as the resource a permission is missing on.
fn s3_arn(client: &Client, path: &str) -> String {
    let region = client.config().region().map_or("", |r| r.as_ref());
    let partition = crate::arn::partition_for_region(region);
    format!("arn:{partition}:s3:::{path}")
}

impl Lister for S3Lister<'_> {
    async fn list(&self, prefix: &str, delimited: bool) -> Result<Listing, AwsError> {
        let mut out = Listing::default();
        let mut token: Option<String> = None;
        let mut redirected = false;
        loop {
            let client = self.client().await;
            let mut req = client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(prefix)
                .set_continuation_token(token.clone());
            if delimited {
                req = req.delimiter("/");
            }
            self.requests.fetch_add(1, Ordering::Relaxed);
            let page = match req.send().await {
                Ok(p) => p,
                Err(e) => {
                    let region = e
                        .raw_response()
                        .and_then(|r| r.headers().get("x-amz-bucket-region"))
                        .map(str::to_string);
                    let status = e.raw_response().map(|r| r.status().as_u16());
                    if let (false, Some(r), Some(301 | 400)) = (redirected, region, status) {
                        // The bucket lives in another region: follow, as the AWS CLI does.
                        *self.client.lock().await = s3_client(self.live, Some(&r));
                        redirected = true;
                        continue;
                    }
                    return Err(explain(
                        e,
                        Call::ListObjects,
                        &format!("s3://{}/{prefix}", self.bucket),
                        &s3_arn(&client, &self.bucket),
                    ));
                }
            };
            for cp in page.common_prefixes() {
                if let Some(p) = cp.prefix() {
                    out.folders.push(p.to_string());
                }
            }
            for o in page.contents() {
                if let Some(key) = o.key() {
                    out.objects.push(Object {
                        key: key.to_string(),
                        etag: o.e_tag().unwrap_or_default().trim_matches('"').to_string(),
                        size: o.size().unwrap_or_default().max(0) as u64,
                    });
                }
            }
            token = page.next_continuation_token().map(str::to_string);
            if token.is_none() || page.is_truncated() != Some(true) {
                break;
            }
        }
        Ok(out)
    }
}

/// Where a fetched object goes: the cache (kept, keyed by ETag) or a spool folder (removed once
/// read).
#[derive(Debug, Clone)]
pub enum Store {
    /// Kept under `dir` by key and ETag; objects whose key is not a safe path go to `spool`.
    Cache {
        dir: PathBuf,
        spool: PathBuf,
    },
    Spool(PathBuf),
}

/// A key safe to use as a relative path (no `..`, no empty or absolute segments).
fn safe_relative(key: &str) -> bool {
    !key.is_empty()
        && key
            .split('/')
            .all(|s| !s.is_empty() && s != "." && s != ".." && !s.contains('\\'))
}

impl Store {
    /// Where this object lives locally, and whether that copy is current.
    fn slot(&self, bucket: &str, o: &Object, index: usize) -> (PathBuf, bool) {
        match self {
            Store::Cache { dir, .. } if self.keeps(o) => {
                let path = dir.join("s3").join(bucket).join(&o.key);
                let etag = etag_path(&path);
                let fresh = path.is_file()
                    && std::fs::read_to_string(&etag).is_ok_and(|t| t.trim() == o.etag);
                (path, fresh)
            }
            Store::Cache { spool, .. } | Store::Spool(spool) => {
                (spool.join(format!("{index}.object")), false)
            }
        }
    }

    /// Is this object kept in the cache? Not without an ETag to check it by, nor when its key
    /// is not a safe relative path.
    fn keeps(&self, o: &Object) -> bool {
        matches!(self, Store::Cache { .. }) && !o.etag.is_empty() && safe_relative(&o.key)
    }
}

fn etag_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_os_string();
    s.push(".etag");
    PathBuf::from(s)
}

/// Downloads `objects` with at most `concurrency` in flight, sending each (with `base + its
/// index`) as soon as it is on disk. A failure on one object is a warning and the rest go on;
/// access denied and refused credentials stop everything (they would fail every object).
#[allow(clippy::too_many_arguments)]
pub async fn fetch_all(
    client: Client,
    bucket: String,
    objects: Vec<Object>,
    base: usize,
    store: Store,
    concurrency: usize,
    stats: Arc<RemoteStats>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    tx: tokio::sync::mpsc::Sender<(usize, Input)>,
) -> (Vec<Diagnostic>, Option<LiveError>) {
    let sem = Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    let mut diags = Vec::new();
    let mut fatal = None;
    for (i, o) in objects.into_iter().enumerate() {
        let Ok(permit) = sem.clone().acquire_owned().await else {
            break;
        };
        // Collect finished tasks as we go, so a fatal error stops the rest early.
        while let Some(done) = tasks.try_join_next() {
            absorb(done, &mut diags, &mut fatal);
        }
        if fatal.is_some() || stop.load(Ordering::Relaxed) {
            break;
        }
        let (client, bucket, store, stats, tx, stop_task) = (
            client.clone(),
            bucket.clone(),
            store.clone(),
            stats.clone(),
            tx.clone(),
            stop.clone(),
        );
        tasks.spawn(async move {
            let r = fetch_one(&client, &bucket, &o, base + i, &store, &stats).await;
            match r {
                Ok(input) => {
                    // The permit is held until the file is in the channel, so that files on
                    // disk stay bounded: `concurrency` in flight plus the channel's room.
                    let _ = tx.send((base + i, input)).await;
                    drop(permit);
                    Ok(None)
                }
                Err(Failure::Skip(d)) => Ok(Some(d)),
                Err(Failure::Fatal(e)) => {
                    // Everything else stops now, not once this bucket's downloads end.
                    stop_task.store(true, Ordering::Relaxed);
                    Err(e)
                }
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        absorb(done, &mut diags, &mut fatal);
    }
    if fatal.is_some() {
        stop.store(true, Ordering::Relaxed);
    }
    (diags, fatal)
}

type TaskResult = Result<Result<Option<Diagnostic>, LiveError>, tokio::task::JoinError>;

fn absorb(done: TaskResult, diags: &mut Vec<Diagnostic>, fatal: &mut Option<LiveError>) {
    match done {
        Ok(Ok(Some(d))) => diags.push(d),
        Ok(Ok(None)) => {}
        Ok(Err(e)) => {
            if fatal.is_none() {
                *fatal = Some(e);
            }
        }
        Err(e) => diags.push(Diagnostic::warning(
            "s3",
            format!("download task failed: {e}"),
        )),
    }
}

enum Failure {
    Skip(Diagnostic),
    Fatal(LiveError),
}

async fn fetch_one(
    client: &Client,
    bucket: &str,
    o: &Object,
    index: usize,
    store: &Store,
    stats: &RemoteStats,
) -> Result<Input, Failure> {
    let name = format!("s3://{bucket}/{}", o.key);
    let (path, fresh) = store.slot(bucket, o, index);
    let keep = store.keeps(o);
    if fresh {
        stats.cache_hits.fetch_add(1, Ordering::Relaxed);
        return Ok(Input::Spooled {
            name,
            path,
            remove: false,
        });
    }
    // A connection that breaks in the middle of the body is not retried by the SDK (the
    // response had already begun): fetch the object again, a few times, with backoff.
    let mut attempt = 0u32;
    let bytes = loop {
        attempt += 1;
        let resp = get(client, bucket, o, &name).await?;
        match resp.body.collect().await {
            Ok(b) => break b.into_bytes(),
            Err(_) if attempt < BODY_ATTEMPTS => {
                stats.body_retries.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(std::time::Duration::from_millis(200 << attempt)).await;
            }
            Err(e) => {
                return Err(Failure::Skip(Diagnostic::warning(
                    &name,
                    format!("download broke off {attempt} times, last: {e}; skipped"),
                )));
            }
        }
    };
    stats.downloads.fetch_add(1, Ordering::Relaxed);
    stats
        .bytes_downloaded
        .fetch_add(bytes.len() as u64, Ordering::Relaxed);
    let written = (|| {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        crate::write::atomic_write(&path, &bytes)?;
        if keep {
            crate::write::atomic_write(&etag_path(&path), o.etag.as_bytes())?;
        }
        Ok::<(), std::io::Error>(())
    })();
    if let Err(e) = written {
        return Err(Failure::Fatal(LiveError::Write {
            path: path.display().to_string(),
            reason: crate::source::io_reason(&e),
        }));
    }
    Ok(Input::Spooled {
        name,
        path,
        remove: !keep,
    })
}

/// Attempts at a whole object whose body keeps breaking off.
const BODY_ATTEMPTS: u32 = 4;

/// One GetObject (the SDK retries throttling, 5xx and failed connections itself).
async fn get(
    client: &Client,
    bucket: &str,
    o: &Object,
    name: &str,
) -> Result<aws_sdk_s3::operation::get_object::GetObjectOutput, Failure> {
    let mut req = client.get_object().bucket(bucket).key(&o.key);
    if !o.etag.is_empty() {
        // The object as listed, or nothing: a copy under a changed ETag would poison the cache.
        req = req.if_match(format!("\"{}\"", o.etag));
    }
    match req.send().await {
        Ok(r) => Ok(r),
        Err(e) => {
            let code = aws_sdk_s3::error::ProvideErrorMetadata::code(&e)
                .unwrap_or_default()
                .to_string();
            let status = e.raw_response().map(|r| r.status().as_u16());
            if code == "NoSuchKey" || status == Some(404) {
                return Err(Failure::Skip(Diagnostic::warning(
                    name,
                    "deleted between listing and download; skipped",
                )));
            }
            if code == "PreconditionFailed" || status == Some(412) {
                return Err(Failure::Skip(Diagnostic::warning(
                    name,
                    "replaced between listing and download (ETag changed); skipped, run again to read the new object",
                )));
            }
            let err = explain(
                e,
                Call::GetObject,
                name,
                &s3_arn(client, &format!("{bucket}/{}", o.key)),
            );
            // Access denied and refused or missing credentials fail every object alike: they
            // stop the run. Anything else loses this object only (the help is not repeated
            // per object).
            if err.is_fatal() {
                return Err(Failure::Fatal(err.into()));
            }
            Err(Failure::Skip(Diagnostic::warning(name, err.to_string())))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_arns_take_the_partition_of_the_clients_region() {
        let client = |region: Option<&'static str>| {
            let mut b = aws_sdk_s3::Config::builder().behavior_version_latest();
            if let Some(r) = region {
                b = b.region(aws_sdk_s3::config::Region::from_static(r));
            }
            Client::from_conf(b.build())
        };
        assert_eq!(
            s3_arn(&client(Some("eu-west-1")), "b/k"),
            "arn:aws:s3:::b/k"
        );
        assert_eq!(
            s3_arn(&client(Some("cn-north-1")), "trail"),
            "arn:aws-cn:s3:::trail"
        );
        assert_eq!(
            s3_arn(&client(Some("us-gov-west-1")), "trail"),
            "arn:aws-us-gov:s3:::trail"
        );
        assert_eq!(s3_arn(&client(None), "trail"), "arn:aws:s3:::trail");
    }

    #[test]
    fn places() {
        assert_eq!(place(""), Place::Above);
        assert_eq!(place("AWSLogs/"), Place::Above);
        assert_eq!(place("AWSLogs/o-abc/"), Place::Above);
        assert_eq!(place("AWSLogs/o-abc/111122223333/"), Place::Account);
        assert_eq!(
            place("x/AWSLogs/111122223333/CloudTrail/"),
            Place::CloudTrail
        );
        assert_eq!(
            place("AWSLogs/111122223333/CloudTrail/eu-west-1/"),
            Place::Region("eu-west-1")
        );
        assert_eq!(
            place("AWSLogs/111122223333/CloudTrail/eu-west-1/2026/"),
            Place::Below
        );
    }

    #[test]
    fn urls() {
        let u = S3Url::parse("s3://trail-bucket/AWSLogs/").ok();
        assert_eq!(
            u,
            Some(S3Url {
                bucket: "trail-bucket".into(),
                prefix: "AWSLogs/".into()
            })
        );
        assert!(S3Url::parse("s3://").is_err());
        assert!(S3Url::parse("trail-bucket").is_err());
    }

    /// An in-memory bucket that counts list calls.
    struct Keys(Vec<String>, std::sync::Mutex<Vec<String>>);

    impl Lister for Keys {
        async fn list(&self, prefix: &str, delimited: bool) -> Result<Listing, AwsError> {
            if let Ok(mut calls) = self.1.lock() {
                calls.push(prefix.to_string());
            }
            let mut out = Listing::default();
            for k in self.0.iter().filter(|k| k.starts_with(prefix)) {
                let rest = &k[prefix.len()..];
                match rest.split_once('/') {
                    Some((dir, _)) if delimited => {
                        let f = format!("{prefix}{dir}/");
                        if !out.folders.contains(&f) {
                            out.folders.push(f);
                        }
                    }
                    _ => out.objects.push(Object {
                        key: k.clone(),
                        etag: "e".into(),
                        size: 1,
                    }),
                }
            }
            Ok(out)
        }
    }

    #[test]
    fn a_window_lists_only_its_days() {
        let mut keys = Vec::new();
        let start = NaiveDate::from_ymd_opt(2026, 9, 1).unwrap_or_default();
        for day in start.iter_days().take(60) {
            for region in ["us-east-1", "eu-west-1"] {
                keys.push(format!(
                    "AWSLogs/111122223333/CloudTrail/{region}/{}/f.json.gz",
                    day.format("%Y/%m/%d")
                ));
            }
            keys.push(format!(
                "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/{}/d.json.gz",
                day.format("%Y/%m/%d")
            ));
            keys.push(format!(
                "AWSLogs/444455556666/CloudTrail/us-east-1/{}/f.json.gz",
                day.format("%Y/%m/%d")
            ));
        }
        let bucket = Keys(keys, Default::default());
        let day = NaiveDate::from_ymd_opt(2026, 10, 10).unwrap_or_default();
        let window = Window {
            accounts: vec!["111122223333".into()],
            regions: vec!["eu-west-1".into()],
            days: Some((day, day)),
        };
        let rt = tokio::runtime::Builder::new_current_thread().build();
        let found = rt
            .ok()
            .and_then(|rt| rt.block_on(walk(&bucket, "", &window)).ok())
            .unwrap_or_default();
        assert_eq!(
            found.iter().map(|o| o.key.as_str()).collect::<Vec<_>>(),
            ["AWSLogs/111122223333/CloudTrail/eu-west-1/2026/10/10/f.json.gz"]
        );
        let calls = bucket.1.lock().map(|c| c.clone()).unwrap_or_default();
        assert_eq!(
            calls,
            [
                "",
                "AWSLogs/",
                "AWSLogs/111122223333/",
                "AWSLogs/111122223333/CloudTrail/",
                "AWSLogs/111122223333/CloudTrail/eu-west-1/2026/10/10/",
            ]
        );
    }

    #[test]
    fn keys_that_are_unsafe_paths_are_not_cached_under_their_name() {
        assert!(safe_relative("AWSLogs/1/CloudTrail/x.json.gz"));
        assert!(!safe_relative("../x"));
        assert!(!safe_relative("/x"));
        assert!(!safe_relative("a//b"));
    }
}
