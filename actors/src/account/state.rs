//! [`AccountState`]: the pure state of one account shard — its accounts, balances, orders and
//! per-symbol event watermarks — with deposits, withdrawals, queries and restore. Placing
//! orders is in `place.rs`, applying book events in `settle.rs`.

use std::collections::{BTreeMap, BTreeSet};

use super::balances::{Balance, BalanceRow, Journal};
use super::errors::AccountReject;
use super::ledger::{Cause, EntryKind, Leg, Owner, SystemAccount};
use super::liquidation::LiquidationRecord;
use super::market::MarketSpec;
use super::orders::{OPEN_ORDERS_PER_ACCOUNT_MAX, OrderBook, OrderRecord, OrderStatus};
use super::positions::{Position, PositionRow};
use crate::model::{AccountId, AssetCode, ClientOrderId, OrderId, Price, SymbolCode};

/// Order ids are `counter * SHARD_COUNT_MAX + shard_index`, unique across shards.
pub const SHARD_COUNT_MAX: u16 = 1_024;

/// The most of one asset all shards together may take in from the outside world, in minor
/// units: the store's 64-bit integers (9.2e18 minor units, 92 billion whole units at 8
/// decimals). Every balance anywhere (users on any shard, fees, clearing) is part of that
/// total, so none can leave them.
pub const SUPPLY_MAX: i128 = i64::MAX as i128;

/// One shard's share of [`SUPPLY_MAX`] when the exchange runs `shard_count` shards.
pub fn shard_supply_max(shard_count: u16) -> i128 {
    SUPPLY_MAX / i128::from(shard_count.max(1))
}

/// The shard (of `shard_count`) that owns `account`.
pub fn shard_of(account: AccountId, shard_count: usize) -> usize {
    assert!(shard_count > 0, "at least one shard");
    let count = u64::try_from(shard_count).expect("shard count fits u64");
    usize::try_from(account.0 % count).expect("a shard index is below the shard count")
}

// The book's order index splits ids the same way (shard in the low bits).
const _: () = assert!(1u32 << crate::book::ORDER_ID_SHARD_BITS == SHARD_COUNT_MAX as u32);

/// What the shell read back from the database to rebuild a shard.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RestoredState {
    pub accounts: Vec<AccountId>,
    pub balances: Vec<BalanceRow>,
    /// Open and pending orders, and the recent closed ones (any order; closed ones are kept
    /// per account by `updated_ts_ns`, then order id).
    pub open_and_recent_orders: Vec<OrderRecord>,
    pub watermarks: Vec<(SymbolCode, u64)>,
    pub next_order_counter: u64,
    pub next_entry_id: u64,
    /// Every position row of the shard's accounts (flat ones keep their realized PnL).
    pub positions: Vec<PositionRow>,
    /// Per perpetual, the last funding interval the shard paid.
    pub funding_intervals: Vec<(SymbolCode, u64)>,
    /// The shard's accounts in LIQUIDATING.
    pub liquidations: Vec<LiquidationRecord>,
}

/// The pure state of one account shard: no actix, no I/O, no clock.
#[derive(Debug)]
pub struct AccountState {
    pub(super) shard_index: u16,
    pub(super) markets: BTreeMap<SymbolCode, MarketSpec>,
    assets: BTreeSet<AssetCode>,
    pub(super) accounts: BTreeSet<AccountId>,
    pub(super) journal: Journal,
    pub(super) orders: OrderBook,
    pub(super) watermarks: BTreeMap<SymbolCode, u64>,
    pub(super) next_order_counter: u64,
    pub(super) changed_orders: BTreeMap<OrderId, OrderRecord>,
    pub(super) changed_watermarks: BTreeSet<SymbolCode>,
    pub(super) opened_accounts: Vec<AccountId>,
    /// Own order changes since the last drain, in the order applied (the user data stream).
    pub(super) order_updates: Vec<super::user_updates::OrderUpdate>,
    /// Deposits stop at this much of an asset taken in (see [`shard_supply_max`]).
    supply_max: i128,
    /// Open orders one account may have (see [`OPEN_ORDERS_PER_ACCOUNT_MAX`]).
    pub(super) open_orders_max: usize,
    /// Perpetual positions by (account, symbol); at most accounts x perpetuals rows.
    pub(super) positions: BTreeMap<(AccountId, SymbolCode), Position>,
    pub(super) changed_positions: BTreeSet<(AccountId, SymbolCode)>,
    /// The latest mark price of each perpetual (not journaled: republished every interval).
    pub(super) marks: BTreeMap<SymbolCode, Price>,
    /// Per perpetual, the last funding interval paid: a funding is applied once per interval.
    pub(super) funding_intervals: BTreeMap<SymbolCode, u64>,
    pub(super) changed_funding: BTreeSet<SymbolCode>,
    /// Each symbol's last trade price as its events said (not journaled): the book's price
    /// band follows it, and liquidation orders must stay inside that band.
    pub(super) last_trade_prices: BTreeMap<SymbolCode, Price>,
    /// Accounts in LIQUIDATING (journaled: a restart resumes them).
    pub(super) liquidations: BTreeMap<AccountId, LiquidationRecord>,
    pub(super) changed_liquidations: BTreeSet<AccountId>,
}

