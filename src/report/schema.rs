//! JSON Schemas of the versioned JSON outputs, generated from the output types themselves, so a
//! schema cannot drift from what the commands print. `tightrole schema NAME` prints one; the
//! committed copies live under `docs/schemas/` (a test keeps them up to date).

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema};
use serde_json::{Value, json};

use crate::diff::DIFF_SCHEMA;
use crate::diff::check::{CHECK_SCHEMA, CheckOutput};
use crate::drift::DRIFT_SCHEMA;
use crate::graph::query::{BLAST_SCHEMA, BlastOutput};
use crate::report::catalog::{COVERAGE_SCHEMA, CoverageOutput};
use crate::report::diff::DiffOutput;
use crate::report::drift::DriftOutput;
use crate::report::graph::render::{GRAPH_SCHEMA, JsonGraph};
use crate::report::{GENERATE_SCHEMA, GenerateOutput, USAGE_SCHEMA, UsageOutput};
use crate::write::{FileSet, WriteError};

/// One published schema: its short name (the file and `tightrole schema` argument), the id the
/// documents carry in their `schema` field, and the command that prints such documents.
#[derive(Debug, Clone, Copy)]
pub struct Published {
    pub name: &'static str,
    pub id: &'static str,
    pub command: &'static str,
    make: fn(SchemaSettings) -> Schema,
}

fn of<T: JsonSchema>(settings: SchemaSettings) -> Schema {
    settings.into_generator().into_root_schema_for::<T>()
}

/// Every versioned JSON output, in the order the documentation lists them.
pub const PUBLISHED: &[Published] = &[
    Published {
        name: "generate",
        id: GENERATE_SCHEMA,
        command: "generate --format json",
        make: of::<GenerateOutput>,
    },
    Published {
        name: "usage",
        id: USAGE_SCHEMA,
        command: "usage --format json",
        make: of::<UsageOutput>,
    },
    Published {
        name: "diff",
        id: DIFF_SCHEMA,
        command: "diff --format json",
        make: of::<DiffOutput<'static>>,
    },
    Published {
        name: "check",
        id: CHECK_SCHEMA,
        command: "check --format json",
        make: of::<CheckOutput>,
    },
    Published {
        name: "drift",
        id: DRIFT_SCHEMA,
        command: "drift --format json",
        make: of::<DriftOutput<'static>>,
    },
    Published {
        name: "coverage",
        id: COVERAGE_SCHEMA,
        command: "catalog coverage --format json",
        make: of::<CoverageOutput>,
    },
    Published {
        name: "blast",
        id: BLAST_SCHEMA,
        command: "graph --blast FUNCTION --format json",
        make: of::<BlastOutput>,
    },
    Published {
        name: "graph",
        id: GRAPH_SCHEMA,
        command: "graph --format json",
        make: of::<JsonGraph<'static>>,
    },
];

/// The schema of `name` (`generate`, `diff`, … or a full id such as `tightrole/diff/v2`).
pub fn find(name: &str) -> Option<&'static Published> {
    PUBLISHED.iter().find(|p| p.name == name || p.id == name)
}

/// One line per schema: name, id, the command that prints such documents.
pub fn listing() -> String {
    PUBLISHED
        .iter()
        .map(|p| format!("{:<9} {:<24} tightrole {}\n", p.name, p.id, p.command))
        .collect()
}

/// Writes every schema into `dir` (as `docs/schemas/` holds them), all or nothing.
pub fn write_all(dir: &std::path::Path) -> Result<Vec<std::path::PathBuf>, WriteError> {
    let mut files = FileSet::new();
    for p in PUBLISHED {
        files.add(&dir.join(p.file_name()), p.text(), p.id)?;
    }
    files.commit()
}

impl Published {
    /// The file name under `docs/schemas/`.
    pub fn file_name(&self) -> String {
        format!(
            "{}.schema.json",
            self.id.replace('/', "-").trim_start_matches("tightrole-")
        )
    }

