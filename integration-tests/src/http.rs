//! The real `exchange serve` process on an ephemeral port, and a blocking HTTP client that
//! speaks to it as a trader (Binance-signed `/api/v3` requests: query, form body or JSON body)
//! and as the operator (`/admin`).

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::{exchange_binary, workspace_root};

/// The admin token every test server runs with.
pub const ADMIN_TOKEN: &str = "test-admin-token";
/// Rate limits far above what any test or benchmark sends, so only a test that sets its own
/// (in `start_with_env`'s environment, which comes after these) meets them.
pub const UNLIMITED_RATES: [(&str, &str); 4] = [
    ("RATE_LIMIT_IP_WEIGHT_PER_MINUTE", "4000000000"),
    ("RATE_LIMIT_KEY_WEIGHT_PER_MINUTE", "4000000000"),
    ("RATE_LIMIT_ORDERS_PER_10S", "4000000000"),
    ("RATE_LIMIT_ORDERS_PER_DAY", "4000000000"),
];
/// How long one request may take before the client gives up.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// A running `exchange serve`; killed (SIGKILL) when dropped, pass or fail.
#[derive(Debug)]
pub struct ExchangeProcess {
    child: Child,
    pub base: String,
}

impl ExchangeProcess {
    /// Starts the binary on `database_url`, listening on 127.0.0.1 port 0, and waits for the
    /// `listening on ADDR` line.
    pub fn start(database_url: &str) -> ExchangeProcess {
        Self::start_with_env(database_url, &[])
    }

    /// [`ExchangeProcess::start`] with `environment` (name, value) set as well (it may override
    /// the defaults, `ADMIN_TOKEN` included: see [`HttpClient::with_admin_token`]).
    pub fn start_with_env(database_url: &str, environment: &[(&str, &str)]) -> ExchangeProcess {
        Self::start_with(database_url, &[], environment)
    }

    /// [`ExchangeProcess::start_with_env`] with `arguments` after `serve` (e.g. `--config`).
    pub fn start_with(
        database_url: &str,
        arguments: &[&str],
        environment: &[(&str, &str)],
    ) -> ExchangeProcess {
        let mut child = Command::new(exchange_binary())
            .arg("serve")
            .args(arguments)
            .envs(UNLIMITED_RATES)
            .current_dir(workspace_root())
            .env_remove("EXCHANGE_CONFIG")
            .env("EXCHANGE_LISTEN", "127.0.0.1:0")
            .env("DATABASE_URL", database_url)
            .env("ADMIN_TOKEN", ADMIN_TOKEN)
            .env("RUST_LOG", "warn")
            .envs(environment.iter().copied())
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
        ExchangeProcess { child, base: format!("http://{address}") }
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The server's resident set size in KiB (`VmRSS` of `/proc/<pid>/status`; Linux only).
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .expect("/proc/<pid>/status reads");
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS in kB")
    }

    /// `kill -9`: no shutdown path runs.
    pub fn kill(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ExchangeProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A SQLite URL for a fresh database file in `directory`.
pub fn sqlite_url(directory: &tempfile::TempDir) -> String {
    format!("sqlite://{}?mode=rwc", directory.path().join("exchange.db").display())
}

/// What a signed request carries in its body.
#[derive(Clone, Debug)]
pub enum SignedBody {
    /// `application/x-www-form-urlencoded` parameters (already encoded).
    Form(String),
    /// A JSON object of parameters.
    Json(Value),
}

/// An account's credentials as `POST /admin/accounts` issued them.
#[derive(Clone, Debug)]
pub struct Trader {
    pub account_id: u64,
    pub api_key: String,
    pub secret: String,
}

/// A client of one server.
#[derive(Clone, Debug)]
pub struct HttpClient {
    client: reqwest::blocking::Client,
    pub base: String,
    admin_token: String,
}

/// The client's clock in ms, as a signed request's `timestamp` carries it.
pub fn now_ms() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_millis()
}

impl HttpClient {
    pub fn new(server: &ExchangeProcess) -> HttpClient {
        let client = reqwest::blocking::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .expect("HTTP client");
        HttpClient { client, base: server.base.clone(), admin_token: ADMIN_TOKEN.to_owned() }
    }

    /// The client of a server started with another `ADMIN_TOKEN`.
    pub fn with_admin_token(self, admin_token: &str) -> HttpClient {
        HttpClient { admin_token: admin_token.to_owned(), ..self }
    }

    /// `POST /admin/...` with the admin token; panics unless it succeeds.
    pub fn admin(&self, path: &str, body: Value) -> Value {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .header("X-Admin-Token", &self.admin_token)
            .json(&body)
            .send()
            .expect("admin request");
        let status = response.status();
        let body: Value = response.json().expect("admin JSON");
        assert!(status.is_success(), "{path}: {status} {body}");
        body
    }

    pub fn open_trader(&self) -> Trader {
        let account = self.admin("/admin/accounts", serde_json::json!({}));
        Trader {
            account_id: account["accountId"].as_u64().expect("accountId"),
            api_key: account["apiKey"].as_str().expect("apiKey").to_owned(),
            secret: account["secretKey"].as_str().expect("secretKey").to_owned(),
        }
    }

    /// Opens an account and deposits `amount` of `asset` into it.
    pub fn funded_trader(&self, asset: &str, amount: &str) -> Trader {
        let trader = self.open_trader();
        self.deposit(&trader, asset, amount);
        trader
    }

    pub fn deposit(&self, trader: &Trader, asset: &str, amount: &str) -> Value {
        let body =
            serde_json::json!({"accountId": trader.account_id, "asset": asset, "amount": amount});
        self.admin("/admin/deposits", body)
    }

