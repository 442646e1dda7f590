//! Current-policy loaders, the diff on the demo, `check`, and the diff/replay properties.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "integration tests fail loudly on broken fixtures"
)]

mod common;

use std::path::Path;

use proptest::prelude::*;
use serde_json::{Value, json};
use tempfile::TempDir;
use tightrole::catalog::Catalog;
use tightrole::diff::{DiffClass, DiffOptions, diff};
use tightrole::identity::Inventory;
use tightrole::policy::current::{CurrentPolicies, CurrentPrincipal, NamedPolicy, load};
use tightrole::policy::{Context, Decision};
use tightrole::synth::synthesize;

use common::{record, tightrole, transcript, usage_of, write_records};

/// A policy document allowing `action` on `*`, as text.
fn allow(action: &str) -> String {
    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": "*"}]})
        .to_string()
}

fn encode(doc: &Value) -> String {
    percent_encoding::utf8_percent_encode(&doc.to_string(), percent_encoding::NON_ALPHANUMERIC)
        .to_string()
}

/// An authorization-details export: a role with inline (URL-encoded) and managed policies and a
/// boundary; a user with a group.
fn auth_details() -> Value {
    let inline = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"}]});
    let managed_v1 = json!({"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]});
    let managed_v2 = json!({"Statement": [{"Effect": "Allow", "Action": ["s3:GetObject", "dynamodb:*"], "Resource": "*"}]});
    let boundary =
        json!({"Statement": [{"Effect": "Allow", "Action": ["s3:*", "sqs:*"], "Resource": "*"}]});
    let group =
        json!({"Statement": [{"Effect": "Allow", "Action": "ec2:Describe*", "Resource": "*"}]});
    json!({
        "RoleDetailList": [{
            "RoleName": "app", "Arn": "arn:aws:iam::111122223333:role/svc/app", "Path": "/svc/",
            "RolePolicyList": [{"PolicyName": "send", "PolicyDocument": encode(&inline)}],
            "AttachedManagedPolicies": [{"PolicyName": "data", "PolicyArn": "arn:aws:iam::111122223333:policy/data"},
                                        {"PolicyName": "gone", "PolicyArn": "arn:aws:iam::aws:policy/Gone"}],
            "PermissionsBoundary": {"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": "arn:aws:iam::111122223333:policy/boundary"},
            "InstanceProfileList": []
        }],
        "UserDetailList": [{"UserName": "ops", "Arn": "arn:aws:iam::111122223333:user/ops", "GroupList": ["readers"], "UserPolicyList": [], "AttachedManagedPolicies": []}],
        "GroupDetailList": [{"GroupName": "readers", "GroupPolicyList": [{"PolicyName": "describe", "PolicyDocument": group}], "AttachedManagedPolicies": []}],
        "Policies": [
            {"PolicyName": "data", "Arn": "arn:aws:iam::111122223333:policy/data", "DefaultVersionId": "v2",
             "PolicyVersionList": [{"Document": managed_v1, "VersionId": "v1", "IsDefaultVersion": false},
                                   {"Document": encode(&managed_v2), "VersionId": "v2", "IsDefaultVersion": true}]},
            {"PolicyName": "boundary", "Arn": "arn:aws:iam::111122223333:policy/boundary", "DefaultVersionId": "v1",
             "PolicyVersionList": [{"Document": boundary, "VersionId": "v1", "IsDefaultVersion": true}]}
        ]
    })
}

#[test]
fn authorization_details_loader() {
    let dir = TempDir::new().unwrap();
    let p = dir.path().join("auth.json");
    std::fs::write(&p, auth_details().to_string()).unwrap();
    let mut diags = Vec::new();
    let cur = load(&p, &mut diags).unwrap();
    let app = cur.for_role("app").unwrap();
    assert_eq!(
        app.policies.len(),
        2,
        "inline + the managed policy present in the export"
    );
    assert_eq!(app.policies[0].source, "inline:send");
    assert_eq!(
        app.incomplete,
        ["managed policy `arn:aws:iam::aws:policy/Gone` is not in the export"]
    );
    let c = Context::default();
    // default version v2 (URL-encoded) is used, not v1
    assert_eq!(
        app.evaluate("s3:GetObject", "arn:aws:s3:::b/k", &c),
        Decision::Allow
    );
    assert_eq!(
        app.evaluate("s3:PutObject", "arn:aws:s3:::b/k", &c),
        Decision::ImplicitDeny
    );
    // the boundary cuts dynamodb out even though the managed policy allows it
    assert_eq!(
        app.evaluate(
            "dynamodb:GetItem",
            "arn:aws:dynamodb:eu-west-1:111122223333:table/t",
            &c
        ),
        Decision::ImplicitDeny
    );
    assert_eq!(
        app.evaluate(
            "sqs:SendMessage",
            "arn:aws:sqs:eu-west-1:111122223333:q",
            &c
        ),
        Decision::Allow
    );
    let ops = cur.for_user("ops").unwrap();
    assert_eq!(ops.policies[0].source, "group:readers/inline:describe");
    assert_eq!(
        ops.evaluate("ec2:DescribeInstances", "*", &c),
        Decision::Allow
    );
}

#[test]
fn directory_and_single_file_loaders() {
    let dir = TempDir::new().unwrap();
    std::fs::write(dir.path().join("plain-role.json"), allow("s3:GetObject")).unwrap();
    std::fs::create_dir_all(dir.path().join("multi")).unwrap();
    std::fs::write(dir.path().join("multi/a.json"), allow("sqs:SendMessage")).unwrap();
    std::fs::write(
        dir.path().join("multi/b.json"),
        encode(&serde_json::from_str::<Value>(&allow("sns:Publish")).unwrap()),
    )
    .unwrap();
    std::fs::create_dir_all(dir.path().join("user")).unwrap();
    std::fs::write(
        dir.path().join("user/bob.json"),
        allow("ec2:DescribeInstances"),
    )
    .unwrap();
    std::fs::create_dir_all(dir.path().join("function")).unwrap();
    std::fs::write(dir.path().join("function/f.json"), allow("*")).unwrap();
    std::fs::write(dir.path().join("broken.json"), "{not json").unwrap();
    let mut diags = Vec::new();
    let cur = load(dir.path(), &mut diags).unwrap();
    assert_eq!(
        cur.roles.keys().collect::<Vec<_>>(),
        ["multi", "plain-role"]
    );
    assert_eq!(
        cur.for_role("multi").unwrap().policies.len(),
        2,
        "URL-encoded file decoded"
    );
    assert!(cur.for_user("bob").is_some());
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert!(
        diags[0]
            .to_string()
            .contains("broken.json`: not a policy document")
    );
    // one file: applies to any principal
    let cur = load(&dir.path().join("plain-role.json"), &mut diags).unwrap();
    assert!(cur.for_role("anything").is_some());
}

/// The files `generate --out` writes are the files `--current DIR` reads: a policy split to fit
/// the size limits comes back whole, and an `@` in a name stays in it (only `@` and an account
/// is the account `--out` adds).
#[test]
fn out_files_read_back_as_current_split_and_at_names_included() {
    let dir = TempDir::new().unwrap();
    let tables: Vec<String> = (0..300)
        .map(|i| format!("orders-archive-table-{i:04}"))
        .collect();
    let mut recs: Vec<Value> = tables
        .iter()
        .map(|t| {
            record(
                "user:alice@example.com",
                "dynamodb.amazonaws.com",
                "GetItem",
                json!({"tableName": t}),
            )
        })
        .collect();
    // A name that ends like the account `--out` adds is written with the account after it, so
    // it is read back as itself, never as user `alice@example.com`.
    recs.push(record(
        "user:alice@example.com@111122223333",
        "sqs.amazonaws.com",
        "SendMessage",
        json!({"queueUrl": "https://sqs.eu-west-1.amazonaws.com/111122223333/q"}),
    ));
    let trail = write_records(dir.path(), "t.json", &recs);
    let out = dir.path().join("out");
    let generate = || {
        tightrole(
            &[
                "generate",
                trail.to_str().unwrap(),
                "--generalize",
                "exact",
                "--out",
                out.to_str().unwrap(),
            ],
            None,
        )
    };
    let run = generate();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let mut files: Vec<String> = std::fs::read_dir(out.join("user"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert!(files.len() >= 3, "the policy was not split: {files:?}");
    assert_eq!(files[0], "alice@example.com.json");
    assert_eq!(files[1], "alice@example.com@111122223333@111122223333.json");
    assert_eq!(files[2], "alice@example.com~2.json");
    let mut diags = Vec::new();
    let cur = load(&out, &mut diags).unwrap();
    assert!(diags.is_empty(), "{diags:?}");
    assert_eq!(cur.users.keys().collect::<Vec<_>>(), ["alice@example.com"]);
    assert_eq!(
        cur.users_in.keys().collect::<Vec<_>>(),
        [&(
            "alice@example.com@111122223333".to_string(),
            "111122223333".to_string()
        )]
    );
    let alice = cur.for_user("alice@example.com").unwrap();
    assert_eq!(alice.policies.len(), files.len() - 1);
    assert_eq!(
        alice.evaluate(
            "sqs:SendMessage",
            "arn:aws:sqs:eu-west-1:111122223333:q",
            &Context::default()
        ),
        Decision::ImplicitDeny,
        "the other user's grant"
    );
    for t in &tables {
        let arn = format!("arn:aws:dynamodb:eu-west-1:111122223333:table/{t}");
        assert_eq!(
            alice.evaluate("dynamodb:GetItem", &arn, &Context::default()),
            Decision::Allow,
            "{arn}"
        );
    }
    // A part an earlier run wrote beyond this run's last is removed: read back, it would widen
    // the principal's current policies.
    let stale = out.join("user").join("alice@example.com~9.json");
    std::fs::write(&stale, allow("*")).unwrap();
    let again = generate();
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(!stale.exists(), "the stale part was left");
    let cur = load(&out, &mut diags).unwrap();
    assert_eq!(
        cur.for_user("alice@example.com").unwrap().evaluate(
            "iam:CreateUser",
            "*",
            &Context::default()
        ),
        Decision::ImplicitDeny
    );
    // A later part without its first is read, with a warning.
    std::fs::write(out.join("user").join("bob~2.json"), allow("s3:GetObject")).unwrap();
    let cur = load(&out, &mut diags).unwrap();
    assert!(cur.for_user("bob").is_some());
    assert!(
        diags
            .iter()
            .any(|d| d.to_string().contains("without its first part, `bob.json`")),
        "{diags:?}"
    );
    // `NAME@ACCOUNT.json` is NAME's in that account only; `NAME.json` in any other.
    let multi = dir.path().join("multi");
    std::fs::create_dir_all(multi.join("role")).unwrap();
    std::fs::write(
        multi.join("role/x@111122223333.json"),
        allow("s3:GetObject"),
    )
    .unwrap();
    std::fs::write(multi.join("role/x@444455556666.json"), allow("iam:*")).unwrap();
    std::fs::write(multi.join("role/y.json"), allow("sqs:SendMessage")).unwrap();
    let cur = load(&multi, &mut diags).unwrap();
    let ctx = Context::default();
    let a = cur.for_role_in("x", "111122223333").unwrap();
    assert_eq!(a.evaluate("s3:GetObject", "*", &ctx), Decision::Allow);
    assert_eq!(
        a.evaluate("iam:CreateUser", "*", &ctx),
        Decision::ImplicitDeny,
        "another account's file"
    );
    assert!(cur.for_role_in("x", "999999999999").is_none());
    assert!(cur.for_role_in("y", "999999999999").is_some());
    assert_eq!(cur.roles_by_name()["x"].policies.len(), 2, "drift's view");
    // A name that ends like a part or an account but is not one stays the name.
    for (stem, name) in [
        ("payments-role.2", "payments-role.2"),
        ("payments-role~2", "payments-role"),
        ("payments-role@111122223333~3", "payments-role"),
        ("svc@12345", "svc@12345"),
        ("@111122223333", "@111122223333"),
        ("a~", "a~"),
        ("~2", "~2"),
        ("a~1", "a~1"),
        ("a~02", "a~02"),
    ] {
        assert_eq!(
            tightrole::policy::current::principal_of_stem(stem),
            name,
            "{stem}"
        );
    }
}

/// `pr` writes a federated user (whose name is the caller's choice) under `federated/`, never
/// over the role of the same name, and `--current DIR` does not read it as the role's.
#[test]
fn pr_keeps_other_kinds_out_of_the_roles_files() {
    let dir = TempDir::new().unwrap();
    let role = record(
        "role:shop-role/s1",
        "sqs.amazonaws.com",
        "SendMessage",
        json!({"queueUrl": "https://sqs.eu-west-1.amazonaws.com/111122223333/orders"}),
    );
    let mut federated = record(
        "user:x",
        "s3.amazonaws.com",
        "DeleteBucket",
        json!({"bucketName": "everything"}),
    );
    federated["userIdentity"] = json!({"type": "FederatedUser", "accountId": "111122223333",
        "arn": "arn:aws:sts::111122223333:federated-user/shop-role",
        "principalId": "111122223333:shop-role"});
    let trail = write_records(dir.path(), "t.json", &[role, federated]);
    let current = dir.path().join("current");
    std::fs::create_dir_all(&current).unwrap();
    let out = dir.path().join("out");
    let run = tightrole(
        &[
            "pr",
            trail.to_str().unwrap(),
            "--current",
            current.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--body",
            dir.path().join("PR.md").to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let role_file = std::fs::read_to_string(out.join("shop-role.json")).unwrap();
    assert!(role_file.contains("sqs:SendMessage"), "{role_file}");
    assert!(!role_file.contains("s3:DeleteBucket"), "{role_file}");
    let fed = std::fs::read_to_string(out.join("federated").join("shop-role.json")).unwrap();
    assert!(fed.contains("s3:DeleteBucket"), "{fed}");
    let mut diags = Vec::new();
    let cur = load(&out, &mut diags).unwrap();
    assert_eq!(
        cur.for_role("shop-role").unwrap().evaluate(
            "s3:DeleteBucket",
            "arn:aws:s3:::everything",
            &Context::default()
        ),
        Decision::ImplicitDeny
    );
}

#[test]
fn real_authorization_details_export_loads() {
    let Some(p) = common::shared_dataset("iam/cloudsplaining/account-authorization-details.json")
    else {
        return;
    };
    let mut diags = Vec::new();
    let cur = load(&p, &mut diags).unwrap();
    assert_eq!(cur.roles.len(), 78);
    assert_eq!(cur.users.len(), 44);
    assert!(diags.is_empty(), "{diags:?}");
    let loaded: usize = cur
        .roles
        .values()
        .chain(cur.users.values())
        .map(|p| p.policies.len())
        .sum();
    assert!(loaded > 100, "{loaded}");
}

#[test]
fn demo_diff_snapshots() {
    let run = tightrole(
        &[
            "diff",
            "examples/demo-trail",
            "--current",
            "policies/",
            "--color",
            "never",
            "--min-observed",
            "30",
        ],
        None,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    insta::assert_snapshot!("diff_demo_text", transcript(&run, &[]));
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
    insta::assert_snapshot!("diff_demo_markdown", transcript(&run, &[]));
    let run = tightrole(
        &[
            "diff",
            "examples/demo-trail",
            "--current",
            "policies/",
            "--format",
            "json",
        ],
        None,
    );
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["schema"], "tightrole/diff/v2");
    let shop = v["principals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "shop-api-role")
        .unwrap();
    assert_eq!(shop["functions"].as_object().unwrap().len(), 2);
    let class_of = |a: &str| {
        shop["entries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["action"] == a)
            .map(|e| e["class"].as_str().unwrap().to_string())
    };
    assert_eq!(class_of("dynamodb:GetItem").as_deref(), Some("used"));
    assert_eq!(class_of("dynamodb:DeleteTable").as_deref(), Some("unused"));
    assert_eq!(
        class_of("logs:PutLogEvents").as_deref(),
        Some("required-by-runtime"),
        "never logged, and needed by the Lambda runtime: kept"
    );
    let exit = tightrole(
        &[
            "diff",
            "examples/demo-trail",
            "--current",
            "policies/",
            "--format",
            "json",
            "--fail-on",
            "risky",
        ],
        None,
    );
    assert_eq!(exit.code, 10);
    let none = tightrole(
        &[
            "diff",
            "examples/demo-trail",
            "--current",
            "policies/",
            "--format",
            "json",
            "--fail-on",
            "missing",
        ],
        None,
    );
    assert_eq!(none.code, 0);
}

#[test]
fn check_lists_every_call_a_policy_would_block() {
    let dir = TempDir::new().unwrap();
    let narrow = dir.path().join("narrow.json");
    std::fs::write(
        &narrow,
        json!({"Statement": [{"Effect": "Allow", "Action": ["dynamodb:PutItem", "secretsmanager:GetSecretValue", "kms:Decrypt"], "Resource": "*"},
                             {"Effect": "Deny", "Action": "kms:Decrypt", "Resource": "*"}]}).to_string(),
    )
    .unwrap();
    let run = tightrole(
        &[
            "check",
            "--policy",
            narrow.to_str().unwrap(),
            "--principal",
            "payments",
            "examples/demo-trail",
        ],
        None,
    );
    assert_eq!(run.code, 10, "{}", run.stderr);
    let text = run.stdout.replace(narrow.to_str().unwrap(), "NARROW");
    insta::assert_snapshot!("check_payments_blocked", text);
    // the generated policy replays the trail with no denial
    let out = dir.path().join("gen");
    assert_eq!(
        tightrole(
            &[
                "generate",
                "--out",
                out.to_str().unwrap(),
                "examples/demo-trail"
            ],
            None
        )
        .code,
        0
    );
    let run = tightrole(
        &[
            "check",
            "--policy",
            out.join("function/payments.json").to_str().unwrap(),
            "--principal",
            "payments",
            "examples/demo-trail",
        ],
        None,
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(run.stdout.ends_with(": 0 would break\n"), "{}", run.stdout);
}

fn calls() -> impl Strategy<Value = Vec<Value>> {
    let one = (0usize..3, 0usize..6, 0usize..4).prop_map(|(who, kind, r)| {
        let who = ["fn:shared/alpha", "fn:shared/beta", "fn:solo/gamma"][who];
        match kind {
            0 => record(who, "dynamodb.amazonaws.com", "GetItem", json!({"tableName": format!("t{r}")})),
            1 => record(who, "dynamodb.amazonaws.com", "PutItem", json!({"tableName": format!("t{r}")})),
            2 => record(who, "s3.amazonaws.com", "GetObject", json!({"bucketName": "b", "key": format!("k{r}")})),
            3 => record(who, "sqs.amazonaws.com", "SendMessage", json!({"queueUrl": format!("https://sqs.eu-west-1.amazonaws.com/111122223333/q{r}")})),
            4 => record(who, "lambda.amazonaws.com", "CreateFunction20150331", json!({"functionName": format!("f{r}"), "role": "arn:aws:iam::111122223333:role/x"})),
            _ => record(who, "ssm.amazonaws.com", "GetParameter", json!({"name": format!("/p/{r}")})),
        }
    });
    prop::collection::vec(one, 1..25)
}

fn usage(records: &[Value], dir: &Path) -> tightrole::usage::Usage {
    let p = write_records(dir, "t.json", records);
    usage_of(&[&p], &Inventory::default())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// A role's proposed policy, diffed against itself, has nothing unused and nothing missing.
    #[test]
    fn diff_of_a_proposal_against_itself_is_clean(records in calls()) {
        let dir = TempDir::new().unwrap();
        let u = usage(&records, dir.path());
        // each role's proposal: the union of its functions' grants
        let mut per_role: std::collections::BTreeMap<String, tightrole::usage::Grants> = Default::default();
        for p in u.principals.values() {
            let role = tightrole::identity::role_name(p.role_arn.as_deref().unwrap()).to_string();
            let g = per_role.entry(role).or_default();
            for (k, v) in &p.grants {
                match g.get_mut(k) { Some(e) => e.merge(v), None => { g.insert(k.clone(), v.clone()); } }
            }
        }
        let mut current = CurrentPolicies { source: "proposed".into(), ..CurrentPolicies::default() };
        for (role, grants) in per_role {
            let document = synthesize(&grants, Catalog::embedded());
            current.roles.insert(role, CurrentPrincipal { policies: vec![NamedPolicy { source: "proposed".into(), document }], ..CurrentPrincipal::default() });
        }
        let report = diff(&u, &current, &DiffOptions::default(), Catalog::embedded());
        prop_assert_eq!(report.count(DiffClass::Unused), 0);
        prop_assert_eq!(report.count(DiffClass::Missing), 0);
    }

    /// Removing any single used action from a generated policy makes check report exactly the
    /// calls that needed it.
    #[test]
    fn removing_one_action_blocks_exactly_its_calls(records in calls(), pick in any::<prop::sample::Index>()) {
        let dir = TempDir::new().unwrap();
        let u = usage(&records, dir.path());
        let (_, p) = u.principals.iter().next().unwrap();
        let policy = synthesize(&p.grants, Catalog::embedded());
        let actions: Vec<String> = p.grants.keys().map(|(a, _)| a.to_string()).collect::<std::collections::BTreeSet<_>>().into_iter().collect();
        let victim = pick.get(&actions).clone();
        let mut cut = policy.clone();
        for s in &mut cut.statements {
            if let tightrole::policy::Matcher::Is(v) = &mut s.action {
                v.retain(|a| a != &victim);
            }
        }
        cut.statements.retain(|s| !s.action.values().is_empty());
        let cp = CurrentPrincipal { policies: vec![NamedPolicy { source: "cut".into(), document: cut }], ..CurrentPrincipal::default() };
        let mut blocked = std::collections::BTreeSet::new();
        for ((a, r), ev) in &p.grants {
            for ctx in tightrole::synth::replay_contexts(ev) {
                if cp.evaluate(a, r, &ctx) != Decision::Allow {
                    blocked.insert((a.to_string(), r.to_string()));
                }
            }
        }
        let expected: std::collections::BTreeSet<(String, String)> = p.grants.keys().filter(|(a, _)| a.as_str() == victim).map(|(a, r)| (a.to_string(), r.to_string())).collect();
        prop_assert_eq!(blocked, expected);
    }
}
