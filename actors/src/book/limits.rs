//! The integer limits one book enforces, compiled once from the decimal [`SymbolSpec`] and the
//! operator's capacity settings, and the price band derived from a reference price.

use crate::model::{BASIS_POINTS_PER_WHOLE, MarketTerms, Price, SpecError, SymbolSpec};

/// Capacity settings of one book (operator configuration, not part of the symbol spec).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BookCapacity {
    /// Resting orders the book may hold; a new order that could rest is refused past it.
    pub orders_max: u32,
    /// Resting orders one account may hold on this book (Binance MAX_NUM_ORDERS).
    pub account_orders_max: u32,
    /// Orders to allocate room for at start, so the hot path does not grow its storage.
    pub orders_preallocated: u32,
}

impl Default for BookCapacity {
    fn default() -> Self {
        BookCapacity {
            orders_max: 4_000_000,
            account_orders_max: 200_000,
            orders_preallocated: 65_536,
        }
    }
}

/// Everything the engine checks, in ticks, lots and notional units, and the fees it stamps on
/// trades: the symbol's current terms and the operator's capacity settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BookLimits {
    pub terms: MarketTerms,
    pub capacity: BookCapacity,
}

impl BookLimits {
    pub fn from_spec(spec: &SymbolSpec, capacity: BookCapacity) -> Result<Self, SpecError> {
        let terms = MarketTerms::from_spec(spec)?;
        // A level's total is a u64 sum of open quantities: it must not overflow even if every
        // order in the book sits at one level with the largest quantity.
        if terms.max_qty.0.checked_mul(u64::from(capacity.orders_max)).is_none() {
            return Err(SpecError::OutOfRange { field: "maxQty", value: spec.max_qty });
        }
        Ok(BookLimits { terms, capacity })
    }

    /// The band around `reference`, if banding is on.
    pub fn band_around(&self, reference: Price) -> Option<PriceBand> {
        let band_bps = self.terms.price_band_bps;
        if band_bps == 0 {
            return None;
        }
        let width =
            i128::from(reference.0) * i128::from(band_bps) / i128::from(BASIS_POINTS_PER_WHOLE);
        let width = i64::try_from(width).expect("band width is below the reference price");
        Some(PriceBand { low: Price(reference.0 - width), high: Price(reference.0 + width) })
    }
}

/// Prices a trade may happen at, inclusive. The width is rounded down, so the band never
/// lets through a price outside the configured percentage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PriceBand {
    pub low: Price,
    pub high: Price,
}

impl PriceBand {
    pub fn contains(&self, price: Price) -> bool {
        self.low <= price && price <= self.high
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Notional, Qty, btcusdt};

    #[test]
    fn limits_are_exact_integer_units() {
        let limits = BookLimits::from_spec(&btcusdt(), BookCapacity::default()).unwrap();
        let terms = limits.terms;
        assert_eq!(terms.min_price, Price(1));
        assert_eq!(terms.max_price, Price(100_000_000));
        assert_eq!(terms.min_qty, Qty(1));
        assert_eq!(terms.max_qty, Qty(900_000_000));
        assert_eq!(terms.min_notional, Notional(50_000_000));
        assert_eq!(terms.taker_fee.to_decimal(), btcusdt().taker_fee_rate);
    }

    #[test]
    fn band_rounds_inwards() {
        let limits = BookLimits::from_spec(&btcusdt(), BookCapacity::default()).unwrap();
        // 5% of 1999 ticks is 99.95: the band is 99 ticks wide on each side, not 100.
        assert_eq!(
            limits.band_around(Price(1999)),
            Some(PriceBand { low: Price(1900), high: Price(2098) })
        );
    }
}
