//! The shard's side of the supervisor deadlines: it tracks its orders in PENDING (committed and
//! forwarded, the book has not confirmed) and CANCELING (a cancel was requested through
//! [`RequestCancels`], the book has not answered) in a [`TransientOrders`], and re-drives the
//! overdue ones from the book's truth, per symbol, one re-drive per symbol at a time:
//!
//! 1. every overdue CANCELING order's cancel is sent again to the symbol's current book
//!    (idempotent: a cancel of an order already gone only reports a failure);
//! 2. an empty message follows in the new-order lane: once the book answers it, everything that
//!    book instance received before is journaled, and an older instance is fenced;
//! 3. the book's journal after the shard's watermark is read and applied (by watermark, so
//!    nothing is settled twice): orders the book has are confirmed, canceled or filled;
//! 4. an overdue PENDING order the journal still lacks never reached a book that could journal
//!    it, so it is abandoned: its hold released, status REJECTED.
//!
//! Step 4 relies on the forwarder having given up by then: the PENDING clock starts when the
//! order's batch is committed (the forward starts), and the PENDING deadline must exceed the
//! forwarder's retry window (`FORWARD_RETRY_FOR`), which the server's settings check. This is
//! the only way an order whose forward outcome is unknown (the book's commit failed or the book
//! died mid-batch) or that was PENDING when its shard restarted is ever abandoned: the barrier
//! makes the journal final for it. A book
//! that does not answer within `REDRIVE_BOOK_TIMEOUT` (stalled, being replaced) is retried at
//! the next check.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;

use super::AccountShard;
use super::messages::ShardError;
use crate::account::{OrderRecord, OrderStatus};
use crate::book::actor::{BookError, CommandOutcome, SubmitCommands};
use crate::model::{AccountId, BookCommand, BookEvent, CancelOrders, OrderId, SymbolCode};
use crate::ports::Journal;
use crate::supervisor::metrics::{count_redrives, record_transient_age, set_transient_orders};
use crate::supervisor::{BookDirectory, Overdue, TransientState};

/// Orders one shard tracks in a transient state at most; past that, new ones are not
/// supervised (and a warning says so) rather than refused.
pub(super) const TRANSIENT_ORDERS_MAX: usize = 1_000_000;

/// Ids one [`RequestCancels`] may carry.
pub const REQUEST_CANCELS_MAX: usize = 10_000;

/// How long one re-drive waits for each answer of the book.
const REDRIVE_BOOK_TIMEOUT: Duration = Duration::from_secs(1);

/// Journal events one re-drive reads at most (pages of `CATCH_UP_PAGE_EVENTS`); with more
/// left, its PENDING orders wait for the next round instead of being abandoned.
const REDRIVE_PAGES_MAX: usize = 16;

/// Cancels orders of one account on one symbol, tracking them as CANCELING until the book's
/// events close them (or the supervisor re-drives them). Answers the book's outcome of the
/// cancel (journaled); the shard settles the canceled orders from its events.
#[derive(Debug, Message)]
#[rtype(result = "Result<CommandOutcome, ShardError>")]
pub struct RequestCancels {
    pub account_id: AccountId,
    pub symbol: SymbolCode,
    pub order_ids: Vec<OrderId>,
}

/// Orders in each transient state on this shard now.
#[derive(Debug, Message)]
#[rtype(result = "BTreeMap<TransientState, usize>")]
pub struct GetTransientCounts;

/// Whether `order` (if the shard still has it) is still in `state`.
fn still_in(order: Option<&OrderRecord>, state: TransientState) -> bool {
    order.is_some_and(|order| match state {
        TransientState::Pending => order.status == OrderStatus::Pending,
        TransientState::Canceling | TransientState::Liquidating => !order.status.is_terminal(),
    })
}

impl AccountShard {
    /// Starts the PENDING clock of orders whose batch has just been committed (and forwarded).
    pub(super) fn track_forwarded(&mut self, orders: Vec<(OrderId, SymbolCode)>) {
        let now_ns = self.ports.clock.now_ns();
        for (order_id, symbol) in orders {
            self.track(order_id, symbol, TransientState::Pending, now_ns);
        }
    }

