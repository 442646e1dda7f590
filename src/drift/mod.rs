//! Drift over time: a state file remembers, per principal, what was used and when, and which
//! inputs were already read, so a weekly run reads only the new week. The report compares the
//! new period with everything before it and with the approved baseline.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::catalog::{Catalog, Observability, ObservabilityTable};
use crate::identity::{PrincipalKind, role_name};
use crate::policy::current::{CurrentPolicies, CurrentPrincipal};
use crate::policy::expand::{Grant, granted};
use crate::usage::Usage;

pub use crate::model::Seen;

mod picture;

pub use picture::{Activity, ChangeGraph, Column, EdgeStat, Node, PrincipalActivity};

/// The version of `drift --format json`.
pub const DRIFT_SCHEMA: &str = "tightrole/drift/v1";

pub const STATE_FORMAT: &str = "tightrole-drift-state/v1";

/// An input already read: identified by path, size and modification time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ReadFile {
    pub size: u64,
    pub modified: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct State {
    pub format: String,
    /// The end of the window of the last run: the next period starts after it.
    pub window_end: Option<DateTime<Utc>>,
    pub files: BTreeMap<String, ReadFile>,
    /// "kind name" → "action resource" → seen. Granted usage, cumulative.
    pub used: BTreeMap<String, BTreeMap<String, Seen>>,
    /// "kind name" → day (YYYY-MM-DD) → denied calls that day.
    pub denied_by_day: BTreeMap<String, BTreeMap<String, u64>>,
    /// "kind name" → role ARN, for functions and roles.
    pub roles: BTreeMap<String, String>,
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot read the state file `{path}`: {reason}")]
    Read { path: String, reason: String },
    #[error("`{path}` is not a tightrole drift state file ({reason}); it was left untouched")]
    Corrupt { path: String, reason: String },
    #[error(
        "`{path}` is a drift state of format `{found}`, not `{STATE_FORMAT}`; it was left untouched"
    )]
    Version { path: String, found: String },
    #[error("cannot write the state file `{path}`: {reason}")]
    Write { path: String, reason: String },
}

fn key(kind: PrincipalKind, name: &str) -> String {
    format!("{kind} {name}")
}

impl State {
    pub fn new() -> State {
        State {
            format: STATE_FORMAT.to_string(),
            ..State::default()
        }
    }

    /// Loads a state file; a missing file is a new state. A corrupt or other-version file is an
    /// error and is never overwritten.
    pub fn load(path: &Path) -> Result<State, StateError> {
        let p = path.display().to_string();
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(State::new()),
            Err(e) => {
                return Err(StateError::Read {
                    path: p,
                    reason: crate::diag::io_reason(&e),
                });
            }
        };
        let v: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| StateError::Corrupt {
                path: p.clone(),
                reason: crate::diag::serde_reason(&e),
            })?;
        let found = v
            .get("format")
            .and_then(|f| f.as_str())
            .unwrap_or("")
            .to_string();
        if found != STATE_FORMAT {
            return Err(StateError::Version { path: p, found });
        }
        serde_json::from_value(v).map_err(|e| StateError::Corrupt {
            path: p,
            reason: crate::diag::serde_reason(&e),
        })
    }

    /// Writes the state atomically, keeping the previous one as `<file>.bak`.
    pub fn save(&self, path: &Path) -> Result<(), StateError> {
        let p = path.display().to_string();
        let err = |e: std::io::Error| StateError::Write {
            path: p.clone(),
            reason: crate::diag::io_reason(&e),
        };
        // Rendered before anything is touched: a state that cannot be rendered is an error,
        // never an empty file.
        let text = serde_json::to_string_pretty(self).map_err(|e| StateError::Write {
            path: p.clone(),
            reason: crate::diag::serde_reason(&e),
        })? + "\n";
        if path.exists() {
            let mut bak = path.as_os_str().to_owned();
            bak.push(".bak");
            let old = std::fs::read(path).map_err(err)?;
            crate::write::atomic_write(Path::new(&bak), &old).map_err(err)?;
        }
        crate::write::atomic_write(path, text.as_bytes()).map_err(err)
    }

    /// Folds one period's usage in.
    pub fn absorb(&mut self, usage: &Usage) {
        for (id, p) in &usage.principals {
            let k = key(id.kind, &id.name);
            if let Some(r) = &p.role_arn {
                self.roles.insert(k.clone(), r.clone());
            }
            let used = self.used.entry(k.clone()).or_default();
            for ((a, r), e) in &p.grants {
                used.entry(format!("{a} {r}"))
                    .and_modify(|s| s.merge(&e.seen))
                    .or_insert(e.seen);
            }
            for (day, n) in p.days.iter().filter(|(_, n)| n.denied > 0) {
                *self
                    .denied_by_day
                    .entry(k.clone())
                    .or_default()
                    .entry(day.format("%Y-%m-%d").to_string())
                    .or_default() += n.denied;
            }
        }
        if let Some(crate::model::Window { last, .. }) = usage.window {
            self.window_end = Some(self.window_end.map_or(last, |w| w.max(last)));
        }
    }
}

