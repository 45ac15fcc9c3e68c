//! What a price pushed by an internal publisher must satisfy before it becomes a quote. The
//! token is checked by the HTTP route; this is the rest: a positive, sane price with a fresh
//! timestamp.

use rust_decimal::Decimal;

/// No index of this exchange is anywhere near this; a price above it is a unit or parsing bug.
pub const PRICE_MAX: Decimal = Decimal::from_parts(1_000_000_000, 0, 0, false, 0);

/// A pushed price more than this many times above (or below 1/this of) the current index is
/// refused as absurd; a real move of that size within seconds is not a price, it is a bug.
pub const PRICE_ABSURD_RATIO: u32 = 10;

/// A timestamp this far ahead of our clock is refused (clocks of publishers drift a little).
const FUTURE_TOLERANCE_MS: u64 = 1_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PushRefusal {
    #[error("the price must be positive")]
    NotPositive,
    #[error("the price is absurd (above the maximum or {PRICE_ABSURD_RATIO}x away from the index)")]
    Absurd,
    #[error("the timestamp is older than the staleness limit")]
    Stale,
    #[error("the timestamp is in the future")]
    FromTheFuture,
}

impl PushRefusal {
    /// The label of the refusal counter.
    pub fn reason(self) -> &'static str {
        match self {
            PushRefusal::NotPositive => "not_positive",
            PushRefusal::Absurd => "absurd",
            PushRefusal::Stale => "stale",
            PushRefusal::FromTheFuture => "future",
        }
    }
}

/// Checks a pushed `price` stamped `timestamp_ms`, at `now_ms`, against the index's staleness
/// limit and its current value (`None` when there is none yet).
pub fn check_pushed_quote(
    price: Decimal,
    timestamp_ms: u64,
    now_ms: u64,
    staleness_ms: u64,
    current_index: Option<Decimal>,
) -> Result<(), PushRefusal> {
    if price <= Decimal::ZERO {
        return Err(PushRefusal::NotPositive);
    }
    if price > PRICE_MAX {
        return Err(PushRefusal::Absurd);
    }
    if let Some(index) = current_index {
        let ratio = Decimal::from(PRICE_ABSURD_RATIO);
        if price > index * ratio || price * ratio < index {
            return Err(PushRefusal::Absurd);
        }
    }
    if timestamp_ms > now_ms.saturating_add(FUTURE_TOLERANCE_MS) {
        return Err(PushRefusal::FromTheFuture);
    }
    if now_ms.saturating_sub(timestamp_ms) > staleness_ms {
        return Err(PushRefusal::Stale);
    }
    Ok(())
}
