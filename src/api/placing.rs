//! New orders and cancels as the routes share them: sending new orders to the account's
//! shard, an order the shard knows (or `None`), one cancel through the book, and the Binance
//! answers to each (ACK / RESULT / FULL for a new order, the cancel body, `{code, msg}` for a
//! refusal inside a list). Used by `order`, `batchOrders` and `order/cancelReplace`.

use exchange_actors::account::actor::{GetOrder, PlaceOrders, PlacedOrder, ShardError};
use exchange_actors::account::{
    AccountReject, OrderRecord, OrderStatus, PlaceRequest, TakerFill, order_after_own_events,
};
use exchange_actors::book::actor::{CommandOutcome, SubmitCommands};
use exchange_actors::model::{AccountId, BookCommand, CancelOrder};
use serde::Serialize;
use serde_json::{Value, json};

use super::core::{TradingCore, mailbox_error, shard_error};
use super::errors::ApiError;
use super::order_view::OrderBody;
use super::param_set::Params;
use super::params::{OrderRef, PlaceParams, ResponseType};
use super::render;
use super::state::ApiMarket;

const NANOS_PER_MILLI: u64 = 1_000_000;

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

/// A refusal as an element of a list answer (batch routes, cancelReplace's `data`).
pub fn error_object(error: &ApiError) -> Value {
    json!({ "code": error.code(), "msg": error.msg() })
}

/// The answer to a new order its book took, or the book's refusal.
pub fn placed_body(
    placed: &PlacedOrder,
    market: &ApiMarket,
    response_type: ResponseType,
) -> Result<Value, ApiError> {
    if let Err(reason) = placed.outcome.result {
        return Err(reason.into());
    }
    // The shard settles these events from the bus later; answer from them now.
    let (record, fills) =
        order_after_own_events(&placed.pending, &market.ledger, &placed.outcome.events);
    let body = OrderBody::new(&record, market);
    let transact_time = record.updated_ts_ns / NANOS_PER_MILLI;
    if response_type == ResponseType::Ack {
        return Ok(json!({
            "symbol": body.symbol, "orderId": body.order_id, "orderListId": -1,
            "clientOrderId": body.client_order_id, "transactTime": transact_time,
        }));
    }
    let mut value = serde_json::to_value(&body).map_err(|e| ApiError::internal(e.to_string()))?;
    if let Some(object) = value.as_object_mut() {
        object.insert("transactTime".into(), transact_time.into());
        if response_type == ResponseType::Full {
            let fills = serde_json::to_value(fill_bodies(&fills, market))
                .map_err(|e| ApiError::internal(e.to_string()))?;
            object.insert("fills".into(), fills);
        }
    }
    Ok(value)
}

/// The answer to a cancel: the order as it stood, now CANCELED, with Binance's cancel fields.
pub fn canceled_body(order: &OrderRecord, market: &ApiMarket) -> Value {
    let mut value = serde_json::to_value(OrderBody::new(order, market)).unwrap_or_default();
    if let Some(object) = value.as_object_mut() {
        object.insert("origClientOrderId".into(), order.client_order_id.as_str().into());
        object.insert("transactTime".into(), (order.updated_ts_ns / NANOS_PER_MILLI).into());
    }
    value
}

/// Sends `requests` (at most the shard's message bound) to the account's shard in one
/// `PlaceOrders` message; one answer per request, in order.
pub async fn place_orders(
    core: &TradingCore,
    account_id: AccountId,
    requests: Vec<PlaceRequest>,
) -> Result<Vec<Result<PlacedOrder, ApiError>>, ApiError> {
    let count = requests.len();
    let answers = core
        .shard(account_id)
        .send(PlaceOrders(requests))
        .await
        .map_err(|error| mailbox_error(&error))?;
    if answers.len() != count {
        // Only a refusal of the whole message answers with another count.
        let error = answers.into_iter().find_map(Result::err).map_or_else(
            || ApiError::internal("the shard answered a different number of orders"),
            shard_error,
        );
        return Err(error);
    }
    Ok(answers.into_iter().map(|answer| answer.map_err(shard_error)).collect())
}

