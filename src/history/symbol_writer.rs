//! One symbol's history writer: its [`SymbolHistory`], the watermark stored for it, and a
//! task that writes the symbol's bus batches in order, each group of them in one transaction
//! of its own. Symbols write in parallel, each on its own connection from the pool; within a
//! symbol nothing is reordered.
//!
//! A gap (a lost message, a symbol listed while running) is caught up from the journal. A
//! failed commit rebuilds the state from the table after a pause and catches up from the
//! journal (or, if that fails too, the next batch's gap brings back what was lost). That includes commits the database lost after
//! confirming them (history commits are asynchronous on PostgreSQL): each commit moves the
//! stored watermark only from the value this writer last stored, so after such a loss the
//! next commit fails instead of writing past the hole.

use std::sync::Arc;
use std::time::Duration;

use actix::Addr;
use exchange_actors::account::MarketSpec;
use exchange_actors::market::actor::{MarketData, TradesCommitted};
use exchange_actors::market::{KlineInterval, SymbolHistory, TradeApplyError, TradeBatch};
use exchange_actors::ports::{EventBatch, Journal, JournalError, book_stream};
use tokio::sync::mpsc;

use super::HISTORY_CONSUMER;
use crate::observe::AppliedSeqs;
use crate::safety_metrics::{WriteComponent, count_write_failure};
use crate::store::Store;

/// Bus batches written in one transaction at most.
const BUS_BATCHES_PER_COMMIT_MAX: usize = 256;
/// Events read from the journal per catch-up page.
const CATCH_UP_PAGE_EVENTS: u32 = 10_000;
pub(super) const RETRY_PAUSE: Duration = Duration::from_millis(500);
/// Events without trades (orders, cancels, level changes) advance the stored watermark only
/// once it lags by this many: a restart re-reads at most these from the journal, and a
/// cancel-heavy book does not cost a transaction per batch.
const WATERMARK_LAG_MAX: u64 = 10_000;

pub struct SymbolWriter {
    store: Store,
    journal: Arc<dyn Journal>,
    market: MarketSpec,
    history: SymbolHistory,
    /// The watermark stored in `consumer_watermarks`.
    stored: u64,
}

impl SymbolWriter {
    /// The writer of `market` as the table left it.
    pub async fn restore(store: Store, market: MarketSpec) -> Result<SymbolWriter, JournalError> {
        let journal: Arc<dyn Journal> = Arc::new(store.clone());
        let (history, stored) = restored_history(&store, market).await?;
        Ok(SymbolWriter { store, journal, market, history, stored })
    }

    /// Reads the journal after the watermark until it has no more, committing each page (and
    /// handing its trades to `market_data` when given).
    pub async fn catch_up(
        &mut self,
        market_data: Option<&Addr<MarketData>>,
    ) -> Result<(), JournalError> {
        let stream = book_stream(self.market.symbol.as_str());
        loop {
            let watermark = self.history.watermark();
            let events = self
                .journal
                .book_events_after(self.market.symbol.to_string(), watermark, CATCH_UP_PAGE_EVENTS)
                .await?;
            if events.is_empty() {
                return Ok(());
            }
            let batch = self.history.apply(&events).map_err(|error| JournalError::Corrupt {
                stream: stream.clone(),
                position: watermark,
                detail: error.to_string(),
            })?;
            self.commit(batch.into_iter().collect(), market_data).await?;
        }
    }

    /// Writes what arrives on `batches` until the sender is gone.
    pub async fn run(
        mut self,
        mut batches: mpsc::Receiver<EventBatch>,
        market_data: Addr<MarketData>,
        applied: Arc<AppliedSeqs>,
    ) {
        let symbol = self.market.symbol.to_string();
        applied.set(&symbol, self.history.watermark());
        while let Some(first) = batches.recv().await {
            let mut group = vec![first];
            while group.len() < BUS_BATCHES_PER_COMMIT_MAX {
                match batches.try_recv() {
                    Ok(batch) => group.push(batch),
                    Err(_) => break,
                }
            }
            let written = self.write_group(group, &market_data).await;
            applied.set(&symbol, self.history.watermark());
            if let Err(error) = written {
                tracing::warn!(%error, %symbol, "history write failed; rebuilding from the table");
                tokio::time::sleep(RETRY_PAUSE).await;
                if let Err(error) = self.recover(&market_data, &applied).await {
                    tracing::error!(%error, %symbol, "history recovery failed; retrying later");
                }
            }
        }
    }

