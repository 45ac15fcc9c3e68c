//! Klines (candlesticks): [`Kline`] folds trades of one bucket; [`KlineSeries`] keeps the
//! newest `capacity` klines of one interval (bounded) and answers Binance's selections when
//! they lie inside what it holds, saying so when they do not (the caller then reads the
//! `klines` table, which holds every kline).

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use super::interval::KlineInterval;
use super::trade::TradeRecord;
use crate::model::{Price, Side, TradeId};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kline {
    pub open_time_ms: u64,
    pub open: Price,
    pub high: Price,
    pub low: Price,
    pub close: Price,
    /// Base lots traded.
    pub volume: u128,
    /// Notional units (tick x lot) traded.
    pub quote_volume: i128,
    pub trade_count: u64,
    pub taker_buy_volume: u128,
    pub taker_buy_quote_volume: i128,
    pub first_trade_id: TradeId,
    pub last_trade_id: TradeId,
}

impl Kline {
    pub fn opened_by(open_time_ms: u64, trade: &TradeRecord) -> Kline {
        let mut kline = Kline {
            open_time_ms,
            open: trade.price,
            high: trade.price,
            low: trade.price,
            close: trade.price,
            volume: 0,
            quote_volume: 0,
            trade_count: 0,
            taker_buy_volume: 0,
            taker_buy_quote_volume: 0,
            first_trade_id: trade.trade_id,
            last_trade_id: trade.trade_id,
        };
        kline.add(trade);
        kline
    }

    /// Folds `trade`, which comes after every trade already in (trade ids grow).
    pub fn add(&mut self, trade: &TradeRecord) {
        self.high = self.high.max(trade.price);
        self.low = self.low.min(trade.price);
        self.close = trade.price;
        let notional = trade.notional().0;
        self.volume += u128::from(trade.qty.0);
        self.quote_volume += notional;
        self.trade_count += 1;
        if trade.taker_side == Side::Buy {
            self.taker_buy_volume += u128::from(trade.qty.0);
            self.taker_buy_quote_volume += notional;
        }
        self.last_trade_id = trade.trade_id;
    }
}

/// Which klines a request selects (Binance's `startTime`, `endTime`, `limit`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KlineWindow {
    /// Klines whose bucket contains or follows this time.
    pub start_ms: Option<u64>,
    /// Klines opening at or before this time.
    pub end_ms: Option<u64>,
    pub limit: usize,
}

impl KlineWindow {
    /// Binance reads up from `startTime`; without it, the newest `limit` up to `endTime`.
    pub fn oldest_first(&self) -> bool {
        self.start_ms.is_some()
    }

    fn contains(&self, interval: KlineInterval, open_ms: u64) -> bool {
        self.start_ms.is_none_or(|start| open_ms >= interval.open_time(start))
            && self.end_ms.is_none_or(|end| open_ms <= end)
    }
}

/// The newest klines of one interval, oldest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KlineSeries {
    interval: KlineInterval,
    capacity: usize,
    klines: VecDeque<Kline>,
    /// Whether klines older than the oldest held exist (dropped here, kept in the table).
    truncated: bool,
}

impl KlineSeries {
    /// `restored`: the newest stored klines, oldest first; `complete`: whether they are all
    /// there are.
    pub fn new(
        interval: KlineInterval,
        capacity: usize,
        restored: Vec<Kline>,
        complete: bool,
    ) -> KlineSeries {
        assert!(capacity > 0, "a kline series holds at least the current kline");
        let mut series =
            KlineSeries { interval, capacity, klines: VecDeque::new(), truncated: !complete };
        for kline in restored {
            series.push(kline);
        }
        series
    }

    pub fn interval(&self) -> KlineInterval {
        self.interval
    }

    pub fn klines(&self) -> impl DoubleEndedIterator<Item = &Kline> {
        self.klines.iter()
    }

    fn push(&mut self, kline: Kline) {
        debug_assert!(self.klines.back().is_none_or(|last| last.open_time_ms < kline.open_time_ms));
        self.klines.push_back(kline);
        if self.klines.len() > self.capacity {
            self.klines.pop_front();
            self.truncated = true;
        }
    }

    /// Folds `trade` and returns the kline it changed. A trade stamped before the current
    /// bucket (the wall clock stepped back) joins the current bucket: klines never reopen.
    pub fn add(&mut self, trade: &TradeRecord) -> Kline {
        let open_ms = self.interval.open_time(trade.time_ms);
        match self.klines.back_mut() {
            Some(last) if last.open_time_ms >= open_ms => last.add(trade),
            _ => self.push(Kline::opened_by(open_ms, trade)),
        }
        *self.klines.back().expect("just added")
    }

