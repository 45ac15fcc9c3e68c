//! End-to-end load generator (issue 11): against a running exchange on this machine's
//! loopback, opens `--keys` funded accounts through the admin API, then sends signed place /
//! cancel / amend (keep priority) / bulk cancel requests over REST and/or the WebSocket API,
//! open loop at `--rate` requests/s (latency from each request's due time) or `--rate max`
//! (closed loop with `--concurrency` outstanding), for `--seconds` or `--orders` requests.
//! Prints a progress line each second and the report (p50/p90/p99/p99.9/max per request kind,
//! refusals by code) as text, and as JSON with `--json FILE`.
//!
//! ```sh
//! cargo run --release --bin exchange -- serve &        # ADMIN_TOKEN=... in the environment
//! cargo run --release -p integration-tests --bin loadgen -- --rate max --seconds 10
//! ```

// Rates are display figures, not money.
#![allow(clippy::float_arithmetic)]

use std::sync::atomic::AtomicBool;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use integration_tests::loadgen::{
    Admin, Bound, Load, Mix, OpClient, Pace, RestClient, Transport, Workload, check_loopback,
    funded_traders, markets, report_text,
};

#[derive(Debug, Parser)]
#[command(about = "Signed order load against a local exchange: rates, latency, refusals")]
struct Args {
    /// The exchange's base URL (loopback only).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// The exchange's admin token.
    #[arg(long, env = "ADMIN_TOKEN", hide_env_values = true)]
    admin_token: String,
    /// Accounts (API keys) to open, fund and trade with.
    #[arg(long, default_value_t = 16)]
    keys: usize,
    /// rest, ws or both (alternating).
    #[arg(long, default_value = "rest", value_parser = Transport::parse)]
    transport: Transport,
    /// Requests per second (open loop), or `max` (closed loop, flat out).
    #[arg(long, default_value = "max")]
    rate: String,
    /// Requests outstanding at `--rate max`.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Requests outstanding at most at a fixed rate.
    #[arg(long, default_value_t = 10_000)]
    in_flight_max: usize,
    /// How long to send.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Stop after this many requests (whichever of --seconds and --orders comes first).
    #[arg(long)]
    orders: Option<u64>,
    /// Symbols to trade, comma-separated.
    #[arg(long, default_value = "BTCUSDT,ETHUSDT", value_delimiter = ',')]
    symbols: Vec<String>,
    /// Percentages of place,cancel,amend,bulk_cancel.
    #[arg(long, default_value = "70,15,10,5", value_parser = Mix::parse)]
    mix: Mix,
    /// Seed of the workload's random choices.
    #[arg(long, default_value_t = 11)]
    seed: u64,
    /// Where to write the report as JSON.
    #[arg(long)]
    json: Option<std::path::PathBuf>,
}

const SECONDS_MAX: u64 = 3_600;

fn pace(args: &Args) -> anyhow::Result<Pace> {
    if args.rate == "max" {
        anyhow::ensure!(args.concurrency > 0, "--concurrency must be positive");
        return Ok(Pace::FlatOut { concurrency: args.concurrency });
    }
    let rate: f64 = args.rate.parse().context("--rate: a number of requests/s, or max")?;
    anyhow::ensure!(rate > 0.0 && rate <= 1e7, "--rate {rate}: between 0 and 10 million");
    Ok(Pace::PerSecond { rate, in_flight_max: args.in_flight_max.max(1) })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    check_loopback(&args.url).map_err(anyhow::Error::msg)?;
    anyhow::ensure!(args.keys > 0, "--keys must be positive");
    anyhow::ensure!(args.seconds <= SECONDS_MAX, "--seconds at most {SECONDS_MAX}");
    let pace = pace(&args)?;
    let bound = Bound {
        duration: Duration::from_secs(args.seconds),
        requests_max: args.orders.unwrap_or(u64::MAX),
    };
    let rest = RestClient::new(&args.url);
    let markets = markets(&rest, &args.symbols).await.map_err(anyhow::Error::msg)?;
    let admin = Admin::new(&args.url, &args.admin_token);
    eprintln!("opening and funding {} accounts", args.keys);
    let traders = funded_traders(&admin, &markets, args.keys).await.map_err(anyhow::Error::msg)?;
    let run_tag = format!("lg{}", integration_tests::http::now_ms() % 1_000_000_000);
    let workload =
        Workload::new(markets.clone(), traders.len(), args.mix, args.seed, &run_tag, false);
    let client = OpClient::connect(&args.url, args.transport, traders, markets)
        .await
        .map_err(anyhow::Error::msg)?;
    eprintln!("sending: {pace:?}, {:?} for {} s", args.transport, args.seconds);
    let load = Load::new(client, workload);
    let report = load.run(pace, bound, true, &AtomicBool::new(false)).await;
    print!("{}", report_text(&report));
    if let Some(path) = &args.json {
        let mut report = report;
        report["settings"] = serde_json::json!({
            "url": args.url, "keys": args.keys, "transport": format!("{:?}", args.transport),
            "rate": args.rate, "concurrency": args.concurrency, "seconds": args.seconds,
            "orders": args.orders, "symbols": args.symbols, "mix": format!("{:?}", args.mix),
            "seed": args.seed,
        });
        std::fs::write(path, serde_json::to_string_pretty(&report)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}
