//! See tests/adversarial.rs. Issue #16, defects 3, 5 and 10: hostile S3 keys, function
//! (session) names and error messages through every markdown, Mermaid, DOT, HTML and text
//! output. Markdown is parsed with pulldown-cmark (GFM tables on) and must hold no HTML, link,
//! image, emphasis or heading that came from the data; text outputs must hold no raw control
//! character; non-ASCII names must not crash `graph` or `pr`.

use std::path::{Path, PathBuf};

use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag, TagEnd};
use serde_json::json;
use tempfile::TempDir;

use super::common;

const INJECTED: &str = "Reviewed by security";
const HEADING: &str = "cat.jpg\n\n## ✅ Reviewed by security — safe to merge\n\n<!--";
const TERMINAL: &str = "\u{1b}[31mred\r\u{8}";

/// S3 keys a stranger can choose by uploading a file.
fn keys() -> Vec<String> {
    vec![
        HEADING.to_string(),
        "<img src=x onerror=alert(1)>".into(),
        "[click](https://evil.example)".into(),
        "```".into(),
        "**bold**".into(),
        "a*b*c".into(),
        "pipe|key".into(),
        "back\\|<img src=y>".into(),
        "写真/猫.jpg".into(),
        // long enough for the Mermaid label to be cut, the cut inside a 3-byte character
        format!("{}.jpg", "猫の写真".repeat(6)),
        format!("x{TERMINAL}"),
        "o'brien\"><b>".into(),
    ]
}

/// User names as a forged or copied trail may carry them (tightrole takes a function name only
/// when it is a valid one, so hostile names reach the outputs as users and keys).
const USERS: &[&str] = &[
    "<img src=x onerror=alert(1)>",
    "u\n\n## ✅ Reviewed by security — safe to merge\n\n<!--",
    "写真処理",
    "**bold**|x",
    "esc\u{1b}[2Jcr\rbs\u{8}",
    // DOT: end the string, start a statement, Graphviz's own label escapes
    "x\"]; evil [label=\"pwned",
    "back\\slash\\N\\l\\",
    // Mermaid: a directive that sets the configuration
    "%%{init: {\"theme\": \"forest\"}}%%",
];

/// Two functions sharing one role read every hostile key and are denied one write; with
/// `users`, hostile user names call too.
fn trail(dir: &Path, users: bool) -> PathBuf {
    let mut records = Vec::new();
    let mut who: Vec<String> = ["thumbnailer", "resizer"]
        .iter()
        .map(|f| format!("fn:hostile-role/{f}"))
        .collect();
    if users {
        who.extend(USERS.iter().map(|u| format!("user:{u}")));
    }
    for w in &who {
        for k in keys() {
            records.push(common::record(
                w,
                "s3.amazonaws.com",
                "GetObject",
                json!({"bucketName": "shop-uploads", "key": k}),
            ));
        }
        let denied = common::record(
            w,
            "s3.amazonaws.com",
            "PutObject",
            json!({"bucketName": "shop-uploads", "key": HEADING}),
        );
        let denied = common::with(denied, "errorCode", json!("AccessDenied"));
        records.push(common::with(
            denied,
            "errorMessage",
            json!(format!("denied {TERMINAL} {HEADING}")),
        ));
    }
    // a record whose bad value is quoted by a warning on stderr
    records.push(common::with(
        common::record(
            "fn:hostile-role/thumbnailer",
            "s3.amazonaws.com",
            "GetObject",
            json!({"bucketName": "b", "key": "k"}),
        ),
        "eventTime",
        json!(format!("2026{TERMINAL}")),
    ));
    common::write_records(dir, "trail/2026/11/02/hostile.json", &records);
    dir.join("trail")
}

/// Today's policy of the role: everything on S3 (so `pr` and `diff` have something to narrow).
fn policies(dir: &Path) -> PathBuf {
    let p = dir.join("policies");
    std::fs::create_dir_all(&p).unwrap();
    let doc = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]});
    std::fs::write(p.join("hostile-role.json"), doc.to_string()).unwrap();
    p
}

