//! Renderers over versioned output types. Internal types never reach the JSON directly
//! except through these.

pub mod catalog;
pub mod check;
pub mod diff;
pub mod drift;
pub mod escape;
pub mod explain;
pub mod graph;
pub mod iac;
mod json;
pub mod stream;
pub use json::JsonStream;
pub use stream::{Finished, GenerateSink, GenerateWriter, Streamed};
pub mod pr;
pub mod sarif;
pub mod schema;

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use crate::diag::Diagnostic;
use crate::escape::{terminal as t, terminal_lines};
use crate::identity::PrincipalKind;
use crate::model::Window;
use crate::policy::PolicyDocument;
use crate::synth::{Carried, Generalization, Proposal};
use crate::usage::{Evidence, PrincipalId, PrincipalUsage, Stats, Usage};

pub const GENERATE_SCHEMA: &str = "tightrole/generate/v2";
pub const USAGE_SCHEMA: &str = "tightrole/usage/v1";

#[derive(Debug, schemars::JsonSchema)]
pub struct EvidenceRow {
    pub action: String,
    pub resource: String,
    #[serde(flatten)]
    pub evidence: Evidence,
}

/// Written with its evidence under its resource ([`Evidence::out`]): a fold's examples are
/// kept without the pattern's stem. The evidence's fields are written beside the action and
/// the resource ([`crate::usage::EvidenceOut::fields`]), as the schema's `flatten` says.
impl Serialize for EvidenceRow {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let evidence = self.evidence.out(&self.resource);
        let mut m = s.serialize_struct("EvidenceRow", 2 + evidence.field_count())?;
        m.serialize_field("action", &self.action)?;
        m.serialize_field("resource", &self.resource)?;
        evidence.fields(&mut m)?;
        m.end()
    }
}

#[derive(Debug, schemars::JsonSchema)]
pub struct EventRow {
    pub event: String,
    #[serde(flatten)]
    pub evidence: Evidence,
}

