//! The repository's own scripts: the benchmark guard (`scripts/bench --check`, the `check` of
//! `scripts/bench.py`), which is run by hand before a commit to the hot path and not by CI, so
//! a guard that could not fail would go unnoticed; and the figure that tells a slower machine
//! from slower code (`CONTENTION=1 scripts/bench`).

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "integration tests fail loudly on broken fixtures"
)]

mod common;

use std::process::Command;

use common::root;

/// Runs `call` with `scripts/bench.py` loaded as the module `bench` (`sys.argv[1]` is its path,
/// `args` follow); `None`, saying so, where there is no python3 (never on CI), and `what` is
/// then not tested.
fn bench_py(call: &str, args: &[&std::ffi::OsStr], what: &str) -> Option<std::process::Output> {
    let program = format!(
        "import importlib.util, json, sys\n\
         spec = importlib.util.spec_from_file_location('bench', sys.argv[1])\n\
         bench = importlib.util.module_from_spec(spec)\n\
         spec.loader.exec_module(bench)\n\
         {call}\n"
    );
    match Command::new("python3")
        .arg("-c")
        .arg(program)
        .arg(root().join("scripts/bench.py"))
        .args(args)
        .output()
    {
        Ok(out) => Some(out),
        Err(e) => {
            assert!(std::env::var_os("CI").is_none(), "CI has python3: {e}");
            eprintln!("no python3 ({e}); {what} is not tested");
            None
        }
    }
}

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
    let call = format!(
        "bench.check([{}], sys.argv[2], lambda r: dict(r, ratio={again}))",
        results.join(", ")
    );
    let out = bench_py(&call, &[doc.as_os_str()], "the benchmark guard")?;
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

/// `bench.py --contention` times the real binary on one worker (`--threads 1`) and with the
/// default, in turn, and reports the default's CPU over one worker's as the median of the
/// rounds' ratios. A wrapper logs each run's arguments, so a contention figure that ran the same
/// command twice (and so always read about 1.0) would fail here.
#[cfg(unix)]
#[test]
fn the_contention_figure_alternates_one_worker_and_the_default() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("runs.log");
    let wrapper = dir.path().join("tightrole");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\necho \"$*\" >> '{}'\nexec '{}' \"$@\"\n",
            log.display(),
            env!("CARGO_BIN_EXE_tightrole")
        ),
    )
    .unwrap();
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let trail = common::demo_trail();
    let call = "print(json.dumps(bench.contention(sys.argv[2], sys.argv[3], 3)))";
    let Some(out) = bench_py(
        call,
        &[wrapper.as_os_str(), trail.as_os_str()],
        "the contention figure",
    ) else {
        return;
    };
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let c: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for key in ["one_worker_cpu", "default_cpu", "cpu_ratio"] {
        assert!(c[key].as_f64().unwrap() > 0.0, "{key}: {c}");
    }
    let (lo, mid, hi) = (
        c["cpu_ratio_min"].as_f64().unwrap(),
        c["cpu_ratio"].as_f64().unwrap(),
        c["cpu_ratio_max"].as_f64().unwrap(),
    );
    assert!(lo <= mid && mid <= hi, "{c}");
    // a warm-up on one worker, then three rounds of one worker and the default, in turn
    let runs: Vec<String> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    let one = format!("generate {} --format json --threads 1", trail.display());
    let default = format!("generate {} --format json", trail.display());
    let mut want = vec![one.clone()];
    for _ in 0..3 {
        want.push(one.clone());
        want.push(default.clone());
    }
    assert_eq!(runs, want);
}
