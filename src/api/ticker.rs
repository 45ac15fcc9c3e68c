//! `GET /api/v3/ticker/24hr` and `GET /api/v3/ticker/price`: one symbol (`symbol`), several
//! (`symbols`, a JSON array) or all. Statistics come from market data in memory (rolling 24 h
//! by the minute); best bid and ask from the book. A symbol that never traded shows zeros.

use actix_web::{HttpRequest, HttpResponse, web};
use exchange_actors::book::actor::GetDepth;
use exchange_actors::market::TickerStats;
use exchange_actors::market::actor::GetTickers;
use exchange_actors::model::{Notional, Price, Qty, SymbolSpec};
use rust_decimal::Decimal;
use serde::Serialize;
use utoipa::ToSchema;

use super::core::mailbox_error;
use super::errors::{ApiError, code};
use super::market::selected_markets;
use super::market_data::MarketView;
use super::openapi::{ErrorBody, PARAMS, UNAVAILABLE, refused};
use super::param_set::Params;
use super::render;
use super::request_schemas::MarketSelection;
use super::state::{ApiMarket, ApiMarkets, ApiState};

/// Decimal places of `weightedAvgPrice` beyond the tick's (a quotient, so it is rounded).
const AVERAGE_EXTRA_PLACES: u32 = 8;
/// Decimal places of `priceChangePercent`, as Binance shows it.
const PERCENT_PLACES: u32 = 3;

/// The markets asked for and their tickers, in symbol order; a single `symbol` answers an
/// object, otherwise a list.
async fn tickers<'a>(
    markets: &'a ApiMarkets,
    now_ms: u64,
    view: &MarketView,
    params: &Params,
) -> Result<Vec<(&'a ApiMarket, Option<TickerStats>)>, ApiError> {
    let markets = selected_markets(params, markets)?;
    let symbols = markets.iter().map(|market| market.symbol()).collect();
    let query = GetTickers { symbols, now_ms };
    let stats = view.market_data.send(query).await.map_err(|error| mailbox_error(&error))?;
    Ok(markets.into_iter().zip(stats.into_iter().map(|(_, stats)| stats)).collect())
}

/// `GET /api/v3/ticker/price`'s answer for one market.
#[derive(Debug, Serialize, ToSchema)]
pub struct TickerPrice {
    symbol: String,
    /// The last trade's price ("0" with the price's places when the market never traded).
    price: String,
}

/// One ticker for `symbol`, a list otherwise (Binance's shape for both ticker routes).
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum OneOrList<T> {
    One(T),
    List(Vec<T>),
}

fn one_or_list<T: Serialize>(params: &Params, mut bodies: Vec<T>) -> HttpResponse {
    if params.get("symbol").is_some() && bodies.len() == 1 {
        return HttpResponse::Ok().json(OneOrList::One(bodies.remove(0)));
    }
    HttpResponse::Ok().json(OneOrList::List(bodies))
}

/// Latest price of a market, several or all.
#[utoipa::path(
    get,
    path = "/api/v3/ticker/price",
    tag = "market",
    params(MarketSelection),
    responses(
        (status = 200, description = "An object for `symbol`, else a list.",
            body = OneOrList<TickerPrice>),
        (status = 400, description = refused(&[PARAMS, &[code::BAD_SYMBOL, code::INVALID_PARAMETER]]),
            body = ErrorBody),
        (status = 503, description = UNAVAILABLE, body = ErrorBody),
    )
)]
pub async fn ticker_price(
    state: web::Data<ApiState>,
    view: web::Data<MarketView>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let params = Params::from_query(request.query_string())?;
    let bodies: Vec<TickerPrice> = tickers(&state.markets(), state.now_ms(), &view, &params)
        .await?
        .into_iter()
        .map(|(market, stats)| {
            let price = stats.map_or(Price(0), |stats| stats.last);
            TickerPrice {
                symbol: market.spec.symbol.clone(),
                price: render::price(&market.spec, price),
            }
        })
        .collect();
    Ok(one_or_list(&params, bodies))
}

/// 24 hour rolling window price change statistics.
///
/// By the minute, as Binance's rolling windows; best bid and ask from the book. A market that
/// never traded shows zeros, `firstId` and `lastId` -1.
#[utoipa::path(
    get,
    path = "/api/v3/ticker/24hr",
    tag = "market",
    params(MarketSelection),
    responses(
        (status = 200, description = "An object for `symbol`, else a list.",
            body = OneOrList<Ticker24hr>),
        (status = 400, description = refused(&[PARAMS, &[code::BAD_SYMBOL, code::INVALID_PARAMETER]]),
            body = ErrorBody),
        (status = 503, description = UNAVAILABLE, body = ErrorBody),
    )
)]
pub async fn ticker_24hr(
    state: web::Data<ApiState>,
    view: web::Data<MarketView>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let params = Params::from_query(request.query_string())?;
    let now_ms = state.now_ms();
    let mut bodies = Vec::new();
    for (market, stats) in tickers(&state.markets(), state.now_ms(), &view, &params).await? {
        let best = best_bid_ask(&state, market).await;
        bodies.push(ticker_body(market, stats.as_ref(), best, now_ms));
    }
    Ok(one_or_list(&params, bodies))
}