/// A finding code: one SARIF rule each.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Finding {
    /// An action or resource never seen before: a new behaviour, possibly suspicious.
    NewlyUsed,
    /// A granted action not used for the `--unused-after` period.
    NewlyUnused,
    /// Denied calls of a principal jumped against the previous period.
    DeniedSpike,
    /// The deployed policy differs from the approved baseline.
    PolicyDrift,
    /// Several functions share one role.
    SharedRole,
    /// A role of the baseline (or a function of the inventory) did nothing.
    NoActivity,
}

impl Finding {
    pub const ALL: [Finding; 6] = [
        Finding::NewlyUsed,
        Finding::NewlyUnused,
        Finding::DeniedSpike,
        Finding::PolicyDrift,
        Finding::SharedRole,
        Finding::NoActivity,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Finding::NewlyUsed => "TR001",
            Finding::NewlyUnused => "TR002",
            Finding::DeniedSpike => "TR003",
            Finding::PolicyDrift => "TR004",
            Finding::SharedRole => "TR005",
            Finding::NoActivity => "TR006",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Finding::NewlyUsed => "newly-used",
            Finding::NewlyUnused => "newly-unused",
            Finding::DeniedSpike => "denied-spike",
            Finding::PolicyDrift => "policy-drift",
            Finding::SharedRole => "shared-role",
            Finding::NoActivity => "no-activity",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Finding::NewlyUsed => "Newly used",
            Finding::NewlyUnused => "Newly unused",
            Finding::DeniedSpike => "Denied spikes",
            Finding::PolicyDrift => "Policy drift",
            Finding::SharedRole => "Functions without a role of their own",
            Finding::NoActivity => "No activity",
        }
    }

    pub fn level(self) -> &'static str {
        match self {
            Finding::NewlyUsed | Finding::PolicyDrift | Finding::DeniedSpike => "warning",
            _ => "note",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub finding: Finding,
    /// `role shop-api-role`, `function orders-api`.
    pub principal: String,
    pub message: String,
    pub action: Option<String>,
    pub resource: Option<String>,
    /// The baseline policy file the finding is about, when there is one: the one granting the
    /// action, when one does.
    pub file: Option<String>,
    /// The deployed policy file (`--current`) granting the action, when there is one.
    pub deployed_file: Option<String>,
    /// The calls behind the finding: those of the new grants, of the unused action before it
    /// fell out of use, or the denied calls of the period.
    pub seen: Option<Seen>,
    /// The grants behind the finding, busiest first, at most [`CALLS_KEPT`]: the new ones of a
    /// newly used action, the denied ones of a denied spike; (action, resource, calls), the
    /// resources generalized as a policy would name them.
    pub calls: Vec<(String, String, Seen)>,
    /// How many grants there are behind the finding in all.
    pub calls_total: usize,
}

/// The grants behind a finding kept at most ([`Item::calls`]).
pub const CALLS_KEPT: usize = 5;

