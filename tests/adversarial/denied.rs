//! Denied stays denied, and a name is never a wildcard: defects 1 and 2 of the review.

use std::collections::BTreeSet;
use std::path::Path;

use proptest::prelude::*;
use serde_json::{Value, json};
use tempfile::TempDir;
use tightrole::catalog::Catalog;
use tightrole::fold::{GeneralizeLevel as Level, fold_on_read, fold_stem};
use tightrole::policy::{Context, Decision, PolicyDocument, Request, evaluate_all};
use tightrole::synth::{SynthOptions, propose, replay};
use tightrole::usage::{Evidence, Folded, Grants, PrincipalUsage, grant_key};
use tightrole::wildcard::escape;

use super::common;

const BUCKET: &str = "shop-uploads-111122223333";

fn get(key: &str, denied: bool) -> Value {
    let mut r = common::record(
        "fn:thumbnailer-role/thumbnailer",
        "s3.amazonaws.com",
        "GetObject",
        json!({"bucketName": BUCKET, "key": key}),
    );
    r["eventID"] = json!(format!("get-{key}-{denied}"));
    if denied {
        r = common::with(r, "errorCode", json!("AccessDenied"));
        r = common::with(r, "errorMessage", json!("Access Denied"));
    }
    r
}

/// The review's case: a function reads two uploads of a day and is denied on a third.
fn trail(dir: &Path) -> std::path::PathBuf {
    common::write_records(
        dir,
        "trail.json",
        &[
            get("uploads/2026/11/03/a.jpg", false),
            get("uploads/2026/11/03/b.jpg", false),
            get("uploads/2026/11/03/private-c.jpg", true),
            get("uploads/2026/11/04/d.jpg", false),
        ],
    )
}

fn policy_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for kind in std::fs::read_dir(dir).unwrap() {
        let kind = kind.unwrap().path();
        if kind.is_dir() {
            for f in std::fs::read_dir(&kind).unwrap() {
                out.push(f.unwrap().path());
            }
        }
    }
    out.sort();
    out
}

/// `tightrole generate TRAIL --out OUT EXTRA…`, which must succeed.
fn generate_into(trail: &Path, out: &Path, extra: &[&str]) -> common::Run {
    let mut args = vec![
        "generate",
        trail.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let run = common::tightrole(&args, None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    run
}

/// `tightrole check` replays the trail against the policy file: nothing observed is blocked,
/// and no call denied in the trail would be allowed.
fn blocks_every_denied_call(policy: &Path, trail: &Path) {
    let check = common::tightrole(
        &[
            "check",
            "--policy",
            policy.to_str().unwrap(),
            trail.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(check.code, 0, "{}", check.stdout);
    assert!(
        !check.stdout.contains("would be allowed"),
        "{}\n{}",
        check.stdout,
        std::fs::read_to_string(policy).unwrap_or_default()
    );
}

/// Every proposal, at every `--generalize` and with `--compact`, blocks the denied call (as
/// `tightrole check` replays it) and still allows every observed call.
#[test]
fn a_denied_call_under_a_generalized_prefix_stays_denied() {
    let tmp = TempDir::new().unwrap();
    let trail = trail(tmp.path());
    let trail = trail.to_str().unwrap();
    for level in ["exact", "prefix", "type"] {
        for compact in [false, true] {
            let out = tmp.path().join(format!("out-{level}-{compact}"));
            let mut args = vec![
                "generate",
                trail,
                "--generalize",
                level,
                "--out",
                out.to_str().unwrap(),
            ];
            if compact {
                args.push("--compact");
            }
            let run = common::tightrole(&args, None);
            assert_eq!(run.code, 0, "{level}: {}", run.stderr);
            if level != "exact" {
                // narrowed around it where the exact keys are known, denied explicitly where
                // the keys were folded into their directory as they were read
                assert!(
                    run.stdout.contains("would also allow the denied call")
                        || run.stdout.contains("denied explicitly"),
                    "{level}: the narrowing is reported:\n{}",
                    run.stdout
                );
            }
            let files = policy_files(&out);
            assert!(!files.is_empty());
            for f in files {
                let check =
                    common::tightrole(&["check", "--policy", f.to_str().unwrap(), trail], None);
                assert_eq!(check.code, 0, "{level} {f:?}: {}", check.stdout);
                assert!(
                    !check.stdout.contains("would be allowed"),
                    "{level} {f:?}: a denied call is allowed:\n{}\n{}",
                    check.stdout,
                    std::fs::read_to_string(&f).unwrap()
                );
            }
        }
    }
    // the same trail checked against a policy that does allow the denied call says so
    let wide = tmp.path().join("wide.json");
    std::fs::write(
        &wide,
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
               "Resource": format!("arn:aws:s3:::{BUCKET}/uploads/*")}]})
        .to_string(),
    )
    .unwrap();
    let check = common::tightrole(&["check", "--policy", wide.to_str().unwrap(), trail], None);
    assert!(
        check.stdout.contains(
            "uploads/2026/11/03/private-c.jpg` was denied in the trail and would be allowed"
        ),
        "{}",
        check.stdout
    );
}

