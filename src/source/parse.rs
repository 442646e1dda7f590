//! Shape detection and streaming parse of one decompressed input.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::FileReport;
use crate::diag::{Diagnostic, serde_reason};
use crate::record::{DropReason, Record, scan};

/// How many envelopes deep a record may be embedded (a Splunk export line holding a `result`
/// holding a `_raw` string holding the record is two).
const MAX_ENVELOPES: u32 = 4;

/// State shared by the visitors while one input is parsed.
struct Ctx<'c> {
    name: &'c str,
    on_record: &'c mut dyn FnMut(&Record<'_>, u64),
    report: &'c mut FileReport,
    /// Ordinal of the next record or value, for positions in messages.
    ordinal: u64,
    /// Values that were neither records nor a known container.
    not_records: u64,
    digest: bool,
    insights: u64,
    unknown_version: Option<String>,
    /// Parse `Records` elements straight into records, in one pass; any error ends the pass
    /// (see [`parse_text`]).
    fast: bool,
    /// `Records` elements already taken by a fast pass that ended early: skipped when the file
    /// is read again record by record.
    skip: u64,
}

impl Ctx<'_> {
    fn record_str(&mut self, json: &str) {
        self.ordinal += 1;
        match serde_json::from_str::<Record>(json) {
            Ok(rec) => self.record(&rec),
            Err(e) => self.bad(
                DropReason::Unreadable,
                format!("unusable record: {}", serde_reason(&e)),
            ),
        }
    }

    /// Drops the record at the current ordinal, with a warning naming it.
    fn bad(&mut self, reason: DropReason, message: String) {
        self.report.drop(reason);
        self.report
            .diagnostics
            .push(Diagnostic::warning(self.name, message).at(format!("record {}", self.ordinal)));
    }

    /// A record embedded in an export's field: `field` holds a JSON string (Splunk's `_raw`,
    /// Splunk HEC's `event`, CloudWatch Logs' `message`) or an object, which may itself be an
    /// envelope, `depth` envelopes down.
    fn embedded(&mut self, field: &str, raw: &RawValue, depth: u32) {
        if depth >= MAX_ENVELOPES {
            self.ordinal += 1;
            self.bad(
                DropReason::BadEmbedded,
                format!(
                    "unusable record: `{field}` is nested more than {MAX_ENVELOPES} envelopes deep"
                ),
            );
            return;
        }
        let text = raw.get();
        if text.starts_with('{') {
            self.value_at(raw, depth + 1);
            return;
        }
        let decoded = match serde_json::from_str::<Cow<'_, str>>(text) {
            Ok(s) => s,
            Err(_) => {
                // a number, an array, `null`: not a record
                self.not_records += 1;
                return;
            }
        };
        let inner = decoded.trim_matches(['\u{feff}', ' ', '\t', '\r', '\n']);
        if !inner.starts_with('{') {
            // text that is no JSON object: a log line of another kind, not a record
            self.not_records += 1;
            return;
        }
        match serde_json::from_str::<&RawValue>(inner) {
            Ok(inner) => self.value_at(inner, depth + 1),
            Err(e) => {
                self.ordinal += 1;
                self.bad(
                    DropReason::BadEmbedded,
                    format!(
                        "unusable record: `{field}` holds malformed JSON: {}",
                        serde_reason(&e)
                    ),
                );
            }
        }
    }

    /// A LookupEvents entry's `CloudTrailEvent`: the record's JSON text, or (as some tools
    /// re-encode it) the record itself.
    fn cloudtrail_event(&mut self, ev: &RawValue) {
        match serde_json::from_str::<Cow<'_, str>>(ev.get()) {
            Ok(text) => self.record_str(&text),
            Err(_) if ev.get().starts_with('{') => self.record_str(ev.get()),
            Err(_) => {
                self.ordinal += 1;
                self.bad(
                    DropReason::NoCloudTrailEvent,
                    "lookup event without a `CloudTrailEvent` string".to_string(),
                );
            }
        }
    }

    /// One row of CloudTrail Lake query results.
    fn lake_row(&mut self, raw: &RawValue) {
        match super::export::lake_row(raw.get()) {
            Ok(json) => self.record_str(&json),
            Err(problem) => {
                self.ordinal += 1;
                self.bad(
                    DropReason::BadEmbedded,
                    format!("unusable record: {problem}"),
                );
            }
        }
    }

    fn record(&mut self, rec: &Record<'_>) {
        if let Some(v) = rec.event_version.as_deref()
            && !v.starts_with("1.")
            && self.unknown_version.is_none()
        {
            self.unknown_version = Some(v.to_string());
        }
        if rec.event_category.as_deref() == Some("Insight") {
            self.insights += 1;
            return;
        }
        self.report.records += 1;
        (self.on_record)(rec, self.ordinal);
    }

    /// One top-level value of unknown shape (a JSON line, a whole-file object, or an element of a
    /// bare array).
    fn value(&mut self, raw: &RawValue) {
        self.value_at(raw, 0);
    }

    /// A value of unknown shape, `depth` envelopes down.
    fn value_at(&mut self, raw: &RawValue, depth: u32) {
        let probe = match serde_json::from_str::<Probe>(raw.get()) {
            Ok(p) => p,
            Err(_) => {
                // Not an object: a number, string or nested array.
                self.not_records += 1;
                return;
            }
        };
        if let Some(records) = probe.records {
            self.stream(records.get(), ArrayOf::Records);
        } else if let Some(events) = probe.events {
            self.stream(events.get(), ArrayOf::LookupEvents);
        } else if let Some(rows) = probe.query_result_rows {
            self.stream(rows.get(), ArrayOf::LakeRows);
        } else if let Some(ev) = probe.cloudtrail_event {
            self.cloudtrail_event(ev);
        } else if let Some(detail) = probe.detail {
            if probe
                .detail_type
                .as_deref()
                .is_some_and(|t| t.contains("CloudTrail"))
                || detail.get().contains("\"eventName\"")
            {
                self.record_str(detail.get());
            } else {
                self.not_records += 1;
            }
        } else if probe.digest_start_time.is_some() || probe.digest_s3_object.is_some() {
            self.digest = true;
        } else if probe.insight_details.is_some() {
            self.insights += 1;
        } else if let Some(text) = probe.splunk_raw {
            // before the record's own fields: a Splunk result may carry its search-time fields
            // (`eventName`, `userIdentity.arn`) beside `_raw`, which is the record
            self.embedded("_raw", text, depth);
        } else if probe.event_name.is_some() || probe.event_source.is_some() {
            self.record_str(raw.get());
        } else if let Some((field, inner)) = [
            ("event", probe.event),
            ("message", probe.message),
            ("result", probe.result),
        ]
        .into_iter()
        .find_map(|(f, v)| Some((f, v?)))
        {
            self.embedded(field, inner, depth);
        } else if let Some(items) = probe.log_events.or(probe.lower_events).or(probe.results) {
            if depth >= MAX_ENVELOPES {
                self.not_records += 1;
            } else {
                self.stream_values(items.get(), depth + 1);
            }
        } else {
            self.not_records += 1;
        }
    }

    /// Streams the array in `json` element by element.
    fn stream(&mut self, json: &str, of: ArrayOf) {
        self.stream_at(json, of, 0);
    }

    fn stream_at(&mut self, json: &str, of: ArrayOf, depth: u32) {
        let mut de = serde_json::Deserializer::from_str(json);
        if let Err(e) = (ArraySeed {
            ctx: self,
            of,
            depth,
        })
        .deserialize(&mut de)
        {
            self.array_error(&e);
        }
    }

    /// An envelope's list of entries (CloudWatch Logs' `logEvents` or `events`, Splunk's
    /// `results`), each any single-value shape, `depth` envelopes down. Anything but an array
    /// is not records.
    fn stream_values(&mut self, json: &str, depth: u32) {
        if json.starts_with('[') {
            self.stream_at(json, ArrayOf::Values, depth);
        } else {
            self.not_records += 1;
        }
    }

    fn array_error(&mut self, e: &serde_json::Error) {
        let kept = self.report.records;
        self.report.drop(DropReason::CutOff);
        self.report.diagnostics.push(
            Diagnostic::warning(
                self.name,
                format!(
                    "cannot parse past this point: {}; {kept} record(s) before it are kept",
                    serde_reason(e)
                ),
            )
            .at(format!("line {} column {}", e.line(), e.column())),
        );
    }
}

