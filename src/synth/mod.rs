//! Usage → one minimized policy per principal, replayed through the evaluator before it is
//! shown.
//!
//! Statements group actions with identical resource sets (and conditions, and origin), so two
//! statements never share an action set or a resource set. Resources are generalized
//! ([`generalize`]) within the chosen bound, with the cost of each step recorded; `--compact`
//! replaces action lists by zero-cost wildcards ([`compact`]). Calls AWS made on the principal's
//! behalf (`invokedBy`) get statements of their own marked `ByService`, calls Lambda's platform
//! made with a function's execution role statements marked `LambdaPlatform`. Denied and
//! permission-less calls are never granted. Size limits are enforced: compact, generalize
//! further within the bound, split into several managed policies, or fail.

pub mod carry;
pub mod compact;
pub mod generalize;
pub mod narrow;
pub mod scope;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

pub use crate::fold::GeneralizeLevel;
pub use generalize::Generalization;

use crate::catalog::{AccessLevel, Catalog};
use crate::policy::{
    Conditions, Context, Decision, Effect, Matcher, PolicyDocument, Request, Statement,
    evaluate_all,
};
use crate::usage::folded::Folded;
use crate::usage::{GrantKey, Grants, Origin, PrincipalUsage};

/// An observed call the proposed policy would not allow: always an internal error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the proposed policy does not allow the observed call `{action}` on `{resource}` ({})", decision_text(*.decision))]
pub struct ReplayFailure {
    pub action: String,
    pub resource: String,
    pub decision: Decision,
}

fn decision_text(d: Decision) -> &'static str {
    match d {
        Decision::Allow => "allowed",
        Decision::Conditional => "allowed only under a condition",
        Decision::ImplicitDeny => "not allowed",
        Decision::ExplicitDeny => "explicitly denied",
    }
}

/// Which IAM size limit the output must fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PolicyKind {
    /// Managed policies: 6,144 characters each (whitespace not counted), 10 per role by default.
    #[default]
    Managed,
    /// Inline policies: 10,240 characters for all of a role's inline policies together.
    Inline,
}

pub const MANAGED_LIMIT: usize = 6_144;
pub const INLINE_AGGREGATE_LIMIT: usize = 10_240;
pub const MANAGED_PER_ROLE: usize = 10;
/// IAM's limit on all of a user's inline policies together.
pub const USER_INLINE_AGGREGATE_LIMIT: usize = 2_048;

#[derive(Debug, Clone)]
pub struct SynthOptions {
    pub level: GeneralizeLevel,
    /// Most S3 path prefixes kept per bucket and statement at `prefix`.
    pub max_prefixes: usize,
    pub compact: bool,
    pub kind: PolicyKind,
    /// Enforce the size limits (off for internal comparisons).
    pub enforce_limits: bool,
}

impl Default for SynthOptions {
    fn default() -> Self {
        SynthOptions {
            level: GeneralizeLevel::Prefix,
            max_prefixes: 32,
            compact: false,
            kind: PolicyKind::Managed,
            enforce_limits: true,
        }
    }
}

impl SynthOptions {
    /// Exact ARNs, no compaction, no limits: the plain grant set.
    pub fn exact() -> Self {
        SynthOptions {
            level: GeneralizeLevel::Exact,
            enforce_limits: false,
            ..SynthOptions::default()
        }
    }
}

/// A grant carried over although the trail does not show it used: unobservable, on the
/// keep-list, or required by the Lambda runtime.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, schemars::JsonSchema,
)]
pub struct Carried {
    pub action: String,
    pub resources: Vec<String>,
    /// `Unobservable`, `Kept` or `Runtime`: the Sid suffix.
    pub label: String,
    pub reason: String,
    /// The condition the grant carries (a runtime grant of one function on a shared role:
    /// `lambda:SourceFunctionArn`).
    #[serde(skip_serializing_if = "Conditions::is_empty")]
    pub condition: Conditions,
    /// For a runtime grant: the evidence, the configuration that implies it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence: Option<RuntimeEvidence>,
    /// For an unobservable grant narrowed to the resources the trail shows elsewhere
    /// ([`narrow`]): the resources the current policy grants, which `resources` replace.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub narrowed_from: Vec<String>,
    /// How it was narrowed (`narrowed from `*` to 2 role(s) …`), or why a grant with a
    /// wildcard was not.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub narrowing: String,
}

/// Why a runtime grant is there: `{"kind": "runtime", "field": "LoggingConfig.LogGroup", …}`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, schemars::JsonSchema)]
pub struct RuntimeEvidence {
    /// Always `runtime`.
    pub kind: &'static str,
    /// The configuration field that implies the grant.
    pub field: String,
    /// The function it is for.
    pub function: String,
    /// Where the requirement comes from (a managed policy, a developer guide page).
    pub source: String,
}

/// The label of grants the Lambda runtime needs.
pub const RUNTIME: &str = "Runtime";

#[derive(Debug, Clone, Default, Serialize, schemars::JsonSchema)]
pub struct Proposal {
    /// Usually one document; several when a managed policy had to be split.
    pub documents: Vec<PolicyDocument>,
    /// Each resource pattern that stands for more than itself, with what it covers.
    pub generalizations: Vec<Generalization>,
    pub carried: Vec<Carried>,
    /// What was done to fit the size limits.
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SynthError {
    #[error(
        "the policy needs {size} characters, over the {limit}-character limit of {what}, even compacted, generalized within `--generalize {level}` and split"
    )]
    TooLarge {
        size: usize,
        limit: usize,
        what: &'static str,
        level: &'static str,
    },
}

fn level_name(l: GeneralizeLevel) -> &'static str {
    match l {
        GeneralizeLevel::Exact => "exact",
        GeneralizeLevel::Prefix => "prefix",
        GeneralizeLevel::Type => "type",
    }
}

