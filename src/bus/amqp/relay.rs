//! The outbox relay: the one publisher of a bus. The journal is the source of truth; the relay
//! publishes what it holds and keeps a cursor per symbol (the last event seq the broker
//! confirmed), stored in `consumer_watermarks` and advanced only after the confirms.
//!
//! Fast path: the book hands each committed batch over in memory (a bounded queue; handing
//! over never waits). Slow path: the journal, read from the cursor whenever the memory path
//! cannot be trusted to be complete: at start, after every (re)connection, after the queue
//! overflowed, on a gap, and every [`IDLE_SWEEP_INTERVAL`] of quiet as a safety net. While
//! the broker is unreachable, handed-over batches are discarded (the journal has them).
//!
//! Order per symbol: one channel, messages published in seq order, cursor-checked, so a
//! consumer sees each symbol's events in order; after a reconnect some may come twice.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use exchange_actors::model::BookEvent;
use exchange_actors::ports::{EventBatch, Journal, JournalError};
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::{BasicProperties, PublisherConfirm};
use tokio::sync::mpsc;

use super::backoff::Backoff;
use super::codec;
use super::groups::ConsumerGroups;
use super::link::{CONNECT_TIMEOUT, Link, LinkError, within};
use super::outbox::{Admission, Cursors, MESSAGE_EVENTS_MAX, admit};
use super::topology::Topology;
use crate::store::Store;

/// Batches handed over in memory and not yet taken by the relay, at most.
pub const HANDOFF_BATCHES_MAX: usize = 4_096;
/// Handed-over batches published per confirm round at most.
const ROUND_BATCHES_MAX: usize = 256;
/// Events read from the journal per page.
const JOURNAL_PAGE_EVENTS: u32 = 10_000;
/// Publishing a round and receiving every confirm take at most this.
const CONFIRM_TIMEOUT: Duration = Duration::from_secs(10);
/// With nothing handed over for this long, the relay reads the journal anyway.
pub const IDLE_SWEEP_INTERVAL: Duration = Duration::from_secs(2);
/// AMQP delivery mode of a message written to disk by the broker.
const PERSISTENT: u8 = 2;

/// The publishing side of the handover, held by the bus.
#[derive(Debug)]
pub struct Handoff {
    sender: mpsc::Sender<EventBatch>,
    /// Set when a batch could not be handed over: the relay reads the journal.
    overflowed: Arc<AtomicBool>,
}

