//! WebSocket depth fan-out against the real `exchange serve` binary (embedded SQLite,
//! in-process bus, 127.0.0.1 port 0), with the clients in this process on the same machine
//! (they share the cores with the server).
//!
//! `cargo build -p exchange -p integration-tests --bins && target/debug/ws_fanout_bench`
//! (or `--release` and `target/release/ws_fanout_bench`: the bench runs the `exchange` binary of
//! its own build profile).
//!
//! 1. Memory per idle session: the server's RSS (`VmRSS`) before and after `--sessions`
//!    sessions connect to `/ws/btcusdt@<--stream>` (`depth`, Binance's 1000 ms diffs, or
//!    `depth@100ms`, ccxt's), over the session count.
//! 2. Push latency: `--rate` book changes per second for `--seconds` (open loop: REST limit
//!    orders from `--accounts` funded accounts placed and canceled at varying prices, none
//!    crossing, each sent at its scheduled time whatever the server's state). Every session
//!    reads every frame; latency per frame is its receive time minus its event time `E`, both
//!    wall clock in ms (so 1 ms resolution), in an HDR histogram. A gap is a diff whose `U` is
//!    not the previous `u` + 1 (the server dropped queued diffs for a slow reader). The server's
//!    own `exchange_ws_push_latency_seconds` histogram (frame created, its `E` -> frame handed
//!    to the socket) is read from `/metrics` at the end.
//!
//! Each session holds a socket on both sides: `ulimit -n` must exceed `--sessions` + ~100 for
//! this process and the server it starts (it inherits the limit).

// Rates and averages are display figures, not money.
#![allow(clippy::float_arithmetic)]

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;
use std::time::Duration;

use clap::Parser;
use futures_util::StreamExt as _;
use hdrhistogram::Histogram;
use integration_tests::http::{ExchangeProcess, HttpClient, Trader, now_ms, sqlite_url};
use rand::{Rng as _, SeedableRng as _};
use rand_chacha::ChaCha8Rng;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

#[derive(Debug, Parser)]
struct Args {
    /// Sessions subscribed to `btcusdt@<stream>`.
    #[arg(long, default_value_t = 5_000)]
    sessions: usize,
    /// The diff-depth stream every session subscribes to: `depth` or `depth@100ms`.
    #[arg(long, default_value = "depth@100ms")]
    stream: String,
    /// Book changes (REST placements and cancels) per second.
    #[arg(long, default_value_t = 1_000)]
    rate: u32,
    /// How long the book changes run.
    #[arg(long, default_value_t = 20)]
    seconds: u32,
    #[arg(long, default_value_t = 4)]
    accounts: usize,
    /// Connection handshakes in flight at once while the sessions open.
    #[arg(long, default_value_t = 128)]
    connect_concurrency: usize,
}

/// What every session's reader adds to.
#[derive(Debug)]
struct Tally {
    latency_ms: Histogram<u64>,
    frames: u64,
    gaps: u64,
    closed: u64,
}

type Shared<T> = Rc<RefCell<T>>;

/// The value of `"key":` (an unsigned integer) in a frame, without parsing the whole JSON.
fn field(text: &str, key: &str) -> Option<u64> {
    let start = text.find(key)? + key.len();
    let digits: &str = &text[start..];
    let end = digits.find(|c: char| !c.is_ascii_digit()).unwrap_or(digits.len());
    digits[..end].parse().ok()
}

