//! `AccountShard`: the actor shell around one shard's [`AccountState`] (accounts with
//! `account_id % shard_count == shard_index`).
//!
//! Flow: a mutating handler applies the request to the state at once (checks, holds, PENDING
//! records; a refusal is answered at once and changes nothing) and parks the caller. When the
//! previous batch has committed, the shard drains everything changed since into one job:
//! the committer journals it in one transaction, then the forwarder sends its new orders to
//! their books and answers the callers (see `pipeline.rs`). Book events arrive from the bus,
//! are applied idempotently by watermark, and join the next batch; on a gap the shard reads
//! the missing events from the journal. Orders left PENDING or CANCELING past their deadline
//! are re-driven from the book's truth (`deadlines.rs`). Accounts below maintenance margin are
//! moved into LIQUIDATING and advanced by the Liquidator's reviews (`liquidations.rs`).
//!
//! Start: takes a new epoch for its journal stream (fencing an older instance), loads its rows,
//! catches up every symbol from the book journal, and abandons the PENDING orders no book
//! journaled (their callers were never answered; their holds are released, status REJECTED).
//! Shards are restarted with their process: a shard replaced inside a running process could
//! race its predecessor's in-flight forwards, so that is not done.

mod deadlines;
mod liquidations;
#[cfg(feature = "fault-injection")]
mod liveness;
mod markets;
mod messages;
mod perpetuals;
mod pipeline;
mod queries;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use actix::prelude::*;
use tokio::sync::{mpsc, oneshot};

pub use deadlines::{GetTransientCounts, REQUEST_CANCELS_MAX, RequestCancels};
pub use liquidations::{
    ADL_EVENTS_TOTAL, INSURANCE_FUND_BALANCE, LIQUIDATIONS_TOTAL, ReviewLiquidations,
};
#[cfg(feature = "fault-injection")]
pub use liveness::PoisonShard;
pub use markets::AddMarket;
pub use messages::{
    AuditShard, GetBalances, GetOpenOrders, GetOpenSymbols, GetOrder, OpenAccount, PlaceOrders,
    PlacedOrder, ShardAudit, ShardError, Transfer, TransferDirection,
};
pub use perpetuals::{
    ApplyFunding, FUNDING_PAID, FUNDING_RECEIVED, GetPositions, POSITIONS_OPEN, PositionsView,
    SetMarks,
};
pub use pipeline::FORWARD_RETRY_FOR;
pub use queries::{GetKnownOrders, GetOrdersById, ORDERS_BY_ID_MAX};

use self::pipeline::{
    AbandonOrders, Deferred, FORWARD_CHUNK_MAX, JobCommitted, PipelinePorts, PlaceSlot, ShardJob,
    spawn_pipeline,
};
use crate::account::{
    AccountState, ApplyError, InvariantViolation, MarketSpec, OrderStatus,
    RECENT_CLOSED_ORDERS_PER_ACCOUNT,
};
use crate::model::{BookEvent, OrderId, SymbolCode};
use crate::ports::{
    Clock, Epoch, EventBatch, EventBus, Journal, JournalError, UserFeed, shard_stream,
};
use crate::supervisor::{
    BookDirectory, Deadlines, Heartbeat, SupervisorSettings, TransientOrders, TransientState,
};

/// Events read from the journal per catch-up query.
const CATCH_UP_PAGE_EVENTS: u32 = 10_000;

/// How the accounts are split over shards and what each account may hold open: the operator's
/// settings every shard starts with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShardLayout {
    pub shard_count: u16,
    /// Open orders one account may have (default
    /// [`OPEN_ORDERS_PER_ACCOUNT_MAX`](crate::account::OPEN_ORDERS_PER_ACCOUNT_MAX)).
    pub open_orders_per_account_max: usize,
}

