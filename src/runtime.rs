//! What the Lambda runtime and platform need from a function's execution role that CloudTrail
//! never shows: writing its logs, polling its event sources, sending to its dead-letter queue and
//! destinations, creating its network interfaces, tracing, mounting its file systems, decrypting
//! its environment. The rules are data (`data/runtime-requirements.tsv`, one row each with the
//! configuration that implies it and where it comes from); this module reads the table and turns a
//! function's configuration into the grants it implies, each on the narrowest resource the
//! configuration names.

use std::sync::OnceLock;

use crate::identity::{FunctionConfig, function_name_of};
use crate::model::{Conditions, add_condition};
use crate::wildcard::escape;

pub const RUNTIME_TSV: &str = include_str!("../data/runtime-requirements.tsv");

/// One row of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub id: String,
    /// `every-function`, `mapping:sqs`, `dead-letter:sns`, `vpc`, … (see the table's header).
    pub when: String,
    pub actions: Vec<String>,
    /// A template over `${Partition}` `${Region}` `${Account}` `${LogGroup}` `${Target}`
    /// `${SubnetId}` `${SecurityGroupId}`, or `*`.
    pub resource: String,
    /// The call is made from the function's execution environment (it carries
    /// `lambda:SourceFunctionArn`), not by Lambda's platform.
    pub in_environment: bool,
    /// `(operator, key, value template)`.
    pub condition: Option<(String, String, String)>,
    pub source: String,
}

/// A malformed row of the table (a test reads every row).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("data/runtime-requirements.tsv line {line}: {problem}")]
pub struct TableError {
    pub line: usize,
    pub problem: String,
}

/// Parses the table.
pub fn parse(text: &str) -> Result<Vec<Row>, TableError> {
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let err = |problem: &str| TableError {
            line: i + 1,
            problem: problem.to_string(),
        };
        let f: Vec<&str> = line.split('\t').collect();
        let [id, when, actions, resource, env, condition, source] = f.as_slice() else {
            return Err(err("expected 7 tab-separated columns"));
        };
        let in_environment = match *env {
            "yes" => true,
            "no" => false,
            _ => return Err(err("in-environment is `yes` or `no`")),
        };
        let condition = match *condition {
            "-" => None,
            c => {
                let parts: Vec<&str> = c.split(' ').collect();
                let [op, key, value] = parts.as_slice() else {
                    return Err(err("a condition is `OPERATOR KEY VALUE`"));
                };
                Some((op.to_string(), key.to_string(), value.to_string()))
            }
        };
        rows.push(Row {
            id: id.to_string(),
            when: when.to_string(),
            actions: actions.split(',').map(str::to_string).collect(),
            resource: resource.to_string(),
            in_environment,
            condition,
            source: source.to_string(),
        });
    }
    Ok(rows)
}

/// The embedded table (checked by the tests; a malformed row leaves it empty).
pub fn table() -> &'static [Row] {
    static TABLE: OnceLock<Vec<Row>> = OnceLock::new();
    TABLE.get_or_init(|| parse(RUNTIME_TSV).unwrap_or_default())
}

/// A grant the runtime needs, and why.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Requirement {
    /// The table row.
    pub id: String,
    pub actions: Vec<String>,
    pub resource: String,
    pub condition: Conditions,
    /// Made from the execution environment (carries `lambda:SourceFunctionArn`).
    pub in_environment: bool,
    /// The configuration that implies it: `LoggingConfig.LogGroup`,
    /// `EventSourceMappings[UUID].EventSourceArn`, `DeadLetterConfig.TargetArn`, …
    pub field: String,
    /// Where the requirement comes from (a managed policy, a developer guide page).
    pub source: String,
}

/// The function a requirement is for: its name, ARN (when known), account, and configuration
/// (when read).
#[derive(Debug, Clone, Copy)]
pub struct Function<'a> {
    pub name: &'a str,
    pub arn: Option<&'a str>,
    pub account: &'a str,
    pub config: Option<&'a FunctionConfig>,
}

/// The service of an ARN (`arn:aws:sqs:…` → `sqs`).
fn service(arn: &str) -> Option<&str> {
    arn.strip_prefix("arn:")?.split(':').nth(1)
}

/// `(partition, region, account)` of a function ARN; without one, `aws`, any region, and the
/// principal's account.
fn place<'a>(f: &Function<'a>) -> (&'a str, &'a str, &'a str) {
    if let Some(arn) = f.arn {
        let p: Vec<&str> = arn.splitn(6, ':').collect();
        if let [_, partition, "lambda", region, account, _] = p.as_slice()
            && !region.is_empty()
            && !account.is_empty()
        {
            return (partition, region, account);
        }
    }
    ("aws", "*", f.account)
}

