//! What a just-placed order looks like after its own book command, computed from the order's
//! PENDING record and the events of that one command — what the gateway answers (Binance
//! RESULT/FULL) before the shard has settled the events from the bus. The shard's settlement
//! (`settle.rs`) remains the ledger's truth; this is a read-only view of the same rules.

use super::market::MarketSpec;
use super::orders::{OrderRecord, OrderStatus};
use crate::model::{
    AssetCode, BookEvent, EventKind, ExpireReason, Liquidity, Notional, OrderQuantity, Price, Qty,
    Side, TradeId,
};

/// One fill of the order as the taker, with the fee charged on what it received.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TakerFill {
    pub trade_id: TradeId,
    pub price: Price,
    pub qty: Qty,
    /// Minor units of `commission_asset`; negative never happens for a taker.
    pub commission: i128,
    pub commission_asset: AssetCode,
}

/// The order `pending` after `events` (its own command's events), and its fills.
pub fn order_after_own_events(
    pending: &OrderRecord,
    market: &MarketSpec,
    events: &[BookEvent],
) -> (OrderRecord, Vec<TakerFill>) {
    let mut order = *pending;
    let mut expired = None;
    let mut accepted = false;
    let mut fills = Vec::new();
    for event in events {
        order.updated_ts_ns = order.updated_ts_ns.max(event.ts_ns);
        match event.kind {
            EventKind::Accepted(accept) if accept.order_id == order.order_id => accepted = true,
            EventKind::Traded(trade) if trade.taker_order_id == order.order_id => {
                let quote = market.quote_amount(Notional::of(trade.price, trade.qty));
                order.executed_qty = Qty(order.executed_qty.0 + trade.qty.0);
                order.cumulative_quote += quote;
                let (received, commission_asset) = match order.side {
                    Side::Buy => (market.base_amount(trade.qty), market.base),
                    Side::Sell => (quote, market.quote),
                };
                fills.push(TakerFill {
                    trade_id: trade.trade_id,
                    price: trade.price,
                    qty: trade.qty,
                    commission: trade.fee(Liquidity::Taker, received),
                    commission_asset,
                });
            }
            EventKind::Expired(expiry) if expiry.order_id == order.order_id => {
                expired = Some(expiry.reason);
            }
            _ => {}
        }
    }
    order.status = match (accepted, expired, order.quantity) {
        (false, _, _) => OrderStatus::Rejected,
        (true, Some(ExpireReason::SelfTradePrevention), _) => OrderStatus::ExpiredInMatch,
        (true, Some(_), _) => OrderStatus::Expired,
        (true, None, OrderQuantity::Base(qty)) if order.executed_qty == qty => OrderStatus::Filled,
        // A market order by quote amount never rests: without an expiry it spent it all.
        (true, None, OrderQuantity::Quote(_)) => OrderStatus::Filled,
        (true, None, _) if order.executed_qty > Qty::ZERO => OrderStatus::PartiallyFilled,
        (true, None, _) => OrderStatus::New,
    };
    (order, fills)
}
