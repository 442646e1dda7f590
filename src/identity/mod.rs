//! Record → principal. A Lambda function runs its code under the assumed-role session
//! `assumed-role/<role>/<function-name>`, so functions that share a role are told apart by
//! session name once something shows the session is a function's execution-role session: the
//! function inventory, Lambda's own AssumeRole of the role, the trail's CreateFunction /
//! UpdateFunctionConfiguration with that role, or, weaker, the `exec-env/AWS_Lambda_` user-agent
//! marker or an Invoke of that name. A session a function's code reached by assuming another
//! role (role chaining) is that role's, never a new function: see [`chain`].

pub mod chain;

pub use chain::{Attribution, ChainFacts, RoleKey, SessionIs, SessionSeen};

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Serialize;

use crate::record::Record;

/// The user-agent marker of a call made from a Lambda execution environment (the runtime's
/// SDK adds `exec-env/AWS_Lambda_<runtime>`).
pub const LAMBDA_MARKER: &str = "exec-env/AWS_Lambda_";

/// The marker's searcher, built once (every record's user agent is searched).
static MARKER_FINDER: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new(LAMBDA_MARKER));

/// Did the call come from inside a Lambda function (its user agent carries [`LAMBDA_MARKER`])?
/// The one place the marker is checked: the read asks once a record
/// (`usage::collect::take`) and hands the answer to attribution, the aggregation and the
/// platform-call rule of the mapping.
pub fn lambda_marker(rec: &Record<'_>) -> bool {
    rec.user_agent
        .as_deref()
        .is_some_and(|ua| MARKER_FINDER.find(ua.as_bytes()).is_some())
}

/// The kinds of principal a policy is written for, plus the kinds that never get one.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum PrincipalKind {
    Function,
    Role,
    User,
    Root,
    Federated,
}

impl PrincipalKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PrincipalKind::Function => "function",
            PrincipalKind::Role => "role",
            PrincipalKind::User => "user",
            PrincipalKind::Root => "root",
            PrincipalKind::Federated => "federated",
        }
    }
}

impl fmt::Display for PrincipalKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who made a call, as far as one record shows: [`Actor`] with owned strings, [`ActorRef`]
/// borrowing from the record (what is built for every record, and allocates only when the
/// aggregate meets the actor for the first time). Both hash alike, field by field.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ActorOf<S> {
    /// An assumed-role session: a function, or a plain session of the role.
    Session {
        account: S,
        role_arn: S,
        session: S,
    },
    /// The sessions of a role named `<base>-<Unix time>` ([`chain::timestamped`]): one per
    /// AssumeRole, never a function's execution-role session, so they count once per role and
    /// `<base>` however many there are.
    Stamped {
        account: S,
        role_arn: S,
        base: S,
    },
    /// An assumed-role session that cannot be a function (its name is not a function name).
    Role {
        account: S,
        role_arn: S,
    },
    User {
        account: S,
        arn: S,
    },
    Root {
        account: S,
    },
    Federated {
        account: S,
        arn: S,
    },
}

pub type Actor = ActorOf<String>;
pub type ActorRef<'r> = ActorOf<Cow<'r, str>>;

impl ActorRef<'_> {
    pub fn into_owned(self) -> Actor {
        let o = |s: Cow<'_, str>| s.into_owned();
        match self {
            ActorOf::Session {
                account,
                role_arn,
                session,
            } => ActorOf::Session {
                account: o(account),
                role_arn: o(role_arn),
                session: o(session),
            },
            ActorOf::Stamped {
                account,
                role_arn,
                base,
            } => ActorOf::Stamped {
                account: o(account),
                role_arn: o(role_arn),
                base: o(base),
            },
            ActorOf::Role { account, role_arn } => ActorOf::Role {
                account: o(account),
                role_arn: o(role_arn),
            },
            ActorOf::User { account, arn } => ActorOf::User {
                account: o(account),
                arn: o(arn),
            },
            ActorOf::Root { account } => ActorOf::Root {
                account: o(account),
            },
            ActorOf::Federated { account, arn } => ActorOf::Federated {
                account: o(account),
                arn: o(arn),
            },
        }
    }
}

