//! Operational counters and `GET /metrics` (Prometheus text format).
//!
//! Counters go through the `metrics` facade, whose recorder is process-global: `exchange serve`
//! installs a Prometheus recorder once ([`install_prometheus`]); unit tests install none, so
//! their counts go nowhere and cannot disturb one another. [`MetricsEndpoint`] holds the
//! handle the route renders; without one (tests) it serves an empty page.
//!
//! The endpoint is public like Binance's market routes: it carries counts only, never keys,
//! accounts or amounts.
//!
//! Every histogram named `*_seconds` is exported with [`LATENCY_BUCKETS_SECONDS`] (real
//! `_bucket` series, so Prometheus can aggregate them and alert on `histogram_quantile`),
//! not as a client-side summary. Process metrics (CPU, memory, open files, threads) are
//! collected on each scrape by `metrics-process`.

use std::sync::Arc;

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

/// Bucket bounds of every `*_seconds` histogram: 100 us to 10 s, with a bound at each alert
/// threshold (matching p99 10 ms, WebSocket push p99 50 ms, cancel latency 5 s), so an
/// alert compares a measured bucket, not an interpolation.
/// 5 s is a bound too: the cancel-latency alert's threshold.
pub const LATENCY_BUCKETS_SECONDS: [f64; 18] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25,
    0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The exporter as `exchange serve` configures it (histograms with buckets).
pub fn prometheus_builder() -> PrometheusBuilder {
    PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), &LATENCY_BUCKETS_SECONDS)
        .expect("the bucket list is not empty")
}

/// Counters counted where a rare event happens (a dead-lettered message, a hub gap, a fired
/// dead man's switch), with their label sets: registered at zero when the recorder is
/// installed, so dashboards and `rate()` see a series, not "no data", before the first event.
const RARE_EVENT_COUNTERS: [(&str, &[(&str, &str)]); 14] = [
    ("exchange_bus_dead_lettered_total", &[]),
    ("exchange_bus_relay_overflow_total", &[]),
    ("exchange_bus_unroutable_total", &[]),
    ("exchange_bus_published_messages_total", &[]),
    ("exchange_bus_redeliveries_total", &[]),
    ("exchange_bus_reconnects_total", &[("role", "consumer")]),
    ("exchange_bus_reconnects_total", &[("role", "relay")]),
    ("exchange_ws_hub_gaps_total", &[]),
    ("exchange_depth_replica_resyncs_total", &[]),
    ("exchange_ws_dropped_messages_total", &[("reason", "conflated")]),
    ("exchange_ws_dropped_messages_total", &[("reason", "mailbox_full")]),
    ("exchange_dead_man_switch_canceled_orders_total", &[]),
    ("exchange_dead_man_switch_triggers_total", &[("scope", "account")]),
    ("exchange_dead_man_switch_triggers_total", &[("scope", "symbol")]),
];
/// Gauges set or moved only once a session opens: zero until then.
const SESSION_GAUGES: [&str; 3] =
    ["exchange_ws_sessions", "exchange_ws_api_sessions", "exchange_ws_user_streams"];

/// Installs the process-wide Prometheus recorder; only `exchange serve` calls this, once.
pub fn install_prometheus() -> anyhow::Result<PrometheusHandle> {
    let handle = prometheus_builder().install_recorder()?;
    supervision::describe();
    metrics::describe_counter!(
        AUTH_FAILURES_TOTAL,
        "Requests refused for their API key, signature, timestamp or admin token, by reason."
    );
    register_rare_series();
    crate::safety_metrics::register_at_zero();
    Ok(handle)
}

/// Registers [`RARE_EVENT_COUNTERS`] and [`SESSION_GAUGES`] at zero on the current recorder.
pub fn register_rare_series() {
    for (name, labels) in RARE_EVENT_COUNTERS {
        let labels: Vec<metrics::Label> =
            labels.iter().map(|(key, value)| metrics::Label::new(*key, *value)).collect();
        metrics::counter!(name, labels).increment(0);
    }
    for name in SESSION_GAUGES {
        metrics::gauge!(name).increment(0.0);
    }
}

/// What `GET /metrics` renders: the installed recorder's handle and the process collector, or
/// nothing.
#[derive(Clone, Default)]
pub struct MetricsEndpoint {
    handle: Option<PrometheusHandle>,
    process: Option<Arc<metrics_process::Collector>>,
}

impl MetricsEndpoint {
    pub fn new(handle: PrometheusHandle) -> MetricsEndpoint {
        let process = metrics_process::Collector::default();
        process.describe();
        MetricsEndpoint { handle: Some(handle), process: Some(Arc::new(process)) }
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
    if let Some(process) = &endpoint.process {
        // Reads /proc: a few syscalls per scrape, only when Prometheus asks.
        process.collect();
    }
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
    fn rare_event_counters_render_at_zero_before_any_event() {
        let recorder = prometheus_builder().build_recorder();
        let handle = recorder.handle();
        metrics::with_local_recorder(&recorder, register_rare_series);
        let text = handle.render();
        assert!(text.contains("exchange_bus_dead_lettered_total 0"), "{text}");
        assert!(text.contains("exchange_dead_man_switch_triggers_total{scope=\"symbol\"} 0"));
        assert!(text.contains("exchange_ws_sessions 0"), "{text}");
    }

    #[test]
    fn a_latency_histogram_renders_buckets_not_quantiles() {
        let recorder = prometheus_builder().build_recorder();
        let handle = recorder.handle();
        metrics::with_local_recorder(&recorder, || {
            metrics::histogram!("exchange_ws_push_latency_seconds").record(0.003);
        });
        let text = handle.render();
        assert!(text.contains("exchange_ws_push_latency_seconds_bucket{le=\"0.005\"} 1"), "{text}");
        assert!(text.contains("exchange_ws_push_latency_seconds_bucket{le=\"0.0025\"} 0"));
        assert!(!text.contains("quantile="), "{text}");
    }

    #[test]
    fn transient_state_ages_render_as_a_histogram_with_buckets() {
        let recorder = prometheus_builder().build_recorder();
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