/// `resources` under the patterns a policy would name them by (S3 keys under at most `bound`
/// prefixes per bucket, index and log streams under their table or group), the values of the
/// resources a pattern covers merged.
fn generalized<T>(
    resources: BTreeMap<String, T>,
    bound: usize,
    merge: impl Fn(&mut T, T),
) -> BTreeMap<String, T> {
    let names: BTreeSet<String> = resources.keys().cloned().collect();
    let (patterns, _) =
        crate::synth::generalize::generalize(&names, crate::fold::GeneralizeLevel::Prefix, bound);
    let mut out: BTreeMap<String, T> = BTreeMap::new();
    for (r, v) in resources {
        let text = crate::wildcard::unescape(&r);
        let into = patterns
            .iter()
            .find(|p| **p == r || crate::wildcard::matches(p, &text, false))
            .cloned()
            .unwrap_or(r);
        match out.entry(into) {
            std::collections::btree_map::Entry::Occupied(mut e) => merge(e.get_mut(), v),
            std::collections::btree_map::Entry::Vacant(e) => {
                e.insert(v);
            }
        }
    }
    out
}

/// The busiest [`CALLS_KEPT`] of some grants, each action's resources generalized as a policy
/// would name them (S3 keys under their prefixes), and how many there are after that.
fn busiest(
    calls: impl IntoIterator<Item = (String, String, Seen)>,
) -> (Vec<(String, String, Seen)>, usize) {
    let mut by_action: BTreeMap<String, BTreeMap<String, Seen>> = BTreeMap::new();
    for (a, r, s) in calls {
        by_action
            .entry(a)
            .or_default()
            .entry(r)
            .and_modify(|e| e.merge(&s))
            .or_insert(s);
    }
    let mut v: Vec<(String, String, Seen)> = Vec::new();
    for (a, rs) in by_action {
        let grouped = generalized(rs, CALLS_KEPT, |e, s| e.merge(&s));
        v.extend(grouped.into_iter().map(|(r, s)| (a.clone(), r, s)));
    }
    v.sort_by(|(a, r, s), (b, q, t)| {
        (std::cmp::Reverse(s.count), a, r).cmp(&(std::cmp::Reverse(t.count), b, q))
    });
    let total = v.len();
    v.truncate(CALLS_KEPT);
    (v, total)
}

#[derive(Debug, Clone)]
pub struct DriftReport {
    /// Principals of this period whose usage is not settled ([`crate::usage::Confidence`]):
    /// (`kind name`, why). Findings about them may be the window's, not the principal's.
    pub not_settled: Vec<(String, Vec<String>)>,
    pub baseline: String,
    pub period_start: Option<DateTime<Utc>>,
    pub period_end: Option<DateTime<Utc>>,
    pub files_read: u64,
    pub files_skipped_as_read: u64,
    pub items: Vec<Item>,
    /// Calls and denied calls per day of the period's principals.
    pub activity: Activity,
    /// The usage graph of the principals with findings.
    pub changes: ChangeGraph,
}

impl DriftReport {
    pub fn count(&self, f: Finding) -> usize {
        self.items.iter().filter(|i| i.finding == f).count()
    }
}

#[derive(Debug, Clone)]
pub struct DriftOptions {
    pub unused_after: Duration,
    /// Functions the inventory knows (`--functions`), for "no activity".
    pub inventory: BTreeSet<String>,
}

/// The calls of several grants together.
fn merged<'a>(seen: impl IntoIterator<Item = &'a Seen>) -> Option<Seen> {
    seen.into_iter().fold(None, |acc, s| {
        let mut m = acc.unwrap_or(*s);
        if acc.is_some() {
            m.merge(s);
        }
        Some(m)
    })
}

