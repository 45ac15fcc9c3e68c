//! `GET /api/v3/allOrders`: an account's orders of one symbol (open, pending and ended), in
//! order id order, read from the journal's `orders` table in keyset pages and merged with what
//! the account's shard holds in memory, which wins: a row may lag its order by the batch being
//! committed, and an order whose first batch is not committed yet has no row at all.
//!
//! Binance's selection: with `orderId` (or `startTime`) the first `limit` orders from there
//! up; otherwise the `limit` most recent. Answers are always oldest first. Order ids grow with
//! time within an account (one shard issues them all), so the id is the keyset cursor.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, web};
use exchange_actors::account::OrderRecord;
use exchange_actors::account::actor::GetKnownOrders;
use exchange_actors::model::OrderId;

use super::auth::Authenticated;
use super::core::{TradingCore, mailbox_error, store_error};
use super::errors::{ApiError, code};
use super::openapi::{ErrorBody, HISTORY, SIGNED, SIGNED_401, UNAVAILABLE, refused};
use super::order_view::OrderBody;
use super::param_set::Params;
use super::params::market;
use super::request_schemas::SignedFields;
use super::state::ApiState;
use crate::store::OrderPageQuery;

pub const ALL_ORDERS_LIMIT_DEFAULT: usize = 500;
pub const ALL_ORDERS_LIMIT_MAX: usize = 1_000;
/// Binance's widest `startTime`..`endTime`.
pub const TIME_RANGE_MAX_MS: u64 = 24 * 60 * 60 * 1_000;

const NANOS_PER_MILLI: u64 = 1_000_000;
/// The latest time in ms whose last nanosecond still fits the store's BIGINT.
const TIME_MS_MAX: u64 = i64::MAX.unsigned_abs() / NANOS_PER_MILLI - 1;
// The page bound of the store covers the route's largest limit.
const _: () = assert!(ALL_ORDERS_LIMIT_MAX <= crate::store::ORDER_PAGE_ROWS_MAX as usize);

/// Which orders an `allOrders` request selects, times in ns (both bounds inclusive).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HistoryWindow {
    pub from_order_id: Option<OrderId>,
    pub created_from_ns: Option<u64>,
    pub created_to_ns: Option<u64>,
    pub limit: usize,
}

impl HistoryWindow {
    /// Binance reads up from `orderId` or `startTime`, else down from the newest.
    pub fn oldest_first(&self) -> bool {
        self.from_order_id.is_some() || self.created_from_ns.is_some()
    }

    pub fn contains(&self, order: &OrderRecord) -> bool {
        self.from_order_id.is_none_or(|from| order.order_id >= from)
            && self.created_from_ns.is_none_or(|from| order.created_ts_ns >= from)
            && self.created_to_ns.is_none_or(|to| order.created_ts_ns <= to)
    }

    /// Whether the store can hold a match at all: ids past BIGINT were never issued.
    fn fits_store(&self) -> bool {
        self.from_order_id.is_none_or(|from| i64::try_from(from.0).is_ok())
    }
}

pub(super) fn time_ms(params: &Params, name: &str) -> Result<Option<u64>, ApiError> {
    match params.whole(name)? {
        Some(ms) if ms > TIME_MS_MAX => Err(ApiError::invalid_parameter(name)),
        other => Ok(other),
    }
}

/// The window of `orderId`, `startTime`, `endTime` and `limit` (default 500, at most 1000).
pub fn history_window(params: &Params) -> Result<HistoryWindow, ApiError> {
    let from_order_id = params.whole("orderId")?.map(OrderId);
    let start_ms = time_ms(params, "startTime")?;
    let end_ms = time_ms(params, "endTime")?;
    if let (Some(start), Some(end)) = (start_ms, end_ms) {
        if start > end {
            return Err(ApiError::bad_combination());
        }
        if end - start > TIME_RANGE_MAX_MS {
            return Err(ApiError::bad_request(
                code::TIME_RANGE_TOO_LONG,
                "More than 24 hours between startTime and endTime.",
            ));
        }
    }
    let limit = match params.whole("limit")? {
        None => ALL_ORDERS_LIMIT_DEFAULT,
        Some(limit) => usize::try_from(limit)
            .ok()
            .filter(|limit| (1..=ALL_ORDERS_LIMIT_MAX).contains(limit))
            .ok_or_else(|| ApiError::invalid_parameter("limit"))?,
    };
    Ok(HistoryWindow {
        from_order_id,
        created_from_ns: start_ms.map(|ms| ms * NANOS_PER_MILLI),
        created_to_ns: end_ms.map(|ms| ms * NANOS_PER_MILLI + (NANOS_PER_MILLI - 1)),
        limit,
    })
}

