//! Cancels: one order, many ids of one account in one command, or every order of an account.
//! O(1) per order (index lookup, intrusive unlink); the level is dropped when it empties.

use super::arena::NIL;
use super::engine::{EngineOutput, MatchingEngine};
use crate::model::{
    AccountId, BookEvent, CancelReason, EventKind, OrderCanceled, OrderId, RejectReason,
};

impl MatchingEngine {
    /// Cancels one resting order of `account_id`.
    pub(super) fn cancel(
        &mut self,
        account_id: AccountId,
        order_id: OrderId,
        events: &mut Vec<BookEvent>,
    ) -> Result<(), RejectReason> {
        let index = self.owned_order(account_id, order_id)?;
        self.cancel_at(index, events);
        Ok(())
    }

    /// Cancels every id it can; the others go to `out.cancel_failures` with their reason.
    pub(super) fn cancel_many(
        &mut self,
        account_id: AccountId,
        order_ids: &[OrderId],
        out: &mut EngineOutput,
    ) {
        for &order_id in order_ids {
            if let Err(reason) = self.cancel(account_id, order_id, &mut out.events) {
                out.cancel_failures.push((order_id, reason));
            }
        }
    }

    /// Cancels every resting order of `account_id`, in priority order.
    pub(super) fn cancel_all(&mut self, account_id: AccountId, events: &mut Vec<BookEvent>) {
        let mut cursor = self.accounts.get(&account_id).map_or(NIL, |entry| entry.head);
        while cursor != NIL {
            let next = self.orders[cursor].account_next;
            self.cancel_at(cursor, events);
            cursor = next;
        }
    }

    /// The slab index of `order_id` if it rests and belongs to `account_id`.
    pub(super) fn owned_order(
        &self,
        account_id: AccountId,
        order_id: OrderId,
    ) -> Result<u32, RejectReason> {
        let index = self.order_index.get(order_id).ok_or(RejectReason::UnknownOrder)?;
        if self.orders[index].account_id != account_id {
            return Err(RejectReason::NotOwner);
        }
        Ok(index)
    }

    fn cancel_at(&mut self, index: u32, events: &mut Vec<BookEvent>) {
        let node = self.unlink(index);
        let canceled = OrderCanceled {
            order_id: node.id,
            account_id: node.account_id,
            canceled_qty: node.open_qty,
            reason: CancelReason::UserRequest,
        };
        self.sequencer.emit(events, EventKind::Canceled(canceled));
        self.settle_level(node.level, events);
    }
}
