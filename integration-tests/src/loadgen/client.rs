//! Sends the workload's requests as a trader's client does: Binance-signed REST requests
//! (HMAC-SHA256 of the query) over a keep-alive connection pool, or WebSocket API requests
//! (`/ws-api/v3`, each signed over its sorted params) pipelined over a few connections, answers
//! matched to requests by id. Every answer becomes an [`Outcome`]: the result, or the refusal's
//! code (`-2011`, `http 503`, `transport`, `timeout`) so nothing is hidden.
//!
//! Every request carries the longest receive window the server takes (`recvWindow` 60 s):
//! under load a signed request may wait for its connection, and the generator measures that
//! wait as latency instead of having it refused as late (-1021).

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Map, Value, json};
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::Message;

use exchange::api::RECV_WINDOW_MAX_MS;
use exchange_actors::session::REQUESTS_QUEUED_MAX;

use super::market::Market;
use super::workload::Op;
use crate::http::{Trader, now_ms};

/// How long one request may take before it counts as `timeout`.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// WebSocket API connections a client opens (requests are spread over them by trader).
pub const WS_CONNECTIONS_MAX: usize = 16;

/// Which API carries the requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    Rest,
    Ws,
    /// Alternating by request: even ones over REST, odd ones over the WebSocket API.
    Both,
}

impl Transport {
    pub fn parse(text: &str) -> Result<Transport, String> {
        match text {
            "rest" => Ok(Transport::Rest),
            "ws" => Ok(Transport::Ws),
            "both" => Ok(Transport::Both),
            other => Err(format!("transport {other:?}: rest, ws or both")),
        }
    }
}

/// A request's answer.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// The result (REST body, WebSocket `result`).
    Acked(Value),
    /// The refusal's code, or `http <status>`, `transport`, `timeout`.
    Refused(String),
}

/// `params` as REST's query (in order) and as the WebSocket API's params.
fn params_of(
    op: &Op,
    markets: &[Market],
) -> (&'static str, &'static str, Vec<(&'static str, String)>) {
    match op {
        Op::Place { market, shape, client_order_id, .. } => {
            let market = &markets[*market];
            let side = if shape.buy { "BUY" } else { "SELL" };
            let params = vec![
                ("symbol", market.symbol.clone()),
                ("side", side.to_owned()),
                ("type", "LIMIT".to_owned()),
                ("timeInForce", "GTC".to_owned()),
                ("quantity", market.qty(shape.qty_lots)),
                ("price", market.price(shape.price_ticks)),
                ("newClientOrderId", client_order_id.clone()),
                ("newOrderRespType", "RESULT".to_owned()),
            ];
            ("POST /api/v3/order", "order.place", params)
        }
        Op::Cancel { market, order_id, .. } => {
            let params = vec![
                ("symbol", markets[*market].symbol.clone()),
                ("orderId", order_id.to_string()),
            ];
            ("DELETE /api/v3/order", "order.cancel", params)
        }
        Op::Amend { market, order_id, new_qty_lots, .. } => {
            let market = &markets[*market];
            let params = vec![
                ("symbol", market.symbol.clone()),
                ("orderId", order_id.to_string()),
                ("newQty", market.qty(*new_qty_lots)),
            ];
            ("PUT /api/v3/order/amend/keepPriority", "order.amend.keepPriority", params)
        }
        Op::BulkCancel { market, .. } => {
            let params = vec![("symbol", markets[*market].symbol.clone())];
            ("DELETE /api/v3/openOrders", "openOrders.cancelAll", params)
        }
    }
}

/// Signed REST requests to one server.
#[derive(Clone, Debug)]
pub struct RestClient {
    http: reqwest::Client,
    pub base: String,
}

impl RestClient {
    pub fn new(base: &str) -> RestClient {
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .pool_max_idle_per_host(1_024)
            .build()
            .expect("HTTP client");
        RestClient { http, base: base.to_owned() }
    }

    /// `method path` signed by `trader` with `params` (and a fresh timestamp) in the query.
    pub async fn signed(
        &self,
        trader: &Trader,
        method_and_path: &str,
        params: &[(&str, String)],
    ) -> Outcome {
        let (method, path) = method_and_path.split_once(' ').expect("METHOD /path");
        let mut query = serde_urlencoded::to_string(params).expect("params encode");
        if !query.is_empty() {
            query.push('&');
        }
        query.push_str(&format!("recvWindow={RECV_WINDOW_MAX_MS}&timestamp={}", now_ms()));
        let signature = exchange::api::sign(trader.secret.as_bytes(), query.as_bytes());
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("an HTTP method");
        let sent = self
            .http
            .request(method, format!("{}{path}?{query}&signature={signature}", self.base))
            .header("X-MBX-APIKEY", &trader.api_key)
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(error) if error.is_timeout() => return Outcome::Refused("timeout".into()),
            Err(_) => return Outcome::Refused("transport".into()),
        };
        let status = response.status().as_u16();
        let body: Value = match response.json().await {
            Ok(body) => body,
            Err(error) if error.is_timeout() => return Outcome::Refused("timeout".into()),
            Err(_) => return Outcome::Refused(format!("http {status}")),
        };
        if status == 200 {
            Outcome::Acked(body)
        } else {
            Outcome::Refused(
                body["code"].as_i64().map_or(format!("http {status}"), |c| c.to_string()),
            )
        }
    }

    /// An unsigned GET: the status and JSON answer (`None` when the server did not answer).
    pub async fn get(&self, path_and_query: &str) -> Option<(u16, Value)> {
        let response = self.http.get(format!("{}{path_and_query}", self.base)).send().await.ok()?;
        let status = response.status().as_u16();
        Some((status, response.json().await.ok()?))
    }
}

