//! Property: random parameters, bodies, content types and header values at every route of the
//! real application (public; signed with a valid key, so the signature passes and what is
//! random reaches the parameter readers and the actors; admin with the right token) never get
//! a 5xx and never panic. In-process: [`HttpApp`] over a real [`ExchangeSystem`] on a temporary
//! SQLite database, driven by `actix_web::test`.
//!
//! A new route belongs in [`ROUTES`]. Cases are bounded ([`CASES`]) so the test runs in well
//! under a minute in a debug build.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::{Method, Uri};
use actix_web::{App, test};
use exchange::api::metrics::MetricsEndpoint;
use exchange::app::HttpApp;
use exchange::config::Config;
use exchange::system::ExchangeSystem;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::{Config as ProptestConfig, FileFailurePersistence, TestRunner};
use serde_json::{Map, Value, json};

const CASES: u32 = 4_000;
const ADMIN_TOKEN: &str = "property-admin-token";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Access {
    Public,
    Signed,
    Admin,
}

const ORDER: &str = "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01&price=40000";
const BATCH: &str = r#"batchOrders=[{"symbol":"BTCUSDT","side":"SELL","type":"LIMIT","timeInForce":"GTC","quantity":"0.01","price":"60000"}]"#;
const TRANSFER: &str = "accountId=1&asset=USDT&amount=10";
const SYMBOL: &str = "symbol=ETHBTC&baseAsset=ETH&quoteAsset=BTC&tickSize=0.00001&minPrice=0.00001&maxPrice=100&stepSize=0.001&minQty=0.001&maxQty=10000&minNotional=0.0001&maxNotional=1000&priceBandBps=0&makerFeeRate=0&takerFeeRate=0.001&makerFeeFloor=0";

/// Every route the application serves (`{id}` is replaced by a random path segment), with the
/// parameters of a valid request that cases start from, so the random edits reach past the
/// first check into the actors.
const ROUTES: &[(&str, &str, Access, &str)] = &[
    ("GET", "/api/v3/ping", Access::Public, ""),
    ("GET", "/api/v3/time", Access::Public, ""),
    ("GET", "/api/v3/exchangeInfo", Access::Public, "symbol=BTCUSDT"),
    ("GET", "/api/v3/depth", Access::Public, "symbol=BTCUSDT&limit=5"),
    ("GET", "/metrics", Access::Public, ""),
    ("GET", "/openapi.json", Access::Public, ""),
    ("GET", "/docs", Access::Public, ""),
    ("GET", "/api/v3/trades", Access::Public, "symbol=BTCUSDT&limit=5"),
    ("GET", "/api/v3/aggTrades", Access::Public, "symbol=BTCUSDT&limit=5"),
    ("GET", "/api/v3/klines", Access::Public, "symbol=BTCUSDT&interval=1m&limit=5"),
    ("GET", "/api/v3/ticker/24hr", Access::Public, "symbol=BTCUSDT"),
    ("GET", "/api/v3/ticker/price", Access::Public, "symbol=BTCUSDT"),
    ("GET", "/api/v3/myTrades", Access::Signed, "symbol=BTCUSDT&limit=5"),
    ("POST", "/api/v3/order", Access::Signed, ORDER),
    ("GET", "/api/v3/order", Access::Signed, "symbol=BTCUSDT&orderId=ORDER_ID"),
    ("DELETE", "/api/v3/order", Access::Signed, "symbol=BTCUSDT&orderId=ORDER_ID"),
    ("GET", "/api/v3/openOrders", Access::Signed, "symbol=BTCUSDT"),
    ("DELETE", "/api/v3/openOrders", Access::Signed, "symbol=ETHUSDT"),
    ("GET", "/api/v3/allOrders", Access::Signed, "symbol=BTCUSDT&limit=10"),
    (
        "POST",
        "/api/v3/order/cancelReplace",
        Access::Signed,
        "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01&price=40000&cancelReplaceMode=STOP_ON_FAILURE&cancelOrderId=ORDER_ID",
    ),
    ("POST", "/api/v3/batchOrders", Access::Signed, BATCH),
    ("DELETE", "/api/v3/batchOrders", Access::Signed, "symbol=BTCUSDT&orderIds=[ORDER_ID,2]"),
    ("POST", "/api/v3/countdownCancelAll", Access::Signed, "symbol=BTCUSDT&countdownTime=1000"),
    ("GET", "/api/v3/account", Access::Signed, ""),
    ("GET", "/ws", Access::Public, ""),
    ("GET", "/ws/{id}", Access::Public, ""),
    ("GET", "/stream", Access::Public, "streams=btcusdt@trade/btcusdt@depth"),
    ("GET", "/ws-api/v3", Access::Public, ""),
    ("POST", "/admin/accounts", Access::Admin, ""),
    ("GET", "/admin/accounts/{id}", Access::Admin, ""),
    ("POST", "/admin/deposits", Access::Admin, TRANSFER),
    ("POST", "/admin/withdrawals", Access::Admin, TRANSFER),
    ("POST", "/admin/symbols", Access::Admin, SYMBOL),
    ("PUT", "/admin/symbols/{id}", Access::Admin, "takerFeeRate=0.002&minQty=0.001"),
];