/// A kept grant (`--keep`) that covers a denied call gets an explicit deny next to it, and a
/// note says which statement would have allowed it.
#[test]
fn a_kept_grant_over_a_denied_call_is_fenced_and_noted() {
    let tmp = TempDir::new().unwrap();
    let trail = trail(tmp.path());
    let keep = tmp.path().join("keep.tsv");
    std::fs::write(
        &keep,
        format!("thumbnailer\ts3:GetObject\tarn:aws:s3:::{BUCKET}/*\tthumbnails of any upload\n"),
    )
    .unwrap();
    let out = tmp.path().join("out");
    let run = generate_into(&trail, &out, &["--keep", keep.to_str().unwrap()]);
    assert!(
        run.stdout.contains("was denied in the trail and statement")
            && run.stdout.contains("denied explicitly"),
        "{}",
        run.stdout
    );
    let f = out.join("function/thumbnailer.json");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&f).unwrap()).unwrap();
    let deny: Vec<&Value> = doc["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["Effect"] == "Deny")
        .collect();
    assert_eq!(deny.len(), 1, "{doc}");
    assert_eq!(
        deny[0]["Resource"],
        json!([format!(
            "arn:aws:s3:::{BUCKET}/uploads/2026/11/03/private-c.jpg"
        )])
    );
    blocks_every_denied_call(&f, &trail);
}

/// Objects literally named `*`, `?`, `${aws:username}` and `a*b` are granted as themselves: the
/// evaluator's reading of each emitted ARN matches exactly the observed resource.
#[test]
fn wildcard_and_variable_characters_in_names_are_literal() {
    let tmp = TempDir::new().unwrap();
    let names = ["*", "?", "${aws:username}", "a*b", "dir/*", "x$y"];
    let records: Vec<Value> = names.iter().map(|k| get(k, false)).collect();
    let trail = common::write_records(tmp.path(), "trail.json", &records);
    for level in ["exact", "prefix"] {
        let out = tmp.path().join(format!("out-{level}"));
        let run = common::tightrole(
            &[
                "generate",
                trail.to_str().unwrap(),
                "--generalize",
                level,
                "--out",
                out.to_str().unwrap(),
            ],
            None,
        );
        assert_eq!(run.code, 0, "{}", run.stderr);
        let text = std::fs::read_to_string(out.join("function/thumbnailer.json")).unwrap();
        assert!(
            !text.contains(&format!("\"arn:aws:s3:::{BUCKET}/*\"")),
            "{level}: an object named `*` became the whole bucket:\n{text}"
        );
        let doc = PolicyDocument::parse(&text).unwrap();
        let allows = |raw: &str| {
            let resource = format!("arn:aws:s3:::{BUCKET}/{raw}");
            evaluate_all(
                [&doc],
                &Request {
                    action: "s3:GetObject",
                    // a request names its resource as tightrole writes one
                    resource: &escape(&resource),
                    context: &Context::default(),
                },
            ) == Decision::Allow
        };
        for n in names {
            assert!(allows(n), "{level}: `{n}` is granted:\n{text}");
        }
        if level == "exact" {
            for other in ["x", "ab", "a-b", "alice", "dir/x", "xy"] {
                assert!(
                    !allows(other),
                    "{level}: `{other}` is not granted by a literal name:\n{text}"
                );
            }
            assert!(text.contains("${*}") && text.contains("${?}") && text.contains("${$}{"));
        }
    }
}

