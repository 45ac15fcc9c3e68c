//! Model-based property test of the matching engine.
//!
//! Random sequences of up to 200 commands (every command kind, 5 accounts, prices that cross
//! often, reused and unknown ids, a price band) go to the real `MatchingEngine` and to the naive
//! `ReferenceBook` in `reference/`. After every command both must agree exactly: the result, every
//! event (LevelChanged included), bulk-cancel failures, the resting orders with their queue
//! priority, best bid/ask, depth and per-account order lists.
//!
//! The engine is also checked on its own, without the reference, after every command: the book
//! is not crossed; event sequence numbers are contiguous; every trade is at the resting order's
//! price, inside the taker's limit and the price band, and same-price makers fill in priority
//! order; for every order, filled + open + canceled + expired equals its original quantity (an
//! amend down counts as canceled, an amend up adds to the original); a refusal changes nothing.
//!
//! The engine's price ladders index a window of 16, 32 or 65,536 ticks (the default), so the
//! small windows' re-placement and the levels beyond them are compared too.
//!
//! Cases: 10,000 by default; `PROPTEST_CASES` overrides.

mod reference;
mod scenario;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use exchange_actors::book::{BookCapacity, BookLimits, BookSnapshot, EngineOutput, MatchingEngine};
use exchange_actors::model::{
    AccountId, AmendOrder, BookCommand, BookEvent, BookInput, ClientOrderId, EventKind,
    ExpireReason, FeeRate, MarketTerms, Notional, OrderId, OrderQuantity, OrderType, PlaceOrder,
    Price, Qty, RejectReason, SelfTradePrevention, Side, SpendLimit, TimeInForce, TradeExecuted,
};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{FileFailurePersistence, RngAlgorithm, TestCaseError, TestRunner};
use reference::{Applied, ReferenceBook};
use scenario::{ACCOUNTS, Resolver, Step, limits_strategy, steps_strategy};

/// The acceptance floor: at least this many random scenarios per run.
const CASES_DEFAULT: u32 = 10_000;

const STEPS_MAX: usize = 200;

