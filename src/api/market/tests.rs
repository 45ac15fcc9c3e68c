use std::sync::Arc;

use actix::Arbiter;
use actix_web::http::StatusCode;
use actix_web::{App, test};
use exchange_actors::book::actor::{BookPorts, BookSettings, SubmitCommands, SymbolBook};
use exchange_actors::model::{AccountId, BookCommand, OrderId, PlaceOrder, Side};
use exchange_actors::ports::SystemClock;
use exchange_actors::supervisor::BookDirectory;
use serde_json::{Value, json};

use super::*;
use crate::api::configure_public;
use crate::api::errors::code;
use crate::api::testing::{NOW_MS, default_config, state, state_with_books};
use crate::bus::InProcessBus;
use crate::store::Store;

async fn get(state: ApiState, uri: &str) -> (StatusCode, Value) {
    let state = web::Data::new(state);
    let app =
        test::init_service(App::new().configure(|config| configure_public(config, state))).await;
    let response = test::call_service(&app, test::TestRequest::get().uri(uri).to_request()).await;
    let status = response.status();
    let body = test::read_body(response).await;
    (status, serde_json::from_slice(&body).expect("JSON body"))
}

#[actix::test]
async fn ping_and_time() {
    assert_eq!(get(state(), "/api/v3/ping").await, (StatusCode::OK, json!({})));
    assert_eq!(get(state(), "/api/v3/time").await, (StatusCode::OK, json!({"serverTime": NOW_MS})));
}

#[actix::test]
async fn exchange_info_lists_every_symbol_with_its_filters() {
    let (status, body) = get(state(), "/api/v3/exchangeInfo").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["timezone"], "UTC");
    assert_eq!(body["serverTime"], NOW_MS);
    let symbols = body["symbols"].as_array().unwrap();
    let names: Vec<_> = symbols.iter().map(|symbol| symbol["symbol"].as_str().unwrap()).collect();
    assert_eq!(names, ["BTCUSDT", "ETHUSDT"]);
    let btc = &symbols[0];
    assert_eq!(btc["status"], "TRADING");
    assert_eq!(btc["baseAsset"], "BTC");
    assert_eq!(btc["quoteAsset"], "USDT");
    assert_eq!(btc["baseAssetPrecision"], 8);
    assert_eq!(btc["quotePrecision"], 8);
    assert_eq!(btc["isMarginTradingAllowed"], false);
    assert_eq!(btc["permissions"], json!(["SPOT"]));
    assert_eq!(btc["orderTypes"], json!(["LIMIT", "LIMIT_MAKER", "MARKET"]));
    for futures_only in ["contractType", "deliveryDate", "underlying"] {
        assert!(btc.get(futures_only).is_none(), "{futures_only}");
    }
    let filters = btc["filters"].as_array().unwrap();
    let filter = |name: &str| filters.iter().find(|f| f["filterType"] == name).cloned();
    assert_eq!(
        filter("PRICE_FILTER"),
        Some(json!({"filterType": "PRICE_FILTER", "minPrice": "0.01000000",
                    "maxPrice": "1000000.00000000", "tickSize": "0.01000000"}))
    );
    let lot = json!({"minQty": "0.00001000", "maxQty": "9000.00000000", "stepSize": "0.00001000"});
    for name in ["LOT_SIZE", "MARKET_LOT_SIZE"] {
        let found = filter(name).unwrap();
        for field in ["minQty", "maxQty", "stepSize"] {
            assert_eq!(found[field], lot[field], "{name} {field}");
        }
    }
    let notional = filter("NOTIONAL").unwrap();
    assert_eq!(notional["minNotional"], "5.00000000");
    assert_eq!(notional["maxNotional"], "9000000.00000000");
    let band = filter("PERCENT_PRICE_BY_SIDE").unwrap();
    assert_eq!(band["bidMultiplierUp"], "1.0500");
    assert_eq!(band["askMultiplierDown"], "0.9500");
    assert!(filter("MAX_NUM_ORDERS").is_some());
}

#[actix::test]
async fn exchange_info_for_named_symbols() {
    let (_, body) = get(state(), "/api/v3/exchangeInfo?symbol=ETHUSDT").await;
    assert_eq!(body["symbols"].as_array().map(Vec::len), Some(1));
    assert_eq!(body["symbols"][0]["symbol"], "ETHUSDT");
    let (_, body) = get(state(), "/api/v3/exchangeInfo?symbols=%5B%22BTCUSDT%22%5D").await;
    assert_eq!(body["symbols"][0]["symbol"], "BTCUSDT");
    let (status, body) = get(state(), "/api/v3/exchangeInfo?symbol=NOPE").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body, json!({"code": code::BAD_SYMBOL, "msg": "Invalid symbol."}));
    let (_, body) = get(state(), "/api/v3/exchangeInfo?symbols=BTCUSDT").await;
    assert_eq!(body["code"], code::INVALID_PARAMETER);
}