/// How far one round of [`statements`] goes: at most `max_prefixes` S3 prefixes per bucket,
/// and whether actions are compacted.
#[derive(Clone, Copy)]
struct Round {
    max_prefixes: usize,
    compact: bool,
}

/// Builds the statements for one principal's grants, but those in `covered`. A generalized
/// pattern never covers a call of the same action that was denied: it is narrowed to the
/// resources it stands for (noted in `notes`).
fn statements(
    grants: &Grants,
    covered: &BTreeSet<&GrantKey>,
    denied: &Grants,
    catalog: &Catalog,
    opts: &SynthOptions,
    Round {
        max_prefixes,
        compact,
    }: Round,
    notes: &mut Vec<String>,
) -> (Vec<Statement>, Vec<Generalization>) {
    // An action the code also calls is not split off: service-made rows of it merge in.
    // (the grants a runtime statement covers are left out: `covered`)
    let grants_left = || grants.iter().filter(|(k, _)| !covered.contains(k));
    let mut by_code: BTreeSet<&str> = BTreeSet::new();
    for ((action, _), ev) in grants_left() {
        if ev.origin() == Origin::Code {
            by_code.insert(action.as_str());
        }
    }
    // (action, origin, conditions) → resources, each with what it stands for when it was
    // folded on read, in the grants' order (by action, then resource): each list comes
    // sorted, and is made a set in bulk below (inserted one at a time, every resource was a
    // walk down the tree comparing ARNs that share long heads)
    type Key<'g> = (&'g str, Origin, Option<&'g Conditions>);
    let mut per_action: BTreeMap<Key<'_>, Vec<(&str, Option<&Folded>)>> = BTreeMap::new();
    for ((action, resource), ev) in grants_left() {
        let origin = if by_code.contains(action.as_str()) {
            Origin::Code
        } else {
            ev.origin()
        };
        per_action
            .entry((action.as_str(), origin, ev.grant_conditions()))
            .or_default()
            .push((resource.as_str(), ev.folded.as_deref()));
    }
    // (origin, conditions, resources) → actions
    type Group<'g> = (Origin, Option<&'g Conditions>, BTreeSet<String>);
    let mut groups: BTreeMap<Group<'_>, BTreeSet<&str>> = BTreeMap::new();
    let mut records: Vec<Generalization> = Vec::new();
    for ((action, origin, conds), mut rows) in per_action {
        // (sorted all the same, one pass when it is: the search below depends on it)
        rows.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let resources: BTreeSet<&str> = rows.iter().map(|(r, _)| *r).collect();
        // what a resource of these stands for when it was folded on read: the generalizer
        // asks only of these resources, so they are searched, not a map of every grant's
        // (built for each principal, and compared by action and ARN at every step)
        let folded = |r: &str| {
            let at = rows.binary_search_by(|(x, _)| (*x).cmp(r)).ok()?;
            rows.get(at).and_then(|(_, f)| *f)
        };
        let (generalized, recs) =
            generalize::generalize_folded(&resources, opts.level, max_prefixes, &folded);
        let (resources, recs) =
            narrow_around_denied(action, &resources, generalized, recs, denied, notes);
        for r in recs {
            if !records.contains(&r) {
                records.push(r);
            }
        }
        let resources = if resources.contains("*") {
            BTreeSet::from(["*".to_string()])
        } else {
            resources
        };
        groups
            .entry((origin, conds, resources))
            .or_default()
            .insert(action);
    }
    let mut rows: Vec<(Vec<String>, Vec<String>, Origin, Conditions)> = groups
        .into_iter()
        .map(|((origin, conds, res), actions)| {
            let mut actions: Vec<String> = actions.into_iter().map(str::to_string).collect();
            // by their lowercase spelling, compared without making it
            actions.sort_by(|a, b| by_lowercase(a, b));
            let actions = if compact {
                compact::compact(&actions, catalog)
            } else {
                actions
            };
            let condition: Conditions = conds.cloned().unwrap_or_default();
            (actions, res.into_iter().collect(), origin, condition)
        })
        .collect();
    rows.sort_by(|a, b| (a.2, &a.0, &a.1, &a.3).cmp(&(b.2, &b.0, &b.1, &b.3)));
    let mut used_sids: BTreeMap<String, usize> = BTreeMap::new();
    let out = rows
        .into_iter()
        .map(|(actions, resources, origin, condition)| {
            let mut sid = sid_for(&actions, &resources, &condition, catalog);
            match origin {
                Origin::Code => {}
                Origin::Service => sid.push_str("ByService"),
                Origin::LambdaPlatform => sid.push_str("LambdaPlatform"),
            }
            unique_sid(
                &mut used_sids,
                sid,
                Some(allow(actions, resources, condition)),
            )
        })
        .collect();
    records.sort_by(|a, b| a.pattern.cmp(&b.pattern));
    (out, records)
}

fn unique_sid(
    used: &mut BTreeMap<String, usize>,
    mut sid: String,
    st: Option<Statement>,
) -> Statement {
    let n = used.entry(sid.clone()).or_insert(0);
    *n += 1;
    if *n > 1 {
        sid = format!("{sid}{n}");
    }
    let mut st = st.unwrap_or_else(|| allow(Vec::new(), Vec::new(), Conditions::new()));
    st.sid = Some(sid);
    st
}

/// The denied resources of `action` that are whole resources (no part left unresolved), as the
/// text a request names.
fn denied_resources<'d>(action: &str, denied: &'d Grants) -> Vec<(&'d str, String)> {
    denied
        .keys()
        .filter(|(a, r)| a.eq_ignore_ascii_case(action) && !crate::wildcard::has_wildcard(r))
        .map(|(_, r)| (r.as_str(), crate::wildcard::unescape(r).into_owned()))
        .collect()
}