/// Whitespace-separated.
const NAMES: &str = concat!(
    "symbol symbols side type timeInForce quantity price quoteOrderQty ",
    "newClientOrderId newOrderRespType selfTradePreventionMode orderId ",
    "origClientOrderId cancelRestrictions startTime endTime limit orderIds ",
    "batchOrders cancelReplaceMode cancelOrderId cancelOrigClientOrderId recvWindow ",
    "accountId asset amount reference timestamp signature interval fromId ",
);

/// Whitespace-separated.
const VALUES: &str = concat!(
    "BTCUSDT ETHUSDT btcusdt BUY SELL LIMIT MARKET LIMIT_MAKER GTC IOC FOK ACK ",
    "RESULT FULL STOP_ON_FAILURE ALLOW_FAILURE NONE EXPIRE_TAKER EXPIRE_MAKER ",
    "EXPIRE_BOTH ONLY_NEW ONLY_PARTIALLY_FILLED USDT BTC 0 1 2 0.01 0.00001 0.001 ",
    "100 50000 49999.99 1000000 9000 99999999999999999999 18446744073709551615 ",
    "18446744073709551616 9223372036854775807 9223372036854775808 -1 1e3 NaN null ",
    "true [] [1] {} [\"BTCUSDT\"] 0.000000000000000000001 ",
);

const CONTENT_TYPES: &[&str] = &[
    "application/json",
    "application/json; charset=utf-8",
    "application/x-www-form-urlencoded",
    "text/plain",
    "multipart/form-data; boundary=x",
];

/// Header names a case may set to a random value (besides Content-Type).
const HEADERS: &[&str] = &["X-MBX-APIKEY", "X-Admin-Token", "Accept", "Origin"];

/// Where a case's parameters travel.
#[derive(Clone, Copy, Debug)]
enum Placement {
    Query,
    Form,
    Json,
}

#[derive(Clone, Debug)]
struct Case {
    route: usize,
    path_id: String,
    /// Start from the route's valid parameters, edited by `edits`, or from nothing.
    from_template: bool,
    /// (index into the parameters, new value or `None` to drop it).
    edits: Vec<(usize, Option<String>)>,
    extra: Vec<(String, String)>,
    placement: Placement,
    /// A query written as is (percent signs and all), in front of the parameters.
    raw_query: Option<String>,
    /// Random bytes appended to the body.
    raw_body: Vec<u8>,
    content_type: Option<String>,
    header: Option<(usize, Vec<u8>)>,
}

/// One of the words of `text`.
fn words(text: &'static str) -> impl Strategy<Value = &'static str> {
    select(text.split_whitespace().collect::<Vec<_>>())
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => words(VALUES).prop_map(str::to_owned),
        2 => "[0-9]{1,24}(\\.[0-9]{0,24})?",
        1 => "-?[0-9]{1,6}",
        1 => ".{0,24}",
        1 => prop::collection::vec(any::<u64>(), 0..4).prop_map(|ids| format!("{ids:?}")),
        1 => batch_orders().prop_map(|orders| orders.to_string()),
    ]
}

fn name() -> impl Strategy<Value = String> {
    prop_oneof![6 => words(NAMES).prop_map(str::to_owned), 1 => "[a-zA-Z]{0,12}"]
}

fn pairs() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::vec((name(), value()), 0..3)
}

/// A JSON array of order objects, as `batchOrders` takes.
fn batch_orders() -> impl Strategy<Value = Value> {
    let order = prop::collection::vec((words(NAMES), words(VALUES)), 0..7);
    prop::collection::vec(order, 0..3).prop_map(|orders| {
        let objects = orders.into_iter().map(|order| {
            let object: Map<String, Value> =
                order.into_iter().map(|(name, value)| (name.to_owned(), json!(value))).collect();
            Value::Object(object)
        });
        Value::Array(objects.collect())
    })
}

