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

use std::time::Instant;

use clap::Parser;
use exchange_actors::account::PlaceRequest;
use integration_tests::db::Backend;
use integration_tests::load::{
    flat_out, flood_order, fund_generously, open_loop, place_one, quantiles,
};
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

fn request(rng: &mut ChaCha8Rng, accounts: u64) -> PlaceRequest {
    let symbol = if rng.gen_bool(0.5) { "BTCUSDT" } else { "ETHUSDT" };
    let mid_ticks = if symbol == "BTCUSDT" { 5_000_000 } else { 300_000 };
    flood_order(rng, symbol, mid_ticks, accounts)
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
    let backend = Backend::named(&args.backend);
    actix::System::new().block_on(async move {
        let exchange = TestExchange::start(backend).await;
        for account in 1..=args.accounts {
            fund_generously(&exchange, account).await;
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
        let mut requests = requests.into_iter();
        let histogram = open_loop(args.orders, rate, |_| {
            place_one(&exchange, requests.next().expect("one request per index"))
        })
        .await;
        println!(
            "{} open loop at {:.0} orders/s: ack {}",
            args.backend,
            rate,
            quantiles(&histogram)
        );
        exchange.settle().await;
    });
}
