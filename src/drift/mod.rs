//! Drift over time: a state file remembers, per principal, what was used and when, and which
//! inputs were already read, so a weekly run reads only the new week. The report compares the
//! new period with everything before it and with the approved baseline.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::catalog::{Catalog, Observability, ObservabilityTable};
use crate::identity::{PrincipalKind, role_name};
use crate::policy::current::CurrentPolicies;
use crate::policy::expand::granted;
use crate::usage::Usage;

pub use crate::model::Seen;

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
            for e in p.denied.values() {
                // Denied calls are counted on the day of their last occurrence; a period's
                // denied total is what matters. Calls without a time have no day to count on.
                let Some(last) = e.seen.last_seen else {
                    continue;
                };
                let day = last.format("%Y-%m-%d").to_string();
                *self
                    .denied_by_day
                    .entry(k.clone())
                    .or_default()
                    .entry(day)
                    .or_default() += e.seen.count;
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
    /// The baseline policy file the finding is about, when there is one.
    pub file: Option<String>,
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
    let baseline_file = |role: &str| {
        baseline
            .roles
            .get(role)
            .and_then(|r| r.policies.first())
            .map(|p| p.source.clone())
    };
    let principal_role = |k: &str| after.roles.get(k).map(|r| role_name(r).to_string());
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
            let role = principal_role(k);
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
                file: role.as_deref().and_then(baseline_file),
            });
        }
    }
    // newly unused: granted by the baseline, observable, last used before the cut-off
    if let Some(end) = after.window_end {
        let cutoff = end - opts.unused_after;
        // action → when it was last used; `None`: used, but by calls without a time, so never
        // known to be unused
        let mut by_role: BTreeMap<String, BTreeMap<&str, Option<DateTime<Utc>>>> = BTreeMap::new();
        let mut role_data: BTreeMap<String, bool> = BTreeMap::new();
        for (k, used) in &after.used {
            let Some(role) =
                principal_role(k).or_else(|| k.strip_prefix("role ").map(str::to_string))
            else {
                continue;
            };
            let m = by_role.entry(role.clone()).or_default();
            for (ar, s) in used {
                let a = ar.split(' ').next().unwrap_or(ar);
                let e = m.entry(a).or_insert(s.last_seen);
                *e = match (*e, s.last_seen) {
                    (Some(x), Some(y)) => Some(x.max(y)),
                    _ => None,
                };
            }
            role_data.insert(role, true);
        }
        for (role, cp) in &baseline.roles {
            let Some(last_by_action) = by_role.get(role) else {
                continue;
            };
            let g = granted(
                cp.policies.iter().map(|p| (p.source.as_str(), &p.document)),
                catalog,
            );
            for a in g.keys() {
                if !matches!(obs.of(a), Observability::Management)
                    && !last_by_action.contains_key(a.as_str())
                {
                    continue;
                }
                match last_by_action.get(a.as_str()) {
                    Some(Some(last)) if *last < cutoff => items.push(Item {
                        finding: Finding::NewlyUnused,
                        principal: format!("role {role}"),
                        message: format!(
                            "`{a}` last used {}, more than {} day(s) before the end of the period",
                            last.format("%Y-%m-%d"),
                            opts.unused_after.num_days()
                        ),
                        action: Some(a.clone()),
                        resource: None,
                        file: baseline_file(role),
                    }),
                    _ => {}
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
                items.push(Item {
                    finding: Finding::DeniedSpike,
                    principal: k.clone(),
                    message: format!(
                        "{now} denied call(s) this period, {prev} in the period before"
                    ),
                    action: None,
                    resource: None,
                    file: principal_role(k).as_deref().and_then(baseline_file),
                });
            }
        }
    }
    // policy drift: deployed differs from the approved baseline
    if let Some(cur) = current {
        for (role, b) in &baseline.roles {
            let Some(c) = cur.roles.get(role) else {
                continue;
            };
            let gb = granted(
                b.policies.iter().map(|p| (p.source.as_str(), &p.document)),
                catalog,
            );
            let gc = granted(
                c.policies.iter().map(|p| (p.source.as_str(), &p.document)),
                catalog,
            );
            let added: Vec<&String> = gc
                .iter()
                .filter(|(a, g)| {
                    gb.get(*a).is_none_or(|x| {
                        x.resources != g.resources || x.conditional != g.conditional
                    })
                })
                .map(|(a, _)| a)
                .collect();
            let removed: Vec<&String> = gb.keys().filter(|a| !gc.contains_key(*a)).collect();
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
                file: baseline_file(role),
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
    for role in baseline.roles.keys() {
        if !active_roles.contains(role) {
            items.push(Item {
                finding: Finding::NoActivity,
                principal: format!("role {role}"),
                message: "no call in this period: every permission is unused or unobservable"
                    .to_string(),
                action: None,
                resource: None,
                file: baseline_file(role),
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
