//! Helpers shared by the integration tests.
#![allow(dead_code, reason = "each test crate uses a different subset")]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{Value, json};
use tightrole::identity::Inventory;
use tightrole::source::Filters;
use tightrole::source::Input;
use tightrole::usage::{Usage, collect};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn demo_trail() -> PathBuf {
    root().join("examples/demo-trail")
}

/// A realistic record: `who` is `fn:<role>/<function>`, `role:<role>/<session>`, `user:<name>`
/// or `service:<host>`.
pub fn record(who: &str, source: &str, name: &str, params: Value) -> Value {
    let account = "111122223333";
    let identity = match who.split_once(':') {
        Some(("fn" | "role", rest)) => {
            let (role, session) = rest.split_once('/').unwrap();
            json!({"type": "AssumedRole", "accountId": account,
                   "arn": format!("arn:aws:sts::{account}:assumed-role/{role}/{session}"),
                   "sessionContext": {"sessionIssuer": {"type": "Role", "arn": format!("arn:aws:iam::{account}:role/{role}"), "userName": role}}})
        }
        Some(("user", n)) => {
            json!({"type": "IAMUser", "accountId": account, "arn": format!("arn:aws:iam::{account}:user/{n}"), "userName": n})
        }
        Some(("service", s)) => json!({"type": "AWSService", "invokedBy": s}),
        _ => panic!("bad who {who}"),
    };
    let ua = if who.starts_with("fn:") {
        "aws-sdk-js/3.600.0 exec-env/AWS_Lambda_nodejs20.x"
    } else {
        "aws-cli/2.15.0"
    };
    json!({
        "eventVersion": "1.09", "userIdentity": identity, "eventTime": "2026-11-02T10:00:00Z",
        "eventSource": source, "eventName": name, "awsRegion": "eu-west-1", "sourceIPAddress": "203.0.113.9",
        "userAgent": ua, "requestParameters": params, "responseElements": null,
        "eventID": format!("{name}-{}", params.to_string().len()), "eventType": "AwsApiCall", "recipientAccountId": account
    })
}

pub fn with(mut rec: Value, key: &str, value: Value) -> Value {
    rec.as_object_mut().unwrap().insert(key.to_string(), value);
    rec
}

pub fn identity_with(mut rec: Value, key: &str, value: Value) -> Value {
    rec["userIdentity"]
        .as_object_mut()
        .unwrap()
        .insert(key.to_string(), value);
    rec
}

/// Writes `{"Records": [...]}` to `dir/name`.
pub fn write_records(dir: &Path, name: &str, records: &[Value]) -> PathBuf {
    let p = dir.join(name);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(
        &p,
        serde_json::to_vec(&json!({ "Records": records })).unwrap(),
    )
    .unwrap();
    p
}

pub fn usage_of(paths: &[&Path], inventory: &Inventory) -> Usage {
    let inputs: Vec<Input> = paths.iter().map(|p| Input::File(p.to_path_buf())).collect();
    let (agg, _, _) = collect(&inputs, &Filters::default(), Some(2));
    Usage::resolve(agg, inventory)
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub fn tightrole(args: &[&str], stdin: Option<&[u8]>) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tightrole"));
    cmd.args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
    let mut child = cmd.spawn().unwrap();
    if let Some(input) = stdin {
        use std::io::Write;
        let mut s = child.stdin.take().unwrap();
        s.write_all(input).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Exit code, stdout and stderr together, with temp paths scrubbed.
pub fn transcript(run: &Run, scrub: &[(&str, &str)]) -> String {
    let mut s = format!(
        "exit: {}\n--- stdout\n{}--- stderr\n{}",
        run.code, run.stdout, run.stderr
    );
    for (from, to) in scrub {
        s = s.replace(from, to);
    }
    s
}

/// `rel` under the shared datasets: `TIGHTROLE_DATASETS` when set, else `../shared/datasets`
/// beside the repository. When absent, the test that needs it is skipped with a note; under CI
/// (`CI` set) it fails instead, unless CI has declared the datasets absent from the machine
/// (`.ci/run` sets `TIGHTROLE_DATASETS=absent` and says so in its log): CI never passes by not
/// looking.
pub fn shared_dataset(rel: &str) -> Option<PathBuf> {
    let base = match std::env::var_os("TIGHTROLE_DATASETS") {
        Some(v) if v == "absent" => {
            eprintln!(
                "skipped: the shared datasets are declared absent (TIGHTROLE_DATASETS=absent)"
            );
            return None;
        }
        Some(v) => PathBuf::from(v),
        None => root().join("../shared/datasets"),
    };
    let p = base.join(rel);
    if p.exists() {
        return Some(p);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must run the dataset tests: `{}` is missing (set TIGHTROLE_DATASETS to where they are, or to `absent`)",
        p.display()
    );
    eprintln!("skipped: `{}` is not present", p.display());
    None
}

/// The shared CloudTrail corpora ([`shared_dataset`]).
pub fn datasets() -> Option<PathBuf> {
    shared_dataset("cloudtrail").filter(|p| p.is_dir())
}

#[path = "graphviz.rs"]
mod graphviz_run;
#[allow(unused_imports, reason = "each test crate uses a different subset")]
pub use graphviz_run::graphviz;