    pub(super) fn track(
        &mut self,
        order_id: OrderId,
        symbol: SymbolCode,
        state: TransientState,
        now_ns: u64,
    ) {
        if let Err(full) = self.transient.enter(order_id, symbol, state, now_ns) {
            tracing::warn!(shard = self.shard_index, ?order_id, %full, "order not supervised");
        }
    }

    /// Forgets the orders that have left their transient state (recording how long they
    /// stayed) and publishes the counts.
    fn forget_resolved(&mut self, now_ns: u64) {
        let state = &self.state;
        let left = self
            .transient
            .retain(now_ns, |order_id, transient| still_in(state.order(order_id), transient));
        for left in left {
            record_transient_age(left.state, left.age_ns);
        }
        let mut summary = self.transient.summary(now_ns);
        // LIQUIDATING is an account's state (`account/liquidation.rs`), not an order's.
        summary[TransientState::Liquidating.index()] = self.state.liquidation_summary(now_ns);
        for (state, (count, oldest_ns)) in TransientState::ALL.into_iter().zip(summary) {
            set_transient_orders(self.shard_index, state, count, oldest_ns);
        }
    }

    /// Forgets resolved orders and re-drives the overdue ones.
    pub(super) fn check_deadlines(&mut self, ctx: &mut Context<Self>) {
        let now_ns = self.ports.clock.now_ns();
        self.forget_resolved(now_ns);
        let mut by_symbol: BTreeMap<SymbolCode, Vec<Overdue>> = BTreeMap::new();
        for overdue in self.transient.overdue(now_ns, &self.deadlines) {
            if !self.redriving.contains(&overdue.symbol) {
                by_symbol.entry(overdue.symbol).or_default().push(overdue);
            }
        }
        for (symbol, overdue) in by_symbol {
            self.redrive(symbol, &overdue, ctx);
        }
    }

    fn redrive(&mut self, symbol: SymbolCode, overdue: &[Overdue], ctx: &mut Context<Self>) {
        self.redriving.insert(symbol);
        let mut cancels: BTreeMap<AccountId, Vec<OrderId>> = BTreeMap::new();
        let mut pending = Vec::new();
        for item in overdue {
            match item.state {
                TransientState::Pending => pending.push(item.order_id),
                TransientState::Canceling => {
                    if let Some(order) = self.state.order(item.order_id) {
                        cancels.entry(order.account_id).or_default().push(item.order_id);
                    }
                }
                // No order is tracked as LIQUIDATING: accounts are, and the Liquidator's
                // reviews close them out at their deadline (`liquidations.rs`).
                TransientState::Liquidating => {}
            }
        }
        let canceling = cancels.values().map(Vec::len).sum();
        count_redrives(TransientState::Pending, pending.len());
        count_redrives(TransientState::Canceling, canceling);
        tracing::warn!(
            shard = self.shard_index,
            %symbol,
            pending = pending.len(),
            canceling,
            "re-driving overdue orders"
        );
        let directory = self.ports.directory.clone();
        let journal = self.ports.journal.clone();
        let after = self.state.watermark(symbol);
        let read = async move { book_truth(&directory, journal, symbol, cancels, after).await };
        ctx.spawn(read.into_actor(self).map(move |truth, shard, ctx| {
            shard.redriving.remove(&symbol);
            match truth {
                Ok(truth) => shard.resolve(symbol, &truth, &pending, ctx),
                Err(error) => {
                    tracing::warn!(%symbol, %error, "re-drive failed; retried at the next check")
                }
            }
        }));
    }

    /// Applies the book's journaled events, then abandons the PENDING orders it lacks.
    fn resolve(
        &mut self,
        symbol: SymbolCode,
        truth: &BookTruth,
        pending: &[OrderId],
        ctx: &mut Context<Self>,
    ) {
        if !truth.events.is_empty() {
            self.apply_events(symbol, &truth.events, ctx);
        }
        if !truth.complete {
            return;
        }
        let now_ns = self.ports.clock.now_ns();
        for order_id in pending {
            // Confirmed (or closed) by the events just applied: nothing to abandon.
            let _not_pending = self.state.abandon_pending(*order_id, now_ns);
        }
        self.drain_if_idle(ctx);
    }
}

