//! Renderers of the drift report: markdown, SARIF 2.1.0, self-contained HTML.

mod html;
mod svg;

pub use html::html;

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::drift::{DRIFT_SCHEMA, DriftReport, Finding, Item};
use crate::report::escape::{md_code, md_code_cell, md_message, md_principal};

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

/// Where a policy's text names `action`: the index of the first line naming it (quoted), else
/// of the first naming its service (`"s3:`), and whether it was the action itself.
fn locate(text: &str, action: &str) -> Option<(usize, bool)> {
    let service = action.split(':').next().unwrap_or(action);
    let exact = format!("\"{action}\"");
    let prefix = format!("\"{service}:");
    text.lines()
        .position(|l| l.contains(&exact))
        .map(|i| (i, true))
        .or_else(|| {
            text.lines()
                .position(|l| l.contains(&prefix))
                .map(|i| (i, false))
        })
}

/// The first line of `file` that mentions the action, for a SARIF region.
pub(crate) fn line_of(file: &str, action: Option<&str>) -> u64 {
    let Some(a) = action else { return 1 };
    let Ok(text) = std::fs::read_to_string(file) else {
        return 1;
    };
    locate(&text, a).map_or(1, |(i, _)| i as u64 + 1)
}

/// The lines of a policy file around the place that names an action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Excerpt {
    /// The line naming the action (or its service), from 1.
    pub line: u64,
    /// Whether that line names the action itself, not only its service.
    pub exact: bool,
    /// (line number, text): the statement around it, or the lines nearest it in a long one.
    pub lines: Vec<(u64, String)>,
}

/// Lines of a statement shown at most; a longer one is cut around the line that matters.
const EXCERPT_LINES: usize = 14;
/// Characters of one line shown at most (a minified policy is one line).
const EXCERPT_WIDTH: usize = 160;

/// The statement of `text` (a JSON policy) around the line [`line_of`] finds for `action`:
/// from the line of its opening brace to that of its closing one, braces inside strings
/// skipped; the line alone when it is not in an object.
pub fn excerpt(text: &str, action: &str) -> Option<Excerpt> {
    let (hit, exact) = locate(text, action)?;
    let lines: Vec<&str> = text.lines().collect();
    // every object as (line of `{`, line of `}`), matched with a stack
    let mut open: Vec<usize> = Vec::new();
    let mut objects: Vec<(usize, usize)> = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let mut in_string = false;
        let mut escaped = false;
        for c in l.chars() {
            match c {
                _ if escaped => escaped = false,
                '\\' if in_string => escaped = true,
                '"' => in_string = !in_string,
                '{' if !in_string => open.push(i),
                '}' if !in_string => {
                    if let Some(o) = open.pop() {
                        objects.push((o, i));
                    }
                }
                _ => {}
            }
        }
    }
    // the innermost object around the line that is a statement (has an `Effect`), else the
    // innermost one
    let around: Vec<&(usize, usize)> = objects
        .iter()
        .filter(|(a, b)| *a <= hit && hit <= *b && (a, b) != (&0, &(lines.len() - 1)))
        .collect();
    let statement = around
        .iter()
        .filter(|(a, b)| lines[*a..=*b].iter().any(|l| l.contains("\"Effect\"")))
        .min_by_key(|(a, b)| b - a)
        .or_else(|| around.iter().min_by_key(|(a, b)| b - a))
        .map_or((hit, hit), |r| **r);
    let (mut from, mut to) = statement;
    if to - from + 1 > EXCERPT_LINES {
        // centred on the line, inside the statement
        from = hit
            .saturating_sub(EXCERPT_LINES / 2)
            .min(to + 1 - EXCERPT_LINES)
            .max(from);
        to = from + EXCERPT_LINES - 1;
    }
    let needle = if exact {
        format!("\"{action}\"")
    } else {
        format!("\"{}:", action.split(':').next().unwrap_or(action))
    };
    let shown = (from..=to)
        .map(|i| (i as u64 + 1, clip(lines[i], &needle)))
        .collect();
    Some(Excerpt {
        line: hit as u64 + 1,
        exact,
        lines: shown,
    })
}

