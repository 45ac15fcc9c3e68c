//! Public market routes (no key, no signature): ping, server time, exchangeInfo and depth.
//! They read only the configured markets and, for depth, the symbol's book (a cheap in-memory
//! query through the [`BookDirectory`](exchange_actors::supervisor::BookDirectory), so a
//! restarted book is found at its new address).

use actix_web::{HttpRequest, HttpResponse, web};
use exchange_actors::book::Depth;
use exchange_actors::book::actor::GetDepth;
use exchange_actors::model::{Price, Qty, SymbolSpec};
use serde::Serialize;

use super::errors::ApiError;
use super::exchange_info::exchange_info as exchange_info_body;
use super::param_set::Params;
use super::params::market;
use super::render;
use super::state::{ApiMarket, ApiState};

/// `limit` of depth when none is given.
pub const DEPTH_LIMIT_DEFAULT: u64 = 100;
/// Largest depth served; a larger `limit` is truncated to it, as Binance does.
pub const DEPTH_LIMIT_MAX: u64 = 5_000;

pub async fn ping() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({}))
}

pub async fn time(state: web::Data<ApiState>) -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "serverTime": state.now_ms() }))
}

/// All markets, or those named by `symbol` or `symbols` (a JSON array of names).
pub async fn exchange_info(
    state: web::Data<ApiState>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let params = Params::from_query(request.query_string())?;
    let markets = selected_markets(&params, &state)?;
    Ok(HttpResponse::Ok().json(exchange_info_body(markets, state.now_ms())))
}

pub(super) fn selected_markets<'a>(
    params: &Params,
    state: &'a ApiState,
) -> Result<Vec<&'a ApiMarket>, ApiError> {
    if params.get("symbol").is_some() {
        return Ok(vec![market(params, &state.markets)?]);
    }
    let Some(list) = params.optional("symbols")? else {
        return Ok(state.markets.iter().collect());
    };
    let names: Vec<String> =
        serde_json::from_str(list).map_err(|_| ApiError::invalid_parameter("symbols"))?;
    names.iter().map(|name| state.markets.get(name).ok_or_else(ApiError::invalid_symbol)).collect()
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DepthBody {
    pub last_update_id: u64,
    pub bids: Vec<[String; 2]>,
    pub asks: Vec<[String; 2]>,
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
        }
    }
}

/// `GET /api/v3/depth?symbol&limit`: `lastUpdateId` is the book's last event seq, the same
/// sequence diff-depth streams carry as `U`/`u`.
pub async fn depth(
    state: web::Data<ApiState>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let params = Params::from_query(request.query_string())?;
    let market = market(&params, &state.markets)?;
    let limit = match params.whole("limit")? {
        None => DEPTH_LIMIT_DEFAULT,
        Some(0) => return Err(ApiError::invalid_parameter("limit")),
        Some(limit) => limit.min(DEPTH_LIMIT_MAX),
    };
    let symbol = &market.spec.symbol;
    let unavailable =
        || ApiError::internal(format!("The book of {symbol} is not available; retry later."));
    let book = state.books.book(symbol).ok_or_else(unavailable)?;
    let levels_max = usize::try_from(limit).expect("limit is at most DEPTH_LIMIT_MAX");
    let depth = book.send(GetDepth { levels_max }).await.map_err(|_| unavailable())?;
    Ok(HttpResponse::Ok().json(DepthBody::new(&market.spec, &depth)))
}

#[cfg(test)]
mod tests;
