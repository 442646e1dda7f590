//! Shape detection and streaming parse of one decompressed input.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::FileReport;
use crate::diag::{Diagnostic, serde_reason};
use crate::record::Record;

/// State shared by the visitors while one input is parsed.
struct Ctx<'c> {
    name: &'c str,
    on_record: &'c mut dyn FnMut(&Record<'_>),
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
            Err(e) => {
                self.report.bad_records += 1;
                self.report.diagnostics.push(
                    Diagnostic::warning(
                        self.name,
                        format!("unusable record: {}", serde_reason(&e)),
                    )
                    .at(format!("record {}", self.ordinal)),
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
        (self.on_record)(rec);
    }

    /// One top-level value of unknown shape (a JSON line, a whole-file object, or an element of a
    /// bare array).
    fn value(&mut self, raw: &RawValue) {
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
        } else if let Some(ev) = probe.cloudtrail_event {
            self.record_str(&ev);
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
        } else if probe.event_name.is_some() || probe.event_source.is_some() {
            self.record_str(raw.get());
        } else {
            self.not_records += 1;
        }
    }

    /// Streams the array in `json` element by element.
    fn stream(&mut self, json: &str, of: ArrayOf) {
        let mut de = serde_json::Deserializer::from_str(json);
        if let Err(e) = (ArraySeed { ctx: self, of }).deserialize(&mut de) {
            self.array_error(&e);
        }
    }

    fn array_error(&mut self, e: &serde_json::Error) {
        let kept = self.report.records;
        self.report.bad_records += 1;
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
    #[serde(borrow, rename = "CloudTrailEvent", default)]
    cloudtrail_event: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    detail: Option<&'a RawValue>,
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
    cloudtrail_event: Option<Cow<'a, str>>,
}

struct ArraySeed<'a, 'c> {
    ctx: &'a mut Ctx<'c>,
    of: ArrayOf,
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
                ArrayOf::Values => self.ctx.value(raw),
                ArrayOf::LookupEvents => match serde_json::from_str::<LookupEvent>(raw.get()) {
                    Ok(LookupEvent {
                        cloudtrail_event: Some(ev),
                    }) => self.ctx.record_str(&ev),
                    _ => {
                        self.ctx.ordinal += 1;
                        self.ctx.report.bad_records += 1;
                        self.ctx.report.diagnostics.push(
                            Diagnostic::warning(
                                self.ctx.name,
                                "lookup event without a `CloudTrailEvent` string",
                            )
                            .at(format!("record {}", self.ctx.ordinal)),
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
                })?,
                "Events" if self.ctx.fast => {
                    return Err(serde::de::Error::custom(
                        "LookupEvents pages are read in two passes",
                    ));
                }
                "Events" => map.next_value_seed(ArraySeed {
                    ctx: self.ctx,
                    of: ArrayOf::LookupEvents,
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
        // One pass, each record parsed where it lies. A record that does not parse (or
        // anything unusual) ends that pass; the file is then read again in two passes, each
        // element first as raw JSON, then as a record, so a bad record is named and skipped and
        // the rest are read. The records the first pass took are not taken again.
        let mut de = serde_json::Deserializer::from_str(trimmed);
        ctx.fast = true;
        let mut result = (TopSeed { ctx: &mut ctx }).deserialize(&mut de);
        if result.is_err() {
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

    let Ctx {
        report,
        not_records,
        digest,
        insights,
        unknown_version,
        ..
    } = ctx;
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
}
