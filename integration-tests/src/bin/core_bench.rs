//! Orders per second and acknowledgement latency through the trading core's actors, in one
//! process, with the journal on SQLite or PostgreSQL (a fresh database per run).
//!
//! `cargo run --release -p integration-tests --bin core_bench -- --backend postgres`
//!
//! Phase 1 (flat out): `--orders` placements, each its own `PlaceOrders` message to the
//! account's shard (as a gateway sends them), with `--in-flight` outstanding; reports
//! orders/s. Phase 2 (open loop): the same count at `--rate-percent` of the measured rate,
//! each request scheduled at a fixed time; latency is measured from that scheduled time, so
//! a stall shows up in the histogram instead of slowing the sender (no coordinated omission).
//! An acknowledgement means: held and journaled by the shard, matched and journaled by the
//! book. After phase 1 it reports how long the shards' projection into `orders` and
//! `ledger_entries` rows still took (it runs behind the acknowledgements, bounded).

// Rates and rate percentages are display figures, not money.
#![allow(clippy::float_arithmetic)]

use std::time::{Duration, Instant};

use clap::Parser;
use exchange_actors::account::PlaceRequest;
use exchange_actors::model::{
    AccountId, ClientOrderId, OrderQuantity, OrderType, Price, Qty, SelfTradePrevention, Side,
    SymbolCode, TimeInForce,
};
use hdrhistogram::Histogram;
use integration_tests::db::Backend;
use integration_tests::system::TestExchange;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

#[derive(Debug, Parser)]
struct Args {
    /// sqlite or postgres
    #[arg(long, default_value = "sqlite")]
    backend: String,
    #[arg(long, default_value_t = 200_000)]
    orders: usize,
    #[arg(long, default_value_t = 1_000)]
    accounts: u64,
    #[arg(long, default_value_t = 8_192)]
    in_flight: usize,
    #[arg(long, default_value_t = 50)]
    rate_percent: u64,
}

const UNIT: i128 = 100_000_000;

fn request(rng: &mut ChaCha8Rng, accounts: u64) -> PlaceRequest {
    let symbol = if rng.gen_bool(0.5) { "BTCUSDT" } else { "ETHUSDT" };
    let mid = if symbol == "BTCUSDT" { 5_000_000 } else { 300_000 };
    let side = if rng.gen_bool(0.5) { Side::Buy } else { Side::Sell };
    // Mostly resting orders around the mid; about one in ten crosses.
    let offset = rng.gen_range(1..=500);
    let crossing = rng.gen_range(0..10) == 0;
    let price = match (side, crossing) {
        (Side::Buy, false) | (Side::Sell, true) => mid - offset,
        (Side::Sell, false) | (Side::Buy, true) => mid + offset,
    };
    PlaceRequest {
        symbol: SymbolCode::new(symbol).expect("symbol"),
        account_id: AccountId(rng.gen_range(1..=accounts)),
        client_order_id: ClientOrderId::NONE,
        side,
        order_type: OrderType::Limit,
        time_in_force: TimeInForce::Gtc,
        price: Some(Price(price)),
        quantity: OrderQuantity::Base(Qty(rng.gen_range(100..=1_000))),
        self_trade_prevention: SelfTradePrevention::None,
        reduce_only: false,
        ts_ns: 0,
    }
}

async fn flat_out(exchange: &TestExchange, requests: Vec<PlaceRequest>, in_flight: usize) -> f64 {
    let started = Instant::now();
    let mut running = tokio::task::JoinSet::new();
    let count = requests.len();
    for request in requests {
        while running.len() >= in_flight {
            running.join_next().await.expect("task").expect("no panic");
        }
        let shard = exchange.system.shard(request.account_id).clone();
        running.spawn_local(async move {
            let answers =
                shard.send(exchange_actors::account::actor::PlaceOrders(vec![request])).await;
            assert!(answers.expect("shard alive")[0].is_ok(), "order placed");
        });
    }
    while running.join_next().await.is_some() {}
    count as f64 / started.elapsed().as_secs_f64()
}

async fn open_loop(
    exchange: &TestExchange,
    requests: Vec<PlaceRequest>,
    rate: f64,
) -> Histogram<u64> {
    let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel();
    let started = tokio::time::Instant::now();
    let interval = Duration::from_secs_f64(1.0 / rate);
    let count = requests.len();
    for (index, request) in requests.into_iter().enumerate() {
        let scheduled = started + interval * u32::try_from(index).expect("count fits u32");
        tokio::time::sleep_until(scheduled).await;
        let shard = exchange.system.shard(request.account_id).clone();
        let sender = sender.clone();
        tokio::task::spawn_local(async move {
            let answers =
                shard.send(exchange_actors::account::actor::PlaceOrders(vec![request])).await;
            assert!(answers.expect("shard alive")[0].is_ok(), "order placed");
            let latency = tokio::time::Instant::now() - scheduled;
            sender.send(u64::try_from(latency.as_micros()).unwrap_or(u64::MAX)).expect("collector");
        });
    }
    let mut histogram = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("histogram");
    for _ in 0..count {
        let micros = receiver.recv().await.expect("every request reports");
        histogram.record(micros.max(1)).expect("in range");
    }
    histogram
}

/// Milliseconds until every shard's journaled batches are projected into rows: how far the
/// projector (bounded lag) trails the acknowledgements.
async fn finish_projection(exchange: &TestExchange) -> u128 {
    let started = Instant::now();
    exchange.finish_projections().await;
    started.elapsed().as_millis()
}

fn main() {
    let args = Args::parse();
    let backend = match args.backend.as_str() {
        "sqlite" => Backend::Sqlite,
        "postgres" => Backend::Postgres,
        other => panic!("unknown backend {other}"),
    };
    actix::System::new().block_on(async move {
        let exchange = TestExchange::start(backend).await;
        for account in 1..=args.accounts {
            let funds =
                [("BTC", 1_000 * UNIT), ("ETH", 10_000 * UNIT), ("USDT", 100_000_000 * UNIT)];
            exchange.fund(account, &funds).await;
        }
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let warmup: Vec<_> =
            (0..args.orders / 10).map(|_| request(&mut rng, args.accounts)).collect();
        flat_out(&exchange, warmup, args.in_flight).await;
        let requests: Vec<_> = (0..args.orders).map(|_| request(&mut rng, args.accounts)).collect();
        let throughput = flat_out(&exchange, requests, args.in_flight).await;
        println!(
            "{} flat out: {:.0} orders/s ({} orders, {} in flight)",
            args.backend, throughput, args.orders, args.in_flight
        );
        let drained = finish_projection(&exchange).await;
        println!(
            "{} projection into rows finished {} ms after the last ack",
            args.backend, drained
        );
        let rate = throughput * args.rate_percent as f64 / 100.0;
        let requests: Vec<_> = (0..args.orders).map(|_| request(&mut rng, args.accounts)).collect();
        let histogram = open_loop(&exchange, requests, rate).await;
        println!(
            "{} open loop at {:.0} orders/s: ack p50 {} us, p99 {} us, p99.9 {} us, max {} us",
            args.backend,
            rate,
            histogram.value_at_quantile(0.5),
            histogram.value_at_quantile(0.99),
            histogram.value_at_quantile(0.999),
            histogram.max()
        );
        exchange.settle().await;
    });
}
