//! One consumer group's subscription: consumes `{exchange}.{consumer}` with manual acks and a
//! bounded prefetch, hands each decoded batch to the subscriber's channel (waiting while it is
//! full: backpressure reaches the broker through the prefetch window, nothing is dropped), and
//! acks only after the handover. A message that does not decode is rejected without requeue,
//! so the broker dead-letters it and the queue moves on.
//!
//! A failed connection is replaced after a [`Backoff`] pause, declaring the topology again;
//! unacked messages return to the queue and come again (the subscriber drops them by
//! watermark). The task ends when the subscriber drops its receiver.

use std::sync::Arc;
use std::time::Duration;

use exchange_actors::ports::EventBatch;
use futures_util::StreamExt as _;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicQosOptions, BasicRejectOptions, QueueDeclareOptions,
};
use lapin::types::FieldTable;
use tokio::sync::mpsc;

use super::backoff::Backoff;
use super::codec;
use super::link::{CONNECT_TIMEOUT, Link, LinkError, within};
use super::topology::Topology;

/// Unacked messages the broker may have in flight to one consumer (each up to
/// [`MESSAGE_EVENTS_MAX`](super::outbox::MESSAGE_EVENTS_MAX) events).
pub const PREFETCH_MESSAGES_MAX: u16 = 64;

/// With no delivery for this long, the consumer asks the broker whether its queue has ready
/// messages; if it has, the broker is not delivering to this consumer (seen after a broker
/// restart, when a consume registered while the queue was still recovering), so it
/// reconnects instead of waiting forever.
pub const STALL_CHECK_INTERVAL: Duration = Duration::from_secs(5);

/// How a consuming session ended.
enum Ended {
    /// The subscriber dropped its receiver: stop for good.
    SubscriberGone,
}

/// Consumes for `consumer` into `sender` until the subscriber is gone.
pub async fn run(
    url: String,
    topology: Arc<Topology>,
    consumer: String,
    sender: mpsc::Sender<EventBatch>,
) {
    let mut backoff = Backoff::default();
    loop {
        match consume(&url, &topology, &consumer, &sender, &mut backoff).await {
            Ok(Ended::SubscriberGone) => return,
            Err(error) => {
                metrics::counter!("exchange_bus_reconnects_total", "role" => "consumer")
                    .increment(1);
                tracing::warn!(%error, %consumer, "AMQP consumer reconnecting");
                tokio::select! {
                    () = tokio::time::sleep(backoff.next_pause()) => {}
                    () = sender.closed() => return,
                }
            }
        }
    }
}

/// One session: connect, declare, consume until failure or until the subscriber is gone.
async fn consume(
    url: &str,
    topology: &Topology,
    consumer: &str,
    sender: &mpsc::Sender<EventBatch>,
    backoff: &mut Backoff,
) -> Result<Ended, LinkError> {
    let link = Link::open(url).await?;
    let ended = consume_on(&link, topology, consumer, sender, backoff).await;
    link.close().await;
    ended
}

async fn consume_on(
    link: &Link,
    topology: &Topology,
    consumer: &str,
    sender: &mpsc::Sender<EventBatch>,
    backoff: &mut Backoff,
) -> Result<Ended, LinkError> {
    let channel = &link.channel;
    within(CONNECT_TIMEOUT, topology.declare_consumer_group(channel, consumer)).await??;
    within(CONNECT_TIMEOUT, channel.basic_qos(PREFETCH_MESSAGES_MAX, BasicQosOptions::default()))
        .await??;
    let queue = topology.consumer_queue(consumer);
    let consuming = channel.basic_consume(
        queue.as_str().into(),
        "".into(),
        BasicConsumeOptions::default(),
        FieldTable::default(),
    );
    let mut deliveries = within(CONNECT_TIMEOUT, consuming).await??;
    backoff.reset();
    loop {
        let next = tokio::select! {
            next = deliveries.next() => next,
            () = sender.closed() => return Ok(Ended::SubscriberGone),
            () = tokio::time::sleep(STALL_CHECK_INTERVAL) => {
                check_not_stalled(link, &queue).await?;
                continue;
            }
        };
        let delivery = next.ok_or(LinkError::DeliveriesEnded)??;
        if delivery.redelivered {
            // A retry of a delivery a consumer of the group took but did not ack.
            metrics::counter!("exchange_bus_redeliveries_total").increment(1);
        }
        match codec::decode(&delivery.data) {
            Ok(batch) => {
                if sender.send(batch).await.is_err() {
                    // Unacked: it returns to the queue for the group's next consumer.
                    return Ok(Ended::SubscriberGone);
                }
                // Bounded: an ack on a connection that died under it may never resolve
                // (seen after a broker restart: the consumer hung, its queue undrained).
                within(CONNECT_TIMEOUT, delivery.ack(BasicAckOptions::default())).await??;
            }
            Err(error) => {
                metrics::counter!("exchange_bus_dead_lettered_total").increment(1);
                tracing::warn!(
                    %error,
                    %consumer,
                    routing_key = %delivery.routing_key,
                    bytes = delivery.data.len(),
                    "undecodable bus message dead-lettered"
                );
                let rejecting = delivery.reject(BasicRejectOptions { requeue: false });
                within(CONNECT_TIMEOUT, rejecting).await??;
            }
        }
    }
}

/// Fails when `queue` has ready messages although this consumer, with every delivery acked and
/// its prefetch window free, received none for a [`STALL_CHECK_INTERVAL`].
async fn check_not_stalled(link: &Link, queue: &str) -> Result<(), LinkError> {
    let passive = QueueDeclareOptions { passive: true, ..QueueDeclareOptions::default() };
    let declaring = link.channel.queue_declare(queue.into(), passive, FieldTable::default());
    let ready_messages = within(CONNECT_TIMEOUT, declaring).await??.message_count();
    if ready_messages > 0 {
        metrics::counter!("exchange_bus_consumer_stalls_total").increment(1);
        return Err(LinkError::Stalled { ready_messages });
    }
    Ok(())
}
