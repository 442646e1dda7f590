//! `tightrole generate`: one least-privilege policy per principal.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::bail;
use clap::{Args as ClapArgs, ValueEnum};

use super::input::{Analysis, InputArgs, is_live, load_current};
use super::{Exit, print_stdout};
use crate::catalog::Catalog;
use crate::diag::Diagnostic;
use crate::fold::GeneralizeLevel;
use crate::graph::AccessGraph;
use crate::identity::PrincipalKind;
use crate::policy::current::CurrentPolicies;
use crate::report::{self, GENERATE_SCHEMA, GenerateOutput, PrincipalOut, Summary};
use crate::source::live::Live;
use crate::synth::{PolicyKind, SynthOptions};
use crate::usage::{PrincipalId, PrincipalUsage};
use rayon::prelude::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Each principal's policy with its flags, for reading.
    Text,
    /// One versioned document (`tightrole/generate/v1`), see docs/formats/generate-json.md.
    Json,
    /// `aws_iam_policy_document` data sources and `aws_iam_role_policy` resources.
    Terraform,
    /// YAML `AWS::IAM::RolePolicy` resources (their `PolicyDocument` also fits SAM `Policies`).
    Cloudformation,
    /// The `iamRoleStatements` of serverless.yml, per function (serverless-iam-roles-per-function).
    Serverless,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SharedRole {
    /// One policy per function, and the advice to give each function its own role.
    Split,
    /// One policy for the shared role, each function's grants conditioned on
    /// `lambda:SourceFunctionArn`.
    Scope,
}

#[derive(Debug, ClapArgs)]
pub struct Args {
    #[command(flatten)]
    pub input: InputArgs,

    #[command(flatten)]
    pub synth: SynthArgs,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text, help_heading = "Output")]
    pub format: Format,

    /// Also write one policy file per principal: DIR/<kind>/<name>.json.
    #[arg(long, value_name = "DIR", help_heading = "Output")]
    pub out: Option<PathBuf>,
}

/// Options of synthesis, shared by `generate`, `pr` and `explain`.
#[derive(Debug, Clone, ClapArgs)]
pub struct SynthArgs {
    /// How far resources may be generalized: exact ARNs, common path prefixes, or one pattern
    /// per bucket/table/log group.
    #[arg(long, value_enum, default_value_t = GeneralizeLevel::Prefix, help_heading = "Policy")]
    pub generalize: GeneralizeLevel,

    /// At `prefix`: the most S3 path prefixes kept per bucket in one statement.
    /// (At most 4,096: past that many keys at the top of one bucket, the reader has already
    /// folded them into the bucket's pattern.)
    #[arg(long, value_name = "N", default_value_t = 32, help_heading = "Policy",
          value_parser = clap::builder::TypedValueParser::map(clap::value_parser!(u16).range(1..=4096), usize::from))]
    pub max_prefixes: usize,

    /// Replace action lists by wildcards that grant exactly the same actions.
    #[arg(long, help_heading = "Policy")]
    pub compact: bool,

    /// The size limit the policies must fit: managed (6,144 each) or inline (10,240 per role).
    #[arg(long, value_enum, default_value_t = PolicyKind::Managed, help_heading = "Policy")]
    pub policy_type: PolicyKind,

    /// Functions that share a role: a policy each (`split`), or one role policy scoped per
    /// function with `lambda:SourceFunctionArn` (`scope`).
    #[arg(long, value_enum, default_value_t = SharedRole::Split, help_heading = "Policy")]
    pub shared_role: SharedRole,

    /// Current policies (as for `diff --current`): grants the trail cannot show unused are
    /// carried into the proposal, marked `Unobservable`.
    #[arg(long, value_name = "FILE|DIR", help_heading = "Policy")]
    pub current: Option<PathBuf>,

    /// Keep-list: `PRINCIPAL-GLOB<TAB>ACTION<TAB>RESOURCE<TAB>REASON` lines for rare paths the
    /// window did not see, carried into the proposal marked `Kept`.
    #[arg(long, value_name = "FILE", help_heading = "Policy")]
    pub keep: Option<PathBuf>,
}

impl SynthArgs {
    pub fn options(&self) -> SynthOptions {
        SynthOptions {
            level: self.generalize,
            max_prefixes: self.max_prefixes,
            compact: self.compact,
            kind: self.policy_type,
            enforce_limits: true,
        }
    }
}

pub fn run(mut args: Args) -> anyhow::Result<Exit> {
    args.input.key_level = args.synth.generalize;
    let live = args
        .input
        .live(args.synth.current.as_deref().is_some_and(is_live))?;
    let analysis = args.input.analyze(live.as_ref())?;
    if let Some(exit) = analysis.report_input(&args.input) {
        return Ok(exit);
    }
    let current = load_synth_current(&args.synth, live.as_ref())?;
    let out = build(&analysis, &args.synth, current.as_ref())?;
    if let Some(dir) = &args.out {
        write_policies(dir, &out.principals)?;
    }
    let text = match args.format {
        Format::Json => {
            // Streamed: the JSON of a large trail is many times the size of the policies.
            use std::io::Write as _;
            let mut w = std::io::BufWriter::new(std::io::stdout().lock());
            serde_json::to_writer_pretty(&mut w, &out).map_err(std::io::Error::from)?;
            w.write_all(b"\n")?;
            w.flush()?;
            return Ok(analysis.final_exit(&args.input));
        }
        Format::Text => report::generate_text(&out),
        Format::Terraform => report::iac::terraform(&out.principals)?,
        Format::Cloudformation => report::iac::cloudformation(&out.principals)?,
        Format::Serverless => report::iac::serverless(&out.principals)?,
    };
    print_stdout(&text)?;
    Ok(analysis.final_exit(&args.input))
}

