//! Read-only queries of a shard's orders for the gateway's history and bulk routes, answered
//! from memory (no journal round trip). Memory is never behind the journal, so where both hold
//! an order the shard's record is the newer one.

use actix::{Handler, Message, MessageResult};

use super::{AccountShard, ShardError};
use crate::account::OrderRecord;
use crate::model::{AccountId, OrderId, SymbolCode};

/// Most ids one [`GetOrdersById`] may name (the largest bulk cancel).
pub const ORDERS_BY_ID_MAX: usize = 10_000;

/// Orders of `account_id` by id, answered in the order asked: `None` for an id the shard does
/// not hold in memory for this account (unknown, another account's, or closed long ago).
#[derive(Debug, Message)]
#[rtype(result = "Result<Vec<Option<OrderRecord>>, ShardError>")]
pub struct GetOrdersById {
    pub account_id: AccountId,
    pub order_ids: Vec<OrderId>,
}

/// Every order of `account_id` on `symbol` the shard holds in memory (open, pending and the
/// recent closed ones), by order id.
#[derive(Debug, Message)]
#[rtype(result = "Vec<OrderRecord>")]
pub struct GetKnownOrders {
    pub account_id: AccountId,
    pub symbol: SymbolCode,
}

impl Handler<GetOrdersById> for AccountShard {
    type Result = MessageResult<GetOrdersById>;

    fn handle(&mut self, query: GetOrdersById, _ctx: &mut Self::Context) -> Self::Result {
        let count = query.order_ids.len();
        if count > ORDERS_BY_ID_MAX {
            return MessageResult(Err(ShardError::TooManyOrders {
                count,
                count_max: ORDERS_BY_ID_MAX,
            }));
        }
        let orders = query
            .order_ids
            .iter()
            .map(|order_id| {
                self.state.order(*order_id).filter(|order| order.account_id == query.account_id)
            })
            .map(Option::<&OrderRecord>::copied)
            .collect();
        MessageResult(Ok(orders))
    }
}

impl Handler<GetKnownOrders> for AccountShard {
    type Result = MessageResult<GetKnownOrders>;

    fn handle(&mut self, query: GetKnownOrders, _ctx: &mut Self::Context) -> Self::Result {
        let mut orders: Vec<OrderRecord> =
            self.state.known_orders(query.account_id, query.symbol).copied().collect();
        orders.sort_unstable_by_key(|order| order.order_id);
        MessageResult(orders)
    }
}
