use proptest::prelude::*;
use rstest::rstest;

use super::*;
use crate::api::errors::code;
use crate::api::testing::{ACCOUNT, markets};
use exchange_actors::model::{Notional, Qty};

const TS_NS: u64 = 7;

fn place(query: &str) -> Result<PlaceParams, ApiError> {
    place_params(&Params::from_query(query).unwrap(), &markets(), ACCOUNT, TS_NS)
}

fn code_of(query: &str) -> i32 {
    place(query).unwrap_err().code()
}

#[test]
fn ccxt_limit_order_becomes_a_place_request() {
    let query = "symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=0.5&price=100.01&timeInForce=GTC\
                 &newClientOrderId=x-R4BD3S82abcdef0123456789abcdef&newOrderRespType=FULL\
                 &selfTradePreventionMode=EXPIRE_MAKER&timestamp=1&recvWindow=5000";
    let placed = place(query).unwrap();
    let request = placed.request;
    assert_eq!(request.symbol.as_str(), "BTCUSDT");
    assert_eq!(request.account_id, ACCOUNT);
    assert_eq!(request.client_order_id.as_str(), "x-R4BD3S82abcdef0123456789abcdef");
    assert_eq!(request.side, Side::Buy);
    assert_eq!(request.order_type, OrderType::Limit);
    assert_eq!(request.time_in_force, TimeInForce::Gtc);
    assert_eq!(request.price, Some(Price(10_001)));
    assert_eq!(request.quantity, OrderQuantity::Base(Qty(50_000)));
    assert_eq!(request.self_trade_prevention, SelfTradePrevention::ExpireMaker);
    assert!(!request.reduce_only);
    assert_eq!(request.ts_ns, TS_NS);
    assert_eq!(placed.response_type, ResponseType::Full);
}

#[test]
fn market_orders_by_base_or_quote_and_post_only() {
    let market = place("symbol=ETHUSDT&side=SELL&type=MARKET&quantity=1.5").unwrap();
    assert_eq!(market.request.quantity, OrderQuantity::Base(Qty(15_000)));
    assert_eq!(market.request.time_in_force, TimeInForce::Ioc);
    assert_eq!(market.request.price, None);
    let quote = place("symbol=BTCUSDT&side=BUY&type=MARKET&quoteOrderQty=10").unwrap();
    assert_eq!(quote.request.quantity, OrderQuantity::Quote(Notional(10 * 100 * 100_000)));
    let fok = place("symbol=BTCUSDT&side=BUY&type=MARKET&quantity=1&timeInForce=FOK").unwrap();
    assert_eq!(fok.request.time_in_force, TimeInForce::Fok);
    let maker = place("symbol=BTCUSDT&side=SELL&type=LIMIT_MAKER&quantity=1&price=5").unwrap();
    assert_eq!(maker.request.time_in_force, TimeInForce::Gtc);
    assert_eq!(maker.response_type, ResponseType::Ack);
    assert_eq!(maker.request.client_order_id, ClientOrderId::NONE);
}