/// What a shard needs from outside.
#[derive(Clone)]
pub struct ShardPorts {
    pub journal: Arc<dyn Journal>,
    pub bus: Arc<dyn EventBus>,
    pub clock: Arc<dyn Clock>,
    pub directory: Arc<BookDirectory>,
    /// Gets each committed batch's user data (`NoUserFeed` when nobody listens).
    pub user_feed: Arc<dyn UserFeed>,
}

impl std::fmt::Debug for ShardPorts {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("ShardPorts")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ShardStartError {
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error("catching up {symbol}: {error}")]
    CatchUp { symbol: SymbolCode, error: ApplyError },
}

pub struct AccountShard {
    state: AccountState,
    shard_index: u16,
    ports: ShardPorts,
    epoch: Epoch,
    jobs: Option<mpsc::Sender<ShardJob>>,
    /// A job is being committed; the next drain waits for it.
    committing: bool,
    /// Callers whose changes are in the state but not yet in a job.
    parked: Vec<Deferred>,
    catching_up: BTreeSet<SymbolCode>,
    symbols: Vec<SymbolCode>,
    /// Beaten by a timer on the shard's own arbiter; the shard supervisor reads it.
    heartbeat: Arc<Heartbeat>,
    metrics: ShardMetrics,
    /// Orders in PENDING or CANCELING, re-driven past their deadline (`deadlines.rs`).
    transient: TransientOrders,
    deadlines: Deadlines,
    check_interval: std::time::Duration,
    /// Symbols with a re-drive under way (one at a time per symbol).
    redriving: BTreeSet<SymbolCode>,
    /// The new orders of the job being committed; their PENDING clock starts at its commit.
    committing_orders: Vec<(crate::model::OrderId, SymbolCode)>,
}

impl std::fmt::Debug for AccountShard {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("AccountShard")
            .field("shard_index", &self.shard_index)
            .field("epoch", &self.epoch)
            .finish_non_exhaustive()
    }
}

/// Applies the journal's events after each watermark until the journal has no more.
async fn catch_up(
    state: &mut AccountState,
    journal: &dyn Journal,
    symbol: SymbolCode,
) -> Result<(), ShardStartError> {
    loop {
        let after = state.watermark(symbol);
        let events =
            journal.book_events_after(symbol.to_string(), after, CATCH_UP_PAGE_EVENTS).await?;
        if events.is_empty() {
            return Ok(());
        }
        state
            .apply_book_events(symbol, &events)
            .map_err(|error| ShardStartError::CatchUp { symbol, error })?;
    }
}