impl hashbrown::Equivalent<Actor> for ActorRef<'_> {
    fn equivalent(&self, key: &Actor) -> bool {
        use ActorOf as A;
        match (self, key) {
            (
                A::Session {
                    account,
                    role_arn,
                    session,
                },
                A::Session {
                    account: a,
                    role_arn: r,
                    session: s,
                },
            ) => account == a && role_arn == r && session == s,
            (
                A::Stamped {
                    account,
                    role_arn,
                    base,
                },
                A::Stamped {
                    account: a,
                    role_arn: r,
                    base: b,
                },
            ) => account == a && role_arn == r && base == b,
            (
                A::Role { account, role_arn },
                A::Role {
                    account: a,
                    role_arn: r,
                },
            ) => account == a && role_arn == r,
            (A::User { account, arn }, A::User { account: a, arn: r })
            | (A::Federated { account, arn }, A::Federated { account: a, arn: r }) => {
                account == a && arn == r
            }
            (A::Root { account }, A::Root { account: a }) => account == a,
            _ => false,
        }
    }
}

/// Why a record has no principal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum NoActor {
    /// `userIdentity.type` `AWSService`: AWS itself, never a principal.
    AwsService,
    /// Another account, an anonymous caller, or an identity type with no policy of its own.
    Other,
}

/// Lambda function names: 1–64 of letters, digits, `-` and `_`.
pub fn is_function_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Session names that a Lambda function's session never has, though they are valid function
/// names: EC2 instance-profile sessions (the instance id, `i-` and 8 or 17 hex digits), ECS task
/// sessions (the task id, 32 hex digits), and boto3's default AssumeRole session
/// (`botocore-session-` and a Unix time). Such sessions are folded into their role as they are
/// read ([`fold_sessions`]), so a fleet of instances costs one principal, not one per instance.
pub fn is_never_a_function(session: &str) -> bool {
    let hex = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    if let Some(id) = session.strip_prefix("i-") {
        return (id.len() == 8 || id.len() == 17) && hex(id);
    }
    if let Some(t) = session.strip_prefix("botocore-session-") {
        return !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    }
    session.len() == 32 && hex(session)
}

/// Folds the sessions that are never a function's as records are read, unless the function
/// inventory (`known`) names them: an instance's, a task's or boto3's into their role (unless
/// the record carries Lambda's user-agent marker), and those named `<base>-<Unix time>` near
/// `time`, the call's ([`chain::timestamped`]; a call without a time folds none of these), into one [`ActorOf::Stamped`] per role and base.
/// So a fleet of instances, or an AssumeRole per invocation, costs one actor.
pub fn fold_sessions<'r>(
    actor: ActorRef<'r>,
    known: &BTreeSet<String>,
    lambda_marker: bool,
    time: Option<chrono::DateTime<chrono::Utc>>,
) -> ActorRef<'r> {
    match actor {
        ActorOf::Session {
            account,
            role_arn,
            session,
        } => {
            let never = !lambda_marker && is_never_a_function(&session);
            let stamped = if never {
                None
            } else {
                time.and_then(|t| chain::timestamped(&session, t))
                    .map(str::len)
            };
            if !(never || stamped.is_some()) || known.contains(session.as_ref()) {
                return ActorOf::Session {
                    account,
                    role_arn,
                    session,
                };
            }
            match stamped {
                Some(len) => ActorOf::Stamped {
                    account,
                    role_arn,
                    base: chain::cut_to(session, len),
                },
                None => ActorOf::Role { account, role_arn },
            }
        }
        other => other,
    }
}

/// The last path segment of a role ARN: `arn:aws:iam::1:role/path/name` → `name`.
pub fn role_name(role_arn: &str) -> &str {
    role_arn
        .split_once(":role/")
        .map_or(role_arn, |(_, r)| r.rsplit('/').next().unwrap_or(r))
}

/// The account of a role ARN (`arn:aws:iam::ACCOUNT:role/…`); empty when it has none.
pub fn role_account(role_arn: &str) -> &str {
    role_arn.split(':').nth(4).unwrap_or("")
}

