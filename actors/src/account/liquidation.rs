//! LIQUIDATING, pure: which accounts are in it (journaled, so a restart resumes them), and what
//! each review asks the shell to do. The Liquidator calls [`AccountState::review_liquidations`]
//! on every fresh mark; a review never runs on a stale index (the Liquidator pauses).
//!
//! An account at or below its maintenance margin enters LIQUIDATING (per settle asset, cross
//! margin). While in it, it may only place reduce-only orders; each review asks the shell to
//! cancel its open perpetual orders and, once none is open, to send one reduce-only IOC per
//! position limited at the position's bankruptcy price, through the book like any order. It
//! leaves when it has no open position or its margin is above maintenance again. Once its
//! deadline has passed (and its orders are gone), the rest is closed out without the book
//! (`close_out.rs`: the insurance fund, else ADL) and it leaves at once: nothing stays.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::close_out::ClosedOut;
use super::orders::OrderStatus;
use super::perp_risk::MarginStatus;
use super::place::PlaceRequest;
use super::state::AccountState;
use crate::model::{
    AccountId, AssetCode, ClientOrderId, OrderId, OrderQuantity, OrderType, Price, Qty,
    SelfTradePrevention, Side, SymbolCode, TimeInForce,
};

/// An account in LIQUIDATING, as journaled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiquidationRecord {
    pub account: AccountId,
    /// The settle asset whose cross margin ran out.
    pub asset: AssetCode,
    pub entered_at_ns: u64,
}

/// What a review asks for, or reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LiquidationStep {
    /// The account fell to its maintenance margin and is now LIQUIDATING.
    Entered(MarginStatus),
    /// Cancel these open orders of the account (through the book, tracked as CANCELING).
    Cancel { account: AccountId, symbol: SymbolCode, order_ids: Vec<OrderId> },
    /// Place this reduce-only IOC order (limited at the bankruptcy price) through the book.
    CloseThroughBook(PlaceRequest),
    /// The deadline passed: the rest of the positions went to the fund or to ADL.
    ClosedOut { account: AccountId, closed: ClosedOut },
    /// The account left LIQUIDATING after `age_ns`.
    Resolved { account: AccountId, age_ns: u64 },
}

impl AccountState {
    pub fn is_liquidating(&self, account: AccountId) -> bool {
        self.liquidations.contains_key(&account)
    }

