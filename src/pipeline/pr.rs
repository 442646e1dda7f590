//! `pr`: the proposed policies as the files of a pull request (one per role, one per user), and
//! the body that explains the change.

use std::collections::BTreeMap;
use std::path::Path;

use super::{Analysis, Current, Error, SharedRole, SynthSettings};
use crate::catalog::Catalog;
use crate::diff::{DiffOptions, diff};
use crate::escape::terminal;
use crate::identity::PrincipalKind;
use crate::report::PrincipalOut;
use crate::usage::{EvidenceMap, PrincipalId, PrincipalUsage, Usage};
use crate::write::FileSet;

/// The format of the policy files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PolicyFileFormat {
    /// `<role>.json`: IAM policy documents.
    #[default]
    Json,
    /// `<role>.tf`
    Terraform,
    /// `<role>.yaml`: CloudFormation `AWS::IAM::RolePolicy`.
    Cloudformation,
}

/// A pull request: the files to write (policies and body), all or nothing.
pub struct PullRequest {
    pub files: FileSet,
    /// How many of `files` are policies.
    pub policies: usize,
}

/// The proposal of every role and user, replayed, as policy files under `out` in `format`, and
/// the body (a diff against `current`, with the graph) at `body`. The resources stay exact: the
/// body's diff replays every observed call against the current policies, and a folded pattern
/// would not match a narrower grant.
pub fn pull_request(
    analysis: &Analysis,
    settings: &SynthSettings,
    current: &Current,
    out: &Path,
    format: PolicyFileFormat,
    body: &Path,
) -> Result<PullRequest, Error> {
    // the functions' ARNs, for their runtime grants once they sit under their role
    let mut inventory = analysis.inventory.clone();
    for (id, p) in &analysis.usage.principals {
        if let (PrincipalKind::Function, Some(arn)) = (id.kind, &p.arn) {
            let f = inventory.entry(&id.name);
            if f.arn.is_none() {
                f.arn = Some(arn.clone());
            }
        }
    }
    let grouped = Analysis {
        usage: per_file(&analysis.usage),
        inventory,
        stats: analysis.stats.clone(),
        diagnostics: analysis.diagnostics.clone(),
        observed: analysis.observed.clone(),
    };
    let settings = SynthSettings {
        shared_role: SharedRole::Split,
        functions_under_roles: true,
        ..settings.clone()
    };
    let proposed = super::generate(grouped, &settings, Some(current))?;
    let report = diff(
        &analysis.usage,
        &current.policies,
        &DiffOptions {
            runtime: settings.runtime.then(|| analysis.inventory.clone()),
            ..DiffOptions::default()
        },
        Catalog::embedded(),
    );
    let text = crate::report::pr::body(&report, &proposed.principals, &analysis.usage);
    let mut files = policy_files(out, format, &proposed.principals)?;
    let policies = files.len();
    files.add(body, text, "the pull request body")?;
    Ok(PullRequest { files, policies })
}

/// Every principal grouped under the role (or user) its policy file is for
/// ([`Usage::by_owner`]): functions of a role with two or more functions are scoped with
/// `lambda:SourceFunctionArn`. Principals without an owner stay as they are.
pub fn per_file(usage: &Usage) -> Usage {
    // the grants are copied as they are in memory: every one must have been read back
    debug_assert!(
        !usage.is_spilled(),
        "grouping a usage whose grants are on disk"
    );
    let mut out = Usage {
        principals: BTreeMap::new(),
        ..usage.clone()
    };
    let owned = usage.by_owner();
    let mut members: Vec<(PrincipalId, bool, &PrincipalId, &PrincipalUsage)> = Vec::new();
    for (owner, group) in &owned {
        let functions = group
            .iter()
            .filter(|(id, _)| id.kind == PrincipalKind::Function)
            .count();
        for &(id, p) in group {
            let scope = id.kind == PrincipalKind::Function && functions > 1;
            members.push((owner.clone(), scope, id, p));
        }
    }
    for (id, p) in &usage.principals {
        if id.owner(p).is_none() {
            members.push((id.clone(), false, id, p));
        }
    }
    for (key, scope, id, p) in members {
        let entry = out.principals.entry(key).or_insert_with(|| PrincipalUsage {
            role_arn: p.role_arn.clone(),
            arn: if id.kind == PrincipalKind::Function {
                p.role_arn.clone()
            } else {
                p.arn.clone()
            },
            ..PrincipalUsage::default()
        });
        if id.kind == PrincipalKind::Function {
            entry.functions.insert(id.name.clone());
        }
        let condition = scope
            .then(|| crate::synth::scope::source_function(p.arn.as_deref().unwrap_or_default()));
        entry.grants.add_all(p.grants.iter().map(|(k, ev)| {
            let ev = match &condition {
                Some(c) => ev.scoped(c),
                None => ev.clone(),
            };
            (k.clone(), ev)
        }));
        entry
            .denied
            .add_all(p.denied.iter().map(|(k, ev)| (k.clone(), ev.clone())));
        entry.data_types.extend(p.data_types.iter().cloned());
        entry.calls += p.calls;
        entry.days.merge(&p.days);
    }
    out
}