fn run(args: &[&str]) -> common::Run {
    let r = common::tightrole(args, None);
    assert_ne!(r.code, 101, "{args:?} panicked: {}", r.stderr);
    r
}

fn assert_no_control(what: &str, s: &str) {
    for c in ['\u{1b}', '\r', '\u{8}'] {
        assert!(!s.contains(c), "{what}: raw {c:?} in\n{s}");
    }
}

/// Parses `md` as GFM and fails on anything the data could have forged.
fn assert_markdown_safe(what: &str, md: &str) -> Vec<String> {
    let mut opts = Options::empty();
    opts.insert(Options::ENABLE_TABLES);
    opts.insert(Options::ENABLE_STRIKETHROUGH);
    opts.insert(Options::ENABLE_FOOTNOTES);
    opts.insert(Options::ENABLE_TASKLISTS);
    let fixed_html = [
        "<details>",
        "</details>",
        "<summary>",
        "</summary>",
        "<code>",
        "</code>",
    ];
    let mut heading: Option<String> = None;
    let mut strong: Option<String> = None;
    let mut mermaid: Option<String> = None;
    let mut codes = Vec::new();
    for ev in Parser::new_ext(md, opts) {
        match ev {
            Event::Html(h) | Event::InlineHtml(h) => {
                let mut rest = h.to_string();
                for t in fixed_html {
                    rest = rest.replace(t, "");
                }
                assert!(
                    !rest.contains('<') && !rest.contains('>'),
                    "{what}: HTML from the data: {h:?}"
                );
            }
            Event::Start(Tag::Link { dest_url, .. }) => {
                panic!("{what}: a link to {dest_url} from the data")
            }
            Event::Start(Tag::Image { dest_url, .. }) => {
                panic!("{what}: an image {dest_url} from the data")
            }
            Event::Start(Tag::Emphasis | Tag::Strikethrough) => {
                panic!("{what}: emphasis from the data")
            }
            Event::Start(Tag::Heading { .. }) => heading = Some(String::new()),
            Event::End(TagEnd::Heading(_)) => {
                let h = heading.take().unwrap_or_default();
                assert!(!h.contains(INJECTED), "{what}: injected heading {h:?}");
            }
            Event::Start(Tag::Strong) => strong = Some(String::new()),
            Event::End(TagEnd::Strong) => {
                let s = strong.take().unwrap_or_default();
                assert!(
                    s.ends_with("risky grant(s) removed") || s == "confidence:",
                    "{what}: bold text from the data: {s:?}"
                );
            }
            Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(lang))) => {
                assert_eq!(&*lang, "mermaid", "{what}: a code block from the data");
                mermaid = Some(String::new());
            }
            Event::End(TagEnd::CodeBlock) => {
                assert_mermaid_safe(what, &mermaid.take().unwrap_or_default());
            }
            Event::Text(t) => {
                for acc in [&mut heading, &mut strong, &mut mermaid]
                    .into_iter()
                    .flatten()
                {
                    acc.push_str(&t);
                }
            }
            Event::Code(c) => {
                for acc in [&mut heading, &mut strong].into_iter().flatten() {
                    acc.push_str(&c);
                }
                codes.push(c.to_string());
            }
            _ => {}
        }
    }
    assert!(
        !md.contains('\r') && !md.contains('\u{1b}'),
        "{what}: raw control"
    );
    codes
}

