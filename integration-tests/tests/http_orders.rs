//! The real binary over HTTP: order errors (cancel -2011 vs query -2013, another account's
//! order, duplicate client ids), `allOrders`, `order/cancelReplace` and the bulk extensions
//! `POST`/`DELETE /api/v3/batchOrders`, each with its refusals, and that a refusal changed
//! nothing.

use integration_tests::http::{ExchangeProcess, HttpClient, SignedBody, Trader, sqlite_url};
use reqwest::Method;
use serde_json::{Value, json};

fn limit_buy(price: &str, qty: &str) -> String {
    format!("symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity={qty}&price={price}")
}

fn place(client: &HttpClient, trader: &Trader, params: &str) -> Value {
    let (status, order) = client.signed(trader, Method::POST, "/api/v3/order", params);
    assert_eq!(status, 200, "{order}");
    order
}

fn order_id(order: &Value) -> u64 {
    order["orderId"].as_u64().unwrap_or_else(|| panic!("orderId in {order}"))
}

fn expect_error(answer: (u16, Value), status: u16, code: i64, msg: &str) {
    assert_eq!(answer.0, status, "{}", answer.1);
    assert_eq!(answer.1, json!({"code": code, "msg": msg}));
}

fn order_status(client: &HttpClient, trader: &Trader, order_id: u64) -> Value {
    let params = format!("symbol=BTCUSDT&orderId={order_id}");
    let (status, order) = client.signed(trader, Method::GET, "/api/v3/order", &params);
    assert_eq!(status, 200, "{order}");
    order["status"].clone()
}

/// The order ids of a list answer that must be a 200.
fn listed_ids((status, orders): (u16, Value)) -> Vec<u64> {
    assert_eq!(status, 200, "{orders}");
    orders.as_array().expect("a list").iter().map(order_id).collect()
}

fn all_orders(client: &HttpClient, trader: &Trader, params: &str) -> Vec<u64> {
    listed_ids(client.signed(trader, Method::GET, "/api/v3/allOrders", params))
}

/// A fresh exchange on its own SQLite file (kept while the directory lives).
fn fresh_exchange() -> (tempfile::TempDir, ExchangeProcess, HttpClient) {
    let directory = tempfile::tempdir().expect("temp dir");
    let server = ExchangeProcess::start(&sqlite_url(&directory));
    let client = HttpClient::new(&server);
    (directory, server, client)
}

