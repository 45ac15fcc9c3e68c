//! The order id -> slab index map, direct-mapped instead of hashing every id.
//!
//! Account shards assign ids as `counter * 1024 + shard` ([`ORDER_ID_SHARD_BITS`]), each shard
//! counting up. The ids of one shard are grouped by counter in pages of [`PAGE_SLOTS`] slots
//! (one `u32` slab index each): a small hash map finds the page of (shard, counter / 64), and
//! within the page the slot is `counter % 64`. New orders of a shard fill the
//! same page one slot after another, so an insert touches a cached line, where hashing every id
//! scattered the inserts over the whole table (one cache and TLB miss each on a large book).
//!
//! Pages are created when an id needs one and recycled (never freed) when their last order
//! leaves, so once the book has reached its high-water mark nothing allocates. A long-lived
//! order keeps its page alive alone; to bound the memory this can take, at most
//! [`MatchingEngine`](super::MatchingEngine)'s `orders_max / 16` pages (plus a floor) exist, and
//! the ids of a page that could not be created go to a plain hash map of outliers.
//!
//! Costs: get, insert and remove are one small-map lookup and one indexed access, plus an
//! outlier lookup only while outliers exist.

use std::cell::Cell;

use rustc_hash::FxHashMap;

use super::arena::{NIL, prefault};
use crate::model::OrderId;

/// Low bits of an order id that name the account shard that issued it.
pub const ORDER_ID_SHARD_BITS: u32 = 10;

const PAGE_BITS: u32 = 6;
/// Slots per page: 64 `u32` slab indices, 256 bytes (four cache lines).
pub(super) const PAGE_SLOTS: usize = 1 << PAGE_BITS;
const SLOT_MASK: u64 = PAGE_SLOTS as u64 - 1;
/// Pages always allowed, however small the book's `orders_max`.
const PAGES_MIN: usize = 1_024;
/// Entries of the recent-page cache (by shard modulo this).
const RECENT: usize = 16;
const RECENT_MASK: u64 = RECENT as u64 - 1;
const _: () = assert!(RECENT.is_power_of_two());
/// A page key no id has (page keys are below 2^58).
const NO_PAGE: u64 = u64::MAX;

/// The recent-page entry of a page key (its shard, modulo [`RECENT`]).
fn recent_of(page_key: u64) -> usize {
    (page_key & RECENT_MASK) as usize
}

/// The page key of `id` (its shard in the low bits, where the hash mixes best) and its slot
/// in that page.
fn locate(id: OrderId) -> (u64, usize) {
    let shard = id.0 & ((1 << ORDER_ID_SHARD_BITS) - 1);
    let counter = id.0 >> ORDER_ID_SHARD_BITS;
    ((counter >> PAGE_BITS) << ORDER_ID_SHARD_BITS | shard, (counter & SLOT_MASK) as usize)
}

#[derive(Debug)]
pub(super) struct OrderIndex {
    /// Page key (see [`locate`]) -> page number.
    page_of: FxHashMap<u64, u32>,
    /// The last page looked up per shard (modulo [`RECENT`]): a shard's new ids all fall in
    /// its newest page, so inserting and checking them skips the `page_of` probe.
    recent: [Cell<(u64, u32)>; RECENT],
    /// All pages, `PAGE_SLOTS` slots each; `NIL` = empty slot.
    slots: Vec<u32>,
    /// Per page: occupied slots.
    live: Vec<u32>,
    /// Pages whose last order left, for reuse.
    free_pages: Vec<u32>,
    pages_max: usize,
    /// Ids whose page could not be created (page budget spent).
    outliers: FxHashMap<OrderId, u32>,
    len: usize,
}

