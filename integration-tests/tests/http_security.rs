//! Security of the real binary over HTTP: a signed request with one byte changed (query, body,
//! signature), a timestamp outside its recvWindow (expired, future), a missing, unknown or
//! malformed API key, another account's order id, a missing or wrong admin token. Each is
//! refused with Binance's status, code and message; each credential refusal moves
//! `exchange_auth_failures_total{reason}` at `GET /metrics` by exactly one; and nothing changed:
//! balances, open and past orders, the admin audit trail, the next account id.
//!
//! Every refusal is paired with the same request untampered being accepted, so a server that
//! refused everything would fail these tests.

use std::collections::BTreeMap;

use exchange::store::Store;
use integration_tests::http::{
    ADMIN_TOKEN, ExchangeProcess, HttpClient, Trader, counts_moved, now_ms, sqlite_url,
};
use reqwest::Method;
use serde_json::{Value, json};

const BID: &str = "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01&price=1000";
const FORM: &str = "application/x-www-form-urlencoded";

struct Exchange {
    _directory: tempfile::TempDir,
    url: String,
    _server: ExchangeProcess,
    client: HttpClient,
}

fn fresh_exchange() -> Exchange {
    let directory = tempfile::tempdir().expect("temp dir");
    let url = sqlite_url(&directory);
    let server = ExchangeProcess::start(&url);
    let client = HttpClient::new(&server);
    Exchange { _directory: directory, url, _server: server, client }
}

/// Rows of the admin audit trail, read from the server's database file.
fn audit_rows(url: &str) -> usize {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("rt");
    runtime.block_on(async {
        let store = Store::connect(url).await.expect("the server's database opens");
        store.recent_audit(100_000).await.expect("audit trail reads").len()
    })
}

/// What a refusal must leave as it was: each trader's account and orders, and the audit trail.
#[derive(Debug, PartialEq)]
struct Snapshot {
    accounts: Vec<Value>,
    open_orders: Vec<Value>,
    all_orders: Vec<Value>,
    audit_rows: usize,
}

fn snapshot(exchange: &Exchange, traders: &[&Trader]) -> Snapshot {
    let client = &exchange.client;
    let read = |trader: &Trader, path: &str, params: &str| {
        let (status, mut body) = client.signed(trader, Method::GET, path, params);
        assert_eq!(status, 200, "{path}: {body}");
        // The server's clock, not state.
        body.as_object_mut().map(|object| object.remove("updateTime"));
        body
    };
    Snapshot {
        accounts: traders.iter().map(|t| read(t, "/api/v3/account", "")).collect(),
        open_orders: traders.iter().map(|t| read(t, "/api/v3/openOrders", "")).collect(),
        all_orders: traders
            .iter()
            .map(|t| read(t, "/api/v3/allOrders", "symbol=BTCUSDT"))
            .collect(),
        audit_rows: audit_rows(&exchange.url),
    }
}

fn sign(trader: &Trader, payload: &str) -> String {
    exchange::api::sign(trader.secret.as_bytes(), payload.as_bytes())
}

/// `text` with the byte at `index` replaced by `byte` (which must differ).
fn with_byte(text: &str, index: usize, byte: u8) -> String {
    let mut bytes = text.as_bytes().to_vec();
    assert_ne!(bytes[index], byte, "the changed byte must differ");
    bytes[index] = byte;
    String::from_utf8(bytes).expect("ASCII")
}

fn expect_refused(answer: (u16, Value), status: u16, code: i64, msg: &str) {
    assert_eq!(answer, (status, json!({"code": code, "msg": msg})));
}

const BAD_SIGNATURE: (u16, i64, &str) = (401, -1022, "Signature for this request is not valid.");
const OUTSIDE_WINDOW: &str = "Timestamp for this request is outside of the recvWindow.";

fn counts(reasons: &[(&str, u64)]) -> BTreeMap<String, u64> {
    reasons.iter().map(|(reason, count)| ((*reason).to_owned(), *count)).collect()
}