/// The period's findings. `before` is the state as it was before this period was absorbed,
/// `after` the state with it.
pub fn report(
    before: &State,
    after: &State,
    period: &Usage,
    baseline: &CurrentPolicies,
    current: Option<&CurrentPolicies>,
    opts: &DriftOptions,
    files: (u64, u64),
) -> DriftReport {
    let catalog = Catalog::embedded();
    let obs = ObservabilityTable::embedded();
    let mut items = Vec::new();
    // Drift follows roles by name: one name's files of every account together.
    let baseline_roles = baseline.roles_by_name();
    let baseline_file = |role: &str| {
        baseline_roles
            .get(role)
            .and_then(|r| r.policies.first())
            .map(|p| p.source.clone())
    };
    let principal_role = |k: &str| after.roles.get(k).map(|r| role_name(r).to_string());
    // the role whose policies apply to a principal: a function's, or the role itself
    let role_of =
        |k: &str| principal_role(k).or_else(|| k.strip_prefix("role ").map(str::to_string));
    let grants =
        |roles: &BTreeMap<String, CurrentPrincipal>| -> BTreeMap<String, BTreeMap<String, Grant>> {
            roles
                .iter()
                .map(|(role, cp)| {
                    let g = granted(
                        cp.policies.iter().map(|p| (p.source.as_str(), &p.document)),
                        catalog,
                    );
                    (role.clone(), g)
                })
                .collect()
        };
    let gb = grants(&baseline_roles);
    let gc = current
        .map(|c| grants(&c.roles_by_name()))
        .unwrap_or_default();
    // the policy file granting `action` to `role`: of the baseline (else its first file), and
    // deployed
    let file_for = |role: &str, action: Option<&str>| {
        action
            .and_then(|a| gb.get(role)?.get(a)?.sources.first().cloned())
            .or_else(|| baseline_file(role))
    };
    let deployed_for =
        |role: &str, action: &str| gc.get(role)?.get(action)?.sources.first().cloned();
    // (principal, action, resource) used for the first time: the graph marks them
    let mut new_grants: BTreeSet<(String, String, String)> = BTreeSet::new();
    let in_period: BTreeMap<String, &crate::usage::PrincipalUsage> = period
        .principals
        .iter()
        .map(|(id, p)| (format!("{} {}", id.kind, id.name), p))
        .collect();
    // newly used: in this period, never seen before (by action; by resource for known actions)
    for (k, used) in &after.used {
        let old = before.used.get(k);
        let old_actions: BTreeSet<&str> = old
            .map(|m| m.keys().filter_map(|x| x.split(' ').next()).collect())
            .unwrap_or_default();
        // what each action reached before, as the patterns a policy would use
        let mut old_resources: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
        for ar in old.into_iter().flat_map(|m| m.keys()) {
            if let Some((a, r)) = ar.split_once(' ') {
                old_resources.entry(a).or_default().insert(r.to_string());
            }
        }
        let old_patterns: BTreeMap<&str, BTreeSet<String>> = old_resources
            .into_iter()
            .map(|(a, rs)| {
                (
                    a,
                    crate::synth::generalize::generalize(
                        &rs,
                        crate::fold::GeneralizeLevel::Prefix,
                        32,
                    )
                    .0,
                )
            })
            .collect();
        let mut new_actions: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for ar in used.keys() {
            if old.is_some_and(|m| m.contains_key(ar)) {
                continue;
            }
            let (a, r) = ar.split_once(' ').unwrap_or((ar, ""));
            // a new object under a prefix the action already used is not new behaviour
            if old_patterns
                .get(a)
                .is_some_and(|ps| ps.iter().any(|p| crate::wildcard::matches(p, r, false)))
            {
                continue;
            }
            new_actions.entry(a).or_default().push(r);
        }
        for (a, rs) in new_actions {
            let first_run = before.used.is_empty();
            if first_run {
                continue;
            }
            let role = role_of(k);
            let seen = merged(rs.iter().filter_map(|r| used.get(&format!("{a} {r}"))));
            let (calls, calls_total) = busiest(rs.iter().filter_map(|r| {
                let s = used.get(&format!("{a} {r}"))?;
                Some((a.to_string(), r.to_string(), *s))
            }));
            new_grants.extend(rs.iter().map(|r| (k.clone(), a.to_string(), r.to_string())));
            let (message, resource) = if old_actions.contains(a) {
                let shown = crate::synth::generalize::generalize(
                    &rs.iter().map(|r| r.to_string()).collect(),
                    crate::fold::GeneralizeLevel::Prefix,
                    4,
                )
                .0;
                (
                    format!(
                        "`{a}` on {} new resource(s): {}",
                        rs.len(),
                        shown.iter().cloned().collect::<Vec<_>>().join(", ")
                    ),
                    shown.into_iter().next(),
                )
            } else {
                (
                    format!("`{a}` was never used before ({} resource(s))", rs.len()),
                    rs.first().map(|r| r.to_string()),
                )
            };
            items.push(Item {
                finding: Finding::NewlyUsed,
                principal: k.clone(),
                message,
                action: Some(a.to_string()),
                resource,
                file: role.as_deref().and_then(|r| file_for(r, Some(a))),
                deployed_file: role.as_deref().and_then(|r| deployed_for(r, a)),
                seen,
                calls,
                calls_total,
            });
        }
    }
    // newly unused: granted by the baseline, observable, last used before the cut-off
    if let Some(end) = after.window_end {
        let cutoff = end - opts.unused_after;
        // role → action → its calls, on any resource, by the role and its functions, and
        // whether some had no time (an action also used so is never known to be unused)
        let mut by_role: BTreeMap<String, BTreeMap<&str, (Seen, bool)>> = BTreeMap::new();
        for (k, used) in &after.used {
            let Some(role) = role_of(k) else {
                continue;
            };
            let m = by_role.entry(role).or_default();
            for (ar, s) in used {
                let a = ar.split(' ').next().unwrap_or(ar);
                let none = Seen {
                    count: 0,
                    first_seen: None,
                    last_seen: None,
                };
                let (seen, untimed) = m.entry(a).or_insert((none, false));
                seen.merge(s);
                *untimed |= s.last_seen.is_none();
            }
        }
        for (role, g) in &gb {
            let Some(by_action) = by_role.get(role) else {
                continue;
            };
            for a in g.keys() {
                if !matches!(obs.of(a), Observability::Management)
                    && !by_action.contains_key(a.as_str())
                {
                    continue;
                }
                if let Some((seen, false)) = by_action.get(a.as_str())
                    && let Some(last) = seen.last_seen
                    && last < cutoff
                {
                    items.push(Item {
                        finding: Finding::NewlyUnused,
                        principal: format!("role {role}"),
                        message: format!(
                            "`{a}` last used {}, more than {} day(s) before the end of the period",
                            last.format("%Y-%m-%d"),
                            opts.unused_after.num_days()
                        ),
                        action: Some(a.clone()),
                        resource: None,
                        file: file_for(role, Some(a)),
                        deployed_file: deployed_for(role, a),
                        seen: Some(*seen),
                        calls: Vec::new(),
                        calls_total: 0,
                    });
                }
            }
        }
    }
    // denied spikes: this period against the previous period of the same length
    let start = before.window_end;
    if let (Some(start), Some(end)) = (start, after.window_end) {
        let len = end - start;
        let prev_start = start - len;
        let day = |t: DateTime<Utc>| t.format("%Y-%m-%d").to_string();
        for (k, days) in &after.denied_by_day {
            let now: u64 = days
                .iter()
                .filter(|(d, _)| {
                    d.as_str() > day(start).as_str() && d.as_str() <= day(end).as_str()
                })
                .map(|(_, n)| n)
                .sum();
            let prev: u64 = days
                .iter()
                .filter(|(d, _)| {
                    d.as_str() > day(prev_start).as_str() && d.as_str() <= day(start).as_str()
                })
                .map(|(_, n)| n)
                .sum();
            if now >= 5 && now >= 2 * prev.max(1) {
                let p = in_period.get(k.as_str());
                let (calls, calls_total) = busiest(
                    p.into_iter()
                        .flat_map(|p| &p.denied)
                        .map(|((a, r), e)| (a.to_string(), r.to_string(), e.seen)),
                );
                items.push(Item {
                    finding: Finding::DeniedSpike,
                    principal: k.clone(),
                    message: format!(
                        "{now} denied call(s) this period, {prev} in the period before"
                    ),
                    action: None,
                    resource: None,
                    file: role_of(k).as_deref().and_then(baseline_file),
                    deployed_file: None,
                    seen: p.and_then(|p| {
                        merged(p.denied.values().map(|e| &e.seen)).map(|s| Seen { count: now, ..s })
                    }),
                    calls,
                    calls_total,
                });
            }
        }
    }
    // policy drift: deployed differs from the approved baseline
    if current.is_some() {
        for (role, b) in &gb {
            let Some(c) = gc.get(role) else {
                continue;
            };
            let added: Vec<&String> = c
                .iter()
                .filter(|(a, g)| {
                    b.get(*a).is_none_or(|x| {
                        x.resources != g.resources || x.conditional != g.conditional
                    })
                })
                .map(|(a, _)| a)
                .collect();
            let removed: Vec<&String> = b.keys().filter(|a| !c.contains_key(*a)).collect();
            if added.is_empty() && removed.is_empty() {
                continue;
            }
            let list = |v: &[&String]| {
                let shown: Vec<&str> = v.iter().take(6).map(|s| s.as_str()).collect();
                if v.len() > 6 {
                    format!("{}, … {} more", shown.join(", "), v.len() - 6)
                } else {
                    shown.join(", ")
                }
            };
            items.push(Item {
                finding: Finding::PolicyDrift,
                principal: format!("role {role}"),
                message: format!(
                    "the deployed policy differs from the baseline: {} grant(s) added or widened ({}), {} removed ({})",
                    added.len(),
                    list(&added),
                    removed.len(),
                    list(&removed)
                ),
                action: added.first().map(|s| s.to_string()),
                resource: None,
                file: file_for(role, added.first().map(|s| s.as_str())),
                deployed_file: added.first().and_then(|a| deployed_for(role, a)),
                seen: None,
                calls: Vec::new(),
                calls_total: 0,
            });
        }
    }
    // shared roles and inactivity
    let mut fns_by_role: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (k, r) in &after.roles {
        if let Some(f) = k.strip_prefix("function ") {
            fns_by_role
                .entry(role_name(r).to_string())
                .or_default()
                .insert(f.to_string());
        }
    }
    for (role, fns) in &fns_by_role {
        if fns.len() > 1 {
            items.push(Item {
                finding: Finding::SharedRole,
                principal: format!("role {role}"),
                message: format!(
                    "{} functions share this role: {}",
                    fns.len(),
                    fns.iter().cloned().collect::<Vec<_>>().join(", ")
                ),
                action: None,
                resource: None,
                file: baseline_file(role),
                deployed_file: None,
                seen: None,
                calls: Vec::new(),
                calls_total: 0,
            });
        }
    }
    let active_roles: BTreeSet<String> = period
        .principals
        .iter()
        .filter_map(|(id, p)| match id.kind {
            PrincipalKind::Role => Some(id.name.clone()),
            _ => p.role_arn.as_deref().map(|r| role_name(r).to_string()),
        })
        .collect();
    for role in baseline_roles.keys() {
        if !active_roles.contains(role) {
            items.push(Item {
                finding: Finding::NoActivity,
                principal: format!("role {role}"),
                message: "no call in this period: every permission is unused or unobservable"
                    .to_string(),
                action: None,
                resource: None,
                file: baseline_file(role),
                deployed_file: None,
                seen: None,
                calls: Vec::new(),
                calls_total: 0,
            });
        }
    }
    let active_fns: BTreeSet<&str> = period
        .principals
        .keys()
        .filter(|id| id.kind == PrincipalKind::Function)
        .map(|id| id.name.as_str())
        .collect();
    for f in &opts.inventory {
        if !active_fns.contains(f.as_str()) {
            items.push(Item {
                finding: Finding::NoActivity,
                principal: format!("function {f}"),
                message: "in the function inventory, but no call in this period".to_string(),
                action: None,
                resource: None,
                file: None,
                deployed_file: None,
                seen: None,
                calls: Vec::new(),
                calls_total: 0,
            });
        }
    }
    items.sort_by(|a, b| {
        (a.finding, &a.principal, &a.action, &a.message).cmp(&(
            b.finding,
            &b.principal,
            &b.action,
            &b.message,
        ))
    });
    DriftReport {
        baseline: baseline.source.clone(),
        period_start: before.window_end,
        period_end: after.window_end,
        files_read: files.0,
        files_skipped_as_read: files.1,
        activity: Activity::of(period),
        changes: ChangeGraph::of(period, &items, &new_grants),
        items,
        not_settled: period
            .principals
            .iter()
            .filter(|(_, p)| !p.grants.is_empty())
            .filter_map(|(id, p)| {
                let c = p.confidence(period.window);
                (!c.settled).then(|| (format!("{} {}", id.kind, id.name), c.why))
            })
            .collect(),
    }
}
