//! What a picture of the usage graph shows. A trail of a busy account has hundreds of principals
//! and thousands of resources, which Graphviz cannot lay out in reasonable time and no one can
//! read. DOT and Mermaid therefore draw the same [`Picture`], chosen here under a node budget:
//!
//! - principals ranked by risk, then activity: denied calls, permissions-management actions,
//!   write actions, calls, the latest call (ties by kind, account and name);
//! - as many of them as fit, the best ranked first, each with at least its first
//!   [`MIN_SHARE`] resources;
//! - the budget left shared out level by level (every drawn principal gets its next resource
//!   before any gets two more), a principal's resources ranked by the most sensitive access level
//!   of the actions on them, then calls, then the latest call;
//! - a principal's resources that do not fit folded into its own "+N more" node, and the
//!   principals that do not fit named in [`Picture::hidden`], so the picture can say what it
//!   left out.
//!
//! The budget ([`Budget`]) counts nodes and edges. When the whole graph fits, it is drawn whole. The JSON form is the whole graph, always: it
//! is data, not a picture.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use crate::catalog::{AccessLevel, Catalog};
use crate::identity::{PrincipalKind, role_name};
use crate::usage::{PrincipalId, PrincipalUsage, Usage};

/// How large a picture may be: its nodes (principals, resources, "+N more" and the note of a
/// partial picture) and its edges (principal → resource and principal → "+N more").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub nodes: usize,
    pub edges: usize,
}

impl Budget {
    /// A picture of the whole trail: about what Graphviz lays out in a second and a Mermaid graph
    /// on GitHub still shows readably.
    pub const WHOLE: Budget = Budget {
        nodes: 60,
        edges: 150,
    };

    /// A picture of a part (`--principal`, `--who`, `--shared`): drawn in full unless it is
    /// itself as large as a busy account. Graphviz lays it out in under a second; Mermaid renders
    /// at most 500 edges and 50,000 characters (its `maxEdges` and `maxTextSize`, as on GitHub).
    pub const PART: Budget = Budget {
        nodes: 250,
        edges: 450,
    };
}

/// Resources a principal is drawn with at least (when it has them): a picture of 20 principals
/// with one resource each says less than one of 15 with two or three.
pub const MIN_SHARE: usize = 2;

/// Actions named on one principal → resource edge; the rest are counted.
pub const EDGE_ACTIONS: usize = 3;

/// What a principal did to one resource, as an edge of the picture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reached {
    pub arn: String,
    /// At most [`EDGE_ACTIONS`], the most sensitive first (then by name).
    pub actions: Vec<String>,
    /// Actions on this resource not named.
    pub more_actions: usize,
}

/// A principal the picture draws.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shown {
    /// `function orders-api`; with the account when the name is in several.
    pub label: String,
    /// The role a function runs as (its ARN), for grouping.
    pub role_arn: Option<String>,
    /// Calls that were denied (not drawn: the graph is what was granted).
    pub denied: u64,
    /// The resources drawn, in rank order.
    pub resources: Vec<Reached>,
    /// Its resources folded into one "+N more" node.
    pub more: usize,
}

/// How much of the graph there is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    pub principals: usize,
    pub resources: usize,
}

/// The part of the usage graph a picture draws, and what it left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Picture {
    /// Drawn, in rank order.
    pub principals: Vec<Shown>,
    /// The labels of the principals not drawn, in rank order.
    pub hidden: Vec<String>,
    /// The whole graph.
    pub total: Counts,
    /// What is drawn.
    pub drawn: Counts,
}

impl Picture {
    /// Whether anything was left out: principals, resources, or edges to resources drawn for
    /// another principal (all folded into "+N more").
    pub fn is_partial(&self) -> bool {
        self.drawn != self.total || self.principals.iter().any(|p| p.more > 0)
    }

    /// Principal, resource and "+N more" nodes (not the note a renderer adds when partial).
    pub fn nodes(&self) -> usize {
        self.drawn.principals
            + self.drawn.resources
            + self.principals.iter().filter(|p| p.more > 0).count()
    }
}

/// Why a principal ranks where it does; compared field by field, larger first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
struct Rank {
    denied: u64,
    permissions: usize,
    writes: usize,
    calls: u64,
    last: Option<DateTime<Utc>>,
}

struct Candidate<'u> {
    id: &'u PrincipalId,
    p: &'u PrincipalUsage,
    rank: Rank,
    /// Ranked resources: (arn, actions ranked).
    resources: Vec<(&'u str, Vec<&'u str>)>,
}

