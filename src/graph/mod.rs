//! The usage graph: account → role → function → action → resource, evidence on every
//! principal → action and action → resource edge.

pub mod query;
pub mod select;

use std::collections::BTreeMap;

use petgraph::graph::{DiGraph, NodeIndex};
use serde::Serialize;

use crate::identity::PrincipalKind;
use crate::usage::{Evidence, EvidenceMap, Usage};

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, schemars::JsonSchema)]
#[serde(tag = "node", rename_all = "lowercase")]
pub enum Node {
    Account {
        /// The account's id (`account`, not `id`: the graph's JSON gives every node an `id`).
        #[serde(rename = "account")]
        id: String,
    },
    Role {
        arn: String,
    },
    Principal {
        kind: PrincipalKind,
        name: String,
        account: String,
    },
    Action {
        principal: usize,
        action: String,
    },
    Resource {
        arn: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Edge {
    /// account → role, role → function, account → user
    Contains,
    /// principal → action: every call of the action, on any resource.
    Calls(Evidence),
    /// action → resource
    On(Evidence),
}

/// The petgraph graph with an index from node to its id, so that nodes are never duplicated.
#[derive(Debug, Default)]
pub struct AccessGraph {
    pub graph: DiGraph<Node, Edge>,
    index: BTreeMap<Node, NodeIndex>,
    /// Edges already added: petgraph's `find_edge` is linear in a node's degree, and an action
    /// of a busy function can reach hundreds of thousands of objects.
    edges: std::collections::BTreeSet<(NodeIndex, NodeIndex)>,
}

impl AccessGraph {
    fn node(&mut self, n: Node) -> NodeIndex {
        if let Some(i) = self.index.get(&n) {
            return *i;
        }
        let i = self.graph.add_node(n.clone());
        self.index.insert(n, i);
        i
    }

    fn link(&mut self, a: NodeIndex, b: NodeIndex, e: Edge) {
        if self.edges.insert((a, b)) {
            self.graph.add_edge(a, b, e);
        }
    }

    /// Builds the graph of granted (successful) usage.
    pub fn from_usage(usage: &Usage) -> AccessGraph {
        let mut g = AccessGraph::default();
        for (pi, (id, p)) in usage.principals.iter().enumerate() {
            let account = g.node(Node::Account {
                id: id.account.clone(),
            });
            let parent = match (&p.role_arn, id.kind) {
                (Some(role), PrincipalKind::Function) => {
                    let r = g.node(Node::Role { arn: role.clone() });
                    g.link(account, r, Edge::Contains);
                    r
                }
                _ => account,
            };
            let me = g.node(Node::Principal {
                kind: id.kind,
                name: id.name.clone(),
                account: id.account.clone(),
            });
            g.link(parent, me, Edge::Contains);
            let mut per_action: BTreeMap<&str, Evidence> = BTreeMap::new();
            for ((action, resource), ev) in &p.grants {
                // a fold's examples made whole: the action's evidence merges those of its
                // resources
                let ev = ev.detached(resource.as_str());
                per_action.add(action.as_str(), ev.clone());
                let a = g.node(Node::Action {
                    principal: pi,
                    action: action.to_string(),
                });
                let r = g.node(Node::Resource {
                    arn: resource.to_string(),
                });
                g.link(a, r, Edge::On(ev));
            }
            for (action, ev) in per_action {
                let a = g.node(Node::Action {
                    principal: pi,
                    action: action.to_string(),
                });
                g.link(me, a, Edge::Calls(ev));
            }
        }
        g
    }

    /// The node and edge counts [`AccessGraph::from_usage`] would give, without building the
    /// graph: `generate` reports only these, and on a trail of many principals and grants the
    /// graph (a node and an evidence clone per grant) cost as much memory as the proposals.
    pub fn counts(usage: &Usage) -> Result<(usize, usize), crate::usage::SpillError> {
        use std::collections::BTreeSet;
        let mut accounts: BTreeSet<&str> = BTreeSet::new();
        let mut roles: BTreeSet<&str> = BTreeSet::new();
        let mut account_role: BTreeSet<(&str, &str)> = BTreeSet::new();
        // only counted, so hashed: an ordered set compared long ARNs that share their heads,
        // tens of milliseconds on a growing trail's 100,000 grants. By 128-bit hashes, not the
        // names: a principal's grants still on disk are read back one at a time and let go
        // ([`Usage::grants_of`]), and a hash is 16 bytes where an ARN is some hundred.
        let mut resources: hashbrown::HashSet<u128> = hashbrown::HashSet::new();
        let (mut actions, mut grants) = (0, 0);
        for (id, p) in &usage.principals {
            accounts.insert(id.account.as_str());
            if let (Some(role), PrincipalKind::Function) = (&p.role_arn, id.kind) {
                roles.insert(role.as_str());
                account_role.insert((id.account.as_str(), role.as_str()));
            }
            let all = usage.grants_of(p)?;
            // the grants are ordered by action first: a principal's distinct actions are
            // where the action changes
            let mut last: Option<&str> = None;
            for (action, resource) in all.keys() {
                if last != Some(action.as_str()) {
                    actions += 1;
                    last = Some(action.as_str());
                }
                resources.insert(xxhash_rust::xxh3::xxh3_128(resource.as_str().as_bytes()));
                grants += 1;
            }
        }
        let principals = usage.principals.len();
        let nodes = accounts.len() + roles.len() + principals + actions + resources.len();
        // account → role, parent → principal, principal → action, action → resource
        let edges = account_role.len() + principals + actions + grants;
        Ok((nodes, edges))
    }

    pub fn node_count(&self) -> usize {
        self.graph.node_count()
    }

    pub fn edge_count(&self) -> usize {
        self.graph.edge_count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::PrincipalKind;
    use crate::usage::{Folded, PrincipalId, PrincipalUsage, grant_key};

    /// A fold keeps its examples without its pattern's stem: the graph's evidence, on its own
    /// edge, writes them whole, and the action's evidence counts the resources of every
    /// pattern (the same rest after two stems is two resources).
    #[test]
    fn folded_evidence_is_written_whole_and_merged_per_action() {
        let mut p = PrincipalUsage::default();
        for stem in ["arn:aws:s3:::b/in/", "arn:aws:s3:::b/out/"] {
            let mut e = Evidence::new(None, "e");
            let mut f = Folded::default();
            f.add(stem, "a.json");
            f.add(stem, "b.json");
            e.folded = Some(Box::new(f));
            p.grants
                .insert(grant_key("s3:PutObject", format!("{stem}*")).unwrap(), e);
        }
        let mut usage = Usage::default();
        let id = PrincipalId {
            kind: PrincipalKind::Role,
            account: "111122223333".into(),
            name: "r".into(),
        };
        usage.principals.insert(id, p);
        let g = AccessGraph::from_usage(&usage);
        let folded = |e: &Edge| {
            let v = serde_json::to_value(e).unwrap();
            (
                v["folded"]["distinct"].clone(),
                v["folded"]["examples"].clone(),
            )
        };
        let mut on = Vec::new();
        let mut calls = Vec::new();
        for e in g.graph.edge_weights() {
            match e {
                Edge::On(_) => on.push(folded(e)),
                Edge::Calls(_) => calls.push(folded(e)),
                Edge::Contains => {}
            }
        }
        assert_eq!(
            on,
            [
                (
                    serde_json::json!(2),
                    serde_json::json!(["arn:aws:s3:::b/in/a.json", "arn:aws:s3:::b/in/b.json"])
                ),
                (
                    serde_json::json!(2),
                    serde_json::json!(["arn:aws:s3:::b/out/a.json", "arn:aws:s3:::b/out/b.json"])
                )
            ]
        );
        assert_eq!(
            calls,
            [(
                serde_json::json!(4),
                serde_json::json!([
                    "arn:aws:s3:::b/in/a.json",
                    "arn:aws:s3:::b/in/b.json",
                    "arn:aws:s3:::b/out/a.json"
                ])
            )]
        );
    }
}
