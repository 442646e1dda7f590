//! Renderers of the diff: text (coloured on a terminal), markdown.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::diff::{DiffClass, DiffEntry, DiffReport, PrincipalDiff};

/// ANSI styling, or none.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
}

impl Style {
    fn paint(self, code: &str, s: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    fn red(self, s: &str) -> String {
        self.paint("31", s)
    }
    fn green(self, s: &str) -> String {
        self.paint("32", s)
    }
    fn yellow(self, s: &str) -> String {
        self.paint("33", s)
    }
    fn bold(self, s: &str) -> String {
        self.paint("1", s)
    }
}

fn scope(v: &[String]) -> String {
    if v.is_empty() {
        "(nothing)".to_string()
    } else if v.len() <= 3 {
        v.join(", ")
    } else {
        format!("{}, … ({} in all)", v[..2].join(", "), v.len())
    }
}

fn heading(p: &PrincipalDiff) -> String {
    let mut s = format!("{} {} (account {})", p.kind, p.name, p.account);
    if !p.functions.is_empty() {
        let _ = write!(
            s,
            ", functions: {}",
            p.functions.keys().cloned().collect::<Vec<_>>().join(", ")
        );
    }
    s
}

fn summary_line(p: &PrincipalDiff) -> String {
    let m = &p.summary;
    format!(
        "granted {} action(s) today, {} after: {} removed ({:.1}%), {} narrowed, {} unobservable kept, {} missing, {} denied",
        m.granted_before,
        m.granted_after,
        m.removed,
        m.share_removed * 100.0,
        m.narrowed,
        m.unobservable,
        m.missing,
        m.denied
    )
}

/// `a, b, c, … N more`
fn abbreviate(items: &[String], n: usize) -> String {
    let shown = items.iter().take(n).cloned().collect::<Vec<_>>().join(", ");
    if items.len() > n {
        format!("{shown}, … {} more", items.len() - n)
    } else {
        shown
    }
}

/// Risky removals grouped by risk class, most severe first: `action on scope`.
fn risky_by_class(rr: &[crate::diff::RiskyRemoval]) -> Vec<(&'static str, Vec<String>)> {
    let mut m: BTreeMap<crate::diff::RiskClass, Vec<String>> = BTreeMap::new();
    for r in rr {
        for c in &r.risk {
            m.entry(*c)
                .or_default()
                .push(format!("{} on {}", r.action, scope(&r.before)));
        }
    }
    m.into_iter().map(|(c, v)| (c.as_str(), v)).collect()
}

/// Unused actions grouped by service: `dynamodb (12): BatchGetItem, …`.
fn unused_by_service<'e>(
    entries: impl Iterator<Item = &'e DiffEntry>,
) -> BTreeMap<String, Vec<String>> {
    let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for e in entries {
        let (svc, name) = e.action.split_once(':').unwrap_or(("?", &e.action));
        m.entry(svc.to_string()).or_default().push(name.to_string());
    }
    m
}

pub fn text(r: &DiffReport, style: Style) -> String {
    let mut s = String::new();
    let risky = r.risky_removed();
    let _ = writeln!(
        s,
        "{}",
        style.bold(&format!(
            "tightrole diff: {} principal(s) against `{}`; {} risky grant(s) removed, {} unused, {} missing, {} denied",
            r.principals.len(),
            r.current,
            risky,
            r.count(DiffClass::Unused),
            r.count(DiffClass::Missing),
            r.count(DiffClass::Denied)
        ))
    );
    for p in &r.principals {
        let _ = writeln!(s, "\n{}", style.bold(&heading(p)));
        let _ = writeln!(s, "  {}", summary_line(p));
        for c in &p.confidence {
            let _ = writeln!(s, "  {} {c}", style.yellow("confidence:"));
        }
        if !p.summary.risky_removed.is_empty() {
            let _ = writeln!(s, "  {}", style.red("risky grants removed:"));
            for (class, actions) in risky_by_class(&p.summary.risky_removed) {
                let _ = writeln!(
                    s,
                    "    {} ({}): {}",
                    style.red(class),
                    actions.len(),
                    abbreviate(&actions, 6)
                );
            }
        }
        let kept: Vec<&DiffEntry> = p
            .entries
            .iter()
            .filter(|e| e.class == DiffClass::Unobservable && !e.risk.is_empty())
            .collect();
        if !kept.is_empty() {
            let names: Vec<String> = kept
                .iter()
                .map(|e| format!("{} on {}", e.action, scope(&e.before)))
                .collect();
            let _ = writeln!(
                s,
                "  {} {}: the trail cannot show them unused; review by hand",
                style.yellow("risky grants kept (unobservable):"),
                abbreviate(&names, 6)
            );
        }
        for (class, title) in [
            (DiffClass::Missing, "missing (used, not granted)"),
            (DiffClass::Denied, "denied"),
            (DiffClass::Used, "used (kept)"),
            (DiffClass::Unobservable, "unobservable (kept, flagged)"),
        ] {
            let rows: Vec<&DiffEntry> = p.entries.iter().filter(|e| e.class == class).collect();
            if rows.is_empty() {
                continue;
            }
            let _ = writeln!(s, "  {title}:");
            for e in rows {
                let line = match class {
                    DiffClass::Used if e.narrowed => {
                        format!("{}: {} → {}", e.action, scope(&e.before), scope(&e.after))
                    }
                    DiffClass::Used => format!("{}: {}", e.action, scope(&e.after)),
                    DiffClass::Unobservable => format!(
                        "{} on {}: {}",
                        e.action,
                        scope(&e.before),
                        e.reason.clone().unwrap_or_default()
                    ),
                    _ => format!("{} on {} ({} call(s))", e.action, scope(&e.after), e.count),
                };
                let line = match class {
                    DiffClass::Used => style.green(&line),
                    DiffClass::Unobservable => style.yellow(&line),
                    _ => style.red(&line),
                };
                let by = if e.used_by.is_empty() {
                    String::new()
                } else {
                    format!(" [{}]", e.used_by.join(", "))
                };
                let _ = writeln!(s, "    {line}{by}");
            }
        }
        let unused = unused_by_service(p.entries.iter().filter(|e| e.class == DiffClass::Unused));
        if !unused.is_empty() {
            let _ = writeln!(s, "  unused (removed):");
            for (svc, names) in unused {
                let shown: Vec<&str> = names.iter().take(8).map(String::as_str).collect();
                let more = if names.len() > 8 {
                    format!(", … {} more", names.len() - 8)
                } else {
                    String::new()
                };
                let _ = writeln!(
                    s,
                    "    {} ({}): {}{more}",
                    style.red(&svc),
                    names.len(),
                    shown.join(", ")
                );
            }
        }
    }
    if !r.not_in_current.is_empty() {
        let _ = writeln!(
            s,
            "\nnot in `{}` (not diffed): {}",
            r.current,
            r.not_in_current.join(", ")
        );
    }
    for f in &r.idle_functions {
        let _ = writeln!(s, "\n{}", idle_line(f));
    }
    s
}

