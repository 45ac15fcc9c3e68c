//! Recovery time (issue 11): from the start of an exchange process to its first accepted order,
//! on a journal such as a long-running exchange leaves: `--resting` orders resting and about
//! `--events` book events journaled (snapshots on the books' own schedule), on SQLite or
//! PostgreSQL (a fresh database per invocation).
//!
//! `cargo run --release -p integration-tests --bin recovery_bench -- --backend sqlite`
//!
//! The journal is built by the real shard state and matching engines in-process
//! (`recovery_journal`). Then, each in a fresh process of this binary: one warm-up start (the
//! history writer catches up on the whole journal once, as on a running exchange), `--runs`
//! measured starts (clock from spawn to the child's first accepted order, then the child checks
//! every invariant), and one start timed part by part. Median and spread are printed.

// Times are display figures, not money.
#![allow(clippy::float_arithmetic)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use clap::Parser;
use integration_tests::db::{Backend, TestDatabase};
use integration_tests::recovery_journal::{JournalShape, build_journal};
use integration_tests::recovery_probe::{TRADING_LINE, start_and_trade, time_parts};
use integration_tests::system::default_config;

#[derive(Debug, Parser)]
struct Args {
    /// sqlite or postgres
    #[arg(long, default_value = "sqlite")]
    backend: String,
    #[arg(long, default_value_t = 1_000_000)]
    resting: u64,
    #[arg(long, default_value_t = 10_000_000)]
    events: u64,
    #[arg(long, default_value_t = 2_000)]
    accounts: u64,
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// (internal) start the exchange on this database and place one order
    #[arg(long, hide = true)]
    start_on: Option<String>,
    /// (internal) time each part of a start on this database
    #[arg(long, hide = true)]
    parts_on: Option<String>,
}

/// Runs this binary with `flag url`; answers the time from spawn to its [`TRADING_LINE`] (if it
/// printed one) and everything else it printed.
fn child(flag: &str, url: &str) -> (Option<Duration>, Vec<String>) {
    let spawned = Instant::now();
    let mut process = Command::new(std::env::current_exe().expect("own path"))
        .args([flag, url])
        .stdout(Stdio::piped())
        .spawn()
        .expect("child starts");
    let stdout = process.stdout.take().expect("piped");
    let mut trading = None;
    let mut lines = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("child output");
        if line == TRADING_LINE {
            trading = Some(spawned.elapsed());
        } else {
            lines.push(line);
        }
    }
    assert!(process.wait().expect("child ends").success(), "child {flag} failed: {lines:?}");
    (trading, lines)
}

fn main() {
    let args = Args::parse();
    let process_started = Instant::now();
    let config = default_config();
    if let Some(url) = args.start_on {
        actix::System::new().block_on(start_and_trade(&config, &url, process_started));
        std::process::exit(0);
    }
    if let Some(url) = args.parts_on {
        actix::System::new().block_on(time_parts(&config, &url));
        std::process::exit(0);
    }
    let backend = Backend::named(&args.backend);
    let shape =
        JournalShape { resting_orders: args.resting, events: args.events, accounts: args.accounts };
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let database = runtime.block_on(TestDatabase::create(backend));
    let built = runtime.block_on(async {
        let store = database.store().await;
        build_journal(&store, &config, shape).await
    });
    println!(
        "{} journal built in {:.1} s (+ {:.1} s finishing the row projection): books {:?} \
         (symbol, last event seq, resting), shards' open orders {:?}",
        args.backend,
        built.build.as_secs_f64(),
        built.projection.as_secs_f64(),
        built.books,
        built.shard_open_orders,
    );
    let (warm_up, lines) = child("--start-on", &database.url);
    let warm_up = warm_up.expect("warm-up traded");
    println!("warm-up start (history catches up): {:.0} ms {lines:?}", warm_up.as_secs_f64() * 1e3);
    let mut totals_ms = Vec::new();
    for run in 1..=args.runs {
        let (trading, lines) = child("--start-on", &database.url);
        let trading_ms = trading.expect("traded").as_secs_f64() * 1e3;
        println!(
            "{} run {run}: spawn to first accepted order {trading_ms:.0} ms {lines:?}",
            args.backend
        );
        totals_ms.push(trading_ms);
    }
    let (_, parts) = child("--parts-on", &database.url);
    for line in parts {
        println!("{} part: {line}", args.backend);
    }
    totals_ms.sort_by(f64::total_cmp);
    println!(
        "{} recovery ({} resting, {} events): median {:.0} ms, min {:.0}, max {:.0} over {} runs",
        args.backend,
        args.resting,
        args.events,
        totals_ms[totals_ms.len() / 2],
        totals_ms[0],
        totals_ms[totals_ms.len() - 1],
        totals_ms.len(),
    );
    drop(runtime);
}
