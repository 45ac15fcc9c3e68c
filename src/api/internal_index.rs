//! The index oracle's internal routes, guarded by the `X-Internal-Token` header
//! (`INTERNAL_TOKEN`; without it pushing is disabled):
//! - `POST /internal/index/prices`: a trusted publisher pushes a price for an index,
//!   `{"index":"BTCUSDT","source":"desk-1","price":"65000.12","timestamp":1700000000000}`.
//!   A bad token, a malformed body, an unknown index, a non-positive or absurd price, a stale or
//!   future timestamp are refused and counted (`exchange_index_push_refused_total{reason}`).
//! - `GET /internal/index`: every index as this process's consumers see it (latest accepted
//!   price, epoch, age, stale) and whether this process is the publishing leader.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use exchange_actors::index::{LocalIndex, ObserveQuote, Quote, check_pushed_quote};
use rust_decimal::Decimal;
use serde::Deserialize;

use super::core::tokens_equal;
use super::errors::{ApiError, code};
use super::openapi::{ErrorBody, UNAVAILABLE, refused as refused_codes};
use crate::index::{IndexService, wall_clock_ms};

pub const INTERNAL_TOKEN_HEADER: &str = "X-Internal-Token";
/// A pushed price is a few dozen bytes.
const PUSH_BODY_BYTES_MAX: usize = 1_024;
const SOURCE_NAME_LEN_MAX: usize = 64;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"index": "BTCUSDT", "source": "desk-1", "price": "65000.12",
    "timestamp": 1_700_000_000_000_u64}))]
pub(super) struct PushedPrice {
    index: String,
    /// The publisher's name: 1 to 64 letters, digits, '-', '_' or '.'.
    source: String,
    #[serde(with = "rust_decimal::serde::str")]
    #[schema(value_type = String)]
    price: Decimal,
    /// When the publisher observed the price (ms since the Unix epoch).
    timestamp: u64,
}

pub fn configure_internal_index(config: &mut web::ServiceConfig, service: web::Data<IndexService>) {
    config
        .app_data(service)
        .route("/internal/index/prices", web::post().to(push_price))
        .route("/internal/index", web::get().to(index_board));
}

fn refused(reason: &'static str, error: ApiError) -> ApiError {
    metrics::counter!("exchange_index_push_refused_total", "reason" => reason).increment(1);
    error
}

fn check_token(request: &HttpRequest, service: &IndexService) -> Result<(), ApiError> {
    let given = request.headers().get(INTERNAL_TOKEN_HEADER).map(|value| value.as_bytes());
    match (&service.settings.internal_token, given) {
        (Some(expected), Some(given)) if tokens_equal(given, expected.as_bytes()) => Ok(()),
        (None, _) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            code::REJECTED_MBX_KEY,
            "Internal pushes are disabled: INTERNAL_TOKEN is not set.",
        )),
        _ => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            code::REJECTED_MBX_KEY,
            "Invalid internal token.",
        )),
    }
}

/// A trusted publisher's price for an index: one of the index's sources.
#[utoipa::path(
    post,
    path = "/internal/index/prices",
    tag = "internal",
    request_body = PushedPrice,
    responses(
        (status = 200, description = "Taken as the source's latest quote.",
            example = json!({"accepted": true})),
        (status = 400, description = refused_codes(&[&[code::INVALID_PARAMETER, code::BAD_SYMBOL]]),
            body = ErrorBody),
        (status = 401, description = "A missing or wrong internal token.", body = ErrorBody),
        (status = 403, description = "Pushing is disabled (no INTERNAL_TOKEN).", body = ErrorBody),
        (status = 503, description = UNAVAILABLE, body = ErrorBody),
    ),
    security(("internalToken" = []))
)]
pub(super) async fn push_price(
    request: HttpRequest,
    service: web::Data<IndexService>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    check_token(&request, &service).map_err(|error| refused("bad_token", error))?;
    let malformed =
        |msg: String| refused("malformed", ApiError::bad_request(code::INVALID_PARAMETER, msg));
    if body.len() > PUSH_BODY_BYTES_MAX {
        return Err(malformed(format!("The body is larger than {PUSH_BODY_BYTES_MAX} bytes.")));
    }
    let pushed: PushedPrice = serde_json::from_slice(&body)
        .map_err(|error| malformed(format!("The body is not a pushed price: {error}")))?;
    let source_ok = !pushed.source.is_empty()
        && pushed.source.len() <= SOURCE_NAME_LEN_MAX
        && pushed.source.bytes().all(|byte| byte.is_ascii_alphanumeric() || b"-_.".contains(&byte));
    if !source_ok {
        return Err(malformed(format!(
            "source must be 1 to {SOURCE_NAME_LEN_MAX} letters, digits, '-', '_' or '.'"
        )));
    }
    let Some(rules) = service.settings.rules().get(&pushed.index).copied() else {
        return Err(refused("unknown_index", ApiError::invalid_symbol()));
    };
    let current = service
        .oracle
        .send(LocalIndex { index: pushed.index.clone() })
        .await
        .map_err(|_| ApiError::internal("The index oracle is not running."))?;
    let now_ms = wall_clock_ms();
    check_pushed_quote(pushed.price, pushed.timestamp, now_ms, rules.staleness_ms, current)
        .map_err(|refusal| {
            let msg = format!("Price refused: {refusal}.");
            refused(refusal.reason(), ApiError::bad_request(code::INVALID_PARAMETER, msg))
        })?;
    let quote = Quote { price: pushed.price, observed_at_ms: pushed.timestamp };
    let observe =
        ObserveQuote { index: pushed.index, source: format!("push:{}", pushed.source), quote };
    let taken = service
        .oracle
        .send(observe)
        .await
        .map_err(|_| ApiError::internal("The index oracle is not running."))?;
    if !taken {
        let msg = "Price refused: older than this source's last price, or too many sources.";
        return Err(refused("not_taken", ApiError::bad_request(code::INVALID_PARAMETER, msg)));
    }
    Ok(HttpResponse::Ok().json(serde_json::json!({ "accepted": true })))
}

/// Every index as this process's consumers see it: the latest accepted price (with its
/// leader's epoch and seq), its age and whether it is stale.
#[utoipa::path(
    get,
    path = "/internal/index",
    tag = "internal",
    responses(
        (status = 200, description = "Every configured index.",
            example = json!({"indexes": [{"index": "BTCUSDT", "latest": {"index": "BTCUSDT",
                "price": "65000.1", "seq": 812, "epoch": 3, "at_ms": 1_700_000_000_000_u64,
                "sources": 2}, "ageMs": 120, "stale": false}]})),
        (status = 401, description = "A missing or wrong internal token.", body = ErrorBody),
        (status = 403, description = "Internal routes are disabled (no INTERNAL_TOKEN).",
            body = ErrorBody),
    ),
    security(("internalToken" = []))
)]
pub(super) async fn index_board(
    request: HttpRequest,
    service: web::Data<IndexService>,
) -> Result<HttpResponse, ApiError> {
    check_token(&request, &service)?;
    let indexes = service.board.entries(wall_clock_ms());
    Ok(HttpResponse::Ok().json(serde_json::json!({ "indexes": indexes })))
}
