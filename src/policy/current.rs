//! The permissions principals have today, from three sources, into one model:
//! `aws iam get-account-authorization-details` JSON, a directory of policy files, or a single
//! policy file. The live IAM loader fills the same types.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use super::{Context, Decision, PolicyDocument, Request, evaluate_all};
use crate::diag::Diagnostic;

/// One policy attached to a principal, and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedPolicy {
    /// `inline:NAME`, a managed policy ARN, `group:G/inline:NAME`, or a file path.
    pub source: String,
    pub document: PolicyDocument,
}

/// What one principal (role or user) is granted today.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CurrentPrincipal {
    pub arn: Option<String>,
    pub policies: Vec<NamedPolicy>,
    pub boundary: Option<NamedPolicy>,
    /// Parts of the current permissions that could not be loaded (a managed policy missing
    /// from the export): the diff says its view is incomplete.
    pub incomplete: Vec<String>,
}

impl CurrentPrincipal {
    /// Evaluates a request against the principal's identity policies, within its boundary.
    pub fn evaluate(&self, action: &str, resource: &str, context: &Context) -> Decision {
        let req = Request {
            action,
            resource,
            context,
        };
        let identity = evaluate_all(self.policies.iter().map(|p| &p.document), &req);
        let Some(b) = &self.boundary else {
            return identity;
        };
        let boundary = evaluate_all([&b.document], &req);
        combine(identity, boundary)
    }
}

/// Identity ∩ boundary: both must allow; an explicit deny in either wins.
pub fn combine(identity: Decision, boundary: Decision) -> Decision {
    use Decision::*;
    match (identity, boundary) {
        (ExplicitDeny, _) | (_, ExplicitDeny) => ExplicitDeny,
        (Allow, Allow) => Allow,
        (ImplicitDeny, _) | (_, ImplicitDeny) => ImplicitDeny,
        _ => Conditional,
    }
}

/// Current permissions by principal kind (`role`, `user`) and name.
#[derive(Debug, Clone, Default)]
pub struct CurrentPolicies {
    pub roles: BTreeMap<String, CurrentPrincipal>,
    pub users: BTreeMap<String, CurrentPrincipal>,
    /// What a directory gives for one account only, by (name, account): `NAME@ACCOUNT.json`, as
    /// `generate --out` and `pr` write a name that repeats across accounts.
    pub roles_in: BTreeMap<(String, String), CurrentPrincipal>,
    pub users_in: BTreeMap<(String, String), CurrentPrincipal>,
    /// A single policy file that applies to every selected principal.
    pub any: Option<CurrentPrincipal>,
    /// Where it was loaded from, for reports.
    pub source: String,
}

impl CurrentPolicies {
    /// The current permissions of a role (by name), a user, or what the single file grants.
    pub fn for_role(&self, name: &str) -> Option<&CurrentPrincipal> {
        self.roles.get(name).or(self.any.as_ref())
    }

    pub fn for_user(&self, name: &str) -> Option<&CurrentPrincipal> {
        self.users.get(name).or(self.any.as_ref())
    }

    /// The role `name` of `account`: its account's own files when there are any, else what
    /// [`for_role`](Self::for_role) gives. Another account's files never apply.
    pub fn for_role_in(&self, name: &str, account: &str) -> Option<&CurrentPrincipal> {
        self.roles_in
            .get(&(name.to_string(), account.to_string()))
            .or_else(|| self.for_role(name))
    }

    /// As [`for_role_in`](Self::for_role_in), for a user.
    pub fn for_user_in(&self, name: &str, account: &str) -> Option<&CurrentPrincipal> {
        self.users_in
            .get(&(name.to_string(), account.to_string()))
            .or_else(|| self.for_user(name))
    }

    /// Every role's policies by name alone, the files of all accounts together (for `drift`,
    /// which follows roles by name).
    pub fn roles_by_name(&self) -> BTreeMap<String, CurrentPrincipal> {
        let mut out = self.roles.clone();
        for ((name, _), cp) in &self.roles_in {
            let e = out.entry(name.clone()).or_default();
            e.policies.extend(cp.policies.iter().cloned());
            e.incomplete.extend(cp.incomplete.iter().cloned());
        }
        out
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read `{path}`: {reason}")]
    Read { path: String, reason: String },
    #[error(
        "`{path}` is neither a policy document nor `aws iam get-account-authorization-details` output: {reason}"
    )]
    Shape { path: String, reason: String },
}

