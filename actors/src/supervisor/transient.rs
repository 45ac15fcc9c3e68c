//! Orders in a transient state (PENDING, CANCELING, LIQUIDATING) with when they entered it, and
//! which of them have overstayed their deadline. A pure state machine: the account shard feeds
//! it the time and the orders' current statuses, and re-drives what [`TransientOrders::overdue`]
//! lists. Nothing may stay in a transient state forever (issue 7: 333,305 orders once sat in
//! CANCELING for days).

use std::collections::BTreeMap;
use std::time::Duration;

use crate::model::{OrderId, SymbolCode};

/// A state an order must leave by a deadline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TransientState {
    /// Funds held, the book has not confirmed the order.
    Pending,
    /// A cancel was requested, the book has not answered.
    Canceling,
    /// An account's positions are being closed by the Liquidator (tracked per account by the
    /// shard's state, counted here with the orders' states for the gauges).
    Liquidating,
}

impl TransientState {
    pub const ALL: [TransientState; 3] =
        [TransientState::Pending, TransientState::Canceling, TransientState::Liquidating];

    /// Its place in [`TransientState::ALL`].
    pub fn index(self) -> usize {
        match self {
            TransientState::Pending => 0,
            TransientState::Canceling => 1,
            TransientState::Liquidating => 2,
        }
    }

    /// The metric label.
    pub fn label(self) -> &'static str {
        match self {
            TransientState::Pending => "pending",
            TransientState::Canceling => "canceling",
            TransientState::Liquidating => "liquidating",
        }
    }
}

/// How long an order may stay in each transient state before it is re-driven.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deadlines {
    pub pending: Duration,
    pub canceling: Duration,
    pub liquidating: Duration,
}

impl Default for Deadlines {
    fn default() -> Self {
        Deadlines {
            pending: Duration::from_secs(5),
            canceling: Duration::from_secs(2),
            liquidating: Duration::from_secs(10),
        }
    }
}

impl Deadlines {
    pub fn of(&self, state: TransientState) -> Duration {
        match state {
            TransientState::Pending => self.pending,
            TransientState::Canceling => self.canceling,
            TransientState::Liquidating => self.liquidating,
        }
    }

    pub fn of_ns(&self, state: TransientState) -> u64 {
        u64::try_from(self.of(state).as_nanos()).unwrap_or(u64::MAX)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Entry {
    state: TransientState,
    symbol: SymbolCode,
    entered_at_ns: u64,
}

/// An order that left its transient state, and how long it stayed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Left {
    pub order_id: OrderId,
    pub state: TransientState,
    pub age_ns: u64,
}

/// An order past its deadline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Overdue {
    pub order_id: OrderId,
    pub symbol: SymbolCode,
    pub state: TransientState,
}

/// The tracker is full: the order was not tracked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{capacity} orders are already in a transient state")]
pub struct TrackerFull {
    pub capacity: usize,
}

#[derive(Debug)]
pub struct TransientOrders {
    entries: BTreeMap<OrderId, Entry>,
    capacity: usize,
}

impl TransientOrders {
    pub fn new(capacity: usize) -> TransientOrders {
        TransientOrders { entries: BTreeMap::new(), capacity }
    }

    /// `order_id` is in `state` from `now_ns`. Entering the state it is already in keeps the
    /// first entry time (a repeated cancel does not extend its deadline); entering another state
    /// (a PENDING order being canceled) starts that state's clock.
    pub fn enter(
        &mut self,
        order_id: OrderId,
        symbol: SymbolCode,
        state: TransientState,
        now_ns: u64,
    ) -> Result<(), TrackerFull> {
        if let Some(entry) = self.entries.get_mut(&order_id) {
            if entry.state != state {
                *entry = Entry { state, symbol, entered_at_ns: now_ns };
            }
            return Ok(());
        }
        if self.entries.len() >= self.capacity {
            return Err(TrackerFull { capacity: self.capacity });
        }
        self.entries.insert(order_id, Entry { state, symbol, entered_at_ns: now_ns });
        Ok(())
    }

    /// Forgets every order `still_in` says has left its state; returns them with their ages.
    pub fn retain(
        &mut self,
        now_ns: u64,
        mut still_in: impl FnMut(OrderId, TransientState) -> bool,
    ) -> Vec<Left> {
        let mut left = Vec::new();
        self.entries.retain(|order_id, entry| {
            let stays = still_in(*order_id, entry.state);
            if !stays {
                let age_ns = now_ns.saturating_sub(entry.entered_at_ns);
                left.push(Left { order_id: *order_id, state: entry.state, age_ns });
            }
            stays
        });
        left
    }

    /// Every order whose deadline has passed at `now_ns`, by order id.
    pub fn overdue(&self, now_ns: u64, deadlines: &Deadlines) -> Vec<Overdue> {
        self.entries
            .iter()
            .filter(|(_, entry)| {
                now_ns.saturating_sub(entry.entered_at_ns) >= deadlines.of_ns(entry.state)
            })
            .map(|(order_id, entry)| Overdue {
                order_id: *order_id,
                symbol: entry.symbol,
                state: entry.state,
            })
            .collect()
    }

    pub fn state_of(&self, order_id: OrderId) -> Option<TransientState> {
        self.entries.get(&order_id).map(|entry| entry.state)
    }

    /// Per state, in [`TransientState::ALL`]'s order: how many orders are in it and how long
    /// the oldest has been (0 when none), in one pass.
    pub fn summary(&self, now_ns: u64) -> [(usize, u64); 3] {
        let mut summary = [(0, 0); 3];
        for entry in self.entries.values() {
            let slot = &mut summary[entry.state.index()];
            slot.0 += 1;
            slot.1 = slot.1.max(now_ns.saturating_sub(entry.entered_at_ns));
        }
        summary
    }

    /// How many orders are in `state`.
    pub fn count(&self, state: TransientState) -> usize {
        self.entries.values().filter(|entry| entry.state == state).count()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
#[path = "transient_tests.rs"]
mod tests;
