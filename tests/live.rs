//! The live AWS sources against a real emulator: moto_server (pinned in
//! tests/moto/requirements.txt), run through tests/moto/server.py, which adds LookupEvents, a
//! request log and fault injection. `.ci/run` starts it and sets TIGHTROLE_MOTO_URL and
//! TIGHTROLE_MOTO_PYTHON; without them these tests skip (and fail under CI, so that CI can never
//! pass without running them).
//!
//! Each test works in its own fresh account (STS AssumeRole into a new 12-digit account gives
//! an isolated account on the shared server), so the tests run in parallel.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "integration tests fail loudly on broken fixtures"
)]

mod common;

use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Value, json};
use tightrole::source::live::error::Call;
use tightrole::source::live::s3::S3Url;
use tightrole::source::live::{AwsError, AwsErrorKind, Connect, Live, LiveError, Sources};

struct Emulator {
    url: String,
    python: PathBuf,
}

fn emulator() -> Option<Emulator> {
    match (
        std::env::var("TIGHTROLE_MOTO_URL"),
        std::env::var("TIGHTROLE_MOTO_PYTHON"),
    ) {
        (Ok(url), Ok(python)) => Some(Emulator {
            url,
            python: PathBuf::from(python),
        }),
        _ => {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must run the emulator tests: .ci/run starts moto and sets TIGHTROLE_MOTO_URL"
            );
            eprintln!(
                "skipped: no emulator (run .ci/run, or set TIGHTROLE_MOTO_URL and TIGHTROLE_MOTO_PYTHON)"
            );
            None
        }
    }
}

/// A fresh 12-digit account id, distinct per test and per run.
fn fresh_account() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let n = N.fetch_add(1, Ordering::Relaxed);
    let x = (nanos / 1000 + u64::from(std::process::id()) * 7919 + n * 104_729) % 900_000_000_000;
    format!("{}", 100_000_000_000 + x)
}

struct Account {
    id: String,
    key: String,
    secret: String,
    token: String,
    /// What the fixture created (queue and stream ARNs, event-source mappings).
    created: Value,
    /// The spec's `sessions` more sessions of the same account, each as an account of its own.
    sessions: Vec<Account>,
}