    /// A signed request with `params` (and a fresh timestamp) in the query string: the status
    /// and JSON answer, or the transport error (e.g. the server is gone).
    pub fn try_signed(
        &self,
        trader: &Trader,
        method: reqwest::Method,
        path: &str,
        params: &str,
    ) -> Result<(u16, Value), reqwest::Error> {
        let timestamp = now_ms();
        let query = if params.is_empty() {
            format!("timestamp={timestamp}")
        } else {
            format!("{params}&timestamp={timestamp}")
        };
        let signature = exchange::api::sign(trader.secret.as_bytes(), query.as_bytes());
        let response = self
            .client
            .request(method, format!("{}{path}?{query}&signature={signature}", self.base))
            .header("X-MBX-APIKEY", &trader.api_key)
            .send()?;
        let status = response.status().as_u16();
        Ok((status, response.json()?))
    }

    pub fn signed(
        &self,
        trader: &Trader,
        method: reqwest::Method,
        path: &str,
        params: &str,
    ) -> (u16, Value) {
        self.try_signed(trader, method, path, params).expect("signed request")
    }

    /// `POST /api/v3/order` with `params`; panics unless it is accepted (200). The answer.
    pub fn place_order(&self, trader: &Trader, params: &str) -> Value {
        let (status, body) = self.signed(trader, reqwest::Method::POST, "/api/v3/order", params);
        assert_eq!(status, 200, "{params}: {body}");
        body
    }

    /// A signed request with `timestamp` and the signature in the query and `body` as the
    /// rest: the signature covers the query followed by the body's bytes.
    pub fn signed_body(
        &self,
        trader: &Trader,
        method: reqwest::Method,
        path: &str,
        body: &SignedBody,
    ) -> (u16, Value) {
        let query = format!("timestamp={}", now_ms());
        let (bytes, content_type) = match body {
            SignedBody::Form(text) => {
                (text.clone().into_bytes(), "application/x-www-form-urlencoded")
            }
            SignedBody::Json(value) => (value.to_string().into_bytes(), "application/json"),
        };
        let mut payload = query.clone().into_bytes();
        payload.extend_from_slice(&bytes);
        let signature = exchange::api::sign(trader.secret.as_bytes(), &payload);
        let response = self
            .client
            .request(method, format!("{}{path}?{query}&signature={signature}", self.base))
            .header("X-MBX-APIKEY", &trader.api_key)
            .header("Content-Type", content_type)
            .body(bytes)
            .send()
            .expect("signed request");
        let status = response.status().as_u16();
        (status, response.json().expect("JSON answer"))
    }

    /// `asset`'s `(free, locked)` in `GET /api/v3/account`, ("0", "0") when absent.
    pub fn balance(&self, trader: &Trader, asset: &str) -> (String, String) {
        let (status, account) = self.signed(trader, reqwest::Method::GET, "/api/v3/account", "");
        assert_eq!(status, 200, "{account}");
        account["balances"]
            .as_array()
            .expect("balances")
            .iter()
            .find(|balance| balance["asset"] == asset)
            .map_or(("0".into(), "0".into()), |balance| {
                (
                    balance["free"].as_str().expect("free").to_owned(),
                    balance["locked"].as_str().expect("locked").to_owned(),
                )
            })
    }

    /// Settlement follows the book asynchronously: waits until the balance is `expected`.
    pub fn expect_balance(&self, trader: &Trader, asset: &str, expected: (&str, &str)) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let (free, locked) = self.balance(trader, asset);
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

    /// Any request, exactly as given (no signing, no admin token): status and JSON answer.
    pub fn raw(
        &self,
        method: reqwest::Method,
        path_and_query: &str,
        headers: &[(&str, &str)],
        body: Option<(&str, Vec<u8>)>,
    ) -> (u16, Value) {
        let mut request = self.client.request(method, format!("{}{path_and_query}", self.base));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some((content_type, bytes)) = body {
            request = request.header("Content-Type", content_type).body(bytes);
        }
        let response = request.send().expect("request");
        let status = response.status().as_u16();
        (status, response.json().expect("JSON answer"))
    }

    /// `GET /metrics`: every `exchange_auth_failures_total` series by its `reason`.
    pub fn auth_failures(&self) -> BTreeMap<String, u64> {
        auth_failure_counts(&self.metrics_text())
    }

    /// `GET /metrics` as Prometheus text.
    pub fn metrics_text(&self) -> String {
        let response =
            self.client.get(format!("{}/metrics", self.base)).send().expect("GET /metrics");
        assert_eq!(response.status().as_u16(), 200);
        response.text().expect("metrics text")
    }
}

/// The `exchange_auth_failures_total{reason="..."} N` lines of Prometheus text, by reason.
pub fn auth_failure_counts(text: &str) -> BTreeMap<String, u64> {
    let prefix = "exchange_auth_failures_total{reason=\"";
    text.lines()
        .filter_map(|line| {
            let rest = line.strip_prefix(prefix)?;
            let (reason, count) = rest.split_once("\"} ")?;
            Some((reason.to_owned(), count.trim().parse().expect("a whole counter value")))
        })
        .collect()
}

/// How each reason's count moved from `before` to `after` (reasons that did not move left out).
pub fn counts_moved(
    before: &BTreeMap<String, u64>,
    after: &BTreeMap<String, u64>,
) -> BTreeMap<String, u64> {
    after
        .iter()
        .map(|(reason, count)| (reason.clone(), count - before.get(reason).copied().unwrap_or(0)))
        .filter(|(_, moved)| *moved > 0)
        .collect()
}