impl AccountState {
    pub fn new(shard_index: u16, markets: BTreeMap<SymbolCode, MarketSpec>) -> AccountState {
        assert!(shard_index < SHARD_COUNT_MAX, "shard index {shard_index} >= {SHARD_COUNT_MAX}");
        for (symbol, market) in &markets {
            assert_eq!(*symbol, market.symbol, "market keyed under another symbol");
        }
        let assets = markets.values().flat_map(|market| [market.base, market.quote]).collect();
        AccountState {
            shard_index,
            markets,
            assets,
            accounts: BTreeSet::new(),
            journal: Journal { next_entry_id: 1, ..Journal::default() },
            orders: OrderBook::default(),
            watermarks: BTreeMap::new(),
            next_order_counter: 1,
            changed_orders: BTreeMap::new(),
            changed_watermarks: BTreeSet::new(),
            opened_accounts: Vec::new(),
            order_updates: Vec::new(),
            supply_max: shard_supply_max(SHARD_COUNT_MAX),
            open_orders_max: OPEN_ORDERS_PER_ACCOUNT_MAX,
            positions: BTreeMap::new(),
            changed_positions: BTreeSet::new(),
            marks: BTreeMap::new(),
            funding_intervals: BTreeMap::new(),
            changed_funding: BTreeSet::new(),
            last_trade_prices: BTreeMap::new(),
            liquidations: BTreeMap::new(),
            changed_liquidations: BTreeSet::new(),
        }
    }

    /// Sets this shard's share of the supply for an exchange of `shard_count` shards (the
    /// default assumes the most shards there can be).
    pub fn set_shard_count(&mut self, shard_count: u16) {
        self.supply_max = shard_supply_max(shard_count);
    }

    /// Lets one account have up to `open_orders_max` open orders (a market maker quoting many
    /// levels on many symbols); orders already open above a lowered limit stay open.
    pub fn set_open_orders_max(&mut self, open_orders_max: usize) {
        assert!(open_orders_max > 0, "an account may have at least one open order");
        self.open_orders_max = open_orders_max;
    }

    /// Rebuilds a shard from the rows the shell stored. Nothing is marked changed.
    pub fn restore(
        shard_index: u16,
        markets: BTreeMap<SymbolCode, MarketSpec>,
        restored: RestoredState,
    ) -> AccountState {
        let mut state = AccountState::new(shard_index, markets);
        state.accounts.extend(restored.accounts);
        for row in restored.balances {
            let balance = Balance { available: row.available, held: row.held };
            state.journal.balances.insert((row.owner, row.asset), balance);
        }
        let mut orders = restored.open_and_recent_orders;
        orders
            .sort_by_key(|order| (order.status.is_terminal(), order.updated_ts_ns, order.order_id));
        for order in orders {
            state.orders.insert(order);
        }
        state.watermarks.extend(restored.watermarks);
        for row in restored.positions {
            state.positions.insert((row.account, row.symbol), row.position);
        }
        for record in restored.liquidations {
            state.liquidations.insert(record.account, record);
        }
        state.funding_intervals.extend(restored.funding_intervals);
        state.next_order_counter = restored.next_order_counter.max(1);
        state.journal.next_entry_id = restored.next_entry_id.max(1);
        state
    }

    pub fn shard_index(&self) -> u16 {
        self.shard_index
    }

    pub fn open_account(&mut self, account: AccountId) -> Result<(), AccountReject> {
        // Id 0 holds the insurance fund's positions: it exists already, and is nobody's.
        if account == super::close_out::INSURANCE_FUND || !self.accounts.insert(account) {
            return Err(AccountReject::AccountExists(account));
        }
        self.opened_accounts.push(account);
        Ok(())
    }

    /// Credits `amount` minor units from the outside world to `account`'s available balance.
    pub fn deposit(
        &mut self,
        account: AccountId,
        asset: AssetCode,
        amount: i128,
        reference: u64,
    ) -> Result<(), AccountReject> {
        self.transfer(account, asset, amount, reference, EntryKind::Deposit, false)
    }