/// A policy document given as a JSON object, or as a (possibly URL-encoded) string.
fn document(v: &Value) -> Result<PolicyDocument, String> {
    match v {
        Value::String(s) => PolicyDocument::parse(s).map_err(|e| e.to_string()),
        other => PolicyDocument::parse(&other.to_string()).map_err(|e| e.to_string()),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AuthDetails {
    #[serde(default)]
    user_detail_list: Vec<UserDetail>,
    #[serde(default)]
    group_detail_list: Vec<GroupDetail>,
    #[serde(default)]
    role_detail_list: Vec<RoleDetail>,
    #[serde(default)]
    policies: Vec<ManagedPolicy>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct InlinePolicy {
    policy_name: String,
    policy_document: Value,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Attached {
    policy_arn: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Boundary {
    permissions_boundary_arn: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RoleDetail {
    role_name: String,
    #[serde(default)]
    arn: Option<String>,
    #[serde(default)]
    role_policy_list: Vec<InlinePolicy>,
    #[serde(default)]
    attached_managed_policies: Vec<Attached>,
    #[serde(default)]
    permissions_boundary: Option<Boundary>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct UserDetail {
    user_name: String,
    #[serde(default)]
    arn: Option<String>,
    #[serde(default)]
    user_policy_list: Vec<InlinePolicy>,
    #[serde(default)]
    attached_managed_policies: Vec<Attached>,
    #[serde(default)]
    group_list: Vec<String>,
    #[serde(default)]
    permissions_boundary: Option<Boundary>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GroupDetail {
    group_name: String,
    #[serde(default)]
    group_policy_list: Vec<InlinePolicy>,
    #[serde(default)]
    attached_managed_policies: Vec<Attached>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ManagedPolicy {
    arn: String,
    #[serde(default)]
    default_version_id: Option<String>,
    #[serde(default)]
    policy_version_list: Vec<PolicyVersion>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PolicyVersion {
    document: Value,
    #[serde(default)]
    version_id: Option<String>,
    #[serde(default)]
    is_default_version: bool,
}

/// Loads `aws iam get-account-authorization-details` output (one document or several
/// concatenated pages).
pub fn from_authorization_details(
    text: &str,
    path: &str,
    diags: &mut Vec<Diagnostic>,
) -> Result<CurrentPolicies, LoadError> {
    let mut pages = Vec::new();
    for page in serde_json::Deserializer::from_str(text).into_iter::<AuthDetails>() {
        pages.push(page.map_err(|e| LoadError::Shape {
            path: path.to_string(),
            reason: crate::diag::serde_reason(&e),
        })?);
    }
    let mut managed: BTreeMap<String, PolicyDocument> = BTreeMap::new();
    for page in &pages {
        for p in &page.policies {
            let version = p.policy_version_list.iter().find(|v| {
                v.is_default_version
                    || v.version_id.is_some() && v.version_id == p.default_version_id
            });
            match version.map(|v| document(&v.document)) {
                Some(Ok(doc)) => {
                    managed.insert(p.arn.clone(), doc);
                }
                Some(Err(e)) => diags.push(Diagnostic::warning(
                    path,
                    format!("managed policy `{}`: {e}", p.arn),
                )),
                None => diags.push(Diagnostic::warning(
                    path,
                    format!("managed policy `{}` has no default version", p.arn),
                )),
            }
        }
    }
    let mut out = CurrentPolicies {
        source: path.to_string(),
        ..CurrentPolicies::default()
    };
    let attach = |cp: &mut CurrentPrincipal, list: &[Attached], prefix: &str| {
        for a in list {
            match managed.get(&a.policy_arn) {
                Some(doc) => cp.policies.push(NamedPolicy {
                    source: format!("{prefix}{}", a.policy_arn),
                    document: doc.clone(),
                }),
                None => cp.incomplete.push(format!(
                    "managed policy `{}` is not in the export",
                    a.policy_arn
                )),
            }
        }
    };
    let inline = |cp: &mut CurrentPrincipal,
                  list: &[InlinePolicy],
                  prefix: &str,
                  diags: &mut Vec<Diagnostic>| {
        for p in list {
            match document(&p.policy_document) {
                Ok(doc) => cp.policies.push(NamedPolicy {
                    source: format!("{prefix}inline:{}", p.policy_name),
                    document: doc,
                }),
                Err(e) => {
                    diags.push(Diagnostic::warning(
                        path,
                        format!("inline policy `{}`: {e}", p.policy_name),
                    ));
                    cp.incomplete.push(format!(
                        "inline policy `{}` could not be read",
                        p.policy_name
                    ));
                }
            }
        }
    };
    let boundary = |cp: &mut CurrentPrincipal, b: &Option<Boundary>| {
        if let Some(b) = b {
            match managed.get(&b.permissions_boundary_arn) {
                Some(doc) => {
                    cp.boundary = Some(NamedPolicy {
                        source: b.permissions_boundary_arn.clone(),
                        document: doc.clone(),
                    })
                }
                None => cp.incomplete.push(format!(
                    "permissions boundary `{}` is not in the export",
                    b.permissions_boundary_arn
                )),
            }
        }
    };
    let groups: BTreeMap<&str, &GroupDetail> = pages
        .iter()
        .flat_map(|p| p.group_detail_list.iter())
        .map(|g| (g.group_name.as_str(), g))
        .collect();
    for page in &pages {
        for r in &page.role_detail_list {
            let mut cp = CurrentPrincipal {
                arn: r.arn.clone(),
                ..CurrentPrincipal::default()
            };
            inline(&mut cp, &r.role_policy_list, "", diags);
            attach(&mut cp, &r.attached_managed_policies, "");
            boundary(&mut cp, &r.permissions_boundary);
            out.roles.insert(r.role_name.clone(), cp);
        }
        for u in &page.user_detail_list {
            let mut cp = CurrentPrincipal {
                arn: u.arn.clone(),
                ..CurrentPrincipal::default()
            };
            inline(&mut cp, &u.user_policy_list, "", diags);
            attach(&mut cp, &u.attached_managed_policies, "");
            for g in &u.group_list {
                match groups.get(g.as_str()) {
                    Some(gd) => {
                        let prefix = format!("group:{g}/");
                        inline(&mut cp, &gd.group_policy_list, &prefix, diags);
                        attach(&mut cp, &gd.attached_managed_policies, &prefix);
                    }
                    None => cp
                        .incomplete
                        .push(format!("group `{g}` is not in the export")),
                }
            }
            boundary(&mut cp, &u.permissions_boundary);
            out.users.insert(u.user_name.clone(), cp);
        }
    }
    Ok(out)
}

fn read(path: &Path) -> Result<String, LoadError> {
    std::fs::read_to_string(path).map_err(|e| LoadError::Read {
        path: path.display().to_string(),
        reason: crate::diag::io_reason(&e),
    })
}

/// Loads `--current`: a directory of policy files, an authorization-details export, or one
/// policy document.
///
/// A directory holds `NAME.json` (the policy of role or user NAME), `NAME/*.json` (several
/// policies of NAME), and the layout `generate --out` writes (`role/NAME.json`,
/// `user/NAME.json`; `function/*` files are proposals and are skipped).
pub fn load(path: &Path, diags: &mut Vec<Diagnostic>) -> Result<CurrentPolicies, LoadError> {
    let display = path.display().to_string();
    if path.is_dir() {
        return load_dir(path, diags);
    }
    let text = read(path)?;
    let value: Value = serde_json::from_str(text.trim_start_matches('\u{feff}')).map_err(|e| {
        LoadError::Shape {
            path: display.clone(),
            reason: crate::diag::serde_reason(&e),
        }
    })?;
    let is_details = [
        "RoleDetailList",
        "UserDetailList",
        "GroupDetailList",
        "Policies",
    ]
    .iter()
    .any(|k| value.get(k).is_some());
    if is_details {
        return from_authorization_details(&text, &display, diags);
    }
    // From the text itself, so that duplicate keys are refused rather than silently merged.
    let doc = PolicyDocument::parse(&text).map_err(|e| LoadError::Shape {
        path: display.clone(),
        reason: e.to_string(),
    })?;
    Ok(CurrentPolicies {
        any: Some(CurrentPrincipal {
            arn: None,
            policies: vec![NamedPolicy {
                source: display.clone(),
                document: doc,
            }],
            boundary: None,
            incomplete: Vec::new(),
        }),
        source: display,
        ..CurrentPolicies::default()
    })
}

/// The file holding part `part` (from 1) of the policies written for a principal whose file
/// stem is `stem`: `STEM.json`, then `STEM~2.json`, `STEM~3.json`, … when the policy was split
/// to fit IAM's size limits. No principal's stem holds a `~` (IAM names cannot, and
/// `write::safe_file_name` replaces it), so a part can never be read as a principal of its own.
pub fn policy_file_name(stem: &str, part: usize) -> String {
    if part <= 1 {
        format!("{stem}.json")
    } else {
        format!("{stem}~{part}.json")
    }
}

/// The principal a policy file's stem (its name without `.json`) is about: without the part
/// a split adds ([`policy_file_name`]: `~N`) and without the account `generate --out` and `pr`
/// add when a name repeats across accounts (`@` and twelve digits). Any other `@` is part of
/// the name, as in a user named after an email address.
pub fn principal_of_stem(stem: &str) -> &str {
    name_and_account(stem).0
}

/// As [`principal_of_stem`], with the account the stem names, if any.
fn name_and_account(stem: &str) -> (&str, Option<&str>) {
    match split_part(stem) {
        Some((base, _)) => base_and_account(base),
        None => base_and_account(stem),
    }
}

/// A stem without its part (`~N`), split into the name and the account it names, if any.
fn base_and_account(stem: &str) -> (&str, Option<&str>) {
    match stem.rsplit_once('@') {
        Some((name, account))
            if !name.is_empty()
                && account.len() == 12
                && account.bytes().all(|b| b.is_ascii_digit()) =>
        {
            (name, Some(account))
        }
        _ => (stem, None),
    }
}

/// `STEM~N` as written by [`policy_file_name`] (N from 2, no leading zero): the stem and N.
pub fn split_part(stem: &str) -> Option<(&str, usize)> {
    let (name, n) = stem.rsplit_once('~')?;
    let part: usize = n.parse().ok()?;
    // written back as it reads, so all digits and no leading zero or sign
    (!name.is_empty() && part >= 2 && part.to_string() == n).then_some((name, part))
}

fn load_dir(dir: &Path, diags: &mut Vec<Diagnostic>) -> Result<CurrentPolicies, LoadError> {
    let mut out = CurrentPolicies {
        source: dir.display().to_string(),
        ..CurrentPolicies::default()
    };
    let mut files: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .follow_links(true)
        .into_iter()
        .filter_map(|e| match e {
            Ok(e) => Some(e),
            Err(err) => {
                diags.push(Diagnostic::warning(
                    dir.display().to_string(),
                    format!("cannot read: {err}"),
                ));
                None
            }
        })
        .filter(|e| e.file_type().is_file() && e.path().extension().is_some_and(|x| x == "json"))
        .map(|e| e.into_path())
        .collect();
    files.sort();
    let present: std::collections::BTreeSet<PathBuf> = files.iter().cloned().collect();
    for f in files {
        let Ok(rel) = f.strip_prefix(dir) else {
            continue;
        };
        let parts: Vec<String> = rel
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        // the file's stem without its part, if it is one (`NAME~N`)
        let file = parts
            .last()
            .map_or("", |f| f.strip_suffix(".json").unwrap_or(f));
        let base = match split_part(file) {
            Some((base, _)) => {
                // A later part without the first: left by hand, or by a run of another version.
                if !present.contains(&f.with_file_name(format!("{base}.json"))) {
                    diags.push(Diagnostic::warning(
                        f.display().to_string(),
                        format!(
                            "a later part of a split policy without its first part, `{base}.json`; read as a policy of `{}`",
                            base_and_account(base).0
                        ),
                    ));
                }
                base
            }
            None => file,
        };
        let (kind, (name, account)) = match parts.as_slice() {
            [_] => ("role", base_and_account(base)),
            [k, _] if k == "role" || k == "user" => (
                if k == "role" { "role" } else { "user" },
                base_and_account(base),
            ),
            [k, _] if k == "function" || k == "federated" || k == "root" => continue,
            [owner, _] => ("role", name_and_account(owner)),
            _ => continue,
        };
        let (name, account) = (name.to_string(), account.map(str::to_string));
        let text = match read(&f) {
            Ok(t) => t,
            Err(e) => {
                diags.push(Diagnostic::warning(f.display().to_string(), e.to_string()));
                continue;
            }
        };
        let doc = PolicyDocument::parse(&text).map_err(|e| e.to_string());
        match doc {
            Ok(document) => {
                let policy = NamedPolicy {
                    source: f.display().to_string(),
                    document,
                };
                let entry = match (kind, account) {
                    ("user", None) => out.users.entry(name).or_default(),
                    (_, None) => out.roles.entry(name).or_default(),
                    ("user", Some(a)) => out.users_in.entry((name, a)).or_default(),
                    (_, Some(a)) => out.roles_in.entry((name, a)).or_default(),
                };
                entry.policies.push(policy);
            }
            Err(reason) => diags.push(Diagnostic::warning(
                f.display().to_string(),
                format!("not a policy document: {reason}"),
            )),
        }
    }
    Ok(out)
}