/// The event's name, then its evidence's fields beside it, as the schema's `flatten` says.
impl Serialize for EventRow {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let evidence = self.evidence.out("");
        let mut m = s.serialize_struct("EventRow", 1 + evidence.field_count())?;
        m.serialize_field("event", &self.event)?;
        evidence.fields(&mut m)?;
        m.end()
    }
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct PrincipalOut {
    pub kind: PrincipalKind,
    pub name: String,
    pub account: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    /// For a function: what showed it is one.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub function_evidence: Vec<String>,
    /// For a role: the functions that ran as it (more than one: a shared role).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub functions: Vec<String>,
    /// For a role: the functions whose code assumed it and called with its session (role
    /// chaining), when the trail shows which.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub chained_from: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<PolicyDocument>,
    /// All the documents, when the policy had to be split to fit the size limit.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<PolicyDocument>,
    /// Each generalized resource pattern and the observed resources it stands for.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub generalizations: Vec<Generalization>,
    /// Grants kept although unused in the window (unobservable, or on the keep-list).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub carried: Vec<Carried>,
    /// What was done to fit the size limits.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub advice: Vec<String>,
    /// How settled the proposal is ([`crate::usage::Confidence`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confidence: Option<crate::usage::Confidence>,
    pub evidence: Vec<EvidenceRow>,
    pub denied: Vec<EvidenceRow>,
    pub permission_less: Vec<EventRow>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct UnmappedRow {
    pub event_source: String,
    pub event_name: String,
    pub count: u64,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Summary {
    pub files: u64,
    pub records: u64,
    pub records_used: u64,
    pub records_without_principal: u64,
    pub principals: usize,
    pub unmapped_event_kinds: usize,
    pub graph_nodes: usize,
    pub graph_edges: usize,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct GenerateOutput {
    pub schema: &'static str,
    pub catalog: String,
    pub window: Option<Window>,
    pub principals: Vec<PrincipalOut>,
    pub unmapped: Vec<UnmappedRow>,
    pub diagnostics: Vec<Diagnostic>,
    pub summary: Summary,
}

impl PrincipalOut {
    /// The principal's output, its evidence rows copied from its usage.
    pub fn new(id: &PrincipalId, p: &PrincipalUsage, proposal: Option<Proposal>) -> PrincipalOut {
        let mut out = PrincipalOut::without_rows(id, p, proposal);
        out.take_rows(p.clone());
        out
    }

    /// The evidence rows, moved out of the principal's usage: a copy would be the whole usage
    /// again (`generate` on a large trail held both at its peak).
    pub fn take_rows(&mut self, p: PrincipalUsage) {
        let rows = |g: crate::usage::Grants| {
            g.into_iter()
                .map(|((a, r), evidence)| EvidenceRow {
                    action: a.into(),
                    resource: r.into(),
                    evidence,
                })
                .collect()
        };
        self.evidence = rows(p.grants);
        self.denied = rows(p.denied);
        self.permission_less = p
            .permission_less
            .into_iter()
            .map(|(event, evidence)| EventRow { event, evidence })
            .collect();
    }

    /// Gives up the evidence rows (once written; what is left is the proposal).
    pub fn drop_rows(&mut self) {
        self.evidence = Vec::new();
        self.denied = Vec::new();
        self.permission_less = Vec::new();
    }

    /// The principal's output without its evidence rows ([`PrincipalOut::take_rows`] adds them).
    pub fn without_rows(
        id: &PrincipalId,
        p: &PrincipalUsage,
        proposal: Option<Proposal>,
    ) -> PrincipalOut {
        let mut proposal = proposal.unwrap_or_default();
        // one document (nearly always) is moved, not copied; several are all listed too
        let (policy, policies) = if proposal.documents.len() > 1 {
            (proposal.documents.first().cloned(), proposal.documents)
        } else {
            (proposal.documents.pop(), Vec::new())
        };
        PrincipalOut {
            kind: id.kind,
            name: id.name.clone(),
            account: id.account.clone(),
            role_arn: p.role_arn.clone(),
            arn: p.arn.clone(),
            function_evidence: p.function_evidence.iter().map(|s| s.to_string()).collect(),
            functions: p.functions.iter().cloned().collect(),
            chained_from: p.chained_from.iter().cloned().collect(),
            policy,
            policies,
            generalizations: proposal.generalizations,
            carried: proposal.carried,
            notes: proposal.notes,
            advice: Vec::new(),
            confidence: None,
            evidence: Vec::new(),
            denied: Vec::new(),
            permission_less: Vec::new(),
        }
    }
}

pub fn unmapped_rows(usage: &Usage) -> Vec<UnmappedRow> {
    usage
        .unmapped()
        .map(|((s, n), c)| UnmappedRow {
            event_source: s.clone(),
            event_name: n.clone(),
            count: c,
        })
        .collect()
}

fn time(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A time of the evidence in a sentence: `unknown` when none of the calls had one.
pub(crate) fn when(t: Option<DateTime<Utc>>) -> String {
    t.map_or_else(|| "unknown".to_string(), |t| time(&t))
}

/// A time of the evidence in a table's cell: `-` when none of the calls had one.
fn cell_time(t: Option<DateTime<Utc>>) -> String {
    t.map_or_else(|| "-".to_string(), |t| time(&t))
}

fn header(p: &PrincipalOut) -> String {
    let mut s = format!("{} {} (account {}", p.kind, t(&p.name), t(&p.account));
    if let (Some(role), PrincipalKind::Function) = (&p.role_arn, p.kind) {
        let _ = write!(s, ", role {}", t(role));
    }
    if !p.functions.is_empty() {
        let _ = write!(s, ", functions: {}", t(&p.functions.join(", ")));
    }
    if !p.chained_from.is_empty() {
        let _ = write!(s, ", chained from: {}", t(&p.chained_from.join(", ")));
    }
    s.push(')');
    s
}

/// The text form of `generate`: each principal's policy with its flags.
pub fn generate_text(out: &GenerateOutput) -> String {
    let mut s = String::new();
    for p in &out.principals {
        s.push_str(&principal_text(p));
    }
    s.push_str(&generate_text_end(out));
    s
}

/// One principal's part of [`generate_text`].
pub fn principal_text(p: &PrincipalOut) -> String {
    let mut s = String::new();
    {
        let _ = writeln!(s, "# {}", header(p));
        match &p.policy {
            Some(policy) if p.policies.is_empty() => {
                let _ = writeln!(s, "{}", terminal_lines(&policy.to_json_pretty()));
            }
            Some(_) => {
                for (i, doc) in p.policies.iter().enumerate() {
                    let _ = writeln!(s, "# part {} of {}", i + 1, p.policies.len());
                    let _ = writeln!(s, "{}", terminal_lines(&doc.to_json_pretty()));
                }
            }
            None => {
                let _ = writeln!(
                    s,
                    "  no successful call that needs a permission in the window"
                );
            }
        }
        for g in &p.generalizations {
            let _ = writeln!(
                s,
                "  generalized: `{}` stands for {} observed resource(s), e.g. `{}`",
                t(&g.pattern),
                g.observed_text(),
                t(g.examples.first().map(String::as_str).unwrap_or(""))
            );
        }
        for c in p.carried.iter().filter(|c| c.evidence.is_none()) {
            let _ = writeln!(
                s,
                "  kept ({}): `{}` on `{}`: {}",
                c.label.to_lowercase(),
                t(&c.action),
                t(&c.resources.join("`, `")),
                t(&c.reason)
            );
            if !c.narrowing.is_empty() {
                let _ = writeln!(s, "    {}", t(&c.narrowing));
            }
        }
        s.push_str(&runtime_lines(&p.carried));
        for n in p.notes.iter().chain(p.advice.iter()) {
            let _ = writeln!(s, "  note: {}", t(n));
        }
        if let Some(c) = &p.confidence {
            let _ = writeln!(s, "  {}", confidence_text(c));
        }
        for row in p
            .evidence
            .iter()
            .filter(|r| !r.evidence.unresolved().is_empty())
        {
            let _ = writeln!(
                s,
                "  flagged: `{}` on `{}`: the records did not give {}",
                t(&row.action),
                t(&row.resource),
                t(&row
                    .evidence
                    .unresolved()
                    .iter()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", "))
            );
        }
        for row in &p.denied {
            let _ = writeln!(
                s,
                "  denied, not granted: `{}` on `{}` ({} call(s), last {})",
                t(&row.action),
                t(&row.resource),
                row.evidence.seen.count,
                when(row.evidence.seen.last_seen)
            );
        }
        s.push('\n');
    }
    s
}

/// What [`generate_text`] writes after the principals: the unmapped events and the summary.
pub fn generate_text_end(out: &GenerateOutput) -> String {
    let mut s = String::new();
    if !out.unmapped.is_empty() {
        let _ = writeln!(s, "# unmapped events (no IAM action known; not granted)");
        for u in &out.unmapped {
            let _ = writeln!(
                s,
                "  {} {} ({} record(s))",
                t(&u.event_source),
                t(&u.event_name),
                u.count
            );
        }
        s.push('\n');
    }
    let sm = &out.summary;
    let _ = writeln!(
        s,
        "# {} principal(s) from {} record(s) in {} file(s); {} unmapped event kind(s)",
        sm.principals, sm.records, sm.files, sm.unmapped_event_kinds
    );
    s
}

/// `usage`'s versioned document (`tightrole/usage/v1`).
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct UsageOutput {
    pub schema: &'static str,
    pub window: Option<Window>,
    pub principals: Vec<PrincipalOut>,
    pub unmapped: Vec<UnmappedRow>,
}

/// What each principal did, without proposals.
pub fn usage_output(usage: &Usage) -> UsageOutput {
    UsageOutput {
        schema: USAGE_SCHEMA,
        window: usage.window,
        principals: usage
            .principals
            .iter()
            .map(|(id, p)| PrincipalOut::new(id, p, None))
            .collect(),
        unmapped: unmapped_rows(usage),
    }
}

/// The text form of `usage`: a table per principal.
pub fn usage_text(principals: &[PrincipalOut]) -> String {
    let mut s = String::new();
    for p in principals {
        let _ = writeln!(s, "{}", header(p));
        let rows: Vec<[String; 4]> = p
            .evidence
            .iter()
            .map(|r| {
                let mut action = t(&r.action).into_owned();
                if r.evidence.only_service_made() {
                    action.push_str(" (by service)");
                }
                [
                    action,
                    t(&r.resource).into_owned(),
                    r.evidence.seen.count.to_string(),
                    cell_time(r.evidence.seen.last_seen),
                ]
            })
            .chain(p.denied.iter().map(|r| {
                [
                    format!("{} (DENIED)", t(&r.action)),
                    t(&r.resource).into_owned(),
                    r.evidence.seen.count.to_string(),
                    cell_time(r.evidence.seen.last_seen),
                ]
            }))
            .collect();
        let head = [
            "ACTION".to_string(),
            "RESOURCE".into(),
            "COUNT".into(),
            "LAST SEEN".into(),
        ];
        let mut widths = [0usize; 4];
        for r in std::iter::once(&head).chain(rows.iter()) {
            for (w, c) in widths.iter_mut().zip(r.iter()) {
                *w = (*w).max(c.chars().count());
            }
        }
        for r in std::iter::once(&head).chain(rows.iter()) {
            let line = format!(
                "  {:<w0$}  {:<w1$}  {:>w2$}  {}",
                r[0],
                r[1],
                r[2],
                r[3],
                w0 = widths[0],
                w1 = widths[1],
                w2 = widths[2]
            );
            let _ = writeln!(s, "{}", line.trim_end());
        }
        s.push('\n');
    }
    s
}

/// What reading reported, for stderr: the diagnostics ([`diagnostics_text`]), and a summary
/// line when some input was unusable.
pub fn input_text(diags: &[Diagnostic], stats: &Stats) -> String {
    let mut s = diagnostics_text(diags);
    if diags
        .iter()
        .any(|d| d.level == crate::diag::Severity::Warning)
    {
        let mut parts = Vec::new();
        if stats.paths_missing > 0 {
            parts.push(format!(
                "{} of {} path(s) do not exist",
                stats.paths_missing, stats.paths
            ));
        }
        if stats.files > 0 || stats.paths_missing == 0 {
            parts.push(format!(
                "{} of {} input(s) unusable, {} unusable record(s){}",
                stats.files_unusable,
                stats.files,
                stats.records_bad,
                dropped_text(&stats.records_dropped)
            ));
        }
        if stats.records_untimed > 0 {
            parts.push(format!(
                "{} record(s) without a time kept",
                stats.records_untimed
            ));
        }
        let rest = if stats.files > 0 {
            "; everything else was read"
        } else {
            ""
        };
        let _ = writeln!(s, "summary: {}{rest}", parts.join(", "));
    }
    s
}

/// Why the unusable records were dropped, as the summary says it: ` dropped: 3 without
/// `eventSource`, 1 with an unreadable `eventTime``; empty when none was.
fn dropped_text(dropped: &crate::record::Dropped) -> String {
    let reasons: Vec<String> = dropped
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(reason, n)| format!("{n} {}", reason.phrase()))
        .collect();
    if reasons.is_empty() {
        String::new()
    } else {
        format!(" (dropped: {})", reasons.join(", "))
    }
}

/// Why nothing can be concluded when no usable record was read, and what to check: the paths
/// that do not exist, the filters that left nothing (named, with what they removed), or inputs
/// that held no CloudTrail record.
pub fn no_input_text(stats: &Stats, filters: &crate::source::Filters) -> String {
    let (error, help) = if stats.paths > 0 && stats.paths_missing == stats.paths {
        (
            format!("no input: {} path(s) given, and none exists", stats.paths),
            "check the paths (see the warnings above)".to_string(),
        )
    } else if stats.all_filtered_out() {
        let mut what = Vec::new();
        if stats.records_filtered_out > 0 {
            what.push(format!(
                "all {} record(s) read fell outside it",
                stats.records_filtered_out
            ));
        }
        if stats.files_skipped_by_layout > 0 {
            what.push(format!(
                "{} file(s) whose path (date, account or region) lies outside it were not opened",
                stats.files_skipped_by_layout
            ));
        }
        (
            format!(
                "no record inside the filters ({}): {}",
                t(&filters.describe()),
                what.join(", and ")
            ),
            "widen or remove the filters; the trail itself was read".to_string(),
        )
    } else {
        (
            "no usable CloudTrail record was read, so no policy can be concluded".to_string(),
            "check the paths; trail files are `.json` or `.json.gz` under AWSLogs/…/CloudTrail/"
                .to_string(),
        )
    };
    format!("error: {error}\nhelp: {help}\n")
}

/// The runtime grants among `carried`, grouped: one group per function, resource and
/// configuration field, with its actions. Every renderer of runtime grants (text, PR.md, the
/// infrastructure-code comments) lists these groups.
pub struct RuntimeGroup<'c> {
    pub function: &'c str,
    pub resources: &'c [String],
    pub field: &'c str,
    /// The source's first part (`AWSLambdaBasicExecutionRole`).
    pub source: &'c str,
    pub actions: Vec<&'c str>,
}

pub fn runtime_groups<'c>(carried: impl IntoIterator<Item = &'c Carried>) -> Vec<RuntimeGroup<'c>> {
    let mut groups: BTreeMap<(&str, &[String], &str, &str), Vec<&str>> = BTreeMap::new();
    for c in carried {
        if let Some(e) = &c.evidence {
            let source = e.source.split(';').next().unwrap_or("");
            groups
                .entry((e.function.as_str(), &c.resources, e.field.as_str(), source))
                .or_default()
                .push(&c.action);
        }
    }
    groups
        .into_iter()
        .map(
            |((function, resources, field, source), actions)| RuntimeGroup {
                function,
                resources,
                field,
                source,
                actions,
            },
        )
        .collect()
}

