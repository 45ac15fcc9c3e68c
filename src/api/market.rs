//! Public market routes (no key, no signature): ping, server time, exchangeInfo and depth.
//! They read only the markets and, for depth, the symbol's depth replica (rebuilt from the
//! bus; after a lost update it answers its last good levels with `"stale": true` until it has
//! resynced from the book), or the book itself for a symbol without a replica yet.

use std::sync::Arc;

use actix::Addr;
use actix_web::{HttpRequest, HttpResponse, web};
use exchange_actors::book::Depth;
use exchange_actors::book::actor::GetDepth;
use exchange_actors::market::actor::{DepthReplicas, GetReplicaDepth};
use exchange_actors::model::{Price, Qty, SymbolSpec};
use serde::Serialize;
use utoipa::ToSchema;

use super::errors::{ApiError, code};
use super::exchange_info::{ExchangeInfo, exchange_info as exchange_info_body};
use super::gate::check_market_data;
use super::openapi::{ErrorBody, PARAMS, UNAVAILABLE, refused};
use super::param_set::Params;
use super::params::market;
use super::rate_limit::RateLimiter;
use super::render;
use super::request_schemas::MarketSelection;
use super::state::{ApiMarket, ApiMarkets, ApiState};
use crate::control::{SwitchBoard, Switches};

/// `limit` of depth when none is given.
pub const DEPTH_LIMIT_DEFAULT: u64 = 100;
/// Largest depth served; a larger `limit` is truncated to it, as Binance does.
pub const DEPTH_LIMIT_MAX: u64 = 5_000;

/// Test connectivity.
#[utoipa::path(
    get,
    path = "/api/v3/ping",
    tag = "market",
    responses((status = 200, description = "An empty object.", body = Object, example = json!({})))
)]
pub async fn ping() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({}))
}

/// `GET /api/v3/time`'s answer.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServerTime {
    /// The server's clock, ms since the epoch.
    pub server_time: u64,
}

/// The server's time.
#[utoipa::path(
    get,
    path = "/api/v3/time",
    tag = "market",
    responses((status = 200, description = "The server's clock.", body = ServerTime))
)]
pub async fn time(state: web::Data<ApiState>) -> HttpResponse {
    HttpResponse::Ok().json(ServerTime { server_time: state.now_ms() })
}

/// Markets, their filters and order types.
///
/// All markets, or those named by `symbol` or `symbols` (a JSON array of names).
#[utoipa::path(
    get,
    path = "/api/v3/exchangeInfo",
    tag = "market",
    params(MarketSelection),
    responses(
        (status = 200, description = "The markets asked for.", body = ExchangeInfo),
        (status = 400, description = refused(&[PARAMS, &[code::BAD_SYMBOL, code::INVALID_PARAMETER]]),
            body = ErrorBody),
    )
)]
pub async fn exchange_info(
    state: web::Data<ApiState>,
    board: Option<web::Data<SwitchBoard>>,
    limiter: Option<web::Data<RateLimiter>>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let params = Params::from_query(request.query_string())?;
    let all_markets = state.markets();
    let markets = selected_markets(&params, &all_markets)?;
    let switches = current_switches(board.as_ref().map(|board| board.get_ref()));
    let rate_limits = limiter.map(|limiter| limiter.settings().exchange_info()).unwrap_or_default();
    let body = exchange_info_body(
        markets,
        state.now_ms(),
        &switches,
        rate_limits,
        state.open_orders_per_account_max,
    );
    Ok(HttpResponse::Ok().json(body))
}

/// The kill switches, or the defaults where none are mounted (tests of the public routes).
pub(super) fn current_switches(board: Option<&SwitchBoard>) -> Arc<Switches> {
    board.map_or_else(|| Arc::new(Switches::default()), SwitchBoard::current)
}

