//! Gauges sampled from the running system rather than counted where things happen, once per
//! [`SAMPLE_INTERVAL`] by one task that ends with the system:
//!
//! - `exchange_settlement_lag_events{shard}`: per account shard, the book events published
//!   over every symbol but not yet applied (from the supervisors' heartbeats);
//! - `exchange_consumer_lag_events{consumer,symbol}`: per consumer group of the book events
//!   (`account_shards`, `history`, `depth`, `ws-streams`) and symbol, the book's last event seq
//!   less the seq the group has applied (the slowest shard for `account_shards`). Labels are
//!   bounded: four groups times the listed symbols. The same on either bus: each consumer
//!   reports what it applied, not what the bus delivered.
//!
//! [`ledger_watch`] watches the journal's writes; [`applied`] is the history writer's report.

pub mod applied;
pub mod ledger_watch;

use std::sync::Arc;
use std::time::Duration;

use actix::Addr;
use exchange_actors::market::actor::{DEPTH_CONSUMER, DepthReplicas};
use exchange_actors::session::{STREAMS_CONSUMER, StreamHub};
use exchange_actors::supervisor::{
    GetAppliedSeqs, GetBookProgress, GetShardProgress, ShardSupervisor, Supervisor,
    consumer_lag_events, settlement_lag_events,
};

pub use applied::AppliedSeqs;
pub use ledger_watch::{LedgerWatch, WatchedJournal};

use crate::history::HISTORY_CONSUMER;

/// Per account shard, book events published but not yet applied, by `shard`.
pub const SETTLEMENT_LAG_EVENTS: &str = "exchange_settlement_lag_events";
/// Per consumer group and symbol, events behind the book, by `consumer` and `symbol`.
pub const CONSUMER_LAG_EVENTS: &str = "exchange_consumer_lag_events";
/// The account shards as one consumer group in [`CONSUMER_LAG_EVENTS`].
pub const ACCOUNT_SHARDS_CONSUMER: &str = "account_shards";
pub const SAMPLE_INTERVAL: Duration = Duration::from_secs(1);

/// Where the sampler reads each consumer's position.
#[derive(Clone, Debug)]
pub struct LagSources {
    pub books: Addr<Supervisor>,
    pub shards: Addr<ShardSupervisor>,
    pub ledger: Arc<LedgerWatch>,
    pub history: Arc<AppliedSeqs>,
    pub depth: Addr<DepthReplicas>,
    pub streams: Addr<StreamHub>,
}

/// Starts sampling on the current actix runtime.
pub fn start_lag_sampler(sources: LagSources) {
    actix::spawn(async move {
        let mut ticks = tokio::time::interval(SAMPLE_INTERVAL);
        loop {
            ticks.tick().await;
            // A supervisor gone: the system is stopping.
            let (Ok(book_seqs), Ok(applied)) = (
                sources.books.send(GetBookProgress).await,
                sources.shards.send(GetShardProgress).await,
            ) else {
                return;
            };
            let published: Vec<u64> = book_seqs.iter().map(|(_, seq)| *seq).collect();
            for (index, lag) in settlement_lag_events(&published, &applied).into_iter().enumerate()
            {
                // Exact below 2^53 events.
                metrics::gauge!(SETTLEMENT_LAG_EVENTS, "shard" => index.to_string())
                    .set(lag as f64);
            }
            // An actor gone (stopping) reports nothing this round.
            let depth = sources.depth.send(GetAppliedSeqs).await.unwrap_or_default();
            let streams = sources.streams.send(GetAppliedSeqs).await.unwrap_or_default();
            let groups = [
                (ACCOUNT_SHARDS_CONSUMER, sources.ledger.account_shards_applied()),
                (HISTORY_CONSUMER, sources.history.all()),
                (DEPTH_CONSUMER, depth),
                (STREAMS_CONSUMER, streams),
            ];
            for (consumer, applied) in groups {
                for (symbol, lag) in consumer_lag_events(&book_seqs, &applied) {
                    metrics::gauge!(CONSUMER_LAG_EVENTS, "consumer" => consumer, "symbol" => symbol)
                        .set(lag as f64);
                }
            }
        }
    });
}
