//! Placing an order: every check first (so a refusal changes nothing), then accept, match, and
//! rest or expire the remainder according to type and time in force.

use super::arena::{NIL, OrderNode};
use super::engine::MatchingEngine;
use super::limits::PriceBand;
use super::matching::{SweepStop, Taker};
use crate::model::{
    AccountId, BookEvent, EventKind, ExpireReason, Notional, OrderAccepted, OrderQuantity,
    OrderRejected, OrderType, PlaceOrder, Price, Qty, RejectReason, Side, SpendLimit, TimeInForce,
};

/// Where a taker's unfilled remainder goes when nothing crosses any more.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Remainder {
    /// IOC, FOK and market orders: it expires.
    Expires,
    /// A new GTC limit order: it rests as a new node.
    Rests { post_only: bool },
    /// A resting order moved by an amend, still in the slab at this index (out of any level):
    /// it rejoins the book at its new price, or leaves the slab if it does not rest.
    Moves(u32),
}

impl MatchingEngine {
    /// Places an order. A refusal emits one `Rejected` event (so the account shard releases the
    /// hold through the same event stream as every other release) and leaves the book as it was.
    pub(super) fn place(
        &mut self,
        order: &PlaceOrder,
        events: &mut Vec<BookEvent>,
    ) -> Result<(), RejectReason> {
        let band = self.band_for(order.side, order.price);
        if let Err(reason) = self.check_place(order, band) {
            let rejected = OrderRejected {
                order_id: order.order_id,
                account_id: order.account_id,
                client_order_id: order.client_order_id,
                reason,
            };
            self.sequencer.emit(events, EventKind::Rejected(rejected));
            return Err(reason);
        }
        self.sequencer.emit(events, EventKind::Accepted(accepted(order)));
        let mut taker = Taker::for_order(order);
        if order.time_in_force == TimeInForce::Fok && !self.can_fill_completely(&taker, band) {
            // As Binance: a fill-or-kill that cannot fill completely is accepted and expires
            // at once untouched (status EXPIRED, queryable like any ended order), not refused.
            self.sequencer.emit(events, taker.expired(ExpireReason::ImmediateOrCancel));
            return Ok(());
        }
        let stop = self.sweep(&mut taker, band, events);
        let remainder =
            if order.order_type == OrderType::Market || order.time_in_force != TimeInForce::Gtc {
                Remainder::Expires
            } else {
                Remainder::Rests { post_only: order.order_type == OrderType::LimitMaker }
            };
        self.finish_taker(&taker, stop, remainder, events);
        Ok(())
    }

    /// The band a new order on `side` is held to: around the reference price, or for a market
    /// order on a book with no reference yet, around the best opposite price.
    pub(super) fn band_for(&self, side: Side, limit: Option<Price>) -> Option<PriceBand> {
        let best_opposite = || match side {
            Side::Buy => self.best_ask().map(|(price, _)| price),
            Side::Sell => self.best_bid().map(|(price, _)| price),
        };
        let reference = match limit {
            Some(_) => self.reference_price,
            None => self.reference_price.or_else(best_opposite),
        };
        reference.and_then(|reference| self.limits.band_around(reference))
    }

    /// After a sweep: the remainder rests (GTC limit, or a moved order) or expires, with the
    /// reason it stopped. The reference price follows the last trade.
    pub(super) fn finish_taker(
        &mut self,
        taker: &Taker,
        stop: SweepStop,
        remainder: Remainder,
        events: &mut Vec<BookEvent>,
    ) {
        if let Some(price) = taker.last_trade_price {
            self.reference_price = Some(price);
        }
        let expire_reason = match stop {
            SweepStop::NothingCrossing if remainder != Remainder::Expires => {
                let (OrderQuantity::Base(open_qty), Some(price)) = (taker.remaining, taker.limit)
                else {
                    unreachable!("only limit orders by base quantity rest");
                };
                match remainder {
                    Remainder::Rests { post_only } => {
                        self.rest(resting_node(taker, price, open_qty, post_only), events);
                    }
                    Remainder::Moves(index) => {
                        let node = &mut self.orders[index];
                        (node.price, node.open_qty) = (price, open_qty);
                        self.join_level(index, events);
                    }
                    Remainder::Expires => unreachable!("checked above"),
                }
                return;
            }
            SweepStop::Filled => None,
            SweepStop::NothingCrossing | SweepStop::BudgetSpent => {
                Some(ExpireReason::ImmediateOrCancel)
            }
            SweepStop::Band => Some(ExpireReason::PriceBand),
            SweepStop::SelfTrade => Some(ExpireReason::SelfTradePrevention),
        };
        if let Remainder::Moves(index) = remainder {
            self.forget(index);
        }
        if let Some(reason) = expire_reason {
            self.sequencer.emit(events, taker.expired(reason));
        }
    }

