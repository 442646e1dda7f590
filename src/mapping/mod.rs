//! Record → the IAM actions it needed and the resources they were on.
//!
//! The order is fixed: strip an API-version suffix, apply the reviewed exception table
//! (`data/cloudtrail-exceptions.tsv`), else use `prefix:eventName` when the catalog has it,
//! else the event is unmapped. No action outside the catalog is ever produced.

mod derive;
mod extras;
pub mod pushdown;
mod resource;
mod tables;

pub use crate::record::strip_version;
use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::Rc;
use std::sync::OnceLock;

use serde::Serialize;
use serde_json::Value;

pub use resource::{Resolved, format_matches};
pub use tables::{
    ExceptionRow, HttpOperation, OnlyClass, OnlyRow, PassRoleRow, RowAction, Tables, TagRow, When,
};

use crate::catalog::{ActionDef, Catalog};
use crate::record::{Params, Record};

/// An event name as the tables spell it: without surrounding whitespace, first letter upper-case.
/// Real trails carry `GetObject ` and `getObject` now and then; the record keeps what was logged
/// (coverage lists it as it came), the mapping reads the normalized name.
pub fn normalize_name(name: &str) -> Cow<'_, str> {
    let t = name.trim();
    match t.chars().next() {
        Some(c) if c.is_ascii_lowercase() => {
            Cow::Owned(format!("{}{}", c.to_ascii_uppercase(), &t[1..]))
        }
        _ => Cow::Borrowed(t),
    }
}

/// An event source as the tables spell it: without surrounding whitespace (case is ignored by
/// every lookup).
pub fn normalize_source(source: &str) -> &str {
    source.trim()
}

/// The one class every record ends in.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Class {
    /// A successful call by the principal's own code.
    Mapped,
    /// A successful call AWS made on the principal's behalf with its credentials (`invokedBy`).
    ServiceMade,
    /// A call that needs no IAM permission.
    PermissionLess,
    /// Denied by IAM: never usage.
    Denied,
    /// Not an API call: service events, console sign-in, Insights.
    NotApiCall,
    /// No IAM action is known for it.
    Unmapped,
}

impl Class {
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Mapped => "mapped",
            Class::ServiceMade => "service-made",
            Class::PermissionLess => "permission-less",
            Class::Denied => "denied",
            Class::NotApiCall => "not-api-call",
            Class::Unmapped => "unmapped",
        }
    }
}

/// How the action was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum How {
    Direct,
    VersionStripped,
    Exception,
    /// A denied call's errorMessage named the action.
    ErrorMessage,
    None,
}

/// One action the call needed.
#[derive(Debug, Clone)]
pub struct Need {
    pub action: &'static ActionDef,
    pub resolved: Resolved,
    /// Conditions the grant can carry: (operator, key, value), e.g.
    /// (`StringEquals`, `iam:PassedToService`, `lambda.amazonaws.com`).
    pub conditions: crate::model::Conditions,
    /// The service that made this part of the call on the principal's behalf, when the record
    /// itself does not say so (KMS for an SSE-KMS object).
    pub via: Option<String>,
    /// Why the call needed it beyond its own action: `passrole`, `tag-on-create`,
    /// `set-on-create`, `sse-kms`.
    pub extra: Option<&'static str>,
}

impl Need {
    fn plain(action: &'static ActionDef, resolved: Resolved) -> Need {
        Need {
            action,
            resolved,
            conditions: crate::model::Conditions::new(),
            via: None,
            extra: None,
        }
    }
}

/// What a call needs, one action after another.
pub type Needs = smallvec::SmallVec<[Need; 1]>;

#[derive(Debug, Clone)]
pub struct Mapping {
    pub class: Class,
    pub how: How,
    /// Inline for one (most calls need one action): a `Vec` was an allocation a record.
    pub needs: Needs,
}

pub struct Mapper {
    catalog: &'static Catalog,
    tables: Tables,
}