/// The runtime grants of a proposal, one line per resource and configuration field:
/// `runtime (F): `logs:CreateLogStream`, `logs:PutLogEvents` on `…`: LoggingConfig.LogGroup
/// (AWSLambdaBasicExecutionRole)`.
pub fn runtime_lines(carried: &[Carried]) -> String {
    let mut s = String::new();
    for g in runtime_groups(carried) {
        let _ = writeln!(
            s,
            "  runtime ({}): `{}` on `{}`: {} ({})",
            t(g.function),
            t(&g.actions.join("`, `")),
            t(&g.resources.join("`, `")),
            t(g.field),
            t(g.source)
        );
    }
    s
}

/// `settled: active on 12 day(s), 3,402 call(s), newest grant first seen 2026-11-02`, or
/// `not settled: …` with the reasons.
pub fn confidence_text(c: &crate::usage::Confidence) -> String {
    let newest = c
        .newest_grant_first_seen
        .map(|n| format!(", newest grant first seen {}", n.format("%Y-%m-%d")))
        .unwrap_or_default();
    let figures = format!(
        "active on {} day(s), {} call(s){newest}",
        c.active_days, c.calls
    );
    if c.settled {
        format!("settled: {figures}")
    } else {
        format!("not settled: {}; {figures}", c.why.join("; "))
    }
}