/// The answer: `stored` (one page read in the window's direction) and `known` (the shard's
/// memory, which wins for an order both hold) inside `window`, the first or last `limit` by
/// order id, oldest first. Reading the page `limit` deep suffices: every order of the answer
/// is either in memory or among the page's `limit` rows.
pub fn merge_history(
    stored: Vec<OrderRecord>,
    known: Vec<OrderRecord>,
    window: &HistoryWindow,
) -> Vec<OrderRecord> {
    let mut by_id: BTreeMap<OrderId, OrderRecord> = BTreeMap::new();
    for order in stored.into_iter().chain(known).filter(|order| window.contains(order)) {
        by_id.insert(order.order_id, order);
    }
    let skip = if window.oldest_first() { 0 } else { by_id.len().saturating_sub(window.limit) };
    by_id.into_values().skip(skip).take(window.limit).collect()
}

/// All orders of a market: open, pending and ended.
///
/// With `orderId` (or `startTime`) the first `limit` orders from there up; otherwise the
/// `limit` most recent. Oldest first.
#[utoipa::path(
    get,
    path = "/api/v3/allOrders",
    tag = "trading",
    params(
        ("symbol" = String, Query, description = "The market."),
        ("orderId" = Option<u64>, Query, description = "From this order id up."),
        ("startTime" = Option<u64>, Query, description = "Orders created at or after this time, ms."),
        ("endTime" = Option<u64>, Query,
            description = "Orders created at or before this time, ms (at most 24 h after startTime)."),
        ("limit" = Option<u64>, Query, description = "At most this many (default 500, 1 to 1000)."),
        SignedFields,
    ),
    responses(
        (status = 200, description = "The orders, oldest first.", body = Vec<OrderBody>),
        (status = 400, description = refused(&[SIGNED, HISTORY]), body = ErrorBody),
        (status = 401, description = refused(&[SIGNED_401]), body = ErrorBody),
        (status = 503, description = UNAVAILABLE, body = ErrorBody),
    ),
    security(("apiKey" = [], "signature" = []))
)]
pub async fn all_orders(
    auth: Authenticated,
    state: web::Data<ApiState>,
    core: web::Data<TradingCore>,
) -> Result<HttpResponse, ApiError> {
    let markets = state.markets();
    let market = market(&auth.params, &markets)?;
    let window = history_window(&auth.params)?;
    let page = OrderPageQuery {
        account_id: auth.account_id,
        symbol: market.symbol(),
        from_order_id: window.from_order_id,
        created_from_ns: window.created_from_ns,
        created_to_ns: window.created_to_ns,
        newest_first: !window.oldest_first(),
        limit: u32::try_from(window.limit).unwrap_or(u32::MAX),
    };
    // The store first, memory second: memory is never older than what was read before it.
    let stored = if window.fits_store() {
        core.project_shard_of(auth.account_id).await?;
        core.store.order_page(&page).await.map_err(|error| store_error(&error))?
    } else {
        Vec::new()
    };
    let known = core
        .shard(auth.account_id)
        .send(GetKnownOrders { account_id: auth.account_id, symbol: market.symbol() })
        .await
        .map_err(|error| mailbox_error(&error))?;
    let bodies: Vec<OrderBody> = merge_history(stored, known, &window)
        .iter()
        .map(|order| OrderBody::new(order, market))
        .collect();
    Ok(HttpResponse::Ok().json(bodies))
}

#[cfg(test)]
mod tests;
