//! One side's price levels, indexed by price.
//!
//! Prices are mapped to keys where "better" is "greater" on both sides (a bid's price, an ask's
//! negated price). A window of [`WINDOW`] consecutive keys holds a slot per key (the level at
//! that price, if any; [`WINDOW`] by default, smaller in tests) and a three-level bitmap of the occupied slots: a bit per slot, a bit per
//! non-zero word, a bit per non-zero summary word. The best level is three `leading_zeros`
//! away, and so is the next level after any price: find, add and remove are O(1), with no
//! shifting, searching or compaction. The window is placed with a quarter of its keys above the
//! best price. Levels worse than the window (far from the touch) are kept in a sorted vector.
//!
//! The window moves only when a level arrives above it (the best price rose by more than the
//! headroom: the window is re-placed around the new best and the levels now below it go to the
//! vector) or when its last level leaves while the vector still has levels (the window is
//! re-placed around the vector's best, pulling in the levels it covers). Either costs O(levels
//! moved); the vector's insert and remove cost O(levels in it), and it holds only levels
//! three quarters of the window or more behind the best.
//!
//! Memory: 4 bytes a slot (256 KiB a side), allocated zeroed, so pages the book never uses are
//! never touched.

use crate::model::{Price, Side};

/// Keys (ticks) the window covers by default.
pub const WINDOW: usize = 1 << 16;
/// The largest window: its summary words must fit the one-word top bitmap.
const WINDOW_MAX: usize = 64 * 64 * 64;
const _: () = assert!(WINDOW.is_power_of_two() && WINDOW <= WINDOW_MAX);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct OutsideLevel {
    key: i64,
    level: u32,
}

#[derive(Debug)]
pub(super) struct Ladder {
    side: Side,
    /// Keys the window covers (a power of two).
    window: usize,
    /// Key of slot 0.
    base: i64,
    /// Level index + 1 of each key in the window; 0 = no level (so zeroed memory is empty).
    slots: Box<[u32]>,
    /// A bit per slot.
    words: Box<[u64]>,
    /// A bit per non-zero word.
    summary: Box<[u64]>,
    /// A bit per non-zero summary word.
    top: u64,
    /// The highest occupied offset (the best level), kept so `best` is one load.
    highest: Option<usize>,
    in_window: usize,
    /// Levels below the window, ascending by key (best last).
    outside: Vec<OutsideLevel>,
    /// Scratch for re-placing the window, kept to avoid allocating.
    moving: Vec<OutsideLevel>,
}

impl Ladder {
    /// A ladder whose window covers `window` ticks (a power of two up to 2^18).
    pub fn new(side: Side, window: usize) -> Self {
        assert!(window.is_power_of_two() && window <= WINDOW_MAX, "window {window}");
        let words = window.div_ceil(64);
        Ladder {
            side,
            window,
            base: 0,
            slots: vec![0; window].into_boxed_slice(),
            words: vec![0; words].into_boxed_slice(),
            summary: vec![0; words.div_ceil(64)].into_boxed_slice(),
            top: 0,
            highest: None,
            in_window: 0,
            outside: Vec::new(),
            moving: Vec::new(),
        }
    }

    fn key(&self, price: Price) -> i64 {
        // Prices are positive (checked before anything rests), so negation cannot overflow.
        match self.side {
            Side::Buy => price.0,
            Side::Sell => -price.0,
        }
    }

    /// The window offset of `key`, if the window covers it.
    fn offset(&self, key: i64) -> Option<usize> {
        let offset = usize::try_from(key.checked_sub(self.base)?).ok()?;
        (offset < self.window).then_some(offset)
    }

    /// The best level.
    pub fn best(&self) -> Option<u32> {
        match self.highest {
            Some(offset) => Some(self.slots[offset] - 1),
            None => self.outside.last().map(|outside| outside.level),
        }
    }

