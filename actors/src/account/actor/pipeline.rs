//! After the shard's state has changed: the committer journals each drained batch of changes
//! (one transaction, strictly in order), then the forwarder sends the batch's new orders to
//! their books and answers every caller once they answer. The actor keeps checking and holding
//! the next orders while one batch commits and earlier ones are matched.
//!
//! A book that refuses an order without journaling it (stopping, overloaded, not there) may be
//! sent it again, to the book's replacement; after `FORWARD_RETRY_FOR` the forwarder gives up
//! and the shard abandons the order (releases its hold, REJECTED). A book whose commit failed
//! or that died mid-batch may have journaled the order all the same (a commit's answer can be
//! lost with its connection): such an order is neither sent again (it could be placed twice)
//! nor abandoned (the book could hold it with its funds released). It stays PENDING, and the
//! supervisor's re-drive settles it from the journal after a barrier on the book.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use actix::{Message, Recipient};
use tokio::sync::{mpsc, oneshot};

use super::messages::{PlacedOrder, ShardError};
use crate::account::UserBatch;
use crate::account::{Balance, Changes, OrderRecord};
use crate::book::actor::{BookError, CommandOutcome, SubmitCommands};
use crate::model::{BookCommand, OrderId, PlaceOrder, SymbolCode};
use crate::ports::{Clock, Epoch, Journal, UserFeed};
use crate::supervisor::BookDirectory;

/// How long a forward is retried while its book is being replaced.
pub const FORWARD_RETRY_FOR: Duration = Duration::from_secs(3);
const FORWARD_RETRY_PAUSE: Duration = Duration::from_millis(25);

/// Orders per message to a book (its `batch_commands_max` refuses larger ones).
pub(super) const FORWARD_CHUNK_MAX: usize = 1024;

/// One request of a `PlaceOrders` message: refused at the shard, or to be forwarded.
#[derive(Debug)]
pub(super) enum PlaceSlot {
    Refused(ShardError),
    Forward { symbol: SymbolCode, command: PlaceOrder, pending: OrderRecord },
}

/// A caller waiting for the batch its request changed.
#[derive(Debug)]
pub(super) enum Deferred {
    Unit(oneshot::Sender<Result<(), ShardError>>),
    Balance(oneshot::Sender<Result<Balance, ShardError>>, Balance),
    Place(oneshot::Sender<Vec<Result<PlacedOrder, ShardError>>>, Vec<PlaceSlot>),
}

impl Deferred {
    /// The orders this caller's batch forwards to books.
    pub fn forwarded_orders(&self) -> impl Iterator<Item = (OrderId, SymbolCode)> + '_ {
        let slots = match self {
            Deferred::Place(_, slots) => slots.as_slice(),
            Deferred::Unit(_) | Deferred::Balance(..) => &[],
        };
        slots.iter().filter_map(|slot| match slot {
            PlaceSlot::Forward { symbol, command, .. } => Some((command.order_id, *symbol)),
            PlaceSlot::Refused(_) => None,
        })
    }
}

#[derive(Debug)]
pub(super) struct ShardJob {
    pub changes: Changes,
    pub deferred: Vec<Deferred>,
}

/// Sent to the shard after each commit (so it drains the next batch) or failure.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub(super) struct JobCommitted {
    pub result: Result<(), String>,
}

/// Orders no book took, nor could have journaled: the shard releases their holds.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub(super) struct AbandonOrders(pub Vec<OrderId>);

pub(super) struct PipelinePorts {
    pub shard_index: u16,
    pub epoch: Epoch,
    pub journal: Arc<dyn Journal>,
    pub directory: Arc<BookDirectory>,
    pub clock: Arc<dyn Clock>,
    pub user_feed: Arc<dyn UserFeed>,
    pub committed: Recipient<JobCommitted>,
    pub abandon: Recipient<AbandonOrders>,
}

