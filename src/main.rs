use std::process::ExitCode;

// mimalloc: per-thread free lists suit the read phase's many short-lived strings, and it returns
// memory to the system more readily than glibc's arenas (docs/performance.md has the figures).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// How long, in milliseconds, mimalloc keeps memory that is free before it gives it back to the
/// system. Its own default, 1 second, suits a server; tightrole frees its read phase's tables
/// and builds the ordered ones right after, and with the default both stay resident at once
/// (growing 1 M benchmark trail: 123 MB with it, 96 MB with 10 ms, when this was first set).
/// 10 ms gave memory back so soon that the read faulted the same pages in again: 100 ms takes
/// a quarter of the page faults off the growing 200,000 trail, and 2% of its CPU, for 0–2 MB
/// more peak RSS at 1 M records (docs/performance.md, the sixteenth round). Lowering it only
/// when the read ends does not help: the read's own freed memory is what stays.
/// `MIMALLOC_PURGE_DELAY` (or its older name, `MIMALLOC_RESET_DELAY`, in any case, as mimalloc
/// reads them) in the environment, when set, is left to decide.
const PURGE_DELAY_MS: std::ffi::c_long = 100;

/// `mi_option_purge_delay` in mimalloc's `mi_option_e` (`mimalloc.h`); the Rust bindings do
/// not name it. The test below checks it against the option's default.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

fn main() -> ExitCode {
    // (mimalloc reads its options' names in any case, and the delay's older name too)
    let set_by_env = std::env::vars_os().any(|(k, _)| {
        k.to_str().is_some_and(|k| {
            k.eq_ignore_ascii_case("MIMALLOC_PURGE_DELAY")
                || k.eq_ignore_ascii_case("MIMALLOC_RESET_DELAY")
        })
    });
    if !set_by_env {
        // SAFETY: `mi_option_set` only stores the value in mimalloc's option table
        // (atomically); the option is read when freed memory is next considered for purging.
        // Nothing else runs yet, and any value is valid for this option.
        #[allow(unsafe_code)]
        unsafe {
            libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, PURGE_DELAY_MS);
        }
    }
    tightrole::cli::main()
}

#[cfg(test)]
mod tests {
    /// The option index names the purge delay: its default is mimalloc v3's 1000 ms (unless the
    /// environment sets it).
    #[test]
    fn the_purge_delay_option_is_the_one_set() {
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
            return;
        }
        // SAFETY: reads mimalloc's option table.
        #[allow(unsafe_code)]
        let default = unsafe { libmimalloc_sys::mi_option_get(super::MI_OPTION_PURGE_DELAY) };
        assert_eq!(default, 1000);
    }
}