#[test]
fn unknown_foreign_and_ended_orders_get_binances_codes_and_change_nothing() {
    let (_directory, _server, client) = fresh_exchange();
    let alice = client.funded_trader("USDT", "1000");
    let mallory = client.funded_trader("USDT", "1000");
    let resting = order_id(&place(&client, &alice, &limit_buy("10000", "0.01")));
    client.expect_balance(&alice, "USDT", ("900.00000000", "100.00000000"));

    let unknown = "symbol=BTCUSDT&orderId=999999999";
    let query = client.signed(&alice, Method::GET, "/api/v3/order", unknown);
    expect_error(query, 400, -2013, "Order does not exist.");
    let cancel = client.signed(&alice, Method::DELETE, "/api/v3/order", unknown);
    expect_error(cancel, 400, -2011, "Unknown order sent.");
    let by_client = "symbol=BTCUSDT&origClientOrderId=never-sent";
    let cancel = client.signed(&alice, Method::DELETE, "/api/v3/order", by_client);
    expect_error(cancel, 400, -2011, "Unknown order sent.");

    // Another account's order id: refused exactly like an unknown one, and left alone.
    let foreign = format!("symbol=BTCUSDT&orderId={resting}");
    let query = client.signed(&mallory, Method::GET, "/api/v3/order", &foreign);
    expect_error(query, 400, -2013, "Order does not exist.");
    let cancel = client.signed(&mallory, Method::DELETE, "/api/v3/order", &foreign);
    expect_error(cancel, 400, -2011, "Unknown order sent.");
    // The right id under another symbol is not that order either.
    let other_symbol = format!("symbol=ETHUSDT&orderId={resting}");
    let query = client.signed(&alice, Method::GET, "/api/v3/order", &other_symbol);
    expect_error(query, 400, -2013, "Order does not exist.");
    let cancel = client.signed(&alice, Method::DELETE, "/api/v3/order", &other_symbol);
    expect_error(cancel, 400, -2011, "Unknown order sent.");
    assert_eq!(order_status(&client, &alice, resting), "NEW");
    client.expect_balance(&alice, "USDT", ("900.00000000", "100.00000000"));

    // The cancel's own id (Binance's newClientOrderId of DELETE order) is its clientOrderId;
    // origClientOrderId is the order's.
    let with_cancel_id = format!("{foreign}&newClientOrderId=cancel-7");
    let (status, canceled) =
        client.signed(&alice, Method::DELETE, "/api/v3/order", &with_cancel_id);
    assert_eq!(status, 200, "{canceled}");
    assert_eq!(canceled["status"], "CANCELED");
    assert_eq!(canceled["clientOrderId"], "cancel-7");
    assert!(canceled["origClientOrderId"].as_str().is_some_and(|id| id.starts_with("auto:")));
    assert!(canceled["transactTime"].is_u64(), "{canceled}");
    // Already canceled: a cancel is -2011, a query still finds it.
    let again = client.signed(&alice, Method::DELETE, "/api/v3/order", &foreign);
    expect_error(again, 400, -2011, "Unknown order sent.");
    client.expect_balance(&alice, "USDT", ("1000.00000000", "0.00000000"));
    assert_eq!(order_status(&client, &alice, resting), "CANCELED");

    let with_id = format!("{}&newClientOrderId=dup-1", limit_buy("10000", "0.001"));
    place(&client, &alice, &with_id);
    let duplicate = client.signed(&alice, Method::POST, "/api/v3/order", &with_id);
    expect_error(duplicate, 400, -2010, "Duplicate order sent.");
    client.expect_balance(&alice, "USDT", ("990.00000000", "10.00000000"));
}

