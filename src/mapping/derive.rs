//! Named rules that read the needed actions from the request itself, for the calls whose
//! action depends on what is inside them. The exception table names the rule
//! (`derive:dynamodb-transact`); the rule is the only code.

use serde_json::{Map, Value, json};

use super::resource::Resolver;
use super::{Mapper, Need};
use crate::record::Record;

pub fn derive(
    name: &str,
    mapper: &Mapper,
    resolver: &Resolver<'_>,
    rec: &Record<'_>,
    params: Option<&Map<String, Value>>,
) -> Vec<Need> {
    match name {
        "dynamodb-transact" => dynamodb_transact(mapper, resolver, rec, params),
        "partiql" => partiql(mapper, resolver, rec, params),
        _ => Vec::new(),
    }
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
    params: Option<&Map<String, Value>>,
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
        let actions: &[&str] = if rec.name() == "TransactGetItems" {
            &["GetItem"]
        } else {
            &["PutItem", "UpdateItem", "DeleteItem", "ConditionCheckItem"]
        };
        for a in actions {
            out.extend(need(mapper, resolver, rec, a, None, None));
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
    params: Option<&Map<String, Value>>,
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