/// Every line of a Mermaid graph is one of the statements tightrole writes, every label is
/// quoted and holds no raw `"`, `<`, `>` but tightrole's own `<br/><small>`.
fn assert_mermaid_safe(what: &str, m: &str) {
    let line = regex_lite::Regex::new(
        r#"^(flowchart LR|  %% [^\n]*|  p\d+\(\["[^"]*"\]\)|  subgraph svc\d+ \["[^"]*"\]|    r\d+\["[^"]*"\]|  end|  p\d+ -->\|"[^"|]*"\| r\d+|  m\d+\["[^"]*"\]|  left_out>"[^"]*"\]|  p\d+ -\.-> m\d+)$"#,
    )
    .unwrap();
    assert!(m.starts_with("flowchart LR\n"), "{what}: {m}");
    for l in m.lines() {
        assert!(
            line.is_match(l),
            "{what}: a Mermaid line not of tightrole's: {l:?}"
        );
        let own = l
            .replace("<br/><small>", "")
            .replace("</small>", "")
            .replace("<br/>", "")
            .replace("-->", "")
            .replace("-.->", "")
            .replacen("left_out>", "", 1);
        assert!(
            !own.contains('<') && !own.contains('>'),
            "{what}: raw HTML in a Mermaid label: {l:?}"
        );
    }
    assert!(
        !m.contains("%%{"),
        "{what}: a Mermaid directive from the data"
    );
}

struct Fixture {
    dir: TempDir,
    trail: PathBuf,
    policies: PathBuf,
}