/// Attributes one record.
pub fn actor<'r>(rec: &'r Record<'_>) -> Result<ActorRef<'r>, NoActor> {
    let Some(id) = rec.user_identity.as_ref() else {
        return Err(NoActor::Other);
    };
    let account: &'r str = id
        .account_id
        .as_deref()
        .filter(|a| !a.is_empty())
        .unwrap_or_else(|| rec.account());
    let arn = id.arn.as_deref().unwrap_or("");
    let b = Cow::Borrowed;
    match id.kind.as_deref().unwrap_or("") {
        "AWSService" => Err(NoActor::AwsService),
        "AssumedRole" => {
            let issuer = id
                .session_context
                .as_ref()
                .and_then(|c| c.session_issuer.as_ref());
            // arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION
            const MARK: &str = ":assumed-role/";
            static ASSUMED_ROLE: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
                std::sync::LazyLock::new(|| memchr::memmem::Finder::new(MARK));
            let (role_from_arn, mut session) = ASSUMED_ROLE
                .find(arn.as_bytes())
                .and_then(|i| arn.get(i + MARK.len()..))
                // (memchr: `split_once` builds a char searcher each record)
                .and_then(|r| {
                    let at = memchr::memchr(b'/', r.as_bytes())?;
                    Some((r.get(..at)?, r.get(at + 1..)?))
                })
                .map_or(("", ""), |(r, s)| (r, s));
            if arn.is_empty() {
                // An export without `arn` (it is derived, so some drop it): the session is the
                // part of `principalId` after the role's id, `AROA…:SESSION`.
                session = id
                    .principal_id
                    .as_deref()
                    .and_then(|p| p.split_once(':'))
                    .map_or("", |(_, s)| s);
            }
            let role_arn = match issuer.and_then(|i| i.arn.as_deref()) {
                Some(a) if !a.is_empty() => b(a),
                _ if !role_from_arn.is_empty() => {
                    let partition = arn.split(':').nth(1).unwrap_or("aws");
                    Cow::Owned(format!(
                        "arn:{partition}:iam::{account}:role/{role_from_arn}"
                    ))
                }
                _ => return Err(NoActor::Other),
            };
            if is_function_name(session) {
                Ok(ActorOf::Session {
                    account: b(account),
                    role_arn,
                    session: b(session),
                })
            } else {
                Ok(ActorOf::Role {
                    account: b(account),
                    role_arn,
                })
            }
        }
        "IAMUser" if !arn.is_empty() => Ok(ActorOf::User {
            account: b(account),
            arn: b(arn),
        }),
        "Root" => Ok(ActorOf::Root {
            account: b(account),
        }),
        "FederatedUser" if !arn.is_empty() => Ok(ActorOf::Federated {
            account: b(account),
            arn: b(arn),
        }),
        _ => Err(NoActor::Other),
    }
}

/// What shows that a session is a Lambda function, or is not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FunctionFacts {
    /// (role ARN, function name) from CreateFunction / UpdateFunctionConfiguration.
    pub declared: BTreeSet<(String, String)>,
    /// Function names that were the target of an Invoke.
    pub invoked: BTreeSet<String>,
    /// What the AssumeRole calls show: execution-role sessions and role chaining.
    pub chains: ChainFacts,
}

impl FunctionFacts {
    /// Learns from a successful Lambda management or Invoke call, or an AssumeRole.
    pub fn observe(&mut self, rec: &Record<'_>, params: Option<&crate::record::Params<'_>>) {
        self.chains.observe(rec, params);
        if !rec.source().eq_ignore_ascii_case("lambda.amazonaws.com") || rec.error_code.is_some() {
            return;
        }
        let Some(p) = params else { return };
        let Some(func) = p.get_str("functionName") else {
            return;
        };
        let name = function_name_of(func);
        let event = crate::record::strip_version(rec.name());
        match event {
            "CreateFunction" | "UpdateFunctionConfiguration" => {
                if let Some(role) = p.get_str("role") {
                    self.declared.insert((role.to_string(), name.to_string()));
                }
            }
            // copied only the first time: a function is invoked again and again
            "Invoke" | "InvokeAsync" | "InvokeWithResponseStream"
                if !self.invoked.contains(name) =>
            {
                self.invoked.insert(name.to_string());
            }
            _ => {}
        }
    }

    pub fn merge(&mut self, other: FunctionFacts) {
        self.declared.extend(other.declared);
        self.invoked.extend(other.invoked);
        self.chains.merge(other.chains);
    }
}

/// `name`, `name:qualifier`, `ACCOUNT:function:name` or a full ARN → `name`.
pub fn function_name_of(s: &str) -> &str {
    let s = s.split_once(":function:").map_or(s, |(_, r)| r);
    s.split(':').next().unwrap_or(s)
}

/// The function inventory: names, roles and configuration, from `aws lambda list-functions`,
/// `get-function(-configuration)`, `list-event-source-mappings` and
/// `list-function-event-invoke-configs` output (or the same calls made live).
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    /// function name → what is known of it
    pub functions: BTreeMap<String, InventoryFunction>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InventoryFunction {
    pub name: String,
    pub arn: Option<String>,
    pub role: Option<String>,
    /// What the function's configuration implies for its role at run time.
    pub config: FunctionConfig,
}

