//! Rolling 24-hour statistics, folded from the 1-minute klines: the window starts at the
//! open of the minute 24 h before now, so it reaches back at most 59,999 ms more than 24 h
//! (as Binance's rolling-window tickers do). Memory: the 1-minute series, nothing per trade.

use super::interval::{DAY_MS, KlineInterval};
use super::kline::{Kline, KlineSeries};
use super::trade::TradeRecord;
use crate::model::{Price, Qty, TradeId};

/// 1-minute klines the ticker needs (24 h and the current minute).
pub const TICKER_MINUTES: usize = 1_441;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TickerStats {
    pub open_time_ms: u64,
    pub close_time_ms: u64,
    pub open: Price,
    pub high: Price,
    pub low: Price,
    pub last: Price,
    pub last_qty: Qty,
    /// The last price before the window (the window's open when nothing came before).
    pub prev_close: Price,
    pub volume: u128,
    pub quote_volume: i128,
    /// `None` when nothing traded in the window.
    pub trade_ids: Option<(TradeId, TradeId)>,
    pub count: u64,
}

/// The window ending at `now_ms`, or `None` when the symbol never traded.
pub fn rolling_ticker(
    minutes: &KlineSeries,
    last_trade: Option<&TradeRecord>,
    now_ms: u64,
) -> Option<TickerStats> {
    debug_assert_eq!(minutes.interval(), KlineInterval::Minute1);
    let last_trade = last_trade?;
    let window_open = KlineInterval::Minute1.open_time(now_ms.saturating_sub(DAY_MS));
    let inside: Vec<&Kline> =
        minutes.klines().filter(|kline| kline.open_time_ms >= window_open).collect();
    let before = minutes.klines().rev().find(|kline| kline.open_time_ms < window_open);
    let mut stats = TickerStats {
        open_time_ms: now_ms.saturating_sub(DAY_MS),
        close_time_ms: now_ms,
        open: last_trade.price,
        high: last_trade.price,
        low: last_trade.price,
        last: last_trade.price,
        last_qty: last_trade.qty,
        prev_close: before.map_or(last_trade.price, |kline| kline.close),
        volume: 0,
        quote_volume: 0,
        trade_ids: None,
        count: 0,
    };
    let (Some(first), Some(last)) = (inside.first(), inside.last()) else { return Some(stats) };
    stats.open = first.open;
    stats.prev_close = before.map_or(first.open, |kline| kline.close);
    stats.high = inside.iter().map(|kline| kline.high).max().unwrap_or(first.high);
    stats.low = inside.iter().map(|kline| kline.low).min().unwrap_or(first.low);
    stats.volume = inside.iter().map(|kline| kline.volume).sum();
    stats.quote_volume = inside.iter().map(|kline| kline.quote_volume).sum();
    stats.count = inside.iter().map(|kline| kline.trade_count).sum();
    stats.trade_ids = Some((first.first_trade_id, last.last_trade_id));
    Some(stats)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market::testing::trade;
    use crate::model::Side;

    const MINUTE: u64 = 60_000;
    const NOW: u64 = 10 * DAY_MS + 30 * MINUTE + 5_000;

    fn minutes(trades: &[TradeRecord]) -> KlineSeries {
        let mut series = KlineSeries::new(KlineInterval::Minute1, 1_500, Vec::new(), true);
        for trade in trades {
            series.add(trade);
        }
        series
    }

    #[test]
    fn never_traded_has_no_ticker() {
        assert_eq!(rolling_ticker(&minutes(&[]), None, NOW), None);
    }

    #[test]
    fn the_window_rolls_by_the_minute() {
        let trades = [
            // Just outside: the current minute's open minus 1,440 minutes.
            trade(1, NOW - DAY_MS - MINUTE, 90, 1, Side::Buy),
            // The oldest minute inside (up to 59,999 ms older than 24 h).
            trade(2, NOW - DAY_MS + 1_000, 100, 2, Side::Sell),
            trade(3, NOW - 3 * MINUTE, 120, 1, Side::Buy),
            trade(4, NOW - 1_000, 110, 5, Side::Buy),
        ];
        let stats = rolling_ticker(&minutes(&trades), trades.last(), NOW).expect("traded");
        assert_eq!(
            (stats.open, stats.high, stats.low, stats.last),
            (Price(100), Price(120), Price(100), Price(110))
        );
        assert_eq!(stats.prev_close, Price(90));
        assert_eq!((stats.volume, stats.quote_volume, stats.count), (8, 200 + 120 + 550, 3));
        assert_eq!(stats.trade_ids, Some((TradeId(2), TradeId(4))));
        assert_eq!((stats.open_time_ms, stats.close_time_ms), (NOW - DAY_MS, NOW));
        assert_eq!(stats.last_qty, Qty(5));
    }

    #[test]
    fn a_quiet_day_shows_the_last_price_and_no_volume() {
        let trades = [trade(1, NOW - 2 * DAY_MS, 90, 1, Side::Buy)];
        let stats = rolling_ticker(&minutes(&trades), trades.last(), NOW).expect("traded");
        assert_eq!(
            (stats.open, stats.high, stats.low, stats.last),
            (Price(90), Price(90), Price(90), Price(90))
        );
        assert_eq!((stats.volume, stats.count, stats.trade_ids), (0, 0, None));
    }
}