impl Mapper {
    pub fn embedded() -> &'static Mapper {
        static MAPPER: OnceLock<Mapper> = OnceLock::new();
        MAPPER.get_or_init(|| Mapper {
            catalog: Catalog::embedded(),
            tables: Tables::embedded(),
        })
    }

    pub fn tables(&self) -> &Tables {
        &self.tables
    }

    pub fn catalog(&self) -> &'static Catalog {
        self.catalog
    }

    /// Was this call made by Lambda's platform with a function's execution role (environment
    /// variable decryption, VPC network interfaces, event-source polling), not by its code?
    /// `lambda_marker` is [`crate::identity::lambda_marker`] of the record, which the caller
    /// has already looked for.
    pub fn is_lambda_platform(&self, rec: &Record<'_>, lambda_marker: bool) -> bool {
        if rec.invoked_by() == Some("lambda.amazonaws.com") {
            return true;
        }
        // the function's own code (its SDK's user agent says so): no table lookup needed
        if lambda_marker {
            return false;
        }
        let name = normalize_name(rec.name());
        crate::catalog::lowercase(normalize_source(rec.source()), |source| {
            self.tables
                .lambda_platform
                .get(source)
                .is_some_and(|names| names.contains(strip_version(&name)))
        })
    }

    pub fn is_denied_code(&self, code: &str) -> bool {
        self.tables.is_denied(code)
    }

    /// Maps one record.
    pub fn map(&self, rec: &Record<'_>) -> Mapping {
        let params = rec.params();
        self.map_with(rec, params)
    }

    pub fn map_with(&self, rec: &Record<'_>, params: Option<&Params<'_>>) -> Mapping {
        let event_type = rec.event_type.as_deref().unwrap_or("");
        let source = normalize_source(rec.source());
        let name = normalize_name(rec.name());
        if matches!(
            event_type,
            "AwsServiceEvent" | "AwsConsoleSignIn" | "AwsCloudTrailInsight"
        ) || source.eq_ignore_ascii_case("signin.amazonaws.com")
        {
            return Mapping {
                class: Class::NotApiCall,
                how: How::None,
                needs: Needs::new(),
            };
        }
        let denied = rec
            .error_code
            .as_deref()
            .is_some_and(|c| self.tables.is_denied(c));
        if denied && let Some(need) = self.need_from_error_message(rec) {
            return Mapping {
                class: Class::Denied,
                how: How::ErrorMessage,
                needs: smallvec::smallvec![need],
            };
        }
        let plan = self.plan(rec.source(), rec.name());
        let choices = match &*plan {
            Plan::Only(only) => {
                let class = match (denied, only) {
                    (true, _) => Class::Denied,
                    (false, OnlyClass::PermissionLess) => Class::PermissionLess,
                    (false, OnlyClass::NotApiCall) => Class::NotApiCall,
                };
                return Mapping {
                    class,
                    how: How::Exception,
                    needs: Needs::new(),
                };
            }
            Plan::Choices(choices) => choices,
        };
        let resolver = resource::Resolver {
            catalog: self.catalog,
            tables: &self.tables,
        };
        // the first choice whose condition the request meets; none: unmapped
        let chosen = choices.iter().find(|c| match &c.when {
            When::Always => true,
            When::Param(p) => params
                .and_then(|m| m.get(p))
                .is_some_and(|v| !v.is_null() && v.as_str() != Some("")),
        });
        let (how, needs) = match chosen {
            None => (How::None, None),
            Some(c) => (
                c.how,
                match &c.found {
                    Found::Actions(list) => Some(
                        list.iter()
                            .map(|(def, role)| {
                                Need::plain(def, resolver.resolve(def, role, rec, params))
                            })
                            .collect(),
                    ),
                    Found::Derived(rule, actions) => Some(
                        derive::derive(rule, actions, &name, self, &resolver, rec, params).into(),
                    ),
                    Found::Http(op) => self
                        .pick_http_operation(op, params)
                        .and_then(|op| self.http_need(&op, rec, params))
                        .map(|n| smallvec::smallvec![n]),
                    Found::None => None,
                },
            ),
        };
        let class = if denied {
            Class::Denied
        } else {
            match &needs {
                None => Class::Unmapped,
                Some(v) if v.is_empty() => Class::PermissionLess,
                Some(_) if rec.invoked_by().is_some() => Class::ServiceMade,
                Some(_) => Class::Mapped,
            }
        };
        let mut needs = needs.unwrap_or_default();
        if matches!(class, Class::Mapped | Class::ServiceMade) {
            extras::add(self, &resolver, rec, (source, &name), params, &mut needs);
        }
        Mapping { class, how, needs }
    }

    /// API Gateway management calls: IAM authorizes them as `apigateway:<HTTP verb>` on the
    /// request path (`arn:aws:apigateway:REGION::/restapis/ID/…`).
    fn http_need(
        &self,
        op: &HttpOperation,
        rec: &Record<'_>,
        params: Option<&Params<'_>>,
    ) -> Option<Need> {
        let def = self.catalog.action("apigateway", &op.method)?;
        let path = op.uri.split('?').next().unwrap_or(&op.uri);
        let path = if op.service == "apigatewayv2" {
            path.strip_prefix("/v2").unwrap_or(path)
        } else {
            path
        };
        let mut out = String::new();
        let mut unresolved = BTreeSet::new();
        let mut rest = path;
        while let Some(i) = rest.find('{') {
            out.push_str(&rest[..i]);
            let Some(j) = rest[i..].find('}') else { break };
            let name = rest[i + 1..i + j].trim_end_matches('+');
            let value = http_param(name, params);
            match value {
                Some(v) => out.push_str(&crate::wildcard::escape(&v)),
                None => {
                    out.push('*');
                    unresolved.insert(format!("{{{name}}}"));
                }
            }
            rest = &rest[i + j + 1..];
        }
        out.push_str(rest);
        let region = rec.region();
        let partition = crate::arn::partition_for_region(region);
        let mut resolved = Resolved::default();
        resolved
            .resources
            .insert(format!("arn:{partition}:apigateway:{region}::{out}"));
        resolved.unresolved = unresolved.into_iter().collect();
        Some(Need::plain(def, resolved))
    }

    /// What an event of this source and name maps to before its parameters are read, from this
    /// thread's memo ([`PLANS`]): the catalog's and the tables' lookups are the same for every
    /// record of a kind, and a trail holds few kinds.
    fn plan(&self, source: &str, name: &str) -> Rc<Plan> {
        PLANS.with(|memo| {
            if let Some(plan) = memo.borrow().get(&Kind(source, name)) {
                return Rc::clone(plan);
            }
            let plan = Rc::new(self.plan_of(normalize_source(source), &normalize_name(name)));
            let mut memo = memo.borrow_mut();
            if memo.len() < MAX_PLANS {
                memo.insert((source.into(), name.into()), Rc::clone(&plan));
            }
            plan
        })
    }

    /// The plan for a kind (its source and name normalized): a CloudTrail-only event, or the
    /// choices a record of the kind can map to. Their order is the tables' (the first row whose
    /// `when` holds wins), for the name as logged and then without its API-version suffix:
    /// exception rows, then the catalog's `prefix:Name`, then API Gateway's HTTP operations;
    /// the first choice that needs no parameter ends the list.
    fn plan_of(&self, source: &str, name: &str) -> Plan {
        // Names CloudTrail records that are no API operation: console and sign-in flows, the
        // SSO portal, Cognito's hosted UI (data/cloudtrail-only-events.tsv).
        if let Some(row) = self.tables.cloudtrail_only(source, strip_version(name)) {
            return Plan::Only(row.class);
        }
        let mut choices = Vec::new();
        let Some(prefix) = self.catalog.prefix_for_event_source(source) else {
            return Plan::Choices(choices);
        };
        let stripped = strip_version(name);
        for (candidate, stripped_how) in [(name, false), (stripped, true)] {
            if stripped_how && candidate == name {
                continue;
            }
            for row in self.tables.exception_rows(source, candidate) {
                let mut out = Vec::new();
                for a in &row.actions {
                    // A row naming an action the catalog lacks is a table bug caught by the
                    // table tests; never emit it.
                    match self.catalog.action_qualified(&a.action) {
                        Some(def) => out.push((def, a.role.clone())),
                        None => {
                            out.clear();
                            break;
                        }
                    }
                }
                let (how, found) = if out.len() < row.actions.len() {
                    (How::None, Found::None)
                } else if let Some(d) = &row.derive {
                    (How::Exception, Found::Derived(d.clone(), out))
                } else {
                    (How::Exception, Found::Actions(out))
                };
                let always = row.when == When::Always;
                choices.push(Choice {
                    when: row.when.clone(),
                    how,
                    found,
                });
                if always {
                    return Plan::Choices(choices);
                }
            }
            let how = if stripped_how {
                How::VersionStripped
            } else {
                How::Direct
            };
            if let Some(def) = self.catalog.action(prefix, candidate) {
                choices.push(Choice::always(
                    how,
                    Found::Actions(vec![(def, "-".to_string())]),
                ));
                return Plan::Choices(choices);
            }
            if prefix == "apigateway" && !self.tables.http_operations(candidate).is_empty() {
                choices.push(Choice::always(
                    How::Exception,
                    Found::Http(candidate.to_string()),
                ));
                return Plan::Choices(choices);
            }
        }
        Plan::Choices(choices)
    }

    /// API Gateway v1 and v2 share operation names; take the one whose path parameters the
    /// request carries (v1 first).
    fn pick_http_operation(&self, op: &str, params: Option<&Params<'_>>) -> Option<HttpOperation> {
        let ops = self.tables.http_operations(op);
        ops.iter()
            .find(|o| {
                let mut rest = o.uri.as_str();
                while let Some(i) = rest.find('{') {
                    let Some(j) = rest[i..].find('}') else { break };
                    if http_param(rest[i + 1..i + j].trim_end_matches('+'), params).is_none() {
                        return false;
                    }
                    rest = &rest[i + j + 1..];
                }
                true
            })
            .or_else(|| ops.first())
            .cloned()
    }

    /// `… is not authorized to perform: ec2:GetPasswordData on resource: arn:…` names the action
    /// (and often the resource) exactly.
    fn need_from_error_message(&self, rec: &Record<'_>) -> Option<Need> {
        let msg = rec.error_message.as_deref()?;
        let after = msg.split("perform: ").nth(1)?;
        let action = after
            .split_whitespace()
            .next()?
            .trim_end_matches([',', '.', ';']);
        let def = self.catalog.action_qualified(action)?;
        let mut resolved = Resolved::default();
        let resource = after
            .split("on resource: ")
            .nth(1)
            .and_then(|r| r.split_whitespace().next())
            .map(|r| r.trim_end_matches([',', '.', ';']));
        match resource {
            Some("*") => {
                resolved.resources.insert("*".to_string());
            }
            Some(r) if r.starts_with("arn:") => {
                resolved
                    .resources
                    .insert(crate::wildcard::escape(r).into_owned());
            }
            _ => {
                let params = rec.params();
                let resolver = resource::Resolver {
                    catalog: self.catalog,
                    tables: &self.tables,
                };
                resolved = resolver.resolve(def, "-", rec, params);
            }
        }
        Some(Need::plain(def, resolved))
    }

    /// Every (eventSource, eventName) the exception table names for an action, for
    /// `catalog show`.
    pub fn events_for_action(&self, qualified: &str) -> BTreeSet<(String, String)> {
        self.tables
            .all_exceptions()
            .filter(|r| {
                r.actions
                    .iter()
                    .any(|a| a.action.eq_ignore_ascii_case(qualified))
            })
            .map(|r| (r.event_source.clone(), r.event_name.clone()))
            .collect()
    }
}

