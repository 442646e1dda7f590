//! See tests/adversarial.rs. File names and writes: a name read from the log never leaves the
//! output directory, two principals never share a file, and a failed run changes nothing.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "integration tests fail loudly on broken fixtures"
)]

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};

use super::common::{self, record, write_records};

/// A role session whose issuer ARN (and ARN) is `issuer` as written, `:role/` or not.
fn session_of(issuer: &str, rec: Value) -> Value {
    let rec = common::identity_with(rec, "arn", json!(format!("{issuer}/session")));
    common::identity_with(
        rec,
        "sessionContext",
        json!({"sessionIssuer": {"type": "Role", "arn": issuer, "userName": "x"}}),
    )
}

/// The same record in another account.
fn in_account(rec: &Value, account: &str) -> Value {
    serde_json::from_str(&rec.to_string().replace("111122223333", account)).unwrap()
}

fn get(bucket: &str, key: &str) -> Value {
    record(
        "role:app-role/s",
        "s3.amazonaws.com",
        "GetObject",
        json!({"bucketName": bucket, "key": key}),
    )
}

/// A copy of the demo's policies in `dir/policies`.
fn copy_policies(dir: &Path) -> PathBuf {
    let policies = dir.join("policies");
    std::fs::create_dir_all(&policies).unwrap();
    for f in std::fs::read_dir(common::root().join("policies")).unwrap() {
        let f = f.unwrap().path();
        std::fs::copy(&f, policies.join(f.file_name().unwrap())).unwrap();
    }
    policies
}

/// Every file and directory under `dir`, with its bytes (directories: `None`).
fn tree(dir: &Path) -> BTreeMap<PathBuf, Option<Vec<u8>>> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|e| e.unwrap())
        .map(|e| {
            let bytes = e
                .file_type()
                .is_file()
                .then(|| std::fs::read(e.path()).unwrap());
            (e.path().to_path_buf(), bytes)
        })
        .collect()
}

fn pr(trail: &Path, policies: &Path, out: &Path, body: &Path) -> common::Run {
    common::tightrole(
        &[
            "pr",
            trail.to_str().unwrap(),
            "--current",
            policies.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--body",
            body.to_str().unwrap(),
        ],
        None,
    )
}

