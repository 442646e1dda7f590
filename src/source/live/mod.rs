//! The live AWS sources and loaders: the trail bucket in S3, CloudTrail LookupEvents, the
//! Lambda inventory (ListFunctions, ListEventSourceMappings, ListFunctionEventInvokeConfigs) and
//! the current IAM policies (GetAccountAuthorizationDetails).
//!
//! This is the only place that uses the AWS SDK. What it produces is what the file readers
//! produce: [`Input`](crate::source::Input)s for the pipeline, an
//! [`Inventory`](crate::identity::Inventory), and
//! [`CurrentPolicies`](crate::policy::current::CurrentPolicies). The engine does not know
//! where they came from.
//!
//! Credentials come from the standard chain (environment, profiles, SSO, web identity, IMDS),
//! as for the AWS CLI. Throttling, 5xx and connection errors are retried with exponential
//! backoff by the SDK's standard retry strategy; every other failure becomes a typed
//! [`AwsError`] that says what went wrong, with what to do as its help ([`error`]).

pub mod athena;
pub mod error;
pub mod iam;
pub mod lambda;
pub mod lookup;
pub mod s3;

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};

pub use error::{AwsError, AwsErrorKind, LiveError};

/// How to reach AWS: the same settings as the AWS CLI's global options.
#[derive(Debug, Clone, Default)]
pub struct Connect {
    pub profile: Option<String>,
    /// Regions to read (the first is the client's region); empty means the profile's region.
    pub regions: Vec<String>,
    /// Send every request here (a local emulator, a VPC endpoint).
    pub endpoint_url: Option<String>,
    /// Attempts per request, for throttling, 5xx and connection errors.
    pub max_attempts: u32,
}

/// A connection to AWS: the SDK configuration and the runtime its calls run on.
pub struct Live {
    pub(crate) runtime: tokio::runtime::Runtime,
    pub(crate) config: SdkConfig,
    /// The regions to read: `--region`s, or the configured region.
    pub regions: Vec<String>,
}

impl Live {
    /// Loads the configuration (credentials are resolved lazily, on the first call).
    pub fn connect(opts: &Connect) -> Result<Live, LiveError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(4)
            .enable_all()
            .build()
            .map_err(|e| LiveError::Runtime {
                reason: e.to_string(),
            })?;
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(opts.max_attempts.max(1))
                    .with_initial_backoff(Duration::from_millis(200)),
            )
            // A server that accepts the connection and never answers must not hang the run:
            // each attempt gets two minutes to produce its response (bodies are then guarded by
            // the SDK's stalled-stream protection).
            .timeout_config(
                aws_config::timeout::TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(10))
                    .operation_attempt_timeout(Duration::from_secs(120))
                    .build(),
            );
        if let Some(p) = &opts.profile {
            loader = loader.profile_name(p);
        }
        if let Some(r) = opts.regions.first() {
            loader = loader.region(Region::new(r.clone()));
        }
        if let Some(u) = &opts.endpoint_url {
            loader = loader.endpoint_url(u);
        }
        let config = runtime.block_on(loader.load());
        let regions = if opts.regions.is_empty() {
            match config.region() {
                Some(r) => vec![r.to_string()],
                None => return Err(LiveError::NoRegion),
            }
        } else {
            opts.regions.clone()
        };
        Ok(Live {
            runtime,
            config,
            regions,
        })
    }

    /// The same connection, signing with these credentials instead of those of the standard
    /// chain (for a program that embeds tightrole and has its own, and for the tests).
    pub fn with_credentials(
        mut self,
        key: &str,
        secret: &str,
        session_token: Option<&str>,
    ) -> Live {
        let credentials = aws_sdk_s3::config::Credentials::new(
            key,
            secret,
            session_token.map(str::to_string),
            None,
            "tightrole",
        );
        self.config = self
            .config
            .to_builder()
            .credentials_provider(aws_sdk_s3::config::SharedCredentialsProvider::new(
                credentials,
            ))
            .build();
        self
    }

    /// The configuration for one region.
    pub(crate) fn config_for(&self, region: &str) -> SdkConfig {
        self.config
            .to_builder()
            .region(Region::new(region.to_string()))
            .build()
    }

    /// The endpoint override, if any (S3 then needs path-style addressing).
    pub(crate) fn endpoint_override(&self) -> bool {
        self.config.endpoint_url().is_some()
    }
}

/// What to read live, besides local files.
#[derive(Debug, Default)]
pub struct Sources {
    pub buckets: Vec<s3::S3Url>,
    pub window: s3::Window,
    /// LookupEvents over these times, in every region of the connection.
    pub lookup: Option<lookup::Query>,
    /// `--cache DIR`: keep fetched objects by ETag.
    pub cache: Option<std::path::PathBuf>,
    /// Downloads in flight at once.
    pub concurrency: usize,
    /// The record filters: listed objects whose layout path is outside them are not fetched.
    pub filters: crate::source::Filters,
}

/// Remote reads under way: join it once the pipeline has drained the stream.
pub struct Pending {
    tasks: tokio::task::JoinSet<(Vec<Diagnostic>, Option<LiveError>)>,
    /// Set on the first fatal error (access denied, refused credentials): every other read
    /// stops instead of running to its end.
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    _spool: tempfile::TempDir,
    pub stats: std::sync::Arc<RemoteStats>,
    /// Notes for the user (what LookupEvents cannot see).
    pub notes: Vec<Diagnostic>,
}

