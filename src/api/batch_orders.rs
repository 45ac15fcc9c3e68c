//! Extensions in Binance's conventions (signed; parameters in the query, a form or a JSON
//! body), both answering per entry in request order with the success body or Binance's
//! `{"code", "msg"}`:
//! - `POST /api/v3/batchOrders`: `batchOrders`, a JSON array of up to [`BATCH_PLACE_MAX`]
//!   objects with `POST /api/v3/order`'s parameters, placed through one `PlaceOrders` message
//!   to the account's shard (in order: a repeated client id in the batch is a duplicate).
//! - `DELETE /api/v3/batchOrders`: `symbol` and `orderIds`, a JSON array of up to
//!   [`BATCH_CANCEL_MAX`] ids, canceled by one `CancelMany` book command (one journal commit).
//!   Ids the shard does not hold open on this symbol for this account are answered -2011
//!   without the book; the book refuses another account's ids too, so nothing else changes.

use std::collections::{BTreeMap, BTreeSet};

use actix_web::{HttpResponse, web};
use exchange_actors::account::OrderRecord;
use exchange_actors::account::actor::{GetOrdersById, ORDERS_BY_ID_MAX, PlacedOrder};
use exchange_actors::model::{AccountId, BookCommand, CancelOrders, EventKind, OrderId};
use serde_json::Value;

use super::auth::Authenticated;
use super::core::{TradingCore, mailbox_error, shard_error};
use super::errors::{ApiError, code};
use super::openapi::{ErrorBody, ORDER, SIGNED, SIGNED_401, UNAVAILABLE, refused};
use super::param_set::{Params, parse_whole};
use super::params::{PlaceParams, market, place_params};
use super::placing::{
    CancelAnswer, NewOrderAnswer, canceled_body, error_object, generated_cancel_id, place_orders,
    placed_body, submit,
};
use super::request_schemas::{BatchCancelRequest, BatchPlaceRequest};
use super::state::{ApiMarket, ApiMarkets, ApiState};

/// Most orders one `POST /api/v3/batchOrders` places.
pub const BATCH_PLACE_MAX: usize = 100;
/// Most ids one `DELETE /api/v3/batchOrders` cancels.
pub const BATCH_CANCEL_MAX: usize = 10_000;
const _: () = assert!(BATCH_CANCEL_MAX <= ORDERS_BY_ID_MAX);

/// `name` as a JSON array of 1 to `count_max` values.
fn json_array(params: &Params, name: &str, count_max: usize) -> Result<Vec<Value>, ApiError> {
    let text = params.required(name)?;
    let values: Vec<Value> =
        serde_json::from_str(text).map_err(|_| ApiError::invalid_parameter(name))?;
    if values.is_empty() {
        return Err(ApiError::mandatory(name));
    }
    if values.len() > count_max {
        return Err(ApiError::too_many_values(name, count_max));
    }
    Ok(values)
}

/// `orderIds`: ids as JSON numbers or digit strings.
pub fn order_ids(params: &Params) -> Result<Vec<OrderId>, ApiError> {
    let values = json_array(params, "orderIds", BATCH_CANCEL_MAX)?;
    values
        .iter()
        .map(|value| {
            let id = match value {
                Value::Number(number) => number.as_u64(),
                Value::String(text) => parse_whole("orderIds", text).ok(),
                _ => None,
            };
            id.map(OrderId).ok_or_else(|| ApiError::invalid_parameter("orderIds"))
        })
        .collect()
}

/// `batchOrders`: each entry checked on its own; a malformed entry refuses only itself.
pub fn batch_place_params(
    params: &Params,
    markets: &ApiMarkets,
    account_id: AccountId,
    ts_ns: u64,
) -> Result<Vec<Result<PlaceParams, ApiError>>, ApiError> {
    let entries = json_array(params, "batchOrders", BATCH_PLACE_MAX)?;
    let parsed = entries.into_iter().map(|entry| match entry {
        Value::Object(object) => Params::from_json_object(object)
            .and_then(|entry| place_params(&entry, markets, account_id, ts_ns)),
        _ => Err(ApiError::invalid_parameter("batchOrders")),
    });
    Ok(parsed.collect())
}

/// One answer per entry: `answers` holds the shard's answers to the entries that parsed, in
/// order.
pub fn batch_place_answers(
    parsed: &[Result<PlaceParams, ApiError>],
    answers: Vec<Result<PlacedOrder, ApiError>>,
    markets: &ApiMarkets,
) -> Vec<Value> {
    let mut answers = answers.into_iter();
    parsed
        .iter()
        .map(|entry| {
            let placed = entry.as_ref().map_err(Clone::clone).and_then(|placed| {
                let answer = answers.next().ok_or_else(|| ApiError::internal("no answer"))??;
                let market = markets
                    .get(placed.request.symbol.as_str())
                    .ok_or_else(ApiError::invalid_symbol)?;
                placed_body(&answer, market, placed.response_type)
            });
            placed.unwrap_or_else(|error| error_object(&error))
        })
        .collect()
}

