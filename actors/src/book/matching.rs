//! The taker side of matching: sweep the opposite side from the best level outwards, in
//! price-time priority, always at the resting order's price, never past the taker's limit or
//! the price band, applying the taker's self-trade prevention mode.

use super::arena::{NIL, OrderNode};
use super::engine::MatchingEngine;
use super::limits::PriceBand;
use crate::model::{
    AccountId, BookEvent, EventKind, ExpireReason, Notional, OrderExpired, OrderId, OrderQuantity,
    PlaceOrder, Price, Qty, SelfTradePrevention, Side, TradeExecuted, TradeId,
};

/// The incoming order while it matches.
#[derive(Clone, Copy, Debug)]
pub(super) struct Taker {
    pub order_id: OrderId,
    pub account_id: AccountId,
    pub side: Side,
    /// `None` for a market order.
    pub limit: Option<Price>,
    pub remaining: OrderQuantity,
    pub self_trade_prevention: SelfTradePrevention,
    pub last_trade_price: Option<Price>,
}

/// Why a sweep ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum SweepStop {
    Filled,
    /// The opposite side is empty or its best price is beyond the taker's limit.
    NothingCrossing,
    /// The next crossable price is outside the band.
    Band,
    /// Self-trade prevention ended the taker.
    SelfTrade,
    /// A quote budget too small for one lot at the next price.
    BudgetSpent,
}

impl Taker {
    /// A new order about to match.
    pub fn for_order(order: &PlaceOrder) -> Taker {
        Taker {
            order_id: order.order_id,
            account_id: order.account_id,
            side: order.side,
            limit: order.price,
            remaining: order.quantity,
            self_trade_prevention: order.self_trade_prevention,
            last_trade_price: None,
        }
    }

    pub fn is_filled(&self) -> bool {
        match self.remaining {
            OrderQuantity::Base(qty) => qty.is_zero(),
            OrderQuantity::Quote(notional) => notional.0 == 0,
        }
    }

    pub fn crosses(&self, maker_price: Price) -> bool {
        match (self.limit, self.side) {
            (None, _) => true,
            (Some(limit), Side::Buy) => maker_price <= limit,
            (Some(limit), Side::Sell) => maker_price >= limit,
        }
    }

    /// Lots this taker can take from a maker with `open_qty` at `price`.
    fn fill_qty(&self, price: Price, open_qty: Qty) -> Qty {
        match self.remaining {
            OrderQuantity::Base(qty) => qty.min(open_qty),
            OrderQuantity::Quote(budget) => {
                let affordable = budget.0 / i128::from(price.0);
                Qty(u64::try_from(affordable).unwrap_or(u64::MAX).min(open_qty.0))
            }
        }
    }

    fn consume(&mut self, price: Price, qty: Qty) {
        self.remaining = match self.remaining {
            OrderQuantity::Base(left) => OrderQuantity::Base(Qty(left.0 - qty.0)),
            OrderQuantity::Quote(left) => {
                OrderQuantity::Quote(Notional(left.0 - Notional::of(price, qty).0))
            }
        };
        self.last_trade_price = Some(price);
    }

    /// The expiry event for whatever is left of this taker.
    pub fn expired(&self, reason: ExpireReason) -> EventKind {
        let (expired_qty, remaining_quote) = match self.remaining {
            OrderQuantity::Base(qty) => (qty, Notional::ZERO),
            OrderQuantity::Quote(notional) => (Qty::ZERO, notional),
        };
        EventKind::Expired(OrderExpired {
            order_id: self.order_id,
            account_id: self.account_id,
            expired_qty,
            remaining_quote,
            reason,
        })
    }
}

impl MatchingEngine {
    /// Matches `taker` against the opposite side until it is filled or something stops it.
    pub(super) fn sweep(
        &mut self,
        taker: &mut Taker,
        band: Option<PriceBand>,
        events: &mut Vec<BookEvent>,
    ) -> SweepStop {
        loop {
            if taker.is_filled() {
                return SweepStop::Filled;
            }
            let Some(level) = self.ladder(taker.side.opposite()).best() else {
                return SweepStop::NothingCrossing;
            };
            let price = self.levels[level].price;
            if !taker.crosses(price) {
                return SweepStop::NothingCrossing;
            }
            if band.is_some_and(|band| !band.contains(price)) {
                return SweepStop::Band;
            }
            if let Some(stop) = self.sweep_level(level, taker, events) {
                return stop;
            }
        }
    }

