//! Load generation shared by the in-process benches: placements flat out with a bound on what is
//! outstanding, and open-loop schedules whose latency is measured from each request's scheduled
//! send time (a stall shows in the histogram instead of slowing the sender: no coordinated
//! omission).

// Rates are display figures, not money.
#![allow(clippy::float_arithmetic)]

use std::future::Future;
use std::time::{Duration, Instant};

use exchange_actors::account::PlaceRequest;
use exchange_actors::account::actor::PlaceOrders;
use exchange_actors::model::{
    AccountId, ClientOrderId, OrderQuantity, OrderType, Price, Qty, SelfTradePrevention, Side,
    SymbolCode, TimeInForce,
};
use hdrhistogram::Histogram;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::system::TestExchange;

/// One whole BTC, ETH or USDT in minor units (8 decimal places in the default config).
const UNIT: i128 = 100_000_000;

/// Opens `account` with more BTC, ETH and USDT than any bench spends.
pub async fn fund_generously(exchange: &TestExchange, account: u64) {
    let funds = [("BTC", 1_000 * UNIT), ("ETH", 10_000 * UNIT), ("USDT", 100_000_000 * UNIT)];
    exchange.fund(account, &funds).await;
}

/// A limit GTC order on `symbol` of a random account in `1..=accounts`, within 500 ticks of
/// `mid_ticks`: mostly resting, about one in ten crossing.
pub fn flood_order(
    rng: &mut ChaCha8Rng,
    symbol: &str,
    mid_ticks: i64,
    accounts: u64,
) -> PlaceRequest {
    let side = if rng.gen_bool(0.5) { Side::Buy } else { Side::Sell };
    let offset = rng.gen_range(1..=FLOOD_OFFSET_TICKS_MAX);
    let crossing = rng.gen_range(0..10) == 0;
    let price = match (side, crossing) {
        (Side::Buy, false) | (Side::Sell, true) => mid_ticks - offset,
        (Side::Sell, false) | (Side::Buy, true) => mid_ticks + offset,
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

/// How far from the mid a [`flood_order`] is priced at most.
pub const FLOOD_OFFSET_TICKS_MAX: i64 = 500;

/// An empty histogram of microseconds, 1 us to 60 s, 3 significant digits.
pub fn latency_histogram() -> Histogram<u64> {
    Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("histogram bounds are valid")
}

/// `p50 / p99 / p99.9 / max` of a histogram of microseconds, for a report line.
pub fn quantiles(histogram: &Histogram<u64>) -> String {
    format!(
        "p50 {} us, p99 {} us, p99.9 {} us, max {} us",
        histogram.value_at_quantile(0.5),
        histogram.value_at_quantile(0.99),
        histogram.value_at_quantile(0.999),
        histogram.max()
    )
}

/// Places one order as a gateway does (its own `PlaceOrders` message) and asserts it was placed.
pub fn place_one(
    exchange: &TestExchange,
    request: PlaceRequest,
) -> impl Future<Output = ()> + use<> {
    let shard = exchange.system.shard(request.account_id);
    async move {
        let answers = shard.send(PlaceOrders(vec![request])).await.expect("shard alive");
        assert!(answers[0].is_ok(), "order placed: {:?}", answers[0]);
    }
}

/// Places `requests` one message each with at most `in_flight` outstanding; answers orders/s.
pub async fn flat_out(
    exchange: &TestExchange,
    requests: Vec<PlaceRequest>,
    in_flight: usize,
) -> f64 {
    let started = Instant::now();
    let mut running = tokio::task::JoinSet::new();
    let count = requests.len();
    for request in requests {
        while running.len() >= in_flight {
            running.join_next().await.expect("a task is running").expect("no panic");
        }
        running.spawn_local(place_one(exchange, request));
    }
    while let Some(done) = running.join_next().await {
        done.expect("no panic");
    }
    count as f64 / started.elapsed().as_secs_f64()
}

/// Starts `count` requests at `rate_per_s`, the `index`th made by `request(index)` and spawned
/// at its scheduled time, and records each one's latency from that time until it completes.
pub async fn open_loop<Request, Answer>(
    count: usize,
    rate_per_s: f64,
    mut request: Request,
) -> Histogram<u64>
where
    Request: FnMut(usize) -> Answer,
    Answer: Future<Output = ()> + 'static,
{
    let (sender, mut receiver) = tokio::sync::mpsc::channel(count.max(1));
    let started = tokio::time::Instant::now();
    let interval = Duration::from_secs_f64(1.0 / rate_per_s);
    for index in 0..count {
        let scheduled = started + interval * u32::try_from(index).expect("count fits u32");
        tokio::time::sleep_until(scheduled).await;
        let answer = request(index);
        let sender = sender.clone();
        tokio::task::spawn_local(async move {
            answer.await;
            let latency = tokio::time::Instant::now() - scheduled;
            let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
            sender.try_send(micros).expect("room for every request's latency");
        });
    }
    let mut histogram = latency_histogram();
    for _ in 0..count {
        let micros = receiver.recv().await.expect("every request reports");
        histogram.record(micros.max(1)).expect("latency below 60 s");
    }
    histogram
}
