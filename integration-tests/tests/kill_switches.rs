//! The real binary: the operator's kill switches through `/admin/switches`. Each mode refuses
//! what it must with Binance's codes and a message naming the switch, and allows what it must
//! (cancel-only takes cancels); exchangeInfo shows the switches; admin calls without the token
//! are refused and counted; every change is in the audit trail with who, before and after; the
//! switches survive a `kill -9`.

use std::time::{Duration, Instant};

use integration_tests::http::{
    ADMIN_TOKEN, ExchangeProcess, HttpClient, Trader, counts_moved, sqlite_url,
};
use integration_tests::prometheus::sample;
use reqwest::Method;
use serde_json::{Value, json};

fn admin(client: &HttpClient, method: Method, path: &str, body: &Value) -> (u16, Value) {
    let headers = [("X-Admin-Token", ADMIN_TOKEN), ("X-Admin-Actor", "alice")];
    let bytes = serde_json::to_vec(body).expect("JSON");
    client.raw(method, path, &headers, Some(("application/json", bytes)))
}

fn switch(client: &HttpClient, path: &str, body: Value) -> Value {
    let (status, answer) = admin(client, Method::PUT, path, &body);
    assert_eq!(status, 200, "{path} {body}: {answer}");
    answer
}

fn limit(symbol: &str, side: &str, qty: &str, price: &str) -> String {
    format!("symbol={symbol}&side={side}&type=LIMIT&timeInForce=GTC&quantity={qty}&price={price}")
}

fn place(client: &HttpClient, trader: &Trader, params: &str) -> (u16, Value) {
    client.signed(trader, Method::POST, "/api/v3/order", params)
}

/// Places a resting order; its id.
fn rest(client: &HttpClient, trader: &Trader, params: &str) -> u64 {
    let (status, order) = place(client, trader, params);
    assert_eq!((status, order["status"].as_str()), (200, Some("NEW")), "{order}");
    order["orderId"].as_u64().expect("orderId")
}

fn cancel(client: &HttpClient, trader: &Trader, order_id: u64) -> (u16, Value) {
    let params = format!("symbol=BTCUSDT&orderId={order_id}");
    client.signed(trader, Method::DELETE, "/api/v3/order", &params)
}

fn assert_refused(answer: (u16, Value), code: i64, words: &[&str]) {
    let (status, body) = answer;
    assert_eq!((status, body["code"].as_i64()), (400, Some(code)), "{body}");
    let msg = body["msg"].as_str().expect("msg");
    for word in words {
        assert!(msg.contains(word), "{msg:?} lacks {word:?}");
    }
}

fn symbol_info(client: &HttpClient, symbol: &str) -> Value {
    let path = format!("/api/v3/exchangeInfo?symbol={symbol}");
    let (status, info) = client.raw(Method::GET, &path, &[], None);
    assert_eq!(status, 200, "{info}");
    info["symbols"][0].clone()
}

fn withdraw(client: &HttpClient, trader: &Trader, amount: &str) -> (u16, Value) {
    let body = json!({"accountId": trader.account_id, "asset": "USDT", "amount": amount});
    admin(client, Method::POST, "/admin/withdrawals", &body)
}

fn deposit(client: &HttpClient, trader: &Trader, amount: &str) -> (u16, Value) {
    let body = json!({"accountId": trader.account_id, "asset": "USDT", "amount": amount});
    admin(client, Method::POST, "/admin/deposits", &body)
}

/// Waits until the ticker shows `price` as BTCUSDT's last trade.
fn await_last_price(client: &HttpClient, price: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, ticker) = client.raw(Method::GET, "/api/v3/ticker/price?symbol=BTCUSDT", &[], None);
        if ticker["price"].as_str() == Some(price) {
            return;
        }
        assert!(Instant::now() < deadline, "last price {ticker}, expected {price}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn admin_calls_without_the_token_are_refused_and_counted() {
    let directory = tempfile::tempdir().expect("temp dir");
    let server = ExchangeProcess::start(&sqlite_url(&directory));
    let client = HttpClient::new(&server);
    let before = client.auth_failures();
    let change = json!({"mode": "HALTED"}).to_string().into_bytes();
    let (status, body) =
        client.raw(Method::PUT, "/admin/switches", &[], Some(("application/json", change.clone())));
    assert_eq!((status, body["code"].as_i64()), (401, Some(-2015)), "{body}");
    let wrong = [("X-Admin-Token", "not-the-token")];
    let (status, _) =
        client.raw(Method::PUT, "/admin/switches", &wrong, Some(("application/json", change)));
    assert_eq!(status, 401);
    for path in ["/admin/switches", "/admin/audit", "/admin/reconcile"] {
        assert_eq!(client.raw(Method::GET, path, &wrong, None).0, 401, "{path}");
    }
    let moved = counts_moved(&before, &client.auth_failures());
    assert_eq!(moved.get("admin_token_missing"), Some(&1), "{moved:?}");
    assert_eq!(moved.get("admin_token_wrong"), Some(&4), "{moved:?}");
    // Nothing changed: orders are still taken.
    assert_eq!(symbol_info(&client, "BTCUSDT")["status"], "TRADING");
}

