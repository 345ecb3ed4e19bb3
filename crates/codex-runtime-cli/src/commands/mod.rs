//! One module per command; each turns parsed arguments into library calls and output.

mod bundle;
mod cache;
mod channel;
mod check;
mod env;
mod install;
mod list;
mod protocol;
mod verify_pins;

use std::process::ExitCode;

use anyhow::Result;

use crate::cli::{Cli, Command};
use crate::context::Context;

pub fn run(cli: &Cli) -> Result<ExitCode> {
    if let Command::VerifyPins(args) = &cli.command {
        // Broken manifests are what it reports, so it loads them itself.
        return verify_pins::verify_pins(&cli.global, args);
    }
    if cli.global.json
        && let Command::Exec(_) | Command::Completions(_) = &cli.command
    {
        let message =
            "--json does not apply here: exec passes codex's own output through, and completions prints a script";
        return Err(crate::UsageError(message.to_owned()).into());
    }
    let ctx = Context::new(&cli.global)?;
    match &cli.command {
        Command::Install(args) => install::install(&ctx, args),
        Command::Path(args) => install::path(&ctx, args),
        Command::Import(args) => install::import(&ctx, args),
        Command::List(args) => list::list(&ctx, args.available).map(|()| ExitCode::SUCCESS),
        Command::Check(args) => check::check(&ctx, args),
        Command::Exec(args) => check::exec(&ctx, args),
        Command::Env(args) => env::env(&ctx, args),
        Command::Completions(args) => env::completions(args),
        Command::Bundle(args) => bundle::bundle(&ctx, args),
        Command::Channel(args) => channel::channel(&ctx, args),
        Command::Cache(args) => cache::cache(&ctx, args),
        Command::Protocol(args) => protocol::protocol(&ctx, args),
        Command::VerifyPins(_) => unreachable!("dispatched above"),
    }
}
