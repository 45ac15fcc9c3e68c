//! `StreamHub`: the fan-out of market streams to WebSocket sessions. It consumes the bus under
//! its own name ([`STREAMS_CONSUMER`]), so its diffs follow the book's event sequence exactly
//! as the depth replicas (REST depth) do; it renders each frame once and hands the shared text
//! to every subscriber with `try_send`, never waiting for a session, so a slow client can
//! neither block the hub nor delay another session.
//!
//! Sources: diff depth, trades and aggregate trades come from the bus batches
//! ([`DiffCursor`]); partial depth and book tickers from the depth replicas, and tickers and
//! 1-minute klines from market data, polled every [`POLL_INTERVAL`] while someone listens.
//! Diff depth goes out at Binance's speeds: each subscribed `@depth@100ms` / `@depth` stream
//! gathers its symbol's diffs ([`PendingDiff`]) and sends them as one frame on every tick /
//! every tenth tick (one render per stream and tick, none when nothing changed), so a
//! subscriber gets at most 10 / 1 diff frames a second per symbol however fast the book moves.
//! A gap on the bus is passed through (counted in `exchange_ws_hub_gaps_total`): clients see
//! it in `U` and resync.
//!
//! Registry: sessions [`Join`], change their subscriptions ([`ChangeSubscriptions`]) and
//! [`Leave`]; a session whose mailbox is closed, or full when a frame that may not be dropped
//! arrives, is removed from every list and told it was evicted. Cost per frame: one render,
//! then O(subscribers) `try_send`s of an `Arc`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;

use super::diff::{DepthDiff, DiffCursor, StreamTrade, aggregate_batch};
use super::pending_diff::PendingDiff;
use super::state::{Push, SubscriptionChange};
use super::streams::{StreamKind, StreamName};
use crate::book::Depth;
use crate::market::actor::{
    DepthReplicas, GetKlines, GetReplicaDepth, GetTickers, MarketData, consume_bus,
};
use crate::market::{AggTrade, Kline, KlineInterval, KlineWindow, TickerStats};
use crate::model::SymbolCode;
use crate::ports::{Clock, EventBatch, EventBus};
use crate::supervisor::GetAppliedSeqs;

/// The hub's name on the bus.
pub const STREAMS_CONSUMER: &str = "ws-streams";
/// Diff and partial depth `@100ms`, book tickers; every tenth tick the 1 s streams (`@depth`
/// included).
pub const POLL_INTERVAL: Duration = Duration::from_millis(100);
const SLOW_POLL_TICKS: u64 = 10;
const _: () = assert!(POLL_INTERVAL.as_millis() * SLOW_POLL_TICKS as u128 == 1_000);
/// Levels a side read for partial depth (the largest partial stream).
const PARTIAL_LEVELS_MAX: usize = 20;

/// A session's id, unique in the process.
pub type SessionId = u64;

/// Turns market data into Binance frames; the server implements it with the symbols' specs.
/// `None` for a symbol it does not know (nothing is pushed).
pub trait FrameRenderer: Send + Sync + fmt::Debug + 'static {
    fn depth_diff(&self, symbol: &str, diff: &DepthDiff) -> Option<String>;
    fn partial_depth(&self, symbol: &str, depth: &Depth, levels: usize) -> Option<String>;
    fn trade(&self, symbol: &str, trade: &StreamTrade) -> Option<String>;
    fn agg_trade(&self, symbol: &str, aggregate: &AggTrade) -> Option<String>;
    fn book_ticker(&self, symbol: &str, depth: &Depth) -> Option<String>;
    fn ticker(
        &self,
        symbol: &str,
        stats: Option<&TickerStats>,
        depth: &Depth,
        now_ms: u64,
    ) -> Option<String>;
    fn kline(&self, symbol: &str, kline: &Kline, now_ms: u64) -> Option<String>;
}

/// What the hub sends a session.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub enum ToSession {
    Frame(Push),
    /// Removed from the hub (its mailbox overflowed with frames that may not be dropped).
    Evicted,
}

#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Join {
    pub session: SessionId,
    pub recipient: Recipient<ToSession>,
}

#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct ChangeSubscriptions {
    pub session: SessionId,
    pub change: SubscriptionChange,
}

#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Leave {
    pub session: SessionId,
}

/// Sessions joined and subscriptions held (for tests and the gauges).
#[derive(Debug, Message)]
#[rtype(result = "(usize, usize)")]
pub struct GetHubCounts;

#[derive(Debug, Message)]
#[rtype(result = "()")]
struct HubEvents(EventBatch);

#[derive(Debug)]
struct StreamEntry {
    name: Arc<StreamName>,
    text: Arc<str>,
    subscribers: BTreeSet<SessionId>,
}