impl Emulator {
    /// Sets up an account with tests/moto/fixture.py (the spec is documented there).
    fn setup(&self, mut spec: Value) -> Account {
        let id = fresh_account();
        spec["endpoint"] = json!(self.url);
        spec["account"] = json!(id);
        let mut child = Command::new(&self.python)
            .arg(common::root().join("tests/moto/fixture.py"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(spec.to_string().as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "fixture failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let c: Value = serde_json::from_slice(&out.stdout).unwrap();
        let session = |c: &Value| Account {
            id: id.clone(),
            key: c["AccessKeyId"].as_str().unwrap().to_string(),
            secret: c["SecretAccessKey"].as_str().unwrap().to_string(),
            token: c["SessionToken"].as_str().unwrap().to_string(),
            created: c["Created"].clone(),
            sessions: Vec::new(),
        };
        let sessions = c["Sessions"].as_array().into_iter().flatten();
        Account {
            sessions: sessions.map(session).collect(),
            ..session(&c)
        }
    }

    /// Runs tightrole as this account, against the emulator, with nothing from the host's AWS
    /// configuration.
    fn run(&self, acct: Option<&Account>, args: &[&str]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_tightrole"));
        cmd.args(args)
            .args(["--endpoint-url", &self.url])
            .env("TIGHTROLE_NO_PROGRESS", "1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", "/nonexistent/config")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials");
        for (k, _) in std::env::vars() {
            if k.starts_with("AWS_") && k != "AWS_EC2_METADATA_DISABLED" && !k.ends_with("_FILE") {
                cmd.env_remove(k);
            }
        }
        if let Some(a) = acct {
            cmd.env("AWS_ACCESS_KEY_ID", &a.key)
                .env("AWS_SECRET_ACCESS_KEY", &a.secret)
                .env("AWS_SESSION_TOKEN", &a.token);
        }
        cmd.output().unwrap()
    }

    /// One plain HTTP request to the emulator's control endpoints.
    fn control(&self, method: &str, path: &str, body: &str) -> Value {
        let hostport = self.url.trim_start_matches("http://").trim_end_matches('/');
        let mut s = std::net::TcpStream::connect(hostport).unwrap();
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: {hostport}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut resp = String::new();
        s.read_to_string(&mut resp).unwrap();
        let body = resp.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
        serde_json::from_str(body).unwrap_or(Value::Null)
    }

    /// The requests one access key made.
    fn key_requests(&self, key: &str) -> Vec<Value> {
        self.control("GET", "/_tightrole/requests", "")
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|r| r["access_key"] == key)
            .collect()
    }

    fn inject(&self, rules: Value) {
        self.control("POST", "/_tightrole/faults", &rules.to_string());
    }

    /// The requests the emulator saw on one bucket (path-style).
    fn bucket_requests(&self, bucket: &str) -> Vec<Value> {
        let prefix = format!("/{bucket}");
        self.control("GET", "/_tightrole/requests", "")
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|r| {
                let p = r["path"].as_str().unwrap_or("");
                p == prefix || p.starts_with(&format!("{prefix}/"))
            })
            .collect()
    }
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn json_of(s: &str) -> Value {
    serde_json::from_str(s).unwrap()
}

/// The demo's functions (function → role), and one with no activity at all.
fn functions() -> Value {
    json!([
        {"name": "auth-authorizer", "role": "authorizer-role"},
        {"name": "notifier", "role": "notifier-role"},
        {"name": "orders-api", "role": "shop-api-role"},
        {"name": "orders-worker", "role": "shop-api-role"},
        {"name": "payments", "role": "payments-role"},
        {"name": "reports-nightly", "role": "reports-role"},
        {"name": "thumbnailer", "role": "thumbnailer-role"},
        {"name": "idle-fn", "role": "notifier-role"},
    ])
}

/// The demo trail in a fresh account: uploaded to a bucket, and rewritten locally.
fn demo_account(em: &Emulator, dir: &Path) -> (Account, String) {
    let bucket = format!(
        "trail-{}",
        std::process::id() ^ fresh_account().len() as u32
    );
    let bucket = format!("{bucket}-{}", &fresh_account()[4..]);
    let acct = em.setup(json!({
        "region": "eu-west-1",
        "bucket": bucket,
        "trail": {
            "src": common::demo_trail(),
            "from_account": "111122223333",
            "out": dir.join("trail"),
            "management_out": dir.join("management"),
        },
        "policies": common::root().join("policies"),
        "functions": functions(),
        "auth_details_out": dir.join("auth-details.json"),
    }));
    (acct, bucket)
}

#[test]
fn s3_and_live_iam_give_what_local_files_give() {
    let Some(em) = emulator() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let (acct, bucket) = demo_account(&em, tmp.path());
    let url = format!("s3://{bucket}/");
    let local = tmp.path().join("trail");
    let local = local.to_str().unwrap();
    // us-east-1 too: without it the output notes that global services' calls are not read.
    let region = ["--region", "eu-west-1", "--region", "us-east-1"];

    // generate: S3 and ListFunctions vs the same files on disk with the same inventory.
    let from_s3 = ok(&em.run(
        Some(&acct),
        &[&["generate", &url, "--format", "json"][..], &region].concat(),
    ));
    let from_files = ok(&em.run(
        Some(&acct),
        &[
            &["generate", local, "--functions", "live", "--format", "json"][..],
            &region,
        ]
        .concat(),
    ));
    assert_eq!(from_s3, from_files);
    let g = json_of(&from_s3);
    assert_eq!(g["summary"]["files"], 56);
    assert_eq!(g["summary"]["records"], 3110);
    assert!(
        g["diagnostics"]
            .to_string()
            .contains("function `idle-fn` (role notifier-role) made no call"),
        "{}",
        g["diagnostics"]
    );
    let orders = g["principals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "orders-api")
        .unwrap();
    assert!(
        orders["function_evidence"]
            .to_string()
            .contains("inventory"),
        "ListFunctions makes attribution authoritative: {}",
        orders["function_evidence"]
    );

    // diff: live IAM vs the same account's get-account-authorization-details output.
    let auth = tmp.path().join("auth-details.json");
    let live_diff = ok(&em.run(
        Some(&acct),
        &[
            &["diff", &url, "--current", "live", "--format", "json"][..],
            &region,
        ]
        .concat(),
    ));
    let file_diff = ok(&em.run(
        Some(&acct),
        &[
            &[
                "diff",
                local,
                "--functions",
                "live",
                "--current",
                auth.to_str().unwrap(),
                "--format",
                "json",
            ][..],
            &region,
        ]
        .concat(),
    ));
    let (mut a, mut b) = (json_of(&live_diff), json_of(&file_diff));
    assert_eq!(a["current"], "live IAM (GetAccountAuthorizationDetails)");
    a["current"] = Value::Null;
    b["current"] = Value::Null;
    assert_eq!(a, b);
    assert_eq!(a["principals"].as_array().unwrap().len(), 8);
    assert_eq!(a["idle_functions"][0]["function"], "idle-fn");
    assert!(a["idle_functions"][0]["granted_actions"].as_u64().unwrap() > 0);

    // drift: `--current live` (and `--functions live`) find what the export finds. The
    // baseline differs from what is deployed in one role, so there is a policy drift to find.
    let baseline = tmp.path().join("baseline");
    std::fs::create_dir_all(&baseline).unwrap();
    for e in std::fs::read_dir(common::root().join("policies")).unwrap() {
        let e = e.unwrap();
        if e.path().extension().is_some_and(|x| x == "json") {
            std::fs::copy(e.path(), baseline.join(e.file_name())).unwrap();
        }
    }
    std::fs::write(
        baseline.join("notifier-role.json"),
        json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "ses:SendEmail", "Resource": "*"}]})
        .to_string(),
    )
    .unwrap();
    let drift = |current: &str| {
        em.run(
            Some(&acct),
            &[
                &[
                    "drift",
                    local,
                    "--functions",
                    "live",
                    "--baseline",
                    baseline.to_str().unwrap(),
                    "--current",
                    current,
                    "--format",
                    "json",
                    "--stats=json",
                ][..],
                &region,
            ]
            .concat(),
        )
    };
    let live_run = drift("live");
    let (live_drift, file_drift) = (
        json_of(&ok(&live_run)),
        json_of(&ok(&drift(auth.to_str().unwrap()))),
    );
    assert_eq!(live_drift, file_drift);
    let about_notifier: Vec<&Value> = live_drift["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["finding"] == "policy-drift" && i["principal"] == "role notifier-role")
        .collect();
    assert!(!about_notifier.is_empty(), "{live_drift:#}");
    assert!(
        stderr(&live_run).contains("\"records\":3110"),
        "--stats: {}",
        stderr(&live_run)
    );

    // graph --blast: the same reach from live IAM as from the export.
    let blast = |current: &str| {
        json_of(&ok(&em.run(
            Some(&acct),
            &[
                &[
                    "graph",
                    local,
                    "--functions",
                    "live",
                    "--blast",
                    "orders-api",
                    "--current",
                    current,
                    "--format",
                    "json",
                ][..],
                &region,
            ]
            .concat(),
        )))
    };
    let live_blast = blast("live");
    assert_eq!(live_blast, blast(auth.to_str().unwrap()));
    assert!(
        live_blast.to_string().contains("dynamodb:GetItem"),
        "{live_blast:#}"
    );

    // --cache: the second run downloads nothing and gives the same output.
    let cache = tmp.path().join("cache");
    let cache = cache.to_str().unwrap();
    let args = [
        &[
            "generate",
            &url,
            "--format",
            "json",
            "--cache",
            cache,
            "--stats=json",
        ][..],
        &region,
    ]
    .concat();
    let first = em.run(Some(&acct), &args);
    let second = em.run(Some(&acct), &args);
    assert_eq!(ok(&first), from_s3);
    assert_eq!(ok(&second), from_s3);
    let stats = |o: &Output| -> Value { stats_of(o)["live"].clone() };
    assert_eq!(stats(&first)["downloads"], 56);
    assert_eq!(stats(&second)["downloads"], 0);
    assert_eq!(stats(&second)["cache_hits"], 56);
}

