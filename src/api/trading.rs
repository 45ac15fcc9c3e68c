//! The signed trading routes: place, cancel, query orders; cancel all; the account.
//! New orders go to the account's shard; cancels go straight to the book (the shard settles
//! them from the book's events).

use std::collections::{BTreeMap, BTreeSet};

use actix_web::{HttpResponse, web};
use exchange_actors::account::actor::{GetOpenOrders, GetOpenSymbols};
use exchange_actors::account::{OrderRecord, OrderStatus};
use exchange_actors::model::{
    AccountId, BookCommand, CancelAccountOrders, EventKind, OrderId, SymbolCode,
};
use serde_json::Value;

use serde::Serialize;
use utoipa::ToSchema;

use super::admin::BalanceBody;
use super::auth::Authenticated;
use super::core::{TradingCore, mailbox_error, store_error};
use super::errors::{ApiError, code};
use super::openapi::{ErrorBody, ORDER, SIGNED, SIGNED_401, UNAVAILABLE, refused};
use super::order_view::OrderBody;
use super::param_set::Params;
use super::params::{OrderRef, market, order_lookup, place_params};
use super::placing::{
    CancelRestriction, CanceledOrder, NewOrderResponse, cancel_client_order_id, cancel_one,
    cancel_restriction, canceled_body, generated_cancel_id, known_order, place_one, submit,
};
use super::request_schemas::{NewOrderRequest, OrderLookupParams, SignedFields};
use super::state::{ApiMarket, ApiMarkets, ApiState};

/// Mounts the signed routes; [`ApiState`], [`TradingCore`] and the
/// `Addr<`[`DeadManSwitch`](super::DeadManSwitch)`>` must be app data.
pub fn configure_trading(config: &mut web::ServiceConfig) {
    config
        .route("/api/v3/order", web::post().to(place))
        .route("/api/v3/order", web::delete().to(cancel))
        .route("/api/v3/order", web::get().to(query))
        .route("/api/v3/openOrders", web::get().to(open_orders))
        .route("/api/v3/openOrders", web::delete().to(cancel_open_orders))
        .route("/api/v3/allOrders", web::get().to(super::all_orders::all_orders))
        .route("/api/v3/order/cancelReplace", web::post().to(super::cancel_replace::cancel_replace))
        .route("/api/v3/order/amend/keepPriority", web::put().to(super::amend::amend_keep_priority))
        .route("/api/v3/batchOrders", web::post().to(super::batch_orders::place_batch))
        .route("/api/v3/batchOrders", web::delete().to(super::batch_orders::cancel_batch))
        .route("/api/v3/countdownCancelAll", web::post().to(super::countdown::countdown_cancel_all))
        .route("/api/v3/account", web::get().to(account))
        .route("/fapi/v2/positionRisk", web::get().to(super::positions::position_risk));
}

/// New order.
///
/// Places a LIMIT, MARKET or LIMIT_MAKER order; its hold is taken from the account's balance
/// first. The answer's shape follows `newOrderRespType`.
#[utoipa::path(
    post,
    path = "/api/v3/order",
    tag = "trading",
    request_body(description = "The order's parameters (or in the query string).", content(
        (NewOrderRequest = "application/x-www-form-urlencoded"),
        (NewOrderRequest = "application/json"),
    )),
    responses(
        (status = 200, description = "The order as placed (ACK, RESULT or FULL).",
            body = NewOrderResponse),
        (status = 400, description = refused(&[SIGNED, ORDER]), body = ErrorBody),
        (status = 401, description = refused(&[SIGNED_401]), body = ErrorBody),
        (status = 429, description = refused(&[&[code::SERVER_BUSY]]), body = ErrorBody),
        (status = 503, description = UNAVAILABLE, body = ErrorBody),
    ),
    security(("apiKey" = [], "signature" = []))
)]
async fn place(
    auth: Authenticated,
    state: web::Data<ApiState>,
    core: web::Data<TradingCore>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(place_order(&state, &core, auth.account_id, &auth.params).await?))
}

/// `POST /api/v3/order` (and the WebSocket API's `order.place`) for a checked request.
pub async fn place_order(
    state: &ApiState,
    core: &TradingCore,
    account_id: AccountId,
    params: &Params,
) -> Result<Value, ApiError> {
    let now_ns = state.clock.now_ns();
    let markets = state.markets();
    let placed = place_params(params, &markets, account_id, now_ns)?;
    let market = market(params, &markets)?;
    place_one(core, account_id, placed, market).await
}

