//! `POST /api/v3/order/cancelReplace`: cancels one order and places a new one on the same
//! symbol (ccxt's `edit_order`). The new order's parameters are checked first, so a filter
//! failure changes nothing. `cancelReplaceMode` STOP_ON_FAILURE places only after a successful
//! cancel; ALLOW_FAILURE places either way.
//!
//! Answers as Binance: 200 with both results when both succeeded; 409 with -2021 "Order
//! cancel-replace partially failed." when one did; 400 with -2022 "Order cancel-replace
//! failed." when none did. The error bodies carry both results in `data`.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use exchange_actors::model::{AccountId, ClientOrderId, OrderId};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::auth::Authenticated;
use super::core::TradingCore;
use super::errors::{ApiError, code};
use super::openapi::{ErrorBody, ORDER, SIGNED, SIGNED_401, UNAVAILABLE, refused};
use super::param_set::Params;
use super::params::{CLIENT_ORDER_ID_LEGAL_RANGE, OrderRef, market, place_params};
use super::placing::{
    CancelAnswer, NewOrderAnswer, cancel_client_order_id, cancel_one, cancel_restriction,
    canceled_body, error_object, known_order, place_one,
};
use super::request_schemas::CancelReplaceRequest;
use super::state::ApiState;

/// How long the new order waits for the shard to settle the cancel (release its hold), so it
/// can use the funds the canceled order held. Past that it is placed anyway.
const SETTLE_WAIT_MAX: Duration = Duration::from_millis(500);
const SETTLE_POLL: Duration = Duration::from_millis(2);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CancelReplaceMode {
    StopOnFailure,
    AllowFailure,
}

pub fn cancel_replace_mode(params: &Params) -> Result<CancelReplaceMode, ApiError> {
    match params.required("cancelReplaceMode")? {
        "STOP_ON_FAILURE" => Ok(CancelReplaceMode::StopOnFailure),
        "ALLOW_FAILURE" => Ok(CancelReplaceMode::AllowFailure),
        _ => Err(ApiError::invalid_parameter("cancelReplaceMode")),
    }
}

/// The order to cancel: `cancelOrderId` if sent, else `cancelOrigClientOrderId`.
pub fn cancel_target(params: &Params) -> Result<OrderRef, ApiError> {
    if let Some(order_id) = params.whole("cancelOrderId")? {
        return Ok(OrderRef::Id(OrderId(order_id)));
    }
    match params.optional("cancelOrigClientOrderId")? {
        Some(text) => ClientOrderId::new(text).map(OrderRef::Client).map_err(|_| {
            ApiError::illegal_characters("cancelOrigClientOrderId", CLIENT_ORDER_ID_LEGAL_RANGE)
        }),
        None => Err(ApiError::mandatory_one_of("cancelOrderId", "cancelOrigClientOrderId")),
    }
}

/// Both results of a cancel-replace: the answer when both succeeded, `data` otherwise.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CancelReplaceResults {
    /// SUCCESS or FAILURE.
    cancel_result: &'static str,
    /// SUCCESS, FAILURE or NOT_ATTEMPTED (STOP_ON_FAILURE after a failed cancel).
    new_order_result: &'static str,
    #[schema(value_type = CancelAnswer)]
    cancel_response: Value,
    /// null when not attempted.
    #[schema(value_type = Option<NewOrderAnswer>)]
    new_order_response: Option<Value>,
}

/// The answer when one half (409, -2021) or both (400, -2022) failed.
#[derive(Debug, Serialize, ToSchema)]
pub struct CancelReplaceFailure {
    code: i32,
    msg: &'static str,
    data: CancelReplaceResults,
}

/// A 400 of cancel-replace: both halves failed, or the request was refused before either.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code, reason = "a schema for the OpenAPI document; the answers are built as JSON")]
pub enum CancelReplaceRefusal {
    Failed(CancelReplaceFailure),
    Refused(ErrorBody),
}

fn result_name<T>(result: &Result<T, ApiError>) -> &'static str {
    if result.is_ok() { "SUCCESS" } else { "FAILURE" }
}

fn response(result: Result<Value, ApiError>) -> Value {
    result.unwrap_or_else(|error| error_object(&error))
}

