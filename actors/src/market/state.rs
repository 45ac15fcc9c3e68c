//! [`SymbolMarket`]: one symbol's market data in memory, fed committed trades in trade id
//! order: the newest trades (a bounded tape), the newest klines of every interval, and the
//! last trade. Bounded: `replay_count` trades and [`KLINES_KEPT`] klines per interval
//! ([`TICKER_MINUTES`] + margin for 1m), whatever the input.

use std::collections::VecDeque;

use super::aggregate::{AggTrade, aggregate};
use super::interval::KlineInterval;
use super::kline::{Kline, KlineSeries, KlineWindow};
use super::ticker::{TICKER_MINUTES, TickerStats, rolling_ticker};
use super::trade::TradeRecord;

/// Klines kept per interval: Binance's largest `limit`.
pub const KLINES_KEPT: usize = 1_000;
/// 1-minute klines kept: a full ticker window and a few minutes more.
pub const MINUTE_KLINES_KEPT: usize = TICKER_MINUTES + 60;

/// What a symbol's market data starts from: the newest stored trades and klines, oldest first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MarketRestore {
    pub trades: Vec<TradeRecord>,
    /// Indexed like [`KlineInterval::ALL`]; each with whether it holds every stored kline.
    pub klines: Vec<(Vec<Kline>, bool)>,
}