fn case() -> impl Strategy<Value = Case> {
    let header_value =
        prop::collection::vec(prop_oneof![0x20_u8..0x7f, 0x80_u8..=0xff, Just(b'\t')], 0..24);
    let edit = (0_usize..8, prop::option::weighted(0.8, value()));
    let placement =
        prop_oneof![Just(Placement::Query), Just(Placement::Form), Just(Placement::Json)];
    let content_type = prop_oneof![select(CONTENT_TYPES).prop_map(str::to_owned), ".{0,20}"];
    let raw_body = prop_oneof![
        9 => Just(Vec::new()),
        1 => prop::collection::vec(any::<u8>(), 0..48),
    ];
    (
        (0..ROUTES.len(), prop_oneof!["[12]", "[0-9]{1,22}", "[a-zA-Z0-9_%.-]{1,12}"]),
        (prop::bool::weighted(0.8), prop::collection::vec(edit, 0..3), pairs()),
        (placement, prop::option::weighted(0.1, "[a-zA-Z0-9=&%._,:-]{0,40}"), raw_body),
        prop::option::weighted(0.2, content_type),
        prop::option::weighted(0.2, (0..HEADERS.len(), header_value)),
    )
        .prop_map(
            |(
                (route, path_id),
                (from_template, edits, extra),
                (placement, raw_query, raw_body),
                content_type,
                header,
            )| Case {
                route,
                path_id,
                from_template,
                edits,
                extra,
                placement,
                raw_query,
                raw_body,
                content_type,
                header,
            },
        )
}

/// The parameters of `case`: the route's template (order ids filled in) edited, then extras.
fn parameters(case: &Case, order_id: u64) -> Vec<(String, String)> {
    let template = if case.from_template { ROUTES[case.route].3 } else { "" };
    let template = template.replace("ORDER_ID", &order_id.to_string());
    let mut params: Vec<(String, Option<String>)> = template
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').expect("name=value");
            (name.to_owned(), Some(value.to_owned()))
        })
        .collect();
    for (index, value) in &case.edits {
        if !params.is_empty() {
            let slot = index % params.len();
            params[slot].1 = value.clone();
        }
    }
    let kept = params.into_iter().filter_map(|(name, value)| Some((name, value?)));
    kept.chain(case.extra.iter().cloned()).collect()
}

/// A parameter as JSON: arrays and objects embedded as such, so are the admin body's numbers
/// (`accountId`, `reference`); anything else a string, as Binance's decimals are.
fn json_of(name: &str, value: &str) -> Value {
    let numeric = matches!(name, "accountId" | "reference");
    match serde_json::from_str::<Value>(value) {
        Ok(parsed @ (Value::Array(_) | Value::Object(_))) => parsed,
        Ok(parsed @ Value::Number(_)) if numeric => parsed,
        _ => Value::String(value.to_owned()),
    }
}

fn now_ms() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("after 1970").as_millis()
}

/// The request `case` describes; `None` when its URI or a header is not valid HTTP (the
/// client library would refuse to send it).
fn request(
    case: &Case,
    credentials: &(String, String),
    order_id: u64,
) -> Option<test::TestRequest> {
    let (method, path, access, _) = ROUTES[case.route];
    let path = path.replace("{id}", &case.path_id);
    let params = parameters(case, order_id);
    let encoded = serde_urlencoded::to_string(&params).expect("pairs encode");
    let mut query = case.raw_query.clone().unwrap_or_default();
    let (mut body, content_type) = match case.placement {
        Placement::Query => {
            let separator = if query.is_empty() || encoded.is_empty() { "" } else { "&" };
            query = format!("{query}{separator}{encoded}");
            (Vec::new(), None)
        }
        Placement::Form => (encoded.into_bytes(), Some("application/x-www-form-urlencoded")),
        Placement::Json => {
            let object: Map<String, Value> =
                params.iter().map(|(name, value)| (name.clone(), json_of(name, value))).collect();
            (Value::Object(object).to_string().into_bytes(), Some("application/json"))
        }
    };
    body.extend_from_slice(&case.raw_body);
    if access == Access::Signed {
        // Signed as the server reads it: the query, then the body's bytes.
        let separator = if query.is_empty() { "" } else { "&" };
        query = format!("{query}{separator}timestamp={}", now_ms());
        let payload = [query.as_bytes(), &body].concat();
        let signature = exchange::api::sign(credentials.1.as_bytes(), &payload);
        query = format!("{query}&signature={signature}");
    }
    let uri = if query.is_empty() { path } else { format!("{path}?{query}") };
    Uri::try_from(uri.as_str()).ok()?;
    let method = Method::from_bytes(method.as_bytes()).expect("route method");
    let mut request = test::TestRequest::default().method(method).uri(&uri).set_payload(body);
    match access {
        Access::Signed => request = request.insert_header(("X-MBX-APIKEY", credentials.0.clone())),
        Access::Admin => request = request.insert_header(("X-Admin-Token", ADMIN_TOKEN)),
        Access::Public => {}
    }
    if let Some(content_type) = case.content_type.as_deref().or(content_type) {
        request =
            request.insert_header(("Content-Type", HeaderValue::from_str(content_type).ok()?));
    }
    if let Some((header, value)) = &case.header {
        let name = HeaderName::from_bytes(HEADERS[*header].as_bytes()).expect("header name");
        request = request.insert_header((name, HeaderValue::from_bytes(value).ok()?));
    }
    Some(request)
}

