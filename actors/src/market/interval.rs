//! Kline intervals as Binance names them, and which bucket a time falls in. Buckets are UTC:
//! minutes, hours and days from the Unix epoch, `3d` from the epoch too, weeks from Monday
//! (1970-01-05), months from the first of the calendar month.

use serde::{Deserialize, Serialize};

const MINUTE_MS: u64 = 60_000;
const HOUR_MS: u64 = 60 * MINUTE_MS;
pub const DAY_MS: u64 = 24 * HOUR_MS;
/// 1970-01-01 was a Thursday; the first Monday is four days later.
const FIRST_MONDAY_MS: u64 = 4 * DAY_MS;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum KlineInterval {
    Minute1,
    Minute3,
    Minute5,
    Minute15,
    Minute30,
    Hour1,
    Hour2,
    Hour4,
    Hour6,
    Hour8,
    Hour12,
    Day1,
    Day3,
    Week1,
    Month1,
}

impl KlineInterval {
    pub const ALL: [KlineInterval; 15] = [
        KlineInterval::Minute1,
        KlineInterval::Minute3,
        KlineInterval::Minute5,
        KlineInterval::Minute15,
        KlineInterval::Minute30,
        KlineInterval::Hour1,
        KlineInterval::Hour2,
        KlineInterval::Hour4,
        KlineInterval::Hour6,
        KlineInterval::Hour8,
        KlineInterval::Hour12,
        KlineInterval::Day1,
        KlineInterval::Day3,
        KlineInterval::Week1,
        KlineInterval::Month1,
    ];

    /// Binance's name (`1m` ... `1M`).
    pub fn name(self) -> &'static str {
        match self {
            KlineInterval::Minute1 => "1m",
            KlineInterval::Minute3 => "3m",
            KlineInterval::Minute5 => "5m",
            KlineInterval::Minute15 => "15m",
            KlineInterval::Minute30 => "30m",
            KlineInterval::Hour1 => "1h",
            KlineInterval::Hour2 => "2h",
            KlineInterval::Hour4 => "4h",
            KlineInterval::Hour6 => "6h",
            KlineInterval::Hour8 => "8h",
            KlineInterval::Hour12 => "12h",
            KlineInterval::Day1 => "1d",
            KlineInterval::Day3 => "3d",
            KlineInterval::Week1 => "1w",
            KlineInterval::Month1 => "1M",
        }
    }

    pub fn parse(name: &str) -> Option<KlineInterval> {
        KlineInterval::ALL.into_iter().find(|interval| interval.name() == name)
    }

    /// The position in [`KlineInterval::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// The width of a fixed interval; `None` for months.
    fn width_ms(self) -> Option<u64> {
        Some(match self {
            KlineInterval::Minute1 => MINUTE_MS,
            KlineInterval::Minute3 => 3 * MINUTE_MS,
            KlineInterval::Minute5 => 5 * MINUTE_MS,
            KlineInterval::Minute15 => 15 * MINUTE_MS,
            KlineInterval::Minute30 => 30 * MINUTE_MS,
            KlineInterval::Hour1 => HOUR_MS,
            KlineInterval::Hour2 => 2 * HOUR_MS,
            KlineInterval::Hour4 => 4 * HOUR_MS,
            KlineInterval::Hour6 => 6 * HOUR_MS,
            KlineInterval::Hour8 => 8 * HOUR_MS,
            KlineInterval::Hour12 => 12 * HOUR_MS,
            KlineInterval::Day1 => DAY_MS,
            KlineInterval::Day3 => 3 * DAY_MS,
            KlineInterval::Week1 => 7 * DAY_MS,
            KlineInterval::Month1 => return None,
        })
    }

    /// The open time of the bucket holding `time_ms`.
    pub fn open_time(self, time_ms: u64) -> u64 {
        match (self, self.width_ms()) {
            (KlineInterval::Week1, Some(width)) if time_ms < FIRST_MONDAY_MS => {
                FIRST_MONDAY_MS.saturating_sub(width)
            }
            (KlineInterval::Week1, Some(width)) => {
                FIRST_MONDAY_MS + (time_ms - FIRST_MONDAY_MS) / width * width
            }
            (_, Some(width)) => time_ms / width * width,
            (_, None) => {
                let (year, month, _) = civil_from_days(time_ms / DAY_MS);
                days_from_civil(year, month, 1) * DAY_MS
            }
        }
    }

    /// The open time of the bucket after the one opening at `open_ms`.
    pub fn next_open(self, open_ms: u64) -> u64 {
        match self.width_ms() {
            Some(width) => open_ms.saturating_add(width),
            None => {
                let (year, month, _) = civil_from_days(open_ms / DAY_MS);
                let (year, month) = if month == 12 { (year + 1, 1) } else { (year, month + 1) };
                days_from_civil(year, month, 1).saturating_mul(DAY_MS)
            }
        }
    }
}

