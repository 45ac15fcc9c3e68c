//! The shard's orders: every open or pending order of its accounts, and the most recent closed
//! ones per account (so a client order id stays unique among open and recent orders), with the
//! indexes the queries need. Bounded: at most [`RECENT_CLOSED_ORDERS_PER_ACCOUNT`] closed orders
//! per account are kept; older ones live only in the database.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use serde::{Deserialize, Serialize};

use crate::model::{
    AccountId, AssetCode, ClientOrderId, OrderId, OrderQuantity, OrderType, Price, Qty,
    SelfTradePrevention, Side, SymbolCode, TimeInForce,
};

/// Closed orders remembered per account for client order id uniqueness.
pub const RECENT_CLOSED_ORDERS_PER_ACCOUNT: usize = 1_000;

/// Open (pending, new or partially filled) orders one account may have on a shard, unless the
/// operator configures another limit ([`AccountState::set_open_orders_max`](super::AccountState::set_open_orders_max)).
pub const OPEN_ORDERS_PER_ACCOUNT_MAX: usize = 10_000;

/// Binance's order statuses, plus PENDING: funds held, the book has not confirmed yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum OrderStatus {
    Pending,
    New,
    PartiallyFilled,
    Filled,
    Canceled,
    Rejected,
    Expired,
    /// Ended by self-trade prevention.
    ExpiredInMatch,
}

impl OrderStatus {
    pub fn is_terminal(self) -> bool {
        !matches!(self, OrderStatus::Pending | OrderStatus::New | OrderStatus::PartiallyFilled)
    }
}

/// Everything the shard knows of one order; the shell stores it as one row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderRecord {
    pub order_id: OrderId,
    pub account_id: AccountId,
    pub symbol: SymbolCode,
    pub client_order_id: ClientOrderId,
    pub side: Side,
    pub order_type: OrderType,
    pub time_in_force: TimeInForce,
    pub self_trade_prevention: SelfTradePrevention,
    pub reduce_only: bool,
    /// Limit price (the latest, after amends); `None` for market orders.
    pub price: Option<Price>,
    /// Original quantity in lots (executed + open after an amend), or a market order's quote
    /// amount in notional units.
    pub quantity: OrderQuantity,
    pub executed_qty: Qty,
    /// Quote exchanged so far, in quote minor units.
    pub cumulative_quote: i128,
    pub status: OrderStatus,
    pub hold_asset: AssetCode,
    /// What is still held for this order, in `hold_asset` minor units. 0 in every terminal state.
    pub hold_remaining: i128,
    /// Part of the hold paid by the Subsidy account after a raced amend; returned to it first
    /// when the hold is released. Non-zero means the shell should cancel the order.
    pub hold_subsidized: i128,
    pub created_ts_ns: u64,
    pub updated_ts_ns: u64,
}

impl OrderRecord {
    /// Lots still open, for an order by base quantity.
    pub fn open_qty(&self) -> Option<Qty> {
        match self.quantity {
            OrderQuantity::Base(qty) => Some(Qty(qty.0 - self.executed_qty.0)),
            OrderQuantity::Quote(_) => None,
        }
    }
}

/// Orders by id plus the indexes: client id per account, open orders per (account, symbol),
/// closed orders per account in closing order.
#[derive(Debug, Default)]
pub(super) struct OrderBook {
    pub by_id: BTreeMap<OrderId, OrderRecord>,
    by_client_id: BTreeMap<(AccountId, ClientOrderId), OrderId>,
    open: BTreeSet<(AccountId, SymbolCode, OrderId)>,
    open_per_account: BTreeMap<AccountId, usize>,
    recent_closed: BTreeMap<AccountId, VecDeque<OrderId>>,
}

impl OrderBook {
    pub fn get(&self, order_id: OrderId) -> Option<&OrderRecord> {
        self.by_id.get(&order_id)
    }

    pub fn get_mut(&mut self, order_id: OrderId) -> Option<&mut OrderRecord> {
        self.by_id.get_mut(&order_id)
    }

    pub fn by_client_id(&self, account: AccountId, client: ClientOrderId) -> Option<&OrderRecord> {
        let order_id = self.by_client_id.get(&(account, client))?;
        self.by_id.get(order_id)
    }

    pub fn open_count(&self, account: AccountId) -> usize {
        self.open_per_account.get(&account).copied().unwrap_or(0)
    }

    pub fn open_orders(
        &self,
        account: AccountId,
        symbol: SymbolCode,
    ) -> impl Iterator<Item = &OrderRecord> + '_ {
        let low = (account, symbol, OrderId(0));
        let high = (account, symbol, OrderId(u64::MAX));
        self.open.range(low..=high).map(|(_, _, order_id)| &self.by_id[order_id])
    }

    /// `account`'s remembered closed orders, oldest closed first.
    pub fn recent_closed(&self, account: AccountId) -> impl Iterator<Item = &OrderRecord> + '_ {
        self.recent_closed.get(&account).into_iter().flatten().map(|order_id| &self.by_id[order_id])
    }

    /// Every open order, by (account, symbol, order id).
    pub fn all_open(&self) -> impl Iterator<Item = &OrderRecord> + '_ {
        self.open.iter().map(|(_, _, order_id)| &self.by_id[order_id])
    }

    /// Adds an order (new, or restored). A closed one goes to the back of its account's
    /// recent list (restore closed orders oldest first).
    pub fn insert(&mut self, order: OrderRecord) {
        let previous = self.by_id.insert(order.order_id, order);
        assert!(previous.is_none(), "order id {:?} assigned twice", order.order_id);
        // On restore an id may stand on two closed orders (reused after the first was forgotten
        // by a shard that remembered fewer): the later one, inserted last, is the one it names.
        self.by_client_id.insert((order.account_id, order.client_order_id), order.order_id);
        if order.status.is_terminal() {
            self.remember_closed(order.account_id, order.order_id);
            return;
        }
        self.open.insert((order.account_id, order.symbol, order.order_id));
        *self.open_per_account.entry(order.account_id).or_default() += 1;
    }

    /// Moves an order that just reached a terminal state from the open set to the recent list;
    /// the oldest closed order of the account beyond the bound is forgotten (the database keeps
    /// it).
    pub fn close(&mut self, order: &OrderRecord) {
        let order_id = order.order_id;
        debug_assert_eq!(self.by_id.get(&order_id), Some(order), "closes the stored record");
        debug_assert!(order.status.is_terminal());
        let removed = self.open.remove(&(order.account_id, order.symbol, order_id));
        assert!(removed, "order {order_id:?} closed twice");
        let count = self.open_per_account.get_mut(&order.account_id).expect("open count");
        *count -= 1;
        if *count == 0 {
            self.open_per_account.remove(&order.account_id);
        }
        self.remember_closed(order.account_id, order_id)
    }

    fn remember_closed(&mut self, account: AccountId, order_id: OrderId) {
        let recent = self.recent_closed.entry(account).or_default();
        recent.push_back(order_id);
        while recent.len() > RECENT_CLOSED_ORDERS_PER_ACCOUNT {
            let old = recent.pop_front().expect("non-empty");
            let record = self.by_id.remove(&old).expect("recent order is stored");
            let key = (record.account_id, record.client_order_id);
            if self.by_client_id.get(&key) == Some(&old) {
                self.by_client_id.remove(&key);
            }
        }
    }
}
