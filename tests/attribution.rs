//! Function attribution inside shared roles; denied, permission-less and `invokedBy` records.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "integration tests fail loudly on broken fixtures"
)]

mod common;

use serde_json::json;
use tempfile::TempDir;
use tightrole::identity::{Inventory, PrincipalKind};
use tightrole::usage::{PrincipalId, Usage, grant_key};

use common::{identity_with, record, usage_of, with, write_records};

fn id(kind: PrincipalKind, name: &str) -> PrincipalId {
    PrincipalId {
        kind,
        account: "111122223333".into(),
        name: name.into(),
    }
}

fn actions(u: &Usage, who: &PrincipalId) -> Vec<String> {
    let mut v: Vec<String> = u.principals[who]
        .grants
        .keys()
        .map(|(a, _)| a.to_string())
        .collect();
    v.dedup();
    v
}

#[test]
fn functions_sharing_a_role_get_separate_principals() {
    let dir = TempDir::new().unwrap();
    let p = write_records(
        dir.path(),
        "t.json",
        &[
            record(
                "fn:shared/alpha",
                "dynamodb.amazonaws.com",
                "GetItem",
                json!({"tableName": "a"}),
            ),
            record(
                "fn:shared/beta",
                "sqs.amazonaws.com",
                "SendMessage",
                json!({"queueUrl": "https://sqs.eu-west-1.amazonaws.com/111122223333/q"}),
            ),
        ],
    );
    let u = usage_of(&[&p], &Inventory::default());
    assert_eq!(
        actions(&u, &id(PrincipalKind::Function, "alpha")),
        ["dynamodb:GetItem"]
    );
    assert_eq!(
        actions(&u, &id(PrincipalKind::Function, "beta")),
        ["sqs:SendMessage"]
    );
    let alpha = &u.principals[&id(PrincipalKind::Function, "alpha")];
    assert_eq!(
        alpha.role_arn.as_deref(),
        Some("arn:aws:iam::111122223333:role/shared")
    );
    assert_eq!(
        alpha.arn.as_deref(),
        Some("arn:aws:lambda:eu-west-1:111122223333:function:alpha")
    );
    assert!(alpha.function_evidence.contains("user-agent"));
    assert!(
        !u.principals
            .contains_key(&id(PrincipalKind::Role, "shared")),
        "no calls of the role itself"
    );
}

