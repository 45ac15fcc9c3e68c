//! What the `MarketData` actor takes: committed trades from the history writer, and the
//! routes' queries. A query about a symbol it does not hold gets the empty answer.

use actix::Message;

use crate::market::{
    AggTrade, Kline, KlineInterval, KlineWindow, SymbolMarket, TickerStats, TradeRecord,
};
use crate::model::SymbolCode;

/// Trades of one symbol that are durable in the trades table, in trade id order.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct TradesCommitted {
    pub symbol: SymbolCode,
    pub trades: Vec<TradeRecord>,
}

/// A symbol listed while running; ignored when already held.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct AddSymbol {
    pub symbol: SymbolCode,
    pub market: SymbolMarket,
}

/// The newest `limit` trades, oldest first.
#[derive(Debug, Message)]
#[rtype(result = "Vec<TradeRecord>")]
pub struct GetRecentTrades {
    pub symbol: SymbolCode,
    pub limit: usize,
}

/// The newest `limit` aggregates, oldest first; `None` when memory cannot know them all.
#[derive(Debug, Message)]
#[rtype(result = "Option<Vec<AggTrade>>")]
pub struct GetRecentAggTrades {
    pub symbol: SymbolCode,
    pub limit: usize,
}

/// Rolling 24 h statistics at `now_ms` (`None` for a symbol that never traded) and the last
/// trade's price, per symbol asked for.
#[derive(Debug, Message)]
#[rtype(result = "Vec<(SymbolCode, Option<TickerStats>)>")]
pub struct GetTickers {
    pub symbols: Vec<SymbolCode>,
    pub now_ms: u64,
}

/// The klines `window` selects; `None` when the table must answer.
#[derive(Debug, Message)]
#[rtype(result = "Option<Vec<Kline>>")]
pub struct GetKlines {
    pub symbol: SymbolCode,
    pub interval: KlineInterval,
    pub window: KlineWindow,
}
