//! A symbol's specification as operators write it (decimals, Binance filter names), and its
//! exact conversion to the integer units the book works in. A decimal that is not an exact
//! multiple of its unit is refused with an error naming the filter; nothing is rounded.

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Serialize};

use super::{
    FeeRate, FeeRateError, MarginTerms, Notional, PerpetualSpec, PerpetualSpecError, Price, Qty,
    RejectReason,
};

/// Basis points in one whole (100%).
pub const BASIS_POINTS_PER_WHOLE: u32 = 10_000;

/// One tradable symbol. Fee rates are fractions (0.001 = 0.1%); a negative maker rate is a
/// rebate and may not go below `maker_fee_floor`.
///
/// Serialized in the API's camelCase (`tickSize`); the configuration file's snake_case
/// (`tick_size`) is accepted too.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SymbolSpec {
    pub symbol: String,
    #[serde(alias = "base_asset")]
    pub base_asset: String,
    #[serde(alias = "quote_asset")]
    pub quote_asset: String,
    /// PRICE_FILTER
    #[serde(alias = "tick_size")]
    pub tick_size: Decimal,
    #[serde(alias = "min_price")]
    pub min_price: Decimal,
    #[serde(alias = "max_price")]
    pub max_price: Decimal,
    /// LOT_SIZE (and MARKET_LOT_SIZE)
    #[serde(alias = "step_size")]
    pub step_size: Decimal,
    #[serde(alias = "min_qty")]
    pub min_qty: Decimal,
    #[serde(alias = "max_qty")]
    pub max_qty: Decimal,
    /// NOTIONAL
    #[serde(alias = "min_notional")]
    pub min_notional: Decimal,
    #[serde(alias = "max_notional")]
    pub max_notional: Decimal,
    /// PERCENT_PRICE_BY_SIDE as one symmetric band around the reference price; 0 turns it off.
    #[serde(alias = "price_band_bps")]
    pub price_band_bps: u32,
    #[serde(alias = "maker_fee_rate")]
    pub maker_fee_rate: Decimal,
    #[serde(alias = "taker_fee_rate")]
    pub taker_fee_rate: Decimal,
    #[serde(alias = "maker_fee_floor")]
    pub maker_fee_floor: Decimal,
    /// Present for a linear perpetual (margin in the quote asset, positions instead of base
    /// balances); absent for a spot symbol.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub perpetual: Option<PerpetualSpec>,
}

/// A specification that cannot be traded safely, with the value at fault.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    #[error("{field} must be positive, got {value}")]
    NotPositive { field: &'static str, value: Decimal },
    #[error("{field} {value} is not a multiple of {unit_name} {unit}")]
    NotMultiple { field: &'static str, value: Decimal, unit_name: &'static str, unit: Decimal },
    #[error("{low_field} {low} is above {high_field} {high}")]
    Inverted { low_field: &'static str, low: Decimal, high_field: &'static str, high: Decimal },
    #[error("{field} {value} does not fit the book's integer range")]
    OutOfRange { field: &'static str, value: Decimal },
    #[error("maker fee rate {rate} is below the configured floor {floor}")]
    MakerFeeBelowFloor { rate: Decimal, floor: Decimal },
    #[error("taker fee rate {rate} must not be negative")]
    NegativeTakerFee { rate: Decimal },
    #[error("price band {bps} bps must be below {BASIS_POINTS_PER_WHOLE}")]
    BandTooWide { bps: u32 },
    #[error("{field}: {error}")]
    FeeRate { field: &'static str, error: FeeRateError },
    #[error("perpetual: {0}")]
    Perpetual(PerpetualSpecError),
}

/// A client value refused at the edge, with the values that explain it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConversionError {
    #[error(
        "Filter failure: PRICE_FILTER: price {price} is not a multiple of tick size {tick_size}"
    )]
    PriceNotTickMultiple { price: Decimal, tick_size: Decimal },
    #[error("Filter failure: PRICE_FILTER: price {price} is outside {min_price}..{max_price}")]
    PriceOutOfRange { price: Decimal, min_price: Decimal, max_price: Decimal },
    #[error("Filter failure: LOT_SIZE: quantity {qty} is not a multiple of step size {step_size}")]
    QtyNotStepMultiple { qty: Decimal, step_size: Decimal },
    #[error("Filter failure: LOT_SIZE: quantity {qty} is outside {min_qty}..{max_qty}")]
    QtyOutOfRange { qty: Decimal, min_qty: Decimal, max_qty: Decimal },
    #[error("quoteOrderQty {amount} is not a multiple of {unit} (tick size x step size)")]
    QuoteNotMultiple { amount: Decimal, unit: Decimal },
    #[error("quoteOrderQty {amount} must be positive")]
    QuoteNotPositive { amount: Decimal },
}

