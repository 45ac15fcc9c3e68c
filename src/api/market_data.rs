//! Public trade and kline routes: `trades`, `aggTrades`, `klines` (and, in `ticker.rs`, the
//! tickers). Recent data comes from the [`MarketData`] actor's memory; anything older, or
//! anything memory cannot vouch for, from the history's tables (an indexed range read, bounded
//! by the route's limit).

use actix::Addr;
use actix_web::{HttpRequest, HttpResponse, web};
use exchange_actors::market::actor::{GetKlines, GetRecentAggTrades, GetRecentTrades, MarketData};
use exchange_actors::market::{AggTrade, Kline, KlineInterval, KlineWindow, aggregate};
use exchange_actors::model::{Notional, Qty, SymbolCode, SymbolSpec, TradeId};
use serde::Serialize;
use serde_json::{Value, json};

use super::all_orders::time_ms;
use super::core::{mailbox_error, store_error};
use super::errors::{ApiError, code};
use super::param_set::Params;
use super::params::market;
use super::render;
use super::state::ApiState;
use crate::store::{Store, TRADE_PAGE_ROWS_MAX};

pub const TRADES_LIMIT_DEFAULT: usize = 500;
pub const TRADES_LIMIT_MAX: usize = 1_000;
pub const KLINES_LIMIT_DEFAULT: usize = 500;
pub const KLINES_LIMIT_MAX: usize = 1_000;
/// Binance's widest `startTime`..`endTime` for aggTrades.
pub const AGG_TRADES_RANGE_MAX_MS: u64 = 60 * 60 * 1_000;
/// Trades read from the table for one aggTrades answer at most (pages of the table's max).
const AGG_TRADES_SCAN_PAGES_MAX: usize = 5;

/// What the market-data routes share (`web::Data<MarketView>`).
#[derive(Debug, Clone)]
pub struct MarketView {
    pub market_data: Addr<MarketData>,
    pub store: Store,
}

/// Mounts `trades`, `aggTrades`, `klines`, `ticker/24hr`, `ticker/price` and the signed
/// `myTrades`; [`ApiState`] must be app data.
pub fn configure_market_data(config: &mut web::ServiceConfig, view: web::Data<MarketView>) {
    config
        .app_data(view)
        .route("/api/v3/trades", web::get().to(trades))
        .route("/api/v3/aggTrades", web::get().to(agg_trades))
        .route("/api/v3/klines", web::get().to(klines))
        .route("/api/v3/ticker/24hr", web::get().to(super::ticker::ticker_24hr))
        .route("/api/v3/ticker/price", web::get().to(super::ticker::ticker_price))
        .route("/api/v3/myTrades", web::get().to(super::my_trades::my_trades));
}

/// `limit`: `default` when absent, else 1 to `max` (-1130 otherwise).
pub fn limit(params: &Params, default: usize, max: usize) -> Result<usize, ApiError> {
    match params.whole("limit")? {
        None => Ok(default),
        Some(limit) => usize::try_from(limit)
            .ok()
            .filter(|limit| (1..=max).contains(limit))
            .ok_or_else(|| ApiError::invalid_parameter("limit")),
    }
}

/// `startTime` and `endTime` (ms), the first not after the second, at most `range_max_ms`
/// apart when both are sent.
pub fn time_range(
    params: &Params,
    range_max_ms: Option<u64>,
) -> Result<(Option<u64>, Option<u64>), ApiError> {
    let start = time_ms(params, "startTime")?;
    let end = time_ms(params, "endTime")?;
    if let (Some(start), Some(end)) = (start, end) {
        if start > end {
            return Err(ApiError::bad_combination());
        }
        if range_max_ms.is_some_and(|max| end - start > max) {
            return Err(ApiError::bad_request(
                code::TIME_RANGE_TOO_LONG,
                "The time range between startTime and endTime is too long.",
            ));
        }
    }
    Ok((start, end))
}

/// A trade id bound as the table stores it; ids past BIGINT were never issued.
pub fn trade_id_param(params: &Params, name: &str) -> Result<Option<TradeId>, ApiError> {
    match params.whole(name)? {
        Some(id) if i64::try_from(id).is_err() => Err(ApiError::invalid_parameter(name)),
        other => Ok(other.map(TradeId)),
    }
}

fn quote(spec: &SymbolSpec, price: exchange_actors::model::Price, qty: Qty) -> String {
    render::notional(spec, Notional::of(price, qty))
}

