//! The real binary over HTTP: `exchange serve` on an ephemeral port with a fresh SQLite file;
//! two accounts opened and funded through the admin API trade with signed orders, and the
//! trade and both accounts' balances are checked to the last minor unit.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use integration_tests::{exchange_binary, workspace_root};
use serde_json::{Value, json};

const ADMIN_TOKEN: &str = "test-admin-token";

/// Kills the server when the test ends, pass or fail.
struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(database_url: &str) -> Server {
    let mut child = Command::new(exchange_binary())
        .arg("serve")
        .current_dir(workspace_root())
        .env_remove("EXCHANGE_CONFIG")
        .env("EXCHANGE_LISTEN", "127.0.0.1:0")
        .env("DATABASE_URL", database_url)
        .env("ADMIN_TOKEN", ADMIN_TOKEN)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the exchange binary starts");
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut lines = BufReader::new(stdout).lines();
    let address = loop {
        let line = lines.next().expect("the server printed its address").expect("stdout reads");
        if let Some(address) = line.strip_prefix("listening on ") {
            break address.to_owned();
        }
    };
    // Keep draining stdout so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Server { child, base: format!("http://{address}") }
}

fn admin(client: &reqwest::blocking::Client, server: &Server, path: &str, body: Value) -> Value {
    let response = client
        .post(format!("{}{path}", server.base))
        .header("X-Admin-Token", ADMIN_TOKEN)
        .json(&body)
        .send()
        .expect("admin request");
    assert!(response.status().is_success(), "{path}: {}", response.status());
    response.json().expect("admin JSON")
}

struct Trader {
    api_key: String,
    secret: String,
    account_id: u64,
}

fn signed(
    client: &reqwest::blocking::Client,
    server: &Server,
    trader: &Trader,
    method: reqwest::Method,
    path: &str,
    params: &str,
) -> (u16, Value) {
    let timestamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_millis();
    let query = if params.is_empty() {
        format!("timestamp={timestamp}")
    } else {
        format!("{params}&timestamp={timestamp}")
    };
    let signature = exchange::api::sign(trader.secret.as_bytes(), query.as_bytes());
    let response = client
        .request(method, format!("{}{path}?{query}&signature={signature}", server.base))
        .header("X-MBX-APIKEY", &trader.api_key)
        .send()
        .expect("signed request");
    let status = response.status().as_u16();
    (status, response.json().expect("JSON answer"))
}

fn open_trader(client: &reqwest::blocking::Client, server: &Server) -> Trader {
    let account = admin(client, server, "/admin/accounts", json!({}));
    Trader {
        api_key: account["apiKey"].as_str().expect("apiKey").to_owned(),
        secret: account["secretKey"].as_str().expect("secretKey").to_owned(),
        account_id: account["accountId"].as_u64().expect("accountId"),
    }
}

/// `(free, locked)` of `asset` in `GET /api/v3/account`, ("0", "0") when absent.
fn balance(
    client: &reqwest::blocking::Client,
    server: &Server,
    trader: &Trader,
    asset: &str,
) -> (String, String) {
    let (status, account) =
        signed(client, server, trader, reqwest::Method::GET, "/api/v3/account", "");
    assert_eq!(status, 200, "{account}");
    account["balances"]
        .as_array()
        .expect("balances")
        .iter()
        .find(|balance| balance["asset"] == asset)
        .map_or(("0".into(), "0".into()), |balance| {
            (
                balance["free"].as_str().unwrap().to_owned(),
                balance["locked"].as_str().unwrap().to_owned(),
            )
        })
}

/// Settlement follows the book asynchronously: waits until the balance is `expected`.
fn expect_balance(
    client: &reqwest::blocking::Client,
    server: &Server,
    trader: &Trader,
    asset: &str,
    expected: (&str, &str),
) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (free, locked) = balance(client, server, trader, asset);
        if (free.as_str(), locked.as_str()) == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "account {} {asset}: ({free}, {locked}), expected {expected:?}",
            trader.account_id
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

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
