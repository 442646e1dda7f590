//! Renderers of the drift report: markdown, SARIF 2.1.0, self-contained HTML.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Value, json};

use crate::drift::{DRIFT_SCHEMA, DriftReport, Finding, Item};
use crate::report::escape::{html as esc, md_code, md_code_cell, md_message, md_principal};

fn period(r: &DriftReport) -> String {
    match (r.period_start, r.period_end) {
        (Some(a), Some(b)) => format!("{} to {}", a.format("%Y-%m-%d"), b.format("%Y-%m-%d")),
        (None, Some(b)) => format!("up to {} (first run)", b.format("%Y-%m-%d")),
        _ => "no data".to_string(),
    }
}

pub fn markdown(r: &DriftReport) -> String {
    let mut s = format!(
        "## tightrole drift report\n\nPeriod {}, against the baseline {}. {} new trail file(s) read, {} already read before.\n\n",
        period(r),
        md_code(&r.baseline),
        r.files_read,
        r.files_skipped_as_read
    );
    let _ = writeln!(s, "| finding | count |\n|---|---:|");
    for f in Finding::ALL {
        let _ = writeln!(s, "| {} | {} |", f.title(), r.count(f));
    }
    for f in Finding::ALL {
        let items: Vec<&Item> = r.items.iter().filter(|i| i.finding == f).collect();
        if items.is_empty() {
            continue;
        }
        let flag = if f == Finding::NewlyUsed {
            " ⚠️"
        } else {
            ""
        };
        let _ = writeln!(
            s,
            "\n### {}{flag}\n\n| principal | finding | file |\n|---|---|---|",
            f.title()
        );
        for i in items {
            let _ = writeln!(
                s,
                "| {} | {} | {} |",
                md_principal(&i.principal, true),
                md_message(&i.message, true),
                i.file.as_deref().map(md_code_cell).unwrap_or_default()
            );
        }
    }
    if !r.not_settled.is_empty() {
        let _ = writeln!(
            s,
            "\n### Not settled\n\nTheir usage in this period is too short or still changing to read much into: findings about them may be the window's.\n\n| principal | why |\n|---|---|"
        );
        for (who, why) in &r.not_settled {
            let _ = writeln!(
                s,
                "| {} | {} |",
                md_principal(who, true),
                md_message(&why.join("; "), true)
            );
        }
    }
    s
}

/// The first line of `file` that mentions the action, for a SARIF region.
fn line_of(file: &str, action: Option<&str>) -> u64 {
    let Some(a) = action else { return 1 };
    let Ok(text) = std::fs::read_to_string(file) else {
        return 1;
    };
    let service = a.split(':').next().unwrap_or(a);
    text.lines()
        .position(|l| l.contains(&format!("\"{a}\"")))
        .or_else(|| {
            text.lines()
                .position(|l| l.contains(&format!("\"{service}:")))
        })
        .map_or(1, |i| i as u64 + 1)
}

