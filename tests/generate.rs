//! `generate` end to end: the demo snapshot, written policy files, determinism, the bundled
//! demo trail, and the documented exit codes.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "integration tests fail loudly on broken fixtures"
)]

mod common;

use std::collections::BTreeMap;

use serde_json::Value;
use tempfile::TempDir;

use common::{demo_trail, root, tightrole, transcript};

#[test]
fn demo_text_snapshot() {
    let run = tightrole(&["generate", "examples/demo-trail"], None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    insta::assert_snapshot!("generate_demo_text", transcript(&run, &[]));
}

#[test]
fn demo_json_snapshot() {
    let run = tightrole(
        &["generate", "--format", "json", "examples/demo-trail"],
        None,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["schema"], "tightrole/generate/v2");
    insta::assert_snapshot!("generate_demo_json", transcript(&run, &[]));
}

#[test]
fn demo_shape() {
    let run = tightrole(
        &["generate", "--format", "json", "examples/demo-trail"],
        None,
    );
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    let principals = v["principals"].as_array().unwrap();
    let kinds: BTreeMap<String, usize> = principals.iter().fold(BTreeMap::new(), |mut m, p| {
        *m.entry(p["kind"].as_str().unwrap().to_string())
            .or_default() += 1;
        m
    });
    assert_eq!(kinds["function"], 8, "eight functions: {kinds:?}");
    let shared: Vec<&str> = principals
        .iter()
        .filter(|p| p["role_arn"] == "arn:aws:iam::111122223333:role/shop-api-role")
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        shared,
        ["orders-api", "orders-worker"],
        "two functions share a role"
    );
    let payments = principals.iter().find(|p| p["name"] == "payments").unwrap();
    assert_eq!(payments["denied"][0]["action"], "dynamodb:DeleteItem");
    assert!(!payments["policy"].to_string().contains("DeleteItem"));
    assert_eq!(v["unmapped"].as_array().unwrap().len(), 0);
    // every emitted action is in the catalog
    let catalog = tightrole::catalog::Catalog::embedded();
    for p in principals {
        for s in p["policy"]["Statement"].as_array().into_iter().flatten() {
            for a in s["Action"].as_array().unwrap() {
                assert!(
                    catalog.action_qualified(a.as_str().unwrap()).is_some(),
                    "{a}"
                );
            }
        }
    }
}

#[test]
fn out_writes_one_file_per_principal_atomically_and_stably() {
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("policies");
    let run = tightrole(
        &[
            "generate",
            "--out",
            out.to_str().unwrap(),
            "examples/demo-trail",
        ],
        None,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let mut files: Vec<String> = walk(&out);
    files.sort();
    assert_eq!(
        files,
        [
            "function/assistant.json",
            "function/auth-authorizer.json",
            "function/notifier.json",
            "function/orders-api.json",
            "function/orders-worker.json",
            "function/payments.json",
            "function/reports-nightly.json",
            "function/thumbnailer.json",
            "role/ci-deploy-role.json",
            "user/deploy-bot.json",
        ]
    );
    let first = std::fs::read(out.join("function/payments.json")).unwrap();
    let doc =
        tightrole::policy::PolicyDocument::parse(std::str::from_utf8(&first).unwrap()).unwrap();
    assert!(!doc.statements.is_empty());
    let again = tightrole(
        &[
            "generate",
            "--out",
            out.to_str().unwrap(),
            "examples/demo-trail",
        ],
        None,
    );
    assert_eq!(again.code, 0);
    assert_eq!(
        std::fs::read(out.join("function/payments.json")).unwrap(),
        first,
        "re-runs change nothing"
    );
}

fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in walkdir::WalkDir::new(dir) {
        let e = e.unwrap();
        if e.file_type().is_file() {
            out.push(
                e.path()
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/"),
            );
        }
    }
    out
}

#[test]
fn output_is_identical_single_threaded_and_parallel() {
    let one = tightrole(
        &[
            "generate",
            "--format",
            "json",
            "--threads",
            "1",
            "examples/demo-trail",
        ],
        None,
    );
    let two = tightrole(
        &[
            "generate",
            "--format",
            "json",
            "--threads",
            "2",
            "examples/demo-trail",
        ],
        None,
    );
    assert_eq!(one.code, 0);
    assert_eq!(one.stdout, two.stdout);
}