impl AccountShard {
    /// Rebuilds shard `shard_index` from the journal and starts it on `arbiter`.
    pub async fn start(
        shard_index: u16,
        layout: ShardLayout,
        markets: BTreeMap<SymbolCode, MarketSpec>,
        ports: ShardPorts,
        arbiter: &ArbiterHandle,
        heartbeat: Arc<Heartbeat>,
        settings: SupervisorSettings,
    ) -> Result<Addr<AccountShard>, ShardStartError> {
        let epoch = ports.journal.acquire_epoch(shard_stream(shard_index)).await?;
        let recent = u32::try_from(RECENT_CLOSED_ORDERS_PER_ACCOUNT).unwrap_or(u32::MAX);
        let restored = ports.journal.load_shard(shard_index, recent).await?;
        let symbols: Vec<SymbolCode> = markets.keys().copied().collect();
        let mut state = AccountState::restore(shard_index, markets, restored);
        state.set_shard_count(layout.shard_count);
        state.set_open_orders_max(layout.open_orders_per_account_max);
        // Subscribe before catching up: whatever is published meanwhile is either read from
        // the journal or arrives here (duplicates are dropped by watermark).
        let events = ports.bus.subscribe(&shard_stream(shard_index));
        for symbol in &symbols {
            catch_up(&mut state, ports.journal.as_ref(), *symbol).await?;
        }
        // Orders still PENDING were committed here but not (yet) seen in a book's journal. A
        // book that outlived this shard may still journal them (they may sit in its mailbox,
        // or in a commit whose answer was lost), so they are not abandoned blindly: they start
        // overdue, and the first deadline check settles them from the journal after a barrier
        // on their book.
        let pending: Vec<(OrderId, SymbolCode)> = state
            .all_open_orders()
            .filter(|order| order.status == OrderStatus::Pending)
            .map(|order| (order.order_id, order.symbol))
            .collect();
        let changes = state.drain_changes();
        if !changes.is_empty() {
            ports.journal.commit_shard_changes(shard_index, epoch, changes).await?;
        }
        tracing::info!(shard_index, epoch = epoch.0, pending = pending.len(), "shard started");
        // Alive from now: its supervisor may look before the actor's `started` has run.
        let now_ns = ports.clock.now_ns();
        heartbeat.beat(now_ns, 0, 0);
        let mut shard = AccountShard {
            state,
            shard_index,
            ports,
            epoch,
            jobs: None,
            committing: false,
            parked: Vec::new(),
            catching_up: BTreeSet::new(),
            symbols,
            heartbeat,
            metrics: ShardMetrics::new(shard_index),
            transient: TransientOrders::new(deadlines::TRANSIENT_ORDERS_MAX),
            deadlines: settings.deadlines,
            check_interval: settings.check_interval,
            redriving: BTreeSet::new(),
            committing_orders: Vec::new(),
        };
        let overdue_since_ns =
            now_ns.saturating_sub(settings.deadlines.of_ns(TransientState::Pending));
        for (order_id, symbol) in pending {
            shard.track(order_id, symbol, TransientState::Pending, overdue_since_ns);
        }
        // On its own arbiter: a panicking handler takes down this shard's thread only, and
        // the shard supervisor sees the address disconnected and starts a replacement.
        Ok(AccountShard::start_in_arbiter(arbiter, move |ctx| {
            let address = ctx.address();
            let mut events = events;
            tokio::spawn(async move {
                while let Some(batch) = events.recv().await {
                    if crate::faults::dropping_book_events(shard_index) {
                        continue;
                    }
                    if address.send(BookEvents(batch)).await.is_err() {
                        return;
                    }
                }
            });
            shard
        }))
    }

    fn beat(&self) {
        let now_ns = self.ports.clock.now_ns();
        // Progress: book events applied, over all symbols.
        let applied = self.symbols.iter().map(|symbol| self.state.watermark(*symbol)).sum();
        self.heartbeat.beat(now_ns, applied, self.parked.len());
    }

    /// Parks `deferred` and drains a batch if none is committing.
    fn park(&mut self, deferred: Deferred, ctx: &mut Context<Self>) {
        self.parked.push(deferred);
        self.drain_if_idle(ctx);
    }

    fn drain_if_idle(&mut self, ctx: &mut Context<Self>) {
        if self.committing {
            return;
        }
        let changes = self.state.drain_changes();
        let deferred = std::mem::take(&mut self.parked);
        if changes.is_empty() && deferred.is_empty() {
            return;
        }
        let Some(jobs) = self.jobs.clone() else { unreachable!("pipeline starts with the actor") };
        self.committing = true;
        self.committing_orders = deferred.iter().flat_map(Deferred::forwarded_orders).collect();
        if let Err(error) = jobs.try_send(ShardJob { changes, deferred }) {
            // Only one job is ever in flight, so the channel is never full: it is closed.
            tracing::error!(shard = self.shard_index, %error, "shard pipeline gone; stopping");
            ctx.stop();
        }
    }

    fn apply_events(&mut self, symbol: SymbolCode, events: &[BookEvent], ctx: &mut Context<Self>) {
        match self.state.apply_book_events(symbol, events) {
            Ok(applied) => {
                let duplicates = u64::try_from(applied.duplicates).unwrap_or(u64::MAX);
                self.metrics.duplicates.increment(duplicates);
                self.drain_if_idle(ctx);
            }
            Err(ApplyError::Gap { .. }) => {
                self.metrics.gaps.increment(1);
                self.start_catch_up(symbol, ctx);
            }
            Err(error) => {
                // A bug or a foreign journal: stop rather than settle money wrongly.
                tracing::error!(shard = self.shard_index, %error, "book events refused; stopping");
                ctx.stop();
            }
        }
    }

