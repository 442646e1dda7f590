//! Renderers of the diff: text (coloured on a terminal), markdown.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::diff::risk::RiskClass;
use crate::diff::{DIFF_SCHEMA, DiffClass, DiffEntry, DiffReport, PrincipalDiff};
use crate::escape::terminal as t;
use crate::identity::PrincipalKind;
use crate::model::Window;
use crate::report::escape::{
    html, html_code, md_code, md_code_cell, md_message, md_principal, md_text,
};

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
            t(&r.current),
            risky,
            r.count(DiffClass::Unused),
            r.count(DiffClass::Missing),
            r.count(DiffClass::Denied)
        ))
    );
    for p in &r.principals {
        let _ = writeln!(s, "\n{}", style.bold(&t(&heading(p))));
        let _ = writeln!(s, "  {}", summary_line(p));
        for c in &p.confidence {
            let _ = writeln!(s, "  {} {}", style.yellow("confidence:"), t(c));
        }
        if !p.summary.risky_removed.is_empty() {
            let _ = writeln!(s, "  {}", style.red("risky grants removed:"));
            for (class, actions) in risky_by_class(&p.summary.risky_removed) {
                let _ = writeln!(
                    s,
                    "    {} ({}): {}",
                    style.red(class),
                    actions.len(),
                    t(&abbreviate(&actions, 6))
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
                t(&abbreviate(&names, 6))
            );
        }
        for (class, title) in [
            (DiffClass::Missing, "missing (used, not granted)"),
            (DiffClass::Denied, "denied"),
            (DiffClass::Used, "used (kept)"),
            (DiffClass::Unobservable, "unobservable (kept, flagged)"),
            (DiffClass::RequiredByRuntime, "required by runtime (kept)"),
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
                    DiffClass::Unobservable | DiffClass::RequiredByRuntime => format!(
                        "{} on {}: {}",
                        e.action,
                        scope(&e.before),
                        e.reason.clone().unwrap_or_default()
                    ),
                    _ => format!("{} on {} ({} call(s))", e.action, scope(&e.after), e.count),
                };
                let line = t(&line);
                let line = match class {
                    DiffClass::Used | DiffClass::RequiredByRuntime => style.green(&line),
                    DiffClass::Unobservable => style.yellow(&line),
                    _ => style.red(&line),
                };
                let by = if e.used_by.is_empty() {
                    String::new()
                } else {
                    format!(" [{}]", t(&e.used_by.join(", ")))
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
                    style.red(&t(&svc)),
                    names.len(),
                    t(&shown.join(", "))
                );
            }
        }
    }
    if !r.not_in_current.is_empty() {
        let _ = writeln!(
            s,
            "\nnot in `{}` (not diffed): {}",
            t(&r.current),
            t(&r.not_in_current.join(", "))
        );
    }
    for f in &r.idle_functions {
        let _ = writeln!(s, "\n{}", t(&idle_line(f)));
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

/// Markdown: `(nothing)`, or up to three resources as code spans (`a`, `b`, … (N in all)).
fn md_scope(v: &[String]) -> String {
    let spans = |v: &[String]| {
        v.iter()
            .map(|x| md_code_cell(x))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if v.is_empty() {
        "(nothing)".to_string()
    } else if v.len() <= 3 {
        spans(v)
    } else {
        format!("{}, … ({} in all)", spans(&v[..2]), v.len())
    }
}

/// Markdown risky removals grouped by risk class: `` `action` on `scope` ``.
fn md_risky_by_class(rr: &[crate::diff::RiskyRemoval]) -> Vec<(&'static str, Vec<String>)> {
    let mut m: BTreeMap<crate::diff::RiskClass, Vec<String>> = BTreeMap::new();
    for r in rr {
        for c in &r.risk {
            m.entry(*c).or_default().push(format!(
                "{} on {}",
                md_code_cell(&r.action),
                md_scope(&r.before)
            ));
        }
    }
    m.into_iter().map(|(c, v)| (c.as_str(), v)).collect()
}

/// A list of principal labels (`function a, role b`), each name a code span.
fn md_principals(labels: &[String], cell: bool) -> String {
    labels
        .iter()
        .map(|l| md_principal(l, cell))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The functions of a principal, each a code span.
fn md_functions<'a>(names: impl Iterator<Item = &'a String>) -> String {
    names
        .map(|n| md_code_cell(n))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The heading of a principal inside `<summary>` (an HTML block: HTML escaping, `<code>`).
fn html_heading(p: &PrincipalDiff) -> String {
    let mut s = format!(
        "{} {} (account {})",
        p.kind,
        html_code(&p.name),
        html(&p.account)
    );
    if !p.functions.is_empty() {
        let _ = write!(
            s,
            ", functions: {}",
            p.functions
                .keys()
                .map(|f| html_code(f))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    s
}

/// Tables and lists for a pull request or a wiki. Every value from the trail, the policies or
/// the command line is a code span (or HTML-escaped `<code>` inside `<summary>`); see
/// [`crate::escape`].
pub fn markdown(r: &DiffReport) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "## tightrole diff\n");
    let _ = writeln!(s, "Against {}.\n", md_code(&r.current));
    let risky: Vec<(&PrincipalDiff, &'static str, Vec<String>)> = r
        .principals
        .iter()
        .flat_map(|p| {
            md_risky_by_class(&p.summary.risky_removed)
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
                md_code_cell(&p.name),
                actions.len(),
                abbreviate(&actions, 5)
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
            md_code_cell(&p.name),
            md_functions(p.functions.keys()),
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
        let _ = writeln!(s, "\n<details><summary>{}</summary>\n", html_heading(p));
        for c in &p.confidence {
            let _ = writeln!(s, "> **confidence:** {}\n", md_message(c, false));
        }
        let _ = writeln!(
            s,
            "| class | action | before | after | note |\n|---|---|---|---|---|"
        );
        for e in p.entries.iter().filter(|e| e.class != DiffClass::Unused) {
            let note = match &e.reason {
                Some(reason) => md_message(reason, true),
                None => md_principals(&e.used_by, true),
            };
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} |",
                e.class.as_str(),
                md_code_cell(&e.action),
                md_scope(&e.before),
                md_scope(&e.after),
                note
            );
        }
        for (svc, names) in
            unused_by_service(p.entries.iter().filter(|e| e.class == DiffClass::Unused))
        {
            let _ = writeln!(
                s,
                "| unused | {} ({}) | | | {} |",
                md_code_cell(&format!("{svc}:")),
                names.len(),
                md_text(&names.join(", "))
            );
        }
        let _ = writeln!(s, "\n</details>");
    }
    if !r.not_in_current.is_empty() {
        let _ = writeln!(
            s,
            "\nNot in {} (not diffed): {}",
            md_code(&r.current),
            md_principals(&r.not_in_current, false)
        );
    }
    if !r.idle_functions.is_empty() {
        let _ = writeln!(s, "\n### Functions with no activity\n");
        for f in &r.idle_functions {
            let role = f
                .role
                .as_deref()
                .map_or_else(|| "(no role)".to_string(), md_code);
            let _ = writeln!(
                s,
                "- function {} (role {role}): in the function inventory, but no call in this window; the {} action(s) its role grants are unused or unobservable as far as it goes",
                md_code(&f.function),
                f.granted_actions
            );
        }
    }
    s
}

// ---------- the versioned JSON document ----------

/// `diff --format json`: the versioned document (`tightrole/diff/v2`, docs/formats/diff-json.md).
/// Built from the diff's internal types, so that a change to them cannot change the format
/// unnoticed: every field the format has is named here.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct DiffOutput<'a> {
    pub schema: &'static str,
    pub current: &'a str,
    pub window: Option<Window>,
    pub principals: Vec<DiffPrincipalOut<'a>>,
    pub not_in_current: &'a [String],
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub idle_functions: Vec<IdleOut<'a>>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct DiffPrincipalOut<'a> {
    pub kind: PrincipalKind,
    pub name: &'a str,
    pub account: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arn: Option<&'a str>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub functions: &'a BTreeMap<String, Vec<String>>,
    pub policies: &'a [String],
    pub summary: SummaryOut<'a>,
    pub entries: Vec<EntryOut<'a>>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub confidence: &'a [String],
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct SummaryOut<'a> {
    pub granted_before: usize,
    pub granted_after: usize,
    pub removed: usize,
    pub share_removed: f64,
    pub narrowed: usize,
    pub unobservable: usize,
    pub missing: usize,
    pub denied: usize,
    pub risky_removed: Vec<RiskyOut<'a>>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct RiskyOut<'a> {
    pub action: &'a str,
    pub before: &'a [String],
    pub risk: &'a [RiskClass],
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct EntryOut<'a> {
    pub action: &'a str,
    pub class: DiffClass,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub before: &'a [String],
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub after: &'a [String],
    pub narrowed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'a str>,
    #[serde(skip_serializing_if = "<[RiskClass]>::is_empty")]
    pub risk: &'a [RiskClass],
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub used_by: &'a [String],
    #[serde(skip_serializing_if = "is_zero")]
    pub count: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct IdleOut<'a> {
    pub function: &'a str,
    pub role: Option<&'a str>,
    pub granted_actions: usize,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// The versioned document of a diff.
pub fn output(r: &DiffReport) -> DiffOutput<'_> {
    DiffOutput {
        schema: DIFF_SCHEMA,
        current: &r.current,
        window: r.window,
        principals: r
            .principals
            .iter()
            .map(|p| DiffPrincipalOut {
                kind: p.kind,
                name: &p.name,
                account: &p.account,
                arn: p.arn.as_deref(),
                functions: &p.functions,
                policies: &p.policies,
                summary: SummaryOut {
                    granted_before: p.summary.granted_before,
                    granted_after: p.summary.granted_after,
                    removed: p.summary.removed,
                    share_removed: p.summary.share_removed,
                    narrowed: p.summary.narrowed,
                    unobservable: p.summary.unobservable,
                    missing: p.summary.missing,
                    denied: p.summary.denied,
                    risky_removed: p
                        .summary
                        .risky_removed
                        .iter()
                        .map(|x| RiskyOut {
                            action: &x.action,
                            before: &x.before,
                            risk: &x.risk,
                        })
                        .collect(),
                },
                entries: p
                    .entries
                    .iter()
                    .map(|e| EntryOut {
                        action: &e.action,
                        class: e.class,
                        before: &e.before,
                        after: &e.after,
                        narrowed: e.narrowed,
                        reason: e.reason.as_deref(),
                        risk: &e.risk,
                        used_by: &e.used_by,
                        count: e.count,
                        last_seen: e.last_seen,
                    })
                    .collect(),
                confidence: &p.confidence,
            })
            .collect(),
        not_in_current: &r.not_in_current,
        idle_functions: r
            .idle_functions
            .iter()
            .map(|i| IdleOut {
                function: &i.function,
                role: i.role.as_deref(),
                granted_actions: i.granted_actions,
            })
            .collect(),
    }
}