    /// Pays `amount` minor units out of `account`'s available balance to the outside world.
    pub fn withdraw(
        &mut self,
        account: AccountId,
        asset: AssetCode,
        amount: i128,
        reference: u64,
    ) -> Result<(), AccountReject> {
        self.transfer(account, asset, amount, reference, EntryKind::Withdrawal, true)
    }

    /// An operator's correction of entry `corrects_entry`: `amount` minor units into the
    /// user's available balance from External (`pays_out` false) or back out (true), as a new
    /// entry of kind [`EntryKind::Correction`] referencing it. Nothing is ever edited.
    pub fn correct(
        &mut self,
        account: AccountId,
        asset: AssetCode,
        amount: i128,
        pays_out: bool,
        corrects_entry: u64,
    ) -> Result<(), AccountReject> {
        self.transfer(account, asset, amount, corrects_entry, EntryKind::Correction, pays_out)
    }

    /// A deposit, withdrawal or correction: External <-> the user's available balance; out of
    /// the user's when `pays_out`.
    fn transfer(
        &mut self,
        account: AccountId,
        asset: AssetCode,
        amount: i128,
        reference: u64,
        kind: EntryKind,
        pays_out: bool,
    ) -> Result<(), AccountReject> {
        self.check_transfer(account, asset, amount)?;
        let user = Leg::available(Owner::User(account));
        let external = Leg::system(SystemAccount::External);
        let (debit, credit) = if pays_out {
            let mut available = self.balance(account, asset).available;
            if kind == EntryKind::Withdrawal {
                // Collateral that open positions need stays (cross margin).
                available = available.min(self.free_margin(account, asset));
            }
            if available < amount {
                let available = available.max(0);
                return Err(AccountReject::InsufficientFunds { asset, needed: amount, available });
            }
            (user, external)
        } else {
            let supply = -self.system_balance(SystemAccount::External, asset).available;
            if supply.saturating_add(amount) > self.supply_max {
                let max = self.supply_max;
                return Err(AccountReject::SupplyExceeded { asset, amount, max });
            }
            (external, user)
        };
        let cause = Cause { reference, ..Cause::default() };
        self.journal.post(asset, amount, debit, credit, kind, &cause);
        Ok(())
    }

    fn check_transfer(
        &self,
        account: AccountId,
        asset: AssetCode,
        amount: i128,
    ) -> Result<(), AccountReject> {
        self.check_account(account)?;
        if !self.assets.contains(&asset) {
            return Err(AccountReject::UnknownAsset(asset));
        }
        if amount <= 0 {
            return Err(AccountReject::NonPositiveAmount(amount));
        }
        Ok(())
    }

    pub(super) fn check_account(&self, account: AccountId) -> Result<(), AccountReject> {
        if !self.accounts.contains(&account) {
            return Err(AccountReject::UnknownAccount(account));
        }
        Ok(())
    }

    pub fn has_account(&self, account: AccountId) -> bool {
        self.accounts.contains(&account)
    }

    pub fn market(&self, symbol: SymbolCode) -> Option<&MarketSpec> {
        self.markets.get(&symbol)
    }

    /// Starts trading `market` (a symbol listed while running); false if it already trades.
    pub fn add_market(&mut self, market: MarketSpec) -> bool {
        if self.markets.contains_key(&market.symbol) {
            return false;
        }
        self.assets.extend([market.base, market.quote]);
        self.markets.insert(market.symbol, market);
        true
    }

    pub fn balance(&self, account: AccountId, asset: AssetCode) -> Balance {
        self.journal.balance(Owner::User(account), asset)
    }

    pub fn system_balance(&self, account: SystemAccount, asset: AssetCode) -> Balance {
        self.journal.balance(Owner::System(account), asset)
    }

