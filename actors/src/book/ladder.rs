//! One side's price levels, sorted so that the best level is last: best bid/ask is O(1), and
//! the levels that change most (near the top) are the cheapest to insert and remove.
//!
//! A level that empties below the best stays in place as a tombstone and is reused when an
//! order arrives at that price again, so a book whose orders move among a set of prices (the
//! common market-making pattern) stops shifting the array at all. The best slot is never a
//! tombstone. Tombstones are compacted away once they outnumber the live levels, so the ladder
//! stays within twice the live levels plus [`TOMBSTONES_MIN`].
//!
//! Costs: find O(log L); a new price moves the worse levels' 16-byte slots; compaction O(L),
//! amortized over at least L emptied levels.

use crate::model::{Price, Side};

/// Tombstones always tolerated before compacting (small books never compact).
pub(super) const TOMBSTONES_MIN: usize = 64;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct LevelSlot {
    /// Price mapped so that "better" is "greater" on both sides.
    key: i64,
    pub level: u32,
}

#[derive(Debug)]
pub(super) struct Ladder {
    side: Side,
    slots: Vec<LevelSlot>,
    tombstones: usize,
}

impl Ladder {
    pub fn with_capacity(side: Side, capacity: usize) -> Self {
        Ladder { side, slots: Vec::with_capacity(capacity), tombstones: 0 }
    }

    fn key(&self, price: Price) -> i64 {
        // Prices are positive (checked before anything rests), so negation cannot overflow.
        match self.side {
            Side::Buy => price.0,
            Side::Sell => -price.0,
        }
    }

    /// The best level; never a tombstone.
    pub fn best(&self) -> Option<u32> {
        self.slots.last().map(|slot| slot.level)
    }

    /// Slots from the best outwards, tombstones included (callers skip empty levels).
    pub fn best_first(&self) -> impl Iterator<Item = u32> + '_ {
        self.slots.iter().rev().map(|slot| slot.level)
    }

    /// Live (non-empty) levels.
    pub fn len(&self) -> usize {
        self.slots.len() - self.tombstones
    }

    /// `Ok(level)` if a slot (live or tombstone) exists at `price`, else `Err(position)`.
    pub fn find(&self, price: Price) -> Result<u32, usize> {
        let key = self.key(price);
        self.slots
            .binary_search_by_key(&key, |slot| slot.key)
            .map(|position| self.slots[position].level)
    }

    pub fn insert(&mut self, position: usize, price: Price, level: u32) {
        let key = self.key(price);
        debug_assert!(position == 0 || self.slots[position - 1].key < key);
        debug_assert!(position == self.slots.len() || self.slots[position].key > key);
        self.slots.insert(position, LevelSlot { key, level });
    }

    /// A tombstone at this price holds an order again.
    pub fn revive(&mut self) {
        self.tombstones -= 1;
    }

    /// The level at `price` has emptied. If it is the best, it is dropped together with any
    /// tombstones that would become best; otherwise it becomes a tombstone. Dropped levels are
    /// appended to `dropped`. Returns whether compaction is due.
    pub fn empty(
        &mut self,
        price: Price,
        is_empty: impl Fn(u32) -> bool,
        dropped: &mut Vec<u32>,
    ) -> bool {
        let key = self.key(price);
        if self.slots.last().is_none_or(|slot| slot.key != key) {
            self.tombstones += 1;
            return self.tombstones > TOMBSTONES_MIN.max(self.len());
        }
        dropped.extend(self.slots.pop().map(|slot| slot.level));
        while let Some(slot) = self.slots.last().filter(|slot| is_empty(slot.level)) {
            dropped.push(slot.level);
            self.slots.pop();
            self.tombstones -= 1;
        }
        false
    }

    /// Drops every tombstone, appending its level to `dropped`.
    pub fn compact(&mut self, is_empty: impl Fn(u32) -> bool, dropped: &mut Vec<u32>) {
        self.slots.retain(|slot| {
            let empty = is_empty(slot.level);
            if empty {
                dropped.push(slot.level);
            }
            !empty
        });
        self.tombstones = 0;
    }
}