    fn start_catch_up(&mut self, symbol: SymbolCode, ctx: &mut Context<Self>) {
        if !self.catching_up.insert(symbol) {
            return;
        }
        let journal = self.ports.journal.clone();
        let after = self.state.watermark(symbol);
        let read = async move {
            journal.book_events_after(symbol.to_string(), after, CATCH_UP_PAGE_EVENTS).await
        };
        ctx.spawn(read.into_actor(self).map(move |events, shard, ctx| {
            shard.catching_up.remove(&symbol);
            match events {
                Ok(events) if !events.is_empty() => shard.apply_events(symbol, &events, ctx),
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(%symbol, %error, "catch-up read failed; next gap retries")
                }
            }
        }));
    }
}

/// How often a shard beats: well inside the supervisor's stall timeout.
const HEARTBEAT_INTERVAL: std::time::Duration = std::time::Duration::from_millis(100);
/// How often the shard counts negative user balances (a scan of every balance it holds).
const NEGATIVE_SCAN_INTERVAL: std::time::Duration = std::time::Duration::from_secs(5);
/// User balances with a negative part, by `shard` (0 unless an invariant broke, e.g. a row
/// edited in the database and read back on restore).
pub const NEGATIVE_BALANCES: &str = "exchange_negative_balances";
/// Book events delivered again and dropped by the shard's watermark (idempotent-dedup hits).
pub const SETTLEMENT_DUPLICATES: &str = "exchange_settlement_duplicate_events_total";
/// Deliveries with a gap, answered by reading the missing events from the journal (retries).
pub const SETTLEMENT_GAPS: &str = "exchange_settlement_gaps_total";

/// The shard's counters, by `shard` (bounded: at most `SHARD_COUNT_MAX` shards).
#[derive(Clone, Debug)]
struct ShardMetrics {
    duplicates: metrics::Counter,
    gaps: metrics::Counter,
}

impl ShardMetrics {
    fn new(shard_index: u16) -> ShardMetrics {
        let shard = shard_index.to_string();
        ShardMetrics {
            duplicates: metrics::counter!(SETTLEMENT_DUPLICATES, "shard" => shard.clone()),
            gaps: metrics::counter!(SETTLEMENT_GAPS, "shard" => shard),
        }
    }
}

impl Actor for AccountShard {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(4096);
        let ports = PipelinePorts {
            shard_index: self.shard_index,
            epoch: self.epoch,
            journal: self.ports.journal.clone(),
            directory: self.ports.directory.clone(),
            clock: self.ports.clock.clone(),
            user_feed: self.ports.user_feed.clone(),
            committed: ctx.address().recipient(),
            abandon: ctx.address().recipient(),
        };
        self.jobs = Some(spawn_pipeline(ports));
        self.beat();
        ctx.run_interval(HEARTBEAT_INTERVAL, |shard, _ctx| shard.beat());
        let negative = metrics::gauge!(NEGATIVE_BALANCES, "shard" => self.shard_index.to_string());
        let scan = move |shard: &mut AccountShard| {
            // Exact: a count of balances, far below 2^53.
            negative.set(shard.state.negative_user_balances() as f64);
            shard.report_positions();
            // Funding moves the fund between reviews too.
            shard.report_insurance_fund();
        };
        scan(self);
        self.register_perpetual_metrics();
        self.register_liquidation_metrics();
        ctx.run_interval(NEGATIVE_SCAN_INTERVAL, move |shard, _ctx| scan(shard));
        crate::supervisor::metrics::set_transient_deadlines(&self.deadlines);
        ctx.run_interval(self.check_interval, |shard, ctx| shard.check_deadlines(ctx));
    }
}

