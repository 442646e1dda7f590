//! What tightrole says of itself: the published JSON Schemas (`docs/schemas/`, `tightrole
//! schema`), up to date with the output types and validating every command's real JSON; the
//! shell completions and the man pages.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "integration tests fail loudly on broken fixtures"
)]

mod common;

use std::path::Path;

use common::{root, tightrole};
use serde_json::Value;
use tightrole::report::schema::{PUBLISHED, find};

const UPDATE: &str = "run `cargo run -- schema --out docs/schemas` and commit the result";

#[test]
fn the_committed_schemas_are_up_to_date() {
    let dir = root().join("docs/schemas");
    for p in PUBLISHED {
        let path = dir.join(p.file_name());
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == p.text(),
            "{} is not what the output types give: {UPDATE}",
            path.display()
        );
    }
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut expected: Vec<String> = PUBLISHED.iter().map(|p| p.file_name()).collect();
    expected.sort();
    assert_eq!(names, expected, "a schema file no output has: {UPDATE}");
}

#[test]
fn the_schema_command_prints_the_committed_file() {
    let run = tightrole(&["schema", "diff"], None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let committed = std::fs::read_to_string(root().join("docs/schemas/diff-v2.schema.json"));
    assert_eq!(run.stdout, committed.unwrap());
    let list = tightrole(&["schema"], None);
    assert_eq!(list.stdout.lines().count(), PUBLISHED.len());
    assert_eq!(tightrole(&["schema", "nope"], None).code, 2);
}

/// Validates `doc` against the schema `name`; the errors, one per line.
fn errors(name: &str, doc: &Value) -> Vec<String> {
    let schema = find(name).unwrap().schema();
    let validator = jsonschema::validator_for(&schema).unwrap();
    validator
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

fn output(args: &[&str]) -> Value {
    let run = tightrole(args, None);
    assert!(run.code == 0 || run.code == 10, "{args:?}: {}", run.stderr);
    serde_json::from_str(&run.stdout).unwrap()
}

#[test]
fn every_json_output_validates_against_its_schema() {
    let dir = tempfile::TempDir::new().unwrap();
    let state = dir.path().join("state.json");
    let keep = dir.path().join("keep.tsv");
    std::fs::write(&keep, "orders-*\tsqs:PurgeQueue\t*\tthe monthly purge\n").unwrap();
    let trail = "examples/demo-trail";
    let cases: Vec<(&str, Vec<&str>)> = vec![
        (
            "generate",
            vec![
                "generate",
                "--format",
                "json",
                "--functions",
                "examples/lambda",
                "--current",
                "policies/",
                "--keep",
                keep.to_str().unwrap(),
                trail,
            ],
        ),
        (
            "generate",
            vec![
                "generate",
                "--format",
                "json",
                "--shared-role",
                "scope",
                trail,
            ],
        ),
        ("usage", vec!["usage", "--format", "json", trail]),
        (
            "diff",
            vec![
                "diff",
                "--format",
                "json",
                "--current",
                "policies/",
                "--functions",
                "examples/lambda",
                trail,
            ],
        ),
        (
            "check",
            vec![
                "check",
                "--format",
                "json",
                "--policy",
                "policies/shop-api-role.json",
                "--principal",
                "orders-*",
                trail,
            ],
        ),
        (
            "drift",
            vec![
                "drift",
                "--format",
                "json",
                "--baseline",
                "policies/",
                "--current",
                "policies/",
                "--state",
                state.to_str().unwrap(),
                trail,
            ],
        ),
        (
            "coverage",
            vec!["catalog", "coverage", "--format", "json", trail],
        ),
        (
            "blast",
            vec![
                "graph",
                "--blast",
                "orders-worker",
                "--current",
                "policies/",
                "--format",
                "json",
                trail,
            ],
        ),
        ("graph", vec!["graph", "--format", "json", trail]),
    ];
    for (name, args) in cases {
        let doc = output(&args);
        assert_eq!(doc["schema"], find(name).unwrap().id, "{args:?}");
        let errs = errors(name, &doc);
        assert!(errs.is_empty(), "{args:?}:\n{}", errs.join("\n"));
    }
}

#[test]
fn a_schema_rejects_what_the_format_does_not_have() {
    let doc = output(&["usage", "--format", "json", "examples/demo-trail"]);
    let mut extra = doc.clone();
    extra["principals"][0]["surprise"] = Value::Bool(true);
    assert!(!errors("usage", &extra).is_empty(), "an unknown field");
    let mut version = doc.clone();
    version["schema"] = "tightrole/usage/v0".into();
    assert!(!errors("usage", &version).is_empty(), "another version");
    let mut kind = doc;
    kind["principals"][0]["kind"] = "wizard".into();
    assert!(
        !errors("usage", &kind).is_empty(),
        "a kind that does not exist"
    );
    assert!(Path::new(&root().join("docs/schemas")).is_dir());
}

#[test]
fn completions_for_every_shell() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let run = tightrole(&["completions", shell], None);
        assert_eq!(run.code, 0, "{shell}: {}", run.stderr);
        for word in ["generate", "drift", "since", "format"] {
            assert!(run.stdout.contains(word), "{shell} completes {word}");
        }
    }
    // the bash script is valid bash, and completes the subcommands
    let script = tightrole(&["completions", "bash"], None).stdout;
    let dir = tempfile::TempDir::new().unwrap();
    let file = dir.path().join("tightrole.bash");
    std::fs::write(&file, &script).unwrap();
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source {} && COMP_WORDS=(tightrole dr) COMP_CWORD=1 && _tightrole tightrole dr tightrole && echo \"${{COMPREPLY[@]}}\"",
            file.display()
        ))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "drift");
    assert_eq!(tightrole(&["completions", "tcsh"], None).code, 2);
}

#[test]
fn man_pages_for_the_tool_and_each_command() {
    let page = tightrole(&["man"], None);
    assert_eq!(page.code, 0, "{}", page.stderr);
    assert!(
        page.stdout.contains(".TH tightrole 1"),
        "{}",
        &page.stdout[..200]
    );
    assert!(page.stdout.contains("generate"));
    let dir = tempfile::TempDir::new().unwrap();
    let run = tightrole(&["man", "--out", dir.path().to_str().unwrap()], None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let generate = std::fs::read_to_string(dir.path().join("tightrole-generate.1")).unwrap();
    assert!(generate.contains(".TH tightrole-generate 1"));
    assert!(
        generate.contains("\\-\\-since"),
        "the options are documented"
    );
    for name in [
        "tightrole.1",
        "tightrole-drift.1",
        "tightrole-demo-trail.1",
        "tightrole-schema.1",
    ] {
        assert!(dir.path().join(name).is_file(), "{name}");
    }
}
