//! Market data and trade history over HTTP, against the real binary on SQLite and PostgreSQL:
//! trades, aggTrades, klines, ticker/24hr, ticker/price and signed myTrades after real
//! trades, every route's refusals (-1121 unknown symbol, -1120 bad interval, limits, bad
//! combinations), and the same answers after `exchange serve` restarts on the same database.

use std::time::{Duration, Instant};

use integration_tests::db::{Backend, TestDatabase};
use integration_tests::http::{ExchangeProcess, HttpClient, Trader};
use reqwest::Method;
use serde_json::Value;

fn get(client: &HttpClient, path_and_query: &str) -> (u16, Value) {
    let response =
        reqwest::blocking::get(format!("{}{path_and_query}", client.base)).expect("public request");
    let status = response.status().as_u16();
    (status, response.json().expect("JSON answer"))
}

fn ok(client: &HttpClient, path_and_query: &str) -> Value {
    let (status, body) = get(client, path_and_query);
    assert_eq!(status, 200, "{path_and_query}: {body}");
    body
}

fn refused(client: &HttpClient, path_and_query: &str, code: i64) {
    let (status, body) = get(client, path_and_query);
    assert_eq!(status, 400, "{path_and_query}: {body}");
    assert_eq!(body["code"], code, "{path_and_query}: {body}");
}

fn order(client: &HttpClient, trader: &Trader, params: &str) -> Value {
    let (status, body) = client.signed(trader, Method::POST, "/api/v3/order", params);
    assert_eq!(status, 200, "{params}: {body}");
    body
}

