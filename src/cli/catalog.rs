//! `tightrole catalog coverage` and `tightrole catalog show`.

use anyhow::{Context as _, bail};
use clap::{Args as ClapArgs, Subcommand, ValueEnum};
use serde::Serialize;

use super::input::{InputArgs, Read, read};
use super::{Exit, print_stdout};
use crate::catalog::{Catalog, Observability, ObservabilityTable};
use crate::fold::GeneralizeLevel;
use crate::mapping::{Class, Mapper};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug, ClapArgs)]
pub struct Args {
    #[command(subcommand)]
    command: Sub,
}

#[derive(Debug, Subcommand)]
enum Sub {
    /// Per (eventSource, eventName) in the trail: its class, action(s) and count, and the share
    /// mapped or classified.
    Coverage(Box<CoverageArgs>),
    /// An action (`s3:GetObject`) or a service prefix (`s3`): access level, resource types,
    /// condition keys, whether CloudTrail logs it, and the events that map to it.
    Show(ShowArgs),
}

#[derive(Debug, ClapArgs)]
pub struct CoverageArgs {
    #[command(flatten)]
    input: InputArgs,
    #[arg(long, value_enum, default_value_t = Format::Text, help_heading = "Output")]
    format: Format,
}

#[derive(Debug, ClapArgs)]
pub struct ShowArgs {
    /// `prefix:Action` or a service prefix.
    #[arg(value_name = "ACTION|PREFIX")]
    what: String,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

pub fn run(args: Args) -> anyhow::Result<Exit> {
    match args.command {
        Sub::Coverage(a) => coverage(*a),
        Sub::Show(a) => show(a),
    }
}

#[derive(Serialize)]
struct CoverageRow {
    event_source: String,
    event_name: String,
    class: Class,
    actions: Vec<String>,
    count: u64,
}

#[derive(Serialize)]
struct CoverageOutput {
    schema: &'static str,
    events: Vec<CoverageRow>,
    event_kinds: usize,
    mapped_or_classified: usize,
    share: f64,
    records: u64,
}

fn coverage(args: CoverageArgs) -> anyhow::Result<Exit> {
    let Read { analysis, .. } = read!(args.input.read(GeneralizeLevel::Exact, false));
    let usage = &analysis.usage;
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
    let out = CoverageOutput {
        schema: "tightrole/coverage/v1",
        events,
        event_kinds: kinds,
        mapped_or_classified: classified,
        share,
        records: usage.records,
    };
    match args.format {
        Format::Json => {
            let mut s = serde_json::to_string_pretty(&out).context("cannot render JSON")?;
            s.push('\n');
            print_stdout(&s)?;
        }
        Format::Text => {
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
                kinds,
                out.records,
                classified,
                share * 100.0,
                kinds - classified
            ));
            print_stdout(&s)?;
        }
    }
    Ok(args.input.final_exit(&analysis))
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

#[derive(Serialize)]
struct ResourceOut {
    name: String,
    required: bool,
    arn_formats: Vec<String>,
}

#[derive(Serialize)]
struct ActionOut {
    action: String,
    service: String,
    access_level: String,
    observability: Observability,
    resource_types: Vec<ResourceOut>,
    condition_keys: Vec<String>,
    dependent_actions: Vec<String>,
    cloudtrail_events: Vec<String>,
}

fn action_out(catalog: &Catalog, qualified: &str) -> Option<ActionOut> {
    let def = catalog.action_qualified(qualified)?;
    let service = catalog.service(&def.prefix)?;
    let mapper = Mapper::embedded();
    let mut events: Vec<String> = catalog
        .event_sources_for_prefix(&def.prefix)
        .into_iter()
        .map(|src| format!("{src} {}", def.name))
        .collect();
    for (src, name) in mapper.events_for_action(&def.qualified()) {
        events.push(format!("{src} {name} (exception table)"));
    }
    events.sort();
    events.dedup();
    Some(ActionOut {
        action: def.qualified(),
        service: service.name.clone(),
        access_level: def.access.to_string(),
        observability: ObservabilityTable::embedded().of(&def.qualified()),
        resource_types: def
            .resources
            .iter()
            .map(|r| ResourceOut {
                name: r.name.clone(),
                required: r.required,
                arn_formats: catalog
                    .resource_type(&def.prefix, &r.name)
                    .map(|t| t.arn_formats.clone())
                    .unwrap_or_default(),
            })
            .collect(),
        condition_keys: def.condition_keys.clone(),
        dependent_actions: def.dependent_actions.clone(),
        cloudtrail_events: events,
    })
}

#[derive(Serialize)]
struct ServiceOut {
    prefix: String,
    name: String,
    event_sources: Vec<String>,
    resource_types: Vec<ResourceOut>,
    actions: Vec<(String, String, String)>,
}

fn show(args: ShowArgs) -> anyhow::Result<Exit> {
    let catalog = Catalog::embedded();
    let what = args.what.trim();
    if what.contains(':') {
        let Some(a) = action_out(catalog, what) else {
            bail!("`{what}` is not an action in the IAM catalog");
        };
        let text = match args.format {
            Format::Json => serde_json::to_string_pretty(&a).context("cannot render JSON")? + "\n",
            Format::Text => {
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
        };
        print_stdout(&text)?;
        return Ok(Exit::Ok);
    }
    let Some(service) = catalog.service(what) else {
        bail!("`{what}` is not a service prefix in the IAM catalog");
    };
    let obs = ObservabilityTable::embedded();
    let out = ServiceOut {
        prefix: service.prefix.clone(),
        name: service.name.clone(),
        event_sources: catalog
            .event_sources_for_prefix(&service.prefix)
            .into_iter()
            .map(str::to_string)
            .collect(),
        resource_types: service
            .resources
            .values()
            .map(|r| ResourceOut {
                name: r.name.clone(),
                required: false,
                arn_formats: r.arn_formats.clone(),
            })
            .collect(),
        actions: service
            .actions
            .values()
            .map(|a| {
                (
                    a.qualified(),
                    a.access.to_string(),
                    obs.of(&a.qualified()).describe(),
                )
            })
            .collect(),
    };
    let text = match args.format {
        Format::Json => serde_json::to_string_pretty(&out).context("cannot render JSON")? + "\n",
        Format::Text => {
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
    };
    print_stdout(&text)?;
    Ok(Exit::Ok)
}
