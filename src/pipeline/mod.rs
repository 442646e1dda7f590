//! The library's orchestration: read the trail, attribute, aggregate, propose, replay. Each
//! command of `src/cli` turns its arguments into the plain options here (no clap types), calls
//! one of these functions, and renders what it returns with [`crate::report`].
//!
//! It is the top of the library: it may use every stage below it, and nothing below it names
//! it (docs/architecture.md).

pub mod drift;
pub mod generate;
pub mod graph;
pub mod pr;
pub mod read;

pub use generate::{Current, SharedRole, SynthSettings, generate, generate_each, write_policies};
pub use read::{
    Analysis, AthenaOptions, Location, ReadOptions, analyze, connect, inventory, load_current,
};

use crate::source::live::{AwsError, LiveError};

/// Why a run stopped. Per-item problems (one corrupt file, one bad record) are not errors:
/// they are [`crate::diag::Diagnostic`]s in the [`Analysis`].
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A live source failed: a call to AWS (its kind and help in [`LiveError::aws`]), or a local
    /// step on the way.
    #[error(transparent)]
    Aws(#[from] LiveError),
    #[error("`--athena` reads the table, not PATHs or LookupEvents: give one or the other")]
    AthenaWithPaths,
    /// A live source without a connection: a caller's mistake, not the user's.
    #[error("internal error: `{0}` without an AWS connection")]
    NoConnection(&'static str),
    /// Current policies given to a proposal whose read did not gather the resources their
    /// carried grants are narrowed to ([`ReadOptions::observe`]): a caller's mistake.
    #[error(
        "internal error: current policies given, but the read was not asked to observe what their grants are narrowed to"
    )]
    NotObserved,
    #[error("cannot read function inventory `{path}`")]
    Inventory {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{path}` is not a function inventory: {reason}")]
    InventoryShape { path: String, reason: String },
    #[error(transparent)]
    Current(#[from] crate::policy::current::LoadError),
    #[error("cannot read `{path}`: {reason}")]
    Read { path: String, reason: String },
    #[error(transparent)]
    Keep(#[from] crate::synth::carry::KeepError),
    #[error("cannot write a policy for {kind} `{name}`: {error}")]
    Synth {
        kind: crate::identity::PrincipalKind,
        name: String,
        error: crate::synth::SynthError,
    },
    /// A proposal that does not allow every call it was built from: never shown.
    #[error("internal error: replay of {kind} `{name}` failed: {failure}; no policy was written")]
    Replay {
        kind: crate::identity::PrincipalKind,
        name: String,
        failure: String,
    },
    #[error(transparent)]
    Write(#[from] crate::write::WriteError),
    #[error(transparent)]
    Iac(#[from] crate::report::iac::IacError),
    #[error(transparent)]
    State(#[from] crate::drift::StateError),
    #[error(
        "`drift` reads local trail files: its state remembers which files it has read. Sync the bucket first (`aws s3 sync s3://BUCKET/AWSLogs/ trail/`), then run `drift trail/`"
    )]
    DriftNotLocal,
    #[error(transparent)]
    Query(#[from] crate::graph::query::QueryError),
    #[error("cannot render JSON")]
    Json(#[source] serde_json::Error),
    /// Writing the output as it was made failed (a closed stdout, a full disk).
    #[error("cannot write the output")]
    Output(#[source] std::io::Error),
    /// Grants written to disk while reading could not be read back.
    #[error(transparent)]
    Spill(#[from] crate::usage::SpillError),
}

impl From<AwsError> for Error {
    fn from(e: AwsError) -> Error {
        Error::Aws(LiveError::Aws(e))
    }
}

impl Error {
    /// The failed AWS call behind this error, if that is what it is (its kind, and the help
    /// line the command line prints).
    pub fn aws(&self) -> Option<&AwsError> {
        match self {
            Error::Aws(live) => live.aws(),
            _ => None,
        }
    }
}

/// The failed AWS call an error is or stands for, if any: for renderers that only see
/// `dyn Error`, such as the command line's (which prints its help on a line of its own).
pub fn aws_error<'e>(cause: &'e (dyn std::error::Error + 'static)) -> Option<&'e AwsError> {
    match cause.downcast_ref::<Error>() {
        Some(e) => e.aws(),
        None => AwsError::find(cause),
    }
}

/// An error as the command line shows it: `error: ` and the chain of causes joined by `: `, up to
/// a failed AWS call (whose message already says its cause; the SDK's chain is not shown), and
/// that call's help, which goes on a line of its own.
pub fn error_text<'e>(err: &'e (dyn std::error::Error + 'static)) -> (String, Option<&'e str>) {
    let mut msg = String::from("error");
    let mut cause = Some(err);
    while let Some(c) = cause {
        msg.push_str(&format!(": {c}"));
        if let Some(aws) = aws_error(c) {
            return (msg, aws.help());
        }
        cause = c.source();
    }
    (msg, None)
}

/// Is this a closed stdout (the reader of a pipe went away), which is not a failure? Below a
/// failed AWS call, a broken pipe is the connection's, not stdout's.
pub fn is_broken_pipe(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(err);
    while let Some(c) = cause {
        if aws_error(c).is_some() {
            return false;
        }
        if c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
        {
            return true;
        }
        cause = c.source();
    }
    false
}
