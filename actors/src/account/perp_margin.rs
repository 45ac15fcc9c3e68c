//! Cross margin for perpetual orders at the shard: what an order holds, reduce-only refusals,
//! and the account's free margin. Every amount is in the perpetual's quote (settle) asset.
//!
//! - An order holds the initial margin of its notional (at its limit price, or at the mark for
//!   a market order), rounded up; a reduce-only order, and an order on the opposite side of
//!   the position that fits inside what the account's other non-holding orders on that side
//!   leave of the position, hold nothing.
//! - Placing needs free margin: the available quote balance, plus the open positions'
//!   unrealized losses at their marks, minus their initial margin at their marks, at least the
//!   order's margin. Unrealized profit does not count (it is not cash until realized).
//! - A fill releases the margin of the filled lots (the position's margin is the account's
//!   free balance from then on: cross margin), so held stays the sum of open orders' holds.
//! - A reduce-only order is refused when the account has no position, the order is on the
//!   position's side (it would increase it) or larger than the position (it would flip it).
//!   The check is at placement; a reduce-only order whose position shrank meanwhile still
//!   fills as the book matched it.

use super::errors::AccountReject;
use super::market::MarketSpec;
use super::orders::OrderRecord;
use super::place::{PlaceRequest, Requirement, open_requirement};
use super::positions::Position;
use super::state::AccountState;
use crate::model::{
    AccountId, AssetCode, OrderQuantity, Price, Qty, RejectReason, Side, SymbolCode,
};

impl AccountState {
    /// What a perpetual order needs held, after the reduce-only and free-margin checks.
    pub(super) fn perp_requirement(
        &self,
        market: &MarketSpec,
        request: &PlaceRequest,
    ) -> Result<Requirement, AccountReject> {
        let margin = market.margin.expect("a perpetual");
        let OrderQuantity::Base(qty) = request.quantity else {
            return Err(AccountReject::InvalidOrder(RejectReason::QuoteQuantityNotAllowed));
        };
        let position = self.position(request.account_id, market.symbol);
        if request.reduce_only && !reduces(&position, request.side, qty) {
            return Err(AccountReject::ReduceOnlyRejected);
        }
        if !request.reduce_only && self.is_liquidating(request.account_id) {
            return Err(AccountReject::Liquidating(request.account_id));
        }
        let asset = market.quote;
        if request.reduce_only || self.fits_reducing(market, request, &position, qty) {
            return Ok(Requirement { asset, amount: 0 });
        }
        let price = match request.price {
            Some(price) => price,
            None => {
                *self.marks.get(&market.symbol).ok_or(AccountReject::NoMarkPrice(market.symbol))?
            }
        };
        let amount = margin.initial.fee_on(market.value(price, qty));
        let free = self.free_margin(request.account_id, asset);
        if free < amount {
            return Err(AccountReject::InsufficientFunds {
                asset,
                needed: amount,
                available: free.max(0),
            });
        }
        Ok(Requirement { asset, amount })
    }

    /// Whether `qty` on the position's opposite side fits inside what the account's other
    /// non-holding orders on that side leave of the position.
    fn fits_reducing(
        &self,
        market: &MarketSpec,
        request: &PlaceRequest,
        position: &Position,
        qty: Qty,
    ) -> bool {
        if !reduces(position, request.side, qty) {
            return false;
        }
        let reserved: u64 = self
            .orders
            .open_orders(request.account_id, market.symbol)
            .filter(|order| order.side == request.side && order.hold_remaining == 0)
            .filter_map(OrderRecord::open_qty)
            .map(|open| open.0)
            .sum();
        reserved.saturating_add(qty.0) <= position.size_lots.unsigned_abs()
    }

    /// The quote `account` could still commit: available, plus its positions' unrealized
    /// losses, minus their initial margin, both at the marks (at the entry without a mark).
    /// Without positions in `asset`'s perpetuals it is the available balance.
    pub fn free_margin(&self, account: AccountId, asset: AssetCode) -> i128 {
        let available = self.balance(account, asset).available;
        let committed: i128 = self
            .positions
            .range((account, SymbolCode::MIN)..=(account, SymbolCode::MAX))
            .filter(|(_, position)| !position.is_flat())
            .filter_map(|((_, symbol), position)| {
                let market = self.markets.get(symbol).filter(|market| market.quote == asset)?;
                let margin = market.margin?;
                let mark_value = self.mark_value(market, position);
                let loss = position.unrealized_pnl(mark_value).min(0);
                Some(margin.initial.fee_on(mark_value) - loss)
            })
            .sum();
        available - committed
    }

    /// The value of `position`'s size at its symbol's mark (its entry cost without a mark).
    pub(super) fn mark_value(&self, market: &MarketSpec, position: &Position) -> i128 {
        match self.marks.get(&market.symbol) {
            Some(mark) => market.value(*mark, Qty(position.size_lots.unsigned_abs())),
            None => position.entry_cost,
        }
    }

    /// `account`'s position in `symbol` (flat when it never traded it).
    pub fn position(&self, account: AccountId, symbol: SymbolCode) -> Position {
        self.positions.get(&(account, symbol)).copied().unwrap_or_default()
    }

    /// `account`'s positions (flat ones included: they keep their realized PnL), by symbol.
    pub fn positions_of(
        &self,
        account: AccountId,
    ) -> impl Iterator<Item = (SymbolCode, Position)> + '_ {
        self.positions
            .range((account, SymbolCode::MIN)..=(account, SymbolCode::MAX))
            .map(|(&(_, symbol), &position)| (symbol, position))
    }

    /// Every position of the shard, by (account, symbol).
    pub fn all_positions(&self) -> impl Iterator<Item = (AccountId, SymbolCode, Position)> + '_ {
        self.positions.iter().map(|(&(account, symbol), &position)| (account, symbol, position))
    }

    /// Sets `symbol`'s mark price (a perpetual's; others are ignored). Returns whether it is one.
    pub fn set_mark(&mut self, symbol: SymbolCode, mark: Price) -> bool {
        let perpetual = self.markets.get(&symbol).is_some_and(MarketSpec::is_perpetual);
        if perpetual && mark.0 > 0 {
            self.marks.insert(symbol, mark);
        }
        perpetual
    }

    pub fn mark(&self, symbol: SymbolCode) -> Option<Price> {
        self.marks.get(&symbol).copied()
    }
}

/// What an open perpetual order of `market` must hold for `qty` lots at `price`: its initial
/// margin when it held any at placement (a non-holding order keeps holding nothing).
pub(super) fn perp_open_requirement(
    market: &MarketSpec,
    order: &OrderRecord,
    price: Price,
    qty: Qty,
) -> i128 {
    let margin = market.margin.expect("a perpetual");
    if order.hold_remaining == 0 { 0 } else { margin.initial.fee_on(market.value(price, qty)) }
}

/// The requirement of an open order of `market`, spot or perpetual.
pub(super) fn order_requirement(
    market: &MarketSpec,
    order: &OrderRecord,
    price: Price,
    qty: Qty,
) -> i128 {
    if market.is_perpetual() {
        perp_open_requirement(market, order, price, qty)
    } else {
        open_requirement(market, order.side, price, qty)
    }
}

/// Whether `qty` on `side` only reduces `position` (never increases or flips it).
fn reduces(position: &Position, side: Side, qty: Qty) -> bool {
    let opposite = match side {
        Side::Buy => position.size_lots < 0,
        Side::Sell => position.size_lots > 0,
    };
    opposite && qty.0 <= position.size_lots.unsigned_abs()
}
