//! [`IndexBoard`]: this process's view of the published index prices. It reads the price
//! channel, lets through only what the [`EpochGate`] accepts (refusing a paused old leader's
//! prices), and says for each index how old its latest price is: the liquidator must not act
//! on a stale index.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use exchange_actors::index::{EpochGate, PublishedIndex};
use exchange_actors::ports::IndexFeed;
use serde::Serialize;
use tokio::sync::mpsc;

/// How often the age gauges are refreshed when no price arrives.
const AGE_REPORT_INTERVAL: Duration = Duration::from_millis(500);

/// One index as a consumer sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BoardEntry {
    pub index: String,
    /// The latest accepted price, if any arrived.
    pub latest: Option<PublishedIndex>,
    pub age_ms: Option<u64>,
    /// No price, or the latest is older than the index's staleness limit.
    pub stale: bool,
}

#[derive(Debug)]
pub struct IndexBoard {
    gate: Mutex<EpochGate>,
    staleness_ms: BTreeMap<String, u64>,
}

impl IndexBoard {
    /// A board of these indexes (name -> staleness limit), fed by `feed` from now on.
    pub fn start(feed: &dyn IndexFeed, staleness_ms: BTreeMap<String, u64>) -> Arc<IndexBoard> {
        let gate = EpochGate::new(staleness_ms.keys().map(String::as_str));
        let board = Arc::new(IndexBoard { gate: Mutex::new(gate), staleness_ms });
        tokio::spawn(consume(Arc::downgrade(&board), feed.subscribe()));
        board
    }

    fn gate(&self) -> std::sync::MutexGuard<'_, EpochGate> {
        self.gate.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn accept(&self, price: PublishedIndex) {
        let index = price.index.clone();
        match self.gate().accept(price) {
            Ok(()) => {
                metrics::counter!("exchange_index_accepted_total", "index" => index).increment(1);
            }
            Err(refusal) => {
                tracing::warn!(%index, %refusal, "index price refused");
                metrics::counter!("exchange_index_refused_total", "reason" => refusal.reason())
                    .increment(1);
            }
        }
    }

    /// Every index at `now_ms`.
    pub fn entries(&self, now_ms: u64) -> Vec<BoardEntry> {
        let gate = self.gate();
        gate.all()
            .map(|(index, latest)| {
                let age_ms = latest.map(|price| now_ms.saturating_sub(price.at_ms));
                let limit_ms = self.staleness_ms.get(index).copied().unwrap_or(0);
                BoardEntry {
                    index: index.to_owned(),
                    latest: latest.cloned(),
                    age_ms,
                    stale: age_ms.is_none_or(|age_ms| age_ms > limit_ms),
                }
            })
            .collect()
    }

    /// The latest price of `index` when it is fresh at `now_ms`.
    pub fn fresh(&self, index: &str, now_ms: u64) -> Option<PublishedIndex> {
        self.entries(now_ms)
            .into_iter()
            .find(|entry| entry.index == index && !entry.stale)
            .and_then(|entry| entry.latest)
    }

    fn report(&self, now_ms: u64) {
        for entry in self.entries(now_ms) {
            let age = entry
                .age_ms
                .map_or(f64::INFINITY, |age_ms| Duration::from_millis(age_ms).as_secs_f64());
            metrics::gauge!("exchange_index_age_seconds", "index" => entry.index.clone()).set(age);
            let stale = if entry.stale { 1.0 } else { 0.0 };
            metrics::gauge!("exchange_index_stale", "index" => entry.index).set(stale);
        }
    }
}

/// Applies every received price until the board is dropped.
async fn consume(board: std::sync::Weak<IndexBoard>, mut prices: mpsc::Receiver<PublishedIndex>) {
    let mut report = tokio::time::interval(AGE_REPORT_INTERVAL);
    loop {
        tokio::select! {
            price = prices.recv() => {
                let (Some(price), Some(board)) = (price, board.upgrade()) else { return };
                board.accept(price);
            }
            _ = report.tick() => {
                let Some(board) = board.upgrade() else { return };
                board.report(super::wall_clock_ms());
            }
        }
    }
}
