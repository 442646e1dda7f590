//! Usage → a replayed proposal for every principal, in parallel, with the size of the usage
//! graph; and the policy files of `generate --out`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::{Analysis, Error};
use crate::catalog::Catalog;
use crate::diag::Diagnostic;
use crate::graph::AccessGraph;
use crate::identity::{Inventory, PrincipalKind};
use crate::policy::current::CurrentPolicies;
use crate::report::{self, GENERATE_SCHEMA, GenerateOutput, GenerateSink, PrincipalOut, Summary};
use crate::synth::carry::Carry;
use crate::synth::{Carried, RuntimeEvidence, SynthOptions};
use crate::usage::{PrincipalId, PrincipalUsage, Usage};

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
    inventory: &Inventory,
    fn_arns: &BTreeMap<String, String>,
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
        let known = inventory.functions.get(name);
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
#[derive(Default)]
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
fn runtime_notes(
    usage: &Usage,
    inventory: &Inventory,
    settings: &SynthSettings,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let has_functions = usage
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
    } else if inventory.functions.values().all(|f| !f.config.known) {
        diagnostics.push(Diagnostic::note(
            "--functions",
            "no function configuration was read: each function is granted its default log group only; give `--functions` list-functions and list-event-source-mappings output (or `live`) for its event sources, dead-letter queue, destinations, VPC, tracing, file systems and key",
        ));
    }
}

/// What is carried into the proposals: the unobservable grants of `current` (narrowed to the
/// resources the trail shows elsewhere, `observed`: required with `current`, not consulted
/// without it), and the keep-list.
fn carry(
    settings: &SynthSettings,
    current: Option<&Current>,
    observed: Option<crate::synth::narrow::Observed>,
    usage: &crate::usage::Usage,
    catalog: &Catalog,
) -> Result<Carry, Error> {
    let (unobservable, observed) = match (current, observed) {
        (None, _) => Default::default(),
        (Some(c), Some(observed)) => (
            crate::diff::unobservable(usage, &c.policies, catalog),
            observed,
        ),
        (Some(_), None) => return Err(Error::NotObserved),
    };
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
    Ok(Carry::new(unobservable, keep, observed))
}

/// How many principals are proposed for (in parallel) and handed on at a time: enough to keep
/// every thread busy, few enough that the proposals held at once stay small.
const CHUNK: usize = 256;

/// The sink of [`generate`]: every principal, kept.
struct Collect(Vec<PrincipalOut>);

impl GenerateSink for Collect {
    fn begin(&mut self, _: &GenerateOutput) -> std::io::Result<()> {
        Ok(())
    }
    fn principals(&mut self, chunk: Vec<PrincipalOut>) -> std::io::Result<()> {
        self.0.extend(chunk);
        Ok(())
    }
}

/// Proposals for every principal of the analysis, each replayed against its observed calls
/// before it is returned: a proposal that would deny one is an error, never an output.
/// Takes the analysis: its usage becomes the output's evidence rows.
pub fn generate(
    owned: Analysis,
    settings: &SynthSettings,
    current: Option<&Current>,
) -> Result<GenerateOutput, Error> {
    let mut all = Collect(Vec::new());
    let mut out = generate_each(owned, settings, current, &mut all)?;
    out.principals = all.0;
    Ok(out)
}

/// What a principal's proposal needs of the other principals on its role, taken before the
/// principals are given up one chunk after another.
#[derive(Default)]
struct Siblings {
    /// Its denied calls that its proposal keeps denied, and a note for each left out
    /// ([`crate::synth::denied_to_fence`]).
    fence: Option<(crate::usage::Grants, Vec<String>)>,
    /// The other functions on its role (a function's, with `--shared-role split`).
    sharing: Vec<String>,
}

/// As [`generate`], handing the output to `sink` as it is made: the principals a chunk at a
/// time, in order, each principal's usage given up as its chunk is handed on. Memory holds the
/// usage not yet handed on and one chunk, not the whole output as well. Returns the frame
/// (the output without its principals). A replay that fails stops it: the principals before
/// the failing one's chunk have been handed on, no later one is.
pub fn generate_each<S: GenerateSink>(
    owned: Analysis,
    settings: &SynthSettings,
    current: Option<&Current>,
    sink: &mut S,
) -> Result<GenerateOutput, Error> {
    generate_in_chunks(owned, settings, current, sink, CHUNK)
}

