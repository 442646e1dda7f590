//! See tests/adversarial.rs. IaC outputs (issue #16, defects 6 and 7): log text must not be
//! evaluated by Terraform, CloudFormation or the Serverless Framework, and the policies that
//! land on one role must fit IAM's limits for that role.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};
use tempfile::TempDir;
use tightrole::policy::PolicyDocument;

use super::common;

const ACCOUNT: &str = "111122223333";

/// A user record, the IAM principal whose name is free text.
fn user_call(user: &str, source: &str, name: &str, params: Value, id: usize) -> Value {
    let rec = common::record(&format!("user:{user}"), source, name, params);
    common::with(rec, "eventID", json!(format!("ev-{id}")))
}

fn s3_get(who: &str, key: &str, id: usize) -> Value {
    let rec = common::record(
        who,
        "s3.amazonaws.com",
        "GetObject",
        json!({"bucketName": "b", "key": key}),
    );
    common::with(rec, "eventID", json!(format!("ev-{id}")))
}

fn run(args: &[&str]) -> common::Run {
    common::tightrole(args, None)
}

/// `generate --format json`: each principal's documents, by name.
fn json_policies(path: &str, extra: &[&str]) -> BTreeMap<String, Vec<PolicyDocument>> {
    let mut args = vec!["generate", "--format", "json", path];
    args.extend_from_slice(extra);
    let out = run(&args);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    v["principals"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| !p["policy"].is_null())
        .map(|p| {
            let docs = match p["policies"].as_array() {
                Some(all) => all.clone(),
                None => vec![p["policy"].clone()],
            };
            (
                p["name"].as_str().unwrap().to_string(),
                docs.iter()
                    .map(|d| PolicyDocument::parse(&d.to_string()).unwrap())
                    .collect(),
            )
        })
        .collect()
}