    /// The schema as JSON (draft 2020-12, describing what the command prints): the `schema`
    /// field is pinned to this id, so a document of another version does not validate, and no
    /// object has a field the schema does not name.
    pub fn schema(&self) -> Value {
        let settings = SchemaSettings::draft2020_12().for_serialize();
        let mut v = (self.make)(settings).to_value();
        let defs = v.get("$defs").cloned().unwrap_or_default();
        inline_extended_refs(&mut v, &defs);
        closed(&mut v);
        if let Some(o) = v.as_object_mut() {
            o.insert(
                "$id".into(),
                json!(format!("urn:{}", self.id.replace('/', ":"))),
            );
            o.insert("title".into(), json!(self.id));
            o.insert(
                "description".into(),
                json!(format!("What `tightrole {}` prints.", self.command)),
            );
            if let Some(p) = o.get_mut("properties").and_then(Value::as_object_mut) {
                p.insert(
                    "schema".into(),
                    json!({"type": "string", "const": self.id, "description": "This document's format and version."}),
                );
            }
        }
        v
    }

    /// The schema as the committed file holds it: pretty JSON with a final newline.
    pub fn text(&self) -> String {
        serde_json::to_string_pretty(&self.schema()).unwrap_or_default() + "\n"
    }
}

/// Every object schema that lists its properties admits no others (policy conditions, maps
/// keyed by name, and a policy's `Principal` are open: they have no `properties`). A struct
/// that flattens an enum has its own properties beside a `oneOf` of the variants: each variant
/// gets the struct's properties too and is closed, and the struct itself is not, since a closed
/// schema would refuse the variants' fields.
fn closed(v: &mut Value) {
    match v {
        Value::Object(o) => {
            let composed = ["oneOf", "anyOf", "allOf"]
                .into_iter()
                .find(|k| o.get(*k).is_some_and(Value::is_array));
            match (o.get("properties").cloned(), composed) {
                (Some(props), Some(key)) => {
                    let required = o.get("required").cloned();
                    if let Some(Value::Array(variants)) = o.get_mut(key) {
                        for variant in variants.iter_mut().filter_map(Value::as_object_mut) {
                            merge(variant, &props, required.as_ref());
                        }
                    }
                }
                (Some(_), None) if !o.contains_key("additionalProperties") => {
                    o.insert("additionalProperties".into(), Value::Bool(false));
                }
                _ => {}
            }
            o.values_mut().for_each(closed);
        }
        Value::Array(a) => a.iter_mut().for_each(closed),
        _ => {}
    }
}

/// An object that refers to a definition and adds properties of its own (an enum variant that
/// wraps a struct: `{"kind": "on", …evidence}`) takes the definition's properties in, so that
/// closing it does not refuse the definition's fields.
fn inline_extended_refs(v: &mut Value, defs: &Value) {
    match v {
        Value::Object(o) => {
            if o.contains_key("properties") {
                let target = o
                    .get("$ref")
                    .and_then(Value::as_str)
                    .and_then(|r| r.strip_prefix("#/$defs/"))
                    .and_then(|name| defs.get(name))
                    .filter(|d| d.get("properties").is_some() && d.get("oneOf").is_none());
                if let Some(target) = target.cloned() {
                    o.remove("$ref");
                    merge(o, &target["properties"], target.get("required"));
                }
            }
            o.values_mut().for_each(|c| inline_extended_refs(c, defs));
        }
        Value::Array(a) => a.iter_mut().for_each(|c| inline_extended_refs(c, defs)),
        _ => {}
    }
}

/// Adds the properties (and required names) of a flattening struct to one of its variants.
fn merge(variant: &mut serde_json::Map<String, Value>, props: &Value, required: Option<&Value>) {
    let own = variant.entry("properties").or_insert_with(|| json!({}));
    if let (Some(own), Some(props)) = (own.as_object_mut(), props.as_object()) {
        for (k, p) in props {
            own.entry(k.clone()).or_insert_with(|| p.clone());
        }
    }
    if let Some(Value::Array(names)) = required {
        let own = variant.entry("required").or_insert_with(|| json!([]));
        if let Some(own) = own.as_array_mut() {
            let add: Vec<Value> = names.iter().filter(|n| !own.contains(n)).cloned().collect();
            own.extend(add);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_schema_is_an_object_schema_pinned_to_its_id() {
        for p in PUBLISHED {
            let v = p.schema();
            assert_eq!(v["type"], "object", "{}", p.name);
            assert_eq!(v["properties"]["schema"]["const"], p.id, "{}", p.name);
            assert!(find(p.name).is_some() && find(p.id).is_some());
        }
        assert_eq!(PUBLISHED[0].file_name(), "generate-v2.schema.json");
    }
}
