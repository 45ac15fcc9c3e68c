//! Driving the real binary over HTTP: `exchange serve` on an ephemeral port, the admin API,
//! and Binance-signed requests (query, form body or JSON body) of an account's key.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::{exchange_binary, workspace_root};

pub const ADMIN_TOKEN: &str = "test-admin-token";

/// The server; killed when the test ends, pass or fail.
#[derive(Debug)]
pub struct Server {
    child: Child,
    pub base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `exchange serve` on `database_url` and waits until it listens.
pub fn start(database_url: &str) -> Server {
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

/// A SQLite URL for a fresh database file in `directory`.
pub fn sqlite_url(directory: &tempfile::TempDir) -> String {
    format!("sqlite://{}?mode=rwc", directory.path().join("exchange.db").display())
}

pub fn admin(
    client: &reqwest::blocking::Client,
    server: &Server,
    path: &str,
    body: Value,
) -> Value {
    let response = client
        .post(format!("{}{path}", server.base))
        .header("X-Admin-Token", ADMIN_TOKEN)
        .json(&body)
        .send()
        .expect("admin request");
    assert!(response.status().is_success(), "{path}: {}", response.status());
    response.json().expect("admin JSON")
}

#[derive(Debug)]
pub struct Trader {
    pub api_key: String,
    pub secret: String,
    pub account_id: u64,
}

pub fn open_trader(client: &reqwest::blocking::Client, server: &Server) -> Trader {
    let account = admin(client, server, "/admin/accounts", json!({}));
    Trader {
        api_key: account["apiKey"].as_str().expect("apiKey").to_owned(),
        secret: account["secretKey"].as_str().expect("secretKey").to_owned(),
        account_id: account["accountId"].as_u64().expect("accountId"),
    }
}

/// Opens an account and deposits `amount` of `asset` into it.
pub fn funded_trader(
    client: &reqwest::blocking::Client,
    server: &Server,
    asset: &str,
    amount: &str,
) -> Trader {
    let trader = open_trader(client, server);
    let body = json!({"accountId": trader.account_id, "asset": asset, "amount": amount});
    admin(client, server, "/admin/deposits", body);
    trader
}

fn timestamp_ms() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_millis()
}

fn answer(response: reqwest::blocking::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    (status, response.json().expect("JSON answer"))
}

/// A signed request with every parameter in the query string.
pub fn signed(
    client: &reqwest::blocking::Client,
    server: &Server,
    trader: &Trader,
    method: reqwest::Method,
    path: &str,
    params: &str,
) -> (u16, Value) {
    let timestamp = timestamp_ms();
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
    answer(response)
}

/// What a signed request carries in its body.
#[derive(Clone, Debug)]
pub enum SignedBody {
    /// `application/x-www-form-urlencoded` parameters (already encoded).
    Form(String),
    /// A JSON object of parameters.
    Json(Value),
}

/// A signed request with `timestamp` and the signature in the query and `body` as the rest:
/// the signature covers the query followed by the body's bytes.
pub fn signed_body(
    client: &reqwest::blocking::Client,
    server: &Server,
    trader: &Trader,
    method: reqwest::Method,
    path: &str,
    body: &SignedBody,
) -> (u16, Value) {
    let query = format!("timestamp={}", timestamp_ms());
    let (bytes, content_type) = match body {
        SignedBody::Form(text) => (text.clone().into_bytes(), "application/x-www-form-urlencoded"),
        SignedBody::Json(value) => (value.to_string().into_bytes(), "application/json"),
    };
    let mut payload = query.clone().into_bytes();
    payload.extend_from_slice(&bytes);
    let signature = exchange::api::sign(trader.secret.as_bytes(), &payload);
    let response = client
        .request(method, format!("{}{path}?{query}&signature={signature}", server.base))
        .header("X-MBX-APIKEY", &trader.api_key)
        .header("Content-Type", content_type)
        .body(bytes)
        .send()
        .expect("signed request");
    answer(response)
}

/// `(free, locked)` of `asset` in `GET /api/v3/account`, ("0", "0") when absent.
pub fn balance(
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
pub fn expect_balance(
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
