//! The drift report as one self-contained HTML page: the summary, each finding with its
//! evidence and the policy lines it is about, the usage graph of what changed, and the calls
//! and denied calls per day of every principal. Nothing is loaded from anywhere: the styles,
//! the pictures (inline SVG drawn here) and the table-sorting script are in the page, and its
//! Content-Security-Policy allows nothing else. Every string from the log or a policy file is
//! escaped ([`crate::report::escape::html`]).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::{DateTime, NaiveDate, Utc};

use super::{Excerpt, excerpt, period, svg};
use crate::drift::{CALLS_KEPT, DriftReport, Finding, Item, PrincipalActivity, Seen};
use crate::report::escape::html as esc;

/// The page's style sheet: the text of its `<style>` element, allowed by its hash.
const STYLE: &str = r#"
:root{--ink:#1f2328;--muted:#59636e;--line:#d1d9e0;--soft:#f6f8fa;--warn:#b45309;--warn-bg:#fff8eb;--note:#475569;--note-bg:#f1f5f9;--new:#d97706;--deny:#dc2626;--calls:#2563eb}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--ink);margin:0;background:#fff}
main{max-width:1160px;margin:0 auto;padding:24px 24px 48px}
h1{font-size:24px;margin:0 0 4px}
h2{font-size:18px;margin:32px 0 8px;padding-bottom:4px;border-bottom:1px solid var(--line)}
h3{font-size:15px;margin:20px 0 8px}
p{margin:4px 0 8px}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace;font-size:12.5px}
code{background:var(--soft);border-radius:4px;padding:1px 4px;overflow-wrap:anywhere}
.meta{color:var(--muted)}
.hint{color:var(--muted);font-size:13px}
.tiles{display:grid;grid-template-columns:repeat(6,1fr);gap:10px;list-style:none;padding:0;margin:12px 0}
.tile a{display:block;height:100%;padding:10px 12px;border:1px solid var(--line);border-left-width:4px;border-radius:6px;color:inherit;text-decoration:none}
.tile.warning a{border-left-color:var(--warn)}
.tile.note a{border-left-color:#94a3b8}
.tile.none a{opacity:.55}
.tile .n{display:block;font-size:24px;font-weight:600}
.tile .t{display:block;font-size:13px}
.tile .c{display:block;font-size:12px;color:var(--muted)}
.finding{border:1px solid var(--line);border-left-width:4px;border-radius:6px;padding:10px 14px;margin:10px 0}
.finding.warning{border-left-color:var(--warn);background:var(--warn-bg)}
.finding.note{border-left-color:#94a3b8}
.finding header{display:flex;gap:10px;align-items:baseline;flex-wrap:wrap}
.badge{font-size:12px;font-weight:600;padding:1px 7px;border-radius:10px;background:var(--note-bg);color:var(--note)}
.warning .badge{background:#fde7c2;color:var(--warn)}
.who{font-weight:600;overflow-wrap:anywhere}
.finding .message{margin:6px 0}
dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:6px 0}
dt{color:var(--muted)}
dd{margin:0;overflow-wrap:anywhere}
ul.calls{margin:0;padding-left:18px}
td small{color:var(--muted)}
figure{margin:8px 0 2px}
figcaption{font-size:12px;color:var(--muted);margin-bottom:2px}
pre{background:#fff;border:1px solid var(--line);border-radius:6px;padding:6px 0;margin:0;overflow-x:auto}
pre span{display:block;padding:0 10px;white-space:pre}
pre span.hit{background:#fff3c4}
pre b{display:inline-block;min-width:3.2em;color:var(--muted);font-weight:400;user-select:none}
.legend{display:flex;gap:18px;flex-wrap:wrap;font-size:13px;color:var(--muted);margin:4px 0 8px}
.legend i{display:inline-block;width:22px;height:0;border-top:2px solid #94a3b8;vertical-align:middle;margin-right:6px}
.legend i.new{border-top-color:var(--new)}
.legend i.denied{border-top:2px dashed var(--deny)}
.legend i.flag{width:14px;height:12px;border:2px solid var(--new);border-radius:3px}
.graph{overflow-x:auto;border:1px solid var(--line);border-radius:6px;padding:10px}
.usage-graph{display:block;max-width:100%;height:auto}
.usage-graph text{font-size:12px;fill:var(--ink)}
.usage-graph text.column{font-size:12px;fill:var(--muted);font-weight:600;text-transform:uppercase;letter-spacing:.04em}
.usage-graph text.count{fill:var(--muted);font-size:11px}
.node rect{fill:#fff;stroke:#94a3b8;stroke-width:1}
.node.function rect{fill:#eef4ff;stroke:#6b8fd6}
.node.identity rect{fill:#f3efff;stroke:#8b73d1}
.node.service rect{fill:var(--soft);stroke:#7d8b99}
.node.resource rect{fill:#fff;stroke:#b6c2cf}
.node.flagged rect{stroke:var(--new);stroke-width:2}
.node.resource.flagged rect{fill:#fff4de}
.node.has-denied text.count{fill:var(--deny)}
.edge{fill:none;stroke:#94a3b8;opacity:.85}
.edge.new{stroke:var(--new);opacity:1}
.edge.denied{stroke:var(--deny);stroke-dasharray:5 3;opacity:1}
.arrow path{fill:#94a3b8}
.arrow.new path{fill:var(--new)}
.arrow.denied path{fill:var(--deny)}
table{border-collapse:collapse;width:100%;margin:8px 0}
th,td{border-bottom:1px solid var(--line);padding:5px 8px;text-align:left;vertical-align:middle}
th{background:var(--soft);font-weight:600;font-size:13px;white-space:nowrap}
table.sortable th:not([data-nosort]){cursor:pointer}
th.sorted-asc::after{content:" ▲"}
th.sorted-desc::after{content:" ▼"}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
td.chart{padding:2px 8px;width:266px}
.axis{display:flex;justify-content:space-between;width:180px;font-weight:400;font-size:11px;color:var(--muted)}
.spark{display:block}
.spark rect{fill:var(--calls)}
.spark.denied rect{fill:var(--deny)}
.spark .base{stroke:var(--line)}
.spark text{font-size:11px;fill:var(--muted)}
.flagcount{display:inline-block;min-width:1.6em;text-align:center;border-radius:9px;background:#fde7c2;color:var(--warn);font-size:12px;font-weight:600}
footer{margin-top:36px;color:var(--muted);font-size:12px}
"#;

/// The sorting of the tables: click a header to sort by its column (`data-sort` when a cell
/// has one, numbers as numbers). The text of the `<script>` element, allowed by its hash.
const SCRIPT: &str = r#"
document.querySelectorAll('table.sortable').forEach(function (table) {
  table.classList.add('sort-ready');
  table.querySelectorAll('th').forEach(function (th, col) {
    if (th.hasAttribute('data-nosort')) { return; }
    th.addEventListener('click', function () {
      var asc = !th.classList.contains('sorted-asc');
      table.querySelectorAll('th').forEach(function (h) { h.classList.remove('sorted-asc', 'sorted-desc'); });
      th.classList.add(asc ? 'sorted-asc' : 'sorted-desc');
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      var key = function (row) {
        var cell = row.cells[col];
        return cell.hasAttribute('data-sort') ? cell.getAttribute('data-sort') : cell.textContent;
      };
      rows.sort(function (a, b) {
        var x = key(a), y = key(b);
        var nx = parseFloat(x), ny = parseFloat(y);
        var c = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y);
        return asc ? c : -c;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
});
"#;

/// The base64 SHA-256 of [`STYLE`] and [`SCRIPT`], for the Content-Security-Policy. When
/// either text changes, so must its hash (a unit test below says which); a browser would refuse
/// the text otherwise.
const STYLE_SHA256: &str = "Ia9aMenxHifmG+swCG1bWXD2vIYVAGKJ+eyubFuZ0zY=";
const SCRIPT_SHA256: &str = "4xEZVg/OpbQ1xr33768q9ItUJnk8e0tzMVAB0T9+xbI=";

fn time(t: Option<DateTime<Utc>>) -> String {
    t.map_or_else(
        || "at no recorded time".to_string(),
        |t| t.format("%Y-%m-%d %H:%M UTC").to_string(),
    )
}

/// A message with markdown code spans (`` `s3:GetObject` ``) as `<code>`; everything escaped.
fn inline(message: &str) -> String {
    let mut s = String::new();
    for (i, part) in message.split('`').enumerate() {
        if i % 2 == 1 {
            let _ = write!(s, "<code>{}</code>", esc(part));
        } else {
            s.push_str(&esc(part));
        }
    }
    s
}

/// Policy files read once each.
#[derive(Default)]
struct Files(BTreeMap<String, Option<String>>);

impl Files {
    fn excerpt(&mut self, file: &str, action: &str) -> Option<Excerpt> {
        self.0
            .entry(file.to_string())
            .or_insert_with(|| std::fs::read_to_string(file).ok())
            .as_deref()
            .and_then(|t| excerpt(t, action))
    }
}

fn evidence(f: Finding, seen: &Seen) -> String {
    let what = match f {
        Finding::DeniedSpike => "denied call(s) this period",
        Finding::NewlyUsed => "call(s) this period",
        _ => "call(s) in all",
    };
    format!(
        "{} {what}; first seen {}, last seen {}",
        seen.count,
        time(seen.first_seen),
        time(seen.last_seen)
    )
}

/// A policy file of a finding (`which`: baseline or deployed) as a `<dt>`/`<dd>` pair, and its
/// lines about the action.
fn policy_rows(
    which: &str,
    file: &str,
    action: Option<&str>,
    files: &mut Files,
) -> (String, Option<(String, Excerpt)>) {
    let mut dd = format!("<code>{}</code>", esc(file));
    let found = action.and_then(|a| files.excerpt(file, a).map(|e| (a, e)));
    match (&found, action) {
        (Some((_, e)), _) if e.exact => {
            let _ = write!(dd, ", line {}", e.line);
        }
        (Some((a, e)), _) => {
            let _ = write!(
                dd,
                ", line {} names its service, not <code>{}</code> itself",
                e.line,
                esc(a)
            );
        }
        (None, Some(a)) if std::path::Path::new(file).is_file() => {
            let _ = write!(
                dd,
                ": names neither <code>{}</code> nor its service",
                esc(a)
            );
        }
        _ => {}
    }
    (
        format!("<dt>{which} policy</dt><dd>{dd}</dd>"),
        found.map(|(_, e)| (file.to_string(), e)),
    )
}

fn excerpt_html(which: &str, file: &str, e: &Excerpt) -> String {
    let first = e.lines.first().map_or(e.line, |l| l.0);
    let last = e.lines.last().map_or(e.line, |l| l.0);
    let mut s = format!(
        "<figure class=\"policy\"><figcaption>{which} <code>{}</code>, lines {first}–{last}</figcaption><pre>",
        esc(file)
    );
    for (n, text) in &e.lines {
        let class = if *n == e.line { " class=\"hit\"" } else { "" };
        let _ = write!(s, "<span{class}><b>{n}</b>{}</span>", esc(text));
    }
    s.push_str("</pre></figure>");
    s
}

fn finding_card(n: usize, i: &Item, files: &mut Files) -> String {
    let f = i.finding;
    let mut s = format!(
        "<article class=\"finding {}\" id=\"finding-{n}\"><header><span class=\"badge\">{} {}</span><span class=\"who\">{}</span></header>",
        f.level(),
        f.code(),
        f.name(),
        esc(&i.principal)
    );
    let _ = write!(s, "<p class=\"message\">{}</p><dl>", inline(&i.message));
    if let Some(a) = &i.action {
        let _ = write!(s, "<dt>action</dt><dd><code>{}</code></dd>", esc(a));
    }
    if let Some(r) = i.resource.as_ref().filter(|_| i.calls.is_empty()) {
        let _ = write!(s, "<dt>resource</dt><dd><code>{}</code></dd>", esc(r));
    }
    if let Some(seen) = &i.seen {
        let _ = write!(s, "<dt>evidence</dt><dd>{}</dd>", esc(&evidence(f, seen)));
    }
    if !i.calls.is_empty() {
        let what = if f == Finding::DeniedSpike {
            "denied"
        } else {
            "new"
        };
        let _ = write!(s, "<dt>{what} grants</dt><dd><ul class=\"calls\">");
        for (a, r, seen) in &i.calls {
            s.push_str("<li>");
            if i.action.as_ref() != Some(a) {
                let _ = write!(s, "<code>{}</code> on ", esc(a));
            }
            let _ = write!(
                s,
                "<code>{}</code>: {} call(s), first {}, last {}</li>",
                esc(r),
                seen.count,
                time(seen.first_seen),
                time(seen.last_seen)
            );
        }
        if i.calls_total > i.calls.len() {
            let _ = write!(
                s,
                "<li>and {} more (the {CALLS_KEPT} with most calls are shown)</li>",
                i.calls_total - i.calls.len()
            );
        }
        s.push_str("</ul></dd>");
    }
    let mut shown = Vec::new();
    for (which, file) in [
        ("baseline", i.file.as_deref()),
        ("deployed", i.deployed_file.as_deref()),
    ] {
        let Some(file) = file else { continue };
        let (row, e) = policy_rows(which, file, i.action.as_deref(), files);
        s.push_str(&row);
        shown.extend(e.map(|(file, e)| (which, file, e)));
    }
    s.push_str("</dl>");
    match shown.as_slice() {
        // the deployed file says the same as the baseline there: once
        [(_, file, b), (_, _, d)] if b == d => {
            s.push_str(&excerpt_html("baseline and deployed", file, b))
        }
        _ => {
            for (which, file, e) in &shown {
                s.push_str(&excerpt_html(which, file, e));
            }
        }
    }
    s.push_str("</article>\n");
    s
}

/// The findings of every kind, each kind under its heading.
fn findings(r: &DriftReport, s: &mut String) {
    let mut files = Files::default();
    let mut n = 0;
    if r.items.is_empty() {
        s.push_str("<p>No finding in this period.</p>\n");
    }
    for f in Finding::ALL {
        let items: Vec<&Item> = r.items.iter().filter(|i| i.finding == f).collect();
        if items.is_empty() {
            continue;
        }
        let _ = writeln!(
            s,
            "<h3 id=\"{}\">{} · {} ({})</h3>",
            f.name(),
            f.code(),
            f.title(),
            items.len()
        );
        for i in items {
            n += 1;
            s.push_str(&finding_card(n, i, &mut files));
        }
    }
}

fn summary(r: &DriftReport, s: &mut String) {
    s.push_str("<ul class=\"tiles\">");
    for f in Finding::ALL {
        let n = r.count(f);
        let class = if n == 0 { "none" } else { f.level() };
        let _ = write!(
            s,
            "<li class=\"tile {class}\"><a href=\"#{}\"><span class=\"n\">{n}</span><span class=\"t\">{}</span><span class=\"c\">{} · {}</span></a></li>",
            if n == 0 { "findings" } else { f.name() },
            f.title(),
            f.code(),
            f.level()
        );
    }
    s.push_str("</ul>\n");
}

fn activity(r: &DriftReport, s: &mut String) {
    let a = &r.activity;
    let mut flagged: BTreeMap<&str, usize> = BTreeMap::new();
    for i in &r.items {
        *flagged.entry(i.principal.as_str()).or_default() += 1;
    }
    // a role's row counts its functions' calls too: shown when the role has a finding or is
    // shared, not to repeat the row of its one function
    let mut rows: Vec<&str> = a
        .principals
        .iter()
        .filter(|(k, p)| p.functions != 1 || flagged.contains_key(k.as_str()))
        .map(|(k, _)| k.as_str())
        .collect();
    rows.extend(flagged.keys().filter(|k| !a.principals.contains_key(**k)));
    rows.sort_by_key(|k| (!flagged.contains_key(k), *k));
    let axis = |days: Option<(NaiveDate, NaiveDate)>| {
        days.map_or(String::new(), |(first, last)| {
            format!("<span class=\"axis\"><span>{first}</span><span>{last}</span></span>")
        })
    };
    let _ = writeln!(
        s,
        "<table class=\"sortable activity\"><thead><tr><th>principal</th><th class=\"num\">findings</th><th class=\"num\">calls</th><th data-nosort>calls per day{}</th><th class=\"num\">denied</th><th data-nosort>denied calls per day{}</th></tr></thead><tbody>",
        axis(a.days),
        axis(a.days)
    );
    let none = PrincipalActivity::default();
    for k in rows {
        let pa = a.principals.get(k).unwrap_or(&none);
        let days = &pa.days;
        let calls: u64 = days.values().map(|d| d.calls).sum();
        let denied: u64 = days.values().map(|d| d.denied).sum();
        let with = match pa.functions {
            0 => String::new(),
            n => format!("<br><small>with the calls of its {n} function(s)</small>"),
        };
        let n = flagged.get(k).copied().unwrap_or(0);
        let badge = if n > 0 {
            format!("<span class=\"flagcount\">{n}</span>")
        } else {
            String::new()
        };
        let _ = writeln!(
            s,
            "<tr><td data-sort=\"{}\">{}{with}</td><td class=\"num\" data-sort=\"{n}\">{badge}</td><td class=\"num\">{calls}</td><td class=\"chart\">{}</td><td class=\"num\">{denied}</td><td class=\"chart\">{}</td></tr>",
            esc(k),
            esc(k),
            svg::spark("calls", k, a.days, &|d| days.get(&d).map_or(0, |c| c.calls)),
            svg::spark("denied", k, a.days, &|d| days
                .get(&d)
                .map_or(0, |c| c.denied)),
        );
    }
    s.push_str("</tbody></table>\n");
}

/// One self-contained HTML file: readable offline, no request made.
pub fn html(r: &DriftReport) -> String {
    let mut s = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'sha256-{STYLE_SHA256}'; script-src 'sha256-{SCRIPT_SHA256}'\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>tightrole drift report</title>\n<style>{STYLE}</style></head><body><main>\n"
    );
    let _ = writeln!(
        s,
        "<header><h1>tightrole drift report</h1><p class=\"meta\">Period {}, against the baseline <code>{}</code>: {} new trail file(s) read, {} already read before.</p></header>",
        esc(&period(r)),
        esc(&r.baseline),
        r.files_read,
        r.files_skipped_as_read
    );
    s.push_str("<section id=\"summary\"><h2>Summary</h2>\n");
    summary(r, &mut s);
    s.push_str("</section>\n<section id=\"findings\"><h2>Findings</h2>\n<p class=\"hint\">Each finding with the calls behind it and, where it is about a grant, the lines of the policy files that name it.</p>\n");
    findings(r, &mut s);
    s.push_str("</section>\n<section id=\"changes\"><h2>What changed</h2>\n");
    if r.changes.nodes.is_empty() {
        s.push_str("<p>No principal has a finding in this period.</p>\n");
    } else {
        s.push_str("<p class=\"hint\">The usage of the principals with findings in this period: each function, the role it runs as, the services it called and the resources it reached. Hover a box or an arrow for its calls.</p>\n<p class=\"legend\"><span><i></i>calls</span><span><i class=\"new\"></i>used for the first time</span><span><i class=\"denied\"></i>denied</span><span><i class=\"flag\"></i>has a finding, or newly reached</span></p>\n<div class=\"graph\">");
        s.push_str(&svg::graph(&r.changes));
        s.push_str("</div>\n");
    }
    s.push_str("</section>\n<section id=\"activity\"><h2>Activity</h2>\n<p class=\"hint\">Calls and denied calls per day of each principal in this period (UTC days; each chart on its own scale, its largest bar labelled). Click a header to sort.</p>\n");
    activity(r, &mut s);
    s.push_str("</section>\n");
    if !r.not_settled.is_empty() {
        s.push_str("<section id=\"not-settled\"><h2>Not settled</h2>\n<p class=\"hint\">Their usage in this period is too short or still changing to read much into: findings about them may be the window's.</p>\n<table class=\"sortable\"><thead><tr><th>principal</th><th>why</th></tr></thead><tbody>\n");
        for (who, why) in &r.not_settled {
            let _ = writeln!(
                s,
                "<tr><td>{}</td><td>{}</td></tr>",
                esc(who),
                esc(&why.join("; "))
            );
        }
        s.push_str("</tbody></table></section>\n");
    }
    let _ = write!(
        s,
        "<footer>tightrole {} · one self-contained file: no script, style or font is loaded from anywhere.</footer>\n</main>\n<script>{SCRIPT}</script>\n</body></html>\n",
        env!("CARGO_PKG_VERSION")
    );
    s
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use chrono::TimeZone;

    use super::*;
    use crate::drift::{Activity, ChangeGraph, Column, EdgeStat, Node};
    use crate::usage::DayCount;

    const EVIL: &str = "x<script>alert(1)</script>\"'&</svg><img src=y onerror=alert(2)><b>";

    fn hostile_report(dir: &std::path::Path) -> DriftReport {
        let who = format!("function {EVIL}");
        let t = Utc.with_ymd_and_hms(2026, 11, 15, 10, 0, 0).unwrap();
        let seen = Seen::span(t, t, 3);
        let policy = dir.join(format!("{}.json", "p"));
        let text = format!(
            "{{\n  \"Statement\": [\n    {{\n      \"Sid\": \"{}\",\n      \"Effect\": \"Allow\",\n      \"Action\": [\"s3:GetObject\"],\n      \"Resource\": \"*\"\n    }}\n  ]\n}}\n",
            EVIL.replace('"', "\\\"")
        );
        std::fs::write(&policy, text).unwrap();
        let node = |column, label: &str| Node {
            column,
            label: label.to_string(),
        };
        let resource = format!("arn:aws:s3:::b/{EVIL}");
        let f = node(Column::Function, &who);
        let r = node(Column::Identity, &format!("role {EVIL}"));
        let sv = node(Column::Service, "s3");
        let res = node(Column::Resource, &resource);
        let stat = EdgeStat {
            calls: 3,
            denied: 1,
            new: true,
        };
        let day = t.date_naive();
        DriftReport {
            not_settled: vec![(who.clone(), vec![EVIL.to_string()])],
            baseline: EVIL.to_string(),
            period_start: Some(t),
            period_end: Some(t),
            files_read: 1,
            files_skipped_as_read: 0,
            items: vec![Item {
                finding: Finding::NewlyUsed,
                principal: who.clone(),
                message: format!("`s3:GetObject` was never used before: {EVIL} `{EVIL}`"),
                action: Some("s3:GetObject".to_string()),
                resource: Some(resource.clone()),
                file: Some(policy.display().to_string()),
                deployed_file: Some(EVIL.to_string()),
                seen: Some(seen),
                calls: vec![("s3:GetObject".to_string(), resource.clone(), seen)],
                calls_total: 1,
            }],
            activity: Activity {
                days: Some((day, day)),
                principals: BTreeMap::from([(
                    who.clone(),
                    PrincipalActivity {
                        days: BTreeMap::from([(
                            day,
                            DayCount {
                                calls: 3,
                                denied: 1,
                            },
                        )]),
                        functions: 0,
                    },
                )]),
            },
            changes: ChangeGraph {
                nodes: [&f, &r, &sv, &res]
                    .into_iter()
                    .map(|n| (n.clone(), true))
                    .collect(),
                edges: BTreeMap::from([
                    ((f.clone(), r.clone()), stat),
                    ((r.clone(), sv.clone()), stat),
                    ((sv.clone(), res.clone()), stat),
                ]),
            },
        }
    }

    #[test]
    fn hostile_names_are_text_everywhere_never_markup() {
        let dir = tempfile::tempdir().unwrap();
        let page = html(&hostile_report(dir.path()));
        let escaped = "x&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;&lt;/svg&gt;&lt;img src=y onerror=alert(2)&gt;&lt;b&gt;";
        for raw in ["<script>alert", "<img", "</script>\"", "'&</svg>"] {
            assert!(!page.contains(raw), "{raw} in {page}");
        }
        assert_eq!(
            page.matches("<script").count(),
            1,
            "only the page's own script"
        );
        assert_eq!(
            page.matches("<svg").count(),
            page.matches("</svg>").count(),
            "no SVG element closed early"
        );
        let tags: BTreeSet<&str> = page
            .split('<')
            .skip(1)
            .filter_map(|t| {
                t.trim_start_matches('/')
                    .split(|c: char| !c.is_ascii_alphanumeric() && c != '!')
                    .next()
            })
            .collect();
        let ours: BTreeSet<&str> = [
            "!doctype",
            "a",
            "article",
            "b",
            "body",
            "br",
            "code",
            "dd",
            "defs",
            "div",
            "dl",
            "dt",
            "figcaption",
            "figure",
            "footer",
            "h1",
            "h2",
            "h3",
            "head",
            "header",
            "html",
            "i",
            "li",
            "line",
            "main",
            "marker",
            "meta",
            "p",
            "path",
            "pre",
            "rect",
            "script",
            "section",
            "small",
            "span",
            "style",
            "svg",
            "table",
            "tbody",
            "td",
            "text",
            "th",
            "thead",
            "title",
            "tr",
            "ul",
        ]
        .into_iter()
        .collect();
        assert!(tags.is_subset(&ours), "{:?}", tags.difference(&ours));
        // in text, in a code span of the message, in SVG titles and in attributes
        for (what, needle) in [
            (
                "the principal",
                format!("<span class=\"who\">function {escaped}</span>"),
            ),
            ("a code span", format!("<code>{escaped}</code>")),
            (
                "a graph node's title",
                format!("<title>function {escaped}: 3 call(s)"),
            ),
            (
                "an edge's title",
                format!("<title>function {escaped} → role {escaped}: 3 call(s)"),
            ),
            (
                "a chart's label",
                format!("aria-label=\"calls per day of function {escaped}, "),
            ),
            (
                "a chart's title",
                format!("<title>denied calls per day of function {escaped}, "),
            ),
            (
                "a sort key",
                format!("<td data-sort=\"function {escaped}\">"),
            ),
            (
                "the policy's line",
                "&quot;Sid&quot;: &quot;x&lt;script&gt;".to_string(),
            ),
            ("the baseline", format!("baseline <code>{escaped}</code>")),
        ] {
            assert!(page.contains(&needle), "{what}: {needle} not in {page}");
        }
    }

    #[test]
    fn a_finding_shows_its_evidence_and_policy_lines() {
        let dir = tempfile::tempdir().unwrap();
        let page = html(&hostile_report(dir.path()));
        assert!(page.contains("<dt>evidence</dt><dd>3 call(s) this period; first seen 2026-11-15 10:00 UTC, last seen 2026-11-15 10:00 UTC</dd>"), "{page}");
        assert!(page.contains(", line 6</dd>"), "{page}");
        assert!(
            page.contains("<span class=\"hit\"><b>6</b>      &quot;Action&quot;: [&quot;s3:GetObject&quot;],</span>"),
            "{page}"
        );
        assert!(
            page.contains(", lines 3–8</figcaption>"),
            "the statement: {page}"
        );
        assert!(
            page.contains("<code>s3:GetObject</code> was never used before"),
            "no markdown backticks left: {page}"
        );
        assert!(!page.contains('`'), "{page}");
    }

    /// SHA-256 (FIPS 180-4), to check the page's hashes without a dependency.
    fn sha256(data: &[u8]) -> [u8; 32] {
        const K: [u32; 64] = [
            0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
            0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
            0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
            0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
            0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
            0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
            0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
            0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
            0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
            0xc67178f2,
        ];
        let mut h: [u32; 8] = [
            0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
            0x5be0cd19,
        ];
        let mut msg = data.to_vec();
        msg.push(0x80);
        while msg.len() % 64 != 56 {
            msg.push(0);
        }
        msg.extend_from_slice(&(data.len() as u64 * 8).to_be_bytes());
        for block in msg.chunks(64) {
            let mut w = [0u32; 64];
            for (i, c) in block.chunks(4).enumerate() {
                w[i] = u32::from_be_bytes([c[0], c[1], c[2], c[3]]);
            }
            for i in 16..64 {
                let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
                let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
                w[i] = w[i - 16]
                    .wrapping_add(s0)
                    .wrapping_add(w[i - 7])
                    .wrapping_add(s1);
            }
            let mut v = h;
            for i in 0..64 {
                let s1 = v[4].rotate_right(6) ^ v[4].rotate_right(11) ^ v[4].rotate_right(25);
                let ch = (v[4] & v[5]) ^ (!v[4] & v[6]);
                let t1 = v[7]
                    .wrapping_add(s1)
                    .wrapping_add(ch)
                    .wrapping_add(K[i])
                    .wrapping_add(w[i]);
                let s0 = v[0].rotate_right(2) ^ v[0].rotate_right(13) ^ v[0].rotate_right(22);
                let maj = (v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]);
                let t2 = s0.wrapping_add(maj);
                v = [
                    t1.wrapping_add(t2),
                    v[0],
                    v[1],
                    v[2],
                    v[3].wrapping_add(t1),
                    v[4],
                    v[5],
                    v[6],
                ];
            }
            for (a, b) in h.iter_mut().zip(v) {
                *a = a.wrapping_add(b);
            }
        }
        let mut out = [0u8; 32];
        for (o, x) in out.chunks_mut(4).zip(h) {
            o.copy_from_slice(&x.to_be_bytes());
        }
        out
    }

    fn base64(data: &[u8]) -> String {
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut s = String::new();
        for c in data.chunks(3) {
            let n = (u32::from(c[0]) << 16)
                | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
                | u32::from(*c.get(2).unwrap_or(&0));
            for i in 0..4 {
                if i <= c.len() {
                    s.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
                } else {
                    s.push('=');
                }
            }
        }
        s
    }

    #[test]
    fn the_content_security_policy_allows_exactly_the_page_style_and_script() {
        assert_eq!(
            base64(&sha256(b"abc")),
            "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=",
            "the test's SHA-256"
        );
        assert_eq!(
            (STYLE_SHA256, SCRIPT_SHA256),
            (
                base64(&sha256(STYLE.as_bytes())).as_str(),
                base64(&sha256(SCRIPT.as_bytes())).as_str()
            ),
            "STYLE or SCRIPT changed: put their new hashes in STYLE_SHA256 and SCRIPT_SHA256"
        );
        let page = html(&hostile_report(tempfile::tempdir().unwrap().path()));
        assert!(page.contains(&format!("<style>{STYLE}</style>")));
        assert!(page.contains(&format!("<script>{SCRIPT}</script>")));
    }
}