/// A line of at most [`EXCERPT_WIDTH`] characters, around `needle` when it is longer.
fn clip(line: &str, needle: &str) -> String {
    let n = line.chars().count();
    if n <= EXCERPT_WIDTH {
        return line.to_string();
    }
    let at = line.find(needle).map_or(0, |b| line[..b].chars().count());
    let start = at.saturating_sub(EXCERPT_WIDTH / 3);
    let end = (start + EXCERPT_WIDTH).min(n);
    let mut s: String = line.chars().skip(start).take(end - start).collect();
    if start > 0 {
        s.insert(0, '…');
    }
    if end < n {
        s.push('…');
    }
    s
}

// ---------- the versioned JSON document ----------

/// `drift --format json`: the versioned document (`tightrole/drift/v1`). Built from the
/// report's internal types, so that a change to them cannot change the format unnoticed.
#[derive(Debug, Serialize, schemars::JsonSchema)]
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

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct NotSettledOut<'a> {
    pub principal: &'a str,
    pub why: &'a [String],
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
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

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "Braces {in} a string \" }",
      "Effect": "Allow",
      "Action": ["s3:GetObject", "s3:ListBucket"],
      "Resource": "arn:aws:s3:::b/${aws:username}/*",
      "Condition": {"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}
    },
    {
      "Effect": "Allow",
      "Action": "sqs:*",
      "Resource": "*"
    }
  ]
}"#;

    #[test]
    fn an_excerpt_is_the_statement_that_names_the_action() {
        let e = excerpt(POLICY, "s3:ListBucket").unwrap_or_else(|| panic!("found"));
        assert_eq!((e.line, e.exact), (7, true));
        let numbers: Vec<u64> = e.lines.iter().map(|(n, _)| *n).collect();
        assert_eq!(
            numbers,
            (4..=10).collect::<Vec<_>>(),
            "braces in strings skipped"
        );
        // only the service is named: that line, in its statement
        let e = excerpt(POLICY, "sqs:SendMessage").unwrap_or_else(|| panic!("found"));
        assert_eq!((e.line, e.exact), (13, false));
        assert_eq!(e.lines.first().map(|l| l.0), Some(11));
        assert_eq!(e.lines.last().map(|l| l.0), Some(15));
        assert_eq!(excerpt(POLICY, "kms:Decrypt"), None);
    }

    #[test]
    fn a_minified_policy_is_one_line_cut_around_the_action() {
        let long = format!(
            "{{\"Statement\":[{{\"Effect\":\"Allow\",\"Resource\":\"{}\",\"Action\":\"s3:GetObject\"}}]}}",
            "é".repeat(300)
        );
        let e = excerpt(&long, "s3:GetObject").unwrap_or_else(|| panic!("found"));
        assert_eq!((e.line, e.lines.len()), (1, 1));
        let text = &e.lines[0].1;
        assert!(
            text.starts_with('…') && text.contains("\"s3:GetObject\""),
            "{text}"
        );
        assert!(text.chars().count() <= EXCERPT_WIDTH + 2, "{text}");
    }

    #[test]
    fn a_long_statement_is_cut_around_the_line() {
        let actions: Vec<String> = (0..40).map(|i| format!("      \"s3:A{i}\",")).collect();
        let text = format!(
            "{{\n  \"Statement\": [\n    {{\n      \"Effect\": \"Allow\",\n      \"Action\": [\n{}\n      \"s3:GetObject\"\n      ],\n      \"Resource\": \"*\"\n    }}\n  ]\n}}",
            actions.join("\n")
        );
        let e = excerpt(&text, "s3:GetObject").unwrap_or_else(|| panic!("found"));
        assert_eq!(e.lines.len(), EXCERPT_LINES);
        assert!(e.lines.iter().any(|(n, _)| *n == e.line), "{e:?}");
        assert_eq!(line_of("/nonexistent/policy.json", Some("s3:GetObject")), 1);
    }
}
