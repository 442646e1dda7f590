//! Execution-role sessions and role chaining: which assumed-role sessions are a function's.
//!
//! Lambda runs a function under its execution role's session, named after the function. When
//! the function's code assumes another role (often in another account) and calls with it, those
//! calls still carry Lambda's user-agent marker, and their session is named by the code, often
//! `<function>-<Unix time>`: a new name per AssumeRole. Such a session is the chained role's,
//! not a new function. The rules, strongest first ([`Attribution::session`]):
//!
//! 1. **Execution-role session.** The inventory names the function with this role, Lambda's own
//!    AssumeRole (`invokedBy`/`sourceIPAddress` `lambda.amazonaws.com`) names this role and
//!    session, or the trail's CreateFunction / UpdateFunctionConfiguration gives the function
//!    this role: a function.
//! 2. **Named by an AssumeRole call.** A principal's successful AssumeRole names this role and
//!    session (from `responseElements.assumedRoleUser.arn`, else `requestParameters.roleArn`
//!    and `roleSessionName`; a name ending in `-<digits>` stands for every such name): the
//!    role's, annotated with the functions that made the call.
//! 3. **Timestamped.** A session named `<name>-<Unix time>` (seconds or milliseconds, within a
//!    day of the call) is one AssumeRole's: never a function. Folded into its role as it is read
//!    ([`super::fold_sessions`]) unless the inventory names it, annotated with `<name>` when that
//!    is a function.
//! 4. **Prefix.** A session `<function>-<digits>` of a role that is not that function's execution
//!    role: the role's, annotated with the function.
//! 5. A session `<name>-<digits>` of a role that an AssumeRole call reached, or that rule 1 shows
//!    is another function's execution role: the role's.
//! 6. Otherwise the weaker signs, the user-agent marker or an Invoke of that name: a function.
//!
//! Both sides of a chain are used when both are in the input (the AssumeRole call is logged in
//! the caller's account, the chained calls in the role's), either alone otherwise. Access key ids
//! are not matched: the session name and role identify the same session, and a key per session
//! would make memory grow with sessions. Everything kept is per role, per function or per
//! session-name family (`<name>-<digits>` counts once).

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use super::{ActorOf, Inventory, actor, role_name};
use crate::record::Record;

/// The service that assumes execution roles, as `invokedBy` and `sourceIPAddress` show it.
pub const LAMBDA_SERVICE: &str = "lambda.amazonaws.com";

/// The evidence label of rule 1's Lambda AssumeRole.
pub const ASSUMED_BY_LAMBDA: &str = "trail: assumed by Lambda";

/// A role as an AssumeRole call and a session's issuer name it: its account and name. The path
/// is left out (`roleArn` need not repeat it the way `sessionIssuer.arn` does).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RoleKey {
    pub account: String,
    pub name: String,
}

impl RoleKey {
    /// `arn:PARTITION:iam::ACCOUNT:role/PATH/NAME`; `None` for anything else.
    pub fn of_role_arn(arn: &str) -> Option<RoleKey> {
        // borrowed: a session's role is keyed so for every record it makes
        let a = crate::arn::ArnRef::parse(arn)?;
        let path = a.resource.strip_prefix("role/")?;
        let name = path.rsplit('/').next().unwrap_or(path);
        (a.service == "iam" && !a.account.is_empty() && !name.is_empty()).then(|| RoleKey {
            account: a.account.to_string(),
            name: name.to_string(),
        })
    }

    /// `arn:PARTITION:sts::ACCOUNT:assumed-role/ROLE/SESSION` → the role and the session name.
    pub fn of_session_arn(arn: &str) -> Option<(RoleKey, String)> {
        let a = crate::arn::ArnRef::parse(arn)?;
        let (role, session) = a.resource.strip_prefix("assumed-role/")?.split_once('/')?;
        (a.service == "sts" && !a.account.is_empty() && !role.is_empty() && !session.is_empty())
            .then(|| {
                (
                    RoleKey {
                        account: a.account.to_string(),
                        name: role.to_string(),
                    },
                    session.to_string(),
                )
            })
    }

    /// The role of a session: its issuer's ARN, else the session's account and the ARN's last
    /// segment.
    pub fn of_session(account: &str, role_arn: &str) -> RoleKey {
        RoleKey::of_role_arn(role_arn).unwrap_or_else(|| RoleKey {
            account: account.to_string(),
            name: role_name(role_arn).to_string(),
        })
    }
}

