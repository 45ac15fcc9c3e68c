//! `SymbolBook`: the actor shell around one symbol's [`MatchingEngine`], on its own arbiter.
//!
//! Flow: a handler only queues the message in a lane (cancels in the priority lane) and
//! schedules a flush. actix drains the whole mailbox before it runs the flush, so everything
//! that arrived meanwhile forms one batch: the flush applies it to the engine (cancels first),
//! hands inputs + events to the journal writer, and returns to the mailbox. The writer commits
//! batches in order and only then answers callers and publishes the events, so no caller hears
//! of anything that is not durable (DESIGN.md invariant 3).
//!
//! Bounds: `queued_max` commands wait in each lane (past that a message is refused as
//! overloaded), a batch holds at most `batch_commands_max` (a single larger message is refused),
//! `writer_jobs_max` batches wait for the journal, and the mailbox holds `mailbox_capacity`
//! messages (past that `send` waits). While the writer is full the actor applies nothing but
//! keeps reading its mailbox into the lanes, so a cancel that arrives then still overtakes every
//! new order not yet applied: it waits for the commit in flight and the batches already applied,
//! never for the mailbox behind it.
//!
//! Failure: when the journal fails or fences a write, the writer fails every waiting caller
//! and the actor stops; it is rebuilt from the journal ([`recover_engine`]) under a new epoch.

mod lanes;
mod messages;
mod metrics;
mod recovery;
mod snapshots;
mod writer;

use std::sync::Arc;
use std::time::Instant;

use actix::prelude::*;
use tokio::sync::{mpsc, oneshot};

pub use messages::{
    BookError, BookView, CommandOutcome, GetBookView, GetDepth, GetTerms, SubmitCommands,
};
pub use metrics::{
    COMMANDS, COMMIT_LATENCY, MATCHING_LATENCY, OPEN_ORDERS, QUEUE_DEPTH, REJECTS, TRADES,
};
pub use recovery::{RecoveryError, RecoveryStats, recover_engine};
pub use snapshots::SnapshotSchedule;

use self::lanes::{Lanes, Queued};
use self::metrics::BookMetrics;
use self::writer::{WaitingReply, WriteJob, WriterFailed, WriterPorts, spawn_writer};
use crate::book::{BookLimits, EngineOutput, MatchingEngine};
use crate::model::BookInput;
use crate::ports::{BookBatch, Clock, Epoch, EventBatch, EventBus, Journal, book_stream};
use crate::supervisor::Heartbeat;

/// Events read per journal query when publishing what a previous instance did not.
const REPUBLISH_PAGE_EVENTS: u32 = 4096;

/// Tunables of a book actor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BookSettings {
    pub batch_commands_max: usize,
    pub queued_max: usize,
    pub writer_jobs_max: usize,
    pub mailbox_capacity: usize,
    /// A snapshot is journaled once this many events have passed since the last one.
    pub snapshot_every_events: u64,
    /// How often an idle book still reports it is alive; its supervisor replaces a book that
    /// misses a few of these.
    pub heartbeat_interval: std::time::Duration,
}

impl Default for BookSettings {
    fn default() -> Self {
        BookSettings {
            batch_commands_max: 4096,
            queued_max: 65_536,
            writer_jobs_max: 4,
            mailbox_capacity: 4096,
            snapshot_every_events: 200_000,
            heartbeat_interval: std::time::Duration::from_millis(100),
        }
    }
}