use crate::diag::Diagnostic;
use crate::source::Stream;
use crate::source::{Input, RemoteStats};

impl Live {
    /// Lists the buckets (pruned by the window), then starts the downloads and the LookupEvents
    /// reads in the background. The returned stream yields `local` first, then each remote input
    /// as it arrives.
    pub fn start(
        &self,
        sources: &Sources,
        local: Vec<Input>,
    ) -> Result<(Stream, Pending), LiveError> {
        let stats = std::sync::Arc::new(RemoteStats::default());
        let spool = tempfile::Builder::new()
            .prefix("tightrole-spool-")
            .tempdir()
            .map_err(|e| LiveError::Spool {
                reason: super::io_reason(&e),
            })?;
        let mut bytes: u64 = local.iter().filter_map(Input::size).sum();
        let mut count = local.len();
        let mut listed = Vec::new();
        for url in &sources.buckets {
            let lister = s3::S3Lister::new(self, &url.bucket);
            let objects = self
                .runtime
                .block_on(s3::walk(&lister, &url.prefix, &sources.window))?;
            let client = self.runtime.block_on(lister.client());
            stats.s3_list_requests.fetch_add(
                lister.requests.load(std::sync::atomic::Ordering::Relaxed),
                std::sync::atomic::Ordering::Relaxed,
            );
            stats
                .s3_objects
                .fetch_add(objects.len() as u64, std::sync::atomic::Ordering::Relaxed);
            // Outside the window or the accounts by their path (a listing that could not be
            // pruned by folder, such as a prefix ending inside a folder name): never fetched.
            let mut objects = objects;
            objects.retain(|o| sources.filters.keeps_path(&o.key));
            bytes += objects.iter().map(|o| o.size).sum::<u64>();
            count += objects.len();
            listed.push((url.bucket.clone(), client, objects));
        }
        let (tx, mut rx) =
            tokio::sync::mpsc::channel::<(usize, Input)>(sources.concurrency.max(1) * 2);
        let mut tasks = tokio::task::JoinSet::new();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let store = match &sources.cache {
            Some(dir) => s3::Store::Cache {
                dir: dir.clone(),
                spool: spool.path().to_path_buf(),
            },
            None => s3::Store::Spool(spool.path().to_path_buf()),
        };
        let mut base = local.len();
        for (bucket, client, objects) in listed {
            let n = objects.len();
            tasks.spawn_on(
                s3::fetch_all(
                    client,
                    bucket,
                    objects,
                    base,
                    store.clone(),
                    sources.concurrency,
                    stats.clone(),
                    stop.clone(),
                    tx.clone(),
                ),
                self.runtime.handle(),
            );
            base += n;
        }
        let mut notes = Vec::new();
        if let Some(q) = &sources.lookup {
            notes.push(Diagnostic::note("--lookup-events", lookup::MANAGEMENT_ONLY));
            for (i, region) in self.regions.iter().enumerate() {
                let (config, region, q) = (
                    self.config_for(region),
                    region.clone(),
                    lookup::Query {
                        since: q.since,
                        until: q.until,
                    },
                );
                let (spool, stats, tx, stop) = (
                    spool.path().to_path_buf(),
                    stats.clone(),
                    tx.clone(),
                    stop.clone(),
                );
                let index = base + i * 1_000_000;
                tasks.spawn_on(
                    async move {
                        let r =
                            lookup::read_region(config, region, &q, spool, index, stats, &stop, tx)
                                .await;
                        match r {
                            Ok(()) => (Vec::new(), None),
                            Err(e) => {
                                stop.store(true, std::sync::atomic::Ordering::Relaxed);
                                (Vec::new(), Some(e))
                            }
                        }
                    },
                    self.runtime.handle(),
                );
            }
        }
        drop(tx);
        let remote = std::iter::from_fn(move || rx.blocking_recv());
        let stream = Stream {
            count,
            bytes,
            inputs: Box::new(local.into_iter().enumerate().chain(remote)),
        };
        Ok((
            stream,
            Pending {
                tasks,
                stop,
                _spool: spool,
                stats,
                notes,
            },
        ))
    }

    /// Waits for the background reads; the first fatal error (access denied, refused
    /// credentials) fails the run, per-object problems are warnings.
    pub fn finish(&self, pending: &mut Pending) -> Result<Vec<Diagnostic>, LiveError> {
        let mut diags = Vec::new();
        let mut fatal = None;
        self.runtime.block_on(async {
            while let Some(done) = pending.tasks.join_next().await {
                match done {
                    Ok((d, e)) => {
                        diags.extend(d);
                        if e.is_some() {
                            pending
                                .stop
                                .store(true, std::sync::atomic::Ordering::Relaxed);
                        }
                        if fatal.is_none() {
                            fatal = e;
                        }
                    }
                    Err(e) => diags.push(Diagnostic::warning(
                        "live",
                        format!("a background read failed: {e}"),
                    )),
                }
            }
        });
        match fatal {
            Some(e) => Err(e),
            None => Ok(diags),
        }
    }
}
