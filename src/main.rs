use std::process::ExitCode;

// mimalloc: per-thread free lists suit the read phase's many short-lived strings, and it returns
// memory to the system more readily than glibc's arenas (docs/performance.md has the figures).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    tightrole::cli::main()
}
