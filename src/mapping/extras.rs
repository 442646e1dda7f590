//! What a successful call needed beyond its own action: `iam:PassRole` for a role it passed,
//! the tagging action when it tagged on create, and KMS when a service used a key on the
//! caller's behalf (`kms:ViaService`). The calls are listed in data/passrole.tsv and
//! data/tag-on-create.tsv.

use serde_json::Value;

use super::resource::{Resolved, Resolver};
use super::{Mapper, Need, strip_version};
use crate::arn::partition_for_region;
use crate::model::{add_condition, condition};
use crate::record::{Params, Record};

pub fn add(
    mapper: &Mapper,
    resolver: &Resolver<'_>,
    rec: &Record<'_>,
    (source, name): (&str, &str),
    params: Option<&Params<'_>>,
    needs: &mut super::Needs,
) {
    let name = strip_version(name);
    let partition = partition_for_region(rec.region());
    if let Some(p) = params {
        pass_role(mapper, rec, p, source, name, partition, needs);
        tag_on_create(mapper, resolver, rec, p, source, name, needs);
    }
    via_service(rec, needs);
    sse_kms(mapper, rec, source, name, partition, needs);
}

/// Values at a dotted path; `[]` after a segment takes every element of that array.
fn values_at<'v>(v: &'v Value, path: &str) -> Vec<&'v Value> {
    let mut cur = vec![v];
    for seg in path.split('.') {
        let (key, each) = match seg.strip_suffix("[]") {
            Some(k) => (k, true),
            None => (seg, false),
        };
        let mut next = Vec::new();
        for c in cur {
            if let Some(x) = c.get(key) {
                match (each, x) {
                    (true, Value::Array(a)) => next.extend(a.iter()),
                    (false, x) => next.push(x),
                    _ => {}
                }
            }
        }
        cur = next;
    }
    cur
}

fn pass_role(
    mapper: &Mapper,
    rec: &Record<'_>,
    params: &Params<'_>,
    source: &str,
    name: &str,
    partition: &str,
    needs: &mut super::Needs,
) {
    // (the name first: it tells most rows apart at the cost of a length compare)
    let mut rows = mapper
        .tables
        .passrole
        .iter()
        .filter(|r| r.event_name == name && r.event_source.eq_ignore_ascii_case(source))
        .peekable();
    // the catalog is asked only for a call that may pass a role: this runs for every record
    if rows.peek().is_none() {
        return;
    }
    let Some(def) = mapper.catalog.action("iam", "PassRole") else {
        return;
    };
    // the parameters as one value to walk paths from, made only for a call that passes a role
    let mut root = None;
    for row in rows {
        let root = root.get_or_insert_with(|| params.to_object());
        for v in values_at(root, &row.path) {
            let Some(role) = v.as_str().filter(|s| !s.is_empty()) else {
                continue;
            };
            let mut resolved = Resolved::default();
            if role.starts_with("arn:") {
                resolved
                    .resources
                    .insert(crate::wildcard::escape(role).into_owned());
            } else {
                let account = rec.account();
                let n = crate::wildcard::escape(role.rsplit('/').next().unwrap_or(role));
                resolved
                    .resources
                    .insert(format!("arn:{partition}:iam::{account}:role/{n}"));
                resolved
                    .resources
                    .insert(format!("arn:{partition}:iam::{account}:role/*/{n}"));
            }
            needs.push(Need {
                action: def,
                resolved,
                conditions: condition("StringEquals", "iam:PassedToService", row.passed_to.clone()),
                via: None,
                extra: Some("passrole"),
            });
        }
    }
}

fn non_empty(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        _ => true,
    }
}

