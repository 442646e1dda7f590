//! Properties of the synthesizer: every observed successful call is allowed by the proposed
//! policy and no call a principal was only denied is, the output does not depend on record
//! order, file split or thread count (records without a time among them), and synthesis is
//! idempotent. And of the reading of records: every export spelling of a time reads as the
//! instant it names.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "integration tests fail loudly on broken fixtures"
)]

mod common;

use proptest::prelude::*;
use serde_json::{Value, json};
use tempfile::TempDir;
use tightrole::catalog::Catalog;
use tightrole::identity::Inventory;
use tightrole::mapping::{Class, Mapper};
use tightrole::policy::{Context, Decision, PolicyDocument, Request, evaluate, evaluate_all};
use tightrole::record::Record;
use tightrole::synth::{SynthOptions, allowed_in, propose, synthesize};
use tightrole::usage::{Evidence, Grants, Usage};

use common::{identity_with, record, usage_of, with, write_records};

const WHO: [&str; 4] = [
    "fn:shared/alpha",
    "fn:shared/beta",
    "role:batch/nightly-run",
    "user:ops",
];

/// One call from a small universe that exercises renames, multi-action calls, resources[],
/// service-made and denied records.
fn call(who: usize, kind: usize, res: usize, day: u32, denied: bool, service: bool) -> Value {
    let who = WHO[who % WHO.len()];
    let r = res % 5;
    let mut rec = match kind % 8 {
        0 => record(
            who,
            "dynamodb.amazonaws.com",
            "GetItem",
            json!({"tableName": format!("t{r}")}),
        ),
        1 => record(
            who,
            "dynamodb.amazonaws.com",
            "Query",
            json!({"tableName": "t0", "indexName": format!("i{r}")}),
        ),
        2 => record(
            who,
            "s3.amazonaws.com",
            "GetObject",
            json!({"bucketName": "b", "key": format!("k/{r}.txt")}),
        ),
        3 => record(
            who,
            "s3.amazonaws.com",
            "CopyObject",
            json!({"bucketName": "dst", "key": format!("c{r}"), "x-amz-copy-source": format!("src/o{r}")}),
        ),
        4 => record(
            who,
            "sqs.amazonaws.com",
            "SendMessageBatch",
            json!({"queueUrl": format!("https://sqs.eu-west-1.amazonaws.com/111122223333/q{r}")}),
        ),
        5 => with(
            record(who, "kms.amazonaws.com", "Decrypt", json!({})),
            "resources",
            json!([{"type": "AWS::KMS::Key", "ARN": format!("arn:aws:kms:eu-west-1:111122223333:key/k{r}")}]),
        ),
        6 => record(
            who,
            "lambda.amazonaws.com",
            "Invoke",
            json!({"functionName": format!("f{r}")}),
        ),
        _ => record(
            who,
            "s3.amazonaws.com",
            "HeadObject",
            json!({"bucketName": "b", "key": format!("k/{r}.txt"), "versionId": "v1"}),
        ),
    };
    rec["eventTime"] = json!(format!(
        "2026-11-{:02}T{:02}:00:00Z",
        1 + day % 28,
        day % 24
    ));
    rec["eventID"] = json!(format!("ev-{who}-{kind}-{res}-{day}"));
    if denied {
        rec = with(rec, "errorCode", json!("AccessDenied"));
    }
    if service && !denied {
        rec = identity_with(rec, "invokedBy", json!("secretsmanager.amazonaws.com"));
    }
    rec
}

fn calls() -> impl Strategy<Value = Vec<Value>> {
    prop::collection::vec(
        (
            0usize..4,
            0usize..8,
            0usize..5,
            0u32..60,
            prop::bool::weighted(0.15),
            prop::bool::weighted(0.15),
            prop::bool::weighted(0.1),
        )
            .prop_map(|(w, k, r, d, den, svc, untimed)| {
                let mut rec = call(w, k, r, d, den, svc);
                if untimed {
                    // an export that dropped the time: still usage
                    rec.as_object_mut().unwrap().remove("eventTime");
                }
                rec
            }),
        1..40,
    )
}

/// Policies and evidence of every principal, as one canonical string.
fn render(u: &Usage) -> String {
    let mut out = String::new();
    for (id, p) in &u.principals {
        let policy = synthesize(&p.grants, Catalog::embedded());
        out.push_str(&format!(
            "{id:?}\n{}\n{}\n",
            policy.to_json_pretty(),
            serde_json::to_string(&p.grants.iter().collect::<Vec<_>>()).unwrap()
        ));
    }
    out
}