/// Diagnostics for stderr, one per line, at most ten of each message: a directory of 100,000
/// empty files says so in a dozen lines, not 100,000.
pub fn diagnostics_text(diags: &[Diagnostic]) -> String {
    let mut s = String::new();
    let mut seen: BTreeMap<(crate::diag::Severity, &str), usize> = BTreeMap::new();
    for d in diags {
        let n = seen.entry((d.level, d.message.as_str())).or_default();
        *n += 1;
        if *n <= 10 {
            let _ = writeln!(s, "{d}");
        }
    }
    for ((level, message), n) in seen {
        if n > 10 {
            let level = match level {
                crate::diag::Severity::Warning => "warning",
                crate::diag::Severity::Note => "note",
            };
            let _ = writeln!(s, "{level}: {} more input(s) with: {}", n - 10, t(message));
        }
    }
    s
}

/// The end-of-run figures, for `--stats`.
pub fn stats_text(stats: &Stats) -> String {
    let mb = stats.bytes_out as f64 / 1e6;
    let secs = stats.seconds.max(1e-9);
    let live = match &stats.live {
        Some(l) => format!(
            "; S3: {} list request(s), {} object(s), {} downloaded ({} bytes), {} from the cache; LookupEvents: {} request(s), {} event(s)",
            l.s3_list_requests,
            l.s3_objects,
            l.downloads,
            l.bytes_downloaded,
            l.cache_hits,
            l.lookup_requests,
            l.lookup_events
        ),
        None => String::new(),
    };
    let local = format!(
        "files {} (skipped by layout {}, unusable {}), bytes in {}, bytes out {}, records {} (bad {}, filtered out {}, without a time {}), {:.0} records/s, {:.1} MB/s, {:.3} s (CPU time: read and decompress {:.3} s, parse, map and aggregate {:.3} s)",
        stats.files,
        stats.files_skipped_by_layout,
        stats.files_unusable,
        stats.bytes_in,
        stats.bytes_out,
        stats.records,
        stats.records_bad,
        stats.records_filtered_out,
        stats.records_untimed,
        stats.records as f64 / secs,
        mb / secs,
        stats.seconds,
        stats.seconds_decompress,
        stats.seconds_parse
    );
    let spilled = match stats.bytes_spilled {
        0 => String::new(),
        n => format!("; {n} bytes of grants spilled to a temporary file"),
    };
    local + &spilled + &live
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An evidence row is its action and resource, then its evidence's own fields as the
    /// evidence writes them (`usage::tests::every_field_of_an_evidence_is_written_as_its_schema_names_it`):
    /// written field by field, not through `serde(flatten)`, and named so by its schema.
    #[test]
    fn an_evidence_row_is_its_key_then_its_evidences_fields() {
        let t = chrono::DateTime::from_timestamp(1_790_000_000, 0);
        let mut evidence = Evidence::new(t, "e-1");
        evidence.seen.count = 2;
        evidence.add_service_made(2, "secretsmanager.amazonaws.com");
        let alone = serde_json::to_string(&evidence).unwrap_or_default();
        let row = EvidenceRow {
            action: "s3:GetObject".into(),
            resource: "arn:aws:s3:::b/k".into(),
            evidence,
        };
        let text = serde_json::to_string(&row).unwrap_or_default();
        let fields = alone.strip_prefix('{').unwrap_or_default();
        assert!(fields.contains("\"service_made\":2"), "{alone}");
        assert_eq!(
            text,
            format!(r#"{{"action":"s3:GetObject","resource":"arn:aws:s3:::b/k",{fields}"#)
        );
        let schema = schemars::schema_for!(EvidenceRow);
        let properties = schema.as_value()["properties"]
            .as_object()
            .map(|o| o.keys().cloned().collect::<Vec<_>>())
            .unwrap_or_default();
        for k in ["action", "resource", "count", "event_id", "folded"] {
            assert!(properties.iter().any(|p| p == k), "{k}: {properties:?}");
        }
        let event = EventRow {
            event: "sts.amazonaws.com GetCallerIdentity".into(),
            evidence: row.evidence,
        };
        assert_eq!(
            serde_json::to_string(&event).unwrap_or_default(),
            format!(r#"{{"event":"sts.amazonaws.com GetCallerIdentity",{fields}"#)
        );
    }
}
