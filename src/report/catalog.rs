//! The catalog commands' outputs: the mapping's coverage of a trail, and what the catalog says
//! of an action or a service.

use serde::Serialize;

use crate::catalog::{Catalog, Observability, ObservabilityTable};
use crate::mapping::{Class, Mapper};
use crate::usage::Usage;

pub const COVERAGE_SCHEMA: &str = "tightrole/coverage/v1";

#[derive(Serialize, schemars::JsonSchema)]
pub struct CoverageRow {
    pub event_source: String,
    pub event_name: String,
    pub class: Class,
    pub actions: Vec<String>,
    pub count: u64,
}

#[derive(Serialize, schemars::JsonSchema)]
pub struct CoverageOutput {
    pub schema: &'static str,
    pub events: Vec<CoverageRow>,
    pub event_kinds: usize,
    pub mapped_or_classified: usize,
    pub share: f64,
    pub records: u64,
}

/// Per (eventSource, eventName) of the trail: its class, action(s) and count.
pub fn coverage(usage: &Usage) -> CoverageOutput {
    let events: Vec<CoverageRow> = usage
        .events
        .iter()
        .map(|((src, name), e)| CoverageRow {
            event_source: src.clone(),
            event_name: name.clone(),
            class: e.class,
            actions: e.actions.iter().cloned().collect(),
            count: e.count,
        })
        .collect();
    let kinds = events.len();
    let classified = events.iter().filter(|e| e.class != Class::Unmapped).count();
    let share = if kinds == 0 {
        0.0
    } else {
        classified as f64 / kinds as f64
    };
    CoverageOutput {
        schema: COVERAGE_SCHEMA,
        events,
        event_kinds: kinds,
        mapped_or_classified: classified,
        share,
        records: usage.records,
    }
}

/// The text form of [`coverage`]: a table and a summary line.
pub fn coverage_text(out: &CoverageOutput) -> String {
    let mut rows: Vec<[String; 5]> = vec![[
        "EVENT SOURCE".into(),
        "EVENT NAME".into(),
        "CLASS".into(),
        "COUNT".into(),
        "ACTIONS".into(),
    ]];
    for e in &out.events {
        rows.push([
            e.event_source.clone(),
            e.event_name.clone(),
            e.class.as_str().to_string(),
            e.count.to_string(),
            e.actions.join(" "),
        ]);
    }
    let mut s = table(&rows);
    s.push_str(&format!(
        "\n{} event kind(s) in {} record(s): {} mapped or classified ({:.1}%), {} unmapped\n",
        out.event_kinds,
        out.records,
        out.mapped_or_classified,
        out.share * 100.0,
        out.event_kinds - out.mapped_or_classified
    ));
    s
}

