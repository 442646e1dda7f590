//! The evaluator: explicit Deny wins, then an Allow, else implicit deny. A condition the
//! evaluator cannot decide makes the answer `Conditional`, never a silent allow or deny.

use std::collections::BTreeMap;

use hashbrown::HashSet;

use serde::Serialize;

use super::{Effect, Matcher, PolicyDocument, Statement};
use crate::wildcard::matches;

/// The request context: condition keys (lowercased) and their values. A key that is absent
/// is unknown, not false.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    pub values: BTreeMap<String, Vec<String>>,
}

impl Context {
    pub fn with(mut self, key: &str, value: impl Into<String>) -> Self {
        self.values
            .entry(key.to_ascii_lowercase())
            .or_default()
            .push(value.into());
        self
    }
}

pub struct Request<'a> {
    pub action: &'a str,
    pub resource: &'a str,
    pub context: &'a Context,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Decision {
    Allow,
    /// Allowed or denied depending on a condition the evaluator cannot decide.
    Conditional,
    ImplicitDeny,
    ExplicitDeny,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tri {
    True,
    False,
    Unknown,
}

fn matcher_hits(m: &Matcher, value: &str, case_insensitive: bool) -> bool {
    match m {
        Matcher::Is(v) => v.iter().any(|p| matches(p, value, case_insensitive)),
        Matcher::Not(v) => !v.iter().any(|p| matches(p, value, case_insensitive)),
    }
}

/// One resource pattern against the request's resource. In a 2012-10-17 policy a policy
/// variable (`${aws:username}`) takes its value from the request context; one the context
/// does not give (and that has no default) cannot be decided. In older policies `${` is text.
fn resource_hit(pattern: &str, resource: &str, ctx: &Context, variables: bool) -> Tri {
    let hit = |p: &str| {
        if matches(p, resource, false) {
            Tri::True
        } else {
            Tri::False
        }
    };
    if !crate::wildcard::has_variable(pattern) {
        return hit(pattern);
    }
    if !variables {
        // no policy variables or escapes in this version: every character is itself
        return hit(&pattern.replace('$', "${$}"));
    }
    let value = |key: &str| {
        ctx.values
            .get(&key.to_ascii_lowercase())
            .and_then(|v| (v.len() == 1).then(|| v[0].clone()))
    };
    match crate::wildcard::substitute(pattern, value) {
        Some(p) => hit(&p),
        None => Tri::Unknown,
    }
}

fn resources_hit(m: &Matcher, resource: &str, ctx: &Context, variables: bool) -> Tri {
    let (patterns, negated) = match m {
        Matcher::Is(v) => (v, false),
        Matcher::Not(v) => (v, true),
    };
    let any = any_hit(
        patterns.iter().map(String::as_str),
        resource,
        ctx,
        variables,
    );
    match (any, negated) {
        (Tri::Unknown, _) => Tri::Unknown,
        (Tri::True, false) | (Tri::False, true) => Tri::True,
        _ => Tri::False,
    }
}

/// Whether some of `patterns` matches `resource`: `True` at the first that does, else
/// `Unknown` when one could not be decided, else `False`.
fn any_hit<'a>(
    patterns: impl IntoIterator<Item = &'a str>,
    resource: &str,
    ctx: &Context,
    variables: bool,
) -> Tri {
    let mut any = Tri::False;
    for p in patterns {
        match resource_hit(p, resource, ctx, variables) {
            Tri::True => return Tri::True,
            Tri::Unknown => any = Tri::Unknown,
            Tri::False => {}
        }
    }
    any
}