/// Committed book events, from the bus.
#[derive(Debug, Message)]
#[rtype(result = "()")]
struct BookEvents(EventBatch);

impl Handler<BookEvents> for AccountShard {
    type Result = ();

    fn handle(&mut self, message: BookEvents, ctx: &mut Self::Context) {
        let Ok(symbol) = SymbolCode::new(&message.0.symbol) else { return };
        if self.catching_up.contains(&symbol) || self.state.market(symbol).is_none() {
            return;
        }
        self.apply_events(symbol, &message.0.events, ctx);
    }
}

impl Handler<JobCommitted> for AccountShard {
    type Result = ();

    fn handle(&mut self, committed: JobCommitted, ctx: &mut Self::Context) {
        self.committing = false;
        let forwarded = std::mem::take(&mut self.committing_orders);
        match committed.result {
            Ok(()) => {
                self.track_forwarded(forwarded);
                self.drain_if_idle(ctx);
            }
            Err(detail) => {
                // Memory is ahead of the journal now: only a rebuild from the journal is right.
                tracing::error!(shard = self.shard_index, %detail, "stopping: journal failed");
                ctx.stop();
            }
        }
    }
}

impl Handler<AbandonOrders> for AccountShard {
    type Result = ();

    fn handle(&mut self, abandon: AbandonOrders, ctx: &mut Self::Context) {
        let now_ns = self.ports.clock.now_ns();
        for order_id in abandon.0 {
            // Already settled by events meanwhile is fine: only PENDING ones are abandoned.
            let _not_pending = self.state.abandon_pending(order_id, now_ns);
        }
        self.drain_if_idle(ctx);
    }
}

type Reply<T> = ResponseFuture<T>;

fn answer_later<T: Send + 'static>(
    receiver: oneshot::Receiver<T>,
    stopping: T,
) -> ResponseFuture<T> {
    Box::pin(async move { receiver.await.unwrap_or(stopping) })
}

impl Handler<OpenAccount> for AccountShard {
    type Result = Reply<Result<(), ShardError>>;

    fn handle(&mut self, message: OpenAccount, ctx: &mut Self::Context) -> Self::Result {
        if let Err(reject) = self.state.open_account(message.0) {
            return Box::pin(std::future::ready(Err(reject.into())));
        }
        let (reply, receiver) = oneshot::channel();
        self.park(Deferred::Unit(reply), ctx);
        answer_later(receiver, Err(ShardError::Stopping))
    }
}

impl Handler<Transfer> for AccountShard {
    type Result = Reply<Result<crate::account::Balance, ShardError>>;

    fn handle(&mut self, transfer: Transfer, ctx: &mut Self::Context) -> Self::Result {
        let Transfer { direction, account_id, asset, amount, reference } = transfer;
        let applied = match direction {
            TransferDirection::Deposit => self.state.deposit(account_id, asset, amount, reference),
            TransferDirection::Withdrawal => {
                self.state.withdraw(account_id, asset, amount, reference)
            }
            TransferDirection::CorrectionCredit => {
                self.state.correct(account_id, asset, amount, false, reference)
            }
            TransferDirection::CorrectionDebit => {
                self.state.correct(account_id, asset, amount, true, reference)
            }
        };
        if let Err(reject) = applied {
            return Box::pin(std::future::ready(Err(reject.into())));
        }
        let (reply, receiver) = oneshot::channel();
        let balance = self.state.balance(account_id, asset);
        self.park(Deferred::Balance(reply, balance), ctx);
        answer_later(receiver, Err(ShardError::Stopping))
    }
}

impl Handler<PlaceOrders> for AccountShard {
    type Result = Reply<Vec<Result<PlacedOrder, ShardError>>>;