/// Status and body of a response.
async fn read(response: actix_web::dev::ServiceResponse) -> (u16, String) {
    let status = response.status().as_u16();
    let body = test::read_body(response).await;
    (status, String::from_utf8_lossy(&body).into_owned())
}

fn admin(path: &str, body: Value) -> test::TestRequest {
    test::TestRequest::post().uri(path).insert_header(("X-Admin-Token", ADMIN_TOKEN)).set_json(body)
}

#[test]
fn random_requests_at_every_route_never_get_a_5xx_or_panic() {
    let directory = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}?mode=rwc", directory.path().join("exchange.db").display());
    let config_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/default.toml");
    let config = Config::load(&config_path).expect("default configuration");
    // One actix system for the whole test: its actors run while a case is being sent.
    let system = actix::System::new();
    // The exchange lives as long as the test: its supervisor stops when its address is dropped.
    let (_exchange, service, credentials, order_id) = system.block_on(async {
        let exchange = ExchangeSystem::start(&config, &url).await.expect("system starts");
        let app = HttpApp::new(&config, &exchange, ADMIN_TOKEN.into(), MetricsEndpoint::disabled())
            .await
            .expect("app");
        let service =
            test::init_service(App::new().configure(move |service| app.configure(service))).await;
        // Two funded accounts, so random orders can rest, trade and be canceled.
        let mut credentials = Vec::new();
        for _ in 0..2 {
            let opened = admin("/admin/accounts", json!({})).to_request();
            let (status, opened) = read(test::call_service(&service, opened).await).await;
            assert_eq!(status, 200, "{opened}");
            let opened: Value = serde_json::from_str(&opened).expect("JSON");
            for (asset, amount) in [("USDT", "100000000"), ("BTC", "1000"), ("ETH", "10000")] {
                let deposit =
                    json!({"accountId": opened["accountId"], "asset": asset, "amount": amount});
                let deposit = admin("/admin/deposits", deposit).to_request();
                let (status, body) = read(test::call_service(&service, deposit).await).await;
                assert_eq!(status, 200, "{body}");
            }
            let key = |field: &str| opened[field].as_str().expect("credential").to_owned();
            credentials.push((key("apiKey"), key("secretKey")));
        }
        // A resting order of the signing account, which the templates' order ids name.
        let (api_key, secret) = credentials.remove(0);
        let query = format!("{ORDER}&timestamp={}", now_ms());
        let signature = exchange::api::sign(secret.as_bytes(), query.as_bytes());
        let place = test::TestRequest::post()
            .uri(&format!("/api/v3/order?{query}&signature={signature}"))
            .insert_header(("X-MBX-APIKEY", api_key.clone()))
            .to_request();
        let (status, order) = read(test::call_service(&service, place).await).await;
        assert_eq!(status, 200, "{order}");
        let order: Value = serde_json::from_str(&order).expect("JSON");
        let order_id = order["orderId"].as_u64().expect("orderId");
        (exchange, service, (api_key, secret), order_id)
    });

    let mut runner = TestRunner::new(ProptestConfig {
        cases: CASES,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("regressions"))),
        source_file: Some(file!()),
        ..ProptestConfig::default()
    });
    let outcome = runner.run(&case(), |case| {
        let Some(request) = request(&case, &credentials, order_id) else {
            return Ok(());
        };
        let (status, body) = system.block_on(async {
            read(test::call_service(&service, request.to_request()).await).await
        });
        prop_assert!(status < 500, "{status} {body}");
        Ok(())
    });
    if let Err(failure) = outcome {
        panic!("{failure}");
    }
}
