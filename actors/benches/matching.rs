//! Micro-benchmarks of the matching engine's single operations on a pre-filled book (1,000
//! resting orders over 750 price levels, 1,000 accounts, like the exchange mix):
//! place (resting), place crossing (one trade), cancel, amend keeping priority, amend moving.
//! Order ids are shaped as 16 account shards issue them (see `order_id`).
//!
//! Each benchmark times only `MatchingEngine::apply` over a batch of pre-built inputs; the
//! inputs that prepare a batch (placing the orders a cancel removes) or undo it (canceling the
//! orders a place added) run untimed, so the book stays the same size throughout.
//!
//! `cargo bench -p exchange-actors --bench matching` (about a minute; the whole-workload
//! figures come from `cargo run --release -p exchange-actors --example book_bench`).

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use exchange_actors::book::{
    BookCapacity, BookLimits, EngineOutput, MatchingEngine, ORDER_ID_SHARD_BITS,
};
use exchange_actors::model::{
    AccountId, AmendOrder, BookCommand, BookInput, CancelOrder, ClientOrderId, FeeRate,
    MarketTerms, Notional, OrderId, OrderQuantity, OrderType, PlaceOrder, Price, Qty,
    SelfTradePrevention, Side, TimeInForce,
};

const MID_TICKS: i64 = 1_000_000;
/// Price levels a side of the pre-filled book holds, two ticks apart from the touch outwards.
const LEVELS_PER_SIDE: i64 = 375;
/// Resting orders a side holds: one per level, a second one on the levels nearest the touch.
const ORDERS_PER_SIDE: u64 = 500;
const ACCOUNTS: u64 = 1_000;
/// Inputs timed together: long enough that two clock reads are noise.
const BATCH_LEN: usize = 1_000;
const BATCH: u64 = BATCH_LEN as u64;
/// Account shards issuing the benchmark's orders, each with its own counter.
const SHARDS: u64 = 16;
/// Quantity of the orders that the crossing and amend benchmarks wear down one lot at a time.
const DEEP_QTY_LOTS: u64 = 1 << 40;

fn limits() -> BookLimits {
    BookLimits {
        terms: MarketTerms {
            min_price: Price(1),
            max_price: Price(1 << 40),
            min_qty: Qty(1),
            max_qty: Qty(1 << 42),
            min_notional: Notional(1),
            max_notional: Notional(i128::MAX),
            price_band_bps: 0,
            maker_fee: FeeRate::ZERO,
            taker_fee: FeeRate::ZERO,
        },
        capacity: BookCapacity {
            orders_max: 1_000_000,
            account_orders_max: 1_000_000,
            // 4x the largest book a benchmark builds, so storage never grows.
            orders_preallocated: 8_192,
        },
    }
}

/// The order id of the `seq`-th order, as account shards issue them (`counter << 10 | shard`):
/// consecutive orders come from the 16 shards in turn, each counting up.
fn order_id(seq: u64) -> OrderId {
    OrderId(((seq / SHARDS) << ORDER_ID_SHARD_BITS) | (seq % SHARDS))
}

/// The inverse of [`order_id`].
fn seq_of(order_id: OrderId) -> u64 {
    (order_id.0 >> ORDER_ID_SHARD_BITS) * SHARDS + order_id.0 % (1 << ORDER_ID_SHARD_BITS)
}

fn limit(order_id: u64, side: Side, price_ticks: i64, qty_lots: u64) -> BookCommand {
    BookCommand::Place(PlaceOrder {
        order_id: self::order_id(order_id),
        account_id: AccountId(1 + order_id % ACCOUNTS),
        client_order_id: ClientOrderId::NONE,
        side,
        order_type: OrderType::Limit,
        time_in_force: TimeInForce::Gtc,
        price: Some(Price(price_ticks)),
        quantity: OrderQuantity::Base(Qty(qty_lots)),
        self_trade_prevention: SelfTradePrevention::None,
        reduce_only: false,
        spend_limit: None,
    })
}

fn cancel(order_id: u64) -> BookCommand {
    BookCommand::Cancel(CancelOrder {
        account_id: AccountId(1 + order_id % ACCOUNTS),
        order_id: self::order_id(order_id),
    })
}

