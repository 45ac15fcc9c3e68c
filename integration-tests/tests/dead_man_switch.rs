//! The real binary over HTTP: the countdown cancel-all (dead man's switch),
//! `POST /api/v3/countdownCancelAll`. An armed countdown that is not refreshed cancels every
//! open order it guards shortly after it runs out (checked through `GET /api/v3/openOrders`);
//! a refreshed one keeps them; `countdownTime=0` disarms; a symbol's countdown leaves the
//! account's other markets alone; another account's orders are never touched; bad values are
//! refused with Binance's codes and arm nothing.

use std::thread::sleep;
use std::time::{Duration, Instant};

use integration_tests::http::{ExchangeProcess, HttpClient, Trader, sqlite_url};
use reqwest::Method;
use serde_json::{Value, json};

const COUNTDOWN: &str = "/api/v3/countdownCancelAll";

fn fresh_exchange() -> (tempfile::TempDir, ExchangeProcess, HttpClient) {
    let directory = tempfile::tempdir().expect("temp dir");
    let server = ExchangeProcess::start(&sqlite_url(&directory));
    let client = HttpClient::new(&server);
    (directory, server, client)
}

/// Places a resting LIMIT buy; its order id.
fn rest(client: &HttpClient, trader: &Trader, symbol: &str, price: &str, qty: &str) -> u64 {
    let params =
        format!("symbol={symbol}&side=BUY&type=LIMIT&timeInForce=GTC&quantity={qty}&price={price}");
    let (status, order) = client.signed(trader, Method::POST, "/api/v3/order", &params);
    assert_eq!(status, 200, "{order}");
    order["orderId"].as_u64().unwrap_or_else(|| panic!("orderId in {order}"))
}

/// The ids of the trader's open orders (every market), sorted.
fn open_ids(client: &HttpClient, trader: &Trader) -> Vec<u64> {
    let (status, orders) = client.signed(trader, Method::GET, "/api/v3/openOrders", "");
    assert_eq!(status, 200, "{orders}");
    let mut ids: Vec<u64> =
        orders.as_array().expect("a list").iter().filter_map(|o| o["orderId"].as_u64()).collect();
    ids.sort_unstable();
    ids
}

fn arm(client: &HttpClient, trader: &Trader, params: &str) -> Value {
    let (status, answer) = client.signed(trader, Method::POST, COUNTDOWN, params);
    assert_eq!(status, 200, "{answer}");
    answer
}

/// Polls until the trader has no open order; how long that took from `since`.
fn wait_all_canceled(client: &HttpClient, trader: &Trader, since: Instant) -> Duration {
    while !open_ids(client, trader).is_empty() {
        assert!(since.elapsed() < Duration::from_secs(5), "orders still open after 5 s");
        sleep(Duration::from_millis(20));
    }
    since.elapsed()
}

fn metric(client: &HttpClient, series: &str) -> f64 {
    client
        .metrics_text()
        .lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or(0.0)
}

#[test]
fn an_unrefreshed_countdown_cancels_every_order_of_the_account_and_no_other() {
    let (_directory, _server, client) = fresh_exchange();
    let alice = client.funded_trader("USDT", "1000");
    let mallory = client.funded_trader("USDT", "1000");
    let kept = rest(&client, &mallory, "BTCUSDT", "10000", "0.001");
    let armed_at = Instant::now();
    let answer = arm(&client, &alice, "countdownTime=1000");
    assert_eq!(answer, json!({"symbol": null, "countdownTime": 1000}));
    let mut placed: Vec<u64> = (0..4)
        .map(|n| rest(&client, &alice, "BTCUSDT", &format!("{}", 10_000 + n), "0.001"))
        .collect();
    placed.push(rest(&client, &alice, "ETHUSDT", "1000", "0.01"));
    placed.sort_unstable();
    assert_eq!(metric(&client, "exchange_dead_man_switch_armed"), 1.0);

    // Still there shortly before the deadline.
    sleep(Duration::from_millis(700).saturating_sub(armed_at.elapsed()));
    assert_eq!(open_ids(&client, &alice), placed);
    let elapsed = wait_all_canceled(&client, &alice, armed_at);
    assert!(elapsed >= Duration::from_millis(950), "canceled early, after {elapsed:?}");
    // The acceptance bound: within 1 s of the expiry (a loaded CI machine needs the margin).
    assert!(elapsed <= Duration::from_millis(2_000), "canceled late, after {elapsed:?}");

    assert_eq!(open_ids(&client, &mallory), [kept], "another account's order is untouched");
    client.expect_balance(&alice, "USDT", ("1000.00000000", "0.00000000"));
    let fired = "exchange_dead_man_switch_triggers_total{scope=\"account\"}";
    assert_eq!(metric(&client, fired), 1.0);
    assert_eq!(metric(&client, "exchange_dead_man_switch_armed"), 0.0);
    assert!(metric(&client, "exchange_dead_man_switch_canceled_orders_total") >= 5.0);
    // It fired once: orders placed afterwards stay.
    let later = rest(&client, &alice, "BTCUSDT", "10000", "0.001");
    sleep(Duration::from_millis(1_200));
    assert_eq!(open_ids(&client, &alice), [later]);
}

