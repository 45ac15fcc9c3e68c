//! [`Reconciler`]: runs reconciliation (`reconcile.rs`) over the running exchange, every
//! `RECONCILE_PERIOD_MS` and on demand (`GET /admin/reconcile`), one run at a time. Each run
//! brings every shard's projection up to date, asks every shard for its invariants, reads the
//! ledger snapshot, and does it again after [`CONFIRM_DELAY_MS`]; what both looks show is the
//! result. It sets `exchange_reconciliation_anomalies`; with `auto_cancel_only` (the
//! production profile's default) an anomaly switches the exchange to CANCEL_ONLY, audited as
//! done by `reconciler`.

use std::sync::Arc;
use std::time::Duration;

use exchange_actors::account::actor::AuditShard;
use exchange_actors::supervisor::ShardDirectory;

use super::board::SwitchBoard;
use super::reconcile::{Anomaly, Report, confirmed, ledger_anomalies};
use super::switches::{GlobalChange, TradingMode};
use crate::store::Store;

/// Anomalies the last reconciliation confirmed (0 is the SLO).
pub const RECONCILIATION_ANOMALIES: &str = "exchange_reconciliation_anomalies";
/// User balances below zero in the database at the last reconciliation (the shards' own
/// in-memory count is `exchange_negative_balances{shard}`).
pub const RECONCILIATION_NEGATIVE_BALANCES: &str = "exchange_reconciliation_negative_balances";
/// Reconciliation runs by `outcome` (`clean`, `anomalies`, `failed`).
pub const RECONCILIATION_RUNS_TOTAL: &str = "exchange_reconciliation_runs_total";
/// When the last reconciliation finished (Unix seconds).
pub const RECONCILIATION_LAST_RUN: &str = "exchange_reconciliation_last_run_timestamp_seconds";
/// The pause between a run's two looks.
pub const CONFIRM_DELAY_MS: u64 = 200;
/// Who the audit trail names for an automatic switch.
pub const RECONCILER: &str = "reconciler";

/// How reconciliation runs (`RECONCILE_PERIOD_MS`, `RECONCILE_AUTO_CANCEL_ONLY`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReconcileSettings {
    pub period_ms: u64,
    pub auto_cancel_only: bool,
}

impl ReconcileSettings {
    pub const PERIOD_MS_DEFAULT: u64 = 60_000;
    /// Shorter periods would keep the projector and the database busy for little.
    pub const PERIOD_MS_MIN: u64 = 250;
    pub const PERIOD_MS_MAX: u64 = 86_400_000;

    /// From an environment; `auto_cancel_only` defaults to on in production, off otherwise.
    pub fn resolve(
        lookup: impl Fn(&str) -> Option<String>,
        production: bool,
    ) -> Result<ReconcileSettings, String> {
        let period_ms = match lookup("RECONCILE_PERIOD_MS") {
            None => Self::PERIOD_MS_DEFAULT,
            Some(text) => text
                .trim()
                .parse()
                .ok()
                .filter(|ms| (Self::PERIOD_MS_MIN..=Self::PERIOD_MS_MAX).contains(ms))
                .ok_or_else(|| {
                    let (min, max) = (Self::PERIOD_MS_MIN, Self::PERIOD_MS_MAX);
                    format!("RECONCILE_PERIOD_MS {text:?} is not a period from {min} to {max} ms")
                })?,
        };
        let auto_cancel_only = match lookup("RECONCILE_AUTO_CANCEL_ONLY").as_deref().map(str::trim)
        {
            None | Some("") => production,
            Some("true") => true,
            Some("false") => false,
            Some(other) => {
                return Err(format!("RECONCILE_AUTO_CANCEL_ONLY {other:?} is not true or false"));
            }
        };
        Ok(ReconcileSettings { period_ms, auto_cancel_only })
    }
}

#[derive(Debug)]
pub struct Reconciler {
    store: Store,
    shards: Arc<ShardDirectory>,
    board: Arc<SwitchBoard>,
    auto_cancel_only: bool,
    one_at_a_time: tokio::sync::Mutex<()>,
}

fn now_ms() -> u64 {
    let since_epoch =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    u64::try_from(since_epoch.as_millis()).unwrap_or(u64::MAX)
}

/// The first periodic run waits at most this long after start.
pub const FIRST_RUN_DELAY: Duration = Duration::from_secs(5);

impl Reconciler {
    pub fn new(
        store: Store,
        shards: Arc<ShardDirectory>,
        board: Arc<SwitchBoard>,
        auto_cancel_only: bool,
    ) -> Reconciler {
        Reconciler { store, shards, board, auto_cancel_only, one_at_a_time: Default::default() }
    }

