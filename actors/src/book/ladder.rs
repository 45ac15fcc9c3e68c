//! One side's price levels, sorted so that the best level is last: best bid/ask is O(1), and
//! the levels that change most (near the top) are the cheapest to insert and remove. Finding a
//! level is a binary search, O(log L); inserting or removing one moves the worse levels'
//! 8-byte slots, bounded by the number of levels.

use crate::model::{Price, Side};

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
}

impl Ladder {
    pub fn with_capacity(side: Side, capacity: usize) -> Self {
        Ladder { side, slots: Vec::with_capacity(capacity) }
    }

    fn key(&self, price: Price) -> i64 {
        // Prices are positive (checked before anything rests), so negation cannot overflow.
        match self.side {
            Side::Buy => price.0,
            Side::Sell => -price.0,
        }
    }

    pub fn best(&self) -> Option<u32> {
        self.slots.last().map(|slot| slot.level)
    }

    /// Levels from the best outwards.
    pub fn best_first(&self) -> impl Iterator<Item = u32> + '_ {
        self.slots.iter().rev().map(|slot| slot.level)
    }

    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// `Ok(level)` if a level exists at `price`, else `Err(position)` where it would go.
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

    pub fn remove(&mut self, price: Price) {
        let key = self.key(price);
        // The best level is the common case (a sweep emptied it): no search, no move.
        if self.slots.last().is_some_and(|slot| slot.key == key) {
            self.slots.pop();
            return;
        }
        let position = self
            .slots
            .binary_search_by_key(&key, |slot| slot.key)
            .expect("a level being removed is in its ladder");
        self.slots.remove(position);
    }
}