fn limit_order(order_id: u64, side: Side, price: i64, qty: u64) -> BookCommand {
    BookCommand::Place(PlaceOrder::limit_gtc(
        OrderId(order_id),
        AccountId(order_id),
        side,
        Price(price),
        Qty(qty),
    ))
}

/// A real BTCUSDT book on a SQLite journal, holding two bid levels and one ask level.
async fn directory_with_book(directory: &tempfile::TempDir) -> Arc<BookDirectory> {
    let url = format!("sqlite://{}?mode=rwc", directory.path().join("api.db").display());
    let store = Store::connect(&url).await.expect("store");
    store.migrate().await.expect("migrations");
    let ports = BookPorts {
        journal: Arc::new(store),
        bus: InProcessBus::new(),
        clock: Arc::new(SystemClock),
    };
    let markets = default_config().markets().expect("markets");
    let limits = markets.iter().find(|market| market.spec.symbol == "BTCUSDT").unwrap().limits;
    let started = SymbolBook::start(
        "BTCUSDT",
        limits,
        BookSettings::default(),
        ports,
        &Arbiter::new().handle(),
    )
    .await
    .expect("book starts");
    let commands = vec![
        limit_order(1, Side::Buy, 10_001, 50_000),
        limit_order(2, Side::Buy, 10_001, 5_000),
        limit_order(3, Side::Buy, 9_990, 100_000),
        limit_order(4, Side::Sell, 10_100, 7_000),
    ];
    let outcomes = started.address.send(SubmitCommands(commands)).await.unwrap().unwrap();
    assert!(outcomes.iter().all(|outcome| outcome.result.is_ok()), "{outcomes:?}");
    let books = BookDirectory::new();
    books.set("BTCUSDT", started.address);
    books
}

#[actix::test]
async fn depth_renders_the_book_with_the_spec_precision() {
    let directory = tempfile::tempdir().unwrap();
    let books = directory_with_book(&directory).await;
    let (status, body) = get(state_with_books(books.clone()), "/api/v3/depth?symbol=BTCUSDT").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.get("code").is_none());
    assert_eq!(body["bids"], json!([["100.01", "0.55000"], ["99.90", "1.00000"]]));
    assert_eq!(body["asks"], json!([["101.00", "0.07000"]]));
    let last_update_id = body["lastUpdateId"].as_u64().unwrap();
    assert!(last_update_id >= 4, "one event per accepted order at least: {last_update_id}");

    let (_, body) =
        get(state_with_books(books.clone()), "/api/v3/depth?symbol=BTCUSDT&limit=1").await;
    assert_eq!(body["bids"], json!([["100.01", "0.55000"]]));
    let (status, _) =
        get(state_with_books(books), "/api/v3/depth?symbol=BTCUSDT&limit=99999").await;
    assert_eq!(status, StatusCode::OK, "a limit above the maximum is truncated");
}

#[actix::test]
async fn depth_refusals() {
    let cases = [
        ("/api/v3/depth", code::MANDATORY_PARAM_EMPTY_OR_MALFORMED),
        ("/api/v3/depth?symbol=NOPE", code::BAD_SYMBOL),
        ("/api/v3/depth?symbol=btcusdt", code::ILLEGAL_CHARS),
        ("/api/v3/depth?symbol=BTCUSDT&limit=abc", code::ILLEGAL_CHARS),
        ("/api/v3/depth?symbol=BTCUSDT&limit=-5", code::ILLEGAL_CHARS),
        ("/api/v3/depth?symbol=BTCUSDT&limit=0", code::INVALID_PARAMETER),
        ("/api/v3/depth?symbol=BTCUSDT&limit=", code::PARAM_EMPTY),
        ("/api/v3/depth?symbol=BTCUSDT&symbol=ETHUSDT", code::TOO_MANY_PARAMETERS),
    ];
    for (uri, expected) in cases {
        let (status, body) = get(state(), uri).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}");
        assert_eq!(body["code"], expected, "{uri}");
    }
    // A configured symbol whose book is not running: retry later, not a client error.
    let (status, body) = get(state(), "/api/v3/depth?symbol=ETHUSDT").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["code"], code::DISCONNECTED);
}
