//! `Supervisor`: starts the books, watches their heartbeats, and replaces a book that failed
//! (its actor is gone, e.g. a handler panicked or its journal refused a write) or stalled (it
//! missed its last `book_missed_heartbeats_max` heartbeats). The replacement takes a new journal
//! epoch before it reads the journal, so a stalled instance that wakes up later is fenced and
//! can never write again.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;

use super::metrics::{ActorKind, count_restart, register_restarts};
use super::{BookDirectory, Deadlines};
use crate::book::BookLimits;
use crate::book::actor::{BookPorts, BookSettings, BookStartError, StartedBook, SymbolBook};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SupervisorSettings {
    pub check_interval: Duration,
    /// An account shard that has not beaten for this long is replaced.
    pub stall_timeout: Duration,
    /// How often every book beats (overrides each spec's `heartbeat_interval`).
    pub book_heartbeat_interval: Duration,
    /// A book that misses this many heartbeats in a row is replaced.
    pub book_missed_heartbeats_max: u32,
    /// How long an order may stay PENDING, CANCELING or LIQUIDATING before the account shard
    /// re-drives it.
    pub deadlines: Deadlines,
}

impl Default for SupervisorSettings {
    fn default() -> Self {
        SupervisorSettings {
            check_interval: Duration::from_millis(25),
            stall_timeout: Duration::from_secs(2),
            book_heartbeat_interval: Duration::from_millis(250),
            book_missed_heartbeats_max: 8,
            deadlines: Deadlines::default(),
        }
    }
}

impl SupervisorSettings {
    /// How long a book may go without a heartbeat: the missed heartbeats.
    pub fn book_stall_timeout(&self) -> Duration {
        self.book_heartbeat_interval.saturating_mul(self.book_missed_heartbeats_max)
    }
}

/// A book to run.
#[derive(Clone, Debug)]
pub struct BookSpec {
    pub symbol: String,
    pub limits: BookLimits,
    pub settings: BookSettings,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RestartReason {
    /// The actor is gone: a handler panicked, or it stopped after a journal failure.
    Failed,
    /// The actor exists but has not beaten within the stall timeout.
    Stalled,
}

struct SupervisedBook {
    spec: BookSpec,
    current: StartedBook,
    restarting: bool,
}

pub struct Supervisor {
    ports: BookPorts,
    directory: Arc<BookDirectory>,
    settings: SupervisorSettings,
    books: BTreeMap<String, SupervisedBook>,
    restarts: BTreeMap<RestartReason, u64>,
}

impl std::fmt::Debug for Supervisor {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Supervisor")
            .field("books", &self.books.keys().collect::<Vec<_>>())
            .field("restarts", &self.restarts)
            .finish_non_exhaustive()
    }
}

impl Supervisor {
    /// Starts every book (each on its own arbiter, each recovered from the journal), publishes
    /// them in `directory`, then starts the supervisor watching them.
    pub async fn start(
        specs: Vec<BookSpec>,
        ports: BookPorts,
        directory: Arc<BookDirectory>,
        settings: SupervisorSettings,
    ) -> Result<Addr<Supervisor>, BookStartError> {
        let mut books = BTreeMap::new();
        for spec in specs {
            let current = start_book(&spec, &ports, settings.book_heartbeat_interval).await?;
            directory.set(&spec.symbol, current.address.clone());
            books.insert(spec.symbol.clone(), SupervisedBook { spec, current, restarting: false });
        }
        register_restarts(ActorKind::Book);
        let supervisor =
            Supervisor { ports, directory, settings, books, restarts: BTreeMap::new() };
        Ok(supervisor.start())
    }

    pub(super) fn book_heartbeats(&self) -> impl Iterator<Item = (&String, &super::Heartbeat)> {
        self.books.iter().map(|(symbol, book)| (symbol, book.current.heartbeat.as_ref()))
    }

    fn check(&mut self, ctx: &mut Context<Self>) {
        let now_ns = self.ports.clock.now_ns();
        let stall_ns =
            u64::try_from(self.settings.book_stall_timeout().as_nanos()).unwrap_or(u64::MAX);
        let mut due = Vec::new();
        for (symbol, book) in &self.books {
            if book.restarting {
                continue;
            }
            let reason = if !book.current.address.connected() {
                Some(RestartReason::Failed)
            } else {
                let beat_at_ns = book.current.heartbeat.read().beat_at_ns;
                (now_ns.saturating_sub(beat_at_ns) > stall_ns).then_some(RestartReason::Stalled)
            };
            if let Some(reason) = reason {
                due.push((symbol.clone(), reason));
            }
        }
        for (symbol, reason) in due {
            self.restart(symbol, reason, ctx);
        }
    }