/// Was `action` on `resource` among the observed grants: granted as it is, or folded on read
/// into a pattern that covers it? `None` when a covering pattern folded in too many resources
/// to tell.
pub fn allowed_in(grants: &Grants, action: &str, resource: &str) -> Option<bool> {
    let text = crate::wildcard::unescape(resource);
    let mut answer = Some(false);
    for ((a, g), e) in grants {
        if !a.eq_ignore_ascii_case(action) {
            continue;
        }
        match e.folded.as_deref() {
            None if g == resource => return Some(true),
            None => {}
            Some(f) if crate::wildcard::matches(g, &text, false) => {
                match f.contains(crate::fold::fold_stem(g), resource) {
                    Some(true) => return Some(true),
                    Some(false) => {}
                    None => answer = None,
                }
            }
            Some(_) => {}
        }
    }
    answer
}

/// The denied calls of a principal that its proposal must keep denied: all of them, except
/// those another principal on the same role (a function sharing it, or the role's other
/// sessions) was allowed, since every policy of a role applies to all of them. Returns the
/// calls and a note for each left out.
pub fn denied_to_fence(denied: &Grants, siblings: &[(&str, &Grants)]) -> (Grants, Vec<String>) {
    let mut out = Grants::new();
    let mut notes = Vec::new();
    for ((action, resource), ev) in denied {
        match siblings
            .iter()
            .find(|(_, g)| allowed_in(g, action, resource) == Some(true))
        {
            Some((who, _)) => notes.push(format!(
                "`{action}` on `{resource}` was denied here but allowed for `{who}`, which runs as the same role: not denied explicitly"
            )),
            None => {
                out.insert((action.clone(), resource.clone()), ev.clone());
            }
        }
    }
    (out, notes)
}

/// Most observed resources a generalized pattern is narrowed into around a denied call; past
/// this the pattern stays and the denied resource gets an explicit `Deny` ([`deny_guard`]), so
/// one denied call cannot blow a policy past its size limit.
const NARROW_MAX: usize = 64;

/// Generalized patterns that would cover a denied call of the same action are given up: the
/// observed resources they stand for are granted instead, each as narrow as it was read (a
/// resource folded on read stays its directory pattern; the final guard in [`propose`] denies
/// what that still covers). Returns the resources and the generalizations still in force.
fn narrow_around_denied(
    action: &str,
    observed: &BTreeSet<&str>,
    generalized: BTreeSet<String>,
    records: Vec<Generalization>,
    denied: &Grants,
    notes: &mut Vec<String>,
) -> (BTreeSet<String>, Vec<Generalization>) {
    let denied = denied_resources(action, denied);
    if denied.is_empty() {
        return (generalized, records);
    }
    let mut out = BTreeSet::new();
    for p in generalized {
        if observed.contains(p.as_str()) || !crate::wildcard::has_wildcard(&p) {
            out.insert(p);
            continue;
        }
        let hit: Vec<&str> = denied
            .iter()
            .filter(|(_, text)| crate::wildcard::matches(&p, text, false))
            .map(|(d, _)| *d)
            .collect();
        if hit.is_empty() {
            out.insert(p);
            continue;
        }
        let members: Vec<&str> = observed
            .iter()
            .filter(|r| crate::wildcard::matches(&p, &crate::wildcard::unescape(r), false))
            .copied()
            .collect();
        if members.len() > NARROW_MAX {
            out.insert(p);
            continue;
        }
        notes.push(format!(
            "`{action}` on `{p}` would also allow the denied call on `{}`: narrowed to the {} resource(s) it stands for",
            hit.join("`, `"),
            members.len()
        ));
        out.extend(members.into_iter().map(str::to_string));
    }
    let records = records
        .into_iter()
        .filter(|g| out.contains(&g.pattern))
        .collect();
    (out, records)
}

/// Explicit denies for the denied calls the statements would still allow: through a resource
/// folded on read (its exact keys are not kept), a carried grant or a kept one. A call both
/// allowed and denied in the trail is not denied (it would break what worked); neither is one
/// whose resource the record did not name in full. Each case is noted.
fn deny_guard(
    doc: &PolicyDocument,
    grants: &Grants,
    denied: &Grants,
    notes: &mut Vec<String>,
) -> Vec<Statement> {
    // resource → the denied actions on it to deny explicitly
    let mut by_resource: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for ((action, resource), ev) in denied {
        // Allowed, or allowed under a condition the denied call's context does not decide
        // (a grant scoped to another function's `lambda:SourceFunctionArn`): fenced either way.
        let allowed = replay_contexts(ev).iter().any(|ctx| {
            !matches!(
                evaluate_all(
                    [doc],
                    &Request {
                        action,
                        resource,
                        context: ctx,
                    },
                ),
                Decision::ImplicitDeny | Decision::ExplicitDeny
            )
        });
        if !allowed {
            continue;
        }
        if crate::wildcard::has_wildcard(resource) {
            notes.push(format!(
                "`{action}` was denied in the trail on a resource the record did not name in full (`{resource}`): it cannot be denied exactly, and the policy may allow it"
            ));
            continue;
        }
        let by = doc
            .statements
            .iter()
            .filter(|s| {
                evaluate_all(
                    [&PolicyDocument {
                        statements: vec![(*s).clone()],
                        ..PolicyDocument::default()
                    }],
                    &Request {
                        action,
                        resource,
                        context: &Context::default(),
                    },
                ) != Decision::ImplicitDeny
            })
            .filter_map(|s| s.sid.clone())
            .collect::<Vec<_>>()
            .join("`, `");
        // Was this very call also allowed? Denying it would break what worked.
        match allowed_in(grants, action, resource) {
            Some(true) => {
                notes.push(format!(
                    "`{action}` on `{resource}` was denied in the trail but also allowed: it stays allowed (statement `{by}`)"
                ));
                continue;
            }
            Some(false) => notes.push(format!(
                "`{action}` on `{resource}` was denied in the trail and statement `{by}` would allow it: denied explicitly"
            )),
            None => notes.push(format!(
                "`{action}` on `{resource}` was denied in the trail and statement `{by}` would allow it: denied explicitly (whether it was also allowed cannot be told among the many resources folded into that pattern; if it was, remove the `Deny`)"
            )),
        }
        by_resource.entry(resource).or_default().insert(action);
    }
    // the same denied actions on several resources share one statement
    let mut by_actions: BTreeMap<BTreeSet<&str>, Vec<String>> = BTreeMap::new();
    for (r, actions) in by_resource {
        by_actions.entry(actions).or_default().push(r.to_string());
    }
    by_actions
        .into_iter()
        .map(|(actions, resources)| Statement {
            sid: None,
            effect: Effect::Deny,
            principal: None,
            not_principal: None,
            action: Matcher::Is(actions.into_iter().map(str::to_string).collect()),
            resource: Matcher::Is(resources),
            condition: Conditions::new(),
        })
        .collect()
}

