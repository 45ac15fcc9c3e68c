//! What the perpetual futures tests share: the perpetual of `config/default.toml`, a thread
//! that keeps its index fresh by pushing prices to the internal endpoint, and exact USDT
//! amounts.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use crate::http::{ADMIN_TOKEN, HttpClient, Trader, now_ms};

pub const INTERNAL_TOKEN: &str = "test-internal-token";
pub const PERP: &str = "BTCUSDT_PERP";
/// USDT's ledger places (config/default.toml).
pub const USDT_PLACES: u32 = 8;
/// How long the tests wait for something the server does on its own.
pub const WAIT: Duration = Duration::from_secs(20);

/// Pushes `price` as the BTCUSDT index every 200 ms until dropped.
#[derive(Debug)]
pub struct IndexPusher {
    price: Arc<Mutex<String>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl IndexPusher {
    pub fn start(client: &HttpClient, price: &str) -> IndexPusher {
        let price = Arc::new(Mutex::new(price.to_owned()));
        let stop = Arc::new(AtomicBool::new(false));
        let (client, shared, stopped) = (client.clone(), price.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !stopped.load(Ordering::Relaxed) {
                let price = shared.lock().unwrap().clone();
                let body = json!({
                    "index": "BTCUSDT", "source": "desk-1", "price": price,
                    "timestamp": u64::try_from(now_ms()).unwrap(),
                });
                let bytes = serde_json::to_vec(&body).unwrap();
                let headers = [("X-Internal-Token", INTERNAL_TOKEN)];
                let (status, answer) = client.raw(
                    Method::POST,
                    "/internal/index/prices",
                    &headers,
                    Some(("application/json", bytes)),
                );
                assert_eq!(status, 200, "index push: {answer}");
                std::thread::sleep(Duration::from_millis(200));
            }
        });
        IndexPusher { price, stop, thread: Some(thread) }
    }

    pub fn set(&self, price: &str) {
        *self.price.lock().unwrap() = price.to_owned();
    }
}

impl Drop for IndexPusher {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A decimal string in USDT minor units, exactly (`"-1.5"` -> -150000000).
pub fn minor(text: &str) -> i128 {
    let (negative, digits) = text.strip_prefix('-').map_or((false, text), |rest| (true, rest));
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    assert!(fraction.len() <= USDT_PLACES as usize, "{text} has too many places");
    let padded = format!("{fraction:0<width$}", width = USDT_PLACES as usize);
    let value =
        whole.parse::<i128>().unwrap() * 10_i128.pow(USDT_PLACES) + padded.parse::<i128>().unwrap();
    if negative { -value } else { value }
}

/// Places an order on the perpetual (`params` after `symbol=`).
pub fn order(client: &HttpClient, trader: &Trader, params: &str) -> (u16, Value) {
    client.signed(trader, Method::POST, "/api/v3/order", &format!("symbol={PERP}&{params}"))
}

/// `trader`'s position in the perpetual as `positionRisk` answers it.
pub fn position(client: &HttpClient, trader: &Trader) -> Value {
    let (status, positions) =
        client.signed(trader, Method::GET, "/fapi/v2/positionRisk", &format!("symbol={PERP}"));
    assert_eq!(status, 200, "{positions}");
    positions.as_array().unwrap().first().cloned().unwrap_or(Value::Null)
}

/// Waits until `check` holds for `trader`'s position.
pub fn wait_position(
    client: &HttpClient,
    trader: &Trader,
    what: &str,
    check: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + WAIT;
    loop {
        let position = position(client, trader);
        if check(&position) {
            return position;
        }
        assert!(Instant::now() < deadline, "{what}: {position}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Whether `position`'s `positionAmt` is `amount`.
pub fn amount_is(position: &Value, amount: &str) -> bool {
    position["positionAmt"] == amount
}

/// `trader`'s USDT (free, locked) in minor units.
pub fn usdt(client: &HttpClient, trader: &Trader) -> (i128, i128) {
    let (free, locked) = client.balance(trader, "USDT");
    (minor(&free), minor(&locked))
}

/// Waits until the reconciliation finds no anomaly.
pub fn reconciliation_is_clean(client: &HttpClient) {
    let deadline = Instant::now() + WAIT;
    loop {
        let (status, report) =
            client.raw(Method::GET, "/admin/reconcile", &[("X-Admin-Token", ADMIN_TOKEN)], None);
        assert_eq!(status, 200, "{report}");
        if report["anomalyCount"] == 0 {
            return;
        }
        assert!(Instant::now() < deadline, "reconciliation: {report}");
        std::thread::sleep(Duration::from_millis(500));
    }
}
