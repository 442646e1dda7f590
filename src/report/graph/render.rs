//! Renderers of the usage graph: Graphviz DOT, Mermaid (small enough for GitHub), JSON.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use petgraph::visit::EdgeRef;
use serde::Serialize;

use crate::escape::tail_chars;
use crate::graph::{AccessGraph, Edge, Node};
use crate::report::escape::{dot_label, mermaid_label};

/// The most nodes a Mermaid graph shows before the rest are folded into "+N more".
pub const GRAPH_SCHEMA: &str = "tightrole/graph/v2";

pub const MERMAID_MAX_NODES: usize = 60;

fn service_of(arn: &str) -> String {
    if arn == "*" {
        return "any".to_string();
    }
    arn.split(':').nth(2).unwrap_or("other").to_string()
}

fn label(n: &Node) -> String {
    match n {
        Node::Account { id } => format!("account {id}"),
        Node::Role { arn } => format!("role {}", crate::identity::role_name(arn)),
        Node::Principal { kind, name, .. } => format!("{kind} {name}"),
        Node::Action { action, .. } => action.clone(),
        Node::Resource { arn } => arn.clone(),
    }
}

/// Principals with the resources they reach, grouped per service: the compact view both DOT
/// and Mermaid draw. (principal label, role label) → service → resource → actions
type Compact = BTreeMap<(String, Option<String>), BTreeMap<String, BTreeMap<String, Vec<String>>>>;

fn compact(g: &AccessGraph) -> Compact {
    let mut out: Compact = BTreeMap::new();
    for ni in g.graph.node_indices() {
        let Node::Principal { .. } = &g.graph[ni] else {
            continue;
        };
        let role = g
            .graph
            .neighbors_directed(ni, petgraph::Direction::Incoming)
            .find_map(|p| match &g.graph[p] {
                Node::Role { arn } => Some(format!("role {}", crate::identity::role_name(arn))),
                _ => None,
            });
        let entry = out.entry((label(&g.graph[ni]), role)).or_default();
        for a in g.graph.neighbors(ni) {
            let Node::Action { action, .. } = &g.graph[a] else {
                continue;
            };
            for r in g.graph.neighbors(a) {
                let Node::Resource { arn } = &g.graph[r] else {
                    continue;
                };
                entry
                    .entry(service_of(arn))
                    .or_default()
                    .entry(arn.clone())
                    .or_default()
                    .push(action.clone());
            }
        }
    }
    for services in out.values_mut() {
        for resources in services.values_mut() {
            for actions in resources.values_mut() {
                actions.sort();
                actions.dedup();
            }
        }
    }
    out
}

/// Graphviz DOT: roles as clusters around their functions, resources clustered per service,
/// edges labelled with the actions.
pub fn dot(g: &AccessGraph) -> String {
    let c = compact(g);
    let mut ids: BTreeMap<String, String> = BTreeMap::new();
    let mut id = |key: &str| -> String {
        let n = ids.len();
        ids.entry(key.to_string())
            .or_insert_with(|| format!("n{n}"))
            .clone()
    };
    let mut s = String::from(
        "digraph tightrole {\n  rankdir=LR;\n  node [shape=box, fontname=\"Helvetica\"];\n",
    );
    let mut roles: BTreeMap<Option<String>, Vec<String>> = BTreeMap::new();
    for (p, role) in c.keys() {
        roles.entry(role.clone()).or_default().push(p.clone());
    }
    for (ri, (role, ps)) in roles.iter().enumerate() {
        if let Some(r) = role {
            let _ = writeln!(
                s,
                "  subgraph cluster_role_{ri} {{\n    label=\"{}\";",
                dot_label(r)
            );
        }
        for p in ps {
            let _ = writeln!(
                s,
                "    {} [label=\"{}\", style=rounded];",
                id(&format!("p:{p}")),
                dot_label(p)
            );
        }
        if role.is_some() {
            s.push_str("  }\n");
        }
    }
    let mut by_service: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for services in c.values() {
        for (svc, resources) in services {
            by_service
                .entry(svc)
                .or_default()
                .extend(resources.keys().map(String::as_str));
        }
    }
    for (si, (svc, mut resources)) in by_service.into_iter().enumerate() {
        resources.sort();
        resources.dedup();
        let _ = writeln!(
            s,
            "  subgraph cluster_service_{si} {{\n    label=\"{}\";\n    style=dashed;",
            dot_label(svc)
        );
        for r in resources {
            let _ = writeln!(
                s,
                "    {} [label=\"{}\", shape=note];",
                id(&format!("r:{r}")),
                dot_label(r)
            );
        }
        s.push_str("  }\n");
    }
    for ((p, _), services) in &c {
        for resources in services.values() {
            for (r, actions) in resources {
                let _ = writeln!(
                    s,
                    "  {} -> {} [label=\"{}\"];",
                    id(&format!("p:{p}")),
                    id(&format!("r:{r}")),
                    actions
                        .iter()
                        .map(|a| dot_label(a))
                        .collect::<Vec<_>>()
                        .join("\\n")
                );
            }
        }
    }
    s.push_str("}\n");
    s
}

