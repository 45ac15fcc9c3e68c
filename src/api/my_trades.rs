//! `GET /api/v3/myTrades` (signed): an account's trades of one symbol from the trades table,
//! with the commission each side was charged when the trade was recorded (negative: a maker
//! rebate). Keyset pages on the per-account indexes: from `fromId` up, from `startTime` up
//! (time bounds become trade ids through the symbol's time index), else the newest `limit`
//! down to `endTime`; answers are oldest first. A self-trade is two entries, one per side.

use actix_web::{HttpResponse, web};
use exchange_actors::market::TradeRecord;
use exchange_actors::model::{AccountId, Notional, OrderId};
use serde::Serialize;
use utoipa::ToSchema;

use super::all_orders::TIME_RANGE_MAX_MS;
use super::auth::Authenticated;
use super::core::store_error;
use super::errors::ApiError;
use super::market_data::trade_id_param;
use super::market_data::{MarketView, TRADES_LIMIT_DEFAULT, TRADES_LIMIT_MAX, limit, time_range};
use super::openapi::{ErrorBody, HISTORY, SIGNED, SIGNED_401, UNAVAILABLE, refused};
use super::params::market;
use super::render;
use super::request_schemas::SignedFields;
use super::state::{ApiMarket, ApiState};
use crate::store::AccountTradeQuery;

/// One trade of the account (`GET /api/v3/myTrades`), as the side it took.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MyTradeBody {
    symbol: String,
    /// The trade's id.
    id: u64,
    /// This account's order in the trade.
    order_id: u64,
    order_list_id: i64,
    price: String,
    qty: String,
    quote_qty: String,
    /// The fee charged, in `commissionAsset` (negative: a maker rebate).
    commission: String,
    /// What this side received: base for a buyer, quote for a seller.
    commission_asset: String,
    time: u64,
    is_buyer: bool,
    is_maker: bool,
    is_best_match: bool,
}

/// The account's trades of a market.
///
/// With the commission each side was charged (negative: a maker rebate). From `fromId` up,
/// from `startTime` up, else the newest `limit` down to `endTime`; oldest first. A self-trade
/// is two entries, one per side.
#[utoipa::path(
    get,
    path = "/api/v3/myTrades",
    tag = "trading",
    params(
        ("symbol" = String, Query, description = "The market."),
        ("orderId" = Option<u64>, Query, description = "Only the trades of this order."),
        ("fromId" = Option<u64>, Query, description = "From this trade id up."),
        ("startTime" = Option<u64>, Query, description = "From this time, ms."),
        ("endTime" = Option<u64>, Query,
            description = "Up to this time, ms (at most 24 h after startTime)."),
        ("limit" = Option<u64>, Query, description = "At most this many (default 500, 1 to 1000)."),
        SignedFields,
    ),
    responses(
        (status = 200, description = "The trades, oldest first.", body = Vec<MyTradeBody>),
        (status = 400, description = refused(&[SIGNED, HISTORY]), body = ErrorBody),
        (status = 401, description = refused(&[SIGNED_401]), body = ErrorBody),
        (status = 503, description = UNAVAILABLE, body = ErrorBody),
    ),
    security(("apiKey" = [], "signature" = []))
)]
pub async fn my_trades(
    auth: Authenticated,
    state: web::Data<ApiState>,
    view: web::Data<MarketView>,
) -> Result<HttpResponse, ApiError> {
    let params = &auth.params;
    let markets = state.markets();
    let market = market(params, &markets)?;
    let order_id = match params.whole("orderId")? {
        Some(id) if i64::try_from(id).is_err() => return Ok(HttpResponse::Ok().json([(); 0])),
        other => other.map(OrderId),
    };
    let from_id = trade_id_param(params, "fromId")?;
    let (start_ms, end_ms) = time_range(params, Some(TIME_RANGE_MAX_MS))?;
    if from_id.is_some() && (start_ms.is_some() || end_ms.is_some()) {
        return Err(ApiError::bad_combination());
    }
    let limit = limit(params, TRADES_LIMIT_DEFAULT, TRADES_LIMIT_MAX)?;
    let symbol = market.symbol();
    let store = &view.store;
    let mut from_trade_id = from_id;
    let mut to_trade_id = None;
    if let Some(start) = start_ms {
        match store.trade_id_at(symbol, start, true).await.map_err(|e| store_error(&e))? {
            Some(id) => from_trade_id = Some(id),
            None => return Ok(HttpResponse::Ok().json([(); 0])),
        }
    }
    if let Some(end) = end_ms {
        match store.trade_id_at(symbol, end, false).await.map_err(|e| store_error(&e))? {
            Some(id) => to_trade_id = Some(id),
            None => return Ok(HttpResponse::Ok().json([(); 0])),
        }
    }
    let query = AccountTradeQuery {
        account_id: auth.account_id,
        symbol,
        order_id,
        from_trade_id,
        to_trade_id,
        newest_first: from_trade_id.is_none(),
        limit: u32::try_from(limit).unwrap_or(u32::MAX),
    };
    let trades = store.account_trades(&query).await.map_err(|error| store_error(&error))?;
    let mut bodies: Vec<MyTradeBody> = trades
        .iter()
        .flat_map(|trade| trade_bodies(trade, auth.account_id, order_id, market))
        .collect();
    // A self-trade gives two entries; keep `limit` at the end the page was read from.
    let excess = bodies.len().saturating_sub(limit);
    if query.newest_first {
        bodies.drain(..excess);
    } else {
        bodies.truncate(limit);
    }
    Ok(HttpResponse::Ok().json(bodies))
}

/// `trade` as `account` took part in it (of order `order_id` when given).
fn trade_bodies(
    trade: &TradeRecord,
    account: AccountId,
    order_id: Option<OrderId>,
    market: &ApiMarket,
) -> Vec<MyTradeBody> {
    let spec = &market.spec;
    let ledger = &market.ledger;
    trade
        .sides_of(account)
        .filter_map(|(is_buyer, is_maker, fee)| {
            let own_order = if is_maker { trade.maker_order_id } else { trade.taker_order_id };
            if order_id.is_some_and(|wanted| wanted != own_order) {
                return None;
            }
            // The fee is taken from what the side received: base for a buyer, quote otherwise.
            let (asset, scale) = if is_buyer {
                (ledger.base, ledger.base_scale)
            } else {
                (ledger.quote, ledger.quote_scale)
            };
            Some(MyTradeBody {
                symbol: spec.symbol.clone(),
                id: trade.trade_id.0,
                order_id: own_order.0,
                order_list_id: -1,
                price: render::price(spec, trade.price),
                qty: render::qty(spec, trade.qty),
                quote_qty: render::notional(spec, Notional::of(trade.price, trade.qty)),
                commission: render::minor_units(i128::from(fee), scale),
                commission_asset: asset.as_str().to_owned(),
                time: trade.time_ms,
                is_buyer,
                is_maker,
                is_best_match: true,
            })
        })
        .collect()
}