fn amend(order_id: u64, new_price_ticks: i64, new_qty_lots: u64) -> BookCommand {
    BookCommand::Amend(AmendOrder {
        account_id: AccountId(1 + order_id % ACCOUNTS),
        order_id: self::order_id(order_id),
        new_price: Price(new_price_ticks),
        new_qty: Qty(new_qty_lots),
    })
}

/// The pre-filled bid level `depth` levels behind the best bid (wrapping within the book).
/// Levels are two ticks apart, so the tick below each is free for a new level.
fn bid_price(depth: u64) -> i64 {
    MID_TICKS - 1 - 2 * (i64::try_from(depth).expect("small") % LEVELS_PER_SIDE)
}

/// The pre-filled ask level `depth` levels behind the deep best ask.
fn ask_price(depth: u64) -> i64 {
    MID_TICKS + 2 + 2 * (i64::try_from(depth).expect("small") % LEVELS_PER_SIDE)
}

/// An engine with the pre-filled book, and the inputs that go to it.
struct Book {
    engine: MatchingEngine,
    out: EngineOutput,
    last_input_seq: u64,
    last_order_id: u64,
    /// Reused for each batch of inputs.
    batch: Vec<BookInput>,
}

impl Book {
    /// 500 bids and 500 asks over 375 levels a side; the best ask is one deep order, so a
    /// crossing buy of one lot always trades with it and never empties the level.
    fn prefilled() -> Book {
        let mut book = Book {
            engine: MatchingEngine::new(limits()),
            out: EngineOutput::with_capacity(1_024),
            last_input_seq: 0,
            last_order_id: 0,
            batch: Vec::with_capacity(BATCH_LEN),
        };
        let best_ask = book.next_order_id();
        book.apply_now(limit(best_ask, Side::Sell, MID_TICKS + 1, DEEP_QTY_LOTS));
        for depth in 0..ORDERS_PER_SIDE {
            let (bid, ask) = (book.next_order_id(), book.next_order_id());
            book.apply_now(limit(bid, Side::Buy, bid_price(depth), 100));
            book.apply_now(limit(ask, Side::Sell, ask_price(depth), 100));
        }
        book
    }

    fn next_order_id(&mut self) -> u64 {
        self.last_order_id += 1;
        self.last_order_id
    }

    fn input(&mut self, command: BookCommand) -> BookInput {
        self.last_input_seq += 1;
        BookInput { input_seq: self.last_input_seq, ts_ns: self.last_input_seq, command }
    }

    /// Applies one input untimed.
    fn apply_now(&mut self, command: BookCommand) {
        let input = self.input(command);
        self.engine.apply(&input, &mut self.out).expect("benchmark inputs are valid");
        self.out.clear();
    }

    /// Builds a batch of inputs (untimed), one per item.
    fn prepare(&mut self, commands: impl IntoIterator<Item = BookCommand>) {
        let mut batch = std::mem::take(&mut self.batch);
        batch.clear();
        batch.extend(commands.into_iter().map(|command| self.input(command)));
        self.batch = batch;
    }

    /// Applies the prepared batch and returns how long that took. A refused input would
    /// measure the refusal path instead, so any refusal stops the benchmark (checked untimed).
    fn run_batch(&mut self) -> Duration {
        let mut refused = 0_u32;
        let start = Instant::now();
        for input in &self.batch {
            refused += u32::from(self.engine.apply(input, &mut self.out).is_err());
            black_box(&self.out);
            self.out.clear();
        }
        let elapsed = start.elapsed();
        assert_eq!(refused, 0, "benchmark inputs must all be accepted");
        elapsed
    }
}

/// Runs `iters` timed operations in batches: `timed(book, count)` makes a batch's commands and
/// `undo(book, commands)` restores the book after it, both untimed.
fn batched(
    book: &mut Book,
    iters: u64,
    mut timed: impl FnMut(&mut Book, u64) -> Vec<BookCommand>,
    mut undo: impl FnMut(&mut Book, &[BookCommand]),
) -> Duration {
    let mut total = Duration::ZERO;
    let mut done = 0;
    while done < iters {
        let count = BATCH.min(iters - done);
        let commands = timed(book, count);
        book.prepare(commands.iter().cloned());
        total += book.run_batch();
        undo(book, &commands);
        done += count;
    }
    total
}

/// The order ids a batch of places used (to cancel them afterwards).
fn placed_ids(commands: &[BookCommand]) -> impl Iterator<Item = u64> + '_ {
    commands.iter().filter_map(|command| match command {
        BookCommand::Place(order) => Some(seq_of(order.order_id)),
        _ => None,
    })
}

