//! The taker side of matching: sweep the opposite side from the best level outwards, in
//! price-time priority, always at the resting order's price, never past the taker's limit or
//! the price band, applying the taker's self-trade prevention mode, and never spending more
//! than the taker's spend limit.

use super::arena::{NIL, OrderNode};
use super::engine::MatchingEngine;
use super::limits::PriceBand;
use crate::model::{
    AccountId, BookEvent, EventKind, ExpireReason, Notional, OrderExpired, OrderId, OrderQuantity,
    PlaceOrder, Price, Qty, SelfTradePrevention, Side, SpendLimit, TradeExecuted, TradeId,
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
    /// What is left of the order's spend limit (`None`: unlimited).
    pub spend_left: Option<SpendLimit>,
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
    /// A quote budget or the spend limit too small for one lot at the next price.
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
            spend_left: order.spend_limit,
            last_trade_price: None,
        }
    }

    /// A resting order moved by an amend, matching at its new price. It has no spend limit:
    /// a resting order keeps none (see [`SpendLimit`]).
    pub fn for_move(node: &OrderNode, new_price: Price, new_qty: Qty) -> Taker {
        Taker {
            order_id: node.id,
            account_id: node.account_id,
            side: node.side,
            limit: Some(new_price),
            remaining: OrderQuantity::Base(new_qty),
            self_trade_prevention: node.self_trade_prevention,
            spend_left: None,
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

    /// Lots this taker can take from a maker with `open_qty` at `price`: no more than it asks
    /// for, and no more than its quote budget and its spend limit afford, in whole lots.
    fn fill_qty(&self, price: Price, open_qty: Qty) -> Qty {
        let wanted = match self.remaining {
            OrderQuantity::Base(qty) => qty.min(open_qty),
            OrderQuantity::Quote(budget) => open_qty.min(lots_affordable(budget, price)),
        };
        match self.spend_left {
            None => wanted,
            Some(SpendLimit::Base(left)) => wanted.min(left),
            Some(SpendLimit::Quote(left)) => wanted.min(lots_affordable(left, price)),
        }
    }

    fn consume(&mut self, price: Price, qty: Qty) {
        let notional = Notional::of(price, qty);
        self.remaining = match self.remaining {
            OrderQuantity::Base(left) => OrderQuantity::Base(Qty(left.0 - qty.0)),
            OrderQuantity::Quote(left) => OrderQuantity::Quote(Notional(left.0 - notional.0)),
        };
        self.spend_left = match self.spend_left {
            None => None,
            Some(SpendLimit::Base(left)) => Some(SpendLimit::Base(Qty(left.0 - qty.0))),
            Some(SpendLimit::Quote(left)) => Some(SpendLimit::Quote(Notional(left.0 - notional.0))),
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
            maker_fee: self.limits.terms.maker_fee,
            taker_fee: self.limits.terms.taker_fee,
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
    /// would: same limit, same band, same self-trade rule, same spend limit. Read-only.
    pub(super) fn can_fill_completely(&self, taker: &Taker, band: Option<PriceBand>) -> bool {
        if !matches!(taker.remaining, OrderQuantity::Base(_)) {
            return false;
        }
        // A copy that only counts: `consume` keeps `remaining` and the spend limit in step.
        let mut trial = *taker;
        for level in self.ladder(taker.side.opposite()).best_first() {
            let level = &self.levels[level];
            if !taker.crosses(level.price) || band.is_some_and(|band| !band.contains(level.price)) {
                return false;
            }
            if taker.self_trade_prevention == SelfTradePrevention::None {
                // The makers of one level share its price, so the level fills as one order.
                if !trial.take_all(level.price, level.total_qty) {
                    return false;
                }
                if trial.is_filled() {
                    return true;
                }
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
                if !trial.take_all(level.price, maker.open_qty) {
                    return false;
                }
                if trial.is_filled() {
                    return true;
                }
            }
        }
        false
    }
}

impl Taker {
    /// For the fill-or-kill walk: takes what the sweep would from `open_qty` at `price`;
    /// `false` when the spend limit stops it short (the sweep would stop there unfilled).
    fn take_all(&mut self, price: Price, open_qty: Qty) -> bool {
        let OrderQuantity::Base(needed) = self.remaining else {
            unreachable!("fill-or-kill orders are by base quantity");
        };
        let wanted = needed.min(open_qty);
        let qty = self.fill_qty(price, open_qty);
        if qty < wanted {
            return false;
        }
        self.consume(price, qty);
        true
    }
}

/// Whole lots that `budget` buys at `price` (0 for a budget below one lot; prices are positive).
fn lots_affordable(budget: Notional, price: Price) -> Qty {
    let lots = budget.0 / i128::from(price.0);
    Qty(u64::try_from(lots.max(0)).unwrap_or(u64::MAX))
}