/// Reads frames until the server closes or the socket fails; records each diff.
async fn read_session<S>(mut socket: S, tally: Shared<Tally>)
where
    S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    let mut last_u: Option<u64> = None;
    while let Some(Ok(frame)) = socket.next().await {
        let Message::Text(text) = frame else { continue };
        let received = now_ms();
        let (Some(event_ms), Some(first), Some(last)) =
            (field(&text, r#""E":"#), field(&text, r#""U":"#), field(&text, r#""u":"#))
        else {
            continue;
        };
        let mut tally = tally.borrow_mut();
        tally.frames += 1;
        if last_u.is_some_and(|previous| first != previous + 1) {
            tally.gaps += 1;
        }
        last_u = Some(last);
        let latency = u64::try_from(received.saturating_sub(u128::from(event_ms))).unwrap_or(0);
        tally.latency_ms.saturating_record(latency);
    }
    tally.borrow_mut().closed += 1;
}

/// Opens `count` sessions on `/ws/btcusdt@<stream>`, `concurrency` handshakes at a time;
/// each gets a reader task. Returns the readers.
async fn open_sessions(
    url: &str,
    count: usize,
    concurrency: usize,
    tally: &Shared<Tally>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let mut readers = Vec::with_capacity(count);
    let mut pending = futures_util::stream::iter(0..count)
        .map(|_| tokio_tungstenite::connect_async(url.to_owned()))
        .buffer_unordered(concurrency);
    while let Some(connected) = pending.next().await {
        let (socket, _) = connected.expect("a session opens");
        // The write half is kept (dropping it would not close, but keep the pair intact).
        let (sink, stream) = socket.split();
        let tally = tally.clone();
        readers.push(tokio::task::spawn_local(async move {
            let _sink = sink;
            read_session(stream, tally).await;
        }));
    }
    readers
}

/// One scheduled book change: a placement, or the cancel of the trader's oldest resting
/// order once it has `RESTING_PER_TRADER` of them acknowledged.
struct Change {
    trader: usize,
    params: String,
}

/// A book change not answered by then counts as failed (keeps the run bounded in time).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Resting orders per trader before its changes alternate between cancels and placements.
const RESTING_PER_TRADER: usize = 25;

struct Driver {
    client: reqwest::Client,
    base: String,
    traders: Vec<Trader>,
    /// Each trader's resting order ids, oldest first.
    open: RefCell<Vec<VecDeque<u64>>>,
    failures: RefCell<u64>,
}

impl Driver {
    async fn signed(&self, trader: usize, method: reqwest::Method, params: &str) -> Option<String> {
        let trader = &self.traders[trader];
        let query = format!("{params}&recvWindow=60000&timestamp={}", now_ms());
        let signature = exchange::api::sign(trader.secret.as_bytes(), query.as_bytes());
        let response = self
            .client
            .request(method, format!("{}/api/v3/order?{query}&signature={signature}", self.base))
            .header("X-MBX-APIKEY", &trader.api_key)
            .send()
            .await;
        let response = match response {
            Ok(response) => response,
            Err(error) => {
                if *self.failures.borrow() < 5 {
                    eprintln!("request failed: {error}");
                }
                return None;
            }
        };
        let status = response.status();
        let body = response.text().await.ok()?;
        if !status.is_success() && *self.failures.borrow() < 5 {
            eprintln!("refused: {status} {body}");
        }
        status.is_success().then_some(body)
    }

    async fn apply(&self, change: Change) {
        let Change { trader, params } = change;
        let oldest = {
            let mut open = self.open.borrow_mut();
            let resting = &mut open[trader];
            if resting.len() >= RESTING_PER_TRADER { resting.pop_front() } else { None }
        };
        let done = match oldest {
            Some(id) => {
                let params = format!("symbol=BTCUSDT&orderId={id}");
                self.signed(trader, reqwest::Method::DELETE, &params).await.is_some()
            }
            None => {
                let body = self.signed(trader, reqwest::Method::POST, &params).await;
                let id = body.as_deref().and_then(|body| field(body, r#""orderId":"#));
                if let Some(id) = id {
                    self.open.borrow_mut()[trader].push_back(id);
                }
                id.is_some()
            }
        };
        if !done {
            *self.failures.borrow_mut() += 1;
        }
    }
}

/// A resting limit order 1 to 3 USDT away from 50000, never crossing.
fn change(rng: &mut ChaCha8Rng, accounts: usize) -> Change {
    let trader = rng.gen_range(0..accounts);
    let buy = rng.gen_bool(0.5);
    let cents: i64 = rng.gen_range(100..=300);
    let price = if buy { 5_000_000 - cents } else { 5_000_000 + cents };
    let side = if buy { "BUY" } else { "SELL" };
    let price = format!("{}.{:02}", price / 100, price % 100);
    let qty = format!("0.{:05}", rng.gen_range(3..=20) * 10);
    Change {
        trader,
        params: format!(
            "symbol=BTCUSDT&side={side}&type=LIMIT&timeInForce=GTC&quantity={qty}&price={price}\
             &newOrderRespType=ACK"
        ),
    }
}

/// Sends `rate` changes a second for `seconds`, each at its scheduled time; returns the
/// achieved rate (changes answered over the time they took).
async fn drive(driver: Rc<Driver>, rate: u32, seconds: u32, accounts: usize) -> f64 {
    let mut rng = ChaCha8Rng::seed_from_u64(6);
    let count = usize::try_from(rate * seconds).expect("count fits usize");
    let interval = Duration::from_secs(1) / rate;
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(count);
    for index in 0..count {
        let scheduled = started + interval * u32::try_from(index).expect("count fits u32");
        tokio::time::sleep_until(scheduled).await;
        let (driver, change) = (driver.clone(), change(&mut rng, accounts));
        tasks.push(tokio::task::spawn_local(async move { driver.apply(change).await }));
    }
    for task in tasks {
        task.await.expect("change task");
    }
    count as f64 / started.elapsed().as_secs_f64()
}

/// A sample's value from Prometheus text.
fn metric(text: &str, series: &str) -> Option<f64> {
    integration_tests::prometheus::sample(text, series)
}

fn report_server_metrics(text: &str) {
    let name = "exchange_ws_push_latency_seconds";
    // The histogram's buckets bound each quantile from above (PromQL's histogram_quantile).
    let quantile = |q: f64| {
        integration_tests::prometheus::histogram_quantile(text, name, q)
            .map_or_else(|| "n/a".to_owned(), |s| format!("<= {:.3} ms", s * 1e3))
    };
    println!(
        "server push latency ({name}, E -> handed to the socket, bucket bounds): p50 {}, p99 {}, \
         p99.9 {}, count {}",
        quantile(0.5),
        quantile(0.99),
        quantile(0.999),
        metric(text, "exchange_ws_push_latency_seconds_count").unwrap_or(0.0)
    );
    let conflated = r#"exchange_ws_dropped_messages_total{reason="conflated"}"#;
    let overflow = r#"exchange_ws_disconnects_total{reason="overflow"}"#;
    println!(
        "server: sessions gauge {}, conflated (dropped) diffs {}, overflow disconnects {}",
        metric(text, "exchange_ws_sessions ").unwrap_or(0.0),
        metric(text, conflated).unwrap_or(0.0),
        metric(text, overflow).unwrap_or(0.0)
    );
    for line in text.lines().filter(|line| line.starts_with("exchange_ws_disconnects_total")) {
        println!("server: {line}");
    }
}

fn open_files_limit() -> String {
    std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|limits| {
            limits.lines().find(|line| line.starts_with("Max open files")).map(str::to_owned)
        })
        .unwrap_or_default()
}

fn main() {
    let args = Args::parse();
    println!("{}", open_files_limit());
    let directory = tempfile::tempdir().expect("temporary directory");
    let server = ExchangeProcess::start(&sqlite_url(&directory));
    let setup = HttpClient::new(&server);
    let traders: Vec<Trader> = (0..args.accounts)
        .map(|_| {
            let trader = setup.funded_trader("USDT", "100000000");
            setup.deposit(&trader, "BTC", "100000");
            trader
        })
        .collect();
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let local = tokio::task::LocalSet::new();
    let tally = Rc::new(RefCell::new(Tally {
        latency_ms: Histogram::new_with_bounds(1, 3_600_000, 3).expect("histogram"),
        frames: 0,
        gaps: 0,
        closed: 0,
    }));
    let ws_base = server.base.replacen("http://", "ws://", 1);
    let driver = Rc::new(Driver {
        client: reqwest::Client::builder()
            .pool_max_idle_per_host(256)
            .timeout(REQUEST_TIMEOUT)
            .build()
            .expect("client"),
        base: server.base.clone(),
        open: RefCell::new(vec![VecDeque::new(); traders.len()]),
        traders,
        failures: RefCell::new(0),
    });
    local.block_on(&runtime, async {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let before = server.rss_kib();
        let opening = Instant::now();
        let url = format!("{ws_base}/ws/btcusdt@{}", args.stream);
        println!("sessions on {url}");
        let readers = open_sessions(&url, args.sessions, args.connect_concurrency, &tally).await;
        let opened_in = opening.elapsed();
        tokio::time::sleep(Duration::from_secs(2)).await;
        let after = server.rss_kib();
        let per_session = (after.saturating_sub(before)) as f64 * 1024.0 / args.sessions as f64;
        println!(
            "{} idle sessions opened in {:.1} s; server RSS {before} KiB -> {after} KiB: \
             {per_session:.0} bytes per idle session",
            args.sessions,
            opened_in.as_secs_f64()
        );
        let achieved = drive(driver.clone(), args.rate, args.seconds, args.accounts).await;
        // Let the frames still in flight arrive.
        tokio::time::sleep(Duration::from_secs(3)).await;
        let metrics = driver.client.get(format!("{}/metrics", driver.base)).send().await;
        let metrics = metrics.expect("GET /metrics").text().await.expect("metrics text");
        let tally = tally.borrow();
        let h = &tally.latency_ms;
        println!(
            "{} book changes/s asked for {} s, {achieved:.0}/s answered, {} failed",
            args.rate,
            args.seconds,
            driver.failures.borrow()
        );
        println!(
            "client push latency (receive ms - E ms, 1 ms resolution): p50 {} ms, p99 {} ms, \
             p99.9 {} ms, max {} ms; {} frames received ({} per session), {} gaps, {} sessions \
             closed by the server",
            h.value_at_quantile(0.5),
            h.value_at_quantile(0.99),
            h.value_at_quantile(0.999),
            h.max(),
            tally.frames,
            tally.frames / args.sessions.max(1) as u64,
            tally.gaps,
            tally.closed
        );
        report_server_metrics(&metrics);
        for reader in readers {
            reader.abort();
        }
    });
    drop(server);
}