pub(super) fn selected_markets<'a>(
    params: &Params,
    markets: &'a ApiMarkets,
) -> Result<Vec<&'a ApiMarket>, ApiError> {
    if params.get("symbol").is_some() {
        return Ok(vec![market(params, markets)?]);
    }
    let Some(list) = params.optional("symbols")? else {
        // All markets means the spot ones, as in exchangeInfo: a spot client would read a
        // perpetual as a second market of the same pair. A perpetual named is answered.
        return Ok(markets.iter().filter(|market| !market.spec.is_perpetual()).collect());
    };
    let names: Vec<String> =
        serde_json::from_str(list).map_err(|_| ApiError::invalid_parameter("symbols"))?;
    names.iter().map(|name| markets.get(name).ok_or_else(ApiError::invalid_symbol)).collect()
}

/// An order book snapshot: levels best first, each `["price", "qty"]`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DepthBody {
    /// The book's last event sequence number: diff-depth streams' `U`/`u` continue from it.
    pub last_update_id: u64,
    pub bids: Vec<[String; 2]>,
    pub asks: Vec<[String; 2]>,
    /// Present (true) only while the depth replica is resyncing after a lost update or while
    /// the book is being replaced: these are its last good levels, which may be behind.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub stale: bool,
}

impl DepthBody {
    /// `depth` as Binance renders it: `[price, qty]` strings with the spec's precision.
    pub fn new(spec: &SymbolSpec, depth: &Depth) -> DepthBody {
        let levels = |levels: &[(Price, Qty)]| {
            levels
                .iter()
                .map(|(price, qty)| [render::price(spec, *price), render::qty(spec, *qty)])
                .collect()
        };
        DepthBody {
            last_update_id: depth.last_event_seq,
            bids: levels(&depth.bids),
            asks: levels(&depth.asks),
            stale: false,
        }
    }
}

/// Order book.
///
/// `lastUpdateId` is the book's last event seq, the same sequence diff-depth streams carry as
/// `U`/`u`.
#[utoipa::path(
    get,
    path = "/api/v3/depth",
    tag = "market",
    params(
        ("symbol" = String, Query, description = "The market, e.g. BTCUSDT."),
        ("limit" = Option<u64>, Query,
            description = "Levels per side (default 100; above 5000 is served as 5000)."),
    ),
    responses(
        (status = 200, description = "The book's best levels.", body = DepthBody),
        (status = 400, description = refused(&[PARAMS, &[
            code::MANDATORY_PARAM_EMPTY_OR_MALFORMED, code::BAD_SYMBOL, code::INVALID_PARAMETER,
        ]]), body = ErrorBody),
        (status = 503, description = UNAVAILABLE, body = ErrorBody),
    )
)]
pub async fn depth(
    state: web::Data<ApiState>,
    replicas: Option<web::Data<Addr<DepthReplicas>>>,
    board: Option<web::Data<SwitchBoard>>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let params = Params::from_query(request.query_string())?;
    let markets = state.markets();
    let market = market(&params, &markets)?;
    check_market_data(
        &current_switches(board.as_ref().map(|board| board.get_ref())),
        &market.spec.symbol,
    )?;
    let limit = match params.whole("limit")? {
        None => DEPTH_LIMIT_DEFAULT,
        Some(0) => return Err(ApiError::invalid_parameter("limit")),
        Some(limit) => limit.min(DEPTH_LIMIT_MAX),
    };
    let symbol = &market.spec.symbol;
    let levels_max = usize::try_from(limit).expect("limit is at most DEPTH_LIMIT_MAX");
    if let Some(replicas) = replicas {
        let query = GetReplicaDepth { symbol: symbol.clone(), levels_max };
        if let Ok(Some((depth, stale))) = replicas.send(query).await {
            let body = DepthBody { stale, ..DepthBody::new(&market.spec, &depth) };
            return Ok(HttpResponse::Ok().json(body));
        }
    }
    // No replica of this symbol yet (listed a moment ago): the book itself.
    let unavailable =
        || ApiError::internal(format!("The book of {symbol} is not available; retry later."));
    let book = state.books.book(symbol).ok_or_else(unavailable)?;
    let depth = book.send(GetDepth { levels_max }).await.map_err(|_| unavailable())?;
    Ok(HttpResponse::Ok().json(DepthBody::new(&market.spec, &depth)))
}

#[cfg(test)]
mod tests;