/// Binance's status and body for a cancel result and a new order's (`None`: not attempted).
pub fn cancel_replace_answer(
    canceled: Result<Value, ApiError>,
    new_order: Option<Result<Value, ApiError>>,
) -> (StatusCode, Value) {
    let succeeded =
        usize::from(canceled.is_ok()) + usize::from(new_order.as_ref().is_some_and(Result::is_ok));
    let data = CancelReplaceResults {
        cancel_result: result_name(&canceled),
        new_order_result: new_order.as_ref().map_or("NOT_ATTEMPTED", result_name),
        cancel_response: response(canceled),
        new_order_response: new_order.map(response),
    };
    let (status, body) = match succeeded {
        2 => return (StatusCode::OK, serde_json::to_value(data).unwrap_or_default()),
        1 => (
            StatusCode::CONFLICT,
            CancelReplaceFailure {
                code: code::CANCEL_REPLACE_PARTIALLY_FAILED,
                msg: "Order cancel-replace partially failed.",
                data,
            },
        ),
        _ => (
            StatusCode::BAD_REQUEST,
            CancelReplaceFailure {
                code: code::CANCEL_REPLACE_FAILED,
                msg: "Order cancel-replace failed.",
                data,
            },
        ),
    };
    (status, serde_json::to_value(body).unwrap_or_default())
}

/// Waits (bounded) until the shard has settled the cancel of `order_id` from the book's events.
async fn await_settled(core: &TradingCore, account_id: AccountId, order_id: OrderId) {
    let deadline = tokio::time::Instant::now() + SETTLE_WAIT_MAX;
    while tokio::time::Instant::now() < deadline {
        match known_order(core, account_id, OrderRef::Id(order_id)).await {
            Ok(Some(order)) if !order.status.is_terminal() => {
                tokio::time::sleep(SETTLE_POLL).await;
            }
            _ => return,
        }
    }
}

/// Cancel an existing order and place a new order.
///
/// The new order's parameters are checked first, so a filter failure changes nothing.
/// STOP_ON_FAILURE places only after a successful cancel; ALLOW_FAILURE places either way.
#[utoipa::path(
    post,
    path = "/api/v3/order/cancelReplace",
    tag = "trading",
    request_body(description = "The parameters (or in the query string).", content(
        (CancelReplaceRequest = "application/x-www-form-urlencoded"),
        (CancelReplaceRequest = "application/json"),
    )),
    responses(
        (status = 200, description = "Both succeeded.", body = CancelReplaceResults),
        (status = 409, description = "One half failed (-2021); both results in `data`.",
            body = CancelReplaceFailure),
        (status = 400, description = format!(
            "Both halves failed (-2022; both results in `data`, a `CancelReplaceFailure`), or \
             the request was refused before either was tried.\n{}",
            refused(&[SIGNED, ORDER, &[code::CANCEL_REPLACE_FAILED]]),
        ), body = CancelReplaceRefusal),
        (status = 401, description = refused(&[SIGNED_401]), body = ErrorBody),
        (status = 503, description = UNAVAILABLE, body = ErrorBody),
    ),
    security(("apiKey" = [], "signature" = []))
)]
pub async fn cancel_replace(
    auth: Authenticated,
    state: web::Data<ApiState>,
    core: web::Data<TradingCore>,
) -> Result<HttpResponse, ApiError> {
    let (status, body) = cancel_replace_order(&state, &core, auth.account_id, &auth.params).await?;
    Ok(HttpResponse::build(status).json(body))
}

/// `POST /api/v3/order/cancelReplace` (and `order.cancelReplace`) for a checked request:
/// Binance's status and body, or a refusal before either half was tried.
pub async fn cancel_replace_order(
    state: &ApiState,
    core: &TradingCore,
    account_id: AccountId,
    params: &Params,
) -> Result<(StatusCode, Value), ApiError> {
    let mode = cancel_replace_mode(params)?;
    let target = cancel_target(params)?;
    let restriction = cancel_restriction(params, "cancelRestrictions")?;
    let cancel_id = cancel_client_order_id(params, "cancelNewClientOrderId")?;
    let markets = state.markets();
    let placed = place_params(params, &markets, account_id, state.clock.now_ns())?;
    let market = market(params, &markets)?;
    let canceled = cancel_one(core, account_id, market, target, restriction).await;
    if let Ok(order) = &canceled {
        await_settled(core, account_id, order.order_id).await;
    }
    let new_order = match (&canceled, mode) {
        (Err(_), CancelReplaceMode::StopOnFailure) => None,
        _ => Some(place_one(core, account_id, placed, market).await),
    };
    let canceled = canceled.map(|order| canceled_body(&order, market, &cancel_id));
    Ok(cancel_replace_answer(canceled, new_order))
}

#[cfg(test)]
mod tests;
