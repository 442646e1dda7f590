//! Minimized policies: generalization, zero-cost wildcards, size limits, shared roles scoped
//! per function, carried grants, and every output format.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "integration tests fail loudly on broken fixtures"
)]

mod common;

use std::collections::BTreeSet;

use chrono::{TimeZone, Utc};
use proptest::prelude::*;
use serde_json::Value;
use tempfile::TempDir;
use tightrole::catalog::Catalog;
use tightrole::fold::GeneralizeLevel as Level;
use tightrole::policy::expand::expand_actions;
use tightrole::policy::{Context, Decision, Matcher, PolicyDocument, Request, evaluate_all};
use tightrole::synth::generalize::generalize;
use tightrole::synth::{MANAGED_LIMIT, SynthOptions, compact::compact, propose, split};
use tightrole::usage::{Evidence, Grants, PrincipalUsage, grant_key};

use common::{tightrole, transcript};

fn ev() -> Evidence {
    let mut e = Evidence::new(Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).single(), "e");
    e.seen.count = 1;
    e
}

fn resource() -> impl Strategy<Value = String> {
    prop_oneof![
        (0u8..3, "[a-z]{1,6}", prop::collection::vec("[a-z0-9]{1,5}", 0..4), "[a-z0-9]{1,8}\\.(jpg|json)")
            .prop_map(|(b, top, mid, file)| format!("arn:aws:s3:::bucket{b}/{top}/{}{file}", mid.iter().map(|m| format!("{m}/")).collect::<String>())),
        (0u8..3, "[a-z]{1,5}").prop_map(|(t, i)| format!("arn:aws:dynamodb:eu-west-1:111122223333:table/t{t}/index/{i}")),
        (0u8..3, "[a-z0-9]{4,10}").prop_map(|(g, s)| format!("arn:aws:logs:eu-west-1:111122223333:log-group:/aws/lambda/f{g}:log-stream:2026/11/01/[$LATEST]{s}")),
        "[a-z]{1,6}".prop_map(|q| format!("arn:aws:sqs:eu-west-1:111122223333:{q}")),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// Generalization never drops an observed call: every observed resource matches a pattern,
    /// and no pattern crosses a bucket, table or log group.
    #[test]
    fn generalization_never_drops_an_observed_resource(rs in prop::collection::btree_set(resource(), 1..60), bound in 1usize..12, level in prop_oneof![Just(Level::Exact), Just(Level::Prefix), Just(Level::Type)]) {
        let (out, records) = generalize(&rs, level, bound);
        for r in &rs {
            prop_assert!(out.iter().any(|p| tightrole::wildcard::matches(p, r, false)), "{r} lost in {out:?}");
        }
        for p in &out {
            prop_assert!(!p.starts_with("arn:aws:s3:::*") && !p.contains("table/*") && !p.contains("log-group:*"), "{p} widens across containers");
        }
        let covered: usize = records.iter().map(|g| g.observed).sum();
        prop_assert!(covered <= rs.len());
    }

    /// `--compact` output expands back, through the catalog, to exactly the un-compacted set.
    #[test]
    fn compact_expands_back_to_exactly_the_same_set(prefix in prop_oneof![Just("s3"), Just("dynamodb"), Just("sqs"), Just("kms"), Just("lambda")], picks in prop::collection::vec(any::<prop::sample::Index>(), 1..80)) {
        let c = Catalog::embedded();
        let all: Vec<String> = c.service(prefix).unwrap().actions().values().map(|a| a.qualified().to_string()).collect();
        let chosen: BTreeSet<String> = picks.iter().map(|i| i.get(&all).clone()).collect();
        let list: Vec<String> = chosen.iter().cloned().collect();
        let compacted = compact(&list, c);
        prop_assert_eq!(expand_actions(&Matcher::Is(compacted.clone()), c), chosen);
        prop_assert!(compacted.len() <= list.len());
    }

}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// The size-limit splitter never emits a document over its limit.
    #[test]
    fn the_splitter_never_emits_a_document_over_the_limit(n in 1usize..400, limit in 300usize..8000) {
        let mut g = Grants::new();
        for i in 0..n {
            g.insert(grant_key(format!("dynamodb:{}", ["GetItem", "PutItem", "Query", "Scan", "DeleteItem"][i % 5]), format!("arn:aws:dynamodb:eu-west-1:111122223333:table/t{i:05}")).unwrap(), ev());
        }
        let doc = tightrole::synth::synthesize(&g, Catalog::embedded());
        if let Some(parts) = split(&doc, limit) {
            for p in &parts {
                prop_assert!(p.iam_size() <= limit, "{} > {limit}", p.iam_size());
            }
            // every (action, resource) of the document is in exactly one part
            let pairs = |docs: &[&PolicyDocument]| -> Vec<(String, String)> {
                let mut v: Vec<(String, String)> = docs.iter().flat_map(|d| d.statements.iter()).flat_map(|s| {
                    s.action.values().iter().flat_map(move |a| s.resource.values().iter().map(move |r| (a.clone(), r.clone())))
                }).collect();
                v.sort();
                v
            };
            prop_assert_eq!(pairs(&parts.iter().collect::<Vec<_>>()), pairs(&[&doc]));
        } else {
            let one_resource_too_big = doc.statements.iter().any(|s| s.resource.values().iter().any(|r| {
                let mut t = s.clone();
                t.resource = Matcher::Is(vec![r.clone()]);
                PolicyDocument { statements: vec![t], ..PolicyDocument::default() }.iam_size() > limit
            }));
            prop_assert!(one_resource_too_big);
        }
        match propose(&g, &Grants::new(), &[], Catalog::embedded(), &SynthOptions::default()) {
            Ok(p) => {
                prop_assert!(p.documents.iter().all(|d| d.iam_size() <= MANAGED_LIMIT));
                let u = PrincipalUsage { grants: g.clone(), ..PrincipalUsage::default() };
                prop_assert!(tightrole::synth::replay(&p.documents, &u).is_empty());
            }
            Err(e) => prop_assert!(e.to_string().contains("6144-character limit"), "{e}"),
        }
    }
}