fn condition(
    op: &str,
    key: &str,
    expected: &std::collections::BTreeSet<String>,
    ctx: &Context,
) -> Tri {
    let (set_op, rest) = if let Some(r) = op.strip_prefix("ForAnyValue:") {
        (Some(true), r)
    } else if let Some(r) = op.strip_prefix("ForAllValues:") {
        (Some(false), r)
    } else {
        (None, op)
    };
    let (base, if_exists) = match rest.strip_suffix("IfExists") {
        Some(b) => (b, true),
        None => (rest, false),
    };
    let actual = ctx.values.get(&key.to_ascii_lowercase());
    if base == "Null" {
        let Some(actual) = actual else {
            return Tri::Unknown;
        };
        let is_null = actual.is_empty();
        return if expected
            .iter()
            .any(|e| e.eq_ignore_ascii_case(&is_null.to_string()))
        {
            Tri::True
        } else {
            Tri::False
        };
    }
    let Some(actual) = actual else {
        // We cannot tell whether the key is in the real request.
        return Tri::Unknown;
    };
    if actual.is_empty() {
        return if if_exists { Tri::True } else { Tri::False };
    }
    let single = |a: &str, e: &str| -> Option<bool> {
        Some(match base {
            "StringEquals" => a == crate::wildcard::unescape(e),
            "StringNotEquals" => a != crate::wildcard::unescape(e),
            // IAM reads ARN operators alike: each takes `*` and `?` wildcards.
            "ArnEquals" => matches(e, a, false),
            "ArnNotEquals" => !matches(e, a, false),
            "StringEqualsIgnoreCase" => a.eq_ignore_ascii_case(e),
            "StringNotEqualsIgnoreCase" => !a.eq_ignore_ascii_case(e),
            "StringLike" | "ArnLike" => matches(e, a, false),
            "StringNotLike" | "ArnNotLike" => !matches(e, a, false),
            "Bool" => a.eq_ignore_ascii_case(e),
            _ => return None,
        })
    };
    let negated = base.contains("Not");
    // One context value against the expected list: positive operators need any match,
    // negated ones need every comparison to hold.
    let value_ok = |a: &str| -> Option<bool> {
        let results: Option<Vec<bool>> = expected.iter().map(|e| single(a, e)).collect();
        let results = results?;
        Some(if negated {
            results.iter().all(|x| *x)
        } else {
            results.iter().any(|x| *x)
        })
    };
    let per_value: Option<Vec<bool>> = actual.iter().map(|a| value_ok(a)).collect();
    let Some(per_value) = per_value else {
        return Tri::Unknown;
    };
    let ok = match set_op {
        Some(true) => per_value.iter().any(|x| *x),
        Some(false) => per_value.iter().all(|x| *x),
        None => per_value.iter().all(|x| *x),
    };
    if ok { Tri::True } else { Tri::False }
}

fn statement_applies(s: &Statement, req: &Request<'_>, resource: &str, variables: bool) -> Tri {
    if !matcher_hits(&s.action, req.action, true) {
        return Tri::False;
    }
    past_resource(
        s,
        req,
        resources_hit(&s.resource, resource, req.context, variables),
    )
}

/// [`statement_applies`] for a statement whose `Action`/`NotAction` lets the request's action
/// through and whose `Resource`/`NotResource` gave `result`: who asks, and the conditions.
fn past_resource(s: &Statement, req: &Request<'_>, mut result: Tri) -> Tri {
    if result == Tri::False {
        return Tri::False;
    }
    // Who is asking is not part of an identity-policy request: a statement that depends on it
    // (Principal/NotPrincipal, as in a resource policy given by mistake) cannot be decided.
    if s.principal.is_some() || s.not_principal.is_some() {
        result = Tri::Unknown;
    }
    for (op, keys) in &s.condition {
        for (key, expected) in keys {
            match condition(op, key, expected, req.context) {
                Tri::False => return Tri::False,
                Tri::Unknown => result = Tri::Unknown,
                Tri::True => {}
            }
        }
    }
    result
}

/// Evaluates one request against a set of identity policies (the union of their statements).
pub fn evaluate_all<'p>(
    policies: impl IntoIterator<Item = &'p PolicyDocument>,
    req: &Request<'_>,
) -> Decision {
    let resource = request_resource(req);
    decide(
        statements_of(policies)
            .map(|(s, variables)| (s.effect, statement_applies(s, req, &resource, variables))),
    )
}

/// The statements of a set of identity policies whose `Action`/`NotAction` lets one action
/// through ([`for_action`]), ready to decide every request of that action
/// ([`evaluate_for_action`]): the replay asks thousands, and matching each statement's actions
/// again, or each of its resources in turn, was most of its work.
pub struct ForAction<'p> {
    statements: Vec<Applicable<'p>>,
}

/// One statement of a [`ForAction`].
struct Applicable<'p> {
    statement: &'p Statement,
    /// Whether its document reads policy variables (only the current policy version does).
    variables: bool,
    /// Its `Resource` patterns that are plain text (no `*`, `?` or `$`): such a pattern
    /// matches a resource only by being it, so it is looked up, not compared with each
    /// request in turn (a proposal's statement may list hundreds of ARNs, each asked of its
    /// every grant). Empty for `NotResource`.
    literal: HashSet<&'p str>,
    /// Its other `Resource` patterns, matched in order.
    patterns: Vec<&'p str>,
}