fn level(catalog: &Catalog, action: &str) -> Option<AccessLevel> {
    catalog.action_qualified(action).map(|d| d.access)
}

fn candidate<'u>(id: &'u PrincipalId, p: &'u PrincipalUsage, catalog: &Catalog) -> Candidate<'u> {
    // resource → (most sensitive level, calls, last call, actions)
    type Acc<'u> = (
        Option<AccessLevel>,
        u64,
        Option<DateTime<Utc>>,
        Vec<&'u str>,
    );
    let mut per_resource: BTreeMap<&str, Acc<'u>> = BTreeMap::new();
    let mut levels: BTreeMap<&str, Option<AccessLevel>> = BTreeMap::new();
    let mut last = None;
    for ((action, resource), ev) in &p.grants {
        let l = *levels
            .entry(action.as_str())
            .or_insert_with(|| level(catalog, action.as_str()));
        let e = per_resource.entry(resource.as_str()).or_default();
        e.0 = e.0.max(l);
        e.1 += ev.seen.count;
        e.2 = e.2.max(ev.seen.last_seen);
        e.3.push(action.as_str());
        last = last.max(ev.seen.last_seen);
    }
    for ev in p.denied.values() {
        last = last.max(ev.seen.last_seen);
    }
    let mut resources: Vec<(&str, Acc<'u>)> = per_resource.into_iter().collect();
    resources.sort_by(|(ra, a), (rb, b)| {
        (b.0, b.1, b.2)
            .cmp(&(a.0, a.1, a.2))
            .then_with(|| ra.cmp(rb))
    });
    let resources = resources
        .into_iter()
        .map(|(arn, (_, _, _, mut actions))| {
            actions.sort_by(|a, b| levels[b].cmp(&levels[a]).then_with(|| a.cmp(b)));
            actions.dedup();
            (arn, actions)
        })
        .collect();
    let count = |want: AccessLevel| levels.values().filter(|l| **l == Some(want)).count();
    Candidate {
        id,
        p,
        rank: Rank {
            denied: p.denied.values().map(|e| e.seen.count).sum(),
            permissions: count(AccessLevel::PermissionsManagement),
            writes: count(AccessLevel::Write),
            calls: p.calls,
            last,
        },
        resources,
    }
}

/// How the principals are ranked, for the notes that say what was left out.
pub const RANKING: &str =
    "ranked by denied calls, permissions-management and write actions, calls, latest call";

/// The principals of `usage` ranked, with their resources ranked.
fn ranked(usage: &Usage) -> Vec<Candidate<'_>> {
    let catalog = Catalog::embedded();
    let mut all: Vec<Candidate> = usage
        .principals
        .iter()
        .map(|(id, p)| candidate(id, p, catalog))
        .collect();
    all.sort_by(|a, b| b.rank.cmp(&a.rank).then_with(|| a.id.cmp(b.id)));
    all
}

/// How many of each ranked principal's resources to draw within `budget` (nodes: principals,
/// resources, "+N more"; edges: to those): as many principals as fit with their first
/// [`MIN_SHARE`] resources (at least one principal), then the rest of the budget shared out one
/// resource per principal per round.
fn shares(all: &[Candidate], budget: Budget) -> Vec<usize> {
    let mut refs: BTreeSet<&str> = BTreeSet::new();
    let (mut nodes, mut edges) = (0usize, 0usize);
    let mut share: Vec<usize> = Vec::new();
    for c in all {
        let first = &c.resources[..c.resources.len().min(MIN_SHARE)];
        let new: BTreeSet<&str> = first
            .iter()
            .map(|(r, _)| *r)
            .filter(|r| !refs.contains(r))
            .collect();
        let more = usize::from(c.resources.len() > first.len());
        let (add_nodes, add_edges) = (1 + new.len() + more, first.len() + more);
        if !share.is_empty()
            && (nodes + add_nodes > budget.nodes || edges + add_edges > budget.edges)
        {
            break;
        }
        nodes += add_nodes;
        edges += add_edges;
        share.push(first.len());
        refs.extend(new);
    }
    loop {
        let mut grew = false;
        for (c, s) in all.iter().zip(share.iter_mut()) {
            let Some((r, _)) = c.resources.get(*s) else {
                continue;
            };
            let new = usize::from(!refs.contains(r));
            // the last resource takes the place of the "+N more" node and its edge
            let closes = usize::from(*s + 1 == c.resources.len());
            if nodes + new > budget.nodes + closes || edges + 1 > budget.edges + closes {
                continue;
            }
            nodes = nodes + new - closes;
            edges = edges + 1 - closes;
            *s += 1;
            refs.insert(r);
            grew = true;
        }
        if !grew {
            return share;
        }
    }
}