/// `<name>-<digits>` → (`<name>`, `<digits>`); `None` when the name does not end so.
pub fn digit_suffix(session: &str) -> Option<(&str, &str)> {
    let (base, digits) = session.rsplit_once('-')?;
    (!base.is_empty() && !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
        .then_some((base, digits))
}

/// How far a session's timestamp may be from its call: a chained session lasts an hour at most
/// (twelve for a first hop), and clocks differ.
const STAMP_SLACK_SECONDS: i64 = 86_400;

/// The `<name>` of a session named `<name>-<Unix time>`, the time in seconds (10 digits) or
/// milliseconds (13 digits) within a day of `time`, the call's. Such a name is made per
/// AssumeRole and is never a function's: the function's name would have to change with every
/// call. An account id or a year as the suffix is not a time near the call.
pub fn timestamped(session: &str, time: DateTime<Utc>) -> Option<&str> {
    let (base, digits) = digit_suffix(session)?;
    let n: i64 = digits.parse().ok()?;
    let secs = match digits.len() {
        10 => n,
        13 => n / 1000,
        _ => return None,
    };
    ((time.timestamp() - secs).abs() <= STAMP_SLACK_SECONDS).then_some(base)
}

/// `session` with its last `len` bytes cut (the base of a timestamped name), borrowed when the
/// name is.
pub(super) fn cut_to(session: Cow<'_, str>, len: usize) -> Cow<'_, str> {
    match session {
        Cow::Borrowed(s) => Cow::Borrowed(s.get(..len).unwrap_or(s)),
        Cow::Owned(mut s) => {
            if s.is_char_boundary(len) {
                s.truncate(len);
            }
            Cow::Owned(s)
        }
    }
}

/// A session name as the chain facts keep it: a name ending in `-<digits>` stands for its whole
/// family (`orders-sync-1706471875`, `orders-sync-1706558275`, …), so that they cost one entry.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SessionName {
    Exact(String),
    /// `<base>-<digits>`, any digits.
    Family(String),
}

impl SessionName {
    pub fn of(session: &str) -> SessionName {
        match digit_suffix(session) {
            Some((base, _)) => SessionName::Family(base.to_string()),
            None => SessionName::Exact(session.to_string()),
        }
    }
}

/// What the trail's AssumeRole calls show: the execution-role sessions Lambda assumed, and the
/// sessions other principals assumed (chaining).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChainFacts {
    /// (role, session name) that Lambda assumed: a function's execution-role session.
    pub executed: BTreeSet<(RoleKey, String)>,
    /// (role, session) that a principal's AssumeRole named → the sessions that made the call
    /// (empty when the caller is not an assumed-role session: a user, another account).
    pub chained: BTreeMap<(RoleKey, SessionName), BTreeSet<(RoleKey, SessionName)>>,
}

impl ChainFacts {
    /// Learns from a successful AssumeRole call.
    pub fn observe(&mut self, rec: &Record<'_>, params: Option<&crate::record::Params<'_>>) {
        if !rec.source().eq_ignore_ascii_case("sts.amazonaws.com")
            || crate::record::strip_version(rec.name()) != "AssumeRole"
            || rec.error_code.is_some()
        {
            return;
        }
        let Some((role, session)) = assumed(rec, params) else {
            return;
        };
        let kind = rec
            .user_identity
            .as_ref()
            .and_then(|i| i.kind.as_deref())
            .unwrap_or("");
        let by_lambda = rec.invoked_by() == Some(LAMBDA_SERVICE)
            || rec.source_ip_address.as_deref() == Some(LAMBDA_SERVICE);
        if by_lambda && matches!(kind, "AWSService" | "") {
            self.executed.insert((role, session));
            return;
        }
        if kind == "AWSService" {
            // another service's own role session: neither a function nor a chain
            return;
        }
        let caller = match actor(rec) {
            Ok(ActorOf::Session {
                account,
                role_arn,
                session,
            }) => Some((
                RoleKey::of_session(&account, &role_arn),
                SessionName::of(&session),
            )),
            _ => None,
        };
        let callers = self
            .chained
            .entry((role, SessionName::of(&session)))
            .or_default();
        callers.extend(caller);
    }