/// Builds the plain policy for one principal's grants: exact ARNs, no compaction, no limits.
pub fn synthesize(grants: &Grants, catalog: &Catalog) -> PolicyDocument {
    let (statements, _) = statements(
        grants,
        &BTreeSet::new(),
        &Grants::new(),
        catalog,
        &SynthOptions::exact(),
        Round {
            max_prefixes: usize::MAX,
            compact: false,
        },
        &mut Vec::new(),
    );
    PolicyDocument {
        statements,
        ..PolicyDocument::default()
    }
}

/// An `Allow` statement (its Sid given later).
fn allow(actions: Vec<String>, resources: Vec<String>, condition: Conditions) -> Statement {
    Statement {
        sid: None,
        effect: Effect::Allow,
        principal: None,
        not_principal: None,
        action: Matcher::Is(actions),
        resource: Matcher::Is(resources),
        condition,
    }
}

/// The grants a runtime grant already allows as they are (the function's own
/// `logs:CreateLogStream` calls under its log group's runtime statement), so the policy does not
/// say the same twice. Borrowed: the grants are not copied to leave them out.
fn covered_by_runtime<'g>(grants: &'g Grants, carried: &[Carried]) -> BTreeSet<&'g GrantKey> {
    let runtime: Vec<&Carried> = carried.iter().filter(|c| c.label == RUNTIME).collect();
    if runtime.is_empty() {
        return BTreeSet::new();
    }
    let covers = |(action, resource): &GrantKey, ev: &crate::usage::Evidence| {
        runtime.iter().any(|c| {
            c.action.eq_ignore_ascii_case(action)
                && (c.condition.is_empty() || ev.grant_conditions() == Some(&c.condition))
                && c.resources
                    .iter()
                    .any(|r| crate::wildcard::matches(r, resource, false))
        })
    };
    grants
        .iter()
        .filter(|(k, e)| covers(k, e))
        .map(|(k, _)| k)
        .collect()
}

/// Builds the proposal: statements, carried grants, and the size limits enforced. `denied`
/// holds the principal's denied calls: no statement of the proposal allows one (unless the
/// same call was also allowed), whatever the generalization, compaction or carried grants.
pub fn propose(
    grants: &Grants,
    denied: &Grants,
    carried: &[Carried],
    catalog: &Catalog,
    opts: &SynthOptions,
) -> Result<Proposal, SynthError> {
    // Whether a denied call was also allowed is asked of every observed grant, including those
    // left out of the statements because a runtime grant covers them: otherwise a call both
    // denied and allowed on the function's own log stream would be denied explicitly, and
    // the allowed one broken.
    let observed = grants;
    let covered = covered_by_runtime(grants, carried);
    let mut notes = Vec::new();
    let mut compact = opts.compact;
    let mut bound = opts.max_prefixes;
    loop {
        let mut round_notes = Vec::new();
        let (mut stmts, generalizations) = statements(
            grants,
            &covered,
            denied,
            catalog,
            opts,
            Round {
                max_prefixes: bound,
                compact,
            },
            &mut round_notes,
        );
        let mut used: BTreeMap<String, usize> = stmts
            .iter()
            .filter_map(|s| s.sid.clone())
            .map(|s| (s, 1))
            .collect();
        for c in carried.iter().filter(|c| c.label != RUNTIME) {
            let sid = format!(
                "{}{}",
                sid_for(
                    std::slice::from_ref(&c.action),
                    &c.resources,
                    &Conditions::new(),
                    catalog
                ),
                c.label
            );
            stmts.push(unique_sid(
                &mut used,
                sid,
                Some(allow(
                    vec![c.action.clone()],
                    c.resources.clone(),
                    c.condition.clone(),
                )),
            ));
        }
        // runtime grants: one statement per (resources, condition), never generalized
        let mut runtime: BTreeMap<(&[String], &Conditions), BTreeSet<&str>> = BTreeMap::new();
        for c in carried.iter().filter(|c| c.label == RUNTIME) {
            runtime
                .entry((&c.resources, &c.condition))
                .or_default()
                .insert(&c.action);
        }
        for ((resources, condition), actions) in runtime {
            let actions: Vec<String> = actions.into_iter().map(str::to_string).collect();
            let sid = format!(
                "{}{RUNTIME}",
                sid_for(&actions, resources, condition, catalog)
            );
            stmts.push(unique_sid(
                &mut used,
                sid,
                Some(allow(actions, resources.to_vec(), condition.clone())),
            ));
        }
        let mut doc = PolicyDocument {
            statements: stmts,
            ..PolicyDocument::default()
        };
        let guard = deny_guard(&doc, observed, denied, &mut round_notes);
        for g in guard {
            let sid = format!(
                "{}DeniedInTrail",
                sid_for(
                    g.action.values(),
                    g.resource.values(),
                    &Conditions::new(),
                    catalog
                )
            );
            doc.statements.push(unique_sid(&mut used, sid, Some(g)));
        }
        let size = doc.iam_size();
        let limit = match opts.kind {
            PolicyKind::Managed => MANAGED_LIMIT,
            PolicyKind::Inline => INLINE_AGGREGATE_LIMIT,
        };
        let proposal = |documents: Vec<PolicyDocument>, notes: Vec<String>| Proposal {
            documents,
            generalizations: generalizations.clone(),
            carried: carried.to_vec(),
            notes,
        };
        if !opts.enforce_limits || size <= limit {
            notes.extend(round_notes);
            return Ok(proposal(vec![doc], notes));
        }
        // 1. compact
        if !compact {
            compact = true;
            notes.push(format!(
                "{size} characters over the {limit} limit: actions compacted to zero-cost wildcards"
            ));
            continue;
        }
        // 2. generalize further within the bound
        if opts.level == GeneralizeLevel::Prefix && bound > 1 {
            bound = (bound / 2).max(1);
            notes.push(format!(
                "{size} characters over the {limit} limit: at most {bound} S3 prefix(es) per bucket"
            ));
            continue;
        }
        // 3. split into several managed policies
        if opts.kind == PolicyKind::Managed
            && let Some(parts) = split(&doc, limit)
            && parts.len() <= MANAGED_PER_ROLE
        {
            notes.push(format!(
                "{size} characters: split into {} managed policies of at most {limit}",
                parts.len()
            ));
            notes.extend(round_notes);
            return Ok(proposal(parts, notes));
        }
        // 4. fail
        return Err(SynthError::TooLarge {
            size,
            limit,
            what: match opts.kind {
                PolicyKind::Managed => "a managed policy (10 per role)",
                PolicyKind::Inline => "a role's inline policies together",
            },
            level: level_name(opts.level),
        });
    }
}