impl OrderIndex {
    /// Room for about `orders` orders without allocating; at most `orders_max` ever.
    pub fn with_capacity(orders: usize, orders_max: usize) -> Self {
        let pages = (orders / PAGE_SLOTS) * 2 + 64;
        let pages_max = (orders_max / 16).max(PAGES_MIN);
        let mut page_of = FxHashMap::default();
        page_of.reserve(pages.min(pages_max));
        let mut outliers = FxHashMap::default();
        outliers.reserve(256);
        OrderIndex {
            page_of,
            recent: std::array::from_fn(|_| Cell::new((NO_PAGE, 0))),
            slots: Vec::with_capacity(pages.min(pages_max) * PAGE_SLOTS),
            live: Vec::with_capacity(pages.min(pages_max)),
            free_pages: Vec::with_capacity(pages.min(pages_max)),
            pages_max,
            outliers,
            len: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    /// Writes every page of the reserved storage once (see [`prefault`]).
    pub fn prefault(&mut self) {
        prefault(&mut self.slots);
        prefault(&mut self.live);
        prefault(&mut self.free_pages);
    }

    /// The slot of `id` in `slots`, if its page exists.
    fn slot(&self, (page_key, in_page): (u64, usize)) -> Option<usize> {
        let recent = &self.recent[recent_of(page_key)];
        let (recent_key, recent_page) = recent.get();
        let page = if recent_key == page_key {
            recent_page
        } else {
            let page = *self.page_of.get(&page_key)?;
            recent.set((page_key, page));
            page
        };
        Some(page as usize * PAGE_SLOTS + in_page)
    }

    pub fn get(&self, id: OrderId) -> Option<u32> {
        if let Some(slot) = self.slot(locate(id)) {
            let index = self.slots[slot];
            if index != NIL {
                return Some(index);
            }
        }
        if self.outliers.is_empty() { None } else { self.outliers.get(&id).copied() }
    }

    pub fn contains(&self, id: OrderId) -> bool {
        self.get(id).is_some()
    }

    /// Maps `id` (not present) to `index`.
    pub fn insert(&mut self, id: OrderId, index: u32) {
        debug_assert!(index != NIL && !self.contains(id));
        let (page_key, in_page) = locate(id);
        let slot = match self.slot((page_key, in_page)) {
            Some(slot) => slot,
            None => match self.new_page(page_key) {
                Some(page) => page as usize * PAGE_SLOTS + in_page,
                None => {
                    self.outliers.insert(id, index);
                    self.len += 1;
                    return;
                }
            },
        };
        self.slots[slot] = index;
        self.live[slot / PAGE_SLOTS] += 1;
        self.len += 1;
    }

    pub fn remove(&mut self, id: OrderId) -> Option<u32> {
        let (page_key, in_page) = locate(id);
        if let Some(slot) = self.slot((page_key, in_page)) {
            let index = self.slots[slot];
            if index != NIL {
                self.slots[slot] = NIL;
                self.len -= 1;
                let page = slot / PAGE_SLOTS;
                self.live[page] -= 1;
                if self.live[page] == 0 {
                    let page = self.page_of.remove(&page_key).expect("the slot's page");
                    self.free_pages.push(page);
                    let recent = &self.recent[recent_of(page_key)];
                    if recent.get().0 == page_key {
                        recent.set((NO_PAGE, 0));
                    }
                }
                return Some(index);
            }
        }
        let index = self.outliers.remove(&id)?;
        self.len -= 1;
        Some(index)
    }

    /// A page for `page_key` (all slots empty), or `None` past the page budget.
    fn new_page(&mut self, page_key: u64) -> Option<u32> {
        let page = match self.free_pages.pop() {
            Some(page) => page,
            None => {
                if self.live.len() >= self.pages_max {
                    return None;
                }
                self.slots.resize(self.slots.len() + PAGE_SLOTS, NIL);
                self.live.push(0);
                u32::try_from(self.live.len() - 1).expect("pages fit in u32")
            }
        };
        self.page_of.insert(page_key, page);
        self.recent[recent_of(page_key)].set((page_key, page));
        Some(page)
    }

    /// Every indexed slab index, in no particular order.
    pub fn values(&self) -> impl Iterator<Item = u32> + '_ {
        let paged = self.page_of.values().flat_map(move |&page| {
            let start = page as usize * PAGE_SLOTS;
            self.slots[start..start + PAGE_SLOTS].iter().copied().filter(|&index| index != NIL)
        });
        paged.chain(self.outliers.values().copied())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_counters_share_pages_and_outliers_take_the_overflow() {
        let mut index = OrderIndex::with_capacity(0, 0);
        index.pages_max = 2;
        let id = |counter: u64, shard: u64| OrderId(counter << ORDER_ID_SHARD_BITS | shard);
        // Shard 3's counters 0..64 share one page; shard 5 takes the second.
        for counter in 0..64u32 {
            index.insert(id(u64::from(counter), 3), counter);
        }
        index.insert(id(0, 5), 100);
        assert_eq!(index.live.len(), 2);
        // No third page: counter 64 of shard 3 is an outlier.
        index.insert(id(64, 3), 200);
        assert_eq!((index.outliers.len(), index.len()), (1, 66));
        assert_eq!(index.get(id(64, 3)), Some(200));
        assert_eq!(index.get(id(7, 3)), Some(7));
        assert_eq!(index.get(id(1, 5)), None);
        assert_eq!(index.remove(id(0, 5)), Some(100));
        assert_eq!(index.free_pages, vec![1], "an emptied page is recycled");
        assert_eq!(index.get(id(0, 5)), None, "and forgotten by the recent-page cache");
        // Shard 21 shares shard 5's cache entry (21 % 16): it reuses the page, shard 5 misses.
        index.insert(id(0, 21), 300);
        assert_eq!((index.get(id(0, 21)), index.get(id(0, 5))), (Some(300), None));
        assert_eq!(index.remove(id(64, 3)), Some(200));
        assert_eq!(index.remove(id(64, 3)), None);
        let mut values: Vec<u32> = index.values().collect();
        values.sort_unstable();
        assert_eq!(values.len(), 65);
        assert_eq!(index.len(), 65);
    }
}
