//! Operational counters and `GET /metrics` (Prometheus text format).
//!
//! Counters go through the `metrics` facade, whose recorder is process-global: `exchange serve`
//! installs a Prometheus recorder once ([`install_prometheus`]); unit tests install none, so
//! their counts go nowhere and cannot disturb one another. [`MetricsEndpoint`] holds the
//! handle the route renders; without one (tests) it serves an empty page.
//!
//! The endpoint is public like Binance's market routes: it carries counts only, never keys,
//! accounts or amounts.

use actix_web::{HttpResponse, web};
use exchange_actors::supervisor::metrics as supervision;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Requests refused for their credentials (API key, signature, timestamp, admin token), by
/// `reason`.
pub const AUTH_FAILURES_TOTAL: &str = "exchange_auth_failures_total";
/// The `reason` of a request without the right `X-Admin-Token`.
pub const ADMIN_TOKEN_MISSING: &str = "admin_token_missing";
pub const ADMIN_TOKEN_WRONG: &str = "admin_token_wrong";
/// Prometheus' text exposition format.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Counts one refused request.
pub fn count_auth_failure(reason: &'static str) {
    metrics::counter!(AUTH_FAILURES_TOTAL, "reason" => reason).increment(1);
}

/// Installs the process-wide Prometheus recorder; only `exchange serve` calls this, once.
pub fn install_prometheus() -> anyhow::Result<PrometheusHandle> {
    let handle = exporter()?.install_recorder()?;
    supervision::describe();
    metrics::describe_counter!(
        AUTH_FAILURES_TOTAL,
        "Requests refused for their API key, signature, timestamp or admin token, by reason."
    );
    Ok(handle)
}

/// The exporter with its bucket bounds: histograms render as Prometheus histograms (buckets),
/// not the exporter's default summaries.
fn exporter() -> anyhow::Result<PrometheusBuilder> {
    let buckets = PrometheusBuilder::new().set_buckets_for_metric(
        Matcher::Full(supervision::TRANSIENT_STATE_AGE_SECONDS.to_owned()),
        &supervision::TRANSIENT_STATE_AGE_BUCKETS_SECONDS,
    )?;
    Ok(buckets)
}

/// What `GET /metrics` renders: the installed recorder's handle, or nothing.
#[derive(Clone, Default)]
pub struct MetricsEndpoint {
    handle: Option<PrometheusHandle>,
}

impl MetricsEndpoint {
    pub fn new(handle: PrometheusHandle) -> MetricsEndpoint {
        MetricsEndpoint { handle: Some(handle) }
    }

    /// No recorder: the route answers an empty page.
    pub fn disabled() -> MetricsEndpoint {
        MetricsEndpoint::default()
    }
}

impl std::fmt::Debug for MetricsEndpoint {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("MetricsEndpoint").field("enabled", &self.handle.is_some()).finish()
    }
}

/// Prometheus metrics.
///
/// Counters in Prometheus' text format, e.g. `exchange_auth_failures_total{reason}`.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    responses((status = 200, description = "Prometheus text exposition format.", body = String,
        content_type = "text/plain; version=0.0.4"))
)]
pub async fn metrics_text(endpoint: web::Data<MetricsEndpoint>) -> HttpResponse {
    let text = endpoint.handle.as_ref().map(PrometheusHandle::render).unwrap_or_default();
    HttpResponse::Ok().content_type(CONTENT_TYPE).body(text)
}

#[cfg(test)]
mod tests {
    use metrics_exporter_prometheus::PrometheusBuilder;

    use super::*;

    #[test]
    fn a_counted_failure_renders_with_its_reason() {
        // A local recorder: the process-global one stays untouched.
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        metrics::with_local_recorder(&recorder, || {
            count_auth_failure("bad_signature");
            count_auth_failure("bad_signature");
            count_auth_failure(ADMIN_TOKEN_WRONG);
        });
        let text = handle.render();
        assert!(
            text.contains("exchange_auth_failures_total{reason=\"bad_signature\"} 2"),
            "{text}"
        );
        assert!(text.contains("exchange_auth_failures_total{reason=\"admin_token_wrong\"} 1"));
    }

    #[test]
    fn transient_state_ages_render_as_a_histogram_with_buckets() {
        let recorder = exporter().unwrap().build_recorder();
        let handle = recorder.handle();
        metrics::with_local_recorder(&recorder, || {
            supervision::record_transient_age(
                exchange_actors::supervisor::TransientState::Canceling,
                700_000_000,
            );
        });
        let text = handle.render();
        let name = supervision::TRANSIENT_STATE_AGE_SECONDS;
        assert!(
            text.contains(&format!("{name}_bucket{{state=\"canceling\",le=\"0.5\"}} 0")),
            "{text}"
        );
        assert!(
            text.contains(&format!("{name}_bucket{{state=\"canceling\",le=\"1\"}} 1")),
            "{text}"
        );
        assert!(text.contains(&format!("{name}_count{{state=\"canceling\"}} 1")), "{text}");
    }
}