#[test]
fn all_orders_lists_open_pending_and_ended_orders_oldest_first() {
    let (_directory, _server, client) = fresh_exchange();
    let alice = client.funded_trader("USDT", "1000");
    let bob = client.funded_trader("BTC", "1");
    let ids: Vec<u64> = (0..5)
        .map(|n| order_id(&place(&client, &alice, &limit_buy(&format!("{}", 10_000 + n), "0.001"))))
        .collect();
    // Listed at once, before the shard's next batch is journaled.
    assert_eq!(all_orders(&client, &alice, "symbol=BTCUSDT"), ids);
    let cancel = format!("symbol=BTCUSDT&orderId={}", ids[1]);
    let (status, _) = client.signed(&alice, Method::DELETE, "/api/v3/order", &cancel);
    assert_eq!(status, 200);
    // Bob sells into the best bid (ids[4], 10004): filled.
    place(&client, &bob, "symbol=BTCUSDT&side=SELL&type=MARKET&quantity=0.001");
    client.expect_balance(&alice, "USDT", ("959.99100000", "30.00500000"));

    let (status, orders) =
        client.signed(&alice, Method::GET, "/api/v3/allOrders", "symbol=BTCUSDT");
    assert_eq!(status, 200, "{orders}");
    let statuses: Vec<&str> =
        orders.as_array().unwrap().iter().map(|order| order["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["NEW", "CANCELED", "NEW", "NEW", "FILLED"]);

    assert_eq!(all_orders(&client, &alice, "symbol=BTCUSDT&limit=2"), ids[3..]);
    let from = format!("symbol=BTCUSDT&orderId={}&limit=2", ids[1]);
    assert_eq!(all_orders(&client, &alice, &from), ids[1..3]);
    let next = format!("symbol=BTCUSDT&orderId={}&limit=2", ids[2] + 1);
    assert_eq!(all_orders(&client, &alice, &next), ids[3..]);
    assert!(all_orders(&client, &alice, "symbol=ETHUSDT").is_empty());
    assert_eq!(all_orders(&client, &bob, "symbol=BTCUSDT").len(), 1);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    let window = format!(
        "symbol=BTCUSDT&startTime={}&endTime={}",
        now.as_millis() - 60_000,
        now.as_millis()
    );
    assert_eq!(all_orders(&client, &alice, &window), ids);

    let refused =
        client.signed(&alice, Method::GET, "/api/v3/allOrders", "symbol=BTCUSDT&limit=1001");
    expect_error(refused, 400, -1130, "Data sent for parameter 'limit' is not valid.");
    let refused = client.signed(
        &alice,
        Method::GET,
        "/api/v3/allOrders",
        "symbol=BTCUSDT&startTime=0&endTime=86400001",
    );
    expect_error(refused, 400, -1127, "More than 24 hours between startTime and endTime.");
    let refused = client.signed(&alice, Method::GET, "/api/v3/allOrders", "");
    assert_eq!(refused.1["code"], -1102);
}

fn cancel_replace(client: &HttpClient, trader: &Trader, params: &str) -> (u16, Value) {
    let body =
        SignedBody::Form(format!("symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&{params}"));
    client.signed_body(trader, Method::POST, "/api/v3/order/cancelReplace", &body)
}

fn open_order_ids(client: &HttpClient, trader: &Trader) -> Vec<u64> {
    let params = "symbol=BTCUSDT";
    listed_ids(client.signed(trader, Method::GET, "/api/v3/openOrders", params))
}

/// Checks a failed cancelReplace's code, message and results; returns its `data`.
fn expect_cancel_replace_failure(
    (status, body): (u16, Value),
    expected_status: u16,
    results: [&str; 2],
) -> Value {
    assert_eq!(status, expected_status, "{body}");
    let (code, msg) = if expected_status == 409 {
        (-2021, "Order cancel-replace partially failed.")
    } else {
        (-2022, "Order cancel-replace failed.")
    };
    assert_eq!((&body["code"], &body["msg"]), (&json!(code), &json!(msg)), "{body}");
    let data = body["data"].clone();
    assert_eq!(
        [&data["cancelResult"], &data["newOrderResult"]],
        results.map(Value::from).each_ref()
    );
    data
}

#[test]
fn cancel_replace_in_both_modes() {
    let (_directory, _server, client) = fresh_exchange();
    let alice = client.funded_trader("USDT", "600");
    let first = order_id(&place(&client, &alice, &limit_buy("50000", "0.01")));

    // The new order needs the funds the canceled one held (550 of 600, 500 held).
    let params = format!(
        "cancelReplaceMode=STOP_ON_FAILURE&cancelOrderId={first}&cancelNewClientOrderId=replace-1&quantity=0.011&price=50000&newOrderRespType=RESULT"
    );
    let (status, replaced) = cancel_replace(&client, &alice, &params);
    assert_eq!(status, 200, "{replaced}");
    assert_eq!(replaced["cancelResult"], "SUCCESS");
    assert_eq!(replaced["newOrderResult"], "SUCCESS");
    assert_eq!(replaced["cancelResponse"]["orderId"], first);
    assert_eq!(replaced["cancelResponse"]["status"], "CANCELED");
    assert_eq!(replaced["cancelResponse"]["clientOrderId"], "replace-1");
    assert_eq!(replaced["newOrderResponse"]["status"], "NEW");
    assert_eq!(replaced["newOrderResponse"]["origQty"], "0.01100");
    let second = order_id(&replaced["newOrderResponse"]);
    client.expect_balance(&alice, "USDT", ("50.00000000", "550.00000000"));

    // STOP_ON_FAILURE: an unknown order to cancel stops everything.
    let params =
        "cancelReplaceMode=STOP_ON_FAILURE&cancelOrderId=123456789&quantity=0.0002&price=50000";
    let answer = cancel_replace(&client, &alice, params);
    let failed = expect_cancel_replace_failure(answer, 400, ["FAILURE", "NOT_ATTEMPTED"]);
    let unknown = json!({"code": -2011, "msg": "Unknown order sent."});
    assert_eq!((&failed["cancelResponse"], &failed["newOrderResponse"]), (&unknown, &Value::Null));
    assert_eq!(open_order_ids(&client, &alice), [second]);

    // ALLOW_FAILURE: the new order is placed although the cancel failed.
    let params =
        "cancelReplaceMode=ALLOW_FAILURE&cancelOrderId=123456789&quantity=0.0002&price=50000";
    let answer = cancel_replace(&client, &alice, params);
    let partial = expect_cancel_replace_failure(answer, 409, ["FAILURE", "SUCCESS"]);
    let third = order_id(&partial["newOrderResponse"]);
    assert_eq!(open_order_ids(&client, &alice), [second, third]);

    // The cancel succeeds, the new order is refused for funds: the old order is gone anyway.
    let params =
        format!("cancelReplaceMode=STOP_ON_FAILURE&cancelOrderId={third}&quantity=1&price=50000");
    let answer = cancel_replace(&client, &alice, &params);
    let partial = expect_cancel_replace_failure(answer, 409, ["SUCCESS", "FAILURE"]);
    assert_eq!(
        partial["newOrderResponse"],
        json!({"code": -2010, "msg": "Account has insufficient balance for requested action."})
    );
    assert_eq!(open_order_ids(&client, &alice), [second]);

    // A new order failing its filters is refused before anything is canceled.
    let params = format!(
        "cancelReplaceMode=STOP_ON_FAILURE&cancelOrderId={second}&quantity=0.011&price=50000.001"
    );
    let (status, refused) = cancel_replace(&client, &alice, &params);
    assert_eq!(status, 400, "{refused}");
    assert_eq!(refused["code"], -1013, "{refused}");
    let (status, refused) =
        cancel_replace(&client, &alice, "quantity=0.011&price=50000&cancelOrderId=1");
    assert_eq!((status, refused["code"].clone()), (400, json!(-1102)), "{refused}");
    assert_eq!(open_order_ids(&client, &alice), [second]);
    client.expect_balance(&alice, "USDT", ("50.00000000", "550.00000000"));
}

fn batch_entry(price: u32, client_id: &str) -> Value {
    json!({"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
           "quantity": "0.001", "price": price.to_string(), "newClientOrderId": client_id})
}

fn place_batch(client: &HttpClient, trader: &Trader, entries: &[Value]) -> Vec<Value> {
    let body = SignedBody::Json(json!({"batchOrders": entries}));
    let (status, answers) = client.signed_body(trader, Method::POST, "/api/v3/batchOrders", &body);
    assert_eq!(status, 200, "{answers}");
    answers.as_array().expect("a list").clone()
}

#[test]
fn batch_place_and_bulk_cancel_of_ten_thousand_ids() {
    let (_directory, _server, client) = fresh_exchange();
    let alice = client.funded_trader("USDT", "10000");
    let mallory = client.funded_trader("USDT", "100");
    let foreign = order_id(&place(&client, &mallory, &limit_buy("10000", "0.001")));

    // A form body; a repeated client id within the batch is a duplicate.
    let entries =
        [batch_entry(10_000, "b-1"), batch_entry(10_001, "b-2"), batch_entry(10_002, "b-1")];
    let form = format!("batchOrders={}", urlencode(&Value::from(entries.to_vec()).to_string()));
    let (status, answers) =
        client.signed_body(&alice, Method::POST, "/api/v3/batchOrders", &SignedBody::Form(form));
    assert_eq!(status, 200, "{answers}");
    assert_eq!(answers[0]["clientOrderId"], "b-1");
    assert_eq!(answers[1]["clientOrderId"], "b-2");
    assert_eq!(answers[2], json!({"code": -2010, "msg": "Duplicate order sent."}));
    let mut ids: Vec<u64> = answers.as_array().unwrap()[..2].iter().map(order_id).collect();

    // A JSON body; an invalid entry refuses only itself.
    let mut entries: Vec<Value> =
        (0..99).map(|n| batch_entry(10_000 + n, &format!("c-{n}"))).collect();
    entries.push(json!({"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "quantity": "0.001"}));
    let answers = place_batch(&client, &alice, &entries);
    assert_eq!(answers.len(), 100);
    assert_eq!(answers[99]["code"], -1102, "{}", answers[99]);
    ids.extend(answers[..99].iter().map(order_id));
    client.expect_balance(&alice, "USDT", ("8985.14800000", "1014.85200000"));

    let too_many: Vec<Value> = (0..101).map(|n| batch_entry(10_000, &format!("d-{n}"))).collect();
    let body = SignedBody::Json(json!({"batchOrders": too_many}));
    let (status, refused) = client.signed_body(&alice, Method::POST, "/api/v3/batchOrders", &body);
    assert_eq!((status, refused["code"].clone()), (400, json!(-1101)), "{refused}");

    // 101 open orders, one canceled already, mallory's order, and unknown ids: 10,000 in all.
    let (status, _) = client.signed(
        &alice,
        Method::DELETE,
        "/api/v3/order",
        &format!("symbol=BTCUSDT&orderId={}", ids[0]),
    );
    assert_eq!(status, 200);
    let mut request: Vec<u64> = ids.clone();
    request.push(foreign);
    request.extend((1..).map(|n| 1_000_000_000 + n).take(10_000 - request.len()));
    let body = SignedBody::Json(json!({"symbol": "BTCUSDT", "orderIds": request}));
    let (status, answers) =
        client.signed_body(&alice, Method::DELETE, "/api/v3/batchOrders", &body);
    assert_eq!(status, 200, "{answers}");
    let answers = answers.as_array().expect("a list");
    assert_eq!(answers.len(), 10_000);
    let unknown = json!({"code": -2011, "msg": "Unknown order sent."});
    assert_eq!(answers[0], unknown, "canceled before");
    for (answer, id) in answers[1..ids.len()].iter().zip(&ids[1..]) {
        assert_eq!(answer["status"], "CANCELED", "{answer}");
        assert_eq!(answer["orderId"], *id);
    }
    assert!(answers[ids.len()..].iter().all(|answer| *answer == unknown));
    client.expect_balance(&alice, "USDT", ("10000.00000000", "0.00000000"));
    assert!(open_order_ids(&client, &alice).is_empty());
    assert_eq!(open_order_ids(&client, &mallory), [foreign]);
    client.expect_balance(&mallory, "USDT", ("90.00000000", "10.00000000"));

    let one_more: Vec<u64> = (1..=10_001).collect();
    let body = SignedBody::Json(json!({"symbol": "BTCUSDT", "orderIds": one_more}));
    let (status, refused) =
        client.signed_body(&alice, Method::DELETE, "/api/v3/batchOrders", &body);
    assert_eq!((status, refused["code"].clone()), (400, json!(-1101)), "{refused}");
    let body = SignedBody::Form("symbol=BTCUSDT&orderIds=%5B%5D".into());
    let (status, refused) =
        client.signed_body(&alice, Method::DELETE, "/api/v3/batchOrders", &body);
    assert_eq!((status, refused["code"].clone()), (400, json!(-1102)), "{refused}");
}

/// Percent-encodes everything but unreserved characters (form values).
fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(byte).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

#[test]
fn cancel_all_answers_each_order_with_binances_cancel_fields() {
    let (_directory, _server, client) = fresh_exchange();
    let alice = client.funded_trader("USDT", "1000");
    let first = order_id(&place(
        &client,
        &alice,
        &format!("{}&newClientOrderId=mm-1", limit_buy("10000", "0.01")),
    ));
    let second = order_id(&place(&client, &alice, &limit_buy("9000", "0.01")));
    let (status, answer) =
        client.signed(&alice, Method::DELETE, "/api/v3/openOrders", "symbol=BTCUSDT");
    assert_eq!(status, 200, "{answer}");
    let canceled = answer.as_array().expect("a list");
    let mut ids: Vec<u64> = canceled.iter().map(order_id).collect();
    ids.sort_unstable();
    assert_eq!(ids, [first, second]);
    for order in canceled {
        assert_eq!(order["status"], "CANCELED", "{order}");
        assert!(order["transactTime"].is_u64(), "{order}");
        let cancel_id = order["clientOrderId"].as_str().expect("clientOrderId");
        assert_eq!(cancel_id.len(), 22, "a generated cancel id: {order}");
        assert_ne!(order["origClientOrderId"], order["clientOrderId"], "{order}");
    }
    let mm = canceled.iter().find(|order| order_id(order) == first).expect("first");
    assert_eq!(mm["origClientOrderId"], "mm-1");
    assert!(open_order_ids(&client, &alice).is_empty());
    client.expect_balance(&alice, "USDT", ("1000.00000000", "0.00000000"));
}

fn amend_keep_priority(client: &HttpClient, trader: &Trader, params: &str) -> (u16, Value) {
    let body = SignedBody::Form(format!("symbol=BTCUSDT&{params}"));
    client.signed_body(trader, Method::PUT, "/api/v3/order/amend/keepPriority", &body)
}

/// Waits until the order's status (settled by the shard from the book's events) is `expected`.
fn expect_status(client: &HttpClient, trader: &Trader, order_id: u64, expected: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while order_status(client, trader, order_id) != expected {
        assert!(std::time::Instant::now() < deadline, "order {order_id} never {expected}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn amend_keep_priority_shrinks_in_place_and_the_order_stays_ahead() {
    let (_directory, _server, client) = fresh_exchange();
    let alice = client.funded_trader("USDT", "1000");
    let bob = client.funded_trader("USDT", "1000");
    let carol = client.funded_trader("BTC", "1");
    let first = order_id(&place(&client, &alice, &limit_buy("10000", "0.01")));
    let behind = order_id(&place(&client, &bob, &limit_buy("10000", "0.01")));

    let (status, answer) =
        amend_keep_priority(&client, &alice, &format!("orderId={first}&newQty=0.005"));
    assert_eq!(status, 200, "{answer}");
    let amended = &answer["amendedOrder"];
    assert_eq!(order_id(amended), first, "same order: {answer}");
    assert_eq!(
        (amended["qty"].clone(), amended["status"].clone()),
        (json!("0.00500"), json!("NEW"))
    );
    assert!(answer["executionId"].is_u64() && answer["transactTime"].is_u64(), "{answer}");
    client.expect_balance(&alice, "USDT", ("950.00000000", "50.00000000"));

    // Not a shrink: the same or a larger quantity, or an unknown order, changes nothing.
    for new_qty in ["0.005", "0.02"] {
        let params = format!("orderId={first}&newQty={new_qty}");
        let msg = "Data sent for parameter 'newQty' is not valid.";
        expect_error(amend_keep_priority(&client, &alice, &params), 400, -1130, msg);
    }
    expect_error(
        amend_keep_priority(&client, &bob, &format!("orderId={first}&newQty=0.001")),
        400,
        -2011,
        "Unknown order sent.",
    );

    // A sell of exactly the amended quantity fills alice's order, still first in the queue.
    let sell = "symbol=BTCUSDT&side=SELL&type=LIMIT&timeInForce=GTC&quantity=0.005&price=10000";
    place(&client, &carol, sell);
    expect_status(&client, &alice, first, "FILLED");
    assert_eq!(order_status(&client, &bob, behind), "NEW");
    client.expect_balance(&alice, "USDT", ("950.00000000", "0.00000000"));
    client.expect_balance(&bob, "USDT", ("900.00000000", "100.00000000"));
}

#[test]
fn cancel_all_without_a_symbol_cancels_every_market() {
    let (_directory, _server, client) = fresh_exchange();
    let alice = client.funded_trader("USDT", "1000");
    let bitcoin = order_id(&place(&client, &alice, &limit_buy("10000", "0.01")));
    let ether = "symbol=ETHUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01&price=1000";
    let ether = order_id(&place(&client, &alice, ether));
    let (status, answer) = client.signed(&alice, Method::DELETE, "/api/v3/openOrders", "");
    assert_eq!(status, 200, "{answer}");
    let mut ids: Vec<u64> = answer.as_array().expect("a list").iter().map(order_id).collect();
    ids.sort_unstable();
    let mut expected = vec![bitcoin, ether];
    expected.sort_unstable();
    assert_eq!(ids, expected);
    client.expect_balance(&alice, "USDT", ("1000.00000000", "0.00000000"));
}