impl Applicable<'_> {
    /// [`statement_applies`] for this statement, whose action was matched already.
    fn applies(&self, req: &Request<'_>, resource: &str) -> Tri {
        let s = self.statement;
        let hit = match &s.resource {
            Matcher::Not(_) => resources_hit(&s.resource, resource, req.context, self.variables),
            Matcher::Is(_) if self.literal.contains(resource) => Tri::True,
            // (a literal pattern that is not the resource is no hit: only the others can be)
            Matcher::Is(_) => any_hit(
                self.patterns.iter().copied(),
                resource,
                req.context,
                self.variables,
            ),
        };
        past_resource(s, req, hit)
    }
}

/// The statements of a set of identity policies whose `Action`/`NotAction` lets `action`
/// through, in the policies' order.
pub fn for_action<'p>(
    policies: impl IntoIterator<Item = &'p PolicyDocument>,
    action: &str,
) -> ForAction<'p> {
    let statements = statements_of(policies)
        .filter(|(s, _)| matcher_hits(&s.action, action, true))
        .map(|(statement, variables)| {
            let (mut literal, mut patterns) = (HashSet::new(), Vec::new());
            if let Matcher::Is(v) = &statement.resource {
                for p in v {
                    if crate::wildcard::is_plain(p) {
                        literal.insert(p.as_str());
                    } else {
                        patterns.push(p.as_str());
                    }
                }
            }
            Applicable {
                statement,
                variables,
                literal,
                patterns,
            }
        })
        .collect();
    ForAction { statements }
}

/// Every statement of the policies, in their order, with whether its document reads policy
/// variables (only the current policy version does).
fn statements_of<'p>(
    policies: impl IntoIterator<Item = &'p PolicyDocument>,
) -> impl Iterator<Item = (&'p Statement, bool)> {
    policies.into_iter().flat_map(|p| {
        let variables = p.version == super::POLICY_VERSION;
        p.statements.iter().map(move |s| (s, variables))
    })
}

/// [`evaluate_all`] for a request whose action's statements [`for_action`] gave: the same
/// decision.
pub fn evaluate_for_action(statements: &ForAction<'_>, req: &Request<'_>) -> Decision {
    let resource = request_resource(req);
    decide(
        statements
            .statements
            .iter()
            .map(|a| (a.statement.effect, a.applies(req, &resource))),
    )
}

/// The text a request's resource stands for. The request names it as tightrole writes
/// resources: literal `*`, `?` and `${` escaped (`${*}`), unresolved parts as `*`.
fn request_resource<'r>(req: &Request<'r>) -> std::borrow::Cow<'r, str> {
    crate::wildcard::unescape(req.resource)
}

/// The decision of the statements that apply, each its effect and whether it applies (asked
/// in order, and no further than an explicit deny).
fn decide(statements: impl IntoIterator<Item = (Effect, Tri)>) -> Decision {
    let (mut allow, mut allow_unknown, mut deny_unknown) = (false, false, false);
    for (effect, applies) in statements {
        match (effect, applies) {
            (Effect::Deny, Tri::True) => return Decision::ExplicitDeny,
            (Effect::Deny, Tri::Unknown) => deny_unknown = true,
            (Effect::Allow, Tri::True) => allow = true,
            (Effect::Allow, Tri::Unknown) => allow_unknown = true,
            (_, Tri::False) => {}
        }
    }
    if allow && !deny_unknown {
        Decision::Allow
    } else if allow || allow_unknown {
        Decision::Conditional
    } else {
        Decision::ImplicitDeny
    }
}

pub fn evaluate(policy: &PolicyDocument, req: &Request<'_>) -> Decision {
    evaluate_all([policy], req)
}

#[cfg(test)]
mod tests {
    use super::*;

    mod by_action {
        use proptest::prelude::*;

        use super::super::*;

        const ACTIONS: [&str; 6] = [
            "*",
            "s3:*",
            "s3:Get*",
            "S3:getobject",
            "dynamodb:Query",
            "s3:PutObject",
        ];
        const RESOURCES: [&str; 7] = [
            "*",
            "arn:aws:s3:::b/*",
            "arn:aws:s3:::b/k",
            "arn:aws:s3:::c/k",
            "arn:aws:s3:::B/k",
            "arn:aws:s3:::b/k$",
            "arn:aws:dynamodb:*:*:table/${aws:username}",
        ];