#[test]
fn every_way_a_session_is_known_to_be_a_function() {
    let dir = TempDir::new().unwrap();
    let no_marker = |who: &str, name: &str| {
        let mut r = record(
            who,
            "s3.amazonaws.com",
            "GetObject",
            json!({"bucketName": "b", "key": name}),
        );
        r["userAgent"] = json!("custom/1.0");
        r
    };
    let p = write_records(
        dir.path(),
        "t.json",
        &[
            no_marker("role:r1/from-inventory", "1"),
            no_marker("role:r2/declared", "2"),
            no_marker("role:r3/invoked", "3"),
            no_marker("role:r4/just-a-session", "4"),
            record(
                "user:deployer",
                "lambda.amazonaws.com",
                "CreateFunction20150331",
                json!({"functionName": "declared", "role": "arn:aws:iam::111122223333:role/r2"}),
            ),
            record(
                "user:deployer",
                "lambda.amazonaws.com",
                "Invoke",
                json!({"functionName": "arn:aws:lambda:eu-west-1:111122223333:function:invoked:live"}),
            ),
        ],
    );
    let inv = Inventory::parse(r#"{"Functions":[{"FunctionName":"from-inventory","FunctionArn":"arn:aws:lambda:eu-west-1:111122223333:function:from-inventory","Role":"arn:aws:iam::111122223333:role/r1"}]}"#).unwrap();
    let u = usage_of(&[&p], &inv);
    let evidence = |n: &str| {
        u.principals[&id(PrincipalKind::Function, n)]
            .function_evidence
            .iter()
            .copied()
            .collect::<Vec<_>>()
    };
    assert_eq!(evidence("from-inventory"), ["inventory"]);
    assert_eq!(evidence("declared"), ["trail: function configuration"]);
    assert_eq!(evidence("invoked"), ["trail: invoked"]);
    assert!(
        u.principals.contains_key(&id(PrincipalKind::Role, "r4")),
        "a plain session is its role"
    );
    assert!(
        !u.principals
            .contains_key(&id(PrincipalKind::Function, "just-a-session"))
    );
}

#[test]
fn non_function_sessions_fold_into_the_role_and_the_role_lists_its_functions() {
    let dir = TempDir::new().unwrap();
    let p = write_records(
        dir.path(),
        "t.json",
        &[
            record(
                "role:svc/i-0123456789abcdef0",
                "s3.amazonaws.com",
                "ListBuckets",
                json!({}),
            ),
            record(
                "role:svc/jane@example.com",
                "s3.amazonaws.com",
                "ListBuckets",
                json!({}),
            ),
            record(
                "fn:svc/worker",
                "sqs.amazonaws.com",
                "SendMessage",
                json!({"queueUrl": "https://sqs.eu-west-1.amazonaws.com/111122223333/q"}),
            ),
        ],
    );
    let u = usage_of(&[&p], &Inventory::default());
    let role = &u.principals[&id(PrincipalKind::Role, "svc")];
    assert_eq!(role.grants.values().map(|e| e.seen.count).sum::<u64>(), 2);
    assert_eq!(role.functions.iter().collect::<Vec<_>>(), ["worker"]);
}

#[test]
fn denied_permission_less_and_service_made_records() {
    let dir = TempDir::new().unwrap();
    let denied = with(
        with(
            record(
                "fn:r/f",
                "dynamodb.amazonaws.com",
                "DeleteItem",
                json!({"tableName": "t"}),
            ),
            "errorCode",
            json!("AccessDeniedException"),
        ),
        "errorMessage",
        json!(
            "User: arn:aws:sts::111122223333:assumed-role/r/f is not authorized to perform: dynamodb:DeleteItem on resource: arn:aws:dynamodb:eu-west-1:111122223333:table/t"
        ),
    );
    let by_service = identity_with(
        with(
            record("fn:r/f", "kms.amazonaws.com", "Decrypt", json!({})),
            "resources",
            json!([{"type": "AWS::KMS::Key", "ARN": "arn:aws:kms:eu-west-1:111122223333:key/k1"}]),
        ),
        "invokedBy",
        json!("secretsmanager.amazonaws.com"),
    );
    let aws = record(
        "service:lambda.amazonaws.com",
        "sts.amazonaws.com",
        "AssumeRole",
        json!({"roleArn": "arn:aws:iam::111122223333:role/r"}),
    );
    let p = write_records(
        dir.path(),
        "t.json",
        &[
            denied,
            record(
                "fn:r/f",
                "sts.amazonaws.com",
                "GetCallerIdentity",
                json!({}),
            ),
            by_service,
            aws,
            record(
                "fn:r/f",
                "dynamodb.amazonaws.com",
                "GetItem",
                json!({"tableName": "t"}),
            ),
        ],
    );
    let u = usage_of(&[&p], &Inventory::default());
    let f = &u.principals[&id(PrincipalKind::Function, "f")];
    assert_eq!(
        actions(&u, &id(PrincipalKind::Function, "f")),
        ["dynamodb:GetItem", "kms:Decrypt"],
        "denied and permission-less are not grants"
    );
    assert!(
        f.denied.contains_key(
            &grant_key(
                "dynamodb:DeleteItem",
                "arn:aws:dynamodb:eu-west-1:111122223333:table/t"
            )
            .unwrap()
        )
    );
    assert!(
        f.permission_less
            .contains_key("sts.amazonaws.com GetCallerIdentity")
    );
    let kms =
        &f.grants[&grant_key("kms:Decrypt", "arn:aws:kms:eu-west-1:111122223333:key/k1").unwrap()];
    assert!(kms.only_service_made());
    assert_eq!(
        kms.invoked_by.iter().collect::<Vec<_>>(),
        ["secretsmanager.amazonaws.com"]
    );
    assert_eq!(u.no_principal, 1, "AWS itself is never a principal");
    assert_eq!(u.principals.len(), 1);

    let policy = tightrole::synth::synthesize(&f.grants, tightrole::catalog::Catalog::embedded());
    let text = policy.to_json_pretty();
    assert!(
        !text.contains("DeleteItem") && !text.contains("GetCallerIdentity"),
        "{text}"
    );
    assert!(
        text.contains("ByService\""),
        "service-made calls are labelled: {text}"
    );
}

#[test]
fn lambda_platform_calls_are_kept_apart_from_the_code() {
    let dir = TempDir::new().unwrap();
    let q = json!({"queueUrl": "https://sqs.eu-west-1.amazonaws.com/111122223333/jobs"});
    let mut poll = record(
        "fn:r/worker",
        "sqs.amazonaws.com",
        "ReceiveMessage",
        q.clone(),
    );
    poll["userAgent"] = json!("lambda.amazonaws.com");
    let code_receive = record(
        "fn:r/worker",
        "sqs.amazonaws.com",
        "ReceiveMessage",
        q.clone(),
    );
    let env_decrypt = identity_with(
        with(
            record("fn:r/worker", "kms.amazonaws.com", "Decrypt", json!({})),
            "resources",
            json!([{"type": "AWS::KMS::Key", "ARN": "arn:aws:kms:eu-west-1:111122223333:key/env"}]),
        ),
        "invokedBy",
        json!("lambda.amazonaws.com"),
    );
    let mut eni = record(
        "fn:r/worker",
        "ec2.amazonaws.com",
        "CreateNetworkInterface",
        json!({"subnetId": "subnet-1"}),
    );
    eni["userAgent"] = json!("lambda.amazonaws.com");
    let p = write_records(
        dir.path(),
        "t.json",
        &[
            poll,
            env_decrypt,
            eni,
            record("fn:r/worker", "sqs.amazonaws.com", "SendMessage", q),
        ],
    );
    let u = usage_of(&[&p], &Inventory::default());
    let f = &u.principals[&id(PrincipalKind::Function, "worker")];
    let origin = |a: &str| {
        f.grants
            .iter()
            .find(|((x, _), _)| x == a)
            .map(|(_, e)| e.origin())
            .unwrap()
    };
    use tightrole::usage::Origin;
    assert_eq!(origin("sqs:ReceiveMessage"), Origin::LambdaPlatform);
    assert_eq!(origin("kms:Decrypt"), Origin::LambdaPlatform);
    assert_eq!(origin("ec2:CreateNetworkInterface"), Origin::LambdaPlatform);
    assert_eq!(origin("sqs:SendMessage"), Origin::Code);
    let policy = tightrole::synth::synthesize(&f.grants, tightrole::catalog::Catalog::embedded());
    let sids: Vec<String> = policy
        .statements
        .iter()
        .filter_map(|s| s.sid.clone())
        .collect();
    assert!(
        sids.iter().any(|s| s.ends_with("LambdaPlatform")),
        "{sids:?}"
    );
    // The same call from the function's own SDK is the code's.
    let p2 = write_records(dir.path(), "t2.json", &[code_receive]);
    let u = usage_of(&[&p2], &Inventory::default());
    let f = &u.principals[&id(PrincipalKind::Function, "worker")];
    assert_eq!(f.grants.values().next().unwrap().origin(), Origin::Code);
}
