//! The operator's controls over a running exchange.
//!
//! - `switches.rs`: [`Switches`], the kill switches as a pure value (global and per-symbol
//!   modes, withdrawals, disabled order types, price protection, per-symbol rate overrides)
//!   and the checks the gateway asks of it.
//! - `board.rs`: [`SwitchBoard`], the switches as the running exchange holds them: lock-free
//!   reads, serialized changes, each audited and persisted before it applies.
//! - `reconcile.rs`: reconciliation as pure functions (anomalies of a ledger snapshot, the
//!   confirmation of two looks); `reconciler.rs`: [`Reconciler`], which runs it periodically
//!   and on demand and pauses new orders on an anomaly when asked to.

mod board;
mod reconcile;
mod reconciler;
mod switches;

pub use board::{
    Applied, BoardError, SWITCH_CHANGES_TOTAL, SYMBOL_TRADING_MODE, SwitchBoard, TRADING_MODE,
    WITHDRAWALS_ENABLED,
};
pub use reconcile::{Anomaly, LedgerSnapshot, Report, confirmed, ledger_anomalies};
pub use reconciler::{
    RECONCILER, RECONCILIATION_ANOMALIES, RECONCILIATION_LAST_RUN,
    RECONCILIATION_NEGATIVE_BALANCES, RECONCILIATION_RUNS_TOTAL, ReconcileSettings, Reconciler,
};
pub use switches::{
    Action, ChangeError, GlobalChange, ORDER_TYPE_NAMES, Refusal, Switches, SymbolChange,
    SymbolSwitches, TradingMode,
};
