//! A symbol as the ledger sees it: which assets it moves, how many minor units of each one lot
//! and one notional unit (tick x lot) are. Built once from
//! a [`SymbolSpec`] and the two assets' scales; a spec whose units are not whole minor units is
//! refused, so every trade converts to ledger amounts without rounding. Fee rates are not
//! here: each trade carries the rates the book charged it ([`crate::model::TradeExecuted`]).

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use crate::model::{
    AssetCode, CodeError, MarginTerms, Notional, Price, Qty, SpecError, SymbolCode, SymbolSpec,
};

/// The most decimal places an asset's minor unit may have (10^18 still leaves i128 room for
/// any balance a real asset can reach).
pub const ASSET_SCALE_MAX: u32 = 18;

/// Why a symbol cannot be traded by the ledger.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MarketSpecError {
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error("{field}: {error}")]
    Code { field: &'static str, error: CodeError },
    #[error("{asset} scale {scale} is above the maximum {ASSET_SCALE_MAX}")]
    ScaleTooLarge { asset: AssetCode, scale: u32 },
    #[error("base and quote are the same asset {asset}")]
    SameAsset { asset: AssetCode },
    #[error("step size {step_size} is not a whole number of {asset} minor units (scale {scale})")]
    StepNotWholeMinorUnits { step_size: Decimal, asset: AssetCode, scale: u32 },
    #[error(
        "tick size x step size {unit} is not a whole number of {asset} minor units (scale {scale})"
    )]
    NotionalUnitNotWholeMinorUnits { unit: Decimal, asset: AssetCode, scale: u32 },
}

/// One symbol in ledger units.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MarketSpec {
    pub symbol: SymbolCode,
    pub base: AssetCode,
    pub quote: AssetCode,
    pub base_scale: u32,
    pub quote_scale: u32,
    /// Base minor units in one lot (step size).
    pub base_units_per_lot: i128,
    /// Quote minor units in one notional unit (tick size x step size).
    pub quote_units_per_notional: i128,
    /// A linear perpetual's margin rates: orders hold quote margin and fills move positions
    /// instead of base balances. `None` for spot.
    pub margin: Option<MarginTerms>,
    /// The book refuses limit prices further than this from its reference (0: no band); the
    /// liquidation IOCs stay inside it.
    pub price_band_bps: u32,
}

impl MarketSpec {
    /// The ledger's view of `spec`, given the minor-unit scales of its two assets.
    pub fn new(
        spec: &SymbolSpec,
        base_scale: u32,
        quote_scale: u32,
    ) -> Result<MarketSpec, MarketSpecError> {
        spec.validate()?;
        let code = |field, text: &str| {
            AssetCode::new(text).map_err(|error| MarketSpecError::Code { field, error })
        };
        let symbol = SymbolCode::new(&spec.symbol)
            .map_err(|error| MarketSpecError::Code { field: "symbol", error })?;
        let base = code("baseAsset", &spec.base_asset)?;
        let quote = code("quoteAsset", &spec.quote_asset)?;
        if base == quote {
            return Err(MarketSpecError::SameAsset { asset: base });
        }
        for (asset, scale) in [(base, base_scale), (quote, quote_scale)] {
            if scale > ASSET_SCALE_MAX {
                return Err(MarketSpecError::ScaleTooLarge { asset, scale });
            }
        }
        let base_units_per_lot = minor_units(spec.step_size, base_scale).ok_or(
            MarketSpecError::StepNotWholeMinorUnits {
                step_size: spec.step_size,
                asset: base,
                scale: base_scale,
            },
        )?;
        let unit = spec.notional_unit();
        let quote_units_per_notional = minor_units(unit, quote_scale).ok_or(
            MarketSpecError::NotionalUnitNotWholeMinorUnits {
                unit,
                asset: quote,
                scale: quote_scale,
            },
        )?;
        Ok(MarketSpec {
            symbol,
            base,
            quote,
            base_scale,
            quote_scale,
            base_units_per_lot,
            quote_units_per_notional,
            margin: spec.margin_terms()?,
            price_band_bps: spec.price_band_bps,
        })
    }

    pub fn is_perpetual(&self) -> bool {
        self.margin.is_some()
    }

    /// `qty` lots at `price` in quote minor units.
    pub fn value(&self, price: Price, qty: Qty) -> i128 {
        self.quote_amount(Notional::of(price, qty))
    }

    /// `qty` lots in base minor units.
    pub fn base_amount(&self, qty: Qty) -> i128 {
        i128::from(qty.0).checked_mul(self.base_units_per_lot).expect("base amount overflows i128")
    }

    /// `notional` in quote minor units.
    pub fn quote_amount(&self, notional: Notional) -> i128 {
        notional.0.checked_mul(self.quote_units_per_notional).expect("quote amount overflows i128")
    }
}

/// `value` in minor units of an asset with `scale` decimals, when that is a positive whole number.
fn minor_units(value: Decimal, scale: u32) -> Option<i128> {
    let units = value.checked_mul(Decimal::from(10_u64.checked_pow(scale)?))?;
    (units.fract().is_zero() && units > Decimal::ZERO).then(|| units.to_i128()).flatten()
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;
    use crate::model::{btcusdt, dec};

    #[test]
    fn btcusdt_units() {
        let market = MarketSpec::new(&btcusdt(), 8, 8).unwrap();
        // step 0.00001 BTC = 1,000 satoshi; tick x step = 0.0000001 USDT = 10 minor units.
        assert_eq!(market.base_units_per_lot, 1_000);
        assert_eq!(market.quote_units_per_notional, 10);
        assert_eq!(market.base_amount(Qty(3)), 3_000);
        assert_eq!(market.quote_amount(Notional(7)), 70);
    }

    #[rstest]
    #[case::step_below_base_unit(4, 8, "StepNotWholeMinorUnits")]
    #[case::notional_below_quote_unit(8, 6, "NotionalUnitNotWholeMinorUnits")]
    #[case::scale_too_large(19, 8, "ScaleTooLarge")]
    fn refuses_fractional_minor_units(
        #[case] base_scale: u32,
        #[case] quote_scale: u32,
        #[case] variant: &str,
    ) {
        let error = MarketSpec::new(&btcusdt(), base_scale, quote_scale).unwrap_err();
        assert!(format!("{error:?}").starts_with(variant), "{error:?}");
    }

    #[test]
    fn refuses_maker_rate_below_floor_and_bad_codes() {
        let mut spec = btcusdt();
        spec.maker_fee_rate = dec("-0.001");
        assert!(matches!(
            MarketSpec::new(&spec, 8, 8),
            Err(MarketSpecError::Spec(SpecError::MakerFeeBelowFloor { .. }))
        ));
        let mut spec = btcusdt();
        spec.base_asset = "btc".into();
        assert!(matches!(
            MarketSpec::new(&spec, 8, 8),
            Err(MarketSpecError::Code { field: "baseAsset", .. })
        ));
    }

    #[test]
    fn rebate_never_exceeds_the_floor() {
        let mut spec = btcusdt();
        spec.maker_fee_rate = spec.maker_fee_floor;
        let maker_fee = spec.maker_fee().unwrap();
        for amount in [1, 1_999, 2_000, 2_001, 123_456_789] {
            let rebate = -maker_fee.fee_on(amount);
            // floor is -0.0005: the rebate is at most amount x 5 / 10,000.
            assert!(rebate * 10_000 <= amount * 5, "{amount}: {rebate}");
            assert!(rebate >= 0);
        }
    }
}
