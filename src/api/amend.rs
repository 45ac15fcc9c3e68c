//! `PUT /api/v3/order/amend/keepPriority` (Binance's name and parameters): shrinks one open
//! limit order's quantity in place, keeping its place in the queue at its price. Anything else
//! (a new price, a larger quantity) is a new place in the queue: that is
//! `POST /api/v3/order/cancelReplace`.
//!
//! The amend goes straight to the book (as a cancel does) and is answered once journaled; the
//! shard releases the excess hold from the book's `Amended` event. Deviation: the order keeps
//! its `clientOrderId` (Binance assigns `newClientOrderId`, or a generated one): a
//! `newClientOrderId` other than the current one is refused.

use actix_web::{HttpResponse, web};
use exchange_actors::account::OrderRecord;
use exchange_actors::model::{AccountId, AmendOrder, BookCommand, EventKind, OrderQuantity, Qty};
use serde_json::{Value, json};

use super::auth::Authenticated;
use super::core::TradingCore;
use super::errors::ApiError;
use super::openapi::{ErrorBody, ORDER, SIGNED, SIGNED_401, UNAVAILABLE, refused};
use super::order_view::OrderBody;
use super::param_set::Params;
use super::params::order_lookup;
use super::placing::{NANOS_PER_MILLI, known_order, submit};
use super::request_schemas::AmendKeepPriorityRequest;
use super::state::{ApiMarket, ApiState};

/// Reduce the quantity of an open order, keeping its queue priority.
///
/// `newQty` must be above the executed quantity and below the order's quantity now; the order's
/// price, id and client order id stay.
#[utoipa::path(
    put,
    path = "/api/v3/order/amend/keepPriority",
    tag = "trading",
    request_body(description = "The parameters (or in the query string).", content(
        (AmendKeepPriorityRequest = "application/x-www-form-urlencoded"),
        (AmendKeepPriorityRequest = "application/json"),
    )),
    responses(
        (status = 200, description = "`transactTime`, `executionId` (the amend's event \
            sequence number) and `amendedOrder`."),
        (status = 400, description = refused(&[SIGNED, ORDER]), body = ErrorBody),
        (status = 401, description = refused(&[SIGNED_401]), body = ErrorBody),
        (status = 503, description = UNAVAILABLE, body = ErrorBody),
    ),
    security(("apiKey" = [], "signature" = []))
)]
pub async fn amend_keep_priority(
    auth: Authenticated,
    state: web::Data<ApiState>,
    core: web::Data<TradingCore>,
) -> Result<HttpResponse, ApiError> {
    let body = amend_keep_priority_of(&state, &core, auth.account_id, &auth.params).await?;
    Ok(HttpResponse::Ok().json(body))
}

/// `PUT /api/v3/order/amend/keepPriority` for a checked request.
pub async fn amend_keep_priority_of(
    state: &ApiState,
    core: &TradingCore,
    account_id: AccountId,
    params: &Params,
) -> Result<Value, ApiError> {
    let markets = state.markets();
    let lookup = order_lookup(params, &markets)?;
    let market = lookup.market;
    let new_total = market
        .spec
        .qty_to_lots(params.decimal("newQty")?.ok_or_else(|| ApiError::mandatory("newQty"))?)?;
    let known = known_order(core, account_id, lookup.order).await?;
    let Some(mut order) = known.filter(|order| order.symbol == market.symbol()) else {
        return Err(ApiError::unknown_order_sent());
    };
    if order.status.is_terminal() {
        return Err(ApiError::unknown_order_sent());
    }
    if let Some(text) = params.optional("newClientOrderId")?
        && text != order.client_order_id.as_str()
    {
        return Err(ApiError::invalid_parameter("newClientOrderId"));
    }
    let (OrderQuantity::Base(total), Some(price)) = (order.quantity, order.price) else {
        return Err(ApiError::invalid_parameter("newQty"));
    };
    if new_total.0 >= total.0 || new_total.0 <= order.executed_qty.0 {
        return Err(ApiError::invalid_parameter("newQty"));
    }
    let new_qty = Qty(new_total.0 - order.executed_qty.0);
    let command = BookCommand::Amend(AmendOrder {
        account_id,
        order_id: order.order_id,
        new_price: price,
        new_qty,
    });
    let outcome = submit(core, market, command).await?;
    outcome.result?;
    let Some(amended) = outcome
        .events
        .iter()
        .find(|event| matches!(event.kind, EventKind::Amended(amended) if amended.kept_priority))
    else {
        return Err(ApiError::internal("the book answered the amend without an amend event"));
    };
    order.quantity = OrderQuantity::Base(new_total);
    order.updated_ts_ns = amended.ts_ns;
    Ok(amended_body(&order, market, amended.seq))
}

/// Binance's answer: the order after the amend, under `amendedOrder`.
fn amended_body(order: &OrderRecord, market: &ApiMarket, execution_id: u64) -> Value {
    let body = OrderBody::new(order, market);
    json!({
        "transactTime": order.updated_ts_ns / NANOS_PER_MILLI,
        "executionId": execution_id,
        "amendedOrder": {
            "symbol": body.symbol,
            "orderId": body.order_id,
            "orderListId": body.order_list_id,
            "origClientOrderId": body.client_order_id,
            "clientOrderId": body.client_order_id,
            "price": body.price,
            "qty": body.orig_qty,
            "executedQty": body.executed_qty,
            "preventedQty": market_zero_qty(market),
            "quoteOrderQty": body.orig_quote_order_qty,
            "cumulativeQuoteQty": body.cummulative_quote_qty,
            "status": body.status,
            "timeInForce": body.time_in_force,
            "type": body.order_type,
            "side": body.side,
            "workingTime": body.working_time,
            "selfTradePreventionMode": body.self_trade_prevention_mode,
        }
    })
}

fn market_zero_qty(market: &ApiMarket) -> String {
    super::render::qty(&market.spec, Qty::ZERO)
}