#[test]
fn fifty_thousand_keys_under_thirty_prefixes_fit_one_managed_policy() {
    let mut g = Grants::new();
    for k in 0..50_000u32 {
        let prefix = k % 30;
        g.insert(grant_key("s3:PutObject", format!("arn:aws:s3:::ingest-bucket/tenant-{prefix:02}/events/2026/11/{:02}/{k:08x}.json", k % 28 + 1)).unwrap(), ev());
    }
    let p = propose(
        &g,
        &Grants::new(),
        &[],
        Catalog::embedded(),
        &SynthOptions::default(),
    )
    .unwrap();
    assert_eq!(p.documents.len(), 1);
    let size = p.documents[0].iam_size();
    assert!(size < MANAGED_LIMIT, "{size}");
    assert_eq!(p.generalizations.len(), 30);
    let admitted: usize = p.generalizations.iter().map(|g| g.observed).sum();
    assert_eq!(admitted, 50_000);
    eprintln!(
        "50,000 keys under 30 prefixes: {} patterns, {size} characters; each pattern stands for {} observed keys, e.g. `{}`",
        p.generalizations.len(),
        p.generalizations[0].observed,
        p.generalizations[0].pattern
    );
    let u = PrincipalUsage {
        grants: g,
        ..PrincipalUsage::default()
    };
    assert!(tightrole::synth::replay(&p.documents, &u).is_empty());
}

#[test]
fn every_format_on_the_demo() {
    for (format, name) in [
        ("terraform", "generate_demo_terraform"),
        ("cloudformation", "generate_demo_cloudformation"),
        ("serverless", "generate_demo_serverless"),
    ] {
        let run = tightrole(
            &["generate", "--format", format, "examples/demo-trail"],
            None,
        );
        assert_eq!(run.code, 0, "{format}: {}", run.stderr);
        // YAML 1.1 readers (PyYAML, the Serverless Framework) take a bare 2012-10-17 for a date
        for line in run.stdout.lines().filter(|l| l.contains("Version:")) {
            let value = line.split_once(':').unwrap().1.trim();
            assert!(
                value.starts_with('\'') || value.starts_with('"'),
                "{format}: unquoted version in `{line}`"
            );
        }
        insta::assert_snapshot!(name, transcript(&run, &[]));
    }
    let compact = tightrole(
        &[
            "generate",
            "--compact",
            "--generalize",
            "type",
            "--principal",
            "thumbnailer",
            "examples/demo-trail",
        ],
        None,
    );
    insta::assert_snapshot!(
        "generate_demo_thumbnailer_compact_type",
        transcript(&compact, &[])
    );
}