#[test]
fn lookup_events_match_local_management_events() {
    let Some(em) = emulator() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let (acct, _) = demo_account(&em, tmp.path());
    let region = ["--region", "eu-west-1"];
    let started = std::time::Instant::now();
    let lookup = em.run(
        Some(&acct),
        &[
            &[
                "generate",
                "--lookup-events",
                "--format",
                "json",
                "--stats=json",
            ][..],
            &region,
        ]
        .concat(),
    );
    let elapsed = started.elapsed();
    let mut a = json_of(&ok(&lookup));
    let management = tmp.path().join("management");
    let mut b = json_of(&ok(&em.run(
        Some(&acct),
        &[
            &[
                "generate",
                management.to_str().unwrap(),
                "--functions",
                "live",
                "--format",
                "json",
            ][..],
            &region,
        ]
        .concat(),
    )));
    // The record counts, policies and evidence are the same; only the input count differs
    // (LookupEvents pages arrive in batches, not as the trail's files) and the note says what
    // LookupEvents cannot see.
    assert_eq!(a["summary"]["records"], 862);
    let notes: Vec<Value> = a["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["file"] == "--lookup-events" || d["file"] == "--region")
        .cloned()
        .collect();
    assert_eq!(notes.len(), 2, "{notes:?}");
    assert!(
        notes[0]["message"]
            .as_str()
            .unwrap()
            .contains("management events only")
    );
    assert!(
        notes[1]["message"]
            .as_str()
            .unwrap()
            .contains("us-east-1 is not among the regions read")
    );
    a["diagnostics"]
        .as_array_mut()
        .unwrap()
        .retain(|d| d["file"] != "--lookup-events" && d["file"] != "--region");
    a["summary"]["files"] = Value::Null;
    b["summary"]["files"] = Value::Null;
    assert_eq!(a, b);
    assert!(stderr(&lookup).contains("LookupEvents returns management events only"));

    // Paced to 2 requests per second: 862 events are 18 pages of 50, so 17 waits of 0.5 s.
    let requests = stats_of(&lookup)["live"]["lookup_requests"]
        .as_u64()
        .unwrap();
    assert_eq!(requests, 18);
    assert!(
        elapsed.as_secs_f64() >= 8.5,
        "{elapsed:?} for {requests} paced requests"
    );
}

#[test]
fn a_one_day_window_over_60_days_lists_only_that_days_prefixes() {
    let Some(em) = emulator() else { return };
    let (acct, bucket) = days_bucket(
        &em,
        "days",
        json!({"first": "2026-09-01", "count": 60, "region": "us-east-1"}),
        json!({}),
    );
    let out = em.run(
        Some(&acct),
        &[
            "usage",
            &format!("s3://{bucket}/"),
            "--region",
            "us-east-1",
            "--since",
            "2026-10-10T00:00:00Z",
            "--until",
            "2026-10-10T23:59:59Z",
            "--stats=json",
        ],
    );
    ok(&out);
    let lists: Vec<String> = em
        .bucket_requests(&bucket)
        .iter()
        .filter(|r| r["method"] == "GET" && r["query"].as_str().unwrap().contains("list-type=2"))
        .map(|r| r["query"].as_str().unwrap().to_string())
        .collect();
    let prefix = |q: &str| -> String {
        q.split('&')
            .find_map(|kv| kv.strip_prefix("prefix="))
            .unwrap_or("")
            .replace("%2F", "/")
    };
    let mut prefixes: Vec<String> = lists.iter().map(|q| prefix(q)).collect();
    prefixes.sort();
    let a = &acct.id;
    assert_eq!(
        prefixes,
        [
            String::new(),
            "AWSLogs/".into(),
            format!("AWSLogs/{a}/"),
            format!("AWSLogs/{a}/CloudTrail/"),
            format!("AWSLogs/{a}/CloudTrail/us-east-1/2026/10/09/"),
            format!("AWSLogs/{a}/CloudTrail/us-east-1/2026/10/10/"),
            format!("AWSLogs/{a}/CloudTrail/us-east-1/2026/10/11/"),
        ],
        "a 1-day window lists the day (with a day of delivery slack either side), not 60 days"
    );
    let stats = stats_of(&out);
    assert_eq!(stats["live"]["s3_list_requests"], 7);
    assert_eq!(stats["live"]["s3_objects"], 3);
    assert_eq!(stats["records"], 3);
    assert_eq!(stats["records_filtered_out"], 2);
}

/// A bucket of tiny trail files in the layout (`days` as tests/moto/fixture.py takes it), in a
/// fresh account set up with `extra` too.
fn days_bucket(em: &Emulator, name: &str, days: Value, extra: Value) -> (Account, String) {
    let bucket = format!("{name}-{}", fresh_account());
    let mut spec = json!({"region": "us-east-1", "bucket": bucket, "days": days});
    if let (Some(m), Value::Object(x)) = (spec.as_object_mut(), extra) {
        m.extend(x);
    }
    (em.setup(spec), bucket)
}

/// A small trail for the fault tests: 10 days, one file a day.
fn small_bucket(em: &Emulator) -> (Account, String) {
    days_bucket(
        em,
        "faults",
        json!({"first": "2026-11-01", "count": 10, "region": "us-east-1"}),
        json!({}),
    )
}

/// The `--stats=json` line of a run.
fn stats_of(out: &Output) -> Value {
    let line = stderr(out)
        .lines()
        .find(|l| l.starts_with('{'))
        .unwrap()
        .to_string();
    json_of(&line)
}

/// `usage` over a whole bucket, with the figures.
fn usage_of_bucket(em: &Emulator, acct: &Account, bucket: &str) -> Output {
    em.run(
        Some(acct),
        &[
            "usage",
            &format!("s3://{bucket}/"),
            "--region",
            "us-east-1",
            "--stats=json",
        ],
    )
}

fn records_read(out: &Output) -> u64 {
    stats_of(out)["records"].as_u64().unwrap()
}

#[test]
fn transient_faults_are_retried_and_lose_nothing() {
    let Some(em) = emulator() else { return };
    let (acct, bucket) = small_bucket(&em);
    em.inject(json!([
        // 500 on a listing page, throttling on a download, a reset connection on another.
        {"access_key": acct.key, "method": "GET", "path_contains": format!("/{bucket}"), "query_contains": "list-type=2", "status": 500, "code": "InternalError", "times": 1},
        {"access_key": acct.key, "method": "GET", "path_contains": "2026/11/03/", "status": 503, "code": "SlowDown", "times": 2},
        {"access_key": acct.key, "method": "GET", "path_contains": "2026/11/05/", "reset": true, "times": 1},
    ]));
    let out = usage_of_bucket(&em, &acct, &bucket);
    ok(&out);
    assert_eq!(records_read(&out), 10, "{}", stderr(&out));
    let faults: Vec<Value> = em
        .bucket_requests(&bucket)
        .into_iter()
        .filter(|r| r.get("fault").is_some())
        .collect();
    assert_eq!(faults.len(), 4, "every injected fault was hit: {faults:?}");
}

#[test]
fn a_500_on_the_second_listing_page_loses_and_doubles_nothing() {
    let Some(em) = emulator() else { return };
    // 1,050 objects in one day folder: two ListObjectsV2 pages of at most 1,000.
    let (acct, bucket) = days_bucket(
        &em,
        "pages",
        json!({"first": "2026-11-01", "count": 1, "per_day": 1050, "region": "us-east-1"}),
        json!({}),
    );
    em.inject(json!([
        {"access_key": acct.key, "method": "GET", "path_contains": format!("/{bucket}"), "query_contains": "continuation-token", "status": 500, "code": "InternalError", "times": 1},
    ]));
    let out = usage_of_bucket(&em, &acct, &bucket);
    ok(&out);
    assert_eq!(records_read(&out), 1050, "{}", stderr(&out));
    let pages: Vec<Value> = em
        .bucket_requests(&bucket)
        .into_iter()
        .filter(|r| r["query"].as_str().unwrap().contains("continuation-token"))
        .collect();
    assert_eq!(
        pages.len(),
        2,
        "the second page was asked for twice: {pages:?}"
    );
    assert_eq!(pages[0]["fault"], "InternalError");
    assert_eq!(stats_of(&out)["live"]["s3_objects"], 1050);
}

#[test]
fn a_connection_reset_mid_object_is_fetched_again() {
    let Some(em) = emulator() else { return };
    let (acct, bucket) = small_bucket(&em);
    em.inject(json!([
        {"access_key": acct.key, "method": "GET", "path_contains": "2026/11/07/", "cut_body": true, "times": 2},
    ]));
    let out = usage_of_bucket(&em, &acct, &bucket);
    ok(&out);
    assert_eq!(records_read(&out), 10, "{}", stderr(&out));
    assert_eq!(stats_of(&out)["live"]["body_retries"], 2);
}

#[test]
fn a_500_on_the_second_lookup_events_page_loses_and_doubles_nothing() {
    let Some(em) = emulator() else { return };
    // 60 management events: two pages of 50.
    let (acct, _) = days_bucket(
        &em,
        "lookup",
        json!({"first": "2026-11-01", "count": 60, "region": "us-east-1"}),
        json!({}),
    );
    em.inject(json!([
        {"access_key": acct.key, "target": "LookupEvents", "skip": 1, "status": 500, "code": "InternalServerError", "times": 1},
    ]));
    let out = em.run(
        Some(&acct),
        &[
            "usage",
            "--lookup-events",
            "--region",
            "us-east-1",
            "--stats=json",
        ],
    );
    ok(&out);
    assert_eq!(records_read(&out), 60, "{}", stderr(&out));
    assert_eq!(stats_of(&out)["live"]["lookup_events"], 60);
    let lookups: Vec<Value> = em
        .key_requests(&acct.key)
        .into_iter()
        .filter(|r| r["target"].as_str().unwrap().ends_with("LookupEvents"))
        .collect();
    assert_eq!(
        lookups.len(),
        3,
        "two pages, the second asked for twice: {lookups:?}"
    );
    assert_eq!(lookups[1]["fault"], "InternalServerError");
}

#[test]
fn lookup_events_throttling_is_retried() {
    let Some(em) = emulator() else { return };
    let (acct, _) = small_bucket(&em);
    em.inject(json!([
        {"access_key": acct.key, "target": "LookupEvents", "status": 400, "code": "ThrottlingException", "times": 2},
    ]));
    let out = em.run(
        Some(&acct),
        &[
            "usage",
            "--lookup-events",
            "--region",
            "us-east-1",
            "--stats=json",
        ],
    );
    ok(&out);
    assert_eq!(records_read(&out), 10);
    let faults = em
        .key_requests(&acct.key)
        .into_iter()
        .filter(|r| r["fault"] == "ThrottlingException")
        .count();
    assert_eq!(faults, 2, "both throttling answers were served and retried");
}

#[test]
fn an_object_deleted_between_listing_and_download_is_a_warning() {
    let Some(em) = emulator() else { return };
    let (acct, bucket) = small_bucket(&em);
    em.inject(json!([
        {"access_key": acct.key, "method": "GET", "path_contains": "2026/11/04/", "delete_first": true, "times": 1},
    ]));
    let out = usage_of_bucket(&em, &acct, &bucket);
    ok(&out);
    let err = stderr(&out);
    assert!(
        err.contains("2026/11/04/")
            && err.contains("deleted between listing and download; skipped"),
        "{err}"
    );
    assert_eq!(records_read(&out), 9, "the other files are all read");
}

/// A connection to the emulator as `acct`, from the library (no command line).
fn live_as(em: &Emulator, acct: &Account) -> Live {
    Live::connect(&Connect {
        profile: None,
        regions: vec!["us-east-1".to_string()],
        endpoint_url: Some(em.url.clone()),
        max_attempts: 2,
    })
    .unwrap()
    .with_credentials(&acct.key, &acct.secret, Some(&acct.token))
}

/// Lists and downloads `url` as `usage s3://…` does; the error that stopped it, if any.
fn read_bucket(live: &Live, url: &str) -> Option<LiveError> {
    let sources = Sources {
        buckets: vec![S3Url::parse(url).unwrap()],
        concurrency: 4,
        ..Sources::default()
    };
    let (stream, mut pending) = match live.start(&sources, Vec::new()) {
        Ok(started) => started,
        Err(e) => return Some(e),
    };
    for _ in stream.inputs {}
    live.finish(&mut pending).err()
}

fn aws_error(e: Option<LiveError>) -> AwsError {
    match e {
        Some(LiveError::Aws(aws)) => aws,
        other => panic!("not a failed AWS call: {other:?}"),
    }
}

/// Each failure of the tool's own calls comes back from the library typed: its kind, the call,
/// the service's code, and a help apart from the one-line message.
#[test]
fn aws_failures_are_typed_by_kind() {
    let Some(em) = emulator() else { return };
    let (acct, bucket) = small_bucket(&em);
    let live = live_as(&em, &acct);
    let url = format!("s3://{bucket}/");

    // A bucket that does not exist.
    let e = aws_error(read_bucket(&live, "s3://no-such-trail-bucket-xyz/"));
    assert_eq!(
        (e.kind, e.call, e.code.as_deref()),
        (
            AwsErrorKind::NoSuchBucket,
            Call::ListObjects,
            Some("NoSuchBucket")
        ),
        "{e}"
    );

    // Access denied on the listing: the help names the permission and the resource.
    em.inject(json!([
        {"access_key": acct.key, "method": "GET", "query_contains": "list-type=2", "path_contains": format!("/{bucket}"), "status": 403, "code": "AccessDenied", "times": 1},
    ]));
    let e = aws_error(read_bucket(&live, &url));
    assert_eq!(
        (e.kind, e.call, e.status),
        (AwsErrorKind::AccessDenied, Call::ListObjects, Some(403)),
        "{e}"
    );
    assert_eq!(
        e.help(),
        Some(
            format!(
                "the identity tightrole runs as needs `s3:ListBucket` on `arn:aws:s3:::{bucket}`; docs/permissions.md lists what each command needs"
            )
            .as_str()
        )
    );
    assert!(
        !e.to_string().contains('\n') && !e.to_string().contains("help"),
        "{e}"
    );
    assert!(e.is_fatal());

    // Credentials that expire mid-run: one download stops the whole read.
    em.inject(json!([
        {"access_key": acct.key, "method": "GET", "path_contains": "2026/11/06/", "status": 400, "code": "ExpiredToken", "times": 1},
    ]));
    let e = aws_error(read_bucket(&live, &url));
    assert_eq!(
        (e.kind, e.call, e.code.as_deref()),
        (
            AwsErrorKind::Credentials,
            Call::GetObject,
            Some("ExpiredToken")
        ),
        "{e}"
    );

    // Access denied on IAM and on Lambda names their permissions.
    em.inject(json!([
        {"access_key": acct.key, "query_contains": "", "method": "POST", "path_contains": "/", "status": 403, "code": "AccessDenied", "times": 1},
    ]));
    let e = aws_error(tightrole::source::live::iam::current(&live, &mut Vec::new()).err());
    assert_eq!(
        (e.kind, e.call),
        (
            AwsErrorKind::AccessDenied,
            Call::GetAccountAuthorizationDetails
        ),
        "{e}"
    );
    assert!(
        e.help()
            .is_some_and(|h| h.contains("needs `iam:GetAccountAuthorizationDetails` on `*`")),
        "{:?}",
        e.help()
    );
    em.inject(json!([
        {"access_key": acct.key, "method": "GET", "path_contains": "/functions", "status": 403, "code": "AccessDeniedException", "times": 1},
    ]));
    let e = tightrole::source::live::lambda::inventory(&live).unwrap_err();
    assert_eq!(
        (e.kind, e.call),
        (AwsErrorKind::AccessDenied, Call::ListFunctions),
        "{e}"
    );

    // Throttled on every attempt (`max_attempts` is 2 here): throttled, not fatal.
    em.inject(json!([
        {"access_key": acct.key, "method": "GET", "query_contains": "list-type=2", "path_contains": format!("/{bucket}"), "status": 503, "code": "SlowDown", "times": 2},
    ]));
    let e = aws_error(read_bucket(&live, &url));
    assert_eq!(
        (e.kind, e.call, e.status),
        (AwsErrorKind::Throttled, Call::ListObjects, Some(503)),
        "{e}"
    );
    assert!(!e.is_fatal());
}

/// The command line prints an AWS failure as `error: ` and its one-line message, then what to
/// do on its own `help: ` line.
#[test]
fn errors_say_what_to_do() {
    let Some(em) = emulator() else { return };
    let (acct, bucket) = small_bucket(&em);
    let url = format!("s3://{bucket}/");
    // The line after `error: …`.
    let error_and_help = |out: &Output| -> (String, String) {
        let err = stderr(out);
        let mut lines = err.lines().skip_while(|l| !l.starts_with("error: "));
        let error = lines
            .next()
            .unwrap_or_else(|| panic!("no error line: {err}"));
        let help = lines
            .next()
            .unwrap_or_else(|| panic!("no help line: {err}"));
        (error.to_string(), help.to_string())
    };

    // Access denied on the tool's own call names the permission and the resource.
    em.inject(json!([
        {"access_key": acct.key, "method": "GET", "query_contains": "list-type=2", "path_contains": format!("/{bucket}"), "status": 403, "code": "AccessDenied", "times": 1},
    ]));
    let out = em.run(Some(&acct), &["usage", &url, "--region", "us-east-1"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        error_and_help(&out),
        (
            format!(
                "error: access denied: s3:ListObjectsV2 on s3://{bucket}/ was refused (AccessDenied: injected AccessDenied)"
            ),
            format!(
                "help: the identity tightrole runs as needs `s3:ListBucket` on `arn:aws:s3:::{bucket}`; docs/permissions.md lists what each command needs"
            )
        )
    );

    // Credentials that expire mid-run stop it, say how to fix them, and no partial result is
    // written as if it were complete.
    em.inject(json!([
        {"access_key": acct.key, "method": "GET", "path_contains": "2026/11/06/", "status": 400, "code": "ExpiredToken", "times": 1},
    ]));
    let tmp = tempfile::tempdir().unwrap();
    let out_dir = tmp.path().join("proposed");
    let out = em.run(
        Some(&acct),
        &[
            "generate",
            &url,
            "--region",
            "us-east-1",
            "--out",
            out_dir.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "nothing on stdout");
    assert!(!out_dir.exists(), "no policy file was written");
    let (error, help) = error_and_help(&out);
    assert!(
        error.starts_with("error: the AWS credentials were refused: s3:GetObject on s3://")
            && error.contains("(ExpiredToken: injected ExpiredToken)"),
        "{error}"
    );
    assert!(
        help.starts_with("help: tightrole uses the AWS CLI's credential chain")
            && help.contains("aws sso login"),
        "{help}"
    );

    // No credentials at all (the library cannot be asked this: it takes them from the
    // environment, which only the command line's run controls here).
    let out = em.run(None, &["usage", &url, "--region", "us-east-1"]);
    assert_eq!(out.status.code(), Some(1));
    let (error, help) = error_and_help(&out);
    assert!(
        error.starts_with("error: no usable AWS credentials"),
        "{error}"
    );
    assert!(help.contains("--profile"), "{help}");
}

/// docs/permissions.md is what tightrole proposes for itself from the trail of its own calls.
#[test]
fn permissions_doc_matches_what_tightrole_calls() {
    let Some(em) = emulator() else { return };
    let (acct, bucket) = days_bucket(
        &em,
        "self",
        json!({"first": "2026-11-01", "count": 3, "region": "us-east-1"}),
        json!({"policies": common::root().join("policies"),
        "functions": [{"name": "orders-api", "role": "shop-api-role"}]}),
    );
    let url = format!("s3://{bucket}/");
    ok(&em.run(
        Some(&acct),
        &["diff", &url, "--current", "live", "--region", "us-east-1"],
    ));
    ok(&em.run(
        Some(&acct),
        &["usage", "--lookup-events", "--region", "us-east-1"],
    ));
    let tmp = tempfile::tempdir().unwrap();
    let own = tmp.path().join("own-calls.json");
    let trail = em.control(
        "GET",
        &format!("/_tightrole/trail?access_key={}", acct.key),
        "",
    );
    std::fs::write(&own, trail.to_string()).unwrap();
    let own = own.to_str().unwrap();

    // What tightrole proposes for itself, from its own calls.
    let g = json_of(&ok(&em.run(None, &["generate", own, "--format", "json"])));
    let me = g["principals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "tightrole-test")
        .unwrap();
    let mut proposed: Vec<String> = me["policy"]["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["Action"].as_array().unwrap().iter())
        .map(|a| a.as_str().unwrap().to_string())
        .collect();
    proposed.sort();

    // The policy block of the doc.
    let doc = std::fs::read_to_string(common::root().join("docs/permissions.md")).unwrap();
    let block = doc
        .split("<!-- tightrole-policy")
        .nth(1)
        .and_then(|s| s.split("```json").nth(1))
        .and_then(|s| s.split("```").next())
        .unwrap();
    let policy: Value = serde_json::from_str(block).unwrap();
    let mut documented: Vec<String> = policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| match &s["Action"] {
            Value::String(a) => vec![a.clone()],
            Value::Array(v) => v.iter().map(|a| a.as_str().unwrap().to_string()).collect(),
            _ => vec![],
        })
        .collect();
    documented.sort();
    assert_eq!(proposed, documented, "docs/permissions.md is out of date");

    let mut named: Vec<String> = Call::ALL
        .iter()
        .map(|c| c.permission().to_string())
        .collect();
    named.sort();
    assert_eq!(named, documented);

    // And the documented policy blocks none of the calls.
    let filled = tmp.path().join("policy.json");
    std::fs::write(&filled, block.replace("TRAIL-BUCKET", &bucket)).unwrap();
    let out = em.run(None, &["check", "--policy", filled.to_str().unwrap(), own]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        stderr(&out),
        String::from_utf8_lossy(&out.stdout)
    );
}

/// The policies of one `generate --format json` output, by principal.
fn policies_of(generate_json: &str) -> BTreeMap<String, Value> {
    json_of(generate_json)["principals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                format!("{} {} {}", p["kind"], p["name"], p["account"]),
                json!([p["policy"], p["policies"]]),
            )
        })
        .collect()
}

/// The push-down SQL, executed by a real engine (DuckDB, on the demo trail's JSON files), gives
/// rows that — served by Athena's API (the emulator, seeded with them) — make `generate --athena`
/// propose exactly the policies `generate` proposes from the files.
#[test]
fn athena_push_down_gives_the_local_policies() {
    let Some(em) = emulator() else { return };
    let acct = em.setup(json!({"region": "eu-west-1"}));
    let tmp = tempfile::tempdir().unwrap();
    let window = ["--since", "2026-11-01", "--until", "2026-11-14T23:59:59Z"];
    let region = ["--region", "eu-west-1"];

    // The SQL in DuckDB's dialect, run by DuckDB over the trail files.
    let sql = ok(&em.run(
        None,
        &[
            &[
                "generate",
                "--athena",
                "cloudtrail",
                "--dry-run",
                "--dialect",
                "duckdb",
            ][..],
            &window,
        ]
        .concat(),
    ));
    let sql_file = tmp.path().join("query.sql");
    std::fs::write(&sql_file, &sql).unwrap();
    let out = Command::new(&em.python)
        .arg(common::root().join("tests/athena/duckdb_run.py"))
        .arg(&sql_file)
        .arg(common::demo_trail())
        .arg("cloudtrail")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let result: Value = serde_json::from_slice(&out.stdout).unwrap();
    let columns = result["columns"].as_array().unwrap().clone();
    let rows = result["rows"].as_array().unwrap().clone();
    let calls = columns.iter().position(|c| c == "calls").unwrap();
    let total: u64 = rows
        .iter()
        .map(|r| r[calls].as_str().unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(total, 3110, "every record of the window is in some row");
    // S3 object keys (in the parameters and in `resources[]`) are cut to their directory, so the
    // thousands of distinct objects are a few rows.
    assert!(rows.len() < 200, "{} rows for 3110 records", rows.len());

    // Athena's API serves those rows (header row first, NULL as a missing value).
    let datum = |v: &Value| match v.as_str() {
        Some(s) => json!({"VarCharValue": s}),
        None => json!({}),
    };
    let mut athena_rows = vec![json!({"Data": columns.iter().map(datum).collect::<Vec<_>>()})];
    athena_rows.extend(
        rows.iter()
            .map(|r| json!({"Data": r.as_array().unwrap().iter().map(datum).collect::<Vec<_>>()})),
    );
    em.control(
        "POST",
        "/moto-api/static/athena/query-results",
        &json!({
            "account_id": acct.id,
            "region": "eu-west-1",
            "results": [{
                "rows": athena_rows,
                "column_info": columns.iter().map(|c| json!({"Name": c, "Type": "varchar"})).collect::<Vec<_>>(),
            }],
        })
        .to_string(),
    );
    // 2 TiB scanned, as Athena would report it: USD 10 at USD 5 per TB.
    em.control(
        "POST",
        "/_tightrole/athena-scanned",
        &json!({"access_key": acct.key, "bytes": 2u64 << 40}).to_string(),
    );
    let pushed = em.run(
        Some(&acct),
        &[
            &[
                "generate",
                "--athena",
                "cloudtrail",
                "--output",
                "s3://athena-results/tightrole/",
                "--format",
                "json",
                "--stats=json",
            ][..],
            &window,
            &region,
        ]
        .concat(),
    );
    let local = em.run(
        Some(&acct),
        &[
            &[
                "generate",
                common::demo_trail().to_str().unwrap(),
                "--functions",
                "live",
                "--format",
                "json",
            ][..],
            &window,
            &region,
        ]
        .concat(),
    );
    let (pushed_json, local_json) = (ok(&pushed), ok(&local));
    assert_eq!(policies_of(&pushed_json), policies_of(&local_json));
    assert_eq!(policies_of(&local_json).len(), 11);
    assert_eq!(json_of(&pushed_json)["summary"]["records"], 3110);

    let err = stderr(&pushed);
    assert!(
        err.contains("2199023255552 byte(s) scanned, about USD 10.0000 at USD 5 per TB"),
        "{err}"
    );
    let stats = stats_of(&pushed);
    assert_eq!(stats["athena"]["rows"], rows.len());
    assert!(
        stats["athena"]["result_pages"].as_u64().unwrap() >= 2,
        "paged: {}",
        stats["athena"]
    );
}

/// `--functions live` reads each function's configuration (ListFunctions), its event-source
/// mappings (ListEventSourceMappings) and its destinations (ListFunctionEventInvokeConfigs), all
/// pages, into what the same calls' CLI output read with `--functions FILE` gives.
#[test]
fn functions_live_reads_configuration_mappings_and_destinations() {
    let Some(em) = emulator() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let cli_output = tmp.path().join("lambda.json");
    let kms = "arn:aws:kms:us-east-1:111122223333:key/tightrole-test";
    let acct = em.setup(json!({
        "region": "us-east-1",
        "queues": ["orders", "orders-dlq", "failed", "succeeded", "clicks-failed"],
        "streams": ["clicks"],
        "functions": [
            {"name": "worker", "role": "worker-role", "config": {
                "DeadLetterConfig": {"TargetArn": "queue:orders-dlq"},
                "TracingConfig": {"Mode": "Active"},
                "LoggingConfig": {"LogFormat": "JSON", "LogGroup": "/custom/worker"},
                "KMSKeyArn": kms,
            }},
            {"name": "plain", "role": "worker-role"},
        ],
        "mappings": [
            {"function": "worker", "source": "queue:orders"},
            {"function": "worker", "source": "stream:clicks", "on_failure": "queue:clicks-failed", "starting_position": "LATEST"},
        ],
        "invoke_configs": [
            {"function": "worker", "on_success": "queue:succeeded", "on_failure": "queue:failed"},
        ],
        "inventory_out": cli_output,
        "sessions": 1,
    }));
    let queue = |name: &str| acct.created["queues"][name].as_str().unwrap().to_string();
    let live = live_as(&em, &acct);
    let inv = tightrole::source::live::lambda::inventory(&live).unwrap();
    assert_eq!(
        inv.functions.keys().collect::<Vec<_>>(),
        ["plain", "worker"],
        "{inv:?}"
    );
    let worker = &inv.functions["worker"];
    assert_eq!(
        worker.role.as_deref(),
        Some(format!("arn:aws:iam::{}:role/worker-role", acct.id).as_str())
    );
    assert_eq!(
        worker.arn.as_deref(),
        Some(format!("arn:aws:lambda:us-east-1:{}:function:worker", acct.id).as_str())
    );
    let c = &worker.config;
    assert!(c.known);
    assert_eq!(c.dead_letter, Some(queue("orders-dlq")));
    assert!(c.tracing_active);
    assert_eq!(c.log_group.as_deref(), Some("/custom/worker"));
    assert_eq!(c.kms_key.as_deref(), Some(kms));
    assert!(c.subnets.is_empty() && c.security_groups.is_empty());
    assert!(c.file_systems.is_empty());
    // The mappings, with the UUIDs the emulator gave them.
    let created = acct.created["mappings"].as_array().unwrap();
    let mut mappings: Vec<(String, Option<String>, Option<String>)> = c
        .mappings
        .iter()
        .map(|m| (m.uuid.clone(), m.source.clone(), m.on_failure.clone()))
        .collect();
    mappings.sort();
    let mut expected: Vec<(String, Option<String>, Option<String>)> = created
        .iter()
        .map(|m| {
            let source = m["source"].as_str().unwrap().to_string();
            let on_failure = source.contains(":kinesis:").then(|| queue("clicks-failed"));
            (
                m["uuid"].as_str().unwrap().to_string(),
                Some(source),
                on_failure,
            )
        })
        .collect();
    expected.sort();
    assert_eq!(mappings, expected);
    assert!(expected.iter().any(|m| m.1 == Some(queue("orders"))));
    assert_eq!(
        c.destinations,
        [
            ("OnSuccess".to_string(), queue("succeeded")),
            ("OnFailure".to_string(), queue("failed")),
        ]
    );
    let plain = &inv.functions["plain"].config;
    assert!(plain.known && !plain.tracing_active && plain.dead_letter.is_none());
    assert!(plain.mappings.is_empty() && plain.destinations.is_empty());

    // The same as the CLI's output of the same calls, read as `--functions FILE`.
    let text = std::fs::read_to_string(&cli_output).unwrap();
    let from_file = tightrole::identity::Inventory::parse(&text).unwrap();
    assert_eq!(inv.functions, from_file.functions);

    // Every page of each call: the emulator gives one item a page.
    let calls = |part: &str| {
        em.key_requests(&acct.key)
            .iter()
            .filter(|r| r["path"].as_str().unwrap().contains(part))
            .count()
    };
    assert_eq!(
        calls("/event-source-mappings"),
        2,
        "two mappings, two pages"
    );
    assert_eq!(calls("/functions/worker/event-invoke-config/list"), 1);
    assert_eq!(calls("/functions/plain/event-invoke-config/list"), 1);

    // A refused ListEventSourceMappings or ListFunctionEventInvokeConfigs fails like the others,
    // naming its permission.
    em.inject(json!([
        {"access_key": acct.key, "method": "GET", "path_contains": "/event-source-mappings", "status": 403, "code": "AccessDeniedException", "times": 1},
    ]));
    let e = tightrole::source::live::lambda::inventory(&live).unwrap_err();
    assert_eq!(
        (e.kind, e.call, e.code.as_deref()),
        (
            AwsErrorKind::AccessDenied,
            Call::ListEventSourceMappings,
            Some("AccessDeniedException")
        ),
        "{e}"
    );
    assert!(
        e.help()
            .is_some_and(|h| h.contains("needs `lambda:ListEventSourceMappings` on `*`")),
        "{:?}",
        e.help()
    );
    em.inject(json!([
        {"access_key": acct.key, "method": "GET", "path_contains": "/functions/worker/event-invoke-config/list", "status": 403, "code": "AccessDeniedException", "times": 1},
    ]));
    let e = tightrole::source::live::lambda::inventory(&live).unwrap_err();
    assert_eq!(
        (e.kind, e.call),
        (
            AwsErrorKind::AccessDenied,
            Call::ListFunctionEventInvokeConfigs
        ),
        "{e}"
    );
    assert!(
        e.help().is_some_and(|h| h.contains(&format!(
            "needs `lambda:ListFunctionEventInvokeConfigs` on `arn:aws:lambda:us-east-1:{}:function:worker`",
            acct.id
        ))),
        "{:?}",
        e.help()
    );
    assert!(e.is_fatal());

    // An endpoint without ListFunctionEventInvokeConfigs does not fail the run: no destinations.
    // Under a session of its own: the failed run above cancelled its call for `plain`, which the
    // emulator may answer only now, and must not take one of these 404s.
    let other = &acct.sessions[0];
    em.inject(json!([
        {"access_key": other.key, "method": "GET", "path_contains": "/functions/worker/event-invoke-config/list", "status": 404, "code": "UnknownOperationException", "times": 1},
        {"access_key": other.key, "method": "GET", "path_contains": "/functions/plain/event-invoke-config/list", "status": 404, "code": "UnknownOperationException", "times": 1},
    ]));
    let without = tightrole::source::live::lambda::inventory(&live_as(&em, other)).unwrap();
    let w = &without.functions["worker"].config;
    assert!(w.destinations.is_empty(), "{w:?}");
    assert_eq!(w.mappings, worker.config.mappings);
    assert_eq!(w.dead_letter, worker.config.dead_letter);
    let hit = em
        .key_requests(&other.key)
        .into_iter()
        .filter(|r| r["fault"] == "UnknownOperationException")
        .count();
    assert_eq!(hit, 2, "both functions' calls were answered 404");

    // And the command line runs with it (the demo trail is in eu-west-1, the functions in
    // us-east-1, the first region).
    let out = em.run(
        Some(&acct),
        &[
            "generate",
            common::demo_trail().to_str().unwrap(),
            "--functions",
            "live",
            "--region",
            "us-east-1",
            "--region",
            "eu-west-1",
            "--format",
            "json",
        ],
    );
    let g = json_of(&ok(&out));
    assert_eq!(g["summary"]["records"], 3110);
    assert!(
        g["diagnostics"]
            .to_string()
            .contains("function `worker` (role worker-role) made no call"),
        "{}",
        g["diagnostics"]
    );
}