    /// Every account in LIQUIDATING, by account.
    pub fn liquidations(&self) -> impl Iterator<Item = &LiquidationRecord> + '_ {
        self.liquidations.values()
    }

    /// How many accounts are LIQUIDATING and how long the oldest has been, at `now_ns`.
    pub fn liquidation_summary(&self, now_ns: u64) -> (usize, u64) {
        let oldest = self
            .liquidations
            .values()
            .map(|record| now_ns.saturating_sub(record.entered_at_ns))
            .max()
            .unwrap_or(0);
        (self.liquidations.len(), oldest)
    }

    /// Moves the accounts at or below maintenance into LIQUIDATING and advances every account
    /// in it: at `now_ns`, with `deadline_ns` before a close-out without the book.
    pub fn review_liquidations(&mut self, now_ns: u64, deadline_ns: u64) -> Vec<LiquidationStep> {
        let mut steps = Vec::new();
        for status in self.accounts_below_maintenance() {
            if let std::collections::btree_map::Entry::Vacant(vacant) =
                self.liquidations.entry(status.account)
            {
                let account = status.account;
                vacant.insert(LiquidationRecord {
                    account,
                    asset: status.asset,
                    entered_at_ns: now_ns,
                });
                self.changed_liquidations.insert(account);
                steps.push(LiquidationStep::Entered(status));
            }
        }
        let records: Vec<LiquidationRecord> = self.liquidations.values().copied().collect();
        for record in records {
            let age_ns = now_ns.saturating_sub(record.entered_at_ns);
            let status = self.margin_status(record.account, record.asset);
            if status.open_positions == 0 || !status.is_liquidatable() {
                self.leave_liquidation(record.account);
                steps.push(LiquidationStep::Resolved { account: record.account, age_ns });
                continue;
            }
            let open = self.open_perp_orders(record.account, record.asset);
            for (symbol, orders) in &open {
                let order_ids: Vec<OrderId> =
                    orders.iter().filter(|(_, pending)| !pending).map(|(id, _)| *id).collect();
                if !order_ids.is_empty() {
                    let account = record.account;
                    steps.push(LiquidationStep::Cancel { account, symbol: *symbol, order_ids });
                }
            }
            if !open.is_empty() {
                continue; // the book first: nothing is closed while orders may still fill
            }
            if age_ns >= deadline_ns {
                let closed = self.close_out(record.account, record.asset);
                self.leave_liquidation(record.account);
                steps.push(LiquidationStep::ClosedOut { account: record.account, closed });
                steps.push(LiquidationStep::Resolved { account: record.account, age_ns });
            } else {
                let orders = self.bankruptcy_orders(record.account, record.asset, now_ns);
                steps.extend(orders.into_iter().map(LiquidationStep::CloseThroughBook));
            }
        }
        steps
    }

    fn leave_liquidation(&mut self, account: AccountId) {
        self.liquidations.remove(&account);
        self.changed_liquidations.insert(account);
    }

    /// The account's open and pending orders on `asset`'s perpetuals: (id, is pending).
    fn open_perp_orders(
        &self,
        account: AccountId,
        asset: AssetCode,
    ) -> BTreeMap<SymbolCode, Vec<(OrderId, bool)>> {
        let mut open: BTreeMap<SymbolCode, Vec<(OrderId, bool)>> = BTreeMap::new();
        for (symbol, market) in &self.markets {
            if !market.is_perpetual() || market.quote != asset {
                continue;
            }
            for order in self.orders.open_orders(account, *symbol) {
                let pending = order.status == OrderStatus::Pending;
                open.entry(*symbol).or_default().push((order.order_id, pending));
            }
        }
        open
    }

    /// One reduce-only IOC per open position, limited at its bankruptcy price: the price at
    /// which closing it realizes the account's available balance plus the other positions'
    /// unrealized PnL at the marks (rounded to the tick on the account's side of it), or at
    /// the edge of the book's price band (around the last trade, else the mark) when the
    /// bankruptcy price is outside it.
    fn bankruptcy_orders(
        &self,
        account: AccountId,
        asset: AssetCode,
        now_ns: u64,
    ) -> Vec<PlaceRequest> {
        let status = self.margin_status(account, asset);
        let mut orders = Vec::new();
        for (symbol, position) in self.positions_of(account) {
            let Some(market) = self.markets.get(&symbol).filter(|market| market.quote == asset)
            else {
                continue;
            };
            if position.is_flat() {
                continue;
            }
            let own_pnl = position.unrealized_pnl(self.mark_value(market, &position));
            // What the account has besides this position: its wallet and the others' PnL.
            let rest = status.margin_balance - own_pnl;
            let lots = position.size_lots.unsigned_abs();
            let per_tick = market.value(Price(1), Qty(lots));
            // The book refuses a limit outside its price band around its last trade, so where
            // the bankruptcy price lies beyond the band the order asks the band's edge instead
            // (never worse than bankrupt for the account).
            let reference = self.last_trade_prices.get(&symbol).or(self.marks.get(&symbol));
            let (reference, band) = reference.map_or((0, 0), |reference| {
                let reference = i128::from(reference.0);
                let width = reference * i128::from(market.price_band_bps)
                    / i128::from(crate::model::BASIS_POINTS_PER_WHOLE);
                (reference, width)
            });
            let (side, ticks) = if position.size_lots > 0 {
                let value = (position.entry_cost - rest).max(0);
                let bankrupt = (value + per_tick - 1) / per_tick;
                (Side::Sell, if band > 0 { bankrupt.max(reference - band) } else { bankrupt })
            } else {
                let bankrupt = (position.entry_cost + rest) / per_tick;
                (Side::Buy, if band > 0 { bankrupt.min(reference + band) } else { bankrupt })
            };
            let Ok(ticks) = i64::try_from(ticks.max(1)) else { continue };
            orders.push(PlaceRequest {
                symbol,
                account_id: account,
                client_order_id: ClientOrderId::NONE,
                side,
                order_type: OrderType::Limit,
                time_in_force: TimeInForce::Ioc,
                price: Some(Price(ticks)),
                quantity: OrderQuantity::Base(Qty(lots)),
                self_trade_prevention: SelfTradePrevention::None,
                reduce_only: true,
                ts_ns: now_ns,
            });
        }
        orders
    }
}