/// Cancel an order.
///
/// Every way of not finding the order open (unknown, another account's, another market's,
/// already ended) is -2011 "Unknown order sent.".
#[utoipa::path(
    delete,
    path = "/api/v3/order",
    tag = "trading",
    params(
        OrderLookupParams,
        ("cancelRestrictions" = Option<String>, Query,
            description = "ONLY_NEW or ONLY_PARTIALLY_FILLED: cancel only an order in that state."),
        SignedFields,
    ),
    responses(
        (status = 200, description = "The order, now CANCELED.", body = CanceledOrder),
        (status = 400, description = refused(&[SIGNED, &[
            code::BAD_SYMBOL, code::INVALID_PARAMETER, code::CANCEL_REJECTED,
        ]]), body = ErrorBody),
        (status = 401, description = refused(&[SIGNED_401]), body = ErrorBody),
        (status = 429, description = refused(&[&[code::SERVER_BUSY]]), body = ErrorBody),
        (status = 503, description = UNAVAILABLE, body = ErrorBody),
    ),
    security(("apiKey" = [], "signature" = []))
)]
async fn cancel(
    auth: Authenticated,
    state: web::Data<ApiState>,
    core: web::Data<TradingCore>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(cancel_order(&state, &core, auth.account_id, &auth.params).await?))
}

/// `DELETE /api/v3/order` (and `order.cancel`) for a checked request.
pub async fn cancel_order(
    state: &ApiState,
    core: &TradingCore,
    account_id: AccountId,
    params: &Params,
) -> Result<Value, ApiError> {
    let markets = state.markets();
    let lookup = order_lookup(params, &markets)?;
    let restriction = cancel_restriction(params, "cancelRestrictions")?;
    let cancel_id = cancel_client_order_id(params, "newClientOrderId")?;
    let order = cancel_one(core, account_id, lookup.market, lookup.order, restriction).await?;
    Ok(canceled_body(&order, lookup.market, &cancel_id))
}

/// Query an order.
///
/// By `orderId` or `origClientOrderId`; an order of another account is answered as one that
/// does not exist.
#[utoipa::path(
    get,
    path = "/api/v3/order",
    tag = "trading",
    params(
        OrderLookupParams,
        SignedFields,
    ),
    responses(
        (status = 200, description = "The order as it stands.", body = OrderBody),
        (status = 400, description = refused(&[SIGNED, &[code::BAD_SYMBOL, code::NO_SUCH_ORDER]]),
            body = ErrorBody),
        (status = 401, description = refused(&[SIGNED_401]), body = ErrorBody),
        (status = 503, description = UNAVAILABLE, body = ErrorBody),
    ),
    security(("apiKey" = [], "signature" = []))
)]
async fn query(
    auth: Authenticated,
    state: web::Data<ApiState>,
    core: web::Data<TradingCore>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(query_order(&state, &core, auth.account_id, &auth.params).await?))
}

/// `GET /api/v3/order` (and `order.status`) for a checked request.
pub async fn query_order(
    state: &ApiState,
    core: &TradingCore,
    account_id: AccountId,
    params: &Params,
) -> Result<OrderBody, ApiError> {
    let markets = state.markets();
    let lookup = order_lookup(params, &markets)?;
    let symbol = lookup.market.symbol();
    let known = known_order(core, account_id, lookup.order).await?;
    let order = match known {
        Some(order) => Some(order),
        // Closed long ago: the shard forgot it, the database has its last state.
        None => stored_order(core, account_id, symbol, lookup.order).await?,
    };
    let order = order.filter(|order| order.symbol == symbol).ok_or_else(ApiError::no_such_order)?;
    Ok(OrderBody::new(&order, lookup.market))
}

/// Current open orders.
#[utoipa::path(
    get,
    path = "/api/v3/openOrders",
    tag = "trading",
    params(
        ("symbol" = Option<String>, Query, description = "One market; without it, every market."),
        SignedFields,
    ),
    responses(
        (status = 200, description = "The account's open orders.", body = Vec<OrderBody>),
        (status = 400, description = refused(&[SIGNED, &[code::BAD_SYMBOL]]), body = ErrorBody),
        (status = 401, description = refused(&[SIGNED_401]), body = ErrorBody),
        (status = 503, description = UNAVAILABLE, body = ErrorBody),
    ),
    security(("apiKey" = [], "signature" = []))
)]
async fn open_orders(
    auth: Authenticated,
    state: web::Data<ApiState>,
    core: web::Data<TradingCore>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(open_orders_of(&state, &core, auth.account_id, &auth.params).await?))
}

