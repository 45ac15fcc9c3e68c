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
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ArrayBuilder, ArrayItems, ObjectBuilder, Schema, Type};
use utoipa::{PartialSchema, ToSchema};

use super::all_orders::time_ms;
use super::core::{mailbox_error, store_error};
use super::errors::{ApiError, code};
use super::openapi::{ErrorBody, PARAMS, UNAVAILABLE, refused};
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

/// One trade of `GET /api/v3/trades`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct TradeBody {
    id: u64,
    price: String,
    qty: String,
    quote_qty: String,
    time: u64,
    /// The buyer was the maker (the taker sold).
    is_buyer_maker: bool,
    is_best_match: bool,
}

/// Recent trades, oldest first.
#[utoipa::path(
    get,
    path = "/api/v3/trades",
    tag = "market",
    params(
        ("symbol" = String, Query, description = "The market, e.g. BTCUSDT."),
        ("limit" = Option<u64>, Query, description = "How many of the newest (default 500, 1 to 1000)."),
    ),
    responses(
        (status = 200, description = "The newest trades.", body = Vec<TradeBody>),
        (status = 400, description = refused(&[PARAMS, &[
            code::MANDATORY_PARAM_EMPTY_OR_MALFORMED, code::BAD_SYMBOL, code::INVALID_PARAMETER,
        ]]), body = ErrorBody),
        (status = 503, description = UNAVAILABLE, body = ErrorBody),
    )
)]
async fn trades(
    state: web::Data<ApiState>,
    view: web::Data<MarketView>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let params = Params::from_query(request.query_string())?;
    let markets = state.markets();
    let market = market(&params, &markets)?;
    let limit = limit(&params, TRADES_LIMIT_DEFAULT, TRADES_LIMIT_MAX)?;
    let query = GetRecentTrades { symbol: market.symbol(), limit };
    let trades = view.market_data.send(query).await.map_err(|error| mailbox_error(&error))?;
    let spec = &market.spec;
    let bodies: Vec<TradeBody> = trades
        .iter()
        .map(|trade| TradeBody {
            id: trade.trade_id.0,
            price: render::price(spec, trade.price),
            qty: render::qty(spec, trade.qty),
            quote_qty: quote(spec, trade.price, trade.qty),
            time: trade.time_ms,
            is_buyer_maker: trade.buyer_is_maker(),
            is_best_match: true,
        })
        .collect();
    Ok(HttpResponse::Ok().json(bodies))
}

