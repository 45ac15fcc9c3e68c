//! [`SpecRenderer`]: the market-stream frames in Binance's field layout, rendered with each
//! symbol's current spec (the same decimals as the REST routes: `crate::api::render`).

use std::sync::Arc;

use exchange_actors::book::Depth;
use exchange_actors::market::{AggTrade, Kline, KlineInterval, TickerStats};
use exchange_actors::model::{Price, Qty, SymbolSpec};
use exchange_actors::session::{DepthDiff, FrameRenderer, StreamTrade};
use serde_json::{Value, json};

use crate::api::{SharedMarkets, kline_body, render, ticker_body};

const NANOS_PER_MILLI: u64 = 1_000_000;

#[derive(Debug)]
pub struct SpecRenderer {
    markets: Arc<SharedMarkets>,
}

impl SpecRenderer {
    pub fn new(markets: Arc<SharedMarkets>) -> SpecRenderer {
        SpecRenderer { markets }
    }

    fn spec(&self, symbol: &str) -> Option<SymbolSpec> {
        self.markets.load().get(symbol).map(|market| market.spec.clone())
    }
}

fn levels(spec: &SymbolSpec, levels: &[(Price, Qty)]) -> Value {
    levels
        .iter()
        .map(|(price, qty)| json!([render::price(spec, *price), render::qty(spec, *qty)]))
        .collect()
}

impl FrameRenderer for SpecRenderer {
    fn depth_diff(&self, symbol: &str, diff: &DepthDiff) -> Option<String> {
        let spec = self.spec(symbol)?;
        let frame = json!({
            "e": "depthUpdate",
            "E": diff.ts_ns / NANOS_PER_MILLI,
            "s": symbol,
            "U": diff.first_seq,
            "u": diff.last_seq,
            "b": levels(&spec, &diff.bids),
            "a": levels(&spec, &diff.asks),
        });
        Some(frame.to_string())
    }

    fn partial_depth(&self, symbol: &str, depth: &Depth, count: usize) -> Option<String> {
        let spec = self.spec(symbol)?;
        let take = |side: &[(Price, Qty)]| levels(&spec, &side[..side.len().min(count)]);
        let frame = json!({
            "lastUpdateId": depth.last_event_seq,
            "bids": take(&depth.bids),
            "asks": take(&depth.asks),
        });
        Some(frame.to_string())
    }

    fn trade(&self, symbol: &str, trade: &StreamTrade) -> Option<String> {
        let spec = self.spec(symbol)?;
        let time_ms = trade.ts_ns / NANOS_PER_MILLI;
        let frame = json!({
            "e": "trade",
            "E": time_ms,
            "s": symbol,
            "t": trade.trade.trade_id.0,
            "p": render::price(&spec, trade.trade.price),
            "q": render::qty(&spec, trade.trade.qty),
            "T": time_ms,
            "m": trade.trade.taker_side == exchange_actors::model::Side::Sell,
            "M": true,
        });
        Some(frame.to_string())
    }

    fn agg_trade(&self, symbol: &str, aggregate: &AggTrade) -> Option<String> {
        let spec = self.spec(symbol)?;
        let frame = json!({
            "e": "aggTrade",
            "E": aggregate.time_ms,
            "s": symbol,
            "a": aggregate.first_trade_id.0,
            "p": render::price(&spec, aggregate.price),
            "q": render::qty(&spec, aggregate.qty),
            "f": aggregate.first_trade_id.0,
            "l": aggregate.last_trade_id.0,
            "T": aggregate.time_ms,
            "m": aggregate.buyer_is_maker,
            "M": true,
        });
        Some(frame.to_string())
    }

    fn book_ticker(&self, symbol: &str, depth: &Depth) -> Option<String> {
        let spec = self.spec(symbol)?;
        let best = |side: &[(Price, Qty)]| {
            let (price, qty) = side.first().copied().unwrap_or((Price(0), Qty(0)));
            (render::price(&spec, price), render::qty(&spec, qty))
        };
        let (bid, bid_qty) = best(&depth.bids);
        let (ask, ask_qty) = best(&depth.asks);
        let frame = json!({
            "u": depth.last_event_seq,
            "s": symbol,
            "b": bid, "B": bid_qty,
            "a": ask, "A": ask_qty,
        });
        Some(frame.to_string())
    }

    fn ticker(
        &self,
        symbol: &str,
        stats: Option<&TickerStats>,
        depth: &Depth,
        now_ms: u64,
    ) -> Option<String> {
        let markets = self.markets.load();
        let market = markets.get(symbol)?;
        let best = (depth.bids.first().copied(), depth.asks.first().copied());
        let body = serde_json::to_value(ticker_body(market, stats, best, now_ms)).ok()?;
        let field = |name: &str| body.get(name).cloned().unwrap_or(Value::Null);
        let frame = json!({
            "e": "24hrTicker",
            "E": now_ms,
            "s": symbol,
            "p": field("priceChange"),
            "P": field("priceChangePercent"),
            "w": field("weightedAvgPrice"),
            "x": field("prevClosePrice"),
            "c": field("lastPrice"),
            "Q": field("lastQty"),
            "b": field("bidPrice"),
            "B": field("bidQty"),
            "a": field("askPrice"),
            "A": field("askQty"),
            "o": field("openPrice"),
            "h": field("highPrice"),
            "l": field("lowPrice"),
            "v": field("volume"),
            "q": field("quoteVolume"),
            "O": field("openTime"),
            "C": field("closeTime"),
            "F": field("firstId"),
            "L": field("lastId"),
            "n": field("count"),
        });
        Some(frame.to_string())
    }

    fn kline(&self, symbol: &str, kline: &Kline, now_ms: u64) -> Option<String> {
        let spec = self.spec(symbol)?;
        let interval = KlineInterval::Minute1;
        let row = kline_body(&spec, interval, kline);
        let at = |index: usize| row.get(index).cloned().unwrap_or(Value::Null);
        let close_ms = interval.next_open(kline.open_time_ms) - 1;
        let frame = json!({
            "e": "kline",
            "E": now_ms,
            "s": symbol,
            "k": {
                "t": kline.open_time_ms,
                "T": close_ms,
                "s": symbol,
                "i": "1m",
                "f": kline.first_trade_id.0,
                "L": kline.last_trade_id.0,
                "o": at(1),
                "c": at(4),
                "h": at(2),
                "l": at(3),
                "v": at(5),
                "n": kline.trade_count,
                "x": now_ms > close_ms,
                "q": at(7),
                "V": at(9),
                "Q": at(10),
                "B": "0",
            },
        });
        Some(frame.to_string())
    }
}
