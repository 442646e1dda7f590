//! The bad-input corpus: every case pins its exit code, stdout and stderr. One bad file never
//! stops the others; the summary counts what was skipped; `--strict` turns warnings into exit 4.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "integration tests fail loudly on broken fixtures"
)]

mod common;

use std::path::Path;

use tempfile::TempDir;

use common::{root, tightrole, transcript};

const POLICY_CASES: [&str; 9] = [
    "policy-duplicate-keys.json",
    "policy-statement-an-object.json",
    "policy-not-principal.json",
    "policy-unknown-condition-operator.json",
    "policy-action-and-notaction.json",
    "policy-bad-url-encoding.json",
    "policy-effect-maybe.json",
    "authorization-details-from-another-tool.json",
    "authorization-details-missing-managed-policy.json",
];

fn snapshot_name(file: &str) -> String {
    file.replace(['.', '-'], "_")
}

fn trail_cases() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(root().join("tests/bad_input"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| {
            !n.ends_with(".md") && !n.ends_with(".py") && !POLICY_CASES.contains(&n.as_str())
        })
        .collect();
    v.sort();
    v
}

#[test]
fn every_trail_case() {
    let cases = trail_cases();
    assert!(cases.len() >= 29, "{}", cases.len());
    for case in cases {
        let path = format!("tests/bad_input/{case}");
        let run = tightrole(&["usage", &path], None);
        insta::assert_snapshot!(snapshot_name(&case), transcript(&run, &[]));
        assert!(matches!(run.code, 0 | 3), "{case}: exit {}", run.code);
    }
}

#[test]
fn every_policy_case() {
    for case in POLICY_CASES {
        let path = format!("tests/bad_input/{case}");
        let run = tightrole(
            &[
                "check",
                "--policy",
                &path,
                "--principal",
                "payments",
                "examples/demo-trail",
            ],
            None,
        );
        insta::assert_snapshot!(snapshot_name(case), transcript(&run, &[]));
        assert!(matches!(run.code, 0 | 1 | 10), "{case}: exit {}", run.code);
    }
}

#[test]
fn one_bad_file_never_stops_the_others() {
    let dir = TempDir::new().unwrap();
    for case in trail_cases() {
        std::fs::copy(
            root().join("tests/bad_input").join(&case),
            dir.path().join(&case),
        )
        .unwrap();
    }
    std::fs::copy(
        root()
            .join("examples/demo-trail/AWSLogs/111122223333/CloudTrail/eu-west-1/2026/11/01")
            .read_dir()
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path(),
        dir.path().join("good.json.gz"),
    )
    .unwrap();
    let run = tightrole(&["usage", "--stats", dir.path().to_str().unwrap()], None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("function orders-api"),
        "the good file was read"
    );
    assert!(run.stderr.contains("summary: "), "{}", run.stderr);
    let strict = tightrole(&["usage", "--strict", dir.path().to_str().unwrap()], None);
    assert_eq!(strict.code, 4);
    assert!(
        strict.stderr.contains("`--strict` was given"),
        "{}",
        strict.stderr
    );
}

fn scrubbed(run: &common::Run, dir: &Path) -> String {
    transcript(run, &[(dir.to_str().unwrap(), "[TMP]")])
}

#[test]
fn a_100_mb_single_line() {
    let dir = TempDir::new().unwrap();
    let p = dir.path().join("huge-line.jsonl");
    let big = "x".repeat(100 * 1024 * 1024);
    let line = format!(
        r#"{{"eventVersion":"1.09","userIdentity":{{"type":"IAMUser","accountId":"111122223333","arn":"arn:aws:iam::111122223333:user/bob"}},"eventTime":"2026-11-02T10:00:00Z","eventSource":"s3.amazonaws.com","eventName":"PutObject","awsRegion":"eu-west-1","requestParameters":{{"bucketName":"b","key":"k","padding":"{big}"}},"recipientAccountId":"111122223333"}}"#
    );
    std::fs::write(&p, line).unwrap();
    let run = tightrole(&["usage", p.to_str().unwrap()], None);
    insta::assert_snapshot!("huge_line", scrubbed(&run, dir.path()));
    assert_eq!(run.code, 0);
}

