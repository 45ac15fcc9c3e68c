//! New orders and cancels as the routes share them: sending new orders to the account's
//! shard, an order the shard knows (or `None`), one cancel through the book, and the Binance
//! answers to each (ACK / RESULT / FULL for a new order, the cancel body, `{code, msg}` for a
//! refusal inside a list). Used by `order`, `batchOrders` and `order/cancelReplace`.

use exchange_actors::account::actor::{GetOrder, PlaceOrders, PlacedOrder, ShardError};
use exchange_actors::account::{
    AccountReject, OrderRecord, OrderStatus, PlaceRequest, TakerFill, order_after_own_events,
};
use exchange_actors::book::actor::{CommandOutcome, SubmitCommands};
use exchange_actors::model::{AccountId, BookCommand, CancelOrder, ClientOrderId};
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::core::{TradingCore, mailbox_error, shard_error};
use super::errors::ApiError;
use super::openapi::ErrorBody;
use super::order_view::OrderBody;
use super::param_set::Params;
use super::params::{CLIENT_ORDER_ID_LEGAL_RANGE, OrderRef, PlaceParams, ResponseType};
use super::render;
use super::state::ApiMarket;

pub const NANOS_PER_MILLI: u64 = 1_000_000;

/// One trade of a new order as taker (`newOrderRespType=FULL`).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FillBody {
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

/// The answer to a new order with `newOrderRespType=ACK`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderAck {
    symbol: String,
    order_id: u64,
    order_list_id: i64,
    client_order_id: String,
    transact_time: u64,
}

/// The answer to a new order with `newOrderRespType=RESULT`: the order as it stands.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderResult {
    #[serde(flatten)]
    order: OrderBody,
    transact_time: u64,
}

/// The answer to a new order with `newOrderRespType=FULL` (the default but for LIMIT_MAKER):
/// RESULT and its fills.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderFull {
    #[serde(flatten)]
    order: OrderBody,
    transact_time: u64,
    fills: Vec<FillBody>,
}

/// The answer to a new order, shaped by `newOrderRespType`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum NewOrderResponse {
    Full(OrderFull),
    Result(OrderResult),
    Ack(OrderAck),
}

/// The answer to a cancel: the order, now CANCELED.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CanceledOrder {
    #[serde(flatten)]
    order: OrderBody,
    orig_client_order_id: String,
    transact_time: u64,
}

/// A cancel's answer inside a list (`DELETE /api/v3/batchOrders`, cancelReplace's
/// `cancelResponse`): the canceled order or the refusal. Only describes those answers.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code, reason = "a schema for the OpenAPI document; the answers are built as JSON")]
pub enum CancelAnswer {
    Canceled(CanceledOrder),
    Refused(ErrorBody),
}

/// A new order's answer inside a list (`POST /api/v3/batchOrders`, cancelReplace's
/// `newOrderResponse`): the order or the refusal. Only describes those answers.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code, reason = "a schema for the OpenAPI document; the answers are built as JSON")]
pub enum NewOrderAnswer {
    Placed(NewOrderResponse),
    Refused(ErrorBody),
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
    let order = OrderBody::new(&record, market);
    let transact_time = record.updated_ts_ns / NANOS_PER_MILLI;
    let response = match response_type {
        ResponseType::Ack => NewOrderResponse::Ack(OrderAck {
            symbol: order.symbol,
            order_id: order.order_id,
            order_list_id: order.order_list_id,
            client_order_id: order.client_order_id,
            transact_time,
        }),
        ResponseType::Result => NewOrderResponse::Result(OrderResult { order, transact_time }),
        ResponseType::Full => NewOrderResponse::Full(OrderFull {
            order,
            transact_time,
            fills: fill_bodies(&fills, market),
        }),
    };
    serde_json::to_value(response).map_err(|error| ApiError::internal(error.to_string()))
}

/// The answer to a cancel: the order as it stood, now CANCELED, with Binance's cancel fields:
/// `origClientOrderId` is the order's own id, `clientOrderId` the cancel's (`cancel_id`).
pub fn canceled_body(order: &OrderRecord, market: &ApiMarket, cancel_id: &str) -> Value {
    let mut body = OrderBody::new(order, market);
    body.client_order_id = cancel_id.to_owned();
    let canceled = CanceledOrder {
        order: body,
        orig_client_order_id: order.client_order_id.as_str().to_owned(),
        transact_time: order.updated_ts_ns / NANOS_PER_MILLI,
    };
    serde_json::to_value(canceled).unwrap_or_default()
}

/// Characters of a generated cancel id (Binance generates 22).
const GENERATED_CANCEL_ID_LEN: usize = 22;

/// The id a cancel answers with as `clientOrderId`: the one the client sent in `param`
/// (`newClientOrderId` on DELETE order, `cancelNewClientOrderId` on cancelReplace; the rules of
/// a client order id), else a generated one, as Binance does.
pub fn cancel_client_order_id(params: &Params, param: &'static str) -> Result<String, ApiError> {
    match params.optional(param)? {
        Some(text) => ClientOrderId::new(text)
            .map(|id| id.as_str().to_owned())
            .map_err(|_| ApiError::illegal_characters(param, CLIENT_ORDER_ID_LEGAL_RANGE)),
        None => Ok(generated_cancel_id()),
    }
}

pub fn generated_cancel_id() -> String {
    use rand::Rng as _;
    let random = rand::thread_rng().sample_iter(&rand::distributions::Alphanumeric);
    random.take(GENERATED_CANCEL_ID_LEN).map(char::from).collect()
}

/// Sends `requests` (at most the shard's message bound) that the kill switches allow to the
/// account's shard in one `PlaceOrders` message; one answer per request, in order (a refused
/// request's answer is the switch's refusal).
pub async fn place_orders(
    core: &TradingCore,
    account_id: AccountId,
    requests: Vec<PlaceRequest>,
) -> Result<Vec<Result<PlacedOrder, ApiError>>, ApiError> {
    let verdicts = super::gate::check_new_orders(core, &requests).await;
    let allowed: Vec<PlaceRequest> = requests
        .into_iter()
        .zip(&verdicts)
        .filter_map(|(request, verdict)| verdict.is_ok().then_some(request))
        .collect();
    let count = allowed.len();
    let answers = if count == 0 {
        Vec::new()
    } else {
        core.shard(account_id)
            .send(PlaceOrders(allowed))
            .await
            .map_err(|error| mailbox_error(&error))?
    };
    if answers.len() != count {
        // Only a refusal of the whole message answers with another count.
        let error = answers.into_iter().find_map(Result::err).map_or_else(
            || ApiError::internal("the shard answered a different number of orders"),
            shard_error,
        );
        return Err(error);
    }
    // The shard's answers fill the places of the requests the switches let through.
    let mut answers = answers.into_iter();
    Ok(verdicts
        .into_iter()
        .map(|verdict| match verdict {
            Ok(()) => answers
                .next()
                .ok_or_else(|| ApiError::internal("missing answer"))?
                .map_err(shard_error),
            Err(refusal) => Err(refusal),
        })
        .collect())
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
    super::gate::check_command(core, &market.spec.symbol, &command)?;
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
