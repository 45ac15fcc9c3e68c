use exchange_actors::account::OrderStatus;
use rstest::rstest;

use super::*;
use crate::api::errors::code;
use crate::api::testing::{ACCOUNT, markets, order_record};

fn params(pairs: &[(&str, &str)]) -> Params {
    Params::from_pairs(pairs.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())).collect())
        .unwrap()
}

#[rstest]
#[case("[1,2,3]", Ok(vec![1, 2, 3]))]
#[case(r#"["7", 8]"#, Ok(vec![7, 8]))]
#[case("[]", Err(code::MANDATORY_PARAM_EMPTY_OR_MALFORMED))]
#[case("[-1]", Err(code::INVALID_PARAMETER))]
#[case("[1.5]", Err(code::INVALID_PARAMETER))]
#[case(r#"["x"]"#, Err(code::INVALID_PARAMETER))]
#[case("1,2", Err(code::INVALID_PARAMETER))]
#[case("{}", Err(code::INVALID_PARAMETER))]
fn ids(#[case] text: &str, #[case] expected: Result<Vec<u64>, i32>) {
    let parsed = order_ids(&params(&[("orderIds", text)]));
    let parsed = parsed.map(|ids| ids.iter().map(|id| id.0).collect()).map_err(|e| e.code());
    assert_eq!(parsed, expected);
}

#[test]
fn at_most_ten_thousand_ids() {
    let ids: Vec<String> = (0..=BATCH_CANCEL_MAX).map(|id| id.to_string()).collect();
    let text = format!("[{}]", ids.join(","));
    let error = order_ids(&params(&[("orderIds", &text)])).unwrap_err();
    assert_eq!(error.code(), code::TOO_MANY_PARAMETERS);
    let fits = format!("[{}]", ids[..BATCH_CANCEL_MAX].join(","));
    assert_eq!(order_ids(&params(&[("orderIds", &fits)])).unwrap().len(), BATCH_CANCEL_MAX);
}

#[test]
fn each_batch_entry_is_checked_on_its_own() {
    let batch = r#"[
        {"symbol":"BTCUSDT","side":"BUY","type":"LIMIT","timeInForce":"GTC","quantity":"0.01","price":"100"},
        {"symbol":"BTCUSDT","side":"BUY","type":"LIMIT","timeInForce":"GTC","quantity":"0.01"},
        {"symbol":"NOPE","side":"BUY","type":"MARKET","quantity":1},
        3
    ]"#;
    let parsed =
        batch_place_params(&params(&[("batchOrders", batch)]), &markets(), ACCOUNT, 1).unwrap();
    let codes: Vec<_> =
        parsed.iter().map(|entry| entry.as_ref().err().map(ApiError::code)).collect();
    assert_eq!(
        codes,
        [
            None,
            Some(code::MANDATORY_PARAM_EMPTY_OR_MALFORMED),
            Some(code::BAD_SYMBOL),
            Some(code::INVALID_PARAMETER)
        ]
    );
    let answers = batch_place_answers(&parsed, Vec::new(), &markets());
    assert_eq!(answers[0]["code"], code::DISCONNECTED, "a missing shard answer is ours");
    assert_eq!(answers[1]["code"], code::MANDATORY_PARAM_EMPTY_OR_MALFORMED);
}

#[test]
fn too_many_or_no_orders() {
    let one = r#"{"symbol":"BTCUSDT","side":"BUY","type":"MARKET","quantity":"0.01"}"#;
    let many = format!("[{}]", vec![one; BATCH_PLACE_MAX + 1].join(","));
    let refused = batch_place_params(&params(&[("batchOrders", &many)]), &markets(), ACCOUNT, 1);
    assert_eq!(refused.unwrap_err().code(), code::TOO_MANY_PARAMETERS);
    let empty = batch_place_params(&params(&[("batchOrders", "[]")]), &markets(), ACCOUNT, 1);
    assert_eq!(empty.unwrap_err().code(), code::MANDATORY_PARAM_EMPTY_OR_MALFORMED);
}

#[test]
fn bulk_cancel_answers_per_id_in_request_order() {
    let markets = markets();
    let market = markets.get("BTCUSDT").unwrap();
    let open = order_record(10, 1, OrderStatus::New);
    let ended = order_record(11, 1, OrderStatus::Filled);
    let ids = [OrderId(10), OrderId(11), OrderId(12), OrderId(10)];
    let known = [Some(open), Some(ended), None, Some(open)];
    assert_eq!(cancelable(&ids, &known, market), [OrderId(10)]);
    let canceled = BTreeMap::from([(OrderId(10), 5_000_000)]);
    let answers = bulk_cancel_answers(&ids, &known, &canceled, market);
    assert_eq!(answers[0]["status"], "CANCELED");
    assert_eq!(answers[0]["orderId"], 10);
    assert_eq!(answers[0]["transactTime"], 5);
    for answer in &answers[1..] {
        assert_eq!(answer, &serde_json::json!({"code": -2011, "msg": "Unknown order sent."}));
    }
}

#[test]
fn another_symbols_order_is_not_sent_to_the_book() {
    let markets = markets();
    let eth = markets.get("ETHUSDT").unwrap();
    let open = order_record(10, 1, OrderStatus::New);
    assert!(cancelable(&[OrderId(10)], &[Some(open)], eth).is_empty());
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(1_000))]

    /// The new routes' parameter readers refuse anything malformed with a 4xx, never a panic.
    #[test]
    fn random_list_and_window_parameters_are_client_errors(
        list in r#"[\[\]{}0-9,": a-zA-Z.\-]{0,48}"#,
        word in "[0-9A-Z_.-]{0,24}",
    ) {
        let params = params(&[
            ("symbol", "BTCUSDT"), ("orderIds", &list), ("batchOrders", &list),
            ("limit", &word), ("startTime", &word), ("endTime", &word), ("orderId", &word),
            ("cancelOrderId", &word), ("cancelReplaceMode", &word),
        ]);
        let errors = [
            order_ids(&params).err(),
            batch_place_params(&params, &markets(), ACCOUNT, 1).err(),
            crate::api::all_orders::history_window(&params).err(),
            crate::api::cancel_replace::cancel_target(&params).err(),
            crate::api::cancel_replace::cancel_replace_mode(&params).err(),
        ];
        for error in errors.into_iter().flatten() {
            proptest::prop_assert!(error.status().is_client_error(), "{error}");
        }
        if let Ok(entries) = batch_place_params(&params, &markets(), ACCOUNT, 1) {
            for error in entries.iter().filter_map(|entry| entry.as_ref().err()) {
                proptest::prop_assert!(error.status().is_client_error(), "{error}");
            }
        }
    }
}
