//! The jobs people hire tightrole for: the graph, policy pull requests, drift reports.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "integration tests fail loudly on broken fixtures"
)]

mod common;

use std::process::Command;

use serde_json::Value;
use tempfile::TempDir;

use common::{root, tightrole, transcript};

#[test]
fn graph_formats_on_the_demo() {
    for (format, name) in [
        ("dot", "graph_demo_dot"),
        ("mermaid", "graph_demo_mermaid"),
        ("json", "graph_demo_json"),
    ] {
        let run = tightrole(&["graph", "--format", format, "examples/demo-trail"], None);
        assert_eq!(run.code, 0, "{format}: {}", run.stderr);
        insta::assert_snapshot!(name, transcript(&run, &[]));
    }
    let json: Value = serde_json::from_str(
        &tightrole(&["graph", "--format", "json", "examples/demo-trail"], None).stdout,
    )
    .unwrap();
    let kinds: std::collections::BTreeSet<&str> = json["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["node"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds.into_iter().collect::<Vec<_>>(),
        ["account", "action", "principal", "resource", "role"]
    );
    assert!(
        json["edges"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "calls" && e["count"].as_u64().unwrap() > 0),
        "edges carry evidence"
    );
}

#[test]
fn graph_queries() {
    let who = tightrole(
        &["graph", "--who", "*table/orders*", "examples/demo-trail"],
        None,
    );
    assert_eq!(who.code, 0, "{}", who.stderr);
    insta::assert_snapshot!("graph_who_orders", who.stdout);
    let shared = tightrole(&["graph", "--shared", "examples/demo-trail"], None);
    assert!(
        shared
            .stdout
            .starts_with("role shop-api-role is shared by 2 functions: orders-api, orders-worker"),
        "{}",
        shared.stdout
    );
    let blast = tightrole(
        &[
            "graph",
            "--blast",
            "orders-worker",
            "--current",
            "policies/",
            "--format",
            "json",
            "examples/demo-trail",
        ],
        None,
    );
    assert_eq!(blast.code, 0, "{}", blast.stderr);
    let v: Value = serde_json::from_str(&blast.stdout).unwrap();
    assert_eq!(v["role"], "shop-api-role");
    let status = |a: &str| {
        v["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["action"] == a)
            .unwrap()["status"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(status("sns:Publish"), "used");
    assert_eq!(
        status("sqs:SendMessage"),
        "used-by-role",
        "orders-api sends, the worker only could"
    );
    assert_eq!(status("dynamodb:DeleteTable"), "unused");
    let mermaid = tightrole(
        &[
            "graph",
            "--format",
            "mermaid",
            "--who",
            "*",
            "examples/demo-trail",
        ],
        None,
    )
    .stdout;
    let nodes = mermaid
        .lines()
        .filter(|l| l.contains("([") || (l.contains("[\"") && !l.contains("subgraph")))
        .count();
    assert!(
        nodes <= tightrole::graph::render::MERMAID_MAX_NODES + 1,
        "{nodes}"
    );
}

fn git(dir: &std::path::Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn pr_writes_policies_and_a_body_and_reruns_change_nothing() {
    let repo = TempDir::new().unwrap();
    let policies = repo.path().join("policies");
    std::fs::create_dir_all(&policies).unwrap();
    for f in std::fs::read_dir(root().join("policies")).unwrap() {
        let f = f.unwrap().path();
        std::fs::copy(&f, policies.join(f.file_name().unwrap())).unwrap();
    }
    git(repo.path(), &["init", "-q"]);
    git(repo.path(), &["add", "-A"]);
    git(repo.path(), &["commit", "-qm", "current"]);
    let trail = root().join("examples/demo-trail");
    let body = repo.path().join("PR.md");
    let args = [
        "pr",
        trail.to_str().unwrap(),
        "--current",
        policies.to_str().unwrap(),
        "--out",
        policies.to_str().unwrap(),
        "--body",
        body.to_str().unwrap(),
    ];
    let run = tightrole(&args, None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let changed = git(repo.path(), &["status", "--porcelain"]);
    assert!(
        changed.contains(" M policies/shop-api-role.json") && changed.contains("?? policies/user/"),
        "{changed}"
    );
    let shop: Value = serde_json::from_str(
        &std::fs::read_to_string(policies.join("shop-api-role.json")).unwrap(),
    )
    .unwrap();
    assert!(
        shop.to_string().contains("lambda:SourceFunctionArn"),
        "a shared role's file scopes each function"
    );
    let pr = std::fs::read_to_string(&body).unwrap();
    insta::assert_snapshot!("pr_body_demo", pr);
    assert!(
        pr.contains("```mermaid")
            && pr.contains("<details>")
            && pr.contains("risky grant(s) removed")
    );
    // the proposals, once committed, are a fixed point: a re-run changes nothing
    git(repo.path(), &["add", "-A"]);
    git(repo.path(), &["commit", "-qm", "proposed"]);
    let run = tightrole(&args, None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        git(repo.path(), &["diff", "--stat", "--", "policies"]),
        "",
        "a re-run on unchanged input changes nothing"
    );
    // and the proposed files replay the trail with no denial
    let check = tightrole(
        &[
            "check",
            "--policy",
            policies.to_str().unwrap(),
            trail.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(check.code, 0, "{}", check.stdout);
}
