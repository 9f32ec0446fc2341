//! The `zkinfer` command line. Exit codes: 0 success, 1 a proof that does not verify,
//! 2 bad input or usage.

mod cli;

fn main() {
    return_large_buffers_to_the_os();
    let code = cli::run(std::env::args_os().collect());
    std::process::exit(code);
}

/// Makes glibc serve every allocation of 4 MiB or more with its own mapping, returned to the
/// OS when freed. By default glibc raises that threshold as large blocks are freed (up to
/// 32 MiB), after which the big buffers of one proof stay in the heap, fragmented, when the
/// next proof or segment runs: proving the gpt fixture's four segments in turn then peaks at
/// 582 MB instead of 441 MB (the unsplit proof at 1144 MB instead of 1037 MB), at the same
/// speed. It also makes the memory estimates of `zkinfer_prover::estimate` hold. The
/// threshold was 128 KiB until the MSM's buffers of a few hundred KiB (buckets, batches,
/// digits), mapped and faulted in afresh on every call, cost a CNN proof about 10 % (12.8k
/// page faults against 7.6k at 4 MiB).
fn return_large_buffers_to_the_os() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; it is called before any thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 4 << 20);
    }
}
