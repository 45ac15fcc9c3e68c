use rstest::rstest;
use serde_json::json;

use super::*;

fn params(query: &str) -> Params {
    Params::from_query(query).unwrap()
}

#[rstest]
#[case("cancelReplaceMode=STOP_ON_FAILURE", Ok(CancelReplaceMode::StopOnFailure))]
#[case("cancelReplaceMode=ALLOW_FAILURE", Ok(CancelReplaceMode::AllowFailure))]
#[case("cancelReplaceMode=MAYBE", Err(code::INVALID_PARAMETER))]
#[case("", Err(code::MANDATORY_PARAM_EMPTY_OR_MALFORMED))]
fn modes(#[case] query: &str, #[case] expected: Result<CancelReplaceMode, i32>) {
    assert_eq!(cancel_replace_mode(&params(query)).map_err(|error| error.code()), expected);
}

#[rstest]
#[case("cancelOrderId=5&cancelOrigClientOrderId=x", Ok(OrderRef::Id(OrderId(5))))]
#[case(
    "cancelOrigClientOrderId=my-1",
    Ok(OrderRef::Client(ClientOrderId::new("my-1").unwrap()))
)]
#[case("cancelOrigClientOrderId=bad%20id", Err(code::ILLEGAL_CHARS))]
#[case("cancelOrderId=x", Err(code::ILLEGAL_CHARS))]
#[case("", Err(code::MANDATORY_PARAM_EMPTY_OR_MALFORMED))]
fn targets(#[case] query: &str, #[case] expected: Result<OrderRef, i32>) {
    assert_eq!(cancel_target(&params(query)).map_err(|error| error.code()), expected);
}

fn unknown() -> Result<Value, ApiError> {
    Err(ApiError::unknown_order_sent())
}

#[test]
fn both_succeed() {
    let (status, body) =
        cancel_replace_answer(Ok(json!({"orderId": 1})), Some(Ok(json!({"orderId": 2}))));
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({"cancelResult": "SUCCESS", "newOrderResult": "SUCCESS",
               "cancelResponse": {"orderId": 1}, "newOrderResponse": {"orderId": 2}})
    );
}

#[test]
fn stop_on_failure_does_not_attempt() {
    let (status, body) = cancel_replace_answer(unknown(), None);
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"code": -2022, "msg": "Order cancel-replace failed.", "data": {
            "cancelResult": "FAILURE", "newOrderResult": "NOT_ATTEMPTED",
            "cancelResponse": {"code": -2011, "msg": "Unknown order sent."},
            "newOrderResponse": null}})
    );
}

#[test]
fn one_of_two_is_a_partial_failure() {
    let refused = Err(ApiError::from(exchange_actors::model::RejectReason::PostOnlyWouldTake));
    let (status, body) = cancel_replace_answer(Ok(json!({"orderId": 1})), Some(refused));
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["code"], -2021);
    assert_eq!(body["msg"], "Order cancel-replace partially failed.");
    assert_eq!(body["data"]["newOrderResult"], "FAILURE");
    assert_eq!(body["data"]["newOrderResponse"]["code"], -2010);
    let (status, body) = cancel_replace_answer(unknown(), Some(Ok(json!({"orderId": 2}))));
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["data"]["cancelResult"], "FAILURE");
    assert_eq!(body["data"]["newOrderResult"], "SUCCESS");
}

#[test]
fn allow_failure_both_failing() {
    let (status, body) = cancel_replace_answer(unknown(), Some(unknown()));
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["code"], -2022);
    assert_eq!(body["data"]["newOrderResult"], "FAILURE");
}
