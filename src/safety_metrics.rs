//! The funds-safety counters: durable writes that failed (by the component that lost them),
//! audit-trail writes that failed, and the operator's high-risk actions. Each label set is a
//! closed list, registered at zero with the recorder ([`register_at_zero`]), so a dashboard
//! shows 0 rather than "no data" and `increase()` sees the first failure.

/// Durable writes of money or order state that failed, by `component`: an account shard's
/// commit, a book's journal batch, the projector's ledger rows, the history writer's trades.
pub const LEDGER_WRITE_FAILURES_TOTAL: &str = "exchange_ledger_write_failures_total";
/// Appends to the append-only `admin_audit` table that failed (the action is then refused,
/// or, for an outcome record, logged).
pub const AUDIT_WRITE_FAILURES_TOTAL: &str = "exchange_audit_write_failures_total";
/// High-risk operator actions through the admin API, by `operation` and `outcome`
/// (`ok`, `refused`).
pub const ADMIN_OPERATIONS_TOTAL: &str = "exchange_admin_operations_total";

/// Who failed to write (the `component` label).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteComponent {
    ShardCommit,
    BookBatch,
    Projector,
    HistoryWriter,
}

impl WriteComponent {
    pub const ALL: [WriteComponent; 4] = [
        WriteComponent::ShardCommit,
        WriteComponent::BookBatch,
        WriteComponent::Projector,
        WriteComponent::HistoryWriter,
    ];

    pub fn label(self) -> &'static str {
        match self {
            WriteComponent::ShardCommit => "shard_commit",
            WriteComponent::BookBatch => "book_batch",
            WriteComponent::Projector => "projector",
            WriteComponent::HistoryWriter => "history_writer",
        }
    }
}

/// The admin actions counted as high risk (the `operation` label).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdminOperation {
    /// The global trading mode (`PUT /admin/switches` with `mode`).
    GlobalSwitch,
    /// Withdrawals on or off (`PUT /admin/switches` with `withdrawalsEnabled`).
    WithdrawalsSwitch,
    /// A symbol's switches (`PUT /admin/switches/symbols/{symbol}`).
    SymbolSwitch,
    Correction,
    Deposit,
    Withdrawal,
    /// Listing a symbol or changing its filters and fees.
    SymbolListing,
    /// `GET /admin/reconcile`.
    ReconcileOnDemand,
    /// The chaos runner's fault requests (refused in the production profile).
    FaultInjection,
}

impl AdminOperation {
    pub const ALL: [AdminOperation; 9] = [
        AdminOperation::GlobalSwitch,
        AdminOperation::WithdrawalsSwitch,
        AdminOperation::SymbolSwitch,
        AdminOperation::Correction,
        AdminOperation::Deposit,
        AdminOperation::Withdrawal,
        AdminOperation::SymbolListing,
        AdminOperation::ReconcileOnDemand,
        AdminOperation::FaultInjection,
    ];

    pub fn label(self) -> &'static str {
        match self {
            AdminOperation::GlobalSwitch => "global_switch",
            AdminOperation::WithdrawalsSwitch => "withdrawals_switch",
            AdminOperation::SymbolSwitch => "symbol_switch",
            AdminOperation::Correction => "correction",
            AdminOperation::Deposit => "deposit",
            AdminOperation::Withdrawal => "withdrawal",
            AdminOperation::SymbolListing => "symbol_listing",
            AdminOperation::ReconcileOnDemand => "reconcile_on_demand",
            AdminOperation::FaultInjection => "fault_injection",
        }
    }
}

pub fn count_write_failure(component: WriteComponent) {
    metrics::counter!(LEDGER_WRITE_FAILURES_TOTAL, "component" => component.label()).increment(1);
}

pub fn count_audit_write_failure() {
    metrics::counter!(AUDIT_WRITE_FAILURES_TOTAL).increment(1);
}

pub fn count_admin_operation(operation: AdminOperation, succeeded: bool) {
    let outcome = if succeeded { "ok" } else { "refused" };
    metrics::counter!(ADMIN_OPERATIONS_TOTAL, "operation" => operation.label(), "outcome" => outcome)
        .increment(1);
}

/// Registers every series of this module at zero on the current recorder, with descriptions.
pub fn register_at_zero() {
    metrics::describe_counter!(
        LEDGER_WRITE_FAILURES_TOTAL,
        "Durable writes of money or order state that failed, by component."
    );
    metrics::describe_counter!(
        AUDIT_WRITE_FAILURES_TOTAL,
        "Admin audit-trail appends that failed."
    );
    metrics::describe_counter!(
        ADMIN_OPERATIONS_TOTAL,
        "High-risk admin operations, by operation and outcome."
    );
    for component in WriteComponent::ALL {
        metrics::counter!(LEDGER_WRITE_FAILURES_TOTAL, "component" => component.label())
            .increment(0);
    }
    metrics::counter!(AUDIT_WRITE_FAILURES_TOTAL).increment(0);
    for operation in AdminOperation::ALL {
        for outcome in ["ok", "refused"] {
            metrics::counter!(ADMIN_OPERATIONS_TOTAL, "operation" => operation.label(), "outcome" => outcome)
                .increment(0);
        }
    }
}

#[cfg(test)]
mod tests {
    use metrics_exporter_prometheus::PrometheusBuilder;

    use super::*;

    #[test]
    fn every_series_renders_at_zero_then_counts() {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        metrics::with_local_recorder(&recorder, || {
            register_at_zero();
            count_write_failure(WriteComponent::Projector);
            count_admin_operation(AdminOperation::WithdrawalsSwitch, true);
        });
        let text = handle.render();
        for expected in [
            "exchange_ledger_write_failures_total{component=\"shard_commit\"} 0",
            "exchange_ledger_write_failures_total{component=\"projector\"} 1",
            "exchange_audit_write_failures_total 0",
            "exchange_admin_operations_total{operation=\"reconcile_on_demand\",outcome=\"ok\"} 0",
            "exchange_admin_operations_total{operation=\"withdrawals_switch\",outcome=\"ok\"} 1",
        ] {
            assert!(text.contains(expected), "{expected} in {text}");
        }
    }
}