/// `--current`, loaded once, with what loading it reported.
pub struct Current {
    pub policies: CurrentPolicies,
    pub diagnostics: Vec<Diagnostic>,
}

/// Loads `--current` (files, or live IAM) when it is given.
pub fn load_synth_current(
    synth: &SynthArgs,
    live: Option<&Live>,
) -> anyhow::Result<Option<Current>> {
    synth
        .current
        .as_deref()
        .map(|p| {
            let mut diagnostics = Vec::new();
            let policies = load_current(p, live, &mut diagnostics)?;
            Ok(Current {
                policies,
                diagnostics,
            })
        })
        .transpose()
}

/// Proposals for every principal of the analysis, replayed before they are returned.
pub fn build(
    analysis: &Analysis,
    synth: &SynthArgs,
    current: Option<&Current>,
) -> anyhow::Result<GenerateOutput> {
    let catalog = Catalog::embedded();
    let scoped;
    let usage = match synth.shared_role {
        SharedRole::Split => &analysis.usage,
        SharedRole::Scope => {
            scoped = crate::synth::scope::scope_shared_roles(&analysis.usage);
            &scoped
        }
    };
    let mut diagnostics = analysis.diagnostics.clone();
    if let Some(c) = current {
        diagnostics.extend(c.diagnostics.iter().cloned());
    }
    let carried = crate::synth::carry::Carry::load(
        current.map(|c| &c.policies),
        synth.keep.as_deref(),
        usage,
    )?;
    let opts = synth.options();
    // role ARN → every principal that runs as it, once (a trail can hold many thousands of
    // principals): its functions share the role, and their policies all land on it, so one
    // principal's explicit deny must not take away another's observed call
    let mut on_role: BTreeMap<&str, Vec<(&PrincipalId, &crate::usage::Grants)>> = BTreeMap::new();
    for (o, q) in &usage.principals {
        if let Some(r) = &q.role_arn {
            on_role.entry(r.as_str()).or_default().push((o, &q.grants));
        }
    }
    // One proposal (and its replay) per principal, in parallel; the results keep the principals'
    // order, and the first failure in that order is the one reported, so the output does not
    // depend on the thread count. The graph is built meanwhile.
    let entries: Vec<_> = usage.principals.iter().collect();
    let one = |(id, p): (&PrincipalId, &PrincipalUsage)| -> anyhow::Result<PrincipalOut> {
        let carry = carried.for_principal(id, p);
        let proposal = if p.grants.is_empty() && carry.is_empty() {
            None
        } else {
            let siblings: Vec<(&str, &crate::usage::Grants)> = p
                .role_arn
                .as_deref()
                .and_then(|r| on_role.get(r))
                .into_iter()
                .flatten()
                .filter(|(o, _)| *o != id)
                .map(|(o, g)| (o.name.as_str(), *g))
                .collect();
            let (denied, fence_notes) = crate::synth::denied_to_fence(&p.denied, &siblings);
            let mut proposal = crate::synth::propose(&p.grants, &denied, &carry, catalog, &opts)
                .map_err(|e| {
                    anyhow::anyhow!("cannot write a policy for {} `{}`: {e}", id.kind, id.name)
                })?;
            proposal.notes.extend(fence_notes);
            let failures = crate::synth::replay(&proposal.documents, p);
            if let Some(f) = failures.first() {
                bail!(
                    "internal error: replay of {} `{}` failed: {f}; no policy was written",
                    id.kind,
                    id.name
                );
            }
            Some(proposal)
        };
        let mut out = PrincipalOut::new(id, p, proposal);
        if id.kind == PrincipalKind::Function
            && synth.shared_role == SharedRole::Split
            && let Some(role) = &p.role_arn
        {
            let sharing: Vec<&str> = on_role
                .get(role.as_str())
                .into_iter()
                .flatten()
                .filter(|(o, _)| o.kind == PrincipalKind::Function && o.name != id.name)
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
    let (results, graph) = rayon::join(
        || {
            entries
                .par_iter()
                .map(|&(id, p)| one((id, p)))
                .collect::<Vec<_>>()
        },
        || AccessGraph::from_usage(usage),
    );
    let principals = results.into_iter().collect::<anyhow::Result<Vec<_>>>()?;
    let unmapped = report::unmapped_rows(usage);
    Ok(GenerateOutput {
        schema: GENERATE_SCHEMA,
        catalog: catalog.provenance.catalog.clone(),
        window: usage.window,
        summary: Summary {
            files: analysis.stats.files,
            records: analysis.stats.records,
            records_used: usage.records,
            records_without_principal: usage.no_principal,
            principals: principals.len(),
            unmapped_event_kinds: unmapped.len(),
            graph_nodes: graph.node_count(),
            graph_edges: graph.edge_count(),
        },
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
pub fn write_policies(dir: &Path, principals: &[PrincipalOut]) -> anyhow::Result<()> {
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