impl ConversionError {
    /// The stable reason behind this error.
    pub fn reason(&self) -> RejectReason {
        match self {
            ConversionError::PriceNotTickMultiple { .. } => RejectReason::PriceNotTickMultiple,
            ConversionError::PriceOutOfRange { .. } => RejectReason::PriceOutOfRange,
            ConversionError::QtyNotStepMultiple { .. } => RejectReason::QtyNotStepMultiple,
            ConversionError::QtyOutOfRange { qty, min_qty, .. } if qty < min_qty => {
                RejectReason::QtyBelowMin
            }
            ConversionError::QtyOutOfRange { .. } => RejectReason::QtyAboveMax,
            ConversionError::QuoteNotMultiple { .. } => RejectReason::QuoteAmountNotMultiple,
            ConversionError::QuoteNotPositive { .. } => RejectReason::ZeroQuantity,
        }
    }
}

/// `value / unit` when it is a whole number, else `None`. Exact: decimal remainder is computed
/// on rescaled integers, so no rounding can make a non-multiple look whole.
fn whole_units(value: Decimal, unit: Decimal) -> Option<i128> {
    if unit <= Decimal::ZERO || !value.checked_rem(unit)?.is_zero() {
        return None;
    }
    value.checked_div(unit)?.to_i128()
}

impl SymbolSpec {
    /// The notional unit: one tick times one lot, in the quote asset.
    pub fn notional_unit(&self) -> Decimal {
        self.tick_size * self.step_size
    }

    /// Checks the specification before any order is accepted on it.
    pub fn validate(&self) -> Result<(), SpecError> {
        for (field, value) in [("tickSize", self.tick_size), ("stepSize", self.step_size)] {
            if value <= Decimal::ZERO {
                return Err(SpecError::NotPositive { field, value });
            }
        }
        self.check_multiple("minPrice", self.min_price, "tickSize", self.tick_size)?;
        self.check_multiple("maxPrice", self.max_price, "tickSize", self.tick_size)?;
        self.check_multiple("minQty", self.min_qty, "stepSize", self.step_size)?;
        self.check_multiple("maxQty", self.max_qty, "stepSize", self.step_size)?;
        let unit = self.notional_unit();
        self.check_multiple("minNotional", self.min_notional, "tickSize x stepSize", unit)?;
        self.check_multiple("maxNotional", self.max_notional, "tickSize x stepSize", unit)?;
        if self.min_price <= Decimal::ZERO {
            return Err(SpecError::NotPositive { field: "minPrice", value: self.min_price });
        }
        if self.min_qty <= Decimal::ZERO {
            return Err(SpecError::NotPositive { field: "minQty", value: self.min_qty });
        }
        check_order("minPrice", self.min_price, "maxPrice", self.max_price)?;
        check_order("minQty", self.min_qty, "maxQty", self.max_qty)?;
        check_order("minNotional", self.min_notional, "maxNotional", self.max_notional)?;
        if self.price_band_bps >= BASIS_POINTS_PER_WHOLE {
            return Err(SpecError::BandTooWide { bps: self.price_band_bps });
        }
        if self.taker_fee_rate < Decimal::ZERO {
            return Err(SpecError::NegativeTakerFee { rate: self.taker_fee_rate });
        }
        if self.maker_fee_rate < self.maker_fee_floor {
            return Err(SpecError::MakerFeeBelowFloor {
                rate: self.maker_fee_rate,
                floor: self.maker_fee_floor,
            });
        }
        self.maker_fee()?;
        self.taker_fee()?;
        self.margin_terms()?;
        Ok(())
    }

