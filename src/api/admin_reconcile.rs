//! `GET /admin/reconcile`: reconciliation on demand (the same run as the periodic one): ledger
//! sums per asset, balances against the ledger, negatives, each shard's held-versus-orders
//! invariant. Answers the report as JSON.

use actix_web::{HttpRequest, HttpResponse, web};

use super::admin::check_admin;
use super::core::TradingCore;
use super::errors::{ApiError, code};
use super::openapi::{ErrorBody, UNAVAILABLE, refused};
use crate::control::{Reconciler, Report};
use crate::safety_metrics::{AdminOperation, count_admin_operation};

pub fn configure_reconcile(config: &mut web::ServiceConfig) {
    config.route("/admin/reconcile", web::get().to(reconcile));
}

/// Reconcile now.
#[utoipa::path(
    get,
    path = "/admin/reconcile",
    tag = "admin",
    responses(
        (status = 200, description = "The anomalies found (none: `anomalyCount` 0).",
            body = Report),
        (status = 401, description = refused(&[&[code::REJECTED_MBX_KEY]]), body = ErrorBody),
        (status = 503, description = UNAVAILABLE, body = ErrorBody),
    ),
    security(("adminToken" = []))
)]
pub async fn reconcile(
    request: HttpRequest,
    core: web::Data<TradingCore>,
    reconciler: web::Data<Reconciler>,
) -> Result<HttpResponse, ApiError> {
    check_admin(&request, &core)?;
    let report = reconciler.run().await;
    count_admin_operation(AdminOperation::ReconcileOnDemand, report.is_ok());
    let report = report.map_err(|error| {
        tracing::error!(%error, "reconciliation on demand failed");
        ApiError::internal(format!("Reconciliation could not run: {error}"))
    })?;
    Ok(HttpResponse::Ok().json(report))
}
