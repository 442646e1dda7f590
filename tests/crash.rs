//! Crash consistency: `pr` and `drift` are killed at random points; every file they write is
//! then either the old version or the new one, never a partial one.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "integration tests fail loudly on broken fixtures"
)]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use tempfile::TempDir;

use common::root;

fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            (
                e.path().strip_prefix(dir).unwrap().to_path_buf(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

fn copy_dir(from: &Path, to: &Path) {
    for (rel, bytes) in snapshot(from) {
        let p = to.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }
}

/// Runs the command, killing it after `after`; returns whether it finished first.
fn run_and_kill(args: &[&str], after: Duration) -> bool {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tightrole"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(after);
    let finished = matches!(child.try_wait(), Ok(Some(_)));
    let _ = child.kill();
    let _ = child.wait();
    finished
}

/// Deterministic "random" kill points.
fn delays(n: usize) -> Vec<Duration> {
    let mut x: u64 = 0x9E37_79B9;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            Duration::from_millis(20 + x % 900)
        })
        .collect()
}

#[test]
fn pr_killed_anywhere_leaves_old_or_new_files() {
    let trail = root().join("examples/demo-trail");
    // the new version of every file
    let done = TempDir::new().unwrap();
    copy_dir(&root().join("policies"), done.path());
    let bodies = TempDir::new().unwrap();
    let body = bodies.path().join("done.md");
    let args = |dir: &Path, body: &Path| -> Vec<String> {
        vec![
            "pr".into(),
            trail.display().to_string(),
            "--current".into(),
            dir.display().to_string(),
            "--out".into(),
            dir.display().to_string(),
            "--body".into(),
            body.display().to_string(),
        ]
    };
    let a = args(done.path(), &body);
    assert!(
        run_and_kill(
            &a.iter().map(String::as_str).collect::<Vec<_>>(),
            Duration::from_secs(20)
        ),
        "pr finishes"
    );
    let new = snapshot(done.path());
    let old = snapshot(&root().join("policies"));
    let mut killed_midway = 0;
    for d in delays(12) {
        let dir = TempDir::new().unwrap();
        copy_dir(&root().join("policies"), dir.path());
        let body = bodies.path().join("PR.md");
        let _ = std::fs::remove_file(&body);
        let a = args(dir.path(), &body);
        if !run_and_kill(&a.iter().map(String::as_str).collect::<Vec<_>>(), d) {
            killed_midway += 1;
        }
        for (rel, bytes) in snapshot(dir.path()) {
            if rel.to_string_lossy().contains(".tightrole-") {
                continue; // a temp file of the interrupted write, never the target
            }
            let is_old = old.get(&rel) == Some(&bytes);
            let is_new = new.get(&rel) == Some(&bytes);
            assert!(
                is_old || is_new,
                "{} is neither the old nor the new version after a kill at {d:?}",
                rel.display()
            );
        }
    }
    eprintln!("{killed_midway} of 12 runs were killed before they finished");
}

#[test]
fn drift_killed_anywhere_keeps_a_valid_state() {
    let dir = TempDir::new().unwrap();
    let trail = dir.path().join("trail");
    tightrole::trailgen::write_demo(&trail).unwrap();
    let state = dir.path().join("state.json");
    let args = |extra: &str| -> Vec<String> {
        vec![
            "drift".into(),
            trail.display().to_string(),
            "--baseline".into(),
            root().join("policies").display().to_string(),
            "--state".into(),
            state.display().to_string(),
            "--unused-after".into(),
            extra.into(),
        ]
    };
    let first = args("7d");
    assert!(run_and_kill(
        &first.iter().map(String::as_str).collect::<Vec<_>>(),
        Duration::from_secs(20)
    ));
    let old = std::fs::read(&state).unwrap();
    tightrole::trailgen::write_demo_period2(&trail).unwrap();
    // the new state
    let probe = dir.path().join("probe.json");
    std::fs::write(&probe, &old).unwrap();
    let mut a = args("7d");
    a[5] = probe.display().to_string();
    assert!(run_and_kill(
        &a.iter().map(String::as_str).collect::<Vec<_>>(),
        Duration::from_secs(20)
    ));
    let new = std::fs::read(&probe).unwrap();
    assert!(old != new, "the second period changes the state");
    for d in delays(10) {
        std::fs::write(&state, &old).unwrap();
        let _ = std::fs::remove_file(dir.path().join("state.json.bak"));
        run_and_kill(
            &args("7d").iter().map(String::as_str).collect::<Vec<_>>(),
            d,
        );
        let now = std::fs::read(&state).unwrap();
        assert!(
            now == old || now == new,
            "the state is the old or the new one after a kill at {d:?}"
        );
        if let Ok(bak) = std::fs::read(dir.path().join("state.json.bak")) {
            assert_eq!(bak, old, "the backup is the previous state");
        }
        let parsed: serde_json::Value = serde_json::from_slice(&now).unwrap();
        assert_eq!(parsed["format"], "tightrole-drift-state/v1");
    }
}