    /// Levels from the best outwards.
    pub fn best_first(&self) -> impl Iterator<Item = u32> + '_ {
        let mut cursor = self.highest;
        let window = std::iter::from_fn(move || {
            let offset = cursor?;
            cursor = self.below(offset);
            Some(self.slots[offset] - 1)
        });
        window.chain(self.outside.iter().rev().map(|outside| outside.level))
    }

    /// Number of levels.
    pub fn len(&self) -> usize {
        self.in_window + self.outside.len()
    }

    /// The level at `price`, if there is one.
    pub fn find(&self, price: Price) -> Option<u32> {
        let key = self.key(price);
        match self.offset(key) {
            Some(offset) => self.slots[offset].checked_sub(1),
            None => {
                let position = self.outside.binary_search_by_key(&key, |outside| outside.key);
                position.ok().map(|position| self.outside[position].level)
            }
        }
    }

    /// Adds `level` at `price`, where there is none.
    pub fn insert(&mut self, price: Price, level: u32) {
        debug_assert!(self.find(price).is_none());
        let key = self.key(price);
        // Above the window: past its end (written without `base + window`, which could overflow
        // for a price near i64::MAX).
        let above_window = key > self.base && self.offset(key).is_none();
        if self.len() == 0 || above_window {
            self.place_window(key);
        }
        match self.offset(key) {
            Some(offset) => self.set(offset, level),
            None => {
                let position = self.outside.partition_point(|outside| outside.key < key);
                self.outside.insert(position, OutsideLevel { key, level });
            }
        }
    }

    /// Removes the level at `price`.
    pub fn remove(&mut self, price: Price) {
        let key = self.key(price);
        match self.offset(key) {
            Some(offset) => {
                debug_assert!(self.slots[offset] != 0);
                self.clear(offset);
                if self.in_window == 0
                    && let Some(best) = self.outside.last()
                {
                    self.place_window(best.key);
                }
            }
            None => {
                let position = self.outside.binary_search_by_key(&key, |outside| outside.key);
                self.outside.remove(position.expect("removing an existing level"));
            }
        }
    }

    /// Re-places the window so that `best_key` is a quarter window below its top: levels now below
    /// the window go to `outside`, and levels of `outside` it now covers come in.
    fn place_window(&mut self, best_key: i64) {
        let mut moving = std::mem::take(&mut self.moving);
        while let Some(offset) = self.highest {
            let key = self.base + offset as i64;
            moving.push(OutsideLevel { key, level: self.slots[offset] - 1 });
            self.clear(offset);
        }
        // Saturating near i64::MIN (an ask priced near i64::MAX): the window then starts lower
        // and `best_key` is still inside it.
        self.base = best_key.saturating_sub((self.window - self.window / 4) as i64);
        // `moving` is descending and above every level of `outside`.
        for &level in moving.iter().rev() {
            match self.offset(level.key) {
                Some(offset) => self.set(offset, level.level),
                None => self.outside.push(level),
            }
        }
        moving.clear();
        self.moving = moving;
        while let Some(&last) = self.outside.last() {
            let Some(offset) = self.offset(last.key) else { break };
            self.outside.pop();
            self.set(offset, last.level);
        }
    }

    fn set(&mut self, offset: usize, level: u32) {
        self.slots[offset] = level + 1;
        let word = offset / 64;
        self.words[word] |= 1 << (offset % 64);
        self.summary[word / 64] |= 1 << (word % 64);
        self.top |= 1 << (word / 64);
        self.in_window += 1;
        if self.highest.is_none_or(|highest| offset > highest) {
            self.highest = Some(offset);
        }
    }

    fn clear(&mut self, offset: usize) {
        self.slots[offset] = 0;
        let word = offset / 64;
        self.words[word] &= !(1 << (offset % 64));
        if self.words[word] == 0 {
            let summary = word / 64;
            self.summary[summary] &= !(1 << (word % 64));
            if self.summary[summary] == 0 {
                self.top &= !(1 << summary);
            }
        }
        self.in_window -= 1;
        if self.highest == Some(offset) {
            self.highest = self.below(offset);
        }
    }

    /// The highest occupied offset below `offset`.
    fn below(&self, offset: usize) -> Option<usize> {
        let word = offset / 64;
        if let Some(bit) = highest_bit(self.words[word] & low_bits(offset % 64)) {
            return Some(word * 64 + bit);
        }
        let summary = word / 64;
        let word = match highest_bit(self.summary[summary] & low_bits(word % 64)) {
            Some(bit) => summary * 64 + bit,
            None => {
                let summary = highest_bit(self.top & low_bits(summary))?;
                summary * 64 + highest_bit(self.summary[summary])?
            }
        };
        Some(word * 64 + highest_bit(self.words[word])?)
    }

    /// Price of the best level (for assertions).
    #[cfg(test)]
    fn best_price(&self) -> Option<Price> {
        let key = match self.highest {
            Some(offset) => self.base + offset as i64,
            None => self.outside.last()?.key,
        };
        Some(Price(if self.side == Side::Buy { key } else { -key }))
    }
}