#[test]
fn tampered_expired_and_unkeyed_requests_are_refused_counted_and_change_nothing() {
    let exchange = fresh_exchange();
    let client = &exchange.client;
    let alice = client.funded_trader("USDT", "1000");
    let bob = client.funded_trader("USDT", "1000");
    let before = snapshot(&exchange, &[&alice, &bob]);
    let failures_before = client.auth_failures();
    let key = [("X-MBX-APIKEY", alice.api_key.as_str())];
    let post_query = |query: &str, headers: &[(&str, &str)]| {
        client.raw(Method::POST, &format!("/api/v3/order?{query}"), headers, None)
    };
    let refuse = |answer, (status, code, msg): (u16, i64, &str)| {
        expect_refused(answer, status, code, msg);
    };

    // One byte changed in the query (price 1000 -> 2000) after signing.
    let query = format!("{BID}&timestamp={}", now_ms());
    let signature = sign(&alice, &query);
    let price_at = query.find("price=1").expect("price") + "price=".len();
    let changed = with_byte(&query, price_at, b'2');
    refuse(post_query(&format!("{changed}&signature={signature}"), &key), BAD_SIGNATURE);

    // One byte changed in a form body (quantity 0.01 -> 0.02), signature in the body.
    let body = format!("{BID}&timestamp={}", now_ms());
    let signature = sign(&alice, &body);
    let quantity_at = body.find("quantity=0.01").expect("quantity") + "quantity=0.0".len();
    let changed = format!("{}&signature={signature}", with_byte(&body, quantity_at, b'2'));
    let answer = client.raw(Method::POST, "/api/v3/order", &key, Some((FORM, changed.into())));
    refuse(answer, BAD_SIGNATURE);

    // One byte changed in the signature itself: another hex digit, then a non-hex one.
    let query = format!("{BID}&timestamp={}", now_ms());
    let signature = sign(&alice, &query);
    let flipped = if signature.as_bytes()[7] == b'0' { b'1' } else { b'0' };
    for byte in [flipped, b'g'] {
        let changed = with_byte(&signature, 7, byte);
        refuse(post_query(&format!("{query}&signature={changed}"), &key), BAD_SIGNATURE);
    }

    // Signed with bob's secret under alice's key.
    let query = format!("{BID}&timestamp={}", now_ms());
    let foreign = format!("{query}&signature={}", sign(&bob, &query));
    refuse(post_query(&foreign, &key), BAD_SIGNATURE);

    // Timestamps outside the window (BINANCE_COMPAT.md: more than 1000 ms ahead, or older than
    // recvWindow, default 5000, at most 60000).
    let signed = |params: String| format!("{params}&signature={}", sign(&alice, &params));
    let expired = signed(format!("{BID}&timestamp={}", now_ms() - 6_000));
    refuse(post_query(&expired, &key), (400, -1021, OUTSIDE_WINDOW));
    let expired_wide = signed(format!("{BID}&recvWindow=60000&timestamp={}", now_ms() - 61_000));
    refuse(post_query(&expired_wide, &key), (400, -1021, OUTSIDE_WINDOW));
    let future = signed(format!("{BID}&timestamp={}", now_ms() + 5_000));
    let ahead = "Timestamp for this request was 1000ms ahead of the server's time.";
    refuse(post_query(&future, &key), (400, -1021, ahead));
    let window_too_large = signed(format!("{BID}&recvWindow=60001&timestamp={}", now_ms()));
    refuse(post_query(&window_too_large, &key), (400, -1131, "recvWindow must be less than 60000"));

    // A missing, malformed or unknown API key, on a well-signed request.
    let valid = signed(format!("{BID}&timestamp={}", now_ms()));
    let key_format = (401, -2014, "API-key format invalid.");
    refuse(post_query(&valid, &[]), key_format);
    refuse(post_query(&valid, &[("X-MBX-APIKEY", "not a key!")]), key_format);
    refuse(post_query(&valid, &[("X-MBX-APIKEY", "")]), key_format);
    let unknown = format!("{}x", alice.api_key);
    let invalid_key = (401, -2015, "Invalid API-key, IP, or permissions for action.");
    refuse(post_query(&valid, &[("X-MBX-APIKEY", unknown.as_str())]), invalid_key);
    // An API key does not open the admin routes.
    let (status, _) = client.raw(Method::GET, "/admin/accounts/1", &key, None);
    assert_eq!(status, 401);

    let expected = counts(&[
        ("bad_signature", 5),
        ("timestamp_expired", 2),
        ("timestamp_ahead", 1),
        ("recv_window_too_large", 1),
        ("malformed_api_key", 2),
        ("missing_api_key", 1),
        ("unknown_api_key", 1),
        ("admin_token_missing", 1),
    ]);
    assert_eq!(counts_moved(&failures_before, &client.auth_failures()), expected);
    assert_eq!(snapshot(&exchange, &[&alice, &bob]), before);

    // The control: the same request untampered and on time is accepted.
    let (status, order) = post_query(&signed(format!("{BID}&timestamp={}", now_ms())), &key);
    assert_eq!(status, 200, "{order}");
    client.expect_balance(&alice, "USDT", ("990.00000000", "10.00000000"));
    assert_eq!(counts_moved(&failures_before, &client.auth_failures()), expected);
}