/// Where the hub reads what it polls, and how it renders.
#[derive(Clone)]
pub struct HubSources {
    pub replicas: Addr<DepthReplicas>,
    pub market_data: Addr<MarketData>,
    pub clock: Arc<dyn Clock>,
    pub renderer: Arc<dyn FrameRenderer>,
}

impl fmt::Debug for HubSources {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HubSources").field("renderer", &self.renderer).finish_non_exhaustive()
    }
}

#[derive(Debug)]
pub struct StreamHub {
    sources: HubSources,
    sessions: BTreeMap<SessionId, Recipient<ToSession>>,
    streams: BTreeMap<StreamName, StreamEntry>,
    subscriptions: usize,
    cursors: BTreeMap<Arc<str>, DiffCursor>,
    /// Per subscribed diff-depth stream, the changes since its last frame.
    pending_diffs: BTreeMap<StreamName, PendingDiff>,
    /// Per symbol, the book ticker last pushed (so only changes are pushed).
    book_tickers: BTreeMap<String, String>,
    ticks: u64,
    polling: bool,
}

impl StreamHub {
    /// Subscribes to `bus` and starts fanning out.
    pub fn start(bus: &dyn EventBus, sources: HubSources) -> Addr<StreamHub> {
        let events = bus.subscribe(STREAMS_CONSUMER);
        let hub = StreamHub {
            sources,
            sessions: BTreeMap::new(),
            streams: BTreeMap::new(),
            subscriptions: 0,
            cursors: BTreeMap::new(),
            pending_diffs: BTreeMap::new(),
            book_tickers: BTreeMap::new(),
            ticks: 0,
            polling: false,
        };
        StreamHub::create(move |ctx| {
            consume_bus(ctx, &hub, events, HubEvents);
            ctx.run_interval(POLL_INTERVAL, |hub, ctx| hub.poll(ctx));
            hub
        })
    }

    fn has(&self, name: &StreamName) -> bool {
        self.streams.contains_key(name)
    }

    fn leave(&mut self, session: SessionId) {
        self.sessions.remove(&session);
        let mut removed = 0;
        self.streams.retain(|_, entry| {
            removed += usize::from(entry.subscribers.remove(&session));
            !entry.subscribers.is_empty()
        });
        self.subscriptions -= removed;
        self.count();
    }

    fn count(&self) {
        metrics::gauge!("exchange_ws_subscriptions").set(self.subscriptions as f64);
    }

    /// Hands `payload` of `name` to every subscriber, evicting sessions that cannot take it.
    fn fan_out(&mut self, name: &StreamName, payload: String, created_ns: u64) {
        let Some(entry) = self.streams.get(name) else { return };
        let push = Push {
            stream: entry.name.clone(),
            stream_text: entry.text.clone(),
            payload: payload.into(),
            created_ns,
        };
        let droppable = name.kind.is_droppable();
        let mut evicted = Vec::new();
        for session in &entry.subscribers {
            let Some(recipient) = self.sessions.get(session) else { continue };
            match recipient.try_send(ToSession::Frame(push.clone())) {
                Ok(()) => {}
                Err(SendError::Full(_)) if droppable => {
                    metrics::counter!("exchange_ws_dropped_messages_total", "reason" => "mailbox_full")
                        .increment(1);
                }
                Err(SendError::Full(_)) => evicted.push((*session, true)),
                Err(SendError::Closed(_)) => evicted.push((*session, false)),
            }
        }
        for (session, tell) in evicted {
            if tell && let Some(recipient) = self.sessions.get(&session) {
                // One message to a session that is being dropped; it must arrive even though
                // the mailbox is full (do_send ignores the bound, by design here).
                recipient.do_send(ToSession::Evicted);
            }
            self.leave(session);
        }
    }

    fn on_batch(&mut self, batch: EventBatch) {
        let cursor = self.cursors.entry(batch.symbol.clone()).or_default();
        let out = cursor.apply(&batch.events);
        let symbol = &*batch.symbol;
        if let Some((expected, got)) = out.gap {
            tracing::warn!(%symbol, expected, got, "stream hub saw a bus gap; passing it on");
            metrics::counter!("exchange_ws_hub_gaps_total").increment(1);
        }
        let renderer = self.sources.renderer.clone();
        if let Some(diff) = out.diff {
            self.gather_diff(symbol, &diff);
        }
        let trades = StreamName::new(symbol, StreamKind::Trade);
        if self.has(&trades) {
            for trade in &out.trades {
                if let Some(payload) = renderer.trade(symbol, trade) {
                    self.fan_out(&trades, payload, trade.ts_ns);
                }
            }
        }
        let aggregates = StreamName::new(symbol, StreamKind::AggTrade);
        if self.has(&aggregates) {
            for aggregate in aggregate_batch(&out.trades) {
                if let Some(payload) = renderer.agg_trade(symbol, &aggregate) {
                    self.fan_out(&aggregates, payload, aggregate.time_ms * 1_000_000);
                }
            }
        }
    }

