//! `POST /admin/symbols` (list a symbol: its whole spec, camelCase as in exchangeInfo, fees
//! included) and `PUT /admin/symbols/{symbol}` (change filters and fees: any of minQty, maxQty,
//! minNotional, maxNotional, priceBandBps, makerFeeRate, takerFeeRate, makerFeeFloor). Both are
//! audited like every admin action and answer the symbol's spec as it now trades.

use actix_web::{HttpRequest, HttpResponse, web};
use exchange_actors::model::SymbolSpec;

use super::admin::{Audit, check_admin, now_ms};
use super::core::TradingCore;
use super::errors::{ApiError, code};
use super::openapi::{ErrorBody, UNAVAILABLE, refused};
use crate::listing::{ListingError, SymbolListing, TermsChange};

fn listing_error(error: ListingError) -> ApiError {
    match error {
        ListingError::Invalid(msg) => ApiError::bad_request(code::INVALID_PARAMETER, msg),
        ListingError::Listed(symbol) => ApiError::bad_request(
            code::INVALID_PARAMETER,
            format!(
                "Symbol {symbol} is listed already; change it with PUT /admin/symbols/{symbol}."
            ),
        ),
        ListingError::Unknown(_) => ApiError::invalid_symbol(),
        ListingError::Failed(detail) => {
            tracing::error!(%detail, "symbol listing failed");
            ApiError::internal(format!(
                "Internal error; the symbol could not be listed or changed: {detail}"
            ))
        }
    }
}

/// List a symbol while the exchange runs: its book opens and clients can trade it at once.
#[utoipa::path(
    post,
    path = "/admin/symbols",
    tag = "admin",
    request_body(content = Object, description = "The symbol's whole spec: symbol, baseAsset, \
        quoteAsset (assets of the configuration's [assets]), tickSize, minPrice, maxPrice, \
        stepSize, minQty, maxQty, minNotional, maxNotional (decimal strings), priceBandBps \
        (integer, 0 = no band), makerFeeRate, takerFeeRate, makerFeeFloor (decimal strings).",
        example = json!({"symbol": "ETHBTC", "baseAsset": "ETH", "quoteAsset": "BTC",
            "tickSize": "0.00001", "minPrice": "0.00001", "maxPrice": "100",
            "stepSize": "0.001", "minQty": "0.001", "maxQty": "10000",
            "minNotional": "0.0001", "maxNotional": "1000", "priceBandBps": 0,
            "makerFeeRate": "0", "takerFeeRate": "0.001", "makerFeeFloor": "0"})),
    responses(
        (status = 200, description = "The spec as listed.", body = Object),
        (status = 400, description = refused(&[&[code::INVALID_PARAMETER]]), body = ErrorBody),
        (status = 401, description = refused(&[&[code::REJECTED_MBX_KEY]]), body = ErrorBody),
        (status = 503, description = UNAVAILABLE, body = ErrorBody),
    ),
    security(("adminToken" = []))
)]
pub async fn list_symbol(
    request: HttpRequest,
    core: web::Data<TradingCore>,
    listing: web::Data<SymbolListing>,
    body: web::Json<SymbolSpec>,
) -> Result<HttpResponse, ApiError> {
    check_admin(&request, &core)?;
    let spec = body.into_inner();
    let detail = serde_json::to_value(&spec).unwrap_or_default();
    let audit =
        Audit::start(&core, "list_symbol", format!("symbol:{}", spec.symbol), detail).await?;
    let listed = listing.list(spec, now_ms()).await.map_err(listing_error);
    audit.finish(listed).await.map(|market| HttpResponse::Ok().json(market.spec))
}

/// Change a listed symbol's filters and fees; they apply from the book's next input (journaled,
/// so a replay applies them at the same point). Tick size, step size, assets and price range
/// cannot change.
#[utoipa::path(
    put,
    path = "/admin/symbols/{symbol}",
    tag = "admin",
    params(("symbol" = String, Path, description = "A listed symbol, e.g. BTCUSDT.")),
    request_body = TermsChange,
    responses(
        (status = 200, description = "The spec as it now trades.", body = Object),
        (status = 400, description = refused(&[&[code::INVALID_PARAMETER, code::BAD_SYMBOL]]),
            body = ErrorBody),
        (status = 401, description = refused(&[&[code::REJECTED_MBX_KEY]]), body = ErrorBody),
        (status = 503, description = UNAVAILABLE, body = ErrorBody),
    ),
    security(("adminToken" = []))
)]
pub async fn change_symbol(
    request: HttpRequest,
    core: web::Data<TradingCore>,
    listing: web::Data<SymbolListing>,
    path: web::Path<String>,
    body: web::Json<TermsChange>,
) -> Result<HttpResponse, ApiError> {
    check_admin(&request, &core)?;
    let symbol = path.into_inner();
    let change = body.into_inner();
    let detail = serde_json::to_value(&change).unwrap_or_default();
    let audit = Audit::start(&core, "change_symbol", format!("symbol:{symbol}"), detail).await?;
    let changed = listing.change(&symbol, &change).await.map_err(listing_error);
    audit.finish(changed).await.map(|market| HttpResponse::Ok().json(market.spec))
}