#[test]
fn issuer_arns_without_role_never_write_outside_out() {
    let root = tempfile::tempdir().unwrap();
    let absolute = root.path().join("abs/ESCAPED-absolute");
    let trail = write_records(
        root.path(),
        "trail/t.json",
        &[
            session_of("../../escaped", get("b1", "k")),
            session_of(absolute.to_str().unwrap(), get("b2", "k")),
            session_of("..\\..\\escaped-backslash", get("b3", "k")),
        ],
    );
    let policies = copy_policies(root.path());
    let out = root.path().join("work/out");
    let before = tree(root.path());

    let run = pr(&trail, &policies, &out, &out.join("PR.md"));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let gen_out = root.path().join("work/generated");
    let run = common::tightrole(
        &[
            "generate",
            trail.to_str().unwrap(),
            "--out",
            gen_out.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);

    let created: Vec<PathBuf> = tree(root.path())
        .into_keys()
        .filter(|p| !before.contains_key(p))
        .collect();
    for p in &created {
        assert!(
            p.starts_with(&out) || p.starts_with(&gen_out) || p == &root.path().join("work"),
            "`{}` was created outside `--out`; created: {created:#?}",
            p.display()
        );
    }
    assert!(!absolute.with_extension("json").exists() && !root.path().join("abs").exists());
    assert!(
        out.join("_._.._escaped.json").is_file()
            && gen_out.join("role/_._.._escaped.json").is_file(),
        "the principal is still written, under a safe name: {created:#?}"
    );
    let files = created.iter().filter(|p| p.is_file()).count();
    assert_eq!(
        files,
        3 + 1 + 3,
        "three policies and a body, three generated"
    );
}

#[test]
fn the_same_role_in_two_accounts_gets_two_files() {
    let root = tempfile::tempdir().unwrap();
    let trail = write_records(
        root.path(),
        "trail/t.json",
        &[
            get("bucket-of-one", "k"),
            in_account(&get("bucket-of-two", "k"), "444455556666"),
        ],
    );
    let policies = copy_policies(root.path());
    let out = root.path().join("out");
    let run = pr(&trail, &policies, &out, &root.path().join("PR.md"));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let one = std::fs::read_to_string(out.join("app-role@111122223333.json")).unwrap();
    let two = std::fs::read_to_string(out.join("app-role@444455556666.json")).unwrap();
    assert!(
        one.contains("bucket-of-one") && !one.contains("bucket-of-two"),
        "{one}"
    );
    assert!(
        two.contains("bucket-of-two") && !two.contains("bucket-of-one"),
        "{two}"
    );
    assert!(!out.join("app-role.json").exists());
}

#[test]
fn two_names_for_one_file_are_an_error_and_nothing_is_written() {
    let root = tempfile::tempdir().unwrap();
    let legit = record(
        "role:a_b/s",
        "s3.amazonaws.com",
        "GetObject",
        json!({"bucketName": "b1", "key": "k"}),
    );
    let trail = write_records(
        root.path(),
        "trail/t.json",
        &[legit, session_of("a:b", get("b2", "k"))],
    );
    let policies = copy_policies(root.path());
    let before = tree(root.path());
    let run = pr(&trail, &policies, &policies, &root.path().join("PR.md"));
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("role `a:b`")
            && run.stderr.contains("role `a_b`")
            && run.stderr.contains("a_b.json`")
            && run.stderr.contains("no file was changed"),
        "{}",
        run.stderr
    );
    assert_eq!(tree(root.path()), before, "all or nothing");

    let run = common::tightrole(
        &[
            "generate",
            trail.to_str().unwrap(),
            "--out",
            root.path().join("gen").to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("would be written to one file"),
        "{}",
        run.stderr
    );
    assert_eq!(tree(root.path()), before, "generate --out too");
}

/// A trail for `payments-role`: one granted call, three denied ones.
fn payments_trail(dir: &Path) -> PathBuf {
    let call = |name: &str, id: &str| {
        let r = record(
            "role:payments-role/s",
            "s3.amazonaws.com",
            name,
            json!({"bucketName": "b", "key": "k"}),
        );
        common::with(r, "eventID", json!(id))
    };
    let denied =
        |id: &str| common::with(call("DeleteObject", id), "errorCode", json!("AccessDenied"));
    write_records(
        dir,
        "trail/t.json",
        &[
            call("GetObject", "ok"),
            denied("d1"),
            denied("d2"),
            denied("d3"),
        ],
    )
}

#[test]
fn a_failed_pr_changes_no_policy_file() {
    let root = tempfile::tempdir().unwrap();
    let trail = payments_trail(root.path());
    let policies = copy_policies(root.path());
    std::fs::write(root.path().join("a-file"), "").unwrap();
    let before = tree(root.path());
    // the body's directory is a regular file: found only after every policy is ready
    let run = pr(
        &trail,
        &policies,
        &policies,
        &root.path().join("a-file/PR.md"),
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("no file was changed"), "{}", run.stderr);
    assert_eq!(
        tree(root.path()),
        before,
        "no policy rewritten, no file left"
    );
}

#[test]
fn pr_keeps_modes_and_sweeps_stale_temporaries() {
    let root = tempfile::tempdir().unwrap();
    let trail = payments_trail(root.path());
    let policies = copy_policies(root.path());
    let target = policies.join("payments-role.json");
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o640)).unwrap();
    let old = std::fs::read(&target).unwrap();
    let stale = policies.join(".tightrole-x.tmp");
    let fresh = policies.join(".tightrole-y.tmp");
    std::fs::write(&stale, "left by a killed run").unwrap();
    std::fs::write(&fresh, "another run, still going").unwrap();
    std::fs::File::options()
        .write(true)
        .open(&stale)
        .unwrap()
        .set_modified(SystemTime::now() - Duration::from_secs(7200))
        .unwrap();

    let body = root.path().join("PR.md");
    let run = pr(&trail, &policies, &policies, &body);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_ne!(
        std::fs::read(&target).unwrap(),
        old,
        "the policy was rewritten"
    );
    let mode = std::fs::metadata(&target).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o640, "a rewritten file keeps its mode");
    assert!(!stale.exists(), "a temporary older than an hour is swept");
    assert!(fresh.exists(), "a young temporary may be another run's");
    // each denied call counted once (PR.md: "denied calls seen … (N call(s))")
    let body = std::fs::read_to_string(&body).unwrap();
    assert!(
        body.contains("`s3:DeleteObject` on `arn:aws:s3:::b/k` (3 call(s))"),
        "{body}"
    );
}

/// `drift` with its stdout on a full disk.
fn drift_to_dev_full(trail: &Path, state: &Path) -> (i32, String) {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tightrole"))
        .args(["drift", trail.to_str().unwrap(), "--baseline", "policies/"])
        .arg("--state")
        .arg(state)
        .current_dir(common::root())
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(full)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn drift_keeps_its_state_when_the_report_cannot_be_written() {
    let root = tempfile::tempdir().unwrap();
    let trail = payments_trail(root.path()).parent().unwrap().to_path_buf();
    let state = root.path().join("state.json");
    let drift = |extra: &[&str]| {
        let mut args = vec![
            "drift",
            trail.to_str().unwrap(),
            "--baseline",
            "policies/",
            "--state",
            state.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        common::tightrole(&args, None)
    };
    let first = drift(&[]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    write_records(
        &trail,
        "week-2.json",
        &[common::with(
            get("b", "week-2"),
            "eventTime",
            json!("2026-11-09T10:00:00Z"),
        )],
    );
    let saved = std::fs::read(&state).unwrap();

    let (code, stderr) = drift_to_dev_full(&trail, &state);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(
        std::fs::read(&state).unwrap(),
        saved,
        "the week is not lost"
    );
    assert!(
        stderr.contains("cannot write the report to stdout") && stderr.contains("left as it was"),
        "{stderr}"
    );

    std::fs::write(root.path().join("a-file"), "").unwrap();
    let under_a_file = root.path().join("a-file/report.md");
    let run = drift(&["--out", under_a_file.to_str().unwrap()]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(std::fs::read(&state).unwrap(), saved);

    let report = root.path().join("report.md");
    let run = drift(&["--out", report.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    assert!(
        std::fs::read_to_string(&report)
            .unwrap()
            .contains("Newly used")
    );
    assert_ne!(
        std::fs::read(&state).unwrap(),
        saved,
        "then the state moves on"
    );
}