/// How many klines of `interval` the market keeps (and restores).
pub fn klines_kept(interval: KlineInterval) -> usize {
    if interval == KlineInterval::Minute1 { MINUTE_KLINES_KEPT } else { KLINES_KEPT }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SymbolMarket {
    replay_count: usize,
    tape: VecDeque<TradeRecord>,
    /// Whether trades older than the tape's oldest exist.
    tape_truncated: bool,
    klines: Vec<KlineSeries>,
}

impl SymbolMarket {
    /// `replay_count` (at least 1) trades are kept; `restore.trades` holds at most that many.
    pub fn new(replay_count: usize, restore: MarketRestore) -> SymbolMarket {
        assert!(replay_count > 0, "the tape keeps at least the last trade");
        let mut restored_klines = restore.klines.into_iter();
        let klines = KlineInterval::ALL
            .into_iter()
            .map(|interval| {
                let (klines, complete) = restored_klines.next().unwrap_or((Vec::new(), true));
                KlineSeries::new(interval, klines_kept(interval), klines, complete)
            })
            .collect();
        let tape_truncated = restore.trades.len() >= replay_count;
        let skip = restore.trades.len().saturating_sub(replay_count);
        let tape = restore.trades.into_iter().skip(skip).collect();
        SymbolMarket { replay_count, tape, tape_truncated, klines }
    }

    /// Folds committed trades, skipping those not above the last one seen: the history
    /// writer sends trades again when it refills commits the database lost after confirming
    /// them (asynchronous commits and a database crash), and they were folded the first time.
    pub fn apply(&mut self, trades: &[TradeRecord]) {
        for trade in trades {
            if self.tape.back().is_some_and(|last| last.trade_id >= trade.trade_id) {
                continue;
            }
            for series in &mut self.klines {
                series.add(trade);
            }
            self.tape.push_back(*trade);
            if self.tape.len() > self.replay_count {
                self.tape.pop_front();
                self.tape_truncated = true;
            }
        }
    }

    pub fn last_trade(&self) -> Option<&TradeRecord> {
        self.tape.back()
    }

    /// The newest `limit` trades, oldest first.
    pub fn recent_trades(&self, limit: usize) -> Vec<TradeRecord> {
        let skip = self.tape.len().saturating_sub(limit);
        self.tape.iter().skip(skip).copied().collect()
    }

    /// The newest `limit` aggregates, oldest first, or `None` when the tape may not hold them
    /// all (the oldest one on a truncated tape may have lost its first trades).
    pub fn recent_aggregates(&self, limit: usize) -> Option<Vec<AggTrade>> {
        let trades: Vec<TradeRecord> = self.tape.iter().copied().collect();
        let mut aggregates = aggregate(&trades);
        if self.tape_truncated && !aggregates.is_empty() {
            aggregates.remove(0);
        }
        if aggregates.len() < limit && self.tape_truncated {
            return None;
        }
        let skip = aggregates.len().saturating_sub(limit);
        Some(aggregates.split_off(skip))
    }

    pub fn ticker(&self, now_ms: u64) -> Option<TickerStats> {
        rolling_ticker(&self.klines[KlineInterval::Minute1.index()], self.last_trade(), now_ms)
    }

    /// The klines `window` selects, or `None` when the table must answer.
    pub fn klines(&self, interval: KlineInterval, window: &KlineWindow) -> Option<Vec<Kline>> {
        self.klines[interval.index()].select(window)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market::testing::{trade, trade_of};
    use crate::model::{Side, TradeId};

    #[test]
    fn the_tape_keeps_the_newest_trades() {
        let mut market = SymbolMarket::new(3, MarketRestore::default());
        let trades: Vec<_> = (1..=5).map(|id| trade(id, id * 1_000, 100, 1, Side::Buy)).collect();
        market.apply(&trades);
        let ids: Vec<u64> = market.recent_trades(10).iter().map(|t| t.trade_id.0).collect();
        assert_eq!(ids, [3, 4, 5]);
        assert_eq!(market.recent_trades(2).len(), 2);
        assert_eq!(market.last_trade().map(|t| t.trade_id), Some(TradeId(5)));
    }

    #[test]
    fn trades_sent_again_after_a_refill_are_folded_once() {
        let trades: Vec<_> =
            (1..=4).map(|id| trade(id, id * 70_000, 100 + id as i64, 1, Side::Buy)).collect();
        let mut once = SymbolMarket::new(10, MarketRestore::default());
        once.apply(&trades);
        let mut again = SymbolMarket::new(10, MarketRestore::default());
        again.apply(&trades[..3]);
        // The history lost its commit of 2..=3 and refilled 2..=4 from the journal.
        again.apply(&trades[1..]);
        assert_eq!(again, once);
    }

    #[test]
    fn a_restore_is_as_good_as_the_trades_it_came_from() {
        let trades: Vec<_> =
            (1..=4).map(|id| trade(id, id * 70_000, 100 + id as i64, 1, Side::Buy)).collect();
        let mut live = SymbolMarket::new(10, MarketRestore::default());
        live.apply(&trades);
        let restore = MarketRestore {
            trades: trades.clone(),
            klines: KlineInterval::ALL
                .iter()
                .map(|interval| {
                    let window = KlineWindow { start_ms: Some(0), end_ms: None, limit: 1_000 };
                    (live.klines(*interval, &window).expect("complete"), true)
                })
                .collect(),
        };
        let restored = SymbolMarket::new(10, restore);
        assert_eq!(restored, live);
    }

    #[test]
    fn aggregates_on_a_truncated_tape_drop_the_partial_oldest_one() {
        let mut market = SymbolMarket::new(3, MarketRestore::default());
        let trades = [
            trade_of(1, 0, 100, 1, Side::Buy, 7),
            trade_of(2, 0, 100, 1, Side::Buy, 7),
            trade_of(3, 0, 100, 1, Side::Buy, 7),
            trade_of(4, 0, 101, 1, Side::Sell, 8),
        ];
        market.apply(&trades);
        // The tape holds 2, 3 (a tail of taker 7's aggregate) and 4.
        let aggregates = market.recent_aggregates(1).expect("one whole aggregate is held");
        assert_eq!(aggregates.len(), 1);
        assert_eq!(aggregates[0].first_trade_id, TradeId(4));
        assert_eq!(market.recent_aggregates(2), None);
        let fresh = SymbolMarket::new(3, MarketRestore::default());
        assert_eq!(fresh.recent_aggregates(500), Some(Vec::new()));
    }
}