/// What a book needs from outside.
#[derive(Clone)]
pub struct BookPorts {
    pub journal: Arc<dyn Journal>,
    pub bus: Arc<dyn EventBus>,
    pub clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for BookPorts {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("BookPorts")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BookStartError {
    #[error(transparent)]
    Recovery(#[from] RecoveryError),
}

pub struct SymbolBook {
    symbol: Arc<str>,
    engine: MatchingEngine,
    epoch: Epoch,
    lanes: Lanes,
    settings: BookSettings,
    ports: BookPorts,
    writer: Option<mpsc::Sender<WriteJob>>,
    /// Room in the writer's queue, reserved while the lanes waited for it.
    writer_room: Option<mpsc::OwnedPermit<WriteJob>>,
    /// A task waits for room in the writer's queue (at most one).
    awaiting_writer_room: bool,
    flush_scheduled: bool,
    out: EngineOutput,
    snapshots: SnapshotSchedule,
    heartbeat: Arc<Heartbeat>,
    metrics: BookMetrics,
}

impl std::fmt::Debug for SymbolBook {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("SymbolBook")
            .field("symbol", &self.symbol)
            .field("epoch", &self.epoch)
            .field("last_input_seq", &self.engine.last_input_seq())
            .finish_non_exhaustive()
    }
}

/// A running book and how it started.
#[derive(Debug)]
pub struct StartedBook {
    pub address: Addr<SymbolBook>,
    pub epoch: Epoch,
    pub recovery: RecoveryStats,
    pub heartbeat: Arc<Heartbeat>,
}

/// Journal events a previous instance committed but never published (its commit's answer was
/// lost), published before this instance's first: consumers would otherwise wait for the
/// symbol's next event to notice the gap.
async fn republish_unpublished(
    ports: &BookPorts,
    symbol: &str,
    last_event_seq: u64,
) -> Result<(), RecoveryError> {
    let Some(mut after) = ports.bus.unpublished_after(symbol, last_event_seq) else {
        return Ok(());
    };
    tracing::warn!(symbol, after, last_event_seq, "publishing journaled events never published");
    let symbol_name: Arc<str> = symbol.into();
    while after < last_event_seq {
        let events = ports
            .journal
            .book_events_after(symbol.to_owned(), after, REPUBLISH_PAGE_EVENTS)
            .await?;
        let Some(last) = events.last() else { break };
        after = last.seq;
        ports.bus.publish(EventBatch { symbol: symbol_name.clone(), events: events.into() });
    }
    Ok(())
}

impl SymbolBook {
    /// Takes over the journal stream of `symbol` under a new epoch (fencing any older
    /// instance), rebuilds the book from it and starts the actor on `arbiter`.
    pub async fn start(
        symbol: &str,
        limits: BookLimits,
        settings: BookSettings,
        ports: BookPorts,
        arbiter: &ArbiterHandle,
    ) -> Result<StartedBook, BookStartError> {
        let epoch =
            ports.journal.acquire_epoch(book_stream(symbol)).await.map_err(RecoveryError::from)?;
        let (engine, recovery) = recover_engine(ports.journal.as_ref(), symbol, limits).await?;
        republish_unpublished(&ports, symbol, recovery.last_event_seq).await?;
        let heartbeat = Arc::new(Heartbeat::default());
        // Alive from now: its supervisor may look before the actor's `started` has run.
        heartbeat.beat(ports.clock.now_ns(), engine.last_event_seq(), 0);
        let book = SymbolBook {
            symbol: symbol.into(),
            snapshots: SnapshotSchedule::new(settings.snapshot_every_events, &engine),
            engine,
            epoch,
            lanes: Lanes::new(settings.queued_max),
            settings,
            ports,
            writer: None,
            writer_room: None,
            awaiting_writer_room: false,
            flush_scheduled: false,
            out: EngineOutput::with_capacity(1024),
            heartbeat: heartbeat.clone(),
            metrics: BookMetrics::new(symbol),
        };
        let mailbox_capacity = settings.mailbox_capacity;
        let address = SymbolBook::start_in_arbiter(arbiter, move |ctx| {
            ctx.set_mailbox_capacity(mailbox_capacity);
            book
        });
        tracing::info!(symbol, epoch = epoch.0, ?recovery, "book started");
        Ok(StartedBook { address, epoch, recovery, heartbeat })
    }

    fn schedule_flush(&mut self, ctx: &mut Context<Self>) {
        if !self.flush_scheduled {
            self.flush_scheduled = true;
            ctx.notify(Flush);
        }
    }

    /// Applies the next batch and hands it to the writer, when the writer has room for it.
    fn flush(&mut self, ctx: &mut Context<Self>) {
        self.flush_scheduled = false;
        if self.lanes.is_empty() {
            return;
        }
        let Some(room) = self.reserve_writer_room(ctx) else {
            return;
        };
        let started = Instant::now();
        let messages = self.lanes.take_batch(self.settings.batch_commands_max);
        let job = self.apply_batch(messages);
        room.send(job);
        if !self.lanes.is_empty() {
            self.schedule_flush(ctx);
        }
        let elapsed_ns = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.heartbeat.record_handler(elapsed_ns);
        self.beat();
    }

    /// A slot in the writer's queue, or `None` while it is full: then a task waits for room
    /// and flushes again, and the mailbox goes on filling the lanes meanwhile.
    fn reserve_writer_room(
        &mut self,
        ctx: &mut Context<Self>,
    ) -> Option<mpsc::OwnedPermit<WriteJob>> {
        if let Some(room) = self.writer_room.take() {
            return Some(room);
        }
        let Some(writer) = self.writer.clone() else {
            unreachable!("the writer starts with the actor");
        };
        match writer.try_reserve_owned() {
            Ok(room) => Some(room),
            Err(mpsc::error::TrySendError::Full(writer)) => {
                if !self.awaiting_writer_room {
                    self.awaiting_writer_room = true;
                    let room = writer.reserve_owned();
                    ctx.spawn(room.into_actor(self).map(|room, book, ctx| {
                        book.awaiting_writer_room = false;
                        match room {
                            Ok(room) => {
                                book.writer_room = Some(room);
                                book.schedule_flush(ctx);
                            }
                            Err(_writer_gone) => ctx.stop(),
                        }
                    }));
                }
                None
            }
            Err(mpsc::error::TrySendError::Closed(_writer)) => {
                ctx.stop();
                None
            }
        }
    }

    fn apply_batch(&mut self, messages: Vec<Queued>) -> WriteJob {
        let ts_ns = self.ports.clock.now_ns();
        let mut inputs = Vec::new();
        let mut events = Vec::new();
        let mut replies = Vec::with_capacity(messages.len());
        for queued in messages {
            let cancel = queued.is_cancel();
            let commands = queued.commands.len();
            let mut outcomes = Vec::with_capacity(commands);
            for command in queued.commands {
                let input_seq = self.engine.last_input_seq() + 1;
                let input = BookInput { input_seq, ts_ns, command };
                self.out.clear();
                let result = self.engine.apply(&input, &mut self.out);
                events.extend_from_slice(&self.out.events);
                outcomes.push(CommandOutcome {
                    input_seq,
                    result,
                    // Cloned, not taken: the engine's buffer keeps its capacity (taking it
                    // made a cancel-all's 200,000 events grow a fresh buffer page by page).
                    events: self.out.events.clone(),
                    cancel_failures: std::mem::take(&mut self.out.cancel_failures),
                });
                inputs.push(input);
            }
            let rejected = outcomes.iter().filter(|outcome| outcome.result.is_err()).count();
            self.metrics.matched(queued.arrived_at, commands, rejected);
            let arrived_at = queued.arrived_at;
            replies.push(WaitingReply { reply: queued.reply, outcomes, arrived_at, cancel });
        }
        self.metrics.emitted(&events);
        let snapshot = self.snapshots.due(&self.engine);
        let batch = BookBatch {
            symbol: self.symbol.to_string(),
            epoch: self.epoch,
            inputs,
            events: events.into(),
            last_event_seq: self.engine.last_event_seq(),
            snapshot,
        };
        WriteJob { batch, replies }
    }

    fn beat(&self) {
        let now_ns = self.ports.clock.now_ns();
        self.heartbeat.beat(now_ns, self.engine.last_event_seq(), self.lanes.queued());
        self.metrics.beat(self.lanes.queued(), self.engine.open_order_count());
    }
}

impl Actor for SymbolBook {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let ports = WriterPorts {
            journal: self.ports.journal.clone(),
            bus: self.ports.bus.clone(),
            symbol: self.symbol.clone(),
            on_failure: ctx.address().recipient(),
            metrics: self.metrics.clone(),
        };
        self.writer = Some(spawn_writer(ports, self.settings.writer_jobs_max));
        self.beat();
        ctx.run_interval(self.settings.heartbeat_interval, |book, _ctx| book.beat());
    }

    fn stopped(&mut self, _ctx: &mut Self::Context) {
        let symbol = self.symbol.to_string();
        for queued in self.lanes.drain() {
            let _caller_gone =
                queued.reply.send(Err(BookError::Stopping { symbol: symbol.clone() }));
        }
        tracing::warn!(%symbol, epoch = self.epoch.0, "book stopped");
    }
}

#[derive(Debug, Message)]
#[rtype(result = "()")]
struct Flush;

impl Handler<Flush> for SymbolBook {
    type Result = ();

