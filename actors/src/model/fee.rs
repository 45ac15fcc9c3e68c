//! Fee rates as exact fractions, carried by the book in its terms and stamped on every trade,
//! so that a fee change is journaled with the book's inputs and a replay charges each trade the
//! rate in force when it matched.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// The most decimal places a fee rate may have (its numerator then fits an `i64`).
pub const FEE_RATE_SCALE_MAX: u32 = 18;

/// A fee rate as an exact fraction `numerator / 10^scale`. Negative means a rebate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FeeRate {
    numerator: i64,
    scale: u8,
}

/// Who a trade's side was: the resting order or the incoming one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Liquidity {
    Maker,
    Taker,
}

/// Why a decimal is not a fee rate.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FeeRateError {
    #[error("fee rate {0} must be above -1 and below 1")]
    OutOfRange(Decimal),
    #[error("fee rate {0} has more than {FEE_RATE_SCALE_MAX} decimal places")]
    TooPrecise(Decimal),
}

impl FeeRate {
    pub const ZERO: FeeRate = FeeRate { numerator: 0, scale: 0 };

    pub fn from_decimal(rate: Decimal) -> Result<FeeRate, FeeRateError> {
        if rate.abs() >= Decimal::ONE {
            return Err(FeeRateError::OutOfRange(rate));
        }
        let rate_normalized = rate.normalize();
        let scale = rate_normalized.scale();
        if scale > FEE_RATE_SCALE_MAX {
            return Err(FeeRateError::TooPrecise(rate));
        }
        // |rate| < 1 with at most 18 places: the mantissa is below 10^18.
        let numerator = i64::try_from(rate_normalized.mantissa()).expect("below 10^18");
        let scale = u8::try_from(scale).expect("at most 18");
        Ok(FeeRate { numerator, scale })
    }

    pub fn to_decimal(self) -> Decimal {
        Decimal::new(self.numerator, u32::from(self.scale))
    }

    /// The fee on `amount` minor units: a charge (positive) is rounded up, in the exchange's
    /// favour; a rebate (negative) is rounded towards zero, also in the exchange's favour.
    pub fn fee_on(&self, amount: i128) -> i128 {
        assert!(amount >= 0, "fee on a negative amount {amount}");
        let denominator = 10_i128.pow(u32::from(self.scale));
        let product =
            amount.checked_mul(i128::from(self.numerator.abs())).expect("fee overflows i128");
        if self.numerator >= 0 {
            product / denominator + i128::from(product % denominator != 0)
        } else {
            -(product / denominator)
        }
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;
    use crate::model::dec;

    #[rstest]
    #[case::charge_exact("0.001", 10_000, 10)]
    #[case::charge_rounds_up("0.001", 10_001, 11)]
    #[case::charge_on_one_unit("0.001", 1, 1)]
    #[case::rebate_exact("-0.0001", 100_000, -10)]
    #[case::rebate_rounds_down("-0.0001", 109_999, -10)]
    #[case::rebate_on_tiny_amount("-0.0001", 9_999, 0)]
    #[case::zero_rate("0", 123_456, 0)]
    #[case::trailing_zeros("0.00100000", 10_001, 11)]
    fn fee_rounding_favours_the_exchange(
        #[case] rate: &str,
        #[case] amount: i128,
        #[case] expected: i128,
    ) {
        assert_eq!(FeeRate::from_decimal(dec(rate)).unwrap().fee_on(amount), expected);
    }

    #[rstest]
    #[case::one("1", FeeRateError::OutOfRange(dec("1")))]
    #[case::minus_one("-1", FeeRateError::OutOfRange(dec("-1")))]
    #[case::too_precise(
        "0.0000000000000000001",
        FeeRateError::TooPrecise(dec("0.0000000000000000001"))
    )]
    fn refuses_rates_it_cannot_hold(#[case] rate: &str, #[case] expected: FeeRateError) {
        assert_eq!(FeeRate::from_decimal(dec(rate)), Err(expected));
    }

    #[test]
    fn round_trips_through_decimal() {
        for rate in ["0.001", "-0.0005", "0", "0.000000000000000001"] {
            assert_eq!(FeeRate::from_decimal(dec(rate)).unwrap().to_decimal(), dec(rate));
        }
    }
}