#[test]
fn refreshing_keeps_orders_zero_disarms_and_a_symbol_countdown_guards_only_its_symbol() {
    let (_directory, _server, client) = fresh_exchange();
    let alice = client.funded_trader("USDT", "1000");
    let btc = rest(&client, &alice, "BTCUSDT", "10000", "0.001");
    let eth = rest(&client, &alice, "ETHUSDT", "1000", "0.01");

    // Refreshed every 500 ms across three 1 s periods: nothing canceled.
    let answer = arm(&client, &alice, "symbol=BTCUSDT&countdownTime=1000");
    assert_eq!(answer, json!({"symbol": "BTCUSDT", "countdownTime": 1000}));
    for _ in 0..6 {
        sleep(Duration::from_millis(500));
        arm(&client, &alice, "symbol=BTCUSDT&countdownTime=1000");
    }
    assert_eq!(open_ids(&client, &alice), [btc, eth]);

    // Disarmed: nothing canceled after the deadline has long passed.
    let answer = arm(&client, &alice, "symbol=BTCUSDT&countdownTime=0");
    assert_eq!(answer, json!({"symbol": "BTCUSDT", "countdownTime": 0}));
    sleep(Duration::from_millis(1_500));
    assert_eq!(open_ids(&client, &alice), [btc, eth]);

    // Not refreshed: the BTCUSDT order goes, the ETHUSDT one stays.
    let armed_at = Instant::now();
    arm(&client, &alice, "symbol=BTCUSDT&countdownTime=1000");
    while open_ids(&client, &alice) != [eth] {
        let within = Duration::from_millis(2_000); // expiry + 1 s, the acceptance bound
        assert!(armed_at.elapsed() < within, "BTCUSDT order not canceled");
        sleep(Duration::from_millis(20));
    }
    assert!(armed_at.elapsed() >= Duration::from_millis(950));
    let fired = "exchange_dead_man_switch_triggers_total{scope=\"symbol\"}";
    assert_eq!(metric(&client, fired), 1.0);
}

#[test]
fn bad_values_are_refused_with_binances_codes_and_arm_nothing() {
    let (_directory, _server, client) = fresh_exchange();
    let alice = client.funded_trader("USDT", "1000");
    let order = rest(&client, &alice, "BTCUSDT", "10000", "0.001");
    let range =
        "Data sent for parameter 'countdownTime' is not valid: 0 (disarm) or 1000 to 600000.";
    let cases: [(&str, u16, i64, &str); 7] = [
        ("countdownTime=999", 400, -1130, range),
        ("countdownTime=1", 400, -1130, range),
        ("countdownTime=600001", 400, -1130, range),
        (
            "countdownTime=-5",
            400,
            -1100,
            "Illegal characters found in parameter 'countdownTime'; legal range is '^[0-9]{1,20}$'.",
        ),
        (
            "symbol=BTCUSDT",
            400,
            -1102,
            "Mandatory parameter 'countdownTime' was not sent, was empty/null, or malformed.",
        ),
        ("symbol=NOPE&countdownTime=1000", 400, -1121, "Invalid symbol."),
        (
            "countdownTime=1000&countdownTime=2000",
            400,
            -1101,
            "Duplicate values for parameter 'countdownTime'.",
        ),
    ];
    for (params, status, code, msg) in cases {
        let answer = client.signed(&alice, Method::POST, COUNTDOWN, params);
        assert_eq!(answer, (status, json!({"code": code, "msg": msg})), "{params}");
    }
    let unsigned = client.raw(Method::POST, &format!("{COUNTDOWN}?countdownTime=1000"), &[], None);
    assert!((400..500).contains(&unsigned.0), "{unsigned:?}");
    assert_eq!(metric(&client, "exchange_dead_man_switch_armed"), 0.0);
    sleep(Duration::from_millis(1_300));
    assert_eq!(open_ids(&client, &alice), [order], "a refused countdown armed nothing");
}