/// Waits until the history has written `count` trades of BTCUSDT.
fn await_trades(client: &HttpClient, count: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let trades = ok(client, "/api/v3/trades?symbol=BTCUSDT");
        let trades = trades.as_array().expect("list").clone();
        if trades.len() >= count {
            return trades;
        }
        assert!(Instant::now() < deadline, "{} trades of {count}", trades.len());
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Buyer rests two bids at 50000 and one at 49000; the seller's market sell of 0.03 takes
/// the two at 50000 (one aggregate) and the one at 49000 (another).
fn trade(client: &HttpClient) -> (Trader, Trader) {
    let buyer = client.funded_trader("USDT", "10000");
    let seller = client.funded_trader("BTC", "1");
    for price in ["50000", "50000", "49000"] {
        order(
            client,
            &buyer,
            &format!(
                "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01&price={price}"
            ),
        );
    }
    order(
        client,
        &buyer,
        "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.5&price=100",
    );
    let sold = order(client, &seller, "symbol=BTCUSDT&side=SELL&type=MARKET&quantity=0.03");
    assert_eq!(sold["status"], "FILLED", "{sold}");
    (buyer, seller)
}

fn check_public_routes(client: &HttpClient) {
    let trades = await_trades(client, 3);
    assert_eq!(trades.len(), 3);
    let ids: Vec<u64> = trades.iter().map(|trade| trade["id"].as_u64().expect("id")).collect();
    assert!(ids.windows(2).all(|pair| pair[1] == pair[0] + 1), "{ids:?}");
    assert_eq!(trades[0]["price"], "50000.00");
    assert_eq!(trades[0]["qty"], "0.01000");
    assert_eq!(trades[0]["quoteQty"], "500.0000000");
    assert_eq!(trades[0]["isBuyerMaker"], true);
    assert_eq!(trades[2]["price"], "49000.00");
    assert_eq!(
        ok(client, "/api/v3/trades?symbol=BTCUSDT&limit=1").as_array().map(Vec::len),
        Some(1)
    );

    let aggregates = ok(client, "/api/v3/aggTrades?symbol=BTCUSDT");
    let aggregates = aggregates.as_array().expect("list");
    assert_eq!(aggregates.len(), 2, "{aggregates:?}");
    assert_eq!(aggregates[0]["a"], ids[0]);
    assert_eq!(
        (&aggregates[0]["f"], &aggregates[0]["l"]),
        (&Value::from(ids[0]), &Value::from(ids[1]))
    );
    assert_eq!(aggregates[0]["q"], "0.02000");
    assert_eq!(aggregates[0]["p"], "50000.00");
    assert_eq!(aggregates[0]["m"], true);
    assert_eq!(aggregates[1]["a"], ids[2]);
    // From the table: fromId pages by aggregate id; an id inside an aggregate starts after it.
    let from = ok(client, &format!("/api/v3/aggTrades?symbol=BTCUSDT&fromId={}", ids[0]));
    assert_eq!(from.as_array().map(Vec::len), Some(2), "{from}");
    let inside = ok(client, &format!("/api/v3/aggTrades?symbol=BTCUSDT&fromId={}", ids[1]));
    assert_eq!(inside.as_array().map(Vec::len), Some(1), "{inside}");
    assert_eq!(inside[0]["a"], ids[2]);
    let time = aggregates[0]["T"].as_u64().expect("T");
    let window = ok(
        client,
        &format!(
            "/api/v3/aggTrades?symbol=BTCUSDT&startTime={}&endTime={}",
            time - 1_000,
            time + 1_000
        ),
    );
    assert_eq!(window.as_array().map(Vec::len), Some(2), "{window}");
    let later =
        ok(client, &format!("/api/v3/aggTrades?symbol=BTCUSDT&startTime={}", time + 60_000));
    assert_eq!(later, Value::Array(Vec::new()));

    let ticker = ok(client, "/api/v3/ticker/24hr?symbol=BTCUSDT");
    assert_eq!(ticker["symbol"], "BTCUSDT");
    assert_eq!(ticker["lastPrice"], "49000.00");
    assert_eq!(ticker["openPrice"], "50000.00");
    assert_eq!(ticker["highPrice"], "50000.00");
    assert_eq!(ticker["lowPrice"], "49000.00");
    assert_eq!(ticker["priceChange"], "-1000.00");
    assert_eq!(ticker["priceChangePercent"], "-2.000");
    assert_eq!(ticker["volume"], "0.03000");
    assert_eq!(ticker["quoteVolume"], "1490.0000000");
    assert_eq!(ticker["count"], 3);
    assert_eq!(ticker["firstId"], ids[0]);
    assert_eq!(ticker["lastId"], ids[2]);
    assert_eq!(ticker["bidPrice"], "100.00");
    assert_eq!(ticker["bidQty"], "0.50000");
    assert_eq!(ticker["askPrice"], "0.00");
    let all = ok(client, "/api/v3/ticker/24hr");
    assert_eq!(all.as_array().map(Vec::len), Some(2), "{all}");
    assert_eq!(all[1]["symbol"], "ETHUSDT");
    assert_eq!(all[1]["count"], 0);
    assert_eq!(all[1]["firstId"], -1);

    let price = ok(client, "/api/v3/ticker/price?symbol=BTCUSDT");
    assert_eq!(price, serde_json::json!({"symbol": "BTCUSDT", "price": "49000.00"}));
    let prices = ok(client, "/api/v3/ticker/price?symbols=%5B%22ETHUSDT%22%2C%22BTCUSDT%22%5D");
    assert_eq!(prices.as_array().map(Vec::len), Some(2), "{prices}");
    assert_eq!(ok(client, "/api/v3/ticker/price").as_array().map(Vec::len), Some(2));

    for interval in ["1m", "1h", "1d", "1w", "1M"] {
        let klines = ok(client, &format!("/api/v3/klines?symbol=BTCUSDT&interval={interval}"));
        let klines = klines.as_array().expect("list");
        let count: u64 = klines.iter().map(|k| k[8].as_u64().expect("count")).sum();
        assert_eq!(count, 3, "{interval}: {klines:?}");
        let last = klines.last().expect("a kline");
        assert_eq!(last[4], "49000.00", "{interval}: close");
        assert!(last[6].as_u64() > last[0].as_u64(), "{interval}: close time after open");
        assert_eq!(last[11], "0");
    }
    let day = ok(client, "/api/v3/klines?symbol=BTCUSDT&interval=1d&limit=1");
    assert_eq!(day[0][1], "50000.00");
    assert_eq!(day[0][5], "0.03000");
    assert_eq!(day[0][7], "1490.0000000");
    assert_eq!(day[0][9], "0.00000", "the taker sold: no taker buy volume");
    let open = day[0][0].as_u64().expect("open time");
    // From the table: a start far in the past.
    let stored = ok(client, "/api/v3/klines?symbol=BTCUSDT&interval=1d&startTime=0");
    assert_eq!(stored, day);
    let before =
        ok(client, &format!("/api/v3/klines?symbol=BTCUSDT&interval=1d&endTime={}", open - 1));
    assert_eq!(before, Value::Array(Vec::new()));

    refused(client, "/api/v3/trades?symbol=NOPE", -1121);
    refused(client, "/api/v3/trades", -1102);
    refused(client, "/api/v3/trades?symbol=BTCUSDT&limit=0", -1130);
    refused(client, "/api/v3/trades?symbol=BTCUSDT&limit=1001", -1130);
    refused(client, "/api/v3/aggTrades?symbol=NOPE", -1121);
    refused(client, "/api/v3/aggTrades?symbol=BTCUSDT&limit=abc", -1100);
    refused(client, "/api/v3/aggTrades?symbol=BTCUSDT&fromId=1&startTime=1", -1128);
    refused(client, "/api/v3/aggTrades?symbol=BTCUSDT&startTime=0&endTime=3600001", -1127);
    refused(client, "/api/v3/aggTrades?symbol=BTCUSDT&startTime=5&endTime=4", -1128);
    refused(client, "/api/v3/aggTrades?symbol=BTCUSDT&fromId=99999999999999999999", -1100);
    refused(client, "/api/v3/klines?symbol=BTCUSDT&interval=2m", -1120);
    refused(client, "/api/v3/klines?symbol=BTCUSDT", -1102);
    refused(client, "/api/v3/klines?symbol=NOPE&interval=1m", -1121);
    refused(client, "/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=1001", -1130);
    refused(client, "/api/v3/ticker/24hr?symbol=NOPE", -1121);
    refused(client, "/api/v3/ticker/price?symbols=%5B%22NOPE%22%5D", -1121);
    refused(client, "/api/v3/ticker/price?symbols=nope", -1130);
}

fn check_my_trades(client: &HttpClient, buyer: &Trader, seller: &Trader) {
    let mine = |trader: &Trader, params: &str| {
        let (status, body) = client.signed(trader, Method::GET, "/api/v3/myTrades", params);
        assert_eq!(status, 200, "{params}: {body}");
        body.as_array().expect("list").clone()
    };
    let bought = mine(buyer, "symbol=BTCUSDT");
    assert_eq!(bought.len(), 3, "{bought:?}");
    let first = &bought[0];
    assert_eq!((&first["isBuyer"], &first["isMaker"]), (&Value::Bool(true), &Value::Bool(true)));
    // Maker fee 0.01% of the 0.01 BTC received.
    assert_eq!(first["commission"], "0.00000100");
    assert_eq!(first["commissionAsset"], "BTC");
    assert_eq!(first["quoteQty"], "500.0000000");
    let sold = mine(seller, "symbol=BTCUSDT");
    assert_eq!(sold.len(), 3);
    assert_eq!(
        (&sold[2]["isBuyer"], &sold[2]["isMaker"]),
        (&Value::Bool(false), &Value::Bool(false))
    );
    // Taker fee 0.1% of the 490 USDT received.
    assert_eq!(sold[2]["commission"], "0.49000000");
    assert_eq!(sold[2]["commissionAsset"], "USDT");
    let ids: Vec<u64> = sold.iter().map(|trade| trade["id"].as_u64().expect("id")).collect();
    // Keyset pages: the newest first when unbounded (answered oldest first), fromId upwards.
    let newest = mine(seller, "symbol=BTCUSDT&limit=1");
    assert_eq!(newest[0]["id"], ids[2]);
    let from = mine(seller, &format!("symbol=BTCUSDT&fromId={}&limit=2", ids[1]));
    assert_eq!(from.iter().map(|t| t["id"].clone()).collect::<Vec<_>>(), [ids[1], ids[2]]);
    let order_id = sold[0]["orderId"].as_u64().expect("orderId");
    assert_eq!(mine(seller, &format!("symbol=BTCUSDT&orderId={order_id}")).len(), 3);
    let maker_order = bought[2]["orderId"].as_u64().expect("orderId");
    assert_eq!(mine(buyer, &format!("symbol=BTCUSDT&orderId={maker_order}")).len(), 1);
    assert!(mine(seller, "symbol=BTCUSDT&orderId=1").is_empty());
    assert!(mine(seller, "symbol=ETHUSDT").is_empty());
    let time = sold[0]["time"].as_u64().expect("time");
    let window = format!("symbol=BTCUSDT&startTime={}&endTime={}", time - 1_000, time + 1_000);
    assert_eq!(mine(seller, &window).len(), 3);
    assert!(mine(seller, &format!("symbol=BTCUSDT&startTime={}", time + 60_000)).is_empty());
    let refusals = [
        ("symbol=NOPE", -1121),
        ("symbol=BTCUSDT&limit=1001", -1130),
        ("symbol=BTCUSDT&fromId=1&startTime=1", -1128),
        ("symbol=BTCUSDT&startTime=0&endTime=86400001", -1127),
    ];
    for (params, code) in refusals {
        let (status, body) = client.signed(seller, Method::GET, "/api/v3/myTrades", params);
        assert_eq!((status, &body["code"]), (400, &Value::from(code)), "{params}: {body}");
    }
}

fn market_data_and_history(backend: Backend) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("rt");
    let database = runtime.block_on(TestDatabase::create(backend));
    let server = ExchangeProcess::start(&database.url);
    let client = HttpClient::new(&server);
    let (buyer, seller) = trade(&client);
    check_public_routes(&client);
    check_my_trades(&client, &buyer, &seller);
    let before_restart = ok(&client, "/api/v3/klines?symbol=BTCUSDT&interval=1m");
    server.kill();

    // Restored from the tables: the same answers from memory and from the history.
    let server = ExchangeProcess::start(&database.url);
    let client = HttpClient::new(&server);
    check_public_routes(&client);
    check_my_trades(&client, &buyer, &seller);
    assert_eq!(ok(&client, "/api/v3/klines?symbol=BTCUSDT&interval=1m"), before_restart);
}

#[test]
fn market_data_and_history_on_sqlite() {
    market_data_and_history(Backend::Sqlite);
}

#[test]
fn market_data_and_history_on_postgres() {
    market_data_and_history(Backend::Postgres);
}