fn config() -> ProptestConfig {
    let defaults = ProptestConfig::default();
    // `ProptestConfig::default()` already read PROPTEST_CASES; without it, use our floor.
    let cases =
        if std::env::var_os("PROPTEST_CASES").is_some() { defaults.cases } else { CASES_DEFAULT };
    // Generating a scenario forks and clones the RNG at every `prop_oneof!`; ChaCha makes that
    // most of the run time in a debug build, XorShift is plenty random for picking commands.
    // Tests run with the package as working directory: failing seeds go to
    // actors/proptest-regressions/ (commit it), and are replayed first on the next run.
    let regressions = FileFailurePersistence::Direct("proptest-regressions/model_based.txt");
    ProptestConfig {
        cases,
        rng_algorithm: RngAlgorithm::XorShift,
        failure_persistence: Some(Box::new(regressions)),
        ..defaults
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn engine_agrees_with_reference_book(
        limits in limits_strategy(),
        steps in steps_strategy(STEPS_MAX),
        ladder_window in prop::sample::select(vec![16usize, 32, 65_536]),
    ) {
        run_scenario(limits, ladder_window, &steps)?;
    }
}

/// `ladder_window`: ticks the engine's price ladders index. Prices span 88..=112, so windows of
/// 16 and 32 ticks keep levels outside the window and move it often; 65,536 is the default.
fn run_scenario(
    limits: BookLimits,
    ladder_window: usize,
    steps: &[Step],
) -> Result<(), TestCaseError> {
    let mut engine = MatchingEngine::with_ladder_window(limits, ladder_window);
    let mut reference = ReferenceBook::new(limits);
    let mut resolver = Resolver::default();
    let mut tallies = Tallies::default();
    let mut out = EngineOutput::default();
    let mut log = Vec::with_capacity(steps.len());
    for step in steps {
        let input = resolver.input(step, reference.resting(), reference.last_input_seq());
        log.push(input.clone());
        let before = engine.snapshot();
        out.clear();
        let actual = engine.apply(&input, &mut out);
        let expected = reference.apply(&input);
        let step_check = compare_with_reference(&engine, &reference, actual, &out, &expected)
            .and_then(|()| check_engine_alone(&engine, &before, &input, actual, &out.events))
            .and_then(|()| tallies.record(&out.events, &engine));
        if let Err(message) = step_check {
            return Err(TestCaseError::fail(format!("{message}\n{}", render_log(&log))));
        }
    }
    Ok(())
}

/// The inputs so far, one a line, for a failure message (proptest shrinks the steps, so this is
/// the minimal reproducing log).
fn render_log(log: &[BookInput]) -> String {
    let lines: Vec<String> =
        log.iter().map(|input| format!("  #{} {:?}", input.input_seq, input.command)).collect();
    format!("inputs applied (the last one failed):\n{}", lines.join("\n"))
}

/// `Err` with a message naming what differs.
macro_rules! ensure_eq {
    ($actual:expr, $expected:expr, $what:expr) => {{
        let (actual, expected) = (&$actual, &$expected);
        if actual != expected {
            return Err(format!(
                "{} differs\n  engine:   {:?}\n  expected: {:?}",
                $what, actual, expected
            ));
        }
    }};
}

macro_rules! ensure {
    ($condition:expr, $($message:tt)+) => {{
        if !$condition {
            return Err(format!($($message)+));
        }
    }};
}

fn compare_with_reference(
    engine: &MatchingEngine,
    reference: &ReferenceBook,
    actual: Result<(), RejectReason>,
    out: &EngineOutput,
    expected: &Applied,
) -> Result<(), String> {
    ensure_eq!(actual, expected.result, "result");
    ensure_eq!(out.events, expected.events, "events");
    ensure_eq!(out.cancel_failures, expected.cancel_failures, "bulk-cancel failures");
    // Resting orders with their priority, sequence numbers, reference price.
    ensure_eq!(engine.snapshot(), reference.snapshot(), "snapshot");
    ensure_eq!(engine.best_bid(), reference.best(Side::Buy), "best bid");
    ensure_eq!(engine.best_ask(), reference.best(Side::Sell), "best ask");
    let depth = reference.depth();
    ensure_eq!(engine.depth(usize::MAX), depth, "depth");
    ensure_eq!(engine.level_count(Side::Buy), depth.bids.len(), "bid level count");
    ensure_eq!(engine.level_count(Side::Sell), depth.asks.len(), "ask level count");
    ensure_eq!(engine.open_order_count() as usize, reference.resting().len(), "open orders");
    for order in reference.resting() {
        ensure_eq!(engine.order(order.order_id), Some(*order), "order lookup");
    }
    for account in 1..=ACCOUNTS {
        let account_id = AccountId(account);
        let mine: Vec<_> =
            reference.resting().iter().filter(|order| order.account_id == account_id).collect();
        let engine_mine: Vec<_> = engine.account_orders(account_id).collect();
        ensure_eq!(engine_mine.iter().collect::<Vec<_>>(), mine, "account orders");
        ensure_eq!(engine.account_open_order_count(account_id) as usize, mine.len(), "count");
    }
    Ok(())
}

/// Invariants of one applied command that need no reference book.
fn check_engine_alone(
    engine: &MatchingEngine,
    before: &BookSnapshot,
    input: &BookInput,
    result: Result<(), RejectReason>,
    events: &[BookEvent],
) -> Result<(), String> {
    if let (Some((bid, _)), Some((ask, _))) = (engine.best_bid(), engine.best_ask()) {
        ensure!(bid < ask, "book crossed: bid {bid:?} >= ask {ask:?}");
    }
    for (offset, event) in (1u64..).zip(events) {
        ensure!(event.seq == before.last_event_seq + offset, "event seq gap at {event:?}");
        ensure!(event.ts_ns == input.ts_ns, "event not stamped with the input time: {event:?}");
    }
    ensure_eq!(engine.last_event_seq(), before.last_event_seq + events.len() as u64, "event seq");
    if let Err(reason) = result {
        check_refusal(engine, before, input, reason, events)?;
    }
    let trades: Vec<&TradeExecuted> = events
        .iter()
        .filter_map(|event| match &event.kind {
            EventKind::Traded(trade) => Some(trade),
            _ => None,
        })
        .collect();
    check_trades(engine, before, &input.command, &trades)
}

/// A refused input changes nothing but the input sequence (and a refused place emits exactly
/// one `Rejected` event with the same reason).
fn check_refusal(
    engine: &MatchingEngine,
    before: &BookSnapshot,
    input: &BookInput,
    reason: RejectReason,
    events: &[BookEvent],
) -> Result<(), String> {
    let mut unchanged = before.clone();
    unchanged.last_event_seq += events.len() as u64;
    if reason != RejectReason::InputOutOfSequence {
        unchanged.last_input_seq = input.input_seq;
    }
    ensure_eq!(engine.snapshot(), unchanged, "state after a refusal");
    match (&input.command, events) {
        (BookCommand::Place(_), [event]) => {
            let EventKind::Rejected(rejected) = event.kind else {
                return Err(format!("a refused place emitted {event:?}"));
            };
            ensure!(rejected.reason == reason, "Rejected {rejected:?} but result {reason:?}");
        }
        (BookCommand::Place(_), _) if reason != RejectReason::InputOutOfSequence => {
            return Err(format!("a refused place must emit one Rejected, got {events:?}"));
        }
        (_, []) => {}
        (_, _) => return Err(format!("a refusal emitted {events:?}")),
    }
    Ok(())
}

/// Trades are at the resting order's price (as it was before the command), inside the taker's
/// limit and the band, and at one price the makers fill in priority order.
fn check_trades(
    engine: &MatchingEngine,
    before: &BookSnapshot,
    command: &BookCommand,
    trades: &[&TradeExecuted],
) -> Result<(), String> {
    let (limit, band) = match command {
        BookCommand::Place(order) => {
            (order.price, band_of(engine, before, order.side, order.price))
        }
        BookCommand::Amend(amend) => {
            let old_price = before.orders.iter().find(|o| o.order_id == amend.order_id);
            let moved = old_price.is_some_and(|order| order.price != amend.new_price);
            let side = old_price.map_or(Side::Buy, |order| order.side);
            let band =
                if moved { band_of(engine, before, side, Some(amend.new_price)) } else { None };
            (Some(amend.new_price), band)
        }
        _ => {
            ensure!(trades.is_empty(), "{command:?} traded: {trades:?}");
            return Ok(());
        }
    };
    for trade in trades {
        let maker = before.orders.iter().find(|order| order.order_id == trade.maker_order_id);
        let Some(maker) = maker else {
            return Err(format!("trade with an order that was not resting: {trade:?}"));
        };
        ensure!(trade.price == maker.price, "trade not at the maker's price: {trade:?}");
        ensure!(maker.side != trade.taker_side, "maker on the taker's side: {trade:?}");
        let inside_limit = limit.is_none_or(|limit| match trade.taker_side {
            Side::Buy => trade.price <= limit,
            Side::Sell => trade.price >= limit,
        });
        ensure!(inside_limit, "trade beyond the taker's limit {limit:?}: {trade:?}");
        let inside_band = band.is_none_or(|(low, high)| low <= trade.price && trade.price <= high);
        ensure!(inside_band, "trade outside the band {band:?}: {trade:?}");
        // Every order ahead of this maker in its queue must be gone (filled or STP-expired).
        let skipped = before.orders.iter().find(|order| {
            order.side == maker.side
                && order.price == maker.price
                && order.priority_seq < maker.priority_seq
                && engine.order(order.order_id).is_some()
        });
        ensure!(skipped.is_none(), "{trade:?} jumped the queue ahead of {skipped:?}");
    }
    Ok(())
}

/// The band a taker on `side` is held to, computed from the state before the command: around
/// the reference price or, for a market order on a book without one, the best opposite price.
fn band_of(
    engine: &MatchingEngine,
    before: &BookSnapshot,
    side: Side,
    limit: Option<Price>,
) -> Option<(Price, Price)> {
    let opposite = before.orders.iter().filter(|order| order.side != side).map(|order| order.price);
    let best_opposite = match side {
        Side::Buy => opposite.min(),
        Side::Sell => opposite.max(),
    };
    let reference = match limit {
        Some(_) => before.reference_price,
        None => before.reference_price.or(best_opposite),
    }?;
    let bps = i64::from(engine.limits().terms.price_band_bps);
    let width = reference.0 * bps / 10_000;
    (bps > 0).then_some((Price(reference.0 - width), Price(reference.0 + width)))
}

/// Where each order's quantity went, from the events alone.
#[derive(Clone, Copy, Debug, Default)]
struct Tally {
    /// Base lots asked for (amends up add to it); 0 for an order by quote amount.
    original: u64,
    filled: u64,
    canceled: u64,
    expired: u64,
    /// An order by quote amount: its budget, what it spent and what it reported unspent.
    quote_budget: Option<i128>,
    quote_spent: i128,
    quote_left: i128,
}

/// Tallies of the orders that are live (resting, or taking in the current command). A hash
/// map is fine here: it is only looked up, never iterated into anything ordered.
#[derive(Debug, Default)]
struct Tallies {
    orders: HashMap<OrderId, Tally>,
}

impl Tallies {
    /// Books one command's events, then checks every order they touched: filled + open +
    /// canceled + expired = original (or spent + unspent = budget for an order by quote).
    fn record(&mut self, events: &[BookEvent], engine: &MatchingEngine) -> Result<(), String> {
        let mut touched = HashSet::new();
        for event in events {
            if let Some(order_id) = self.book_event(&event.kind)? {
                touched.insert(order_id);
            }
            if let EventKind::Traded(trade) = &event.kind {
                touched.insert(trade.maker_order_id);
            }
        }
        for order_id in touched {
            let tally = self.orders[&order_id];
            let open = engine.order(order_id).map_or(0, |order| order.open_qty.0);
            if let Some(budget) = tally.quote_budget {
                ensure!(open == 0, "order {order_id:?} by quote amount rests");
                let accounted = tally.quote_spent + tally.quote_left;
                ensure!(accounted == budget, "{order_id:?}: spent+left != budget: {tally:?}");
            } else {
                let accounted = tally.filled + open + tally.canceled + tally.expired;
                ensure!(accounted == tally.original, "{order_id:?} open {open}: {tally:?}");
            }
            if open == 0 {
                self.orders.remove(&order_id);
            }
        }
        for order in engine.snapshot().orders {
            ensure!(self.orders.contains_key(&order.order_id), "{order:?} rests unaccounted");
        }
        Ok(())
    }

    /// Applies one event; returns the order it concerns (the taker, for a trade).
    fn book_event(&mut self, kind: &EventKind) -> Result<Option<OrderId>, String> {
        let order_id = match kind {
            EventKind::Accepted(accepted) => {
                let fresh = match accepted.quantity {
                    OrderQuantity::Base(qty) => Tally { original: qty.0, ..Tally::default() },
                    OrderQuantity::Quote(amount) => {
                        Tally { quote_budget: Some(amount.0), ..Tally::default() }
                    }
                };
                let previous = self.orders.insert(accepted.order_id, fresh);
                ensure!(previous.is_none(), "{accepted:?} while that id is live: {previous:?}");
                return Ok(Some(accepted.order_id));
            }
            EventKind::Traded(trade) => {
                self.live(trade.maker_order_id)?.filled += trade.qty.0;
                let taker = self.live(trade.taker_order_id)?;
                match taker.quote_budget {
                    Some(_) => taker.quote_spent += Notional::of(trade.price, trade.qty).0,
                    None => taker.filled += trade.qty.0,
                }
                trade.taker_order_id
            }
            EventKind::Canceled(canceled) => {
                self.live(canceled.order_id)?.canceled += canceled.canceled_qty.0;
                canceled.order_id
            }
            EventKind::Expired(expired) => {
                let tally = self.live(expired.order_id)?;
                tally.expired += expired.expired_qty.0;
                tally.quote_left += expired.remaining_quote.0;
                expired.order_id
            }
            EventKind::Amended(amended) => {
                let tally = self.live(amended.order_id)?;
                // Down: the difference is canceled. Up: the order asks for more than before.
                match amended.new_qty.0.checked_sub(amended.old_qty.0) {
                    Some(increase) => tally.original += increase,
                    None => tally.canceled += amended.old_qty.0 - amended.new_qty.0,
                }
                amended.order_id
            }
            EventKind::Rejected(_) | EventKind::LevelChanged(_) => return Ok(None),
        };
        Ok(Some(order_id))
    }

    fn live(&mut self, order_id: OrderId) -> Result<&mut Tally, String> {
        self.orders
            .get_mut(&order_id)
            .ok_or_else(|| format!("event for unknown order {order_id:?}"))
    }
}

/// The scenarios must reach every path the comparison is meant to cover, or the property test
/// above could pass by never exercising one. Deterministic: a fixed seed, 300 scenarios.
#[test]
fn scenarios_reach_every_outcome() {
    let mut runner = TestRunner::deterministic();
    let mut seen = BTreeSet::new();
    for _ in 0..300 {
        let limits = limits_strategy().new_tree(&mut runner).expect("limits").current();
        let steps = steps_strategy(STEPS_MAX).new_tree(&mut runner).expect("steps").current();
        let mut engine = MatchingEngine::new(limits);
        let mut resolver = Resolver::default();
        let mut out = EngineOutput::default();
        for step in &steps {
            let input = resolver.input(step, &engine.snapshot().orders, engine.last_input_seq());
            out.clear();
            let result = engine.apply(&input, &mut out);
            label_outcome(&input.command, result, &out, &engine, &mut seen);
        }
    }
    let missing: Vec<&str> =
        REQUIRED_OUTCOMES.iter().copied().filter(|label| !seen.contains(*label)).collect();
    assert!(missing.is_empty(), "never reached: {missing:?}\nreached: {seen:#?}");
}

const REQUIRED_OUTCOMES: &[&str] = &[
    "place Limit Gtc Ok(())",
    "place Limit Ioc Ok(())",
    "place Limit Fok Ok(())",
    "place LimitMaker Gtc Ok(())",
    "place Market Ioc Ok(())",
    "place Market Fok Ok(())",
    "place Market Ioc by quote Ok(())",
    "place Market Ioc by quote traded",
    "place Market Fok traded",
    "place Limit Fok traded",
    "place traded at 2+ levels",
    "place traded 2+ makers at one level",
    "place Err(PriceOutOfRange)",
    "place Err(QtyBelowMin)",
    "place Err(QtyAboveMax)",
    "place Err(NotionalBelowMin)",
    "place Err(NotionalAboveMax)",
    "place Err(OutsidePriceBand)",
    "place Err(PostOnlyWouldTake)",
    "place Err(DuplicateOrderId)",
    "place Err(ZeroQuantity)",
    "place Err(MissingPrice)",
    "place Err(UnexpectedPrice)",
    "place Err(InvalidTimeInForce)",
    "place Err(QuoteQuantityNotAllowed)",
    "place Err(InvalidSpendLimit)",
    "spend limit stopped a market order",
    "spend limit stopped a market order before any trade",
    "place Err(BookFull)",
    "place Err(TooManyOpenOrders)",
    "stp ExpireTaker acted",
    "stp ExpireMaker acted",
    "stp ExpireBoth acted",
    "self-trade allowed (stp None)",
    "expired ImmediateOrCancel",
    "expired PriceBand",
    "expired SelfTradePrevention",
    "cancel Ok(())",
    "cancel Err(UnknownOrder)",
    "cancel Err(NotOwner)",
    "cancel many failure UnknownOrder",
    "cancel many failure NotOwner",
    "cancel many canceled",
    "cancel all canceled",
    "amend kept priority",
    "amend moved",
    "amend moved and traded",
    "amend Err(UnknownOrder)",
    "amend Err(NotOwner)",
    "amend Err(OutsidePriceBand)",
    "amend Err(PostOnlyWouldTake)",
    "amend Err(ZeroQuantity)",
    "amend Err(NotionalBelowMin)",
    "reference Ok(())",
    "reference Err(PriceOutOfRange)",
    "any Err(InputOutOfSequence)",
];

/// Names what one command did, in the terms of `REQUIRED_OUTCOMES`.
fn label_outcome(
    command: &BookCommand,
    result: Result<(), RejectReason>,
    out: &EngineOutput,
    engine: &MatchingEngine,
    seen: &mut BTreeSet<String>,
) {
    if result == Err(RejectReason::InputOutOfSequence) {
        seen.insert("any Err(InputOutOfSequence)".into());
        return;
    }
    let traded = out.events.iter().any(|event| matches!(event.kind, EventKind::Traded(_)));
    let kind = match command {
        BookCommand::Place(order) => {
            label_place(order, result, out, seen);
            label_spend_limit(order, out, engine, seen);
            "place"
        }
        BookCommand::Cancel(_) => "cancel",
        BookCommand::CancelMany(_) => "cancel many",
        BookCommand::CancelAll(_) => "cancel all",
        BookCommand::Amend(_) => "amend",
        BookCommand::SetReferencePrice(_) => "reference",
        BookCommand::SetTerms(_) => "terms",
    };
    seen.insert(format!("{kind} {result:?}"));
    for (_, reason) in &out.cancel_failures {
        seen.insert(format!("{kind} failure {reason:?}"));
    }
    for event in &out.events {
        match &event.kind {
            EventKind::Canceled(_) => {
                seen.insert(format!("{kind} canceled"));
            }
            EventKind::Expired(expired) => {
                seen.insert(format!("expired {:?}", expired.reason));
            }
            EventKind::Amended(amended) if amended.kept_priority => {
                seen.insert("amend kept priority".into());
            }
            EventKind::Amended(_) => {
                seen.insert(if traded { "amend moved and traded" } else { "amend moved" }.into());
            }
            _ => {}
        }
    }
}

fn label_place(
    order: &PlaceOrder,
    result: Result<(), RejectReason>,
    out: &EngineOutput,
    seen: &mut BTreeSet<String>,
) {
    let by_quote = if matches!(order.quantity, OrderQuantity::Quote(_)) { " by quote" } else { "" };
    let shape = format!("{:?} {:?}{by_quote}", order.order_type, order.time_in_force);
    seen.insert(format!("place {shape} {result:?}"));
    let mut makers_at = BTreeMap::<Price, u32>::new();
    for event in &out.events {
        match &event.kind {
            EventKind::Traded(trade) => {
                seen.insert(format!("place {shape} traded"));
                *makers_at.entry(trade.price).or_default() += 1;
                if trade.maker_account_id == trade.taker_account_id {
                    seen.insert("self-trade allowed (stp None)".into());
                }
            }
            EventKind::Expired(expired) if expired.reason == ExpireReason::SelfTradePrevention => {
                seen.insert(format!("stp {:?} acted", order.self_trade_prevention));
            }
            _ => {}
        }
    }
    if makers_at.len() >= 2 {
        seen.insert("place traded at 2+ levels".into());
    }
    if makers_at.values().any(|&makers| makers >= 2) {
        seen.insert("place traded 2+ makers at one level".into());
    }
}

/// A market order that expired with its spend limit unable to afford one lot of the best
/// opposite level still in the book (so the limit, not the liquidity, stopped it).
fn label_spend_limit(
    order: &PlaceOrder,
    out: &EngineOutput,
    engine: &MatchingEngine,
    seen: &mut BTreeSet<String>,
) {
    let (OrderType::Market, Some(limit)) = (order.order_type, order.spend_limit) else {
        return;
    };
    let expired = out.events.iter().any(|event| {
        matches!(event.kind, EventKind::Expired(expired)
            if expired.order_id == order.order_id
                && expired.reason == ExpireReason::ImmediateOrCancel)
    });
    let trades: Vec<&TradeExecuted> = out
        .events
        .iter()
        .filter_map(|event| match &event.kind {
            EventKind::Traded(trade) => Some(trade),
            _ => None,
        })
        .collect();
    let best_opposite = match order.side {
        Side::Buy => engine.best_ask(),
        Side::Sell => engine.best_bid(),
    };
    let Some((price, _)) = best_opposite.filter(|_| expired) else {
        return;
    };
    let unaffordable = match limit {
        SpendLimit::Quote(amount) => {
            let spent: i128 =
                trades.iter().map(|trade| Notional::of(trade.price, trade.qty).0).sum();
            amount.0 - spent < i128::from(price.0)
        }
        SpendLimit::Base(lots) => lots.0 == trades.iter().map(|trade| trade.qty.0).sum::<u64>(),
    };
    if unaffordable {
        seen.insert("spend limit stopped a market order".into());
        if trades.is_empty() {
            seen.insert("spend limit stopped a market order before any trade".into());
        }
    }
}

/// Regression (found by the property test above): an amend was checked for notional before
/// price, so an amend to price 0 was refused as ZeroQuantity and one outside the band with a
/// small notional as NotionalBelowMin, where a place at that price says PriceOutOfRange /
/// OutsidePriceBand.
#[test]
fn amend_refuses_a_bad_price_like_place_does() {
    let limits = BookLimits {
        terms: MarketTerms {
            min_price: Price(1),
            max_price: Price(1_000),
            min_qty: Qty(1),
            max_qty: Qty(50),
            min_notional: Notional(150),
            max_notional: Notional(4_000),
            price_band_bps: 500,
            maker_fee: FeeRate::ZERO,
            taker_fee: FeeRate::ZERO,
        },
        capacity: BookCapacity::default(),
    };
    let place = |order_id, price| {
        BookCommand::Place(PlaceOrder {
            order_id: OrderId(order_id),
            account_id: AccountId(1),
            client_order_id: ClientOrderId::NONE,
            side: Side::Buy,
            order_type: OrderType::Limit,
            time_in_force: TimeInForce::Gtc,
            price: Some(Price(price)),
            quantity: OrderQuantity::Base(Qty(2)),
            self_trade_prevention: SelfTradePrevention::None,
            reduce_only: false,
            spend_limit: None,
        })
    };
    let amend = |new_price| {
        let order_id = OrderId(1);
        let new_qty = Qty(1);
        BookCommand::Amend(AmendOrder { account_id: AccountId(1), order_id, new_price, new_qty })
    };
    let commands = [
        (place(1, 100), Ok(())),
        (place(2, 0), Err(RejectReason::PriceOutOfRange)),
        (amend(Price(0)), Err(RejectReason::PriceOutOfRange)),
        (BookCommand::SetReferencePrice(Price(103)), Ok(())),
        // The band is 98..=108; 97 x 1 is also below the minimum notional.
        (place(3, 97), Err(RejectReason::OutsidePriceBand)),
        (amend(Price(97)), Err(RejectReason::OutsidePriceBand)),
    ];
    let mut engine = MatchingEngine::new(limits);
    let mut out = EngineOutput::default();
    for (input_seq, (command, expected)) in (1..).zip(commands) {
        let input = BookInput { input_seq, ts_ns: input_seq, command };
        assert_eq!(engine.apply(&input, &mut out), expected, "{input:?}");
    }
}