/// The picture of `usage` within `budget`, counting one node for the note a partial picture
/// carries (see the module's documentation).
pub fn select(usage: &Usage, budget: Budget) -> Picture {
    let all = ranked(usage);
    let resources = |c: &[Candidate], share: &[usize]| -> usize {
        c.iter()
            .zip(share)
            .flat_map(|(c, s)| c.resources[..*s].iter().map(|(r, _)| *r))
            .collect::<BTreeSet<&str>>()
            .len()
    };
    let full: Vec<usize> = all.iter().map(|c| c.resources.len()).collect();
    let total = Counts {
        principals: all.len(),
        resources: resources(&all, &full),
    };
    let edges: usize = full.iter().sum();
    let share = if total.principals + total.resources <= budget.nodes && edges <= budget.edges {
        full
    } else {
        let less = Budget {
            nodes: budget.nodes.saturating_sub(1),
            ..budget
        };
        shares(&all, less)
    };
    let drawn = Counts {
        principals: share.len(),
        resources: resources(&all, &share),
    };
    // a name in several accounts is labelled with its account
    let mut accounts: BTreeMap<(PrincipalKind, &str), BTreeSet<&str>> = BTreeMap::new();
    for c in &all {
        accounts
            .entry((c.id.kind, c.id.name.as_str()))
            .or_default()
            .insert(c.id.account.as_str());
    }
    let label = |c: &Candidate| {
        if accounts[&(c.id.kind, c.id.name.as_str())].len() > 1 {
            format!("{} {} ({})", c.id.kind, c.id.name, c.id.account)
        } else {
            format!("{} {}", c.id.kind, c.id.name)
        }
    };
    let principals = all
        .iter()
        .zip(&share)
        .map(|(c, s)| Shown {
            label: label(c),
            role_arn: match c.id.kind {
                PrincipalKind::Function => c.p.role_arn.clone(),
                _ => None,
            },
            denied: c.rank.denied,
            resources: c.resources[..*s]
                .iter()
                .map(|(arn, actions)| Reached {
                    arn: arn.to_string(),
                    actions: actions
                        .iter()
                        .take(EDGE_ACTIONS)
                        .map(|a| a.to_string())
                        .collect(),
                    more_actions: actions.len().saturating_sub(EDGE_ACTIONS),
                })
                .collect(),
            more: c.resources.len() - s,
        })
        .collect();
    Picture {
        principals,
        hidden: all[share.len()..].iter().map(label).collect(),
        total,
        drawn,
    }
}