fn fingerprint(i: &Item) -> String {
    // FNV-1a: stable across runs and platforms
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in format!(
        "{}|{}|{}|{}",
        i.finding.code(),
        i.principal,
        i.action.as_deref().unwrap_or(""),
        i.resource.as_deref().unwrap_or("")
    )
    .bytes()
    {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// SARIF 2.1.0 for GitHub code scanning: one rule per finding code, results located in the
/// baseline policy files (paths as given, relative when the baseline path is).
pub fn sarif(r: &DriftReport) -> String {
    let rules: Vec<Value> = Finding::ALL
        .iter()
        .map(|f| {
            json!({
                "id": f.code(),
                "name": f.name(),
                "shortDescription": {"text": f.title()},
                "fullDescription": {"text": match f {
                    Finding::NewlyUsed => "An action or resource the principal never used before: a new behaviour, possibly suspicious.",
                    Finding::NewlyUnused => "A granted action the trail shows unused for the configured period: a candidate for removal.",
                    Finding::DeniedSpike => "Denied calls of a principal rose sharply against the previous period.",
                    Finding::PolicyDrift => "The deployed policy differs from the approved baseline: changed outside review.",
                    Finding::SharedRole => "Several functions share one execution role, so each gets the union of their permissions.",
                    Finding::NoActivity => "A role or function made no call in the period: every permission is unused or unobservable.",
                }},
                "defaultConfiguration": {"level": f.level()},
                "properties": {"tags": ["security", "iam", "least-privilege"]}
            })
        })
        .collect();
    let results: Vec<Value> = r
        .items
        .iter()
        .map(|i| {
            let index = Finding::ALL.iter().position(|f| *f == i.finding).unwrap_or(0);
            let mut res = json!({
                "ruleId": i.finding.code(),
                "ruleIndex": index,
                "level": i.finding.level(),
                "message": {"text": format!("{}: {}", i.principal, i.message)},
                "partialFingerprints": {"tightroleFinding/v1": fingerprint(i)}
            });
            if let (Some(file), Some(obj)) = (&i.file, res.as_object_mut()) {
                let uri = file.replace('\\', "/");
                obj.insert(
                    "locations".into(),
                    json!([{"physicalLocation": {"artifactLocation": {"uri": uri}, "region": {"startLine": line_of(file, i.action.as_deref())}}}]),
                );
            }
            res
        })
        .collect();
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "tightrole",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/tightrole/tightrole",
                "rules": rules
            }},
            "results": results
        }]
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
}

/// A small layered SVG: principals on the left, the roles and findings they have on the right.
fn svg(r: &DriftReport, edges: &BTreeMap<String, Vec<String>>) -> String {
    let left: Vec<&String> = edges.keys().collect();
    let mut right: Vec<&String> = edges.values().flatten().collect();
    right.sort();
    right.dedup();
    let row = 28;
    let h = (left.len().max(right.len()).max(1) * row + 20) as i64;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"760\" height=\"{h}\" role=\"img\" aria-label=\"usage graph\">"
    );
    let y = |i: usize| (i * row + 20) as i64;
    for (i, l) in left.iter().enumerate() {
        for t in &edges[*l] {
            if let Some(j) = right.iter().position(|x| x == &t) {
                let _ = write!(
                    s,
                    "<line x1=\"250\" y1=\"{}\" x2=\"470\" y2=\"{}\" stroke=\"#8aa\" stroke-width=\"1\"/>",
                    y(i) - 4,
                    y(j) - 4
                );
            }
        }
    }
    for (i, l) in left.iter().enumerate() {
        let _ = write!(
            s,
            "<rect x=\"10\" y=\"{}\" width=\"240\" height=\"20\" rx=\"6\" fill=\"#e8f0fe\" stroke=\"#4a6fa5\"/><text x=\"18\" y=\"{}\" font-size=\"12\">{}</text>",
            y(i) - 15,
            y(i),
            esc(l)
        );
    }
    for (j, t) in right.iter().enumerate() {
        let _ = write!(
            s,
            "<rect x=\"470\" y=\"{}\" width=\"280\" height=\"20\" fill=\"#fff4e5\" stroke=\"#b7791f\"/><text x=\"478\" y=\"{}\" font-size=\"12\">{}</text>",
            y(j) - 15,
            y(j),
            esc(t)
        );
    }
    let _ = r;
    s.push_str("</svg>");
    s
}

