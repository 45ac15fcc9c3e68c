//! [`PerpetualSpec`]: what makes a symbol a linear (USDT-margined) perpetual instead of a spot
//! market: the index it marks against and its margin rates. A perpetual trades on the same
//! `SymbolBook` as a spot symbol; one contract is one lot of the base asset, and every amount
//! (margin, PnL, fees, funding) is settled in the quote asset. The base asset never moves.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{FeeRate, FeeRateError};

/// Largest maximum leverage a symbol may allow.
pub const LEVERAGE_MAX: u32 = 125;

/// A perpetual's terms as operators write them (the config's snake_case or the API's camelCase).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PerpetualSpec {
    /// The `[[indexes]]` entry its mark price follows.
    pub index: String,
    /// Margin an order or position needs, as a fraction of its notional (0.1 = 10x).
    #[serde(alias = "initial_margin_rate")]
    pub initial_margin_rate: Decimal,
    /// Below this fraction of the notional the account is liquidated.
    #[serde(alias = "maintenance_margin_rate")]
    pub maintenance_margin_rate: Decimal,
    /// The most leverage the symbol allows; `initial_margin_rate` must be at least its inverse.
    #[serde(alias = "max_leverage")]
    pub max_leverage: u32,
}

/// Why perpetual terms cannot be traded safely.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PerpetualSpecError {
    #[error("perpetual index name is empty")]
    NoIndex,
    #[error(
        "maintenance margin rate {maintenance} must be above 0 and below the initial margin \
         rate {initial}, which must be below 1"
    )]
    RatesOutOfOrder { initial: Decimal, maintenance: Decimal },
    #[error("max leverage {max_leverage} must be 1..={LEVERAGE_MAX}")]
    LeverageOutOfRange { max_leverage: u32 },
    #[error("initial margin rate {initial} allows more than the max leverage {max_leverage}")]
    RateAboveLeverage { initial: Decimal, max_leverage: u32 },
    #[error("{field}: {error}")]
    Rate { field: &'static str, error: FeeRateError },
}

/// A perpetual's margin rates as exact fractions (a margin rounds up, as a charge does).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarginTerms {
    pub initial: FeeRate,
    pub maintenance: FeeRate,
    pub max_leverage: u32,
}

impl PerpetualSpec {
    pub fn validate(&self) -> Result<MarginTerms, PerpetualSpecError> {
        let (initial, maintenance) = (self.initial_margin_rate, self.maintenance_margin_rate);
        if self.index.trim().is_empty() {
            return Err(PerpetualSpecError::NoIndex);
        }
        if maintenance <= Decimal::ZERO || maintenance >= initial || initial >= Decimal::ONE {
            return Err(PerpetualSpecError::RatesOutOfOrder { initial, maintenance });
        }
        if !(1..=LEVERAGE_MAX).contains(&self.max_leverage) {
            return Err(PerpetualSpecError::LeverageOutOfRange { max_leverage: self.max_leverage });
        }
        if initial * Decimal::from(self.max_leverage) < Decimal::ONE {
            return Err(PerpetualSpecError::RateAboveLeverage {
                initial,
                max_leverage: self.max_leverage,
            });
        }
        let rate = |field, value| {
            FeeRate::from_decimal(value).map_err(|error| PerpetualSpecError::Rate { field, error })
        };
        Ok(MarginTerms {
            initial: rate("initialMarginRate", initial)?,
            maintenance: rate("maintenanceMarginRate", maintenance)?,
            max_leverage: self.max_leverage,
        })
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;
    use crate::model::dec;

    fn spec() -> PerpetualSpec {
        PerpetualSpec {
            index: "BTCUSDT".into(),
            initial_margin_rate: dec("0.05"),
            maintenance_margin_rate: dec("0.025"),
            max_leverage: 20,
        }
    }

    #[test]
    fn valid_terms_become_exact_rates() {
        let terms = spec().validate().expect("valid");
        assert_eq!(terms.initial.fee_on(1_000), 50);
        assert_eq!(terms.maintenance.fee_on(1_001), 26);
    }

    #[rstest]
    #[case::no_index(|spec: &mut PerpetualSpec| spec.index.clear())]
    #[case::maintenance_above_initial(|spec: &mut PerpetualSpec| spec.maintenance_margin_rate = dec("0.06"))]
    #[case::zero_maintenance(|spec: &mut PerpetualSpec| spec.maintenance_margin_rate = dec("0"))]
    #[case::initial_whole(|spec: &mut PerpetualSpec| spec.initial_margin_rate = dec("1"))]
    #[case::leverage_zero(|spec: &mut PerpetualSpec| spec.max_leverage = 0)]
    #[case::rate_allows_more_leverage(|spec: &mut PerpetualSpec| spec.max_leverage = 10)]
    fn invalid_terms_are_refused(#[case] break_it: fn(&mut PerpetualSpec)) {
        let mut spec = spec();
        break_it(&mut spec);
        assert!(spec.validate().is_err());
    }
}