/// The name of the role of `role_arn`, as a picture labels its group: `role shop-api-role`.
pub fn role_label(role_arn: &str) -> String {
    format!("role {}", role_name(role_arn))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::usage::{Evidence, grant_key};

    fn at(day: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_790_000_000 + day * 86_400, 0).unwrap_or_default()
    }

    fn ev(count: u64, day: i64) -> Evidence {
        let mut e = Evidence::new(Some(at(day)), "e");
        e.seen.count = count;
        e
    }

    /// A function `name` with `n` resources read (`s3:GetObject` on `arn:…:b/name/i`).
    fn function<'u>(usage: &'u mut Usage, name: &str, n: usize) -> &'u mut PrincipalUsage {
        let p = usage
            .principals
            .entry(PrincipalId {
                kind: PrincipalKind::Function,
                account: "111122223333".into(),
                name: name.into(),
            })
            .or_default();
        p.role_arn = Some(format!("arn:aws:iam::111122223333:role/{name}-role"));
        for i in 0..n {
            let k = grant_key("s3:GetObject", format!("arn:aws:s3:::b/{name}/{i:03}"));
            p.grants.insert(k.unwrap(), ev(1, 1));
            p.calls += 1;
        }
        p
    }

    fn grant(p: &mut PrincipalUsage, action: &str, resource: &str, count: u64, day: i64) {
        p.grants
            .insert(grant_key(action, resource).unwrap(), ev(count, day));
        p.calls += count;
    }

    /// A budget of `n` nodes, edges unbounded.
    fn nodes(n: usize) -> Budget {
        Budget {
            nodes: n,
            edges: usize::MAX,
        }
    }

    fn labels(pic: &Picture) -> Vec<&str> {
        pic.principals.iter().map(|p| p.label.as_str()).collect()
    }

    #[test]
    fn a_graph_that_fits_is_drawn_whole() {
        let mut u = Usage::default();
        function(&mut u, "a", 3);
        function(&mut u, "b", 3);
        let pic = select(&u, nodes(8));
        assert!(!pic.is_partial());
        assert_eq!(pic.nodes(), 8);
        assert!(pic.principals.iter().all(|p| p.more == 0));
        assert_eq!(pic.total, pic.drawn);
    }

    #[test]
    fn principals_rank_by_denied_then_permissions_then_writes_then_calls_then_recency() {
        let mut u = Usage::default();
        let busy = function(&mut u, "busy", 0);
        grant(busy, "s3:GetObject", "arn:aws:s3:::b/x", 1_000, 1);
        let writer = function(&mut u, "writer", 0);
        grant(writer, "s3:PutObject", "arn:aws:s3:::b/x", 1, 1);
        let admin = function(&mut u, "admin", 0);
        grant(admin, "iam:PutRolePolicy", "arn:aws:iam::1:role/x", 1, 1);
        grant(admin, "s3:GetObject", "arn:aws:s3:::b/x", 1, 1);
        let denied = function(&mut u, "denied", 0);
        denied.denied.insert(
            grant_key("s3:GetObject", "arn:aws:s3:::b/y").unwrap(),
            ev(2, 1),
        );
        let recent = function(&mut u, "recent", 0);
        grant(recent, "s3:GetObject", "arn:aws:s3:::b/x", 1_000, 9);
        let quiet = function(&mut u, "quiet", 0);
        grant(quiet, "s3:GetObject", "arn:aws:s3:::b/x", 1, 1);
        let pic = select(&u, nodes(1_000));
        assert_eq!(
            labels(&pic),
            [
                "function denied",
                "function admin",
                "function writer",
                "function recent",
                "function busy",
                "function quiet"
            ]
        );
        assert_eq!(pic.principals[0].denied, 2);
        // the most sensitive action first on an edge
        assert_eq!(
            pic.principals[1].resources[0].actions,
            ["iam:PutRolePolicy"]
        );
    }

    #[test]
    fn the_budget_is_shared_fairly_and_the_rest_folded() {
        let mut u = Usage::default();
        // the first-ranked principal has far more than the budget
        let big = function(&mut u, "big", 100);
        grant(big, "s3:PutObject", "arn:aws:s3:::b/big/000", 5, 2);
        for name in ["c", "d", "e"] {
            function(&mut u, name, 10);
        }
        let pic = select(&u, nodes(25));
        assert!(pic.is_partial());
        assert!(pic.nodes() < 25, "{} nodes and the note", pic.nodes());
        assert_eq!(pic.drawn.principals, 4, "every principal fits");
        let shares: Vec<usize> = pic.principals.iter().map(|p| p.resources.len()).collect();
        // 24 nodes: 4 principals, 4 "+N more", 16 resources shared out level by level
        assert_eq!(shares, [4, 4, 4, 4]);
        assert_eq!(
            pic.principals.iter().map(|p| p.more).collect::<Vec<_>>(),
            [96, 6, 6, 6]
        );
        // the resource written to first
        assert_eq!(pic.principals[0].label, "function big");
        assert_eq!(pic.principals[0].resources[0].arn, "arn:aws:s3:::b/big/000");
        assert_eq!(pic.total.resources, 130);
        assert_eq!(pic.drawn.resources, 16);
    }

    #[test]
    fn principals_that_do_not_fit_are_named() {
        let mut u = Usage::default();
        for i in 0..30 {
            function(&mut u, &format!("f{i:02}"), 5);
        }
        let pic = select(&u, nodes(20));
        // each drawn principal costs 4 (itself, two resources, "+3 more"), one is the note
        assert_eq!(pic.drawn.principals, 4);
        assert_eq!(pic.hidden.len(), 26);
        assert_eq!(pic.hidden[0], "function f04");
        // the three nodes left give the first three their third resource
        assert_eq!(pic.nodes(), 19);
        let more: Vec<usize> = pic.principals.iter().map(|p| p.more).collect();
        assert_eq!(more, [2, 2, 2, 3]);
    }

    #[test]
    fn the_last_resource_takes_the_place_of_its_more_node() {
        let mut u = Usage::default();
        function(&mut u, "a", 2);
        function(&mut u, "b", 9);
        // 2 principals + 11 resources = 13: partial at 12 (11 and the note)
        let pic = select(&u, nodes(12));
        assert_eq!(
            labels(&pic),
            ["function b", "function a"],
            "more calls first"
        );
        assert_eq!(pic.principals[1].more, 0, "{pic:?}");
        assert_eq!(pic.principals[1].resources.len(), 2);
        // 2 principals, b's "+3 more" and 8 resources: the budget is used
        assert_eq!(pic.principals[0].more, 3);
        assert_eq!(pic.nodes(), 11);
    }

    #[test]
    fn shared_resources_count_once() {
        let mut u = Usage::default();
        for name in ["a", "b", "c"] {
            let p = function(&mut u, name, 0);
            for i in 0..10 {
                grant(p, "s3:GetObject", &format!("arn:aws:s3:::shared/{i}"), 1, 1);
            }
        }
        let pic = select(&u, nodes(12));
        assert_eq!(pic.drawn.principals, 3);
        // 3 principals, 3 "+N more", the note: 5 resources shared by all three
        assert_eq!(pic.drawn.resources, 5);
        assert!(pic.principals.iter().all(|p| p.resources.len() == 5));
    }

    #[test]
    fn edges_are_budgeted_too() {
        let mut u = Usage::default();
        // many principals on few resources: few nodes, many edges
        for name in ["a", "b", "c", "d"] {
            let p = function(&mut u, name, 0);
            for i in 0..10 {
                grant(p, "s3:GetObject", &format!("arn:aws:s3:::shared/{i}"), 1, 1);
            }
        }
        assert!(!select(&u, nodes(14)).is_partial(), "14 nodes, 40 edges");
        let pic = select(
            &u,
            Budget {
                nodes: 14,
                edges: 20,
            },
        );
        assert!(pic.is_partial());
        let edges: usize = pic
            .principals
            .iter()
            .map(|p| p.resources.len() + usize::from(p.more > 0))
            .sum();
        assert!(edges <= 20, "{edges}");
        assert_eq!(pic.drawn.principals, 4);
        // each: 4 resources and "+6 more"
        assert!(
            pic.principals.iter().all(|p| p.resources.len() == 4),
            "{pic:?}"
        );
    }

    #[test]
    fn the_first_principal_is_drawn_whatever_the_budget() {
        let mut u = Usage::default();
        function(&mut u, "a", 5);
        function(&mut u, "b", 5);
        let pic = select(&u, nodes(2));
        assert_eq!(pic.drawn.principals, 1);
        assert_eq!(pic.principals[0].resources.len(), MIN_SHARE);
        assert_eq!(pic.hidden, ["function b"]);
    }

    #[test]
    fn edges_name_a_few_actions_and_count_the_rest() {
        let mut u = Usage::default();
        let p = function(&mut u, "a", 0);
        for a in [
            "GetObject",
            "PutObject",
            "DeleteObject",
            "GetObjectTagging",
            "ListBucket",
        ] {
            grant(p, &format!("s3:{a}"), "arn:aws:s3:::b/*", 1, 1);
        }
        let pic = select(&u, nodes(10));
        let r = &pic.principals[0].resources[0];
        assert_eq!(
            r.actions,
            ["s3:DeleteObject", "s3:PutObject", "s3:GetObject"]
        );
        assert_eq!(r.more_actions, 2);
    }

    #[test]
    fn a_name_in_two_accounts_is_labelled_with_the_account() {
        let mut u = Usage::default();
        function(&mut u, "a", 1);
        u.principals.insert(
            PrincipalId {
                kind: PrincipalKind::Function,
                account: "444455556666".into(),
                name: "a".into(),
            },
            PrincipalUsage::default(),
        );
        let pic = select(&u, nodes(10));
        assert_eq!(
            labels(&pic),
            ["function a (111122223333)", "function a (444455556666)"]
        );
    }

    #[test]
    fn selection_is_deterministic() {
        let mut u = Usage::default();
        for i in 0..50 {
            function(&mut u, &format!("f{i}"), i % 7);
        }
        assert_eq!(select(&u, nodes(40)), select(&u.clone(), nodes(40)));
    }
}