        fn statement() -> impl Strategy<Value = serde_json::Value> {
            (
                any::<bool>(),
                any::<bool>(),
                prop::sample::subsequence(ACTIONS.to_vec(), 1..3),
                prop::sample::subsequence(RESOURCES.to_vec(), 1..5),
                any::<bool>(),
                any::<bool>(),
            )
                .prop_map(
                    |(deny, not_action, actions, resources, not_resource, condition)| {
                        let mut st = serde_json::json!({
                            "Effect": if deny { "Deny" } else { "Allow" },
                        });
                        st[if not_action { "NotAction" } else { "Action" }] = actions.into();
                        st[if not_resource {
                            "NotResource"
                        } else {
                            "Resource"
                        }] = resources.into();
                        if condition {
                            st["Condition"] =
                                serde_json::json!({"StringEquals": {"aws:SourceVpc": "vpc-1"}});
                        }
                        st
                    },
                )
        }

        fn document() -> impl Strategy<Value = PolicyDocument> {
            (any::<bool>(), prop::collection::vec(statement(), 0..5)).prop_map(
                |(old, statements)| {
                    let text = serde_json::json!({
                        "Version": if old { "2008-10-17" } else { "2012-10-17" },
                        "Statement": statements,
                    });
                    PolicyDocument::parse(&text.to_string()).unwrap_or_default()
                },
            )
        }

        proptest! {
            /// The statements kept for an action decide every request of it as all the
            /// statements do: denies, conditions, `NotAction`, variables, case.
            #[test]
            fn the_statements_of_an_action_decide_as_all_of_them(
                documents in prop::collection::vec(document(), 1..3),
                action in prop::sample::select(vec![
                    "s3:GetObject", "s3:getobject", "s3:PutObject", "dynamodb:Query", "sqs:SendMessage",
                ]),
                resource in prop::sample::select(vec![
                    "arn:aws:s3:::b/k", "arn:aws:s3:::c/k", "arn:aws:s3:::B/k", "arn:aws:s3:::b/k$",
                    "arn:aws:s3:::b/k${$}", "arn:aws:s3:::b/${*}",
                    "arn:aws:dynamodb:eu-west-1:1:table/ann", "*",
                ]),
                vpc in prop::option::of(prop::sample::select(vec!["vpc-1", "vpc-2"])),
            ) {
                let mut context = Context::default();
                if let Some(v) = vpc {
                    context.values.insert("aws:sourcevpc".into(), vec![v.to_string()]);
                }
                let req = Request { action, resource, context: &context };
                let kept = for_action(&documents, action);
                prop_assert_eq!(evaluate_for_action(&kept, &req), evaluate_all(&documents, &req));
            }
        }
    }

    fn p(text: &str) -> PolicyDocument {
        PolicyDocument::parse(text).unwrap_or_default()
    }

    fn eval(policy: &str, action: &str, resource: &str, ctx: &Context) -> Decision {
        evaluate(
            &p(policy),
            &Request {
                action,
                resource,
                context: ctx,
            },
        )
    }

