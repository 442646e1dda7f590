//! Every input shape, and bad input: a warning naming the file, the rest still read.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "integration tests fail loudly on broken fixtures"
)]

mod common;

use std::io::Write;

use serde_json::{Value, json};
use tempfile::TempDir;

use common::{record, tightrole, write_records};

fn rec(name: &str, key: &str) -> Value {
    record(
        "fn:app-role/app",
        "s3.amazonaws.com",
        name,
        json!({"bucketName": "b", "key": key}),
    )
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// The (action, resource) pairs `usage --format json` reports for the single principal.
fn grants(run: &common::Run) -> Vec<(String, String)> {
    let v: Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", run.stdout, run.stderr));
    let mut out = Vec::new();
    for p in v["principals"].as_array().unwrap() {
        for e in p["evidence"].as_array().unwrap() {
            out.push((
                e["action"].as_str().unwrap().to_string(),
                e["resource"].as_str().unwrap().to_string(),
            ));
        }
    }
    out
}

fn usage_json(path: &str) -> common::Run {
    tightrole(&["usage", "--format", "json", path], None)
}

#[test]
fn s3_delivery_json_and_gzip_in_the_layout() {
    let dir = TempDir::new().unwrap();
    let body =
        serde_json::to_vec(&json!({"Records": [rec("GetObject", "a"), rec("PutObject", "b")]}))
            .unwrap();
    let day = dir
        .path()
        .join("AWSLogs/o-abc123def4/111122223333/CloudTrail/eu-west-1/2026/11/02");
    std::fs::create_dir_all(&day).unwrap();
    std::fs::write(
        day.join("111122223333_CloudTrail_eu-west-1_20261102T1005Z_x.json.gz"),
        gz(&body),
    )
    .unwrap();
    std::fs::write(
        day.join("111122223333_CloudTrail_eu-west-1_20261102T1010Z_y.json"),
        &body,
    )
    .unwrap();
    let run = usage_json(dir.path().to_str().unwrap());
    assert_eq!(run.code, 0, "{}", run.stderr);
    let g = grants(&run);
    assert!(g.contains(&("s3:GetObject".into(), "arn:aws:s3:::b/a".into())));
    assert!(g.contains(&("s3:PutObject".into(), "arn:aws:s3:::b/b".into())));
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    let ev = v["principals"][0]["evidence"].as_array().unwrap();
    assert!(ev.iter().all(|e| e["count"] == 2), "both files were read");
}

#[test]
fn bare_array_json_lines_eventbridge_and_lookup_events() {
    let dir = TempDir::new().unwrap();
    let r = rec("GetObject", "k");
    let s = r.to_string();
    let shapes: Vec<(&str, String)> = vec![
        ("array.json", format!("[{s},{s}]")),
        ("lines.jsonl", format!("{s}\n{s}\n")),
        ("eventbridge.json", json!({"version": "0", "detail-type": "AWS API Call via CloudTrail", "source": "aws.s3", "detail": r}).to_string()),
        ("eventbridge-lines.jsonl", format!("{}\n", json!({"detail-type": "AWS API Call via CloudTrail", "detail": r}))),
        ("lookup.json", json!({"Events": [{"EventId": "1", "EventName": "GetObject", "CloudTrailEvent": s}]}).to_string()),
        ("lookup-lines.jsonl", format!("{}\n", json!({"EventId": "1", "CloudTrailEvent": s}))),
    ];
    for (name, text) in shapes {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        let run = usage_json(p.to_str().unwrap());
        assert_eq!(run.code, 0, "{name}: {}", run.stderr);
        assert_eq!(
            grants(&run),
            vec![("s3:GetObject".to_string(), "arn:aws:s3:::b/k".to_string())],
            "{name}"
        );
        assert!(run.stderr.is_empty(), "{name}: {}", run.stderr);
    }
}

#[test]
fn stdin() {
    let body = json!({"Records": [rec("GetObject", "k")]}).to_string();
    let run = tightrole(&["usage", "--format", "json", "-"], Some(body.as_bytes()));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(grants(&run).len(), 1);
    let run = tightrole(
        &["usage", "--format", "json", "-"],
        Some(&gz(body.as_bytes())),
    );
    assert_eq!(grants(&run).len(), 1, "gzip on stdin");
}

#[test]
fn digest_and_non_record_json_are_skipped_with_a_note() {
    let dir = TempDir::new().unwrap();
    std::fs::write(
        dir.path().join("digest.json"),
        json!({"awsAccountId": "111122223333", "digestStartTime": "2026-11-02T10:00:00Z", "digestEndTime": "2026-11-02T11:00:00Z", "digestS3Bucket": "t", "digestS3Object": "x.json.gz", "logFiles": []}).to_string(),
    )
    .unwrap();
    std::fs::write(dir.path().join("config.json"), r#"{"region":"eu-west-1"}"#).unwrap();
    write_records(dir.path(), "trail.json", &[rec("GetObject", "k")]);
    let run = usage_json(dir.path().to_str().unwrap());
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("note:")
            && run
                .stderr
                .contains("digest.json`: CloudTrail digest file, skipped"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("config.json`: 1 JSON value(s) that are not CloudTrail records, skipped"),
        "{}",
        run.stderr
    );
    assert_eq!(grants(&run).len(), 1);
}

#[test]
fn bad_files_warn_with_their_name_and_position_and_the_rest_is_read() {
    let dir = TempDir::new().unwrap();
    let good = json!({"Records": [rec("GetObject", "good")]}).to_string();
    std::fs::write(dir.path().join("1-good.json"), &good).unwrap();
    // truncated gzip: the records before the break are kept
    let two = json!({"Records": [rec("PutObject", "t1"), rec("PutObject", "t2")]}).to_string();
    let z = gz(two.as_bytes());
    std::fs::write(dir.path().join("2-truncated.json.gz"), &z[..z.len() - 12]).unwrap();
    std::fs::write(
        dir.path().join("3-invalid.json"),
        "{\"Records\": [ {\"eventName\": ",
    )
    .unwrap();
    let mut missing = rec("GetObject", "m");
    missing.as_object_mut().unwrap().remove("eventSource");
    std::fs::write(
        dir.path().join("4-missing.json"),
        json!({"Records": [missing, rec("DeleteObject", "after")]}).to_string(),
    )
    .unwrap();
    std::fs::write(dir.path().join("5-notcloudtrail.json"), "hello, world").unwrap();
    let run = usage_json(dir.path().to_str().unwrap());
    assert_eq!(run.code, 0, "{}", run.stderr);
    let g = grants(&run);
    assert!(
        g.contains(&("s3:GetObject".into(), "arn:aws:s3:::b/good".into())),
        "{g:?}"
    );
    assert!(
        g.contains(&("s3:DeleteObject".into(), "arn:aws:s3:::b/after".into())),
        "a bad record does not lose its neighbours"
    );
    let e = &run.stderr;
    assert!(
        e.contains("2-truncated.json.gz` after decompressed byte"),
        "{e}"
    );
    assert!(e.contains("3-invalid.json` line 1 column"), "{e}");
    assert!(
        e.contains("4-missing.json` record 1: unusable record: missing field `eventSource`"),
        "{e}"
    );
    assert!(
        e.contains("5-notcloudtrail.json`: not JSON; expected CloudTrail records"),
        "{e}"
    );
    // --strict turns the warnings into a failure
    let strict = tightrole(&["usage", "--strict", dir.path().to_str().unwrap()], None);
    assert_eq!(strict.code, 4, "{}", strict.stderr);
}

#[test]
fn truncated_gzip_keeps_the_records_before_the_break() {
    let dir = TempDir::new().unwrap();
    let many: Vec<Value> = (0..400)
        .map(|i| rec("PutObject", &format!("k{i:04}")))
        .collect();
    let z = gz(json!({ "Records": many }).to_string().as_bytes());
    let p = dir.path().join("t.json.gz");
    std::fs::write(&p, &z[..z.len() * 2 / 3]).unwrap();
    let run = usage_json(p.to_str().unwrap());
    assert_eq!(run.code, 0, "{}", run.stderr);
    let n = grants(&run).len();
    assert!(n > 100 && n < 400, "kept {n} of 400");
    assert!(
        run.stderr.contains("record(s) before it are kept"),
        "{}",
        run.stderr
    );
}

#[test]
fn no_usable_record_is_never_success() {
    let dir = TempDir::new().unwrap();
    std::fs::write(dir.path().join("empty.json"), "").unwrap();
    std::fs::write(dir.path().join("empty.json.gz"), gz(b"")).unwrap();
    let run = tightrole(&["generate", dir.path().to_str().unwrap()], None);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(run.stdout.is_empty());
    assert!(
        run.stderr
            .contains("error: no usable CloudTrail record was read"),
        "{}",
        run.stderr
    );
    // a window with nothing in it is not "needs no permissions" either
    write_records(dir.path(), "t.json", &[rec("GetObject", "k")]);
    let run = tightrole(
        &[
            "generate",
            "--since",
            "2027-01-01",
            dir.path().to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(run.code, 5, "its own exit code: the trail was read");
    assert!(
        run.stderr.contains(
            "error: no record inside the filters (--since 2027-01-01T00:00:00Z): all 1 record(s) read fell outside it"
        ),
        "{}",
        run.stderr
    );
    let run = tightrole(&["generate", "does/not/exist"], None);
    assert_eq!(run.code, 3);
    assert_eq!(
        run.stderr,
        "warning: `does/not/exist`: no such file or directory\n\
         summary: 1 of 1 path(s) do not exist\n\
         error: no input: 1 path(s) given, and none exists\n\
         help: check the paths (see the warnings above)\n"
    );
    // one missing path among good ones: said plainly, and the rest is read
    let run = tightrole(
        &["usage", "does/not/exist", dir.path().to_str().unwrap()],
        None,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("summary: 1 of 2 path(s) do not exist, 2 of 3 input(s) unusable"),
        "{}",
        run.stderr
    );
}

#[test]
fn filters() {
    let dir = TempDir::new().unwrap();
    let mut early = rec("GetObject", "early");
    early["eventTime"] = json!("2026-10-01T00:00:00Z");
    let other_account = {
        let mut r = rec("GetObject", "other");
        r["recipientAccountId"] = json!("999988887777");
        r
    };
    let user = record(
        "user:bob",
        "s3.amazonaws.com",
        "PutObject",
        json!({"bucketName": "b", "key": "bob"}),
    );
    write_records(
        dir.path(),
        "t.json",
        &[early, rec("GetObject", "late"), other_account, user],
    );
    let p = dir.path().to_str().unwrap();
    let run = tightrole(
        &[
            "usage",
            "--format",
            "json",
            "--since",
            "2026-11-01",
            "--account",
            "111122223333",
            "--principal",
            "ap?",
            p,
        ],
        None,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        grants(&run),
        vec![(
            "s3:GetObject".to_string(),
            "arn:aws:s3:::b/late".to_string()
        )]
    );
    let run = tightrole(&["usage", "--since", "soon", p], None);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("`soon` is not a time"),
        "{}",
        run.stderr
    );
}

#[test]
fn layout_prunes_files_outside_the_window() {
    let dir = TempDir::new().unwrap();
    for day in ["01", "15"] {
        let mut r = rec("GetObject", day);
        r["eventTime"] = json!(format!("2026-11-{day}T10:00:00Z"));
        write_records(
            dir.path(),
            &format!("AWSLogs/111122223333/CloudTrail/eu-west-1/2026/11/{day}/f.json"),
            &[r],
        );
    }
    let run = tightrole(
        &[
            "usage",
            "--stats",
            "--since",
            "2026-11-10",
            dir.path().to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("files 1 (skipped by layout 1"),
        "{}",
        run.stderr
    );
}

/// `--region` leaves out the layout folders of other regions unopened, and the records of other
/// regions wherever they are.
#[test]
fn region_filter_prunes_folders_and_records() {
    let dir = TempDir::new().unwrap();
    for region in ["eu-west-1", "us-east-1"] {
        let mut r = rec("GetObject", region);
        r["awsRegion"] = json!(region);
        write_records(
            dir.path(),
            &format!("AWSLogs/111122223333/CloudTrail/{region}/2026/11/02/f.json"),
            &[r],
        );
    }
    // outside the layout: only the records' own region can tell
    let mut stray = rec("GetObject", "stray");
    stray["awsRegion"] = json!("us-east-1");
    write_records(
        dir.path(),
        "loose/t.json",
        &[stray, rec("GetObject", "kept")],
    );
    let p = dir.path().to_str().unwrap();
    let run = tightrole(
        &[
            "usage",
            "--format",
            "json",
            "--stats",
            "--region",
            "eu-west-1",
            p,
        ],
        None,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let mut got = grants(&run);
    got.sort();
    assert_eq!(
        got,
        vec![
            (
                "s3:GetObject".to_string(),
                "arn:aws:s3:::b/eu-west-1".to_string()
            ),
            (
                "s3:GetObject".to_string(),
                "arn:aws:s3:::b/kept".to_string()
            ),
        ]
    );
    assert!(
        run.stderr.contains("skipped by layout 1") && run.stderr.contains("filtered out 1"),
        "{}",
        run.stderr
    );
}

// ---- exports from other systems (docs/inputs.md) ----

/// The records the export tests start from: a function behind a shared role (with the Lambda
/// marker), a user, a role session with `resources[]`, a denied call, at times with and
/// without fractions.
fn export_records() -> Vec<Value> {
    let mut out = vec![
        rec("GetObject", "k1"),
        record(
            "fn:app-role/app",
            "dynamodb.amazonaws.com",
            "PutItem",
            json!({"tableName": "orders"}),
        ),
        record(
            "user:ops",
            "s3.amazonaws.com",
            "PutObject",
            json!({"bucketName": "b", "key": "ops/report.csv"}),
        ),
        common::with(
            record(
                "role:batch-role/nightly",
                "kms.amazonaws.com",
                "Decrypt",
                json!({}),
            ),
            "resources",
            json!([{"type": "AWS::KMS::Key", "ARN": "arn:aws:kms:eu-west-1:111122223333:key/k1", "accountId": "111122223333"}]),
        ),
        common::with(
            rec("DeleteObject", "k1"),
            "errorCode",
            json!("AccessDenied"),
        ),
    ];
    let times = [
        "2026-11-02T10:00:00Z",
        "2026-11-03T11:30:00.250Z",
        "2026-11-04T08:00:00Z",
        "2026-11-05T23:59:59.999Z",
        "2026-11-06T00:00:00Z",
    ];
    for (i, (r, t)) in out.iter_mut().zip(times).enumerate() {
        r["eventTime"] = json!(t);
        r["eventID"] = json!(format!("ev-{i}"));
        if r["userIdentity"]["type"] == "AssumedRole" {
            let session = r["userIdentity"]["arn"]
                .as_str()
                .unwrap()
                .rsplit('/')
                .next()
                .unwrap()
                .to_string();
            r["userIdentity"]["principalId"] = json!(format!("AROAEXAMPLEID:{session}"));
        }
    }
    out
}

/// The same time as CloudTrail Lake (and Athena, Trino) prints it: `2026-11-02 10:00:00.000`.
fn lake_time(rfc3339: &str) -> String {
    let t = chrono::DateTime::parse_from_rfc3339(rfc3339).unwrap();
    t.format("%Y-%m-%d %H:%M:%S%.3f").to_string()
}

/// A value as the query engine prints a struct, map or array: `{type=IAMUser, arn=…}`, keys in
/// lower case when `lower` (a struct's fields; a map keeps its keys).
fn engine_text(v: &Value, lower: bool) -> String {
    match v {
        Value::Object(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, v)| format!(
                    "{}={}",
                    if lower { k.to_lowercase() } else { k.clone() },
                    engine_text(v, lower)
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::Array(a) => format!(
            "[{}]",
            a.iter()
                .map(|v| engine_text(v, lower))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::Null => "null".to_string(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `records` as CloudTrail Lake query results: each row a list of one-column objects, every
/// value a string; the nested fields as JSON text, or (`engine`) as the query engine's text.
fn lake_results(records: &[Value], engine: bool) -> String {
    let rows: Vec<Value> = records
        .iter()
        .map(|r| {
            let cells: Vec<Value> = r
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| {
                    let text = match (k.as_str(), v) {
                        ("eventTime", Value::String(t)) => lake_time(t),
                        (_, Value::String(s)) => s.clone(),
                        (_, Value::Null) => "null".to_string(),
                        ("userIdentity" | "resources", v) if engine => engine_text(v, true),
                        ("requestParameters", v) if engine => engine_text(v, false),
                        (_, v) => v.to_string(),
                    };
                    json!({ k: text })
                })
                .collect();
            Value::Array(cells)
        })
        .collect();
    json!({"QueryStatus": "FINISHED", "QueryStatistics": {"ResultsCount": rows.len(), "TotalResultsCount": rows.len(), "BytesScanned": 1024}, "QueryResultRows": rows}).to_string()
}

/// `generate --format json` of `path`, without what names the input: the principals (policies
/// and evidence) and the window.
fn proposal(path: &Path) -> (Value, String) {
    let run = tightrole(
        &["generate", "--format", "json", path.to_str().unwrap()],
        None,
    );
    assert_eq!(run.code, 0, "{}: {}", path.display(), run.stderr);
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    (
        json!({"window": v["window"], "principals": v["principals"]}),
        run.stderr,
    )
}

use std::path::Path;

/// Each export shape of the same records gives the same proposal, evidence and window as the
/// delivery file, and no warning (the only note is the one every run without `--functions`
/// gets).
#[test]
fn every_export_shape_gives_the_delivery_files_policy() {
    let dir = TempDir::new().unwrap();
    let records = export_records();
    let texts: Vec<String> = records.iter().map(Value::to_string).collect();
    let delivery = write_records(dir.path(), "delivery.json", &records);
    let (want, want_stderr) = proposal(&delivery);
    assert!(!want_stderr.contains("warning"), "{want_stderr}");
    assert_eq!(
        want["principals"].as_array().unwrap().len(),
        3,
        "a function, a user and a role: {want}"
    );
    let lines = |f: &dyn Fn(&str) -> Value| -> String {
        texts.iter().map(|t| format!("{}\n", f(t))).collect()
    };
    let mut shapes: Vec<(&str, String)> = vec![
        ("json-lines.jsonl", lines(&|t| serde_json::from_str(t).unwrap())),
        ("lake-json-text.json", lake_results(&records, false)),
        ("lake-engine-text.json", lake_results(&records, true)),
        (
            "lake-event-json.json",
            json!({"QueryResultRows": texts.iter().map(|t| json!([{"eventJson": t}])).collect::<Vec<_>>()}).to_string(),
        ),
        (
            "splunk-export.json",
            // with search-time fields beside `_raw`, as an export of a verbose search has them
            lines(&|t| {
                let r: Value = serde_json::from_str(t).unwrap();
                json!({"preview": false, "result": {"_time": "2026-11-02T10:00:00.000+00:00", "sourcetype": "aws:cloudtrail",
                       "eventName": r["eventName"], "eventSource": r["eventSource"], "userIdentity.arn": r["userIdentity"]["arn"], "_raw": t}})
            }),
        ),
        (
            "splunk-results.json",
            json!({"results": texts.iter().map(|t| json!({"_raw": t})).collect::<Vec<_>>()}).to_string(),
        ),
        (
            "splunk-hec-objects.jsonl",
            lines(&|t| json!({"time": 1, "sourcetype": "aws:cloudtrail", "event": serde_json::from_str::<Value>(t).unwrap()})),
        ),
        (
            "splunk-hec-strings.jsonl",
            lines(&|t| json!({"time": 1, "event": t})),
        ),
        (
            "cloudwatch-filter-log-events.json",
            json!({"events": texts.iter().enumerate().map(|(i, t)| json!({"logStreamName": "s", "timestamp": i, "message": t, "eventId": i.to_string()})).collect::<Vec<_>>(), "searchedLogStreams": []}).to_string(),
        ),
        (
            "cloudwatch-subscription.json",
            json!({"messageType": "DATA_MESSAGE", "logGroup": "aws-cloudtrail-logs", "logEvents": texts.iter().map(|t| json!({"id": "1", "timestamp": 1, "message": t})).collect::<Vec<_>>()}).to_string(),
        ),
        (
            "firehose-messages.jsonl",
            lines(&|t| json!({"message": t})),
        ),
        (
            "cloudtrail-event-objects.jsonl",
            lines(&|t| json!({"EventId": "1", "CloudTrailEvent": serde_json::from_str::<Value>(t).unwrap()})),
        ),
    ];
    // the time as each exporting system spells it, the same instants
    let spellings = [
        "2026-11-02 10:00:00.000",
        "2026-11-03 11:30:00.250000000",
        "2026-11-04T08:00:00.000+0000",
        "2026-11-06 01:59:59.999 +0200",
        "2026-11-06 00:00:00 UTC",
    ];
    let mut timed = records.clone();
    for (r, t) in timed.iter_mut().zip(spellings) {
        r["eventTime"] = json!(t);
    }
    shapes.push(("export-times.json", json!({ "Records": timed }).to_string()));
    // without `userIdentity.arn`: the session from `principalId`, the role from the issuer
    let mut no_arn = records.clone();
    for r in &mut no_arn {
        if r["userIdentity"]["type"] == "AssumedRole" {
            r["userIdentity"].as_object_mut().unwrap().remove("arn");
        }
    }
    shapes.push(("no-arn.json", json!({ "Records": no_arn }).to_string()));
    for (name, text) in shapes {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        let (got, stderr) = proposal(&p);
        assert_eq!(got, want, "{name}");
        assert_eq!(stderr, want_stderr, "{name}: no warning, nothing skipped");
    }
}

/// A record without `eventTime` is usage: it is granted, counted, kept by `--since`, warned
/// of once per file, and gives no time (never a made-up 1970 date) to first or last seen, the
/// window or the active days.
#[test]
fn records_without_a_time_are_usage() {
    let dir = TempDir::new().unwrap();
    let untimed = |name: &str, key: &str| {
        let mut r = rec(name, key);
        r.as_object_mut().unwrap().remove("eventTime");
        r
    };
    write_records(
        dir.path(),
        "a.json",
        &[
            untimed("GetObject", "only-untimed"),
            untimed("GetObject", "only-untimed"),
            untimed("GetObject", "mixed"),
            rec("GetObject", "mixed"),
        ],
    );
    write_records(dir.path(), "b.json", &[untimed("PutObject", "b")]);
    let p = dir.path().to_str().unwrap();
    let run = tightrole(
        &[
            "usage",
            "--format",
            "json",
            "--stats=json",
            "--since",
            "2026-11-01",
            p,
        ],
        None,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    let ev = |key: &str| {
        v["principals"][0]["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["resource"].as_str().unwrap().ends_with(key))
            .cloned()
            .unwrap_or_else(|| panic!("no grant on {key}: {v}"))
    };
    let only = ev("only-untimed");
    assert_eq!(only["count"], 2);
    assert_eq!(
        (&only["first_seen"], &only["last_seen"]),
        (&Value::Null, &Value::Null)
    );
    let mixed = ev("mixed");
    assert_eq!(mixed["count"], 2);
    assert_eq!(mixed["first_seen"], "2026-11-02T10:00:00Z");
    assert_eq!(mixed["last_seen"], "2026-11-02T10:00:00Z");
    assert_eq!(
        v["window"],
        json!({"first": "2026-11-02T10:00:00Z", "last": "2026-11-02T10:00:00Z"})
    );
    // the epoch as a date, not the digits: `--stats=json`'s seconds (0.0019703…) and the
    // temporary directory's name can hold "1970" by chance
    assert!(!run.stdout.contains("1970-01-01") && !run.stderr.contains("1970-01-01"));
    // one warning per file, not per record
    let warnings: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.contains("without `eventTime`"))
        .collect();
    assert_eq!(warnings.len(), 2, "{}", run.stderr);
    assert!(
        warnings[0].contains("a.json`: 3 record(s) without `eventTime`"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("summary: 0 of 2 input(s) unusable, 0 unusable record(s), 4 record(s) without a time kept"),
        "{}",
        run.stderr
    );
    let stats: Value = run
        .stderr
        .lines()
        .find_map(|l| serde_json::from_str(l).ok())
        .unwrap();
    assert_eq!(stats["records_untimed"], 4);
    assert_eq!(stats["records"], 5);
    // the text table says `-`, explain says `unknown`
    let run = tightrole(&["usage", p], None);
    assert!(
        run.stdout.contains("arn:aws:s3:::b/only-untimed      2  -"),
        "{}",
        run.stdout
    );
    // a grant seen only without a time is never flagged as new in the window
    let run = tightrole(&["generate", "--format", "json", p], None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = tightrole(&["explain", "app", "--trail", p], None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("first unknown, last unknown"),
        "{}",
        run.stdout
    );
}

/// The summary says how many records were dropped for each reason; `--stats=json` has the
/// same counts by reason, adding up to `records_bad`.
#[test]
fn the_summary_counts_dropped_records_by_reason() {
    let dir = TempDir::new().unwrap();
    let without = |field: &str| {
        let mut r = rec("GetObject", "k");
        r.as_object_mut().unwrap().remove(field);
        r
    };
    let mut bad_time = rec("GetObject", "k");
    bad_time["eventTime"] = json!("last tuesday");
    write_records(
        dir.path(),
        "a.json",
        &[
            without("eventSource"),
            without("eventSource"),
            without("eventSource"),
            bad_time,
            rec("GetObject", "k"),
        ],
    );
    std::fs::write(
        dir.path().join("b.jsonl"),
        format!(
            "{}\n{{\"_raw\": \"{{\\\"eventName\\\": \"}}\n",
            json!({"_raw": without("userIdentity").to_string()})
        ),
    )
    .unwrap();
    // a parameter that no JSON value can hold (a number out of range): its record is dropped,
    // the parameter named, the record beside it kept
    let good = rec("GetObject", "k").to_string();
    let out_of_range = good.replacen(r#""key":"k""#, r#""key":"k","n":1e999"#, 1);
    assert_ne!(good, out_of_range);
    std::fs::write(
        dir.path().join("c.json"),
        format!(r#"{{"Records":[{out_of_range},{good}]}}"#),
    )
    .unwrap();
    let run = tightrole(
        &["usage", "--stats=json", dir.path().to_str().unwrap()],
        None,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "summary: 0 of 3 input(s) unusable, 7 unusable record(s) (dropped: 3 without `eventSource`, 1 without `userIdentity`, 1 with an unreadable `eventTime`, 1 with unreadable `requestParameters`, 1 with an unreadable embedded record); everything else was read"
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("b.jsonl` record 2: unusable record: `_raw` holds malformed JSON"),
        "{}",
        run.stderr
    );
    let stats: Value = run
        .stderr
        .lines()
        .find_map(|l| serde_json::from_str(l).ok())
        .unwrap();
    assert!(
        run.stderr.contains(
            "c.json` record 1: unusable record: `requestParameters.n` cannot be read: number out of range"
        ),
        "{}",
        run.stderr
    );
    assert_eq!(stats["records_bad"], 7);
    assert_eq!(
        stats["records_dropped"],
        json!({"no_event_source": 3, "no_user_identity": 1, "bad_time": 1, "bad_parameters": 1, "bad_embedded": 1})
    );
}
