//! The library's closed sets as command-line values. The library types carry no clap derive;
//! each gets its `ValueEnum` here, with the names and help the `--help` pages show.

use clap::ValueEnum;
use clap::builder::PossibleValue;

use crate::athena::Dialect;
use crate::diff::FailOn;
use crate::drift::Finding;
use crate::fold::GeneralizeLevel;
use crate::pipeline::SharedRole;
use crate::pipeline::graph::GraphFormat;
use crate::pipeline::pr::PolicyFileFormat;
use crate::synth::PolicyKind;
use crate::trailgen::BenchProfile;

/// `--format text|json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TextOrJson {
    Text,
    Json,
}

/// `impl ValueEnum for T { Variant => ("name", "help"), … }`
macro_rules! value_enum {
    ($t:ty { $($v:ident => ($name:literal, $help:literal)),+ $(,)? }) => {
        impl ValueEnum for $t {
            fn value_variants<'a>() -> &'a [Self] {
                &[$(<$t>::$v),+]
            }

            fn to_possible_value(&self) -> Option<PossibleValue> {
                Some(match self {
                    $(<$t>::$v => PossibleValue::new($name).help($help)),+
                })
            }
        }
    };
}

value_enum!(GeneralizeLevel {
    Exact => ("exact", "Every observed ARN as it is"),
    Prefix => ("prefix", "Longest common path prefixes (bounded per bucket), indexes and log streams per parent"),
    Type => ("type", "One pattern per bucket, table's indexes, or log group"),
});

value_enum!(GraphFormat {
    Text => ("text", "A readable listing (the default for `--who`, `--blast` and `--shared`)"),
    Dot => ("dot", "Graphviz DOT: at most 60 nodes, or 250 for a part (`--principal`, a query)"),
    Mermaid => ("mermaid", "A Mermaid flowchart that renders on GitHub, sized as DOT"),
    Json => ("json", "The whole graph: nodes and edges with their evidence (`tightrole/graph/v2`)"),
});

value_enum!(Dialect {
    Athena => ("athena", "Amazon Athena (Trino)"),
    Duckdb => ("duckdb", "DuckDB, over the same JSON files (the tests run the SQL on it)"),
});

value_enum!(PolicyKind {
    Managed => ("managed", "Managed policies: 6,144 characters each (whitespace not counted), 10 per role by default"),
    Inline => ("inline", "Inline policies: 10,240 characters for all of a role's inline policies together"),
});

value_enum!(SharedRole {
    Split => ("split", "One policy per function, and the advice to give each function its own role"),
    Scope => ("scope", "One policy for the shared role, each function's grants conditioned on `lambda:SourceFunctionArn`"),
});

value_enum!(PolicyFileFormat {
    Json => ("json", "`<role>.json`: IAM policy documents"),
    Terraform => ("terraform", "`<role>.tf`"),
    Cloudformation => ("cloudformation", "`<role>.yaml`: CloudFormation `AWS::IAM::RolePolicy`"),
});

value_enum!(FailOn {
    Unused => ("unused", "Any grant the trail shows unused"),
    Risky => ("risky", "Any risky grant the proposal removes"),
    Missing => ("missing", "Any call used successfully but not granted by identity policy"),
    Denied => ("denied", "Any denied call"),
});

value_enum!(Finding {
    NewlyUsed => ("newly-used", "An action or resource never seen before: a new behaviour, possibly suspicious"),
    NewlyUnused => ("newly-unused", "A granted action not used for the `--unused-after` period"),
    DeniedSpike => ("denied-spike", "Denied calls of a principal jumped against the previous period"),
    PolicyDrift => ("policy-drift", "The deployed policy differs from the approved baseline"),
    SharedRole => ("shared-role", "Several functions share one role"),
    NoActivity => ("no-activity", "A role of the baseline (or a function of the inventory) did nothing"),
});

value_enum!(BenchProfile {
    Steady => ("steady", "200 functions whose distinct usage is complete long before a million records"),
    Growing => ("growing", "Functions, tenants and people keep appearing; a new object key per upload; more services"),
});
