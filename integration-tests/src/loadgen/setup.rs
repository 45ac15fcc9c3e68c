//! Before a run: the server must be on this machine's loopback; the symbols are read from
//! `exchangeInfo` (and each one's last trade price for its mid); the traders are opened and
//! funded through the admin API.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::client::RestClient;
use super::market::Market;
use crate::http::Trader;

/// Open orders each trader is funded for, on both sides of every symbol.
pub const FUNDED_ORDERS_PER_TRADER: u64 = 20_000;

/// `Ok` when `base` is `http://` on 127.0.0.1, localhost or [::1]: the load generator and the
/// chaos runner never aim at another machine.
pub fn check_loopback(base: &str) -> Result<(), String> {
    let url = reqwest::Url::parse(base).map_err(|error| format!("{base}: {error}"))?;
    let host = url.host_str().unwrap_or("");
    let address = host.trim_start_matches('[').trim_end_matches(']');
    let loopback = host == "localhost"
        || address.parse::<std::net::IpAddr>().is_ok_and(|address| address.is_loopback());
    if url.scheme() == "http" && loopback {
        Ok(())
    } else {
        Err(format!("{base}: only http:// on 127.0.0.1, localhost or [::1] is allowed"))
    }
}

/// The operator's side of a server.
#[derive(Clone, Debug)]
pub struct Admin {
    http: reqwest::Client,
    pub base: String,
    token: String,
}

impl Admin {
    pub fn new(base: &str, token: &str) -> Admin {
        let http = reqwest::Client::builder()
            .timeout(super::client::REQUEST_TIMEOUT)
            .build()
            .expect("HTTP client");
        Admin { http, base: base.to_owned(), token: token.to_owned() }
    }

    /// `method path` with the admin token and `body` (JSON, `Value::Null` for none): the
    /// answer, or an error naming the status and body.
    pub async fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &Value,
    ) -> Result<Value, String> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("X-Admin-Token", &self.token);
        if !body.is_null() {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|error| format!("{path}: {error}"))?;
        let status = response.status();
        let answer: Value = response.json().await.map_err(|error| format!("{path}: {error}"))?;
        if status.is_success() { Ok(answer) } else { Err(format!("{path}: {status} {answer}")) }
    }

    async fn open_trader(&self) -> Result<Trader, String> {
        let account = self.request(reqwest::Method::POST, "/admin/accounts", &json!({})).await?;
        let text = |field: &str| {
            account[field]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| format!("{field} in {account}"))
        };
        Ok(Trader {
            account_id: account["accountId"].as_u64().ok_or("accountId")?,
            api_key: text("apiKey")?,
            secret: text("secretKey")?,
        })
    }

    async fn deposit(&self, trader: &Trader, asset: &str, amount: &str) -> Result<(), String> {
        let body = json!({"accountId": trader.account_id, "asset": asset, "amount": amount});
        self.request(reqwest::Method::POST, "/admin/deposits", &body).await.map(|_| ())
    }
}

/// `symbols` as listed by the server, each at its last trade price (or the default mid).
pub async fn markets(rest: &RestClient, symbols: &[String]) -> Result<Vec<Market>, String> {
    let Some((200, info)) = rest.get("/api/v3/exchangeInfo").await else {
        return Err(format!("{}: no exchangeInfo", rest.base));
    };
    let mut markets = Vec::new();
    for symbol in symbols {
        let last_price = match rest.get(&format!("/api/v3/ticker/price?symbol={symbol}")).await {
            Some((200, ticker)) => ticker["price"].as_str().and_then(|price| price.parse().ok()),
            _ => None,
        };
        markets.push(Market::from_exchange_info(&info, symbol, last_price)?);
    }
    Ok(markets)
}

/// Opens `count` traders, each funded for [`FUNDED_ORDERS_PER_TRADER`] open orders on every
/// market.
pub async fn funded_traders(
    admin: &Admin,
    markets: &[Market],
    count: usize,
) -> Result<Vec<Trader>, String> {
    let mut amounts: BTreeMap<String, Decimal> = BTreeMap::new();
    for market in markets {
        for (asset, amount) in market.funding(FUNDED_ORDERS_PER_TRADER) {
            let amount: Decimal = amount.parse().map_err(|_| format!("amount {amount}"))?;
            *amounts.entry(asset).or_default() += amount;
        }
    }
    let mut traders = Vec::with_capacity(count);
    for _ in 0..count {
        let trader = admin.open_trader().await?;
        for (asset, amount) in &amounts {
            admin.deposit(&trader, asset, &amount.to_string()).await?;
        }
        traders.push(trader);
    }
    Ok(traders)
}

#[cfg(test)]
mod tests {
    use super::check_loopback;

    #[test]
    fn only_loopback_servers_are_taken() {
        for base in
            ["http://127.0.0.1:8080", "http://localhost:1", "http://[::1]:2", "http://127.0.0.2"]
        {
            assert_eq!(check_loopback(base), Ok(()), "{base}");
        }
        for base in ["http://10.0.0.1:8080", "https://127.0.0.1", "http://example.com", "127.0.0.1"]
        {
            assert!(check_loopback(base).is_err(), "{base}");
        }
    }
}
