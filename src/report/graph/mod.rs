//! The usage graph's forms: DOT, Mermaid and JSON ([`render`]), the listing of the principals
//! and what they reached, and a function's blast radius.

pub mod render;

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::escape::terminal as t;
use crate::graph::query::{BlastOutput, BlastRow};
use crate::usage::{PrincipalId, PrincipalUsage, Usage};

/// The principals and what each reached, resource by resource; with `by_role`, grouped under
/// the role whose policies apply to them ([`Usage::by_owner`]).
pub fn listing(usage: &Usage, by_role: bool) -> String {
    let mut s = String::new();
    let groups: Vec<(String, Vec<(&PrincipalId, &PrincipalUsage)>)> = if by_role {
        usage
            .by_owner()
            .into_iter()
            .map(|(owner, members)| (format!("{} {}", owner.kind, owner.name), members))
            .collect()
    } else {
        vec![(String::new(), usage.principals.iter().collect())]
    };
    for (group, members) in groups {
        if !group.is_empty() {
            let names: Vec<&str> = members.iter().map(|(id, _)| id.name.as_str()).collect();
            let _ = writeln!(
                s,
                "{} is shared by {} functions: {}",
                t(&group),
                names.len(),
                t(&names.join(", "))
            );
        }
        for (id, p) in members {
            let _ = writeln!(
                s,
                "{}{} {}",
                if group.is_empty() { "" } else { "  " },
                id.kind,
                t(&id.name)
            );
            let mut per_resource: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
            for (a, r) in p.grants.keys() {
                per_resource.entry(r).or_default().push(a);
            }
            for (r, actions) in per_resource {
                let _ = writeln!(
                    s,
                    "{}  {}: {}",
                    if group.is_empty() { "" } else { "  " },
                    t(r),
                    t(&actions.join(", "))
                );
            }
        }
    }
    if s.is_empty() {
        s.push_str("nothing matched\n");
    }
    s
}

/// The text form of a blast radius: used, used by the role, and (the first 25) unused.
pub fn blast_text(out: &BlastOutput) -> String {
    let mut s = format!(
        "function {} (role {}) can reach {} action(s) today and used {}:\n",
        t(&out.function),
        t(&out.role),
        out.granted,
        out.used
    );
    for status in ["used", "used-by-role", "unused"] {
        let rows: Vec<&BlastRow> = out.rows.iter().filter(|r| r.status == status).collect();
        if rows.is_empty() {
            continue;
        }
        let _ = writeln!(s, "  {status} ({}):", rows.len());
        for r in rows
            .iter()
            .take(if status == "unused" { 25 } else { usize::MAX })
        {
            let count = if r.count > 0 {
                format!(" ({} calls)", r.count)
            } else {
                String::new()
            };
            let _ = writeln!(
                s,
                "    {} on {}{count}",
                t(&r.action),
                t(&r.granted_on.join(", "))
            );
        }
        if status == "unused" && rows.len() > 25 {
            let _ = writeln!(s, "    … {} more", rows.len() - 25);
        }
    }
    s
}
