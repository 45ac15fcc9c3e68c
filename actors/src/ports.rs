//! What the trading core needs from outside, as traits: the [`Journal`] (durable, fenced
//! append-only log per stream), the [`EventBus`] (fan-out of committed events) and the
//! [`Clock`]. The server implements them (sea-orm, lapin, an in-process bus); this crate never
//! depends on a database, broker or web framework.
//!
//! Fencing: every writer of a stream first takes a new [`Epoch`] with
//! [`Journal::acquire_epoch`], which makes every older epoch of that stream stale. A write
//! carrying a stale epoch is refused with [`JournalError::Fenced`] and changes nothing, so an
//! actor that was replaced while stalled can never write again.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::account::{Changes, RestoredState};
use crate::model::{BookEvent, BookInput};

/// A boxed future as the ports return them (object-safe traits, `Send` for any executor).
pub type PortFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// A writer's generation for one journal stream; only the newest may write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Epoch(pub u64);

/// The name of a journal stream: one per book (`book:BTCUSDT`) and per account shard
/// (`shard:3`).
pub fn book_stream(symbol: &str) -> String {
    format!("book:{symbol}")
}

pub fn shard_stream(shard_index: u16) -> String {
    format!("shard:{shard_index}")
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum JournalError {
    /// A newer writer holds the stream; this one must stop.
    #[error("journal stream {stream} is fenced: epoch {attempted} is older than the current one")]
    Fenced { stream: String, attempted: u64 },
    /// The batch does not continue the stream (a duplicate or a gap); nothing was written.
    #[error("journal stream {stream}: batch starting at {first} does not follow {last}")]
    OutOfSequence { stream: String, first: u64, last: u64 },
    /// Stored bytes that do not decode: a bug or corruption, never skipped silently.
    #[error("journal stream {stream}: undecodable record at {position}: {detail}")]
    Corrupt { stream: String, position: u64, detail: String },
    /// The store failed (connection, constraint, disk). The write did not happen, unless the
    /// failure came at commit (a connection lost while the server committed): a writer must
    /// treat the outcome as unknown and let a reader of the journal decide.
    #[error("journal store failed: {0}")]
    Store(String),
}

/// One group commit of a book: consecutive inputs and the events they produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BookBatch {
    pub symbol: String,
    pub epoch: Epoch,
    /// Contiguous, starting at the stream's last input seq + 1.
    pub inputs: Vec<BookInput>,
    /// Contiguous, ending at `last_event_seq` (may be empty, e.g. only failed cancels).
    /// Shared, not copied, by the journal write and the bus: a bulk cancel's batch holds
    /// hundreds of thousands of events.
    pub events: Arc<[BookEvent]>,
    /// The book's last event seq after this batch (so an empty batch still has a position).
    pub last_event_seq: u64,
    /// A snapshot taken after the last input of this batch, stored in the same transaction.
    pub snapshot: Option<StoredBookSnapshot>,
}

impl BookBatch {
    pub fn first_input_seq(&self) -> u64 {
        self.inputs.first().map_or(0, |input| input.input_seq)
    }

    pub fn last_input_seq(&self) -> u64 {
        self.inputs.last().map_or(0, |input| input.input_seq)
    }

    /// The first event seq of this batch; `last_event_seq + 1` when it has no events.
    pub fn first_event_seq(&self) -> u64 {
        self.events.first().map_or(self.last_event_seq + 1, |event| event.seq)
    }
}

/// A serialized `BookSnapshot` with the positions it covers and its state hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredBookSnapshot {
    pub last_input_seq: u64,
    pub last_event_seq: u64,
    pub state_hash: [u8; 32],
    pub payload: Vec<u8>,
}

/// The durable log of books (and, through the account module, of shards).
pub trait Journal: Send + Sync + 'static {
    /// Takes over `stream`: returns a new epoch, newer than every epoch handed out before.
    fn acquire_epoch(&self, stream: String) -> PortFuture<Result<Epoch, JournalError>>;

    /// Writes the batches in one transaction, after checking the epoch and that they continue
    /// the stream. All or nothing.
    fn append_book_batches(&self, batches: Vec<BookBatch>) -> PortFuture<Result<(), JournalError>>;

    /// The newest snapshot of `symbol`, if any.
    fn latest_book_snapshot(
        &self,
        symbol: String,
    ) -> PortFuture<Result<Option<StoredBookSnapshot>, JournalError>>;

    /// Batches whose inputs come after `after_input_seq`, oldest first, at most `limit`.
    fn book_batches_after(
        &self,
        symbol: String,
        after_input_seq: u64,
        limit: u32,
    ) -> PortFuture<Result<Vec<BookBatch>, JournalError>>;

    /// Events with seq > `after_event_seq`, in order, at most about `limit` (whole batches):
    /// what a consumer reads to catch up after a gap or a restart.
    fn book_events_after(
        &self,
        symbol: String,
        after_event_seq: u64,
        limit: u32,
    ) -> PortFuture<Result<Vec<BookEvent>, JournalError>>;

    /// Writes an account shard's drained changes (ledger entries, balances, orders, watermarks,
    /// counters) in one transaction, after checking the shard's epoch. All or nothing.
    fn commit_shard_changes(
        &self,
        shard_index: u16,
        epoch: Epoch,
        changes: Changes,
    ) -> PortFuture<Result<(), JournalError>>;

    /// What a shard needs to rebuild itself: its accounts and balances, its open orders and
    /// the `recent_closed_per_account` latest closed orders of each account, its watermarks
    /// and counters.
    fn load_shard(
        &self,
        shard_index: u16,
        recent_closed_per_account: u32,
    ) -> PortFuture<Result<RestoredState, JournalError>>;
}

