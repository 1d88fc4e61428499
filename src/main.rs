//! The `deployer` binary: parse, run, report, exit. Everything else lives in the library.
use std::process::ExitCode;

fn main() -> ExitCode {
    deployer::cli::run()
}
