//! The kill switches through the admin API (`X-Admin-Token`): `GET /admin/switches`,
//! `PUT /admin/switches` (global mode, withdrawals), `PUT /admin/switches/symbols/{symbol}`
//! (a symbol's mode, disabled order types, price protection, rate override), and
//! `GET /admin/audit` (the append-only audit trail, newest first). Each change is audited by
//! the [`SwitchBoard`](crate::control::SwitchBoard) with who (`X-Admin-Actor`, default
//! `admin`), what, before, after and when.

use actix_web::{HttpRequest, HttpResponse, web};

use super::admin::{check_admin, now_ms};
use super::core::TradingCore;
use super::errors::{ApiError, code};
use super::openapi::{ErrorBody, UNAVAILABLE, refused};
use super::param_set::{Params, parse_whole};
use super::state::ApiState;
use crate::control::{Applied, BoardError, GlobalChange, Switches, SymbolChange};
use crate::safety_metrics::{AdminOperation, count_admin_operation};

/// The header naming the operator who makes a change (recorded in the audit trail).
pub const ADMIN_ACTOR_HEADER: &str = "X-Admin-Actor";
const ACTOR_LEN_MAX: usize = 64;
const ACTOR_DEFAULT: &str = "admin";
/// Audit records one `GET /admin/audit` returns at most.
pub const AUDIT_PAGE_MAX: u32 = 1_000;
const AUDIT_PAGE_DEFAULT: u32 = 100;

pub fn configure_switches(config: &mut web::ServiceConfig) {
    config
        .route("/admin/switches", web::get().to(switches))
        .route("/admin/switches", web::put().to(change_global))
        .route("/admin/switches/symbols/{symbol}", web::put().to(change_symbol))
        .route("/admin/audit", web::get().to(audit));
}

/// Who is changing: `X-Admin-Actor` when it is short printable ASCII, else `admin`.
fn actor(request: &HttpRequest) -> String {
    request
        .headers()
        .get(ADMIN_ACTOR_HEADER)
        .and_then(|value| value.to_str().ok())
        .map(str::trim)
        .filter(|name| !name.is_empty() && name.len() <= ACTOR_LEN_MAX)
        .map_or_else(|| ACTOR_DEFAULT.to_owned(), |name| format!("{ACTOR_DEFAULT}:{name}"))
}

fn board_error(error: BoardError) -> ApiError {
    match error {
        BoardError::Invalid(invalid) => {
            ApiError::bad_request(code::INVALID_PARAMETER, invalid.to_string())
        }
        BoardError::Store(error) => {
            tracing::error!(%error, "a switch change could not be audited or stored");
            ApiError::internal("The audit trail is unavailable; nothing was changed.")
        }
    }
}

fn applied_body(applied: &Applied) -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "before": applied.before, "after": applied.after }))
}

/// The kill switches now.
#[utoipa::path(
    get,
    path = "/admin/switches",
    tag = "admin",
    responses(
        (status = 200, description = "Every switch.", body = Switches),
        (status = 401, description = refused(&[&[code::REJECTED_MBX_KEY]]), body = ErrorBody),
    ),
    security(("adminToken" = []))
)]
async fn switches(
    request: HttpRequest,
    core: web::Data<TradingCore>,
) -> Result<HttpResponse, ApiError> {
    check_admin(&request, &core)?;
    Ok(HttpResponse::Ok().json(&*core.switches.current()))
}

/// Change the global mode (NORMAL, CANCEL_ONLY, READ_ONLY, HALTED) or turn withdrawals on or
/// off; fields not sent stay.
#[utoipa::path(
    put,
    path = "/admin/switches",
    operation_id = "change_global_switches",
    tag = "admin",
    request_body = GlobalChange,
    responses(
        (status = 200, description = "The switches before and after.", body = Object),
        (status = 400, description = refused(&[&[code::INVALID_PARAMETER]]), body = ErrorBody),
        (status = 401, description = refused(&[&[code::REJECTED_MBX_KEY]]), body = ErrorBody),
        (status = 503, description = UNAVAILABLE, body = ErrorBody),
    ),
    security(("adminToken" = []))
)]
async fn change_global(
    request: HttpRequest,
    core: web::Data<TradingCore>,
    body: web::Json<GlobalChange>,
) -> Result<HttpResponse, ApiError> {
    check_admin(&request, &core)?;
    let change = body.into_inner();
    let detail = serde_json::to_value(&change).unwrap_or_default();
    let applied = core
        .switches
        .change(&actor(&request), "switch_global", "global", detail, now_ms(), |before| {
            Ok(before.with_global(&change))
        })
        .await;
    if change.mode.is_some() {
        count_admin_operation(AdminOperation::GlobalSwitch, applied.is_ok());
    }
    if change.withdrawals_enabled.is_some() {
        count_admin_operation(AdminOperation::WithdrawalsSwitch, applied.is_ok());
    }
    Ok(applied_body(&applied.map_err(board_error)?))
}

