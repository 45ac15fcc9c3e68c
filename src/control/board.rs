//! [`SwitchBoard`]: the kill switches as the running exchange holds them. Reads are lock-free
//! (one `ArcSwap` load per request); changes are serialized, audited in `admin_audit` (who,
//! what, before, after, when), appended to `switch_changes` (so they survive a restart) and
//! only then applied. A change that cannot be audited or stored is not applied.

use std::sync::Arc;

use arc_swap::ArcSwap;
use sea_orm::DbErr;

use super::switches::{ChangeError, Switches};
use crate::safety_metrics::count_audit_write_failure;
use crate::store::{AuditRecord, Store};

/// The global mode: 0 normal, 1 cancel-only, 2 read-only, 3 halted.
pub const TRADING_MODE: &str = "exchange_trading_mode";
/// A symbol's own mode (same values), for symbols that have one.
pub const SYMBOL_TRADING_MODE: &str = "exchange_symbol_trading_mode";
/// 1 when withdrawals are enabled, else 0.
pub const WITHDRAWALS_ENABLED: &str = "exchange_withdrawals_enabled";
/// Switch changes applied, by the kind of changer (`admin`, `reconciler`).
pub const SWITCH_CHANGES_TOTAL: &str = "exchange_switch_changes_total";

/// Why a change was not applied.
#[derive(Debug, thiserror::Error)]
pub enum BoardError {
    #[error(transparent)]
    Invalid(#[from] ChangeError),
    #[error("the audit trail or the switch table is unwritable: {0}")]
    Store(#[from] DbErr),
}

/// A change as applied: the switches before and after.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    pub before: Switches,
    pub after: Switches,
}

#[derive(Debug)]
pub struct SwitchBoard {
    current: ArcSwap<Switches>,
    /// One change at a time, so "before" is what the change was computed from.
    changing: tokio::sync::Mutex<()>,
    store: Store,
}

impl SwitchBoard {
    /// The newest stored state (the defaults when none was ever stored).
    pub async fn load(store: Store) -> anyhow::Result<SwitchBoard> {
        let switches = match store.latest_switches().await? {
            Some(json) => serde_json::from_str(&json).map_err(|error| {
                anyhow::anyhow!("the stored kill switches do not parse: {error}")
            })?,
            None => Switches::default(),
        };
        publish(&Switches::default(), &switches);
        Ok(SwitchBoard::new(store, switches))
    }

    /// A board starting at `switches` (changes are stored in `store`); unlike
    /// [`SwitchBoard::load`] it leaves the gauges alone until its first change.
    pub fn new(store: Store, switches: Switches) -> SwitchBoard {
        SwitchBoard {
            current: ArcSwap::from_pointee(switches),
            changing: tokio::sync::Mutex::new(()),
            store,
        }
    }

    /// The switches now (one version for the whole request).
    pub fn current(&self) -> Arc<Switches> {
        self.current.load_full()
    }

    /// Applies `change` (a pure step from the current switches) on behalf of `changed_by`:
    /// audits the request with before and after, stores the new state, applies it, audits
    /// the outcome. `what` and `subject` name the action in the audit trail.
    pub async fn change(
        &self,
        changed_by: &str,
        what: &str,
        subject: &str,
        request: serde_json::Value,
        now_ms: u64,
        change: impl FnOnce(&Switches) -> Result<Switches, ChangeError>,
    ) -> Result<Applied, BoardError> {
        let _one_at_a_time = self.changing.lock().await;
        let before = Switches::clone(&self.current.load());
        let after = change(&before)?;
        let detail = serde_json::json!({
            "by": changed_by, "request": request, "before": &before, "after": &after,
        });
        let mut record = AuditRecord {
            at_ms: now_ms,
            action: what.to_owned(),
            subject: subject.to_owned(),
            detail: detail.to_string(),
            outcome: "requested".to_owned(),
        };
        self.store.append_audit(&record).await.inspect_err(|_| count_audit_write_failure())?;
        let json =
            serde_json::to_string(&after).map_err(|error| DbErr::Custom(error.to_string()))?;
        self.store.append_switches(now_ms, changed_by, &json).await?;
        self.current.store(Arc::new(after.clone()));
        publish(&before, &after);
        // The kind of changer only (`admin`, `reconciler`): the operator's own name after the
        // colon is free text and would make the label set unbounded.
        let by = changed_by.split(':').next().unwrap_or(changed_by).to_owned();
        metrics::counter!(SWITCH_CHANGES_TOTAL, "by" => by).increment(1);
        record.detail = String::new();
        record.outcome = "ok".to_owned();
        if let Err(error) = self.store.append_audit(&record).await {
            count_audit_write_failure();
            // The change is stored and its request with before/after is audited already.
            tracing::error!(%error, "the outcome of a switch change could not be audited");
        }
        Ok(Applied { before, after })
    }
}

/// Sets the gauges to `after` (a symbol whose own switches went back to the defaults reads 0).
fn publish(before: &Switches, after: &Switches) {
    metrics::gauge!(TRADING_MODE).set(after.mode.gauge_value());
    metrics::gauge!(WITHDRAWALS_ENABLED).set(if after.withdrawals_enabled { 1.0 } else { 0.0 });
    for symbol in before.symbols.keys().chain(after.symbols.keys()) {
        let mode = after.symbols.get(symbol).map(|own| own.mode).unwrap_or_default();
        metrics::gauge!(SYMBOL_TRADING_MODE, "symbol" => symbol.clone()).set(mode.gauge_value());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::switches::{GlobalChange, TradingMode};

    #[tokio::test]
    async fn a_change_is_audited_stored_and_survives_a_reload() {
        let directory = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}?mode=rwc", directory.path().join("b.db").display());
        let store = Store::connect(&url).await.expect("connect");
        store.migrate().await.expect("migrate");
        let board = SwitchBoard::load(store.clone()).await.expect("load");
        assert_eq!(*board.current(), Switches::default());
        let change = GlobalChange { mode: Some(TradingMode::CancelOnly), ..Default::default() };
        let applied = board
            .change("admin", "switch_global", "global", serde_json::json!({}), 7, |before| {
                Ok(before.with_global(&change))
            })
            .await
            .expect("applied");
        assert_eq!(applied.after.mode, TradingMode::CancelOnly);
        assert_eq!(board.current().mode, TradingMode::CancelOnly);
        let audit = store.recent_audit(2).await.expect("audit");
        assert_eq!((audit[0].outcome.as_str(), audit[1].outcome.as_str()), ("ok", "requested"));
        let detail: serde_json::Value = serde_json::from_str(&audit[1].detail).expect("JSON");
        assert_eq!(
            (&detail["by"], &detail["before"]["mode"], &detail["after"]["mode"]),
            (
                &serde_json::json!("admin"),
                &serde_json::json!("NORMAL"),
                &serde_json::json!("CANCEL_ONLY")
            )
        );
        let reloaded = SwitchBoard::load(store).await.expect("reload");
        assert_eq!(reloaded.current().mode, TradingMode::CancelOnly);
    }
}
