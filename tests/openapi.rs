//! The API's reference against the application that serves it, in-process ([`HttpApp`] over a
//! real [`ExchangeSystem`] on a temporary SQLite database, driven by `actix_web::test`):
//! - every route mounted is documented with its method, and nothing else is: the mounted
//!   routes are read from the mounting code itself (every `.route("PATH", web::METHOD()` in
//!   `src/`), and each of them is checked to be answered by the app (not actix's 404);
//! - `GET /openapi.json` is a valid OpenAPI 3 document (version, unique operation ids, path
//!   parameters declared, every `$ref` and security scheme resolves);
//! - `GET /docs` is an HTML page naming every path;
//! - every route's real answers (successes and refusals, with trades in the book's history)
//!   have exactly the fields, and the JSON types, of the schema documented for their status.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::Method;
use actix_web::{App, test};
use exchange::api::metrics::MetricsEndpoint;
use exchange::app::HttpApp;
use exchange::config::Config;
use exchange::index::{IndexService, IndexSettings};
use exchange::system::ExchangeSystem;
use serde_json::{Value, json};

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// (method in lower case, path) pairs.
type Routes = BTreeSet<(String, String)>;

/// A fresh exchange on a SQLite file in `directory`, and its application.
async fn start(directory: &tempfile::TempDir) -> (ExchangeSystem, HttpApp) {
    let url = format!("sqlite://{}?mode=rwc", directory.path().join("exchange.db").display());
    let config_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/default.toml");
    let config = Config::load(&config_path).expect("default configuration");
    let exchange = ExchangeSystem::start(&config, &url).await.expect("system starts");
    let mut app = HttpApp::new(&config, &exchange, "token".into(), MetricsEndpoint::disabled())
        .await
        .expect("app");
    // The index oracle's internal routes are mounted by `serve` too.
    let settings = IndexSettings::resolve(&config, |_| None).expect("index settings");
    let index = IndexService::start_on(settings, &exchange).expect("the index oracle starts");
    app.set_index(index);
    (exchange, app)
}

/// Status, content type and body of `request`'s answer.
async fn call<S, R, B>(service: &S, request: R) -> (u16, String, String)
where
    S: Service<R, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let response = test::call_service(service, request).await;
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|value| value.to_str().expect("ASCII").to_owned())
        .unwrap_or_default();
    let body = String::from_utf8(test::read_body(response).await.to_vec()).expect("UTF-8");
    (status, content_type, body)
}

fn get(uri: &str) -> test::TestRequest {
    test::TestRequest::get().uri(uri)
}

/// Every `.route("PATH", web::METHOD()` in the Rust files under `directory`, less unit tests
/// (files named `tests.rs`, and inline `#[cfg(test)] mod tests { ... }` at a file's end).
fn routes_in_source(directory: &Path) -> Routes {
    let mut routes = Routes::new();
    let mut pending: Vec<PathBuf> = vec![directory.to_path_buf()];
    while let Some(path) = pending.pop() {
        if path.is_dir() {
            pending.extend(
                std::fs::read_dir(&path).expect("dir").map(|entry| entry.expect("entry").path()),
            );
        } else if path.extension().is_some_and(|extension| extension == "rs")
            // Not the operators' API: the chaos runner's fault route exists only in builds
            // with the `fault-injection` feature and answers 403 in the production profile.
            && path.file_name().is_some_and(|name| name != "tests.rs" && name != "admin_faults.rs")
        {
            let source = std::fs::read_to_string(&path).expect("source");
            let code = source.split("#[cfg(test)]\nmod tests {").next().unwrap_or_default();
            routes.extend(route_calls(code, &path));
        }
    }
    routes
}

/// The routes one file mounts; panics at a `.route(` it cannot read, so none goes unseen.
fn route_calls(source: &str, file: &Path) -> Vec<(String, String)> {
    let compact: String = source.split_whitespace().collect();
    compact
        .split(".route(")
        .skip(1)
        .map(|call| {
            let unreadable = || -> ! {
                panic!(
                    "{}: mount routes as .route(\"PATH\", web::METHOD()...): {call:.60}",
                    file.display()
                )
            };
            let rest = call.strip_prefix('"').unwrap_or_else(|| unreadable());
            let (path, rest) = rest.split_once('"').unwrap_or_else(|| unreadable());
            let rest = rest.strip_prefix(",web::").unwrap_or_else(|| unreadable());
            let (method, _) = rest.split_once("()").unwrap_or_else(|| unreadable());
            if !METHODS.contains(&method) {
                unreadable();
            }
            (method.to_owned(), path.to_owned())
        })
        .collect()
}

