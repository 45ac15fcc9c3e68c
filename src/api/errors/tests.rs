use actix_web::body::MessageBody;
use exchange_actors::model::{AccountId, AssetCode, OrderId, SymbolCode};
use rstest::rstest;

use super::*;
use crate::api::testing::{btcusdt, dec};

fn code_and_msg(error: impl Into<ApiError>) -> (i32, String) {
    let error = error.into();
    (error.code(), error.msg().to_owned())
}

#[rstest]
#[case(RejectReason::PriceNotTickMultiple, code::FILTER_FAILURE, "PRICE_FILTER")]
#[case(RejectReason::PriceOutOfRange, code::FILTER_FAILURE, "PRICE_FILTER")]
#[case(RejectReason::QtyNotStepMultiple, code::FILTER_FAILURE, "LOT_SIZE")]
#[case(RejectReason::QtyBelowMin, code::FILTER_FAILURE, "LOT_SIZE")]
#[case(RejectReason::QtyAboveMax, code::FILTER_FAILURE, "LOT_SIZE")]
#[case(RejectReason::NotionalBelowMin, code::FILTER_FAILURE, "NOTIONAL")]
#[case(RejectReason::NotionalAboveMax, code::FILTER_FAILURE, "NOTIONAL")]
#[case(RejectReason::OutsidePriceBand, code::FILTER_FAILURE, "PERCENT_PRICE_BY_SIDE")]
#[case(RejectReason::TooManyOpenOrders, code::FILTER_FAILURE, "MAX_NUM_ORDERS")]
#[case(RejectReason::ZeroQuantity, code::FILTER_FAILURE, "Quantity")]
#[case(RejectReason::QuoteAmountNotMultiple, code::BAD_PRECISION, "quoteOrderQty")]
#[case(
    RejectReason::PostOnlyWouldTake,
    code::NEW_ORDER_REJECTED,
    "Order would immediately match and take."
)]
#[case(RejectReason::FokCannotFill, code::NEW_ORDER_REJECTED, "FOK")]
#[case(RejectReason::DuplicateOrderId, code::NEW_ORDER_REJECTED, "Duplicate order sent.")]
#[case(RejectReason::BookFull, code::NEW_ORDER_REJECTED, "full")]
#[case(RejectReason::UnknownOrder, code::CANCEL_REJECTED, "Unknown order sent.")]
#[case(RejectReason::NotOwner, code::CANCEL_REJECTED, "Unknown order sent.")]
#[case(RejectReason::InvalidClientOrderId, code::ILLEGAL_CHARS, "36")]
#[case(RejectReason::MissingPrice, code::MANDATORY_PARAM_EMPTY_OR_MALFORMED, "'price'")]
#[case(RejectReason::UnexpectedPrice, code::PARAM_NOT_REQUIRED, "'price'")]
#[case(RejectReason::QuoteQuantityNotAllowed, code::PARAM_NOT_REQUIRED, "'quoteOrderQty'")]
#[case(RejectReason::InvalidTimeInForce, code::INVALID_TIF, "timeInForce")]
#[case(RejectReason::InvalidSpendLimit, code::DISCONNECTED, "spend limit")]
#[case(RejectReason::InputOutOfSequence, code::DISCONNECTED, "sequence")]
fn every_reject_reason_has_a_code(
    #[case] reason: RejectReason,
    #[case] expected_code: i32,
    #[case] msg_part: &str,
) {
    let (code, msg) = code_and_msg(reason);
    assert_eq!(code, expected_code, "{reason:?}");
    assert!(msg.contains(msg_part), "{reason:?}: {msg}");
}

#[test]
fn another_accounts_order_looks_unknown_and_never_leaks() {
    assert_eq!(ApiError::from(RejectReason::NotOwner), ApiError::from(RejectReason::UnknownOrder));
    assert_eq!(
        ApiError::from(AccountReject::NotOwner(OrderId(1))),
        ApiError::from(AccountReject::UnknownOrder(OrderId(1)))
    );
}

