//! Refusals and errors of the account shard. [`AccountReject`] is what a client sees (stable
//! variants, mapped to stable codes in the API layer); every refusal changes nothing.

use crate::model::{AccountId, AssetCode, OrderId, RejectReason, SymbolCode};

/// A refused request. Nothing changed: no balance, no order, no entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AccountReject {
    #[error("unknown symbol {0}")]
    UnknownSymbol(SymbolCode),
    #[error("unknown account {0:?}")]
    UnknownAccount(AccountId),
    #[error("account {0:?} is already open")]
    AccountExists(AccountId),
    #[error("unknown asset {0}")]
    UnknownAsset(AssetCode),
    #[error("amount must be positive, got {0}")]
    NonPositiveAmount(i128),
    #[error("{amount} more {asset} would pass the most one shard may hold ({max} minor units)")]
    SupplyExceeded { asset: AssetCode, amount: i128, max: i128 },
    #[error("insufficient {asset} balance: needed {needed}, available {available}")]
    InsufficientFunds { asset: AssetCode, needed: i128, available: i128 },
    #[error("Duplicate order sent.")]
    DuplicateClientOrderId,
    #[error("client order ids starting with {prefix:?} are reserved for generated ids")]
    ReservedClientOrderId { prefix: &'static str },
    #[error("Filter failure: MAX_NUM_ORDERS (too many open orders for this account)")]
    TooManyOpenOrders,
    #[error("{0}")]
    InvalidOrder(RejectReason),
    #[error("Unknown order sent.")]
    UnknownOrder(OrderId),
    #[error("Order belongs to another account.")]
    NotOwner(OrderId),
    #[error("order {order_id:?} is not open")]
    OrderNotOpen { order_id: OrderId },
    #[error("the shard has used all its order ids")]
    OrderIdsExhausted,
    /// A reduce-only order that would open, increase or flip a position (Binance's -2022).
    #[error("ReduceOnly Order is rejected.")]
    ReduceOnlyRejected,
    /// A perpetual market order needs a mark price to hold margin against; none arrived yet.
    #[error("no mark price for {0} yet")]
    NoMarkPrice(SymbolCode),
    /// The account is being liquidated: only reduce-only orders until it leaves LIQUIDATING.
    #[error("Account {0:?} is being liquidated; only reduce-only orders are accepted.")]
    Liquidating(AccountId),
}

/// Why a batch of book events was not applied. Nothing changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ApplyError {
    #[error("unknown symbol {0}")]
    UnknownSymbol(SymbolCode),
    #[error("gap in {symbol} events: expected seq {expected}, got {got}")]
    Gap { symbol: SymbolCode, expected: u64, got: u64 },
    #[error(
        "{symbol} event {seq} names order {order_id:?} of account {account_id:?}, unknown here"
    )]
    UnknownOrder { symbol: SymbolCode, seq: u64, order_id: OrderId, account_id: AccountId },
    #[error("{symbol} event {seq} names order {order_id:?}, already closed")]
    OrderClosed { symbol: SymbolCode, seq: u64, order_id: OrderId },
}