#[derive(Clone, Copy)]
enum ArrayOf {
    Records,
    LookupEvents,
    /// CloudTrail Lake's `QueryResultRows`: each element a row of one-column objects.
    LakeRows,
    /// A bare top-level array: each element is any single-value shape.
    Values,
}

/// Just enough of a top-level object to tell its shape.
#[derive(Deserialize)]
struct Probe<'a> {
    #[serde(borrow, rename = "Records", default)]
    records: Option<&'a RawValue>,
    #[serde(borrow, rename = "Events", default)]
    events: Option<&'a RawValue>,
    #[serde(borrow, rename = "QueryResultRows", default)]
    query_result_rows: Option<&'a RawValue>,
    /// A string (LookupEvents), or the record itself (some exports re-encode it).
    #[serde(borrow, rename = "CloudTrailEvent", default)]
    cloudtrail_event: Option<&'a RawValue>,
    #[serde(borrow, default)]
    detail: Option<&'a RawValue>,
    /// Splunk's raw event text.
    #[serde(borrow, rename = "_raw", default)]
    splunk_raw: Option<&'a RawValue>,
    /// Splunk HEC's event: the record, or its JSON text.
    #[serde(borrow, default)]
    event: Option<&'a RawValue>,
    /// CloudWatch Logs' (and Firehose's) log event text.
    #[serde(borrow, default)]
    message: Option<&'a RawValue>,
    /// One line of a Splunk search export (`{"preview":false,"result":{…}}`).
    #[serde(borrow, default)]
    result: Option<&'a RawValue>,
    /// A CloudWatch Logs subscription payload's entries.
    #[serde(borrow, rename = "logEvents", default)]
    log_events: Option<&'a RawValue>,
    /// `aws logs filter-log-events` output's entries.
    #[serde(borrow, rename = "events", default)]
    lower_events: Option<&'a RawValue>,
    /// A Splunk search's results (`output_mode=json`).
    #[serde(borrow, default)]
    results: Option<&'a RawValue>,
    #[serde(borrow, rename = "detail-type", default)]
    detail_type: Option<Cow<'a, str>>,
    #[serde(rename = "digestStartTime", default)]
    digest_start_time: Option<IgnoredAny>,
    #[serde(rename = "digestS3Object", default)]
    digest_s3_object: Option<IgnoredAny>,
    #[serde(rename = "insightDetails", default)]
    insight_details: Option<IgnoredAny>,
    #[serde(rename = "eventName", default)]
    event_name: Option<IgnoredAny>,
    #[serde(rename = "eventSource", default)]
    event_source: Option<IgnoredAny>,
}

