//! The terms of a live symbol an operator may change (`PUT /admin/symbols/{symbol}`): its
//! filters in integer units and its fee rates. They travel to the book as a journaled command,
//! so a replay applies every change at the same input as the original run.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{FeeRate, Notional, Price, Qty, SpecError, SymbolSpec};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarketTerms {
    pub min_price: Price,
    pub max_price: Price,
    pub min_qty: Qty,
    pub max_qty: Qty,
    pub min_notional: Notional,
    pub max_notional: Notional,
    /// Half-width of the band around the reference price, in basis points; 0 = no band.
    pub price_band_bps: u32,
    /// Charged to (or, when negative, paid to) the resting side of each trade.
    pub maker_fee: FeeRate,
    /// Charged to the incoming side of each trade.
    pub taker_fee: FeeRate,
}

impl MarketTerms {
    /// `spec`'s filters in the book's integer units and its fee rates, after validating it.
    pub fn from_spec(spec: &SymbolSpec) -> Result<MarketTerms, SpecError> {
        spec.validate()?;
        let price = |field: &'static str, value| {
            spec.price_to_ticks(value).map_err(|_| SpecError::OutOfRange { field, value })
        };
        let qty = |field: &'static str, value| {
            spec.qty_to_lots(value).map_err(|_| SpecError::OutOfRange { field, value })
        };
        let notional = |field: &'static str, value: Decimal| {
            if value.is_zero() {
                return Ok(Notional::ZERO);
            }
            spec.quote_to_notional(value).map_err(|_| SpecError::OutOfRange { field, value })
        };
        Ok(MarketTerms {
            min_price: price("minPrice", spec.min_price)?,
            max_price: price("maxPrice", spec.max_price)?,
            min_qty: qty("minQty", spec.min_qty)?,
            max_qty: qty("maxQty", spec.max_qty)?,
            min_notional: notional("minNotional", spec.min_notional)?,
            max_notional: notional("maxNotional", spec.max_notional)?,
            price_band_bps: spec.price_band_bps,
            maker_fee: spec.maker_fee()?,
            taker_fee: spec.taker_fee()?,
        })
    }
}

impl SymbolSpec {
    /// This spec with `terms` in force: what exchangeInfo shows after a change. Exact, since
    /// every term is a whole number of the spec's units.
    pub fn with_terms(&self, terms: &MarketTerms) -> SymbolSpec {
        SymbolSpec {
            min_price: self.ticks_to_price(terms.min_price),
            max_price: self.ticks_to_price(terms.max_price),
            min_qty: self.lots_to_qty(terms.min_qty),
            max_qty: self.lots_to_qty(terms.max_qty),
            min_notional: self.notional_to_quote(terms.min_notional),
            max_notional: self.notional_to_quote(terms.max_notional),
            price_band_bps: terms.price_band_bps,
            maker_fee_rate: terms.maker_fee.to_decimal(),
            taker_fee_rate: terms.taker_fee.to_decimal(),
            ..self.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{btcusdt, dec};

    #[test]
    fn a_spec_round_trips_through_its_terms() {
        let spec = btcusdt();
        let terms = MarketTerms::from_spec(&spec).expect("valid");
        let back = spec.with_terms(&terms);
        assert_eq!(MarketTerms::from_spec(&back), Ok(terms));
        // Decimals compare by value: 0.01000 == 0.01.
        assert_eq!(back, spec);
        let mut changed = terms;
        changed.taker_fee = FeeRate::from_decimal(dec("0.002")).expect("rate");
        changed.min_qty = Qty(7);
        let back = spec.with_terms(&changed);
        assert_eq!((back.taker_fee_rate, back.min_qty), (dec("0.002"), dec("0.00007")));
    }
}
