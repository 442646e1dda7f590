// Running Graphviz on a test's DOT: shared by the integration tests (through `common`) and the
// renderer's unit tests (`src/report/graph/render.rs`, through `include!`), so there is one
// copy. Items only, no inner attributes: `include!` takes it as it is.

/// The SVG `dot -Tsvg` makes of `dot` and how long it took, or `None` when Graphviz is not
/// installed (`apt-get install graphviz`; .ci/run installs it).
pub fn graphviz(dot: &str) -> Option<(String, std::time::Duration)> {
    use std::io::Write as _;
    let started = std::time::Instant::now();
    let Ok(mut child) = std::process::Command::new("dot")
        .arg("-Tsvg")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
    else {
        eprintln!("skipped: no `dot` (apt-get install graphviz)");
        return None;
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(dot.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "dot failed: {}\n{dot}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some((String::from_utf8(out.stdout).unwrap(), started.elapsed()))
}