impl Handoff {
    /// Hands `batch` to the relay without waiting; when the queue is full the relay is told to
    /// read the journal instead.
    pub fn hand_over(&self, batch: EventBatch) {
        match self.sender.try_send(batch) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.overflowed.store(true, Ordering::Release);
                metrics::counter!("exchange_bus_relay_overflow_total").increment(1);
            }
            Err(mpsc::error::TrySendError::Closed(batch)) => {
                tracing::error!(symbol = %batch.symbol, "the AMQP relay stopped; the batch stays in the journal only");
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum RelayError {
    #[error(transparent)]
    Link(#[from] LinkError),
    #[error("reading the journal: {0}")]
    Journal(#[from] JournalError),
}

impl From<lapin::Error> for RelayError {
    fn from(error: lapin::Error) -> Self {
        RelayError::Link(LinkError::Amqp(error))
    }
}

#[derive(Debug)]
pub struct Relay {
    url: String,
    topology: Arc<Topology>,
    /// Declared before publishing, so every subscribed group has its queue.
    groups: Arc<ConsumerGroups>,
    store: Store,
    /// Name of the cursor in `consumer_watermarks`.
    cursor_name: String,
    cursors: Cursors,
    batches: mpsc::Receiver<EventBatch>,
    overflowed: Arc<AtomicBool>,
    /// The symbols a sweep reads: those of the topology and every symbol handed over since
    /// (one listed while running).
    symbols: BTreeSet<String>,
}

/// The relay's name in `consumer_watermarks` for `exchange`: a cursor says what one exchange
/// has received, so another exchange name starts from the beginning of the journal.
pub fn cursor_name(exchange: &str) -> String {
    format!("outbox:{exchange}")
}

impl Relay {
    /// A relay publishing to `topology` at `url`, its cursors loaded from `store`.
    pub async fn restore(
        url: &str,
        topology: Arc<Topology>,
        groups: Arc<ConsumerGroups>,
        store: Store,
    ) -> Result<(Relay, Handoff), JournalError> {
        let cursor_name = cursor_name(&topology.exchange);
        let cursors = Cursors::restored(store.consumer_watermarks(&cursor_name).await?);
        let (sender, batches) = mpsc::channel(HANDOFF_BATCHES_MAX);
        let overflowed = Arc::new(AtomicBool::new(false));
        let handoff = Handoff { sender, overflowed: overflowed.clone() };
        let url = url.to_owned();
        let symbols = topology.symbols.iter().cloned().collect();
        let relay = Relay {
            url,
            topology,
            groups,
            store,
            cursor_name,
            cursors,
            batches,
            overflowed,
            symbols,
        };
        Ok((relay, handoff))
    }

    /// Relays until the bus (the handoff) is dropped, reconnecting after every failure.
    pub async fn run(mut self) {
        let mut backoff = Backoff::default();
        loop {
            let outcome = match Link::open(&self.url).await {
                Ok(link) => {
                    let outcome = self.relay_on(&link, &mut backoff).await;
                    link.close().await;
                    outcome
                }
                Err(error) => Err(RelayError::Link(error)),
            };
            match outcome {
                Ok(()) => return,
                Err(error) => {
                    metrics::counter!("exchange_bus_reconnects_total", "role" => "relay")
                        .increment(1);
                    tracing::warn!(%error, exchange = %self.topology.exchange, "AMQP relay reconnecting");
                    if !self.discard_for(backoff.next_pause()).await {
                        return;
                    }
                }
            }
        }
    }

    /// Waits `pause`, dropping what is handed over meanwhile (the journal has it); false when
    /// the bus is gone.
    async fn discard_for(&mut self, pause: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + pause;
        loop {
            tokio::select! {
                () = tokio::time::sleep_until(deadline) => return true,
                batch = self.batches.recv() => if batch.is_none() { return false },
            }
        }
    }

    /// Relays on `link` until it fails (an error) or the bus is dropped (`Ok`).
    async fn relay_on(&mut self, link: &Link, backoff: &mut Backoff) -> Result<(), RelayError> {
        within(CONNECT_TIMEOUT, self.topology.declare_exchanges(&link.channel)).await??;
        self.declare_groups(link, self.groups.all()).await?;
        within(CONNECT_TIMEOUT, link.channel.confirm_select(ConfirmSelectOptions::default()))
            .await??;
        let mut sweep_due = true;
        loop {
            if sweep_due || self.overflowed.swap(false, Ordering::AcqRel) {
                self.declare_added_groups(link).await?;
                for symbol in self.symbols.clone() {
                    self.sweep(link, &symbol).await?;
                }
                sweep_due = false;
                backoff.reset();
            }
            let first = tokio::select! {
                batch = self.batches.recv() => batch,
                () = tokio::time::sleep(IDLE_SWEEP_INTERVAL) => {
                    sweep_due = true;
                    continue;
                }
            };
            let Some(first) = first else { return Ok(()) };
            let mut round = vec![first];
            while round.len() < ROUND_BATCHES_MAX {
                match self.batches.try_recv() {
                    Ok(batch) => round.push(batch),
                    Err(_) => break,
                }
            }
            // After the round was received: a group subscribed before any of its batches
            // was handed over is declared before they are published.
            self.declare_added_groups(link).await?;
            self.publish_round(link, round).await?;
        }
    }

    async fn declare_added_groups(&self, link: &Link) -> Result<(), RelayError> {
        match self.groups.all_if_added() {
            Some(groups) => self.declare_groups(link, groups).await,
            None => Ok(()),
        }
    }

    async fn declare_groups(&self, link: &Link, groups: Vec<String>) -> Result<(), RelayError> {
        for group in groups {
            let declaring = self.topology.declare_consumer_group(&link.channel, &group);
            within(CONNECT_TIMEOUT, declaring).await??;
        }
        Ok(())
    }

    /// Publishes a round of handed-over batches, awaits the confirms, then reads the journal
    /// for the symbols that showed a gap.
    async fn publish_round(
        &mut self,
        link: &Link,
        round: Vec<EventBatch>,
    ) -> Result<(), RelayError> {
        let mut published: BTreeMap<Arc<str>, u64> = BTreeMap::new();
        let mut gaps: BTreeSet<Arc<str>> = BTreeSet::new();
        let mut confirms = Vec::new();
        for batch in round {
            if !self.symbols.contains(&*batch.symbol) {
                self.symbols.insert(batch.symbol.to_string());
            }
            if gaps.contains(&batch.symbol) {
                continue;
            }
            let cursor = published
                .get(&batch.symbol)
                .copied()
                .unwrap_or_else(|| self.cursors.confirmed(&batch.symbol));
            match admit(cursor, &batch.events) {
                Admission::AlreadyPublished => {}
                Admission::Gap => {
                    gaps.insert(batch.symbol.clone());
                }
                Admission::PublishFrom(skip) => {
                    let events = &batch.events[skip..];
                    confirms.extend(self.publish(link, &batch.symbol, events).await?);
                    let last = events.last().expect("admitted batches have events").seq;
                    published.insert(batch.symbol.clone(), last);
                }
            }
        }
        await_confirms(confirms).await?;
        for (symbol, seq) in published {
            self.cursors.confirm(&symbol, seq);
        }
        for symbol in gaps {
            self.sweep(link, &symbol).await?;
        }
        self.save_cursors().await;
        Ok(())
    }

    /// Publishes `symbol`'s journal after its cursor, page by page, until it has no more.
    async fn sweep(&mut self, link: &Link, symbol: &str) -> Result<(), RelayError> {
        loop {
            let cursor = self.cursors.confirmed(symbol);
            let events = self
                .store
                .book_events_after(symbol.to_owned(), cursor, JOURNAL_PAGE_EVENTS)
                .await?;
            let Some(last) = events.last() else { break };
            debug_assert!(events[0].seq > cursor, "the journal answers after the cursor");
            let last = last.seq;
            let confirms = self.publish(link, symbol, &events).await?;
            await_confirms(confirms).await?;
            self.cursors.confirm(symbol, last);
            self.save_cursors().await;
        }
        Ok(())
    }

    /// Publishes `events` of `symbol` in messages of at most [`MESSAGE_EVENTS_MAX`] events;
    /// persistent and mandatory (a message no queue takes comes back and is counted).
    async fn publish(
        &self,
        link: &Link,
        symbol: &str,
        events: &[BookEvent],
    ) -> Result<Vec<PublisherConfirm>, RelayError> {
        let routing_key = Topology::routing_key(symbol);
        let mut confirms = Vec::with_capacity(events.len().div_ceil(MESSAGE_EVENTS_MAX));
        for chunk in events.chunks(MESSAGE_EVENTS_MAX) {
            let body = codec::encode(symbol, chunk);
            let publishing = link.channel.basic_publish(
                self.topology.exchange.as_str().into(),
                routing_key.as_str().into(),
                BasicPublishOptions { mandatory: true, ..BasicPublishOptions::default() },
                &body,
                BasicProperties::default().with_delivery_mode(PERSISTENT),
            );
            confirms.push(within(CONFIRM_TIMEOUT, publishing).await??);
        }
        Ok(confirms)
    }

    /// Stores the cursors that moved. A failed write is logged and retried after the next
    /// round: a stored cursor that lags only means some events are published again.
    async fn save_cursors(&mut self) {
        let unsaved = self.cursors.unsaved();
        if unsaved.is_empty() {
            return;
        }
        match self.store.save_consumer_watermarks(&self.cursor_name, &unsaved).await {
            Ok(()) => self.cursors.mark_saved(&unsaved),
            Err(error) => tracing::warn!(%error, "saving the AMQP relay's cursors failed"),
        }
    }
}

/// Waits for every confirm of a round; a nack fails the round (the link is renewed and the
/// journal read again from the cursor). A returned (unroutable) message counts as delivered:
/// no consumer group is bound for it, and one bound later catches up from the journal.
async fn await_confirms(confirms: Vec<PublisherConfirm>) -> Result<(), LinkError> {
    let mut nacked = 0;
    let messages = confirms.len() as u64;
    let confirming = async {
        for confirm in confirms {
            let confirmation = confirm.await?;
            if confirmation.is_nack() {
                nacked += 1;
            } else if let Some(returned) = confirmation.take_message() {
                metrics::counter!("exchange_bus_unroutable_total").increment(1);
                tracing::warn!(
                    routing_key = %returned.delivery.routing_key,
                    reply = %returned.reply_text,
                    "a bus message reached no queue"
                );
            }
        }
        Ok::<(), LinkError>(())
    };
    within(CONFIRM_TIMEOUT, confirming).await??;
    if nacked > 0 {
        return Err(LinkError::Nacked { count: nacked });
    }
    metrics::counter!("exchange_bus_published_messages_total").increment(messages);
    Ok(())
}
