//! `DepthReplicas`: the actor holding one [`DepthReplica`] per symbol, fed by the bus (consumer
//! [`DEPTH_CONSUMER`]) and read by REST depth instead of the books.
//!
//! A gap, or a batch of a symbol it has no replica of yet (one listed while running), starts a
//! resync: a full snapshot of the book (`GetDepth` with every level), retried every
//! [`RESYNC_RETRY`] while the book is unavailable. Meanwhile the replica keeps answering its
//! last good state marked stale, so depth never fails because a message was lost or a book is
//! being replaced.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;

use crate::book::Depth;
use crate::book::actor::GetDepth;
use crate::market::{DepthReplica, ReplicaUpdate};
use crate::ports::{EventBatch, EventBus};
use crate::supervisor::{BookDirectory, GetAppliedSeqs};

/// The replicas' name on the bus.
pub const DEPTH_CONSUMER: &str = "depth";
/// Pause before asking an unavailable book for a snapshot again.
pub const RESYNC_RETRY: Duration = Duration::from_millis(200);
/// Batches of one symbol kept while its snapshot is on the way (applied after it, so events
/// flowing meanwhile do not open a new gap). Past it the oldest are dropped: the next batch
/// then shows a gap and another snapshot is taken.
pub const RESYNC_PENDING_BATCHES_MAX: usize = 4_096;

#[derive(Debug)]
pub struct DepthReplicas {
    books: Arc<BookDirectory>,
    replicas: BTreeMap<String, DepthReplica>,
    /// Symbols with a snapshot request under way.
    resyncing: BTreeSet<String>,
    /// Per symbol, the batches received since its gap, for after the snapshot.
    pending: BTreeMap<String, VecDeque<EventBatch>>,
    resyncs: u64,
}

/// One bus batch (also how a test feeds a gap on purpose).
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct ReplicaEvents(pub EventBatch);

/// The best `levels_max` levels of `symbol` and whether they may be behind the book; `None`
/// before the symbol's first snapshot arrived.
#[derive(Debug, Message)]
#[rtype(result = "Option<(Depth, bool)>")]
pub struct GetReplicaDepth {
    pub symbol: String,
    pub levels_max: usize,
}

/// Resyncs completed so far (every symbol).
#[derive(Debug, Message)]
#[rtype(result = "u64")]
pub struct GetResyncCount;

impl DepthReplicas {
    /// Subscribes to `bus`, then snapshots every book in `books`, then consumes.
    pub fn start(bus: &dyn EventBus, books: Arc<BookDirectory>) -> Addr<DepthReplicas> {
        let events = bus.subscribe(DEPTH_CONSUMER);
        let symbols = books.symbols();
        let replicas = DepthReplicas {
            books,
            replicas: BTreeMap::new(),
            resyncing: BTreeSet::new(),
            pending: BTreeMap::new(),
            resyncs: 0,
        };
        DepthReplicas::create(move |ctx| {
            for symbol in symbols {
                ctx.notify(Resync(symbol));
            }
            consume_bus(ctx, &replicas, events, ReplicaEvents);
            replicas
        })
    }

    fn resync(&mut self, symbol: String, ctx: &mut Context<Self>) {
        if !self.resyncing.insert(symbol.clone()) {
            return;
        }
        let book = self.books.book(&symbol);
        let snapshot = async move {
            match book {
                Some(book) => book.send(GetDepth { levels_max: usize::MAX }).await.ok(),
                None => None,
            }
        };
        ctx.spawn(snapshot.into_actor(self).map(move |snapshot, replicas, ctx| {
            replicas.resyncing.remove(&symbol);
            let Some(snapshot) = snapshot else {
                if let Some(replica) = replicas.replicas.get_mut(&symbol) {
                    replica.mark_stale();
                }
                ctx.notify_later(Resync(symbol), RESYNC_RETRY);
                return;
            };
            let replica = replicas
                .replicas
                .entry(symbol.clone())
                .or_insert_with(|| DepthReplica::from_snapshot(&snapshot));
            replica.resync(&snapshot);
            replicas.resyncs += 1;
            // Every snapshot taken, the first of each symbol at start included.
            metrics::counter!("exchange_depth_replica_resyncs_total").increment(1);
            tracing::debug!(%symbol, seq = snapshot.last_event_seq, "depth replica resynced");
            replicas.apply_pending(symbol, ctx);
        }));
    }

