//! What the HTML report draws: the period's calls and denied calls per day and principal, and
//! the usage graph of the principals with findings (function → role → service → resource).
//! Both are bounded: two counters per principal and active day; the graph holds the principals
//! with findings only, and at most [`RESOURCES_PER_SERVICE`] resources per service.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;

use super::Item;
use crate::identity::{PrincipalKind, role_name};
use crate::usage::{DayCount, Days, PrincipalId, Usage};

/// Calls and denied calls per day of each principal of a period.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Activity {
    /// The first and the last day of the period's records (UTC).
    pub days: Option<(NaiveDate, NaiveDate)>,
    /// `kind name` → its activity: the principals that made calls, and the roles functions
    /// run as.
    pub principals: BTreeMap<String, PrincipalActivity>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrincipalActivity {
    /// Active day → its calls.
    pub days: BTreeMap<NaiveDate, DayCount>,
    /// For a role: the functions that run as it, whose calls are counted with its own (its
    /// policies are what they used).
    pub functions: usize,
}

impl Activity {
    pub fn of(period: &Usage) -> Activity {
        let key = |id: &PrincipalId| format!("{} {}", id.kind, id.name);
        let mut principals: BTreeMap<String, PrincipalActivity> = period
            .principals
            .iter()
            .filter(|(_, p)| p.calls > 0)
            .map(|(id, p)| {
                let days = p.days.iter().collect();
                (key(id), PrincipalActivity { days, functions: 0 })
            })
            .collect();
        for (owner, members) in period.by_owner() {
            let functions = members
                .iter()
                .filter(|(id, _)| id.kind == PrincipalKind::Function)
                .count();
            if owner.kind != PrincipalKind::Role || functions == 0 {
                continue;
            }
            let mut days = Days::default();
            for (_, p) in &members {
                days.merge(&p.days);
            }
            let days = days.iter().collect();
            principals.insert(key(&owner), PrincipalActivity { days, functions });
        }
        Activity {
            days: period
                .window
                .map(|w| (w.first.date_naive(), w.last.date_naive())),
            principals,
        }
    }
}

/// A column of the graph, left to right.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Column {
    /// Functions (`function orders-api`).
    Function,
    /// The roles functions run as, and the other principals (`role …`, `user …`).
    Identity,
    /// Services (`s3`).
    Service,
    /// Resources (ARNs, patterns, `*`).
    Resource,
}

impl Column {
    pub const ALL: [Column; 4] = [
        Column::Function,
        Column::Identity,
        Column::Service,
        Column::Resource,
    ];
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Node {
    pub column: Column,
    pub label: String,
}

/// The calls along an edge.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EdgeStat {
    /// Calls, denied ones included (per action and resource on the right of the role column).
    pub calls: u64,
    /// Calls denied.
    pub denied: u64,
    /// A grant used for the first time in this period goes this way.
    pub new: bool,
}

impl EdgeStat {
    fn add(&mut self, o: EdgeStat) {
        self.calls += o.calls;
        self.denied += o.denied;
        self.new |= o.new;
    }
}

/// Resources shown per service; the others are one `N more` node.
pub const RESOURCES_PER_SERVICE: usize = 6;

/// The usage graph of what changed: the principals with findings (and, for a role, the
/// functions that run as it), the services they called and the resources they reached.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangeGraph {
    /// Every node, and whether it is flagged: a principal with a finding, or reached by a grant
    /// used for the first time.
    pub nodes: BTreeMap<Node, bool>,
    pub edges: BTreeMap<(Node, Node), EdgeStat>,
}

impl ChangeGraph {
    fn node(&mut self, column: Column, label: &str, flagged: bool) -> Node {
        let n = Node {
            column,
            label: label.to_string(),
        };
        *self.nodes.entry(n.clone()).or_default() |= flagged;
        n
    }

    fn edge(&mut self, from: &Node, to: &Node, stat: EdgeStat) {
        self.edges
            .entry((from.clone(), to.clone()))
            .or_default()
            .add(stat);
    }

