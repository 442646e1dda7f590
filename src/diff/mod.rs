//! Current vs proposed: every granted action classed as used (kept, maybe narrowed), unused
//! (removed), unobservable (kept and flagged), missing (used but not granted by identity
//! policy) or denied, with the risk of each grant and a summary per role.

pub mod check;
pub mod risk;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::Serialize;

pub use risk::{RiskClass, RiskTable};

use crate::catalog::{Catalog, Observability, ObservabilityTable};
use crate::identity::{PrincipalKind, role_account, role_name};
use crate::policy::Decision;
use crate::policy::current::{CurrentPolicies, CurrentPrincipal};
use crate::policy::expand::granted;
use crate::synth::replay_contexts;
use crate::usage::{Evidence, EvidenceMap, Grants, Usage};

pub const DIFF_SCHEMA: &str = "tightrole/diff/v2";

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum DiffClass {
    /// Granted, observable, and not seen in the window: removed.
    Unused,
    /// Used successfully but not allowed by the identity policies loaded.
    Missing,
    /// Attempted and denied.
    Denied,
    /// Granted and not provable unused from this trail: kept, flagged.
    Unobservable,
    /// Granted and used: kept (narrowed when the proposal scopes it tighter).
    Used,
    /// Granted, not seen used, and needed by the Lambda runtime from the function's
    /// configuration (its logs, its event sources, its dead-letter queue, …): kept.
    RequiredByRuntime,
}

impl DiffClass {
    pub fn as_str(self) -> &'static str {
        match self {
            DiffClass::Unused => "unused",
            DiffClass::Missing => "missing",
            DiffClass::Denied => "denied",
            DiffClass::Unobservable => "unobservable",
            DiffClass::Used => "used",
            DiffClass::RequiredByRuntime => "required-by-runtime",
        }
    }
}

#[derive(Debug, Clone)]
pub struct DiffEntry {
    pub action: String,
    pub class: DiffClass,
    /// The resource scope granted today.
    pub before: Vec<String>,
    /// The resource scope proposed (used and missing: what the calls touched).
    pub after: Vec<String>,
    pub narrowed: bool,
    pub reason: Option<String>,
    pub risk: Vec<RiskClass>,
    /// Functions (or `role session`) that made these calls.
    pub used_by: Vec<String>,
    pub count: u64,
    pub last_seen: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct RiskyRemoval {
    pub action: String,
    pub before: Vec<String>,
    pub risk: Vec<RiskClass>,
}

#[derive(Debug, Clone, Default)]
pub struct DiffSummary {
    /// Distinct actions granted today, wildcards expanded against the catalog.
    pub granted_before: usize,
    /// Distinct actions after: used plus unobservable (kept).
    pub granted_after: usize,
    pub removed: usize,
    /// removed / granted_before, 0 to 1.
    pub share_removed: f64,
    pub narrowed: usize,
    pub unobservable: usize,
    pub missing: usize,
    pub denied: usize,
    /// The headline: risky grants the proposal removes.
    pub risky_removed: Vec<RiskyRemoval>,
}

#[derive(Debug, Clone)]
pub struct PrincipalDiff {
    pub kind: PrincipalKind,
    pub name: String,
    pub account: String,
    pub arn: Option<String>,
    /// The functions that run as this role, and what each used.
    pub functions: BTreeMap<String, Vec<String>>,
    pub policies: Vec<String>,
    pub summary: DiffSummary,
    pub entries: Vec<DiffEntry>,
    /// Why the result may be less certain than it looks (short window, young function,
    /// incomplete current policies).
    pub confidence: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct DiffReport {
    pub current: String,
    pub window: Option<crate::model::Window>,
    pub principals: Vec<PrincipalDiff>,
    /// Principals in the trail without current policies in `--current`.
    pub not_in_current: Vec<String>,
    /// Functions of the inventory with no call in the window: as far as they go, every
    /// permission of their role is unused or unobservable.
    pub idle_functions: Vec<IdleFunction>,
}

#[derive(Debug, Clone)]
pub struct IdleFunction {
    pub function: String,
    pub role: Option<String>,
    /// Actions the role's current policies grant (0 when the role is not in `--current`).
    pub granted_actions: usize,
}

impl DiffReport {
    pub fn count(&self, class: DiffClass) -> usize {
        self.principals
            .iter()
            .flat_map(|p| p.entries.iter())
            .filter(|e| e.class == class)
            .count()
    }

