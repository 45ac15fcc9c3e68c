//! [`DiffCursor`]: turns one symbol's bus batches into Binance diff-depth updates and trades,
//! pure. `U`/`u` are book event seqs, the sequence REST depth's `lastUpdateId` comes from:
//! a diff covers every event from `U` to `u`, so a client that applies diffs past its snapshot
//! sees `U` = previous `u` + 1 unless events were really lost.
//!
//! Batches without level changes send nothing; the next diff starts where they started, so
//! they leave no hole. A gap on the bus is passed through as it is (the diff's `U` jumps and
//! clients resync); it is never filled with made-up events. Events at or below the cursor (a
//! redelivery) are skipped.

use std::collections::BTreeMap;

use crate::market::AggTrade;
use crate::model::{BookEvent, EventKind, OrderId, Price, Qty, Side, TradeExecuted};

/// One diff-depth update: the final quantity of every level that changed (0 = removed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DepthDiff {
    pub first_seq: u64,
    pub last_seq: u64,
    /// Time of the last event, ns; once merged for a frame ([`super::PendingDiff`]), the
    /// frame's time (Binance's `E`).
    pub ts_ns: u64,
    /// Best first.
    pub bids: Vec<(Price, Qty)>,
    pub asks: Vec<(Price, Qty)>,
}

/// A trade with its event time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamTrade {
    pub trade: TradeExecuted,
    pub ts_ns: u64,
}

/// What one batch gives the streams.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BatchStreams {
    pub diff: Option<DepthDiff>,
    pub trades: Vec<StreamTrade>,
    /// `(expected, got)` when the batch did not continue the last one.
    pub gap: Option<(u64, u64)>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DiffCursor {
    /// The last event seq seen; `None` before the first batch.
    last_seq: Option<u64>,
    /// First seq of events seen since the last diff that changed no level.
    carried_from: Option<u64>,
}

impl DiffCursor {
    /// The last event seq seen; `None` before the first batch.
    pub fn last_seq(&self) -> Option<u64> {
        self.last_seq
    }

    pub fn apply(&mut self, batch: &[BookEvent]) -> BatchStreams {
        let mut out = BatchStreams::default();
        let last_seen = self.last_seq.unwrap_or(0);
        let fresh: Vec<&BookEvent> = batch.iter().filter(|e| e.seq > last_seen).collect();
        let (Some(first), Some(last)) = (fresh.first(), fresh.last()) else { return out };
        debug_assert!(fresh.windows(2).all(|pair| pair[0].seq + 1 == pair[1].seq));
        if let Some(seen) = self.last_seq
            && first.seq != seen + 1
        {
            out.gap = Some((seen + 1, first.seq));
            self.carried_from = None;
        }
        let first_seq = self.carried_from.take().unwrap_or(first.seq);
        self.last_seq = Some(last.seq);
        let mut bids = BTreeMap::new();
        let mut asks = BTreeMap::new();
        for event in &fresh {
            match event.kind {
                EventKind::LevelChanged(level) => {
                    let side = if level.side == Side::Buy { &mut bids } else { &mut asks };
                    side.insert(level.price, level.qty);
                }
                EventKind::Traded(trade) => {
                    out.trades.push(StreamTrade { trade, ts_ns: event.ts_ns });
                }
                _ => {}
            }
        }
        if bids.is_empty() && asks.is_empty() {
            self.carried_from = Some(first_seq);
            return out;
        }
        out.diff = Some(DepthDiff {
            first_seq,
            last_seq: last.seq,
            ts_ns: last.ts_ns,
            bids: bids.into_iter().rev().collect(),
            asks: asks.into_iter().collect(),
        });
        out
    }
}

/// Aggregate trades of one batch (consecutive fills of one taker order at one price). A
/// taker order's fills never span batches, so these are whole.
pub fn aggregate_batch(trades: &[StreamTrade]) -> Vec<AggTrade> {
    let mut out: Vec<(AggTrade, OrderId)> = Vec::new();
    for StreamTrade { trade, ts_ns } in trades {
        if let Some((last, taker)) = out.last_mut()
            && *taker == trade.taker_order_id
            && last.price == trade.price
            && last.last_trade_id.0 + 1 == trade.trade_id.0
        {
            last.last_trade_id = trade.trade_id;
            last.qty = Qty(last.qty.0.saturating_add(trade.qty.0));
            continue;
        }
        let aggregate = AggTrade::new(
            trade.trade_id,
            trade.price,
            trade.qty,
            ts_ns / 1_000_000,
            trade.taker_side == Side::Sell,
            trade.taker_order_id,
        );
        out.push((aggregate, trade.taker_order_id));
    }
    out.into_iter().map(|(aggregate, _)| aggregate).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::LevelChanged;

    fn level(seq: u64, side: Side, price: i64, qty: u64) -> BookEvent {
        let kind =
            EventKind::LevelChanged(LevelChanged { side, price: Price(price), qty: Qty(qty) });
        BookEvent { seq, ts_ns: seq * 1_000_000, kind }
    }

    fn other(seq: u64) -> BookEvent {
        let canceled = crate::model::OrderCanceled {
            order_id: OrderId(seq),
            account_id: crate::model::AccountId(1),
            canceled_qty: Qty(1),
            reason: crate::model::CancelReason::UserRequest,
        };
        BookEvent { seq, ts_ns: 0, kind: EventKind::Canceled(canceled) }
    }

    #[test]
    fn diffs_chain_through_batches_without_level_changes() {
        let mut cursor = DiffCursor::default();
        let first = cursor.apply(&[level(5, Side::Buy, 100, 1), level(6, Side::Buy, 100, 3)]);
        let diff = first.diff.unwrap();
        assert_eq!((diff.first_seq, diff.last_seq), (5, 6));
        assert_eq!(diff.bids, [(Price(100), Qty(3))]);
        assert!(cursor.apply(&[other(7), other(8)]).diff.is_none());
        let next = cursor.apply(&[level(9, Side::Sell, 101, 2), level(10, Side::Buy, 99, 1)]);
        let diff = next.diff.unwrap();
        assert_eq!((diff.first_seq, diff.last_seq), (7, 10));
        assert_eq!(diff.asks, [(Price(101), Qty(2))]);
        // Redelivered: nothing.
        assert_eq!(cursor.apply(&[level(10, Side::Buy, 99, 1)]), BatchStreams::default());
    }

    #[test]
    fn a_gap_passes_through() {
        let mut cursor = DiffCursor::default();
        cursor.apply(&[level(1, Side::Buy, 100, 1)]);
        cursor.apply(&[other(2)]);
        let out = cursor.apply(&[level(5, Side::Buy, 100, 2)]);
        assert_eq!(out.gap, Some((3, 5)));
        let diff = out.diff.unwrap();
        assert_eq!((diff.first_seq, diff.last_seq), (5, 5));
    }
}