fn place_resting(c: &mut Criterion) {
    let mut book = Book::prefilled();
    c.bench_function("place_resting", |b| {
        b.iter_custom(|iters| {
            let new_bids = |book: &mut Book, count: u64| {
                (0..count)
                    .map(|i| limit(book.next_order_id(), Side::Buy, bid_price(i), 100))
                    .collect()
            };
            let cancel_them = |book: &mut Book, commands: &[BookCommand]| {
                placed_ids(commands).for_each(|id| book.apply_now(cancel(id)));
            };
            batched(&mut book, iters, new_bids, cancel_them)
        });
    });
}

fn place_crossing(c: &mut Criterion) {
    let mut book = Book::prefilled();
    c.bench_function("place_crossing_one_trade", |b| {
        b.iter_custom(|iters| {
            // Buys of one lot at the best ask: each fills at once against the deep order.
            let takers = |book: &mut Book, count: u64| {
                (0..count)
                    .map(|_| limit(book.next_order_id(), Side::Buy, MID_TICKS + 1, 1))
                    .collect()
            };
            batched(&mut book, iters, takers, |_, _| {})
        });
    });
}

fn cancel_resting(c: &mut Criterion) {
    let mut book = Book::prefilled();
    c.bench_function("cancel", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut done = 0;
            while done < iters {
                let count = BATCH.min(iters - done);
                let first = book.last_order_id + 1;
                for depth in 0..count {
                    let order_id = book.next_order_id();
                    book.apply_now(limit(order_id, Side::Buy, bid_price(depth), 100));
                }
                book.prepare((first..first + count).map(cancel));
                total += book.run_batch();
                done += count;
            }
            total
        });
    });
}

fn amend_keep_priority(c: &mut Criterion) {
    let mut book = Book::prefilled();
    // (order id, price, open quantity) of deep orders, lowered one lot per amend in turn.
    let mut deep: Vec<(u64, i64, u64)> = (0..BATCH)
        .map(|depth| {
            let order_id = book.next_order_id();
            book.apply_now(limit(order_id, Side::Buy, bid_price(depth), DEEP_QTY_LOTS));
            (order_id, bid_price(depth), DEEP_QTY_LOTS)
        })
        .collect();
    let mut cursor = 0;
    c.bench_function("amend_keep_priority", |b| {
        b.iter_custom(|iters| {
            let reduce = |_: &mut Book, count: u64| {
                (0..count)
                    .map(|_| {
                        let (order_id, price, qty) = &mut deep[cursor];
                        cursor = (cursor + 1) % BATCH_LEN;
                        *qty -= 1;
                        amend(*order_id, *price, *qty)
                    })
                    .collect()
            };
            batched(&mut book, iters, reduce, |_, _| {})
        });
    });
}

fn amend_move(c: &mut Criterion) {
    let mut book = Book::prefilled();
    // (order id, own price, shared price, is on own) of movers that alternate between a
    // pre-filled level (shared) and the free tick just behind it (own), at every depth of the
    // book: half the moves empty a level and join one, half leave one and create a level.
    let mut movers: Vec<(u64, i64, i64, bool)> = (0..BATCH)
        .map(|depth| {
            let order_id = book.next_order_id();
            let own = bid_price(depth) - 1;
            book.apply_now(limit(order_id, Side::Buy, own, 100));
            (order_id, own, bid_price(depth), true)
        })
        .collect();
    let mut cursor = 0;
    c.bench_function("amend_move", |b| {
        b.iter_custom(|iters| {
            let moves = |_: &mut Book, count: u64| {
                (0..count)
                    .map(|_| {
                        let (order_id, own, shared, is_on_own) = &mut movers[cursor];
                        cursor = (cursor + 1) % BATCH_LEN;
                        *is_on_own = !*is_on_own;
                        amend(*order_id, if *is_on_own { *own } else { *shared }, 100)
                    })
                    .collect()
            };
            batched(&mut book, iters, moves, |_, _| {})
        });
    });
}

fn config() -> Criterion {
    Criterion::default()
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1))
}

criterion_group! {
    name = benches;
    config = config();
    targets = place_resting, place_crossing, cancel_resting, amend_keep_priority, amend_move
}
criterion_main!(benches);