/// Splits the statements into documents of at most `limit` characters each (first fit, in
/// order). A statement too large on its own is first cut into statements over parts of its
/// resources (`Sid`, `Sid2`, …). `None` when even one resource does not fit.
pub fn split(doc: &PolicyDocument, limit: usize) -> Option<Vec<PolicyDocument>> {
    let size = |stmts: &[Statement]| {
        PolicyDocument {
            statements: stmts.to_vec(),
            ..PolicyDocument::default()
        }
        .iam_size()
    };
    let mut pieces: Vec<Statement> = Vec::new();
    for s in &doc.statements {
        if size(std::slice::from_ref(s)) <= limit {
            pieces.push(s.clone());
            continue;
        }
        let Matcher::Is(resources) = &s.resource else {
            return None;
        };
        // The k-th piece (from 1) of a cut statement: its resources, and the Sid suffixed from
        // the second piece on; trials are sized with the Sid the piece will carry.
        let piece = |part: &[String], k: usize| {
            let mut st = s.clone();
            st.resource = Matcher::Is(part.to_vec());
            if k > 1 {
                st.sid = st.sid.as_ref().map(|x| format!("{x}{k}"));
            }
            st
        };
        let mut part: Vec<String> = Vec::new();
        let mut k = 1;
        for r in resources {
            part.push(r.clone());
            if size(&[piece(&part, k)]) > limit {
                let last = part.pop();
                if part.is_empty() {
                    return None;
                }
                pieces.push(piece(&part, k));
                k += 1;
                part.clear();
                part.extend(last);
                if size(&[piece(&part, k)]) > limit {
                    return None;
                }
            }
        }
        if !part.is_empty() {
            pieces.push(piece(&part, k));
        }
    }
    let mut parts: Vec<PolicyDocument> = Vec::new();
    for s in pieces {
        let fits = parts.last().is_some_and(|last| {
            let mut trial = last.statements.clone();
            trial.push(s.clone());
            size(&trial) <= limit
        });
        match parts.last_mut() {
            Some(last) if fits => last.statements.push(s),
            _ => parts.push(PolicyDocument {
                statements: vec![s],
                ..PolicyDocument::default()
            }),
        }
    }
    Some(parts)
}

/// The request contexts under which the evidence's calls were made: one per condition value
/// (other keys at their first value); the empty context for unconditioned calls.
/// Condition values are kept as a policy writes them (escaped); a request carries the text
/// they stand for. (Held inline when there is one: nearly every grant has no condition.)
pub fn replay_contexts(ev: &crate::usage::Evidence) -> smallvec::SmallVec<[Context; 1]> {
    let Some(conds) = ev.grant_conditions() else {
        return smallvec::smallvec![Context::default()];
    };
    let keys: Vec<(&String, &BTreeSet<String>)> = conds.values().flat_map(|k| k.iter()).collect();
    let base = keys.iter().fold(Context::default(), |c, (k, vals)| {
        match vals.iter().next() {
            Some(v) => c.with(k, crate::wildcard::unescape(v).into_owned()),
            None => c,
        }
    });
    let mut out = smallvec::smallvec![base.clone()];
    for (k, vals) in &keys {
        for v in vals.iter().skip(1) {
            let mut c = base.clone();
            c.values.insert(
                k.to_ascii_lowercase(),
                vec![crate::wildcard::unescape(v).into_owned()],
            );
            out.push(c);
        }
    }
    out
}