fn tag_on_create(
    mapper: &Mapper,
    resolver: &Resolver<'_>,
    rec: &Record<'_>,
    params: &Params<'_>,
    source: &str,
    name: &str,
    needs: &mut super::Needs,
) {
    for row in mapper
        .tables
        .tagging
        .iter()
        .filter(|r| r.event_name == name && r.event_source.eq_ignore_ascii_case(source))
    {
        if !params.get(&row.param).is_some_and(non_empty) {
            continue;
        }
        let Some(def) = mapper.catalog.action_qualified(&row.action) else {
            continue;
        };
        let mut n = Need::plain(def, resolver.resolve(def, "-", rec, Some(params)));
        // Tags on the new resource (or session); otherwise an attribute set with it
        // (`sts:SetSourceIdentity` for AssumeRole's `sourceIdentity`).
        n.extra = Some(if def.access == crate::catalog::AccessLevel::Tagging {
            "tag-on-create"
        } else {
            "set-on-create"
        });
        needs.push(n);
    }
}

/// A KMS call AWS made for the principal (`invokedBy` a service) can be granted only through
/// that service: `kms:ViaService` = `SERVICE.REGION.amazonaws.com`.
fn via_service(rec: &Record<'_>, needs: &mut [Need]) {
    let Some(by) = rec.invoked_by() else { return };
    let Some(service) = by.strip_suffix(".amazonaws.com") else {
        return;
    };
    let region = rec.region();
    if region.is_empty() || service.contains(' ') {
        return;
    }
    for n in needs.iter_mut() {
        if n.action.prefix == "kms"
            && n.action
                .condition_keys
                .iter()
                .any(|k| k.eq_ignore_ascii_case("kms:ViaService"))
        {
            add_condition(
                &mut n.conditions,
                "StringEquals",
                "kms:ViaService",
                crate::wildcard::escape(&format!("{service}.{region}.amazonaws.com")).into_owned(),
            );
        }
    }
}

/// An S3 call on an SSE-KMS object: S3 used the key for the caller, who needs kms:Decrypt (read)
/// or kms:GenerateDataKey (write) on it, through S3.
fn sse_kms(
    mapper: &Mapper,
    rec: &Record<'_>,
    source: &str,
    name: &str,
    partition: &str,
    needs: &mut super::Needs,
) {
    if !source.eq_ignore_ascii_case("s3.amazonaws.com") {
        return;
    }
    let actions: &[&str] = match name {
        "GetObject" | "HeadObject" | "SelectObjectContent" => &["Decrypt"],
        "PutObject" | "CopyObject" => &["GenerateDataKey"],
        "CreateMultipartUpload" | "UploadPart" | "UploadPartCopy" | "CompleteMultipartUpload" => {
            &["Decrypt", "GenerateDataKey"]
        }
        _ => return,
    };
    let Some(resp) = rec.response() else { return };
    let sse = resp
        .get("x-amz-server-side-encryption")
        .and_then(Value::as_str)
        .unwrap_or("");
    if !sse.starts_with("aws:kms") {
        return;
    }
    let Some(key) = resp
        .get("x-amz-server-side-encryption-aws-kms-key-id")
        .and_then(Value::as_str)
    else {
        return;
    };
    let region = rec.region();
    let key = crate::wildcard::escape(key);
    let key_arn = if key.starts_with("arn:") {
        key.into_owned()
    } else {
        format!("arn:{partition}:kms:{region}:{}:key/{key}", rec.account())
    };
    for a in actions {
        let Some(def) = mapper.catalog.action("kms", a) else {
            continue;
        };
        let mut resolved = Resolved::default();
        resolved.resources.insert(key_arn.clone());
        needs.push(Need {
            action: def,
            resolved,
            conditions: condition(
                "StringEquals",
                "kms:ViaService",
                format!("s3.{region}.amazonaws.com"),
            ),
            via: Some("s3.amazonaws.com".into()),
            extra: Some("sse-kms"),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::values_at;
    use serde_json::json;

    #[test]
    fn paths() {
        let v =
            json!({"targets": [{"roleArn": "a"}, {"id": 1}, {"roleArn": "b"}], "o": {"r": "c"}});
        let got: Vec<_> = values_at(&v, "targets[].roleArn")
            .into_iter()
            .filter_map(|x| x.as_str())
            .collect();
        assert_eq!(got, ["a", "b"]);
        assert_eq!(values_at(&v, "o.r"), [&json!("c")]);
        assert!(values_at(&v, "missing.x").is_empty());
    }
}