    /// Adds a batch's diff to each subscribed diff-depth stream of `symbol`; what cannot wait
    /// for the tick (the part before a bus gap, a full frame) goes out now.
    fn gather_diff(&mut self, symbol: &str, diff: &DepthDiff) {
        let now_ns = self.sources.clock.now_ns();
        for fast in [false, true] {
            let name = StreamName::new(symbol, StreamKind::Depth { fast });
            if !self.has(&name) {
                continue;
            }
            let pending = self.pending_diffs.entry(name.clone()).or_default();
            if let Some(now) = pending.merge(diff, now_ns) {
                self.emit_diff(&name, &now);
            }
        }
    }

    /// The tick's diff-depth frames: `@depth@100ms` every tick, `@depth` every tenth (with
    /// the 1 s polled streams), each rendered once for all its subscribers. Streams nobody
    /// listens to any more lose what they gathered.
    fn emit_diffs(&mut self, slow: bool) {
        let streams = &self.streams;
        self.pending_diffs.retain(|name, _| streams.contains_key(name));
        let now_ns = self.sources.clock.now_ns();
        let due: Vec<(StreamName, DepthDiff)> = self
            .pending_diffs
            .iter_mut()
            .filter(|(name, _)| slow || name.kind == StreamKind::Depth { fast: true })
            .filter_map(|(name, pending)| Some((name.clone(), pending.take(now_ns)?)))
            .collect();
        for (name, diff) in due {
            self.emit_diff(&name, &diff);
        }
    }

    fn emit_diff(&mut self, name: &StreamName, diff: &DepthDiff) {
        if let Some(payload) = self.sources.renderer.depth_diff(&name.symbol, diff) {
            self.fan_out(name, payload, diff.ts_ns);
        }
    }

    /// Symbols with a polled stream due at this tick: (needs depth, needs market data).
    fn due(&self, slow: bool) -> BTreeMap<String, (bool, bool)> {
        let mut due: BTreeMap<String, (bool, bool)> = BTreeMap::new();
        for name in self.streams.keys() {
            let (depth, market) = match name.kind {
                StreamKind::BookTicker => (true, false),
                StreamKind::Partial { fast, .. } => (fast || slow, false),
                StreamKind::Ticker => (slow, slow),
                StreamKind::Kline1m => (false, slow),
                _ => (false, false),
            };
            if depth || market {
                let entry = due.entry(name.symbol.clone()).or_default();
                entry.0 |= depth;
                entry.1 |= market;
            }
        }
        due
    }

    fn poll(&mut self, ctx: &mut Context<Self>) {
        self.ticks += 1;
        let slow = self.ticks.is_multiple_of(SLOW_POLL_TICKS);
        self.emit_diffs(slow);
        if self.polling {
            return;
        }
        let due = self.due(slow);
        if due.is_empty() {
            return;
        }
        self.polling = true;
        let sources = self.sources.clone();
        let now_ms = sources.clock.now_ns() / 1_000_000;
        let fetch = async move {
            let mut polled = Vec::new();
            for (symbol, (depth, market)) in due {
                polled.push(poll_symbol(&sources, symbol, depth, market, now_ms).await);
            }
            polled
        };
        ctx.spawn(fetch.into_actor(self).map(move |polled, hub, _ctx| {
            hub.polling = false;
            for symbol in polled {
                hub.push_polled(symbol, slow, now_ms);
            }
        }));
    }

    fn push_polled(&mut self, polled: Polled, slow: bool, now_ms: u64) {
        let renderer = self.sources.renderer.clone();
        let symbol = polled.symbol.as_str();
        let now_ns = now_ms * 1_000_000;
        if let Some(depth) = &polled.depth {
            for levels in [5u8, 10, 20] {
                for fast in [false, true] {
                    let name = StreamName::new(symbol, StreamKind::Partial { levels, fast });
                    if (fast || slow)
                        && self.has(&name)
                        && let Some(payload) = renderer.partial_depth(symbol, depth, levels.into())
                    {
                        self.fan_out(&name, payload, now_ns);
                    }
                }
            }
            let name = StreamName::new(symbol, StreamKind::BookTicker);
            if self.has(&name)
                && let Some(payload) = renderer.book_ticker(symbol, depth)
                && self.book_tickers.get(symbol) != Some(&payload)
            {
                self.book_tickers.insert(symbol.to_owned(), payload.clone());
                self.fan_out(&name, payload, now_ns);
            }
        }
        if !slow {
            return;
        }
        let name = StreamName::new(symbol, StreamKind::Ticker);
        if let (Some(stats), Some(depth)) = (&polled.ticker, &polled.depth)
            && self.has(&name)
            && let Some(payload) = renderer.ticker(symbol, stats.as_ref(), depth, now_ms)
        {
            self.fan_out(&name, payload, now_ns);
        }
        let name = StreamName::new(symbol, StreamKind::Kline1m);
        if let Some(kline) = &polled.kline
            && self.has(&name)
            && let Some(payload) = renderer.kline(symbol, kline, now_ms)
        {
            self.fan_out(&name, payload, now_ns);
        }
    }
}