    fn handle(&mut self, _flush: Flush, ctx: &mut Self::Context) {
        self.flush(ctx);
    }
}

impl Handler<SubmitCommands> for SymbolBook {
    type Result = ResponseFuture<Result<Vec<CommandOutcome>, BookError>>;

    fn handle(&mut self, message: SubmitCommands, ctx: &mut Self::Context) -> Self::Result {
        let count = message.0.len();
        let count_max = self.settings.batch_commands_max;
        if count > count_max {
            return Box::pin(std::future::ready(Err(BookError::TooManyCommands {
                count,
                count_max,
            })));
        }
        let (reply, answer) = oneshot::channel();
        let queued = Queued { commands: message.0, reply, arrived_at: Instant::now() };
        if self.lanes.push(queued).is_err() {
            let overloaded = BookError::Overloaded {
                symbol: self.symbol.to_string(),
                queued: self.lanes.queued(),
                queued_max: self.lanes.queued_max(),
            };
            return Box::pin(std::future::ready(Err(overloaded)));
        }
        self.schedule_flush(ctx);
        let symbol = self.symbol.to_string();
        // A dropped answer means the book died with the batch possibly mid-commit.
        Box::pin(async move { answer.await.unwrap_or(Err(BookError::OutcomeUnknown { symbol })) })
    }
}

impl Handler<WriterFailed> for SymbolBook {
    type Result = ();