    /// The margin rates of a perpetual; `None` for a spot symbol.
    pub fn margin_terms(&self) -> Result<Option<MarginTerms>, SpecError> {
        self.perpetual
            .as_ref()
            .map(|perpetual| perpetual.validate().map_err(SpecError::Perpetual))
            .transpose()
    }

    pub fn is_perpetual(&self) -> bool {
        self.perpetual.is_some()
    }

    pub fn maker_fee(&self) -> Result<FeeRate, SpecError> {
        FeeRate::from_decimal(self.maker_fee_rate)
            .map_err(|error| SpecError::FeeRate { field: "makerFeeRate", error })
    }

    pub fn taker_fee(&self) -> Result<FeeRate, SpecError> {
        FeeRate::from_decimal(self.taker_fee_rate)
            .map_err(|error| SpecError::FeeRate { field: "takerFeeRate", error })
    }

    fn check_multiple(
        &self,
        field: &'static str,
        value: Decimal,
        unit_name: &'static str,
        unit: Decimal,
    ) -> Result<i128, SpecError> {
        whole_units(value, unit).ok_or(SpecError::NotMultiple { field, value, unit_name, unit })
    }

    /// A client price in ticks: exact and within PRICE_FILTER, or an error naming the filter.
    pub fn price_to_ticks(&self, price: Decimal) -> Result<Price, ConversionError> {
        let out_of_range = || ConversionError::PriceOutOfRange {
            price,
            min_price: self.min_price,
            max_price: self.max_price,
        };
        if price < self.min_price || price > self.max_price {
            return Err(out_of_range());
        }
        let ticks = whole_units(price, self.tick_size)
            .ok_or(ConversionError::PriceNotTickMultiple { price, tick_size: self.tick_size })?;
        i64::try_from(ticks).map(Price).map_err(|_| out_of_range())
    }

    /// A client quantity in lots: exact and within LOT_SIZE, or an error naming the filter.
    pub fn qty_to_lots(&self, qty: Decimal) -> Result<Qty, ConversionError> {
        let out_of_range =
            || ConversionError::QtyOutOfRange { qty, min_qty: self.min_qty, max_qty: self.max_qty };
        if qty < self.min_qty || qty > self.max_qty {
            return Err(out_of_range());
        }
        let lots = whole_units(qty, self.step_size)
            .ok_or(ConversionError::QtyNotStepMultiple { qty, step_size: self.step_size })?;
        u64::try_from(lots).map(Qty).map_err(|_| out_of_range())
    }

    /// A quote amount (quoteOrderQty) in notional units, exact.
    pub fn quote_to_notional(&self, amount: Decimal) -> Result<Notional, ConversionError> {
        if amount <= Decimal::ZERO {
            return Err(ConversionError::QuoteNotPositive { amount });
        }
        let unit = self.notional_unit();
        whole_units(amount, unit)
            .map(Notional)
            .ok_or(ConversionError::QuoteNotMultiple { amount, unit })
    }

    pub fn ticks_to_price(&self, price: Price) -> Decimal {
        Decimal::from(price.0) * self.tick_size
    }

    pub fn lots_to_qty(&self, qty: Qty) -> Decimal {
        Decimal::from(qty.0) * self.step_size
    }

    pub fn notional_to_quote(&self, notional: Notional) -> Decimal {
        Decimal::from_i128_with_scale(notional.0, 0) * self.notional_unit()
    }
}