#[test]
fn yaml_outputs_are_valid_and_round_trip() {
    let json = tightrole(
        &["generate", "--format", "json", "examples/demo-trail"],
        None,
    );
    let v: Value = serde_json::from_str(&json.stdout).unwrap();
    let policy_of = |name: &str| -> PolicyDocument {
        let p = v["principals"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap();
        PolicyDocument::parse(&p["policy"].to_string()).unwrap()
    };
    let cfn = tightrole(
        &[
            "generate",
            "--format",
            "cloudformation",
            "examples/demo-trail",
        ],
        None,
    );
    let t: Value = serde_yaml_ng::from_str(&cfn.stdout).unwrap();
    assert_eq!(t["AWSTemplateFormatVersion"], "2010-09-09");
    let r = &t["Resources"]["PaymentsPolicy"];
    assert_eq!(r["Type"], "AWS::IAM::RolePolicy");
    assert_eq!(r["Properties"]["RoleName"], "payments-role");
    assert_eq!(
        PolicyDocument::parse(&r["Properties"]["PolicyDocument"].to_string()).unwrap(),
        policy_of("payments")
    );
    let sls = tightrole(
        &["generate", "--format", "serverless", "examples/demo-trail"],
        None,
    );
    let s: Value = serde_yaml_ng::from_str(&sls.stdout).unwrap();
    let stmts = &s["functions"]["orders-api"]["iamRoleStatements"];
    let doc = PolicyDocument::parse(
        &serde_json::json!({"Version": "2012-10-17", "Statement": stmts}).to_string(),
    )
    .unwrap();
    assert_eq!(doc, policy_of("orders-api"));
}

#[test]
fn terraform_is_formatted_like_terraform_fmt() {
    let tf = tightrole(
        &[
            "generate",
            "--format",
            "terraform",
            "--principal",
            "payments",
            "examples/demo-trail",
        ],
        None,
    )
    .stdout;
    for line in tf.lines() {
        assert!(!line.ends_with(' '), "trailing space: {line:?}");
        let indent = line.len() - line.trim_start().len();
        assert_eq!(indent % 2, 0, "2-space indents: {line:?}");
    }
    // aligned `=` inside a block
    let block: Vec<&str> = tf
        .lines()
        .skip_while(|l| !l.contains("statement {"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .collect();
    let cols: BTreeSet<usize> = block
        .iter()
        .filter(|l| l.contains(" = "))
        .map(|l| l.find(" = ").unwrap())
        .collect();
    assert_eq!(cols.len(), 1, "{block:?}");
    assert!(
        tf.contains("[$$LATEST]") || !tf.contains("$LATEST"),
        "no interpolation"
    );
}

#[test]
fn shared_role_scoped_per_function() {
    let dir = TempDir::new().unwrap();
    let run = tightrole(
        &[
            "generate",
            "--shared-role",
            "scope",
            "--format",
            "json",
            "--principal",
            "orders-*",
            "examples/demo-trail",
        ],
        None,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    let ps = v["principals"].as_array().unwrap();
    assert_eq!(ps.len(), 1, "one document for the shared role");
    assert_eq!(ps[0]["kind"], "role");
    assert_eq!(
        ps[0]["functions"],
        serde_json::json!(["orders-api", "orders-worker"])
    );
    let doc = PolicyDocument::parse(&ps[0]["policy"].to_string()).unwrap();
    let conditioned = doc
        .statements
        .iter()
        .filter(|s| s.condition.contains_key("ArnEquals"))
        .count();
    let platform: Vec<_> = doc
        .statements
        .iter()
        .filter(|s| s.sid.as_deref().unwrap_or("").ends_with("LambdaPlatform"))
        .collect();
    assert!(conditioned >= 5, "{conditioned}");
    assert!(
        !platform.is_empty()
            && platform
                .iter()
                .all(|s| !s.condition.contains_key("ArnEquals")),
        "platform calls are not scoped to a function"
    );
    insta::assert_snapshot!("generate_demo_shared_role_scope", doc.to_json_pretty());
    // check: every function's calls allowed…
    let policy = dir.path().join("shop-api-role.json");
    std::fs::write(&policy, doc.to_json_pretty()).unwrap();
    let run = tightrole(
        &[
            "check",
            "--policy",
            policy.to_str().unwrap(),
            "--principal",
            "orders-*",
            "examples/demo-trail",
        ],
        None,
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
    // …and no call of one function against the other's resources
    let usage = tightrole(
        &[
            "usage",
            "--format",
            "json",
            "--principal",
            "orders-*",
            "examples/demo-trail",
        ],
        None,
    );
    let u: Value = serde_json::from_str(&usage.stdout).unwrap();
    // the functions' own calls: Lambda's platform calls cannot carry lambda:SourceFunctionArn
    let grants = |f: &str| -> BTreeSet<(String, String)> {
        u["principals"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == f)
            .unwrap()["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e.get("platform").is_none() && e.get("service_made").is_none())
            .map(|e| {
                (
                    e["action"].as_str().unwrap().to_string(),
                    e["resource"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let (api, worker) = (grants("orders-api"), grants("orders-worker"));
    let mut crossed = 0;
    for (me, other, mine) in [
        ("orders-api", &worker, &api),
        ("orders-worker", &api, &worker),
    ] {
        let ctx = Context::default().with(
            "lambda:SourceFunctionArn",
            format!("arn:aws:lambda:eu-west-1:111122223333:function:{me}"),
        );
        for (a, r) in other.difference(mine) {
            crossed += 1;
            let d = evaluate_all(
                [&doc],
                &Request {
                    action: a,
                    resource: r,
                    context: &ctx,
                },
            );
            assert_ne!(d, Decision::Allow, "{me} may {a} on {r}");
        }
    }
    assert!(crossed > 5, "the functions use different things: {crossed}");
}

#[test]
fn unobservable_and_kept_grants_are_carried() {
    let dir = TempDir::new().unwrap();
    let keep = dir.path().join("keep.tsv");
    std::fs::write(&keep, "# rare paths\npayments\tdynamodb:DeleteItem\tarn:aws:dynamodb:eu-west-1:111122223333:table/payments\trefunds run once a quarter\n").unwrap();
    let run = tightrole(
        &[
            "generate",
            "--format",
            "json",
            "--principal",
            "payments",
            "--current",
            "policies/",
            "--keep",
            keep.to_str().unwrap(),
            "examples/demo-trail",
        ],
        None,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    let p = &v["principals"][0];
    let carried: Vec<(&str, &str)> = p["carried"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["action"].as_str().unwrap(), c["label"].as_str().unwrap()))
        .collect();
    assert!(
        carried.contains(&("dynamodb:DeleteItem", "Kept")),
        "{carried:?}"
    );
    assert!(
        carried.contains(&("logs:PutLogEvents", "Unobservable")),
        "{carried:?}"
    );
    let doc = PolicyDocument::parse(&p["policy"].to_string()).unwrap();
    let sids: Vec<&str> = doc
        .statements
        .iter()
        .filter_map(|s| s.sid.as_deref())
        .collect();
    assert!(
        sids.iter().any(|s| s.ends_with("Kept"))
            && sids.iter().any(|s| s.ends_with("Unobservable")),
        "{sids:?}"
    );
    // a keep-list naming an action the catalog lacks is refused
    std::fs::write(&keep, "payments\tlambda:Invoke\t*\tno such action\n").unwrap();
    let run = tightrole(
        &[
            "generate",
            "--principal",
            "payments",
            "--keep",
            keep.to_str().unwrap(),
            "examples/demo-trail",
        ],
        None,
    );
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .contains("`lambda:Invoke` is not an action in the IAM catalog"),
        "{}",
        run.stderr
    );
}

#[test]
fn explain_shows_the_evidence_and_the_generalization() {
    let run = tightrole(
        &[
            "explain",
            "thumbnailer",
            "s3:*",
            "--trail",
            "examples/demo-trail",
        ],
        None,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("generalized: stands for"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("call(s), first 2026-11-"),
        "{}",
        run.stdout
    );
    assert!(
        !run.stdout.contains("logs:CreateLogStream"),
        "filtered to s3:*"
    );
}

/// `explain` reads the window `generate` reads: `--since`, `--until` and `--account` filter its
/// records as they filter generate's.
#[test]
fn explain_takes_the_window() {
    let args = [
        "explain",
        "thumbnailer",
        "s3:GetObject",
        "--trail",
        "examples/demo-trail",
    ];
    let whole = tightrole(&args, None);
    let early = tightrole(&[&args[..], &["--until", "2026-11-03"]].concat(), None);
    assert_eq!(whole.code, 0, "{}", whole.stderr);
    assert_eq!(early.code, 0, "{}", early.stderr);
    assert!(whole.stdout.contains("113 call(s)"), "{}", whole.stdout);
    assert!(
        early
            .stdout
            .contains("16 call(s), first 2026-11-01T03:05:32Z, last 2026-11-02T23:44:13Z"),
        "{}",
        early.stdout
    );
    let late = tightrole(&[&args[..], &["--since", "2026-11-14"]].concat(), None);
    assert_eq!(late.code, 0, "{}", late.stderr);
    assert!(
        late.stdout.contains("first 2026-11-14T") && !late.stdout.contains("113 call(s)"),
        "{}",
        late.stdout
    );
    let other = tightrole(&[&args[..], &["--account", "999999999999"]].concat(), None);
    assert_eq!(other.code, 5, "{}", other.stderr);
}

/// Issue #19: a grant carried as unobservable is narrowed to the resources the trail shows
/// elsewhere (roles passed to services, functions invoked), within what the current policy
/// grants; log-derived names with wildcards, and other accounts' resources, are never used.
/// The same with every grant written to disk while reading (`--spill-after 1`).
#[test]
fn carried_grants_are_narrowed_to_what_the_trail_shows() {
    use common::{record, with, write_records};
    use serde_json::json;
    let dir = TempDir::new().unwrap();
    let acct = "111122223333";
    let role = |n: &str| format!("arn:aws:iam::{acct}:role/{n}");
    let create = |r: String| {
        record(
            "user:deployer",
            "lambda.amazonaws.com",
            "CreateFunction20150331",
            json!({"functionName": format!("f-{}", r.len()), "role": r}),
        )
    };
    let invoke = with(
        record(
            "user:deployer",
            "lambda.amazonaws.com",
            "Invoke",
            json!({"functionName": "orders"}),
        ),
        "eventCategory",
        json!("Data"),
    );
    let records = vec![
        record(
            "role:ci/gh",
            "s3.amazonaws.com",
            "PutObject",
            json!({"bucketName": "artifacts", "key": "a.zip"}),
        ),
        record(
            "role:ops/alice",
            "s3.amazonaws.com",
            "PutObject",
            json!({"bucketName": "artifacts", "key": "b.zip"}),
        ),
        create(role("app-role")),
        // hostile or foreign: never a narrowed resource
        create(role("*")),
        create(role("app-?")),
        create(role("app-${aws:username}")),
        create("arn:aws:iam::444455556666:role/app-other".to_string()),
        record(
            "user:deployer",
            "states.amazonaws.com",
            "CreateStateMachine",
            json!({"name": "sm", "roleArn": role("sfn-role")}),
        ),
        // a function runs as app-role (and one as a role whose name holds a wildcard)
        record(
            "fn:app-role/app",
            "sqs.amazonaws.com",
            "SendMessage",
            json!({"queueUrl": format!("https://sqs.eu-west-1.amazonaws.com/{acct}/q")}),
        ),
        record(
            "fn:app*/evil",
            "sqs.amazonaws.com",
            "SendMessage",
            json!({"queueUrl": format!("https://sqs.eu-west-1.amazonaws.com/{acct}/q")}),
        ),
        invoke,
    ];
    let trail = write_records(dir.path(), "trail/t.json", &records);
    let current = dir.path().join("current");
    std::fs::create_dir_all(&current).unwrap();
    let policy = |actions: &[&str], resource: &str| {
        json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"},
            {"Effect": "Allow", "Action": actions, "Resource": resource}
        ]})
        .to_string()
    };
    std::fs::write(
        current.join("ci.json"),
        policy(
            &[
                "iam:PassRole",
                "lambda:InvokeFunction",
                "lambda:InvokeFunctionUrl",
            ],
            "*",
        ),
    )
    .unwrap();
    // a current grant narrower than what the trail shows: never widened
    std::fs::write(
        current.join("ops.json"),
        policy(
            &["iam:PassRole"],
            &format!("arn:aws:iam::{acct}:role/app-*"),
        ),
    )
    .unwrap();
    let args = |format: &'static str| {
        vec![
            "generate".to_string(),
            "--format".into(),
            format.into(),
            "--current".into(),
            current.to_str().unwrap().into(),
            trail.to_str().unwrap().into(),
        ]
    };
    let run = |a: Vec<String>| {
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        tightrole(&a, None)
    };
    let out = run(args("json"));
    assert_eq!(out.code, 0, "{}", out.stderr);
    // the same with every grant written to disk as it is read, and read back
    let mut spilling = args("json");
    spilling.extend(["--spill-after".to_string(), "1".to_string()]);
    let spilled = run(spilling);
    assert_eq!(spilled.code, 0, "{}", spilled.stderr);
    assert_eq!(spilled.stdout, out.stdout);
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    let principal = |name: &str| {
        v["principals"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap()
            .clone()
    };
    let ci = principal("ci");
    let carried = |p: &Value, action: &str| -> Vec<Value> {
        p["carried"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["action"] == action)
            .cloned()
            .collect()
    };
    let pass = carried(&ci, "iam:PassRole");
    let shape: Vec<(Value, Value, Value)> = pass
        .iter()
        .map(|c| {
            (
                c["resources"].clone(),
                c["condition"]["StringEquals"]["iam:PassedToService"].clone(),
                c["narrowed_from"].clone(),
            )
        })
        .collect();
    assert_eq!(
        shape,
        [
            (
                json!([role("app-role")]),
                json!(["lambda.amazonaws.com"]),
                json!(["*"])
            ),
            (
                json!([role("sfn-role")]),
                json!(["states.amazonaws.com"]),
                json!(["*"])
            ),
        ],
        "one grant per service the roles were passed to: {pass:?}"
    );
    assert!(
        pass[0]["narrowing"]
            .as_str()
            .unwrap()
            .starts_with("narrowed from `*` to 1 role(s) the trail shows"),
        "{pass:?}"
    );
    let invoke = carried(&ci, "lambda:InvokeFunction");
    assert_eq!(
        invoke[0]["resources"],
        json!([format!("arn:aws:lambda:eu-west-1:{acct}:function:orders")])
    );
    let url = carried(&ci, "lambda:InvokeFunctionUrl");
    assert_eq!(url[0]["resources"], json!(["*"]));
    assert!(url[0].get("narrowed_from").is_none());
    assert!(
        url[0]["narrowing"]
            .as_str()
            .unwrap()
            .starts_with("not narrowed: "),
        "`*` kept only with a reason: {url:?}"
    );
    let policy_text = ci["policy"].to_string();
    for bad in ["${", "444455556666", "role/*", "app-?", "app*"] {
        assert!(!policy_text.contains(bad), "{bad} in {policy_text}");
    }
    // ops: `role/app-*` today, so only app-role (sfn-role would widen it)
    let ops = carried(&principal("ops"), "iam:PassRole");
    assert_eq!(ops.len(), 1, "{ops:?}");
    assert_eq!(ops[0]["resources"], json!([role("app-role")]));
    assert_eq!(
        ops[0]["narrowed_from"],
        json!([format!("arn:aws:iam::{acct}:role/app-*")])
    );
    // the text and explain show what it was narrowed from
    let text = run(args("text"));
    assert!(
        text.stdout
            .contains("    narrowed from `*` to 1 function(s) the trail shows invoked"),
        "{}",
        text.stdout
    );
    let explain = tightrole(
        &[
            "explain",
            "ci",
            "iam:PassRole",
            "--trail",
            trail.to_str().unwrap(),
            "--current",
            current.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(explain.code, 0, "{}", explain.stderr);
    assert!(
        explain
            .stdout
            .contains("kept (unobservable): iam:PassRole on")
            && explain.stdout.contains("narrowed from `*` to 1 role(s)"),
        "{}",
        explain.stdout
    );
}
