//! The real binary: an operator lists a symbol while the exchange runs (`POST
//! /admin/symbols`), clients trade it at once, the operator changes its filters and fees
//! (`PUT /admin/symbols/{symbol}`), and all of it survives a `kill -9`: the listing from the
//! `symbols` table, the change from the book's journal, so trades before the change keep the
//! old fee and trades after it pay the new one, exactly.

use std::time::{Duration, Instant};

use exchange::store::Store;
use integration_tests::http::{ADMIN_TOKEN, ExchangeProcess, HttpClient, Trader, sqlite_url};
use integration_tests::ledger_checks::{balances_conserved, balances_equal_ledger_replay};
use reqwest::Method;
use serde_json::{Value, json};

fn ethbtc() -> Value {
    json!({
        "symbol": "ETHBTC", "baseAsset": "ETH", "quoteAsset": "BTC",
        "tickSize": "0.00001", "minPrice": "0.00001", "maxPrice": "100",
        "stepSize": "0.001", "minQty": "0.001", "maxQty": "10000",
        "minNotional": "0.0001", "maxNotional": "1000",
        "priceBandBps": 0,
        "makerFeeRate": "0", "takerFeeRate": "0.001", "makerFeeFloor": "0"
    })
}

fn admin(client: &HttpClient, method: Method, path: &str, body: &Value) -> (u16, Value) {
    let headers = [("X-Admin-Token", ADMIN_TOKEN)];
    let bytes = serde_json::to_vec(body).expect("JSON");
    client.raw(method, path, &headers, Some(("application/json", bytes)))
}

fn lot_size_min_qty(client: &HttpClient) -> String {
    let (status, info) = client.raw(Method::GET, "/api/v3/exchangeInfo?symbol=ETHBTC", &[], None);
    assert_eq!(status, 200, "{info}");
    let filters = info["symbols"][0]["filters"].as_array().expect("filters").clone();
    let lot = filters.iter().find(|f| f["filterType"] == "LOT_SIZE").expect("LOT_SIZE");
    lot["minQty"].as_str().expect("minQty").to_owned()
}

/// The maker sells 1 ETH at 0.05 BTC, the taker buys it: one trade.
fn cross(client: &HttpClient, maker: &Trader, taker: &Trader) {
    let sell = "symbol=ETHBTC&side=SELL&type=LIMIT&timeInForce=GTC&quantity=1.000&price=0.05000";
    let (status, order) = client.signed(maker, Method::POST, "/api/v3/order", sell);
    assert_eq!((status, order["status"].as_str()), (200, Some("NEW")), "{order}");
    let buy = "symbol=ETHBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1.000&price=0.05000";
    let (status, order) = client.signed(taker, Method::POST, "/api/v3/order", buy);
    assert_eq!((status, order["status"].as_str()), (200, Some("FILLED")), "{order}");
}

#[test]
fn a_symbol_listed_and_changed_at_run_time_trades_and_survives_a_crash() {
    let directory = tempfile::tempdir().expect("temp dir");
    let database_url = sqlite_url(&directory);
    let server = ExchangeProcess::start(&database_url);
    let client = HttpClient::new(&server);

    // Refused: no token, a spec the ledger cannot hold, then listed; listing twice is refused.
    let (status, _) = client.raw(
        Method::POST,
        "/admin/symbols",
        &[],
        Some(("application/json", ethbtc().to_string().into_bytes())),
    );
    assert_eq!(status, 401);
    let mut unknown_asset = ethbtc();
    unknown_asset["baseAsset"] = json!("SOL");
    let (status, answer) = admin(&client, Method::POST, "/admin/symbols", &unknown_asset);
    assert_eq!((status, answer["code"].as_i64()), (400, Some(-1130)), "{answer}");
    assert!(answer["msg"].as_str().expect("msg").contains("SOL"), "{answer}");
    let (status, listed) = admin(&client, Method::POST, "/admin/symbols", &ethbtc());
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed["symbol"], "ETHBTC");
    let (status, again) = admin(&client, Method::POST, "/admin/symbols", &ethbtc());
    assert_eq!((status, again["code"].as_i64()), (400, Some(-1130)), "{again}");
    assert_eq!(lot_size_min_qty(&client), "0.00100000");

    let maker = client.funded_trader("ETH", "10");
    let taker = client.funded_trader("BTC", "1");
    cross(&client, &maker, &taker);
    // The taker received 1 ETH less 0.1%.
    client.expect_balance(&taker, "ETH", ("0.99900000", "0.00000000"));
    client.expect_balance(&maker, "BTC", ("0.05000000", "0.00000000"));

    // Refused changes: the tick size (unknown field), an unknown symbol, min above max.
    let (status, answer) =
        admin(&client, Method::PUT, "/admin/symbols/ETHBTC", &json!({"tickSize": "0.0001"}));
    assert_eq!((status, answer["code"].as_i64()), (400, Some(-1130)), "{answer}");
    let (status, answer) =
        admin(&client, Method::PUT, "/admin/symbols/DOGEBTC", &json!({"minQty": "1"}));
    assert_eq!((status, answer["code"].as_i64()), (400, Some(-1121)), "{answer}");
    let (status, answer) =
        admin(&client, Method::PUT, "/admin/symbols/ETHBTC", &json!({"minQty": "20000"}));
    assert_eq!((status, answer["code"].as_i64()), (400, Some(-1130)), "{answer}");

    let change = json!({"takerFeeRate": "0.002", "minQty": "0.01"});
    let (status, changed) = admin(&client, Method::PUT, "/admin/symbols/ETHBTC", &change);
    assert_eq!(status, 200, "{changed}");
    assert_eq!(lot_size_min_qty(&client), "0.01000000");
    let small = "symbol=ETHBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.005&price=0.05000";
    let (status, refused) =
        client.try_signed(&taker, Method::POST, "/api/v3/order", small).expect("answer");
    assert_eq!((status, refused["code"].as_i64()), (400, Some(-1013)), "{refused}");
    cross(&client, &maker, &taker);
    // The second trade paid 0.2%: 0.999 + 0.998.
    client.expect_balance(&taker, "ETH", ("1.99700000", "0.00000000"));

    // kill -9 and restart on the same database: listed, changed, trading at the new fee.
    server.kill();
    let server = ExchangeProcess::start(&database_url);
    let client = HttpClient::new(&server);
    assert_eq!(lot_size_min_qty(&client), "0.01000000");
    client.expect_balance(&taker, "ETH", ("1.99700000", "0.00000000"));
    cross(&client, &maker, &taker);
    client.expect_balance(&taker, "ETH", ("2.99500000", "0.00000000"));
    client.expect_balance(&maker, "BTC", ("0.15000000", "0.00000000"));

    // The ledger rows are projected behind the commits: wait (bounded) until they agree.
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let store = runtime.block_on(Store::connect(&database_url)).expect("connect");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let checked = runtime.block_on(async {
            balances_equal_ledger_replay(&store).await?;
            balances_conserved(&store).await
        });
        match checked {
            Ok(()) => break,
            Err(error) if Instant::now() > deadline => panic!("ledger: {error}"),
            Err(_projecting) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
    let audit = runtime.block_on(store.recent_audit(20)).expect("audit");
    let actions: Vec<&str> = audit.iter().map(|record| record.action.as_str()).collect();
    assert!(actions.contains(&"list_symbol") && actions.contains(&"change_symbol"), "{actions:?}");
    drop(server);
}