    /// Every reason to refuse `order`, checked before anything changes.
    fn check_place(&self, order: &PlaceOrder, band: Option<PriceBand>) -> Result<(), RejectReason> {
        check_shape(order)?;
        match order.quantity {
            OrderQuantity::Base(qty) => self.check_qty(qty)?,
            OrderQuantity::Quote(notional) => self.check_notional(notional)?,
        }
        if let (Some(price), OrderQuantity::Base(qty)) = (order.price, order.quantity) {
            self.check_price(price, band)?;
            self.check_notional(Notional::of(price, qty))?;
        }
        if self.order_index.contains(order.order_id) {
            return Err(RejectReason::DuplicateOrderId);
        }
        let may_rest =
            order.order_type != OrderType::Market && order.time_in_force == TimeInForce::Gtc;
        if may_rest {
            self.check_room(order.account_id)?;
        }
        if let (OrderType::LimitMaker, Some(price)) = (order.order_type, order.price)
            && self.would_cross(order.side, price)
        {
            return Err(RejectReason::PostOnlyWouldTake);
        }
        Ok(())
    }

    pub(super) fn check_qty(&self, qty: Qty) -> Result<(), RejectReason> {
        if qty.is_zero() {
            return Err(RejectReason::ZeroQuantity);
        }
        if qty < self.limits.terms.min_qty {
            return Err(RejectReason::QtyBelowMin);
        }
        if qty > self.limits.terms.max_qty {
            return Err(RejectReason::QtyAboveMax);
        }
        Ok(())
    }

    pub(super) fn check_notional(&self, notional: Notional) -> Result<(), RejectReason> {
        if notional.0 <= 0 {
            return Err(RejectReason::ZeroQuantity);
        }
        if notional < self.limits.terms.min_notional {
            return Err(RejectReason::NotionalBelowMin);
        }
        if notional > self.limits.terms.max_notional {
            return Err(RejectReason::NotionalAboveMax);
        }
        Ok(())
    }

    pub(super) fn check_price(
        &self,
        price: Price,
        band: Option<PriceBand>,
    ) -> Result<(), RejectReason> {
        if price < self.limits.terms.min_price || price > self.limits.terms.max_price {
            return Err(RejectReason::PriceOutOfRange);
        }
        if band.is_some_and(|band| !band.contains(price)) {
            return Err(RejectReason::OutsidePriceBand);
        }
        Ok(())
    }

    fn check_room(&self, account_id: AccountId) -> Result<(), RejectReason> {
        if self.orders.len() >= self.limits.capacity.orders_max {
            return Err(RejectReason::BookFull);
        }
        if self.account_open_order_count(account_id) >= self.limits.capacity.account_orders_max {
            return Err(RejectReason::TooManyOpenOrders);
        }
        Ok(())
    }
}

/// Type, time in force, price and quantity kind must fit together.
fn check_shape(order: &PlaceOrder) -> Result<(), RejectReason> {
    match order.order_type {
        OrderType::Limit | OrderType::LimitMaker => {
            if order.price.is_none() {
                return Err(RejectReason::MissingPrice);
            }
            if matches!(order.quantity, OrderQuantity::Quote(_)) {
                return Err(RejectReason::QuoteQuantityNotAllowed);
            }
            if order.order_type == OrderType::LimitMaker && order.time_in_force != TimeInForce::Gtc
            {
                return Err(RejectReason::InvalidTimeInForce);
            }
        }
        OrderType::Market => {
            if order.price.is_some() {
                return Err(RejectReason::UnexpectedPrice);
            }
            let fok_by_quote = order.time_in_force == TimeInForce::Fok
                && matches!(order.quantity, OrderQuantity::Quote(_));
            if order.time_in_force == TimeInForce::Gtc || fok_by_quote {
                return Err(RejectReason::InvalidTimeInForce);
            }
        }
    }
    check_spend_limit(order.side, order.spend_limit)
}

/// A spend limit is in the asset the order gives up (quote for a buy, base for a sell) and
/// not negative.
fn check_spend_limit(side: Side, spend_limit: Option<SpendLimit>) -> Result<(), RejectReason> {
    match (side, spend_limit) {
        (_, None) | (Side::Sell, Some(SpendLimit::Base(_))) => Ok(()),
        (Side::Buy, Some(SpendLimit::Quote(notional))) if notional.0 >= 0 => Ok(()),
        _ => Err(RejectReason::InvalidSpendLimit),
    }
}

fn accepted(order: &PlaceOrder) -> OrderAccepted {
    OrderAccepted {
        order_id: order.order_id,
        account_id: order.account_id,
        client_order_id: order.client_order_id,
        side: order.side,
        order_type: order.order_type,
        time_in_force: order.time_in_force,
        price: order.price,
        quantity: order.quantity,
        self_trade_prevention: order.self_trade_prevention,
        reduce_only: order.reduce_only,
    }
}

pub(super) fn resting_node(
    taker: &Taker,
    price: Price,
    open_qty: Qty,
    post_only: bool,
) -> OrderNode {
    OrderNode {
        id: taker.order_id,
        account_id: taker.account_id,
        price,
        open_qty,
        priority_seq: 0,
        level: NIL,
        prev: NIL,
        next: NIL,
        account_prev: NIL,
        account_next: NIL,
        side: taker.side,
        self_trade_prevention: taker.self_trade_prevention,
        post_only,
    }
}