fn check_order(
    low_field: &'static str,
    low: Decimal,
    high_field: &'static str,
    high: Decimal,
) -> Result<(), SpecError> {
    if low > high {
        return Err(SpecError::Inverted { low_field, low, high_field, high });
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use rstest::rstest;

    use super::*;

    pub(crate) fn dec(text: &str) -> Decimal {
        text.parse().expect("test decimal")
    }

    /// A BTCUSDT-like spec used across the model and book tests.
    pub(crate) fn btcusdt() -> SymbolSpec {
        SymbolSpec {
            symbol: "BTCUSDT".into(),
            base_asset: "BTC".into(),
            quote_asset: "USDT".into(),
            tick_size: dec("0.01"),
            min_price: dec("0.01"),
            max_price: dec("1000000"),
            step_size: dec("0.00001"),
            min_qty: dec("0.00001"),
            max_qty: dec("9000"),
            min_notional: dec("5"),
            max_notional: dec("9000000"),
            price_band_bps: 500,
            maker_fee_rate: dec("-0.0001"),
            taker_fee_rate: dec("0.001"),
            maker_fee_floor: dec("-0.0005"),
            perpetual: None,
        }
    }

    #[test]
    fn default_like_spec_is_valid() {
        assert_eq!(btcusdt().validate(), Ok(()));
    }

    #[rstest]
    #[case("100.01", Ok(Price(10_001)))]
    #[case("100.010000", Ok(Price(10_001)))]
    #[case("100.005", Err(RejectReason::PriceNotTickMultiple))]
    #[case("0", Err(RejectReason::PriceOutOfRange))]
    #[case("-1", Err(RejectReason::PriceOutOfRange))]
    #[case("1000000.01", Err(RejectReason::PriceOutOfRange))]
    #[case("0.010000000000000000000000001", Err(RejectReason::PriceNotTickMultiple))]
    fn price_conversion_is_exact(
        #[case] text: &str,
        #[case] expected: Result<Price, RejectReason>,
    ) {
        let spec = btcusdt();
        assert_eq!(spec.price_to_ticks(dec(text)).map_err(|error| error.reason()), expected);
    }

    #[rstest]
    #[case("0.5", Ok(Qty(50_000)))]
    #[case("0.000015", Err(RejectReason::QtyNotStepMultiple))]
    #[case("0.000001", Err(RejectReason::QtyBelowMin))]
    #[case("9000.00001", Err(RejectReason::QtyAboveMax))]
    fn qty_conversion_is_exact(#[case] text: &str, #[case] expected: Result<Qty, RejectReason>) {
        let spec = btcusdt();
        assert_eq!(spec.qty_to_lots(dec(text)).map_err(|error| error.reason()), expected);
    }

    #[test]
    fn error_names_the_filter_and_values() {
        let error = btcusdt().price_to_ticks(dec("100.005")).unwrap_err();
        assert_eq!(
            error.to_string(),
            "Filter failure: PRICE_FILTER: price 100.005 is not a multiple of tick size 0.01"
        );
    }

    #[rstest]
    #[case("10", Ok(Notional(10 * 100 * 100_000)))]
    #[case("0.0000001", Ok(Notional(1)))]
    #[case("0.00000001", Err(RejectReason::QuoteAmountNotMultiple))]
    #[case("0", Err(RejectReason::ZeroQuantity))]
    fn quote_conversion_is_exact(
        #[case] text: &str,
        #[case] expected: Result<Notional, RejectReason>,
    ) {
        assert_eq!(
            btcusdt().quote_to_notional(dec(text)).map_err(|error| error.reason()),
            expected
        );
    }

    #[test]
    fn integer_units_convert_back_exactly() {
        let spec = btcusdt();
        assert_eq!(spec.ticks_to_price(Price(10_001)), dec("100.01"));
        assert_eq!(spec.lots_to_qty(Qty(50_000)), dec("0.5"));
        assert_eq!(spec.notional_to_quote(Notional(1)), dec("0.0000001"));
    }

    #[rstest]
    #[case::tick_zero(|spec: &mut SymbolSpec| spec.tick_size = Decimal::ZERO)]
    #[case::min_qty_off_step(|spec: &mut SymbolSpec| spec.min_qty = dec("0.000015"))]
    #[case::inverted_qty(|spec: &mut SymbolSpec| spec.max_qty = dec("0.00001") / dec("2"))]
    #[case::maker_below_floor(|spec: &mut SymbolSpec| spec.maker_fee_rate = dec("-0.001"))]
    #[case::negative_taker(|spec: &mut SymbolSpec| spec.taker_fee_rate = dec("-0.001"))]
    #[case::band_too_wide(|spec: &mut SymbolSpec| spec.price_band_bps = 10_000)]
    fn invalid_specs_are_refused(#[case] break_it: fn(&mut SymbolSpec)) {
        let mut spec = btcusdt();
        break_it(&mut spec);
        assert!(spec.validate().is_err());
    }
}
