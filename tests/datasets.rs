//! The real CloudTrail corpora in ../shared/datasets (skipped when absent, and failing when
//! absent under CI: see `common::shared_dataset`).

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "integration tests fail loudly on broken fixtures"
)]

mod common;

use serde_json::Value;
use tightrole::catalog::Catalog;

use common::{datasets, tightrole};

#[test]
fn generate_runs_clean_on_every_corpus() {
    let Some(dir) = datasets() else { return };
    let catalog = Catalog::embedded();
    for corpus in ["stratus-red-team", "otrf-security-datasets", "trailscraper"] {
        let path = dir.join(corpus);
        if !path.is_dir() {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must run every corpus: `{}` is missing",
                path.display()
            );
            eprintln!("skipped: `{}` is not present", path.display());
            continue;
        }
        let run = tightrole(
            &[
                "generate",
                "--format",
                "json",
                "--strict",
                path.to_str().unwrap(),
            ],
            None,
        );
        assert_eq!(run.code, 0, "{corpus}: {}", run.stderr);
        let v: Value = serde_json::from_str(&run.stdout).unwrap();
        let mut actions = 0;
        for p in v["principals"].as_array().unwrap() {
            for s in p["policy"]["Statement"].as_array().into_iter().flatten() {
                for a in s["Action"].as_array().unwrap() {
                    actions += 1;
                    assert!(
                        catalog.action_qualified(a.as_str().unwrap()).is_some(),
                        "{corpus}: {a} is not in the catalog"
                    );
                }
            }
        }
        assert!(actions > 0, "{corpus}: no policy at all");
    }
}

#[test]
fn denied_records_map_to_the_action_their_message_names() {
    let Some(dir) = datasets() else { return };
    let mapper = tightrole::mapping::Mapper::embedded();
    let mut checked = 0;
    for entry in walkdir::WalkDir::new(&dir)
        .into_iter()
        .filter_map(Result::ok)
    {
        if !entry.file_type().is_file() || !entry.path().to_string_lossy().ends_with(".json") {
            continue;
        }
        let input = tightrole::source::Input::File(entry.path().to_path_buf());
        let mut seen = Vec::new();
        tightrole::source::read_input(&input, &mut |r| {
            let Some(msg) = r.error_message.as_deref() else {
                return;
            };
            let Some(named) = msg
                .split("perform: ")
                .nth(1)
                .and_then(|s| s.split_whitespace().next())
            else {
                return;
            };
            let m = mapper.map(r);
            let got: Vec<String> = m
                .needs
                .iter()
                .map(|n| n.action.qualified().to_string())
                .collect();
            seen.push((named.to_string(), got, m.class));
        });
        for (named, got, class) in seen {
            assert_eq!(class, tightrole::mapping::Class::Denied, "{named}");
            assert_eq!(got, vec![named.clone()], "{}", entry.path().display());
            checked += 1;
        }
    }
    assert!(
        checked > 0,
        "the corpora hold denied records that name their action"
    );
}

#[test]
fn coverage_maps_or_classifies_at_least_99_5_percent_of_event_kinds() {
    let Some(dir) = datasets() else { return };
    let run = tightrole(
        &[
            "catalog",
            "coverage",
            "--format",
            "json",
            dir.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    let share = v["share"].as_f64().unwrap();
    eprintln!(
        "coverage: {} of {} event kinds mapped or classified ({:.1}%)",
        v["mapped_or_classified"],
        v["event_kinds"],
        share * 100.0
    );
    assert!(share >= 0.995, "share {share}: {}", run.stdout);
    for e in v["events"].as_array().unwrap() {
        if e["class"] == "permission-less" {
            assert!(e["actions"].as_array().unwrap().is_empty(), "{e}");
        }
    }
}

/// The record scanner reads every real record as serde_json alone does: the same records, in
/// the same order, with the same report (`record::scan`; the shapes it does not read, bare
/// arrays and JSON lines, are compared too, and go to serde_json either way).
#[test]
fn the_record_scanner_reads_every_corpus_as_serde_json_does() {
    use tightrole::source::reading;
    let Some(dir) = datasets() else { return };
    let mut files: Vec<std::path::PathBuf> = Vec::new();
    let mut stack = vec![dir.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "json") {
                files.push(p);
            }
        }
    }
    files.sort();
    let mut records = 0;
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let scanned = reading(&text, true);
        assert_eq!(scanned, reading(&text, false), "{}", f.display());
        records += scanned.matches(" Record {").count();
    }
    assert!(records > 0, "no record in {}", dir.display());
}