/// [`generate_each`], `chunk_size` principals at a time.
fn generate_in_chunks<S: GenerateSink>(
    owned: Analysis,
    settings: &SynthSettings,
    current: Option<&Current>,
    sink: &mut S,
    chunk_size: usize,
) -> Result<GenerateOutput, Error> {
    let catalog = Catalog::embedded();
    let Analysis {
        usage: mut read,
        inventory,
        stats,
        diagnostics: mut all_diagnostics,
        observed,
    } = owned;
    // Grants still on disk are read back a chunk of principals at a time, below. Scoping a
    // shared role moves its functions' grants into it, and current policies are compared with
    // the whole usage: both need every grant first.
    if read.is_spilled() && (settings.shared_role == SharedRole::Scope || current.is_some()) {
        read.load_all()?;
    }
    if let Some(c) = current {
        all_diagnostics.extend(c.diagnostics.iter().cloned());
    }
    runtime_notes(&read, &inventory, settings, &mut all_diagnostics);
    // function name → ARN, from the trail (before any grouping under roles)
    let fn_arns: BTreeMap<String, String> = read
        .function_arns()
        .into_iter()
        .map(|(n, a)| (n.to_string(), a.to_string()))
        .collect();
    let mut usage = match settings.shared_role {
        SharedRole::Scope => crate::synth::scope::scope_shared_roles(read),
        SharedRole::Split => read,
    };
    let carried = carry(settings, current, observed, &usage, catalog)?;
    let under_roles = settings.functions_under_roles || settings.shared_role == SharedRole::Scope;
    let opts = &settings.options;
    let siblings = siblings(&usage, settings.shared_role)?;
    let window = usage.window;
    let unmapped = report::unmapped_rows(&usage);
    let summary = Summary {
        files: stats.files,
        records: stats.records,
        records_used: usage.records,
        records_without_principal: usage.no_principal,
        principals: usage.principals.len(),
        unmapped_event_kinds: unmapped.len(),
        graph_nodes: 0,
        graph_edges: 0,
    };
    let mut frame = GenerateOutput {
        schema: GENERATE_SCHEMA,
        catalog: catalog.provenance.catalog.clone(),
        window,
        summary,
        principals: Vec::new(),
        unmapped,
        diagnostics: all_diagnostics,
    };
    let none = Siblings::default();
    let one = |id: &PrincipalId, p: &PrincipalUsage| -> Result<PrincipalOut, Error> {
        let mut carry = carried.for_principal(id, p, catalog);
        if settings.runtime {
            let runtime = runtime_grants(id, p, &inventory, &fn_arns, under_roles);
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
        let mine = siblings.get(id).unwrap_or(&none);
        let proposal = if p.grants.is_empty() && carry.is_empty() {
            None
        } else {
            let (denied, fence_notes) = match &mine.fence {
                Some((denied, notes)) => (denied, notes.as_slice()),
                None => (&p.denied, &[][..]),
            };
            let mut proposal = crate::synth::propose(&p.grants, denied, &carry, catalog, opts)
                .map_err(|error| Error::Synth {
                    kind: id.kind,
                    name: id.name.clone(),
                    error,
                })?;
            proposal.notes.extend(fence_notes.iter().cloned());
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
            out.confidence = Some(p.confidence(window));
        }
        if let Some(role) = &p.role_arn
            && !mine.sharing.is_empty()
        {
            out.advice.push(format!(
                "shares role `{}` with {}: give it a role of its own with this policy, or use `--shared-role scope`",
                crate::identity::role_name(role),
                mine.sharing.join(", ")
            ));
        }
        Ok(out)
    };
    // One proposal (and its replay) per principal, in parallel, a chunk at a time; the results
    // keep the principals' order, and the first failure in that order is the one reported, so
    // the output does not depend on the thread count.
    let ids: Vec<PrincipalId> = usage.principals.keys().cloned().collect();
    let spill = usage.spill.clone();
    let on_disk: Vec<u64> = usage
        .principals
        .values()
        .map(|p| p.spilled.bytes())
        .collect();
    for (i, chunk) in chunked(&ids, &on_disk, chunk_size.max(1)).enumerate() {
        // the chunk's grants still on disk, read back (the chunk is a range of the principals)
        if let (Some(spill), Some(first), Some(last)) = (&spill, chunk.first(), chunk.last()) {
            crate::usage::Usage::load_each(
                Some(spill),
                usage
                    .principals
                    .range_mut(first.clone()..=last.clone())
                    .map(|(_, p)| p),
            )?;
        }
        let propose = || {
            chunk
                .par_iter()
                .map(|id| match usage.principals.get(id) {
                    Some(p) => one(id, p),
                    None => Err(Error::Replay {
                        kind: id.kind,
                        name: id.name.clone(),
                        failure: "the principal's usage is gone".to_string(),
                    }),
                })
                .collect::<Vec<_>>()
        };
        let results = if i == 0 {
            // the graph's size is counted on one thread while the others synthesize
            let (results, counts) = rayon::join(propose, || AccessGraph::counts(&usage));
            let (nodes, edges) = counts?;
            frame.summary.graph_nodes = nodes;
            frame.summary.graph_edges = edges;
            sink.begin(&frame).map_err(Error::Output)?;
            results
        } else {
            propose()
        };
        let mut outs = results.into_iter().collect::<Result<Vec<_>, _>>()?;
        // the evidence rows, moved from the usage the proposals were made from
        let rows: Vec<PrincipalUsage> = chunk
            .iter()
            .filter_map(|id| usage.principals.remove(id))
            .collect();
        outs.par_iter_mut()
            .zip(rows)
            .for_each(|(out, p)| out.take_rows(p));
        sink.principals(outs).map_err(Error::Output)?;
    }
    if ids.is_empty() {
        sink.begin(&frame).map_err(Error::Output)?;
    }
    Ok(frame)
}

/// `ids` a chunk at a time: `size` principals, or fewer when their grants on disk
/// (`on_disk[i]` bytes for `ids[i]`) come to [`CHUNK_SPILLED`], so that the grants read back
/// at once stay about the same however large the principals grow.
fn chunked<'i>(
    ids: &'i [PrincipalId],
    on_disk: &'i [u64],
    size: usize,
) -> impl Iterator<Item = &'i [PrincipalId]> {
    let mut at = 0;
    std::iter::from_fn(move || {
        if at >= ids.len() {
            return None;
        }
        let (start, mut bytes) = (at, 0u64);
        while at < ids.len() && at - start < size && (at == start || bytes < CHUNK_SPILLED) {
            bytes += on_disk.get(at).copied().unwrap_or(0);
            at += 1;
        }
        ids.get(start..at)
    })
}

