//! `explain`'s text: why each grant of a principal is there, with the calls behind it.

use std::fmt::Write as _;

use super::GenerateOutput;
use crate::escape::terminal as t;
use crate::wildcard::matches;

/// Every principal of `out`, each statement with the calls behind it (at most five per
/// resource), what was generalized, kept and denied; only actions matching `action` (a glob)
/// when it is given.
pub fn explain_text(out: &GenerateOutput, action: Option<&str>) -> String {
    let wanted = |a: &str| action.is_none_or(|p| matches(p, a, true));
    let mut s = String::new();
    for p in &out.principals {
        let _ = writeln!(s, "{} {} (account {})", p.kind, t(&p.name), t(&p.account));
        if !p.function_evidence.is_empty() {
            let _ = writeln!(
                s,
                "  a function because: {}",
                t(&p.function_evidence.join(", "))
            );
        }
        if !p.chained_from.is_empty() {
            let _ = writeln!(
                s,
                "  assumed by the code of: {} (role chaining)",
                t(&p.chained_from.join(", "))
            );
        }
        for st in p
            .policies
            .iter()
            .chain(p.policy.iter().filter(|_| p.policies.is_empty()))
            .flat_map(|d| d.statements.iter())
        {
            let actions: Vec<&String> = st
                .action
                .values()
                .iter()
                .filter(|a| wanted(a) || !a.contains(':') || a.contains('*'))
                .collect();
            if actions.is_empty()
                || !st
                    .action
                    .values()
                    .iter()
                    .any(|a| wanted(a) || a.contains('*'))
            {
                continue;
            }
            let _ = writeln!(
                s,
                "\n  {}: {}",
                t(st.sid.as_deref().unwrap_or("statement")),
                t(&st.action.values().join(", "))
            );
            for r in st.resource.values() {
                let _ = writeln!(s, "    on {}", t(r));
                if let Some(g) = p.generalizations.iter().find(|g| &g.pattern == r) {
                    let _ = writeln!(
                        s,
                        "      generalized: stands for {} observed resource(s), e.g. {}",
                        g.observed_text(),
                        t(&g.examples.join(", "))
                    );
                }
                for row in p
                    .evidence
                    .iter()
                    .filter(|e| {
                        wanted(&e.action)
                            && st
                                .action
                                .values()
                                .iter()
                                .any(|a| matches(a, &e.action, true))
                            && matches(r, &e.resource, false)
                    })
                    .take(5)
                {
                    let e = &row.evidence;
                    // a set of names from the log, one line, escaped for the terminal
                    let list = |names: &std::collections::BTreeSet<String>| {
                        let joined = names
                            .iter()
                            .map(String::as_str)
                            .collect::<Vec<_>>()
                            .join(", ");
                        t(&joined).into_owned()
                    };
                    let mut who = String::new();
                    if e.service_made() > 0 {
                        who = format!(", {} made by {}", e.service_made(), list(e.invoked_by()));
                    }
                    if e.platform() > 0 {
                        who.push_str(&format!(", {} by Lambda's platform", e.platform()));
                    }
                    let event = e.event_id.to_string();
                    let _ = writeln!(
                        s,
                        "      {} {}: {} call(s), first {}, last {}, e.g. event {}{who}",
                        t(&row.action),
                        t(&row.resource),
                        e.seen.count,
                        super::when(e.seen.first_seen),
                        super::when(e.seen.last_seen),
                        if event.is_empty() {
                            "(none)".into()
                        } else {
                            t(&event)
                        }
                    );
                    if !e.unresolved().is_empty() {
                        let _ = writeln!(
                            s,
                            "        flagged: the records did not give {}",
                            list(e.unresolved())
                        );
                    }
                    if !e.extra().is_empty() {
                        let _ = writeln!(
                            s,
                            "        needed by the call beyond its own action: {}",
                            list(e.extra())
                        );
                    }
                }
            }
            if !st.condition.is_empty() {
                let _ = writeln!(
                    s,
                    "    condition: {}",
                    t(&serde_json::to_string(&st.condition).unwrap_or_default())
                );
            }
        }
        for c in p.carried.iter().filter(|c| wanted(&c.action)) {
            let _ = writeln!(
                s,
                "\n  kept ({}): {} on {}: {}",
                c.label.to_lowercase(),
                t(&c.action),
                t(&c.resources.join(", ")),
                t(&c.reason)
            );
            if !c.narrowing.is_empty() {
                let _ = writeln!(s, "    {}", t(&c.narrowing));
            }
        }
        for d in p.denied.iter().filter(|d| wanted(&d.action)) {
            let _ = writeln!(
                s,
                "\n  denied, not granted: {} on {}: {} call(s), last {}",
                t(&d.action),
                t(&d.resource),
                d.evidence.seen.count,
                super::when(d.evidence.seen.last_seen)
            );
        }
        s.push('\n');
    }
    s
}
