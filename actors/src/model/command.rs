//! Commands to one symbol's book. Time, ids and the input sequence come in with the command,
//! so the engine needs no clock and replaying the input log reproduces every event.

use serde::{Deserialize, Serialize};

use super::{
    AccountId, ClientOrderId, MarketTerms, Notional, OrderId, OrderQuantity, OrderType, Price, Qty,
    SelfTradePrevention, Side, TimeInForce,
};

/// One input to a symbol's book, in journal order. `input_seq` must be exactly one more than the
/// last input the book applied; the engine refuses anything else without changing state, so a
/// replayed or duplicated input can never be applied twice.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookInput {
    pub input_seq: u64,
    pub ts_ns: u64,
    pub command: BookCommand,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum BookCommand {
    Place(PlaceOrder),
    Cancel(CancelOrder),
    /// Many ids of one account in one command (bulk cancel); unknown ids are reported, the
    /// others canceled.
    CancelMany(CancelOrders),
    /// Every open order of one account on this symbol.
    CancelAll(CancelAccountOrders),
    Amend(AmendOrder),
    /// Sets the reference price the price band is measured from (last trade price otherwise).
    SetReferencePrice(Price),
    /// New filters and fee rates (operator action); the price range may not change while the
    /// book runs, since resting orders were accepted inside it.
    SetTerms(MarketTerms),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlaceOrder {
    pub order_id: OrderId,
    pub account_id: AccountId,
    pub client_order_id: ClientOrderId,
    pub side: Side,
    pub order_type: OrderType,
    pub time_in_force: TimeInForce,
    /// Limit price; `None` for market orders.
    pub price: Option<Price>,
    pub quantity: OrderQuantity,
    pub self_trade_prevention: SelfTradePrevention,
    /// Only reduces a position (perpetuals); the account shard enforces it, the book carries it.
    pub reduce_only: bool,
    /// The most this order may spend while it takes, in the asset it gives up; `None` is
    /// unlimited. The account shard sets it to the funds it held, so a market order (whose cost
    /// is not known in advance) can never spend more than that hold. Limit orders whose hold is
    /// exact need none. See [`SpendLimit`].
    #[serde(default)]
    pub spend_limit: Option<SpendLimit>,
}

impl PlaceOrder {
    /// A plain limit GTC order: no client id, no self-trade prevention, no spend limit.
    pub fn limit_gtc(
        order_id: OrderId,
        account_id: AccountId,
        side: Side,
        price: Price,
        qty: Qty,
    ) -> PlaceOrder {
        PlaceOrder {
            order_id,
            account_id,
            client_order_id: ClientOrderId::NONE,
            side,
            order_type: OrderType::Limit,
            time_in_force: TimeInForce::Gtc,
            price: Some(price),
            quantity: OrderQuantity::Base(qty),
            self_trade_prevention: SelfTradePrevention::None,
            reduce_only: false,
            spend_limit: None,
        }
    }
}

/// A cap on what a taker spends, cumulative over all its fills: `Quote` for a buy (notional
/// units, tick x lot, summed as `Notional::of(trade price, trade qty)`), `Base` for a sell
/// (lots). The book fills only as many lots as the remaining limit affords at each maker's
/// price; when it affords not even one lot, matching stops and the remainder expires
/// (`ExpireReason::ImmediateOrCancel`), even for a GTC limit order. A limit of the other asset
/// (`Base` on a buy, `Quote` on a sell) or a negative one is refused
/// (`RejectReason::InvalidSpendLimit`).
///
/// It applies only while the order takes, when it is placed. Whatever of a GTC order rests
/// keeps no spend limit: its hold is exact at its own price, and an amend that moves it (and
/// may trade) matches it without one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SpendLimit {
    /// At most this notional of the quote asset (for a buy).
    Quote(Notional),
    /// At most this many lots of the base asset (for a sell).
    Base(Qty),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CancelOrder {
    pub account_id: AccountId,
    pub order_id: OrderId,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CancelOrders {
    pub account_id: AccountId,
    pub order_ids: Vec<OrderId>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CancelAccountOrders {
    pub account_id: AccountId,
}

/// Changes a resting order's price and open quantity. Same price with a smaller quantity keeps
/// the order's place in the queue; any other change moves it to the back (and it may trade).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AmendOrder {
    pub account_id: AccountId,
    pub order_id: OrderId,
    pub new_price: Price,
    /// The new open (unfilled) quantity.
    pub new_qty: Qty,
}
