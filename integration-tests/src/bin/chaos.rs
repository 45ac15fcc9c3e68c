//! Chaos runner (issue 11): runs the real `exchange` binary on this machine (a private
//! PostgreSQL + RabbitMQ with `--services`, else the embedded SQLite), drives signed load
//! through the load generator's client, and injects the faults of `--faults` one at a time in
//! a seeded order: `kill9` (kill -9 of the exchange, restart), `rabbitmq` (kill -9 of the
//! broker, restart), `postgres` (crash and restart), `stall` (a book actor stalled past its
//! heartbeat deadline), `leader-pause` (SIGSTOP of the index leader past its lease, SIGCONT).
//! After each: `/ready`, then the invariant audit (reconciliation clean, every acknowledged
//! order present, no fill applied twice, depth equals the open orders). Prints a summary;
//! exits 1 on any violation. Bounded by the plan (at most 200 faults) and `--time-limit`.
//!
//! ```sh
//! cargo run --bin chaos -- --services \
//!   --faults kill9=20,rabbitmq=5,postgres=3,stall=5,leader-pause=5
//! ```

use std::time::Duration;

use clap::Parser;
use integration_tests::chaos::{ChaosSettings, plan, run};
use integration_tests::loadgen::Transport;

#[derive(Debug, Parser)]
#[command(about = "Faults injected into a local exchange under load, each followed by an audit")]
struct Args {
    /// Faults and counts: kill9, rabbitmq, postgres, stall, leader-pause.
    #[arg(long, default_value = "kill9=2,stall=1")]
    faults: String,
    /// A private PostgreSQL and RabbitMQ (needed by rabbitmq and postgres faults).
    #[arg(long)]
    services: bool,
    /// Accounts trading.
    #[arg(long, default_value_t = 8)]
    keys: usize,
    #[arg(long, default_value = "BTCUSDT,ETHUSDT", value_delimiter = ',')]
    symbols: Vec<String>,
    /// rest, ws or both.
    #[arg(long, default_value = "both", value_parser = Transport::parse)]
    transport: Transport,
    /// Requests per second while a fault is injected.
    #[arg(long, default_value_t = 200)]
    rate: u32,
    /// Seconds of load around each fault.
    #[arg(long, default_value_t = 4)]
    phase_seconds: u64,
    /// Seconds the audit may wait for the system to settle after a fault.
    #[arg(long, default_value_t = 30)]
    settle_seconds: u64,
    /// No fault starts this many seconds after the set-up.
    #[arg(long, default_value_t = 3_600)]
    time_limit_seconds: u64,
    #[arg(long, default_value_t = 11)]
    seed: u64,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let faults = plan(&args.faults, args.seed).map_err(anyhow::Error::msg)?;
    if !args.services
        && let Some(fault) = faults.iter().find(|fault| fault.needs_services())
    {
        anyhow::bail!("the {} fault needs --services", fault.name());
    }
    anyhow::ensure!(
        args.keys > 0 && args.rate > 0 && args.phase_seconds > 0,
        "positive keys, rate and phase"
    );
    let settings = ChaosSettings {
        faults,
        services: args.services,
        traders: args.keys,
        symbols: args.symbols,
        transport: args.transport,
        rate: f64::from(args.rate),
        phase: Duration::from_secs(args.phase_seconds),
        settle_timeout: Duration::from_secs(args.settle_seconds),
        time_limit: Duration::from_secs(args.time_limit_seconds.min(24 * 3_600)),
        seed: args.seed,
    };
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let summary = runtime.block_on(run(&settings));
    print!("{}", summary.text());
    println!("load: {}", summary.load);
    if summary.violations().is_empty() {
        Ok(())
    } else {
        std::process::exit(1);
    }
}