/// Every (method, path) the document describes.
fn documented(document: &Value) -> Routes {
    let paths = document["paths"].as_object().expect("paths");
    let mut routes = Routes::new();
    for (path, item) in paths {
        for method in METHODS.iter().filter(|method| item.get(**method).is_some()) {
            routes.insert(((*method).to_owned(), path.clone()));
        }
    }
    routes
}

fn document(body: &str) -> Value {
    serde_json::from_str(body).expect("/openapi.json is JSON")
}

#[test]
fn every_mounted_route_is_documented_with_its_method() {
    let mounted = routes_in_source(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    assert!(mounted.len() > 20, "the scan found too few routes: {mounted:?}");
    let directory = tempfile::tempdir().expect("temp dir");
    actix::System::new().block_on(async {
        // The exchange lives as long as the test: its supervisor stops when dropped.
        let (_exchange, app) = start(&directory).await;
        let service = test::init_service(App::new().configure(move |c| app.configure(c))).await;
        // The scan sees what the app serves: actix answers an unmounted route 404, empty.
        for (method, path) in &mounted {
            // Any path parameter (`{id}`, `{symbol}`) as a plain segment.
            let segments: Vec<&str> = path
                .split('/')
                .map(|segment| if segment.starts_with('{') { "1" } else { segment })
                .collect();
            let uri = segments.join("/");
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
            let request = test::TestRequest::default().method(method.clone()).uri(&uri);
            let (status, _, body) = call(&service, request.to_request()).await;
            assert_ne!((status, body.as_str()), (404, ""), "{method} {uri} is not mounted");
        }
        let (status, _, body) = call(&service, get("/openapi.json").to_request()).await;
        assert_eq!(status, 200, "{body}");
        let documented = documented(&document(&body));
        let undocumented: Vec<_> = mounted.difference(&documented).collect();
        assert!(undocumented.is_empty(), "mounted but not in /openapi.json: {undocumented:?}");
        let unmounted: Vec<_> = documented.difference(&mounted).collect();
        assert!(unmounted.is_empty(), "in /openapi.json but not mounted: {unmounted:?}");
    });
}

/// Every `$ref` string anywhere in `value`.
fn references<'a>(value: &'a Value, found: &mut Vec<&'a str>) {
    match value {
        Value::Object(object) => {
            if let Some(Value::String(reference)) = object.get("$ref") {
                found.push(reference);
            }
            object.values().for_each(|value| references(value, found));
        }
        Value::Array(values) => values.iter().for_each(|value| references(value, found)),
        _ => {}
    }
}

#[test]
fn the_document_is_valid_openapi_3() {
    let directory = tempfile::tempdir().expect("temp dir");
    actix::System::new().block_on(async {
        let (_exchange, app) = start(&directory).await;
        let service = test::init_service(App::new().configure(move |c| app.configure(c))).await;
        let (status, content_type, body) = call(&service, get("/openapi.json").to_request()).await;
        assert_eq!(status, 200, "{body}");
        assert!(content_type.starts_with("application/json"), "{content_type}");
        let document = document(&body);
        let version = document["openapi"].as_str().expect("openapi");
        assert!(version.starts_with("3."), "{version}");
        assert!(document["info"]["title"].is_string() && document["info"]["version"].is_string());

        let mut found = Vec::new();
        references(&document, &mut found);
        assert!(found.len() > 20, "{found:?}");
        for reference in found {
            let pointer = reference.strip_prefix('#').unwrap_or_else(|| panic!("{reference}"));
            assert!(document.pointer(pointer).is_some(), "{reference} does not resolve");
        }

        let schemes = document["components"]["securitySchemes"].as_object().expect("schemes");
        let mut operation_ids = BTreeSet::new();
        for (method, path) in documented(&document) {
            let operation = &document["paths"][&path][&method];
            let id = operation["operationId"].as_str().expect("operationId");
            assert!(operation_ids.insert(id.to_owned()), "operationId {id} is not unique");
            let responses = operation["responses"].as_object().expect("responses");
            // A WebSocket route's success is the upgrade (101 Switching Protocols).
            let success = responses.contains_key("200") || responses.contains_key("101");
            assert!(success, "{method} {path}: no 200 (or 101) response");
            for requirement in operation["security"].as_array().into_iter().flatten() {
                for scheme in requirement.as_object().expect("requirement").keys() {
                    assert!(schemes.contains_key(scheme), "{method} {path}: unknown {scheme}");
                }
            }
            let parameters = operation["parameters"].as_array().cloned().unwrap_or_default();
            for name in path.split('{').skip(1).filter_map(|rest| rest.split_once('}')) {
                let declared = parameters
                    .iter()
                    .any(|parameter| parameter["name"] == name.0 && parameter["in"] == "path");
                assert!(declared, "{method} {path}: path parameter {} not declared", name.0);
            }
            if path.starts_with("/api/v3/") && operation["security"].is_array() {
                // Signed: the key and the signature, and the 401 of refused credentials.
                assert!(responses.contains_key("401"), "{method} {path}: no 401");
            }
        }
    });
}

