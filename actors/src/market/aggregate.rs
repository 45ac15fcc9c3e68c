//! Aggregate trades (Binance's `aggTrades`): consecutive trades of one taker order at one
//! price are one aggregate. An aggregate is named by its first trade id (`a`), which is
//! stable across restarts and grows with time, so `fromId` pages by it.

use super::trade::TradeRecord;
use crate::model::{OrderId, Price, Qty, TradeId};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AggTrade {
    pub first_trade_id: TradeId,
    pub last_trade_id: TradeId,
    pub price: Price,
    pub qty: Qty,
    /// The first trade's time.
    pub time_ms: u64,
    pub buyer_is_maker: bool,
    taker_order_id: OrderId,
}

impl AggTrade {
    /// An aggregate of one trade (as streams build them from book events).
    pub fn new(
        trade_id: TradeId,
        price: Price,
        qty: Qty,
        time_ms: u64,
        buyer_is_maker: bool,
        taker_order_id: OrderId,
    ) -> AggTrade {
        AggTrade {
            first_trade_id: trade_id,
            last_trade_id: trade_id,
            price,
            qty,
            time_ms,
            buyer_is_maker,
            taker_order_id,
        }
    }

    fn of(trade: &TradeRecord) -> AggTrade {
        AggTrade::new(
            trade.trade_id,
            trade.price,
            trade.qty,
            trade.time_ms,
            trade.buyer_is_maker(),
            trade.taker_order_id,
        )
    }

    fn continued_by(&self, trade: &TradeRecord) -> bool {
        trade.trade_id.0 == self.last_trade_id.0 + 1
            && trade.taker_order_id == self.taker_order_id
            && trade.price == self.price
    }
}

/// The aggregates of `trades` (in trade id order). The first one may have begun before
/// `trades` and the last one may go on after it: callers that read a slice of a longer
/// history drop what they cannot know is whole.
pub fn aggregate(trades: &[TradeRecord]) -> Vec<AggTrade> {
    let mut aggregates: Vec<AggTrade> = Vec::new();
    for trade in trades {
        debug_assert!(aggregates.last().is_none_or(|last| last.last_trade_id < trade.trade_id));
        match aggregates.last_mut() {
            Some(last) if last.continued_by(trade) => {
                last.last_trade_id = trade.trade_id;
                // One taker order's fills add up to at most its quantity, a u64.
                last.qty = Qty(last.qty.0.saturating_add(trade.qty.0));
            }
            _ => aggregates.push(AggTrade::of(trade)),
        }
    }
    aggregates
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market::testing::{trade, trade_of};
    use crate::model::Side;

    #[test]
    fn same_taker_and_price_aggregate() {
        // Taker 10 sweeps two makers at 100, then one at 101; taker 11 takes at 101.
        let trades = [
            trade_of(1, 1_000, 100, 2, Side::Buy, 10),
            trade_of(2, 1_000, 100, 3, Side::Buy, 10),
            trade_of(3, 1_000, 101, 1, Side::Buy, 10),
            trade_of(4, 2_000, 101, 4, Side::Sell, 11),
        ];
        let aggregates = aggregate(&trades);
        let summary: Vec<_> = aggregates
            .iter()
            .map(|a| (a.first_trade_id.0, a.last_trade_id.0, a.price.0, a.qty.0, a.buyer_is_maker))
            .collect();
        assert_eq!(summary, [(1, 2, 100, 5, false), (3, 3, 101, 1, false), (4, 4, 101, 4, true)]);
        assert_eq!(aggregates[2].time_ms, 2_000);
    }

    #[test]
    fn a_gap_in_trade_ids_splits_an_aggregate() {
        let trades = [trade_of(1, 0, 100, 1, Side::Buy, 10), trade_of(3, 0, 100, 1, Side::Buy, 10)];
        assert_eq!(aggregate(&trades).len(), 2);
        assert!(aggregate(&[]).is_empty());
        assert_eq!(aggregate(&[trade(7, 5, 100, 1, Side::Sell)])[0].first_trade_id, TradeId(7));
    }
}
