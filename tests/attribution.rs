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
        kms.invoked_by().iter().collect::<Vec<_>>(),
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

/// Role chaining (#17): the function `orders-partner-sync` (execution role `orders-sync-role`,
/// account 111122223333) reads its orders, assumes `partner-writer` in the partner's account
/// 999988887777 as `orders-partner-sync-<time>`, and writes to the partner's bucket with it.
mod chains {
    use super::*;
    use chrono::{DateTime, SecondsFormat};
    use proptest::prelude::*;
    use serde_json::Value;
    use tightrole::source::{Filters, Input};
    use tightrole::usage::collect;

    const FUNCTION: &str = "orders-partner-sync";
    const EXEC_ROLE: &str = "arn:aws:iam::111122223333:role/orders-sync-role";
    const PARTNER: &str = "999988887777";
    const PARTNER_ROLE: &str = "arn:aws:iam::999988887777:role/partner-writer";
    /// 2026-11-01T10:00:00Z
    const DAY0: i64 = 1_793_527_200;

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Stamp {
        /// `-<Unix seconds>`
        Seconds,
        /// `-<Unix milliseconds>`
        Millis,
        /// `-<n>`: a counter, not a time
        Counter,
    }

    /// Which records of the chain the input holds.
    #[derive(Debug, Clone, Copy)]
    pub struct Sides {
        /// The function's own calls (DynamoDB).
        pub own: bool,
        /// Lambda's AssumeRole of the execution role.
        pub lambda: bool,
        /// The function's AssumeRole of the partner role (the caller's account's trail).
        pub assume: bool,
        /// The calls made with the chained session (the partner account's trail).
        pub chained: bool,
    }

    const ALL: Sides = Sides {
        own: true,
        lambda: true,
        assume: true,
        chained: true,
    };

    fn at(mut rec: Value, t: i64, id: String) -> Value {
        let time = DateTime::from_timestamp(t, 0)
            .unwrap()
            .to_rfc3339_opts(SecondsFormat::Secs, true);
        rec["eventTime"] = json!(time);
        rec["eventID"] = json!(id);
        rec
    }

    fn session_name(stamp: Stamp, t: i64, n: usize) -> String {
        match stamp {
            Stamp::Seconds => format!("{FUNCTION}-{t}"),
            Stamp::Millis => format!("{FUNCTION}-{}", t * 1000 + 417),
            Stamp::Counter => format!("{FUNCTION}-{n}"),
        }
    }