#[test]
fn the_docs_page_is_html_naming_every_path() {
    let directory = tempfile::tempdir().expect("temp dir");
    actix::System::new().block_on(async {
        let (_exchange, app) = start(&directory).await;
        let service = test::init_service(App::new().configure(move |c| app.configure(c))).await;
        let document = document(exchange::api::openapi::openapi_document());
        let (status, content_type, page) = call(&service, get("/docs").to_request()).await;
        assert_eq!(status, 200);
        assert!(content_type.starts_with("text/html"), "{content_type}");
        assert!(page.starts_with("<!DOCTYPE html>"), "{page:.200}");
        // Offline: nothing is loaded from elsewhere.
        assert!(!page.contains("<script") && !page.contains("https://"), "{page}");
        for (method, path) in documented(&document) {
            let anchor: String =
                path.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
            assert!(page.contains(&format!("id=\"{method}{anchor}\"")), "{method} {path}");
            assert!(page.contains(&format!("<code>{path}</code>")), "{path}");
        }
        assert!(page.contains("X-MBX-APIKEY") && page.contains("X-Admin-Token"));
    });
}

/// `schema` with its `$ref` followed.
fn resolve<'a>(document: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(reference) => {
            let pointer = reference.strip_prefix('#').expect("local $ref");
            resolve(document, document.pointer(pointer).expect("$ref resolves"))
        }
        None => schema,
    }
}

/// Whether `value` is what `schema` describes: the JSON types, and for objects exactly the
/// fields (every required one present, none the schema does not name). `Err` says where not.
fn conforms(document: &Value, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    let schema = resolve(document, schema);
    if let Some(alternatives) = schema["oneOf"].as_array() {
        let errors: Vec<String> = alternatives
            .iter()
            .filter_map(|alternative| conforms(document, alternative, value, at).err())
            .collect();
        return if errors.len() < alternatives.len() { Ok(()) } else { Err(errors.join("; ")) };
    }
    // allOf (serde's flatten): the parts' fields together make the object.
    let parts: Vec<&Value> = match schema["allOf"].as_array() {
        Some(parts) => parts.iter().map(|part| resolve(document, part)).collect(),
        None => vec![schema],
    };
    let kinds: Vec<&str> = match &schema["type"] {
        Value::String(kind) => vec![kind.as_str()],
        Value::Array(kinds) => kinds.iter().filter_map(Value::as_str).collect(),
        _ if parts.iter().any(|part| part["properties"].is_object()) => vec!["object"],
        _ => return Ok(()), // any value
    };
    let matches = |kind: &str| match kind {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        _ => false,
    };
    if !kinds.iter().any(|kind| matches(kind)) {
        return Err(format!("{at}: {value} is not {kinds:?}"));
    }
    if let Some(items) = value.as_array() {
        // A tuple (prefixItems, with no more items) or a list of one kind.
        let positions = schema["prefixItems"].as_array();
        if positions.is_some_and(|positions| positions.len() != items.len()) {
            return Err(format!("{at}: {} items, not {positions:?}", items.len()));
        }
        for (index, item) in items.iter().enumerate() {
            let item_schema = positions.map_or(&schema["items"], |positions| &positions[index]);
            conforms(document, item_schema, item, &format!("{at}[{index}]"))?;
        }
    }
    if let Some(object) = value.as_object() {
        for part in &parts {
            for required in part["required"].as_array().into_iter().flatten() {
                let name = required.as_str().expect("name");
                if !object.contains_key(name) {
                    return Err(format!("{at}: no field {name}"));
                }
            }
        }
        for (name, field) in object {
            let property = parts.iter().find_map(|part| part["properties"].get(name));
            let property =
                property.ok_or_else(|| format!("{at}: field {name} not in the schema"))?;
            conforms(document, property, field, &format!("{at}.{name}"))?;
        }
    }
    Ok(())
}

