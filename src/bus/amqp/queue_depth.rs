//! `exchange_bus_queue_depth{queue}`: the messages ready in each consumer group's queue and in
//! the dead-letter queue, read from the broker every [`QUEUE_DEPTH_INTERVAL`] by a passive
//! declare (which creates nothing) over a link of its own. Labels are the group names (and
//! `dead-letter`): bounded by the configuration. While the broker is unreachable the gauges
//! keep their last value and the link is reopened after a backoff pause.

use std::sync::Arc;
use std::time::Duration;

use lapin::options::QueueDeclareOptions;
use lapin::types::FieldTable;

use super::backoff::Backoff;
use super::groups::ConsumerGroups;
use super::link::{CONNECT_TIMEOUT, Link, LinkError, within};
use super::topology::Topology;

/// Ready messages in a queue, by `queue` (a consumer group, or `dead-letter`).
pub const BUS_QUEUE_DEPTH: &str = "exchange_bus_queue_depth";
pub const QUEUE_DEPTH_INTERVAL: Duration = Duration::from_secs(5);
const DEAD_LETTER_LABEL: &str = "dead-letter";

/// Samples until the runtime stops.
pub async fn run(url: String, topology: Arc<Topology>, groups: Arc<ConsumerGroups>) {
    let mut backoff = Backoff::default();
    loop {
        match Link::open(&url).await {
            Ok(link) => {
                backoff.reset();
                let ended = sample_on(&link, &topology, &groups).await;
                tracing::debug!(error = %ended, "queue depth sampling reconnects");
                link.close().await;
            }
            Err(error) => tracing::debug!(%error, "queue depth sampling cannot reach the broker"),
        }
        tokio::time::sleep(backoff.next_pause()).await;
    }
}

/// Samples over `link` until it fails.
async fn sample_on(link: &Link, topology: &Topology, groups: &ConsumerGroups) -> LinkError {
    let mut ticks = tokio::time::interval(QUEUE_DEPTH_INTERVAL);
    loop {
        ticks.tick().await;
        let queues = groups
            .names()
            .into_iter()
            .map(|group| (topology.consumer_queue(&group), group))
            .chain([(topology.dead_letter(), DEAD_LETTER_LABEL.to_owned())]);
        for (queue, label) in queues {
            let passive = QueueDeclareOptions { passive: true, ..QueueDeclareOptions::default() };
            let declared =
                link.channel.queue_declare(queue.as_str().into(), passive, FieldTable::default());
            match within(CONNECT_TIMEOUT, declared).await {
                Ok(Ok(declared)) => {
                    let ready = f64::from(declared.message_count());
                    metrics::gauge!(BUS_QUEUE_DEPTH, "queue" => label).set(ready);
                }
                // Not declared yet (its consumer is still connecting): the channel is closed
                // by the broker's 404, so the link is reopened.
                Ok(Err(error)) => return LinkError::Amqp(error),
                Err(timeout) => return timeout,
            }
        }
    }
}
