//! Storage for orders and price levels: slabs of fixed-size nodes linked by `u32` indices.
//! Freed slots are reused, so once the book has reached its high-water mark no operation
//! allocates. Orders form two intrusive doubly linked lists: FIFO per price level (time
//! priority) and per account (cancel-all), both in priority order.

use std::ops::{Index, IndexMut};

use crate::model::{AccountId, OrderId, Price, Qty, SelfTradePrevention, Side};

/// The "no node" link.
pub(super) const NIL: u32 = u32::MAX;

const _: () = assert!(size_of::<OrderNode>() == 64, "an order node is one cache line");

/// A resting order. `priority_seq` is the event sequence at which it joined its queue; it orders
/// both lists, so a snapshot sorted by it rebuilds them exactly.
///
/// 63 bytes of fields, aligned to 64 so that each node is exactly one cache line (a slab of
/// 8-aligned nodes straddles two lines for most nodes, and every access touches both).
#[derive(Clone, Copy, Debug)]
#[repr(align(64))]
pub(super) struct OrderNode {
    pub id: OrderId,
    pub account_id: AccountId,
    pub price: Price,
    pub open_qty: Qty,
    pub priority_seq: u64,
    pub level: u32,
    pub prev: u32,
    pub next: u32,
    pub account_prev: u32,
    pub account_next: u32,
    pub side: Side,
    pub self_trade_prevention: SelfTradePrevention,
    pub post_only: bool,
}

/// One price level: its FIFO of orders and their total open quantity.
#[derive(Clone, Copy, Debug)]
pub(super) struct Level {
    pub price: Price,
    pub side: Side,
    pub total_qty: Qty,
    pub order_count: u32,
    pub head: u32,
    pub tail: u32,
}

/// The ends of one account's list of resting orders on this book.
#[derive(Clone, Copy, Debug)]
pub(super) struct AccountOrders {
    pub head: u32,
    pub tail: u32,
    pub count: u32,
}

/// A vector of nodes with a free list. Indices stay valid until removed.
#[derive(Debug)]
pub(super) struct Slab<T> {
    items: Vec<T>,
    free: Vec<u32>,
    live: u32,
}

impl<T: Copy> Slab<T> {
    pub fn with_capacity(capacity: usize) -> Self {
        Slab { items: Vec::with_capacity(capacity), free: Vec::with_capacity(capacity), live: 0 }
    }

    pub fn insert(&mut self, item: T) -> u32 {
        self.live += 1;
        if let Some(index) = self.free.pop() {
            self.items[index as usize] = item;
            return index;
        }
        let index = u32::try_from(self.items.len()).expect("slab holds fewer than u32::MAX nodes");
        assert!(index != NIL, "slab index would collide with NIL");
        self.items.push(item);
        index
    }

    pub fn remove(&mut self, index: u32) {
        debug_assert!((index as usize) < self.items.len());
        self.live -= 1;
        self.free.push(index);
    }

    pub fn len(&self) -> u32 {
        self.live
    }

    /// Writes every page of the reserved storage once, so that first use in the hot path does
    /// not page-fault (see [`prefault`]).
    pub fn prefault(&mut self) {
        prefault(&mut self.items);
        prefault(&mut self.free);
    }
}

/// Writes zeros over the unused capacity of `vec` (safe: it stays unused), so the kernel maps
/// its pages now, at construction, instead of one fault per 4 KiB page on first use.
pub(super) fn prefault<T>(vec: &mut Vec<T>) {
    for slot in vec.spare_capacity_mut() {
        *slot = std::mem::MaybeUninit::zeroed();
    }
    std::hint::black_box(vec.as_ptr());
}

impl<T> Index<u32> for Slab<T> {
    type Output = T;
    fn index(&self, index: u32) -> &T {
        &self.items[index as usize]
    }
}

impl<T> IndexMut<u32> for Slab<T> {
    fn index_mut(&mut self, index: u32) -> &mut T {
        &mut self.items[index as usize]
    }
}
