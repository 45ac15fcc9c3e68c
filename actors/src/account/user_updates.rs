//! What an account's owner is told after each committed batch (Binance's user data stream):
//! every state change of its orders in the order the shard applied them ([`OrderUpdate`], one
//! per book event per own order: accepted, each fill, cancel, expiry, amend, reject), the new
//! values of its balances that changed, and its deposits and withdrawals. The state records
//! order updates as it applies events; [`UserBatch::take`] splits a drained [`Changes`] into
//! what each account gets. Pure: the shell stamps the time and publishes after the commit.

use std::collections::BTreeMap;

use super::balances::BalanceRow;
use super::changes::Changes;
use super::ledger::{EntryKind, LedgerEntry, Owner};
use super::orders::OrderRecord;
use super::state::AccountState;
use crate::model::{AccountId, AssetCode, OrderId, Price, Qty, TradeId};

/// One fill of an own order (Binance's `l`, `L`, `n`, `N`, `t`, `m`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FillReport {
    pub trade_id: TradeId,
    pub price: Price,
    pub qty: Qty,
    /// Minor units of `commission_asset`; negative for a maker rebate.
    pub commission: i128,
    pub commission_asset: AssetCode,
    pub maker: bool,
}

/// Why an order changed (Binance's execution type `x`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Execution {
    New,
    Trade(FillReport),
    Canceled,
    Expired,
    /// Price or quantity amended in place.
    Replaced,
    Rejected,
}

/// An order right after one change, with the change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderUpdate {
    pub order: OrderRecord,
    pub execution: Execution,
    /// When the change happened (the book event's time).
    pub ts_ns: u64,
}

/// What one account is told about one committed batch, in this order: its order updates, its
/// deposits and withdrawals, then the new values of its changed balances.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccountUpdate {
    pub account_id: AccountId,
    pub orders: Vec<OrderUpdate>,
    pub transfers: Vec<LedgerEntry>,
    pub balances: Vec<BalanceRow>,
}

impl AccountUpdate {
    pub fn is_empty(&self) -> bool {
        self.orders.is_empty() && self.transfers.is_empty() && self.balances.is_empty()
    }
}

/// A committed batch as the accounts it touched see it, in account order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserBatch {
    pub accounts: Vec<AccountUpdate>,
    /// When the batch was committed (the shell's clock).
    pub ts_ns: u64,
}

impl UserBatch {
    /// Takes the order updates out of `changes` (the journal does not store them) and groups
    /// them, the user accounts' transfers and balance rows by account. `changes` keeps
    /// everything else.
    pub fn take(changes: &mut Changes, ts_ns: u64) -> UserBatch {
        let mut grouped: BTreeMap<AccountId, AccountUpdate> = BTreeMap::new();
        for update in std::mem::take(&mut changes.order_updates) {
            of(&mut grouped, update.order.account_id).orders.push(update);
        }
        for entry in &changes.entries {
            if !matches!(
                entry.kind,
                EntryKind::Deposit | EntryKind::Withdrawal | EntryKind::Correction
            ) {
                continue;
            }
            for leg in [entry.debit, entry.credit] {
                if let Owner::User(account_id) = leg.owner {
                    of(&mut grouped, account_id).transfers.push(*entry);
                }
            }
        }
        for row in &changes.balances {
            if let Owner::User(account_id) = row.owner {
                of(&mut grouped, account_id).balances.push(*row);
            }
        }
        UserBatch { accounts: grouped.into_values().collect(), ts_ns }
    }
}

fn of(
    grouped: &mut BTreeMap<AccountId, AccountUpdate>,
    account_id: AccountId,
) -> &mut AccountUpdate {
    grouped
        .entry(account_id)
        .or_insert_with(|| AccountUpdate { account_id, ..AccountUpdate::default() })
}

impl AccountState {
    /// Records that `order_id` just changed by `execution` at `ts_ns`.
    pub(super) fn report(&mut self, order_id: OrderId, execution: Execution, ts_ns: u64) {
        let order = *self.orders.get(order_id).expect("reported order exists");
        self.report_record(order, execution, ts_ns);
    }

    /// [`report`](Self::report) of a record already at hand (no lookup).
    pub(super) fn report_record(&mut self, order: OrderRecord, execution: Execution, ts_ns: u64) {
        self.order_updates.push(OrderUpdate { order, execution, ts_ns });
    }
}
