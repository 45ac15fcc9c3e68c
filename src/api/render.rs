//! Decimal strings as Binance clients read them: integer units of the book (ticks, lots,
//! notional units) and of the ledger (an asset's minor units) rendered exactly, with a fixed
//! number of decimal places. Rendering only pads with zeros; it never rounds, so a value with
//! more digits than asked for keeps them (that would be a spec bug, not a reason to lie).

use exchange_actors::model::{Notional, Price, Qty, SymbolSpec};
use rust_decimal::Decimal;

/// The decimal places of `unit` once trailing zeros are dropped (`0.0100` has 2).
pub fn places_of(unit: Decimal) -> u32 {
    unit.normalize().scale()
}

/// `value` with at least `places` decimal places (trailing zeros added, none dropped).
pub fn with_places(value: Decimal, places: u32) -> String {
    let value = value.normalize();
    pad_places(value.to_string(), value.scale(), places)
}

/// `amount` minor units of an asset with `scale` decimals, exactly (`150`, 2 -> `"1.50"`).
/// Works for every `i128`, including amounts no `Decimal` can hold.
pub fn minor_units(amount: i128, scale: u32) -> String {
    let digits = amount.unsigned_abs().to_string();
    let sign = if amount < 0 { "-" } else { "" };
    let scale = usize::try_from(scale).expect("a scale fits usize");
    if scale == 0 {
        return format!("{sign}{digits}");
    }
    let padded = format!("{digits:0>width$}", width = scale + 1);
    let (whole, fraction) = padded.split_at(padded.len() - scale);
    format!("{sign}{whole}.{fraction}")
}

/// `count` units of `unit` (a tick, a lot, a notional unit) with at least `places` places.
/// Integer arithmetic on the unit's mantissa, so the result is exact.
pub fn units(count: i128, unit: Decimal, places: u32) -> String {
    let unit = unit.normalize();
    let minor = count
        .checked_mul(unit.mantissa())
        .unwrap_or_else(|| panic!("{count} x {unit} overflows i128: the spec bounds both"));
    pad_places(minor_units(minor, unit.scale()), unit.scale(), places)
}

/// A book price with the tick size's places (`Price(10001)`, tick 0.01 -> `"100.01"`).
pub fn price(spec: &SymbolSpec, price: Price) -> String {
    units(i128::from(price.0), spec.tick_size, places_of(spec.tick_size))
}

/// A book quantity with the step size's places (`Qty(50000)`, step 0.00001 -> `"0.50000"`).
pub fn qty(spec: &SymbolSpec, qty: Qty) -> String {
    units(i128::from(qty.0), spec.step_size, places_of(spec.step_size))
}

/// A notional (price x quantity) in the quote asset, with the notional unit's places.
pub fn notional(spec: &SymbolSpec, notional: Notional) -> String {
    let unit = spec.notional_unit();
    units(notional.0, unit, places_of(unit))
}

/// Appends zeros (and the point) to `text`, a number with `scale` places, up to `places`.
fn pad_places(mut text: String, scale: u32, places: u32) -> String {
    if scale >= places {
        return text;
    }
    if scale == 0 {
        text.push('.');
    }
    let missing = usize::try_from(places - scale).expect("places fit usize");
    text.extend(std::iter::repeat_n('0', missing));
    text
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;
    use crate::api::testing::{btcusdt, dec};

    #[rstest]
    #[case("0.01", 8, "0.01000000")]
    #[case("100", 2, "100.00")]
    #[case("100", 0, "100")]
    #[case("0.0100", 1, "0.01")]
    #[case("-1.5", 3, "-1.500")]
    #[case("9000000", 8, "9000000.00000000")]
    fn with_places_pads_and_never_rounds(
        #[case] value: &str,
        #[case] places: u32,
        #[case] expected: &str,
    ) {
        assert_eq!(with_places(dec(value), places), expected);
    }

    #[rstest]
    #[case(150, 2, "1.50")]
    #[case(5, 8, "0.00000005")]
    #[case(0, 8, "0.00000000")]
    #[case(-5, 2, "-0.05")]
    #[case(-150, 2, "-1.50")]
    #[case(42, 0, "42")]
    #[case(i128::MAX, 18, "170141183460469231731.687303715884105727")]
    #[case(i128::MIN, 0, "-170141183460469231731687303715884105728")]
    fn minor_units_are_exact(#[case] amount: i128, #[case] scale: u32, #[case] expected: &str) {
        assert_eq!(minor_units(amount, scale), expected);
    }

    #[test]
    fn book_units_use_the_spec_precision() {
        let spec = btcusdt();
        assert_eq!(price(&spec, Price(10_001)), "100.01");
        assert_eq!(price(&spec, Price(100)), "1.00");
        assert_eq!(qty(&spec, Qty(50_000)), "0.50000");
        assert_eq!(qty(&spec, Qty(1)), "0.00001");
        assert_eq!(notional(&spec, Notional(1)), "0.0000001");
        assert_eq!(notional(&spec, Notional(10_001 * 50_000)), "50.0050000");
    }

    #[test]
    fn units_with_a_unit_that_has_trailing_zeros() {
        assert_eq!(units(3, dec("0.0500"), 4), "0.1500");
        assert_eq!(units(3, dec("10"), 2), "30.00");
        assert_eq!(places_of(dec("0.0500")), 2);
        assert_eq!(places_of(dec("10")), 0);
    }
}
