//! The history writer, in-process: subscribes to the bus as consumer [`HISTORY_CONSUMER`] and
//! routes each batch to its symbol's [`SymbolWriter`], which turns book events into trades
//! and klines by watermark and writes them with the watermark in one transaction per group of
//! batches. Symbols write in parallel, each in order. After each commit the trades go to the
//! [`MarketData`] actor, so market data in memory is always a suffix of the table.
//!
//! Start: subscribe first (whatever is published meanwhile arrives or is in the journal),
//! restore each symbol's watermark and current klines, catch up from the journal, restore
//! market data from the table, then consume.

mod symbol_writer;

use std::collections::BTreeMap;
use std::sync::Arc;

use actix::{Actor as _, Addr};
use exchange_actors::account::MarketSpec;
use exchange_actors::market::actor::{AddSymbol, MarketData};
use exchange_actors::market::{KlineInterval, MarketRestore, SymbolMarket, klines_kept};
use exchange_actors::model::SymbolCode;
use exchange_actors::ports::{EventBatch, EventBus, JournalError};
use tokio::sync::mpsc;

use crate::observe::AppliedSeqs;
use crate::store::Store;
use symbol_writer::SymbolWriter;

/// The history writer's name on the bus and in `consumer_watermarks`.
pub const HISTORY_CONSUMER: &str = "history";
/// Trades restored into memory per symbol unless `EVENT_REPLAY_COUNT` says otherwise.
pub const EVENT_REPLAY_COUNT_DEFAULT: usize = 1_000;
/// Most trades restored per symbol (the table read is one page).
pub const EVENT_REPLAY_COUNT_MAX: usize = 10_000;
/// Bus batches waiting for one symbol's writer; when full, routing waits (and the bus
/// consumer behind it), so a backlog stays in the broker, not in memory.
const SYMBOL_QUEUE_BATCHES_MAX: usize = 1_024;

/// The running writer's handle: market data for the routes, where to list a new symbol, and
/// how far each symbol's writer has applied (for the consumer-lag gauge).
#[derive(Debug)]
pub struct History {
    pub market_data: Addr<MarketData>,
    pub listings: mpsc::UnboundedSender<MarketSpec>,
    pub applied: Arc<AppliedSeqs>,
}

/// Brings the history up to date with the journal and starts consuming `bus`.
pub async fn start(
    store: Store,
    bus: &dyn EventBus,
    markets: BTreeMap<SymbolCode, MarketSpec>,
    replay_count: usize,
) -> Result<History, JournalError> {
    let events = bus.subscribe(HISTORY_CONSUMER);
    let mut writers = Vec::new();
    for market in markets.values() {
        let mut writer = SymbolWriter::restore(store.clone(), *market).await?;
        writer.catch_up(None).await?;
        writers.push((market.symbol, writer));
    }
    let mut restored = BTreeMap::new();
    for symbol in markets.keys() {
        restored.insert(*symbol, restore_market(&store, *symbol, replay_count).await?);
    }
    let market_data = MarketData::new(restored).start();
    let applied = Arc::new(AppliedSeqs::default());
    let mut router = Router {
        store,
        replay_count,
        market_data: market_data.clone(),
        writers: BTreeMap::new(),
        applied: applied.clone(),
    };
    for (symbol, writer) in writers {
        router.spawn_writer(symbol, writer);
    }
    let (listings, listed) = mpsc::unbounded_channel();
    tokio::spawn(router.run(events, listed));
    Ok(History { market_data, listings, applied })
}

async fn restore_market(
    store: &Store,
    symbol: SymbolCode,
    replay_count: usize,
) -> Result<SymbolMarket, JournalError> {
    let count = u32::try_from(replay_count).unwrap_or(u32::MAX);
    let trades = store.recent_trades(symbol, count).await?;
    let mut klines = Vec::new();
    for interval in KlineInterval::ALL {
        let kept = klines_kept(interval);
        let stored =
            store.latest_klines(symbol, interval, u32::try_from(kept).unwrap_or(u32::MAX)).await?;
        let complete = stored.len() < kept;
        klines.push((stored, complete));
    }
    Ok(SymbolMarket::new(replay_count, MarketRestore { trades, klines }))
}

/// Hands each bus batch to its symbol's writer, and starts the writer of a newly listed
/// symbol.
struct Router {
    store: Store,
    replay_count: usize,
    market_data: Addr<MarketData>,
    writers: BTreeMap<SymbolCode, mpsc::Sender<EventBatch>>,
    applied: Arc<AppliedSeqs>,
}

impl Router {
    fn spawn_writer(&mut self, symbol: SymbolCode, writer: SymbolWriter) {
        let (sender, receiver) = mpsc::channel(SYMBOL_QUEUE_BATCHES_MAX);
        tokio::spawn(writer.run(receiver, self.market_data.clone(), self.applied.clone()));
        self.writers.insert(symbol, sender);
    }

    async fn run(
        mut self,
        mut events: mpsc::Receiver<EventBatch>,
        mut listed: mpsc::UnboundedReceiver<MarketSpec>,
    ) {
        while let Some(batch) = events.recv().await {
            // A symbol is listed here before its book opens, so before any of its events.
            while let Ok(market) = listed.try_recv() {
                self.take_listing(market).await;
            }
            let Ok(symbol) = SymbolCode::new(&batch.symbol) else { continue };
            let Some(writer) = self.writers.get(&symbol) else { continue };
            if writer.send(batch).await.is_err() {
                tracing::error!(%symbol, "history writer stopped; its events wait in the journal");
            }
        }
    }

    /// Starts the writer of `market` (its first events then start with a gap from the stored
    /// watermark and are caught up from the journal). A table read that fails is retried: the
    /// symbol's events must not be dropped for want of a writer.
    async fn take_listing(&mut self, market: MarketSpec) {
        let symbol = market.symbol;
        if self.writers.contains_key(&symbol) {
            return;
        }
        loop {
            let restored = async {
                let market_data = restore_market(&self.store, symbol, self.replay_count).await?;
                let writer = SymbolWriter::restore(self.store.clone(), market).await?;
                Ok::<_, JournalError>((market_data, writer))
            };
            match restored.await {
                Ok((market_data, writer)) => {
                    self.market_data.do_send(AddSymbol { symbol, market: market_data });
                    self.spawn_writer(symbol, writer);
                    return;
                }
                Err(error) => {
                    tracing::warn!(%error, %symbol, "listing in the history failed; retrying");
                    tokio::time::sleep(symbol_writer::RETRY_PAUSE).await;
                }
            }
        }
    }
}