/// One self-contained HTML file: readable offline, an embedded SVG graph, sortable tables.
pub fn html(r: &DriftReport, graph: &BTreeMap<String, Vec<String>>) -> String {
    let mut s = String::from(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>tightrole drift report</title>\n<style>\nbody{font-family:system-ui,sans-serif;margin:2em;color:#1a1a1a}table{border-collapse:collapse;margin:1em 0;width:100%}th,td{border:1px solid #ccd;padding:4px 8px;text-align:left;font-size:14px}th{background:#eef;cursor:pointer}th.sorted-asc::after{content:' ▲'}th.sorted-desc::after{content:' ▼'}.warning{color:#a00}.note{color:#555}h2{border-bottom:1px solid #ccd}\n</style></head><body>\n",
    );
    let _ = writeln!(
        s,
        "<h1>tightrole drift report</h1><p>Period {}, against the baseline <code>{}</code>: {} new trail file(s) read, {} already read before.</p>",
        esc(&period(r)),
        esc(&r.baseline),
        r.files_read,
        r.files_skipped_as_read
    );
    let _ = writeln!(
        s,
        "<h2>Summary</h2><table class=\"sortable\"><thead><tr><th>finding</th><th>count</th></tr></thead><tbody>"
    );
    for f in Finding::ALL {
        let _ = writeln!(s, "<tr><td>{}</td><td>{}</td></tr>", f.title(), r.count(f));
    }
    s.push_str("</tbody></table>\n<h2>Graph</h2>\n");
    s.push_str(&svg(r, graph));
    for f in Finding::ALL {
        let items: Vec<&Item> = r.items.iter().filter(|i| i.finding == f).collect();
        if items.is_empty() {
            continue;
        }
        let _ = writeln!(
            s,
            "\n<h2 class=\"{}\">{}</h2><table class=\"sortable\"><thead><tr><th>principal</th><th>finding</th><th>file</th></tr></thead><tbody>",
            f.level(),
            f.title()
        );
        for i in items {
            let _ = writeln!(
                s,
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&i.principal),
                esc(&i.message),
                esc(i.file.as_deref().unwrap_or(""))
            );
        }
        s.push_str("</tbody></table>");
    }
    s.push_str(r#"
<script>
document.querySelectorAll('table.sortable').forEach(function (table) {
  table.querySelectorAll('th').forEach(function (th, col) {
    th.addEventListener('click', function () {
      var asc = !th.classList.contains('sorted-asc');
      table.querySelectorAll('th').forEach(function (h) { h.classList.remove('sorted-asc', 'sorted-desc'); });
      th.classList.add(asc ? 'sorted-asc' : 'sorted-desc');
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = a.cells[col].textContent, y = b.cells[col].textContent;
        var nx = parseFloat(x), ny = parseFloat(y);
        var c = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y);
        return asc ? c : -c;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
});
</script>
</body></html>
"#);
    s
}

// ---------- the versioned JSON document ----------

/// `drift --format json`: the versioned document (`tightrole/drift/v1`). Built from the
/// report's internal types, so that a change to them cannot change the format unnoticed.
#[derive(Debug, Serialize)]
pub struct DriftOutput<'a> {
    pub schema: &'static str,
    pub baseline: &'a str,
    pub period_start: Option<DateTime<Utc>>,
    pub period_end: Option<DateTime<Utc>>,
    pub files_read: u64,
    pub files_skipped_as_read: u64,
    pub items: Vec<ItemOut<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_settled: Vec<NotSettledOut<'a>>,
}

#[derive(Debug, Serialize)]
pub struct NotSettledOut<'a> {
    pub principal: &'a str,
    pub why: &'a [String],
}

#[derive(Debug, Serialize)]
pub struct ItemOut<'a> {
    pub finding: Finding,
    pub principal: &'a str,
    pub message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<&'a str>,
}

/// The versioned document of a drift report.
pub fn output(r: &DriftReport) -> DriftOutput<'_> {
    DriftOutput {
        schema: DRIFT_SCHEMA,
        baseline: &r.baseline,
        period_start: r.period_start,
        period_end: r.period_end,
        files_read: r.files_read,
        files_skipped_as_read: r.files_skipped_as_read,
        items: r
            .items
            .iter()
            .map(|i| ItemOut {
                finding: i.finding,
                principal: &i.principal,
                message: &i.message,
                action: i.action.as_deref(),
                resource: i.resource.as_deref(),
                file: i.file.as_deref(),
            })
            .collect(),
        not_settled: r
            .not_settled
            .iter()
            .map(|(principal, why)| NotSettledOut { principal, why })
            .collect(),
    }
}