fn t(h: u32) -> chrono::DateTime<chrono::Utc> {
    use chrono::TimeZone;
    chrono::Utc
        .with_ymd_and_hms(2026, 11, 1, h % 24, 0, 0)
        .single()
        .unwrap()
}

fn evidence(n: u32) -> Evidence {
    let mut e = Evidence::new(Some(t(n)), &format!("e{n}"));
    e.seen.count = 1;
    e
}

fn key() -> impl Strategy<Value = String> {
    let seg = prop_oneof![
        Just("uploads"),
        Just("in"),
        Just("2026"),
        Just("11"),
        Just("p1"),
        Just("*"),
        Just("3f1c9a527d444b7e"),
    ];
    (prop::collection::vec(seg, 0..4), "[a-c*?]{1,2}(\\.jpg)?").prop_map(|(dirs, file)| {
        let mut k: String = dirs.iter().map(|d| format!("{d}/")).collect();
        k.push_str(&file);
        k
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// For random usage with denied calls, under any `--generalize`, with or without compaction
    /// and folding on read, the evaluator never allows a denied (action, resource) of the
    /// principal that it did not also see allowed, and every allowed call still replays.
    #[test]
    fn the_evaluator_never_allows_a_denied_pair(
        allowed in prop::collection::btree_set((0usize..2, key()), 1..24),
        denied in prop::collection::btree_set((0usize..2, key()), 1..6),
        level in prop_oneof![Just(Level::Exact), Just(Level::Prefix), Just(Level::Type)],
        compact in any::<bool>(),
        bound in 1usize..4,
    ) {
        let actions = ["s3:GetObject", "s3:PutObject"];
        let arn = |k: &str| escape(&format!("arn:aws:s3:::b/{k}")).into_owned();
        let mut grants = Grants::new();
        for (i, (a, k)) in allowed.iter().enumerate() {
            let r = arn(k);
            // fold on read as the reader does unless exact
            let folded = if level == Level::Exact { None } else { fold_on_read(&r) };
            match folded {
                Some(p) => {
                    let stem = fold_stem(&p).to_string();
                    let e = grants
                        .entry(grant_key(actions[*a], p).unwrap())
                        .or_insert_with(|| evidence(i as u32));
                    let rest = r.strip_prefix(stem.as_str()).unwrap();
                    e.folded.get_or_insert_with(Box::<Folded>::default).add(&stem, rest);
                }
                None => {
                    grants.insert(grant_key(actions[*a], r).unwrap(), evidence(i as u32));
                }
            }
        }
        let mut den = Grants::new();
        for (i, (a, k)) in denied.iter().enumerate() {
            den.insert(grant_key(actions[*a], arn(k)).unwrap(), evidence(100 + i as u32));
        }
        let opts = SynthOptions {
            level,
            max_prefixes: bound,
            compact,
            ..SynthOptions::default()
        };
        let p = propose(&grants, &den, &[], Catalog::embedded(), &opts).unwrap();
        let usage = PrincipalUsage { grants: grants.clone(), ..PrincipalUsage::default() };
        prop_assert!(replay(&p.documents, &usage).is_empty());
        let seen: BTreeSet<(String, String)> = allowed
            .iter()
            .map(|(a, k)| (actions[*a].to_string(), arn(k)))
            .collect();
        for (action, resource) in den.keys() {
            if seen.contains(&(action.to_string(), resource.to_string())) {
                continue;
            }
            let d = evaluate_all(
                p.documents.iter(),
                &Request { action, resource, context: &Context::default() },
            );
            prop_assert!(
                d != Decision::Allow,
                "{action} on {resource} allowed by {}",
                p.documents.iter().map(|d| d.to_json_pretty()).collect::<Vec<_>>().join("\n")
            );
        }
    }
}

/// Athena's push-down cuts S3 keys to their directory in SQL as the reader folds them; a denied
/// call's key is never cut, so the synthesizer can narrow around it. Run by DuckDB (from the
/// emulator's virtualenv, which `scripts/test` sets up) on the review's trail.
#[test]
fn athena_rows_keep_denied_keys_exact() {
    let Ok(python) = std::env::var("TIGHTROLE_MOTO_PYTHON") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run the DuckDB tests: scripts/test sets TIGHTROLE_MOTO_PYTHON"
        );
        eprintln!("skipped: no TIGHTROLE_MOTO_PYTHON with duckdb (run scripts/test)");
        return;
    };
    let tmp = TempDir::new().unwrap();
    let dir = tmp
        .path()
        .join("AWSLogs/111122223333/CloudTrail/eu-west-1/2026/11/02");
    std::fs::create_dir_all(&dir).unwrap();
    trail(&dir);
    let sql = common::tightrole(
        &[
            "generate",
            "--athena",
            "cloudtrail",
            "--dry-run",
            "--dialect",
            "duckdb",
        ],
        None,
    );
    assert_eq!(sql.code, 0, "{}", sql.stderr);
    let sql_file = tmp.path().join("q.sql");
    std::fs::write(&sql_file, &sql.stdout).unwrap();
    let out = std::process::Command::new(python)
        .arg(common::root().join("tests/athena/duckdb_run.py"))
        .arg(&sql_file)
        .arg(tmp.path())
        .arg("cloudtrail")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let result: Value = serde_json::from_slice(&out.stdout).unwrap();
    let columns = result["columns"].as_array().unwrap();
    let params = columns.iter().position(|c| c == "params").unwrap();
    let keys: BTreeSet<String> = result["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r[params].as_str())
        .filter_map(|p| serde_json::from_str::<Value>(p).ok())
        .filter_map(|p| p["key"].as_str().map(str::to_string))
        .collect();
    assert_eq!(
        keys,
        BTreeSet::from([
            "uploads/*".to_string(),
            "uploads/2026/11/03/private-c.jpg".to_string()
        ]),
        "allowed keys cut, the denied one exact"
    );
}

/// Two functions share a role: one is denied on an object the other reads. Their policies all
/// land on the role, so the first one's proposal must not deny what the second one did. The
/// same with every grant written to disk as it is read (`--spill-after 1`): the role's grants
/// are then read back a member at a time, keeping only the denied actions' (a third function
/// on the role calls something else).
#[test]
fn a_deny_for_one_function_never_blocks_another_on_the_same_role() {
    let tmp = TempDir::new().unwrap();
    let call = |who: &str, key: &str, denied: bool| {
        let mut r = common::record(
            who,
            "s3.amazonaws.com",
            "GetObject",
            json!({"bucketName": BUCKET, "key": key}),
        );
        r["eventID"] = json!(format!("{who}-{key}-{denied}"));
        if denied {
            r = common::with(r, "errorCode", json!("AccessDenied"));
        }
        r
    };
    let trail = common::write_records(
        tmp.path(),
        "trail.json",
        &[
            call("fn:shared-role/a", "uploads/2026/11/03/x.jpg", false),
            call("fn:shared-role/a", "uploads/2026/11/03/private.jpg", true),
            call("fn:shared-role/b", "uploads/2026/11/03/private.jpg", false),
            common::record(
                "fn:shared-role/c",
                "sqs.amazonaws.com",
                "SendMessage",
                json!({"queueUrl": "https://sqs.us-east-1.amazonaws.com/111122223333/q"}),
            ),
        ],
    );
    let out = tmp.path().join("out");
    let run = generate_into(&trail, &out, &[]);
    let spilled = tmp.path().join("spilled");
    let again = generate_into(&trail, &spilled, &["--spill-after", "1", "--stats=json"]);
    assert!(
        again.stderr.contains("\"bytes_spilled\""),
        "{}",
        again.stderr
    );
    assert_eq!(again.stdout, run.stdout);
    for f in ["function/a.json", "function/b.json", "function/c.json"] {
        assert_eq!(
            std::fs::read_to_string(out.join(f)).unwrap(),
            std::fs::read_to_string(spilled.join(f)).unwrap(),
            "{f}"
        );
    }
    assert!(
        run.stdout
            .contains("allowed for `b`, which runs as the same role"),
        "{}",
        run.stdout
    );
    // every policy of the role together still allows what `b` did
    let docs: Vec<PolicyDocument> = ["function/a.json", "function/b.json"]
        .iter()
        .map(|f| PolicyDocument::parse(&std::fs::read_to_string(out.join(f)).unwrap()).unwrap())
        .collect();
    let d = evaluate_all(
        docs.iter(),
        &Request {
            action: "s3:GetObject",
            resource: &format!("arn:aws:s3:::{BUCKET}/uploads/2026/11/03/private.jpg"),
            context: &Context::default(),
        },
    );
    assert_eq!(d, Decision::Allow, "b's call stays allowed on the role");
}

/// With `--shared-role scope`, grants carry `lambda:SourceFunctionArn`; a denied call of one
/// function under another's generalized grant is still fenced (the evaluator cannot decide the
/// condition for it, and that counts as allowed).
#[test]
fn scoped_shared_roles_fence_denied_calls_too() {
    let tmp = TempDir::new().unwrap();
    let trail = trail(tmp.path());
    let run = common::tightrole(
        &[
            "generate",
            trail.to_str().unwrap(),
            "--shared-role",
            "scope",
            "--format",
            "json",
        ],
        None,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let out: Value = serde_json::from_str(&run.stdout).unwrap();
    let text = out["principals"].to_string();
    assert!(text.contains("DeniedInTrail"), "{text}");
}

/// A busy directory: a thousand objects read (more than the fold's exact range) and one denied.
/// The pattern stays, and the denied object is denied explicitly.
#[test]
fn a_denied_call_in_a_busy_folded_directory_stays_denied() {
    let tmp = TempDir::new().unwrap();
    let mut records: Vec<Value> = (0..1000)
        .map(|i| get(&format!("uploads/2026/11/03/img-{i:04}.jpg"), false))
        .collect();
    records.push(get("uploads/2026/11/03/private-c.jpg", true));
    let trail = common::write_records(tmp.path(), "trail.json", &records);
    let out = tmp.path().join("out");
    generate_into(&trail, &out, &[]);
    let f = out.join("function/thumbnailer.json");
    blocks_every_denied_call(&f, &trail);
}

/// Narrowing compares the escaped names it stands for: a directory with `?` in its name and
/// more subdirectories than `--max-prefixes` still narrows (no internal error).
#[test]
fn narrowing_reads_escaped_names() {
    let tmp = TempDir::new().unwrap();
    let mut records: Vec<Value> = (0..40)
        .map(|i| get(&format!("reports?/c{i:02}/x.csv"), false))
        .collect();
    records.push(get("reports?/c00/secret.csv", true));
    let trail = common::write_records(tmp.path(), "trail.json", &records);
    let out = tmp.path().join("out");
    generate_into(&trail, &out, &["--generalize", "prefix"]);
    let f = out.join("function/thumbnailer.json");
    blocks_every_denied_call(&f, &trail);
}