/// Bytes of grants on disk read back for one chunk of principals, at most (unless one
/// principal has more): some 6,000 grants, a few MB once read back and proposed for.
const CHUNK_SPILLED: u64 = 1 << 20;

/// For each principal on a role with others, what its proposal needs of them: the denied
/// calls its policy keeps denied (not those another principal on the role was allowed, since
/// every policy of a role applies to all of them), and for a function with `--shared-role
/// split`, the other functions on its role.
fn siblings(
    usage: &Usage,
    shared_role: SharedRole,
) -> Result<BTreeMap<PrincipalId, Siblings>, Error> {
    // every principal that runs as a role, once (a trail can hold many thousands of
    // principals): its functions share the role, and their policies all land on it, so one
    // principal's explicit deny must not take away another's observed call
    let owners = usage.by_owner();
    let groups: Vec<_> = owners.values().filter(|m| m.len() > 1).collect();
    let found: Vec<Vec<(PrincipalId, Siblings)>> = groups
        .par_iter()
        .map(|members| {
            // the group's grants, read back from disk once for all of its denied calls
            // (borrowed when they are all in memory); of those read back, a member at a time,
            // only the grants of a denied action are kept, all that a fence looks at
            // (`synth::allowed_in`), so a role with many functions is not held whole
            let denied: Vec<&str> = members
                .iter()
                .flat_map(|(_, p)| p.denied.keys().map(|(a, _)| a.as_str()))
                .collect();
            let whole: Vec<std::borrow::Cow<'_, crate::usage::Grants>> = if denied.is_empty() {
                Vec::new()
            } else {
                members
                    .iter()
                    .map(|(_, q)| {
                        usage.grants_of(q).map(|g| match g {
                            std::borrow::Cow::Owned(mut g) => {
                                g.retain(|(a, _), _| {
                                    denied.iter().any(|d| d.eq_ignore_ascii_case(a.as_str()))
                                });
                                std::borrow::Cow::Owned(g)
                            }
                            borrowed => borrowed,
                        })
                    })
                    .collect::<Result<_, _>>()?
            };
            let mut out = Vec::new();
            for (at, &(id, p)) in members.iter().enumerate() {
                let others = || members.iter().filter(move |(o, _)| *o != id);
                let mut s = Siblings::default();
                if !p.denied.is_empty() {
                    let grants: Vec<(&str, &crate::usage::Grants)> = members
                        .iter()
                        .zip(&whole)
                        .enumerate()
                        .filter(|(i, _)| *i != at)
                        .map(|(_, ((o, _), g))| (o.name.as_str(), &**g))
                        .collect();
                    s.fence = Some(crate::synth::denied_to_fence(&p.denied, &grants));
                }
                if id.kind == PrincipalKind::Function
                    && shared_role == SharedRole::Split
                    && p.role_arn.is_some()
                {
                    s.sharing = others()
                        .filter(|(o, _)| o.kind == PrincipalKind::Function)
                        .map(|(o, _)| o.name.clone())
                        .collect();
                }
                if s.fence.is_some() || !s.sharing.is_empty() {
                    out.push((id.clone(), s));
                }
            }
            Ok(out)
        })
        .collect::<Result<_, crate::usage::SpillError>>()?;
    Ok(found.into_iter().flatten().collect())
}

