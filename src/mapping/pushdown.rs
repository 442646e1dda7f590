//! What the mapping reads from `requestParameters`, per event source: the one table both the
//! local reader (which sees whole records) and the Athena push-down (which extracts only these
//! parameters, `source::athena`) are built from, so that the two cannot drift apart.
//!
//! For an event source it is the union of:
//! - every placeholder of every ARN format of its service (and of the services its exception
//!   rows map to), through the resource-parameter table or the placeholder's own name
//!   (`${TableName}` ← `tableName`), plus `<resourceType>Arn` for ARN-valued parameters;
//! - the parameters of its rows in the exception (`when`), pass-role and tag-on-create tables;
//! - the few parameters the code reads by name ([`CODE_READS`]).

use std::collections::{BTreeMap, BTreeSet};

use super::Mapper;
use super::tables::When;

/// Parameters read by code rather than through a table: function attribution (the function a
/// CreateFunction creates and its role, the qualifier of an invoke, the session an AssumeRole
/// names), the derived rows (DynamoDB transactions and PartiQL, Bedrock's model and
/// knowledge-base configuration) and generic ARN-valued parameters.
pub const CODE_READS: [(&str, &str); 12] = [
    ("bedrock.amazonaws.com", "modelId"),
    ("bedrock.amazonaws.com", "retrieveAndGenerateConfiguration"),
    ("lambda.amazonaws.com", "functionName"),
    ("lambda.amazonaws.com", "role"),
    ("lambda.amazonaws.com", "qualifier"),
    ("sts.amazonaws.com", "roleSessionName"),
    ("dynamodb.amazonaws.com", "transactItems"),
    ("dynamodb.amazonaws.com", "statement"),
    ("dynamodb.amazonaws.com", "statements"),
    ("*", "resourceArn"),
    ("*", "arn"),
    ("*", "roleArn"),
];

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_ascii_lowercase().to_string() + c.as_str(),
        None => String::new(),
    }
}

/// The top-level name of a dotted parameter path (`overrides.taskRoleArn`, `targets[].roleArn`).
fn top(path: &str) -> String {
    path.split(['.', '[']).next().unwrap_or(path).to_string()
}

impl Mapper {
    /// The parameters of one IAM prefix's resource ARNs.
    fn prefix_params(&self, prefix: &str) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let Some(service) = self.catalog.service(prefix) else {
            return out;
        };
        for rt in service.resources().values() {
            out.insert(format!(
                "{}Arn",
                lower_first(&rt.name.replace(['-', '_', ' '], ""))
            ));
            for format in &rt.arn_formats {
                for ph in format
                    .split("${")
                    .skip(1)
                    .filter_map(|p| p.split('}').next())
                {
                    if matches!(ph, "Partition" | "Region" | "Account") {
                        continue;
                    }
                    let bound = self.tables.bindings_any_role(prefix, ph);
                    if bound.is_empty() {
                        out.insert(lower_first(ph));
                    }
                    out.extend(bound.iter().map(|b| top(&b.param)));
                }
            }
        }
        out
    }

    /// The error codes that mean "denied" (their messages name the action).
    pub fn denied_codes(&self) -> Vec<&str> {
        self.tables.denied_codes().collect()
    }

    /// Event source → the top-level `requestParameters` names the mapping may read for it.
    /// `"*"` lists the names read for every source.
    pub fn pushdown_params(&self) -> BTreeMap<String, BTreeSet<String>> {
        let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for service in self.catalog.services() {
            let params = self.prefix_params(&service.prefix);
            for src in self.catalog.event_sources_for_prefix(&service.prefix) {
                out.entry(src.to_string())
                    .or_default()
                    .extend(params.iter().cloned());
            }
        }
        for row in self.tables.all_exception_rows() {
            let entry = out
                .entry(row.event_source.to_ascii_lowercase())
                .or_default();
            if let When::Param(p) = &row.when {
                entry.insert(top(p));
            }
            for a in &row.actions {
                if let Some((prefix, _)) = a.action.split_once(':') {
                    entry.extend(self.prefix_params(prefix));
                }
            }
        }
        for row in &self.tables.passrole {
            out.entry(row.event_source.to_ascii_lowercase())
                .or_default()
                .insert(top(&row.path));
        }
        for row in &self.tables.tagging {
            out.entry(row.event_source.to_ascii_lowercase())
                .or_default()
                .insert(top(&row.param));
        }
        for (src, p) in CODE_READS {
            out.entry(src.to_string())
                .or_default()
                .insert(p.to_string());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_names_what_resource_rules_read() {
        let t = Mapper::embedded().pushdown_params();
        let s3 = &t["s3.amazonaws.com"];
        for p in ["bucketName", "key", "x-amz-copy-source"] {
            assert!(s3.contains(p), "s3 lacks {p}: {s3:?}");
        }
        assert!(t["dynamodb.amazonaws.com"].contains("tableName"));
        assert!(t["sqs.amazonaws.com"].contains("queueUrl"));
        assert!(t["lambda.amazonaws.com"].contains("functionName"));
        assert!(
            t["ecs.amazonaws.com"].contains("overrides"),
            "pass-role paths give their top"
        );
        assert!(t["*"].contains("resourceArn"));
        assert!(t["bedrock.amazonaws.com"].contains("modelId"));
        assert!(
            t["rdsdata.amazonaws.com"].contains("secretArn"),
            "a role binding of an exception row's action"
        );
        assert!(t["sts.amazonaws.com"].contains("sourceIdentity"));
    }
}