    pub fn merge(&mut self, o: ChainFacts) {
        self.executed.extend(o.executed);
        for (k, v) in o.chained {
            self.chained.entry(k).or_default().extend(v);
        }
    }
}

/// The role and session an AssumeRole call made: `responseElements.assumedRoleUser.arn` (the
/// session exactly as its calls show it), else `requestParameters.roleArn` and
/// `roleSessionName`.
fn assumed(
    rec: &Record<'_>,
    params: Option<&crate::record::Params<'_>>,
) -> Option<(RoleKey, String)> {
    let from_response = rec.response().and_then(|r| {
        let arn = r.get("assumedRoleUser")?.get("arn")?.as_str()?;
        RoleKey::of_session_arn(arn)
    });
    from_response.or_else(|| {
        let p = params?;
        let role = RoleKey::of_role_arn(p.get("roleArn")?.as_str()?)?;
        let session = p.get("roleSessionName")?.as_str()?;
        (!session.is_empty()).then(|| (role, session.to_string()))
    })
}

/// One assumed-role session the trail shows, as [`Attribution`] weighs it.
#[derive(Debug, Clone, Copy)]
pub struct SessionSeen<'s> {
    pub account: &'s str,
    pub role_arn: &'s str,
    pub session: &'s str,
    /// One of its records carried Lambda's user-agent marker.
    pub marker: bool,
}

/// What an assumed-role session is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionIs {
    /// A function named as the session; what shows it.
    Function(BTreeSet<&'static str>),
    /// The role's: its calls go to the role's principal. `chained_from` names the functions
    /// whose code assumed it (role chaining), when that is known.
    Role { chained_from: BTreeSet<String> },
}

/// Decides which assumed-role sessions are functions (the rules of this module), from the trail's
/// facts, the inventory and every session seen. Holds per-function and per-role state only.
#[derive(Debug)]
pub struct Attribution<'a> {
    facts: &'a super::FunctionFacts,
    inventory: &'a Inventory,
    /// Role → the functions rule 1 shows running as it.
    executes: BTreeMap<RoleKey, BTreeSet<String>>,
    /// Function → the roles it runs as: rule 1, and the sessions every rule but the prefix rule
    /// makes functions.
    functions: BTreeMap<String, BTreeSet<RoleKey>>,
    /// Roles some principal's AssumeRole reached.
    chained_roles: BTreeSet<RoleKey>,
}

