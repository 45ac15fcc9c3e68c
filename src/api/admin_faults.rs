//! `POST /admin/faults/stall-book` (`{"symbol":"BTCUSDT","stallMs":3000}`): the chaos runner's
//! stalled actor. The symbol's book thread blocks for `stallMs`, beating no heartbeat, so the
//! supervisor must replace it from the journal under a new epoch while clients keep sending.
//!
//! Compiled only with the `fault-injection` feature (the integration tests' build of the
//! binary), and refused with 403 unless the process was started outside the production
//! profile ([`FaultInjection::allowed`]): a release build for operators has no such route.

use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use exchange_actors::faults::StallBook;
use serde::Deserialize;

use super::admin::check_admin;
use super::core::TradingCore;
use super::errors::{ApiError, code};
use crate::safety_metrics::{AdminOperation, count_admin_operation};

/// The longest stall one request may ask for.
pub const STALL_MS_MAX: u64 = 30_000;

/// Whether this process takes fault requests (off in the production profile).
#[derive(Clone, Copy, Debug)]
pub struct FaultInjection {
    pub allowed: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct StallRequest {
    symbol: String,
    stall_ms: u64,
}

pub fn configure_faults(config: &mut web::ServiceConfig, faults: FaultInjection) {
    config
        .app_data(web::Data::new(faults))
        .route("/admin/faults/stall-book", web::post().to(stall_book));
}

async fn stall_book(
    request: HttpRequest,
    core: web::Data<TradingCore>,
    faults: web::Data<FaultInjection>,
    body: web::Json<StallRequest>,
) -> Result<HttpResponse, ApiError> {
    check_admin(&request, &core)?;
    let stalled = stall(&core, &faults, body.into_inner());
    count_admin_operation(AdminOperation::FaultInjection, stalled.is_ok());
    stalled
}

fn stall(
    core: &TradingCore,
    faults: &FaultInjection,
    StallRequest { symbol, stall_ms }: StallRequest,
) -> Result<HttpResponse, ApiError> {
    if !faults.allowed {
        let msg = "Fault injection is refused in the production profile.";
        return Err(ApiError::new(StatusCode::FORBIDDEN, code::INVALID_PARAMETER, msg));
    }
    if stall_ms == 0 || stall_ms > STALL_MS_MAX {
        let msg = format!("stallMs must be in 1..={STALL_MS_MAX}, not {stall_ms}.");
        return Err(ApiError::bad_request(code::INVALID_PARAMETER, msg));
    }
    let book = core
        .books
        .book(&symbol)
        .ok_or_else(|| ApiError::bad_request(code::BAD_SYMBOL, "Invalid symbol."))?;
    // Not awaited: the answer would come only after the stall.
    book.try_send(StallBook(std::time::Duration::from_millis(stall_ms))).map_err(|error| {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, code::SERVER_BUSY, error.to_string())
    })?;
    tracing::warn!(%symbol, stall_ms, "fault injected on request: book stalls");
    Ok(HttpResponse::Ok().json(serde_json::json!({ "symbol": symbol, "stallMs": stall_ms })))
}
