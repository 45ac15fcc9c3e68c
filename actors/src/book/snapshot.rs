//! Deterministic snapshot and restore of a whole book, and the state hash replay tests compare.
//!
//! A snapshot lists the resting orders sorted by `priority_seq`. Both intrusive lists (level
//! FIFO and account list) are in that order, so re-resting the orders in it rebuilds the exact
//! queues, and a restored book emits the same events as one that never stopped.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::arena::{NIL, OrderNode};
use super::engine::{MatchingEngine, RestingOrder};
use super::limits::BookLimits;
use crate::model::{MarketTerms, OrderId, Price};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookSnapshot {
    pub last_input_seq: u64,
    pub last_event_seq: u64,
    pub last_trade_id: u64,
    pub reference_price: Option<Price>,
    /// The terms in force (they change by journaled command, so a restore must not take them
    /// from the configuration).
    pub terms: MarketTerms,
    /// Resting orders, sorted by `priority_seq`.
    pub orders: Vec<RestingOrder>,
}

/// Why a snapshot cannot be restored.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RestoreError {
    #[error("order {0:?} appears out of priority order")]
    OutOfOrder(OrderId),
    #[error("order {0:?} appears twice")]
    Duplicate(OrderId),
    #[error("order {0:?} has no open quantity or a price outside the book's range")]
    Invalid(OrderId),
    #[error("order {0:?} has a priority after the snapshot's last event")]
    FromTheFuture(OrderId),
    #[error("the restored book is crossed")]
    Crossed,
}

impl MatchingEngine {
    pub fn snapshot(&self) -> BookSnapshot {
        let mut orders: Vec<RestingOrder> = self
            .order_index
            .values()
            .map(|index| RestingOrder::from(&self.orders[index]))
            .collect();
        orders.sort_unstable_by_key(|order| order.priority_seq);
        BookSnapshot {
            last_input_seq: self.last_input_seq,
            last_event_seq: self.sequencer.last_event_seq,
            last_trade_id: self.last_trade_id,
            reference_price: self.reference_price,
            terms: self.limits.terms,
            orders,
        }
    }

    /// Rebuilds a book from `snapshot`, checking it is one a book could have produced.
    /// The capacity comes from `limits`, the terms from the snapshot.
    pub fn restore(limits: BookLimits, snapshot: &BookSnapshot) -> Result<Self, RestoreError> {
        let limits = BookLimits { terms: snapshot.terms, ..limits };
        let mut engine = MatchingEngine::new(limits);
        let mut scratch = Vec::new();
        let mut previous_priority = None;
        for order in &snapshot.orders {
            if previous_priority.is_some_and(|previous| order.priority_seq <= previous) {
                return Err(RestoreError::OutOfOrder(order.order_id));
            }
            previous_priority = Some(order.priority_seq);
            if order.priority_seq > snapshot.last_event_seq {
                return Err(RestoreError::FromTheFuture(order.order_id));
            }
            if engine.order_index.contains(order.order_id) {
                return Err(RestoreError::Duplicate(order.order_id));
            }
            let price_ok =
                limits.terms.min_price <= order.price && order.price <= limits.terms.max_price;
            if order.open_qty.is_zero() || !price_ok {
                return Err(RestoreError::Invalid(order.order_id));
            }
            engine.sequencer.last_event_seq = order.priority_seq;
            engine.rest(node_of(order), &mut scratch);
            scratch.clear();
        }
        if let (Some((bid, _)), Some((ask, _))) = (engine.best_bid(), engine.best_ask())
            && bid >= ask
        {
            return Err(RestoreError::Crossed);
        }
        engine.sequencer.last_event_seq = snapshot.last_event_seq;
        engine.last_input_seq = snapshot.last_input_seq;
        engine.last_trade_id = snapshot.last_trade_id;
        engine.reference_price = snapshot.reference_price;
        Ok(engine)
    }

    /// SHA-256 of the canonical snapshot encoding: equal books have equal hashes.
    pub fn state_hash(&self) -> [u8; 32] {
        let bytes = postcard::to_stdvec(&self.snapshot()).expect("snapshot encodes");
        Sha256::digest(bytes).into()
    }
}

fn node_of(order: &RestingOrder) -> OrderNode {
    OrderNode {
        id: order.order_id,
        account_id: order.account_id,
        price: order.price,
        open_qty: order.open_qty,
        priority_seq: order.priority_seq,
        level: NIL,
        prev: NIL,
        next: NIL,
        account_prev: NIL,
        account_next: NIL,
        side: order.side,
        self_trade_prevention: order.self_trade_prevention,
        post_only: order.post_only,
    }
}