    /// Matches `taker` against one level in FIFO order, then emits the level's new total.
    fn sweep_level(
        &mut self,
        level: u32,
        taker: &mut Taker,
        events: &mut Vec<BookEvent>,
    ) -> Option<SweepStop> {
        let price = self.levels[level].price;
        let total_before = self.levels[level].total_qty;
        let mut cursor = self.levels[level].head;
        let mut stop = None;
        while cursor != NIL && !taker.is_filled() {
            let maker = self.orders[cursor];
            let next = maker.next;
            if maker.account_id == taker.account_id
                && taker.self_trade_prevention != SelfTradePrevention::None
            {
                stop = self.prevent_self_trade(cursor, &maker, taker, events);
                if stop.is_some() {
                    break;
                }
                cursor = next;
                continue;
            }
            let qty = taker.fill_qty(price, maker.open_qty);
            if qty.is_zero() {
                stop = Some(SweepStop::BudgetSpent);
                break;
            }
            self.fill(cursor, qty, taker, events);
            cursor = next;
        }
        // Every fill or expiry lowers the total; an unchanged total means nothing happened.
        if self.levels[level].total_qty != total_before {
            self.settle_level(level, events);
        }
        stop
    }

    /// One trade between `taker` and the resting order at `maker_index`, at the maker's price.
    fn fill(&mut self, maker_index: u32, qty: Qty, taker: &mut Taker, events: &mut Vec<BookEvent>) {
        let maker = &mut self.orders[maker_index];
        maker.open_qty.0 -= qty.0;
        let (price, maker_open_qty) = (maker.price, maker.open_qty);
        let (maker_order_id, maker_account_id) = (maker.id, maker.account_id);
        self.levels[maker.level].total_qty.0 -= qty.0;
        taker.consume(price, qty);
        self.last_trade_id += 1;
        let trade = TradeExecuted {
            trade_id: TradeId(self.last_trade_id),
            price,
            qty,
            taker_side: taker.side,
            maker_order_id,
            maker_account_id,
            taker_order_id: taker.order_id,
            taker_account_id: taker.account_id,
            maker_open_qty,
        };
        self.sequencer.emit(events, EventKind::Traded(trade));
        if maker_open_qty.is_zero() {
            self.unlink(maker_index);
        }
    }

    /// Applies the taker's STP mode to a resting order of its own account.
    fn prevent_self_trade(
        &mut self,
        maker_index: u32,
        maker: &OrderNode,
        taker: &Taker,
        events: &mut Vec<BookEvent>,
    ) -> Option<SweepStop> {
        let expire_maker = matches!(
            taker.self_trade_prevention,
            SelfTradePrevention::ExpireMaker | SelfTradePrevention::ExpireBoth
        );
        if expire_maker {
            let expired = OrderExpired {
                order_id: maker.id,
                account_id: maker.account_id,
                expired_qty: maker.open_qty,
                remaining_quote: Notional::ZERO,
                reason: ExpireReason::SelfTradePrevention,
            };
            self.sequencer.emit(events, EventKind::Expired(expired));
            self.unlink(maker_index);
        }
        match taker.self_trade_prevention {
            SelfTradePrevention::ExpireMaker => None,
            _ => Some(SweepStop::SelfTrade),
        }
    }

    /// Whether a fill-or-kill taker would fill completely, walking exactly the orders the sweep
    /// would: same limit, same band, same self-trade rule. Read-only.
    pub(super) fn can_fill_completely(&self, taker: &Taker, band: Option<PriceBand>) -> bool {
        let OrderQuantity::Base(mut needed) = taker.remaining else {
            return false;
        };
        for level in self.ladder(taker.side.opposite()).best_first() {
            let level = &self.levels[level];
            if !taker.crosses(level.price) || band.is_some_and(|band| !band.contains(level.price)) {
                return false;
            }
            if taker.self_trade_prevention == SelfTradePrevention::None {
                if level.total_qty >= needed {
                    return true;
                }
                needed.0 -= level.total_qty.0;
                continue;
            }
            let mut cursor = level.head;
            while cursor != NIL {
                let maker = &self.orders[cursor];
                cursor = maker.next;
                if maker.account_id == taker.account_id {
                    if taker.self_trade_prevention == SelfTradePrevention::ExpireMaker {
                        continue;
                    }
                    return false;
                }
                if maker.open_qty >= needed {
                    return true;
                }
                needed.0 -= maker.open_qty.0;
            }
        }
        false
    }
}
