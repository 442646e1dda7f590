//! Hostile log text: every string a caller or an uploader controls, fed through every output.
//! One module per defect class of the "log text can't forge or widen anything" review; each
//! test is built from the case the review found (docs/reliability.md, "Threat model").

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "integration tests fail loudly on broken fixtures"
)]

mod common;

#[path = "adversarial/denied.rs"]
mod denied;
#[path = "adversarial/escaping.rs"]
mod escaping;
#[path = "adversarial/files.rs"]
mod files;
#[path = "adversarial/iac.rs"]
mod iac;
#[path = "adversarial/memory.rs"]
mod memory;