impl<'a> Attribution<'a> {
    /// Weighs every session: first which are functions by their own evidence, so that the
    /// prefix rule can then ask whether `<name>` of `<name>-<digits>` is a function.
    pub fn new<'s>(
        facts: &'a super::FunctionFacts,
        inventory: &'a Inventory,
        sessions: impl IntoIterator<Item = SessionSeen<'s>>,
    ) -> Attribution<'a> {
        let mut executes: BTreeMap<RoleKey, BTreeSet<String>> = BTreeMap::new();
        let inventoried = inventory.functions.values().filter_map(|f| {
            let role = RoleKey::of_role_arn(f.role.as_deref()?)?;
            Some((role, f.name.clone()))
        });
        let declared = facts
            .declared
            .iter()
            .filter_map(|(r, f)| Some((RoleKey::of_role_arn(r)?, f.clone())));
        for (role, f) in inventoried
            .chain(declared)
            .chain(facts.chains.executed.iter().cloned())
        {
            executes.entry(role).or_default().insert(f);
        }
        let mut functions: BTreeMap<String, BTreeSet<RoleKey>> = BTreeMap::new();
        for (role, fs) in &executes {
            for f in fs {
                functions.entry(f.clone()).or_default().insert(role.clone());
            }
        }
        let chained_roles = facts
            .chains
            .chained
            .keys()
            .map(|(r, _)| r.clone())
            .collect();
        let mut a = Attribution {
            facts,
            inventory,
            executes,
            functions: BTreeMap::new(),
            chained_roles,
        };
        for s in sessions {
            if let SessionIs::Function(_) = a.decide(&s, false) {
                let role = RoleKey::of_session(s.account, s.role_arn);
                functions
                    .entry(s.session.to_string())
                    .or_default()
                    .insert(role);
            }
        }
        a.functions = functions;
        a
    }

    /// What one session is.
    pub fn session(&self, s: &SessionSeen<'_>) -> SessionIs {
        self.decide(s, true)
    }

    /// The functions that chained into the sessions of `role_arn` named `<base>-<Unix time>`
    /// (rule 3): those whose AssumeRole calls named them, and `<base>` when it is a function.
    pub fn timestamped(&self, account: &str, role_arn: &str, base: &str) -> BTreeSet<String> {
        let role = RoleKey::of_session(account, role_arn);
        let mut from = self
            .facts
            .chains
            .chained
            .get(&(role, SessionName::Family(base.to_string())))
            .map(|callers| self.calling_functions(callers))
            .unwrap_or_default();
        if self.functions.contains_key(base) {
            from.insert(base.to_string());
        }
        from
    }

    /// The callers of an AssumeRole that are functions (their execution-role sessions).
    fn calling_functions(&self, callers: &BTreeSet<(RoleKey, SessionName)>) -> BTreeSet<String> {
        callers
            .iter()
            .filter_map(|(role, name)| match name {
                SessionName::Exact(f)
                    if self.functions.get(f).is_some_and(|r| r.contains(role)) =>
                {
                    Some(f.clone())
                }
                _ => None,
            })
            .collect()
    }

    /// The rules in order; `prefix` applies rule 4 (the second pass: it needs the functions).
    fn decide(&self, s: &SessionSeen<'_>, prefix: bool) -> SessionIs {
        let role = RoleKey::of_session(s.account, s.role_arn);
        let facts = self.facts;
        let mut why = BTreeSet::new();
        // 1. the execution-role session
        if self.inventory.says_function(s.role_arn, s.session) {
            why.insert("inventory");
        }
        if facts
            .chains
            .executed
            .contains(&(role.clone(), s.session.to_string()))
        {
            why.insert(ASSUMED_BY_LAMBDA);
        }
        if facts.declared.iter().any(|(r, f)| {
            f == s.session && (r == s.role_arn || role_name(r) == role_name(s.role_arn))
        }) {
            why.insert("trail: function configuration");
        }
        let execution = !why.is_empty();
        if s.marker {
            why.insert("user-agent");
        }
        if facts.invoked.contains(s.session) {
            why.insert("trail: invoked");
        }
        if execution {
            return SessionIs::Function(why);
        }
        let base = digit_suffix(s.session).map(|(b, _)| b);
        let base_function = || {
            base.filter(|b| self.functions.contains_key(*b))
                .map(String::from)
                .into_iter()
                .collect::<BTreeSet<_>>()
        };
        // 2. named by an AssumeRole call
        if let Some(callers) = facts
            .chains
            .chained
            .get(&(role.clone(), SessionName::of(s.session)))
        {
            let mut from = self.calling_functions(callers);
            from.extend(base_function());
            return SessionIs::Role { chained_from: from };
        }
        if let Some(b) = base {
            // 4. `<function>-<digits>` of a role that is not the function's
            let prefixed = prefix && self.functions.get(b).is_some_and(|r| !r.contains(&role));
            // 5. a role chained into, or another function's execution role
            let chained_into = self.chained_roles.contains(&role);
            let others = self
                .executes
                .get(&role)
                .is_some_and(|fs| fs.iter().any(|f| f != s.session));
            if prefixed || chained_into || others {
                return SessionIs::Role {
                    chained_from: base_function(),
                };
            }
        }
        // 6. the marker, an Invoke of the name
        if why.is_empty() {
            SessionIs::Role {
                chained_from: BTreeSet::new(),
            }
        } else {
            SessionIs::Function(why)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(secs, 0).unwrap_or_default()
    }

    #[test]
    fn timestamped_names_are_a_unix_time_near_the_call() {
        let now = at(1_706_471_875);
        assert_eq!(
            timestamped("orders-partner-sync-1706471875", now),
            Some("orders-partner-sync")
        );
        assert_eq!(timestamped("sync-1706471875123", now), Some("sync"));
        assert_eq!(
            timestamped("sync-1706471875", at(1_706_471_875 + 3_600)),
            Some("sync")
        );
        // a year, an account id, a time far from the call, no name before it
        for s in [
            "etl-2024",
            "cleanup-111122223333",
            "report-20240128",
            "-1706471875",
            "1706471875",
            "sync-1706471875x",
        ] {
            assert_eq!(timestamped(s, now), None, "{s}");
        }
        assert_eq!(
            timestamped("sync-1706471875", at(1_706_471_875 + 3 * 86_400)),
            None
        );
        assert_eq!(digit_suffix("etl-2024"), Some(("etl", "2024")));
        assert_eq!(digit_suffix("etl-v2"), None);
    }

    #[test]
    fn roles_and_sessions_from_arns() {
        let k = |a: &str, n: &str| RoleKey {
            account: a.into(),
            name: n.into(),
        };
        assert_eq!(
            RoleKey::of_role_arn("arn:aws:iam::999988887777:role/svc/partner-writer"),
            Some(k("999988887777", "partner-writer"))
        );
        assert_eq!(RoleKey::of_role_arn("arn:aws:iam::1:user/u"), None);
        assert_eq!(RoleKey::of_role_arn("partner-writer"), None);
        assert_eq!(
            RoleKey::of_session_arn(
                "arn:aws-cn:sts::999988887777:assumed-role/partner-writer/f-1706471875"
            ),
            Some((k("999988887777", "partner-writer"), "f-1706471875".into()))
        );
        assert_eq!(
            RoleKey::of_session("1", "arn:aws:iam::999988887777:role/a/b/partner-writer"),
            k("999988887777", "partner-writer")
        );
        assert_eq!(
            SessionName::of("f-1706471875"),
            SessionName::Family("f".into())
        );
        assert_eq!(SessionName::of("f"), SessionName::Exact("f".into()));
        assert_eq!(cut_to(Cow::Owned("f-1".into()), 1), "f");
    }

    #[test]
    fn assume_role_calls_are_execution_or_chaining() {
        let mut facts = ChainFacts::default();
        for json in [
            // Lambda assumes the execution role
            r#"{"eventSource":"sts.amazonaws.com","eventName":"AssumeRole","sourceIPAddress":"lambda.amazonaws.com",
                "userIdentity":{"type":"AWSService","invokedBy":"lambda.amazonaws.com"},
                "requestParameters":{"roleArn":"arn:aws:iam::1:role/exec","roleSessionName":"f"}}"#,
            // the function's code chains into a partner role (the response names the session)
            r#"{"eventSource":"sts.amazonaws.com","eventName":"AssumeRole",
                "userIdentity":{"type":"AssumedRole","accountId":"1","arn":"arn:aws:sts::1:assumed-role/exec/f"},
                "requestParameters":{"roleArn":"arn:aws:iam::2:role/partner","roleSessionName":"f-1706471875"},
                "responseElements":{"assumedRoleUser":{"arn":"arn:aws:sts::2:assumed-role/partner/f-1706471875"}}}"#,
            // another service's role session, a failed call: nothing
            r#"{"eventSource":"sts.amazonaws.com","eventName":"AssumeRole",
                "userIdentity":{"type":"AWSService","invokedBy":"ecs-tasks.amazonaws.com"},
                "requestParameters":{"roleArn":"arn:aws:iam::1:role/task","roleSessionName":"t"}}"#,
            r#"{"eventSource":"sts.amazonaws.com","eventName":"AssumeRole","errorCode":"AccessDenied",
                "userIdentity":{"type":"AssumedRole","accountId":"1","arn":"arn:aws:sts::1:assumed-role/exec/f"},
                "requestParameters":{"roleArn":"arn:aws:iam::2:role/other","roleSessionName":"f"}}"#,
        ] {
            let r: Record<'_> = serde_json::from_str(json).unwrap_or_default();
            facts.observe(&r, r.params());
        }
        let k = |a: &str, n: &str| RoleKey {
            account: a.into(),
            name: n.into(),
        };
        assert_eq!(
            facts.executed.iter().collect::<Vec<_>>(),
            [&(k("1", "exec"), "f".to_string())]
        );
        assert_eq!(facts.chained.len(), 1);
        assert_eq!(
            facts.chained[&(k("2", "partner"), SessionName::Family("f".into()))]
                .iter()
                .collect::<Vec<_>>(),
            [&(k("1", "exec"), SessionName::Exact("f".into()))]
        );
    }
}