/// The parts of a function's configuration that the Lambda runtime and platform act on with the
/// execution role (see `data/runtime-requirements.tsv`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FunctionConfig {
    /// `LoggingConfig.LogGroup`, when not the default `/aws/lambda/NAME`.
    pub log_group: Option<String>,
    /// `DeadLetterConfig.TargetArn`.
    pub dead_letter: Option<String>,
    /// `VpcConfig.SubnetIds` and `VpcConfig.SecurityGroupIds`.
    pub subnets: Vec<String>,
    pub security_groups: Vec<String>,
    /// `TracingConfig.Mode` is `Active`.
    pub tracing_active: bool,
    /// `FileSystemConfigs[].Arn`: EFS access points.
    pub file_systems: Vec<String>,
    /// `KMSKeyArn`: the key of the environment variables.
    pub kms_key: Option<String>,
    /// Event-source mappings of the function.
    pub mappings: Vec<EventSourceMapping>,
    /// Asynchronous-invocation destinations: (`OnSuccess` or `OnFailure`, ARN).
    pub destinations: Vec<(String, String)>,
    /// A configuration object of the function was read (not only a mapping or an invoke
    /// config naming it).
    pub known: bool,
}

/// What one function configuration (`list-functions`' `Functions[]`, `get-function`'s
/// `Configuration`, ListFunctions' `FunctionConfiguration`) says, parsed; `None` for what it does
/// not carry. [`FunctionConfig::apply`] adds it to what is known.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigurationFields {
    /// `LoggingConfig.LogGroup`.
    pub log_group: Option<String>,
    /// `DeadLetterConfig.TargetArn`.
    pub dead_letter: Option<String>,
    /// `VpcConfig`, when present: (`SubnetIds`, `SecurityGroupIds`).
    pub vpc: Option<(Vec<String>, Vec<String>)>,
    /// `TracingConfig.Mode` is `Active`.
    pub tracing_active: bool,
    /// `FileSystemConfigs[].Arn`, when `FileSystemConfigs` is present.
    pub file_systems: Option<Vec<String>>,
    /// `KMSKeyArn`.
    pub kms_key: Option<String>,
}