fn highest_bit(word: u64) -> Option<usize> {
    (word != 0).then(|| 63 - word.leading_zeros() as usize)
}

/// The bits below bit `count`.
fn low_bits(count: usize) -> u64 {
    (1u64 << count) - 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prices(ladder: &Ladder, levels: &[(i64, u32)]) -> Vec<i64> {
        let price_of = |level| levels.iter().find(|entry| entry.1 == level).unwrap().0;
        ladder.best_first().map(price_of).collect()
    }

    #[test]
    fn levels_come_out_best_first_across_the_window_and_beyond() {
        for (side, window) in [(Side::Buy, WINDOW), (Side::Sell, WINDOW), (Side::Buy, 16)] {
            let mut ladder = Ladder::new(side, window);
            let sign = if side == Side::Buy { 1 } else { -1 };
            let far = window as i64;
            // Around 10^6 ticks: near the best, 1 and 2 windows behind it, then a new best
            // above the window that pushes the window up.
            let offsets = [0, -1, -64, -4_095, -4_096, -far, -2 * far, 5, far, 3 * far];
            let levels: Vec<(i64, u32)> = offsets
                .iter()
                .zip(0u32..)
                .map(|(offset, level)| (1_000_000 + sign * offset, level))
                .collect();
            for &(price, level) in &levels {
                ladder.insert(Price(price), level);
                assert_eq!(ladder.find(Price(price)), Some(level));
            }
            let mut expected: Vec<i64> = levels.iter().map(|entry| entry.0).collect();
            expected.sort_unstable_by_key(|&price| -sign * price);
            assert_eq!(prices(&ladder, &levels), expected);
            assert_eq!(ladder.len(), levels.len());
            // Remove from the best down: each time the next one is best, including after
            // the window empties and is re-placed over the levels behind it.
            for (done, &price) in expected.iter().enumerate() {
                assert_eq!(ladder.best_price(), Some(Price(price)));
                ladder.remove(Price(price));
                assert_eq!(ladder.find(Price(price)), None);
                assert_eq!(prices(&ladder, &levels), expected[done + 1..].to_vec());
            }
            assert_eq!((ladder.best(), ladder.len()), (None, 0));
        }
    }

    #[test]
    fn prices_at_the_ends_of_the_range_do_not_overflow() {
        for side in [Side::Buy, Side::Sell] {
            let mut ladder = Ladder::new(side, 16);
            let prices = [1, 2, i64::MAX - 1, i64::MAX, 1_000];
            for (level, price) in (0u32..).zip(prices) {
                ladder.insert(Price(price), level);
            }
            for (level, price) in (0u32..).zip(prices) {
                assert_eq!(ladder.find(Price(price)), Some(level), "{side:?} {price}");
            }
            let best = if side == Side::Buy { i64::MAX } else { 1 };
            assert_eq!(ladder.best_price(), Some(Price(best)));
            for price in prices {
                ladder.remove(Price(price));
            }
            assert_eq!(ladder.len(), 0);
        }
    }
}