    /// The klines `window` selects, oldest first, or `None` when some of them may be older
    /// than what this series holds.
    pub fn select(&self, window: &KlineWindow) -> Option<Vec<Kline>> {
        let inside =
            self.klines.iter().filter(|kline| window.contains(self.interval, kline.open_time_ms));
        if window.oldest_first() {
            let start = window.start_ms.map_or(0, |start| self.interval.open_time(start));
            let held_from = self.klines.front().map(|kline| kline.open_time_ms);
            if self.truncated && held_from.is_none_or(|held| start < held) {
                return None;
            }
            return Some(inside.take(window.limit).copied().collect());
        }
        let mut newest: Vec<Kline> = inside.rev().take(window.limit).copied().collect();
        if newest.len() < window.limit && self.truncated {
            return None;
        }
        newest.reverse();
        Some(newest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market::testing::trade;

    fn series(capacity: usize) -> KlineSeries {
        KlineSeries::new(KlineInterval::Minute1, capacity, Vec::new(), true)
    }

    #[test]
    fn trades_fold_into_their_minute() {
        let mut klines = series(10);
        klines.add(&trade(1, 60_000, 100, 2, Side::Buy));
        klines.add(&trade(2, 60_500, 103, 1, Side::Sell));
        klines.add(&trade(3, 119_999, 99, 4, Side::Buy));
        let last = klines.add(&trade(4, 120_000, 101, 1, Side::Sell));
        let all: Vec<Kline> = klines.klines().copied().collect();
        assert_eq!(all.len(), 2);
        let first = all[0];
        assert_eq!(first.open_time_ms, 60_000);
        assert_eq!(
            (first.open, first.high, first.low, first.close),
            (Price(100), Price(103), Price(99), Price(99))
        );
        assert_eq!(first.volume, 7);
        assert_eq!(first.quote_volume, 200 + 103 + 396);
        assert_eq!((first.taker_buy_volume, first.taker_buy_quote_volume), (6, 596));
        assert_eq!(
            (first.trade_count, first.first_trade_id, first.last_trade_id),
            (3, TradeId(1), TradeId(3))
        );
        assert_eq!(last.open_time_ms, 120_000);
        assert_eq!(last.trade_count, 1);
    }

    #[test]
    fn a_trade_stamped_in_the_past_joins_the_current_kline() {
        let mut klines = series(10);
        klines.add(&trade(1, 120_000, 100, 1, Side::Buy));
        let kline = klines.add(&trade(2, 60_000, 90, 1, Side::Buy));
        assert_eq!(kline.open_time_ms, 120_000);
        assert_eq!(kline.low, Price(90));
        assert_eq!(klines.klines().count(), 1);
    }

    #[test]
    fn capacity_bounds_memory_and_marks_what_was_dropped() {
        let mut klines = series(3);
        for minute in 0..5 {
            klines.add(&trade(minute + 1, minute * 60_000, 100, 1, Side::Buy));
        }
        let opens: Vec<u64> = klines.klines().map(|kline| kline.open_time_ms).collect();
        assert_eq!(opens, [120_000, 180_000, 240_000]);
        let recent = KlineWindow { start_ms: None, end_ms: None, limit: 2 };
        let selected = klines.select(&recent).expect("held");
        assert_eq!(selected.iter().map(|k| k.open_time_ms).collect::<Vec<_>>(), [180_000, 240_000]);
        // More than held, or from before the oldest held: only the table can answer.
        assert_eq!(klines.select(&KlineWindow { limit: 4, ..recent }), None);
        let old = KlineWindow { start_ms: Some(60_000), end_ms: None, limit: 2 };
        assert_eq!(klines.select(&old), None);
        let held = KlineWindow { start_ms: Some(150_000), end_ms: Some(180_000), limit: 9 };
        let selected = klines.select(&held).expect("held");
        assert_eq!(selected.iter().map(|k| k.open_time_ms).collect::<Vec<_>>(), [120_000, 180_000]);
    }

    #[test]
    fn a_complete_series_answers_everything() {
        let mut klines = series(10);
        klines.add(&trade(1, 600_000, 100, 1, Side::Buy));
        let window = KlineWindow { start_ms: Some(0), end_ms: None, limit: 500 };
        assert_eq!(klines.select(&window).expect("complete").len(), 1);
        let window = KlineWindow { start_ms: None, end_ms: Some(59_999), limit: 500 };
        assert_eq!(klines.select(&window), Some(Vec::new()));
    }
}
