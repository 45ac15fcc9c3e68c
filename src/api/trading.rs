//! The signed trading routes: place, cancel, query orders; cancel all; the account.
//! New orders go to the account's shard; cancels go straight to the book (the shard settles
//! them from the book's events).

use actix_web::{HttpResponse, web};
use exchange_actors::account::actor::GetOpenOrders;
use exchange_actors::account::{OrderRecord, OrderStatus};
use exchange_actors::model::{
    AccountId, BookCommand, CancelAccountOrders, EventKind, OrderId, SymbolCode,
};

use super::auth::Authenticated;
use super::core::{TradingCore, mailbox_error, store_error};
use super::errors::ApiError;
use super::order_view::OrderBody;
use super::params::{OrderRef, market, order_lookup, place_params};
use super::placing::{
    cancel_one, cancel_restriction, canceled_body, known_order, place_one, submit,
};
use super::state::ApiState;

/// Mounts the signed routes; [`ApiState`] and [`TradingCore`] must be app data.
pub fn configure_trading(config: &mut web::ServiceConfig) {
    config
        .route("/api/v3/order", web::post().to(place))
        .route("/api/v3/order", web::delete().to(cancel))
        .route("/api/v3/order", web::get().to(query))
        .route("/api/v3/openOrders", web::get().to(open_orders))
        .route("/api/v3/openOrders", web::delete().to(cancel_open_orders))
        .route("/api/v3/allOrders", web::get().to(super::all_orders::all_orders))
        .route("/api/v3/order/cancelReplace", web::post().to(super::cancel_replace::cancel_replace))
        .route("/api/v3/batchOrders", web::post().to(super::batch_orders::place_batch))
        .route("/api/v3/batchOrders", web::delete().to(super::batch_orders::cancel_batch))
        .route("/api/v3/account", web::get().to(account));
}

async fn place(
    auth: Authenticated,
    state: web::Data<ApiState>,
    core: web::Data<TradingCore>,
) -> Result<HttpResponse, ApiError> {
    let now_ns = state.clock.now_ns();
    let placed = place_params(&auth.params, &state.markets, auth.account_id, now_ns)?;
    let market = market(&auth.params, &state.markets)?;
    let body = place_one(&core, auth.account_id, placed, market).await?;
    Ok(HttpResponse::Ok().json(body))
}

async fn cancel(
    auth: Authenticated,
    state: web::Data<ApiState>,
    core: web::Data<TradingCore>,
) -> Result<HttpResponse, ApiError> {
    let lookup = order_lookup(&auth.params, &state.markets)?;
    let restriction = cancel_restriction(&auth.params, "cancelRestrictions")?;
    let order =
        cancel_one(&core, auth.account_id, lookup.market, lookup.order, restriction).await?;
    Ok(HttpResponse::Ok().json(canceled_body(&order, lookup.market)))
}

async fn query(
    auth: Authenticated,
    state: web::Data<ApiState>,
    core: web::Data<TradingCore>,
) -> Result<HttpResponse, ApiError> {
    let lookup = order_lookup(&auth.params, &state.markets)?;
    let symbol = lookup.market.symbol();
    let known = known_order(&core, auth.account_id, lookup.order).await?;
    let order = match known {
        Some(order) => Some(order),
        // Closed long ago: the shard forgot it, the database has its last state.
        None => stored_order(&core, auth.account_id, symbol, lookup.order).await?,
    };
    let order = order.filter(|order| order.symbol == symbol).ok_or_else(ApiError::no_such_order)?;
    Ok(HttpResponse::Ok().json(OrderBody::new(&order, lookup.market)))
}

async fn open_orders(
    auth: Authenticated,
    state: web::Data<ApiState>,
    core: web::Data<TradingCore>,
) -> Result<HttpResponse, ApiError> {
    let symbol = match auth.params.get("symbol") {
        Some(_) => Some(market(&auth.params, &state.markets)?.symbol()),
        None => None,
    };
    let orders = core
        .shard(auth.account_id)
        .send(GetOpenOrders { account_id: auth.account_id, symbol })
        .await
        .map_err(|error| mailbox_error(&error))?;
    let bodies: Vec<OrderBody> = orders
        .iter()
        .filter_map(|order| {
            let market = state.markets.iter().find(|market| market.symbol() == order.symbol)?;
            Some(OrderBody::new(order, market))
        })
        .collect();
    Ok(HttpResponse::Ok().json(bodies))
}

async fn cancel_open_orders(
    auth: Authenticated,
    state: web::Data<ApiState>,
    core: web::Data<TradingCore>,
) -> Result<HttpResponse, ApiError> {
    let market = market(&auth.params, &state.markets)?;
    let orders = core
        .shard(auth.account_id)
        .send(GetOpenOrders { account_id: auth.account_id, symbol: Some(market.symbol()) })
        .await
        .map_err(|error| mailbox_error(&error))?;
    let command = BookCommand::CancelAll(CancelAccountOrders { account_id: auth.account_id });
    let outcome = submit(&core, market, command).await?;
    let canceled: Vec<OrderId> = outcome
        .events
        .iter()
        .filter_map(|event| match event.kind {
            EventKind::Canceled(canceled) => Some(canceled.order_id),
            _ => None,
        })
        .collect();
    let bodies: Vec<OrderBody> = orders
        .into_iter()
        .filter(|order| canceled.contains(&order.order_id))
        .map(|mut order| {
            order.status = OrderStatus::Canceled;
            OrderBody::new(&order, market)
        })
        .collect();
    Ok(HttpResponse::Ok().json(bodies))
}

async fn account(
    auth: Authenticated,
    state: web::Data<ApiState>,
    core: web::Data<TradingCore>,
) -> Result<HttpResponse, ApiError> {
    let balances = super::admin::balances(&core, auth.account_id).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "makerCommission": 0, "takerCommission": 0, "buyerCommission": 0, "sellerCommission": 0,
        "canTrade": true, "canWithdraw": true, "canDeposit": true, "brokered": false,
        "requireSelfTradePrevention": false, "preventSor": false,
        "updateTime": state.now_ms(), "accountType": "SPOT",
        "balances": balances, "permissions": ["SPOT"], "uid": auth.account_id.0,
    })))
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
