//! Market data and trade history, pure: no actix, no I/O, no clock (time comes in).
//!
//! - `trade.rs`: [`TradeRecord`] (a trade with the fee each side was charged) and
//!   [`TradeCursor`], which turns a symbol's book events into trades exactly once by watermark.
//! - `interval.rs`: [`KlineInterval`] (`1m` ... `1M`) and UTC bucketing (weeks from Monday,
//!   calendar months).
//! - `kline.rs`: [`Kline`] and [`KlineSeries`], the newest klines of one interval.
//! - `ticker.rs`: rolling 24 h statistics folded from 1-minute klines.
//! - `aggregate.rs`: aggregate trades (same taker order and price).
//! - `history.rs`: [`SymbolHistory`], the history writer's per-symbol state ([`TradeBatch`]).
//! - `state.rs`: [`SymbolMarket`], one symbol's bounded in-memory market data.
//! - `depth_replica.rs`: [`DepthReplica`], one symbol's depth rebuilt from level changes by
//!   sequence, stale after a gap until resynced from a snapshot of the book.
//! - `actor/`: the `MarketData` actor shell that holds every symbol's state for the routes.
//!
//! Ordering: trades arrive in trade id order, after they are durable in the trades table, so
//! memory is always a suffix of the table and a restart restores it from the table.

pub mod actor;
mod aggregate;
mod depth_replica;
mod history;
mod interval;
mod kline;
mod state;
mod ticker;
mod trade;

#[cfg(test)]
mod testing;

pub use aggregate::{AggTrade, aggregate};
pub use depth_replica::{DepthReplica, ReplicaUpdate};
pub use history::{SymbolHistory, TradeBatch};
pub use interval::{DAY_MS, KlineInterval};
pub use kline::{Kline, KlineSeries, KlineWindow};
pub use state::{KLINES_KEPT, MINUTE_KLINES_KEPT, MarketRestore, SymbolMarket, klines_kept};
pub use ticker::{TICKER_MINUTES, TickerStats, rolling_ticker};
pub use trade::{TradeApplyError, TradeCursor, TradeRecord};
