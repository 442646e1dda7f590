//! The command line's names for the library's closed sets are the names its JSON uses.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "a test: a failure is the report"
)]

use clap::ValueEnum;
use tightrole::drift::Finding;
use tightrole::fold::GeneralizeLevel;
use tightrole::synth::PolicyKind;

fn check<T: ValueEnum + serde::Serialize>() {
    for v in T::value_variants() {
        let name = v.to_possible_value().map(|p| p.get_name().to_string());
        let json = serde_json::to_value(v)
            .ok()
            .and_then(|j| j.as_str().map(String::from));
        assert_eq!(name, json);
    }
}

#[test]
fn command_line_names_match_the_json() {
    check::<GeneralizeLevel>();
    check::<PolicyKind>();
    check::<Finding>();
}