/// `GET /api/v3/openOrders` (and `openOrders.status`) for a checked request.
pub async fn open_orders_of(
    state: &ApiState,
    core: &TradingCore,
    account_id: AccountId,
    params: &Params,
) -> Result<Vec<OrderBody>, ApiError> {
    let markets = state.markets();
    let symbol = match params.get("symbol") {
        Some(_) => Some(market(params, &markets)?.symbol()),
        None => None,
    };
    let orders = core
        .shard(account_id)
        .send(GetOpenOrders { account_id, symbol })
        .await
        .map_err(|error| mailbox_error(&error))?;
    let bodies: Vec<OrderBody> = orders
        .iter()
        .filter_map(|order| {
            let market = markets.iter().find(|market| market.symbol() == order.symbol)?;
            Some(OrderBody::new(order, market))
        })
        .collect();
    Ok(bodies)
}

/// Cancel all open orders of a market, or of the account.
///
/// With `symbol`, as Binance. Without it (an extension), every open order of the account on
/// every market: one bulk cancel (one journal commit) per market that has any.
#[utoipa::path(
    delete,
    path = "/api/v3/openOrders",
    tag = "trading",
    params(
        ("symbol" = Option<String>, Query, description = "The market; absent: every market."),
        SignedFields,
    ),
    responses(
        (status = 200, description = "The orders canceled, now CANCELED.", body = Vec<OrderBody>),
        (status = 400, description = refused(&[SIGNED, &[code::BAD_SYMBOL]]), body = ErrorBody),
        (status = 401, description = refused(&[SIGNED_401]), body = ErrorBody),
        (status = 429, description = refused(&[&[code::SERVER_BUSY]]), body = ErrorBody),
        (status = 503, description = UNAVAILABLE, body = ErrorBody),
    ),
    security(("apiKey" = [], "signature" = []))
)]
async fn cancel_open_orders(
    auth: Authenticated,
    state: web::Data<ApiState>,
    core: web::Data<TradingCore>,
) -> Result<HttpResponse, ApiError> {
    let bodies = cancel_open_orders_of(&state, &core, auth.account_id, &auth.params).await?;
    Ok(HttpResponse::Ok().json(bodies))
}

/// `DELETE /api/v3/openOrders` (and `openOrders.cancelAll`) for a checked request: the orders
/// canceled, of `symbol`'s market or, without it, of every market.
pub async fn cancel_open_orders_of(
    state: &ApiState,
    core: &TradingCore,
    account_id: AccountId,
    params: &Params,
) -> Result<Vec<Value>, ApiError> {
    let markets = state.markets();
    if params.get("symbol").is_some() {
        return cancel_all_of_market(core, account_id, market(params, &markets)?).await;
    }
    let symbols = core
        .shard(account_id)
        .send(GetOpenSymbols { account_id })
        .await
        .map_err(|error| mailbox_error(&error))?;
    let symbols = symbols.into_iter().collect();
    cancel_all_of_markets(core, &markets, account_id, &symbols).await
}

/// [`cancel_all_of_market`] on each market of `symbols`: one bulk cancel each.
async fn cancel_all_of_markets(
    core: &TradingCore,
    markets: &ApiMarkets,
    account_id: AccountId,
    symbols: &BTreeSet<SymbolCode>,
) -> Result<Vec<Value>, ApiError> {
    let mut bodies = Vec::new();
    for market in markets.iter().filter(|market| symbols.contains(&market.symbol())) {
        bodies.extend(cancel_all_of_market(core, account_id, market).await?);
    }
    Ok(bodies)
}

/// Cancels every open order of `account_id` in `market` (one book command) and answers as
/// `DELETE /api/v3/openOrders` (and `openOrders.cancelAll`): the orders canceled.
pub async fn cancel_all_of_market(
    core: &TradingCore,
    account_id: AccountId,
    market: &ApiMarket,
) -> Result<Vec<Value>, ApiError> {
    let orders = core
        .shard(account_id)
        .send(GetOpenOrders { account_id, symbol: Some(market.symbol()) })
        .await
        .map_err(|error| mailbox_error(&error))?;
    let command = BookCommand::CancelAll(CancelAccountOrders { account_id });
    let outcome = submit(core, market, command).await?;
    let canceled_at: BTreeMap<OrderId, u64> = outcome
        .events
        .iter()
        .filter_map(|event| match event.kind {
            EventKind::Canceled(canceled) => Some((canceled.order_id, event.ts_ns)),
            _ => None,
        })
        .collect();
    let bodies: Vec<Value> = orders
        .into_iter()
        .filter_map(|mut order| {
            order.updated_ts_ns = *canceled_at.get(&order.order_id)?;
            order.status = OrderStatus::Canceled;
            Some(canceled_body(&order, market, &generated_cancel_id()))
        })
        .collect();
    Ok(bodies)
}