/// Writes DIR/<kind>/<name>.json for every principal with a policy (`<name>~2.json`, … for the
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
            let file = crate::policy::current::policy_file_name(&stem, i + 1);
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
    use crate::report::{GenerateWriter, Streamed};

    /// A growing benchmark trail of `records` records, and the options that read it.
    fn growing_trail(records: u64) -> (tempfile::TempDir, ReadOptions) {
        let dir = tempfile::tempdir().unwrap();
        crate::trailgen::write_bench(
            dir.path(),
            records,
            7,
            crate::trailgen::BenchProfile::Growing,
        )
        .unwrap();
        let opts = ReadOptions {
            paths: vec![dir.path().display().to_string()],
            ..ReadOptions::default()
        };
        (dir, opts)
    }

    /// Records what `generate_each` hands on, and when.
    #[derive(Default)]
    struct Record {
        begun: Option<String>,
        chunks: Vec<usize>,
        principals: Vec<PrincipalOut>,
        json: Vec<u8>,
        stream: Option<report::JsonStream>,
    }

    impl GenerateSink for Record {
        fn begin(&mut self, frame: &GenerateOutput) -> std::io::Result<()> {
            assert!(self.begun.is_none(), "begun twice");
            assert!(self.chunks.is_empty(), "principals before the frame");
            assert!(frame.principals.is_empty());
            self.begun = Some(serde_json::to_string(frame).unwrap());
            self.stream = Some(report::JsonStream::begin(&mut self.json, frame).unwrap());
            Ok(())
        }
        fn principals(&mut self, chunk: Vec<PrincipalOut>) -> std::io::Result<()> {
            assert!(self.begun.is_some(), "principals before the frame");
            self.chunks.push(chunk.len());
            let stream = self.stream.as_mut().unwrap();
            stream.principals(&mut self.json, &chunk).unwrap();
            self.principals.extend(chunk);
            Ok(())
        }
    }

    /// Handed on a chunk at a time (here 7 principals: some 30 chunks, or none when there is
    /// no principal), the output is what `generate` returns whole: the same frame, given before any
    /// principal and complete (its graph counted, its summary final), the same principals in
    /// the same order with their evidence rows, and, written as it comes, the same JSON. With
    /// `--shared-role scope` too, and with no principal at all.
    #[test]
    fn the_output_handed_on_in_chunks_is_the_whole_output() {
        let (_dir, opts) = growing_trail(1200);
        let none = ReadOptions {
            principals: vec!["nobody-by-this-name".to_string()],
            ..opts.clone()
        };
        let scope = SynthSettings {
            shared_role: SharedRole::Scope,
            ..SynthSettings::default()
        };
        for (read, settings) in [
            (&opts, SynthSettings::default()),
            (&opts, scope),
            (&none, SynthSettings::default()),
        ] {
            let whole = generate(analyze(read, None).unwrap(), &settings, None).unwrap();
            let mut rec = Record::default();
            let mut frame =
                generate_in_chunks(analyze(read, None).unwrap(), &settings, None, &mut rec, 7)
                    .unwrap();
            let stream = rec.stream.take().unwrap();
            stream.end(&mut rec.json, &frame).unwrap();
            assert_eq!(rec.begun, Some(serde_json::to_string(&frame).unwrap()));
            assert_eq!(
                rec.chunks.len(),
                whole.principals.len().div_ceil(7),
                "{:?}",
                rec.chunks
            );
            assert!(rec.chunks.iter().all(|&n| n <= 7));
            if !whole.principals.is_empty() {
                assert!(rec.chunks.len() > 1);
                assert!(whole.principals.iter().any(|p| !p.evidence.is_empty()));
            }
            assert!(whole.summary.graph_edges > 0 || whole.principals.is_empty());
            frame.principals = rec.principals;
            let expected = serde_json::to_string_pretty(&whole).unwrap();
            assert_eq!(serde_json::to_string_pretty(&frame).unwrap(), expected);
            assert_eq!(String::from_utf8(rec.json).unwrap(), expected);

            // what `generate` writes: the same JSON and text as whole, the principals kept
            // without their rows, and only the diagnostics the read had not reported
            let printed = 1.min(whole.diagnostics.len());
            for (streamed, keep, text) in [
                (Streamed::Json, false, format!("{expected}\n")),
                (Streamed::Text, true, report::generate_text(&whole)),
                (Streamed::Nothing, true, String::new()),
            ] {
                let (mut out, mut err) = (Vec::new(), Vec::new());
                let mut w = GenerateWriter::new(&mut out, &mut err, streamed, keep, printed);
                let analysis = analyze(read, None).unwrap();
                let frame = generate_in_chunks(analysis, &settings, None, &mut w, 7).unwrap();
                let kept = w.finish(&frame).unwrap().kept;
                assert_eq!(String::from_utf8(out).unwrap(), text, "{streamed:?}");
                assert_eq!(
                    String::from_utf8(err).unwrap(),
                    report::diagnostics_text(&whole.diagnostics[printed..])
                );
                assert_eq!(kept.len(), if keep { whole.principals.len() } else { 0 });
                for (k, p) in kept.iter().zip(&whole.principals) {
                    assert!(k.evidence.is_empty() && k.denied.is_empty());
                    assert!(k.permission_less.is_empty());
                    assert_eq!(
                        (&k.name, &k.policy, &k.policies),
                        (&p.name, &p.policy, &p.policies)
                    );
                }
            }
        }
    }

    /// Grants written to disk while reading, and read back a chunk of principals at a time,
    /// give the output that holding them all in memory gives: the same JSON, with the default
    /// settings, `--shared-role scope` (which reads them all back first) and a `--principal`
    /// filter, on one thread and on three. The read did write to disk, and left the grants
    /// there for `generate`.
    #[test]
    fn grants_spilled_to_disk_give_the_same_output() {
        let (_dir, opts) = growing_trail(3000);
        let spilling = |spill_after: usize, threads: usize| ReadOptions {
            spill_after,
            keep_spilled: true,
            threads: Some(threads),
            ..opts.clone()
        };
        let scope = SynthSettings {
            shared_role: SharedRole::Scope,
            ..SynthSettings::default()
        };
        let some = ReadOptions {
            principals: vec!["fn-00*".to_string()],
            ..opts.clone()
        };
        for (read, settings) in [
            (&opts, SynthSettings::default()),
            (&opts, scope),
            (&some, SynthSettings::default()),
        ] {
            let json = |a: Analysis| {
                let out = generate(a, &settings, None).unwrap();
                serde_json::to_string_pretty(&out).unwrap()
            };
            let expected = json(analyze(read, None).unwrap());
            for (spill_after, threads) in [(1, 1), (1, 3), (200, 2)] {
                let at = format!("spilled after {spill_after}, {threads} threads");
                let analysis = analyze(
                    &ReadOptions {
                        principals: read.principals.clone(),
                        ..spilling(spill_after, threads)
                    },
                    None,
                )
                .unwrap();
                assert!(analysis.stats.bytes_spilled > 0, "{at}");
                assert!(analysis.usage.is_spilled(), "{at}");
                let mut rec = Record::default();
                let mut frame = generate_in_chunks(analysis, &settings, None, &mut rec, 5).unwrap();
                frame.principals = rec.principals;
                assert_eq!(
                    serde_json::to_string_pretty(&frame).unwrap(),
                    expected,
                    "{at}"
                );
            }
            // read back whole before `analyze` returns when not kept for `generate`
            let loaded = analyze(
                &ReadOptions {
                    keep_spilled: false,
                    principals: read.principals.clone(),
                    ..spilling(1, 2)
                },
                None,
            )
            .unwrap();
            assert!(loaded.stats.bytes_spilled > 0 && !loaded.usage.is_spilled());
            assert_eq!(json(loaded), expected);
        }
    }

    /// The resources carried grants are narrowed to are gathered only when the read is asked
    /// for them (`ReadOptions::observe`, which the CLI sets with `--current`): with grants on
    /// disk that is a pass over all of them. Proposing with current policies from a read
    /// that did not gather them is an internal error, never a carried grant left wider.
    #[test]
    fn current_policies_need_the_observed_resources() {
        let (_dir, opts) = growing_trail(500);
        let current = Current::default();
        let plain = analyze(&opts, None).unwrap();
        assert!(plain.observed.is_none());
        assert!(matches!(
            generate(plain, &SynthSettings::default(), Some(&current)),
            Err(Error::NotObserved)
        ));
        let observing = ReadOptions {
            observe: true,
            ..opts.clone()
        };
        let observed = analyze(&observing, None).unwrap();
        assert!(observed.observed.is_some());
        generate(observed, &SynthSettings::default(), Some(&current)).unwrap();
        // without current policies it is not consulted
        generate(
            analyze(&opts, None).unwrap(),
            &SynthSettings::default(),
            None,
        )
        .unwrap();
    }

    /// With current policies given (the read asked to `observe`), grants written to disk are
    /// read back once, not again to be rewritten and again for the proposals: before
    /// observing when every principal is kept, after the `--principal` filter otherwise (the
    /// observing then reads every principal's back one at a time). Either way the usage
    /// comes back whole, what is observed is what the read in memory observes, and so is the
    /// output.
    #[test]
    fn with_current_policies_the_grants_on_disk_are_read_back_once() {
        let (_dir, opts) = growing_trail(3000);
        let current = Current::default();
        let json = |a: Analysis| {
            let out = generate(a, &SynthSettings::default(), Some(&current)).unwrap();
            serde_json::to_string_pretty(&out).unwrap()
        };
        for principals in [vec![], vec!["fn-00*".to_string()]] {
            let observing = ReadOptions {
                observe: true,
                principals: principals.clone(),
                ..opts.clone()
            };
            let in_memory = analyze(&observing, None).unwrap();
            assert!(
                in_memory
                    .observed
                    .as_ref()
                    .is_some_and(|o| *o != Default::default())
            );
            let expected_observed = in_memory.observed.clone();
            let expected = json(in_memory);
            let spilling = ReadOptions {
                spill_after: 1,
                keep_spilled: true,
                ..observing
            };
            let analysis = analyze(&spilling, None).unwrap();
            assert!(analysis.stats.bytes_spilled > 0, "{principals:?}");
            assert!(!analysis.usage.is_spilled(), "{principals:?}");
            assert_eq!(analysis.observed, expected_observed, "{principals:?}");
            assert_eq!(json(analysis), expected, "{principals:?}");
        }
    }

    /// Chunks are `size` principals, fewer when their grants on disk come to the bound, and
    /// never empty: a principal with more than the bound on its own is a chunk of its own.
    #[test]
    fn chunks_stop_at_the_bytes_on_disk() {
        let ids: Vec<PrincipalId> = (0..9)
            .map(|i| PrincipalId {
                kind: PrincipalKind::Function,
                account: "1".into(),
                name: format!("f{i}"),
            })
            .collect();
        let q = CHUNK_SPILLED / 4;
        let on_disk = [5 * q, 0, 0, q, 3 * q, q, 0, 0, 0];
        let sizes = |size| {
            chunked(&ids, &on_disk, size)
                .map(<[PrincipalId]>::len)
                .collect::<Vec<_>>()
        };
        assert_eq!(sizes(256), [1, 4, 4]);
        assert_eq!(sizes(2), [1, 2, 2, 2, 2]);
        assert_eq!(sizes(1), [1; 9]);
        assert_eq!(chunked(&[], &[], 3).count(), 0);
    }

    /// A writer whose reader goes away after `left` bytes.
    struct ClosesAfter {
        left: usize,
    }

    impl std::io::Write for ClosesAfter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if self.left == 0 {
                return Err(std::io::ErrorKind::BrokenPipe.into());
            }
            let n = buf.len().min(self.left);
            self.left -= n;
            Ok(n)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// When stdout is closed part way (`generate --out DIR | head`), the principals kept for
    /// the policy files are still all made and kept, and the closing is reported after; with
    /// nothing to keep, the run stops at the closing, as a broken pipe.
    #[test]
    fn a_closed_stdout_still_keeps_every_principal_for_the_policy_files() {
        let (_dir, opts) = growing_trail(600);
        let settings = SynthSettings::default();
        let whole = generate(analyze(&opts, None).unwrap(), &settings, None).unwrap();
        assert!(whole.principals.len() > 20);
        for streamed in [Streamed::Json, Streamed::Text] {
            let (mut out, mut err) = (ClosesAfter { left: 1000 }, Vec::new());
            let mut w = GenerateWriter::new(&mut out, &mut err, streamed, true, 0);
            let frame =
                generate_in_chunks(analyze(&opts, None).unwrap(), &settings, None, &mut w, 7)
                    .unwrap();
            let done = w.finish(&frame).unwrap();
            assert_eq!(
                done.closed.map(|e| e.kind()),
                Some(std::io::ErrorKind::BrokenPipe)
            );
            let names = |v: &[PrincipalOut]| v.iter().map(|p| p.name.clone()).collect::<Vec<_>>();
            assert_eq!(names(&done.kept), names(&whole.principals));

            let (mut out, mut err) = (ClosesAfter { left: 1000 }, Vec::new());
            let mut w = GenerateWriter::new(&mut out, &mut err, streamed, false, 0);
            let stopped =
                generate_in_chunks(analyze(&opts, None).unwrap(), &settings, None, &mut w, 7);
            let Err(e) = stopped else {
                panic!("a closed stdout with nothing to keep goes on")
            };
            assert!(crate::pipeline::is_broken_pipe(&e), "{e}");
        }
    }

    /// `GenerateOutput::write_json` renders principals in parallel, a chunk at a time, and the
    /// document around them itself: it must be byte for byte what serde_json writes for the
    /// whole output, with more principals than a chunk holds and hostile text in them (markup,
    /// quotes, a newline, bidi controls, non-ASCII), and with none at all.
    #[test]
    fn the_streamed_json_is_what_serde_json_writes() {
        let dir = tempfile::tempdir().unwrap();
        crate::trailgen::write_bench(dir.path(), 3000, 7, crate::trailgen::BenchProfile::Growing)
            .unwrap();
        // quotes, a backslash, control characters and markup, long enough for the serializer's
        // 32-byte steps
        let hostile = "x\"</script>\n\u{202e}é`|*\u{1}\t\\ and then some more text after it";
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
            out.principals
                .iter()
                .any(|p| p.name.contains('\n') && p.name.contains('\u{1}')),
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
