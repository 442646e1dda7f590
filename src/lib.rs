//! tightrole: least-privilege IAM policies from CloudTrail.
//!
//! The pipeline, one module per stage: [`source`] reads records, [`identity`] attributes them
//! to principals, [`mapping`] turns each into the IAM actions and resources it needed,
//! [`usage`] aggregates them with evidence, [`graph`] holds the usage graph, [`synth`] writes
//! the minimized policies, checked by the evaluator in [`policy`], and [`report`] renders them.

#![forbid(unsafe_code)]

pub mod arn;
pub mod athena;
pub mod catalog;
pub mod cli;
pub mod diag;
pub mod diff;
pub mod drift;
pub mod escape;
pub mod fold;
pub mod graph;
pub mod identity;
pub mod mapping;
pub mod model;
pub mod pipeline;
pub mod policy;
pub mod record;
pub mod report;
pub mod runtime;
pub mod source;
pub mod synth;
pub mod trailgen;
pub mod usage;
pub mod wildcard;
pub mod write;