/// Starts the committer and forwarder; returns where jobs go.
pub(super) fn spawn_pipeline(ports: PipelinePorts) -> mpsc::Sender<ShardJob> {
    let (jobs, job_receiver) = mpsc::channel(2);
    let (forwards, forward_receiver) = mpsc::channel(4);
    let ports = Arc::new(ports);
    tokio::spawn(run_committer(ports.clone(), job_receiver, forwards));
    tokio::spawn(run_forwarder(ports, forward_receiver));
    jobs
}

async fn run_committer(
    ports: Arc<PipelinePorts>,
    mut jobs: mpsc::Receiver<ShardJob>,
    forwards: mpsc::Sender<Vec<Deferred>>,
) {
    while let Some(mut job) = jobs.recv().await {
        let user_batch = if ports.user_feed.listening() {
            UserBatch::take(&mut job.changes, ports.clock.now_ns())
        } else {
            job.changes.order_updates.clear();
            UserBatch::default()
        };
        let result =
            ports.journal.commit_shard_changes(ports.shard_index, ports.epoch, job.changes).await;
        if result.is_ok() && !user_batch.accounts.is_empty() {
            // After the commit, in commit order: owners never hear of an uncommitted change.
            ports.user_feed.publish(user_batch);
        }
        let failed = result.as_ref().err().map(ToString::to_string);
        let _shard_gone =
            ports.committed.send(JobCommitted { result: result.map_err(|e| e.to_string()) }).await;
        if let Some(detail) = failed {
            tracing::error!(shard = ports.shard_index, %detail, "shard journal write failed");
            fail_all(job.deferred, &detail);
            jobs.close();
            while let Some(job) = jobs.recv().await {
                fail_all(job.deferred, &detail);
            }
            return;
        }
        if forwards.send(job.deferred).await.is_err() {
            return;
        }
    }
}

fn fail_all(deferred: Vec<Deferred>, detail: &str) {
    let error = || ShardError::JournalFailed(detail.to_owned());
    for waiting in deferred {
        let _caller_gone = match waiting {
            Deferred::Unit(reply) => reply.send(Err(error())).is_ok(),
            Deferred::Balance(reply, _) => reply.send(Err(error())).is_ok(),
            Deferred::Place(reply, slots) => {
                reply.send(slots.iter().map(|_| Err(error())).collect()).is_ok()
            }
        };
    }
}

/// Forwards each committed batch as soon as it is committed, without waiting for the books to
/// answer the previous one (they queue it behind the previous batch's orders anyway).
async fn run_forwarder(ports: Arc<PipelinePorts>, mut batches: mpsc::Receiver<Vec<Deferred>>) {
    while let Some(deferred) = batches.recv().await {
        let ports = ports.clone();
        tokio::spawn(async move {
            let outcomes = forward_orders(&ports, &deferred).await;
            answer(deferred, outcomes);
        });
    }
}

type Outcomes = BTreeMap<OrderId, Result<CommandOutcome, ShardError>>;

/// Sends every order of the batch to its book (per symbol in order, symbols in parallel).
async fn forward_orders(ports: &Arc<PipelinePorts>, deferred: &[Deferred]) -> Outcomes {
    let mut by_symbol: BTreeMap<SymbolCode, Vec<PlaceOrder>> = BTreeMap::new();
    for waiting in deferred {
        if let Deferred::Place(_, slots) = waiting {
            for slot in slots {
                if let PlaceSlot::Forward { symbol, command, .. } = slot {
                    by_symbol.entry(*symbol).or_default().push(*command);
                }
            }
        }
    }
    let tasks: Vec<_> = by_symbol
        .into_iter()
        .map(|(symbol, commands)| {
            let ports = ports.clone();
            tokio::spawn(async move { forward_symbol(&ports, symbol, commands).await })
        })
        .collect();
    let mut outcomes = Outcomes::new();
    let mut abandoned = Vec::new();
    for task in tasks {
        let Ok(symbol_outcomes) = task.await else { continue };
        for (order_id, outcome) in symbol_outcomes {
            if outcome.as_ref().is_err_and(|error| !outcome_unknown(error)) {
                abandoned.push(order_id);
            }
            outcomes.insert(order_id, outcome);
        }
    }
    if !abandoned.is_empty() {
        let _shard_gone = ports.abandon.send(AbandonOrders(abandoned)).await;
    }
    outcomes
}

