//! Gauges sampled from the running actors rather than counted where things happen: the
//! account shards' settlement lag (book events published but not yet applied, by shard).
//! A task asks both supervisors once per [`SAMPLE_INTERVAL`]; it ends with the system.

use std::time::Duration;

use actix::Addr;
use exchange_actors::supervisor::{
    GetBookProgress, GetShardProgress, ShardSupervisor, Supervisor, settlement_lag_events,
};

/// Book events published but not yet applied by a consumer, by `consumer`. Only the account
/// shards (`account_shard_N`, the settlement path) are measured.
pub const CONSUMER_LAG_EVENTS: &str = "exchange_consumer_lag_events";
pub const SAMPLE_INTERVAL: Duration = Duration::from_secs(1);

/// Starts sampling on the current actix runtime.
pub fn start_lag_sampler(books: Addr<Supervisor>, shards: Addr<ShardSupervisor>) {
    actix::spawn(async move {
        let mut ticks = tokio::time::interval(SAMPLE_INTERVAL);
        loop {
            ticks.tick().await;
            // Either supervisor gone: the system is stopping.
            let (Ok(book_seqs), Ok(applied)) =
                (books.send(GetBookProgress).await, shards.send(GetShardProgress).await)
            else {
                return;
            };
            for (index, lag) in settlement_lag_events(&book_seqs, &applied).into_iter().enumerate()
            {
                let consumer = format!("account_shard_{index}");
                // Exact below 2^53 events.
                metrics::gauge!(CONSUMER_LAG_EVENTS, "consumer" => consumer).set(lag as f64);
            }
        }
    });
}
