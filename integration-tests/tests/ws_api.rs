//! The WebSocket API (`/ws-api/v3`) against the real binary (SQLite, in-process bus), over
//! real sockets on 127.0.0.1:
//! - the user data stream reports every state change and fill of a scripted session in order,
//!   with correct cumulative quantities, and its last balances equal REST `/api/v3/account`;
//! - `order.place` / `order.cancel` / `order.status` / `openOrders.*` /
//!   `order.cancelReplace` answer as their REST routes do, results and error codes alike;
//! - cancel-on-disconnect cancels the account's open orders within 1 s of the drop;
//! - `openOrders.countdownCancelAll` (the dead man's switch) refuses as its REST route and
//!   cancels the account's orders when not refreshed;
//! - a subscribe with a wrong signature is refused with REST's code;
//! - 300 subscribed sessions, closed or dropped, leave the sessions and user-stream gauges at 0.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use futures_util::{SinkExt as _, StreamExt as _};
use integration_tests::http::{ExchangeProcess, HttpClient, Trader, now_ms, sqlite_url};
use reqwest::Method;
use serde_json::{Map, Value, json};
use tokio::net::TcpStream;
use tokio::runtime::Runtime;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

const READ_TIMEOUT: Duration = Duration::from_secs(10);

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap()
}

/// The real binary on a SQLite file of its own, a REST client and a runtime for the sockets.
struct Started {
    _directory: tempfile::TempDir,
    server: ExchangeProcess,
    client: HttpClient,
    runtime: Runtime,
}

fn start() -> Started {
    let directory = tempfile::tempdir().unwrap();
    let server = ExchangeProcess::start(&sqlite_url(&directory));
    let client = HttpClient::new(&server);
    Started { _directory: directory, server, client, runtime: runtime() }
}

/// One `/ws-api/v3` connection: answers by id, pushed events kept in arrival order.
struct WsApi {
    socket: Socket,
    next_id: u64,
    events: Vec<Value>,
}