fn table<const N: usize>(rows: &[[String; N]]) -> String {
    let mut widths = [0usize; N];
    for r in rows {
        for (w, c) in widths.iter_mut().zip(r.iter()) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut s = String::new();
    for r in rows {
        let mut line = String::new();
        for (i, c) in r.iter().enumerate() {
            line.push_str(c);
            if i + 1 < N {
                line.push_str(&" ".repeat(widths[i] - c.chars().count() + 2));
            }
        }
        s.push_str(line.trim_end());
        s.push('\n');
    }
    s
}

#[derive(Serialize, schemars::JsonSchema)]
pub struct ResourceOut {
    pub name: String,
    pub required: bool,
    pub arn_formats: Vec<String>,
}

#[derive(Serialize, schemars::JsonSchema)]
pub struct ActionOut {
    pub action: String,
    pub service: String,
    pub access_level: String,
    pub observability: Observability,
    pub resource_types: Vec<ResourceOut>,
    pub condition_keys: Vec<String>,
    pub dependent_actions: Vec<String>,
    pub cloudtrail_events: Vec<String>,
}

/// What the catalog says of one action (`s3:GetObject`); `None` when it has no such action.
pub fn action_out(catalog: &Catalog, qualified: &str) -> Option<ActionOut> {
    let def = catalog.action_qualified(qualified)?;
    let service = catalog.service(&def.prefix)?;
    let mapper = Mapper::embedded();
    let mut events: Vec<String> = catalog
        .event_sources_for_prefix(&def.prefix)
        .into_iter()
        .map(|src| format!("{src} {}", def.name))
        .collect();
    for (src, name) in mapper.events_for_action(def.qualified()) {
        events.push(format!("{src} {name} (exception table)"));
    }
    events.sort();
    events.dedup();
    Some(ActionOut {
        action: def.qualified().to_string(),
        service: service.name.clone(),
        access_level: def.access.to_string(),
        observability: ObservabilityTable::embedded().of(def.qualified()),
        resource_types: def
            .resources
            .iter()
            .map(|r| ResourceOut {
                name: r.name.clone(),
                required: r.required,
                arn_formats: catalog
                    .resource_type(&def.prefix, &r.name)
                    .map(|t| t.arn_formats.iter().map(ToString::to_string).collect())
                    .unwrap_or_default(),
            })
            .collect(),
        condition_keys: def.condition_keys.clone(),
        dependent_actions: def.dependent_actions.clone(),
        cloudtrail_events: events,
    })
}

#[derive(Serialize, schemars::JsonSchema)]
pub struct ServiceOut {
    pub prefix: String,
    pub name: String,
    pub event_sources: Vec<String>,
    pub resource_types: Vec<ResourceOut>,
    pub actions: Vec<(String, String, String)>,
}

/// The text form of [`action_out`].
pub fn action_text(a: &ActionOut) -> String {
    let mut s = format!(
        "{} ({})\n  access level: {}\n  logged: {}\n",
        a.action,
        a.service,
        a.access_level,
        a.observability.describe()
    );
    s.push_str("  resource types:\n");
    if a.resource_types.is_empty() {
        s.push_str("    (none: the action is granted on `*`)\n");
    }
    for r in &a.resource_types {
        let req = if r.required { " (required)" } else { "" };
        s.push_str(&format!(
            "    {}{req}: {}\n",
            r.name,
            r.arn_formats.join(", ")
        ));
    }
    if !a.condition_keys.is_empty() {
        s.push_str(&format!(
            "  condition keys: {}\n",
            a.condition_keys.join(", ")
        ));
    }
    if !a.dependent_actions.is_empty() {
        s.push_str(&format!(
            "  dependent actions: {}\n",
            a.dependent_actions.join(", ")
        ));
    }
    s.push_str("  CloudTrail events:\n");
    for e in &a.cloudtrail_events {
        s.push_str(&format!("    {e}\n"));
    }
    s
}

/// What the catalog says of one service (`s3`).
pub fn service_out(catalog: &Catalog, prefix: &str) -> Option<ServiceOut> {
    let service = catalog.service(prefix)?;
    let obs = ObservabilityTable::embedded();
    Some(ServiceOut {
        prefix: service.prefix.clone(),
        name: service.name.clone(),
        event_sources: catalog
            .event_sources_for_prefix(&service.prefix)
            .into_iter()
            .map(str::to_string)
            .collect(),
        resource_types: service
            .resources()
            .values()
            .map(|r| ResourceOut {
                name: r.name.clone(),
                required: false,
                arn_formats: r.arn_formats.iter().map(ToString::to_string).collect(),
            })
            .collect(),
        actions: service
            .actions()
            .values()
            .map(|a| {
                (
                    a.qualified().to_string(),
                    a.access.to_string(),
                    obs.of(a.qualified()).describe(),
                )
            })
            .collect(),
    })
}

/// The text form of [`service_out`].
pub fn service_text(out: &ServiceOut) -> String {
    let mut s = format!(
        "{} ({})\n  event sources: {}\n  resource types:\n",
        out.prefix,
        out.name,
        out.event_sources.join(", ")
    );
    for r in &out.resource_types {
        s.push_str(&format!("    {}: {}\n", r.name, r.arn_formats.join(", ")));
    }
    s.push_str(&format!("  actions ({}):\n", out.actions.len()));
    let mut rows = Vec::new();
    for (a, level, logged) in &out.actions {
        rows.push([format!("    {a}"), level.clone(), logged.clone()]);
    }
    s.push_str(&table(&rows));
    s
}
