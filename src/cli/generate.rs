//! `tightrole generate`: one least-privilege policy per principal.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args as ClapArgs, ValueEnum};

use super::Exit;
use super::input::{InputArgs, Read, location, read};
use crate::fold::GeneralizeLevel;
use crate::pipeline::{self, Current, SharedRole, SynthSettings};
use crate::report;
use crate::source::live::Live;
use crate::synth::{PolicyKind, SynthOptions};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Each principal's policy with its flags, for reading.
    Text,
    /// One versioned document (`tightrole/generate/v2`), see docs/formats/generate-json.md.
    Json,
    /// `aws_iam_policy_document` data sources and `aws_iam_role_policy` resources.
    Terraform,
    /// YAML `AWS::IAM::RolePolicy` resources (their `PolicyDocument` also fits SAM `Policies`).
    Cloudformation,
    /// The `iamRoleStatements` of serverless.yml, per function (serverless-iam-roles-per-function).
    Serverless,
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

    /// Leave out what the Lambda runtime needs (logs, event-source polling, dead-letter queue,
    /// destinations, network interfaces, tracing, file systems, the environment's key).
    #[arg(long, help_heading = "Policy")]
    pub no_runtime: bool,
}

impl SynthArgs {
    pub fn settings(&self) -> SynthSettings {
        SynthSettings {
            options: SynthOptions {
                level: self.generalize,
                max_prefixes: self.max_prefixes,
                compact: self.compact,
                kind: self.policy_type,
                enforce_limits: true,
            },
            shared_role: self.shared_role,
            keep: self.keep.clone(),
            runtime: !self.no_runtime,
            functions_under_roles: false,
        }
    }

    /// Does `--current` name AWS?
    pub fn current_is_live(&self) -> bool {
        self.current
            .as_deref()
            .map(location)
            .is_some_and(|l| l.is_live())
    }

    /// Loads `--current` (files, or live IAM) when it is given.
    pub fn load_current(&self, live: Option<&Live>) -> anyhow::Result<Option<Current>> {
        let from = self.current.as_deref().map(location);
        Ok(from.map(|f| Current::load(&f, live)).transpose()?)
    }
}

pub fn run(mut args: Args) -> anyhow::Result<Exit> {
    args.input.keep_spilled = true;
    args.input.observe = args.synth.current.is_some();
    let Read { live, analysis } = read!(
        args.input
            .read(args.synth.generalize, args.synth.current_is_live())
    );
    let current = args.synth.load_current(live.as_ref())?;
    let (read_diagnostics, warnings) = (analysis.diagnostics.len(), analysis.warnings());
    let stdout = std::io::stdout();
    let mut w = std::io::BufWriter::new(stdout.lock());
    let mut err = std::io::stderr();
    let streamed = match args.format {
        Format::Json => report::Streamed::Json,
        Format::Text => report::Streamed::Text,
        _ => report::Streamed::Nothing,
    };
    let keep = args.out.is_some() || streamed == report::Streamed::Nothing;
    let mut sink = report::GenerateWriter::new(&mut w, &mut err, streamed, keep, read_diagnostics);
    let settings = args.synth.settings();
    let frame = pipeline::generate_each(analysis, &settings, current.as_ref(), &mut sink)?;
    let report::Finished { kept, closed } = sink.finish(&frame)?;
    if let Some(dir) = &args.out {
        pipeline::write_policies(dir, &kept)?;
    }
    if let Some(closed) = closed {
        // the reader of stdout went away (not a failure), once the policy files are written
        return Err(closed.into());
    }
    let iac = match args.format {
        Format::Terraform => report::iac::terraform(&kept)?,
        Format::Cloudformation => report::iac::cloudformation(&kept)?,
        Format::Serverless => report::iac::serverless(&kept)?,
        Format::Json | Format::Text => String::new(),
    };
    w.write_all(iac.as_bytes())?;
    w.flush()?;
    leave(kept);
    Ok(args.input.final_exit_after(warnings))
}

/// Leaves the principals kept (for `--out` and the infrastructure formats) to the end of the
/// process instead of freeing them: the process ends next, and freeing a large trail's output
/// one allocation at a time (most of them made by other threads) took 4% of `generate` on the
/// growing benchmark trail.
fn leave(out: Vec<report::PrincipalOut>) {
    std::mem::forget(out);
}