/// One answer per id of a bulk cancel. `known[i]` is the shard's record of `ids[i]` (`None`:
/// it holds none for this account); `canceled` maps each id the book canceled to the cancel's
/// time. A repeated id is answered once as canceled, then -2011.
pub fn bulk_cancel_answers(
    ids: &[OrderId],
    known: &[Option<OrderRecord>],
    canceled: &BTreeMap<OrderId, u64>,
    market: &ApiMarket,
) -> Vec<Value> {
    debug_assert_eq!(ids.len(), known.len());
    let mut answered = BTreeSet::new();
    ids.iter()
        .zip(known)
        .map(|(order_id, record)| {
            let canceled_at = canceled.get(order_id).filter(|_| answered.insert(*order_id));
            match (record, canceled_at) {
                (Some(record), Some(ts_ns)) => {
                    let mut order = *record;
                    order.status = exchange_actors::account::OrderStatus::Canceled;
                    order.updated_ts_ns = *ts_ns;
                    canceled_body(&order, market, &generated_cancel_id())
                }
                _ => error_object(&ApiError::unknown_order_sent()),
            }
        })
        .collect()
}

/// The ids worth sending to the book: open orders of `market` the shard holds for the
/// account, each once, in request order.
fn cancelable(ids: &[OrderId], known: &[Option<OrderRecord>], market: &ApiMarket) -> Vec<OrderId> {
    let mut seen = BTreeSet::new();
    ids.iter()
        .zip(known)
        .filter(|(_, record)| {
            record
                .is_some_and(|order| order.symbol == market.symbol() && !order.status.is_terminal())
        })
        .filter(|(order_id, _)| seen.insert(**order_id))
        .map(|(order_id, _)| *order_id)
        .collect()
}

/// Place up to 100 orders (extension).
///
/// One message to the account's shard, in order (a repeated client id in the batch is a
/// duplicate). Each entry is answered on its own, in request order: the order (as
/// `POST /api/v3/order` answers it) or its refusal.
#[utoipa::path(
    post,
    path = "/api/v3/batchOrders",
    tag = "trading",
    request_body(description = "The orders (the signature in the query string).", content(
        (BatchPlaceRequest = "application/x-www-form-urlencoded"),
        (BatchPlaceRequest = "application/json"),
    )),
    responses(
        (status = 200, description = "One answer per entry, in order.", body = Vec<NewOrderAnswer>),
        (status = 400, description = refused(&[SIGNED, &[code::INVALID_PARAMETER], ORDER]),
            body = ErrorBody),
        (status = 401, description = refused(&[SIGNED_401]), body = ErrorBody),
        (status = 429, description = refused(&[&[code::SERVER_BUSY]]), body = ErrorBody),
        (status = 503, description = UNAVAILABLE, body = ErrorBody),
    ),
    security(("apiKey" = [], "signature" = []))
)]
pub async fn place_batch(
    auth: Authenticated,
    state: web::Data<ApiState>,
    core: web::Data<TradingCore>,
) -> Result<HttpResponse, ApiError> {
    let now_ns = state.clock.now_ns();
    let markets = state.markets();
    let parsed = batch_place_params(&auth.params, &markets, auth.account_id, now_ns)?;
    let requests: Vec<_> = parsed
        .iter()
        .filter_map(|entry| entry.as_ref().ok().map(|placed| placed.request))
        .collect();
    let answers = if requests.is_empty() {
        Vec::new()
    } else {
        place_orders(&core, auth.account_id, requests).await?
    };
    Ok(HttpResponse::Ok().json(batch_place_answers(&parsed, answers, &markets)))
}

/// Cancel up to 10,000 orders of a market (extension).
///
/// One book command, one journal commit. Each id is answered in request order: the canceled
/// order, or -2011 for an id this account has no open order of on this market (a repeated id
/// is answered once as canceled, then -2011).
#[utoipa::path(
    delete,
    path = "/api/v3/batchOrders",
    tag = "trading",
    request_body(description = "The ids (or in the query string; the signature in the query \
        string).", content(
        (BatchCancelRequest = "application/x-www-form-urlencoded"),
        (BatchCancelRequest = "application/json"),
    )),
    responses(
        (status = 200, description = "One answer per id, in order.", body = Vec<CancelAnswer>),
        (status = 400, description = refused(&[SIGNED, &[
            code::BAD_SYMBOL, code::INVALID_PARAMETER,
        ]]), body = ErrorBody),
        (status = 401, description = refused(&[SIGNED_401]), body = ErrorBody),
        (status = 429, description = refused(&[&[code::SERVER_BUSY]]), body = ErrorBody),
        (status = 503, description = UNAVAILABLE, body = ErrorBody),
    ),
    security(("apiKey" = [], "signature" = []))
)]
pub async fn cancel_batch(
    auth: Authenticated,
    state: web::Data<ApiState>,
    core: web::Data<TradingCore>,
) -> Result<HttpResponse, ApiError> {
    let markets = state.markets();
    let market = market(&auth.params, &markets)?;
    let ids = order_ids(&auth.params)?;
    let account_id = auth.account_id;
    let known = core
        .shard(account_id)
        .send(GetOrdersById { account_id, order_ids: ids.clone() })
        .await
        .map_err(|error| mailbox_error(&error))?
        .map_err(shard_error)?;
    let order_ids = cancelable(&ids, &known, market);
    let mut canceled = BTreeMap::new();
    if !order_ids.is_empty() {
        let command = BookCommand::CancelMany(CancelOrders { account_id, order_ids });
        let outcome = submit(&core, market, command).await?;
        for event in &outcome.events {
            if let EventKind::Canceled(cancel) = event.kind
                && cancel.account_id == account_id
            {
                canceled.insert(cancel.order_id, event.ts_ns);
            }
        }
    }
    Ok(HttpResponse::Ok().json(bulk_cancel_answers(&ids, &known, &canceled, market)))
}

#[cfg(test)]
mod tests;