    /// After a failed write: the state as the table holds it, then the journal after it (what
    /// the failed group held, or what the database lost), without waiting for the symbol's
    /// next event to show the gap. On failure the next batch's gap tries again.
    async fn recover(
        &mut self,
        market_data: &Addr<MarketData>,
        applied: &AppliedSeqs,
    ) -> Result<(), JournalError> {
        let symbol = self.market.symbol.to_string();
        (self.history, self.stored) = restored_history(&self.store, self.market).await?;
        applied.set(&symbol, self.history.watermark());
        let caught_up = self.catch_up(Some(market_data)).await;
        if caught_up.is_err() {
            // The failed page was applied in memory only.
            (self.history, self.stored) = restored_history(&self.store, self.market).await?;
        }
        applied.set(&symbol, self.history.watermark());
        caught_up
    }

    /// Applies a group of bus batches and commits them in one transaction; on a gap what was
    /// applied before is committed first, then the journal is caught up.
    async fn write_group(
        &mut self,
        group: Vec<EventBatch>,
        market_data: &Addr<MarketData>,
    ) -> Result<(), JournalError> {
        let mut batches = Vec::new();
        for bus_batch in group {
            match self.history.apply(&bus_batch.events) {
                Ok(batch) => batches.extend(batch),
                Err(TradeApplyError::Gap { .. }) => {
                    self.commit(std::mem::take(&mut batches), Some(market_data)).await?;
                    self.catch_up(Some(market_data)).await?;
                }
                Err(error) => {
                    return Err(JournalError::Corrupt {
                        stream: book_stream(self.market.symbol.as_str()),
                        position: self.history.watermark(),
                        detail: error.to_string(),
                    });
                }
            }
        }
        self.commit(batches, Some(market_data)).await
    }

    async fn commit(
        &mut self,
        batches: Vec<TradeBatch>,
        market_data: Option<&Addr<MarketData>>,
    ) -> Result<(), JournalError> {
        let Some(watermark) = batches.last().map(|batch| batch.watermark) else { return Ok(()) };
        let has_trades = batches.iter().any(|batch| !batch.trades.is_empty());
        if !has_trades && watermark.saturating_sub(self.stored) < WATERMARK_LAG_MAX {
            return Ok(());
        }
        self.store
            .commit_trade_batches(HISTORY_CONSUMER, self.stored, &batches)
            .await
            .inspect_err(|_| count_write_failure(WriteComponent::HistoryWriter))?;
        self.stored = watermark;
        let Some(market_data) = market_data else { return Ok(()) };
        let trades: Vec<_> = batches.into_iter().flat_map(|batch| batch.trades).collect();
        if trades.is_empty() {
            return Ok(());
        }
        let committed = TradesCommitted { symbol: self.market.symbol, trades };
        if market_data.send(committed).await.is_err() {
            tracing::error!("market data stopped; trades are in the table only");
        }
        Ok(())
    }
}

/// `market`'s history as committed: the stored watermark and each interval's current kline.
async fn restored_history(
    store: &Store,
    market: MarketSpec,
) -> Result<(SymbolHistory, u64), JournalError> {
    let symbol = market.symbol;
    let watermark = store.consumer_watermark(HISTORY_CONSUMER, symbol).await?;
    let mut current = Vec::new();
    for interval in KlineInterval::ALL {
        current.push(store.latest_klines(symbol, interval, 1).await?.pop());
    }
    Ok((SymbolHistory::new(market, watermark, current), watermark))
}
