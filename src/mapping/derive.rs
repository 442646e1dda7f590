//! Named rules that read the needed actions, or their resources, from the request itself, for
//! the calls whose action depends on what is inside them. The exception table names the rule
//! (`derive:dynamodb-transact`) and, when the rule only places them, the actions
//! (`derive:bedrock-model bedrock:InvokeModel`); the rule is the only code.

use serde_json::{Map, Value, json};

use super::resource::{Resolved, Resolver};
use super::{Mapper, Need};
use crate::arn::partition_for_region;
use crate::catalog::ActionDef;
use crate::record::{Params, Record};
use crate::wildcard::escape;

pub fn derive(
    rule: &str,
    actions: &[(&'static ActionDef, String)],
    event_name: &str,
    mapper: &Mapper,
    resolver: &Resolver<'_>,
    rec: &Record<'_>,
    params: Option<&Params<'_>>,
) -> Vec<Need> {
    match rule {
        "dynamodb-transact" => dynamodb_transact(mapper, resolver, rec, event_name, params),
        "partiql" => partiql(mapper, resolver, rec, params),
        "bedrock-model" => actions
            .iter()
            .flat_map(|(def, role)| {
                bedrock(def, role, resolver, rec, params)
                    .into_iter()
                    .map(|r| Need::plain(def, r))
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// The first label of a system-defined cross-Region inference profile's ID names its geography
/// (`us.anthropic.claude-3-5-haiku-20241022-v1:0`); a foundation model's ID starts with its
/// provider (`anthropic.claude-3-5-haiku-20241022-v1:0`). Bedrock user guide, supported
/// Regions and models for inference profiles.
const PROFILE_GEOGRAPHIES: [&str; 8] = ["us", "us-gov", "eu", "apac", "jp", "au", "ca", "global"];

/// A string at a dotted path of the request.
fn at<'p>(params: Option<&'p Params<'_>>, path: &str) -> Option<&'p str> {
    let mut parts = path.split('.');
    let mut cur = params?.get(parts.next()?)?;
    for p in parts {
        cur = cur.get(p)?;
    }
    cur.as_str().filter(|s| !s.is_empty())
}

/// Bedrock runtime and agent runtime: `Converse`/`InvokeModel` on the model or inference
/// profile the request names, `Retrieve` on the knowledge base, and each action of
/// `RetrieveAndGenerate` on its part of the configuration. An inference profile's routed model
/// is a second resolution of its own, so that only it is flagged.
fn bedrock(
    def: &'static ActionDef,
    role: &str,
    resolver: &Resolver<'_>,
    rec: &Record<'_>,
    params: Option<&Params<'_>>,
) -> Vec<Resolved> {
    let region = rec.region();
    let account = rec.account();
    let partition = partition_for_region(region);
    let rag = "retrieveAndGenerateConfiguration.knowledgeBaseConfiguration";
    let mut out = Resolved::default();
    match def.name.as_str() {
        "InvokeModel" | "InvokeModelWithResponseStream" => {
            let model = at(params, "modelId")
                .or_else(|| at(params, &format!("{rag}.modelArn")))
                .or_else(|| {
                    at(
                        params,
                        "retrieveAndGenerateConfiguration.externalSourcesConfiguration.modelArn",
                    )
                });
            match model {
                Some(m) => return bedrock_model(m, partition, region, account),
                None => {
                    out.resources.insert(format!(
                        "arn:{partition}:bedrock:{}::foundation-model/*",
                        escape(region)
                    ));
                    out.unresolved.insert("the model".to_string());
                }
            }
        }
        "Retrieve" if role == "rag" => {
            match at(params, &format!("{rag}.knowledgeBaseId")) {
                Some(kb) => {
                    out.resources.insert(format!(
                        "arn:{partition}:bedrock:{}:{}:knowledge-base/{}",
                        escape(region),
                        escape(account),
                        escape(kb)
                    ));
                }
                // Answers from external sources retrieve from no knowledge base.
                None => return Vec::new(),
            }
        }
        _ => return vec![resolver.resolve(def, "-", rec, params)],
    }
    vec![out]
}

/// A model as `InvokeModel` and `Converse` name it: a foundation model's ID (in the caller's
/// Region, no account), a cross-Region inference profile's ID (the profile, and its model in
/// every Region it routes to), or an ARN (as it is; a system-defined profile's ARN also gives
/// its model).
fn bedrock_model(m: &str, partition: &str, region: &str, account: &str) -> Vec<Resolved> {
    let mut out = Resolved::default();
    let (profile_id, arn) = match m.split_once(":inference-profile/") {
        Some((_, id)) if m.starts_with("arn:") => (Some(id), m.to_string()),
        _ if m.starts_with("arn:") => (None, m.to_string()),
        _ => {
            let geo = m.split('.').next().unwrap_or("");
            if PROFILE_GEOGRAPHIES.contains(&geo) && m.contains('.') {
                (
                    Some(m),
                    format!("arn:{partition}:bedrock:{region}:{account}:inference-profile/{m}"),
                )
            } else {
                (
                    None,
                    format!("arn:{partition}:bedrock:{region}::foundation-model/{m}"),
                )
            }
        }
    };
    out.resources.insert(escape(&arn).into_owned());
    if arn.contains(":application-inference-profile/") {
        // An application profile's models are in its configuration, not in the record.
        out.unresolved
            .insert("the models the application inference profile routes to".to_string());
    }
    let mut all = vec![out];
    if let Some(id) = profile_id
        && let Some((_, model)) = id.split_once('.')
    {
        // The profile routes each request to the model in one of its geography's Regions,
        // which the record does not say: the model in any Region, flagged.
        let mut routed = Resolved::default();
        routed.resources.insert(format!(
            "arn:{partition}:bedrock:*::foundation-model/{}",
            escape(model)
        ));
        routed
            .unresolved
            .insert("the Regions the inference profile routes to".to_string());
        all.push(routed);
    }
    all
}

fn need(
    mapper: &Mapper,
    resolver: &Resolver<'_>,
    rec: &Record<'_>,
    action: &str,
    table: Option<&str>,
    index: Option<&str>,
) -> Option<Need> {
    let def = mapper.catalog.action("dynamodb", action)?;
    let resolved = match table {
        Some(t) => {
            let mut p = Map::new();
            p.insert("tableName".into(), json!(t));
            if let Some(i) = index {
                p.insert("indexName".into(), json!(i));
            }
            resolver.resolve_part(def, rec, &p)
        }
        None => resolver.resolve_part(def, rec, &Map::new()),
    };
    Some(Need::plain(def, resolved))
}

/// TransactGetItems / TransactWriteItems: each item is authorized as its own single-item action
/// on its table. Without the items, every action the call could need, on a flagged pattern.
fn dynamodb_transact(
    mapper: &Mapper,
    resolver: &Resolver<'_>,
    rec: &Record<'_>,
    event_name: &str,
    params: Option<&Params<'_>>,
) -> Vec<Need> {
    let items = params
        .and_then(|p| p.get("transactItems"))
        .and_then(Value::as_array);
    let mut out = Vec::new();
    if let Some(items) = items {
        for item in items.iter().filter_map(Value::as_object) {
            for (k, v) in item {
                let action = match k.to_ascii_lowercase().as_str() {
                    "get" => "GetItem",
                    "put" => "PutItem",
                    "update" => "UpdateItem",
                    "delete" => "DeleteItem",
                    "conditioncheck" => "ConditionCheckItem",
                    _ => continue,
                };
                let table = v.get("tableName").and_then(Value::as_str);
                out.extend(need(mapper, resolver, rec, action, table, None));
            }
        }
    }
    if out.is_empty() {
        // No items in the record: every action the call could need, on the tables its
        // `resources[]` name (a data event lists them), else the account's tables, flagged.
        let actions: &[&str] = if event_name == "TransactGetItems" {
            &["GetItem"]
        } else {
            &["PutItem", "UpdateItem", "DeleteItem", "ConditionCheckItem"]
        };
        for a in actions {
            if let Some(def) = mapper.catalog.action("dynamodb", a) {
                out.push(Need::plain(def, resolver.resolve(def, "-", rec, params)));
            }
        }
    }
    out
}

/// The verb and table of one PartiQL statement: `SELECT … FROM "t"."i"`, `INSERT INTO t`,
/// `UPDATE t`, `DELETE FROM t`.
pub fn partiql_target(statement: &str) -> Option<(&'static str, String, Option<String>)> {
    let words: Vec<&str> = statement.split_whitespace().collect();
    let verb = words.first()?.to_ascii_uppercase();
    let (action, after) = match verb.as_str() {
        "SELECT" | "EXISTS" => ("PartiQLSelect", "FROM"),
        "INSERT" => ("PartiQLInsert", "INTO"),
        "UPDATE" => ("PartiQLUpdate", "UPDATE"),
        "DELETE" => ("PartiQLDelete", "FROM"),
        _ => return None,
    };
    let pos = words.iter().position(|w| w.eq_ignore_ascii_case(after))?;
    let target = words.get(pos + 1)?;
    let mut parts = target
        .split('.')
        .map(|p| p.trim_matches(|c| c == '"' || c == '\'' || c == ';' || c == ')'));
    let table = parts.next().filter(|t| !t.is_empty())?.to_string();
    let index = parts.next().map(str::to_string);
    Some((action, table, index))
}

/// ExecuteStatement / BatchExecuteStatement / ExecuteTransaction.
fn partiql(
    mapper: &Mapper,
    resolver: &Resolver<'_>,
    rec: &Record<'_>,
    params: Option<&Params<'_>>,
) -> Vec<Need> {
    let mut statements: Vec<&str> = Vec::new();
    if let Some(p) = params {
        if let Some(s) = p.get("statement").and_then(Value::as_str) {
            statements.push(s);
        }
        for key in ["statements", "transactStatements"] {
            for st in p.get(key).and_then(Value::as_array).into_iter().flatten() {
                if let Some(s) = st.get("statement").and_then(Value::as_str) {
                    statements.push(s);
                }
            }
        }
    }
    let mut out = Vec::new();
    let mut unknown = statements.is_empty();
    for s in statements {
        match partiql_target(s) {
            Some((action, table, index)) => out.extend(need(
                mapper,
                resolver,
                rec,
                action,
                Some(&table),
                index.as_deref(),
            )),
            None => unknown = true,
        }
    }
    if unknown {
        for a in [
            "PartiQLSelect",
            "PartiQLInsert",
            "PartiQLUpdate",
            "PartiQLDelete",
        ] {
            if let Some(mut n) = need(mapper, resolver, rec, a, None, None) {
                n.resolved
                    .unresolved
                    .insert("the PartiQL statement".to_string());
                out.push(n);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::partiql_target;

    #[test]
    fn statements() {
        assert_eq!(
            partiql_target(r#"SELECT * FROM "orders" WHERE pk = ?"#),
            Some(("PartiQLSelect", "orders".into(), None))
        );
        assert_eq!(
            partiql_target(r#"select id from "orders"."by-customer" where c = ?"#),
            Some(("PartiQLSelect", "orders".into(), Some("by-customer".into())))
        );
        assert_eq!(
            partiql_target("INSERT INTO orders VALUE {'pk': ?}"),
            Some(("PartiQLInsert", "orders".into(), None))
        );
        assert_eq!(
            partiql_target("UPDATE \"orders\" SET s = ? WHERE pk = ?"),
            Some(("PartiQLUpdate", "orders".into(), None))
        );
        assert_eq!(
            partiql_target("DELETE FROM orders WHERE pk = ?"),
            Some(("PartiQLDelete", "orders".into(), None))
        );
        assert_eq!(partiql_target("DROP TABLE x"), None);
    }
}
