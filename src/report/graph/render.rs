//! Renderers of the usage graph: Graphviz DOT, Mermaid (small enough for GitHub), JSON.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use petgraph::visit::EdgeRef;
use serde::Serialize;

use crate::escape::tail_chars;
use crate::graph::select::{Picture, RANKING, Reached, Shown, role_label};
use crate::graph::{AccessGraph, Edge, Node};
use crate::report::escape::{dot_label, mermaid_label};

pub const GRAPH_SCHEMA: &str = "tightrole/graph/v2";

/// Principals not drawn that a partial picture's comment names; the rest are counted.
const NAMED_HIDDEN: usize = 25;

fn service_of(arn: &str) -> &str {
    if arn == "*" {
        return "any";
    }
    arn.split(':').nth(2).unwrap_or("other")
}

fn plural(n: usize, one: &str) -> String {
    format!("{n} {one}{}", if n == 1 { "" } else { "s" })
}

/// What a partial picture left out, for the line on stderr: `None` when it is whole.
pub fn left_out(p: &Picture) -> Option<String> {
    p.is_partial().then(|| {
        format!(
            "drew {}; use --principal or --who to draw a part in full",
            drawn(p)
        )
    })
}

/// `6 of 12 principals and 6 of 30 resources`: how much of the graph a picture drew.
fn drawn(p: &Picture) -> String {
    format!(
        "{} of {} and {} of {}",
        p.drawn.principals,
        plural(p.total.principals, "principal"),
        p.drawn.resources,
        plural(p.total.resources, "resource"),
    )
}

/// The lines of a partial picture's comment (unescaped): what it drew, how it chose, which
/// principals it left out.
fn comment(p: &Picture) -> Vec<String> {
    if !p.is_partial() {
        return Vec::new();
    }
    let mut lines = vec![
        format!("tightrole drew {} ({RANKING})", drawn(p)),
        "use --principal NAME or --who RESOURCE-PATTERN to draw a part in full; --format json has it all".to_string(),
    ];
    let folded: usize = p.principals.iter().map(|s| s.more).sum();
    if folded > 0 {
        lines.push(format!(
            "folded into +N more nodes: {} of {} drawn",
            plural(folded, "principal-to-resource edge"),
            plural(
                p.principals.iter().filter(|s| s.more > 0).count(),
                "principal"
            )
        ));
    }
    if !p.hidden.is_empty() {
        let mut named = p.hidden[..p.hidden.len().min(NAMED_HIDDEN)].join(", ");
        if p.hidden.len() > NAMED_HIDDEN {
            let _ = write!(named, " and {} more", p.hidden.len() - NAMED_HIDDEN);
        }
        lines.push(format!("not drawn: {named}"));
    }
    lines
}

/// The visible note of a partial picture, line by line (unescaped).
fn note(p: &Picture) -> Vec<String> {
    vec![
        format!("drew {}", drawn(p)),
        RANKING.to_string(),
        "--principal or --who draws a part in full".to_string(),
    ]
}

/// The drawn resources grouped per service, each with its node id (`r0`, `r1`, … in service
/// and ARN order, so that the ids do not depend on which principal reached a resource first).
fn resource_ids(p: &Picture) -> BTreeMap<&str, BTreeMap<&str, String>> {
    let arns: BTreeSet<(&str, &str)> = p
        .principals
        .iter()
        .flat_map(|s| {
            s.resources
                .iter()
                .map(|r| (service_of(&r.arn), r.arn.as_str()))
        })
        .collect();
    let mut out: BTreeMap<&str, BTreeMap<&str, String>> = BTreeMap::new();
    for (i, (svc, arn)) in arns.into_iter().enumerate() {
        out.entry(svc).or_default().insert(arn, format!("r{i}"));
    }
    out
}

/// The drawn principals grouped by the role they run as (`None`: not a function), in rank
/// order within each group.
fn by_role(p: &Picture) -> BTreeMap<Option<&str>, Vec<(usize, &Shown)>> {
    let mut out: BTreeMap<Option<&str>, Vec<(usize, &Shown)>> = BTreeMap::new();
    for (i, s) in p.principals.iter().enumerate() {
        out.entry(s.role_arn.as_deref()).or_default().push((i, s));
    }
    out
}

