//! Events a book emits, in order. Every event carries the symbol's event sequence number:
//! contiguous, starting at 1, the same sequence REST depth reports as `lastUpdateId`.

use serde::{Deserialize, Serialize};

use super::{
    AccountId, ClientOrderId, FeeRate, Liquidity, Notional, OrderId, OrderQuantity, OrderType,
    Price, Qty, RejectReason, SelfTradePrevention, Side, TimeInForce, TradeId,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookEvent {
    pub seq: u64,
    pub ts_ns: u64,
    pub kind: EventKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventKind {
    Accepted(OrderAccepted),
    Rejected(OrderRejected),
    Traded(TradeExecuted),
    Canceled(OrderCanceled),
    Expired(OrderExpired),
    Amended(OrderAmended),
    LevelChanged(LevelChanged),
}

/// The order passed every check and is about to match (and maybe rest).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderAccepted {
    pub order_id: OrderId,
    pub account_id: AccountId,
    pub client_order_id: ClientOrderId,
    pub side: Side,
    pub order_type: OrderType,
    pub time_in_force: TimeInForce,
    pub price: Option<Price>,
    pub quantity: OrderQuantity,
    pub self_trade_prevention: SelfTradePrevention,
    pub reduce_only: bool,
}

/// The order was refused; nothing in the book changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderRejected {
    pub order_id: OrderId,
    pub account_id: AccountId,
    pub client_order_id: ClientOrderId,
    pub reason: RejectReason,
}

/// One fill, always at the resting (maker) order's price.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TradeExecuted {
    pub trade_id: TradeId,
    pub price: Price,
    pub qty: Qty,
    pub taker_side: Side,
    pub maker_order_id: OrderId,
    pub maker_account_id: AccountId,
    pub taker_order_id: OrderId,
    pub taker_account_id: AccountId,
    /// What is left open of the maker order after this fill (0 = filled).
    pub maker_open_qty: Qty,
    /// The fee rates in force when this trade matched (the book's terms), so that settlement
    /// and its replay charge exactly these.
    pub maker_fee: FeeRate,
    pub taker_fee: FeeRate,
}

impl TradeExecuted {
    /// The fee a side pays (positive) or earns (negative) on the `received` minor units.
    pub fn fee(&self, liquidity: Liquidity, received: i128) -> i128 {
        match liquidity {
            Liquidity::Maker => self.maker_fee.fee_on(received),
            Liquidity::Taker => self.taker_fee.fee_on(received),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CancelReason {
    /// The owner canceled this order (one, many or all).
    UserRequest,
}

/// A resting order left the book on request; `canceled_qty` was still open.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderCanceled {
    pub order_id: OrderId,
    pub account_id: AccountId,
    pub canceled_qty: Qty,
    pub reason: CancelReason,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExpireReason {
    /// IOC or market remainder with nothing left to match at its price, or a FOK that could
    /// not fill completely, whole (Binance EXPIRED).
    ImmediateOrCancel,
    /// The next crossable price was outside the price band (Binance EXPIRED).
    PriceBand,
    /// Self-trade prevention (Binance EXPIRED_IN_MATCH).
    SelfTradePrevention,
}

/// An order (taker remainder or a resting maker under STP) ended without being filled.
/// For a market order by quote amount, `remaining_quote` is what was left unspent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderExpired {
    pub order_id: OrderId,
    pub account_id: AccountId,
    pub expired_qty: Qty,
    pub remaining_quote: Notional,
    pub reason: ExpireReason,
}

/// A resting order's price or open quantity changed at the owner's request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderAmended {
    pub order_id: OrderId,
    pub account_id: AccountId,
    pub old_price: Price,
    pub new_price: Price,
    pub old_qty: Qty,
    pub new_qty: Qty,
    pub kept_priority: bool,
}

/// The total open quantity at one price level after a change; 0 removes the level. These
/// events, in sequence, are the diff-depth stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LevelChanged {
    pub side: Side,
    pub price: Price,
    pub qty: Qty,
}
