//! Usage → a replayed proposal for every principal, in parallel, with the size of the usage
//! graph; and the policy files of `generate --out`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::{Analysis, Error};
use crate::catalog::Catalog;
use crate::diag::Diagnostic;
use crate::graph::AccessGraph;
use crate::identity::PrincipalKind;
use crate::policy::current::CurrentPolicies;
use crate::report::{self, GENERATE_SCHEMA, GenerateOutput, PrincipalOut, Summary};
use crate::synth::carry::Carry;
use crate::synth::{Carried, RuntimeEvidence, SynthOptions};
use crate::usage::{PrincipalId, PrincipalUsage};

/// What to do with functions that share a role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SharedRole {
    /// One policy per function, and the advice to give each function its own role.
    #[default]
    Split,
    /// One policy for the shared role, each function's grants conditioned on
    /// `lambda:SourceFunctionArn`.
    Scope,
}

/// Options of synthesis, shared by `generate`, `pr` and `explain`.
#[derive(Debug, Clone)]
pub struct SynthSettings {
    pub options: SynthOptions,
    pub shared_role: SharedRole,
    /// A keep-list of permissions to carry although the window did not show them.
    pub keep: Option<PathBuf>,
    /// Grant what the Lambda runtime needs from each function's configuration
    /// ([`crate::runtime`]); `--no-runtime` turns it off.
    pub runtime: bool,
    /// The usage holds each shared role's functions under the role (`pr`'s per-file grouping;
    /// `--shared-role scope` implies it): a role's policy carries its functions' runtime grants.
    pub functions_under_roles: bool,
}

impl Default for SynthSettings {
    fn default() -> Self {
        SynthSettings {
            options: SynthOptions::default(),
            shared_role: SharedRole::default(),
            keep: None,
            runtime: true,
            functions_under_roles: false,
        }
    }
}

