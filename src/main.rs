use std::process::ExitCode;

fn main() -> ExitCode {
    tightrole::cli::main()
}
