//! The `zkinfer` command line. Exit codes: 0 success, 1 a proof that does not verify,
//! 2 bad input or usage.

mod cli;

fn main() {
    let code = cli::run(std::env::args_os().collect());
    std::process::exit(code);
}
