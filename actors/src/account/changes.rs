//! What changed since the last drain, for the shell to write in one transaction: the new ledger
//! entries in order, the new values of the balances they touched, the changed order records,
//! the advanced watermarks, newly opened accounts and the counters a restore needs. Every list
//! is in a deterministic order (entry id, owner/asset, order id, symbol).

use super::balances::BalanceRow;
use super::ledger::LedgerEntry;
use super::liquidation::LiquidationRecord;
use super::orders::OrderRecord;
use super::positions::PositionRow;
use super::state::AccountState;
use super::user_updates::OrderUpdate;
use crate::model::{AccountId, SymbolCode};

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Changes {
    pub accounts: Vec<AccountId>,
    pub entries: Vec<LedgerEntry>,
    pub balances: Vec<BalanceRow>,
    pub orders: Vec<OrderRecord>,
    pub watermarks: Vec<(SymbolCode, u64)>,
    pub next_order_counter: u64,
    pub next_entry_id: u64,
    /// Changed perpetual positions, by (account, symbol).
    pub positions: Vec<PositionRow>,
    /// Perpetuals whose funding interval advanced, with the interval paid.
    pub funding_intervals: Vec<(SymbolCode, u64)>,
    /// Accounts that entered (`Some`) or left (`None`) LIQUIDATING, by account.
    pub liquidations: Vec<(AccountId, Option<LiquidationRecord>)>,
    /// Own order changes in the order applied; not journaled (the orders rows are), taken
    /// out by [`super::UserBatch::take`] for the user data stream.
    pub order_updates: Vec<OrderUpdate>,
}

impl Changes {
    /// Nothing to write but the counters.
    pub fn is_empty(&self) -> bool {
        self.accounts.is_empty()
            && self.entries.is_empty()
            && self.balances.is_empty()
            && self.orders.is_empty()
            && self.watermarks.is_empty()
            && self.positions.is_empty()
            && self.funding_intervals.is_empty()
            && self.liquidations.is_empty()
    }
}

impl AccountState {
    /// Everything changed since the last drain; the next drain starts empty.
    pub fn drain_changes(&mut self) -> Changes {
        let watermarks = std::mem::take(&mut self.changed_watermarks)
            .into_iter()
            .map(|symbol| (symbol, self.watermark(symbol)))
            .collect();
        Changes {
            accounts: std::mem::take(&mut self.opened_accounts),
            entries: std::mem::take(&mut self.journal.new_entries),
            balances: self.journal.drain_touched(),
            orders: std::mem::take(&mut self.changed_orders).into_values().collect(),
            watermarks,
            next_order_counter: self.next_order_counter,
            next_entry_id: self.journal.next_entry_id,
            positions: std::mem::take(&mut self.changed_positions)
                .into_iter()
                .map(|(account, symbol)| PositionRow {
                    account,
                    symbol,
                    position: self.positions[&(account, symbol)],
                })
                .collect(),
            funding_intervals: std::mem::take(&mut self.changed_funding)
                .into_iter()
                .map(|symbol| (symbol, self.funding_intervals[&symbol]))
                .collect(),
            liquidations: std::mem::take(&mut self.changed_liquidations)
                .into_iter()
                .map(|account| (account, self.liquidations.get(&account).copied()))
                .collect(),
            order_updates: std::mem::take(&mut self.order_updates),
        }
    }
}
