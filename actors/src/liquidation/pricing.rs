//! Mark price and funding rate of a perpetual, pure.
//!
//! Mark price: the book's mid price clamped to within `band_bps` of the index,
//! `mark = clamp(mid, index x (1 - band), index x (1 + band))`, or the index itself when the book
//! has no two-sided mid; rounded to the nearest tick. The index (a median of independent
//! sources, published by one leader under a fencing epoch) anchors it, so a thin or pushed book
//! cannot move the mark, and hence liquidations, more than the band; the mid makes it follow
//! the perpetual's own market inside the band. There is no mark without a fresh index.
//!
//! Funding: each mark sample gives a premium `(mark - index) / index`. At the end of each
//! funding interval (interval id = `ms / interval_ms`) the rate is the mean premium of the
//! interval's samples clamped to `± rate_cap`, rounded to [`FUNDING_RATE_SCALE`] places;
//! positive: longs pay shorts. Paying it is the account shards' job (once per interval id).

use rust_decimal::{Decimal, RoundingStrategy};

use crate::model::{BASIS_POINTS_PER_WHOLE, Price};

/// Decimal places of a funding rate (0.00000001 = 0.000001%).
pub const FUNDING_RATE_SCALE: u32 = 8;

/// The mark of a perpetual with tick `tick_size`, from a fresh `index` and the book's `mid`.
/// `None` when the index is not positive or the mark is below one tick.
pub fn mark_price(
    index: Decimal,
    mid: Option<Decimal>,
    band_bps: u32,
    tick_size: Decimal,
) -> Option<Price> {
    if index <= Decimal::ZERO || tick_size <= Decimal::ZERO {
        return None;
    }
    let band = index * Decimal::from(band_bps) / Decimal::from(BASIS_POINTS_PER_WHOLE);
    let mark = mid.map_or(index, |mid| mid.clamp(index - band, index + band));
    let ticks =
        (mark / tick_size).round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero);
    let ticks = i64::try_from(ticks.mantissa()).ok()?;
    (ticks > 0).then_some(Price(ticks))
}

/// A funding interval that ended: what each shard is asked to pay.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FundingDue {
    pub interval_id: u64,
    /// Signed fraction with at most [`FUNDING_RATE_SCALE`] places, within the cap.
    pub rate: Decimal,
    /// The interval's last mark: positions pay on their notional at it.
    pub mark: Price,
}

/// Premium samples of the current funding interval of one perpetual.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FundingClock {
    interval_ms: u64,
    rate_cap: Decimal,
    interval_id: Option<u64>,
    premium_sum: Decimal,
    samples: u32,
    last_mark: Price,
}

impl FundingClock {
    pub fn new(interval_ms: u64, rate_cap: Decimal) -> FundingClock {
        assert!(interval_ms > 0, "a funding interval lasts");
        assert!(rate_cap >= Decimal::ZERO && rate_cap < Decimal::ONE, "cap {rate_cap} in [0, 1)");
        FundingClock {
            interval_ms,
            rate_cap,
            interval_id: None,
            premium_sum: Decimal::ZERO,
            samples: 0,
            last_mark: Price(0),
        }
    }

    /// Adds the sample taken at `now_ms`; returns the funding of the interval it ended, if any.
    pub fn sample(
        &mut self,
        now_ms: u64,
        index: Decimal,
        mark_decimal: Decimal,
        mark: Price,
    ) -> Option<FundingDue> {
        let interval_id = now_ms / self.interval_ms;
        let mut due = None;
        match self.interval_id {
            Some(current) if current < interval_id => {
                due = self.due(current);
                self.premium_sum = Decimal::ZERO;
                self.samples = 0;
                self.interval_id = Some(interval_id);
            }
            Some(current) if current > interval_id => return None, // the clock went back
            Some(_) => {}
            None => self.interval_id = Some(interval_id),
        }
        if index > Decimal::ZERO {
            self.premium_sum += (mark_decimal - index) / index;
            self.samples += 1;
            self.last_mark = mark;
        }
        due
    }

    fn due(&self, interval_id: u64) -> Option<FundingDue> {
        if self.samples == 0 {
            return None;
        }
        let mean = self.premium_sum / Decimal::from(self.samples);
        let rate = mean
            .clamp(-self.rate_cap, self.rate_cap)
            .round_dp_with_strategy(FUNDING_RATE_SCALE, RoundingStrategy::MidpointNearestEven);
        Some(FundingDue { interval_id, rate, mark: self.last_mark })
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;
    use crate::model::dec;

    #[rstest]
    #[case::mid_inside_band("100", Some("100.3"), 10030)]
    #[case::mid_above_band("100", Some("120"), 10050)]
    #[case::mid_below_band("100", Some("80"), 9950)]
    #[case::no_mid("100", None, 10000)]
    #[case::rounds_to_tick("100.004", None, 10000)]
    fn mark_is_mid_clamped_to_the_index_band(
        #[case] index: &str,
        #[case] mid: Option<&str>,
        #[case] ticks: i64,
    ) {
        let mark = mark_price(dec(index), mid.map(dec), 50, dec("0.01"));
        assert_eq!(mark, Some(Price(ticks)));
    }

    #[test]
    fn no_mark_without_a_positive_index() {
        assert_eq!(mark_price(Decimal::ZERO, Some(dec("100")), 50, dec("0.01")), None);
    }

    #[test]
    fn funding_is_due_once_per_interval_with_the_clamped_mean_premium() {
        let mut clock = FundingClock::new(1_000, dec("0.001"));
        let index = dec("100");
        assert_eq!(clock.sample(5_000, index, dec("100.1"), Price(10010)), None);
        assert_eq!(clock.sample(5_500, index, dec("100.3"), Price(10030)), None);
        // Mean premium 0.002, clamped to 0.001; paid at the interval's last mark.
        let due = clock.sample(6_000, index, dec("100"), Price(10000));
        assert_eq!(
            due,
            Some(FundingDue { interval_id: 5, rate: dec("0.001"), mark: Price(10030) })
        );
        // A sample from an older interval changes nothing.
        assert_eq!(clock.sample(5_900, index, dec("90"), Price(9000)), None);
        let due = clock.sample(7_000, index, dec("99.99"), Price(9999));
        assert_eq!(due, Some(FundingDue { interval_id: 6, rate: dec("0"), mark: Price(10000) }));
        let due = clock.sample(8_000, index, dec("99.99"), Price(9999));
        assert_eq!(due.map(|due| due.rate), Some(dec("-0.0001")));
    }
}
