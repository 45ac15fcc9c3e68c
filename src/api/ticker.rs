//! `GET /api/v3/ticker/24hr` and `GET /api/v3/ticker/price`: one symbol (`symbol`), several
//! (`symbols`, a JSON array) or all. Statistics come from market data in memory (rolling 24 h
//! by the minute); best bid and ask from the book. A symbol that never traded shows zeros.

use actix_web::{HttpRequest, HttpResponse, web};
use exchange_actors::book::actor::GetDepth;
use exchange_actors::market::TickerStats;
use exchange_actors::market::actor::GetTickers;
use exchange_actors::model::{Notional, Price, Qty, SymbolSpec};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::core::mailbox_error;
use super::errors::ApiError;
use super::market::selected_markets;
use super::market_data::MarketView;
use super::param_set::Params;
use super::render;
use super::state::{ApiMarket, ApiState};

/// Decimal places of `weightedAvgPrice` beyond the tick's (a quotient, so it is rounded).
const AVERAGE_EXTRA_PLACES: u32 = 8;
/// Decimal places of `priceChangePercent`, as Binance shows it.
const PERCENT_PLACES: u32 = 3;

/// The markets asked for and their tickers, in symbol order; a single `symbol` answers an
/// object, otherwise a list.
async fn tickers<'a>(
    state: &'a ApiState,
    view: &MarketView,
    params: &Params,
) -> Result<Vec<(&'a ApiMarket, Option<TickerStats>)>, ApiError> {
    let markets = selected_markets(params, state)?;
    let symbols = markets.iter().map(|market| market.symbol()).collect();
    let query = GetTickers { symbols, now_ms: state.now_ms() };
    let stats = view.market_data.send(query).await.map_err(|error| mailbox_error(&error))?;
    Ok(markets.into_iter().zip(stats.into_iter().map(|(_, stats)| stats)).collect())
}

fn one_or_list(params: &Params, mut bodies: Vec<Value>) -> HttpResponse {
    if params.get("symbol").is_some() && bodies.len() == 1 {
        return HttpResponse::Ok().json(bodies.remove(0));
    }
    HttpResponse::Ok().json(bodies)
}

pub async fn ticker_price(
    state: web::Data<ApiState>,
    view: web::Data<MarketView>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let params = Params::from_query(request.query_string())?;
    let bodies = tickers(&state, &view, &params)
        .await?
        .into_iter()
        .map(|(market, stats)| {
            let price = stats.map_or(Price(0), |stats| stats.last);
            json!({ "symbol": market.spec.symbol, "price": render::price(&market.spec, price) })
        })
        .collect();
    Ok(one_or_list(&params, bodies))
}

pub async fn ticker_24hr(
    state: web::Data<ApiState>,
    view: web::Data<MarketView>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let params = Params::from_query(request.query_string())?;
    let now_ms = state.now_ms();
    let mut bodies = Vec::new();
    for (market, stats) in tickers(&state, &view, &params).await? {
        let best = best_bid_ask(&state, market).await;
        bodies.push(ticker_body(market, stats.as_ref(), best, now_ms));
    }
    Ok(one_or_list(&params, bodies))
}

type Level = (Price, Qty);

/// The book's best bid and ask; none when the book does not answer (the ticker still does).
async fn best_bid_ask(state: &ApiState, market: &ApiMarket) -> (Option<Level>, Option<Level>) {
    let Some(book) = state.books.book(&market.spec.symbol) else { return (None, None) };
    match book.send(GetDepth { levels_max: 1 }).await {
        Ok(depth) => (depth.bids.first().copied(), depth.asks.first().copied()),
        Err(_) => (None, None),
    }
}

fn ticker_body(
    market: &ApiMarket,
    stats: Option<&TickerStats>,
    (bid, ask): (Option<Level>, Option<Level>),
    now_ms: u64,
) -> Value {
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
        return json!({
            "symbol": spec.symbol, "priceChange": zero(), "priceChangePercent": "0.000",
            "weightedAvgPrice": zero(), "prevClosePrice": zero(), "lastPrice": zero(),
            "lastQty": qty(Qty(0)), "bidPrice": bid_price, "bidQty": bid_qty,
            "askPrice": ask_price, "askQty": ask_qty, "openPrice": zero(), "highPrice": zero(),
            "lowPrice": zero(), "volume": qty(Qty(0)), "quoteVolume": render::notional(spec, Notional(0)),
            "openTime": now_ms.saturating_sub(exchange_actors::market::DAY_MS), "closeTime": now_ms,
            "firstId": -1, "lastId": -1, "count": 0,
        });
    };
    let (first_id, last_id) =
        stats.trade_ids.map_or((-1, -1), |(first, last)| (i128::from(first.0), i128::from(last.0)));
    let volume = i128::try_from(stats.volume).expect("volumes stay far below i128");
    json!({
        "symbol": spec.symbol,
        "priceChange": render::units(
            i128::from(stats.last.0) - i128::from(stats.open.0),
            spec.tick_size,
            render::places_of(spec.tick_size),
        ),
        "priceChangePercent": change_percent(spec, stats),
        "weightedAvgPrice": weighted_average(spec, stats),
        "prevClosePrice": price(stats.prev_close),
        "lastPrice": price(stats.last),
        "lastQty": qty(stats.last_qty),
        "bidPrice": bid_price, "bidQty": bid_qty, "askPrice": ask_price, "askQty": ask_qty,
        "openPrice": price(stats.open),
        "highPrice": price(stats.high),
        "lowPrice": price(stats.low),
        "volume": render::units(volume, spec.step_size, render::places_of(spec.step_size)),
        "quoteVolume": render::notional(spec, Notional(stats.quote_volume)),
        "openTime": stats.open_time_ms,
        "closeTime": stats.close_time_ms,
        "firstId": first_id,
        "lastId": last_id,
        "count": stats.count,
    })
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
