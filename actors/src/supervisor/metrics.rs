//! The supervision metrics (names `exchange_*`, labels from small fixed sets), recorded through
//! the `metrics` facade; the server's Prometheus exporter renders them.

use super::{RestartReason, TransientState};

/// Orders in a transient state now, by `state` and account `shard` (gauge).
pub const TRANSIENT_ORDERS: &str = "exchange_transient_orders";
/// How long orders stayed in a transient state, by `state`, in seconds (histogram).
pub const TRANSIENT_STATE_AGE_SECONDS: &str = "exchange_transient_state_age_seconds";
/// How long the oldest order still in a transient state has been in it, by `state` and
/// `shard`, in seconds (gauge; 0 when none): what the "past half its deadline" alerts compare.
pub const TRANSIENT_OLDEST_AGE_SECONDS: &str = "exchange_transient_oldest_age_seconds";
/// Each transient state's configured deadline, by `state`, in seconds (gauge).
pub const TRANSIENT_DEADLINE_SECONDS: &str = "exchange_transient_deadline_seconds";
/// Actors replaced by a supervisor, by `kind` (book, account_shard) and `reason` (counter).
pub const ACTOR_RESTARTS_TOTAL: &str = "exchange_actor_restarts_total";
/// Overdue orders re-driven, by `state` (counter; one order re-driven twice counts twice).
pub const REDRIVES_TOTAL: &str = "exchange_redrives_total";

/// The kind of actor a supervisor replaced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActorKind {
    Book,
    AccountShard,
}

impl ActorKind {
    fn label(self) -> &'static str {
        match self {
            ActorKind::Book => "book",
            ActorKind::AccountShard => "account_shard",
        }
    }
}

impl RestartReason {
    fn label(self) -> &'static str {
        match self {
            RestartReason::Failed => "failed",
            RestartReason::Stalled => "stalled",
        }
    }
}

/// Exports [`ACTOR_RESTARTS_TOTAL`] at zero for `kind`, so a dashboard sees the series (and a
/// rate rule has a baseline) before the first restart.
pub fn register_restarts(kind: ActorKind) {
    for reason in [RestartReason::Failed, RestartReason::Stalled] {
        metrics::counter!(ACTOR_RESTARTS_TOTAL, "kind" => kind.label(), "reason" => reason.label())
            .increment(0);
    }
}

pub fn count_restart(kind: ActorKind, reason: RestartReason) {
    metrics::counter!(ACTOR_RESTARTS_TOTAL, "kind" => kind.label(), "reason" => reason.label())
        .increment(1);
}

pub fn count_redrives(state: TransientState, orders: usize) {
    let orders = u64::try_from(orders).unwrap_or(u64::MAX);
    metrics::counter!(REDRIVES_TOTAL, "state" => state.label()).increment(orders);
}

pub fn record_transient_age(state: TransientState, age_ns: u64) {
    let seconds = std::time::Duration::from_nanos(age_ns).as_secs_f64();
    metrics::histogram!(TRANSIENT_STATE_AGE_SECONDS, "state" => state.label()).record(seconds);
}

/// Sets shard `shard_index`'s count of orders in `state` and the age of its oldest.
pub fn set_transient_orders(shard_index: u16, state: TransientState, count: usize, oldest_ns: u64) {
    let count = count as f64;
    let shard = shard_index.to_string();
    metrics::gauge!(TRANSIENT_ORDERS, "state" => state.label(), "shard" => shard.clone())
        .set(count);
    let oldest = std::time::Duration::from_nanos(oldest_ns).as_secs_f64();
    metrics::gauge!(TRANSIENT_OLDEST_AGE_SECONDS, "state" => state.label(), "shard" => shard)
        .set(oldest);
}

/// Exports the configured deadline of every transient state.
pub fn set_transient_deadlines(deadlines: &super::Deadlines) {
    for state in TransientState::ALL {
        metrics::gauge!(TRANSIENT_DEADLINE_SECONDS, "state" => state.label())
            .set(deadlines.of(state).as_secs_f64());
    }
}

/// Describes the metrics (help text) to the installed recorder.
pub fn describe() {
    metrics::describe_gauge!(
        TRANSIENT_ORDERS,
        "Orders in a transient state now, by state and shard."
    );
    metrics::describe_histogram!(
        TRANSIENT_STATE_AGE_SECONDS,
        metrics::Unit::Seconds,
        "How long orders stayed in a transient state, by state."
    );
    metrics::describe_counter!(
        ACTOR_RESTARTS_TOTAL,
        "Actors replaced by a supervisor, by kind and reason."
    );
    metrics::describe_counter!(REDRIVES_TOTAL, "Overdue orders re-driven, by state.");
}