/// Places one order and answers it as `POST /api/v3/order` does.
pub async fn place_one(
    core: &TradingCore,
    account_id: AccountId,
    placed: PlaceParams,
    market: &ApiMarket,
) -> Result<Value, ApiError> {
    let mut answers = place_orders(core, account_id, vec![placed.request]).await?;
    let answer = answers.pop().ok_or_else(|| ApiError::internal("no answer"))?;
    placed_body(&answer?, market, placed.response_type)
}

/// The order `order` names if the shard holds it for `account_id`; `None` when it does not
/// (unknown, another account's, or closed long ago: the caller may look in the database).
pub async fn known_order(
    core: &TradingCore,
    account_id: AccountId,
    order: OrderRef,
) -> Result<Option<OrderRecord>, ApiError> {
    let (order_id, client_order_id) = order.parts();
    let answer = core
        .shard(account_id)
        .send(GetOrder { account_id, order_id, client_order_id })
        .await
        .map_err(|error| mailbox_error(&error))?;
    match answer {
        Ok(order) => Ok(Some(order)),
        Err(ShardError::Rejected(AccountReject::UnknownOrder(_) | AccountReject::NotOwner(_))) => {
            Ok(None)
        }
        Err(error) => Err(shard_error(error)),
    }
}

/// Submits one command to the book of `market` and waits until it is journaled.
pub async fn submit(
    core: &TradingCore,
    market: &ApiMarket,
    command: BookCommand,
) -> Result<CommandOutcome, ApiError> {
    let book = core.books.book(&market.spec.symbol).ok_or_else(ApiError::invalid_symbol)?;
    let mut outcomes =
        book.send(SubmitCommands(vec![command])).await.map_err(|error| mailbox_error(&error))??;
    outcomes.pop().ok_or_else(|| ApiError::internal("no answer"))
}

/// Which orders a cancel may end (Binance's `cancelRestrictions`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CancelRestriction {
    Any,
    OnlyNew,
    OnlyPartiallyFilled,
}

impl CancelRestriction {
    fn allows(self, status: OrderStatus) -> bool {
        match self {
            CancelRestriction::Any => true,
            // PENDING shows as NEW to clients.
            CancelRestriction::OnlyNew => matches!(status, OrderStatus::New | OrderStatus::Pending),
            CancelRestriction::OnlyPartiallyFilled => status == OrderStatus::PartiallyFilled,
        }
    }
}

/// `name` (`cancelRestrictions` or cancelReplace's alias) as a [`CancelRestriction`].
pub fn cancel_restriction(params: &Params, name: &str) -> Result<CancelRestriction, ApiError> {
    match params.optional(name)? {
        None => Ok(CancelRestriction::Any),
        Some("ONLY_NEW") => Ok(CancelRestriction::OnlyNew),
        Some("ONLY_PARTIALLY_FILLED") => Ok(CancelRestriction::OnlyPartiallyFilled),
        Some(_) => Err(ApiError::invalid_parameter(name)),
    }
}

/// Cancels one open order of `account_id` on `market` and returns it as canceled. Every way
/// of not finding it open (unknown, another account's, another symbol's, already ended, not
/// in the book) is Binance's -2011 "Unknown order sent.".
pub async fn cancel_one(
    core: &TradingCore,
    account_id: AccountId,
    market: &ApiMarket,
    order: OrderRef,
    restriction: CancelRestriction,
) -> Result<OrderRecord, ApiError> {
    let known = known_order(core, account_id, order).await?;
    let Some(mut order) = known.filter(|order| order.symbol == market.symbol()) else {
        return Err(ApiError::unknown_order_sent());
    };
    if order.status.is_terminal() {
        return Err(ApiError::unknown_order_sent());
    }
    if !restriction.allows(order.status) {
        return Err(ApiError::cancel_restricted());
    }
    let command = BookCommand::Cancel(CancelOrder { account_id, order_id: order.order_id });
    let outcome = submit(core, market, command).await?;
    if outcome.result.is_err() {
        return Err(ApiError::unknown_order_sent());
    }
    order.status = OrderStatus::Canceled;
    if let Some(event) = outcome.events.last() {
        order.updated_ts_ns = event.ts_ns;
    }
    Ok(order)
}