#[test]
fn conversion_errors_name_the_filter_and_values() {
    let spec = btcusdt();
    let cases = [
        (
            spec.price_to_ticks(dec("1.001")),
            code::FILTER_FAILURE,
            "Filter failure: PRICE_FILTER: price 1.001",
        ),
        (
            spec.price_to_ticks(dec("2000000")),
            code::FILTER_FAILURE,
            "Filter failure: PRICE_FILTER: price 2000000 is outside",
        ),
    ];
    for (result, expected_code, prefix) in cases {
        let (code, msg) = code_and_msg(result.unwrap_err());
        assert_eq!(code, expected_code);
        assert!(msg.starts_with(prefix), "{msg}");
    }
    let cases = [
        (
            spec.qty_to_lots(dec("0.000015")),
            "Filter failure: LOT_SIZE: quantity 0.000015 is not a multiple",
        ),
        (spec.qty_to_lots(dec("0")), "Filter failure: LOT_SIZE: quantity 0 is outside"),
    ];
    for (result, prefix) in cases {
        let (code, msg) = code_and_msg(result.unwrap_err());
        assert_eq!(code, code::FILTER_FAILURE);
        assert!(msg.starts_with(prefix), "{msg}");
    }
    let (code, msg) = code_and_msg(spec.quote_to_notional(dec("0.00000001")).unwrap_err());
    assert_eq!(code, code::BAD_PRECISION);
    assert!(msg.starts_with("quoteOrderQty 0.00000001"), "{msg}");
    let (code, _) = code_and_msg(spec.quote_to_notional(dec("0")).unwrap_err());
    assert_eq!(code, code::FILTER_FAILURE);
}

#[rstest]
#[case(AccountReject::UnknownSymbol(SymbolCode::new("XYZ").unwrap()), code::BAD_SYMBOL, "Invalid symbol.")]
#[case(
    AccountReject::UnknownAccount(AccountId(1)),
    code::REJECTED_MBX_KEY,
    "Invalid API-key, IP, or permissions for action."
)]
#[case(
    AccountReject::InsufficientFunds { asset: AssetCode::new("USDT").unwrap(), needed: 2, available: 1 },
    code::NEW_ORDER_REJECTED,
    "Account has insufficient balance for requested action."
)]
#[case(AccountReject::DuplicateClientOrderId, code::NEW_ORDER_REJECTED, "Duplicate order sent.")]
#[case(AccountReject::ReservedClientOrderId { prefix: "auto:" }, code::ILLEGAL_CHARS, "client order ids starting with \"auto:\" are reserved for generated ids")]
#[case(
    AccountReject::TooManyOpenOrders,
    code::FILTER_FAILURE,
    "Filter failure: MAX_NUM_ORDERS (too many open orders for this account)"
)]
#[case(
    AccountReject::InvalidOrder(RejectReason::PostOnlyWouldTake),
    code::NEW_ORDER_REJECTED,
    "Order would immediately match and take."
)]
#[case(AccountReject::UnknownOrder(OrderId(9)), code::NO_SUCH_ORDER, "Order does not exist.")]
#[case(AccountReject::NotOwner(OrderId(9)), code::NO_SUCH_ORDER, "Order does not exist.")]
#[case(AccountReject::OrderNotOpen { order_id: OrderId(9) }, code::CANCEL_REJECTED, "Unknown order sent.")]
#[case(
    AccountReject::AccountExists(AccountId(1)),
    code::INVALID_PARAMETER,
    "account AccountId(1) is already open"
)]
#[case(AccountReject::UnknownAsset(AssetCode::new("XYZ").unwrap()), code::INVALID_PARAMETER, "unknown asset XYZ")]
#[case(
    AccountReject::NonPositiveAmount(0),
    code::INVALID_PARAMETER,
    "amount must be positive, got 0"
)]
#[case(
    AccountReject::OrderIdsExhausted,
    code::DISCONNECTED,
    "the shard has used all its order ids"
)]
fn every_account_reject_has_a_code(
    #[case] reject: AccountReject,
    #[case] expected_code: i32,
    #[case] expected_msg: &str,
) {
    assert_eq!(code_and_msg(reject), (expected_code, expected_msg.to_owned()));
}

