//! `POST /admin/corrections`: the only way to repair a balance. A correction appends a new
//! ledger entry (kind CORRECTION, double-entry between External and the user's available
//! balance) whose reference is the entry it corrects: a reversal (the opposite of the
//! original's amount) or an adjustment. No ledger row is ever updated or deleted (a trigger
//! refuses it). Audited like every admin action.

use actix_web::{HttpRequest, HttpResponse, web};
use exchange_actors::account::actor::TransferDirection;
use exchange_actors::model::AccountId;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::admin::{Audit, check_admin, move_funds};
use super::core::TradingCore;
use super::errors::{ApiError, code};
use super::openapi::{ErrorBody, UNAVAILABLE, refused};

/// Longest reason kept with a correction.
const REASON_LEN_MAX: usize = 500;

pub fn configure_corrections(config: &mut web::ServiceConfig) {
    config.route("/admin/corrections", web::post().to(correct));
}

/// A correction of one ledger entry.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CorrectionBody {
    pub account_id: u64,
    pub asset: String,
    /// A signed decimal: positive credits the user's available balance, negative debits it.
    pub amount: String,
    /// The id of the ledger entry (in the account's shard) being corrected; it must have
    /// moved `asset` for this account.
    pub corrects_entry_id: u64,
    /// Why, for the audit trail (required).
    pub reason: String,
}

/// Correct a ledger entry by appending a reversal or adjustment.
#[utoipa::path(
    post,
    path = "/admin/corrections",
    tag = "admin",
    request_body = CorrectionBody,
    responses(
        (status = 200, description = "The asset's balance after the correction.", body = Object),
        (status = 400, description = refused(&[&[
            code::INVALID_PARAMETER, code::BAD_PRECISION, code::NEW_ORDER_REJECTED,
        ]]), body = ErrorBody),
        (status = 401, description = refused(&[&[code::REJECTED_MBX_KEY]]), body = ErrorBody),
        (status = 503, description = UNAVAILABLE, body = ErrorBody),
    ),
    security(("adminToken" = []))
)]
pub async fn correct(
    request: HttpRequest,
    core: web::Data<TradingCore>,
    body: web::Json<CorrectionBody>,
) -> Result<HttpResponse, ApiError> {
    check_admin(&request, &core)?;
    let body = body.into_inner();
    let reason_len = body.reason.trim().chars().count();
    if reason_len == 0 || reason_len > REASON_LEN_MAX {
        return Err(ApiError::invalid_parameter("reason"));
    }
    let detail = serde_json::to_value(&body).unwrap_or_default();
    let subject = format!("account:{}", body.account_id);
    let audit = Audit::start(&core, "correction", subject, detail).await?;
    let corrected = apply(&core, &body).await;
    audit.finish(corrected).await.map(|balance| HttpResponse::Ok().json(balance))
}

async fn apply(core: &TradingCore, body: &CorrectionBody) -> Result<serde_json::Value, ApiError> {
    let (direction, magnitude) = match body.amount.trim().strip_prefix('-') {
        Some(magnitude) => (TransferDirection::CorrectionDebit, magnitude),
        None => (TransferDirection::CorrectionCredit, body.amount.trim()),
    };
    let account_id = AccountId(body.account_id);
    core.project_shard_of(account_id).await?;
    let shard = exchange_actors::account::shard_of(account_id, core.shards.len());
    let shard = u16::try_from(shard).map_err(|_| ApiError::internal("shard index"))?;
    let owner = format!("user:{}", body.account_id);
    let entry = body.corrects_entry_id;
    let exists =
        core.store.entry_touches(shard, entry, &owner, &body.asset).await.map_err(|error| {
            tracing::error!(%error, "ledger unreadable");
            ApiError::internal("The ledger is unavailable; nothing was done.")
        })?;
    if !exists {
        return Err(ApiError::bad_request(
            code::INVALID_PARAMETER,
            format!(
                "correctsEntryId {entry} is not a ledger entry of account {} in {}.",
                body.account_id, body.asset
            ),
        ));
    }
    let balance =
        move_funds(core, body.account_id, &body.asset, magnitude, entry, direction).await?;
    Ok(serde_json::json!({ "correctsEntryId": entry, "balance": balance }))
}
