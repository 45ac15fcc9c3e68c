//! A market maker's cancels under a flood of new orders on one book (issue 7): the cancel lane
//! measured. In one process through the trading core's actors, journal on SQLite or PostgreSQL
//! (a fresh database per run).
//!
//! `cargo run --release -p integration-tests --bin cancel_lane_bench -- --backend sqlite`
//!
//! Phase 1 (capacity): `--orders` new orders on BTCUSDT flat out, each its own `PlaceOrders`
//! message to the account's shard (as a gateway sends them) with `--in-flight` outstanding.
//! Phase 2: `--orders` more at `--rate-percent` of that capacity, open loop, while one market
//! maker cancels its resting orders (placed beforehand, far from where the flood trades) at
//! `--cancels-per-s`, each a single-cancel message straight to the book (as `DELETE
//! /api/v3/order` sends it). Both latencies are measured from each request's scheduled send
//! time until its acknowledgement (journaled), in HDR histograms.

// Rates are display figures, not money.
#![allow(clippy::float_arithmetic)]

use clap::Parser;
use exchange_actors::account::OPEN_ORDERS_PER_ACCOUNT_MAX;
use exchange_actors::book::actor::SubmitCommands;
use exchange_actors::model::{AccountId, BookCommand, CancelOrder, OrderId, Side};
use integration_tests::db::Backend;
use integration_tests::load::{
    FLOOD_OFFSET_TICKS_MAX, flat_out, flood_order, fund_generously, open_loop, place_one, quantiles,
};
use integration_tests::system::{TestExchange, limit};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

#[derive(Debug, Parser)]
struct Args {
    /// sqlite or postgres
    #[arg(long, default_value = "sqlite")]
    backend: String,
    #[arg(long, default_value_t = 100_000)]
    orders: usize,
    #[arg(long, default_value_t = 200)]
    accounts: u64,
    #[arg(long, default_value_t = 8_192)]
    in_flight: usize,
    #[arg(long, default_value_t = 80)]
    rate_percent: u64,
    #[arg(long, default_value_t = 200)]
    cancels_per_s: u64,
}

const SYMBOL: &str = "BTCUSDT";
const MID_TICKS: i64 = 5_000_000;
/// The maker's orders rest this far below the flood's lowest price, so no flood order fills them.
const MAKER_DISTANCE_TICKS: i64 = 2 * FLOOD_OFFSET_TICKS_MAX;
/// Orders one maker message places (well under a shard's per-message limit).
const MAKER_CHUNK: usize = 100;

/// Places `count` resting bids of `maker` out of the flood's reach; answers their ids.
async fn rest_maker_orders(exchange: &TestExchange, maker: u64, count: usize) -> Vec<OrderId> {
    let mut order_ids = Vec::with_capacity(count);
    let prices = (0..count).map(|index| {
        let spread = i64::try_from(index % 1_000).expect("below 1000");
        MID_TICKS - MAKER_DISTANCE_TICKS - spread
    });
    let requests: Vec<_> = prices
        .enumerate()
        .map(|(index, price)| limit(SYMBOL, maker, Side::Buy, price, 100, &format!("mm{index}")))
        .collect();
    for chunk in requests.chunks(MAKER_CHUNK) {
        for placed in exchange.place_many(chunk.to_vec()).await {
            let placed = placed.expect("maker order placed");
            assert!(placed.outcome.result.is_ok(), "maker order rests");
            order_ids.push(placed.order_id);
        }
    }
    order_ids
}

fn main() {
    let args = Args::parse();
    let backend = Backend::named(&args.backend);
    actix::System::new().block_on(async move {
        let exchange = TestExchange::start(backend).await;
        let maker = args.accounts + 1;
        for account in 1..=maker {
            fund_generously(&exchange, account).await;
        }
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut flood = |count: usize| -> Vec<_> {
            (0..count).map(|_| flood_order(&mut rng, SYMBOL, MID_TICKS, args.accounts)).collect()
        };
        flat_out(&exchange, flood(args.orders / 10), args.in_flight).await;
        let capacity = flat_out(&exchange, flood(args.orders), args.in_flight).await;
        println!("{} one book flat out: {capacity:.0} orders/s", args.backend);

        let rate = capacity * args.rate_percent as f64 / 100.0;
        let seconds = args.orders as f64 / rate;
        let flood_ms = std::time::Duration::from_secs_f64(seconds).as_millis();
        let cancels = usize::try_from(flood_ms * u128::from(args.cancels_per_s) / 1_000)
            .unwrap_or(usize::MAX)
            .min(OPEN_ORDERS_PER_ACCOUNT_MAX);
        let maker_orders = rest_maker_orders(&exchange, maker, cancels).await;
        let book = exchange.system.directory.book(SYMBOL).expect("book");
        let mut new_orders = flood(args.orders).into_iter();
        let new_order_latency = open_loop(args.orders, rate, |_| {
            place_one(&exchange, new_orders.next().expect("one order per index"))
        });
        let cancel_latency = open_loop(cancels, args.cancels_per_s as f64, |index| {
            let order_id = maker_orders[index];
            let cancel = CancelOrder { account_id: AccountId(maker), order_id };
            let request = book.send(SubmitCommands(vec![BookCommand::Cancel(cancel)]));
            async move {
                let outcomes = request.await.expect("book alive").expect("cancel journaled");
                assert!(outcomes[0].result.is_ok(), "maker order canceled: {outcomes:?}");
            }
        });
        let (new_order_latency, cancel_latency) = tokio::join!(new_order_latency, cancel_latency);
        println!(
            "{} new orders at {rate:.0}/s ({}% of capacity): ack {}",
            args.backend,
            args.rate_percent,
            quantiles(&new_order_latency)
        );
        println!(
            "{} maker cancels at {}/s ({cancels}): ack {}",
            args.backend,
            args.cancels_per_s,
            quantiles(&cancel_latency)
        );
        let p99_ratio = cancel_latency.value_at_quantile(0.99) as f64
            / new_order_latency.value_at_quantile(0.99).max(1) as f64;
        println!("{} cancel p99 / new-order p99: {p99_ratio:.3}", args.backend);
        exchange.settle().await;
    });
}
