//! The signed trading routes: place, cancel, query orders; cancel all; the account.
//! New orders go to the account's shard; cancels go straight to the book (the shard settles
//! them from the book's events).

use actix_web::{HttpResponse, web};
use exchange_actors::account::actor::{GetOpenOrders, GetOrder, PlaceOrders};
use exchange_actors::account::{OrderRecord, OrderStatus, TakerFill, order_after_own_events};
use exchange_actors::book::actor::{CommandOutcome, SubmitCommands};
use exchange_actors::model::{
    AccountId, BookCommand, CancelAccountOrders, CancelOrder, EventKind, OrderId,
};
use serde::Serialize;

use super::auth::Authenticated;
use super::core::{TradingCore, mailbox_error, shard_error};
use super::errors::ApiError;
use super::order_view::OrderBody;
use super::params::{OrderRef, ResponseType, market, order_lookup, place_params};
use super::render;
use super::state::{ApiMarket, ApiState};

/// Mounts the signed routes; [`ApiState`] and [`TradingCore`] must be app data.
pub fn configure_trading(config: &mut web::ServiceConfig) {
    config
        .route("/api/v3/order", web::post().to(place))
        .route("/api/v3/order", web::delete().to(cancel))
        .route("/api/v3/order", web::get().to(query))
        .route("/api/v3/openOrders", web::get().to(open_orders))
        .route("/api/v3/openOrders", web::delete().to(cancel_open_orders))
        .route("/api/v3/account", web::get().to(account));
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct FillBody {
    price: String,
    qty: String,
    commission: String,
    commission_asset: String,
    trade_id: u64,
}

/// Binance's `fills` entries for `fills`.
fn fill_bodies(fills: &[TakerFill], market: &ApiMarket) -> Vec<FillBody> {
    let ledger = &market.ledger;
    fills
        .iter()
        .map(|fill| {
            let scale = if fill.commission_asset == ledger.base {
                ledger.base_scale
            } else {
                ledger.quote_scale
            };
            FillBody {
                price: render::price(&market.spec, fill.price),
                qty: render::qty(&market.spec, fill.qty),
                commission: render::minor_units(fill.commission, scale),
                commission_asset: fill.commission_asset.to_string(),
                trade_id: fill.trade_id.0,
            }
        })
        .collect()
}

async fn place(
    auth: Authenticated,
    state: web::Data<ApiState>,
    core: web::Data<TradingCore>,
) -> Result<HttpResponse, ApiError> {
    let now_ns = state.clock.now_ns();
    let placed = place_params(&auth.params, &state.markets, auth.account_id, now_ns)?;
    let market = market(&auth.params, &state.markets)?;
    let request = placed.request;
    let mut answers = core
        .shard(auth.account_id)
        .send(PlaceOrders(vec![request]))
        .await
        .map_err(|error| mailbox_error(&error))?;
    let answer = answers.pop().ok_or_else(|| ApiError::internal("no answer"))?;
    let placed_order = answer.map_err(shard_error)?;
    if let Err(reason) = placed_order.outcome.result {
        return Err(reason.into());
    }
    // The shard settles these events from the bus later; answer from them now.
    let (record, fills) =
        order_after_own_events(&placed_order.pending, &market.ledger, &placed_order.outcome.events);
    let fills = fill_bodies(&fills, market);
    let body = OrderBody::new(&record, market);
    let transact_time = record.updated_ts_ns / 1_000_000;
    let json = match placed.response_type {
        ResponseType::Ack => serde_json::json!({
            "symbol": body.symbol, "orderId": body.order_id, "orderListId": -1,
            "clientOrderId": body.client_order_id, "transactTime": transact_time,
        }),
        ResponseType::Result | ResponseType::Full => {
            let mut value = serde_json::to_value(&body).unwrap_or_default();
            if let Some(object) = value.as_object_mut() {
                object.insert("transactTime".into(), transact_time.into());
                if placed.response_type == ResponseType::Full {
                    object.insert("fills".into(), serde_json::to_value(&fills).unwrap_or_default());
                }
            }
            value
        }
    };
    Ok(HttpResponse::Ok().json(json))
}

async fn find_order(
    core: &TradingCore,
    account_id: AccountId,
    order: OrderRef,
) -> Result<OrderRecord, ApiError> {
    let (order_id, client_order_id) = match order {
        OrderRef::Id(id) => (Some(id), None),
        OrderRef::Client(client) => (None, Some(client)),
    };
    core.shard(account_id)
        .send(GetOrder { account_id, order_id, client_order_id })
        .await
        .map_err(|error| mailbox_error(&error))?
        .map_err(shard_error)
}

async fn submit(
    core: &TradingCore,
    symbol: &str,
    command: BookCommand,
) -> Result<CommandOutcome, ApiError> {
    let book = core.books.book(symbol).ok_or_else(ApiError::invalid_symbol)?;
    let mut outcomes =
        book.send(SubmitCommands(vec![command])).await.map_err(|error| mailbox_error(&error))??;
    outcomes.pop().ok_or_else(|| ApiError::internal("no answer"))
}

async fn cancel(
    auth: Authenticated,
    state: web::Data<ApiState>,
    core: web::Data<TradingCore>,
) -> Result<HttpResponse, ApiError> {
    let lookup = order_lookup(&auth.params, &state.markets)?;
    let mut order = find_order(&core, auth.account_id, lookup.order).await?;
    if order.symbol != lookup.market.symbol() {
        return Err(ApiError::no_such_order());
    }
    if order.status.is_terminal() {
        return Err(ApiError::unknown_order_sent());
    }
    let command =
        BookCommand::Cancel(CancelOrder { account_id: auth.account_id, order_id: order.order_id });
    let outcome = submit(&core, &lookup.market.spec.symbol, command).await?;
    if outcome.result.is_err() {
        return Err(ApiError::unknown_order_sent());
    }
    order.status = OrderStatus::Canceled;
    if let Some(event) = outcome.events.last() {
        order.updated_ts_ns = event.ts_ns;
    }
    Ok(HttpResponse::Ok().json(OrderBody::new(&order, lookup.market)))
}

async fn query(
    auth: Authenticated,
    state: web::Data<ApiState>,
    core: web::Data<TradingCore>,
) -> Result<HttpResponse, ApiError> {
    let lookup = order_lookup(&auth.params, &state.markets)?;
    let order = find_order(&core, auth.account_id, lookup.order).await?;
    if order.symbol != lookup.market.symbol() {
        return Err(ApiError::no_such_order());
    }
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
    let outcome = submit(&core, &market.spec.symbol, command).await?;
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