/// The policy files of every proposal, named by [`crate::write::principal_stems`]: the same
/// role name in two accounts gets two files, and two principals that would share a file are an
/// error.
pub fn policy_files(
    out: &Path,
    format: PolicyFileFormat,
    principals: &[PrincipalOut],
) -> Result<FileSet, Error> {
    let with_policy: Vec<&PrincipalOut> =
        principals.iter().filter(|p| p.policy.is_some()).collect();
    // Roles at the top, as the repository keeps them; every other kind in a folder of its own,
    // so that no name from the log (a federated user's is the caller's choice) can take a
    // role's file. `--current DIR` reads `user/` and skips the others.
    let group = |p: &PrincipalOut| match p.kind {
        PrincipalKind::Role => "",
        k => k.as_str(),
    };
    let keys: Vec<(&str, &str, &str)> = with_policy
        .iter()
        .map(|p| (group(p), p.name.as_str(), p.account.as_str()))
        .collect();
    let stems = crate::write::principal_stems(&keys);
    let mut files = FileSet::new();
    for (p, stem) in with_policy.into_iter().zip(stems) {
        let dir = match group(p) {
            "" => out.to_path_buf(),
            g => out.join(g),
        };
        let owner = format!(
            "{} `{}` of account `{}`",
            p.kind,
            terminal(&p.name),
            terminal(&p.account)
        );
        match format {
            PolicyFileFormat::Terraform => {
                let text = crate::report::iac::terraform(std::slice::from_ref(p))?;
                files.add(&dir.join(format!("{stem}.tf")), text, owner)?;
            }
            PolicyFileFormat::Cloudformation => {
                let text = crate::report::iac::cloudformation(std::slice::from_ref(p))?;
                files.add(&dir.join(format!("{stem}.yaml")), text, owner)?;
            }
            PolicyFileFormat::Json => {
                let docs: Vec<&crate::policy::PolicyDocument> = if p.policies.is_empty() {
                    p.policy.iter().collect()
                } else {
                    p.policies.iter().collect()
                };
                for (i, d) in docs.iter().enumerate() {
                    let name = crate::policy::current::policy_file_name(&stem, i + 1);
                    files.add(&dir.join(name), d.to_json_pretty() + "\n", owner.clone())?;
                }
            }
        }
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use crate::identity::Inventory;
    use crate::source::Filters;
    use crate::source::Input;
    use crate::usage::{Usage, collect};

    /// Issue #18: a denied call was inserted, then merged into itself, counting twice.
    #[test]
    fn per_file_counts_each_denied_call_once() {
        let dir = tempfile::tempdir().unwrap();
        let rec = |id: &str| {
            serde_json::json!({
                "eventVersion": "1.09", "eventTime": "2026-11-02T10:00:00Z",
                "userIdentity": {"type": "AssumedRole", "accountId": "111122223333",
                    "arn": "arn:aws:sts::111122223333:assumed-role/app-role/s",
                    "sessionContext": {"sessionIssuer": {"type": "Role",
                        "arn": "arn:aws:iam::111122223333:role/app-role", "userName": "app-role"}}},
                "eventSource": "s3.amazonaws.com", "eventName": "DeleteObject",
                "awsRegion": "eu-west-1", "userAgent": "aws-cli/2.15.0",
                "requestParameters": {"bucketName": "b", "key": "k"}, "errorCode": "AccessDenied",
                "eventID": id, "eventType": "AwsApiCall", "recipientAccountId": "111122223333"
            })
        };
        let path = dir.path().join("t.json");
        let records = serde_json::json!({"Records": [rec("a"), rec("b"), rec("c")]});
        std::fs::write(&path, records.to_string()).unwrap();
        let (agg, _, _) = collect(&[Input::File(path)], &Filters::default(), Some(1));
        let usage = Usage::resolve(agg, &Inventory::default());
        let count = |u: &Usage| -> u64 {
            u.principals
                .values()
                .flat_map(|p| p.denied.values())
                .map(|e| e.seen.count)
                .sum()
        };
        assert_eq!(count(&usage), 3);
        assert_eq!(count(&super::per_file(&usage)), 3);
    }
}