/// The actions of an edge, the rest counted.
fn edge_actions(r: &Reached) -> Vec<String> {
    let mut out = r.actions.clone();
    if r.more_actions > 0 {
        out.push(format!("+{} more", r.more_actions));
    }
    out
}

/// Graphviz DOT: roles as clusters around their functions, resources clustered per service,
/// edges labelled with the actions; a partial picture ([`crate::graph::select`]) says in a
/// comment and a note what it left out.
pub fn dot(p: &Picture) -> String {
    let mut s = String::from("digraph tightrole {\n");
    for line in comment(p) {
        // a `//` comment runs to the end of the line, and the escaped text has none
        let _ = writeln!(s, "  // {}", dot_label(&line));
    }
    s.push_str("  rankdir=LR;\n  node [shape=box, fontname=\"Helvetica\"];\n");
    for (ri, (role, members)) in by_role(p).into_iter().enumerate() {
        if let Some(r) = role {
            let _ = writeln!(
                s,
                "  subgraph cluster_role_{ri} {{\n    label=\"{}\";",
                dot_label(&role_label(r))
            );
        }
        for (i, m) in members {
            let mut label = dot_label(&m.label);
            if m.denied > 0 {
                let _ = write!(label, "\\n{}", plural(m.denied as usize, "denied call"));
            }
            let _ = writeln!(s, "    p{i} [label=\"{label}\", style=rounded];");
        }
        if role.is_some() {
            s.push_str("  }\n");
        }
    }
    let ids = resource_ids(p);
    for (si, (svc, resources)) in ids.iter().enumerate() {
        let _ = writeln!(
            s,
            "  subgraph cluster_service_{si} {{\n    label=\"{}\";\n    style=dashed;",
            dot_label(svc)
        );
        for (arn, id) in resources {
            let _ = writeln!(s, "    {id} [label=\"{}\", shape=note];", dot_label(arn));
        }
        s.push_str("  }\n");
    }
    for (i, m) in p.principals.iter().enumerate() {
        if m.more > 0 {
            let _ = writeln!(
                s,
                "  m{i} [label=\"+{}\", shape=plaintext];",
                plural(m.more, "more resource")
            );
        }
    }
    if p.is_partial() {
        let lines: Vec<String> = note(p).iter().map(|l| dot_label(l)).collect();
        let _ = writeln!(
            s,
            "  left_out [label=\"{}\", shape=plaintext, fontcolor=\"gray30\"];",
            lines.join("\\n")
        );
    }
    for (i, m) in p.principals.iter().enumerate() {
        for r in &m.resources {
            // `\n` in a DOT string is a line break; each action is escaped on its own, so a
            // backslash from the log is `\\` and never starts one
            let label: Vec<String> = edge_actions(r).iter().map(|a| dot_label(a)).collect();
            let _ = writeln!(
                s,
                "  p{i} -> {} [label=\"{}\"];",
                ids[service_of(&r.arn)][r.arn.as_str()],
                label.join("\\n")
            );
        }
        if m.more > 0 {
            let _ = writeln!(s, "  p{i} -> m{i} [style=dashed];");
        }
    }
    s.push_str("}\n");
    s
}

