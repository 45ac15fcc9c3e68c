//! The integer limits one book enforces, compiled once from the decimal [`SymbolSpec`] and the
//! operator's capacity settings, and the price band derived from a reference price.

use crate::model::{BASIS_POINTS_PER_WHOLE, Notional, Price, Qty, SpecError, SymbolSpec};

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

/// Everything the engine checks, in ticks, lots and notional units.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BookLimits {
    pub min_price: Price,
    pub max_price: Price,
    pub min_qty: Qty,
    pub max_qty: Qty,
    pub min_notional: Notional,
    pub max_notional: Notional,
    /// Half-width of the band around the reference price, in basis points; 0 = no band.
    pub price_band_bps: u32,
    pub capacity: BookCapacity,
}

impl BookLimits {
    pub fn from_spec(spec: &SymbolSpec, capacity: BookCapacity) -> Result<Self, SpecError> {
        spec.validate()?;
        let price = |field: &'static str, value| {
            spec.price_to_ticks(value).map_err(|_| SpecError::OutOfRange { field, value })
        };
        let qty = |field: &'static str, value| {
            spec.qty_to_lots(value).map_err(|_| SpecError::OutOfRange { field, value })
        };
        let notional = |field: &'static str, value: rust_decimal::Decimal| {
            if value.is_zero() {
                return Ok(Notional::ZERO);
            }
            spec.quote_to_notional(value).map_err(|_| SpecError::OutOfRange { field, value })
        };
        let limits = BookLimits {
            min_price: price("minPrice", spec.min_price)?,
            max_price: price("maxPrice", spec.max_price)?,
            min_qty: qty("minQty", spec.min_qty)?,
            max_qty: qty("maxQty", spec.max_qty)?,
            min_notional: notional("minNotional", spec.min_notional)?,
            max_notional: notional("maxNotional", spec.max_notional)?,
            price_band_bps: spec.price_band_bps,
            capacity,
        };
        // A level's total is a u64 sum of open quantities: it must not overflow even if every
        // order in the book sits at one level with the largest quantity.
        if limits.max_qty.0.checked_mul(u64::from(capacity.orders_max)).is_none() {
            return Err(SpecError::OutOfRange { field: "maxQty", value: spec.max_qty });
        }
        Ok(limits)
    }

    /// The band around `reference`, if banding is on.
    pub fn band_around(&self, reference: Price) -> Option<PriceBand> {
        if self.price_band_bps == 0 {
            return None;
        }
        let width = i128::from(reference.0) * i128::from(self.price_band_bps)
            / i128::from(BASIS_POINTS_PER_WHOLE);
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
    use crate::model::btcusdt;

    #[test]
    fn limits_are_exact_integer_units() {
        let limits = BookLimits::from_spec(&btcusdt(), BookCapacity::default()).unwrap();
        assert_eq!(limits.min_price, Price(1));
        assert_eq!(limits.max_price, Price(100_000_000));
        assert_eq!(limits.min_qty, Qty(1));
        assert_eq!(limits.max_qty, Qty(900_000_000));
        assert_eq!(limits.min_notional, Notional(50_000_000));
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