#[test]
fn deep_nesting_hits_a_limit_not_the_stack() {
    let dir = TempDir::new().unwrap();
    let p = dir.path().join("deep.json");
    let deep = format!("{}{}", "[".repeat(200_000), "]".repeat(200_000));
    let record = r#"{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","accountId":"111122223333","arn":"arn:aws:iam::111122223333:user/bob"},"eventTime":"2026-11-02T10:00:00Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"eu-west-1","requestParameters":DEEP}"#;
    std::fs::write(
        &p,
        format!(r#"{{"Records":[{}]}}"#, record.replace("DEEP", &deep)),
    )
    .unwrap();
    let run = tightrole(&["usage", p.to_str().unwrap()], None);
    insta::assert_snapshot!("deep_nesting", scrubbed(&run, dir.path()));
    assert_eq!(run.code, 3);
}

#[test]
fn a_symbolic_link_loop() {
    let dir = TempDir::new().unwrap();
    let d = dir.path().join("trail");
    std::fs::create_dir_all(d.join("a")).unwrap();
    std::os::unix::fs::symlink(&d, d.join("a/loop")).unwrap();
    std::fs::copy(
        root().join("tests/bad_input/bom-prefixed.json"),
        d.join("a/ok.json"),
    )
    .unwrap();
    let run = tightrole(&["usage", d.to_str().unwrap()], None);
    insta::assert_snapshot!("symlink_loop", scrubbed(&run, dir.path()));
    assert_eq!(run.code, 0);
}

#[test]
fn an_unreadable_file() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new().unwrap();
    let p = dir.path().join("secret.json");
    std::fs::copy(root().join("tests/bad_input/bom-prefixed.json"), &p).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o000)).unwrap();
    let (code, stderr) = if std::fs::read(&p).is_ok() {
        // Running as root (CI does): permissions do not apply to root, so run the binary as
        // `nobody`, from a copy in the (world-readable) temp dir.
        if !Path::new("/usr/bin/setpriv").exists() {
            eprintln!("skipped: running as root and setpriv is missing");
            return;
        }
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let bin = dir.path().join("tightrole");
        std::fs::copy(env!("CARGO_BIN_EXE_tightrole"), &bin).unwrap();
        let out = std::process::Command::new("/usr/bin/setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&bin)
            .args(["usage", p.to_str().unwrap()])
            .output()
            .unwrap();
        (
            out.status.code().unwrap(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    } else {
        let run = tightrole(&["usage", p.to_str().unwrap()], None);
        (run.code, run.stderr)
    };
    assert_eq!(code, 3, "{stderr}");
    assert!(
        stderr.contains("secret.json`: cannot read: permission denied"),
        "{stderr}"
    );
}

#[test]
fn a_directory_of_100000_empty_files() {
    let dir = TempDir::new().unwrap();
    let d = dir.path().join("empties");
    std::fs::create_dir_all(&d).unwrap();
    for i in 0..100_000 {
        std::fs::File::create(d.join(format!("{i:06}.json"))).unwrap();
    }
    std::fs::copy(
        root().join("tests/bad_input/bom-prefixed.json"),
        d.join("zz-good.json"),
    )
    .unwrap();
    let run = tightrole(&["usage", d.to_str().unwrap()], None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.lines().count() < 20,
        "warnings are summarized: {} lines",
        run.stderr.lines().count()
    );
    insta::assert_snapshot!("hundred_thousand_empty_files", scrubbed(&run, dir.path()));
}

#[test]
fn a_10_mb_policy_document() {
    let dir = TempDir::new().unwrap();
    let p = dir.path().join("big-policy.json");
    let mut statements: Vec<serde_json::Value> = (0..60_000)
        .map(|i| serde_json::json!({"Effect": "Allow", "Action": "s3:GetObject", "Resource": format!("arn:aws:s3:::bucket-{i:06}/*")}))
        .collect();
    statements.push(serde_json::json!({"Effect": "Allow", "Action": ["dynamodb:PutItem", "secretsmanager:GetSecretValue", "kms:Decrypt", "logs:CreateLogStream"], "Resource": "*"}));
    let text = serde_json::json!({"Version": "2012-10-17", "Statement": statements}).to_string();
    assert!(text.len() > 5_000_000);
    std::fs::write(&p, text).unwrap();
    let run = tightrole(
        &[
            "check",
            "--policy",
            p.to_str().unwrap(),
            "--principal",
            "payments",
            "--no-runtime",
            "examples/demo-trail",
        ],
        None,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn request_payloads_never_leak() {
    let dir = TempDir::new().unwrap();
    let secrets = [
        "hunter2-PASSWORD",
        "SSN-123-45-6789",
        "sk_live_SECRETKEY",
        "BEGIN-PRIVATE-KEY",
        "message-body-CONFIDENTIAL",
        "Bearer-TOKEN-xyz",
    ];
    let record = serde_json::json!({
        "eventVersion": "1.09",
        "userIdentity": {"type": "AssumedRole", "accountId": "111122223333", "arn": "arn:aws:sts::111122223333:assumed-role/app-role/app",
                         "sessionContext": {"sessionIssuer": {"type": "Role", "arn": "arn:aws:iam::111122223333:role/app-role"}}},
        "eventTime": "2026-11-02T10:00:00Z", "eventSource": "secretsmanager.amazonaws.com", "eventName": "PutSecretValue",
        "awsRegion": "eu-west-1", "userAgent": "aws-sdk-js/3 exec-env/AWS_Lambda_nodejs20.x",
        "requestParameters": {"secretId": "prod/db", "secretString": secrets[0], "clientRequestToken": secrets[5],
                              "item": {"ssn": {"S": secrets[1]}}, "password": secrets[0], "apiKey": secrets[2],
                              "certificate": secrets[3], "messageBody": secrets[4], "headers": {"Authorization": secrets[5]}},
        "responseElements": {"arn": "arn:aws:secretsmanager:eu-west-1:111122223333:secret:prod/db-AbCdEf", "versionId": secrets[2]},
        "eventID": "e-1", "recipientAccountId": "111122223333"
    });
    let sqs = serde_json::json!({
        "eventVersion": "1.09", "userIdentity": record["userIdentity"].clone(), "eventTime": "2026-11-02T10:01:00Z",
        "eventSource": "sqs.amazonaws.com", "eventName": "SendMessage", "awsRegion": "eu-west-1", "userAgent": "aws-sdk-js/3 exec-env/AWS_Lambda_nodejs20.x",
        "requestParameters": {"queueUrl": "https://sqs.eu-west-1.amazonaws.com/111122223333/jobs", "messageBody": secrets[4],
                              "messageAttributes": {"token": {"stringValue": secrets[5]}}},
        "eventID": "e-2", "recipientAccountId": "111122223333"
    });
    let p = dir.path().join("sensitive.json");
    std::fs::write(
        &p,
        serde_json::json!({"Records": [record, sqs]}).to_string(),
    )
    .unwrap();
    let path = p.to_str().unwrap();
    let mut outputs = Vec::new();
    for format in ["text", "json", "terraform", "cloudformation", "serverless"] {
        outputs.push(tightrole(&["generate", "--format", format, path], None));
    }
    outputs.push(tightrole(&["usage", "--format", "json", path], None));
    outputs.push(tightrole(&["graph", "--format", "json", path], None));
    outputs.push(tightrole(
        &["catalog", "coverage", "--format", "json", path],
        None,
    ));
    outputs.push(tightrole(&["explain", "app", "--trail", path], None));
    for format in ["text", "json", "markdown"] {
        outputs.push(tightrole(
            &["diff", path, "--current", "policies/", "--format", format],
            None,
        ));
    }
    for format in ["text", "json"] {
        outputs.push(tightrole(
            &["check", "--policy", "policies/", "--format", format, path],
            None,
        ));
    }
    outputs.push(tightrole(&["usage", path], None));
    for format in ["dot", "mermaid"] {
        outputs.push(tightrole(&["graph", "--format", format, path], None));
    }
    outputs.push(tightrole(&["catalog", "coverage", path], None));
    // drift's reports (each from a state of its own, so each is a first run) and pr's files
    let mut written = Vec::new();
    for format in ["markdown", "json", "sarif", "html"] {
        let state = dir.path().join(format!("{format}.state"));
        let out = dir.path().join(format!("drift.{format}"));
        let args = [
            "drift",
            path,
            "--baseline",
            "policies/",
            "--state",
            state.to_str().unwrap(),
            "--format",
            format,
            "--out",
            out.to_str().unwrap(),
        ];
        outputs.push(tightrole(&args, None));
        written.push(out);
    }
    let pr = dir.path().join("pr");
    let body = dir.path().join("PR.md");
    outputs.push(tightrole(
        &[
            "pr",
            path,
            "--current",
            "policies/",
            "--out",
            pr.to_str().unwrap(),
            "--body",
            body.to_str().unwrap(),
        ],
        None,
    ));
    written.push(body);
    written.extend(files_under(&pr));
    assert!(written.len() >= 6, "{written:?}");
    for run in &outputs {
        assert_eq!(run.code, 0, "{}", run.stderr);
        for s in secrets {
            assert!(
                !run.stdout.contains(s) && !run.stderr.contains(s),
                "`{s}` leaked:\n{}",
                run.stdout
            );
        }
    }
    for file in &written {
        let text = std::fs::read_to_string(file).unwrap();
        assert!(!text.is_empty(), "{}", file.display());
        for s in secrets {
            assert!(!text.contains(s), "`{s}` leaked into {}", file.display());
        }
    }
    assert!(
        outputs[1].stdout.contains("secretsmanager:PutSecretValue"),
        "the call itself is there"
    );
}

/// docs/reliability.md's table of the corpus gives each case's exit code and first line of
/// stderr as its snapshot has them (the case's path as `FILE`), one row a snapshot, in order.
#[test]
fn the_reliability_table_is_the_snapshots() {
    let mut rows: Vec<(String, String)> = Vec::new();
    for entry in std::fs::read_dir(root().join("tests/snapshots")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        let Some(case) = name
            .strip_prefix("bad_input__")
            .and_then(|n| n.strip_suffix(".snap"))
        else {
            continue;
        };
        let case = case.replace('_', " ");
        let text = std::fs::read_to_string(root().join("tests/snapshots").join(&name)).unwrap();
        let exit = text
            .lines()
            .find_map(|l| l.strip_prefix("exit: "))
            .unwrap_or_else(|| panic!("{name}: no exit line"));
        let first = text
            .split_once("--- stderr\n")
            .map_or("", |(_, err)| err.lines().next().unwrap_or(""));
        let cell = if first.trim().is_empty() {
            "(no diagnostics; read normally)".to_string()
        } else {
            as_file(first).replace('|', "\\|")
        };
        rows.push((case.clone(), format!("| {case} | {exit} | {cell} |")));
    }
    rows.sort();
    let expected: Vec<&str> = rows.iter().map(|(_, row)| row.as_str()).collect();
    assert!(expected.len() >= 40, "{} snapshots", expected.len());

    let doc = std::fs::read_to_string(root().join("docs/reliability.md")).unwrap();
    let table: Vec<&str> = doc
        .lines()
        .skip_while(|l| *l != "| case | exit | first line of stderr |")
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .collect();
    assert_eq!(
        table,
        expected,
        "docs/reliability.md's bad-input table should be:\n{}",
        expected.join("\n")
    );
}

/// Every file under `dir`, at any depth.
fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// `line` with every `` `tests/bad_input/…` `` path written `` `FILE` ``.
fn as_file(line: &str) -> String {
    const PATH: &str = "`tests/bad_input/";
    let mut out = String::new();
    let mut rest = line;
    while let Some(at) = rest.find(PATH) {
        out.push_str(&rest[..at]);
        let after = &rest[at + PATH.len()..];
        match after.find('`') {
            Some(end) => {
                out.push_str("`FILE`");
                rest = &after[end + 1..];
            }
            None => {
                out.push_str(&rest[at..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}