/// What every event of one source and name maps to, before its parameters are read.
enum Plan {
    /// A CloudTrail-only event (no API operation), of this class unless denied.
    Only(OnlyClass),
    /// The first choice whose condition the request meets; unmapped when none does.
    Choices(Vec<Choice>),
}

/// One thing a kind can map to, and when.
struct Choice {
    when: When,
    how: How,
    found: Found,
}

impl Choice {
    fn always(how: How, found: Found) -> Choice {
        Choice {
            when: When::Always,
            how,
            found,
        }
    }
}

/// A `(Box<str>, Box<str>)` key as two borrowed strings; hashes as the tuple does.
#[derive(Hash)]
struct Kind<'a>(&'a str, &'a str);

impl hashbrown::Equivalent<(Box<str>, Box<str>)> for Kind<'_> {
    fn equivalent(&self, key: &(Box<str>, Box<str>)) -> bool {
        self.0 == &*key.0 && self.1 == &*key.1
    }
}

/// Kinds a thread remembers; past this (a trail of garbage event names) the rest are looked up
/// per record, so the memo stays small whatever the input.
const MAX_PLANS: usize = 4096;

/// Plans by event source and event name as logged.
type Plans = hashbrown::HashMap<(Box<str>, Box<str>), Rc<Plan>>;

