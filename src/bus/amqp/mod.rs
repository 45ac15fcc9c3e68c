//! The RabbitMQ [`EventBus`]: a durable topic exchange, a durable quorum queue per consumer
//! group, persistent mandatory messages with publisher confirms, manual acks with a bounded
//! prefetch, a dead-letter queue for poison messages, and reconnection with capped backoff
//! ([`topology`] names the objects, [`codec`] is the message format).
//!
//! Publishing goes through an outbox [`relay`]: the journal holds every event before it is
//! published, the relay publishes from its per-symbol cursor and advances it only on confirm,
//! so events journaled while the broker is down are published when it returns. `publish`
//! never waits. Delivery is at least once per consumer group: consumers drop duplicates by
//! their per-symbol watermark and read the journal on a gap.
//!
//! All AMQP I/O runs as tasks on the tokio runtime that started the bus (the server's main
//! runtime), not on the caller's arbiter: an account shard's arbiter may be restarted, and a
//! consumer spawned there would die with it.

mod backoff;
pub mod codec;
mod consumer;
mod groups;
mod link;
mod outbox;
mod queue_depth;
mod relay;
pub mod topology;

use std::sync::Arc;

use exchange_actors::ports::{EventBatch, EventBus, JournalError};
use tokio::runtime::Handle;
use tokio::sync::mpsc;

pub use consumer::PREFETCH_MESSAGES_MAX;
pub use queue_depth::{BUS_QUEUE_DEPTH, QUEUE_DEPTH_INTERVAL};
pub use relay::{HANDOFF_BATCHES_MAX, IDLE_SWEEP_INTERVAL, cursor_name};
pub use topology::Topology;

use crate::store::Store;

/// The exchange name unless `AMQP_EXCHANGE` says otherwise.
pub const EXCHANGE_DEFAULT: &str = "exchange.book-events";
/// Batches a subscriber may have waiting; when full, its consumer stops taking messages.
pub const SUBSCRIBER_BATCHES_MAX: usize = 1_024;

#[derive(Debug)]
pub struct AmqpBus {
    url: String,
    topology: Arc<Topology>,
    groups: Arc<groups::ConsumerGroups>,
    handoff: relay::Handoff,
    runtime: Handle,
}

impl AmqpBus {
    /// Starts the relay of `symbols`' events to `exchange` at `url` (the broker may be down:
    /// it is retried), cursors from `store`. Must be called on the runtime that outlives the
    /// bus's users; its tasks run there.
    pub async fn start(
        url: &str,
        exchange: &str,
        symbols: Vec<String>,
        store: Store,
    ) -> Result<Arc<AmqpBus>, JournalError> {
        let topology = Arc::new(Topology::new(exchange, symbols));
        let groups = Arc::new(groups::ConsumerGroups::default());
        let (relay, handoff) =
            relay::Relay::restore(url, topology.clone(), groups.clone(), store).await?;
        let runtime = Handle::current();
        runtime.spawn(relay.run());
        runtime.spawn(queue_depth::run(url.to_owned(), topology.clone(), groups.clone()));
        Ok(Arc::new(AmqpBus { url: url.to_owned(), topology, groups, handoff, runtime }))
    }

    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    /// Whether the broker answers now: opens a connection and a channel within `limit` (the
    /// relay's own link may be mid-reconnect, so its state would not say), then closes it.
    pub async fn probe(&self, limit: std::time::Duration) -> Result<(), String> {
        let opened = link::within(limit, link::Link::open(&self.url)).await;
        match opened {
            Ok(Ok(link)) => {
                tokio::spawn(link.close());
                Ok(())
            }
            Ok(Err(error)) | Err(error) => Err(error.to_string()),
        }
    }
}

impl EventBus for AmqpBus {
    fn publish(&self, batch: EventBatch) {
        self.handoff.hand_over(batch);
    }

    /// Every batch published after this returns reaches the group's queue (the relay declares
    /// it first); batches from before come too when the queue already existed.
    fn subscribe(&self, consumer: &str) -> mpsc::Receiver<EventBatch> {
        self.groups.add(consumer);
        let (sender, receiver) = mpsc::channel(SUBSCRIBER_BATCHES_MAX);
        let consuming =
            consumer::run(self.url.clone(), self.topology.clone(), consumer.to_owned(), sender);
        self.runtime.spawn(consuming);
        receiver
    }
}
