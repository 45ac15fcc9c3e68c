//! The history writer, in-process: subscribes to the bus as consumer [`HISTORY_CONSUMER`],
//! turns book events into trades and klines by per-symbol watermark ([`SymbolHistory`]), and
//! writes them with the watermark in one transaction per group of bus batches. On a gap it
//! reads the missing events from the journal. After each commit it hands the trades to the
//! [`MarketData`] actor, so market data in memory is always a suffix of the table.
//!
//! Start: subscribe first (whatever is published meanwhile arrives or is in the journal),
//! restore each symbol's watermark and current klines, catch up from the journal, restore
//! market data from the table, then consume. A failed commit rebuilds the state from the
//! table and retries after a pause; the next batch's gap brings back what was lost.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use actix::{Actor as _, Addr};
use exchange_actors::account::MarketSpec;
use exchange_actors::market::actor::{AddSymbol, MarketData, TradesCommitted};
use exchange_actors::market::{
    KlineInterval, MarketRestore, SymbolHistory, SymbolMarket, TradeBatch, klines_kept,
};
use exchange_actors::model::SymbolCode;
use exchange_actors::ports::{EventBatch, EventBus, Journal, JournalError};
use tokio::sync::mpsc;

use crate::store::Store;

/// The history writer's name on the bus and in `consumer_watermarks`.
pub const HISTORY_CONSUMER: &str = "history";
/// Trades restored into memory per symbol unless `EVENT_REPLAY_COUNT` says otherwise.
pub const EVENT_REPLAY_COUNT_DEFAULT: usize = 1_000;
/// Most trades restored per symbol (the table read is one page).
pub const EVENT_REPLAY_COUNT_MAX: usize = 10_000;
/// Bus batches written in one transaction at most.
const BUS_BATCHES_PER_COMMIT_MAX: usize = 256;
/// Events read from the journal per catch-up page.
const CATCH_UP_PAGE_EVENTS: u32 = 10_000;
const RETRY_PAUSE: Duration = Duration::from_millis(500);
/// Events without trades (orders, cancels, level changes) advance the stored watermark only
/// once it lags by this many: a restart re-reads at most these from the journal, and a
/// cancel-heavy book does not cost a transaction per batch.
const WATERMARK_LAG_MAX: u64 = 10_000;

/// The running writer's handle: market data for the routes, and where to list a new symbol.
#[derive(Debug)]
pub struct History {
    pub market_data: Addr<MarketData>,
    pub listings: mpsc::UnboundedSender<MarketSpec>,
}

struct Writer {
    store: Store,
    replay_count: usize,
    journal: Arc<dyn Journal>,
    markets: BTreeMap<SymbolCode, MarketSpec>,
    histories: BTreeMap<SymbolCode, SymbolHistory>,
    /// The watermark stored per symbol.
    stored: BTreeMap<SymbolCode, u64>,
}