async fn forward_symbol(
    ports: &PipelinePorts,
    symbol: SymbolCode,
    commands: Vec<PlaceOrder>,
) -> Vec<(OrderId, Result<CommandOutcome, ShardError>)> {
    let mut results = Vec::with_capacity(commands.len());
    for chunk in commands.chunks(FORWARD_CHUNK_MAX) {
        let sent = submit_with_retry(ports, symbol, chunk).await;
        match sent {
            Ok(outcomes) => {
                results.extend(
                    chunk.iter().map(|order| order.order_id).zip(outcomes.into_iter().map(Ok)),
                );
            }
            Err(error) => {
                results.extend(chunk.iter().map(|order| (order.order_id, Err(error.clone()))));
            }
        }
    }
    results
}

/// Whether a failed forward may still have reached the book's journal.
fn outcome_unknown(error: &ShardError) -> bool {
    matches!(error, ShardError::Book(error) if error.may_be_journaled())
}

async fn submit_with_retry(
    ports: &PipelinePorts,
    symbol: SymbolCode,
    chunk: &[PlaceOrder],
) -> Result<Vec<CommandOutcome>, ShardError> {
    let started = tokio::time::Instant::now();
    loop {
        let error = match ports.directory.book(symbol.as_str()) {
            None => ShardError::NoBook(symbol),
            // Stopped before this send: not delivered, so its replacement may be asked.
            Some(book) if !book.connected() => {
                ShardError::Book(BookError::Stopping { symbol: symbol.to_string() })
            }
            Some(book) => {
                let commands = chunk.iter().map(|order| BookCommand::Place(*order)).collect();
                match book.send(SubmitCommands(commands)).await {
                    Ok(Ok(outcomes)) => return Ok(outcomes),
                    // Refusals that a retry cannot fix, and outcomes a retry could double.
                    Ok(Err(
                        error @ (BookError::Overloaded { .. }
                        | BookError::TooManyCommands { .. }
                        | BookError::JournalFailed { .. }
                        | BookError::OutcomeUnknown { .. }),
                    )) => {
                        return Err(ShardError::Book(error));
                    }
                    Ok(Err(error @ BookError::Stopping { .. })) => ShardError::Book(error),
                    // The book died holding the message, perhaps mid-commit.
                    Err(_mailbox) => {
                        let unknown = BookError::OutcomeUnknown { symbol: symbol.to_string() };
                        return Err(ShardError::Book(unknown));
                    }
                }
            }
        };
        if started.elapsed() >= FORWARD_RETRY_FOR {
            return Err(error);
        }
        tokio::time::sleep(FORWARD_RETRY_PAUSE).await;
    }
}

fn answer(deferred: Vec<Deferred>, mut outcomes: Outcomes) {
    for waiting in deferred {
        let _caller_gone = match waiting {
            Deferred::Unit(reply) => reply.send(Ok(())).is_ok(),
            Deferred::Balance(reply, balance) => reply.send(Ok(balance)).is_ok(),
            Deferred::Place(reply, slots) => {
                let answers = slots
                    .into_iter()
                    .map(|slot| match slot {
                        PlaceSlot::Refused(error) => Err(error),
                        PlaceSlot::Forward { command, pending, .. } => {
                            let outcome = outcomes
                                .remove(&command.order_id)
                                .unwrap_or(Err(ShardError::Stopping));
                            outcome.map(|outcome| PlacedOrder {
                                order_id: command.order_id,
                                client_order_id: command.client_order_id,
                                pending,
                                outcome,
                            })
                        }
                    })
                    .collect();
                reply.send(answers).is_ok()
            }
        };
    }
}