/// Committed events of one symbol, in seq order, shared by every subscriber.
#[derive(Clone, Debug)]
pub struct EventBatch {
    pub symbol: Arc<str>,
    pub events: Arc<[BookEvent]>,
}

impl EventBatch {
    pub fn first_seq(&self) -> Option<u64> {
        self.events.first().map(|event| event.seq)
    }

    pub fn last_seq(&self) -> Option<u64> {
        self.events.last().map(|event| event.seq)
    }
}

/// Fan-out of committed book events. At-least-once and possibly lossy under overload: a
/// subscriber keeps a watermark per symbol, drops what it has seen, and on a gap reads the
/// missing events from the journal ([`Journal::book_events_after`]). Publishing never blocks
/// the publisher.
pub trait EventBus: std::fmt::Debug + Send + Sync + 'static {
    fn publish(&self, batch: EventBatch);

    /// A new subscription named `consumer`, receiving every batch published from now on
    /// (bounded; a slow subscriber loses batches and resyncs from the journal).
    fn subscribe(&self, consumer: &str) -> tokio::sync::mpsc::Receiver<EventBatch>;

    /// Asked once by each book when it starts, with the last event seq of `symbol`'s journal:
    /// the seq after which journaled events may never have reached this bus's subscribers (a
    /// commit whose answer was lost is durable but was not published). `None` when all did, or
    /// when the bus reads the journal itself (an outbox relay). The book publishes the rest.
    fn unpublished_after(&self, _symbol: &str, _journaled_through_seq: u64) -> Option<u64> {
        None
    }
}

/// Where account shards hand each committed batch's user data (order updates, balances,
/// transfers) for delivery to their owners' sessions. Called by the shard's committer, in
/// commit order, once per batch. Must never block or wait: a slow consumer is the
/// implementation's problem (drop it), never the shard's.
pub trait UserFeed: Send + Sync + 'static {
    fn publish(&self, batch: crate::account::UserBatch);

    /// Whether anyone listens at all (when nobody does, the shard skips building batches).
    fn listening(&self) -> bool {
        true
    }
}

/// A [`UserFeed`] that delivers nowhere (no WebSocket gateway).
#[derive(Clone, Copy, Debug, Default)]
pub struct NoUserFeed;

impl UserFeed for NoUserFeed {
    fn publish(&self, _batch: crate::account::UserBatch) {}

    fn listening(&self) -> bool {
        false
    }
}

/// The lease behind the index oracle's leadership: at most one holder at a time, each new
/// holder with a fencing [`Epoch`] newer than every one before. Redis (`SET NX PX` and an
/// atomic counter) in production, a process-local lock in the embedded default.
pub trait LeaderLock: Send + Sync + 'static {
    /// Takes the lease for `ttl_ms` when nobody holds it; the new epoch when taken.
    fn try_acquire(
        &self,
        holder: String,
        ttl_ms: u64,
    ) -> PortFuture<Result<Option<Epoch>, LockError>>;

    /// Extends the lease when `holder` still holds it; `false` when it does not any more.
    fn renew(&self, holder: String, ttl_ms: u64) -> PortFuture<Result<bool, LockError>>;

    /// Gives the lease up when `holder` holds it (a clean shutdown hands over at once).
    fn release(&self, holder: String) -> PortFuture<Result<(), LockError>>;
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("leader lock unreachable: {0}")]
pub struct LockError(pub String);

/// Where the leader's index prices go and where every consumer (this process's included)
/// reads them. Delivery is at most once and latest-wins: a lost price is replaced by the
/// next one a few hundred milliseconds later, and consumers judge staleness by `at_ms`.
pub trait IndexFeed: Send + Sync + 'static {
    /// Sends without waiting; a full outbound queue drops the price.
    fn publish(&self, price: crate::index::PublishedIndex);

    /// A new bounded subscription to every price published from now on.
    fn subscribe(&self) -> tokio::sync::mpsc::Receiver<crate::index::PublishedIndex>;
}

/// Wall-clock time for stamping inputs; the pure cores take time as an argument.
pub trait Clock: Send + Sync + 'static {
    fn now_ns(&self) -> u64;
}

/// The system clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ns(&self) -> u64 {
        let since_epoch =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        u64::try_from(since_epoch.as_nanos()).unwrap_or(u64::MAX)
    }
}
