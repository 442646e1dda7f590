//! Exit codes. `docs/exit-codes.md` documents the same table; a test keeps them in sync.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// The command did what was asked.
    Ok,
    /// An error stopped the command (I/O, an internal check such as a failed replay).
    Failure,
    /// The command line was wrong (clap's code; never used for anything else).
    Usage,
    /// No usable record was read: nothing can be concluded, so this is never success.
    NoInput,
    /// `--strict` and some input had problems (see the warnings).
    InputWarnings,
    /// Records were read, but the filters (`--since`, `--until`, `--account`, `--region`) kept
    /// none of them.
    OutsideFilters,
    /// Findings at or above `--fail-on` (diff), or observed calls a policy would block (check).
    Findings,
}

impl Exit {
    pub const ALL: [Exit; 7] = [
        Exit::Ok,
        Exit::Failure,
        Exit::Usage,
        Exit::NoInput,
        Exit::InputWarnings,
        Exit::OutsideFilters,
        Exit::Findings,
    ];

    pub fn code(self) -> u8 {
        match self {
            Exit::Ok => 0,
            Exit::Failure => 1,
            Exit::Usage => 2,
            Exit::NoInput => 3,
            Exit::InputWarnings => 4,
            Exit::OutsideFilters => 5,
            Exit::Findings => 10,
        }
    }

    pub fn meaning(self) -> &'static str {
        match self {
            Exit::Ok => "success",
            Exit::Failure => "an error stopped the command",
            Exit::Usage => "invalid command line",
            Exit::NoInput => "no usable CloudTrail record was read",
            Exit::InputWarnings => "`--strict` and some input could not be used",
            Exit::OutsideFilters => "every record read was outside the filters",
            Exit::Findings => {
                "findings: `diff --fail-on` matched, or `check` found calls the policy would block"
            }
        }
    }
}
