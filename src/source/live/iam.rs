//! The current IAM policies from `GetAccountAuthorizationDetails` (`--current live`).
//!
//! The pages are turned into the JSON `aws iam get-account-authorization-details` prints and
//! loaded by the same code as that file, so live and file inputs cannot disagree. The policy
//! documents arrive URL-encoded (or, from some emulators, not); the loader decodes both.

use serde_json::{Value, json};

use super::Live;
use super::error::{AwsError, Call, LiveError, explain};
use crate::diag::Diagnostic;
use crate::policy::current::{CurrentPolicies, from_authorization_details};

fn inline(list: &[aws_sdk_iam::types::PolicyDetail]) -> Vec<Value> {
    list.iter()
        .map(|p| {
            json!({
                "PolicyName": p.policy_name().unwrap_or_default(),
                "PolicyDocument": p.policy_document().unwrap_or_default(),
            })
        })
        .collect()
}

fn attached(list: &[aws_sdk_iam::types::AttachedPolicy]) -> Vec<Value> {
    list.iter()
        .map(|p| json!({ "PolicyArn": p.policy_arn().unwrap_or_default() }))
        .collect()
}

fn boundary(b: Option<&aws_sdk_iam::types::AttachedPermissionsBoundary>) -> Value {
    match b.and_then(|b| b.permissions_boundary_arn()) {
        Some(arn) => json!({ "PermissionsBoundaryArn": arn }),
        None => Value::Null,
    }
}

/// One page as `aws iam get-account-authorization-details` prints it.
fn page_json(
    p: &aws_sdk_iam::operation::get_account_authorization_details::GetAccountAuthorizationDetailsOutput,
) -> Value {
    let roles: Vec<Value> = p
        .role_detail_list()
        .iter()
        .map(|r| {
            json!({
                "RoleName": r.role_name().unwrap_or_default(),
                "Arn": r.arn(),
                "RolePolicyList": inline(r.role_policy_list()),
                "AttachedManagedPolicies": attached(r.attached_managed_policies()),
                "PermissionsBoundary": boundary(r.permissions_boundary()),
            })
        })
        .collect();
    let users: Vec<Value> = p
        .user_detail_list()
        .iter()
        .map(|u| {
            json!({
                "UserName": u.user_name().unwrap_or_default(),
                "Arn": u.arn(),
                "UserPolicyList": inline(u.user_policy_list()),
                "AttachedManagedPolicies": attached(u.attached_managed_policies()),
                "GroupList": u.group_list(),
                "PermissionsBoundary": boundary(u.permissions_boundary()),
            })
        })
        .collect();
    let groups: Vec<Value> = p
        .group_detail_list()
        .iter()
        .map(|g| {
            json!({
                "GroupName": g.group_name().unwrap_or_default(),
                "GroupPolicyList": inline(g.group_policy_list()),
                "AttachedManagedPolicies": attached(g.attached_managed_policies()),
            })
        })
        .collect();
    let policies: Vec<Value> = p
        .policies()
        .iter()
        .map(|m| {
            let versions: Vec<Value> = m
                .policy_version_list()
                .iter()
                .map(|v| {
                    json!({
                        "Document": v.document().unwrap_or_default(),
                        "VersionId": v.version_id(),
                        "IsDefaultVersion": v.is_default_version(),
                    })
                })
                .collect();
            json!({
                "Arn": m.arn().unwrap_or_default(),
                "DefaultVersionId": m.default_version_id(),
                "PolicyVersionList": versions,
            })
        })
        .collect();
    let mut v = json!({
        "RoleDetailList": roles,
        "UserDetailList": users,
        "GroupDetailList": groups,
        "Policies": policies,
    });
    strip_nulls(&mut v);
    v
}

/// `null` where the CLI would print nothing (a role with no boundary).
fn strip_nulls(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|_, x| !x.is_null());
            m.values_mut().for_each(strip_nulls);
        }
        Value::Array(a) => a.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}

/// Loads every page of `GetAccountAuthorizationDetails` into the file loader's types.
pub fn current(live: &Live, diags: &mut Vec<Diagnostic>) -> Result<CurrentPolicies, LiveError> {
    let text = live.runtime.block_on(async {
        let client = aws_sdk_iam::Client::new(&live.config);
        let mut text = String::new();
        let mut marker: Option<String> = None;
        loop {
            let page = client
                .get_account_authorization_details()
                .set_marker(marker.clone())
                .send()
                .await
                .map_err(|e| {
                    explain(e, Call::GetAccountAuthorizationDetails, "the account", "*")
                })?;
            text.push_str(&page_json(&page).to_string());
            text.push('\n');
            marker = page.marker().map(str::to_string).filter(|m| !m.is_empty());
            if !page.is_truncated() || marker.is_none() {
                break;
            }
        }
        Ok::<String, AwsError>(text)
    })?;
    let mut current = from_authorization_details(&text, "live IAM", diags)?;
    current.source = "live IAM (GetAccountAuthorizationDetails)".to_string();
    Ok(current)
}