/// An aggregate of trades of one taker order at one price.
#[derive(Debug, Serialize, ToSchema)]
struct AggTradeBody {
    /// Aggregate id: its first trade's id.
    a: u64,
    /// Price.
    p: String,
    /// Quantity.
    q: String,
    /// First trade id.
    f: u64,
    /// Last trade id.
    l: u64,
    /// Time, ms.
    #[serde(rename = "T")]
    time: u64,
    /// The buyer was the maker (the taker sold).
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

/// Compressed, aggregate trades.
///
/// Aggregates (same taker order and price) named by their first trade id, oldest first:
/// from `fromId`, or within `startTime`..`endTime` (at most 1 hour; one bound alone reads the
/// hour from or up to it), else the newest.
#[utoipa::path(
    get,
    path = "/api/v3/aggTrades",
    tag = "market",
    params(
        ("symbol" = String, Query, description = "The market, e.g. BTCUSDT."),
        ("fromId" = Option<u64>, Query, description = "The first aggregate id to answer."),
        ("startTime" = Option<u64>, Query, description = "From this time, ms (inclusive)."),
        ("endTime" = Option<u64>, Query, description = "Up to this time, ms (inclusive)."),
        ("limit" = Option<u64>, Query, description = "At most this many (default 500, 1 to 1000)."),
    ),
    responses(
        (status = 200, description = "The aggregates, oldest first.", body = Vec<AggTradeBody>),
        (status = 400, description = refused(&[PARAMS, &[
            code::MANDATORY_PARAM_EMPTY_OR_MALFORMED, code::BAD_SYMBOL, code::INVALID_PARAMETER,
            code::OPTIONAL_PARAMS_BAD_COMBO, code::TIME_RANGE_TOO_LONG,
        ]]), body = ErrorBody),
        (status = 503, description = UNAVAILABLE, body = ErrorBody),
    )
)]
async fn agg_trades(
    state: web::Data<ApiState>,
    view: web::Data<MarketView>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let params = Params::from_query(request.query_string())?;
    let markets = state.markets();
    let market = market(&params, &markets)?;
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

/// The schema of [`kline_body`]'s array, position by position.
pub struct KlineRow;

impl PartialSchema for KlineRow {
    fn schema() -> RefOr<Schema> {
        let field = |kind: Type, description: &str| -> Schema {
            ObjectBuilder::new().schema_type(kind).description(Some(description)).build().into()
        };
        let fields = [
            field(Type::Integer, "open time, ms"),
            field(Type::String, "open"),
            field(Type::String, "high"),
            field(Type::String, "low"),
            field(Type::String, "close"),
            field(Type::String, "volume (base)"),
            field(Type::Integer, "close time, ms"),
            field(Type::String, "quote volume"),
            field(Type::Integer, "number of trades"),
            field(Type::String, "taker buy base volume"),
            field(Type::String, "taker buy quote volume"),
            field(Type::String, "unused, \"0\""),
        ];
        let count = fields.len();
        ArrayBuilder::new()
            .description(Some("A kline/candlestick bar as Binance's 12-element array."))
            .prefix_items(fields)
            .items(ArrayItems::False)
            .min_items(Some(count))
            .max_items(Some(count))
            .into()
    }
}

impl ToSchema for KlineRow {}

/// One kline as Binance's array: open time, OHLC, volume, close time, quote volume, trades,
/// taker buy base and quote volumes, and an unused field.
pub fn kline_body(spec: &SymbolSpec, interval: KlineInterval, kline: &Kline) -> Value {
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

/// Kline/candlestick bars.
///
/// Each bar is an array: open time (ms), open, high, low, close, volume, close time (ms),
/// quote volume, number of trades, taker buy base volume, taker buy quote volume, "0"
/// (unused). Decimals are strings. Intervals are UTC; weeks start on Monday.
#[utoipa::path(
    get,
    path = "/api/v3/klines",
    tag = "market",
    params(
        ("symbol" = String, Query, description = "The market, e.g. BTCUSDT."),
        ("interval" = String, Query,
            description = "1m 3m 5m 15m 30m 1h 2h 4h 6h 8h 12h 1d 3d 1w 1M."),
        ("startTime" = Option<u64>, Query, description = "Bars opening at or after this time, ms."),
        ("endTime" = Option<u64>, Query, description = "Bars opening at or before this time, ms."),
        ("limit" = Option<u64>, Query, description = "At most this many (default 500, 1 to 1000)."),
    ),
    responses(
        (status = 200, description = "The bars, oldest first.", body = Vec<KlineRow>,
            example = json!([[1_700_000_040_000_u64, "50000.00", "50010.00", "49990.00",
                "50005.00", "0.03000", 1_700_000_099_999_u64, "1500.15000000", 3, "0.01000",
                "500.05000000", "0"]])),
        (status = 400, description = refused(&[PARAMS, &[
            code::MANDATORY_PARAM_EMPTY_OR_MALFORMED, code::BAD_SYMBOL, code::BAD_INTERVAL,
            code::INVALID_PARAMETER, code::OPTIONAL_PARAMS_BAD_COMBO,
        ]]), body = ErrorBody),
        (status = 503, description = UNAVAILABLE, body = ErrorBody),
    )
)]
async fn klines(
    state: web::Data<ApiState>,
    view: web::Data<MarketView>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let params = Params::from_query(request.query_string())?;
    let markets = state.markets();
    let market = market(&params, &markets)?;
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