    pub fn risky_removed(&self) -> usize {
        self.principals
            .iter()
            .map(|p| p.summary.risky_removed.len())
            .sum()
    }
}

/// One role (with its functions) or user, as the trail shows it.
struct Subject {
    kind: PrincipalKind,
    name: String,
    account: String,
    grants: Grants,
    denied: Grants,
    data_types: BTreeSet<String>,
    /// action → who used it
    used_by: BTreeMap<String, BTreeSet<String>>,
    functions: BTreeMap<String, BTreeSet<String>>,
    /// function → first seen
    function_first: BTreeMap<String, DateTime<Utc>>,
}

fn subjects(usage: &Usage) -> BTreeMap<(PrincipalKind, String, String), Subject> {
    let mut out = BTreeMap::new();
    for (owner, members) in usage.by_owner() {
        let mut s = Subject {
            kind: owner.kind,
            name: owner.name.clone(),
            account: owner.account.clone(),
            grants: Grants::new(),
            denied: Grants::new(),
            data_types: BTreeSet::new(),
            used_by: BTreeMap::new(),
            functions: BTreeMap::new(),
            function_first: BTreeMap::new(),
        };
        for (id, p) in members {
            let who = match id.kind {
                PrincipalKind::Function => format!("function {}", id.name),
                PrincipalKind::Role => "role sessions".to_string(),
                _ => format!("{} {}", id.kind, id.name),
            };
            s.grants
                .add_all(p.grants.iter().map(|(k, e)| (k.clone(), e.clone())));
            s.denied
                .add_all(p.denied.iter().map(|(k, e)| (k.clone(), e.clone())));
            s.data_types.extend(p.data_types.iter().cloned());
            for (action, _) in p.grants.keys() {
                s.used_by
                    .entry(action.to_string())
                    .or_default()
                    .insert(who.clone());
            }
            if id.kind == PrincipalKind::Function {
                let actions = s.functions.entry(id.name.clone()).or_default();
                actions.extend(p.grants.keys().map(|(a, _)| a.to_string()));
                if let Some(first) = p
                    .grants
                    .values()
                    .chain(p.denied.values())
                    .filter_map(|e| e.seen.first_seen)
                    .min()
                {
                    s.function_first.insert(id.name.clone(), first);
                }
            }
        }
        out.insert((owner.kind, owner.account, owner.name), s);
    }
    out
}

/// A kind of finding `diff --fail-on` fails on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailOn {
    /// Any grant the trail shows unused.
    Unused,
    /// Any risky grant the proposal removes.
    Risky,
    /// Any call used successfully but not granted by identity policy.
    Missing,
    /// Any denied call.
    Denied,
}

impl DiffReport {
    /// Does the report have a finding of this kind?
    pub fn has(&self, f: FailOn) -> bool {
        match f {
            FailOn::Unused => self.count(DiffClass::Unused) > 0,
            FailOn::Risky => self.risky_removed() > 0,
            FailOn::Missing => self.count(DiffClass::Missing) > 0,
            FailOn::Denied => self.count(DiffClass::Denied) > 0,
        }
    }
}

/// Options of the diff.
#[derive(Debug, Clone, Default)]
pub struct DiffOptions {
    /// A window shorter than this many days, or a function first seen fewer days before its
    /// end, lowers confidence.
    pub min_observed_days: Option<u32>,
    /// The functions' configuration, for what the Lambda runtime needs ([`crate::runtime`]);
    /// `None` turns the runtime requirements off (`--no-runtime`).
    pub runtime: Option<crate::identity::Inventory>,
}

/// What the Lambda runtime needs for the functions of a subject (its role's functions).
fn runtime_of(
    s: &Subject,
    fn_arns: &BTreeMap<&str, &str>,
    opts: &DiffOptions,
) -> Vec<crate::runtime::Requirement> {
    let Some(inventory) = &opts.runtime else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for name in s.functions.keys() {
        let known = inventory.functions.get(name);
        out.extend(crate::runtime::requirements(&crate::runtime::Function {
            name,
            arn: known
                .and_then(|f| f.arn.as_deref())
                .or_else(|| fn_arns.get(name.as_str()).copied()),
            account: &s.account,
            config: known.map(|f| &f.config),
        }));
    }
    out
}

/// A request for one resource a (possibly patterned) runtime resource stands for.
pub(crate) fn sample_resource(pattern: &str) -> String {
    if pattern == "*" {
        return pattern.to_string();
    }
    crate::wildcard::unescape(&pattern.replace('*', "tightrole-sample")).into_owned()
}

/// The grants of `--current` the trail cannot show unused (class `unobservable`), per role or
/// user: what synthesis carries into a proposal ([`crate::synth::carry::Carry`]), marked
/// `Unobservable`.
pub fn unobservable(
    usage: &Usage,
    current: &CurrentPolicies,
    catalog: &Catalog,
) -> crate::synth::carry::Unobservable {
    let report = diff(usage, current, &DiffOptions::default(), catalog);
    let mut out = crate::synth::carry::Unobservable::new();
    for p in report.principals {
        let rows = p
            .entries
            .iter()
            .filter(|e| e.class == DiffClass::Unobservable)
            .map(|e| crate::synth::Carried {
                action: e.action.clone(),
                resources: e
                    .before
                    .iter()
                    .filter(|r| !r.starts_with("all except"))
                    .cloned()
                    .collect(),
                label: "Unobservable".to_string(),
                reason: e.reason.clone().unwrap_or_default(),
                ..Default::default()
            })
            .filter(|c| !c.resources.is_empty())
            .collect();
        out.insert((p.kind, p.name), rows);
    }
    out
}

/// Diffs the trail's usage against the current policies.
pub fn diff(
    usage: &Usage,
    current: &CurrentPolicies,
    opts: &DiffOptions,
    catalog: &Catalog,
) -> DiffReport {
    let fn_arns = usage.function_arns();
    let mut principals = Vec::new();
    let mut not_in_current = Vec::new();
    for ((kind, _, name), s) in subjects(usage) {
        let cp = match kind {
            PrincipalKind::User => current.for_user_in(&name, &s.account),
            _ => current.for_role_in(&name, &s.account),
        };
        let Some(cp) = cp else {
            not_in_current.push(format!("{kind} {name}"));
            continue;
        };
        let runtime = runtime_of(&s, &fn_arns, opts);
        principals.push(diff_one(&s, cp, usage, opts, catalog, &runtime));
    }
    DiffReport {
        current: current.source.clone(),
        window: usage.window,
        principals,
        not_in_current,
        idle_functions: usage
            .idle_functions
            .iter()
            .map(|(f, role)| IdleFunction {
                function: f.clone(),
                role: role.as_deref().map(|r| role_name(r).to_string()),
                granted_actions: role
                    .as_deref()
                    .and_then(|r| current.for_role_in(role_name(r), role_account(r)))
                    .map(|cp| {
                        granted(
                            cp.policies.iter().map(|p| (p.source.as_str(), &p.document)),
                            catalog,
                        )
                        .len()
                    })
                    .unwrap_or(0),
            })
            .collect(),
    }
}

fn last_seen(evs: &[&Evidence]) -> Option<DateTime<Utc>> {
    evs.iter().filter_map(|e| e.seen.last_seen).max()
}

fn diff_one(
    s: &Subject,
    cp: &CurrentPrincipal,
    usage: &Usage,
    opts: &DiffOptions,
    catalog: &Catalog,
    runtime: &[crate::runtime::Requirement],
) -> PrincipalDiff {
    let obs = ObservabilityTable::embedded();
    let risk = RiskTable::embedded();
    let granted = granted(
        cp.policies.iter().map(|p| (p.source.as_str(), &p.document)),
        catalog,
    );
    // What the boundary lets through, when there is one.
    let boundary = cp
        .boundary
        .as_ref()
        .map(|b| granted_by(&b.document, catalog));
    let granted: BTreeMap<String, crate::policy::expand::Grant> = granted
        .into_iter()
        .filter(|(a, _)| boundary.as_ref().is_none_or(|b| b.contains(a)))
        .collect();
    let mut used: BTreeMap<&str, Vec<(&str, &Evidence)>> = BTreeMap::new();
    for ((a, r), e) in &s.grants {
        used.entry(a.as_str()).or_default().push((r.as_str(), e));
    }
    let runtime_field = |action: &str| {
        runtime
            .iter()
            .find(|r| r.actions.iter().any(|a| a.eq_ignore_ascii_case(action)))
            .map(|r| r.field.clone())
    };
    let mut entries = Vec::new();
    // Missing: used calls the current policies would not allow.
    let mut missing: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut conditional: BTreeSet<&str> = BTreeSet::new();
    for ((a, r), e) in &s.grants {
        for ctx in replay_contexts(e) {
            match cp.evaluate(a, r, &ctx) {
                Decision::Allow => {}
                Decision::Conditional => {
                    conditional.insert(a.as_str());
                }
                Decision::ImplicitDeny | Decision::ExplicitDeny => {
                    let v = missing.entry(a.as_str()).or_default();
                    if !v.contains(&r.as_str()) {
                        v.push(r.as_str());
                    }
                }
            }
        }
    }
    let used_by = |a: &str| {
        s.used_by
            .get(a)
            .map(|w| w.iter().cloned().collect())
            .unwrap_or_default()
    };
    for (action, grant) in &granted {
        let before: Vec<String> = grant.resources.iter().cloned().collect();
        let risk_classes: Vec<RiskClass> = risk
            .classes(action, &grant.resources, catalog)
            .into_iter()
            .collect();
        if let Some(calls) = used.get(action.as_str()) {
            let after: Vec<String> = calls.iter().map(|(r, _)| r.to_string()).collect();
            let evs: Vec<&Evidence> = calls.iter().map(|(_, e)| *e).collect();
            let narrowed = before != after;
            entries.push(DiffEntry {
                action: action.clone(),
                class: DiffClass::Used,
                narrowed,
                reason: conditional.contains(action.as_str()).then(|| {
                    "allowed today only under a condition this trail cannot check".to_string()
                }),
                risk: risk_classes,
                used_by: used_by(action),
                count: evs.iter().map(|e| e.seen.count).sum(),
                last_seen: last_seen(&evs),
                before,
                after,
            });
            continue;
        }
        let (class, reason) = match obs.of(action) {
            _ if runtime_field(action).is_some() => (
                DiffClass::RequiredByRuntime,
                runtime_field(action).map(|f| format!("the Lambda runtime needs it: {f}")),
            ),
            Observability::Unlogged => (
                DiffClass::Unobservable,
                Some("CloudTrail never logs this action".to_string()),
            ),
            Observability::Data(t) if !s.data_types.contains(&t) => (
                DiffClass::Unobservable,
                Some(if usage.data_types.contains(&t) {
                    format!("a data event ({t}); none of this principal's are in the trail")
                } else {
                    format!("a data event ({t}); the trail has none of this type")
                }),
            ),
            _ => (DiffClass::Unused, None),
        };
        entries.push(DiffEntry {
            action: action.clone(),
            class,
            before,
            after: Vec::new(),
            narrowed: false,
            reason,
            risk: risk_classes,
            used_by: Vec::new(),
            count: 0,
            last_seen: None,
        });
    }
    for (action, resources) in &missing {
        let evs: Vec<&Evidence> = used
            .get(action)
            .map(|c| c.iter().map(|(_, e)| *e).collect())
            .unwrap_or_default();
        entries.push(DiffEntry {
            action: action.to_string(),
            class: DiffClass::Missing,
            before: granted.get(*action).map(|g| g.resources.iter().cloned().collect()).unwrap_or_default(),
            after: resources.iter().map(|r| r.to_string()).collect(),
            narrowed: false,
            reason: Some("used successfully but not allowed by the identity policies loaded: a resource policy or another path allows it".to_string()),
            risk: Vec::new(),
            used_by: used_by(action),
            count: evs.iter().map(|e| e.seen.count).sum(),
            last_seen: last_seen(&evs),
        });
    }
    // runtime requirements the current policies do not allow: missing
    let mut runtime_missing: BTreeMap<&str, (Vec<String>, String)> = BTreeMap::new();
    for r in runtime {
        for a in &r.actions {
            let ctx = crate::policy::Context::default();
            if cp.evaluate(a, &sample_resource(&r.resource), &ctx) != Decision::Allow
                && !missing.contains_key(a.as_str())
            {
                let m = runtime_missing
                    .entry(a.as_str())
                    .or_insert_with(|| (Vec::new(), r.field.clone()));
                if !m.0.contains(&r.resource) {
                    m.0.push(r.resource.clone());
                }
            }
        }
    }
    for (action, (resources, field)) in runtime_missing {
        entries.push(DiffEntry {
            action: action.to_string(),
            class: DiffClass::Missing,
            before: granted
                .get(action)
                .map(|g| g.resources.iter().cloned().collect())
                .unwrap_or_default(),
            after: resources,
            narrowed: false,
            reason: Some(format!(
                "the Lambda runtime needs it ({field}) and the current policies do not allow it"
            )),
            risk: Vec::new(),
            used_by: Vec::new(),
            count: 0,
            last_seen: None,
        });
    }
    let mut denied: BTreeMap<&str, (Vec<String>, Vec<&Evidence>)> = BTreeMap::new();
    for ((a, r), e) in &s.denied {
        let d = denied.entry(a.as_str()).or_default();
        d.0.push(r.to_string());
        d.1.push(e);
    }
    for (action, (resources, evs)) in denied {
        entries.push(DiffEntry {
            action: action.to_string(),
            class: DiffClass::Denied,
            before: Vec::new(),
            after: resources,
            narrowed: false,
            reason: Some(
                "attempted and denied: a candidate to add, or a sign of trouble".to_string(),
            ),
            risk: Vec::new(),
            used_by: Vec::new(),
            count: evs.iter().map(|e| e.seen.count).sum(),
            last_seen: last_seen(&evs),
        });
    }
    entries.sort_by(|a, b| (a.class, &a.action).cmp(&(b.class, &b.action)));
    let count = |c: DiffClass| entries.iter().filter(|e| e.class == c).count();
    let removed = count(DiffClass::Unused);
    let summary = DiffSummary {
        granted_before: granted.len(),
        granted_after: count(DiffClass::Used)
            + count(DiffClass::Unobservable)
            + count(DiffClass::RequiredByRuntime),
        removed,
        share_removed: if granted.is_empty() {
            0.0
        } else {
            removed as f64 / granted.len() as f64
        },
        narrowed: entries
            .iter()
            .filter(|e| e.class == DiffClass::Used && e.narrowed)
            .count(),
        unobservable: count(DiffClass::Unobservable),
        missing: count(DiffClass::Missing),
        denied: count(DiffClass::Denied),
        risky_removed: entries
            .iter()
            .filter(|e| e.class == DiffClass::Unused && !e.risk.is_empty())
            .map(|e| RiskyRemoval {
                action: e.action.clone(),
                before: e.before.clone(),
                risk: e.risk.clone(),
            })
            .collect(),
    };
    let mut confidence = cp.incomplete.clone();
    if let (Some(days), Some(window)) = (opts.min_observed_days, usage.window) {
        let (span, last) = (window.days(), window.last);
        if span < i64::from(days) {
            confidence.push(format!("the window covers {span} day(s), less than --min-observed {days}: rare paths may be missing"));
        }
        for (f, seen) in &s.function_first {
            let age = (last - *seen).num_days();
            if age < i64::from(days) {
                confidence.push(format!("function `{f}` was first seen {age} day(s) before the end of the window, less than --min-observed {days}"));
            }
        }
    }
    PrincipalDiff {
        kind: s.kind,
        name: s.name.clone(),
        account: s.account.clone(),
        arn: cp.arn.clone(),
        functions: s
            .functions
            .iter()
            .map(|(f, a)| (f.clone(), a.iter().cloned().collect()))
            .collect(),
        policies: cp.policies.iter().map(|p| p.source.clone()).collect(),
        summary,
        entries,
        confidence,
    }
}

/// Actions a (boundary) policy allows at all.
fn granted_by(doc: &crate::policy::PolicyDocument, catalog: &Catalog) -> BTreeSet<String> {
    granted([("boundary", doc)], catalog).into_keys().collect()
}