fn run(records: &[Value], files: usize) -> Usage {
    let dir = TempDir::new().unwrap();
    let mut paths = Vec::new();
    for f in 0..files.max(1) {
        let chunk: Vec<Value> = records
            .iter()
            .enumerate()
            .filter(|(i, _)| i % files.max(1) == f)
            .map(|(_, r)| r.clone())
            .collect();
        paths.push(write_records(dir.path(), &format!("f{f}.json"), &chunk));
    }
    let refs: Vec<&std::path::Path> = paths.iter().map(|p| p.as_path()).collect();
    usage_of(&refs, &Inventory::default())
}

/// The grants a synthesized policy states: each action on each resource of each statement, with
/// the statement's condition, made by whom its `Sid` says (`…ByService`: AWS on the principal's
/// behalf; `…LambdaPlatform`: Lambda's platform; otherwise the principal's code).
fn grants_of(policy: &PolicyDocument) -> Grants {
    let mut out = Grants::new();
    let time = chrono::DateTime::from_timestamp(1_790_000_000, 0).unwrap();
    for s in &policy.statements {
        let sid = s
            .sid
            .as_deref()
            .unwrap_or_default()
            .trim_end_matches(|c: char| c.is_ascii_digit());
        let mut ev = Evidence::new(Some(time), "derived");
        ev.seen.count = 1;
        if sid.ends_with("ByService") {
            ev.add_service_made(1, "derived.amazonaws.com");
        } else if sid.ends_with("LambdaPlatform") {
            ev.add_platform(1);
        }
        ev.set_conditions(s.condition.clone());
        for a in s.action.values() {
            for r in s.resource.values() {
                out.insert(
                    tightrole::usage::grant_key(a.as_str(), r.as_str()).unwrap(),
                    ev.clone(),
                );
            }
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn every_observed_successful_call_is_allowed(records in calls()) {
        let u = run(&records, 2);
        prop_assert!(u.unusable_keys.is_empty(), "{:?}", u.unusable_keys);
        let mapper = Mapper::embedded();
        for rec in &records {
            let text = rec.to_string();
            let r: Record = serde_json::from_str(&text).unwrap();
            let m = mapper.map(&r);
            if !matches!(m.class, Class::Mapped | Class::ServiceMade) {
                continue;
            }
            let who = tightrole::identity::actor(&r).unwrap().into_owned();
            // this caller's principal: a session is a function (named after the session) or
            // folded into its role; a user is itself
            use tightrole::identity::{Actor, PrincipalKind, role_name};
            let (name, candidates) = match &who {
                Actor::Session { session, role_arn, .. } => (session.clone(), vec![
                    (PrincipalKind::Function, session.clone()),
                    (PrincipalKind::Role, role_name(role_arn).to_string()),
                ]),
                Actor::Role { role_arn, .. } => (role_name(role_arn).to_string(), vec![(PrincipalKind::Role, role_name(role_arn).to_string())]),
                Actor::User { arn, .. } => {
                    let n = arn.rsplit('/').next().unwrap().to_string();
                    (n.clone(), vec![(PrincipalKind::User, n)])
                }
                _ => continue,
            };
            let (_, p) = candidates
                .iter()
                .find_map(|(kind, n)| u.principals.iter().find(|(id, _)| id.kind == *kind && &id.name == n))
                .unwrap();
            let policy = synthesize(&p.grants, Catalog::embedded());
            for need in &m.needs {
                // the request context the call was made in: the condition keys the mapping saw
                let ctx = need.conditions.values().flatten().flat_map(|(k, vs)| vs.iter().map(move |v| (k, v))).fold(Context::default(), |c, (k, v)| c.with(k, v.clone()));
                for res in &need.resolved.resources {
                    let d = evaluate(&policy, &Request { action: need.action.qualified(), resource: res, context: &ctx });
                    prop_assert_eq!(d, Decision::Allow, "{} on {} for {}", need.action.qualified(), res, name);
                }
            }
        }
    }

    /// Denied calls reach the principals' denied grants, and no proposal allows a call its
    /// principal was denied and never seen making successfully.
    #[test]
    fn a_call_only_denied_is_never_allowed(records in calls()) {
        let u = run(&records, 2);
        let denied_records = records.iter().filter(|r| r.get("errorCode").is_some()).count();
        let denied_grants: usize = u.principals.values().map(|p| p.denied.len()).sum();
        prop_assert_eq!(denied_records > 0, denied_grants > 0);
        for (id, p) in &u.principals {
            let proposal = propose(&p.grants, &p.denied, &[], Catalog::embedded(), &SynthOptions::default()).unwrap();
            for (action, resource) in p.denied.keys() {
                // Also allowed (or folded into a pattern that may have been): it stays allowed.
                if allowed_in(&p.grants, action, resource) != Some(false) || tightrole::wildcard::has_wildcard(resource) {
                    continue;
                }
                let d = evaluate_all(&proposal.documents, &Request { action, resource, context: &Context::default() });
                prop_assert!(matches!(d, Decision::ImplicitDeny | Decision::ExplicitDeny), "{:?}: {} on {} is {:?}", id, action, resource, d);
            }
        }
    }

    #[test]
    fn output_is_byte_identical_under_reordering(records in calls(), seed in any::<u64>(), files in 1usize..4) {
        let base = render(&run(&records, 1));
        let mut shuffled = records.clone();
        // Fisher-Yates with a proptest-chosen seed
        let mut s = seed;
        for i in (1..shuffled.len()).rev() {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            shuffled.swap(i, (s >> 33) as usize % (i + 1));
        }
        prop_assert_eq!(base, render(&run(&shuffled, files)));
    }

    /// The policy synthesized from the grants a policy itself states is that policy, and its
    /// JSON reads back as the same document.
    #[test]
    fn synthesis_is_idempotent(records in calls()) {
        let u = run(&records, 1);
        for p in u.principals.values() {
            let a = synthesize(&p.grants, Catalog::embedded());
            let b = synthesize(&grants_of(&a), Catalog::embedded());
            prop_assert_eq!(a.to_json_pretty(), b.to_json_pretty());
            let reparsed = PolicyDocument::parse(&a.to_json_pretty()).unwrap();
            prop_assert_eq!(reparsed, a);
        }
    }
}

/// A time as an exporting system may spell it: `T` or a space, 0 to 9 fractional digits, and
/// a zone that is absent (UTC), `Z`, `UTC`, `±HH:MM`, `±HHMM`, ` ±HHMM` or `±HH`.
fn spelled(
    at: chrono::DateTime<chrono::Utc>,
    t: bool,
    digits: usize,
    zone: usize,
    offset_minutes: i32,
) -> String {
    let offset_minutes = match zone {
        0..=2 => 0,
        6 => offset_minutes / 60 * 60,
        _ => offset_minutes,
    };
    let local = at.with_timezone(&chrono::FixedOffset::east_opt(offset_minutes * 60).unwrap());
    let mut s = local
        .format(if t {
            "%Y-%m-%dT%H:%M:%S"
        } else {
            "%Y-%m-%d %H:%M:%S"
        })
        .to_string();
    if digits > 0 {
        let nanos = format!("{:09}", local.timestamp_subsec_nanos());
        s.push('.');
        s.push_str(&nanos[..digits]);
    }
    let sign = if offset_minutes < 0 { '-' } else { '+' };
    let (h, m) = (offset_minutes.abs() / 60, offset_minutes.abs() % 60);
    match zone {
        0 => {}
        1 => s.push('Z'),
        2 => s.push_str(" UTC"),
        3 => s.push_str(&format!("{sign}{h:02}:{m:02}")),
        4 => s.push_str(&format!("{sign}{h:02}{m:02}")),
        5 => s.push_str(&format!(" {sign}{h:02}{m:02}")),
        _ => s.push_str(&format!("{sign}{h:02}")),
    }
    s
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Every spelling of an instant reads as that instant (to the digits given).
    #[test]
    fn export_times_read_as_the_instant_they_name(
        secs in 0i64..4_102_444_800,
        nanos in 0u32..1_000_000_000,
        t in any::<bool>(),
        digits in 0usize..=9,
        zone in 0usize..7,
        offset_minutes in -(23 * 60 + 59)..=(23 * 60 + 59),
    ) {
        let kept = nanos / 10u32.pow(9 - digits as u32) * 10u32.pow(9 - digits as u32);
        let at = chrono::DateTime::from_timestamp(secs, kept).unwrap();
        let text = spelled(at, t, digits, zone, offset_minutes);
        prop_assert_eq!(tightrole::record::parse_event_time(&text), Some(at), "`{}`", text);
    }

    /// Whatever the text, reading it as a time never panics, and what reads is a time that
    /// reads back the same.
    #[test]
    fn any_text_as_a_time(text in "[0-9 T:.,+Z-]{0,40}|\\PC{0,40}") {
        if let Some(t) = tightrole::record::parse_event_time(&text) {
            prop_assert_eq!(tightrole::record::parse_event_time(&t.to_rfc3339()), Some(t));
        }
    }
}