#[test]
fn the_bundled_demo_trail_is_what_the_generator_writes() {
    let dir = TempDir::new().unwrap();
    let files = tightrole::trailgen::write_demo(dir.path()).unwrap();
    let committed = walk(&demo_trail());
    let fresh: Vec<String> = files
        .iter()
        .map(|f| {
            f.strip_prefix(dir.path())
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/")
        })
        .collect();
    let mut committed_sorted = committed.clone();
    committed_sorted.sort();
    assert_eq!(
        fresh, committed_sorted,
        "run `cargo run -- demo-trail` to refresh examples/demo-trail"
    );
    for f in &fresh {
        let a = gunzip(&dir.path().join(f));
        let b = gunzip(&demo_trail().join(f));
        assert!(a == b, "{f} differs; run `cargo run -- demo-trail`");
    }
}

fn gunzip(p: &std::path::Path) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(std::fs::File::open(p).unwrap())
        .read_to_end(&mut out)
        .unwrap();
    out
}

#[test]
fn exit_code_table_matches_the_code() {
    let doc = std::fs::read_to_string(root().join("docs/exit-codes.md")).unwrap();
    let mut documented = BTreeMap::new();
    for line in doc.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() >= 4
            && let Ok(code) = cells[1].parse::<u8>()
        {
            documented.insert(code, cells[2].to_string());
        }
    }
    let actual: BTreeMap<u8, String> = tightrole::cli::Exit::ALL
        .iter()
        .map(|e| (e.code(), e.meaning().to_string()))
        .collect();
    assert_eq!(
        documented, actual,
        "docs/exit-codes.md and src/cli/exit.rs disagree"
    );
}

#[test]
fn usage_table_and_help() {
    let run = tightrole(
        &["usage", "--principal", "payments", "examples/demo-trail"],
        None,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    insta::assert_snapshot!("usage_demo_payments", transcript(&run, &[]));
    let run = tightrole(&["generate"], None);
    assert_eq!(run.code, 2, "clap's usage error");
}

#[test]
fn the_readme_sample_is_what_the_demo_prints() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let start = readme
        .find("```text\n# function payments")
        .expect("README has the sample")
        + "```text\n".len();
    let end = start + readme[start..].find("```").unwrap();
    let sample = &readme[start..end];
    let run = tightrole(
        &[
            "generate",
            "examples/demo-trail",
            "--functions",
            "examples/lambda",
        ],
        None,
    );
    assert!(
        readme.contains("generate examples/demo-trail --functions examples/lambda"),
        "the README's first command is the one this test runs"
    );
    assert!(
        run.stdout.contains(sample),
        "README sample is stale; paste the payments block of `cargo run -- generate examples/demo-trail --functions examples/lambda`"
    );
}

#[test]
fn the_readme_diff_summary_is_what_the_demo_prints() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let start = readme
        .find("| principal | functions |")
        .expect("README has the diff summary");
    let end = start + readme[start..].find("\n\n").unwrap();
    let run = tightrole(
        &[
            "diff",
            "examples/demo-trail",
            "--current",
            "policies/",
            "--format",
            "markdown",
        ],
        None,
    );
    assert!(
        run.stdout.contains(&readme[start..end]),
        "README diff summary is stale"
    );
}

/// The principal `name` of `generate --format json`'s output.
fn principal<'v>(out: &'v Value, kind: &str, name: &str) -> &'v Value {
    out["principals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["kind"] == kind && p["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name}"))
}

/// Every (action, resource, condition) a principal's policies allow, as text.
fn allows(p: &Value) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    let docs: Vec<&Value> = match p.get("policies").and_then(Value::as_array) {
        Some(many) if !many.is_empty() => many.iter().collect(),
        _ => p.get("policy").into_iter().collect(),
    };
    for doc in docs {
        for s in doc["Statement"].as_array().unwrap() {
            if s["Effect"] != "Allow" {
                continue;
            }
            let cond = s
                .get("Condition")
                .map(|c| c.to_string())
                .unwrap_or_default();
            for a in s["Action"].as_array().unwrap() {
                for r in s["Resource"].as_array().unwrap() {
                    out.push((
                        a.as_str().unwrap().to_string(),
                        r.as_str().unwrap().to_string(),
                        cond.clone(),
                    ));
                }
            }
        }
    }
    out
}

