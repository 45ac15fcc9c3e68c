//! The matching engine's state, its single entry point [`MatchingEngine::apply`], read-only
//! queries, and the linking primitives every operation is built from.

use rustc_hash::FxHashMap;

use super::arena::{AccountOrders, Level, NIL, OrderNode, Slab};
use super::ladder::{self, Ladder};
use super::limits::BookLimits;
use super::order_index::OrderIndex;
use crate::model::{
    AccountId, BookCommand, BookEvent, BookInput, EventKind, LevelChanged, MarketTerms, OrderId,
    Price, Qty, RejectReason, Side,
};

/// What one or more applied inputs produced. Callers keep one and reuse it across commands (and
/// across a whole journal batch), so producing events never allocates in the steady state.
#[derive(Debug, Default)]
pub struct EngineOutput {
    /// Events in sequence order.
    pub events: Vec<BookEvent>,
    /// Ids of a bulk cancel that could not be canceled, with why.
    pub cancel_failures: Vec<(OrderId, RejectReason)>,
}

impl EngineOutput {
    pub fn with_capacity(events: usize) -> Self {
        EngineOutput { events: Vec::with_capacity(events), cancel_failures: Vec::new() }
    }

    pub fn clear(&mut self) {
        self.events.clear();
        self.cancel_failures.clear();
    }
}

/// Hands out event sequence numbers and stamps events with the current command's time.
#[derive(Debug, Default)]
pub(super) struct Sequencer {
    pub last_event_seq: u64,
    pub ts_ns: u64,
}

impl Sequencer {
    pub fn emit(&mut self, events: &mut Vec<BookEvent>, kind: EventKind) {
        self.last_event_seq += 1;
        events.push(BookEvent { seq: self.last_event_seq, ts_ns: self.ts_ns, kind });
    }
}

/// A public view of one resting order (also the unit of a snapshot).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RestingOrder {
    pub order_id: OrderId,
    pub account_id: AccountId,
    pub side: Side,
    pub price: Price,
    pub open_qty: Qty,
    /// Event sequence at which the order took its place in the queue.
    pub priority_seq: u64,
    pub self_trade_prevention: crate::model::SelfTradePrevention,
    pub post_only: bool,
}

impl From<&OrderNode> for RestingOrder {
    fn from(node: &OrderNode) -> Self {
        RestingOrder {
            order_id: node.id,
            account_id: node.account_id,
            side: node.side,
            price: node.price,
            open_qty: node.open_qty,
            priority_seq: node.priority_seq,
            self_trade_prevention: node.self_trade_prevention,
            post_only: node.post_only,
        }
    }
}

/// Accounts with resting orders the account table has room for at start. Not more: a table
/// sized to the order capacity (65,536 entries) spread ~1,000 live accounts over megabytes and
/// every lookup missed cache and TLB. More accounts grow it (once, at a new high-water mark).
const ACCOUNTS_PREALLOCATED: usize = 2_048;

/// The order book of one symbol: price-time priority matching with exact integer money.
///
/// Pure: no clock, no I/O, no randomness. Its state is a function of the inputs applied, so the
/// same input log always yields byte-identical events and the same [`state_hash`].
///
/// [`state_hash`]: MatchingEngine::state_hash
#[derive(Debug)]
pub struct MatchingEngine {
    pub(super) limits: BookLimits,
    pub(super) orders: Slab<OrderNode>,
    pub(super) order_index: OrderIndex,
    pub(super) levels: Slab<Level>,
    pub(super) bids: Ladder,
    pub(super) asks: Ladder,
    pub(super) accounts: FxHashMap<AccountId, AccountOrders>,
    pub(super) reference_price: Option<Price>,
    pub(super) last_input_seq: u64,
    pub(super) last_trade_id: u64,
    pub(super) sequencer: Sequencer,
}

impl MatchingEngine {
    pub fn new(limits: BookLimits) -> Self {
        Self::with_ladder_window(limits, ladder::WINDOW)
    }