#[test]
fn each_mode_refuses_what_it_must_allows_the_rest_and_every_change_is_audited() {
    let directory = tempfile::tempdir().expect("temp dir");
    let database_url = sqlite_url(&directory);
    let server = ExchangeProcess::start(&database_url);
    let client = HttpClient::new(&server);
    let trader = client.funded_trader("USDT", "100000");
    let first = rest(&client, &trader, &limit("BTCUSDT", "BUY", "0.001", "40000"));
    let second = rest(&client, &trader, &limit("BTCUSDT", "BUY", "0.001", "40001"));
    let new_order = limit("BTCUSDT", "BUY", "0.001", "40002");
    let mut changes = 0;

    // CANCEL_ONLY: new orders refused, cancels work; exchangeInfo says BREAK.
    let answer = switch(&client, "/admin/switches", json!({"mode": "CANCEL_ONLY"}));
    changes += 1;
    assert_eq!(
        (&answer["before"]["mode"], &answer["after"]["mode"]),
        (&json!("NORMAL"), &json!("CANCEL_ONLY"))
    );
    assert_refused(place(&client, &trader, &new_order), -2010, &["CANCEL_ONLY", "cancels work"]);
    assert_eq!(cancel(&client, &trader, first).0, 200);
    let info = symbol_info(&client, "BTCUSDT");
    assert_eq!((&info["status"], &info["isSpotTradingAllowed"]), (&json!("BREAK"), &json!(false)));

    // READ_ONLY: neither orders nor cancels; reads and market data are served.
    switch(&client, "/admin/switches", json!({"mode": "READ_ONLY"}));
    changes += 1;
    assert_refused(place(&client, &trader, &new_order), -2010, &["READ_ONLY"]);
    assert_refused(cancel(&client, &trader, second), -2011, &["READ_ONLY", "cancels are refused"]);
    let query = format!("symbol=BTCUSDT&orderId={second}");
    assert_eq!(client.signed(&trader, Method::GET, "/api/v3/order", &query).0, 200);
    assert_eq!(client.raw(Method::GET, "/api/v3/depth?symbol=BTCUSDT", &[], None).0, 200);
    assert_eq!(symbol_info(&client, "BTCUSDT")["status"], "HALT");

    // HALTED: money stops moving too.
    switch(&client, "/admin/switches", json!({"mode": "HALTED"}));
    changes += 1;
    assert_refused(deposit(&client, &trader, "1"), -2010, &["HALTED"]);
    assert_refused(cancel(&client, &trader, second), -2011, &["HALTED"]);

    // Back to NORMAL with withdrawals off.
    switch(&client, "/admin/switches", json!({"mode": "NORMAL", "withdrawalsEnabled": false}));
    changes += 1;
    assert_refused(withdraw(&client, &trader, "1"), -2010, &["Withdrawals are disabled."]);
    assert_eq!(deposit(&client, &trader, "1").0, 200);
    assert_eq!(place(&client, &trader, &new_order).0, 200);
    switch(&client, "/admin/switches", json!({"withdrawalsEnabled": true}));
    changes += 1;
    assert_eq!(withdraw(&client, &trader, "1").0, 200);

    // One symbol halted: the other trades; the halted one serves no book.
    switch(&client, "/admin/switches/symbols/BTCUSDT", json!({"mode": "HALTED"}));
    changes += 1;
    assert_refused(place(&client, &trader, &new_order), -2010, &["BTCUSDT is HALTED"]);
    assert_eq!(place(&client, &trader, &limit("ETHUSDT", "BUY", "0.01", "1000")).0, 200);
    let (status, depth) = client.raw(Method::GET, "/api/v3/depth?symbol=BTCUSDT", &[], None);
    assert_eq!((status, depth["code"].as_i64()), (400, Some(-1013)), "{depth}");
    assert_eq!(symbol_info(&client, "BTCUSDT")["status"], "HALT");
    assert_eq!(symbol_info(&client, "ETHUSDT")["status"], "TRADING");
    let (status, unknown) =
        admin(&client, Method::PUT, "/admin/switches/symbols/NOPE", &json!({"mode": "HALTED"}));
    assert_eq!((status, unknown["code"].as_i64()), (400, Some(-1121)), "{unknown}");

    // MARKET disabled and a 3% price protection band around the last trade.
    let risk =
        json!({"mode": "NORMAL", "disabledOrderTypes": ["MARKET"], "priceProtectionBps": 300});
    switch(&client, "/admin/switches/symbols/BTCUSDT", risk);
    changes += 1;
    let market = "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.001";
    assert_refused(place(&client, &trader, market), -2010, &["Order type not supported", "MARKET"]);
    let seller = client.funded_trader("BTC", "1");
    rest(&client, &seller, &limit("BTCUSDT", "SELL", "0.001", "50000"));
    let (status, taken) = place(&client, &trader, &limit("BTCUSDT", "BUY", "0.001", "50000"));
    assert_eq!((status, taken["status"].as_str()), (200, Some("FILLED")), "{taken}");
    await_last_price(&client, "50000.00");
    let far = limit("BTCUSDT", "BUY", "0.001", "48400");
    assert_refused(place(&client, &trader, &far), -1013, &["PERCENT_PRICE_BY_SIDE", "300 bps"]);
    rest(&client, &trader, &limit("BTCUSDT", "BUY", "0.001", "48600"));
    let info = symbol_info(&client, "BTCUSDT");
    assert_eq!(info["orderTypes"], json!(["LIMIT", "LIMIT_MAKER"]));
    let filters = info["filters"].as_array().expect("filters");
    let protection = filters.iter().find(|f| f["filterType"] == "PERCENT_PRICE").expect("filter");
    assert_eq!(
        (&protection["multiplierUp"], &protection["multiplierDown"]),
        (&json!("1.0300"), &json!("0.9700"))
    );
    assert!(client.metrics_text().contains("exchange_kill_switch_refusals_total"));

    // A tighter order rate on ETHUSDT: the third order in a minute waits; BTCUSDT does not.
    switch(&client, "/admin/switches/symbols/ETHUSDT", json!({"requestWeightPerMinute": 2}));
    changes += 1;
    let eth = limit("ETHUSDT", "BUY", "0.01", "900");
    assert_eq!(place(&client, &trader, &eth).0, 200);
    assert_eq!(place(&client, &trader, &eth).0, 200);
    let (status, slowed) = place(&client, &trader, &eth);
    assert_eq!((status, slowed["code"].as_i64()), (429, Some(-1003)), "{slowed}");
    assert!(slowed["msg"].as_str().expect("msg").contains("2 orders per 1 MINUTE"), "{slowed}");
    rest(&client, &trader, &limit("BTCUSDT", "BUY", "0.001", "48700"));

    // The switches survive a crash, and the gauges show them from the start.
    switch(&client, "/admin/switches", json!({"withdrawalsEnabled": false}));
    changes += 1;
    // Each change is counted as a high-risk admin operation, and the changes by the kind of
    // changer only (the operator's name stays in the audit trail, out of the label set).
    let metrics = client.metrics_text();
    let done: f64 = ["global_switch", "symbol_switch", "withdrawals_switch"]
        .iter()
        .map(|operation| {
            let series = format!(
                "exchange_admin_operations_total{{operation=\"{operation}\",outcome=\"ok\"}}"
            );
            sample(&metrics, &series).unwrap_or_else(|| panic!("{series} in {metrics}"))
        })
        .sum();
    let changed = f64::from(u32::try_from(changes).expect("a few changes"));
    // One change (NORMAL with withdrawals off) was two operations: the mode and withdrawals.
    assert_eq!(done, changed + 1.0, "{metrics}");
    let by_admin = sample(&metrics, "exchange_switch_changes_total{by=\"admin\"}");
    assert_eq!(by_admin, Some(changed), "{metrics}");
    server.kill();
    let server = ExchangeProcess::start(&database_url);
    let client = HttpClient::new(&server);
    let metrics = client.metrics_text();
    assert!(metrics.contains("exchange_withdrawals_enabled 0"), "{metrics}");
    assert!(metrics.contains("exchange_trading_mode 0"), "{metrics}");
    assert_eq!(symbol_info(&client, "BTCUSDT")["orderTypes"], json!(["LIMIT", "LIMIT_MAKER"]));
    assert_refused(place(&client, &trader, market), -2010, &["Order type not supported"]);

    // Every change is audited: who, what, before, after, when.
    let headers = [("X-Admin-Token", ADMIN_TOKEN)];
    let (status, audit) = client.raw(Method::GET, "/admin/audit?limit=1000", &headers, None);
    assert_eq!(status, 200, "{audit}");
    let requested: Vec<Value> = audit
        .as_array()
        .expect("records")
        .iter()
        .filter(|record| {
            record["action"].as_str().is_some_and(|action| action.starts_with("switch_"))
                && record["outcome"] == "requested"
        })
        .map(|record| {
            serde_json::from_str(record["detail"].as_str().expect("detail")).expect("JSON")
        })
        .collect();
    assert_eq!(requested.len(), changes, "{audit}");
    // Newest first: withdrawals off, ETHUSDT's order rate, the risk switches on BTCUSDT.
    assert_eq!(requested[0]["after"]["withdrawalsEnabled"], false);
    let (newest, risk) = (&requested[1], &requested[2]);
    assert_eq!(newest["by"], "admin:alice");
    assert_eq!(newest["before"]["symbols"].get("ETHUSDT"), None);
    assert_eq!(newest["after"]["symbols"]["ETHUSDT"]["requestWeightPerMinute"], 2);
    assert_eq!(risk["before"]["symbols"]["BTCUSDT"]["mode"], "HALTED");
    assert_eq!(risk["after"]["symbols"]["BTCUSDT"]["priceProtectionBps"], 300);
    let oks = audit
        .as_array()
        .expect("records")
        .iter()
        .filter(|record| {
            record["action"].as_str().is_some_and(|action| action.starts_with("switch_"))
                && record["outcome"] == "ok"
        })
        .count();
    assert_eq!(oks, changes);
}
