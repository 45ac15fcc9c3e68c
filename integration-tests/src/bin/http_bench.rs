//! Signed order placements per second over HTTP, and their acknowledgement latency, against
//! the real `exchange serve` binary (release build) on this machine, with the load generator
//! in this process on the same machine (it shares the cores with the server).
//!
//! `cargo build --release -p exchange -p integration-tests --bins && target/release/http_bench`
//!
//! Phase 1 (flat out): `--orders` `POST /api/v3/order` (LIMIT GTC, ACK answers) from
//! `--connections` concurrent clients, each waiting for its answer before the next; reports
//! orders/s. Phase 2 (open loop): the same count at `--rate-percent` of that rate, each
//! request sent at its scheduled time whatever the server's state; latency runs from the
//! scheduled time to the answer (no coordinated omission), recorded in an HDR histogram.

// Rates are display figures, not money.
#![allow(clippy::float_arithmetic)]

use std::rc::Rc;
use std::time::Duration;

use clap::Parser;
use hdrhistogram::Histogram;
use integration_tests::db::{Backend, TestDatabase};
use integration_tests::http::{ExchangeProcess, HttpClient, Trader};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio::time::Instant;

#[derive(Debug, Parser)]
struct Args {
    /// sqlite or postgres
    #[arg(long, default_value = "sqlite")]
    backend: String,
    #[arg(long, default_value_t = 50_000)]
    orders: usize,
    #[arg(long, default_value_t = 100)]
    accounts: usize,
    #[arg(long, default_value_t = 64)]
    connections: usize,
    #[arg(long, default_value_t = 50)]
    rate_percent: u64,
}

/// One placement's query string (without timestamp and signature) and who sends it.
struct Placement {
    trader: usize,
    params: String,
}

fn placement(rng: &mut ChaCha8Rng, accounts: usize) -> Placement {
    let (symbol, mid, quantity) = if rng.gen_bool(0.5) {
        ("BTCUSDT", 50_000_i64, "0.00100")
    } else {
        ("ETHUSDT", 3_000, "0.0100")
    };
    let side = if rng.gen_bool(0.5) { "BUY" } else { "SELL" };
    // Mostly resting orders around the mid; about one in ten crosses.
    let offset = rng.gen_range(1..=50);
    let crossing = rng.gen_range(0..10) == 0;
    let price = if (side == "BUY") != crossing { mid - offset } else { mid + offset };
    Placement {
        trader: rng.gen_range(0..accounts),
        params: format!(
            "symbol={symbol}&side={side}&type=LIMIT&timeInForce=GTC&quantity={quantity}\
             &price={price}&newOrderRespType=ACK"
        ),
    }
}

struct Sender {
    client: reqwest::Client,
    base: String,
    traders: Vec<Trader>,
}

impl Sender {
    async fn place(&self, placement: &Placement) {
        let trader = &self.traders[placement.trader];
        let timestamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after 1970")
            .as_millis();
        let query = format!("{}&timestamp={timestamp}", placement.params);
        let signature = exchange::api::sign(trader.secret.as_bytes(), query.as_bytes());
        let response = self
            .client
            .post(format!("{}/api/v3/order?{query}&signature={signature}", self.base))
            .header("X-MBX-APIKEY", &trader.api_key)
            .send()
            .await
            .expect("the server answers");
        let status = response.status();
        let body = response.text().await.expect("answer body");
        assert!(status.is_success(), "placement refused: {status} {body}");
    }
}

async fn flat_out(sender: Rc<Sender>, placements: Vec<Placement>, connections: usize) -> f64 {
    let count = placements.len();
    let queue = Rc::new(std::cell::RefCell::new(placements.into_iter()));
    let started = Instant::now();
    let workers: Vec<_> = (0..connections)
        .map(|_| {
            let (sender, queue) = (sender.clone(), queue.clone());
            tokio::task::spawn_local(async move {
                loop {
                    let next = queue.borrow_mut().next();
                    let Some(placement) = next else { break };
                    sender.place(&placement).await;
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await.expect("worker");
    }
    count as f64 / started.elapsed().as_secs_f64()
}

async fn open_loop(sender: Rc<Sender>, placements: Vec<Placement>, rate: f64) -> Histogram<u64> {
    let (report, mut reports) = tokio::sync::mpsc::unbounded_channel();
    let count = placements.len();
    let interval = Duration::from_secs_f64(1.0 / rate);
    let started = Instant::now();
    for (index, placement) in placements.into_iter().enumerate() {
        let scheduled = started + interval * u32::try_from(index).expect("count fits u32");
        tokio::time::sleep_until(scheduled).await;
        let (sender, report) = (sender.clone(), report.clone());
        tokio::task::spawn_local(async move {
            sender.place(&placement).await;
            let micros = (Instant::now() - scheduled).as_micros();
            report.send(u64::try_from(micros).unwrap_or(u64::MAX)).expect("collector");
        });
    }
    let mut histogram = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("histogram");
    for _ in 0..count {
        let micros = reports.recv().await.expect("every request reports");
        histogram.record(micros.max(1)).expect("in range");
    }
    histogram
}

fn main() {
    let args = Args::parse();
    let backend = Backend::named(&args.backend);
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let database = runtime.block_on(TestDatabase::create(backend));
    let server = ExchangeProcess::start(&database.url);
    let setup = HttpClient::new(&server);
    let traders: Vec<Trader> = (0..args.accounts)
        .map(|_| {
            let trader = setup.funded_trader("USDT", "100000000");
            setup.deposit(&trader, "BTC", "100000");
            setup.deposit(&trader, "ETH", "1000000");
            trader
        })
        .collect();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.connections)
        .build()
        .expect("client");
    let sender = Rc::new(Sender { client, base: server.base.clone(), traders });
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut placements =
        |count: usize| (0..count).map(|_| placement(&mut rng, args.accounts)).collect::<Vec<_>>();
    let (warmup, measured, open) =
        (placements(args.orders / 10), placements(args.orders), placements(args.orders));
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, async {
        flat_out(sender.clone(), warmup, args.connections).await;
        let throughput = flat_out(sender.clone(), measured, args.connections).await;
        println!(
            "{} over HTTP flat out: {throughput:.0} orders/s ({} orders, {} connections)",
            args.backend, args.orders, args.connections
        );
        let rate = throughput * args.rate_percent as f64 / 100.0;
        let histogram = open_loop(sender.clone(), open, rate).await;
        println!(
            "{} over HTTP open loop at {rate:.0} orders/s: ack p50 {} us, p99 {} us, \
             p99.9 {} us, max {} us",
            args.backend,
            histogram.value_at_quantile(0.5),
            histogram.value_at_quantile(0.99),
            histogram.value_at_quantile(0.999),
            histogram.max()
        );
    });
    drop(server);
}