async fn trades(
    state: web::Data<ApiState>,
    view: web::Data<MarketView>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let params = Params::from_query(request.query_string())?;
    let market = market(&params, &state.markets)?;
    let limit = limit(&params, TRADES_LIMIT_DEFAULT, TRADES_LIMIT_MAX)?;
    let query = GetRecentTrades { symbol: market.symbol(), limit };
    let trades = view.market_data.send(query).await.map_err(|error| mailbox_error(&error))?;
    let spec = &market.spec;
    let bodies: Vec<Value> = trades
        .iter()
        .map(|trade| {
            json!({
                "id": trade.trade_id.0, "price": render::price(spec, trade.price),
                "qty": render::qty(spec, trade.qty), "quoteQty": quote(spec, trade.price, trade.qty),
                "time": trade.time_ms, "isBuyerMaker": trade.buyer_is_maker(), "isBestMatch": true,
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(bodies))
}

#[derive(Debug, Serialize)]
struct AggTradeBody {
    a: u64,
    p: String,
    q: String,
    f: u64,
    l: u64,
    #[serde(rename = "T")]
    time: u64,
    m: bool,
    #[serde(rename = "M")]
    best_match: bool,
}

fn agg_body(spec: &SymbolSpec, aggregate: &AggTrade) -> AggTradeBody {
    AggTradeBody {
        a: aggregate.first_trade_id.0,
        p: render::price(spec, aggregate.price),
        q: render::qty(spec, aggregate.qty),
        f: aggregate.first_trade_id.0,
        l: aggregate.last_trade_id.0,
        time: aggregate.time_ms,
        m: aggregate.buyer_is_maker,
        best_match: true,
    }
}

/// `GET /api/v3/aggTrades`: aggregates named by their first trade id; `fromId` pages by it.
async fn agg_trades(
    state: web::Data<ApiState>,
    view: web::Data<MarketView>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let params = Params::from_query(request.query_string())?;
    let market = market(&params, &state.markets)?;
    let limit = limit(&params, TRADES_LIMIT_DEFAULT, TRADES_LIMIT_MAX)?;
    let from_id = trade_id_param(&params, "fromId")?;
    let (start_ms, end_ms) = time_range(&params, Some(AGG_TRADES_RANGE_MAX_MS))?;
    if from_id.is_some() && (start_ms.is_some() || end_ms.is_some()) {
        return Err(ApiError::bad_combination());
    }
    let symbol = market.symbol();
    let aggregates = if from_id.is_none() && start_ms.is_none() && end_ms.is_none() {
        let query = GetRecentAggTrades { symbol, limit };
        match view.market_data.send(query).await.map_err(|error| mailbox_error(&error))? {
            Some(aggregates) => aggregates,
            None => recent_aggregates_stored(&view.store, symbol, limit).await?,
        }
    } else if let Some(from) = from_id {
        stored_aggregates(&view.store, symbol, from, None, limit).await?
    } else {
        // One bound alone reads the hour from or up to it.
        let (start_ms, end_ms) = match (start_ms, end_ms) {
            (Some(start), Some(end)) => (start, end),
            (Some(start), None) => (start, start.saturating_add(AGG_TRADES_RANGE_MAX_MS)),
            (None, Some(end)) => (end.saturating_sub(AGG_TRADES_RANGE_MAX_MS), end),
            (None, None) => unreachable!("the recent case is served above"),
        };
        let store = &view.store;
        let at = |ms, after| store.trade_id_at(symbol, ms, after);
        let start = at(start_ms, true).await.map_err(|error| store_error(&error))?;
        let end = at(end_ms, false).await.map_err(|error| store_error(&error))?;
        match (start, end) {
            (Some(start), Some(end)) if start <= end => {
                stored_aggregates(store, symbol, start, Some(end), limit).await?
            }
            _ => Vec::new(),
        }
    };
    let bodies: Vec<AggTradeBody> =
        aggregates.iter().map(|aggregate| agg_body(&market.spec, aggregate)).collect();
    Ok(HttpResponse::Ok().json(bodies))
}

/// The first `limit` aggregates starting at or after trade `from` (and at or before trade
/// `to`), read from the table in pages. One trade before `from` is read too, so an aggregate
/// that began earlier is recognised and left out; the last one is left out when the scan
/// stopped at its bound before the aggregate could end.
async fn stored_aggregates(
    store: &Store,
    symbol: SymbolCode,
    from: TradeId,
    to: Option<TradeId>,
    limit: usize,
) -> Result<Vec<AggTrade>, ApiError> {
    let mut trades = Vec::new();
    let mut next = TradeId(from.0.saturating_sub(1));
    let mut exhausted = false;
    for _ in 0..AGG_TRADES_SCAN_PAGES_MAX {
        let page = store
            .trades_between(symbol, Some(next), None, TRADE_PAGE_ROWS_MAX)
            .await
            .map_err(|error| store_error(&error))?;
        exhausted = page.len() < TRADE_PAGE_ROWS_MAX as usize;
        let Some(last) = page.last().map(|trade| trade.trade_id) else { break };
        next = TradeId(last.0 + 1);
        trades.extend(page);
        let past_to = to.is_some_and(|to| last > to);
        if exhausted || past_to || aggregate(&trades).len() > limit {
            break;
        }
    }
    let mut aggregates = aggregate(&trades);
    if !exhausted && aggregates.len() > 1 {
        aggregates.pop();
    }
    Ok(aggregates
        .into_iter()
        .filter(|aggregate| aggregate.first_trade_id >= from)
        .filter(|aggregate| to.is_none_or(|to| aggregate.first_trade_id <= to))
        .take(limit)
        .collect())
}

/// The newest `limit` aggregates from the table (memory's tape was too short): the newest
/// page of trades, less its oldest aggregate when the page may have cut it.
async fn recent_aggregates_stored(
    store: &Store,
    symbol: SymbolCode,
    limit: usize,
) -> Result<Vec<AggTrade>, ApiError> {
    let trades = store
        .recent_trades(symbol, TRADE_PAGE_ROWS_MAX)
        .await
        .map_err(|error| store_error(&error))?;
    let mut aggregates = aggregate(&trades);
    if trades.len() == TRADE_PAGE_ROWS_MAX as usize && aggregates.len() > 1 {
        aggregates.remove(0);
    }
    let skip = aggregates.len().saturating_sub(limit);
    Ok(aggregates.split_off(skip))
}

/// One kline as Binance's array: open time, OHLC, volume, close time, quote volume, trades,
/// taker buy base and quote volumes, and an unused field.
fn kline_body(spec: &SymbolSpec, interval: KlineInterval, kline: &Kline) -> Value {
    let lots = |lots: u128| {
        let lots = i128::try_from(lots).expect("volumes stay far below i128");
        render::units(lots, spec.step_size, render::places_of(spec.step_size))
    };
    json!([
        kline.open_time_ms,
        render::price(spec, kline.open),
        render::price(spec, kline.high),
        render::price(spec, kline.low),
        render::price(spec, kline.close),
        lots(kline.volume),
        interval.next_open(kline.open_time_ms) - 1,
        render::notional(spec, Notional(kline.quote_volume)),
        kline.trade_count,
        lots(kline.taker_buy_volume),
        render::notional(spec, Notional(kline.taker_buy_quote_volume)),
        "0",
    ])
}

/// `GET /api/v3/klines?symbol&interval[&startTime][&endTime][&limit]`.
async fn klines(
    state: web::Data<ApiState>,
    view: web::Data<MarketView>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let params = Params::from_query(request.query_string())?;
    let market = market(&params, &state.markets)?;
    let interval = KlineInterval::parse(params.required("interval")?)
        .ok_or_else(|| ApiError::bad_request(code::BAD_INTERVAL, "Invalid interval."))?;
    let (start_ms, end_ms) = time_range(&params, None)?;
    let limit = limit(&params, KLINES_LIMIT_DEFAULT, KLINES_LIMIT_MAX)?;
    let window = KlineWindow { start_ms, end_ms, limit };
    let symbol = market.symbol();
    let query = GetKlines { symbol, interval, window };
    let held = view.market_data.send(query).await.map_err(|error| mailbox_error(&error))?;
    let klines = match held {
        Some(klines) => klines,
        None => view
            .store
            .kline_page(symbol, interval, &window)
            .await
            .map_err(|error| store_error(&error))?,
    };
    let bodies: Vec<Value> =
        klines.iter().map(|kline| kline_body(&market.spec, interval, kline)).collect();
    Ok(HttpResponse::Ok().json(bodies))
}