thread_local! {
    /// Each thread's plans, by event source and event name as logged (see [`Mapper::plan`]).
    /// There is one mapper ([`Mapper::embedded`]), so the plans are its.
    static PLANS: RefCell<Plans> = RefCell::new(Plans::new());
}

/// What the event maps to, before resources are resolved.
enum Found {
    Actions(Vec<(&'static ActionDef, String)>),
    /// A named rule, with the actions its row names (if any).
    Derived(String, Vec<(&'static ActionDef, String)>),
    /// An API Gateway operation, v1 or v2, picked by the path parameters the request carries.
    Http(String),
    None,
}

/// A path parameter of a REST URI (`restapi_id`, `apiId`) from requestParameters (`restApiId`).
fn http_param(name: &str, params: Option<&Params<'_>>) -> Option<String> {
    let params = params?;
    let mut camel = String::new();
    let mut up = false;
    for c in name.chars() {
        if c == '_' {
            up = true;
        } else if up {
            camel.extend(c.to_uppercase());
            up = false;
        } else {
            camel.push(c);
        }
    }
    let alt = camel.replace("restapiId", "restApiId");
    [name, camel.as_str(), alt.as_str()]
        .iter()
        .find_map(|k| params.get(k).and_then(Value::as_str))
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The actions and resources `m` maps a successful call to.
    fn mapped(source: &str, name: &str, params: Value) -> Vec<(String, Vec<String>)> {
        let text = serde_json::json!({
            "eventVersion": "1.09", "eventTime": "2026-11-02T10:00:00Z",
            "userIdentity": {"type": "IAMUser", "accountId": "111122223333",
                "arn": "arn:aws:iam::111122223333:user/u"},
            "eventSource": source, "eventName": name, "awsRegion": "eu-west-1",
            "requestParameters": params, "eventID": "e", "eventType": "AwsApiCall",
            "recipientAccountId": "111122223333"
        })
        .to_string();
        let rec: Record<'_> = serde_json::from_str(&text).unwrap();
        Mapper::embedded()
            .map(&rec)
            .needs
            .iter()
            .map(|n| {
                let resources = n.resolved.resources.iter().cloned().collect();
                (n.action.qualified().to_string(), resources)
            })
            .collect()
    }

    /// A kind's plan is made once per thread, and keeps every choice that reads a parameter:
    /// records of one kind with different parameters map differently, whichever came first.
    #[test]
    fn one_plan_per_kind_still_reads_each_records_parameters() {
        let s3 = "s3.amazonaws.com";
        let versioned = || {
            mapped(
                s3,
                "GetObject",
                serde_json::json!({"bucketName": "b", "key": "k", "versionId": "v1"}),
            )
        };
        let plain = || {
            mapped(
                s3,
                "GetObject",
                serde_json::json!({"bucketName": "b", "key": "k"}),
            )
        };
        let api = "apigateway.amazonaws.com";
        let v1 = || {
            mapped(
                api,
                "GetStage",
                serde_json::json!({"restApiId": "r1", "stageName": "s"}),
            )
        };
        let v2 = || {
            mapped(
                api,
                "GetStage",
                serde_json::json!({"apiId": "h1", "stageName": "s"}),
            )
        };
        let object = vec!["arn:aws:s3:::b/k".to_string()];
        let expected = [
            vec![("s3:GetObjectVersion".to_string(), object.clone())],
            vec![("s3:GetObject".to_string(), object)],
            vec![(
                "apigateway:GET".to_string(),
                vec!["arn:aws:apigateway:eu-west-1::/restapis/r1/stages/s".to_string()],
            )],
            vec![(
                "apigateway:GET".to_string(),
                vec!["arn:aws:apigateway:eu-west-1::/apis/h1/stages/s".to_string()],
            )],
        ];
        // each order on a thread of its own, whose memo starts empty
        for forward in [true, false] {
            std::thread::spawn(move || {
                let got = if forward {
                    [versioned(), plain(), v1(), v2()]
                } else {
                    let (p, v, b, a) = (plain(), versioned(), v2(), v1());
                    [v, p, a, b]
                };
                // and again, from the memo
                assert_eq!(got, [versioned(), plain(), v1(), v2()]);
                got
            })
            .join()
            .map(|got| assert_eq!(got, expected))
            .unwrap();
        }
    }

    /// The memo holds at most `MAX_PLANS` kinds per thread; kinds past it are mapped all the
    /// same. A name as logged (`getObject `) is one kind, mapped as its normalized name.
    #[test]
    fn the_plan_memo_stays_small_whatever_the_input() {
        std::thread::spawn(|| {
            for i in 0..MAX_PLANS + 10 {
                assert!(
                    mapped("s3.amazonaws.com", &format!("Made Up {i}"), Value::Null).is_empty()
                );
            }
            assert_eq!(PLANS.with(|m| m.borrow().len()), MAX_PLANS);
            let object = serde_json::json!({"bucketName": "b", "key": "k"});
            assert_eq!(
                mapped("s3.amazonaws.com", "getObject ", object),
                [(
                    "s3:GetObject".to_string(),
                    vec!["arn:aws:s3:::b/k".to_string()]
                )]
            );
        })
        .join()
        .unwrap();
    }

    #[test]
    fn version_suffixes() {
        assert_eq!(strip_version("ListFunctions20150331"), "ListFunctions");
        assert_eq!(
            strip_version("UpdateFunctionCode20150331v2"),
            "UpdateFunctionCode"
        );
        assert_eq!(
            strip_version("GetDistribution2020_05_31"),
            "GetDistribution"
        );
        assert_eq!(strip_version("GetObject"), "GetObject");
        assert_eq!(strip_version("Ec2v2"), "Ec2v2");
        assert_eq!(strip_version("20150331"), "20150331");
        assert_eq!(strip_version("PutItem1"), "PutItem1");
    }

    #[test]
    fn tables_parse_cleanly_and_name_catalog_actions() {
        let m = Mapper::embedded();
        assert!(
            m.tables().malformed.is_empty(),
            "{:?}",
            m.tables().malformed
        );
        for row in m.tables().all_exceptions() {
            assert!(
                !row.note.trim().is_empty(),
                "line {} has no source note",
                row.line
            );
            assert!(
                m.catalog()
                    .prefix_for_event_source(&row.event_source)
                    .is_some(),
                "line {}: unknown event source",
                row.line
            );
            for a in &row.actions {
                assert!(
                    m.catalog().action_qualified(&a.action).is_some(),
                    "line {}: `{}` is not in the catalog",
                    row.line,
                    a.action
                );
            }
        }
    }
}