/// Mermaid flowchart for GitHub: principals on the left, resources grouped per service; a
/// partial picture ([`crate::graph::select`]) says in `%%` comments and a note what it left out.
pub fn mermaid(p: &Picture) -> String {
    let mut s = String::from("flowchart LR\n");
    for line in comment(p) {
        let _ = writeln!(s, "  %% {}", mermaid_label(&line));
    }
    for (i, m) in p.principals.iter().enumerate() {
        let mut small: Vec<String> = m.role_arn.iter().map(|r| role_label(r)).collect();
        if m.denied > 0 {
            small.push(plural(m.denied as usize, "denied call"));
        }
        let small: Vec<String> = small.iter().map(|x| mermaid_label(x)).collect();
        let text = if small.is_empty() {
            mermaid_label(&m.label)
        } else {
            format!(
                "{}<br/><small>{}</small>",
                mermaid_label(&m.label),
                small.join(" · ")
            )
        };
        let _ = writeln!(s, "  p{i}([\"{text}\"])");
    }
    let ids = resource_ids(p);
    for (si, (svc, resources)) in ids.iter().enumerate() {
        let _ = writeln!(s, "  subgraph svc{si} [\"{}\"]", mermaid_label(svc));
        for (arn, id) in resources {
            // cut on a character boundary: the last 57 characters
            let short = if arn.chars().count() > 60 {
                tail_chars(arn, 57)
            } else {
                (*arn).into()
            };
            let _ = writeln!(s, "    {id}[\"{}\"]", mermaid_label(&short));
        }
        s.push_str("  end\n");
    }
    for (i, m) in p.principals.iter().enumerate() {
        if m.more > 0 {
            let _ = writeln!(s, "  m{i}[\"+{}\"]", plural(m.more, "more resource"));
        }
    }
    if p.is_partial() {
        let lines: Vec<String> = note(p).iter().map(|l| mermaid_label(l)).collect();
        let _ = writeln!(s, "  left_out>\"{}\"]", lines.join("<br/>"));
    }
    for (i, m) in p.principals.iter().enumerate() {
        for r in &m.resources {
            let _ = writeln!(
                s,
                "  p{i} -->|\"{}\"| {}",
                mermaid_label(&edge_actions(r).join(", ")),
                ids[service_of(&r.arn)][r.arn.as_str()]
            );
        }
        if m.more > 0 {
            let _ = writeln!(s, "  p{i} -.-> m{i}");
        }
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
    use crate::graph::select::Counts;

    /// Names a caller can give itself or an object, aimed at DOT and Mermaid.
    const HOSTILE: &[&str] = &[
        "x\"]; evil [label=\"pwned",
        "back\\slash\\N\\l\\",
        "line\nbreak\r\u{2028}",
        "%%{init: {\"theme\": \"forest\"}}%%",
        "<b>html</b>|`md`#35;",
        "}; digraph x {",
    ];

    fn hostile_picture() -> Picture {
        let principals = HOSTILE
            .iter()
            .enumerate()
            .map(|(i, h)| Shown {
                label: format!("user {h}"),
                role_arn: (i % 2 == 0).then(|| format!("arn:aws:iam::1:role/{h}")),
                denied: i as u64,
                resources: vec![Reached {
                    arn: format!("arn:aws:s3:::b/{h}"),
                    actions: vec![format!("s3:Get{h}"), "s3:PutObject".into()],
                    more_actions: 1,
                }],
                more: 2,
            })
            .collect();
        Picture {
            principals,
            hidden: HOSTILE.iter().map(|h| format!("function {h}")).collect(),
            total: Counts {
                principals: 12,
                resources: 30,
            },
            drawn: Counts {
                principals: 6,
                resources: 6,
            },
        }
    }

    /// Graphviz on a DOT text, as the integration tests run it.
    mod graphviz_run {
        include!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/common/graphviz.rs"
        ));
    }
    use graphviz_run::graphviz;

    #[test]
    fn dot_breaks_edge_labels_with_one_backslash() {
        let p = hostile_picture();
        let d = dot(&p);
        // the renderer's line breaks are `\n`; the log's backslashes are doubled
        assert!(
            d.contains(r#"p1 -> r2 [label="s3:Getback\\slash\\N\\l\\\ns3:PutObject\n+1 more"];"#),
            "{d}"
        );
        assert!(d.contains(r#"label="user line\\nbreak\\r\\u{2028}\n2 denied calls""#));
    }

    #[test]
    fn dot_holds_only_tightrole_statements() {
        let d = dot(&hostile_picture());
        let quoted = r#""(?:[^"\\\n]|\\.)*""#;
        let line = regex_lite::Regex::new(&format!(
            r#"^(digraph tightrole \{{|  // [^\n]*|  rankdir=LR;|  node \[shape=box, fontname="Helvetica"\];|  subgraph cluster_(role|service)_\d+ \{{|    label={quoted};|    style=dashed;|    p\d+ \[label={quoted}, style=rounded\];|    r\d+ \[label={quoted}, shape=note\];|  m\d+ \[label={quoted}, shape=plaintext\];|  left_out \[label={quoted}, shape=plaintext, fontcolor="gray30"\];|  p\d+ -> r\d+ \[label={quoted}\];|  p\d+ -> m\d+ \[style=dashed\];|  \}}|\}})$"#
        ))
        .unwrap();
        for l in d.lines() {
            assert!(line.is_match(l), "a DOT line not of tightrole's: {l:?}");
        }
        assert!(d.contains("  // not drawn: function x\\\"]; evil"), "{d}");
        let Some((svg, _)) = graphviz(&d) else {
            return;
        };
        // 6 principals, 6 resources, 6 "+N more", the note: nothing injected
        assert_eq!(svg.matches("class=\"node\"").count(), 19, "{svg}");
        assert_eq!(svg.matches("class=\"cluster\"").count(), 3 + 1, "{svg}");
        assert!(!svg.contains("<title>evil</title>"), "{svg}");
        // label escapes from the log are text: `\N` is not the node's name, `\l` no line break
        assert!(svg.contains(">user back\\slash\\N\\l\\</text>"), "{svg}");
        assert!(
            svg.contains(">s3:PutObject</text>"),
            "one action a line: {svg}"
        );
        assert!(svg.contains(">+1 more</text>"), "{svg}");
    }

    #[test]
    fn mermaid_holds_only_tightrole_statements() {
        let m = mermaid(&hostile_picture());
        let line = regex_lite::Regex::new(
            r#"^(flowchart LR|  %% [^\n]*|  p\d+\(\["[^"]*"\]\)|  subgraph svc\d+ \["[^"]*"\]|    r\d+\["[^"]*"\]|  end|  m\d+\["[^"]*"\]|  left_out>"[^"]*"\]|  p\d+ -->\|"[^"|]*"\| r\d+|  p\d+ -\.-> m\d+)$"#,
        )
        .unwrap();
        for l in m.lines() {
            assert!(line.is_match(l), "a Mermaid line not of tightrole's: {l:?}");
            let own = l
                .replace("<br/><small>", "")
                .replace("</small>", "")
                .replace("<br/>", "");
            assert!(
                !own.contains('<') && !own.contains('>')
                    || own.contains("-->")
                    || own.contains("-.->")
                    || own.starts_with("  left_out>"),
                "raw HTML in a Mermaid label: {l:?}"
            );
        }
        assert!(!m.contains("%%{"), "a directive from the log: {m}");
        assert!(m.contains("  %% not drawn: function x#quot;]; evil"), "{m}");
    }

    #[test]
    fn a_partial_picture_says_what_it_left_out() {
        let p = hostile_picture();
        assert_eq!(
            left_out(&p).unwrap(),
            "drew 6 of 12 principals and 6 of 30 resources; use --principal or --who to draw a part in full"
        );
        let d = dot(&p);
        assert!(
            d.contains("  // tightrole drew 6 of 12 principals and 6 of 30 resources (ranked by")
        );
        assert!(d.contains(
            "  // folded into +N more nodes: 12 principal-to-resource edges of 6 principals drawn"
        ));
        assert!(d.contains("  m0 [label=\"+2 more resources\", shape=plaintext];"));
        assert!(d.contains(
            "  left_out [label=\"drew 6 of 12 principals and 6 of 30 resources\\nranked by"
        ));
        let m = mermaid(&p);
        assert!(m.contains("  %% tightrole drew 6 of 12 principals"));
        assert!(
            m.contains("  left_out>\"drew 6 of 12 principals and 6 of 30 resources<br/>ranked by")
        );
        assert!(m.contains("  p0 -.-> m0"));
        let mut whole = Picture {
            hidden: Vec::new(),
            drawn: p.total,
            ..p
        };
        // every principal and resource drawn, some edges folded: still partial
        assert!(left_out(&whole).is_some());
        for s in &mut whole.principals {
            s.more = 0;
        }
        assert_eq!(left_out(&whole), None);
        assert!(!dot(&whole).contains("//") && !dot(&whole).contains("left_out"));
        assert!(!mermaid(&whole).contains("%%") && !mermaid(&whole).contains("left_out"));
    }
}
