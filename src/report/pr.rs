//! The pull request body of `tightrole pr` (PR.md): what changes, why, and a graph of the
//! functions whose policies changed. Every value from the trail, the policies or the command
//! line is a code span, an HTML-escaped `<code>` inside `<summary>`, or a Mermaid-escaped label
//! (see [`crate::escape`]), so no log text can add a heading, a link, an image or HTML.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use super::PrincipalOut;
use crate::diff::{DiffClass, DiffReport};
use crate::graph::select::{Budget, select};
use crate::identity::{PrincipalKind, role_name};
use crate::report::escape::{html_code, md_code, md_code_cell, md_message};
use crate::report::graph::render;
use crate::usage::Usage;

/// PR.md for `report` (the diff of the current policies against the trail), the proposals
/// written, and the usage they came from.
pub fn body(report: &DiffReport, proposals: &[PrincipalOut], usage: &Usage) -> String {
    let mut s = String::from("## Least-privilege policies from CloudTrail\n\n");
    if let Some(w) = &report.window {
        let _ = writeln!(
            s,
            "Proposed by tightrole from the calls seen between {} and {}, against {}.\n",
            w.first.format("%Y-%m-%d"),
            w.last.format("%Y-%m-%d"),
            md_code(&report.current)
        );
    }
    let risky = report.risky_removed();
    let _ = writeln!(
        s,
        "**{} risky grant(s) removed**, {} unused permission(s) removed, {} kept because the trail cannot show them unused, {} denied call kind(s) seen.\n",
        risky,
        report.count(DiffClass::Unused),
        report.count(DiffClass::Unobservable),
        report.count(DiffClass::Denied)
    );
    let _ = writeln!(
        s,
        "| role | functions | actions before | after | removed | risky grants removed |\n|---|---|---:|---:|---:|---:|"
    );
    for p in &report.principals {
        let m = &p.summary;
        let _ = writeln!(
            s,
            "| {} {} | {} | {} | {} | {:.0}% | {} |",
            p.kind,
            md_code_cell(&p.name),
            p.functions
                .keys()
                .map(|f| md_code_cell(f))
                .collect::<Vec<_>>()
                .join(", "),
            m.granted_before,
            m.granted_after,
            m.share_removed * 100.0,
            m.risky_removed.len()
        );
    }
    let kept: Vec<String> = report
        .principals
        .iter()
        .flat_map(|p| {
            p.entries
                .iter()
                .filter(|e| e.class == DiffClass::Unobservable)
                .map(move |e| {
                    let mut line = format!(
                        "- {} {}: {}: {}",
                        p.kind,
                        md_code(&p.name),
                        md_code(&e.action),
                        md_message(e.reason.as_deref().unwrap_or_default(), false)
                    );
                    for c in carried_as(proposals, p, &e.action) {
                        if !c.narrowing.is_empty() {
                            line.push_str("; ");
                            line.push_str(&md_message(&c.narrowing, false));
                        }
                    }
                    line
                })
        })
        .collect();
    if !kept.is_empty() {
        let _ = writeln!(
            s,
            "\n### Kept: permissions this trail cannot show unused\n\n{}",
            kept.join("\n")
        );
    }
    // what the Lambda runtime needs, from the functions' configuration: one line per function,
    // resource and configuration field
    // one line per function, configuration field and resource, by owner
    // (owner, function, field, resources) → the line
    type Keyed<'a> = ((String, &'a str, &'a str, String), String);
    let mut runtime: Vec<Keyed<'_>> = Vec::new();
    for p in proposals {
        let owner = format!("{} {}", p.kind, md_code(&p.name));
        for g in super::runtime_groups(&p.carried) {
            let resources = g.resources.join(", ");
            let line = format!(
                "- {owner}, function {}: {} on {} ({})",
                md_code(g.function),
                g.actions
                    .iter()
                    .map(|a| md_code(a))
                    .collect::<Vec<_>>()
                    .join(", "),
                md_code(&resources),
                md_code(g.field)
            );
            runtime.push(((owner.clone(), g.function, g.field, resources), line));
        }
    }
    runtime.sort();
    if !runtime.is_empty() {
        let _ = writeln!(
            s,
            "\n### Granted for the Lambda runtime (from the functions' configuration)\n"
        );
        for (_, line) in runtime {
            let _ = writeln!(s, "{line}");
        }
    }
    let unsettled: Vec<String> = proposals
        .iter()
        .filter_map(|p| {
            let c = p.confidence.as_ref().filter(|c| !c.settled)?;
            Some(format!(
                "- {} {}: {}",
                p.kind,
                md_code(&p.name),
                md_message(&super::confidence_text(c), false)
            ))
        })
        .collect();
    if !unsettled.is_empty() {
        let _ = writeln!(
            s,
            "\n### Not settled: review before merging\n\nThe window may not show all these principals do.\n\n{}",
            unsettled.join("\n")
        );
    }
    let denied: Vec<String> = report
        .principals
        .iter()
        .flat_map(|p| {
            p.entries
                .iter()
                .filter(|e| e.class == DiffClass::Denied)
                .map(move |e| {
                    format!(
                        "- {} {}: {} on {} ({} call(s))",
                        p.kind,
                        md_code(&p.name),
                        md_code(&e.action),
                        e.after
                            .iter()
                            .map(|r| md_code(r))
                            .collect::<Vec<_>>()
                            .join(", "),
                        e.count
                    )
                })
        })
        .collect();
    if !denied.is_empty() {
        let _ = writeln!(
            s,
            "\n### Denied calls seen (not granted)\n\n{}",
            denied.join("\n")
        );
    }
    let changed: BTreeSet<&str> = report
        .principals
        .iter()
        .filter(|p| p.summary.removed > 0 || p.summary.narrowed > 0)
        .map(|p| p.name.as_str())
        .collect();
    let mut graph_usage = usage.clone();
    graph_usage.principals.retain(|id, p| {
        let owner = p
            .role_arn
            .as_deref()
            .map(role_name)
            .unwrap_or(id.name.as_str());
        changed.contains(owner) && id.kind == PrincipalKind::Function
    });
    for p in graph_usage.principals.values_mut() {
        p.grants = crate::synth::generalize::generalize_grants(
            &p.grants,
            crate::fold::GeneralizeLevel::Prefix,
            32,
        );
    }
    if !graph_usage.principals.is_empty() {
        // every label is escaped for Mermaid and holds no newline, so no line of the graph can
        // close this fence
        let _ = writeln!(
            s,
            "\n### Functions changed\n\n```mermaid\n{}```",
            render::mermaid(&select(&graph_usage, Budget::WHOLE))
        );
    }
    let _ = writeln!(s, "\n### Per role");
    for p in &report.principals {
        let _ = writeln!(
            s,
            "\n<details><summary>{} {}: {} → {} actions</summary>\n",
            p.kind,
            html_code(&p.name),
            p.summary.granted_before,
            p.summary.granted_after
        );
        let _ = writeln!(s, "| class | action | before | after |\n|---|---|---|---|");
        for e in p.entries.iter().filter(|e| e.class != DiffClass::Unused) {
            // an unobservable grant is carried: after is what the proposal carries (narrowed
            // where the trail shows its resources)
            let carried: Vec<String> = if e.class == DiffClass::Unobservable {
                carried_as(proposals, p, &e.action)
                    .flat_map(|c| c.resources.iter().cloned())
                    .collect()
            } else {
                Vec::new()
            };
            let after = if carried.is_empty() {
                &e.after
            } else {
                &carried
            };
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} |",
                e.class.as_str(),
                md_code_cell(&e.action),
                cell(&e.before),
                cell(after)
            );
        }
        let mut unused: BTreeMap<&str, usize> = BTreeMap::new();
        for e in p.entries.iter().filter(|e| e.class == DiffClass::Unused) {
            *unused
                .entry(e.action.split(':').next().unwrap_or(""))
                .or_default() += 1;
        }
        for (svc, n) in unused {
            let _ = writeln!(
                s,
                "| unused | {} {n} action(s) | | removed |",
                md_code_cell(&format!("{svc}:"))
            );
        }
        if let Some(prop) = proposals.iter().find(|x| x.name == p.name) {
            for g in &prop.generalizations {
                let _ = writeln!(
                    s,
                    "\n{} stands for {} observed resource(s).",
                    md_code(&g.pattern),
                    g.observed_text()
                );
            }
        }
        let _ = writeln!(s, "\n</details>");
    }
    s.push_str("\n---\nGenerated by `tightrole pr`. Review the policy files in this change; `tightrole check --policy FILE` replays the observed calls against any edit.\n");
    s
}

/// The grants of `action` the proposal for `p` carries as unobservable.
fn carried_as<'a>(
    proposals: &'a [PrincipalOut],
    p: &'a crate::diff::PrincipalDiff,
    action: &'a str,
) -> impl Iterator<Item = &'a crate::synth::Carried> {
    proposals
        .iter()
        .filter(move |x| x.kind == p.kind && x.name == p.name && x.account == p.account)
        .flat_map(|x| x.carried.iter())
        .filter(move |c| c.label == "Unobservable" && c.action.eq_ignore_ascii_case(action))
}

/// A table cell of resources: up to two as code spans, or the first and the count.
fn cell(v: &[String]) -> String {
    match v.len() {
        0 => String::new(),
        1..=2 => v
            .iter()
            .map(|r| md_code_cell(r))
            .collect::<Vec<_>>()
            .join(", "),
        n => format!("{}, … ({n})", md_code_cell(&v[0])),
    }
}