/// The book's journal after the shard's watermark, read after the book answered a barrier.
#[derive(Debug)]
struct BookTruth {
    events: Vec<BookEvent>,
    /// The whole journal was read (not cut at `REDRIVE_PAGES_MAX`).
    complete: bool,
}

async fn book_truth(
    directory: &BookDirectory,
    journal: Arc<dyn Journal>,
    symbol: SymbolCode,
    cancels: BTreeMap<AccountId, Vec<OrderId>>,
    after: u64,
) -> Result<BookTruth, String> {
    let book = directory.book(symbol.as_str()).ok_or_else(|| format!("no book trades {symbol}"))?;
    for (account_id, order_ids) in cancels {
        for order_ids in order_ids.chunks(REQUEST_CANCELS_MAX) {
            let order_ids = order_ids.to_vec();
            ask(&book, vec![BookCommand::CancelMany(CancelOrders { account_id, order_ids })])
                .await?;
        }
    }
    ask(&book, Vec::new()).await?;
    let mut events: Vec<BookEvent> = Vec::new();
    for _page in 0..REDRIVE_PAGES_MAX {
        let from = events.last().map_or(after, |event| event.seq);
        let page = journal
            .book_events_after(symbol.to_string(), from, super::CATCH_UP_PAGE_EVENTS)
            .await
            .map_err(|error| error.to_string())?;
        if page.is_empty() {
            return Ok(BookTruth { events, complete: true });
        }
        events.extend(page);
    }
    Ok(BookTruth { events, complete: false })
}

async fn ask(
    book: &Addr<crate::book::actor::SymbolBook>,
    commands: Vec<BookCommand>,
) -> Result<Vec<CommandOutcome>, String> {
    match tokio::time::timeout(REDRIVE_BOOK_TIMEOUT, book.send(SubmitCommands(commands))).await {
        Ok(Ok(Ok(outcomes))) => Ok(outcomes),
        Ok(Ok(Err(error))) => Err(error.to_string()),
        Ok(Err(mailbox)) => Err(mailbox.to_string()),
        Err(_elapsed) => Err(format!("the book did not answer in {REDRIVE_BOOK_TIMEOUT:?}")),
    }
}

impl Handler<RequestCancels> for AccountShard {
    type Result = ResponseFuture<Result<CommandOutcome, ShardError>>;

    fn handle(&mut self, request: RequestCancels, _ctx: &mut Self::Context) -> Self::Result {
        let RequestCancels { account_id, symbol, order_ids } = request;
        let count = order_ids.len();
        if count > REQUEST_CANCELS_MAX {
            let error = ShardError::TooManyOrders { count, count_max: REQUEST_CANCELS_MAX };
            return Box::pin(std::future::ready(Err(error)));
        }
        let now_ns = self.ports.clock.now_ns();
        for order_id in &order_ids {
            let open = self.state.order(*order_id).filter(|order| {
                order.account_id == account_id
                    && order.symbol == symbol
                    && !order.status.is_terminal()
            });
            if open.is_some() {
                self.track(*order_id, symbol, TransientState::Canceling, now_ns);
            }
        }
        let book = self.ports.directory.book(symbol.as_str());
        Box::pin(async move {
            let book = book.ok_or(ShardError::NoBook(symbol))?;
            let command = BookCommand::CancelMany(CancelOrders { account_id, order_ids });
            let stopping = || ShardError::Book(BookError::Stopping { symbol: symbol.to_string() });
            let mut outcomes = book
                .send(SubmitCommands(vec![command]))
                .await
                .map_err(|_mailbox| stopping())?
                .map_err(ShardError::Book)?;
            outcomes.pop().ok_or_else(stopping)
        })
    }
}

impl Handler<GetTransientCounts> for AccountShard {
    type Result = MessageResult<GetTransientCounts>;

    fn handle(&mut self, _query: GetTransientCounts, _ctx: &mut Self::Context) -> Self::Result {
        self.forget_resolved(self.ports.clock.now_ns());
        let liquidating = self.state.liquidations().count();
        let counts = TransientState::ALL.into_iter().map(|state| match state {
            TransientState::Liquidating => (state, liquidating),
            _ => (state, self.transient.count(state)),
        });
        MessageResult(counts.collect())
    }
}
