//! Target `order_params`: `POST /api/v3/order` as the handler reads it. Fields: the query
//! string, the body, the `Content-Type` (form unless it names JSON). The parameters go
//! through `Params::from_request` (what the signed-request extractor does) and then
//! `place_params` (the new-order handler) and `order_lookup` (cancel and query).
//!
//! Properties: a refusal is a 4xx with a negative Binance code; an accepted order is for the
//! named symbol, and its ticks and lots are the sent decimals exactly (nothing rounded),
//! inside the symbol's PRICE_FILTER and LOT_SIZE; a MARKET order has no price, any other has
//! one; only a MARKET order is sized by quoteOrderQty.

use exchange::api::{
    ApiMarkets, Params, PlaceParams, SignedRequest, order_lookup, parse_decimal, place_params,
};
use exchange_actors::model::{OrderQuantity, OrderType};

use super::fields::{field, text_field};
use super::fixture::{ACCOUNT, NOW_NS, check_refusal, headers, with_state};

pub fn run(data: &[u8]) {
    let query = text_field(data, 0);
    let headers = headers(field(data, 2), b"");
    let request = SignedRequest::new(&headers, &query, field(data, 1));
    let params = match Params::from_request(request.query, request.body, request.body_kind) {
        Ok(params) => params,
        Err(error) => return check_refusal(&error),
    };
    with_state(|state| {
        let markets = state.markets();
        match place_params(&params, &markets, ACCOUNT, NOW_NS) {
            Ok(placed) => check_placed(&params, &markets, &placed),
            Err(error) => check_refusal(&error),
        }
        match order_lookup(&params, &markets) {
            Ok(lookup) => {
                assert_eq!(Some(lookup.market.spec.symbol.as_str()), params.get("symbol"))
            }
            Err(error) => check_refusal(&error),
        }
    });
}

/// The text of `name` that an accepted order was given.
fn sent<'a>(params: &'a Params, name: &str) -> &'a str {
    params.get(name).expect("an accepted order had this parameter")
}

pub fn check_placed(params: &Params, markets: &ApiMarkets, placed: &PlaceParams) {
    let request = &placed.request;
    let market = markets.get(sent(params, "symbol")).expect("an accepted order's market");
    let spec = &market.spec;
    assert_eq!(request.symbol, market.symbol());
    assert_eq!((request.account_id, request.ts_ns), (ACCOUNT, NOW_NS));
    match (request.order_type, request.price) {
        (OrderType::Market, price) => assert_eq!(price, None, "a MARKET order has no price"),
        (_, None) => panic!("a {:?} order without a price", request.order_type),
        (_, Some(ticks)) => {
            let price = parse_decimal("price", sent(params, "price")).expect("sent price");
            assert_eq!(spec.ticks_to_price(ticks), price, "price converted inexactly");
            assert!(
                spec.min_price <= price && price <= spec.max_price,
                "price outside PRICE_FILTER"
            );
        }
    }
    match request.quantity {
        OrderQuantity::Base(lots) => {
            let qty = parse_decimal("quantity", sent(params, "quantity")).expect("sent quantity");
            assert_eq!(spec.lots_to_qty(lots), qty, "quantity converted inexactly");
            assert!(spec.min_qty <= qty && qty <= spec.max_qty, "quantity outside LOT_SIZE");
        }
        OrderQuantity::Quote(notional) => {
            assert_eq!(
                request.order_type,
                OrderType::Market,
                "quoteOrderQty on a non-MARKET order"
            );
            let amount = parse_decimal("quoteOrderQty", sent(params, "quoteOrderQty"))
                .expect("sent quoteOrderQty");
            assert_eq!(
                spec.notional_to_quote(notional),
                amount,
                "quoteOrderQty converted inexactly"
            );
        }
    }
}
