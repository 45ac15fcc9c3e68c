//! One book's metrics, labelled by symbol (the label set is bounded: symbols exist only by
//! listing). Handles are registered once when the book starts, so recording is an atomic
//! update, not a registry lookup per command.

use std::time::Instant;

use metrics::{Counter, Gauge, Histogram};

use crate::model::{BookEvent, EventKind};

/// Arrival at the book to the end of the engine's work on the message (queueing + matching;
/// the journal commit is not included). The per-symbol matching SLO (p99 < 10 ms) reads it.
pub const MATCHING_LATENCY: &str = "exchange_matching_latency_seconds";
/// Arrival at the book to the durable answer (matching + group commit), by lane (`cancel`,
/// `order`): what a caller of the book waits.
pub const COMMIT_LATENCY: &str = "exchange_book_commit_latency_seconds";
/// Commands waiting in the book's lanes.
pub const QUEUE_DEPTH: &str = "exchange_book_queue_depth";
pub const OPEN_ORDERS: &str = "exchange_book_open_orders";
/// Commands applied (TPS per symbol is its rate).
pub const COMMANDS: &str = "exchange_book_commands_total";
/// Commands the engine refused (reject rate is its rate over [`COMMANDS`]').
pub const REJECTS: &str = "exchange_book_rejects_total";
pub const TRADES: &str = "exchange_trades_total";

#[derive(Clone, Debug)]
pub(super) struct BookMetrics {
    matching: Histogram,
    commit_cancel: Histogram,
    commit_order: Histogram,
    queue_depth: Gauge,
    open_orders: Gauge,
    commands: Counter,
    rejects: Counter,
    trades: Counter,
}

impl BookMetrics {
    pub fn new(symbol: &str) -> BookMetrics {
        let symbol = symbol.to_owned();
        let lane = |lane: &'static str| metrics::histogram!(COMMIT_LATENCY, "symbol" => symbol.clone(), "lane" => lane);
        BookMetrics {
            matching: metrics::histogram!(MATCHING_LATENCY, "symbol" => symbol.clone()),
            commit_cancel: lane("cancel"),
            commit_order: lane("order"),
            queue_depth: metrics::gauge!(QUEUE_DEPTH, "symbol" => symbol.clone()),
            open_orders: metrics::gauge!(OPEN_ORDERS, "symbol" => symbol.clone()),
            commands: metrics::counter!(COMMANDS, "symbol" => symbol.clone()),
            rejects: metrics::counter!(REJECTS, "symbol" => symbol.clone()),
            trades: metrics::counter!(TRADES, "symbol" => symbol),
        }
    }

    /// One message's commands are matched: `rejected` of them refused, emitting `events`.
    pub fn matched(&self, arrived_at: Instant, commands: usize, rejected: usize) {
        self.matching.record(arrived_at.elapsed());
        self.commands.increment(u64::try_from(commands).unwrap_or(u64::MAX));
        self.rejects.increment(u64::try_from(rejected).unwrap_or(u64::MAX));
    }

    pub fn emitted(&self, events: &[BookEvent]) {
        let trades = events.iter().filter(|event| matches!(event.kind, EventKind::Traded(_)));
        self.trades.increment(u64::try_from(trades.count()).unwrap_or(u64::MAX));
    }

    /// A message of the cancel lane (`cancel`) or the other one is durable and answered.
    pub fn committed(&self, arrived_at: Instant, cancel: bool) {
        let histogram = if cancel { &self.commit_cancel } else { &self.commit_order };
        histogram.record(arrived_at.elapsed());
    }

    pub fn beat(&self, queued: usize, open_orders: u32) {
        // Exact: the lanes are bounded far below 2^53.
        self.queue_depth.set(queued as f64);
        self.open_orders.set(f64::from(open_orders));
    }
}