    #[test]
    fn allow_deny_and_wildcards() {
        let pol = r#"{"Statement":[{"Effect":"Allow","Action":"s3:Get*","Resource":"arn:aws:s3:::b/*"},
            {"Effect":"Deny","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/secret/*"}]}"#;
        let c = Context::default();
        assert_eq!(
            eval(pol, "S3:getobject", "arn:aws:s3:::b/x", &c),
            Decision::Allow
        );
        assert_eq!(
            eval(pol, "s3:GetObject", "arn:aws:s3:::b/secret/k", &c),
            Decision::ExplicitDeny
        );
        assert_eq!(
            eval(pol, "s3:GetObject", "arn:aws:s3:::B/x", &c),
            Decision::ImplicitDeny,
            "resources are case-sensitive"
        );
        assert_eq!(
            eval(pol, "s3:PutObject", "arn:aws:s3:::b/x", &c),
            Decision::ImplicitDeny
        );
    }

    #[test]
    fn not_action_and_not_resource() {
        let pol = r#"{"Statement":[{"Effect":"Allow","NotAction":"iam:*","NotResource":"arn:aws:s3:::private/*"}]}"#;
        let c = Context::default();
        assert_eq!(
            eval(pol, "s3:GetObject", "arn:aws:s3:::b/x", &c),
            Decision::Allow
        );
        assert_eq!(eval(pol, "iam:PassRole", "*", &c), Decision::ImplicitDeny);
        assert_eq!(
            eval(pol, "s3:GetObject", "arn:aws:s3:::private/x", &c),
            Decision::ImplicitDeny
        );
    }

    #[test]
    fn conditions_known_and_unknown() {
        let pol = r#"{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*",
            "Condition":{"StringEquals":{"aws:RequestedRegion":["eu-west-1","eu-central-1"]}}}]}"#;
        let eu = Context::default().with("aws:RequestedRegion", "eu-west-1");
        let us = Context::default().with("aws:RequestedRegion", "us-east-1");
        assert_eq!(eval(pol, "s3:GetObject", "x", &eu), Decision::Allow);
        assert_eq!(eval(pol, "s3:GetObject", "x", &us), Decision::ImplicitDeny);
        assert_eq!(
            eval(pol, "s3:GetObject", "x", &Context::default()),
            Decision::Conditional
        );
        let pol = r#"{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*",
            "Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}]}"#;
        let c = Context::default().with("aws:SourceIp", "10.1.2.3");
        assert_eq!(
            eval(pol, "s3:GetObject", "x", &c),
            Decision::Conditional,
            "unsupported operator"
        );
    }

    #[test]
    fn arn_like_and_set_operators() {
        let pol = r#"{"Statement":[{"Effect":"Allow","Action":"kms:Decrypt","Resource":"*",
            "Condition":{"ArnLike":{"lambda:SourceFunctionArn":"arn:aws:lambda:*:111122223333:function:orders-*"}}}]}"#;
        let c = Context::default().with(
            "lambda:SourceFunctionArn",
            "arn:aws:lambda:eu-west-1:111122223333:function:orders-api",
        );
        assert_eq!(eval(pol, "kms:Decrypt", "k", &c), Decision::Allow);
        let pol = r#"{"Statement":[{"Effect":"Allow","Action":"dynamodb:*","Resource":"*",
            "Condition":{"ForAllValues:StringLike":{"dynamodb:Attributes":["id","name*"]}}}]}"#;
        let ok = Context::default()
            .with("dynamodb:Attributes", "id")
            .with("dynamodb:Attributes", "name_first");
        let bad = ok.clone().with("dynamodb:Attributes", "ssn");
        assert_eq!(eval(pol, "dynamodb:Query", "t", &ok), Decision::Allow);
        assert_eq!(
            eval(pol, "dynamodb:Query", "t", &bad),
            Decision::ImplicitDeny
        );
    }
}

#[cfg(test)]
mod operator_tests {
    //! One case per condition operator the evaluator decides.
    use super::*;

    fn decide(op: &str, key: &str, expected: &str, ctx: &Context) -> Decision {
        let text = format!(
            r#"{{"Statement":[{{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{{"{op}":{{"{key}":{expected}}}}}}}]}}"#
        );
        let p = PolicyDocument::parse(&text).unwrap_or_default();
        evaluate(
            &p,
            &Request {
                action: "s3:GetObject",
                resource: "arn:aws:s3:::b/k",
                context: ctx,
            },
        )
    }

    fn ctx(key: &str, v: &str) -> Context {
        Context::default().with(key, v)
    }

