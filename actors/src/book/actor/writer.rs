//! The book's journal writer: a task that commits batches strictly in order, then answers their
//! callers and publishes their events. The actor goes on matching the next batch while one is
//! being committed; nobody hears of a batch before it is durable.
//!
//! Several batches waiting together are committed in one transaction (group commit of group
//! commits). After a failed commit nothing more is written: the book's memory is ahead of its
//! journal, so the writer answers every waiting caller with an error and tells the actor to
//! stop; the supervisor rebuilds it from the journal. The failed group's callers hear
//! `JournalFailed` (the commit may have happened all the same), the later ones `Stopping`.

use std::sync::Arc;
use std::time::Instant;

use actix::{Message, Recipient};
use tokio::sync::mpsc;

use super::lanes::ReplySender;
use super::messages::{BookError, CommandOutcome};
use super::metrics::BookMetrics;
use crate::ports::{BookBatch, EventBatch, EventBus, Journal, JournalError};

/// Batches merged into one transaction at most.
const MERGED_BATCHES_MAX: usize = 16;

/// One batch and the callers waiting for it.
#[derive(Debug)]
pub(super) struct WriteJob {
    pub batch: BookBatch,
    pub replies: Vec<WaitingReply>,
}

/// A caller's answer, sent once the batch is durable.
#[derive(Debug)]
pub(super) struct WaitingReply {
    pub reply: ReplySender,
    pub outcomes: Vec<CommandOutcome>,
    pub arrived_at: Instant,
    pub cancel: bool,
}

/// Sent to the book when its journal refused or failed a write.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub(super) struct WriterFailed {
    pub detail: String,
}

pub(super) struct WriterPorts {
    pub journal: Arc<dyn Journal>,
    pub bus: Arc<dyn EventBus>,
    pub symbol: Arc<str>,
    pub on_failure: Recipient<WriterFailed>,
    pub metrics: BookMetrics,
}

/// Starts the writer on the current runtime; jobs wait in a channel of `jobs_max`.
pub(super) fn spawn_writer(ports: WriterPorts, jobs_max: usize) -> mpsc::Sender<WriteJob> {
    let (sender, receiver) = mpsc::channel(jobs_max);
    tokio::spawn(run_writer(ports, receiver));
    sender
}

async fn run_writer(ports: WriterPorts, mut jobs: mpsc::Receiver<WriteJob>) {
    while let Some(first) = jobs.recv().await {
        let mut group = vec![first];
        while group.len() < MERGED_BATCHES_MAX {
            match jobs.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        // A batch without inputs (only barrier messages) has nothing to journal; it is still
        // answered in order, after every batch before it. The clones share the events.
        let batches: Vec<_> = group
            .iter()
            .filter(|job| !job.batch.inputs.is_empty())
            .map(|job| job.batch.clone())
            .collect();
        if let Some(delay) = crate::faults::book_journal_delay() {
            tokio::time::sleep(delay).await;
        }
        let appended = if batches.is_empty() {
            Ok(())
        } else {
            ports.journal.append_book_batches(batches).await.and_then(|()| {
                if crate::faults::losing_book_commit_answer() {
                    Err(JournalError::Store("the commit's answer was lost".into()))
                } else {
                    Ok(())
                }
            })
        };
        match appended {
            Ok(()) => group.into_iter().for_each(|job| confirm(&ports, job)),
            Err(error) => {
                let detail = error.to_string();
                tracing::error!(symbol = %ports.symbol, %detail, "book journal write failed");
                // The failed commit may still have happened (its answer lost with the
                // connection): its callers hear JournalFailed, an unknown outcome.
                let unknown = BookError::JournalFailed {
                    symbol: ports.symbol.to_string(),
                    detail: detail.clone(),
                };
                fail(&unknown, group);
                // Best effort: the actor may already be gone.
                let _stopping =
                    ports.on_failure.send(WriterFailed { detail: detail.clone() }).await;
                // Nothing after it was sent to the journal: those callers may send again.
                let not_written = BookError::Stopping { symbol: ports.symbol.to_string() };
                jobs.close();
                while let Some(job) = jobs.recv().await {
                    fail(&not_written, vec![job]);
                }
                return;
            }
        }
    }
}

fn confirm(ports: &WriterPorts, job: WriteJob) {
    if !job.batch.events.is_empty() {
        ports.bus.publish(EventBatch { symbol: ports.symbol.clone(), events: job.batch.events });
    }
    for waiting in job.replies {
        ports.metrics.committed(waiting.arrived_at, waiting.cancel);
        // A caller that gave up waiting still has its commands applied and journaled.
        let _caller_gone = waiting.reply.send(Ok(waiting.outcomes));
    }
}

fn fail(error: &BookError, jobs: Vec<WriteJob>) {
    for job in jobs {
        for waiting in job.replies {
            let _caller_gone = waiting.reply.send(Err(error.clone()));
        }
    }
}