    /// A call made with the chained session, logged in the partner's account.
    fn chained_call(session: &str, t: i64, n: usize) -> Value {
        let mut r = record(
            "fn:partner-writer/x",
            "s3.amazonaws.com",
            "PutObject",
            json!({"bucketName": "partner-inbox", "key": format!("orders/{n}.json")}),
        );
        r["userIdentity"] = json!({
            "type": "AssumedRole",
            "principalId": format!("AROAPARTNERWRITER:{session}"),
            "arn": format!("arn:aws:sts::{PARTNER}:assumed-role/partner-writer/{session}"),
            "accountId": PARTNER,
            "accessKeyId": format!("ASIACHAINED{n:09}"),
            "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": "AROAPARTNERWRITER",
                "arn": PARTNER_ROLE, "accountId": PARTNER, "userName": "partner-writer"}}
        });
        r["recipientAccountId"] = json!(PARTNER);
        at(r, t + 5, format!("put-{n}"))
    }

    /// `days` days of the chain, `per_day` AssumeRole calls a day.
    pub fn chain_records(days: usize, per_day: usize, stamp: Stamp, sides: Sides) -> Vec<Value> {
        let me = format!("fn:orders-sync-role/{FUNCTION}");
        let mut out = Vec::new();
        for d in 0..days {
            for i in 0..per_day {
                let n = d * per_day + i;
                let t = DAY0 + d as i64 * 86_400 + i as i64 * 600;
                let session = session_name(stamp, t, n);
                if sides.lambda && i == 0 {
                    let r = record(
                        "service:lambda.amazonaws.com",
                        "sts.amazonaws.com",
                        "AssumeRole",
                        json!({"roleArn": EXEC_ROLE, "roleSessionName": FUNCTION}),
                    );
                    let r = with(r, "sourceIPAddress", json!("lambda.amazonaws.com"));
                    out.push(at(r, t - 60, format!("lambda-assume-{n}")));
                }
                if sides.own {
                    let r = record(
                        &me,
                        "dynamodb.amazonaws.com",
                        "Query",
                        json!({"tableName": "orders"}),
                    );
                    out.push(at(r, t - 30, format!("query-{n}")));
                }
                if sides.assume {
                    let r = record(
                        &me,
                        "sts.amazonaws.com",
                        "AssumeRole",
                        json!({"roleArn": PARTNER_ROLE, "roleSessionName": session}),
                    );
                    let r = with(
                        r,
                        "responseElements",
                        json!({
                            "credentials": {"accessKeyId": format!("ASIACHAINED{n:09}"), "expiration": "…"},
                            "assumedRoleUser": {
                                "assumedRoleId": format!("AROAPARTNERWRITER:{session}"),
                                "arn": format!("arn:aws:sts::{PARTNER}:assumed-role/partner-writer/{session}")
                            }
                        }),
                    );
                    out.push(at(r, t, format!("assume-{n}")));
                }
                if sides.chained {
                    out.push(chained_call(&session, t, n));
                }
            }
        }
        out
    }

    fn inventory() -> Inventory {
        Inventory::parse(&format!(
            r#"{{"Functions":[{{"FunctionName":"{FUNCTION}","FunctionArn":"arn:aws:lambda:eu-west-1:111122223333:function:{FUNCTION}","Role":"{EXEC_ROLE}"}}]}}"#
        ))
        .unwrap()
    }

    fn usage(records: &[Value], inv: &Inventory) -> Usage {
        let dir = TempDir::new().unwrap();
        let p = write_records(dir.path(), "t.json", records);
        usage_of(&[&p], inv)
    }

    fn functions(u: &Usage) -> Vec<&str> {
        u.principals
            .keys()
            .filter(|id| id.kind == PrincipalKind::Function)
            .map(|id| id.name.as_str())
            .collect()
    }

    fn partner() -> PrincipalId {
        PrincipalId {
            kind: PrincipalKind::Role,
            account: PARTNER.into(),
            name: "partner-writer".into(),
        }
    }

    fn chained_from(u: &Usage) -> Vec<&str> {
        u.principals[&partner()]
            .chained_from
            .iter()
            .map(String::as_str)
            .collect()
    }

    fn has_grant(u: &Usage, who: &PrincipalId, action: &str, resource: Option<&str>) -> bool {
        u.principals[who]
            .grants
            .keys()
            .any(|(a, r)| a.as_str() == action && resource.is_none_or(|x| r.as_str() == x))
    }

    /// The function, once, with `sts:AssumeRole` on the partner role when its call is in the
    /// input; the partner role with the chained calls, annotated.
    fn assert_one_function_and_the_partner_role(u: &Usage, assume: bool, annotated: bool) {
        assert_eq!(functions(u), [FUNCTION], "{:?}", u.principals.keys());
        let f = id(PrincipalKind::Function, FUNCTION);
        assert_eq!(u.principals[&f].role_arn.as_deref(), Some(EXEC_ROLE));
        assert_eq!(
            has_grant(u, &f, "sts:AssumeRole", Some(PARTNER_ROLE)),
            assume
        );
        let p = &u.principals[&partner()];
        assert_eq!(p.role_arn.as_deref(), Some(PARTNER_ROLE));
        assert!(has_grant(u, &partner(), "s3:PutObject", None));
        assert!(
            p.functions.is_empty(),
            "no function runs as the partner role"
        );
        if annotated {
            assert_eq!(chained_from(u), [FUNCTION]);
        }
        assert!(
            !has_grant(u, &f, "s3:PutObject", None),
            "the chained calls are the partner role's"
        );
    }

    #[test]
    fn a_function_chaining_into_a_partner_role_is_one_function_and_the_partner_role() {
        for inv in [Inventory::default(), inventory()] {
            for stamp in [Stamp::Seconds, Stamp::Millis, Stamp::Counter] {
                let u = usage(&chain_records(14, 2, stamp, ALL), &inv);
                assert_one_function_and_the_partner_role(&u, true, true);
                let f = &u.principals[&id(PrincipalKind::Function, FUNCTION)];
                assert!(
                    f.function_evidence.contains("trail: assumed by Lambda"),
                    "{:?}",
                    f.function_evidence
                );
                assert_eq!(
                    u.principals[&partner()].calls,
                    28,
                    "every chained call, in the partner's account"
                );
            }
        }
    }

    #[test]
    fn either_side_of_the_chain_alone() {
        for inv in [Inventory::default(), inventory()] {
            for stamp in [Stamp::Seconds, Stamp::Counter] {
                // the partner account's side only: the prefix rule names the function
                let only_chained = Sides {
                    assume: false,
                    lambda: false,
                    ..ALL
                };
                let u = usage(&chain_records(14, 1, stamp, only_chained), &inv);
                assert_one_function_and_the_partner_role(&u, false, true);
                // the AssumeRole side only: the function, and no partner principal
                let only_assume = Sides {
                    chained: false,
                    ..ALL
                };
                let u = usage(&chain_records(14, 1, stamp, only_assume), &inv);
                assert_eq!(functions(&u), [FUNCTION]);
                assert!(has_grant(
                    &u,
                    &id(PrincipalKind::Function, FUNCTION),
                    "sts:AssumeRole",
                    Some(PARTNER_ROLE)
                ));
                assert!(!u.principals.contains_key(&partner()));
            }
        }
    }

    #[test]
    fn the_chained_calls_alone_are_the_partner_role() {
        let only = Sides {
            own: false,
            lambda: false,
            assume: false,
            chained: true,
        };
        // The partner account's trail alone: the timestamped sessions are never functions.
        for stamp in [Stamp::Seconds, Stamp::Millis] {
            let u = usage(&chain_records(14, 1, stamp, only), &Inventory::default());
            assert!(functions(&u).is_empty(), "{:?}", u.principals.keys());
            assert!(has_grant(&u, &partner(), "s3:PutObject", None));
            assert!(chained_from(&u).is_empty(), "nothing shows the function");
            // with the inventory, the function is known, and so is who chained
            let u = usage(&chain_records(14, 1, stamp, only), &inventory());
            assert!(functions(&u).is_empty());
            assert_eq!(chained_from(&u), [FUNCTION]);
        }
        // The AssumeRole calls name a counter-named session as chained, whatever calls it makes.
        let u = usage(
            &chain_records(
                3,
                1,
                Stamp::Counter,
                Sides {
                    own: false,
                    lambda: false,
                    ..ALL
                },
            ),
            &Inventory::default(),
        );
        assert_eq!(functions(&u), [FUNCTION], "the caller of AssumeRole");
        assert_eq!(chained_from(&u), [FUNCTION]);
    }

    #[test]
    fn a_function_whose_name_ends_in_digits_stays_a_function() {
        let days = |who: &str, n: i64| -> Vec<Value> {
            (0..n)
                .map(|d| {
                    let r = record(
                        who,
                        "sqs.amazonaws.com",
                        "SendMessage",
                        json!({"queueUrl": "https://sqs.eu-west-1.amazonaws.com/111122223333/etl"}),
                    );
                    at(r, DAY0 + d * 86_400, format!("{who}-{d}"))
                })
                .collect()
        };
        // alone on its role; and on a role it shares with another function
        for who in ["fn:etl-role/etl-2024", "fn:batch-role/etl-2024"] {
            let mut records = days(who, 14);
            records.extend(days("fn:batch-role/ingest", 14));
            let u = usage(&records, &Inventory::default());
            assert_eq!(functions(&u), ["etl-2024", "ingest"]);
        }
        // beside a function `etl` on another role: Lambda's AssumeRole of each role says which
        let mut records = days("fn:etl-role/etl-2024", 14);
        records.extend(days("fn:etl-base-role/etl", 14));
        for (role, f) in [("etl-role", "etl-2024"), ("etl-base-role", "etl")] {
            let r = record(
                "service:lambda.amazonaws.com",
                "sts.amazonaws.com",
                "AssumeRole",
                json!({"roleArn": format!("arn:aws:iam::111122223333:role/{role}"), "roleSessionName": f}),
            );
            records.push(at(r, DAY0 - 60, format!("lambda-{f}")));
        }
        let u = usage(&records, &Inventory::default());
        assert_eq!(functions(&u), ["etl", "etl-2024"]);
        // the inventory says the same
        let inv = Inventory::parse(
            r#"{"Functions":[
            {"FunctionName":"etl","Role":"arn:aws:iam::111122223333:role/etl-base-role"},
            {"FunctionName":"etl-2024","Role":"arn:aws:iam::111122223333:role/etl-role"}]}"#,
        )
        .unwrap();
        let u = usage(&records[..28], &inv);
        assert_eq!(functions(&u), ["etl", "etl-2024"]);
    }

    /// Regression (#17): 90 days of an AssumeRole per invocation cost the aggregate no more
    /// actors than one day, and make no new principal.
    #[test]
    fn memory_and_principals_do_not_grow_with_sessions() {
        let actors = |days: usize, per_day: usize| {
            let dir = TempDir::new().unwrap();
            let p = write_records(
                dir.path(),
                "t.json",
                &chain_records(days, per_day, Stamp::Seconds, ALL),
            );
            let (agg, _, _) = collect(&[Input::File(p)], &Filters::default(), Some(1));
            let n = agg.actor_count();
            (
                n,
                Usage::resolve(agg, &Inventory::default()).principals.len(),
            )
        };
        let one = actors(1, 1);
        assert_eq!(
            one,
            (2, 2),
            "the function's session and the chained sessions"
        );
        assert_eq!(actors(90, 24), one);
    }

    /// What `generate` prints of a chain: the partner role's `chained_from` (valid by the
    /// published schema) and its text header, and `explain`'s line.
    #[test]
    fn the_outputs_name_the_chaining_function() {
        let dir = TempDir::new().unwrap();
        let p = write_records(
            dir.path(),
            "t.json",
            &chain_records(14, 1, Stamp::Seconds, ALL),
        );
        let path = p.to_str().unwrap();
        let run = common::tightrole(&["generate", "--format", "json", path], None);
        assert_eq!(run.code, 0, "{}", run.stderr);
        let doc: Value = serde_json::from_str(&run.stdout).unwrap();
        let principals = doc["principals"].as_array().unwrap();
        let names: Vec<(&str, &str)> = principals
            .iter()
            .map(|p| (p["kind"].as_str().unwrap(), p["name"].as_str().unwrap()))
            .collect();
        assert_eq!(names, [("function", FUNCTION), ("role", "partner-writer")]);
        assert_eq!(principals[1]["account"], PARTNER);
        assert_eq!(principals[1]["chained_from"], json!([FUNCTION]));
        assert!(principals[0].get("chained_from").is_none());
        let schema = tightrole::report::schema::find("generate")
            .unwrap()
            .schema();
        let validator = jsonschema::validator_for(&schema).unwrap();
        let errors: Vec<String> = validator.iter_errors(&doc).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{errors:?}");
        let text = common::tightrole(&["generate", path], None);
        assert!(
            text.stdout.contains(
                "# role partner-writer (account 999988887777, chained from: orders-partner-sync)"
            ),
            "{}",
            text.stdout
        );
        let explain = common::tightrole(&["explain", "partner-*", "--trail", path], None);
        assert!(
            explain
                .stdout
                .contains("assumed by the code of: orders-partner-sync (role chaining)"),
            "{}",
            explain.stdout
        );
    }

    /// A chaining function's name is log text, from a session name. A hostile one (a terminal
    /// escape, a newline, `*`, `${x}`, `../`, multibyte) is no Lambda function name, so it never
    /// becomes a function nor a `chained from` entry (its session is its role's), and no escape
    /// byte it carries reaches the terminal from `generate` or `explain`.
    #[test]
    fn a_hostile_chaining_session_name_is_no_function_and_is_not_obeyed() {
        let dir = TempDir::new().unwrap();
        let hostile = r"evil\u001b[2J\nfn*${x}../\u00e9";
        let text = serde_json::to_string(&chain_records(3, 1, Stamp::Seconds, ALL))
            .unwrap()
            .replace(FUNCTION, hostile);
        let records: Vec<Value> = serde_json::from_str(&text).unwrap();
        let p = write_records(dir.path(), "t.json", &records);
        let path = p.to_str().unwrap();
        let run = common::tightrole(&["generate", path], None);
        assert_eq!(run.code, 0, "{}", run.stderr);
        let header = run
            .stdout
            .lines()
            .find(|l| l.starts_with("# role partner-writer"))
            .unwrap_or_else(|| panic!("{}", run.stdout));
        assert_eq!(header, "# role partner-writer (account 999988887777)");
        assert!(!run.stdout.contains("# function"), "{}", run.stdout);
        let explain = common::tightrole(&["explain", "*", "--trail", path], None);
        assert_eq!(explain.code, 0, "{}", explain.stderr);
        for out in [&run.stdout, &run.stderr, &explain.stdout, &explain.stderr] {
            assert!(
                !out.contains('\u{1b}'),
                "a raw escape reached the terminal: {out}"
            );
        }
    }

    fn principals_of(records: &[Value]) -> Vec<(PrincipalId, Vec<String>)> {
        let u = usage(records, &Inventory::default());
        u.principals
            .iter()
            .map(|(id, p)| (id.clone(), p.chained_from.iter().cloned().collect()))
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

        /// However many sessions, whichever sides of the chain are present (with the
        /// function's own calls or its AssumeRole calls), in any order: one function.
        #[test]
        fn function_principals_do_not_grow_with_sessions(
            days in 1usize..20,
            per_day in 1usize..4,
            stamp in prop_oneof![Just(Stamp::Seconds), Just(Stamp::Millis), Just(Stamp::Counter)],
            (own, assume) in prop_oneof![Just((true, true)), Just((true, false)), Just((false, true))],
            lambda in any::<bool>(),
            seed in any::<u64>(),
        ) {
            let sides = Sides { own, lambda, assume, chained: true };
            let mut records = chain_records(days, per_day, stamp, sides);
            let u = usage(&records, &Inventory::default());
            prop_assert_eq!(functions(&u), [FUNCTION]);
            prop_assert_eq!(chained_from(&u), [FUNCTION]);
            prop_assert_eq!(u.principals.len(), 2);
            // the same in any order
            let before = principals_of(&records);
            let k = (seed as usize) % records.len();
            records.rotate_left(k);
            records.reverse();
            prop_assert_eq!(principals_of(&records), before);
        }
    }
}