type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<Value>>>>;
type WsSink = futures_util::stream::SplitSink<
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
    Message,
>;

/// One WebSocket API connection: requests written in turn, answers matched by id by a reader
/// task. When the connection drops, every waiting request ends as `transport`.
#[derive(Debug)]
struct WsConnection {
    /// The server answers a session's requests in turn and refuses more than
    /// [`REQUESTS_QUEUED_MAX`] queued: a request waits here for its turn instead.
    queued: tokio::sync::Semaphore,
    sink: tokio::sync::Mutex<WsSink>,
    pending: Pending,
    next_id: AtomicU64,
}

impl WsConnection {
    async fn open(base: &str) -> Result<WsConnection, String> {
        let url = format!("{}/ws-api/v3", base.replacen("http://", "ws://", 1));
        let (socket, _) = tokio_tungstenite::connect_async(url)
            .await
            .map_err(|error| format!("WebSocket API connect: {error}"))?;
        let (sink, mut stream) = socket.split();
        let pending: Pending = Arc::default();
        let answers = pending.clone();
        tokio::spawn(async move {
            while let Some(Ok(frame)) = stream.next().await {
                let Message::Text(text) = frame else { continue };
                let Ok(answer) = serde_json::from_str::<Value>(&text) else { continue };
                let Some(id) = answer["id"].as_u64() else { continue };
                let waiting = answers.lock().expect("pending lock").remove(&id);
                if let Some(waiting) = waiting {
                    let _gone = waiting.send(answer);
                }
            }
            answers.lock().expect("pending lock").clear();
        });
        Ok(WsConnection {
            queued: tokio::sync::Semaphore::new(REQUESTS_QUEUED_MAX),
            sink: tokio::sync::Mutex::new(sink),
            pending,
            next_id: AtomicU64::new(1),
        })
    }

    async fn request(&self, trader: &Trader, method: &str, params: &[(&str, String)]) -> Outcome {
        let _turn = self.queued.acquire().await.expect("semaphore open");
        let mut signed: BTreeMap<&str, String> =
            params.iter().map(|(name, value)| (*name, value.clone())).collect();
        signed.insert("apiKey", trader.api_key.clone());
        signed.insert("timestamp", now_ms().to_string());
        signed.insert("recvWindow", RECV_WINDOW_MAX_MS.to_string());
        let payload: Vec<String> =
            signed.iter().map(|(name, value)| format!("{name}={value}")).collect();
        let signature = exchange::api::sign(trader.secret.as_bytes(), payload.join("&").as_bytes());
        let mut object: Map<String, Value> =
            signed.into_iter().map(|(name, value)| (name.to_owned(), json!(value))).collect();
        object.insert("signature".into(), json!(signature));
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (answer_sender, answer) = oneshot::channel();
        self.pending.lock().expect("pending lock").insert(id, answer_sender);
        let frame = json!({"id": id, "method": method, "params": object}).to_string();
        if self.sink.lock().await.send(Message::text(frame)).await.is_err() {
            self.pending.lock().expect("pending lock").remove(&id);
            return Outcome::Refused("transport".into());
        }
        let answer = match tokio::time::timeout(REQUEST_TIMEOUT, answer).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(_connection_gone)) => return Outcome::Refused("transport".into()),
            Err(_elapsed) => {
                self.pending.lock().expect("pending lock").remove(&id);
                return Outcome::Refused("timeout".into());
            }
        };
        if answer["status"] == 200 {
            Outcome::Acked(answer["result"].clone())
        } else {
            let code = answer["error"]["code"].as_i64();
            Outcome::Refused(code.map_or(format!("ws {}", answer["status"]), |c| c.to_string()))
        }
    }
}

/// Sends [`Op`]s for the run's traders over the chosen transport.
#[derive(Debug)]
pub struct OpClient {
    rest: RestClient,
    ws: Vec<WsConnection>,
    transport: Transport,
    traders: Vec<Trader>,
    markets: Vec<Market>,
}

impl OpClient {
    /// Opens the WebSocket API connections the transport needs (one per trader, at most
    /// [`WS_CONNECTIONS_MAX`]).
    pub async fn connect(
        base: &str,
        transport: Transport,
        traders: Vec<Trader>,
        markets: Vec<Market>,
    ) -> Result<OpClient, String> {
        let mut ws = Vec::new();
        if transport != Transport::Rest {
            for _ in 0..traders.len().min(WS_CONNECTIONS_MAX) {
                ws.push(WsConnection::open(base).await?);
            }
        }
        Ok(OpClient { rest: RestClient::new(base), ws, transport, traders, markets })
    }

    /// Whether request number `index` goes over the WebSocket API.
    pub fn over_ws(&self, index: u64) -> bool {
        match self.transport {
            Transport::Rest => false,
            Transport::Ws => true,
            Transport::Both => index % 2 == 1,
        }
    }

    /// Sends `op` (request number `index`) and waits for its answer, at most
    /// [`REQUEST_TIMEOUT`].
    pub async fn send(&self, op: &Op, index: u64) -> Outcome {
        let trader = &self.traders[op.trader()];
        let (rest_route, ws_method, params) = params_of(op, &self.markets);
        let answer = async {
            if self.over_ws(index) {
                let connection = &self.ws[op.trader() % self.ws.len()];
                connection.request(trader, ws_method, &params).await
            } else {
                self.rest.signed(trader, rest_route, &params).await
            }
        };
        tokio::time::timeout(REQUEST_TIMEOUT, answer)
            .await
            .unwrap_or_else(|_elapsed| Outcome::Refused("timeout".into()))
    }
}