/// A fact of the configuration: (the table's `when`, the field, the template variables).
type Fact = (String, String, Vec<(&'static str, String)>);

/// Every requirement of `f` that the table and its configuration imply. The log group is known
/// from the name alone, so every function gets its logs; the rest needs the configuration.
pub fn requirements(f: &Function<'_>) -> Vec<Requirement> {
    let (partition, region, account) = place(f);
    let name = function_name_of(f.name);
    let default_group = format!("/aws/lambda/{name}");
    let cfg = f.config;
    // (when, field, variables) for every fact of the configuration
    let mut facts: Vec<Fact> = Vec::new();
    match cfg.and_then(|c| c.log_group.as_deref()) {
        Some(g) => facts.push((
            "every-function".into(),
            "LoggingConfig.LogGroup".into(),
            vec![("LogGroup", g.to_string())],
        )),
        None => facts.push((
            "every-function".into(),
            format!("FunctionName (default log group {default_group})"),
            vec![("LogGroup", default_group)],
        )),
    }
    if let Some(c) = cfg {
        for m in &c.mappings {
            if let Some(src) = &m.source
                && let Some(svc) = service(src)
            {
                facts.push((
                    format!("mapping:{svc}"),
                    format!("EventSourceMappings[{}].EventSourceArn", m.uuid),
                    vec![("Target", src.clone())],
                ));
            }
            if let Some(d) = &m.on_failure
                && let Some(svc) = service(d)
            {
                facts.push((
                    format!("mapping-on-failure:{svc}"),
                    format!(
                        "EventSourceMappings[{}].DestinationConfig.OnFailure.Destination",
                        m.uuid
                    ),
                    vec![("Target", d.clone())],
                ));
            }
        }
        if let Some(t) = &c.dead_letter
            && let Some(svc) = service(t)
        {
            facts.push((
                format!("dead-letter:{svc}"),
                "DeadLetterConfig.TargetArn".into(),
                vec![("Target", t.clone())],
            ));
        }
        for (on, d) in &c.destinations {
            if let Some(svc) = service(d) {
                facts.push((
                    format!("destination:{svc}"),
                    format!("DestinationConfig.{on}.Destination"),
                    vec![("Target", d.clone())],
                ));
            }
        }
        if !c.subnets.is_empty() {
            facts.push(("vpc".into(), "VpcConfig.SubnetIds".into(), Vec::new()));
            for s in &c.subnets {
                facts.push((
                    "vpc-subnet".into(),
                    "VpcConfig.SubnetIds".into(),
                    vec![("SubnetId", s.clone())],
                ));
            }
            for g in &c.security_groups {
                facts.push((
                    "vpc-security-group".into(),
                    "VpcConfig.SecurityGroupIds".into(),
                    vec![("SecurityGroupId", g.clone())],
                ));
            }
        }
        if c.tracing_active {
            facts.push((
                "tracing-active".into(),
                "TracingConfig.Mode".into(),
                Vec::new(),
            ));
        }
        for ap in &c.file_systems {
            facts.push((
                "file-system".into(),
                "FileSystemConfigs[].Arn".into(),
                vec![("Target", ap.clone())],
            ));
        }
        if let Some(k) = &c.kms_key {
            facts.push((
                "kms-key".into(),
                "KMSKeyArn".into(),
                vec![("Target", k.clone())],
            ));
        }
    }
    let fill = |template: &str, vars: &[(&str, String)]| -> String {
        let mut out = template
            .replace("${Partition}", partition)
            .replace("${Region}", region)
            .replace("${Account}", account);
        for (k, v) in vars {
            // values are names, never patterns: a `*` in one is literal
            out = out.replace(&format!("${{{k}}}"), &escape(v));
        }
        out
    };
    let mut out = Vec::new();
    for (when, field, vars) in &facts {
        for row in table().iter().filter(|r| &r.when == when) {
            let mut condition = Conditions::new();
            if let Some((op, key, value)) = &row.condition {
                add_condition(&mut condition, op, key, fill(value, vars));
            }
            out.push(Requirement {
                id: row.id.clone(),
                actions: row.actions.clone(),
                resource: fill(&row.resource, vars),
                condition,
                in_environment: row.in_environment,
                field: field.clone(),
                source: row.source.clone(),
            });
        }
    }
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use crate::identity::EventSourceMapping;

    const ARN: &str = "arn:aws:lambda:eu-west-1:111122223333:function:orders-worker";

    fn of(config: &FunctionConfig) -> Vec<Requirement> {
        requirements(&Function {
            name: "orders-worker",
            arn: Some(ARN),
            account: "111122223333",
            config: Some(config),
        })
    }

    fn find<'a>(reqs: &'a [Requirement], id: &str) -> Vec<&'a Requirement> {
        reqs.iter().filter(|r| r.id == id).collect()
    }

    /// Every row: its actions are in the catalog, its resource is `*` only where an action has
    /// no resource type, and otherwise has the shape of one of the action's ARN formats.
    #[test]
    fn every_row_names_catalog_actions_and_fitting_resources() {
        let rows = match parse(RUNTIME_TSV) {
            Ok(r) => r,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(rows.len(), 21);
        let catalog = Catalog::embedded();
        for row in &rows {
            for a in &row.actions {
                let Some(def) = catalog.action_qualified(a) else {
                    panic!("{}: `{a}` is not in the catalog", row.id)
                };
                if row.resource == "*" {
                    assert!(
                        def.resources.is_empty(),
                        "{}: `{a}` has resource types, so `*` is too wide",
                        row.id
                    );
                } else if !row.resource.starts_with("${Target}") {
                    let service = row.resource.split(':').nth(2).unwrap_or("");
                    assert_eq!(service, def.prefix, "{}: `{a}` on another service", row.id);
                }
            }
            assert!(!row.source.is_empty(), "{}: no source", row.id);
        }
        let ids: std::collections::BTreeSet<&str> = rows.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids.len(), rows.len(), "ids are unique");
    }

    #[test]
    fn logs_for_every_function_on_its_own_group() {
        let r = requirements(&Function {
            name: "orders-api",
            arn: Some("arn:aws:lambda:eu-west-1:111122223333:function:orders-api"),
            account: "111122223333",
            config: None,
        });
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].actions, ["logs:CreateLogStream", "logs:PutLogEvents"]);
        assert_eq!(
            r[0].resource,
            "arn:aws:logs:eu-west-1:111122223333:log-group:/aws/lambda/orders-api:log-stream:*"
        );
        assert!(r[0].in_environment);
        let custom = of(&FunctionConfig {
            log_group: Some("/shop/orders".into()),
            ..FunctionConfig::default()
        });
        assert_eq!(custom[0].field, "LoggingConfig.LogGroup");
        assert!(
            custom[0]
                .resource
                .contains("log-group:/shop/orders:log-stream:*")
        );
        // no ARN: the principal's account, any region
        let r = requirements(&Function {
            name: "x",
            arn: None,
            account: "444455556666",
            config: None,
        });
        assert_eq!(
            r[0].resource,
            "arn:aws:logs:*:444455556666:log-group:/aws/lambda/x:log-stream:*"
        );
    }

    #[test]
    fn mappings_by_event_source() {
        let q = "arn:aws:sqs:eu-west-1:111122223333:orders";
        let k = "arn:aws:kinesis:eu-west-1:111122223333:stream/clicks";
        let d =
            "arn:aws:dynamodb:eu-west-1:111122223333:table/orders/stream/2026-11-01T00:00:00.000";
        let dlq = "arn:aws:sqs:eu-west-1:111122223333:orders-failed";
        let cfg = FunctionConfig {
            mappings: vec![
                EventSourceMapping {
                    uuid: "u1".into(),
                    source: Some(q.into()),
                    on_failure: None,
                },
                EventSourceMapping {
                    uuid: "u2".into(),
                    source: Some(k.into()),
                    on_failure: Some(dlq.into()),
                },
                EventSourceMapping {
                    uuid: "u3".into(),
                    source: Some(d.into()),
                    on_failure: Some("arn:aws:sns:eu-west-1:111122223333:alerts".into()),
                },
            ],
            ..FunctionConfig::default()
        };
        let r = of(&cfg);
        let sqs = find(&r, "sqs-mapping");
        assert_eq!(sqs.len(), 1);
        assert_eq!(sqs[0].resource, q);
        assert!(
            sqs[0]
                .actions
                .contains(&"sqs:GetQueueAttributes".to_string())
        );
        assert_eq!(sqs[0].field, "EventSourceMappings[u1].EventSourceArn");
        assert!(!sqs[0].in_environment);
        assert_eq!(find(&r, "kinesis-mapping")[0].resource, k);
        assert_eq!(find(&r, "kinesis-mapping-list")[0].resource, "*");
        assert_eq!(find(&r, "dynamodb-mapping")[0].resource, d);
        assert_eq!(find(&r, "dynamodb-mapping-list")[0].resource, "*");
        assert_eq!(find(&r, "mapping-on-failure-sqs")[0].resource, dlq);
        assert_eq!(find(&r, "mapping-on-failure-sns").len(), 1);
        let r = of(&FunctionConfig {
            dead_letter: Some("arn:aws:sqs:eu-west-1:111122223333:dlq".into()),
            ..FunctionConfig::default()
        });
        let dlq = find(&r, "dead-letter-sqs");
        assert_eq!(dlq[0].actions, ["sqs:SendMessage"]);
        assert_eq!(dlq[0].resource, "arn:aws:sqs:eu-west-1:111122223333:dlq");
    }

    #[test]
    fn dead_letter_destinations_vpc_tracing_efs_kms() {
        let cfg = FunctionConfig {
            dead_letter: Some("arn:aws:sns:eu-west-1:111122223333:dead".into()),
            destinations: vec![
                (
                    "OnSuccess".into(),
                    "arn:aws:events:eu-west-1:111122223333:event-bus/default".into(),
                ),
                (
                    "OnFailure".into(),
                    "arn:aws:lambda:eu-west-1:111122223333:function:on-failure".into(),
                ),
                (
                    "OnFailure".into(),
                    "arn:aws:sqs:eu-west-1:111122223333:async-failed".into(),
                ),
                (
                    "OnSuccess".into(),
                    "arn:aws:sns:eu-west-1:111122223333:async-done".into(),
                ),
            ],
            subnets: vec!["subnet-1".into(), "subnet-2".into()],
            security_groups: vec!["sg-1".into()],
            tracing_active: true,
            file_systems: vec![
                "arn:aws:elasticfilesystem:eu-west-1:111122223333:access-point/fsap-1".into(),
            ],
            kms_key: Some("arn:aws:kms:eu-west-1:111122223333:key/k1".into()),
            ..FunctionConfig::default()
        };
        let r = of(&cfg);
        assert_eq!(
            find(&r, "dead-letter-sns")[0].field,
            "DeadLetterConfig.TargetArn"
        );
        assert!(find(&r, "dead-letter-sqs").is_empty());
        for id in [
            "destination-events",
            "destination-lambda",
            "destination-sqs",
            "destination-sns",
        ] {
            assert_eq!(find(&r, id).len(), 1, "{id}");
        }
        assert_eq!(
            find(&r, "destination-lambda")[0].field,
            "DestinationConfig.OnFailure.Destination"
        );
        assert_eq!(find(&r, "vpc-describe")[0].resource, "*");
        assert_eq!(
            find(&r, "vpc-interfaces")[0].resource,
            "arn:aws:ec2:eu-west-1:111122223333:network-interface/*"
        );
        let subnets: Vec<&str> = find(&r, "vpc-subnet")
            .iter()
            .map(|r| r.resource.as_str())
            .collect();
        assert_eq!(
            subnets,
            [
                "arn:aws:ec2:eu-west-1:111122223333:subnet/subnet-1",
                "arn:aws:ec2:eu-west-1:111122223333:subnet/subnet-2"
            ]
        );
        assert_eq!(find(&r, "vpc-security-group").len(), 1);
        let xray = find(&r, "xray");
        assert!(xray[0].in_environment && xray[0].resource == "*");
        let efs = find(&r, "efs");
        assert_eq!(
            efs[0].resource,
            "arn:aws:elasticfilesystem:eu-west-1:111122223333:file-system/*"
        );
        assert_eq!(
            efs[0].condition["StringEquals"]["elasticfilesystem:AccessPointArn"]
                .iter()
                .next()
                .map(String::as_str),
            Some("arn:aws:elasticfilesystem:eu-west-1:111122223333:access-point/fsap-1")
        );
        assert_eq!(
            find(&r, "kms")[0].resource,
            "arn:aws:kms:eu-west-1:111122223333:key/k1"
        );
    }

    #[test]
    fn names_stay_literal() {
        let r = requirements(&Function {
            name: "a*b",
            arn: None,
            account: "1",
            config: None,
        });
        assert!(
            r[0].resource.contains("/aws/lambda/a${*}b:"),
            "{}",
            r[0].resource
        );
    }
}
