//! `GET /api/v3/myTrades` (signed): an account's trades of one symbol from the trades table,
//! with the commission each side was charged when the trade was recorded (negative: a maker
//! rebate). Keyset pages on the per-account indexes: from `fromId` up, from `startTime` up
//! (time bounds become trade ids through the symbol's time index), else the newest `limit`
//! down to `endTime`; answers are oldest first. A self-trade is two entries, one per side.

use actix_web::{HttpResponse, web};
use exchange_actors::market::TradeRecord;
use exchange_actors::model::{AccountId, Notional, OrderId};
use serde_json::{Value, json};

use super::all_orders::TIME_RANGE_MAX_MS;
use super::auth::Authenticated;
use super::core::store_error;
use super::errors::ApiError;
use super::market_data::trade_id_param;
use super::market_data::{MarketView, TRADES_LIMIT_DEFAULT, TRADES_LIMIT_MAX, limit, time_range};
use super::params::market;
use super::render;
use super::state::{ApiMarket, ApiState};
use crate::store::AccountTradeQuery;

pub async fn my_trades(
    auth: Authenticated,
    state: web::Data<ApiState>,
    view: web::Data<MarketView>,
) -> Result<HttpResponse, ApiError> {
    let params = &auth.params;
    let market = market(params, &state.markets)?;
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
    let mut bodies: Vec<Value> = trades
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
) -> Vec<Value> {
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
            Some(json!({
                "symbol": spec.symbol,
                "id": trade.trade_id.0,
                "orderId": own_order.0,
                "orderListId": -1,
                "price": render::price(spec, trade.price),
                "qty": render::qty(spec, trade.qty),
                "quoteQty": render::notional(spec, Notional::of(trade.price, trade.qty)),
                "commission": render::minor_units(i128::from(fee), scale),
                "commissionAsset": asset.as_str(),
                "time": trade.time_ms,
                "isBuyer": is_buyer,
                "isMaker": is_maker,
                "isBestMatch": true,
            }))
        })
        .collect()
}
