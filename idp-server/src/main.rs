//! `idp-server`: `serve` (the default) runs the identity provider; the other subcommands
//! administer the same database without a running server. See `idp-server --help`.

use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = idp_server::cli::Cli::parse();
    match idp_server::cli::run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