/// Cancels every open order of `account_id` (in `symbol` only, when given) created at or
/// before `created_ns_max` (cancel on disconnect: orders placed after the drop, e.g. over a new
/// connection, stay; the dead man's switch: orders placed after it fired stay): one bulk
/// cancel per market when `bulk`, else one cancel per order. Returns how many were canceled.
pub async fn cancel_account_orders(
    state: &ApiState,
    core: &TradingCore,
    account_id: AccountId,
    symbol: Option<SymbolCode>,
    created_ns_max: u64,
    bulk: bool,
) -> Result<usize, ApiError> {
    let orders: Vec<OrderRecord> = core
        .shard(account_id)
        .send(GetOpenOrders { account_id, symbol })
        .await
        .map_err(|error| mailbox_error(&error))?
        .into_iter()
        .filter(|order| order.created_ts_ns <= created_ns_max)
        .collect();
    let markets = state.markets();
    let mut canceled = 0;
    if bulk {
        let symbols = orders.iter().map(|order| order.symbol).collect();
        return Ok(cancel_all_of_markets(core, &markets, account_id, &symbols).await?.len());
    }
    for order in orders {
        let Some(market) = markets.get(order.symbol.as_str()) else { continue };
        let target = OrderRef::Id(order.order_id);
        // Ended meanwhile (-2011) is fine: it is not open any more.
        if cancel_one(core, account_id, market, target, CancelRestriction::Any).await.is_ok() {
            canceled += 1;
        }
    }
    Ok(canceled)
}

/// `GET /api/v3/account`'s answer. The commission fields are Binance's and always 0: fees
/// are per market (its maker and taker rates).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccountBody {
    maker_commission: u32,
    taker_commission: u32,
    buyer_commission: u32,
    seller_commission: u32,
    can_trade: bool,
    can_withdraw: bool,
    can_deposit: bool,
    brokered: bool,
    require_self_trade_prevention: bool,
    prevent_sor: bool,
    update_time: u64,
    account_type: &'static str,
    /// Each asset's available (`free`) and held (`locked`) amount.
    #[schema(value_type = Vec<BalanceBody>)]
    balances: Vec<serde_json::Value>,
    permissions: [&'static str; 1],
    /// The account id.
    uid: u64,
}

/// Account information: balances.
#[utoipa::path(
    get,
    path = "/api/v3/account",
    tag = "trading",
    params(SignedFields),
    responses(
        (status = 200, description = "The account and its balances.", body = AccountBody),
        (status = 400, description = refused(&[SIGNED]), body = ErrorBody),
        (status = 401, description = refused(&[SIGNED_401]), body = ErrorBody),
        (status = 503, description = UNAVAILABLE, body = ErrorBody),
    ),
    security(("apiKey" = [], "signature" = []))
)]
async fn account(
    auth: Authenticated,
    state: web::Data<ApiState>,
    core: web::Data<TradingCore>,
) -> Result<HttpResponse, ApiError> {
    let balances = super::admin::balances(&core, auth.account_id).await?;
    Ok(HttpResponse::Ok().json(AccountBody {
        maker_commission: 0,
        taker_commission: 0,
        buyer_commission: 0,
        seller_commission: 0,
        can_trade: true,
        can_withdraw: true,
        can_deposit: true,
        brokered: false,
        require_self_trade_prevention: false,
        prevent_sor: false,
        update_time: state.now_ms(),
        account_type: "SPOT",
        balances,
        permissions: ["SPOT"],
        uid: auth.account_id.0,
    }))
}

/// The order `order` names as last journaled, for one the shard no longer holds.
async fn stored_order(
    core: &TradingCore,
    account_id: AccountId,
    symbol: SymbolCode,
    order: OrderRef,
) -> Result<Option<OrderRecord>, ApiError> {
    let (order_id, client_order_id) = order.parts();
    // Ids past BIGINT were never issued.
    if order_id.is_some_and(|id| i64::try_from(id.0).is_err()) {
        return Ok(None);
    }
    core.project_shard_of(account_id).await?;
    core.store
        .stored_order(account_id, symbol, order_id, client_order_id)
        .await
        .map_err(|error| store_error(&error))
}