#[rstest]
#[case::no_symbol("side=BUY&type=MARKET&quantity=1", code::MANDATORY_PARAM_EMPTY_OR_MALFORMED)]
#[case::lowercase_symbol("symbol=btcusdt&side=BUY&type=MARKET&quantity=1", code::ILLEGAL_CHARS)]
#[case::unknown_symbol("symbol=DOGEUSDT&side=BUY&type=MARKET&quantity=1", code::BAD_SYMBOL)]
#[case::no_side("symbol=BTCUSDT&type=MARKET&quantity=1", code::MANDATORY_PARAM_EMPTY_OR_MALFORMED)]
#[case::bad_side("symbol=BTCUSDT&side=buy&type=MARKET&quantity=1", code::INVALID_SIDE)]
#[case::no_type("symbol=BTCUSDT&side=BUY&quantity=1", code::MANDATORY_PARAM_EMPTY_OR_MALFORMED)]
#[case::stop_loss("symbol=BTCUSDT&side=BUY&type=STOP_LOSS&quantity=1", code::INVALID_ORDER_TYPE)]
#[case::limit_without_tif(
    "symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=1&price=1",
    code::MANDATORY_PARAM_EMPTY_OR_MALFORMED
)]
#[case::bad_tif(
    "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTX&quantity=1&price=1",
    code::INVALID_TIF
)]
#[case::market_gtc(
    "symbol=BTCUSDT&side=BUY&type=MARKET&timeInForce=GTC&quantity=1",
    code::INVALID_TIF
)]
#[case::maker_ioc(
    "symbol=BTCUSDT&side=BUY&type=LIMIT_MAKER&timeInForce=IOC&quantity=1&price=1",
    code::INVALID_TIF
)]
#[case::fok_by_quote(
    "symbol=BTCUSDT&side=BUY&type=MARKET&timeInForce=FOK&quoteOrderQty=10",
    code::INVALID_TIF
)]
#[case::limit_without_price(
    "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1",
    code::MANDATORY_PARAM_EMPTY_OR_MALFORMED
)]
#[case::market_with_price(
    "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=1&price=1",
    code::PARAM_NOT_REQUIRED
)]
#[case::price_off_tick(
    "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=1.001",
    code::FILTER_FAILURE
)]
#[case::qty_off_step("symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.000015", code::FILTER_FAILURE)]
#[case::qty_zero("symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0", code::FILTER_FAILURE)]
#[case::qty_negative("symbol=BTCUSDT&side=BUY&type=MARKET&quantity=-1", code::ILLEGAL_CHARS)]
#[case::qty_exponent("symbol=BTCUSDT&side=BUY&type=MARKET&quantity=1e3", code::ILLEGAL_CHARS)]
#[case::qty_empty("symbol=BTCUSDT&side=BUY&type=MARKET&quantity=", code::PARAM_EMPTY)]
#[case::no_quantity(
    "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&price=1",
    code::MANDATORY_PARAM_EMPTY_OR_MALFORMED
)]
#[case::market_neither(
    "symbol=BTCUSDT&side=BUY&type=MARKET",
    code::MANDATORY_PARAM_EMPTY_OR_MALFORMED
)]
#[case::market_both(
    "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=1&quoteOrderQty=10",
    code::OPTIONAL_PARAMS_BAD_COMBO
)]
#[case::limit_with_quote(
    "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&price=1&quoteOrderQty=10",
    code::PARAM_NOT_REQUIRED
)]
#[case::quote_too_fine(
    "symbol=BTCUSDT&side=BUY&type=MARKET&quoteOrderQty=0.00000001",
    code::BAD_PRECISION
)]
#[case::quote_zero("symbol=BTCUSDT&side=BUY&type=MARKET&quoteOrderQty=0", code::FILTER_FAILURE)]
#[case::client_id_too_long(
    "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=1&newClientOrderId=abcdefghijklmnopqrstuvwxyz0123456789X",
    code::ILLEGAL_CHARS
)]
#[case::client_id_space(
    "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=1&newClientOrderId=a%20b",
    code::ILLEGAL_CHARS
)]
#[case::bad_stp(
    "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=1&selfTradePreventionMode=DECREMENT",
    code::INVALID_PARAMETER
)]
#[case::bad_resp_type(
    "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=1&newOrderRespType=ALL",
    code::INVALID_PARAMETER
)]
fn invalid_orders_get_binance_codes(#[case] query: &str, #[case] expected: i32) {
    assert_eq!(code_of(query), expected, "{query}");
}