#[derive(Deserialize)]
struct LookupEvent<'a> {
    #[serde(borrow, rename = "CloudTrailEvent", default)]
    cloudtrail_event: Option<&'a RawValue>,
}

struct ArraySeed<'a, 'c> {
    ctx: &'a mut Ctx<'c>,
    of: ArrayOf,
    /// Envelopes down, for the elements of [`ArrayOf::Values`].
    depth: u32,
}

impl<'de> DeserializeSeed<'de> for ArraySeed<'_, '_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for ArraySeed<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        if self.ctx.fast && matches!(self.of, ArrayOf::Records) {
            while seq
                .next_element_seed(RecordSeed { ctx: self.ctx })?
                .is_some()
            {}
            return Ok(());
        }
        while let Some(raw) = seq.next_element::<&'de RawValue>()? {
            match self.of {
                ArrayOf::Records if self.ctx.skip > 0 => {
                    self.ctx.skip -= 1;
                    self.ctx.ordinal += 1;
                }
                ArrayOf::Records => self.ctx.record_str(raw.get()),
                ArrayOf::Values => self.ctx.value_at(raw, self.depth),
                ArrayOf::LakeRows => self.ctx.lake_row(raw),
                ArrayOf::LookupEvents => match serde_json::from_str::<LookupEvent>(raw.get()) {
                    Ok(LookupEvent {
                        cloudtrail_event: Some(ev),
                    }) => self.ctx.cloudtrail_event(ev),
                    _ => {
                        self.ctx.ordinal += 1;
                        self.ctx.bad(
                            DropReason::NoCloudTrailEvent,
                            "lookup event without a `CloudTrailEvent` string".to_string(),
                        );
                    }
                },
            }
        }
        Ok(())
    }
}

/// One element of `Records`, parsed straight into a record and taken.
struct RecordSeed<'a, 'c> {
    ctx: &'a mut Ctx<'c>,
}

impl<'de> DeserializeSeed<'de> for RecordSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        let rec = Record::deserialize(d)?;
        self.ctx.ordinal += 1;
        self.ctx.record(&rec);
        Ok(())
    }
}

/// The top-level object of an S3-delivered file: streams `Records` (or `Events`) without first
/// scanning the whole value, so that a truncated file keeps every record before the break.
struct TopSeed<'a, 'c> {
    ctx: &'a mut Ctx<'c>,
}

