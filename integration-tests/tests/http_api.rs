//! The real binary over HTTP: `exchange serve` on an ephemeral port with a fresh SQLite file;
//! two accounts opened and funded through the admin API trade with signed orders, and the
//! trade and both accounts' balances are checked to the last minor unit.

use std::time::{Duration, Instant};

use integration_tests::http::{admin, expect_balance, open_trader, signed, start};
use serde_json::json;

#[test]
fn two_accounts_trade_over_http_and_settle_exactly() {
    let directory = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}?mode=rwc", directory.path().join("exchange.db").display());
    let server = start(&url);
    let client = reqwest::blocking::Client::new();

    let refused = client
        .post(format!("{}/admin/accounts", server.base))
        .header("X-Admin-Token", "wrong")
        .send()
        .expect("request");
    assert_eq!(refused.status().as_u16(), 401);

    let buyer = open_trader(&client, &server);
    let seller = open_trader(&client, &server);
    assert!(seller.account_id > buyer.account_id);
    let deposit = admin(
        &client,
        &server,
        "/admin/deposits",
        json!({"accountId": buyer.account_id, "asset": "USDT", "amount": "1000"}),
    );
    assert_eq!(deposit["free"], "1000.00000000");
    admin(
        &client,
        &server,
        "/admin/deposits",
        json!({"accountId": seller.account_id, "asset": "BTC", "amount": "1"}),
    );

    let (status, bid) = signed(
        &client,
        &server,
        &buyer,
        reqwest::Method::POST,
        "/api/v3/order",
        "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01&price=50000&newClientOrderId=bid-1",
    );
    assert_eq!(status, 200, "{bid}");
    assert_eq!(bid["status"], "NEW");
    assert_eq!(bid["clientOrderId"], "bid-1");

    let (status, ask) = signed(
        &client,
        &server,
        &seller,
        reqwest::Method::POST,
        "/api/v3/order",
        "symbol=BTCUSDT&side=SELL&type=LIMIT&timeInForce=GTC&quantity=0.01&price=50000&newOrderRespType=FULL",
    );
    assert_eq!(status, 200, "{ask}");
    assert_eq!(ask["status"], "FILLED", "{ask}");
    assert_eq!(ask["executedQty"], "0.01000");
    assert_eq!(ask["cummulativeQuoteQty"], "500.00000000");
    let fills = ask["fills"].as_array().expect("fills");
    assert_eq!(fills.len(), 1, "{ask}");
    assert_eq!(fills[0]["price"], "50000.00");
    assert_eq!(fills[0]["qty"], "0.01000");
    // Taker fee 0.1% of the 500 USDT received.
    assert_eq!(fills[0]["commission"], "0.50000000");
    assert_eq!(fills[0]["commissionAsset"], "USDT");

    // Buyer (maker, 0.01% of the BTC received): 1000 - 500 USDT, 0.01 - 0.000001 BTC.
    expect_balance(&client, &server, &buyer, "USDT", ("500.00000000", "0.00000000"));
    expect_balance(&client, &server, &buyer, "BTC", ("0.00999900", "0.00000000"));
    // Seller (taker): 1 - 0.01 BTC, 500 - 0.5 USDT.
    expect_balance(&client, &server, &seller, "BTC", ("0.99000000", "0.00000000"));
    expect_balance(&client, &server, &seller, "USDT", ("499.50000000", "0.00000000"));

    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, order) = signed(
            &client,
            &server,
            &buyer,
            reqwest::Method::GET,
            "/api/v3/order",
            "symbol=BTCUSDT&origClientOrderId=bid-1",
        );
        assert_eq!(status, 200, "{order}");
        if order["status"] == "FILLED" {
            break;
        }
        assert!(Instant::now() < deadline, "{order}");
        std::thread::sleep(Duration::from_millis(50));
    }

    // A resting order canceled over HTTP releases its hold.
    let (status, rest) = signed(
        &client,
        &server,
        &buyer,
        reqwest::Method::POST,
        "/api/v3/order",
        "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.001&price=49000",
    );
    assert_eq!(status, 200, "{rest}");
    let order_id = rest["orderId"].as_u64().expect("orderId");
    let (status, canceled) = signed(
        &client,
        &server,
        &buyer,
        reqwest::Method::DELETE,
        "/api/v3/order",
        &format!("symbol=BTCUSDT&orderId={order_id}"),
    );
    assert_eq!(status, 200, "{canceled}");
    assert_eq!(canceled["status"], "CANCELED");
    expect_balance(&client, &server, &buyer, "USDT", ("500.00000000", "0.00000000"));
    drop(server);
}
