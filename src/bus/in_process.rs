//! The embedded profile's bus: every subscriber has a bounded channel, and publishing never
//! waits. A subscriber whose channel is full loses that batch; it sees the gap in the sequence
//! numbers of the next one and reads the missing events from the journal, exactly as a RabbitMQ
//! consumer does after a redelivery gap. The journal is the durable part; the bus only makes
//! delivery prompt.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use exchange_actors::ports::{EventBatch, EventBus};
use tokio::sync::mpsc;

/// Batches a subscriber may have waiting before it starts losing them.
pub const SUBSCRIBER_BATCHES_MAX: usize = 4096;

#[derive(Debug, Default)]
pub struct InProcessBus {
    /// Taken only to publish or subscribe, never across an await.
    subscribers: Mutex<Vec<Subscriber>>,
    /// Per symbol, the last event seq handed to subscribers in this process (or, before any,
    /// the journal's end when the symbol's first book started: consumers read the journal up
    /// to there when they start).
    published_through: Mutex<BTreeMap<Arc<str>, u64>>,
}

#[derive(Debug)]
struct Subscriber {
    consumer: String,
    sender: mpsc::Sender<EventBatch>,
    dropped_batches: u64,
}

impl InProcessBus {
    pub fn new() -> Arc<InProcessBus> {
        Arc::new(InProcessBus::default())
    }

    /// Batches dropped so far for `consumer` because its channel was full.
    pub fn dropped_batches(&self, consumer: &str) -> u64 {
        let subscribers = self.subscribers.lock().expect("bus lock poisoned");
        subscribers.iter().filter(|s| s.consumer == consumer).map(|s| s.dropped_batches).sum()
    }
}

impl EventBus for InProcessBus {
    fn publish(&self, batch: EventBatch) {
        if let Some(last) = batch.events.last() {
            let mut published = self.published_through.lock().expect("bus lock poisoned");
            let through = published.entry(batch.symbol.clone()).or_default();
            *through = (*through).max(last.seq);
        }
        let mut subscribers = self.subscribers.lock().expect("bus lock poisoned");
        subscribers.retain_mut(|subscriber| match subscriber.sender.try_send(batch.clone()) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                subscriber.dropped_batches += 1;
                true
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        });
    }

    fn subscribe(&self, consumer: &str) -> mpsc::Receiver<EventBatch> {
        let (sender, receiver) = mpsc::channel(SUBSCRIBER_BATCHES_MAX);
        let subscriber = Subscriber { consumer: consumer.to_owned(), sender, dropped_batches: 0 };
        self.subscribers.lock().expect("bus lock poisoned").push(subscriber);
        receiver
    }

    fn unpublished_after(&self, symbol: &str, journaled_through_seq: u64) -> Option<u64> {
        let mut published = self.published_through.lock().expect("bus lock poisoned");
        match published.get(symbol) {
            None => {
                published.insert(symbol.into(), journaled_through_seq);
                None
            }
            Some(&through) => (through < journaled_through_seq).then_some(through),
        }
    }
}
