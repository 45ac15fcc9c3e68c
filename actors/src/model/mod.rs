//! The vocabulary of the trading core: fixed-point numbers, ids, symbol specifications,
//! commands and events. Pure data with exact conversions; no I/O, no clock.
//!
//! Units: a `Price` is an `i64` count of the symbol's ticks, a `Qty` a `u64` count of its lots,
//! a `Notional` an `i128` count of tick x lot (so price x qty never overflows). `Decimal` appears
//! only at the edges ([`SymbolSpec`] conversions), where a value that is not an exact multiple of
//! its unit is refused with an error naming the Binance filter.

mod command;
mod event;
mod fee;
mod ids;
mod numbers;
mod order;
mod perpetual;
mod reject;
mod spec;
mod terms;

pub use command::{
    AmendOrder, BookCommand, BookInput, CancelAccountOrders, CancelOrder, CancelOrders, PlaceOrder,
    SpendLimit,
};
pub use event::{
    BookEvent, CancelReason, EventKind, ExpireReason, LevelChanged, OrderAccepted, OrderAmended,
    OrderCanceled, OrderExpired, OrderRejected, TradeExecuted,
};
pub use fee::{FEE_RATE_SCALE_MAX, FeeRate, FeeRateError, Liquidity};
pub use ids::{
    ASSET_CODE_LEN_MAX, AccountId, AssetCode, CLIENT_ORDER_ID_LEN_MAX, ClientOrderId,
    ClientOrderIdError, CodeError, OrderId, SYMBOL_CODE_LEN_MAX, SymbolCode, TradeId,
};
pub use numbers::{Notional, Price, Qty};
pub use order::{OrderQuantity, OrderType, SelfTradePrevention, Side, TimeInForce};
pub use perpetual::{LEVERAGE_MAX, MarginTerms, PerpetualSpec, PerpetualSpecError};
pub use reject::RejectReason;
pub use spec::{BASIS_POINTS_PER_WHOLE, ConversionError, SpecError, SymbolSpec};
pub use terms::MarketTerms;

#[cfg(test)]
pub(crate) use spec::tests::{btcusdt, dec};