/// The grants the Lambda runtime needs for the functions whose policy `id` is: the function
/// itself, or (when functions sit under their role) each function of the role. A grant made from
/// the execution environment is conditioned on the function's ARN when the role holds several
/// functions, so that no function gets another's; what Lambda's platform does is not (its calls
/// carry no `lambda:SourceFunctionArn`), and is still only the function's own mapping, queue or
/// destination.
fn runtime_grants(
    id: &PrincipalId,
    p: &PrincipalUsage,
    analysis: &Analysis,
    fn_arns: &BTreeMap<&str, &str>,
    under_roles: bool,
) -> Vec<Carried> {
    let functions: Vec<&str> = match id.kind {
        PrincipalKind::Function => vec![id.name.as_str()],
        PrincipalKind::Role if under_roles => p.functions.iter().map(String::as_str).collect(),
        _ => return Vec::new(),
    };
    let scoped = id.kind == PrincipalKind::Role && functions.len() > 1;
    let mut out = Vec::new();
    for name in functions {
        let known = analysis.inventory.functions.get(name);
        let fn_arn = known
            .and_then(|f| f.arn.clone())
            .or_else(|| fn_arns.get(name).map(|a| a.to_string()));
        let reqs = crate::runtime::requirements(&crate::runtime::Function {
            name,
            arn: fn_arn.as_deref(),
            account: &id.account,
            config: known.map(|f| &f.config),
        });
        for r in reqs {
            let mut condition = r.condition.clone();
            if scoped
                && r.in_environment
                && let Some(arn) = &fn_arn
            {
                crate::model::add_condition(
                    &mut condition,
                    "ArnEquals",
                    crate::synth::scope::SOURCE_FUNCTION_ARN,
                    crate::wildcard::escape(arn).into_owned(),
                );
            }
            for action in &r.actions {
                out.push(Carried {
                    action: action.clone(),
                    resources: vec![r.resource.clone()],
                    label: crate::synth::RUNTIME.to_string(),
                    reason: format!("the Lambda runtime needs it ({}: {})", r.field, r.source),
                    condition: condition.clone(),
                    evidence: Some(RuntimeEvidence {
                        kind: "runtime",
                        field: r.field.clone(),
                        function: name.to_string(),
                        source: r.source.clone(),
                    }),
                    ..Carried::default()
                });
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// `--current`, loaded once, with what loading it reported.
pub struct Current {
    pub policies: CurrentPolicies,
    pub diagnostics: Vec<Diagnostic>,
}

impl Current {
    /// Loads current policies from files or from IAM, keeping what loading reported.
    pub fn load(
        from: &super::Location,
        live: Option<&crate::source::live::Live>,
    ) -> Result<Current, Error> {
        let mut diagnostics = Vec::new();
        let policies = super::load_current(from, live, &mut diagnostics)?;
        Ok(Current {
            policies,
            diagnostics,
        })
    }
}

/// What the output says of the runtime grants: that they are off, or what they could not know.
fn runtime_notes(analysis: &Analysis, settings: &SynthSettings, diagnostics: &mut Vec<Diagnostic>) {
    let has_functions = analysis
        .usage
        .principals
        .keys()
        .any(|id| id.kind == PrincipalKind::Function);
    if !has_functions {
        return;
    }
    if !settings.runtime {
        diagnostics.push(Diagnostic::note(
            "--no-runtime",
            "runtime requirements are off: no function's policy grants its logs, event-source polling, dead-letter queue, destinations, network interfaces, tracing or file systems; applied as they are, the policies may stop functions from logging or from receiving events",
        ));
    } else if analysis
        .inventory
        .functions
        .values()
        .all(|f| !f.config.known)
    {
        diagnostics.push(Diagnostic::note(
            "--functions",
            "no function configuration was read: each function is granted its default log group only; give `--functions` list-functions and list-event-source-mappings output (or `live`) for its event sources, dead-letter queue, destinations, VPC, tracing, file systems and key",
        ));
    }
}

/// What is carried into the proposals: the unobservable grants of `current` (narrowed to the
/// resources the trail shows elsewhere), and the keep-list.
fn carry(
    settings: &SynthSettings,
    current: Option<&Current>,
    observed: &crate::synth::narrow::Observed,
    usage: &crate::usage::Usage,
    catalog: &Catalog,
) -> Result<Carry, Error> {
    let unobservable = current
        .map(|c| crate::diff::unobservable(usage, &c.policies, catalog))
        .unwrap_or_default();
    let keep = match &settings.keep {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| Error::Read {
                path: path.display().to_string(),
                reason: crate::diag::io_reason(&e),
            })?;
            crate::synth::carry::parse_keep(&text, &path.display().to_string(), catalog)?
        }
        None => Vec::new(),
    };
    Ok(Carry::new(unobservable, keep, observed.clone()))
}

/// Proposals for every principal of the analysis, each replayed against its observed calls
/// before it is returned: a proposal that would deny one is an error, never an output.
/// Takes the analysis: its usage becomes the output's evidence rows.
pub fn generate(
    owned: Analysis,
    settings: &SynthSettings,
    current: Option<&Current>,
) -> Result<GenerateOutput, Error> {
    let catalog = Catalog::embedded();
    let analysis = &owned;
    let scoped = (settings.shared_role == SharedRole::Scope)
        .then(|| crate::synth::scope::scope_shared_roles(&analysis.usage));
    let usage = scoped.as_ref().unwrap_or(&analysis.usage);
    let mut diagnostics = analysis.diagnostics.clone();
    if let Some(c) = current {
        diagnostics.extend(c.diagnostics.iter().cloned());
    }
    let carried = carry(settings, current, &analysis.observed, usage, catalog)?;
    let under_roles = settings.functions_under_roles || settings.shared_role == SharedRole::Scope;
    // function name → ARN, from the trail (before any grouping under roles)
    let fn_arns = analysis.usage.function_arns();
    runtime_notes(analysis, settings, &mut diagnostics);
    let opts = &settings.options;
    // every principal that runs as a role, once (a trail can hold many thousands of
    // principals): its functions share the role, and their policies all land on it, so one
    // principal's explicit deny must not take away another's observed call
    let owners = usage.by_owner();
    // One proposal (and its replay) per principal, in parallel; the results keep the principals'
    // order, and the first failure in that order is the one reported, so the output does not
    // depend on the thread count.
    let entries: Vec<_> = usage.principals.iter().collect();
    let one = |(id, p): (&PrincipalId, &PrincipalUsage)| -> Result<PrincipalOut, Error> {
        let mut carry = carried.for_principal(id, p, catalog);
        if settings.runtime {
            let runtime = runtime_grants(id, p, analysis, &fn_arns, under_roles);
            // a current grant carried as unobservable that the runtime needs anyway is the
            // runtime grant (a re-run on its own output changes nothing)
            for c in &mut carry {
                c.resources.retain(|x| {
                    !runtime.iter().any(|r| {
                        r.action.eq_ignore_ascii_case(&c.action)
                            && r.resources
                                .iter()
                                .any(|y| crate::wildcard::matches(y, x, false))
                    })
                });
            }
            carry.retain(|c| !c.resources.is_empty());
            carry.extend(runtime);
        }
        let owner = id.owner(p);
        let siblings = || {
            owner
                .as_ref()
                .and_then(|o| owners.get(o))
                .into_iter()
                .flatten()
                .filter(move |(o, _)| *o != id)
        };
        let proposal = if p.grants.is_empty() && carry.is_empty() {
            None
        } else {
            let sibling_grants: Vec<(&str, &crate::usage::Grants)> = siblings()
                .map(|(o, q)| (o.name.as_str(), &q.grants))
                .collect();
            let (denied, fence_notes) = crate::synth::denied_to_fence(&p.denied, &sibling_grants);
            let mut proposal = crate::synth::propose(&p.grants, &denied, &carry, catalog, opts)
                .map_err(|error| Error::Synth {
                    kind: id.kind,
                    name: id.name.clone(),
                    error,
                })?;
            proposal.notes.extend(fence_notes);
            let failures = crate::synth::replay(&proposal.documents, p);
            if let Some(f) = failures.first() {
                return Err(Error::Replay {
                    kind: id.kind,
                    name: id.name.clone(),
                    failure: f.to_string(),
                });
            }
            Some(proposal)
        };
        let mut out = PrincipalOut::without_rows(id, p, proposal);
        if out.policy.is_some() {
            out.confidence = Some(p.confidence(usage.window));
        }
        if id.kind == PrincipalKind::Function
            && settings.shared_role == SharedRole::Split
            && let Some(role) = &p.role_arn
        {
            let sharing: Vec<&str> = siblings()
                .filter(|(o, _)| o.kind == PrincipalKind::Function)
                .map(|(o, _)| o.name.as_str())
                .collect();
            if !sharing.is_empty() {
                out.advice.push(format!(
                    "shares role `{}` with {}: give it a role of its own with this policy, or use `--shared-role scope`",
                    crate::identity::role_name(role),
                    sharing.join(", ")
                ));
            }
        }
        Ok(out)
    };
    // the graph's size is counted on one thread while the others synthesize
    let (results, (graph_nodes, graph_edges)) = rayon::join(
        || {
            entries
                .par_iter()
                .map(|&(id, p)| one((id, p)))
                .collect::<Vec<_>>()
        },
        || AccessGraph::counts(usage),
    );
    let mut principals = results.into_iter().collect::<Result<Vec<_>, _>>()?;
    let unmapped = report::unmapped_rows(usage);
    let summary = Summary {
        files: analysis.stats.files,
        records: analysis.stats.records,
        records_used: usage.records,
        records_without_principal: usage.no_principal,
        principals: principals.len(),
        unmapped_event_kinds: unmapped.len(),
        graph_nodes,
        graph_edges,
    };
    let window = usage.window;
    // the evidence rows, moved from the usage the proposals were made from (in its order)
    let usage = match scoped {
        Some(u) => u,
        None => owned.usage,
    };
    let rows: Vec<PrincipalUsage> = usage.principals.into_values().collect();
    principals
        .par_iter_mut()
        .zip(rows)
        .for_each(|(out, p)| out.take_rows(p));
    Ok(GenerateOutput {
        schema: GENERATE_SCHEMA,
        catalog: catalog.provenance.catalog.clone(),
        window,
        summary,
        principals,
        unmapped,
        diagnostics,
    })
}

/// Writes DIR/<kind>/<name>.json for every principal with a policy (`<name>.2.json`, … for the
/// parts of a split policy), all or nothing ([`crate::write::FileSet`]). File names come from
/// [`crate::write::principal_stems`]: a name read from the log never leaves DIR, the account is
/// added when a name of one kind repeats across accounts, and two principals that would share a
/// file are an error.
pub fn write_policies(dir: &Path, principals: &[PrincipalOut]) -> Result<(), Error> {
    let with_policy: Vec<&PrincipalOut> =
        principals.iter().filter(|p| p.policy.is_some()).collect();
    let keys: Vec<(&str, &str, &str)> = with_policy
        .iter()
        .map(|p| (p.kind.as_str(), p.name.as_str(), p.account.as_str()))
        .collect();
    let stems = crate::write::principal_stems(&keys);
    let mut files = crate::write::FileSet::new();
    for (p, stem) in with_policy.into_iter().zip(stems) {
        let Some(policy) = &p.policy else { continue };
        let owner = format!(
            "{} `{}` of account `{}`",
            p.kind,
            crate::escape::terminal(&p.name),
            crate::escape::terminal(&p.account)
        );
        let docs = std::iter::once(policy).chain(p.policies.iter().skip(1));
        for (i, doc) in docs.enumerate() {
            let file = if i == 0 {
                format!("{stem}.json")
            } else {
                format!("{stem}.{}.json", i + 1)
            };
            let mut text = doc.to_json_pretty();
            text.push('\n');
            files.add(&dir.join(p.kind.as_str()).join(file), text, owner.clone())?;
        }
    }
    files.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::{ReadOptions, analyze};

    /// `GenerateOutput::write_json` renders principals in parallel, a chunk at a time, and the
    /// document around them itself: it must be byte for byte what serde_json writes for the
    /// whole output, with more principals than a chunk holds and hostile text in them (markup,
    /// quotes, a newline, bidi controls, non-ASCII), and with none at all.
    #[test]
    fn the_streamed_json_is_what_serde_json_writes() {
        let dir = tempfile::tempdir().unwrap();
        crate::trailgen::write_bench(dir.path(), 3000, 7, crate::trailgen::BenchProfile::Growing)
            .unwrap();
        let hostile = "x\"</script>\n\u{202e}é`|*";
        let rec = serde_json::json!({
            "eventVersion": "1.09", "eventTime": "2026-11-02T10:00:00Z",
            "userIdentity": {"type": "IAMUser", "accountId": "111122223333",
                "arn": format!("arn:aws:iam::111122223333:user/{hostile}"),
                "userName": hostile},
            "eventSource": "s3.amazonaws.com", "eventName": "GetObject",
            "awsRegion": "eu-west-1", "userAgent": hostile,
            "requestParameters": {"bucketName": "b", "key": hostile},
            "eventID": "e1", "eventType": "AwsApiCall", "recipientAccountId": "111122223333"
        });
        std::fs::write(
            dir.path().join("hostile.json"),
            serde_json::json!({"Records": [rec]}).to_string(),
        )
        .unwrap();
        let opts = ReadOptions {
            paths: vec![dir.path().display().to_string()],
            ..ReadOptions::default()
        };
        let out = generate(
            analyze(&opts, None).unwrap(),
            &SynthSettings::default(),
            None,
        )
        .unwrap();
        assert!(out.principals.len() > 64, "{}", out.principals.len());
        assert!(
            out.principals.iter().any(|p| p.name.contains('\n')),
            "the hostile user is a principal"
        );
        let mut streamed = Vec::new();
        out.write_json(&mut streamed).unwrap();
        assert_eq!(
            String::from_utf8(streamed).unwrap(),
            serde_json::to_string_pretty(&out).unwrap()
        );

        let empty = GenerateOutput {
            principals: Vec::new(),
            unmapped: Vec::new(),
            diagnostics: Vec::new(),
            window: None,
            ..out
        };
        let mut streamed = Vec::new();
        empty.write_json(&mut streamed).unwrap();
        assert_eq!(
            String::from_utf8(streamed).unwrap(),
            serde_json::to_string_pretty(&empty).unwrap()
        );
    }
}
