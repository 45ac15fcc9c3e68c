//! `IndexOracle`: the actor shell around the index's pure parts. Every process runs one: each
//! gathers quotes from its sources (its spot books, pushed prices, an external feed) through
//! [`ObserveQuote`]; the one holding the lease publishes every index each tick under its
//! fencing epoch. The lock call of a tick runs after the publish (see [`Leadership`]) and never
//! overlaps the previous one.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use rust_decimal::Decimal;

use super::{IndexRules, IndexSources, Leadership, LeadershipStep, PublishedIndex, Quote};
use crate::ports::{Clock, IndexFeed, LeaderLock};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexOracleSettings {
    /// How often the leader publishes (and every process renews or tries the lease).
    pub publish_interval: Duration,
    /// The lease's time to live: a leader that stops renewing is replaced after about this.
    pub lease_ttl_ms: u64,
    /// This process's name at the lock, unique among the processes sharing it.
    pub holder: String,
}

/// A quote of `source` for `index`. Answers whether it was taken (an unknown index, an
/// out-of-order quote or one source too many is not).
#[derive(Clone, Debug, Message)]
#[rtype(result = "bool")]
pub struct ObserveQuote {
    pub index: String,
    pub source: String,
    pub quote: Quote,
}

/// The index as this process's own sources give it now (`None`: unknown or unavailable); what
/// a pushed price is compared with.
#[derive(Clone, Debug, Message)]
#[rtype(result = "Option<Decimal>")]
pub struct LocalIndex {
    pub index: String,
}

/// What the lock said to this tick's call.
enum LockAnswer {
    Acquired(Option<crate::ports::Epoch>),
    Renewed(bool),
}

pub struct IndexOracle {
    settings: IndexOracleSettings,
    indexes: BTreeMap<String, IndexSources>,
    leadership: Leadership,
    lock: Arc<dyn LeaderLock>,
    feed: Arc<dyn IndexFeed>,
    clock: Arc<dyn Clock>,
    lock_call_running: bool,
}

impl std::fmt::Debug for IndexOracle {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("IndexOracle")
            .field("indexes", &self.indexes.keys().collect::<Vec<_>>())
            .field("leadership", &self.leadership)
            .finish_non_exhaustive()
    }
}

impl IndexOracle {
    pub fn new(
        settings: IndexOracleSettings,
        indexes: BTreeMap<String, IndexRules>,
        lock: Arc<dyn LeaderLock>,
        feed: Arc<dyn IndexFeed>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let leadership = Leadership::new(settings.lease_ttl_ms);
        let indexes =
            indexes.into_iter().map(|(name, rules)| (name, IndexSources::new(rules))).collect();
        IndexOracle { settings, indexes, leadership, lock, feed, clock, lock_call_running: false }
    }

    fn now_ms(&self) -> u64 {
        self.clock.now_ns() / 1_000_000
    }

    fn tick(&mut self, ctx: &mut Context<Self>) {
        let now_ms = self.now_ms();
        self.publish(now_ms);
        self.report(now_ms);
        self.call_lock(ctx);
    }

    /// When leading: every index that is available now, under the held epoch.
    fn publish(&mut self, now_ms: u64) {
        for (name, sources) in &self.indexes {
            let Ok(value) = sources.compute(now_ms) else { continue };
            let Some((epoch, seq)) = self.leadership.next_seq(name) else { return };
            self.feed.publish(PublishedIndex {
                index: name.clone(),
                price: value.price.normalize(),
                seq,
                epoch,
                at_ms: now_ms,
                sources: value.sources_used,
            });
            metrics::counter!("exchange_index_published_total", "index" => name.clone())
                .increment(1);
        }
    }