impl<'de> DeserializeSeed<'de> for TopSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for TopSeed<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            match key.as_ref() {
                "Records" => map.next_value_seed(ArraySeed {
                    ctx: self.ctx,
                    of: ArrayOf::Records,
                    depth: 0,
                })?,
                "Events" if self.ctx.fast => {
                    return Err(serde::de::Error::custom(
                        "LookupEvents pages are read in two passes",
                    ));
                }
                "Events" => map.next_value_seed(ArraySeed {
                    ctx: self.ctx,
                    of: ArrayOf::LookupEvents,
                    depth: 0,
                })?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// The first key of the object that `text` starts with, when it is a plain string.
fn first_key(text: &str) -> Option<&str> {
    let t = text
        .trim_start()
        .strip_prefix('{')?
        .trim_start()
        .strip_prefix('"')?;
    let end = t.find(['"', '\\'])?;
    Some(&t[..end])
}

/// Parses one decompressed input of any accepted shape.
pub fn parse_text(
    name: &str,
    text: &str,
    on_record: &mut dyn FnMut(&Record<'_>),
    report: &mut FileReport,
) {
    parse_text_at(name, text, &mut |r, _| on_record(r), report);
}

/// As [`parse_text`], handing each record with its position in the input (`record N` in
/// messages, counting every record and value that stood where one should, used or not).
pub fn parse_text_at(
    name: &str,
    text: &str,
    on_record: &mut dyn FnMut(&Record<'_>, u64),
    report: &mut FileReport,
) {
    parse_with(name, text, on_record, report, true);
}

/// What the rest of tightrole gets from reading `text`, as text: each record with its
/// position ([`scan::seen`]), then the file's report; read with the record scanner, or
/// (`scanner: false`) by serde_json alone. What the scanner is held to, by its tests, the
/// corpora's and the fuzzer's `record-parser` target.
#[doc(hidden)]
pub fn reading(text: &str, scanner: bool) -> String {
    let mut records = Vec::new();
    let mut report = FileReport::default();
    let mut take = |r: &Record<'_>, at: u64| records.push(format!("{at} {}", scan::seen(r)));
    parse_with("t", text, &mut take, &mut report, scanner);
    format!("{records:#?}\n{report:#?}")
}

fn parse_with(
    name: &str,
    text: &str,
    on_record: &mut dyn FnMut(&Record<'_>, u64),
    report: &mut FileReport,
    scan: bool,
) {
    let mut ctx = Ctx {
        name,
        on_record,
        report,
        ordinal: 0,
        not_records: 0,
        digest: false,
        insights: 0,
        unknown_version: None,
        fast: false,
        skip: 0,
    };
    let trimmed = text.trim_start_matches(['\u{feff}', ' ', '\t', '\r', '\n']);
    if trimmed.is_empty() {
        ctx.report.skipped = true;
        ctx.report
            .diagnostics
            .push(Diagnostic::warning(name, "empty file, no records"));
        return;
    }
    if trimmed.starts_with('[') {
        ctx.stream(trimmed, ArrayOf::Values);
    } else if matches!(first_key(trimmed), Some("Records" | "Events")) {
        // The delivery format's own shape is read by the record scanner, each record parsed
        // where it lies (`scan`). Anything else, and a file whose scan stops, takes serde_json's
        // passes: first one pass, each record parsed where it lies. A record that does not parse
        // (or anything unusual) ends that pass; the file is then read again in two passes, each
        // element first as raw JSON, then as a record, so a bad record is named and skipped and
        // the rest are read. The records an earlier pass took are not taken again.
        if scan && ctx.scan(trimmed) {
            return ctx.finish();
        }
        let mut de = serde_json::Deserializer::from_str(trimmed);
        let scanned = ctx.ordinal > 0;
        let mut result = Ok(());
        if !scanned {
            ctx.fast = true;
            result = (TopSeed { ctx: &mut ctx }).deserialize(&mut de);
        }
        if scanned || result.is_err() {
            ctx.fast = false;
            ctx.skip = ctx.ordinal;
            ctx.ordinal = 0;
            de = serde_json::Deserializer::from_str(trimmed);
            result = (TopSeed { ctx: &mut ctx }).deserialize(&mut de);
        }
        if let Err(e) = result {
            ctx.array_error(&e);
        } else if de.end().is_err() {
            // More values follow (concatenated files, concatenated gzip members): find where
            // the first ended and read the rest as a stream of values.
            let mut first = serde_json::Deserializer::from_str(trimmed).into_iter::<IgnoredAny>();
            let _ = first.next();
            let rest = &trimmed[first.byte_offset()..];
            for item in serde_json::Deserializer::from_str(rest).into_iter::<&RawValue>() {
                match item {
                    Ok(raw) => ctx.value(raw),
                    Err(e) => {
                        ctx.array_error(&e);
                        break;
                    }
                }
            }
        }
    } else if trimmed.starts_with('{') {
        // One object, JSON lines, or concatenated objects.
        let stream = serde_json::Deserializer::from_str(trimmed).into_iter::<&RawValue>();
        for item in stream {
            match item {
                Ok(raw) => ctx.value(raw),
                Err(e) => {
                    ctx.array_error(&e);
                    break;
                }
            }
        }
    } else {
        ctx.report.skipped = true;
        ctx.report.diagnostics.push(Diagnostic::warning(
            name,
            "not JSON; expected CloudTrail records",
        ));
        return;
    }
    ctx.finish();
}

impl Ctx<'_> {
    /// Reads `{"Records":[…]}` (and nothing after it but whitespace) with the record scanner
    /// ([`crate::record::scan`]). A record the scanner declines is parsed where it lies by
    /// serde_json, as the one-pass parse would have. `false` when the file is not of that shape,
    /// or a record does not parse: the records taken so far are counted in `ordinal`, and
    /// serde_json's passes read the file (from the record after them).
    fn scan(&mut self, text: &str) -> bool {
        let mut step = scan::Reader::first(text);
        if step.is_none() {
            return false;
        }
        let reader = scan::Reader::new(text);
        while let Some(scan::Step::Record(at)) = step {
            let end = if let Some((rec, end)) = reader.record(at) {
                self.ordinal += 1;
                self.record(&rec);
                end
            } else {
                // serde_json reads it, as deep in the file as the record lies
                let mut one = serde_json::Deserializer::from_str(&text[at..]).into_iter();
                match one.next() {
                    Some(Ok(rec))
                        if scan::nesting(&text[at..at + one.byte_offset()]) <= scan::MAX_DEPTH =>
                    {
                        let rec: Record = rec;
                        self.ordinal += 1;
                        self.record(&rec);
                        at + one.byte_offset()
                    }
                    _ => return false,
                }
            };
            step = reader.next(end);
        }
        step == Some(scan::Step::End)
    }

    /// What the whole file said: its warnings and notes, and whether it was skipped.
    fn finish(self) {
        let Ctx {
            name,
            report,
            not_records,
            digest,
            insights,
            unknown_version,
            ..
        } = self;
        if let Some(v) = unknown_version {
            report.diagnostics.push(Diagnostic::warning(
                name,
                format!("unknown `eventVersion` `{v}`; records were read as version 1"),
            ));
        }
        if digest && report.records == 0 {
            report.skipped = true;
            report
                .diagnostics
                .push(Diagnostic::note(name, "CloudTrail digest file, skipped"));
        } else if insights > 0 && report.records == 0 {
            report.skipped = true;
            report.diagnostics.push(Diagnostic::note(
                name,
                format!("CloudTrail Insights file ({insights} event(s)), skipped"),
            ));
        } else if not_records > 0 {
            if report.records == 0 {
                report.skipped = true;
            }
            report.diagnostics.push(Diagnostic::note(
                name,
                format!("{not_records} JSON value(s) that are not CloudTrail records, skipped"),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(text: &str) -> (Vec<String>, FileReport) {
        let mut out = Vec::new();
        let mut report = FileReport::default();
        parse_text(
            "t",
            text,
            &mut |r| out.push(r.name().to_string()),
            &mut report,
        );
        (out, report)
    }

    /// The records `text` gives, each with its position, and the report.
    fn positions(text: &str) -> (Vec<(u64, String)>, FileReport) {
        let mut out = Vec::new();
        let mut report = FileReport::default();
        parse_text_at(
            "t",
            text,
            &mut |r, ordinal| out.push((ordinal, r.name().to_string())),
            &mut report,
        );
        (out, report)
    }

    const A: &str = r#"{"eventSource":"s3.amazonaws.com","eventName":"A","eventTime":"2026-01-01T00:00:00Z","userIdentity":{}}"#;
    const B: &str = r#"{"eventSource":"s3.amazonaws.com","eventName":"B","eventTime":"2026-01-01T00:00:00Z","userIdentity":{}}"#;

    /// A bad record in the middle ends the one-pass read; the second read names it and takes
    /// the records after it, and none before it twice.
    #[test]
    fn a_bad_record_after_good_ones_is_named_and_nothing_is_taken_twice() {
        let bad = r#"{"eventSource":"s3.amazonaws.com","eventName":7}"#;
        let (got, report) = names(&format!(r#"{{"Records":[{A},{A},{bad},{B},{A}]}}"#));
        assert_eq!(got, ["A", "A", "B", "A"]);
        assert_eq!((report.records, report.bad_records), (4, 1));
        assert_eq!(report.diagnostics.len(), 1);
        assert!(
            report.diagnostics[0].to_string().contains("record 3"),
            "{}",
            report.diagnostics[0]
        );
        // truncated after two records: both kept once, the break named
        let (got, report) = names(&format!(r#"{{"Records":[{A},{B},{{"eventSo"#));
        assert_eq!(got, ["A", "B"]);
        assert_eq!(report.records, 2);
        assert!(
            report.diagnostics[0]
                .to_string()
                .contains("2 record(s) before it are kept")
        );
    }

    /// Wherever a bad record falls in `Records` (first, last, or anywhere between), and with
    /// none (the one-pass read), each good record is taken once, in order, with its own
    /// position; and when the file breaks off inside the bad record, each one before it: the
    /// one-pass read and the record-by-record read after it agree on every position.
    #[test]
    fn every_record_once_in_order_wherever_the_bad_one_falls() {
        let bad = r#"{"eventSource":"s3.amazonaws.com","eventName":7}"#;
        let total = 35;
        // (`at == total`: no bad record)
        for at in 0..=total {
            let records: Vec<&str> = (0..total)
                .map(|i| match i {
                    _ if i == at => bad,
                    _ if i % 2 == 0 => A,
                    _ => B,
                })
                .collect();
            let text = format!(r#"{{"Records":[{}]}}"#, records.join(","));
            let (got, report) = positions(&text);
            let want: Vec<(u64, String)> = (0..total)
                .filter(|&i| i != at)
                .map(|i| (i as u64 + 1, if i % 2 == 0 { "A" } else { "B" }.to_string()))
                .collect();
            assert_eq!(got, want, "bad record at {at}");
            if at == total {
                assert_eq!((report.bad_records, report.diagnostics.len()), (0, 0));
                continue;
            }
            assert_eq!(report.bad_records, 1);
            let position = format!("record {}", at + 1);
            assert!(report.diagnostics[0].to_string().contains(&position));
            // cut off inside the bad record: the records before it, once each
            let cut = text.find(bad).map_or(text.len(), |i| i + bad.len() / 2);
            let (got, report) = positions(&text[..cut]);
            assert_eq!(got, want[..at], "cut at {at}");
            assert_eq!(report.records, at as u64);
        }
    }

    #[test]
    fn s3_delivery_format() {
        let (n, r) = names(&format!(r#"{{"Records":[{A},{B}]}}"#));
        assert_eq!(n, ["A", "B"]);
        assert!(r.diagnostics.is_empty());
    }

    #[test]
    fn records_not_first_key() {
        let (n, _) = names(&format!(r#"{{"x":1,"Records":[{A}]}}"#));
        assert_eq!(n, ["A"]);
    }

    #[test]
    fn bare_array_and_json_lines() {
        assert_eq!(names(&format!("[{A},{B}]")).0, ["A", "B"]);
        assert_eq!(names(&format!("{A}\n{B}\n")).0, ["A", "B"]);
    }

    #[test]
    fn eventbridge_envelope() {
        let env = format!(
            r#"{{"version":"0","detail-type":"AWS API Call via CloudTrail","source":"aws.s3","detail":{A}}}"#
        );
        assert_eq!(names(&format!("{env}\n{env}")).0, ["A", "A"]);
    }

    #[test]
    fn lookup_events_whole_and_lines() {
        let quoted = serde_json::to_string(A).unwrap_or_default();
        let whole = format!(
            r#"{{"Events":[{{"EventId":"1","CloudTrailEvent":{quoted}}}],"NextToken":null}}"#
        );
        assert_eq!(names(&whole).0, ["A"]);
        let line = format!(r#"{{"EventId":"1","CloudTrailEvent":{quoted}}}"#);
        assert_eq!(names(&format!("{line}\n{line}\n")).0, ["A", "A"]);
    }

    #[test]
    fn truncated_keeps_records_before_the_break() {
        let text = format!(r#"{{"Records":[{A},{B},{{"eventSource":"s3.am"#);
        let (n, r) = names(&text);
        assert_eq!(n, ["A", "B"]);
        assert_eq!(r.diagnostics.len(), 1);
        assert!(
            r.diagnostics[0]
                .message
                .contains("2 record(s) before it are kept")
        );
    }

    #[test]
    fn a_bad_record_does_not_stop_the_others() {
        let text = format!(r#"{{"Records":[{A},{{"eventTime":5}},{B}]}}"#);
        let (n, r) = names(&text);
        assert_eq!(n, ["A", "B"]);
        assert_eq!(r.bad_records, 1);
        assert_eq!(r.diagnostics[0].position.as_deref(), Some("record 2"));
        let (_, r) = names(r#"{"Records":[5]}"#);
        assert_eq!(
            r.diagnostics[0].message,
            "unusable record: invalid type: integer `5`, expected an object"
        );
    }

    #[test]
    fn digest_and_other_json_are_skipped_with_a_note() {
        let (n, r) = names(r#"{"awsAccountId":"1","digestStartTime":"x","digestS3Object":"y"}"#);
        assert!(n.is_empty() && r.skipped);
        assert!(r.diagnostics[0].message.contains("digest"));
        let (_, r) = names(r#"{"hello":"world"}"#);
        assert!(r.skipped && r.diagnostics[0].message.contains("not CloudTrail records"));
    }

    fn quoted(s: &str) -> String {
        serde_json::to_string(s).unwrap_or_default()
    }

    /// Splunk: a search export's lines, `_raw` alone, a search's `results`, HEC events (the
    /// record as an object or as text); CloudWatch Logs: `filter-log-events` output and a
    /// subscription payload; a `CloudTrailEvent` that is the record itself.
    #[test]
    fn exports_with_the_record_in_a_field() {
        let (a, b) = (quoted(A), quoted(B));
        for (shape, text) in [
            (
                "splunk export lines",
                format!(
                    "{{\"preview\":false,\"result\":{{\"_time\":\"2026-01-01T00:00:00.000+00:00\",\"_raw\":{a}}}}}\n{{\"preview\":false,\"lastrow\":true,\"result\":{{\"_raw\":{b}}}}}\n"
                ),
            ),
            ("_raw lines", format!("{{\"_raw\":{a}}}\n{{\"_raw\":{b}}}")),
            (
                "splunk export with search-time fields",
                format!(
                    "{{\"result\":{{\"eventName\":\"A\",\"eventSource\":\"s3.amazonaws.com\",\"userIdentity.arn\":\"x\",\"_raw\":{a}}}}}\n{{\"result\":{{\"eventName\":\"B\",\"_raw\":{b}}}}}"
                ),
            ),
            (
                "splunk results",
                format!("{{\"results\":[{{\"_raw\":{a}}},{{\"_raw\":{b}}}]}}"),
            ),
            (
                "hec events",
                format!(
                    "{{\"time\":1,\"sourcetype\":\"aws:cloudtrail\",\"event\":{A}}}\n{{\"event\":{b}}}"
                ),
            ),
            (
                "filter-log-events",
                format!(
                    "{{\"events\":[{{\"logStreamName\":\"s\",\"message\":{a}}},{{\"message\":{b}}}],\"searchedLogStreams\":[]}}"
                ),
            ),
            (
                "subscription payload",
                format!(
                    "{{\"messageType\":\"DATA_MESSAGE\",\"logEvents\":[{{\"id\":\"1\",\"message\":{a}}},{{\"id\":\"2\",\"message\":{b}}}]}}"
                ),
            ),
            (
                "CloudTrailEvent objects",
                format!("{{\"CloudTrailEvent\":{A}}}\n{{\"CloudTrailEvent\":{b}}}"),
            ),
        ] {
            let (n, r) = names(&text);
            assert_eq!(n, ["A", "B"], "{shape}");
            assert!(r.diagnostics.is_empty(), "{shape}: {:?}", r.diagnostics);
        }
    }

    #[test]
    fn other_log_lines_are_not_records() {
        let text = format!(
            "{{\"message\":\"START RequestId: 1\"}}\n{{\"_raw\":{}}}\n{{\"message\":\"\"}}",
            quoted(A)
        );
        let (n, r) = names(&text);
        assert_eq!(n, ["A"]);
        assert_eq!(r.bad_records, 0);
        assert!(
            r.diagnostics[0]
                .message
                .contains("2 JSON value(s) that are not")
        );
    }

    /// A `_raw` that is malformed, nested without end, or huge: a named warning or the record,
    /// never a panic; the records around it are read.
    #[test]
    fn hostile_raw_fields() {
        let broken = quoted(&A[..A.len() - 10]);
        let deep = quoted(&format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)));
        let deep_record = quoted(&A.replacen(
            '{',
            &format!(
                r#"{{"requestParameters":{}1{},"#,
                "[".repeat(5_000),
                "]".repeat(5_000)
            ),
            1,
        ));
        let mut nested = quoted(A);
        for _ in 0..10 {
            nested = quoted(&format!("{{\"_raw\":{nested}}}"));
        }
        let text = [
            format!("{{\"_raw\":{}}}", quoted(A)),
            format!("{{\"_raw\":{broken}}}"),
            format!("{{\"_raw\":{deep}}}"),
            format!("{{\"_raw\":{nested}}}"),
            format!("{{\"_raw\":{deep_record}}}"),
            r#"{"_raw":"{\"eventName\": }"}"#.to_string(),
            format!("{{\"_raw\":{}}}", quoted(B)),
        ]
        .join("\n");
        let (n, r) = names(&text);
        assert_eq!(
            n,
            ["A", "A", "B"],
            "the deep requestParameters are skipped here"
        );
        let messages: Vec<String> = r.diagnostics.iter().map(ToString::to_string).collect();
        assert_eq!(r.bad_records, 3, "{messages:#?}");
        assert_eq!(r.dropped.get(&DropReason::BadEmbedded), Some(&3));
        assert!(
            messages[0].contains("record 2: unusable record: `_raw` holds malformed JSON"),
            "{messages:#?}"
        );
        assert!(
            messages[1].contains("`_raw` is nested more than 4 envelopes deep"),
            "{messages:#?}"
        );
        assert!(
            messages[2].contains("record 5: unusable record: `_raw` holds malformed JSON"),
            "{messages:#?}"
        );
        assert!(
            messages[3].contains("not CloudTrail records"),
            "{messages:#?}"
        );
        assert!(
            messages.iter().all(|m| m.len() < 200),
            "no message quotes the field"
        );
        // huge: a 20 MB `_raw` record is read as a 20 MB record is
        let big = A.replace(
            r#""userIdentity":{}"#,
            &format!(
                r#""userIdentity":{{}},"padding":"{}""#,
                "x".repeat(20 << 20)
            ),
        );
        let (n, r) = names(&format!("{{\"_raw\":{}}}", quoted(&big)));
        assert_eq!(n, ["A"]);
        assert!(r.diagnostics.is_empty());
    }

    #[test]
    fn cloudtrail_lake_query_results() {
        let row = |name: &str| {
            format!(
                r#"[{{"eventVersion":"1.09"}},{{"eventSource":"s3.amazonaws.com"}},{{"eventName":"{name}"}},{{"eventTime":"2026-01-01 00:00:00.000"}},{{"userIdentity":"{{type=IAMUser, arn=arn:aws:iam::1:user/bob, accountid=1}}"}}]"#
            )
        };
        let text = format!(
            r#"{{"QueryStatus":"FINISHED","QueryStatistics":{{"ResultsCount":3,"TotalResultsCount":3,"BytesScanned":1}},"QueryResultRows":[{},[{{"userIdentity":"{{type=IAMUser, arn"}}],{}]}}"#,
            row("A"),
            row("B")
        );
        let mut got = Vec::new();
        let mut report = FileReport::default();
        parse_text(
            "t",
            &text,
            &mut |r| {
                got.push((
                    r.name().to_string(),
                    r.validate().ok().flatten().is_some(),
                    crate::identity::actor(r).is_ok(),
                ))
            },
            &mut report,
        );
        assert_eq!(
            got,
            [("A".to_string(), true, true), ("B".to_string(), true, true)]
        );
        assert_eq!(report.bad_records, 1);
        assert_eq!(report.diagnostics[0].position.as_deref(), Some("record 2"));
        assert!(
            report.diagnostics[0]
                .message
                .contains("`userIdentity` is neither JSON")
        );
    }

    #[test]
    fn deep_nesting_hits_the_limit() {
        // Skipping is iterative in serde_json and typed parsing stops at depth 128: no overflow.
        let deep = format!(
            r#"{{"Records":[{}{}]}}"#,
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        let (n, r) = names(&deep);
        assert!(n.is_empty());
        assert_eq!(r.bad_records, 1);
        let deep = format!(
            r#"{{"Records":[{}]}}"#,
            A.replacen(
                '{',
                &format!(
                    r#"{{"extra":{}{},"#,
                    "[".repeat(100_000),
                    "]".repeat(100_000)
                ),
                1
            )
        );
        let (n, _) = names(&deep);
        assert_eq!(n, ["A"], "an ignored deep value is skipped");
        let text = A.replace(
            r#""userIdentity":{}"#,
            &format!(
                r#""userIdentity":{{}},"requestParameters":{}{}"#,
                "[".repeat(100_000),
                "]".repeat(100_000)
            ),
        );
        let rec: Record = serde_json::from_str(&text).unwrap_or_default();
        assert!(
            rec.params().is_none(),
            "typed parse of a deep value stops at the depth limit"
        );
    }

    /// A file as the rest of tightrole sees it, from the scanner's read, checked against
    /// serde_json's.
    fn both(text: &str) -> String {
        let scanned = reading(text, true);
        assert_eq!(scanned, reading(text, false), "{text}");
        scanned
    }

    /// The scanner's file: records it declines are read where they lie, and a file it stops
    /// on goes to serde_json's passes from the record after those it took. Each file reads
    /// the same as serde_json alone reads it.
    #[test]
    fn the_scanner_reads_files_as_serde_json_does() {
        let escaped = r#"{"eventSource":"s3.amazonaws.com","eventName":"E\u0021","userAgent":"a\"b","userIdentity":{}}"#;
        let typed = r#"{"eventSource":"s3.amazonaws.com","eventName":7,"userIdentity":{}}"#;
        let deep = |n: usize| {
            format!(
                r#"{{"eventName":"a\"","eventSource":"s","userIdentity":{{}},"x":{}{}}}"#,
                "[".repeat(n),
                "]".repeat(n)
            )
        };
        let insight = r#"{"eventCategory":"Insight","eventName":"I","eventSource":"s"}"#;
        let records = |rs: &[&str]| format!(r#"{{"Records":[{}]}}"#, rs.join(","));
        let files = [
            records(&[A, B]),
            records(&[A, escaped, B]),
            records(&[A, typed, B]),
            records(&[A, &deep(70), B]),
            records(&[A, &deep(124), B]),
            records(&[A, &deep(130), B]),
            records(&[A, insight, B]),
            records(&[insight]),
            records(&[]),
            format!("\u{feff} {{ \"Records\" :\n[\n{A} ,\n{B}\n]\n}}\n"),
            format!("{{\"Records\":[{A}],\"x\":1}}"),
            format!("{{\"Records\":[{A}],\"Records\":[{B}]}}"),
            format!("{}{}", records(&[A]), records(&[B])),
            format!("{} x", records(&[A])),
            records(&[A, B])[..60].to_string(),
            records(&[A, B, A])[..A.len() + B.len() + 20].to_string(),
            format!("{{\"Records\":[{A},]}}"),
            format!("{{\"Records\":[{A} {B}]}}"),
            format!("{{\"Records\":[{A},7,{B}]}}"),
            format!("{{\"Records\":{A}}}"),
            format!("{{\"Records\":[{}]}}", A.replace("\"A\"", "\"A\tB\"")),
        ];
        for file in &files {
            both(file);
        }
        // what the scanner's own cases are read as
        assert!(both(&files[1]).contains("E!"));
        assert!(both(&files[2]).contains("unusable record"));
    }
}