    fn keep_pending(&mut self, batch: EventBatch) {
        let pending = self.pending.entry(batch.symbol.to_string()).or_default();
        if pending.len() == RESYNC_PENDING_BATCHES_MAX {
            pending.pop_front();
        }
        pending.push_back(batch);
    }

    /// Applies what arrived while the snapshot was on the way. The snapshot covers every
    /// event the book had emitted when it was taken, so a batch that does not continue it can
    /// only be a leftover of a book that went back (replaced after losing unjournaled events)
    /// or made up: it is dropped, and a real loss shows again as a gap in the next batch.
    fn apply_pending(&mut self, symbol: String, _ctx: &mut Context<Self>) {
        let pending = self.pending.remove(&symbol).unwrap_or_default();
        let Some(replica) = self.replicas.get_mut(&symbol) else { return };
        for batch in pending {
            if replica.continues(&batch.events) {
                replica.apply(&batch.events);
            } else {
                let first = batch.first_seq();
                tracing::warn!(%symbol, ?first, "dropping a batch the snapshot does not lead to");
            }
        }
    }
}

/// Feeds `actor` the batches of `events` as `wrap(batch)`, one at a time (`send`: a slow actor
/// slows the subscription, whose bus then drops and the actor sees a gap), until either ends.
pub fn consume_bus<A, M>(
    ctx: &mut Context<A>,
    actor: &A,
    mut events: tokio::sync::mpsc::Receiver<EventBatch>,
    wrap: fn(EventBatch) -> M,
) where
    A: Actor<Context = Context<A>> + Handler<M>,
    M: Message<Result = ()> + Send + 'static,
{
    let address = ctx.address();
    ctx.spawn(
        async move {
            while let Some(batch) = events.recv().await {
                if address.send(wrap(batch)).await.is_err() {
                    return;
                }
            }
        }
        .into_actor(actor),
    );
}

impl Actor for DepthReplicas {
    type Context = Context<Self>;
}

#[derive(Debug, Message)]
#[rtype(result = "()")]
struct Resync(String);

impl Handler<Resync> for DepthReplicas {
    type Result = ();

    fn handle(&mut self, Resync(symbol): Resync, ctx: &mut Self::Context) {
        self.resync(symbol, ctx);
    }
}

impl Handler<ReplicaEvents> for DepthReplicas {
    type Result = ();

    fn handle(&mut self, ReplicaEvents(batch): ReplicaEvents, ctx: &mut Self::Context) {
        let symbol = batch.symbol.to_string();
        if self.resyncing.contains(&symbol) {
            self.keep_pending(batch);
            return;
        }
        let update = self.replicas.get_mut(&symbol).map(|replica| replica.apply(&batch.events));
        match update {
            Some(ReplicaUpdate::Applied) => {}
            Some(ReplicaUpdate::Gap { expected, got }) => {
                tracing::warn!(%symbol, expected, got, "depth replica gap; resyncing");
                self.keep_pending(batch);
                self.resync(symbol, ctx);
            }
            None => {
                self.keep_pending(batch);
                self.resync(symbol, ctx);
            }
        }
    }
}

impl Handler<GetReplicaDepth> for DepthReplicas {
    type Result = MessageResult<GetReplicaDepth>;

    fn handle(&mut self, query: GetReplicaDepth, _ctx: &mut Self::Context) -> Self::Result {
        let replica = self.replicas.get(&query.symbol);
        MessageResult(replica.map(|replica| (replica.depth(query.levels_max), replica.is_stale())))
    }
}

impl Handler<GetResyncCount> for DepthReplicas {
    type Result = u64;

    fn handle(&mut self, _query: GetResyncCount, _ctx: &mut Self::Context) -> u64 {
        self.resyncs
    }
}

/// Per symbol, the last book event its replica has applied (the depth consumer's lag).
impl Handler<GetAppliedSeqs> for DepthReplicas {
    type Result = MessageResult<GetAppliedSeqs>;

    fn handle(&mut self, _query: GetAppliedSeqs, _ctx: &mut Self::Context) -> Self::Result {
        let applied = self
            .replicas
            .iter()
            .map(|(symbol, replica)| (symbol.clone(), replica.last_seq()))
            .collect();
        MessageResult(applied)
    }
}