    /// The age of every source's latest quote and whether each index is available here.
    fn report(&self, now_ms: u64) {
        for (name, sources) in &self.indexes {
            for (source, quote) in sources.quotes() {
                let age = Duration::from_millis(now_ms.saturating_sub(quote.observed_at_ms));
                metrics::gauge!(
                    "exchange_index_source_age_seconds",
                    "index" => name.clone(),
                    "source" => source.to_owned()
                )
                .set(age.as_secs_f64());
            }
            let available = if sources.compute(now_ms).is_ok() { 1.0 } else { 0.0 };
            metrics::gauge!("exchange_index_sources_available", "index" => name.clone())
                .set(available);
        }
        self.report_leading();
    }

    fn report_leading(&self) {
        let leading = if self.leadership.is_leader() { 1.0 } else { 0.0 };
        metrics::gauge!("exchange_index_leader").set(leading);
    }

    /// Acquires or renews the lease; one call at a time, its answer applied when it comes.
    fn call_lock(&mut self, ctx: &mut Context<Self>) {
        if self.lock_call_running {
            return;
        }
        self.lock_call_running = true;
        let lock = Arc::clone(&self.lock);
        let holder = self.settings.holder.clone();
        let ttl_ms = self.settings.lease_ttl_ms;
        let step = self.leadership.step();
        let call = async move {
            match step {
                LeadershipStep::Acquire => {
                    lock.try_acquire(holder, ttl_ms).await.map(LockAnswer::Acquired)
                }
                LeadershipStep::Renew => lock.renew(holder, ttl_ms).await.map(LockAnswer::Renewed),
            }
        };
        ctx.spawn(call.into_actor(self).map(|answer, oracle, _ctx| {
            oracle.lock_call_running = false;
            let now_ms = oracle.now_ms();
            let was_leader = oracle.leadership.is_leader();
            match answer {
                Ok(LockAnswer::Acquired(epoch)) => oracle.leadership.acquired(epoch, now_ms),
                Ok(LockAnswer::Renewed(still_held)) => {
                    oracle.leadership.renewed(still_held, now_ms)
                }
                Err(error) => {
                    tracing::warn!(%error, "index oracle: leader lock unreachable");
                    oracle.leadership.lock_unreachable(now_ms);
                }
            }
            match (was_leader, oracle.leadership.epoch()) {
                (false, Some(epoch)) => {
                    tracing::info!(epoch = epoch.0, "index oracle: leading");
                    metrics::counter!("exchange_index_leader_changes_total", "change" => "acquired")
                        .increment(1);
                    // Publish at once: a takeover should not wait for the next tick.
                    oracle.publish(now_ms);
                    oracle.report_leading();
                }
                (true, None) => {
                    tracing::warn!("index oracle: lost the lease, following");
                    metrics::counter!("exchange_index_leader_changes_total", "change" => "lost")
                        .increment(1);
                    oracle.report_leading();
                }
                _ => {}
            }
        }));
    }
}

impl Actor for IndexOracle {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.tick(ctx);
        ctx.run_interval(self.settings.publish_interval, Self::tick);
    }

    fn stopped(&mut self, _ctx: &mut Self::Context) {
        if self.leadership.is_leader() {
            // Hand over at once instead of after the ttl; best effort, the ttl is the backstop.
            let release = self.lock.release(self.settings.holder.clone());
            actix::spawn(async move {
                let _ = release.await;
            });
        }
    }
}

impl Handler<ObserveQuote> for IndexOracle {
    type Result = bool;

    fn handle(&mut self, message: ObserveQuote, _ctx: &mut Self::Context) -> bool {
        match self.indexes.get_mut(&message.index) {
            Some(sources) => sources.observe(&message.source, message.quote),
            None => false,
        }
    }
}

impl Handler<LocalIndex> for IndexOracle {
    type Result = Option<Decimal>;

    fn handle(&mut self, message: LocalIndex, _ctx: &mut Self::Context) -> Option<Decimal> {
        let now_ms = self.now_ms();
        let sources = self.indexes.get(&message.index)?;
        sources.compute(now_ms).ok().map(|value| value.price)
    }
}