#[test]
fn another_accounts_order_is_neither_seen_nor_canceled() {
    let exchange = fresh_exchange();
    let client = &exchange.client;
    let alice = client.funded_trader("USDT", "1000");
    let mallory = client.funded_trader("USDT", "1000");
    let params = format!("{BID}&newClientOrderId=alice-1");
    let (status, order) = client.signed(&alice, Method::POST, "/api/v3/order", &params);
    assert_eq!(status, 200, "{order}");
    let order_id = order["orderId"].as_u64().expect("orderId");
    client.expect_balance(&alice, "USDT", ("990.00000000", "10.00000000"));
    let before = snapshot(&exchange, &[&alice, &mallory]);
    let failures_before = client.auth_failures();

    let no_such_order = (400, -2013, "Order does not exist.");
    let unknown_order = (400, -2011, "Unknown order sent.");
    for lookup in [format!("orderId={order_id}"), "origClientOrderId=alice-1".to_owned()] {
        let params = format!("symbol=BTCUSDT&{lookup}");
        let query = client.signed(&mallory, Method::GET, "/api/v3/order", &params);
        expect_refused(query, no_such_order.0, no_such_order.1, no_such_order.2);
        let cancel = client.signed(&mallory, Method::DELETE, "/api/v3/order", &params);
        expect_refused(cancel, unknown_order.0, unknown_order.1, unknown_order.2);
    }
    // Cancel-all, bulk cancel and cancel-replace of mallory's own reach only mallory's orders.
    let (status, canceled) =
        client.signed(&mallory, Method::DELETE, "/api/v3/openOrders", "symbol=BTCUSDT");
    assert_eq!((status, canceled), (200, json!([])));
    let bulk = format!("symbol=BTCUSDT&orderIds=[{order_id}]");
    let (status, answers) = client.signed(&mallory, Method::DELETE, "/api/v3/batchOrders", &bulk);
    assert_eq!(status, 200, "{answers}");
    assert_eq!(answers, json!([{"code": -2011, "msg": "Unknown order sent."}]));
    let replace = format!(
        "{BID}&cancelReplaceMode=STOP_ON_FAILURE&cancelOrderId={order_id}&newClientOrderId=m-1"
    );
    let (status, answer) =
        client.signed(&mallory, Method::POST, "/api/v3/order/cancelReplace", &replace);
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["code"], -2022, "{answer}");

    // Refused as unknown, not as a credential failure: the key and signature were good, and
    // a foreign id is answered exactly like one that does not exist.
    assert_eq!(counts_moved(&failures_before, &client.auth_failures()), BTreeMap::new());
    assert_eq!(snapshot(&exchange, &[&alice, &mallory]), before);
    let (status, order) = client.signed(
        &alice,
        Method::GET,
        "/api/v3/order",
        &format!("symbol=BTCUSDT&orderId={order_id}"),
    );
    assert_eq!((status, order["status"].clone()), (200, json!("NEW")), "{order}");
}

#[test]
fn admin_routes_refuse_a_missing_or_wrong_token_and_audit_nothing() {
    let exchange = fresh_exchange();
    let client = &exchange.client;
    let alice = client.funded_trader("USDT", "1000");
    let before = snapshot(&exchange, &[&alice]);
    let failures_before = client.auth_failures();

    let one_byte_off = with_byte(ADMIN_TOKEN, 0, b'T');
    let longer = format!("{ADMIN_TOKEN}x");
    let shorter = &ADMIN_TOKEN[..ADMIN_TOKEN.len() - 1];
    let wrong_tokens =
        [one_byte_off.as_str(), longer.as_str(), shorter, "", alice.api_key.as_str()];
    let transfer = json!({"accountId": alice.account_id, "asset": "USDT", "amount": "1"});
    let requests: [(Method, &str, Option<Value>); 4] = [
        (Method::POST, "/admin/accounts", Some(json!({}))),
        (Method::POST, "/admin/deposits", Some(transfer.clone())),
        (Method::POST, "/admin/withdrawals", Some(transfer)),
        (Method::GET, "/admin/accounts/1", None),
    ];
    let refused = (401, -2015, "Invalid admin token.");
    for (method, path, body) in &requests {
        let body = body.as_ref().map(|body| ("application/json", body.to_string().into_bytes()));
        let answer = client.raw(method.clone(), path, &[], body.clone());
        expect_refused(answer, refused.0, refused.1, refused.2);
        for token in wrong_tokens {
            let headers = [("X-Admin-Token", token)];
            let answer = client.raw(method.clone(), path, &headers, body.clone());
            expect_refused(answer, refused.0, refused.1, refused.2);
        }
    }

    let expected = counts(&[("admin_token_missing", 4), ("admin_token_wrong", 20)]);
    assert_eq!(counts_moved(&failures_before, &client.auth_failures()), expected);
    assert_eq!(snapshot(&exchange, &[&alice]), before);
    // No account id was consumed by the refused opens: the next one follows alice's.
    let next = client.open_trader();
    assert_eq!(next.account_id, alice.account_id + 1);
}