#[rstest]
#[case(AuthError::MissingApiKey, StatusCode::UNAUTHORIZED, code::BAD_API_KEY_FMT)]
#[case(AuthError::MalformedApiKey, StatusCode::UNAUTHORIZED, code::BAD_API_KEY_FMT)]
#[case(AuthError::UnknownApiKey, StatusCode::UNAUTHORIZED, code::REJECTED_MBX_KEY)]
#[case(AuthError::BadSignature, StatusCode::UNAUTHORIZED, code::INVALID_SIGNATURE)]
#[case(
    AuthError::MissingSignature,
    StatusCode::BAD_REQUEST,
    code::MANDATORY_PARAM_EMPTY_OR_MALFORMED
)]
#[case(AuthError::DuplicateSignature, StatusCode::BAD_REQUEST, code::TOO_MANY_PARAMETERS)]
#[case(
    AuthError::MissingTimestamp,
    StatusCode::BAD_REQUEST,
    code::MANDATORY_PARAM_EMPTY_OR_MALFORMED
)]
#[case(AuthError::MalformedTimestamp, StatusCode::BAD_REQUEST, code::ILLEGAL_CHARS)]
#[case(AuthError::MalformedRecvWindow, StatusCode::BAD_REQUEST, code::BAD_RECV_WINDOW)]
#[case(AuthError::RecvWindowTooLarge { recv_window_ms: 60_001 }, StatusCode::BAD_REQUEST, code::BAD_RECV_WINDOW)]
#[case(AuthError::TimestampAhead { ahead_ms: 1_001 }, StatusCode::BAD_REQUEST, code::INVALID_TIMESTAMP)]
#[case(AuthError::TimestampExpired, StatusCode::BAD_REQUEST, code::INVALID_TIMESTAMP)]
fn every_auth_error_has_a_code(
    #[case] auth: AuthError,
    #[case] status: StatusCode,
    #[case] expected_code: i32,
) {
    let error = ApiError::from(auth);
    assert_eq!((error.status(), error.code()), (status, expected_code), "{auth:?}");
    assert!(!error.msg().is_empty());
}

#[test]
fn auth_messages_are_binances() {
    assert_eq!(
        ApiError::from(AuthError::BadSignature).msg(),
        "Signature for this request is not valid."
    );
    assert_eq!(
        ApiError::from(AuthError::TimestampExpired).msg(),
        "Timestamp for this request is outside of the recvWindow."
    );
    assert_eq!(
        ApiError::from(AuthError::TimestampAhead { ahead_ms: 1_500 }).msg(),
        "Timestamp for this request was 1000ms ahead of the server's time."
    );
}

#[rstest]
#[case(
    BookError::Overloaded { symbol: "BTCUSDT".into(), queued: 9, queued_max: 9 },
    StatusCode::TOO_MANY_REQUESTS,
    code::SERVER_BUSY
)]
#[case(BookError::TooManyCommands { count: 9, count_max: 8 }, StatusCode::BAD_REQUEST, code::TOO_MANY_PARAMETERS)]
#[case(
    BookError::JournalFailed { symbol: "BTCUSDT".into(), detail: "disk".into() },
    StatusCode::SERVICE_UNAVAILABLE,
    code::TIMEOUT
)]
#[case(BookError::OutcomeUnknown { symbol: "BTCUSDT".into() }, StatusCode::SERVICE_UNAVAILABLE, code::TIMEOUT)]
#[case(BookError::Stopping { symbol: "BTCUSDT".into() }, StatusCode::SERVICE_UNAVAILABLE, code::DISCONNECTED)]
fn book_errors(#[case] book: BookError, #[case] status: StatusCode, #[case] expected_code: i32) {
    let error = ApiError::from(book);
    assert_eq!((error.status(), error.code()), (status, expected_code));
    assert!(!error.msg().contains("disk"), "internal details stay in the logs");
}

#[test]
fn response_is_binance_json_with_status_and_retry_after() {
    let error = ApiError::from(AccountReject::DuplicateClientOrderId);
    let response = error.error_response();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body = response.into_body().try_into_bytes().unwrap();
    assert_eq!(&body[..], br#"{"code":-2010,"msg":"Duplicate order sent."}"#);

    let busy = ApiError::overloaded("busy", 3);
    let response = busy.error_response();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers().get(header::RETRY_AFTER).unwrap(), "3");
}
