//! The `exchange` server binary.
//!
//! At this stage it validates the configured markets (`check-config`); the actors, journal and
//! HTTP/WebSocket front door are wired in as they land (see the README's status section).

use exchange::config;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "exchange", version, about = "Actor-model crypto exchange")]
struct Cli {
    /// Configuration file.
    #[arg(long, env = "EXCHANGE_CONFIG", default_value = "config/default.toml", global = true)]
    config: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Validate the configuration and list the markets it defines; exit non-zero naming the
    /// setting at fault.
    CheckConfig,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: &Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::CheckConfig => check_config(cli),
    }
}

fn check_config(cli: &Cli) -> anyhow::Result<()> {
    let config = config::Config::load(&cli.config)?;
    let markets = config.markets()?;
    println!("configuration {} is valid", cli.config.display());
    for market in &markets {
        let spec = &market.spec;
        println!(
            "{}: {}/{} tick {} step {} band {} bps, maker {} taker {}, up to {} resting orders",
            spec.symbol,
            spec.base_asset,
            spec.quote_asset,
            spec.tick_size,
            spec.step_size,
            spec.price_band_bps,
            spec.maker_fee_rate,
            spec.taker_fee_rate,
            market.limits.capacity.orders_max
        );
    }
    Ok(())
}
