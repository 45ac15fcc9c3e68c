//! Fixed-point numbers of one symbol: prices in ticks, quantities in lots, notional in
//! tick-lots. Exact integer arithmetic; no floating point anywhere on a money path.

use serde::{Deserialize, Serialize};

/// A price as an integer number of the symbol's ticks. Valid order prices are positive.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Price(pub i64);

/// A quantity as an integer number of the symbol's lots (step size).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Qty(pub u64);

/// Price times quantity in units of (tick size x step size) of the quote asset. `i128` so that
/// any `Price` times any `Qty` fits without overflow.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Notional(pub i128);

impl Price {
    pub const fn ticks(self) -> i64 {
        self.0
    }
}

impl Qty {
    pub const ZERO: Qty = Qty(0);

    pub const fn lots(self) -> u64 {
        self.0
    }

    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }
}

impl Notional {
    pub const ZERO: Notional = Notional(0);

    /// The exact notional of `qty` lots at `price` ticks.
    pub fn of(price: Price, qty: Qty) -> Notional {
        Notional(i128::from(price.0) * i128::from(qty.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notional_of_extremes_does_not_overflow() {
        let notional = Notional::of(Price(i64::MAX), Qty(u64::MAX));
        assert_eq!(notional.0, i128::from(i64::MAX) * i128::from(u64::MAX));
    }
}