    /// `new` holds the (principal, action, resource) used for the first time.
    pub fn of(
        period: &Usage,
        items: &[Item],
        new: &BTreeSet<(String, String, String)>,
    ) -> ChangeGraph {
        let flagged: BTreeSet<&str> = items.iter().map(|i| i.principal.as_str()).collect();
        let mut g = ChangeGraph::default();
        // service → resource → calls, before the resources of a service are grouped
        let mut reached: BTreeMap<String, BTreeMap<String, EdgeStat>> = BTreeMap::new();
        let mut drawn: BTreeSet<String> = BTreeSet::new();
        for (id, p) in &period.principals {
            let key = format!("{} {}", id.kind, id.name);
            let function = id.kind == PrincipalKind::Function;
            let role = p
                .role_arn
                .as_deref()
                .filter(|_| function)
                .map(|r| format!("role {}", role_name(r)));
            let is_flagged = |k: &str| flagged.contains(k);
            if !is_flagged(&key) && !role.as_deref().is_some_and(is_flagged) {
                continue;
            }
            drawn.insert(key.clone());
            let denied: u64 = p.days.iter().map(|(_, n)| n.denied).sum();
            let caller = match &role {
                Some(r) => {
                    let f = g.node(Column::Function, &key, is_flagged(&key));
                    let r = g.node(Column::Identity, r, is_flagged(r));
                    let stat = EdgeStat {
                        calls: p.calls,
                        denied,
                        new: false,
                    };
                    g.edge(&f, &r, stat);
                    r
                }
                None if function => g.node(Column::Function, &key, is_flagged(&key)),
                None => g.node(Column::Identity, &key, is_flagged(&key)),
            };
            for (denied, grants) in [(false, &p.grants), (true, &p.denied)] {
                for ((a, r), e) in grants {
                    let stat = EdgeStat {
                        calls: e.seen.count,
                        denied: if denied { e.seen.count } else { 0 },
                        new: !denied && new.contains(&(key.clone(), a.to_string(), r.to_string())),
                    };
                    let service = g.node(Column::Service, a.service(), stat.new);
                    g.edge(&caller, &service, stat);
                    reached
                        .entry(a.service().to_string())
                        .or_default()
                        .entry(r.to_string())
                        .or_default()
                        .add(stat);
                }
            }
        }
        // principals with findings and no call in the period stand alone
        for k in flagged.iter().filter(|k| !drawn.contains(**k)) {
            let column = if k.starts_with("function ") {
                Column::Function
            } else {
                Column::Identity
            };
            g.node(column, k, true);
        }
        for (service, resources) in reached {
            let from = Node {
                column: Column::Service,
                label: service.clone(),
            };
            for (label, stat) in group(&service, resources) {
                let to = g.node(Column::Resource, &label, stat.new);
                g.edge(&from, &to, stat);
            }
        }
        g
    }
}

/// At most [`RESOURCES_PER_SERVICE`] resources of one service: generalized as a policy would
/// name them when there are more (S3 keys under their prefixes), then the busiest (new ones
/// first) and one node for the rest.
fn group(service: &str, resources: BTreeMap<String, EdgeStat>) -> Vec<(String, EdgeStat)> {
    if resources.len() <= RESOURCES_PER_SERVICE {
        return resources.into_iter().collect();
    }
    let grouped = super::generalized(resources, RESOURCES_PER_SERVICE, |e, s| e.add(s));
    let mut v: Vec<(String, EdgeStat)> = grouped.into_iter().collect();
    if v.len() <= RESOURCES_PER_SERVICE {
        return v;
    }
    v.sort_by(|(a, x), (b, y)| (!x.new, Reverse(x.calls), a).cmp(&(!y.new, Reverse(y.calls), b)));
    let rest = v.split_off(RESOURCES_PER_SERVICE - 1);
    let mut more = EdgeStat::default();
    for (_, s) in &rest {
        more.add(*s);
    }
    v.push((format!("{} more {service} resource(s)", rest.len()), more));
    v.sort_by(|(a, _), (b, _)| a.cmp(b));
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_service_shows_a_bounded_number_of_resources_new_ones_first() {
        let mut rs = BTreeMap::new();
        for i in 0..20 {
            rs.insert(
                format!("arn:aws:sqs:eu-west-1:1:q{i:02}"),
                EdgeStat {
                    calls: i,
                    denied: 0,
                    new: i == 0,
                },
            );
        }
        let g = group("sqs", rs);
        assert_eq!(g.len(), RESOURCES_PER_SERVICE);
        let labels: Vec<&str> = g.iter().map(|(l, _)| l.as_str()).collect();
        assert!(
            labels.contains(&"arn:aws:sqs:eu-west-1:1:q00"),
            "new: {labels:?}"
        );
        assert!(
            labels.contains(&"arn:aws:sqs:eu-west-1:1:q19"),
            "busiest: {labels:?}"
        );
        assert!(labels.contains(&"15 more sqs resource(s)"), "{labels:?}");
        let total: u64 = g.iter().map(|(_, s)| s.calls).sum();
        assert_eq!(total, (0..20).sum::<u64>(), "no call is lost");
    }
}
