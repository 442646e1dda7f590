//! The repository's own scripts: the benchmark guard (`scripts/bench --check`, the `check` of
//! `scripts/bench.py`), which is run by hand before a commit to the hot path and not by CI, so
//! a guard that could not fail would go unnoticed.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "integration tests fail loudly on broken fixtures"
)]

mod common;

use std::process::Command;

use common::root;

/// Runs `scripts/bench.py`'s `check` on `results` (label, ratio) against a document recording
/// `recorded`, each trail measured again at `again`: its exit status and what it printed.
fn check(recorded: &str, results: &[(&str, f64)], again: f64) -> Option<(bool, String)> {
    let dir = tempfile::tempdir().unwrap();
    let doc = dir.path().join("performance.md");
    std::fs::write(
        &doc,
        format!("# figures\n\n<!-- bench-check: {recorded} -->\n"),
    )
    .unwrap();
    let results: Vec<String> = results
        .iter()
        .map(|(label, ratio)| format!("{{'label': '{label}', 'ratio': {ratio}}}"))
        .collect();
    let program = format!(
        "import importlib.util, sys\n\
         spec = importlib.util.spec_from_file_location('bench', sys.argv[1])\n\
         bench = importlib.util.module_from_spec(spec)\n\
         spec.loader.exec_module(bench)\n\
         bench.check([{}], sys.argv[2], lambda r: dict(r, ratio={again}))\n",
        results.join(", ")
    );
    let out = match Command::new("python3")
        .arg("-c")
        .arg(program)
        .arg(root().join("scripts/bench.py"))
        .arg(&doc)
        .output()
    {
        Ok(out) => out,
        Err(e) => {
            assert!(std::env::var_os("CI").is_none(), "CI has python3: {e}");
            eprintln!("no python3 ({e}); the benchmark guard is not tested");
            return None;
        }
    };
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Some((out.status.success(), text))
}

#[test]
fn the_benchmark_guard_passes_within_its_tolerance_and_fails_beyond_it() {
    let recorded = "steady-200000=0.40 growing-200000=0.50";
    // within 15% of what is recorded
    let Some((ok, text)) = check(
        recorded,
        &[("steady-200000", 0.45), ("growing-200000", 0.57)],
        9.0,
    ) else {
        return;
    };
    assert!(ok, "{text}");
    assert_eq!(text.matches(": ok").count(), 2, "{text}");
    // over, and over again when measured once more
    let (ok, text) = check(recorded, &[("growing-200000", 0.60)], 0.61).unwrap();
    assert!(!ok, "{text}");
    assert!(
        text.contains("SLOWER") && text.contains("measuring again"),
        "{text}"
    );
    // over once, within when measured again (a neighbour's run): passes
    let (ok, text) = check(recorded, &[("growing-200000", 0.60)], 0.52).unwrap();
    assert!(ok, "{text}");
}

#[test]
fn the_benchmark_guard_fails_when_it_compared_nothing() {
    // trails labelled otherwise than the recorded line: nothing was compared
    let Some((ok, text)) = check(
        "steady-200000=0.40 growing-200000=0.50",
        &[("steady-200k", 0.10), ("growing-200k", 0.10)],
        0.10,
    ) else {
        return;
    };
    assert!(!ok, "{text}");
    assert!(text.contains("compared nothing"), "{text}");
    // one trail of two recorded: the other is said not to be checked, and the run passes
    let (ok, text) = check(
        "steady-200000=0.40",
        &[("steady-200000", 0.30), ("growing-200k", 0.90)],
        0.90,
    )
    .unwrap();
    assert!(ok, "{text}");
    assert!(text.contains("growing-200k: no recorded ratio"), "{text}");
}