impl FunctionConfig {
    /// Adds one configuration of the function: what it carries replaces what an earlier one
    /// said (active tracing stays once seen), and the function is then `known`.
    pub fn apply(&mut self, c: ConfigurationFields) {
        self.known = true;
        if c.log_group.is_some() {
            self.log_group = c.log_group;
        }
        if c.dead_letter.is_some() {
            self.dead_letter = c.dead_letter;
        }
        if let Some((subnets, security_groups)) = c.vpc {
            self.subnets = subnets;
            self.security_groups = security_groups;
        }
        self.tracing_active |= c.tracing_active;
        if let Some(fs) = c.file_systems {
            self.file_systems = fs;
        }
        if c.kms_key.is_some() {
            self.kms_key = c.kms_key;
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventSourceMapping {
    pub uuid: String,
    pub source: Option<String>,
    pub on_failure: Option<String>,
}

/// A function inventory file that cannot be read as one of the shapes `--functions` takes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ShapeError(pub String);

const SHAPES: &str = "`aws lambda list-functions`, `get-function`, `get-function-configuration`, `list-event-source-mappings`, `get-event-source-mapping`, `list-function-event-invoke-configs` or `get-function-event-invoke-config` output";

fn s(v: &serde_json::Value, k: &str) -> Option<String> {
    v.get(k)
        .and_then(|x| x.as_str())
        .filter(|x| !x.is_empty())
        .map(str::to_string)
}

fn strings(v: Option<&serde_json::Value>) -> Vec<String> {
    v.and_then(|x| x.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

impl Inventory {
    /// Parses `aws lambda list-functions` output (one document, or several concatenated pages),
    /// or any other shape [`Inventory::read`] takes.
    pub fn parse(text: &str) -> Result<Inventory, ShapeError> {
        let mut inv = Inventory::default();
        inv.read(text)?;
        Ok(inv)
    }

    /// Adds what one file holds, recognized by its shape (see [`SHAPES`]); several documents
    /// (pages) may follow each other.
    pub fn read(&mut self, text: &str) -> Result<(), ShapeError> {
        let mut any = false;
        for doc in serde_json::Deserializer::from_str(text).into_iter::<serde_json::Value>() {
            let doc = doc.map_err(|e| ShapeError(crate::diag::serde_reason(&e)))?;
            self.read_value(&doc)?;
            any = true;
        }
        if any {
            Ok(())
        } else {
            Err(ShapeError(format!("empty; expected {SHAPES}")))
        }
    }

    fn read_value(&mut self, v: &serde_json::Value) -> Result<(), ShapeError> {
        let Some(obj) = v.as_object() else {
            return Err(ShapeError(format!("not a JSON object; expected {SHAPES}")));
        };
        if let Some(fs) = obj.get("Functions") {
            let fs = fs
                .as_array()
                .ok_or_else(|| ShapeError("`Functions` is not an array".into()))?;
            for f in fs {
                self.add_configuration(f)?;
            }
        } else if let Some(c) = obj.get("Configuration") {
            self.add_configuration(c)?;
        } else if obj.contains_key("FunctionName") && !obj.contains_key("UUID") {
            self.add_configuration(v)?;
        } else if let Some(ms) = obj.get("EventSourceMappings") {
            let ms = ms
                .as_array()
                .ok_or_else(|| ShapeError("`EventSourceMappings` is not an array".into()))?;
            for m in ms {
                self.add_mapping(m)?;
            }
        } else if obj.contains_key("UUID") {
            self.add_mapping(v)?;
        } else if let Some(cs) = obj.get("FunctionEventInvokeConfigs") {
            let cs = cs
                .as_array()
                .ok_or_else(|| ShapeError("`FunctionEventInvokeConfigs` is not an array".into()))?;
            for c in cs {
                self.add_invoke_config(c)?;
            }
        } else if obj.contains_key("FunctionArn") && obj.contains_key("DestinationConfig") {
            self.add_invoke_config(v)?;
        } else {
            return Err(ShapeError(format!(
                "an object with none of `Functions`, `Configuration`, `FunctionName`, `EventSourceMappings`, `UUID`, `FunctionEventInvokeConfigs`; expected {SHAPES}"
            )));
        }
        Ok(())
    }

    /// The entry of the function a name or ARN names (a qualified ARN is the function's), made
    /// when new; a new ARN is kept without its qualifier.
    pub fn entry(&mut self, name_or_arn: &str) -> &mut InventoryFunction {
        let name = function_name_of(name_or_arn).to_string();
        let f = self
            .functions
            .entry(name.clone())
            .or_insert_with(|| InventoryFunction {
                name,
                ..InventoryFunction::default()
            });
        if f.arn.is_none() && name_or_arn.starts_with("arn:") {
            // without the qualifier (`:live`, `:3`)
            let base = match name_or_arn.split_once(":function:") {
                Some((head, rest)) => format!("{head}:function:{}", function_name_of(rest)),
                None => name_or_arn.to_string(),
            };
            f.arn = Some(base);
        }
        f
    }

    /// One function's configuration (`list-functions`' `Functions[]`, `get-function`'s
    /// `Configuration`, `get-function-configuration`).
    fn add_configuration(&mut self, c: &serde_json::Value) -> Result<(), ShapeError> {
        let name = s(c, "FunctionName")
            .or_else(|| s(c, "FunctionArn"))
            .ok_or_else(|| ShapeError("a function without `FunctionName`".into()))?;
        let arn = s(c, "FunctionArn");
        let role = s(c, "Role");
        let f = self.entry(arn.as_deref().unwrap_or(&name));
        if f.name != function_name_of(&name) {
            return Err(ShapeError(format!(
                "`FunctionName` `{name}` and `FunctionArn` disagree"
            )));
        }
        if role.is_some() {
            f.role = role;
        }
        f.config.apply(ConfigurationFields {
            log_group: c.get("LoggingConfig").and_then(|l| s(l, "LogGroup")),
            dead_letter: c.get("DeadLetterConfig").and_then(|d| s(d, "TargetArn")),
            vpc: c.get("VpcConfig").map(|vpc| {
                (
                    strings(vpc.get("SubnetIds")),
                    strings(vpc.get("SecurityGroupIds")),
                )
            }),
            tracing_active: c
                .get("TracingConfig")
                .and_then(|t| s(t, "Mode"))
                .is_some_and(|m| m.eq_ignore_ascii_case("Active")),
            file_systems: c
                .get("FileSystemConfigs")
                .and_then(|x| x.as_array())
                .map(|fsc| fsc.iter().filter_map(|x| s(x, "Arn")).collect()),
            kms_key: s(c, "KMSKeyArn"),
        });
        Ok(())
    }

    /// One event-source mapping (`list-event-source-mappings`' `EventSourceMappings[]`,
    /// `get-event-source-mapping`).
    fn add_mapping(&mut self, m: &serde_json::Value) -> Result<(), ShapeError> {
        let function = s(m, "FunctionArn")
            .ok_or_else(|| ShapeError("an event-source mapping without `FunctionArn`".into()))?;
        self.add_mapping_fields(
            &function,
            s(m, "UUID").unwrap_or_default(),
            s(m, "EventSourceArn"),
            m.get("DestinationConfig")
                .and_then(|d| d.get("OnFailure"))
                .and_then(|o| s(o, "Destination")),
        );
        Ok(())
    }

    /// One event-source mapping of the function `function_arn` names (its `UUID`,
    /// `EventSourceArn` and `DestinationConfig.OnFailure.Destination`), once.
    pub fn add_mapping_fields(
        &mut self,
        function_arn: &str,
        uuid: String,
        source: Option<String>,
        on_failure: Option<String>,
    ) {
        let mapping = EventSourceMapping {
            uuid,
            source,
            on_failure,
        };
        let f = self.entry(function_arn);
        if !f.config.mappings.contains(&mapping) {
            f.config.mappings.push(mapping);
        }
    }

    /// One asynchronous-invocation configuration (`list-function-event-invoke-configs`' entries,
    /// `get-function-event-invoke-config`).
    fn add_invoke_config(&mut self, c: &serde_json::Value) -> Result<(), ShapeError> {
        let function = s(c, "FunctionArn")
            .ok_or_else(|| ShapeError("an event invoke config without `FunctionArn`".into()))?;
        let [on_success, on_failure] = ["OnSuccess", "OnFailure"].map(|on| {
            c.get("DestinationConfig")
                .and_then(|d| d.get(on))
                .and_then(|o| s(o, "Destination"))
        });
        self.add_destination_fields(&function, on_success, on_failure);
        Ok(())
    }

    /// The asynchronous-invocation destinations of one event invoke config of the function
    /// `function_arn` names (`DestinationConfig.OnSuccess.Destination` and
    /// `DestinationConfig.OnFailure.Destination`), each once.
    pub fn add_destination_fields(
        &mut self,
        function_arn: &str,
        on_success: Option<String>,
        on_failure: Option<String>,
    ) {
        let f = self.entry(function_arn);
        for (on, d) in [("OnSuccess", on_success), ("OnFailure", on_failure)] {
            if let Some(d) = d {
                let pair = (on.to_string(), d);
                if !f.config.destinations.contains(&pair) {
                    f.config.destinations.push(pair);
                }
            }
        }
    }

    /// Does the inventory say this session of this role is the function?
    pub fn says_function(&self, role_arn: &str, session: &str) -> bool {
        self.functions.get(session).is_some_and(|f| match &f.role {
            Some(r) => r == role_arn || role_name(r) == role_name(role_arn),
            None => true,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(identity: &str) -> Record<'_> {
        serde_json::from_str(identity).unwrap_or_default()
    }

    #[test]
    fn sessions_that_are_never_functions() {
        for s in [
            "i-0123456789abcdef0",
            "i-12ab34cd",
            "botocore-session-1700000000",
            "0123456789abcdef0123456789abcdef",
        ] {
            assert!(is_never_a_function(s), "{s}");
        }
        for s in [
            "orders-api",
            "i-orders",
            "i-0123456789abcdef",
            "botocore-session-x",
            "payments",
            "i-0123456789ABCDEF0",
        ] {
            assert!(!is_never_a_function(s), "{s}");
        }
    }

    #[test]
    fn assumed_role_sessions() {
        let json = r#"{"userIdentity":{"type":"AssumedRole","accountId":"111122223333",
          "arn":"arn:aws:sts::111122223333:assumed-role/shared-role/orders-api",
          "sessionContext":{"sessionIssuer":{"type":"Role","arn":"arn:aws:iam::111122223333:role/svc/shared-role"}}}}"#;
        let r = rec(json);
        assert_eq!(
            actor(&r).map(ActorRef::into_owned),
            Ok(Actor::Session {
                account: "111122223333".into(),
                role_arn: "arn:aws:iam::111122223333:role/svc/shared-role".into(),
                session: "orders-api".into()
            })
        );
        let json = r#"{"userIdentity":{"type":"AssumedRole","accountId":"111122223333",
          "arn":"arn:aws:sts::111122223333:assumed-role/ops/jane@example.com"}}"#;
        assert!(matches!(actor(&rec(json)), Ok(ActorOf::Role { .. })));
    }

    /// An export that dropped `userIdentity.arn`: the role from `sessionIssuer.arn`, the session
    /// from `principalId` (`AROA…:SESSION`), the same actor as with the ARN.
    #[test]
    fn a_session_without_its_arn() {
        let with_arn = rec(
            r#"{"userIdentity":{"type":"AssumedRole","accountId":"111122223333","principalId":"AROAEXAMPLEID:orders-api",
          "arn":"arn:aws:sts::111122223333:assumed-role/shared-role/orders-api",
          "sessionContext":{"sessionIssuer":{"type":"Role","arn":"arn:aws:iam::111122223333:role/svc/shared-role"}}}}"#,
        );
        let without = rec(
            r#"{"userIdentity":{"type":"AssumedRole","accountId":"111122223333","principalId":"AROAEXAMPLEID:orders-api",
          "sessionContext":{"sessionIssuer":{"type":"Role","arn":"arn:aws:iam::111122223333:role/svc/shared-role"}}}}"#,
        );
        assert_eq!(
            actor(&without).map(ActorRef::into_owned),
            actor(&with_arn).map(ActorRef::into_owned)
        );
        // a session name that is no function name: the role
        let human = rec(
            r#"{"userIdentity":{"type":"AssumedRole","accountId":"111122223333","principalId":"AROAEXAMPLEID:jane@example.com",
          "sessionContext":{"sessionIssuer":{"type":"Role","arn":"arn:aws:iam::111122223333:role/ops"}}}}"#,
        );
        assert!(matches!(actor(&human), Ok(ActorOf::Role { .. })));
        // neither the ARN nor the issuer: nothing names the role
        let bare = rec(
            r#"{"userIdentity":{"type":"AssumedRole","accountId":"111122223333","principalId":"AROAEXAMPLEID:orders-api"}}"#,
        );
        assert_eq!(actor(&bare).map(ActorRef::into_owned), Err(NoActor::Other));
    }

    #[test]
    fn services_never_become_principals() {
        let r = rec(r#"{"userIdentity":{"type":"AWSService","invokedBy":"lambda.amazonaws.com"}}"#);
        assert_eq!(
            actor(&r).map(ActorRef::into_owned),
            Err(NoActor::AwsService)
        );
        assert_eq!(
            actor(&rec(r#"{"userIdentity":{"type":"AWSAccount"}}"#)).map(ActorRef::into_owned),
            Err(NoActor::Other)
        );
    }

    #[test]
    fn inventory_and_names() {
        let inv = Inventory::parse(
            r#"{"Functions":[{"FunctionName":"f","FunctionArn":"arn:aws:lambda:eu-west-1:1:function:f","Role":"arn:aws:iam::1:role/r"}]}"#,
        );
        let inv = inv.unwrap_or_default();
        assert!(inv.says_function("arn:aws:iam::1:role/r", "f"));
        assert!(!inv.says_function("arn:aws:iam::1:role/other", "f"));
        assert_eq!(
            function_name_of("arn:aws:lambda:eu-west-1:1:function:f:prod"),
            "f"
        );
        assert_eq!(function_name_of("f:3"), "f");
        assert_eq!(role_name("arn:aws:iam::1:role/a/b/name"), "name");
        assert!(is_function_name("orders-api_v2"));
        assert!(!is_function_name("i-0abc/x") && !is_function_name(""));
    }

    #[test]
    fn every_shape_of_the_cli_output_merges_into_one_configuration() {
        let arn = "arn:aws:lambda:eu-west-1:1:function:f";
        let mut inv = Inventory::default();
        let docs = [
            // list-event-source-mappings (a qualified ARN is the function's), before the function
            r#"{"EventSourceMappings":[{"UUID":"u1","FunctionArn":"arn:aws:lambda:eu-west-1:1:function:f:live","EventSourceArn":"arn:aws:sqs:eu-west-1:1:q"}]}"#,
            // get-event-source-mapping, twice: kept once
            r#"{"UUID":"u2","FunctionArn":"arn:aws:lambda:eu-west-1:1:function:f","EventSourceArn":"arn:aws:kinesis:eu-west-1:1:stream/s","DestinationConfig":{"OnFailure":{"Destination":"arn:aws:sqs:eu-west-1:1:failed"}}}"#,
            r#"{"UUID":"u2","FunctionArn":"arn:aws:lambda:eu-west-1:1:function:f","EventSourceArn":"arn:aws:kinesis:eu-west-1:1:stream/s","DestinationConfig":{"OnFailure":{"Destination":"arn:aws:sqs:eu-west-1:1:failed"}}}"#,
            // list-functions
            r#"{"Functions":[{"FunctionName":"f","FunctionArn":"arn:aws:lambda:eu-west-1:1:function:f","Role":"arn:aws:iam::1:role/r",
               "LoggingConfig":{"LogGroup":"/custom/f"},"VpcConfig":{"SubnetIds":["subnet-1"],"SecurityGroupIds":["sg-1"]},
               "TracingConfig":{"Mode":"Active"},"FileSystemConfigs":[{"Arn":"arn:aws:elasticfilesystem:eu-west-1:1:access-point/fsap-1"}]}]}"#,
            // get-function: what it carries replaces, what it lacks stays; tracing stays active
            r#"{"Configuration":{"FunctionName":"f","DeadLetterConfig":{"TargetArn":"arn:aws:sqs:eu-west-1:1:dlq"},"TracingConfig":{"Mode":"PassThrough"},"KMSKeyArn":"arn:aws:kms:eu-west-1:1:key/k"}}"#,
            // get-function-configuration: an empty VpcConfig empties the VPC
            r#"{"FunctionName":"f","VpcConfig":{"SubnetIds":[],"SecurityGroupIds":[]}}"#,
            // list-function-event-invoke-configs and get-function-event-invoke-config
            r#"{"FunctionEventInvokeConfigs":[{"FunctionArn":"arn:aws:lambda:eu-west-1:1:function:f:$LATEST","DestinationConfig":{"OnSuccess":{"Destination":"arn:aws:sqs:eu-west-1:1:ok"},"OnFailure":{}}}]}"#,
            r#"{"FunctionArn":"arn:aws:lambda:eu-west-1:1:function:f","DestinationConfig":{"OnSuccess":{"Destination":"arn:aws:sqs:eu-west-1:1:ok"},"OnFailure":{"Destination":"arn:aws:sqs:eu-west-1:1:ko"}}}"#,
        ];
        for d in docs {
            assert_eq!(inv.read(d), Ok(()), "{d}");
        }
        let s = |x: &str| Some(x.to_string());
        let f = &inv.functions["f"];
        assert_eq!(
            (f.name.as_str(), f.arn.as_deref(), f.role.as_deref()),
            ("f", Some(arn), Some("arn:aws:iam::1:role/r"))
        );
        assert_eq!(
            f.config,
            FunctionConfig {
                log_group: s("/custom/f"),
                dead_letter: s("arn:aws:sqs:eu-west-1:1:dlq"),
                subnets: vec![],
                security_groups: vec![],
                tracing_active: true,
                file_systems: vec![
                    "arn:aws:elasticfilesystem:eu-west-1:1:access-point/fsap-1".to_string()
                ],
                kms_key: s("arn:aws:kms:eu-west-1:1:key/k"),
                mappings: vec![
                    EventSourceMapping {
                        uuid: "u1".into(),
                        source: s("arn:aws:sqs:eu-west-1:1:q"),
                        on_failure: None,
                    },
                    EventSourceMapping {
                        uuid: "u2".into(),
                        source: s("arn:aws:kinesis:eu-west-1:1:stream/s"),
                        on_failure: s("arn:aws:sqs:eu-west-1:1:failed"),
                    },
                ],
                destinations: vec![
                    ("OnSuccess".into(), "arn:aws:sqs:eu-west-1:1:ok".into()),
                    ("OnFailure".into(), "arn:aws:sqs:eu-west-1:1:ko".into()),
                ],
                known: true,
            }
        );
        // A mapping or an invoke config alone names a function without knowing it.
        let only = Inventory::parse(
            r#"{"UUID":"u","FunctionArn":"arn:aws:lambda:eu-west-1:1:function:g"}"#,
        )
        .unwrap_or_default();
        assert!(!only.functions["g"].config.known);
        assert!(Inventory::parse(r#"{"UUID":"u"}"#).is_err());
        assert!(Inventory::parse(r#"{"FunctionEventInvokeConfigs":[{}]}"#).is_err());
    }
}