    /// A book whose price ladders index `window_ticks` ticks around the best price (a power of
    /// two up to 2^18; [`MatchingEngine::new`] uses 65,536). Behaviour is the same for any
    /// window; tests use small ones so that orders often fall outside it.
    pub fn with_ladder_window(limits: BookLimits, window_ticks: usize) -> Self {
        let reserved = limits.capacity.orders_preallocated.min(limits.capacity.orders_max) as usize;
        let mut accounts = FxHashMap::default();
        accounts.reserve(reserved.min(ACCOUNTS_PREALLOCATED));
        let mut engine = MatchingEngine {
            limits,
            orders: Slab::with_capacity(reserved),
            order_index: OrderIndex::with_capacity(reserved, limits.capacity.orders_max as usize),
            levels: Slab::with_capacity(reserved.min(1 << 16)),
            bids: Ladder::new(Side::Buy, window_ticks),
            asks: Ladder::new(Side::Sell, window_ticks),
            accounts,
            reference_price: None,
            last_input_seq: 0,
            last_trade_id: 0,
            sequencer: Sequencer::default(),
        };
        // Touch the reserved storage now: a fresh book's first ~40,000 page faults (insert-only
        // workload, 2 million orders reserved) otherwise land in its first seconds of matching.
        engine.orders.prefault();
        engine.order_index.prefault();
        engine
    }

    /// Applies one input and appends its events to `out`. An input out of sequence is refused
    /// with nothing changed; any other refusal still consumes the input (it is in the log).
    pub fn apply(&mut self, input: &BookInput, out: &mut EngineOutput) -> Result<(), RejectReason> {
        if input.input_seq != self.last_input_seq + 1 {
            return Err(RejectReason::InputOutOfSequence);
        }
        self.last_input_seq = input.input_seq;
        self.sequencer.ts_ns = input.ts_ns;
        let result = match &input.command {
            BookCommand::Place(order) => self.place(order, &mut out.events),
            BookCommand::Cancel(cancel) => {
                self.cancel(cancel.account_id, cancel.order_id, &mut out.events)
            }
            BookCommand::CancelMany(cancel) => {
                self.cancel_many(cancel.account_id, &cancel.order_ids, out);
                Ok(())
            }
            BookCommand::CancelAll(cancel) => {
                self.cancel_all(cancel.account_id, &mut out.events);
                Ok(())
            }
            BookCommand::Amend(amend) => self.amend(amend, &mut out.events),
            BookCommand::SetReferencePrice(price) => self.set_reference_price(*price),
            BookCommand::SetTerms(terms) => self.set_terms(*terms),
        };
        self.check_invariants();
        result
    }

    fn set_reference_price(&mut self, price: Price) -> Result<(), RejectReason> {
        if price < self.limits.terms.min_price || price > self.limits.terms.max_price {
            return Err(RejectReason::PriceOutOfRange);
        }
        self.reference_price = Some(price);
        Ok(())
    }

    /// Resting orders were accepted inside the price range, and a restore checks they still
    /// are: the range is fixed for the book's life. Everything else applies from the next input.
    fn set_terms(&mut self, terms: MarketTerms) -> Result<(), RejectReason> {
        let current = self.limits.terms;
        if (terms.min_price, terms.max_price) != (current.min_price, current.max_price) {
            return Err(RejectReason::InvalidTerms);
        }
        if terms.min_qty > terms.max_qty
            || terms.min_notional > terms.max_notional
            || terms.max_qty.0.checked_mul(u64::from(self.limits.capacity.orders_max)).is_none()
        {
            return Err(RejectReason::InvalidTerms);
        }
        self.limits.terms = terms;
        Ok(())
    }

    pub fn limits(&self) -> &BookLimits {
        &self.limits
    }

    pub fn last_input_seq(&self) -> u64 {
        self.last_input_seq
    }

    /// The sequence of the last event emitted: REST depth's `lastUpdateId`.
    pub fn last_event_seq(&self) -> u64 {
        self.sequencer.last_event_seq
    }