    #[test]
    fn string_operators() {
        let c = ctx("aws:RequestedRegion", "eu-west-1");
        assert_eq!(
            decide("StringEquals", "aws:RequestedRegion", r#""eu-west-1""#, &c),
            Decision::Allow
        );
        assert_eq!(
            decide("StringEquals", "aws:RequestedRegion", r#""EU-WEST-1""#, &c),
            Decision::ImplicitDeny
        );
        assert_eq!(
            decide(
                "StringEqualsIgnoreCase",
                "aws:RequestedRegion",
                r#""EU-WEST-1""#,
                &c
            ),
            Decision::Allow
        );
        assert_eq!(
            decide(
                "StringNotEquals",
                "aws:RequestedRegion",
                r#"["us-east-1","us-west-2"]"#,
                &c
            ),
            Decision::Allow
        );
        assert_eq!(
            decide(
                "StringNotEquals",
                "aws:RequestedRegion",
                r#""eu-west-1""#,
                &c
            ),
            Decision::ImplicitDeny
        );
        assert_eq!(
            decide(
                "StringNotEqualsIgnoreCase",
                "aws:RequestedRegion",
                r#""EU-WEST-1""#,
                &c
            ),
            Decision::ImplicitDeny
        );
        assert_eq!(
            decide("StringLike", "aws:RequestedRegion", r#""eu-*""#, &c),
            Decision::Allow
        );
        assert_eq!(
            decide("StringNotLike", "aws:RequestedRegion", r#""eu-*""#, &c),
            Decision::ImplicitDeny
        );
    }

    #[test]
    fn arn_operators() {
        let c = ctx(
            "lambda:SourceFunctionArn",
            "arn:aws:lambda:eu-west-1:111122223333:function:orders-api",
        );
        assert_eq!(
            decide(
                "ArnEquals",
                "lambda:SourceFunctionArn",
                r#""arn:aws:lambda:eu-west-1:111122223333:function:orders-api""#,
                &c
            ),
            Decision::Allow
        );
        assert_eq!(
            decide(
                "ArnLike",
                "lambda:SourceFunctionArn",
                r#""arn:aws:lambda:*:*:function:orders-*""#,
                &c
            ),
            Decision::Allow
        );
        assert_eq!(
            decide(
                "ArnNotEquals",
                "lambda:SourceFunctionArn",
                r#""arn:aws:lambda:eu-west-1:111122223333:function:other""#,
                &c
            ),
            Decision::Allow
        );
        assert_eq!(
            decide(
                "ArnNotLike",
                "lambda:SourceFunctionArn",
                r#""arn:aws:lambda:*:*:function:orders-*""#,
                &c
            ),
            Decision::ImplicitDeny
        );
    }

    #[test]
    fn bool_null_and_if_exists() {
        let c = ctx("aws:SecureTransport", "true");
        assert_eq!(
            decide("Bool", "aws:SecureTransport", "true", &c),
            Decision::Allow
        );
        assert_eq!(
            decide("Bool", "aws:SecureTransport", "false", &c),
            Decision::ImplicitDeny
        );
        assert_eq!(
            decide("Null", "aws:SecureTransport", "false", &c),
            Decision::Allow,
            "present, so Null is false"
        );
        assert_eq!(
            decide("Null", "aws:SecureTransport", "true", &c),
            Decision::ImplicitDeny
        );
        assert_eq!(
            decide("Null", "aws:TokenIssueTime", "true", &c),
            Decision::Conditional,
            "unknown presence"
        );
        assert_eq!(
            decide(
                "StringEqualsIfExists",
                "aws:SecureTransport",
                r#""true""#,
                &c
            ),
            Decision::Allow
        );
        assert_eq!(
            decide("StringEqualsIfExists", "aws:SourceVpc", r#""vpc-1""#, &c),
            Decision::Conditional,
            "absence unknown"
        );
    }

    #[test]
    fn set_operators() {
        let c = ctx("aws:TagKeys", "team").with("aws:TagKeys", "env");
        assert_eq!(
            decide("ForAnyValue:StringEquals", "aws:TagKeys", r#"["env"]"#, &c),
            Decision::Allow
        );
        assert_eq!(
            decide(
                "ForAnyValue:StringEquals",
                "aws:TagKeys",
                r#"["owner"]"#,
                &c
            ),
            Decision::ImplicitDeny
        );
        assert_eq!(
            decide(
                "ForAllValues:StringEquals",
                "aws:TagKeys",
                r#"["team","env","owner"]"#,
                &c
            ),
            Decision::Allow
        );
        assert_eq!(
            decide(
                "ForAllValues:StringEquals",
                "aws:TagKeys",
                r#"["team"]"#,
                &c
            ),
            Decision::ImplicitDeny
        );
    }

    #[test]
    fn unsupported_operators_are_conditional_never_silent() {
        let c = ctx("aws:SourceIp", "203.0.113.9").with("aws:CurrentTime", "2026-11-01T00:00:00Z");
        assert_eq!(
            decide("IpAddress", "aws:SourceIp", r#""203.0.113.0/24""#, &c),
            Decision::Conditional
        );
        assert_eq!(
            decide(
                "DateGreaterThan",
                "aws:CurrentTime",
                r#""2026-01-01T00:00:00Z""#,
                &c
            ),
            Decision::Conditional
        );
        assert_eq!(
            decide("NumericLessThan", "s3:max-keys", "10", &c),
            Decision::Conditional
        );
    }
}