/// `ReadShopUploadsBucket`, `WriteOrdersTable`, `PassRoleToLambda`: what a statement does, from
/// its actions' most sensitive access level and the resources it is on.
fn sid_for(
    actions: &[String],
    resources: &[String],
    condition: &Conditions,
    catalog: &Catalog,
) -> String {
    if actions
        .iter()
        .all(|a| a.eq_ignore_ascii_case("iam:PassRole"))
    {
        let to: Vec<String> = condition
            .values()
            .flat_map(|k| k.get("iam:PassedToService").into_iter().flatten())
            .map(|s| pascal(s.split('.').next().unwrap_or(s)))
            .collect();
        return if to.is_empty() {
            "PassRole".to_string()
        } else {
            format!("PassRoleTo{}", to.join(""))
        };
    }
    let level = actions
        .iter()
        .filter_map(|a| match catalog.action_qualified(a) {
            Some(d) => Some(d.access),
            // a compacted wildcard: the most sensitive level among what it covers
            None => crate::policy::expand::expand_actions(&Matcher::Is(vec![a.clone()]), catalog)
                .iter()
                .filter_map(|q| catalog.action_qualified(q).map(|d| d.access))
                .max(),
        })
        .max();
    let verb = match level {
        Some(AccessLevel::List) => "List",
        Some(AccessLevel::Read) => "Read",
        Some(AccessLevel::Tagging) => "Tag",
        Some(AccessLevel::Write) => "Write",
        Some(AccessLevel::PermissionsManagement) => "Manage",
        None => "Use",
    };
    let mut prefixes: Vec<&str> = actions.iter().filter_map(|a| a.split(':').next()).collect();
    prefixes.dedup();
    let services: String = prefixes.iter().take(3).map(|p| pascal(p)).collect();
    let noun = resource_noun(resources).unwrap_or_else(|| {
        if resources.iter().any(|r| r == "*") {
            format!("{services}All")
        } else {
            services
        }
    });
    let mut sid = format!("{verb}{noun}");
    sid.truncate(64);
    sid
}

/// `ShopUploadsBucket` for `arn:aws:s3:::shop-uploads-111122223333/…`: a name and a type word,
/// when every resource names the same thing.
fn resource_noun(resources: &[String]) -> Option<String> {
    // (the name part as the ARN spells it, its type word): compared as they are, and made
    // PascalCase once (a statement may list hundreds of resources of one name)
    fn part(r: &str) -> Option<(&str, &'static str)> {
        let arn = crate::arn::ArnRef::parse(r)?;
        let res = arn.resource;
        Some(match arn.service {
            "s3" => (res.split('/').next()?, "Bucket"),
            "dynamodb" => (res.strip_prefix("table/")?.split('/').next()?, "Table"),
            "sqs" => (res, "Queue"),
            "sns" => (res, "Topic"),
            "lambda" => (
                res.strip_prefix("function:")?.split(':').next()?,
                "Function",
            ),
            "kms" => ("", "Key"),
            "secretsmanager" => (
                res.strip_prefix("secret:")?
                    .rsplit('/')
                    .next()?
                    .trim_end_matches("-??????"),
                "Secret",
            ),
            "ssm" => (
                res.strip_prefix("parameter/")?.rsplit('/').next()?,
                "Parameter",
            ),
            "logs" => (
                res.strip_prefix("log-group:")?
                    .split(':')
                    .next()?
                    .rsplit('/')
                    .next()?,
                "Logs",
            ),
            "iam" => (res.rsplit('/').next()?, "Role"),
            "states" => (res.rsplit(':').next()?, "StateMachine"),
            "events" => (res.rsplit('/').next()?, "Events"),
            _ => return None,
        })
    }
    let noun = |(name, kind): (&str, &str)| {
        let name = if name.contains('*') {
            String::new()
        } else {
            pascal(name)
        };
        format!("{name}{kind}")
    };
    let mut parts = resources.iter().map(|r| part(r));
    let first = parts.next()??;
    let first_noun = noun(first);
    for p in parts {
        let p = p?;
        // the same spelling is the same noun; another may still read the same (`a-b`, `a_b`)
        if p != first && noun(p) != first_noun {
            return None;
        }
    }
    Some(first_noun)
}

/// The order of `a` and `b` spelled in lowercase, compared without making that spelling (a
/// sort by `to_ascii_lowercase` made two strings a comparison).
pub(crate) fn by_lowercase(a: &str, b: &str) -> std::cmp::Ordering {
    a.bytes()
        .map(|c| c.to_ascii_lowercase())
        .cmp(b.bytes().map(|c| c.to_ascii_lowercase()))
}

/// PascalCase of a name, without its purely numeric parts (account ids) and punctuation.
fn pascal(s: &str) -> String {
    pascal_case(s, false)
}

/// PascalCase of a name's alphanumeric words (`orders-api` → `OrdersApi`); words that are all
/// digits are kept only when `keep_numbers` is set.
pub(crate) fn pascal_case(s: &str, keep_numbers: bool) -> String {
    // (written into one buffer: a word's capital and its rest were two strings a word, and
    // every statement id names a few)
    let mut out = String::with_capacity(s.len());
    for w in s
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty() && (keep_numbers || !w.bytes().all(|b| b.is_ascii_digit())))
    {
        // a word is ASCII alphanumerics only: its first byte is a whole character
        let (first, rest) = w.split_at(1);
        out.extend(first.chars().map(|c| c.to_ascii_uppercase()));
        out.push_str(rest);
    }
    out
}

/// Replays every observed successful call through the evaluator against the documents. Any
/// call not allowed is returned; the caller must treat a non-empty result as an internal error.
pub fn replay(documents: &[PolicyDocument], usage: &PrincipalUsage) -> Vec<ReplayFailure> {
    replay_with(documents, usage, |_, _| Context::default())
}