#[test]
fn filter_failures_name_the_filter() {
    let error = place("symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=1.001")
        .unwrap_err();
    assert_eq!(
        error.msg(),
        "Filter failure: PRICE_FILTER: price 1.001 is not a multiple of tick size 0.01"
    );
    let error = place("symbol=BTCUSDT&side=BUY&type=MARKET&quantity=9001").unwrap_err();
    assert!(error.msg().starts_with("Filter failure: LOT_SIZE"), "{}", error.msg());
}

#[rstest]
#[case("symbol=BTCUSDT&orderId=17", Ok(OrderRef::Id(OrderId(17))))]
#[case("symbol=BTCUSDT&orderId=17&origClientOrderId=abc", Ok(OrderRef::Id(OrderId(17))))]
#[case(
    "symbol=BTCUSDT&origClientOrderId=abc",
    Ok(OrderRef::Client(ClientOrderId::new("abc").unwrap()))
)]
#[case("symbol=BTCUSDT", Err(code::MANDATORY_PARAM_EMPTY_OR_MALFORMED))]
#[case("symbol=BTCUSDT&orderId=x", Err(code::ILLEGAL_CHARS))]
#[case("symbol=BTCUSDT&origClientOrderId=a%20b", Err(code::ILLEGAL_CHARS))]
#[case("symbol=XYZ&orderId=1", Err(code::BAD_SYMBOL))]
fn cancel_and_query_name_one_order(#[case] query: &str, #[case] expected: Result<OrderRef, i32>) {
    let markets = markets();
    let params = Params::from_query(query).unwrap();
    let lookup = order_lookup(&params, &markets);
    assert_eq!(lookup.map(|lookup| lookup.order).map_err(|error| error.code()), expected);
}

/// Values that are valid for some parameter, mixed with arbitrary text.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "BTCUSDT",
            "ETHUSDT",
            "BUY",
            "SELL",
            "LIMIT",
            "MARKET",
            "LIMIT_MAKER",
            "GTC",
            "IOC",
            "FOK",
            "ACK",
            "RESULT",
            "FULL",
            "NONE",
            "EXPIRE_TAKER",
            "EXPIRE_BOTH",
            "0",
            "1",
            "0.5",
            "100.01",
            "0.00001",
            "9000",
            "1000000",
            "",
            "-1",
            "1e5",
            "abc-1",
        ])
        .prop_map(str::to_owned),
        "[0-9]{1,22}(\\.[0-9]{0,30})?",
        any::<String>(),
    ]
}

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "symbol",
            "side",
            "type",
            "timeInForce",
            "quantity",
            "quoteOrderQty",
            "price",
            "newClientOrderId",
            "selfTradePreventionMode",
            "newOrderRespType",
            "orderId",
            "origClientOrderId",
        ])
        .prop_map(str::to_owned),
        any::<String>(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    /// Random parameters never panic: a typed 4xx refusal, or a request that fits the spec.
    #[test]
    fn random_parameters_never_panic(pairs in prop::collection::vec((name(), value()), 0..12)) {
        let markets = markets();
        let Ok(params) = Params::from_pairs(pairs) else { return Ok(()) };
        match place_params(&params, &markets, ACCOUNT, TS_NS) {
            Ok(placed) => {
                let request = placed.request;
                let spec = &markets.get(request.symbol.as_str()).expect("listed").spec;
                prop_assert_eq!(request.price.is_some(), request.order_type != OrderType::Market);
                if let Some(price) = request.price {
                    let price = spec.ticks_to_price(price);
                    prop_assert!(spec.min_price <= price && price <= spec.max_price);
                }
                if let OrderQuantity::Base(qty) = request.quantity {
                    let qty = spec.lots_to_qty(qty);
                    prop_assert!(spec.min_qty <= qty && qty <= spec.max_qty);
                }
            }
            Err(error) => {
                prop_assert!(error.status().is_client_error(), "{error}");
                prop_assert!(error.code() < 0);
            }
        }
        if let Err(error) = order_lookup(&params, &markets) {
            prop_assert!(error.status().is_client_error(), "{error}");
        }
    }
}