fn fixture(users: bool) -> Fixture {
    let dir = TempDir::new().unwrap();
    let trail = trail(dir.path(), users);
    let policies = policies(dir.path());
    Fixture {
        dir,
        trail,
        policies,
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn pr_body_cannot_be_forged_by_keys() {
    // no hostile user names here: their policy file names are the file writer's concern
    let f = fixture(false);
    let out = f.dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    for e in std::fs::read_dir(&f.policies).unwrap() {
        let e = e.unwrap().path();
        std::fs::copy(&e, out.join(e.file_name().unwrap())).unwrap();
    }
    let body = f.dir.path().join("PR.md");
    let r = run(&[
        "pr",
        s(&f.trail),
        "--current",
        s(&out),
        "--out",
        s(&out),
        "--body",
        s(&body),
    ]);
    assert_eq!(r.code, 0, "non-ASCII names must not crash pr: {}", r.stderr);
    assert_no_control("pr stderr", &r.stderr);
    let md = std::fs::read_to_string(&body).unwrap();
    assert!(md.contains("```mermaid"), "{md}");
    let codes = assert_markdown_safe("PR.md", &md);
    // the values are still there to read, whole, in code spans
    // (`*` in a name is written the way IAM reads it literally)
    assert!(
        codes.iter().any(|c| c.ends_with("/${*}${*}bold${*}${*}")),
        "{codes:?}"
    );
    assert!(
        codes.iter().any(|c| c.contains("[click](https://")),
        "{codes:?}"
    );
    assert!(codes.iter().any(|c| c.contains("## ✅")), "{codes:?}");
    // every table row has its columns: no value split a row
    for l in md.lines().filter(|l| l.starts_with("| ")) {
        let cols = l.replace("\\|", "").matches('|').count();
        assert!(cols == 7 || cols == 5, "{cols} columns: {l}");
    }
}

#[test]
fn diff_and_drift_markdown_cannot_be_forged() {
    let f = fixture(true);
    let r = run(&[
        "diff",
        s(&f.trail),
        "--current",
        s(&f.policies),
        "--format",
        "markdown",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let codes = assert_markdown_safe("diff markdown", &r.stdout);
    for u in ["写真処理", "**bold**|x", "<img src=x onerror=alert(1)>"] {
        assert!(codes.iter().any(|c| c.contains(u)), "{u}: {codes:?}");
    }
    let state = f.dir.path().join("state.json");
    for format in ["markdown", "html"] {
        let _ = std::fs::remove_file(&state);
        let r = run(&[
            "drift",
            s(&f.trail),
            "--baseline",
            s(&f.policies),
            "--state",
            s(&state),
            "--current",
            s(&f.policies),
            "--format",
            format,
        ]);
        assert!(r.code == 0 || r.code == 10, "{format}: {}", r.stderr);
        assert!(
            r.stdout.contains("hostile-role"),
            "{format}: the shared-role finding is there: {}",
            r.stdout
        );
        if format == "markdown" {
            assert_markdown_safe("drift markdown", &r.stdout);
        } else {
            let h = &r.stdout;
            assert!(!h.contains("<img"), "{h}");
            assert!(h.contains("&lt;img src=x onerror=alert(1)&gt;"), "{h}");
            assert_no_control("drift html", h);
        }
    }
}

#[test]
fn graph_labels_are_escaped_and_non_ascii_names_do_not_crash() {
    let f = fixture(true);
    let m = run(&[
        "graph",
        "--format",
        "mermaid",
        "--generalize",
        "exact",
        s(&f.trail),
    ]);
    assert_eq!(
        m.code, 0,
        "non-ASCII names must not crash graph: {}",
        m.stderr
    );
    assert_mermaid_safe("graph mermaid", &m.stdout);
    assert!(m.stdout.contains('…'), "a long label was cut: {}", m.stdout);
    let d = run(&[
        "graph",
        "--format",
        "dot",
        "--generalize",
        "exact",
        s(&f.trail),
    ]);
    assert_eq!(d.code, 0, "{}", d.stderr);
    let quoted = r#""(?:[^"\\\n]|\\.)*""#;
    let line = regex_lite::Regex::new(&format!(
        r"^(digraph tightrole \{{|  // [^\n]*|  rankdir=LR;|  node \[shape=box, fontname=.Helvetica.\];|  subgraph cluster_\w+ \{{|    label={quoted};|    style=dashed;|    p\d+ \[label={quoted}, style=rounded\];|    r\d+ \[label={quoted}, shape=note\];|  m\d+ \[label={quoted}, shape=plaintext\];|  left_out \[label={quoted}, shape=plaintext, fontcolor=.gray30.\];|  p\d+ -> r\d+ \[label={quoted}\];|  p\d+ -> m\d+ \[style=dashed\];|  \}}|\}})$"
    ))
    .unwrap();
    for l in d.stdout.lines() {
        assert!(line.is_match(l), "a DOT line not of tightrole's: {l:?}");
    }
    assert_no_control("graph dot", &d.stdout);
    if let Some((svg, _)) = common::graphviz(&d.stdout) {
        // every node Graphviz drew is one tightrole wrote: no name started a statement
        let nodes = d
            .stdout
            .lines()
            .filter(|l| l.contains(" [label=") && !l.contains(" -> "))
            .count();
        assert_eq!(svg.matches("class=\"node\"").count(), nodes, "{svg}");
        assert!(!svg.contains("<title>evil</title>"), "{svg}");
        assert!(svg.contains("user back\\slash\\N\\l\\"), "{svg}");
    }
    let t = run(&["graph", "--who", "*", s(&f.trail)]);
    assert_eq!(t.code, 0, "{}", t.stderr);
    assert_no_control("graph text", &t.stdout);
}

#[test]
fn text_outputs_and_warnings_hold_no_control_characters() {
    let f = fixture(true);
    let checks: Vec<(&str, Vec<&str>)> = vec![
        ("usage", vec!["usage", s(&f.trail)]),
        (
            "generate",
            vec!["generate", "--generalize", "exact", s(&f.trail)],
        ),
        ("explain", vec!["explain", "*", "--trail", s(&f.trail)]),
        (
            "diff",
            vec!["diff", s(&f.trail), "--current", s(&f.policies)],
        ),
        (
            "check",
            vec![
                "check",
                "--policy",
                "policies/payments-role.json",
                s(&f.trail),
            ],
        ),
    ];
    for (what, args) in checks {
        let r = run(&args);
        assert!(
            [0, 10].contains(&r.code),
            "{what}: exit {}: {}",
            r.code,
            r.stderr
        );
        assert_no_control(what, &r.stdout);
        assert_no_control(&format!("{what} stderr"), &r.stderr);
        assert!(
            r.stdout.contains("\\u{1b}") || r.stdout.contains("\\u001b"),
            "{what}: the control characters are shown as escapes: {}",
            r.stdout
        );
    }
    // the warning quoting the bad `eventTime` shows the escape, not the control character
    let r = run(&["usage", s(&f.trail)]);
    assert!(
        r.stderr.contains("2026\\u{1b}[31mred\\r\\u{8}"),
        "{}",
        r.stderr
    );
}
