//! [`SymbolHistory`]: what the history writer keeps per symbol, pure: the watermark of the
//! book events it has turned into trades and the current kline of every interval. Each
//! [`SymbolHistory::apply`] yields one [`TradeBatch`], the rows to write in one transaction
//! with the new watermark. State moves ahead of the table; a writer whose commit fails
//! rebuilds this from the table (watermark and newest klines) and catches up from the journal.

use std::collections::BTreeMap;

use super::interval::KlineInterval;
use super::kline::{Kline, KlineSeries};
use super::trade::{TradeApplyError, TradeCursor, TradeRecord};
use crate::account::MarketSpec;
use crate::model::{BookEvent, SymbolCode};

/// One symbol's step of the history: trades, the klines they changed, the new watermark.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TradeBatch {
    pub symbol: SymbolCode,
    pub trades: Vec<TradeRecord>,
    /// Each kline the trades changed, as it stands after them.
    pub klines: Vec<(KlineInterval, Kline)>,
    /// The last event seq the batch covers.
    pub watermark: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SymbolHistory {
    cursor: TradeCursor,
    /// The current kline of each interval (capacity 1), indexed like [`KlineInterval::ALL`].
    klines: Vec<KlineSeries>,
}

impl SymbolHistory {
    /// `current`: the newest stored kline of each interval, indexed like
    /// [`KlineInterval::ALL`] (missing ones: none stored).
    pub fn new(market: MarketSpec, watermark: u64, current: Vec<Option<Kline>>) -> SymbolHistory {
        let mut current = current.into_iter();
        let klines = KlineInterval::ALL
            .into_iter()
            .map(|interval| {
                let stored = current.next().flatten().into_iter().collect();
                KlineSeries::new(interval, 1, stored, false)
            })
            .collect();
        SymbolHistory { cursor: TradeCursor { market, watermark }, klines }
    }

    pub fn symbol(&self) -> SymbolCode {
        self.cursor.market.symbol
    }

    pub fn watermark(&self) -> u64 {
        self.cursor.watermark
    }

    /// The batch `events` make past the watermark; `None` when they hold nothing new.
    /// On an error nothing changed.
    pub fn apply(&mut self, events: &[BookEvent]) -> Result<Option<TradeBatch>, TradeApplyError> {
        let (trades, watermark) = self.cursor.fresh_trades(events)?;
        if watermark == self.cursor.watermark {
            return Ok(None);
        }
        let mut changed = BTreeMap::new();
        for trade in &trades {
            for series in &mut self.klines {
                let kline = series.add(trade);
                changed.insert((series.interval(), kline.open_time_ms), kline);
            }
        }
        self.cursor.advance(watermark);
        let klines = changed.into_iter().map(|((interval, _), kline)| (interval, kline)).collect();
        Ok(Some(TradeBatch { symbol: self.symbol(), trades, klines, watermark }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{
        AccountId, EventKind, LevelChanged, OrderId, Price, Qty, Side, TradeExecuted, TradeId,
        btcusdt,
    };

    fn market() -> MarketSpec {
        MarketSpec::new(&btcusdt(), 8, 8).expect("spec")
    }

    fn traded(seq: u64, trade_id: u64, ts_ms: u64, taker_side: Side) -> BookEvent {
        let kind = EventKind::Traded(TradeExecuted {
            trade_id: TradeId(trade_id),
            price: Price(10_000),
            qty: Qty(3),
            taker_side,
            maker_order_id: OrderId(1),
            maker_account_id: AccountId(1),
            taker_order_id: OrderId(2),
            taker_account_id: AccountId(2),
            maker_open_qty: Qty(0),
            maker_fee: btcusdt().maker_fee().expect("rate"),
            taker_fee: btcusdt().taker_fee().expect("rate"),
        });
        BookEvent { seq, ts_ns: ts_ms * 1_000_000, kind }
    }

    fn level(seq: u64) -> BookEvent {
        let kind =
            EventKind::LevelChanged(LevelChanged { side: Side::Buy, price: Price(1), qty: Qty(0) });
        BookEvent { seq, ts_ns: 0, kind }
    }

    #[test]
    fn each_event_counts_once_and_a_gap_changes_nothing() {
        let mut history = SymbolHistory::new(market(), 0, Vec::new());
        let first = [traded(1, 1, 60_000, Side::Buy), level(2)];
        let batch = history.apply(&first).expect("applies").expect("new");
        assert_eq!((batch.trades.len(), batch.watermark), (1, 2));
        // Every interval's kline once.
        assert_eq!(batch.klines.len(), KlineInterval::ALL.len());
        // Redelivered: nothing new.
        assert_eq!(history.apply(&first), Ok(None));
        let before = history.clone();
        let gap = [traded(4, 2, 60_001, Side::Sell)];
        assert!(matches!(history.apply(&gap), Err(TradeApplyError::Gap { expected: 3, .. })));
        assert_eq!(history, before);
        // An overlap is trimmed to what is new.
        let overlap = [level(2), level(3), traded(4, 2, 60_001, Side::Sell)];
        let batch = history.apply(&overlap).expect("applies").expect("new");
        assert_eq!(batch.trades.iter().map(|t| t.trade_id.0).collect::<Vec<_>>(), [2]);
        assert_eq!(batch.klines[0].1.trade_count, 2);
        assert_eq!(history.watermark(), 4);
    }

    #[test]
    fn fees_are_what_each_side_was_charged() {
        let market = market();
        let mut history = SymbolHistory::new(market, 0, Vec::new());
        let batch = history.apply(&[traded(1, 1, 0, Side::Buy)]).expect("ok").expect("new");
        let trade = batch.trades[0];
        // The taker bought 3 lots: its fee is on the base it received; the maker sold.
        let base = market.base_amount(Qty(3));
        let quote = market.quote_amount(trade.notional());
        let spec = btcusdt();
        assert_eq!(i128::from(trade.taker_fee), spec.taker_fee().expect("rate").fee_on(base));
        assert_eq!(i128::from(trade.maker_fee), spec.maker_fee().expect("rate").fee_on(quote));
        assert!(!trade.buyer_is_maker());
        let sides: Vec<_> = trade.sides_of(AccountId(2)).collect();
        assert_eq!(sides, [(true, false, trade.taker_fee)]);
    }
}