/// Brings the history up to date with the journal and starts consuming `bus`.
pub async fn start(
    store: Store,
    bus: &dyn EventBus,
    markets: BTreeMap<SymbolCode, MarketSpec>,
    replay_count: usize,
) -> Result<History, JournalError> {
    let events = bus.subscribe(HISTORY_CONSUMER);
    let journal: Arc<dyn Journal> = Arc::new(store.clone());
    let mut writer = Writer {
        store,
        replay_count,
        journal,
        markets,
        histories: BTreeMap::new(),
        stored: BTreeMap::new(),
    };
    writer.restore().await?;
    for symbol in writer.markets.keys().copied().collect::<Vec<_>>() {
        writer.catch_up(symbol, None).await?;
    }
    let mut restored = BTreeMap::new();
    for symbol in writer.markets.keys() {
        restored.insert(*symbol, restore_market(&writer.store, *symbol, replay_count).await?);
    }
    let market_data = MarketData::new(restored).start();
    let (listings, listed) = mpsc::unbounded_channel();
    tokio::spawn(writer.run(events, listed, market_data.clone()));
    Ok(History { market_data, listings })
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

impl Writer {
    /// Each symbol's watermark and current klines, as committed.
    async fn restore(&mut self) -> Result<(), JournalError> {
        self.histories.clear();
        for market in self.markets.values().copied().collect::<Vec<_>>() {
            self.restore_symbol(market).await?;
        }
        Ok(())
    }

    async fn restore_symbol(&mut self, market: MarketSpec) -> Result<(), JournalError> {
        let symbol = market.symbol;
        let watermark = self.store.consumer_watermark(HISTORY_CONSUMER, symbol).await?;
        let mut current = Vec::new();
        for interval in KlineInterval::ALL {
            current.push(self.store.latest_klines(symbol, interval, 1).await?.pop());
        }
        self.histories.insert(symbol, SymbolHistory::new(market, watermark, current));
        self.stored.insert(symbol, watermark);
        Ok(())
    }

    /// Takes over symbols listed since the last group, before any of their events can arrive
    /// (a symbol is listed here before its book opens). Its events then start with a gap from
    /// the stored watermark and are caught up from the journal.
    async fn take_listings(
        &mut self,
        listed: &mut mpsc::UnboundedReceiver<MarketSpec>,
        market_data: &Addr<MarketData>,
    ) -> Result<(), JournalError> {
        while let Ok(market) = listed.try_recv() {
            if self.markets.insert(market.symbol, market).is_some() {
                continue;
            }
            let restored = restore_market(&self.store, market.symbol, self.replay_count).await?;
            market_data.do_send(AddSymbol { symbol: market.symbol, market: restored });
            self.restore_symbol(market).await?;
        }
        Ok(())
    }

    /// Reads `symbol`'s journal after the watermark until it has no more, committing each
    /// page (and forwarding its trades to `market_data` when given).
    async fn catch_up(
        &mut self,
        symbol: SymbolCode,
        market_data: Option<&Addr<MarketData>>,
    ) -> Result<(), JournalError> {
        loop {
            let history = self.histories.get_mut(&symbol).expect("every market has a history");
            let events = self
                .journal
                .book_events_after(symbol.to_string(), history.watermark(), CATCH_UP_PAGE_EVENTS)
                .await?;
            if events.is_empty() {
                return Ok(());
            }
            let batch = history.apply(&events).map_err(|error| JournalError::Corrupt {
                stream: exchange_actors::ports::book_stream(symbol.as_str()),
                position: history.watermark(),
                detail: error.to_string(),
            })?;
            self.commit(batch.into_iter().collect(), market_data).await?;
        }
    }

    async fn commit(
        &mut self,
        batches: Vec<TradeBatch>,
        market_data: Option<&Addr<MarketData>>,
    ) -> Result<(), JournalError> {
        let stored = &self.stored;
        let batches: Vec<TradeBatch> = batches
            .into_iter()
            .filter(|batch| {
                let lag =
                    batch.watermark.saturating_sub(stored.get(&batch.symbol).copied().unwrap_or(0));
                !batch.trades.is_empty() || lag >= WATERMARK_LAG_MAX
            })
            .collect();
        if batches.is_empty() {
            return Ok(());
        }
        self.store.commit_trade_batches(HISTORY_CONSUMER, &batches).await?;
        for batch in &batches {
            self.stored.insert(batch.symbol, batch.watermark);
        }
        let Some(market_data) = market_data else { return Ok(()) };
        for batch in batches.into_iter().filter(|batch| !batch.trades.is_empty()) {
            let committed = TradesCommitted { symbol: batch.symbol, trades: batch.trades };
            if market_data.send(committed).await.is_err() {
                tracing::error!("market data stopped; trades are in the table only");
            }
        }
        Ok(())
    }

    async fn run(
        mut self,
        mut events: mpsc::Receiver<EventBatch>,
        mut listed: mpsc::UnboundedReceiver<MarketSpec>,
        market_data: Addr<MarketData>,
    ) {
        while let Some(first) = events.recv().await {
            if let Err(error) = self.take_listings(&mut listed, &market_data).await {
                // The symbol is in `markets`: the restore below takes it over.
                tracing::warn!(%error, "listing a new symbol failed; rebuilding from the table");
                self.pause_and_restore().await;
            }
            let mut group = vec![first];
            while group.len() < BUS_BATCHES_PER_COMMIT_MAX {
                match events.try_recv() {
                    Ok(batch) => group.push(batch),
                    Err(_) => break,
                }
            }
            if let Err(error) = self.write_group(group, &market_data).await {
                tracing::warn!(%error, "history write failed; rebuilding from the table");
                self.pause_and_restore().await;
            }
        }
    }

    async fn pause_and_restore(&mut self) {
        tokio::time::sleep(RETRY_PAUSE).await;
        if let Err(error) = self.restore().await {
            tracing::error!(%error, "history restore failed; retrying at the next batch");
        }
    }

    /// Applies a group of bus batches and commits them in one transaction; a symbol with a gap
    /// is caught up from the journal first (its pages committed on their own).
    async fn write_group(
        &mut self,
        group: Vec<EventBatch>,
        market_data: &Addr<MarketData>,
    ) -> Result<(), JournalError> {
        let mut batches = Vec::new();
        for bus_batch in group {
            let Ok(symbol) = SymbolCode::new(&bus_batch.symbol) else { continue };
            let Some(history) = self.histories.get_mut(&symbol) else { continue };
            match history.apply(&bus_batch.events) {
                Ok(batch) => batches.extend(batch),
                Err(exchange_actors::market::TradeApplyError::Gap { .. }) => {
                    // Keep the order of commits: what was applied before goes first.
                    self.commit(std::mem::take(&mut batches), Some(market_data)).await?;
                    self.catch_up(symbol, Some(market_data)).await?;
                }
                Err(error) => {
                    return Err(JournalError::Corrupt {
                        stream: exchange_actors::ports::book_stream(symbol.as_str()),
                        position: history.watermark(),
                        detail: error.to_string(),
                    });
                }
            }
        }
        self.commit(batches, Some(market_data)).await
    }
}