/// As [`replay`], with extra context per call (e.g. `lambda:SourceFunctionArn` for a function's
/// own calls).
pub fn replay_with(
    documents: &[PolicyDocument],
    usage: &PrincipalUsage,
    extra: impl Fn(&str, &crate::usage::Evidence) -> Context,
) -> Vec<ReplayFailure> {
    let mut out = Vec::new();
    // the statements each action's requests are asked of (the grants come in action order)
    let mut statements: Option<(&str, crate::policy::ForAction<'_>)> = None;
    let mut example = String::new();
    for ((action, grant), ev) in &usage.grants {
        let applicable = match statements {
            Some((a, ref s)) if a == action.as_str() => s,
            _ => {
                let s = crate::policy::for_action(documents, action);
                &statements.insert((action.as_str(), s)).1
            }
        };
        let add = extra(action, ev);
        let contexts: smallvec::SmallVec<[Context; 1]> = replay_contexts(ev)
            .into_iter()
            .map(|mut ctx| {
                for (k, v) in &add.values {
                    ctx.values
                        .entry(k.clone())
                        .or_default()
                        .extend(v.iter().cloned());
                }
                ctx
            })
            .collect();
        let mut replay = |resource: &str| {
            for ctx in &contexts {
                let decision = crate::policy::evaluate_for_action(
                    applicable,
                    &Request {
                        action,
                        resource,
                        context: ctx,
                    },
                );
                if decision != Decision::Allow {
                    out.push(ReplayFailure {
                        action: action.to_string(),
                        resource: resource.to_string(),
                        decision,
                    });
                }
            }
        };
        // A resource folded on read is replayed as the calls it stands for (its examples);
        // one that has none, as itself.
        let examples = ev.folded.as_deref().map_or(0, |f| {
            f.each_example(
                crate::fold::fold_stem(grant.as_str()),
                &mut example,
                &mut replay,
            )
        });
        if examples == 0 {
            replay(grant.as_str());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(a: impl Into<String>, r: impl Into<String>) -> crate::usage::GrantKey {
        crate::usage::grant_key(a, r).unwrap_or_else(|e| panic!("{e}"))
    }
    use crate::usage::Evidence;
    use chrono::{TimeZone, Utc};

    fn ev() -> Evidence {
        let t = Utc
            .with_ymd_and_hms(2026, 11, 1, 0, 0, 0)
            .single()
            .unwrap_or_default();
        let mut e = Evidence::new(Some(t), "id");
        e.seen.count = 1;
        e
    }

    /// The proposal's `Deny` statements.
    fn deny_statements(p: &Proposal) -> Vec<&Statement> {
        p.documents
            .iter()
            .flat_map(|d| &d.statements)
            .filter(|s| s.effect == Effect::Deny)
            .collect()
    }

    /// A call both allowed and denied on the function's own log stream, which the runtime grant
    /// covers (so the allowed call is left out of the statements): it stays allowed, with no
    /// `Deny` that would break it. The growing benchmark trail found this.
    #[test]
    fn a_call_also_allowed_under_a_runtime_grant_is_not_denied() {
        let stream = "arn:aws:logs:eu-west-1:111122223333:log-group:/aws/lambda/f:log-stream:2026/08/20/[$LATEST]c8";
        let mut g = Grants::new();
        g.insert(key("logs:CreateLogStream", stream), ev());
        g.insert(
            key(
                "dynamodb:GetItem",
                "arn:aws:dynamodb:eu-west-1:111122223333:table/orders",
            ),
            ev(),
        );
        let mut denied = Grants::new();
        denied.insert(key("logs:CreateLogStream", stream), ev());
        let runtime = Carried {
            action: "logs:CreateLogStream".into(),
            resources: vec![
                "arn:aws:logs:eu-west-1:111122223333:log-group:/aws/lambda/f:log-stream:*".into(),
            ],
            label: RUNTIME.into(),
            ..Carried::default()
        };
        let p = propose(
            &g,
            &denied,
            &[runtime],
            Catalog::embedded(),
            &SynthOptions::default(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let denies = deny_statements(&p);
        assert!(denies.is_empty(), "{denies:?}");
        assert!(
            p.notes.iter().any(|n| n.contains("also allowed")),
            "{:?}",
            p.notes
        );
    }

    /// Found on the steady benchmark trail at 10 M records: a function read thousands of objects
    /// of a prefix (folded on read into `in/6/*`) and was once denied one of them, which is also
    /// one of the fold's examples. Past the sketch's exact range the guard could not tell that it
    /// was allowed, denied it, and the replay of the examples refused the policy.
    #[test]
    fn a_denied_call_that_is_an_example_of_a_large_fold_stays_allowed() {
        let head = "arn:aws:s3:::data-3-111122223333/in/6/";
        let first = format!("{head}00001.json");
        let mut e = ev();
        let mut f = crate::usage::folded::Folded::default();
        for i in 1..=5_000 {
            f.add(head, &format!("{i:05}.json"));
        }
        assert_eq!(f.examples(head).next(), Some(first.clone()));
        e.folded = Some(Box::new(f));
        e.seen.count = 5_000;
        let mut g = Grants::new();
        g.insert(key("s3:GetObject", format!("{head}*")), e);
        let mut denied = Grants::new();
        denied.insert(key("s3:GetObject", &first), ev());
        let p = propose(
            &g,
            &denied,
            &[],
            Catalog::embedded(),
            &SynthOptions::default(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let denies = deny_statements(&p);
        assert!(denies.is_empty(), "{denies:?}");
        let usage = PrincipalUsage {
            grants: g,
            denied,
            ..PrincipalUsage::default()
        };
        assert!(replay(&p.documents, &usage).is_empty());
    }

    /// The replay refuses what the documents do not allow: a grant outside them, and each
    /// example of a fold that they cover only in part (a fold is replayed as the calls it
    /// stands for, not as its pattern).
    #[test]
    fn the_replay_refuses_what_the_policy_does_not_allow() {
        let head = "arn:aws:s3:::b-111122223333/uploads/";
        let mut f = crate::usage::folded::Folded::default();
        for k in ["a.jpg", "b.jpg", "c.jpg"] {
            f.add(head, k);
        }
        let mut folded = ev();
        folded.folded = Some(Box::new(f));
        let mut g = Grants::new();
        g.insert(key("s3:GetObject", format!("{head}*")), folded);
        g.insert(
            key("s3:GetObject", "arn:aws:s3:::b-111122223333/k.txt"),
            ev(),
        );
        let usage = PrincipalUsage {
            grants: g,
            ..PrincipalUsage::default()
        };
        let doc = |resources: &[&str]| {
            PolicyDocument::parse(
                &serde_json::json!({
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": resources}]
                })
                .to_string(),
            )
            .unwrap_or_else(|e| panic!("{e}"))
        };
        let refused = |resources: &[&str]| -> Vec<String> {
            replay(&[doc(resources)], &usage)
                .into_iter()
                .map(|f| f.resource)
                .collect()
        };
        assert_eq!(
            refused(&["arn:aws:s3:::b-111122223333/uploads/a.jpg"]),
            [
                "arn:aws:s3:::b-111122223333/k.txt",
                "arn:aws:s3:::b-111122223333/uploads/b.jpg",
                "arn:aws:s3:::b-111122223333/uploads/c.jpg",
            ]
        );
        assert!(refused(&["arn:aws:s3:::b-111122223333/*"]).is_empty());
        assert_eq!(
            refused(&["arn:aws:s3:::b-111122223333/uploads/*"]),
            ["arn:aws:s3:::b-111122223333/k.txt"]
        );
    }

    #[test]
    fn sids_say_what_a_statement_does() {
        let mut g = Grants::new();
        g.insert(
            key(
                "s3:GetObject",
                "arn:aws:s3:::shop-uploads-111122223333/a/x.jpg",
            ),
            ev(),
        );
        g.insert(
            key(
                "dynamodb:GetItem",
                "arn:aws:dynamodb:eu-west-1:1:table/orders",
            ),
            ev(),
        );
        g.insert(
            key(
                "dynamodb:PutItem",
                "arn:aws:dynamodb:eu-west-1:1:table/orders",
            ),
            ev(),
        );
        g.insert(key("s3:ListAllMyBuckets", "*"), ev());
        let p = synthesize(&g, Catalog::embedded());
        let sids: Vec<_> = p
            .statements
            .iter()
            .map(|s| s.sid.clone().unwrap_or_default())
            .collect();
        assert_eq!(
            sids,
            ["WriteOrdersTable", "ReadShopUploadsBucket", "ListS3All"]
        );
        assert_eq!(pascal("shop-uploads-111122223333"), "ShopUploads");
    }

    proptest::proptest! {
        /// PascalCase written into one buffer is what capitalizing each word apart gave, for
        /// any text (punctuation, digits, non-ASCII letters, which split words).
        #[test]
        fn pascal_case_is_each_word_capitalized(s in "[a-zA-Z0-9_./:é写-]{0,24}", keep: bool) {
            let words: String = s
                .split(|c: char| !c.is_ascii_alphanumeric())
                .filter(|w| !w.is_empty() && (keep || !w.bytes().all(|b| b.is_ascii_digit())))
                .map(|w| {
                    let mut c = w.chars();
                    c.next()
                        .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                        .unwrap_or_default()
                })
                .collect();
            proptest::prop_assert_eq!(pascal_case(&s, keep), words);
        }
    }

    #[test]
    fn size_limits_compact_generalize_split_or_fail() {
        let mut g = Grants::new();
        for t in 0..300 {
            g.insert(
                key(
                    "dynamodb:GetItem",
                    format!("arn:aws:dynamodb:eu-west-1:111122223333:table/table-number-{t:04}"),
                ),
                ev(),
            );
        }
        let opts = SynthOptions::default();
        let p = propose(&g, &Grants::new(), &[], Catalog::embedded(), &opts).unwrap_or_default();
        assert!(
            p.documents.len() > 1,
            "one big statement is cut by its resources"
        );
        assert!(p.documents.iter().all(|d| d.iam_size() <= MANAGED_LIMIT));
        let mut g2 = Grants::new();
        for t in 0..2000 {
            g2.insert(
                key("dynamodb:GetItem", format!("arn:aws:dynamodb:eu-west-1:111122223333:table/a-rather-long-table-name-{t:05}")),
                ev(),
            );
        }
        let p = propose(&g2, &Grants::new(), &[], Catalog::embedded(), &opts);
        let Err(SynthError::TooLarge { limit, .. }) = p else {
            panic!("{p:?}")
        };
        assert_eq!(limit, MANAGED_LIMIT, "more than ten policies' worth fails");
        let mut g = Grants::new();
        for t in 0..120 {
            g.insert(
                key(
                    format!("dynamodb:{}", ["GetItem", "PutItem", "Query"][t % 3]),
                    format!("arn:aws:dynamodb:eu-west-1:111122223333:table/t{t:04}"),
                ),
                ev(),
            );
        }
        let p = propose(&g, &Grants::new(), &[], Catalog::embedded(), &opts).unwrap_or_default();
        assert!(p.documents.len() > 1, "{:?}", p.notes);
        assert!(p.documents.iter().all(|d| d.iam_size() <= MANAGED_LIMIT));
        let u = PrincipalUsage {
            grants: g,
            ..PrincipalUsage::default()
        };
        assert!(replay(&p.documents, &u).is_empty());
    }
}