/// (year, month 1..=12, day 1..=31) of a day count since 1970-01-01 (H. Hinnant's algorithm).
pub fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 { month_index + 3 } else { month_index - 9 };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

/// Days since 1970-01-01 of a date at or after it.
pub fn days_from_civil(year: u64, month: u64, day: u64) -> u64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year / 400;
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    /// 2024-02-29T13:47:05.123Z, a Thursday in a leap year.
    const LEAP_DAY: u64 = 1_709_214_425_123;

    #[rstest]
    #[case(KlineInterval::Minute1, 1_709_214_420_000)]
    #[case(KlineInterval::Minute15, 1_709_214_300_000)]
    #[case(KlineInterval::Hour4, 1_709_208_000_000)]
    #[case(KlineInterval::Day1, 1_709_164_800_000)]
    // Monday 2024-02-26.
    #[case(KlineInterval::Week1, 1_708_905_600_000)]
    // 2024-02-01.
    #[case(KlineInterval::Month1, 1_706_745_600_000)]
    fn buckets_of_a_leap_day(#[case] interval: KlineInterval, #[case] open_ms: u64) {
        assert_eq!(interval.open_time(LEAP_DAY), open_ms);
        assert!(interval.next_open(open_ms) > LEAP_DAY);
    }

    #[test]
    fn months_have_their_calendar_lengths() {
        let february = KlineInterval::Month1.open_time(LEAP_DAY);
        // 29 days in February 2024, then 31 in March.
        let march = KlineInterval::Month1.next_open(february);
        assert_eq!(march - february, 29 * DAY_MS);
        assert_eq!(KlineInterval::Month1.next_open(march) - march, 31 * DAY_MS);
        // December rolls into the next year.
        let december = days_from_civil(2023, 12, 1) * DAY_MS;
        assert_eq!(KlineInterval::Month1.next_open(december), days_from_civil(2024, 1, 1) * DAY_MS);
    }

    #[test]
    fn civil_dates_round_trip() {
        for days in (0..200_000).step_by(37) {
            let (year, month, day) = civil_from_days(days);
            assert_eq!(days_from_civil(year, month, day), days);
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
    }

    #[test]
    fn names_parse_back_and_unknown_names_do_not() {
        for interval in KlineInterval::ALL {
            assert_eq!(KlineInterval::parse(interval.name()), Some(interval));
            assert_eq!(KlineInterval::ALL[interval.index()], interval);
        }
        for bad in ["", "1s", "2m", "1H", "1mo", "1d "] {
            assert_eq!(KlineInterval::parse(bad), None);
        }
    }

    #[test]
    fn every_bucket_contains_its_times() {
        for interval in KlineInterval::ALL {
            for time in [0, 1, 345_600_000, LEAP_DAY, 4_102_444_800_000] {
                let open = interval.open_time(time);
                assert!(open <= time || time < FIRST_MONDAY_MS, "{interval:?} {time}");
                assert!(interval.next_open(open) > time, "{interval:?} {time}");
                assert_eq!(interval.open_time(open), open, "{interval:?} {time}");
            }
        }
    }
}