#[derive(Debug)]
struct Polled {
    symbol: String,
    depth: Option<Depth>,
    /// `Some(None)`: asked, never traded.
    ticker: Option<Option<TickerStats>>,
    kline: Option<Kline>,
}

async fn poll_symbol(
    sources: &HubSources,
    symbol: String,
    depth: bool,
    market: bool,
    now_ms: u64,
) -> Polled {
    let mut polled = Polled { symbol, depth: None, ticker: None, kline: None };
    if depth {
        let query =
            GetReplicaDepth { symbol: polled.symbol.clone(), levels_max: PARTIAL_LEVELS_MAX };
        polled.depth = sources.replicas.send(query).await.ok().flatten().map(|(depth, _)| depth);
    }
    let Some(code) = market.then(|| SymbolCode::new(&polled.symbol).ok()).flatten() else {
        return polled;
    };
    let tickers = sources.market_data.send(GetTickers { symbols: vec![code], now_ms }).await;
    polled.ticker = tickers.ok().and_then(|mut tickers| tickers.pop()).map(|(_, stats)| stats);
    let window = KlineWindow { start_ms: None, end_ms: None, limit: 1 };
    let klines = GetKlines { symbol: code, interval: KlineInterval::Minute1, window };
    polled.kline = sources.market_data.send(klines).await.ok().flatten().and_then(|mut k| k.pop());
    polled
}

impl Actor for StreamHub {
    type Context = Context<Self>;
}

impl Handler<HubEvents> for StreamHub {
    type Result = ();

    fn handle(&mut self, HubEvents(batch): HubEvents, _ctx: &mut Self::Context) {
        self.on_batch(batch);
    }
}

impl Handler<Join> for StreamHub {
    type Result = ();

    fn handle(&mut self, join: Join, _ctx: &mut Self::Context) {
        self.sessions.insert(join.session, join.recipient);
    }
}

impl Handler<ChangeSubscriptions> for StreamHub {
    type Result = ();

    fn handle(&mut self, message: ChangeSubscriptions, _ctx: &mut Self::Context) {
        let session = message.session;
        if !self.sessions.contains_key(&session) {
            return; // Left (or evicted) before this arrived.
        }
        for name in message.change.added {
            let entry = self.streams.entry(name.clone()).or_insert_with(|| StreamEntry {
                text: name.to_string().into(),
                name: Arc::new(name),
                subscribers: BTreeSet::new(),
            });
            self.subscriptions += usize::from(entry.subscribers.insert(session));
        }
        for name in message.change.removed {
            if let Some(entry) = self.streams.get_mut(&name) {
                self.subscriptions -= usize::from(entry.subscribers.remove(&session));
                if entry.subscribers.is_empty() {
                    self.streams.remove(&name);
                }
            }
        }
        self.count();
    }
}

impl Handler<Leave> for StreamHub {
    type Result = ();

    fn handle(&mut self, Leave { session }: Leave, _ctx: &mut Self::Context) {
        self.leave(session);
    }
}

impl Handler<GetHubCounts> for StreamHub {
    type Result = MessageResult<GetHubCounts>;

    fn handle(&mut self, _query: GetHubCounts, _ctx: &mut Self::Context) -> Self::Result {
        MessageResult((self.sessions.len(), self.subscriptions))
    }
}

/// Per symbol, the last book event the hub has fanned out (the `ws-streams` consumer's lag).
impl Handler<GetAppliedSeqs> for StreamHub {
    type Result = MessageResult<GetAppliedSeqs>;

    fn handle(&mut self, _query: GetAppliedSeqs, _ctx: &mut Self::Context) -> Self::Result {
        let applied = self
            .cursors
            .iter()
            .filter_map(|(symbol, cursor)| Some((symbol.to_string(), cursor.last_seq()?)))
            .collect();
        MessageResult(applied)
    }
}