    /// Every balance of the shard, by (owner, asset).
    pub fn balances(&self) -> impl Iterator<Item = (Owner, AssetCode, Balance)> + '_ {
        self.journal.balances.iter().map(|(&(owner, asset), &balance)| (owner, asset, balance))
    }

    pub fn order(&self, order_id: OrderId) -> Option<&OrderRecord> {
        self.orders.get(order_id)
    }

    /// `account`'s open and pending orders on `symbol`, by order id.
    pub fn open_orders(
        &self,
        account: AccountId,
        symbol: SymbolCode,
    ) -> impl Iterator<Item = &OrderRecord> + '_ {
        self.orders.open_orders(account, symbol)
    }

    /// The markets where `account` has open or pending orders: O(markets x log orders), so a
    /// cancel-all of every market need not copy the orders to learn which books to ask.
    pub fn open_symbols(&self, account: AccountId) -> Vec<SymbolCode> {
        self.markets
            .keys()
            .copied()
            .filter(|symbol| self.orders.open_orders(account, *symbol).next().is_some())
            .collect()
    }

    /// Every order of `account` on `symbol` the shard holds in memory: open, pending and the
    /// recent closed ones, in no particular order. At most
    /// `open_orders_max + RECENT_CLOSED_ORDERS_PER_ACCOUNT`.
    pub fn known_orders(
        &self,
        account: AccountId,
        symbol: SymbolCode,
    ) -> impl Iterator<Item = &OrderRecord> + '_ {
        let closed = self.orders.recent_closed(account).filter(move |order| order.symbol == symbol);
        self.orders.open_orders(account, symbol).chain(closed)
    }

    /// Every open and pending order of the shard, by (account, symbol, order id).
    pub fn all_open_orders(&self) -> impl Iterator<Item = &OrderRecord> + '_ {
        self.orders.all_open()
    }

    /// An open or recent order by its client order id.
    pub fn order_by_client_id(
        &self,
        account: AccountId,
        client_order_id: ClientOrderId,
    ) -> Option<&OrderRecord> {
        self.orders.by_client_id(account, client_order_id)
    }

    /// Open orders whose hold is partly paid by the Subsidy account (an amend raced a fill and
    /// the account could not fund it): the shell should cancel them.
    pub fn orders_to_cancel(&self) -> impl Iterator<Item = &OrderRecord> + '_ {
        self.orders.all_open().filter(|order| order.hold_subsidized > 0)
    }

    /// The last applied event sequence of `symbol`'s book (0 before any).
    pub fn watermark(&self, symbol: SymbolCode) -> u64 {
        self.watermarks.get(&symbol).copied().unwrap_or(0)
    }

    // --- helpers shared by place.rs and settle.rs ---

    /// Records the order's current value for the next drain.
    pub(super) fn touch(&mut self, order_id: OrderId) {
        let order = *self.orders.get(order_id).expect("touched order exists");
        self.changed_orders.insert(order_id, order);
    }

    /// Moves `amount` of the order's hold asset from the owner's available to held.
    pub(super) fn add_hold(&mut self, order_id: OrderId, amount: i128, cause: &Cause) {
        let order = self.orders.get_mut(order_id).expect("order exists");
        order.hold_remaining += amount;
        let owner = Owner::User(order.account_id);
        let asset = order.hold_asset;
        self.journal.post(
            asset,
            amount,
            Leg::available(owner),
            Leg::held(owner),
            EntryKind::Hold,
            cause,
        );
    }

    /// Releases `amount` of the order's hold: first back to the Subsidy account for any part it
    /// paid, the rest to the owner's available balance.
    pub(super) fn release_hold(&mut self, order_id: OrderId, amount: i128, cause: &Cause) {
        let order = self.orders.get_mut(order_id).expect("order exists");
        release_from(&mut self.journal, order, amount, cause);
    }

    /// Ends an order: releases whatever it still holds and sets its terminal status. One
    /// lookup of the order: a bulk cancel closes hundreds of thousands in one batch.
    /// Answers the closed record.
    pub(super) fn close_order(
        &mut self,
        order_id: OrderId,
        status: OrderStatus,
        ts_ns: u64,
        cause: &Cause,
    ) -> OrderRecord {
        debug_assert!(status.is_terminal());
        let order = self.orders.get_mut(order_id).expect("order exists");
        let remaining = order.hold_remaining;
        release_from(&mut self.journal, order, remaining, cause);
        // Whatever the Subsidy paid and was spent in fills is the exchange's loss; what was not
        // spent went back above.
        order.hold_subsidized = 0;
        order.status = status;
        order.updated_ts_ns = ts_ns;
        let closed = *order;
        self.changed_orders.insert(order_id, closed);
        self.orders.close(&closed);
        closed
    }
}

/// Releases `amount` of `order`'s hold into `journal`: first back to the Subsidy account for
/// any part it paid, the rest to the owner's available balance.
fn release_from(journal: &mut Journal, order: &mut OrderRecord, amount: i128, cause: &Cause) {
    assert!(
        amount <= order.hold_remaining,
        "releasing {amount} of order {:?} which holds {}",
        order.order_id,
        order.hold_remaining
    );
    order.hold_remaining -= amount;
    let to_subsidy = amount.min(order.hold_subsidized);
    order.hold_subsidized -= to_subsidy;
    let held = Leg::held(Owner::User(order.account_id));
    let available = Leg::available(Owner::User(order.account_id));
    let asset = order.hold_asset;
    let subsidy = Leg::system(SystemAccount::Subsidy);
    journal.post(asset, to_subsidy, held, subsidy, EntryKind::Shortfall, cause);
    journal.post(asset, amount - to_subsidy, held, available, EntryKind::Release, cause);
}