fn generate_json(extra: &[&str]) -> Value {
    let mut args = vec!["generate", "examples/demo-trail", "--format", "json"];
    args.extend_from_slice(extra);
    let run = tightrole(&args, None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    serde_json::from_str(&run.stdout).unwrap()
}

/// Issue #15: every function may write its own logs and no one else's; the worker may poll its
/// queue and send to its dead-letter queue once the configuration says so; the evidence names the
/// configuration field; `--no-runtime` leaves it all out and says so.
#[test]
fn runtime_requirements_on_the_demo() {
    let logs = |f: &str| {
        format!("arn:aws:logs:eu-west-1:111122223333:log-group:/aws/lambda/{f}:log-stream:*")
    };
    let plain = generate_json(&[]);
    let functions: Vec<&Value> = plain["principals"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["kind"] == "function")
        .collect();
    assert_eq!(functions.len(), 8);
    for f in &functions {
        let name = f["name"].as_str().unwrap();
        let allowed = allows(f);
        for action in ["logs:CreateLogStream", "logs:PutLogEvents"] {
            assert!(
                allowed
                    .iter()
                    .any(|(a, r, _)| a == action && *r == logs(name)),
                "{name}: {action}"
            );
        }
        assert!(
            allowed
                .iter()
                .filter(|(a, _, _)| a.starts_with("logs:"))
                .all(|(_, r, _)| *r == logs(name)),
            "{name} may write only its own logs: {allowed:?}"
        );
    }
    let configured = generate_json(&["--functions", "examples/lambda"]);
    let worker = principal(&configured, "function", "orders-worker");
    let queue = "arn:aws:sqs:eu-west-1:111122223333:order-events";
    for action in [
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
    ] {
        assert!(
            allows(worker)
                .iter()
                .any(|(a, r, c)| a == action && r == queue && c.is_empty()),
            "{action}"
        );
    }
    let carried = worker["carried"].as_array().unwrap();
    let evidence: Vec<&str> = carried
        .iter()
        .filter(|c| c["label"] == "Runtime")
        .map(|c| {
            assert_eq!(c["evidence"]["kind"], "runtime");
            assert_eq!(c["evidence"]["function"], "orders-worker");
            c["evidence"]["field"].as_str().unwrap()
        })
        .collect();
    assert!(evidence.contains(&"DeadLetterConfig.TargetArn"));
    assert!(
        evidence
            .iter()
            .any(|f| f.starts_with("EventSourceMappings[") && f.ends_with("].EventSourceArn"))
    );
    // the other function of the shared role gets none of the worker's runtime grants
    let api = principal(&configured, "function", "orders-api");
    assert!(
        api["carried"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["evidence"]["function"] != "orders-worker")
    );
    assert!(
        !allows(api)
            .iter()
            .any(|(a, _, _)| a == "sqs:ReceiveMessage" || a == "sqs:GetQueueAttributes"),
        "the worker's queue polling is not the api's"
    );
    // --no-runtime
    let run = tightrole(&["generate", "examples/demo-trail", "--no-runtime"], None);
    assert_eq!(run.code, 0);
    assert!(!run.stdout.contains("Runtime\""), "no runtime statement");
    assert!(
        run.stderr.contains("runtime requirements are off"),
        "{}",
        run.stderr
    );
}

/// With `--shared-role scope`, the role's policy holds each function's runtime grants: those
/// made from the execution environment (logs) conditioned on that function's ARN, those Lambda's
/// platform makes (queue polling) unconditioned but only the function's own queue.
#[test]
fn runtime_requirements_on_a_scoped_shared_role() {
    let out = generate_json(&["--functions", "examples/lambda", "--shared-role", "scope"]);
    let role = principal(&out, "role", "shop-api-role");
    let allowed = allows(role);
    for f in ["orders-api", "orders-worker"] {
        let logs =
            format!("arn:aws:logs:eu-west-1:111122223333:log-group:/aws/lambda/{f}:log-stream:*");
        let arn = format!("arn:aws:lambda:eu-west-1:111122223333:function:{f}");
        let grant = allowed
            .iter()
            .find(|(a, r, _)| a == "logs:PutLogEvents" && *r == logs)
            .unwrap_or_else(|| panic!("{f}'s logs: {allowed:?}"));
        assert!(
            grant.2.contains("lambda:SourceFunctionArn") && grant.2.contains(&arn),
            "{f}'s logs are scoped to {f}: {}",
            grant.2
        );
    }
    assert!(allowed.iter().any(|(a, r, c)| a == "sqs:GetQueueAttributes"
        && r == "arn:aws:sqs:eu-west-1:111122223333:order-events"
        && c.is_empty()));
}

/// `check` and `diff` count what the runtime needs like observed calls: a policy that allows
/// everything but `logs:PutLogEvents` breaks every function's logging, and says so.
#[test]
fn check_and_diff_see_runtime_requirements() {
    let dir = TempDir::new().unwrap();
    let policy = dir.path().join("all-but-logs.json");
    std::fs::write(
        &policy,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotAction":"logs:PutLogEvents","Resource":"*"}]}"#,
    )
    .unwrap();
    let p = policy.to_str().unwrap();
    let run = tightrole(&["check", "examples/demo-trail", "--policy", p], None);
    assert_eq!(run.code, 10, "{}{}", run.stdout, run.stderr);
    assert_eq!(
        run.stdout
            .lines()
            .filter(
                |l| l.contains("`logs:PutLogEvents`") && l.contains("needed by the Lambda runtime")
            )
            .count(),
        8,
        "{}",
        run.stdout
    );
    let run = tightrole(
        &[
            "check",
            "examples/demo-trail",
            "--policy",
            p,
            "--no-runtime",
        ],
        None,
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
    // diff: PutLogEvents granted today is required by the runtime, not unused
    let run = tightrole(
        &[
            "diff",
            "examples/demo-trail",
            "--current",
            "policies",
            "--format",
            "json",
        ],
        None,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    let classes: Vec<&str> = v["principals"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["entries"].as_array().unwrap())
        .filter(|e| e["action"] == "logs:PutLogEvents")
        .map(|e| e["class"].as_str().unwrap())
        .collect();
    assert!(!classes.is_empty());
    assert!(
        classes.iter().all(|c| *c == "required-by-runtime"),
        "{classes:?}"
    );
}

/// `generate` counts the usage graph's nodes and edges without building it
/// (`AccessGraph::counts`); the counts are those of the graph `graph --format json` draws.
#[test]
fn the_summary_counts_the_graph_that_graph_draws() {
    let summary = generate_json(&[])["summary"].clone();
    let run = tightrole(&["graph", "examples/demo-trail", "--format", "json"], None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let graph: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        summary["graph_nodes"].as_u64().unwrap() as usize,
        graph["nodes"].as_array().unwrap().len()
    );
    assert_eq!(
        summary["graph_edges"].as_u64().unwrap() as usize,
        graph["edges"].as_array().unwrap().len()
    );
}

/// `generate --out DIR | head`: the reader of stdout goes away after a few bytes, and every
/// policy file is still written, the same as a run whose output is read to the end; the exit
/// is 0, as for any closed pipe.
#[test]
fn a_closed_stdout_still_writes_every_policy_file() {
    let dir = TempDir::new().unwrap();
    let trail = dir.path().join("trail");
    tightrole::trailgen::write_bench(&trail, 3000, 7, tightrole::trailgen::BenchProfile::Growing)
        .unwrap();
    let (full, cut) = (dir.path().join("full"), dir.path().join("cut"));
    let args = |out: &std::path::Path| -> Vec<String> {
        ["generate", "--format", "json", "--out"]
            .iter()
            .map(|s| s.to_string())
            .chain([out.display().to_string(), trail.display().to_string()])
            .collect()
    };
    let whole = tightrole(
        &args(&full).iter().map(String::as_str).collect::<Vec<_>>(),
        None,
    );
    assert_eq!(whole.code, 0, "{}", whole.stderr);
    assert!(whole.stdout.len() > 1 << 20, "{}", whole.stdout.len());

    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tightrole"))
        .args(args(&cut))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 100];
    std::io::Read::read_exact(&mut stdout, &mut first).unwrap();
    drop(stdout);
    let done = child.wait_with_output().unwrap();
    assert_eq!(
        done.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let mut files = walk(&full);
    files.sort();
    assert!(files.len() > 100, "{}", files.len());
    let mut written = walk(&cut);
    written.sort();
    assert_eq!(written, files);
    for f in &files {
        assert_eq!(
            std::fs::read(cut.join(f)).unwrap(),
            std::fs::read(full.join(f)).unwrap(),
            "{f}"
        );
    }
}

/// `--spill-after`: grants written to a temporary file while reading, and read back as they
/// are needed, give the same output, in every format that streams and with `--out`; `--stats`
/// says how much was written. When no temporary file can be made, a note names the
/// directory, the grants stay in memory, and the output is still the same (exit 0 even with
/// `--strict`).
#[test]
fn grants_spilled_to_disk_give_the_same_output() {
    let out = TempDir::new().unwrap();
    let policies = |dir: &std::path::Path| -> BTreeMap<String, String> {
        walk(dir)
            .into_iter()
            .map(|rel| {
                (
                    rel.clone(),
                    std::fs::read_to_string(dir.join(&rel)).unwrap(),
                )
            })
            .collect()
    };
    for format in ["json", "text", "terraform"] {
        let (a, b) = (out.path().join("a"), out.path().join("b"));
        let args = |dir: &std::path::Path| {
            vec![
                "generate".to_string(),
                "examples/demo-trail".to_string(),
                "--functions".to_string(),
                "examples/lambda".to_string(),
                "--format".to_string(),
                format.to_string(),
                "--out".to_string(),
                dir.display().to_string(),
            ]
        };
        let whole: Vec<String> = args(&a);
        let run = tightrole(&whole.iter().map(String::as_str).collect::<Vec<_>>(), None);
        assert_eq!(run.code, 0, "{}", run.stderr);
        let mut spilled = args(&b);
        spilled.extend(["--spill-after", "1", "--stats=json"].map(String::from));
        let s = tightrole(
            &spilled.iter().map(String::as_str).collect::<Vec<_>>(),
            None,
        );
        assert_eq!(s.code, 0, "{}", s.stderr);
        assert_eq!(s.stdout, run.stdout, "{format}");
        assert_eq!(policies(&a), policies(&b), "{format}");
        let stats: Value = s
            .stderr
            .lines()
            .find(|l| l.starts_with('{'))
            .map(|l| serde_json::from_str(l).unwrap())
            .unwrap();
        assert!(stats["bytes_spilled"].as_u64().unwrap() > 1000, "{stats}");
        std::fs::remove_dir_all(&a).unwrap();
        std::fs::remove_dir_all(&b).unwrap();
    }

    let plain = tightrole(
        &["generate", "examples/demo-trail", "--format", "json"],
        None,
    );
    let no_tmp = out.path().join("no-such-directory");
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_tightrole"))
        .args([
            "generate",
            "examples/demo-trail",
            "--format",
            "json",
            "--spill-after",
            "1",
            "--strict",
        ])
        .current_dir(root())
        .env("NO_COLOR", "1")
        .env("TMPDIR", &no_tmp)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(0), "{stderr}");
    // the same output, and the note among its diagnostics too; `--strict` does not fail on it
    // (it is about the input, and every record was used)
    let (mut kept, whole): (Value, Value) = (
        serde_json::from_slice(&run.stdout).unwrap(),
        serde_json::from_str(&plain.stdout).unwrap(),
    );
    let warning = kept["diagnostics"].as_array_mut().unwrap().remove(0);
    assert_eq!(warning["level"], "note", "{warning}");
    assert_eq!(kept, whole);
    assert!(
        stderr.contains(&*no_tmp.display().to_string())
            && stderr.contains("cannot use the temporary file of spilled grants")
            && stderr.contains("kept in memory"),
        "{stderr}"
    );
}