#[test]
fn the_root_principal_takes_the_partition_of_its_calls_region() {
    let dir = TempDir::new().unwrap();
    let root = |account: &str, partition: &str, region: &str| {
        let mut r = record(
            "user:x",
            "sqs.amazonaws.com",
            "ListQueues",
            serde_json::Value::Null,
        );
        r["userIdentity"] = json!({"type": "Root", "principalId": account, "accountId": account,
                                   "arn": format!("arn:{partition}:iam::{account}:root")});
        r["awsRegion"] = json!(region);
        r["recipientAccountId"] = json!(account);
        r
    };
    let p = write_records(
        dir.path(),
        "t.json",
        &[
            root("111122223333", "aws", "eu-west-1"),
            root("444455556666", "aws-cn", "cn-north-1"),
            root("777788889999", "aws-us-gov", "us-gov-west-1"),
        ],
    );
    let u = usage_of(&[&p], &Inventory::default());
    for (account, arn) in [
        ("111122223333", "arn:aws:iam::111122223333:root"),
        ("444455556666", "arn:aws-cn:iam::444455556666:root"),
        ("777788889999", "arn:aws-us-gov:iam::777788889999:root"),
    ] {
        let who = PrincipalId {
            kind: PrincipalKind::Root,
            account: account.into(),
            name: "root".into(),
        };
        assert_eq!(u.principals[&who].arn.as_deref(), Some(arn), "{account}");
    }
}
