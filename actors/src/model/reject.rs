//! Why the core refuses something. One stable enum: clients see these as stable codes and
//! messages (mapped in one place in the API layer), the journal stores them, tests match them.

use serde::{Deserialize, Serialize};

/// A stable refusal reason. Every refusal leaves the book and the balances as they were.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, thiserror::Error)]
pub enum RejectReason {
    #[error("Filter failure: PRICE_FILTER (price is not a multiple of the tick size)")]
    PriceNotTickMultiple,
    #[error("Filter failure: PRICE_FILTER (price is outside minPrice..maxPrice)")]
    PriceOutOfRange,
    #[error("Filter failure: LOT_SIZE (quantity is not a multiple of the step size)")]
    QtyNotStepMultiple,
    #[error("Filter failure: LOT_SIZE (quantity is below minQty)")]
    QtyBelowMin,
    #[error("Filter failure: LOT_SIZE (quantity is above maxQty)")]
    QtyAboveMax,
    #[error("Filter failure: NOTIONAL (price x quantity is below minNotional)")]
    NotionalBelowMin,
    #[error("Filter failure: NOTIONAL (price x quantity is above maxNotional)")]
    NotionalAboveMax,
    #[error(
        "Filter failure: PERCENT_PRICE_BY_SIDE (price is outside the band around the reference price)"
    )]
    OutsidePriceBand,
    #[error("quoteOrderQty is not a multiple of tick size x step size")]
    QuoteAmountNotMultiple,
    #[error("Order would immediately match and take.")]
    PostOnlyWouldTake,
    /// No longer produced: a FOK that cannot fill expires (`ExpireReason::ImmediateOrCancel`)
    /// as on Binance. Kept in place because journals encode this enum by variant index.
    #[error("Order could not be filled completely (FOK) and was not placed.")]
    FokCannotFill,
    #[error("Unknown order sent.")]
    UnknownOrder,
    #[error("Order belongs to another account.")]
    NotOwner,
    #[error("Duplicate order sent.")]
    DuplicateOrderId,
    #[error(
        "Client order id is longer than 36 characters or has a character outside [.A-Z:/a-z0-9_-]."
    )]
    InvalidClientOrderId,
    #[error("Quantity must be greater than zero.")]
    ZeroQuantity,
    #[error("A limit order needs a price.")]
    MissingPrice,
    #[error("A market order must not carry a price.")]
    UnexpectedPrice,
    #[error("Invalid timeInForce for this order type.")]
    InvalidTimeInForce,
    #[error("quoteOrderQty is only allowed for market orders.")]
    QuoteQuantityNotAllowed,
    #[error(
        "Invalid spend limit: it must not be negative and must be in the asset the order gives up (quote for a buy, base for a sell)."
    )]
    InvalidSpendLimit,
    #[error("The order book of this symbol is full.")]
    BookFull,
    #[error("Filter failure: MAX_NUM_ORDERS (too many open orders for this account)")]
    TooManyOpenOrders,
    #[error("Input sequence number is not the next one expected.")]
    InputOutOfSequence,
    #[error(
        "Invalid terms: the price range of a live symbol cannot change, each minimum must not exceed its maximum, and maxQty must fit the book's capacity."
    )]
    InvalidTerms,
}