/// `params` with `apiKey` and `timestamp` added and signed as Binance's WebSocket API signs.
fn signed(trader: &Trader, secret: &str, params: Value) -> Value {
    let Value::Object(mut params) = params else { panic!("params are an object") };
    params.insert("apiKey".into(), json!(trader.api_key));
    params.insert("timestamp".into(), json!(u64::try_from(now_ms()).unwrap()));
    let sorted: BTreeMap<&String, String> = params
        .iter()
        .map(|(name, value)| {
            let text = match value {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            (name, text)
        })
        .collect();
    let payload: Vec<String> =
        sorted.iter().map(|(name, value)| format!("{name}={value}")).collect();
    let signature = exchange::api::sign(secret.as_bytes(), payload.join("&").as_bytes());
    params.insert("signature".into(), json!(signature));
    Value::Object(params)
}

impl WsApi {
    async fn connect(server: &ExchangeProcess) -> WsApi {
        let url = format!("{}/ws-api/v3", server.base.replacen("http://", "ws://", 1));
        let (socket, _) = tokio_tungstenite::connect_async(url).await.expect("ws-api");
        WsApi { socket, next_id: 1, events: Vec::new() }
    }

    async fn next_frame(&mut self) -> Value {
        loop {
            let frame = tokio::time::timeout(READ_TIMEOUT, self.socket.next())
                .await
                .expect("a frame in time")
                .expect("the stream is open")
                .expect("a valid frame");
            match frame {
                Message::Text(text) => return serde_json::from_str(&text).expect("JSON frame"),
                Message::Close(close) => panic!("closed: {close:?}"),
                _ => {}
            }
        }
    }

    /// Sends `method` with `params` as they are; the whole answer frame.
    async fn request(&mut self, method: &str, params: Value) -> Value {
        let id = format!("r{}", self.next_id);
        self.next_id += 1;
        let request = json!({"id": id, "method": method, "params": params});
        self.socket.send(Message::text(request.to_string())).await.expect("send");
        loop {
            let frame = self.next_frame().await;
            if frame.get("subscriptionId").is_some() {
                self.events.push(frame["event"].clone());
            } else if frame["id"] == json!(id) {
                return frame;
            }
        }
    }

    /// Events until `done` holds for the ones received so far (or the timeout fails).
    async fn events_until(&mut self, done: impl Fn(&[Value]) -> bool) -> &[Value] {
        while !done(&self.events) {
            let frame = self.next_frame().await;
            assert!(frame.get("subscriptionId").is_some(), "an unexpected answer: {frame}");
            self.events.push(frame["event"].clone());
        }
        &self.events
    }
}

fn ok(frame: &Value) -> &Value {
    assert_eq!(frame["status"], 200, "{frame}");
    &frame["result"]
}

fn reports(events: &[Value]) -> Vec<&Value> {
    events.iter().filter(|event| event["e"] == "executionReport").collect()
}

#[test]
fn the_user_stream_reports_every_change_and_fill_in_order() {
    let Started { _directory, server, client, runtime } = start();
    let maker = client.funded_trader("USDT", "10000");
    let taker = client.funded_trader("BTC", "1");
    let mut ws = runtime.block_on(WsApi::connect(&server));
    let subscribe = signed(&maker, &maker.secret, json!({}));
    let answer = runtime.block_on(ws.request("userDataStream.subscribe.signature", subscribe));
    assert_eq!(ok(&answer), &json!({"subscriptionId": 0}));

    client.deposit(&maker, "USDT", "5");
    let place = |ws: &mut WsApi, params: Value| {
        let frame =
            runtime.block_on(ws.request("order.place", signed(&maker, &maker.secret, params)));
        ok(&frame)["orderId"].as_u64().expect("orderId")
    };
    let bought = place(
        &mut ws,
        json!({"symbol":"BTCUSDT","side":"BUY","type":"LIMIT",
        "timeInForce":"GTC","quantity":"0.01","price":"30000","newClientOrderId":"maker-1"}),
    );
    let resting = place(
        &mut ws,
        json!({"symbol":"BTCUSDT","side":"BUY","type":"LIMIT",
        "timeInForce":"GTC","quantity":"0.005","price":"29000"}),
    );
    for qty in ["0.004", "0.006"] {
        let params = format!(
            "symbol=BTCUSDT&side=SELL&type=LIMIT&timeInForce=GTC&quantity={qty}&price=30000"
        );
        let (status, body) = client.signed(&taker, Method::POST, "/api/v3/order", &params);
        assert_eq!(status, 200, "{body}");
    }
    let (status, body) = client.signed(
        &maker,
        Method::DELETE,
        "/api/v3/order",
        &format!("symbol=BTCUSDT&orderId={resting}"),
    );
    assert_eq!(status, 200, "{body}");

    let events = runtime.block_on(
        ws.events_until(|events| reports(events).iter().any(|report| report["x"] == "CANCELED")),
    );
    let deposit = events.iter().find(|event| event["e"] == "balanceUpdate").expect("balanceUpdate");
    assert_eq!((&deposit["a"], &deposit["d"]), (&json!("USDT"), &json!("5.00000000")));
    let got: Vec<(u64, &str, &str, &str, &str, &str, &str)> = reports(events)
        .iter()
        .map(|report| {
            (
                report["i"].as_u64().unwrap(),
                report["x"].as_str().unwrap(),
                report["X"].as_str().unwrap(),
                report["l"].as_str().unwrap(),
                report["z"].as_str().unwrap(),
                report["Z"].as_str().unwrap(),
                report["L"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (bought, "NEW", "NEW", "0.00000", "0.00000", "0.00000000", "0.00000000"),
            (resting, "NEW", "NEW", "0.00000", "0.00000", "0.00000000", "0.00000000"),
            (bought, "TRADE", "PARTIALLY_FILLED", "0.00400", "0.00400", "120.00000000", "30000.00"),
            (bought, "TRADE", "FILLED", "0.00600", "0.01000", "300.00000000", "30000.00"),
            (resting, "CANCELED", "CANCELED", "0.00000", "0.00000", "0.00000000", "0.00000000"),
        ]
    );
    let fill = reports(events)[2];
    assert_eq!(fill["c"], "maker-1");
    assert_eq!(
        (&fill["m"], &fill["N"], &fill["n"]),
        (&json!(true), &json!("BTC"), &json!("0.00000040"))
    );
    assert_eq!(
        (&fill["s"], &fill["S"], &fill["o"], &fill["f"]),
        (&json!("BTCUSDT"), &json!("BUY"), &json!("LIMIT"), &json!("GTC"))
    );
    assert_eq!(
        (&fill["q"], &fill["p"], &fill["Y"]),
        (&json!("0.01000"), &json!("30000.00"), &json!("120.00000000"))
    );
    assert!(fill["t"].as_i64().unwrap() > 0 && fill["T"].as_u64().unwrap() > 0);

    // The last position of each asset equals REST's balance once everything has settled.
    let usdt = client_balance_settled(&client, &maker);
    let latest = |events: &[Value]| -> BTreeMap<String, (String, String)> {
        let mut latest = BTreeMap::new();
        for position in events.iter().filter(|event| event["e"] == "outboundAccountPosition") {
            for balance in position["B"].as_array().unwrap() {
                let pair = (
                    balance["f"].as_str().unwrap().to_owned(),
                    balance["l"].as_str().unwrap().to_owned(),
                );
                latest.insert(balance["a"].as_str().unwrap().to_owned(), pair);
            }
        }
        latest
    };
    let expected: BTreeMap<String, (String, String)> =
        [("BTC".to_owned(), client.balance(&maker, "BTC")), ("USDT".to_owned(), usdt)].into();
    let events = runtime.block_on(ws.events_until(|events| latest(events) == expected));
    assert_eq!(latest(events), expected);
    assert_eq!(expected["USDT"], ("9705.00000000".to_owned(), "0.00000000".to_owned()));
}

/// The maker's USDT once nothing is held any more (the cancel has settled).
fn client_balance_settled(client: &HttpClient, trader: &Trader) -> (String, String) {
    client.expect_balance(trader, "USDT", ("9705.00000000", "0.00000000"));
    client.balance(trader, "USDT")
}

#[test]
fn order_methods_answer_as_their_rest_routes() {
    let Started { _directory, server, client, runtime } = start();
    let trader = client.funded_trader("USDT", "1000");
    let mut ws = runtime.block_on(WsApi::connect(&server));
    let mut call = |method: &str, params: Value| {
        runtime.block_on(ws.request(method, signed(&trader, &trader.secret, params)))
    };
    let rest =
        |method: Method, path: &str, params: &str| client.signed(&trader, method, path, params);
    // A REST error as the WebSocket API frames it.
    let same_error = |frame: &Value, (status, body): (u16, Value)| {
        assert_eq!(frame["status"], json!(status), "{frame} vs {body}");
        assert_eq!(frame["error"], body, "{frame}");
    };

    let placed = call(
        "order.place",
        json!({"symbol":"BTCUSDT","side":"BUY","type":"LIMIT",
        "timeInForce":"GTC","quantity":"0.001","price":"20000","newClientOrderId":"ws-1"}),
    );
    let order_id = ok(&placed)["orderId"].as_u64().unwrap();
    assert_eq!(ok(&placed)["status"], "NEW");
    assert_eq!(ok(&placed)["clientOrderId"], "ws-1");

    let status = call("order.status", json!({"symbol":"BTCUSDT","orderId":order_id}));
    let (code, body) =
        rest(Method::GET, "/api/v3/order", &format!("symbol=BTCUSDT&orderId={order_id}"));
    assert_eq!((200, ok(&status)), (code, &body));
    let open = call("openOrders.status", json!({"symbol":"BTCUSDT"}));
    let (code, body) = rest(Method::GET, "/api/v3/openOrders", "symbol=BTCUSDT");
    assert_eq!((200, ok(&open)), (code, &body));
    assert_eq!(ok(&open).as_array().unwrap().len(), 1);

    // Refusals: unknown order (cancel -2011, status -2013), insufficient balance (-2010).
    let unknown = call("order.cancel", json!({"symbol":"BTCUSDT","orderId":999_999}));
    assert_eq!(unknown["error"]["code"], -2011);
    same_error(&unknown, rest(Method::DELETE, "/api/v3/order", "symbol=BTCUSDT&orderId=999999"));
    let unknown = call("order.status", json!({"symbol":"BTCUSDT","orderId":999_999}));
    assert_eq!(unknown["error"]["code"], -2013);
    same_error(&unknown, rest(Method::GET, "/api/v3/order", "symbol=BTCUSDT&orderId=999999"));
    let too_big = "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=20000";
    let poor = call(
        "order.place",
        json!({"symbol":"BTCUSDT","side":"BUY","type":"LIMIT",
        "timeInForce":"GTC","quantity":"1","price":"20000"}),
    );
    assert_eq!(poor["error"]["code"], -2010);
    same_error(&poor, rest(Method::POST, "/api/v3/order", too_big));
    let bad_symbol = call("openOrders.cancelAll", json!({"symbol":"NOPE"}));
    same_error(&bad_symbol, rest(Method::DELETE, "/api/v3/openOrders", "symbol=NOPE"));

    // A bad signature: REST's code and status (-1022).
    let impostor = Trader { secret: "not-the-secret".into(), ..trader.clone() };
    let forged = runtime.block_on(ws.request(
        "order.status",
        signed(&trader, &impostor.secret, json!({"symbol":"BTCUSDT","orderId":order_id})),
    ));
    assert_eq!(forged["error"]["code"], -1022);
    same_error(
        &forged,
        client.signed(
            &impostor,
            Method::GET,
            "/api/v3/order",
            &format!("symbol=BTCUSDT&orderId={order_id}"),
        ),
    );

    // cancelReplace: success, then the cancel fails (-2022 with both results in data).
    let replaced = runtime.block_on(ws.request(
        "order.cancelReplace",
        signed(
            &trader,
            &trader.secret,
            json!({
        "symbol":"BTCUSDT","side":"BUY","type":"LIMIT","timeInForce":"GTC","quantity":"0.002",
        "price":"20000","cancelReplaceMode":"STOP_ON_FAILURE","cancelOrderId":order_id}),
        ),
    ));
    let result = ok(&replaced);
    assert_eq!(
        (&result["cancelResult"], &result["newOrderResult"]),
        (&json!("SUCCESS"), &json!("SUCCESS"))
    );
    assert_eq!(result["cancelResponse"]["orderId"], order_id);
    let new_id = result["newOrderResponse"]["orderId"].as_u64().unwrap();
    let failed = runtime.block_on(ws.request(
        "order.cancelReplace",
        signed(
            &trader,
            &trader.secret,
            json!({
        "symbol":"BTCUSDT","side":"BUY","type":"LIMIT","timeInForce":"GTC","quantity":"0.002",
        "price":"20000","cancelReplaceMode":"STOP_ON_FAILURE","cancelOrderId":order_id}),
        ),
    ));
    assert_eq!((&failed["status"], &failed["error"]["code"]), (&json!(400), &json!(-2022)));
    assert_eq!(failed["error"]["data"]["cancelResponse"]["code"], -2011);

    // After a logon, unsigned requests act for the account.
    let logon =
        runtime.block_on(ws.request("session.logon", signed(&trader, &trader.secret, json!({}))));
    ok(&logon);
    let second = runtime.block_on(ws.request(
        "order.place",
        json!({"symbol":"BTCUSDT","side":"BUY",
        "type":"LIMIT","timeInForce":"GTC","quantity":"0.001","price":"19000"}),
    ));
    let second_id = ok(&second)["orderId"].as_u64().unwrap();
    let canceled = runtime
        .block_on(ws.request("order.cancel", json!({"symbol":"BTCUSDT","orderId":second_id})));
    assert_eq!(
        (&ok(&canceled)["status"], &ok(&canceled)["orderId"]),
        (&json!("CANCELED"), &json!(second_id))
    );
    let all = runtime.block_on(ws.request("openOrders.cancelAll", json!({"symbol":"BTCUSDT"})));
    let all = ok(&all).as_array().unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!((&all[0]["orderId"], &all[0]["status"]), (&json!(new_id), &json!("CANCELED")));
    let (code, body) = rest(Method::GET, "/api/v3/openOrders", "symbol=BTCUSDT");
    assert_eq!((code, body), (200, json!([])));
}

#[test]
fn cancel_on_disconnect_cancels_the_accounts_orders_within_a_second() {
    let Started { _directory, server, client, runtime } = start();
    let trader = client.funded_trader("USDT", "1000");
    let bystander = client.funded_trader("USDT", "1000");
    let mut ws = runtime.block_on(WsApi::connect(&server));
    let params = signed(&trader, &trader.secret, json!({"cancelOnDisconnect": true}));
    ok(&runtime.block_on(ws.request("userDataStream.subscribe.signature", params)));
    // Orders of the account placed over the socket and over REST, on two markets.
    ok(&runtime.block_on(ws.request(
        "order.place",
        signed(
            &trader,
            &trader.secret,
            json!({
        "symbol":"BTCUSDT","side":"BUY","type":"LIMIT","timeInForce":"GTC","quantity":"0.001",
        "price":"20000"}),
        ),
    )));
    for (trader, symbol, qty) in [
        (&trader, "BTCUSDT", "0.002"),
        (&trader, "ETHUSDT", "0.01"),
        (&bystander, "BTCUSDT", "0.002"),
    ] {
        let params = format!(
            "symbol={symbol}&side=BUY&type=LIMIT&timeInForce=GTC&quantity={qty}&price=3000"
        );
        let (status, body) = client.signed(trader, Method::POST, "/api/v3/order", &params);
        assert_eq!(status, 200, "{body}");
    }
    let open = |trader: &Trader| {
        let (status, body) = client.signed(trader, Method::GET, "/api/v3/openOrders", "");
        assert_eq!(status, 200, "{body}");
        body.as_array().unwrap().len()
    };
    assert_eq!(open(&trader), 3);

    // The connection drops (no close frame): the TCP stream is just closed.
    let stream = ws.socket.into_inner();
    let dropped = Instant::now();
    runtime.block_on(async move { drop(stream) });
    while open(&trader) > 0 {
        assert!(dropped.elapsed() < Duration::from_secs(1), "still open after 1 s");
        std::thread::sleep(Duration::from_millis(20));
    }
    let elapsed = dropped.elapsed();
    assert!(elapsed < Duration::from_secs(1), "canceled after {elapsed:?}");
    assert_eq!(open(&bystander), 1, "another account's order stays");
    client.expect_balance(&trader, "USDT", ("1000.00000000", "0.00000000"));
    // An order placed after the drop (the client is back at once) outlives the later passes.
    let params = "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.002&price=3000";
    let (status, body) = client.signed(&trader, Method::POST, "/api/v3/order", params);
    assert_eq!(status, 200, "{body}");
    std::thread::sleep(Duration::from_millis(1_500));
    assert_eq!(open(&trader), 1, "the order placed after the drop stays");
    // The stopped session left the hub; its pushes were timed.
    let text = client.metrics_text();
    for (series, expected) in [
        ("exchange_ws_api_sessions ", 0.0),
        ("exchange_ws_user_streams ", 0.0),
        ("exchange_ws_cancel_on_disconnect_orders_total ", 3.0),
    ] {
        assert_eq!(metric(&text, series), expected, "{series}\n{text}");
    }
    assert!(metric(&text, "exchange_ws_user_push_latency_seconds_count") >= 1.0, "{text}");
}

fn metric(text: &str, series: &str) -> f64 {
    text.lines().find_map(|line| line.strip_prefix(series)?.trim().parse().ok()).unwrap_or(-1.0)
}

#[test]
fn a_subscribe_with_a_wrong_signature_is_refused() {
    let Started { _directory, server, client, runtime } = start();
    let trader = client.funded_trader("USDT", "100");
    let mut ws = runtime.block_on(WsApi::connect(&server));
    let forged = signed(&trader, "wrong-secret", json!({}));
    let refused = runtime.block_on(ws.request("userDataStream.subscribe.signature", forged));
    assert_eq!((&refused["status"], &refused["error"]["code"]), (&json!(401), &json!(-1022)));
    let mut unsigned = Map::new();
    unsigned.insert("apiKey".into(), json!(trader.api_key));
    unsigned.insert("timestamp".into(), json!(u64::try_from(now_ms()).unwrap()));
    let refused =
        runtime.block_on(ws.request("userDataStream.subscribe.signature", Value::Object(unsigned)));
    assert_eq!(refused["error"]["code"], -1102, "{refused}");
    // Nothing is pushed to the refused session: a deposit shows no event, the next answer
    // comes with no event before it.
    client.deposit(&trader, "USDT", "1");
    std::thread::sleep(Duration::from_millis(300));
    let status = runtime.block_on(ws.request("session.status", json!({})));
    assert_eq!(ok(&status)["userDataStream"], false);
    assert!(ws.events.is_empty(), "{:?}", ws.events);
}

#[test]
fn subscribed_sessions_leave_every_registry_when_they_end() {
    const CYCLES: usize = 300;
    let Started { _directory, server, client, runtime } = start();
    // Five accounts: even if every ended session lingered, none reaches its stream bound.
    let traders: Vec<Trader> = (0..5).map(|_| client.open_trader()).collect();
    for cycle in 0..CYCLES {
        let trader = &traders[cycle % traders.len()];
        let mut ws = runtime.block_on(WsApi::connect(&server));
        let params = signed(trader, &trader.secret, json!({}));
        ok(&runtime.block_on(ws.request("userDataStream.subscribe.signature", params)));
        if cycle % 2 == 0 {
            runtime.block_on(ws.socket.close(None)).unwrap();
        } // else: dropped without a close handshake
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = client.metrics_text();
        let sessions = metric(&text, "exchange_ws_api_sessions ");
        let streams = metric(&text, "exchange_ws_user_streams ");
        if (sessions, streams) == (0.0, 0.0) {
            break;
        }
        assert!(Instant::now() < deadline, "sessions {sessions}, user streams {streams}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn the_countdown_cancel_all_method_arms_refuses_and_fires_as_its_rest_route() {
    let Started { _directory, server, client, runtime } = start();
    let trader = client.funded_trader("USDT", "1000");
    let placed = client.signed(
        &trader,
        Method::POST,
        "/api/v3/order",
        "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.001&price=20000",
    );
    assert_eq!(placed.0, 200, "{}", placed.1);
    let mut ws = runtime.block_on(WsApi::connect(&server));
    let mut call = |params: Value| {
        let params = signed(&trader, &trader.secret, params);
        runtime.block_on(ws.request("openOrders.countdownCancelAll", params))
    };

    let refused = call(json!({"symbol": "BTCUSDT", "countdownTime": 999}));
    let rest = client.signed(
        &trader,
        Method::POST,
        "/api/v3/countdownCancelAll",
        "symbol=BTCUSDT&countdownTime=999",
    );
    assert_eq!(rest.0, 400);
    assert_eq!(refused["status"], 400, "{refused}");
    assert_eq!(refused["error"], rest.1, "{refused}");

    let armed_at = Instant::now();
    let armed = call(json!({"symbol": "BTCUSDT", "countdownTime": 1000}));
    assert_eq!(ok(&armed), &json!({"symbol": "BTCUSDT", "countdownTime": 1000}));
    // Not refreshed: the order is canceled (the connection stays open).
    loop {
        let (status, open) = client.signed(&trader, Method::GET, "/api/v3/openOrders", "");
        assert_eq!(status, 200, "{open}");
        if open.as_array().is_some_and(Vec::is_empty) {
            break;
        }
        assert!(armed_at.elapsed() < Duration::from_millis(1_500), "still open: {open}");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(armed_at.elapsed() >= Duration::from_millis(950));
}

/// Each WebSocket API request is weighed against its key's REST budget (here 40 a minute):
/// `openOrders.status` with a symbol weighs 6 as its REST route does, so of a burst at 10x the
/// limit the first few are answered and the rest refused with Binance's WebSocket error
/// (status 429, -1003, `retryAfter` after `serverTime`), while another key over another
/// connection from the same IP is unaffected.
#[test]
fn a_burst_over_a_keys_limit_on_the_ws_api_is_refused_while_another_key_is_served() {
    const KEY_WEIGHT_PER_MINUTE: usize = 40;
    const OPEN_ORDERS_WEIGHT: usize = 6;
    let directory = tempfile::tempdir().unwrap();
    let environment = [
        ("RATE_LIMIT_KEY_WEIGHT_PER_MINUTE", "40"),
        // Refusals only, no ban, so every refusal is a 429.
        ("RATE_LIMIT_BAN_AFTER_REFUSALS", "1000"),
    ];
    let server = ExchangeProcess::start_with_env(&sqlite_url(&directory), &environment);
    let client = HttpClient::new(&server);
    let (noisy, quiet) = (client.open_trader(), client.open_trader());
    let burst = 10 * KEY_WEIGHT_PER_MINUTE / OPEN_ORDERS_WEIGHT;
    runtime().block_on(async {
        let mut noisy_api = WsApi::connect(&server).await;
        let mut answers = Vec::new();
        for _ in 0..burst {
            let params = signed(&noisy, &noisy.secret, json!({"symbol": "BTCUSDT"}));
            answers.push(noisy_api.request("openOrders.status", params).await);
        }
        let served = answers.iter().take_while(|answer| answer["status"] == 200).count();
        let refused: Vec<&Value> = answers.iter().filter(|a| a["status"] == 429).collect();
        assert!(served >= KEY_WEIGHT_PER_MINUTE / OPEN_ORDERS_WEIGHT, "{served} served");
        assert!(refused.len() >= burst * 8 / 10, "{} of {burst} refused", refused.len());
        for answer in &refused {
            assert_eq!(answer["error"]["code"], -1003, "{answer}");
            let data = &answer["error"]["data"];
            let (now, retry) = (data["serverTime"].as_u64(), data["retryAfter"].as_u64());
            assert!(matches!((now, retry), (Some(now), Some(retry)) if retry > now), "{answer}");
        }
        let mut quiet_api = WsApi::connect(&server).await;
        for _ in 0..KEY_WEIGHT_PER_MINUTE / OPEN_ORDERS_WEIGHT {
            let params = signed(&quiet, &quiet.secret, json!({"symbol": "BTCUSDT"}));
            ok(&quiet_api.request("openOrders.status", params).await);
        }
        // The noisy key stays limited also when it logs on and sends unsigned requests: they
        // count against the logged-on key (the logon itself may pass on what refilled).
        let mut logged_on = WsApi::connect(&server).await;
        logged_on.request("session.logon", signed(&noisy, &noisy.secret, json!({}))).await;
        let mut statuses = Vec::new();
        for _ in 0..KEY_WEIGHT_PER_MINUTE / OPEN_ORDERS_WEIGHT {
            let answer = logged_on.request("openOrders.status", json!({"symbol": "BTCUSDT"}));
            statuses.push(answer.await["status"].clone());
        }
        assert!(statuses.contains(&json!(429)), "{statuses:?}");
    });
    let metrics = client.metrics_text();
    let limited = integration_tests::prometheus::sample(
        &metrics,
        "exchange_rate_limited_total{status=\"429\"}",
    );
    assert!(limited.is_some_and(|count| count >= 1.0), "{metrics}");
}