    fn restart(&mut self, symbol: String, reason: RestartReason, ctx: &mut Context<Self>) {
        let Some(book) = self.books.get_mut(&symbol) else { return };
        book.restarting = true;
        tracing::warn!(%symbol, ?reason, epoch = book.current.epoch.0, "replacing book");
        let (spec, ports) = (book.spec.clone(), self.ports.clone());
        let heartbeat_interval = self.settings.book_heartbeat_interval;
        let start = async move { start_book(&spec, &ports, heartbeat_interval).await };
        ctx.spawn(start.into_actor(self).map(move |started, supervisor, _ctx| {
            let Some(book) = supervisor.books.get_mut(&symbol) else { return };
            book.restarting = false;
            match started {
                Ok(started) => {
                    supervisor.directory.set(&symbol, started.address.clone());
                    tracing::info!(%symbol, ?reason, epoch = started.epoch.0, "book replaced");
                    book.current = started;
                    *supervisor.restarts.entry(reason).or_default() += 1;
                    count_restart(ActorKind::Book, reason);
                }
                // Retried on the next check.
                Err(error) => tracing::error!(%symbol, %error, "book restart failed"),
            }
        }));
    }
}

async fn start_book(
    spec: &BookSpec,
    ports: &BookPorts,
    heartbeat_interval: Duration,
) -> Result<StartedBook, BookStartError> {
    let arbiter = Arbiter::new();
    let symbol = &spec.symbol;
    let settings = BookSettings { heartbeat_interval, ..spec.settings };
    SymbolBook::start(symbol, spec.limits, settings, ports.clone(), &arbiter.handle()).await
}

impl Actor for Supervisor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.run_interval(self.settings.check_interval, |supervisor, ctx| supervisor.check(ctx));
    }
}

/// Opens a book for a symbol listed while running (`POST /admin/symbols`) and supervises it;
/// answers once the book takes orders. A symbol that already has a book is left as it is.
#[derive(Debug, Message)]
#[rtype(result = "Result<(), BookStartError>")]
pub struct AddBook(pub BookSpec);

impl Handler<AddBook> for Supervisor {
    type Result = ResponseActFuture<Self, Result<(), BookStartError>>;

    fn handle(&mut self, AddBook(spec): AddBook, _ctx: &mut Self::Context) -> Self::Result {
        if self.books.contains_key(&spec.symbol) {
            return Box::pin(actix::fut::ready(Ok(())));
        }
        let ports = self.ports.clone();
        let heartbeat_interval = self.settings.book_heartbeat_interval;
        let start = async move {
            let started = start_book(&spec, &ports, heartbeat_interval).await;
            (spec, started)
        };
        Box::pin(start.into_actor(self).map(|(spec, started), supervisor, _ctx| {
            let current = started?;
            if supervisor.books.contains_key(&spec.symbol) {
                return Ok(());
            }
            supervisor.directory.set(&spec.symbol, current.address.clone());
            let book = SupervisedBook { spec, current, restarting: false };
            supervisor.books.insert(book.spec.symbol.clone(), book);
            Ok(())
        }))
    }
}

/// What the supervisor has seen and done.
#[derive(Debug, Message)]
#[rtype(result = "SupervisorReport")]
pub struct GetSupervisorReport;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SupervisorReport {
    pub restarts: BTreeMap<RestartReason, u64>,
    /// Per symbol: the current epoch and its latest heartbeat.
    pub books: BTreeMap<String, (u64, super::HeartbeatReading)>,
}

impl Handler<GetSupervisorReport> for Supervisor {
    type Result = MessageResult<GetSupervisorReport>;

    fn handle(&mut self, _query: GetSupervisorReport, _ctx: &mut Self::Context) -> Self::Result {
        let books = self
            .books
            .iter()
            .map(|(symbol, book)| {
                (symbol.clone(), (book.current.epoch.0, book.current.heartbeat.read()))
            })
            .collect();
        MessageResult(SupervisorReport { restarts: self.restarts.clone(), books })
    }
}