/// Mermaid flowchart for GitHub: principals on the left, resources grouped per service, at most
/// [`MERMAID_MAX_NODES`] nodes (the rest as "+N more").
pub fn mermaid(g: &AccessGraph) -> String {
    mermaid_of(&compact(g), MERMAID_MAX_NODES)
}

fn mermaid_of(c: &Compact, max_nodes: usize) -> String {
    let mut s = String::from("flowchart LR\n");
    let mut n = 0usize;
    let mut ids: BTreeMap<String, String> = BTreeMap::new();
    let mut hidden_resources = 0usize;
    let mut hidden_principals = 0usize;
    let mut edges = Vec::new();
    let mut groups: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for ((p, role), services) in c {
        if n >= max_nodes {
            hidden_principals += 1;
            continue;
        }
        let pid = format!("p{n}");
        n += 1;
        let text = match role {
            Some(r) => format!(
                "{}<br/><small>{}</small>",
                mermaid_label(p),
                mermaid_label(r)
            ),
            None => mermaid_label(p),
        };
        let _ = writeln!(s, "  {pid}([\"{text}\"])");
        for (svc, resources) in services {
            for (r, actions) in resources {
                let rid = match ids.get(r) {
                    Some(id) => id.clone(),
                    None if n < max_nodes => {
                        let id = format!("r{n}");
                        n += 1;
                        ids.insert(r.clone(), id.clone());
                        groups
                            .entry(svc.clone())
                            .or_default()
                            .push((id.clone(), r.clone()));
                        id
                    }
                    None => {
                        hidden_resources += 1;
                        continue;
                    }
                };
                let label = if actions.len() > 3 {
                    format!("{} actions", actions.len())
                } else {
                    actions.join(", ")
                };
                edges.push(format!("  {pid} -->|\"{}\"| {rid}", mermaid_label(&label)));
            }
        }
    }
    for (gi, (svc, nodes)) in groups.iter().enumerate() {
        let _ = writeln!(s, "  subgraph svc{gi} [\"{}\"]", mermaid_label(svc));
        for (id, r) in nodes {
            // cut on a character boundary: the last 57 characters
            let short = if r.chars().count() > 60 {
                tail_chars(r, 57)
            } else {
                r.into()
            };
            let _ = writeln!(s, "    {id}[\"{}\"]", mermaid_label(&short));
        }
        s.push_str("  end\n");
    }
    for e in edges {
        s.push_str(&e);
        s.push('\n');
    }
    if hidden_resources + hidden_principals > 0 {
        let _ = writeln!(
            s,
            "  more[\"+{} more\"]",
            hidden_resources + hidden_principals
        );
    }
    s
}

#[derive(Serialize, schemars::JsonSchema)]
pub struct JsonNode<'a> {
    id: usize,
    #[serde(flatten)]
    node: &'a Node,
}

#[derive(Serialize, schemars::JsonSchema)]
pub struct JsonEdge<'a> {
    from: usize,
    to: usize,
    #[serde(flatten)]
    edge: &'a Edge,
}

#[derive(Serialize, schemars::JsonSchema)]
pub struct JsonGraph<'a> {
    schema: &'static str,
    nodes: Vec<JsonNode<'a>>,
    edges: Vec<JsonEdge<'a>>,
}

/// The whole graph: nodes with ids, edges with their evidence.
/// The graph as JSON (`tightrole/graph/v2`): nodes, and edges with their evidence.
pub fn json(g: &AccessGraph) -> Result<String, serde_json::Error> {
    let nodes = g
        .graph
        .node_indices()
        .map(|i| JsonNode {
            id: i.index(),
            node: &g.graph[i],
        })
        .collect();
    let edges = g
        .graph
        .edge_references()
        .map(|e| JsonEdge {
            from: e.source().index(),
            to: e.target().index(),
            edge: e.weight(),
        })
        .collect();
    Ok(serde_json::to_string_pretty(&JsonGraph {
        schema: GRAPH_SCHEMA,
        nodes,
        edges,
    })? + "\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mermaid_caps_nodes() {
        let mut c: Compact = BTreeMap::new();
        for p in 0..5 {
            let e = c
                .entry((format!("function f{p}"), Some("role r".into())))
                .or_default();
            for r in 0..20 {
                e.entry("s3".into()).or_default().insert(
                    format!("arn:aws:s3:::b/{p}/{r}"),
                    vec!["s3:GetObject".into()],
                );
            }
        }
        let m = mermaid_of(&c, 10);
        assert!(m.contains("+"), "{m}");
        let nodes = m
            .lines()
            .filter(|l| {
                l.trim_start().starts_with('p') && l.contains("([")
                    || l.trim_start().starts_with('r') && l.contains("[\"")
            })
            .count();
        assert!(nodes <= 10, "{nodes}");
    }
}
