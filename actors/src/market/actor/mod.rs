//! `MarketData`: the actor shell holding every symbol's [`SymbolMarket`]. The history writer
//! sends it trades once they are durable; the public routes query it. Every handler is a
//! plain call into the pure state.

mod depth;
mod messages;

use std::collections::BTreeMap;

use actix::prelude::*;

pub use depth::{
    DEPTH_CONSUMER, DepthReplicas, GetReplicaDepth, GetResyncCount, RESYNC_RETRY, ReplicaEvents,
    consume_bus,
};
pub use messages::{
    AddSymbol, GetKlines, GetRecentAggTrades, GetRecentTrades, GetTickers, TradesCommitted,
};

use crate::market::SymbolMarket;
use crate::model::SymbolCode;

/// Messages waiting at most (the writer waits for room: backpressure, nothing dropped).
const MAILBOX_CAPACITY: usize = 1024;

#[derive(Debug)]
pub struct MarketData {
    markets: BTreeMap<SymbolCode, SymbolMarket>,
}

impl MarketData {
    pub fn new(markets: BTreeMap<SymbolCode, SymbolMarket>) -> MarketData {
        MarketData { markets }
    }
}

impl Actor for MarketData {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(MAILBOX_CAPACITY);
    }
}

impl Handler<TradesCommitted> for MarketData {
    type Result = ();

    fn handle(&mut self, message: TradesCommitted, _ctx: &mut Self::Context) {
        if let Some(market) = self.markets.get_mut(&message.symbol) {
            market.apply(&message.trades);
        }
    }
}

impl Handler<AddSymbol> for MarketData {
    type Result = ();

    fn handle(&mut self, message: AddSymbol, _ctx: &mut Self::Context) {
        self.markets.entry(message.symbol).or_insert(message.market);
    }
}

impl Handler<GetRecentTrades> for MarketData {
    type Result = MessageResult<GetRecentTrades>;

    fn handle(&mut self, query: GetRecentTrades, _ctx: &mut Self::Context) -> Self::Result {
        let market = self.markets.get(&query.symbol);
        MessageResult(market.map(|market| market.recent_trades(query.limit)).unwrap_or_default())
    }
}

impl Handler<GetRecentAggTrades> for MarketData {
    type Result = MessageResult<GetRecentAggTrades>;

    fn handle(&mut self, query: GetRecentAggTrades, _ctx: &mut Self::Context) -> Self::Result {
        let market = self.markets.get(&query.symbol);
        MessageResult(market.map_or(Some(Vec::new()), |m| m.recent_aggregates(query.limit)))
    }
}

impl Handler<GetTickers> for MarketData {
    type Result = MessageResult<GetTickers>;

    fn handle(&mut self, query: GetTickers, _ctx: &mut Self::Context) -> Self::Result {
        let tickers = query
            .symbols
            .into_iter()
            .map(|symbol| {
                let stats = self.markets.get(&symbol).and_then(|m| m.ticker(query.now_ms));
                (symbol, stats)
            })
            .collect();
        MessageResult(tickers)
    }
}

impl Handler<GetKlines> for MarketData {
    type Result = MessageResult<GetKlines>;

    fn handle(&mut self, query: GetKlines, _ctx: &mut Self::Context) -> Self::Result {
        let market = self.markets.get(&query.symbol);
        MessageResult(market.map_or(Some(Vec::new()), |m| m.klines(query.interval, &query.window)))
    }
}