fn now_ms() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_millis()
}

/// Sends each request and checks its answer against the schema documented for its status.
async fn check_all<S, R, B>(
    service: &S,
    document: &Value,
    requests: impl IntoIterator<Item = (&str, &str, R)>,
) where
    S: Service<R, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    for (method, path, request) in requests {
        let (status, _, body) = call(service, request).await;
        let value: Value = serde_json::from_str(&body).expect("JSON");
        let response = &document["paths"][path][method]["responses"][status.to_string()];
        let schema = &response["content"]["application/json"]["schema"];
        assert!(schema.is_object(), "{method} {path}: {status} is not documented: {body}");
        let checked = conforms(document, schema, &value, &format!("{method} {path}"));
        assert_eq!(checked, Ok(()), "{body}");
    }
}

#[test]
fn answers_have_exactly_the_fields_their_schemas_document() {
    let directory = tempfile::tempdir().expect("temp dir");
    actix::System::new().block_on(async {
        let (_exchange, app) = start(&directory).await;
        let service = test::init_service(App::new().configure(move |c| app.configure(c))).await;
        let document = document(exchange::api::openapi::openapi_document());
        let admin = |path: &str, body: Value| {
            test::TestRequest::post()
                .uri(path)
                .insert_header(("X-Admin-Token", "token"))
                .set_json(body)
        };
        let (_, _, opened) = call(&service, admin("/admin/accounts", json!({})).to_request()).await;
        let opened: Value = serde_json::from_str(&opened).expect("JSON");
        for (asset, amount) in [("USDT", "100000"), ("BTC", "1")] {
            let deposit =
                json!({"accountId": opened["accountId"], "asset": asset, "amount": amount});
            let request = admin("/admin/deposits", deposit).to_request();
            let (status, _, body) = call(&service, request).await;
            assert_eq!(status, 200, "{body}");
        }
        let (key, secret) =
            (opened["apiKey"].as_str().unwrap(), opened["secretKey"].as_str().unwrap());
        let signed = |method: Method, path: &str, query: &str| {
            let query = format!("{query}&timestamp={}", now_ms());
            let signature = exchange::api::sign(secret.as_bytes(), query.as_bytes());
            test::TestRequest::default()
                .method(method)
                .uri(&format!("{path}?{query}&signature={signature}"))
                .insert_header(("X-MBX-APIKEY", key))
        };
        let order = "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01&price=40000";
        let sell = "symbol=BTCUSDT&side=SELL&type=LIMIT&timeInForce=GTC&quantity=0.01&price=40000";
        let post = |query: &str| signed(Method::POST, "/api/v3/order", query);
        let ack_id = "symbol=BTCUSDT&origClientOrderId=ack-1";
        let entries = json!([{"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT",
            "timeInForce": "GTC", "quantity": "0.01", "price": "30000"}, {"symbol": "X"}]);
        let batch = serde_urlencoded::to_string([("batchOrders", entries.to_string())]).unwrap();
        // The first RESULT order is 2049, the batch's 4097 (as the shard allocates ids today;
        // otherwise these answer -2011 and -2022, which are checked all the same).
        let (first, last) = (2049, 4097);
        let ids = serde_urlencoded::to_string([
            ("symbol", "BTCUSDT"),
            ("orderIds", &format!("[{first},99]")),
        ])
        .unwrap();
        let replace = |cancel: &str| {
            let query = format!("{order}&cancelReplaceMode=STOP_ON_FAILURE&{cancel}");
            signed(Method::POST, "/api/v3/order/cancelReplace", &query)
        };
        let withdrawal = json!({"accountId": opened["accountId"], "asset": "USDT", "amount": "1"});
        // Orders first: the last one trades with the first (a self-trade: STP NONE).
        let orders = [
            ("get", "/api/v3/ping", get("/api/v3/ping")),
            ("get", "/api/v3/time", get("/api/v3/time")),
            ("get", "/api/v3/exchangeInfo", get("/api/v3/exchangeInfo")),
            ("post", "/api/v3/order", post(order)),
            ("post", "/api/v3/order", post(&format!("{order}&newOrderRespType=RESULT"))),
            (
                "post",
                "/api/v3/order",
                post(&format!("{order}&newOrderRespType=ACK&newClientOrderId=ack-1")),
            ),
            ("get", "/api/v3/order", signed(Method::GET, "/api/v3/order", ack_id)),
            ("delete", "/api/v3/order", signed(Method::DELETE, "/api/v3/order", ack_id)),
            ("delete", "/api/v3/order", signed(Method::DELETE, "/api/v3/order", ack_id)),
            ("post", "/api/v3/batchOrders", signed(Method::POST, "/api/v3/batchOrders", &batch)),
            ("delete", "/api/v3/batchOrders", signed(Method::DELETE, "/api/v3/batchOrders", &ids)),
            ("post", "/api/v3/order/cancelReplace", replace("cancelOrderId=99")),
            ("post", "/api/v3/order/cancelReplace", replace(&format!("cancelOrderId={last}"))),
            (
                "delete",
                "/api/v3/openOrders",
                signed(Method::DELETE, "/api/v3/openOrders", "symbol=ETHUSDT"),
            ),
            (
                "post",
                "/api/v3/countdownCancelAll",
                signed(
                    Method::POST,
                    "/api/v3/countdownCancelAll",
                    "symbol=ETHUSDT&countdownTime=0",
                ),
            ),
            (
                "post",
                "/api/v3/countdownCancelAll",
                signed(Method::POST, "/api/v3/countdownCancelAll", "countdownTime=0"),
            ),
            ("post", "/admin/withdrawals", admin("/admin/withdrawals", withdrawal)),
            ("post", "/api/v3/order", post(sell)),
            ("get", "/api/v3/depth", get("/api/v3/depth?symbol=BTCUSDT")),
            (
                "get",
                "/api/v3/openOrders",
                signed(Method::GET, "/api/v3/openOrders", "symbol=BTCUSDT"),
            ),
        ];
        let orders = orders.map(|(method, path, request)| (method, path, request.to_request()));
        check_all(&service, &document, orders).await;
        // Market data follows the trade once the history has committed it.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while call(&service, get("/api/v3/trades?symbol=BTCUSDT").to_request()).await.2 == "[]" {
            assert!(std::time::Instant::now() < deadline, "the trade never reached market data");
            actix_web::rt::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let account_path = format!("/admin/accounts/{}", opened["accountId"]);
        let market_data = [
            ("get", "/api/v3/trades", get("/api/v3/trades?symbol=BTCUSDT")),
            ("get", "/api/v3/aggTrades", get("/api/v3/aggTrades?symbol=BTCUSDT")),
            ("get", "/api/v3/klines", get("/api/v3/klines?symbol=BTCUSDT&interval=1m")),
            ("get", "/api/v3/ticker/24hr", get("/api/v3/ticker/24hr?symbol=BTCUSDT")),
            ("get", "/api/v3/ticker/24hr", get("/api/v3/ticker/24hr")),
            ("get", "/api/v3/ticker/price", get("/api/v3/ticker/price")),
            (
                "get",
                "/api/v3/allOrders",
                signed(Method::GET, "/api/v3/allOrders", "symbol=BTCUSDT"),
            ),
            ("get", "/api/v3/myTrades", signed(Method::GET, "/api/v3/myTrades", "symbol=BTCUSDT")),
            ("get", "/api/v3/account", signed(Method::GET, "/api/v3/account", "")),
            (
                "get",
                "/admin/accounts/{id}",
                get(&account_path).insert_header(("X-Admin-Token", "token")),
            ),
        ];
        let market_data =
            market_data.map(|(method, path, request)| (method, path, request.to_request()));
        check_all(&service, &document, market_data).await;
    });
}

#[test]
fn the_schema_check_refuses_a_missing_extra_or_mistyped_field() {
    let document = document(exchange::api::openapi::openapi_document());
    let time = &document["paths"]["/api/v3/time"]["get"]["responses"]["200"]["content"]["application/json"]
        ["schema"];
    assert_eq!(conforms(&document, time, &json!({"serverTime": 1}), "time"), Ok(()));
    for wrong in [json!({}), json!({"serverTime": 1, "extra": 2}), json!({"serverTime": "1"})] {
        assert!(conforms(&document, time, &wrong, "time").is_err(), "{wrong}");
    }
}