/// One function of the inventory that did nothing in the window.
fn idle_line(f: &crate::diff::IdleFunction) -> String {
    let role = f.role.as_deref().unwrap_or("(no role)");
    format!(
        "function {} (role {role}): in the function inventory, but no call in this window; the {} action(s) its role grants are unused or unobservable as far as it goes",
        f.function, f.granted_actions
    )
}

fn md_escape(s: &str) -> String {
    s.replace('|', "\\|")
}

pub fn markdown(r: &DiffReport) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "## tightrole diff\n");
    let _ = writeln!(s, "Against `{}`.\n", r.current);
    let risky: Vec<(&PrincipalDiff, &'static str, Vec<String>)> = r
        .principals
        .iter()
        .flat_map(|p| {
            risky_by_class(&p.summary.risky_removed)
                .into_iter()
                .map(move |(c, v)| (p, c, v))
        })
        .collect();
    if !risky.is_empty() {
        let _ = writeln!(
            s,
            "### Risky grants removed\n\n| principal | risk | grants | |\n|---|---|---:|---|"
        );
        for (p, class, actions) in risky {
            let _ = writeln!(
                s,
                "| {} {} | {class} | {} | {} |",
                p.kind,
                p.name,
                actions.len(),
                md_escape(&abbreviate(&actions, 5))
            );
        }
        s.push('\n');
    }
    let _ = writeln!(
        s,
        "### Summary\n\n| principal | functions | actions before | after | removed | narrowed | unobservable | missing | denied |\n|---|---|---:|---:|---:|---:|---:|---:|---:|"
    );
    for p in &r.principals {
        let m = &p.summary;
        let _ = writeln!(
            s,
            "| {} {} | {} | {} | {} | {} ({:.0}%) | {} | {} | {} | {} |",
            p.kind,
            p.name,
            p.functions.keys().cloned().collect::<Vec<_>>().join(", "),
            m.granted_before,
            m.granted_after,
            m.removed,
            m.share_removed * 100.0,
            m.narrowed,
            m.unobservable,
            m.missing,
            m.denied
        );
    }
    for p in &r.principals {
        let _ = writeln!(
            s,
            "\n<details><summary>{}</summary>\n",
            md_escape(&heading(p))
        );
        for c in &p.confidence {
            let _ = writeln!(s, "> **confidence:** {}\n", md_escape(c));
        }
        let _ = writeln!(
            s,
            "| class | action | before | after | note |\n|---|---|---|---|---|"
        );
        for e in p.entries.iter().filter(|e| e.class != DiffClass::Unused) {
            let note = e.reason.clone().unwrap_or_else(|| e.used_by.join(", "));
            let _ = writeln!(
                s,
                "| {} | `{}` | {} | {} | {} |",
                e.class.as_str(),
                e.action,
                md_escape(&scope(&e.before)),
                md_escape(&scope(&e.after)),
                md_escape(&note)
            );
        }
        for (svc, names) in
            unused_by_service(p.entries.iter().filter(|e| e.class == DiffClass::Unused))
        {
            let _ = writeln!(
                s,
                "| unused | `{svc}:` ({}) | | | {} |",
                names.len(),
                names.join(", ")
            );
        }
        let _ = writeln!(s, "\n</details>");
    }
    if !r.not_in_current.is_empty() {
        let _ = writeln!(
            s,
            "\nNot in `{}` (not diffed): {}",
            r.current,
            r.not_in_current.join(", ")
        );
    }
    if !r.idle_functions.is_empty() {
        let _ = writeln!(s, "\n### Functions with no activity\n");
        for f in &r.idle_functions {
            let _ = writeln!(s, "- {}", md_escape(&idle_line(f)));
        }
    }
    s
}