/// Runs `cmd` with `input` on stdin; its stdout, which must be a success.
fn piped(cmd: &mut Command, input: &[u8]) -> String {
    use std::io::Write as _;
    use std::process::Stdio;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn base64(s: &str) -> Vec<u8> {
    const ABC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for b in s.bytes().filter(|b| *b != b'=') {
        acc = (acc << 6) | ABC.iter().position(|c| *c == b).unwrap() as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

/// A tool from the emulator's virtualenv (`scripts/test` installs PyYAML and cfn-lint there,
/// pinned in tests/moto/requirements.txt), else from PATH.
fn venv_tool(name: &str) -> String {
    std::env::var("TIGHTROLE_MOTO_PYTHON")
        .ok()
        .and_then(|py| {
            let p = Path::new(&py).parent()?.join(name);
            p.exists().then(|| p.display().to_string())
        })
        .unwrap_or_else(|| name.to_string())
}

fn on_path(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .env("TF_CLI_CONFIG_FILE", "/dev/null")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Every string of a YAML value (keys too).
fn strings(v: &serde_yaml_ng::Value, out: &mut Vec<String>) {
    match v {
        serde_yaml_ng::Value::String(s) => out.push(s.clone()),
        serde_yaml_ng::Value::Sequence(s) => s.iter().for_each(|x| strings(x, out)),
        serde_yaml_ng::Value::Mapping(m) => m.iter().for_each(|(k, x)| {
            strings(k, out);
            strings(x, out);
        }),
        serde_yaml_ng::Value::Tagged(t) => strings(&t.value, out),
        _ => {}
    }
}

/// The YAML as JSON, read by PyYAML (YAML 1.1, the family CloudFormation's and the Serverless
/// Framework's readers belong to); `None` when python3 with PyYAML is not installed. A date or
/// any other non-string scalar shows up as `{"not a string": …}`.
fn pyyaml(text: &str, dir: &Path) -> Option<Value> {
    let python = venv_tool("python");
    let ok = Command::new(&python)
        .args(["-c", "import yaml"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("note: python3 with PyYAML not found, YAML 1.1 round trip skipped");
        return None;
    }
    let file = dir.join("out.yaml");
    std::fs::write(&file, text).unwrap();
    let out = Command::new(&python)
        .args([
            "-c",
            "import yaml,json,sys\nprint(json.dumps(yaml.safe_load(open(sys.argv[1], encoding='utf-8')), default=lambda o: {'not a string': str(o)}))",
        ])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "PyYAML cannot read it: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(serde_json::from_slice(&out.stdout).unwrap())
}

/// S3 keys an uploader chooses, each aimed at one escaping rule.
const HOSTILE_KEYS: &[&str] = &[
    "a\u{8}b",                                    // JSON `\b`: not an HCL escape
    "c\u{c}d",                                    // JSON `\f`: not an HCL escape
    "e\"f\\g",                                    // quotes and backslashes
    "${aws:username}/x",                          // Terraform interpolation
    "%{if true}x%{endif}",                        // Terraform directive
    "$${x}",                                      // an escape already
    "line\nresource \"aws_iam_user\" \"pwn\" {}", // a newline
    "\u{7f}\u{85}\u{2028}\u{feff}",               // DEL, NEL, line separator, BOM
    "tab\there",
    "x: y # z",                     // YAML indicators
    "'single' and \"double\"",      // YAML quotes
    "${env:AWS_SECRET_ACCESS_KEY}", // Serverless variables
    "${ssm:/prod/db-password}",
    "${file(./secrets.json):token}",
    "${self:custom.x}",
];

/// Hostile S3 keys and a hostile user name in Terraform: the output parses (with the real
/// parser, `terraform`, when it is on PATH), is as `terraform fmt` writes it, injects nothing,
/// and every resource reads back exactly as the JSON output has it.
#[test]
fn terraform_escapes_hcl_strings_and_comments() {
    let dir = TempDir::new().unwrap();
    let evil = "evil\nresource \"aws_iam_user\" \"pwn\" {}\n#";
    let records: Vec<Value> = HOSTILE_KEYS
        .iter()
        .enumerate()
        .map(|(i, k)| s3_get(&format!("user:{evil}"), k, i))
        .collect();
    let path = common::write_records(dir.path(), "t.json", &records);
    let path = path.to_str().unwrap();
    let out = run(&[
        "generate",
        "--generalize",
        "exact",
        "--format",
        "terraform",
        path,
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let tf = out.stdout;
    for line in tf.lines() {
        assert!(
            !line.starts_with("resource \"aws_iam_user\""),
            "injected: {tf}"
        );
    }
    assert!(
        !tf.contains("\\b") && !tf.contains("\\f"),
        "JSON escapes HCL does not know: {tf}"
    );
    let expected: Vec<Vec<String>> = json_policies(path, &["--generalize", "exact"])
        .values()
        .flatten()
        .flat_map(|d| d.statements.iter().map(|s| s.resource.values().to_vec()))
        .collect();
    assert!(
        expected
            .iter()
            .flatten()
            .any(|r| r.contains("${$}{aws:username}")),
        "a policy variable from the log is escaped into a literal"
    );
    if !on_path("terraform") {
        eprintln!("note: terraform not on PATH, HCL round trip skipped");
        return;
    }
    let tfdir = TempDir::new().unwrap();
    std::fs::write(tfdir.path().join("main.tf"), &tf).unwrap();
    let fmt = Command::new("terraform")
        .args(["fmt", "-check", "-no-color", "."])
        .current_dir(tfdir.path())
        .env("TF_CLI_CONFIG_FILE", "/dev/null")
        .output()
        .unwrap();
    assert!(
        fmt.status.success(),
        "terraform cannot read it, or would reformat it: {}{}\n{tf}",
        String::from_utf8_lossy(&fmt.stdout),
        String::from_utf8_lossy(&fmt.stderr)
    );
    // Each `resources = [...]` list, evaluated by Terraform itself.
    let lists: Vec<&str> = tf
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("resources = "))
        .collect();
    assert_eq!(lists.len(), expected.len(), "{tf}");
    let locals: String = lists
        .iter()
        .enumerate()
        .map(|(i, l)| format!("  r{i} = {l}\n"))
        .collect();
    let evaldir = TempDir::new().unwrap();
    std::fs::write(
        evaldir.path().join("main.tf"),
        format!("locals {{\n{locals}}}\n"),
    )
    .unwrap();
    let all: Vec<String> = (0..lists.len()).map(|i| format!("local.r{i}")).collect();
    let console = piped(
        Command::new("terraform")
            .args(["console", "-no-color"])
            .current_dir(evaldir.path())
            .env("TF_CLI_CONFIG_FILE", "/dev/null"),
        format!("base64encode(jsonencode([{}]))\n", all.join(", ")).as_bytes(),
    );
    // base64: printed by the console without any escaping of its own
    let b64: String = serde_json::from_str(console.trim()).unwrap();
    let got: Vec<Vec<String>> = serde_json::from_slice(&base64(&b64)).unwrap();
    assert_eq!(got, expected);
}

/// Two names that map to one Terraform identifier or one CloudFormation logical id must not
/// become one resource (Terraform would refuse the duplicate; CloudFormation's map silently
/// kept only the last policy).
#[test]
fn identifiers_from_names_never_collide() {
    let dir = TempDir::new().unwrap();
    let names = ["orders-api", "orders_api", "OrdersApi", "orders.api"];
    let records: Vec<Value> = names
        .iter()
        .enumerate()
        .map(|(i, n)| s3_get(&format!("user:{n}"), "k", i))
        .collect();
    let path = common::write_records(dir.path(), "t.json", &records);
    let path = path.to_str().unwrap();
    let tf = run(&["generate", "--format", "terraform", path]);
    assert_eq!(tf.code, 0, "{}", tf.stderr);
    for kind in [
        "data \"aws_iam_policy_document\"",
        "resource \"aws_iam_user_policy\"",
    ] {
        let idents: Vec<&str> = tf.stdout.lines().filter(|l| l.starts_with(kind)).collect();
        let unique: BTreeSet<&&str> = idents.iter().collect();
        assert_eq!(idents.len(), names.len(), "{}", tf.stdout);
        assert_eq!(unique.len(), names.len(), "{}", tf.stdout);
    }
    let cfn = run(&["generate", "--format", "cloudformation", path]);
    assert_eq!(cfn.code, 0, "{}", cfn.stderr);
    let t: serde_yaml_ng::Value = serde_yaml_ng::from_str(&cfn.stdout).unwrap();
    let users: BTreeSet<&str> = t["Resources"]
        .as_mapping()
        .unwrap()
        .values()
        .map(|r| r["Properties"]["UserName"].as_str().unwrap())
        .collect();
    assert_eq!(users, names.into_iter().collect(), "{}", cfn.stdout);
}

/// Hostile S3 keys and user names that YAML would read as something else (`yes`, `null`,
/// `*alias`, `&anchor`, `!Ref`, a date, an octal number, `#`, `: `, control characters): the
/// CloudFormation template reads back (with serde_yaml_ng, and with PyYAML when installed) to
/// exactly the JSON output's documents and names, with `Version` a string; `cfn-lint` accepts
/// it when it is on PATH.
#[test]
fn cloudformation_yaml_round_trips_hostile_strings() {
    let dir = TempDir::new().unwrap();
    let names = [
        "yes",
        "null",
        "No",
        "on",
        "*alias",
        "&anchor",
        "!Ref x",
        "# c",
        "a: b",
        "2012-10-17",
        "0o17",
        "017",
        "1_000",
        "1e3",
        ".inf",
        "~",
        "-",
        "? q",
        "x:",
        " pad ",
        "",
    ];
    let keys: Vec<&str> = HOSTILE_KEYS
        .iter()
        .copied()
        .filter(|k| !k.contains("${"))
        .collect();
    let mut records = Vec::new();
    for (i, n) in names.iter().enumerate() {
        records.push(s3_get(&format!("user:{n}"), keys[i % keys.len()], i));
    }
    for (i, k) in keys.iter().enumerate() {
        records.push(s3_get("user:keys", k, 100 + i));
    }
    let path = common::write_records(dir.path(), "t.json", &records);
    let path = path.to_str().unwrap();
    let out = run(&[
        "generate",
        "--generalize",
        "exact",
        "--format",
        "cloudformation",
        path,
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let expected = json_policies(path, &["--generalize", "exact"]);
    let t: Value = serde_yaml_ng::from_str(&out.stdout).unwrap();
    let check = |t: &Value, parser: &str| {
        let mut got: BTreeMap<String, Vec<PolicyDocument>> = BTreeMap::new();
        for r in t["Resources"].as_object().unwrap().values() {
            let p = &r["Properties"];
            assert!(p["PolicyDocument"]["Version"].is_string(), "{parser}: {p}");
            got.entry(p["UserName"].as_str().unwrap().to_string())
                .or_default()
                .push(PolicyDocument::parse(&p["PolicyDocument"].to_string()).unwrap());
        }
        assert_eq!(got, expected, "{parser}:\n{}", out.stdout);
    };
    check(&t, "serde_yaml_ng");
    assert!(expected.contains_key("yes") && expected.contains_key("2012-10-17"));
    if let Some(py) = pyyaml(&out.stdout, dir.path()) {
        check(&py, "PyYAML");
        assert_eq!(py["AWSTemplateFormatVersion"], "2010-09-09");
    }
    // cfn-lint checks names and ARNs against IAM's patterns (its `.` stops at a line break):
    // lint a template of valid names and one-line keys only.
    if !on_path(&venv_tool("cfn-lint")) {
        eprintln!("note: cfn-lint not on PATH, skipped");
        return;
    }
    let records: Vec<Value> = keys
        .iter()
        .filter(|k| !k.contains('\n'))
        .enumerate()
        .map(|(i, k)| s3_get("user:keys", k, i))
        .collect();
    let lint_path = common::write_records(dir.path(), "lint.json", &records);
    let lint = run(&[
        "generate",
        "--generalize",
        "exact",
        "--format",
        "cloudformation",
        lint_path.to_str().unwrap(),
    ]);
    assert_eq!(lint.code, 0, "{}", lint.stderr);
    cfn_lint(&lint.stdout, dir.path());
}

fn cfn_lint(template: &str, dir: &Path) {
    let file = dir.join("template.yaml");
    std::fs::write(&file, template).unwrap();
    let out = Command::new(venv_tool("cfn-lint"))
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cfn-lint: {}{}\n{template}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A dynamic reference in an S3 key would have CloudFormation put a secret into the policy (and
/// serverless.yml ends up in a template too): both formats refuse, naming the value; Terraform,
/// which does not resolve it, writes it as it is.
#[test]
fn dynamic_references_are_refused() {
    let dir = TempDir::new().unwrap();
    let records = vec![
        s3_get("user:app", "{{resolve:ssm:/prod/db-password}}", 1),
        s3_get("fn:app-role/app-fn", "{{ RESOLVE:secretsmanager:prod}}", 2),
    ];
    let path = common::write_records(dir.path(), "t.json", &records);
    let path = path.to_str().unwrap();
    for format in ["cloudformation", "serverless"] {
        let out = run(&[
            "generate",
            "--generalize",
            "exact",
            "--format",
            format,
            path,
        ]);
        assert_eq!(out.code, 1, "{format}: {}", out.stdout);
        assert!(
            out.stderr.contains("dynamic reference")
                && out.stderr.to_lowercase().contains("{{resolve:")
                || out.stderr.contains("{{ RESOLVE:"),
            "{format}: {}",
            out.stderr
        );
        assert!(!out.stdout.contains("resolve"), "{format}: {}", out.stdout);
    }
    let tf = run(&[
        "generate",
        "--generalize",
        "exact",
        "--format",
        "terraform",
        path,
    ]);
    assert_eq!(tf.code, 0, "{}", tf.stderr);
    assert!(tf.stdout.contains("{{resolve:ssm:/prod/db-password}}"));
}

/// Serverless variables in S3 keys (`${env:…}`, `${ssm:…}`, `${file(…)}`, `${self:…}`): no
/// string of serverless.yml holds `${`, and joining each `Fn::Join` gives back exactly the
/// statements of the JSON output.
#[test]
fn serverless_does_not_resolve_variables_from_the_log() {
    let dir = TempDir::new().unwrap();
    let records: Vec<Value> = HOSTILE_KEYS
        .iter()
        .enumerate()
        .map(|(i, k)| s3_get("fn:app-role/app-fn", k, i))
        .collect();
    let path = common::write_records(dir.path(), "t.json", &records);
    let path = path.to_str().unwrap();
    let out = run(&[
        "generate",
        "--generalize",
        "exact",
        "--format",
        "serverless",
        path,
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let y: serde_yaml_ng::Value = serde_yaml_ng::from_str(&out.stdout).unwrap();
    let mut all = Vec::new();
    strings(&y, &mut all);
    for s in &all {
        assert!(
            !s.contains("${"),
            "a variable the framework resolves: {s:?}\n{}",
            out.stdout
        );
    }
    for line in out.stdout.lines().filter(|l| l.starts_with('#')) {
        assert!(!line.contains("${"), "{line}");
    }
    /// `Fn::Join: ['', [...]]` → the joined string.
    fn joined(v: &Value) -> Value {
        match v {
            Value::Object(m) if m.len() == 1 && m.contains_key("Fn::Join") => {
                let args = m["Fn::Join"].as_array().unwrap();
                assert_eq!(args[0], "");
                Value::String(
                    args[1]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|p| p.as_str().unwrap())
                        .collect(),
                )
            }
            Value::Object(m) => {
                Value::Object(m.iter().map(|(k, x)| (k.clone(), joined(x))).collect())
            }
            Value::Array(a) => Value::Array(a.iter().map(joined).collect()),
            other => other.clone(),
        }
    }
    let v: Value = serde_yaml_ng::from_str(&out.stdout).unwrap();
    let stmts = joined(&v["functions"]["app-fn"]["iamRoleStatements"]);
    let doc =
        PolicyDocument::parse(&json!({"Version": "2012-10-17", "Statement": stmts}).to_string())
            .unwrap();
    let expected = json_policies(path, &["--generalize", "exact"]);
    let mut want = expected["app-fn"][0].clone();
    for d in &expected["app-fn"][1..] {
        want.statements.extend(d.statements.iter().cloned());
    }
    assert_eq!(doc, want);
    if let Some(py) = pyyaml(&out.stdout, dir.path()) {
        assert_eq!(
            joined(&py["functions"]["app-fn"]["iamRoleStatements"]),
            stmts
        );
    }
}

/// `n` functions sharing `shared-role`, each reading `per` DynamoDB tables of long names.
fn shared_role_trail(dir: &Path, n: usize, per: usize) -> String {
    let mut records = Vec::new();
    for f in 0..n {
        for t in 0..per {
            let rec = common::record(
                &format!("fn:shared-role/fn-{f:03}"),
                "dynamodb.amazonaws.com",
                "GetItem",
                json!({"tableName": format!("table-{f:03}-{t}-with-a-long-name-that-takes-room-in-the-policy")}),
            );
            records.push(common::with(rec, "eventID", json!(format!("ev-{f}-{t}"))));
        }
    }
    common::write_records(dir, "shared.json", &records)
        .to_str()
        .unwrap()
        .to_string()
}

/// Thirty functions on one role (the default `--shared-role split`): their policies together
/// are far over the 10,240 characters a role's inline policies may have, so the role gets
/// managed policies (at most ten, each at most 6,144) holding every grant, with or without
/// `--policy-type inline`. cfn-lint accepts the template when it is on PATH.
#[test]
fn inline_limit_is_counted_per_role() {
    let dir = TempDir::new().unwrap();
    let path = shared_role_trail(dir.path(), 30, 6);
    for extra in [&[][..], &["--policy-type", "inline"][..]] {
        let expected = json_policies(&path, extra);
        let total: usize = expected.values().flatten().map(|d| d.iam_size()).sum();
        assert!(total > 10_240, "the case is over the limit: {total}");
        let mut args = vec!["generate", "--format", "cloudformation", path.as_str()];
        args.extend_from_slice(extra);
        let out = run(&args);
        assert_eq!(out.code, 0, "{}", out.stderr);
        let t: serde_yaml_ng::Value = serde_yaml_ng::from_str(&out.stdout).unwrap();
        let mut inline: BTreeMap<String, usize> = BTreeMap::new();
        let mut managed: BTreeMap<String, Vec<PolicyDocument>> = BTreeMap::new();
        for r in t["Resources"].as_mapping().unwrap().values() {
            let p = &r["Properties"];
            let doc: Value = serde_yaml_ng::from_value(p["PolicyDocument"].clone()).unwrap();
            let doc = PolicyDocument::parse(&doc.to_string()).unwrap();
            match r["Type"].as_str().unwrap() {
                "AWS::IAM::RolePolicy" => {
                    *inline
                        .entry(p["RoleName"].as_str().unwrap().to_string())
                        .or_default() += doc.iam_size();
                }
                "AWS::IAM::ManagedPolicy" => {
                    assert!(doc.iam_size() <= 6_144, "{}", doc.iam_size());
                    for role in p["Roles"].as_sequence().unwrap() {
                        managed
                            .entry(role.as_str().unwrap().to_string())
                            .or_default()
                            .push(doc.clone());
                    }
                }
                other => panic!("unexpected {other}"),
            }
        }
        for (role, size) in &inline {
            assert!(*size <= 10_240, "{role}: {size} inline characters");
        }
        let docs = &managed["shared-role"];
        assert!(docs.len() <= 10, "{} managed policies", docs.len());
        // every grant of every function is on the role
        let pairs = |d: &PolicyDocument| -> Vec<(String, String)> {
            d.statements
                .iter()
                .flat_map(|s| {
                    let rs = s.resource.values().to_vec();
                    s.action
                        .values()
                        .iter()
                        .flat_map(move |a| rs.clone().into_iter().map(move |r| (a.clone(), r)))
                        .collect::<Vec<_>>()
                })
                .collect()
        };
        let want: BTreeSet<_> = expected.values().flatten().flat_map(pairs).collect();
        let got: BTreeSet<_> = docs.iter().flat_map(pairs).collect();
        assert_eq!(got, want);
        for d in docs {
            let sids: Vec<_> = d.statements.iter().filter_map(|s| s.sid.as_ref()).collect();
            let unique: BTreeSet<_> = sids.iter().collect();
            assert_eq!(sids.len(), unique.len(), "duplicate Sids in one policy");
        }
        if on_path(&venv_tool("cfn-lint")) {
            cfn_lint(&out.stdout, dir.path());
        }
        let mut args = vec!["generate", "--format", "terraform", path.as_str()];
        args.extend_from_slice(extra);
        let tf = run(&args);
        assert_eq!(tf.code, 0, "{}", tf.stderr);
        assert!(
            !tf.stdout.contains("resource \"aws_iam_role_policy\" "),
            "{}",
            tf.stdout
        );
        let attachments = tf
            .stdout
            .matches("resource \"aws_iam_role_policy_attachment\" ")
            .count();
        assert!((1..=10).contains(&attachments), "{attachments}");
        assert_eq!(
            attachments,
            tf.stdout.matches("resource \"aws_iam_policy\" ").count()
        );
    }
}

/// Past ten managed policies' worth, the output fails and says which role and which limits.
#[test]
fn a_role_over_every_limit_fails_naming_it() {
    let dir = TempDir::new().unwrap();
    let path = shared_role_trail(dir.path(), 100, 6);
    for format in ["terraform", "cloudformation"] {
        let out = run(&["generate", "--format", format, path.as_str()]);
        assert_eq!(out.code, 1, "{format}: {}", out.stdout);
        for part in ["`shared-role`", "10240", "6144"] {
            assert!(out.stderr.contains(part), "{format}: {}", out.stderr);
        }
        assert!(out.stdout.is_empty(), "{format}: nothing half-written");
    }
}

/// A user's inline policies may hold 2,048 characters in all: past that, managed policies.
#[test]
fn user_inline_limit_is_two_thousand_characters() {
    let dir = TempDir::new().unwrap();
    let records: Vec<Value> = (0..30)
        .map(|i| {
            user_call(
                "ci-bot",
                "dynamodb.amazonaws.com",
                "GetItem",
                json!({"tableName": format!("table-{i:02}-with-a-long-name")}),
                i,
            )
        })
        .collect();
    let path = common::write_records(dir.path(), "t.json", &records);
    let path = path.to_str().unwrap();
    let expected = json_policies(path, &["--generalize", "exact"]);
    assert!(
        expected["ci-bot"]
            .iter()
            .map(|d| d.iam_size())
            .sum::<usize>()
            > 2_048
    );
    let tf = run(&[
        "generate",
        "--generalize",
        "exact",
        "--format",
        "terraform",
        path,
    ]);
    assert_eq!(tf.code, 0, "{}", tf.stderr);
    assert!(
        !tf.stdout.contains("resource \"aws_iam_user_policy\" "),
        "{}",
        tf.stdout
    );
    assert!(
        tf.stdout
            .contains("resource \"aws_iam_user_policy_attachment\" ")
    );
    let _ = ACCOUNT;
}

/// Terraform's `aws_iam_policy_document` reads `&{…}` as a policy variable (`${…}`); IAM has no
/// escape for it, so a key holding `&{` is refused for Terraform, naming it, and the JSON output
/// keeps it as the literal it is.
#[test]
fn terraform_refuses_its_own_variable_spelling() {
    let dir = TempDir::new().unwrap();
    let records = vec![s3_get("fn:app-role/app-fn", "b/&{aws:userid}/x", 1)];
    let path = common::write_records(dir.path(), "t.json", &records);
    let path = path.to_str().unwrap();
    let tf = run(&[
        "generate",
        "--generalize",
        "exact",
        "--format",
        "terraform",
        path,
    ]);
    assert_eq!(tf.code, 1, "{}", tf.stdout);
    assert!(
        tf.stderr.contains("&{aws:userid}") && tf.stderr.contains("policy variable"),
        "{}",
        tf.stderr
    );
    assert!(tf.stdout.is_empty(), "{}", tf.stdout);
    let js = run(&[
        "generate",
        "--generalize",
        "exact",
        "--format",
        "json",
        path,
    ]);
    assert_eq!(js.code, 0, "{}", js.stderr);
    assert!(js.stdout.contains("&{aws:userid}"), "{}", js.stdout);
}