/// `GET /api/v3/ticker/24hr`'s answer for one market; decimals as strings.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Ticker24hr {
    symbol: String,
    price_change: String,
    price_change_percent: String,
    weighted_avg_price: String,
    prev_close_price: String,
    last_price: String,
    last_qty: String,
    bid_price: String,
    bid_qty: String,
    ask_price: String,
    ask_qty: String,
    open_price: String,
    high_price: String,
    low_price: String,
    volume: String,
    quote_volume: String,
    open_time: u64,
    close_time: u64,
    /// The window's first trade id, -1 when none.
    first_id: i128,
    /// The window's last trade id, -1 when none.
    last_id: i128,
    /// Trades in the window.
    count: u64,
}

pub type Level = (Price, Qty);

/// The book's best bid and ask; none when the book does not answer (the ticker still does).
async fn best_bid_ask(state: &ApiState, market: &ApiMarket) -> (Option<Level>, Option<Level>) {
    let Some(book) = state.books.book(&market.spec.symbol) else { return (None, None) };
    match book.send(GetDepth { levels_max: 1 }).await {
        Ok(depth) => (depth.bids.first().copied(), depth.asks.first().copied()),
        Err(_) => (None, None),
    }
}

/// One market's 24 h ticker as REST renders it (the `@ticker` stream reuses it).
pub fn ticker_body(
    market: &ApiMarket,
    stats: Option<&TickerStats>,
    (bid, ask): (Option<Level>, Option<Level>),
    now_ms: u64,
) -> Ticker24hr {
    let spec = &market.spec;
    let price = |price: Price| render::price(spec, price);
    let qty = |qty: Qty| render::qty(spec, qty);
    let zero = || price(Price(0));
    let level = |level: Option<Level>| {
        level.map_or((zero(), qty(Qty(0))), |(at, size)| (price(at), qty(size)))
    };
    let (bid_price, bid_qty) = level(bid);
    let (ask_price, ask_qty) = level(ask);
    let Some(stats) = stats else {
        return Ticker24hr {
            symbol: spec.symbol.clone(),
            price_change: zero(),
            price_change_percent: "0.000".to_owned(),
            weighted_avg_price: zero(),
            prev_close_price: zero(),
            last_price: zero(),
            last_qty: qty(Qty(0)),
            bid_price,
            bid_qty,
            ask_price,
            ask_qty,
            open_price: zero(),
            high_price: zero(),
            low_price: zero(),
            volume: qty(Qty(0)),
            quote_volume: render::notional(spec, Notional(0)),
            open_time: now_ms.saturating_sub(exchange_actors::market::DAY_MS),
            close_time: now_ms,
            first_id: -1,
            last_id: -1,
            count: 0,
        };
    };
    let (first_id, last_id) =
        stats.trade_ids.map_or((-1, -1), |(first, last)| (i128::from(first.0), i128::from(last.0)));
    let volume = i128::try_from(stats.volume).expect("volumes stay far below i128");
    Ticker24hr {
        symbol: spec.symbol.clone(),
        price_change: render::units(
            i128::from(stats.last.0) - i128::from(stats.open.0),
            spec.tick_size,
            render::places_of(spec.tick_size),
        ),
        price_change_percent: change_percent(spec, stats),
        weighted_avg_price: weighted_average(spec, stats),
        prev_close_price: price(stats.prev_close),
        last_price: price(stats.last),
        last_qty: qty(stats.last_qty),
        bid_price,
        bid_qty,
        ask_price,
        ask_qty,
        open_price: price(stats.open),
        high_price: price(stats.high),
        low_price: price(stats.low),
        volume: render::units(volume, spec.step_size, render::places_of(spec.step_size)),
        quote_volume: render::notional(spec, Notional(stats.quote_volume)),
        open_time: stats.open_time_ms,
        close_time: stats.close_time_ms,
        first_id,
        last_id,
        count: stats.count,
    }
}

/// (last - open) / open in percent, rounded to 3 places; "0.000" for an open of zero.
fn change_percent(spec: &SymbolSpec, stats: &TickerStats) -> String {
    let open = spec.ticks_to_price(stats.open);
    let last = spec.ticks_to_price(stats.last);
    let percent = (last - open)
        .checked_mul(Decimal::ONE_HUNDRED)
        .and_then(|change| change.checked_div(open))
        .unwrap_or_default();
    render::with_places(percent.round_dp(PERCENT_PLACES), PERCENT_PLACES)
}

/// quote volume / volume, rounded to the tick's places + 8; the last price when nothing traded.
fn weighted_average(spec: &SymbolSpec, stats: &TickerStats) -> String {
    let places = render::places_of(spec.tick_size) + AVERAGE_EXTRA_PLACES;
    let volume =
        Decimal::try_from_i128_with_scale(i128::try_from(stats.volume).unwrap_or(i128::MAX), 0)
            .ok()
            .map(|lots| lots * spec.step_size);
    let quote = Decimal::try_from_i128_with_scale(stats.quote_volume, 0)
        .ok()
        .and_then(|units| units.checked_mul(spec.notional_unit()));
    let average = match (quote, volume) {
        (Some(quote), Some(volume)) if !volume.is_zero() => quote.checked_div(volume),
        _ => None,
    };
    match average {
        Some(average) => render::with_places(average.round_dp(places), places),
        None => render::price(spec, stats.last),
    }
}
