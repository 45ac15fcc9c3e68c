//! [`DepthReplica`]: one symbol's order book depth rebuilt from the book's level changes, in
//! event sequence order, so REST depth is served without asking the book.
//!
//! Every book event carries the symbol's next seq; only `LevelChanged` changes depth, but
//! every event advances the replica's position. A batch that does not continue the position
//! (a lost bus message) leaves the levels as they were and marks the replica stale: it keeps
//! serving its last good state, saying so, until a snapshot of the book resyncs it. Events
//! already covered (a redelivery, or a batch older than the snapshot) are skipped.

use std::collections::BTreeMap;

use crate::book::Depth;
use crate::model::{BookEvent, EventKind, Price, Qty, Side};

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DepthReplica {
    bids: BTreeMap<Price, Qty>,
    asks: BTreeMap<Price, Qty>,
    last_seq: u64,
    stale: bool,
}

/// What applying a batch did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplicaUpdate {
    /// Applied (possibly nothing new); the replica is current up to `last_seq`.
    Applied,
    /// The batch skips events: nothing applied, the replica is stale until resynced.
    Gap { expected: u64, got: u64 },
}

impl DepthReplica {
    /// A replica of `snapshot`: the whole book (every level) at its `last_event_seq`.
    pub fn from_snapshot(snapshot: &Depth) -> DepthReplica {
        DepthReplica {
            bids: snapshot.bids.iter().copied().collect(),
            asks: snapshot.asks.iter().copied().collect(),
            last_seq: snapshot.last_event_seq,
            stale: false,
        }
    }

    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    /// Whether the levels may be behind the book (a gap was seen and not yet resynced).
    pub fn is_stale(&self) -> bool {
        self.stale
    }

    /// Marks the replica stale (its source is known to be behind, e.g. the book is gone).
    pub fn mark_stale(&mut self) {
        self.stale = true;
    }

    /// Applies the events of `batch` (one symbol's, in seq order) past the replica's position.
    pub fn apply(&mut self, batch: &[BookEvent]) -> ReplicaUpdate {
        let fresh: Vec<&BookEvent> = batch.iter().filter(|e| e.seq > self.last_seq).collect();
        if let Some(first) = fresh.first()
            && first.seq != self.last_seq + 1
        {
            self.stale = true;
            return ReplicaUpdate::Gap { expected: self.last_seq + 1, got: first.seq };
        }
        for event in fresh {
            if let EventKind::LevelChanged(level) = event.kind {
                let side = match level.side {
                    Side::Buy => &mut self.bids,
                    Side::Sell => &mut self.asks,
                };
                if level.qty.is_zero() {
                    side.remove(&level.price);
                } else {
                    side.insert(level.price, level.qty);
                }
            }
            self.last_seq = event.seq;
        }
        ReplicaUpdate::Applied
    }

    /// Whether `batch` continues the replica (or holds nothing new): what [`Self::apply`]
    /// would apply rather than call a gap.
    pub fn continues(&self, batch: &[BookEvent]) -> bool {
        batch
            .iter()
            .find(|event| event.seq > self.last_seq)
            .is_none_or(|e| e.seq == self.last_seq + 1)
    }

    /// Replaces the levels with `snapshot` when it is not older than the replica, and clears
    /// the stale mark; false (nothing changed) for an older snapshot.
    pub fn resync(&mut self, snapshot: &Depth) -> bool {
        if snapshot.last_event_seq < self.last_seq && !self.stale {
            return false;
        }
        *self = DepthReplica::from_snapshot(snapshot);
        true
    }

    /// The best `levels_max` levels a side, best first.
    pub fn depth(&self, levels_max: usize) -> Depth {
        Depth {
            last_event_seq: self.last_seq,
            bids: self.bids.iter().rev().take(levels_max).map(|(p, q)| (*p, *q)).collect(),
            asks: self.asks.iter().take(levels_max).map(|(p, q)| (*p, *q)).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::LevelChanged;

    fn level(seq: u64, side: Side, price: i64, qty: u64) -> BookEvent {
        let kind =
            EventKind::LevelChanged(LevelChanged { side, price: Price(price), qty: Qty(qty) });
        BookEvent { seq, ts_ns: 0, kind }
    }

    fn snapshot(seq: u64) -> Depth {
        Depth {
            last_event_seq: seq,
            bids: vec![(Price(99), Qty(5)), (Price(98), Qty(1))],
            asks: vec![(Price(101), Qty(2))],
        }
    }

    #[test]
    fn level_changes_in_order_update_the_levels_best_first() {
        let mut replica = DepthReplica::from_snapshot(&snapshot(10));
        let batch = [level(11, Side::Buy, 100, 3), level(12, Side::Sell, 101, 0)];
        assert_eq!(replica.apply(&batch), ReplicaUpdate::Applied);
        let depth = replica.depth(10);
        assert_eq!(depth.last_event_seq, 12);
        assert_eq!(depth.bids, [(Price(100), Qty(3)), (Price(99), Qty(5)), (Price(98), Qty(1))]);
        assert!(depth.asks.is_empty());
        assert_eq!(replica.depth(1).bids, [(Price(100), Qty(3))]);
        // Redelivered: nothing changes.
        let before = replica.clone();
        assert_eq!(replica.apply(&batch), ReplicaUpdate::Applied);
        assert_eq!(replica, before);
    }

    #[test]
    fn a_gap_keeps_the_last_good_state_marked_stale_until_a_resync() {
        let mut replica = DepthReplica::from_snapshot(&snapshot(10));
        let good = replica.depth(10);
        let gap = [level(13, Side::Buy, 100, 3)];
        assert_eq!(replica.apply(&gap), ReplicaUpdate::Gap { expected: 11, got: 13 });
        assert!(replica.is_stale());
        assert_eq!(replica.depth(10), good);
        // Still stale: the next batch continues nothing it has.
        assert!(matches!(replica.apply(&[level(14, Side::Buy, 97, 1)]), ReplicaUpdate::Gap { .. }));
        let mut fresh = snapshot(14);
        fresh.bids.insert(0, (Price(100), Qty(3)));
        assert!(replica.resync(&fresh));
        assert!(!replica.continues(&[level(16, Side::Buy, 1, 1)]));
        assert!(replica.continues(&[level(14, Side::Buy, 1, 1), level(15, Side::Buy, 1, 1)]));
        assert!(!replica.is_stale());
        assert_eq!(replica.depth(10), fresh);
        // Batches the snapshot covered are skipped, the next one applies.
        assert_eq!(replica.apply(&[level(14, Side::Buy, 1, 1)]), ReplicaUpdate::Applied);
        assert_eq!(replica.apply(&[level(15, Side::Sell, 102, 4)]), ReplicaUpdate::Applied);
        assert_eq!(replica.depth(10).asks, [(Price(101), Qty(2)), (Price(102), Qty(4))]);
    }

    #[test]
    fn a_current_replica_refuses_an_older_snapshot() {
        let mut replica = DepthReplica::from_snapshot(&snapshot(10));
        assert!(!replica.resync(&snapshot(9)));
        assert_eq!(replica.last_seq(), 10);
    }
}
