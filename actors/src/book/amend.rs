//! Amending a resting order. A smaller quantity at the same price keeps the order's place in
//! the queue (the market makers' "amend down"); a new price or a larger quantity is a move to
//! the back of the new price's queue, where the order may trade like a new GTC limit order
//! (without a spend limit: a resting order keeps none).

use super::engine::MatchingEngine;
use super::matching::Taker;
use super::place::Remainder;
use crate::model::{AmendOrder, BookEvent, EventKind, Notional, OrderAmended, RejectReason};

impl MatchingEngine {
    pub(super) fn amend(
        &mut self,
        amend: &AmendOrder,
        events: &mut Vec<BookEvent>,
    ) -> Result<(), RejectReason> {
        let index = self.owned_order(amend.account_id, amend.order_id)?;
        let node = self.orders[index];
        let keeps_priority = amend.new_price == node.price && amend.new_qty <= node.open_qty;
        let band = if amend.new_price == node.price {
            None
        } else {
            self.band_for(node.side, Some(amend.new_price))
        };
        // The same checks in the same order as a new order, so both give the same reason.
        self.check_qty(amend.new_qty)?;
        self.check_price(amend.new_price, band)?;
        self.check_notional(Notional::of(amend.new_price, amend.new_qty))?;
        if !keeps_priority && node.post_only && self.would_cross(node.side, amend.new_price) {
            return Err(RejectReason::PostOnlyWouldTake);
        }
        let amended = OrderAmended {
            order_id: node.id,
            account_id: node.account_id,
            old_price: node.price,
            new_price: amend.new_price,
            old_qty: node.open_qty,
            new_qty: amend.new_qty,
            kept_priority: keeps_priority,
        };
        self.sequencer.emit(events, EventKind::Amended(amended));
        if keeps_priority {
            let reduction = node.open_qty.0 - amend.new_qty.0;
            self.orders[index].open_qty = amend.new_qty;
            self.levels[node.level].total_qty.0 -= reduction;
            if reduction > 0 {
                self.settle_level(node.level, events);
            }
            return Ok(());
        }
        // The node stays in the slab, the index and its account's list while it matches, and
        // joins its new level in place if it rests (no index or account-table churn).
        self.leave_level(index);
        self.settle_level(node.level, events);
        self.move_to_account_tail(index);
        // A resting order keeps no spend limit, so the moved order matches without one.
        let mut taker = Taker::for_move(&node, amend.new_price, amend.new_qty);
        let stop = self.sweep(&mut taker, band, events);
        self.finish_taker(&taker, stop, Remainder::Moves(index), events);
        Ok(())
    }
}
