//! myTrades latency at scale: a fresh PostgreSQL database whose `trades` table holds `--rows`
//! trades (default 5,000,000; three symbols, 10,000 accounts, a market maker in every tenth
//! row), then `--queries` myTrades pages run open loop at `--rate` per second through
//! `Store::account_trades`, the call `GET /api/v3/myTrades` makes (newest page of `--limit`
//! trades of a random account and symbol; one query in ten is the market maker's). Latency is
//! measured from each query's scheduled time (no coordinated omission).
//!
//! The bench connects as `exchange serve` does (see `DatabaseSettings`): without TLS to a
//! server on this host unless `DB_SSL_MODE` or `PGSSLMODE` asks for it.
//!
//! `cargo run --release -p integration-tests --bin my_trades_bench`

// Rates are display figures, not money.
#![allow(clippy::float_arithmetic)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use exchange::store::{AccountTradeQuery, DatabaseSettings, Store};
use exchange_actors::model::{AccountId, SymbolCode};
use hdrhistogram::Histogram;
use integration_tests::db::{Backend, TestDatabase};
use integration_tests::history_rows::{load_trades, set_aside_indexes};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sea_orm::{ConnectionTrait, DbBackend};
use tokio::sync::mpsc;

#[derive(Debug, Parser)]
struct Args {
    #[arg(long, default_value_t = 5_000_000)]
    rows: u64,
    #[arg(long, default_value_t = 20_000)]
    queries: u64,
    #[arg(long, default_value_t = 1_000)]
    rate: u64,
    #[arg(long, default_value_t = 500)]
    limit: u32,
    /// Query phases over the same table (each reported; compare their medians).
    #[arg(long, default_value_t = 3)]
    runs: u64,
}

const SYMBOLS: [&str; 3] = ["BTCUSDT", "ETHUSDT", "SOLUSDT"];
const MARKET_MAKER: u64 = 1;

async fn load(store: &Store, rows: u64) {
    let db = store.connection();
    let definitions = set_aside_indexes(store, "trades").await;
    let loaded = db.execute_unprepared(&load_trades(DbBackend::Postgres, rows)).await;
    assert_eq!(loaded.expect("load").rows_affected(), rows);
    for definition in definitions {
        db.execute_unprepared(&definition).await.expect("index");
    }
    db.execute_unprepared("VACUUM ANALYZE trades").await.expect("vacuum");
}

fn query(rng: &mut ChaCha8Rng, limit: u32) -> AccountTradeQuery {
    let account = if rng.gen_range(0..10) == 0 { MARKET_MAKER } else { rng.gen_range(2..=10_000) };
    let symbol = SYMBOLS[rng.gen_range(0..SYMBOLS.len())];
    AccountTradeQuery {
        account_id: AccountId(account),
        symbol: SymbolCode::new(symbol).expect("symbol"),
        order_id: None,
        from_trade_id: None,
        to_trade_id: None,
        newest_first: true,
        limit,
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args = Args::parse();
    let database = TestDatabase::create(Backend::Postgres).await;
    // Connected as `exchange serve` connects: `DB_SSL_MODE`, `PGSSLMODE` and the host decide
    // TLS (loopback: none unless asked).
    let settings = DatabaseSettings::resolve(&database.url, |name| std::env::var(name).ok())
        .expect("database settings");
    println!("connecting to {}", settings.url);
    let store =
        Store::connect_sized(&settings.url, settings.max_connections).await.expect("connect");
    store.migrate().await.expect("migrate");
    let store = Arc::new(store);
    let loading = Instant::now();
    load(&store, args.rows).await;
    println!(
        "loaded {} trades (indexes, vacuum) in {:.1} s",
        args.rows,
        loading.elapsed().as_secs_f64()
    );

    for run in 1..=args.runs {
        run_queries(&args, &store, run).await;
    }
}

async fn run_queries(args: &Args, store: &Arc<Store>, run: u64) {
    let mut rng = ChaCha8Rng::seed_from_u64(run);
    let (sender, mut latencies) = mpsc::unbounded_channel();
    let interval = Duration::from_secs(1) / u32::try_from(args.rate).expect("rate fits u32");
    let start = tokio::time::Instant::now();
    for n in 0..args.queries {
        let scheduled = start + interval * u32::try_from(n).expect("queries fit u32");
        tokio::time::sleep_until(scheduled).await;
        let (store, sender, query) = (store.clone(), sender.clone(), query(&mut rng, args.limit));
        tokio::spawn(async move {
            let trades = store.account_trades(&query).await.expect("query");
            let latency = tokio::time::Instant::now() - scheduled;
            let _ = sender.send((latency, trades.len()));
        });
    }
    drop(sender);
    let mut histogram = Histogram::<u64>::new(3).expect("histogram");
    let mut rows_returned = 0;
    while let Some((latency, rows)) = latencies.recv().await {
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        histogram.record(micros.max(1)).expect("record");
        rows_returned += rows;
    }
    let ms = |quantile: f64| histogram.value_at_quantile(quantile) as f64 / 1_000.0;
    println!(
        "run {run}: myTrades at {} rows: {} queries at {}/s (limit {}, {} rows returned): p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        args.rows,
        histogram.len(),
        args.rate,
        args.limit,
        rows_returned,
        ms(0.5),
        ms(0.9),
        ms(0.99),
        histogram.max() as f64 / 1_000.0,
    );
}
