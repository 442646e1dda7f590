//! `tightrole catalog coverage` and `tightrole catalog show`.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "integration tests fail loudly on broken fixtures"
)]

mod common;

use serde_json::Value;

use common::{tightrole, transcript};

#[test]
fn coverage_of_the_demo() {
    let run = tightrole(&["catalog", "coverage", "examples/demo-trail"], None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    insta::assert_snapshot!("coverage_demo", transcript(&run, &[]));
    let run = tightrole(
        &[
            "catalog",
            "coverage",
            "--format",
            "json",
            "examples/demo-trail",
        ],
        None,
    );
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["schema"], "tightrole/coverage/v1");
    assert_eq!(v["share"], 1.0);
    let classes: Vec<&str> = v["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["class"].as_str().unwrap())
        .collect();
    for c in ["mapped", "service-made", "permission-less", "not-api-call"] {
        assert!(classes.contains(&c), "{c} in {classes:?}");
    }
}

#[test]
fn show_an_action_and_a_prefix() {
    let run = tightrole(&["catalog", "show", "s3:GetObject"], None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    insta::assert_snapshot!("show_s3_getobject", transcript(&run, &[]));
    let run = tightrole(
        &["catalog", "show", "--format", "json", "iam:PassRole"],
        None,
    );
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["observability"]["logged"], "unlogged");
    assert_eq!(v["access_level"], "Write");
    let run = tightrole(
        &[
            "catalog",
            "show",
            "--format",
            "json",
            "lambda:InvokeFunction",
        ],
        None,
    );
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    let events: Vec<&str> = v["cloudtrail_events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    assert!(
        events.contains(&"lambda.amazonaws.com Invoke (exception table)"),
        "{events:?}"
    );
    let run = tightrole(&["catalog", "show", "sqs"], None);
    assert!(
        run.stdout.contains("sqs:SendMessage")
            && run.stdout.contains("data event (AWS::SQS::Queue)")
    );
    let run = tightrole(&["catalog", "show", "lambda:Invoke"], None);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        "error: `lambda:Invoke` is not an action in the IAM catalog\n"
    );
}
