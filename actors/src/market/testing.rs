//! Trades for the unit tests.

use super::trade::TradeRecord;
use crate::model::{AccountId, OrderId, Price, Qty, Side, SymbolCode, TradeId};

/// Trade `id` at `time_ms`, `price` ticks, `qty` lots, taker order 1000 + id.
pub fn trade(id: u64, time_ms: u64, price: i64, qty: u64, taker_side: Side) -> TradeRecord {
    trade_of(id, time_ms, price, qty, taker_side, 1_000 + id)
}

/// As [`trade`], by taker order `taker_order`.
pub fn trade_of(
    id: u64,
    time_ms: u64,
    price: i64,
    qty: u64,
    taker_side: Side,
    taker_order: u64,
) -> TradeRecord {
    TradeRecord {
        symbol: SymbolCode::new("BTCUSDT").expect("symbol"),
        trade_id: TradeId(id),
        seq: id * 3,
        time_ms,
        price: Price(price),
        qty: Qty(qty),
        taker_side,
        maker_order_id: OrderId(id),
        maker_account_id: AccountId(1),
        taker_order_id: OrderId(taker_order),
        taker_account_id: AccountId(2),
        maker_fee: 0,
        taker_fee: 0,
    }
}