    pub fn reference_price(&self) -> Option<Price> {
        self.reference_price
    }

    pub fn best_bid(&self) -> Option<(Price, Qty)> {
        self.bids.best().map(|level| (self.levels[level].price, self.levels[level].total_qty))
    }

    pub fn best_ask(&self) -> Option<(Price, Qty)> {
        self.asks.best().map(|level| (self.levels[level].price, self.levels[level].total_qty))
    }

    pub fn open_order_count(&self) -> u32 {
        self.orders.len()
    }

    pub fn order(&self, order_id: OrderId) -> Option<RestingOrder> {
        self.order_index.get(order_id).map(|index| RestingOrder::from(&self.orders[index]))
    }

    pub fn account_open_order_count(&self, account_id: AccountId) -> u32 {
        self.accounts.get(&account_id).map_or(0, |entry| entry.count)
    }

    /// An account's resting orders in priority order.
    pub fn account_orders(&self, account_id: AccountId) -> impl Iterator<Item = RestingOrder> + '_ {
        let mut cursor = self.accounts.get(&account_id).map_or(NIL, |entry| entry.head);
        std::iter::from_fn(move || {
            (cursor != NIL).then(|| {
                let node = &self.orders[cursor];
                cursor = node.account_next;
                RestingOrder::from(node)
            })
        })
    }

    pub(super) fn ladder(&self, side: Side) -> &Ladder {
        match side {
            Side::Buy => &self.bids,
            Side::Sell => &self.asks,
        }
    }

    pub(super) fn ladder_mut(&mut self, side: Side) -> &mut Ladder {
        match side {
            Side::Buy => &mut self.bids,
            Side::Sell => &mut self.asks,
        }
    }

    /// Whether an order on `side` at `price` would trade against the best opposite level.
    pub(super) fn would_cross(&self, side: Side, price: Price) -> bool {
        match side {
            Side::Buy => self.best_ask().is_some_and(|(ask, _)| ask <= price),
            Side::Sell => self.best_bid().is_some_and(|(bid, _)| bid >= price),
        }
    }

    /// Puts a new resting order at the back of its level and of its account's list, and emits
    /// the level's new total.
    pub(super) fn rest(&mut self, mut node: OrderNode, events: &mut Vec<BookEvent>) {
        node.account_next = NIL;
        let index = self.orders.insert(node);
        let account = self.accounts.entry(node.account_id).or_insert(AccountOrders {
            head: NIL,
            tail: NIL,
            count: 0,
        });
        account.count += 1;
        let previous_tail = account.tail;
        account.tail = index;
        self.orders[index].account_prev = previous_tail;
        if previous_tail == NIL {
            account.head = index;
        } else {
            self.orders[previous_tail].account_next = index;
        }
        self.order_index.insert(node.id, index);
        self.join_level(index, events);
    }

    /// Appends the order at `index` (in the slab and its account's list, in no level) to the
    /// back of the level at its price, creating the level if needed; the order takes its queue
    /// position now. Emits the level's new total.
    pub(super) fn join_level(&mut self, index: u32, events: &mut Vec<BookEvent>) {
        let (side, price) = (self.orders[index].side, self.orders[index].price);
        let level = self.level_at(side, price);
        let level_node = &mut self.levels[level];
        let previous_tail = level_node.tail;
        level_node.tail = index;
        level_node.order_count += 1;
        level_node.total_qty.0 += self.orders[index].open_qty.0;
        if previous_tail == NIL {
            level_node.head = index;
        } else {
            self.orders[previous_tail].next = index;
        }
        let node = &mut self.orders[index];
        node.priority_seq = self.sequencer.last_event_seq;
        node.level = level;
        node.prev = previous_tail;
        node.next = NIL;
        self.emit_level(level, events);
    }

    /// The level of `side` at `price`: the existing one or a new one.
    fn level_at(&mut self, side: Side, price: Price) -> u32 {
        if let Some(level) = self.ladder(side).find(price) {
            return level;
        }
        let level = self.levels.insert(Level {
            price,
            side,
            total_qty: Qty::ZERO,
            order_count: 0,
            head: NIL,
            tail: NIL,
        });
        self.ladder_mut(side).insert(price, level);
        level
    }

    /// Takes a resting order out of both lists, the index and the slab, and its open quantity
    /// out of its level. The level itself is left for [`Self::settle_level`].
    pub(super) fn unlink(&mut self, index: u32) -> OrderNode {
        self.leave_level(index);
        self.forget(index)
    }

    /// Takes the order at `index` out of its level's queue and its quantity out of the level's
    /// total; it stays in the slab, the index and its account's list (an amend that moves it
    /// relinks it, see [`Self::join_level`]).
    pub(super) fn leave_level(&mut self, index: u32) {
        let node = self.orders[index];
        let level = &mut self.levels[node.level];
        level.total_qty.0 -= node.open_qty.0;
        level.order_count -= 1;
        if node.prev == NIL {
            level.head = node.next;
        } else {
            self.orders[node.prev].next = node.next;
        }
        if node.next == NIL {
            level.tail = node.prev;
        } else {
            self.orders[node.next].prev = node.prev;
        }
    }

    /// Removes an order that is in no level from its account's list, the index and the slab.
    pub(super) fn forget(&mut self, index: u32) -> OrderNode {
        let node = self.orders[index];
        let account = self.accounts.get_mut(&node.account_id).expect("resting order's account");
        account.count -= 1;
        if account.count == 0 {
            self.accounts.remove(&node.account_id);
        } else {
            if node.account_prev == NIL {
                account.head = node.account_next;
            } else {
                self.orders[node.account_prev].account_next = node.account_next;
            }
            if node.account_next == NIL {
                account.tail = node.account_prev;
            } else {
                self.orders[node.account_next].account_prev = node.account_prev;
            }
        }
        self.order_index.remove(node.id);
        self.orders.remove(index);
        node
    }

    /// Moves the order at `index` to the back of its account's list (its queue position is
    /// about to be renewed, and the list is in priority order). Free when it is already last,
    /// as it is for an account with one order.
    pub(super) fn move_to_account_tail(&mut self, index: u32) {
        let node = self.orders[index];
        if node.account_next == NIL {
            return;
        }
        let account = self.accounts.get_mut(&node.account_id).expect("resting order's account");
        if node.account_prev == NIL {
            account.head = node.account_next;
        } else {
            self.orders[node.account_prev].account_next = node.account_next;
        }
        self.orders[node.account_next].account_prev = node.account_prev;
        let previous_tail = account.tail;
        account.tail = index;
        self.orders[previous_tail].account_next = index;
        let node = &mut self.orders[index];
        node.account_prev = previous_tail;
        node.account_next = NIL;
    }

    /// Emits a level's new total and drops the level if it emptied.
    pub(super) fn settle_level(&mut self, level: u32, events: &mut Vec<BookEvent>) {
        self.emit_level(level, events);
        let node = self.levels[level];
        if node.order_count != 0 {
            return;
        }
        debug_assert_eq!(node.total_qty, Qty::ZERO);
        self.ladder_mut(node.side).remove(node.price);
        self.levels.remove(level);
    }

    fn emit_level(&mut self, level: u32, events: &mut Vec<BookEvent>) {
        let node = &self.levels[level];
        let change = LevelChanged { side: node.side, price: node.price, qty: node.total_qty };
        self.sequencer.emit(events, EventKind::LevelChanged(change));
    }

    /// Money invariant, always on: the book is never crossed after a command.
    fn check_invariants(&self) {
        if let (Some((bid, _)), Some((ask, _))) = (self.best_bid(), self.best_ask()) {
            assert!(bid < ask, "book crossed: best bid {bid:?} >= best ask {ask:?}");
        }
        debug_assert_eq!(self.order_index.len(), self.orders.len() as usize);
    }
}