    /// Runs every `period` until the process stops; the first run comes after at most
    /// [`FIRST_RUN_DELAY`], so the anomaly gauge exists (and means something) soon after start.
    pub fn spawn_periodic(self: Arc<Self>, period: Duration) {
        actix::spawn(async move {
            let first = tokio::time::Instant::now() + period.min(FIRST_RUN_DELAY);
            let mut ticks = tokio::time::interval_at(first, period);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                if let Err(error) = self.run().await {
                    tracing::warn!(%error, "reconciliation failed");
                }
            }
        });
    }

    /// One reconciliation: two looks, the confirmed anomalies, the metrics, and the automatic
    /// switch when asked for.
    pub async fn run(&self) -> Result<Report, String> {
        let _one_at_a_time = self.one_at_a_time.lock().await;
        let result = self.confirmed_report().await;
        let outcome = match &result {
            Err(_) => "failed",
            Ok(report) if report.anomaly_count == 0 => "clean",
            Ok(_) => "anomalies",
        };
        metrics::counter!(RECONCILIATION_RUNS_TOTAL, "outcome" => outcome).increment(1);
        let mut report = result?;
        publish(&report);
        if report.anomaly_count > 0 {
            tracing::error!(count = report.anomaly_count, anomalies = ?report.anomalies,
                "reconciliation found anomalies");
            report.switched_to_cancel_only = self.pause_new_orders(&report).await?;
        }
        Ok(report)
    }

    async fn confirmed_report(&self) -> Result<Report, String> {
        let (first, _) = self.look().await?;
        tokio::time::sleep(Duration::from_millis(CONFIRM_DELAY_MS)).await;
        let (second, balances) = self.look().await?;
        let anomalies = confirmed(&first, &second);
        Ok(Report::new(now_ms(), anomalies, balances, self.shards.len()))
    }

    /// The anomalies one look shows and how many balances it saw.
    async fn look(&self) -> Result<(Vec<Anomaly>, usize), String> {
        let mut anomalies = Vec::new();
        for (index, shard) in self.shards.all().into_iter().enumerate() {
            let shard_index = u16::try_from(index).map_err(|_| "shard index".to_owned())?;
            self.store
                .finish_projection(shard_index)
                .await
                .map_err(|error| format!("projecting shard {index}: {error}"))?;
            let audit = shard
                .send(AuditShard)
                .await
                .map_err(|error| format!("shard {index} did not answer: {error}"))?;
            if let Err(violation) = audit {
                let violation = violation.to_string();
                anomalies.push(Anomaly::ShardInvariant { shard: index, violation });
            }
        }
        let snapshot = self
            .store
            .ledger_snapshot()
            .await
            .map_err(|error| format!("reading the ledger: {error}"))?;
        anomalies.extend(ledger_anomalies(&snapshot));
        Ok((anomalies, snapshot.stored.len()))
    }

    /// Switches to CANCEL_ONLY unless the exchange is at least that strict already; whether
    /// it did.
    async fn pause_new_orders(&self, report: &Report) -> Result<bool, String> {
        if !self.auto_cancel_only || self.board.current().mode >= TradingMode::CancelOnly {
            return Ok(false);
        }
        let change = GlobalChange { mode: Some(TradingMode::CancelOnly), ..Default::default() };
        let reason = serde_json::json!({
            "reason": "reconciliation anomalies", "anomalyCount": report.anomaly_count,
            "mode": TradingMode::CancelOnly,
        });
        self.board
            .change(RECONCILER, "switch_global", "global", reason, now_ms(), |before| {
                Ok(before.with_global(&change))
            })
            .await
            .map_err(|error| format!("switching to cancel-only: {error}"))?;
        tracing::error!("reconciliation anomalies: the exchange is now CANCEL_ONLY");
        Ok(true)
    }
}

fn publish(report: &Report) {
    let negative = report
        .anomalies
        .iter()
        .filter(|anomaly| matches!(anomaly, Anomaly::NegativeBalance { .. }))
        .count();
    // Counts fit an f64 exactly far beyond any bound here.
    #[allow(clippy::cast_precision_loss)]
    {
        metrics::gauge!(RECONCILIATION_ANOMALIES).set(report.anomaly_count as f64);
        metrics::gauge!(RECONCILIATION_NEGATIVE_BALANCES).set(negative as f64);
        metrics::gauge!(RECONCILIATION_LAST_RUN).set((report.at_ms / 1_000) as f64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(pairs: &[(&str, &str)], production: bool) -> Result<ReconcileSettings, String> {
        let lookup = |name: &str| {
            pairs.iter().find(|(key, _)| *key == name).map(|(_, value)| (*value).to_owned())
        };
        ReconcileSettings::resolve(lookup, production)
    }

    #[test]
    fn defaults_follow_the_profile() {
        let development = resolve(&[], false).expect("valid");
        assert_eq!(development, ReconcileSettings { period_ms: 60_000, auto_cancel_only: false });
        assert!(resolve(&[], true).expect("valid").auto_cancel_only);
        let off = resolve(&[("RECONCILE_AUTO_CANCEL_ONLY", "false")], true).expect("valid");
        assert!(!off.auto_cancel_only);
    }

    #[test]
    fn a_bad_period_or_flag_is_named() {
        let short = resolve(&[("RECONCILE_PERIOD_MS", "10")], false).unwrap_err();
        assert!(short.contains("RECONCILE_PERIOD_MS"), "{short}");
        let flag = resolve(&[("RECONCILE_AUTO_CANCEL_ONLY", "yes")], false).unwrap_err();
        assert!(flag.contains("RECONCILE_AUTO_CANCEL_ONLY"), "{flag}");
        assert_eq!(resolve(&[("RECONCILE_PERIOD_MS", "500")], false).expect("ok").period_ms, 500);
    }
}
