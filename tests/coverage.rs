//! The coverage fixture (tests/fixtures/coverage): at least 400 event kinds, each with the class
//! and actions reviewed by hand in kinds.tsv, as minimal records in records.jsonl (written from
//! kinds.tsv by scripts/coverage-fixture.py). Every kind must map as reviewed, and
//! `tightrole catalog coverage` must find at least 99.5% of them mapped or classified, with no
//! action the catalog lacks.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "integration tests fail loudly on broken fixtures"
)]

mod common;

use std::collections::BTreeSet;

use serde_json::Value;
use tightrole::catalog::Catalog;
use tightrole::mapping::Mapper;
use tightrole::record::Record;

use common::{root, tightrole};

const FIXTURE: &str = "tests/fixtures/coverage/records.jsonl";

struct Kind {
    source: String,
    name: String,
    class: String,
    actions: BTreeSet<String>,
    note: String,
}

fn kinds() -> Vec<Kind> {
    let text = std::fs::read_to_string(root().join("tests/fixtures/coverage/kinds.tsv")).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f.len(), 7, "seven columns: {l}");
            assert!(
                !f[6].trim().is_empty(),
                "every kind says where it comes from: {l}"
            );
            Kind {
                source: f[0].to_string(),
                name: f[1].to_string(),
                class: f[4].to_string(),
                actions: f[5]
                    .split_whitespace()
                    .filter(|a| *a != "-")
                    .map(str::to_string)
                    .collect(),
                note: f[6].to_string(),
            }
        })
        .collect()
}

#[test]
fn every_kind_of_the_coverage_fixture_maps_as_reviewed() {
    let kinds = kinds();
    let text = std::fs::read_to_string(root().join(FIXTURE)).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines.len(),
        kinds.len(),
        "run `python3 scripts/coverage-fixture.py` to refresh records.jsonl"
    );
    let mapper = Mapper::embedded();
    let mut failures = Vec::new();
    for (k, line) in kinds.iter().zip(&lines) {
        let rec: Record = serde_json::from_str(line).unwrap();
        assert_eq!(
            (rec.source(), rec.name()),
            (k.source.as_str(), k.name.as_str()),
            "records.jsonl is out of step with kinds.tsv; run `python3 scripts/coverage-fixture.py`"
        );
        let m = mapper.map(&rec);
        let got: BTreeSet<String> = m
            .needs
            .iter()
            .map(|n| n.action.qualified().to_string())
            .collect();
        if m.class.as_str() != k.class || got != k.actions {
            failures.push(format!(
                "{} {:?} ({}): got {} {got:?}, want {} {:?}",
                k.source,
                k.name,
                k.note,
                m.class.as_str(),
                k.class,
                k.actions
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_coverage_fixture_is_at_least_99_5_percent_mapped_or_classified() {
    let run = tightrole(&["catalog", "coverage", "--format", "json", FIXTURE], None);
    let out: Value = serde_json::from_str(&run.stdout).unwrap_or_else(|e| {
        panic!("{e}: {} {}", run.stdout, run.stderr);
    });
    let kinds = out["event_kinds"].as_u64().unwrap();
    let share = out["share"].as_f64().unwrap();
    assert!(kinds >= 400, "{kinds} event kinds");
    assert!(share >= 0.995, "{share} mapped or classified");
    let catalog = Catalog::embedded();
    for e in out["events"].as_array().unwrap() {
        for a in e["actions"].as_array().unwrap() {
            let a = a.as_str().unwrap();
            assert!(
                catalog.action_qualified(a).is_some(),
                "{a} is not in the catalog"
            );
        }
    }
}