    fn handle(&mut self, message: PlaceOrders, ctx: &mut Self::Context) -> Self::Result {
        let count = message.0.len();
        if count > FORWARD_CHUNK_MAX {
            let error = ShardError::TooManyOrders { count, count_max: FORWARD_CHUNK_MAX };
            return Box::pin(std::future::ready(vec![Err(error)]));
        }
        let slots = message
            .0
            .into_iter()
            .map(|request| match self.state.place(request) {
                Ok(command) => {
                    let pending = *self.state.order(command.order_id).expect("just placed");
                    PlaceSlot::Forward { symbol: request.symbol, command, pending }
                }
                Err(reject) => PlaceSlot::Refused(reject.into()),
            })
            .collect();
        let (reply, receiver) = oneshot::channel();
        self.park(Deferred::Place(reply, slots), ctx);
        answer_later(receiver, (0..count).map(|_| Err(ShardError::Stopping)).collect())
    }
}

impl Handler<GetBalances> for AccountShard {
    type Result = MessageResult<GetBalances>;

    fn handle(&mut self, query: GetBalances, _ctx: &mut Self::Context) -> Self::Result {
        let account = query.0;
        if !self.state.has_account(account) {
            return MessageResult(Err(
                crate::account::AccountReject::UnknownAccount(account).into()
            ));
        }
        let balances = self
            .state
            .balances()
            .filter(|(owner, _, _)| *owner == crate::account::Owner::User(account))
            .map(|(_, asset, balance)| (asset, balance))
            .collect();
        MessageResult(Ok(balances))
    }
}

impl Handler<GetOrder> for AccountShard {
    type Result = MessageResult<GetOrder>;

    fn handle(&mut self, query: GetOrder, _ctx: &mut Self::Context) -> Self::Result {
        let by_id = query.order_id.and_then(|order_id| self.state.order(order_id));
        let by_client = query
            .client_order_id
            .and_then(|client| self.state.order_by_client_id(query.account_id, client));
        let found = by_id.or(by_client).filter(|order| order.account_id == query.account_id);
        let unknown =
            crate::account::AccountReject::UnknownOrder(query.order_id.unwrap_or_default());
        MessageResult(found.copied().ok_or(ShardError::Rejected(unknown)))
    }
}

impl Handler<GetOpenOrders> for AccountShard {
    type Result = MessageResult<GetOpenOrders>;

    fn handle(&mut self, query: GetOpenOrders, _ctx: &mut Self::Context) -> Self::Result {
        // Ranges of the account's orders only, never a walk over the whole shard.
        let symbols = match query.symbol {
            Some(symbol) => vec![symbol],
            None => self.state.open_symbols(query.account_id),
        };
        let orders = symbols
            .into_iter()
            .flat_map(|symbol| self.state.open_orders(query.account_id, symbol))
            .copied()
            .collect();
        MessageResult(orders)
    }
}

impl Handler<GetOpenSymbols> for AccountShard {
    type Result = MessageResult<GetOpenSymbols>;

    fn handle(&mut self, query: GetOpenSymbols, _ctx: &mut Self::Context) -> Self::Result {
        MessageResult(self.state.open_symbols(query.account_id))
    }
}

impl Handler<AuditShard> for AccountShard {
    type Result = MessageResult<AuditShard>;

    fn handle(&mut self, _audit: AuditShard, _ctx: &mut Self::Context) -> Self::Result {
        let checked: Result<(), InvariantViolation> = self.state.check_invariants();
        MessageResult(checked.map(|()| {
            let watermarks = self
                .symbols
                .iter()
                .map(|symbol| (*symbol, self.state.watermark(*symbol)))
                .collect();
            ShardAudit {
                busy: self.committing || !self.parked.is_empty(),
                watermarks,
                open_orders: self.state.all_open_orders().count(),
                pending_orders: self
                    .state
                    .all_open_orders()
                    .filter(|order| order.status == OrderStatus::Pending)
                    .count(),
            }
        }))
    }
}
