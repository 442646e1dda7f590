//! `graph`: the usage graph narrowed by its queries (`--principal`, `--who`, `--shared`), then
//! drawn (DOT and Mermaid draw the same [`select`]ion), listed, or given whole as data (JSON);
//! or a function's blast radius.

use super::{Error, Location};
use crate::diag::Diagnostic;
use crate::fold::GeneralizeLevel;
use crate::graph::select::{Budget, select};
use crate::graph::{AccessGraph, query};
use crate::report::graph::{blast_text, listing, render};
use crate::usage::Usage;

/// The forms of the graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GraphFormat {
    /// A listing: the default for the queries.
    Text,
    Dot,
    /// The default without a query.
    Mermaid,
    /// The whole graph (`tightrole/graph/v2`), or the blast radius (`tightrole/blast/v1`).
    Json,
}

/// What `graph` draws.
#[derive(Debug, Clone, Default)]
pub struct GraphOptions {
    /// `None`: text for a query (`who`, `shared`, `blast`), else Mermaid.
    pub format: Option<GraphFormat>,
    /// How resources are drawn: as the patterns a policy would use.
    pub generalize: GeneralizeLevel,
    /// Only the grants on resources matching this pattern.
    pub who: Option<String>,
    /// Only the functions of shared roles.
    pub shared: bool,
    /// Only the principals these globs name by name, role or function
    /// ([`query::principals`]); none named is an error.
    pub principals: Vec<String>,
    /// A function's blast radius against the current policies (files, or live IAM), instead
    /// of the graph.
    pub blast: Option<(String, Location)>,
}

/// The text for stdout, and what goes to stderr.
#[derive(Debug, Clone, Default)]
pub struct Drawing {
    pub text: String,
    /// What a picture left out ([`render::left_out`]).
    pub left_out: Option<String>,
    /// Problems of the current policies (`blast`).
    pub diagnostics: Vec<Diagnostic>,
}

/// The graph of `usage` as `opts` ask. A picture of the whole trail is within
/// [`Budget::WHOLE`]; of a part (a query or `--principal`), [`Budget::PART`]. `live` is the
/// connection `--current live` reads from.
pub fn draw(
    usage: &Usage,
    opts: &GraphOptions,
    live: Option<&crate::source::live::Live>,
) -> Result<Drawing, Error> {
    let query = opts.who.is_some() || opts.blast.is_some() || opts.shared;
    let format = opts.format.unwrap_or(if query {
        GraphFormat::Text
    } else {
        GraphFormat::Mermaid
    });
    let mut out = Drawing::default();
    if let Some((function, from)) = &opts.blast {
        let current = super::load_current(from, live, &mut out.diagnostics)?;
        let blast = query::blast(usage, function, &current)?;
        out.text = match format {
            GraphFormat::Json => json(&blast)?,
            _ => blast_text(&blast),
        };
        return Ok(out);
    }
    let mut usage = usage.clone();
    query::principals(&mut usage, &opts.principals)?;
    for p in usage.principals.values_mut() {
        p.grants = crate::synth::generalize::generalize_grants(&p.grants, opts.generalize, 32);
    }
    if let Some(pattern) = &opts.who {
        query::who(&mut usage, pattern);
    }
    if opts.shared {
        query::shared(&mut usage);
    }
    let focus = query || !opts.principals.is_empty();
    out.text = match format {
        GraphFormat::Text => listing(&usage, opts.shared),
        GraphFormat::Json => render::json(&AccessGraph::from_usage(&usage)).map_err(Error::Json)?,
        GraphFormat::Dot | GraphFormat::Mermaid => {
            let picture = select(&usage, if focus { Budget::PART } else { Budget::WHOLE });
            out.left_out = render::left_out(&picture);
            if format == GraphFormat::Dot {
                render::dot(&picture)
            } else {
                render::mermaid(&picture)
            }
        }
    };
    Ok(out)
}

fn json<T: serde::Serialize>(value: &T) -> Result<String, Error> {
    Ok(serde_json::to_string_pretty(value).map_err(Error::Json)? + "\n")
}