/// Change a listed symbol's switches: mode, disabledOrderTypes, priceProtectionBps,
/// requestWeightPerMinute (0 removes the override); fields not sent stay.
#[utoipa::path(
    put,
    path = "/admin/switches/symbols/{symbol}",
    operation_id = "change_symbol_switches",
    tag = "admin",
    params(("symbol" = String, Path, description = "A listed symbol, e.g. BTCUSDT.")),
    request_body = SymbolChange,
    responses(
        (status = 200, description = "The switches before and after.", body = Object),
        (status = 400, description = refused(&[&[code::INVALID_PARAMETER, code::BAD_SYMBOL]]),
            body = ErrorBody),
        (status = 401, description = refused(&[&[code::REJECTED_MBX_KEY]]), body = ErrorBody),
        (status = 503, description = UNAVAILABLE, body = ErrorBody),
    ),
    security(("adminToken" = []))
)]
async fn change_symbol(
    request: HttpRequest,
    core: web::Data<TradingCore>,
    state: web::Data<ApiState>,
    path: web::Path<String>,
    body: web::Json<SymbolChange>,
) -> Result<HttpResponse, ApiError> {
    check_admin(&request, &core)?;
    let symbol = path.into_inner();
    if state.markets().get(&symbol).is_none() {
        return Err(ApiError::invalid_symbol());
    }
    let change = body.into_inner();
    let detail = serde_json::to_value(&change).unwrap_or_default();
    let subject = format!("symbol:{symbol}");
    let applied = core
        .switches
        .change(&actor(&request), "switch_symbol", &subject, detail, now_ms(), |before| {
            before.with_symbol(&symbol, &change)
        })
        .await;
    count_admin_operation(AdminOperation::SymbolSwitch, applied.is_ok());
    Ok(applied_body(&applied.map_err(board_error)?))
}

/// The audit trail, newest first: `limit` records (default 100, at most 1000).
#[utoipa::path(
    get,
    path = "/admin/audit",
    tag = "admin",
    params(("limit" = Option<u32>, Query, description = "Records to return (1..=1000).")),
    responses(
        (status = 200, description = "Audit records: atMs, action, subject, detail, outcome.",
            body = Object),
        (status = 400, description = refused(&[&[code::INVALID_PARAMETER]]), body = ErrorBody),
        (status = 401, description = refused(&[&[code::REJECTED_MBX_KEY]]), body = ErrorBody),
        (status = 503, description = UNAVAILABLE, body = ErrorBody),
    ),
    security(("adminToken" = []))
)]
async fn audit(
    request: HttpRequest,
    core: web::Data<TradingCore>,
) -> Result<HttpResponse, ApiError> {
    check_admin(&request, &core)?;
    let params = Params::from_query(request.query_string())?;
    let limit = match params.optional("limit")? {
        None => AUDIT_PAGE_DEFAULT,
        Some(text) => u32::try_from(parse_whole("limit", text)?).unwrap_or(u32::MAX),
    };
    if !(1..=AUDIT_PAGE_MAX).contains(&limit) {
        return Err(ApiError::invalid_parameter("limit"));
    }
    let records = core.store.recent_audit(limit).await.map_err(|error| {
        tracing::error!(%error, "the audit trail is unreadable");
        ApiError::internal("The audit trail is unavailable.")
    })?;
    let bodies: Vec<serde_json::Value> = records
        .into_iter()
        .map(|record| {
            serde_json::json!({
                "atMs": record.at_ms, "action": record.action, "subject": record.subject,
                "detail": record.detail, "outcome": record.outcome,
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(bodies))
}
