//! `iptplay`: the playground on the command line.

/// Rulesets are many small allocations; see the note in `Cargo.toml`.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    // Like the C tools: output into a closed pipe (`iptplay … | head`)
    // ends the program quietly instead of failing every later write.
    #[cfg(target_os = "linux")]
    // SAFETY: restoring the default action of SIGPIPE before any thread
    // starts is always sound.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    std::process::exit(engine::cli::main());
}