    fn handle(&mut self, failure: WriterFailed, ctx: &mut Self::Context) {
        tracing::error!(symbol = %self.symbol, detail = %failure.detail, "stopping: journal failed");
        ctx.stop();
    }
}

impl Handler<GetBookView> for SymbolBook {
    type Result = MessageResult<GetBookView>;

    fn handle(&mut self, query: GetBookView, _ctx: &mut Self::Context) -> Self::Result {
        MessageResult(BookView {
            depth: self.engine.depth(query.depth_levels),
            open_order_count: self.engine.open_order_count(),
            last_input_seq: self.engine.last_input_seq(),
            last_event_seq: self.engine.last_event_seq(),
            state_hash: self.engine.state_hash(),
        })
    }
}

impl Handler<GetTerms> for SymbolBook {
    type Result = MessageResult<GetTerms>;

    fn handle(&mut self, _query: GetTerms, _ctx: &mut Self::Context) -> Self::Result {
        MessageResult(self.engine.limits().terms)
    }
}

impl Handler<GetDepth> for SymbolBook {
    type Result = MessageResult<GetDepth>;

    fn handle(&mut self, query: GetDepth, _ctx: &mut Self::Context) -> Self::Result {
        MessageResult(self.engine.depth(query.levels_max))
    }
}

/// Test-only fault: the next flush panics, as a bug in a handler would.
#[cfg(any(test, feature = "fault-injection"))]
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct PoisonBook;

#[cfg(any(test, feature = "fault-injection"))]
impl Handler<PoisonBook> for SymbolBook {
    type Result = ();

    fn handle(&mut self, _poison: PoisonBook, _ctx: &mut Self::Context) {
        panic!("poisoned command for book {}", self.symbol);
    }
}

/// Test-only fault: the book's thread blocks for the given time, as a handler stuck on a lock
/// or a long loop would; it beats no heartbeat meanwhile and takes no message.
#[cfg(feature = "fault-injection")]
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct StallBook(pub std::time::Duration);

#[cfg(feature = "fault-injection")]
impl Handler<StallBook> for SymbolBook {
    type Result = ();

    fn handle(&mut self, StallBook(stall): StallBook, _ctx: &mut Self::Context) {
        tracing::warn!(symbol = %self.symbol, ?stall, "fault injected: book stalls");
        std::thread::sleep(stall);
    }
}
