//! The matching hot path does not allocate in the steady state: once the book's storage has
//! reached its high-water mark, placing, matching, canceling and amending allocate nothing.
//!
//! A counting global allocator (this test binary only) counts allocations made by the test's
//! own thread while counting is switched on.

#![allow(unsafe_code, reason = "a global allocator is unsafe by definition; it only counts")]
#![allow(clippy::cast_possible_truncation, reason = "random indices are far below any limit")]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use exchange_actors::book::{BookCapacity, BookLimits, EngineOutput, MatchingEngine};
use exchange_actors::model::{
    AccountId, AmendOrder, BookCommand, BookInput, CancelOrder, ClientOrderId, FeeRate,
    MarketTerms, Notional, OrderId, OrderQuantity, OrderType, PlaceOrder, Price, Qty,
    SelfTradePrevention, Side, TimeInForce,
};

struct CountingAllocator;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn note_allocation() {
    // `try_with`: thread-locals may be gone while a thread shuts down.
    let _ = COUNTING.try_with(|counting| {
        if counting.get() {
            ALLOCATIONS.with(|count| count.set(count.get() + 1));
        }
    });
}

unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note_allocation();
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        unsafe { System.dealloc(pointer, layout) }
    }

    unsafe fn realloc(&self, pointer: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note_allocation();
        unsafe { System.realloc(pointer, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// Allocations made by this thread while running `work`.
fn allocations_during(work: impl FnOnce()) -> u64 {
    ALLOCATIONS.with(|count| count.set(0));
    COUNTING.with(|counting| counting.set(true));
    work();
    COUNTING.with(|counting| counting.set(false));
    ALLOCATIONS.with(Cell::get)
}

/// A deterministic mixed workload: limit GTC/IOC/FOK, market, post-only, STP, cancels and
/// amends over 50 accounts, keeping at most `LIVE_MAX` orders of its own alive.
struct Workload {
    state: u64,
    next_order_id: u64,
    input_seq: u64,
    live: Vec<(OrderId, AccountId)>,
}

const LIVE_MAX: usize = 2_000;

impl Workload {
    fn random(&mut self, bound: u64) -> u64 {
        // 64-bit LCG (Knuth's MMIX constants): deterministic and allocation-free.
        self.state = self
            .state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.state >> 33) % bound
    }

    fn next_input(&mut self, engine: &MatchingEngine) -> BookInput {
        let roll = self.random(100);
        let command = match self.pick_live(engine) {
            Some((position, order_id, account_id)) if roll < 15 || self.live.len() >= LIVE_MAX => {
                self.live.swap_remove(position);
                BookCommand::Cancel(CancelOrder { account_id, order_id })
            }
            Some((_, order_id, account_id)) if roll < 45 => {
                let new_price = Price(990 + self.random(21) as i64);
                let new_qty = Qty(1 + self.random(10));
                BookCommand::Amend(AmendOrder { account_id, order_id, new_price, new_qty })
            }
            _ => self.place(roll),
        };
        self.input_seq += 1;
        BookInput { input_seq: self.input_seq, ts_ns: self.input_seq * 1_000, command }
    }

    /// A random order of ours that still rests (forgetting the filled or expired ones met).
    fn pick_live(&mut self, engine: &MatchingEngine) -> Option<(usize, OrderId, AccountId)> {
        while !self.live.is_empty() {
            let position = self.random(self.live.len() as u64) as usize;
            let (order_id, account_id) = self.live[position];
            if engine.order(order_id).is_some() {
                return Some((position, order_id, account_id));
            }
            self.live.swap_remove(position);
        }
        None
    }

    fn place(&mut self, roll: u64) -> BookCommand {
        self.next_order_id += 1;
        let order_id = OrderId(self.next_order_id);
        let account_id = AccountId(1 + self.random(50));
        let side = if self.random(2) == 0 { Side::Buy } else { Side::Sell };
        let stp = [
            SelfTradePrevention::None,
            SelfTradePrevention::ExpireMaker,
            SelfTradePrevention::ExpireTaker,
        ][self.random(3) as usize];
        let (order_type, time_in_force, price, quantity) = match roll {
            90..=93 => (
                OrderType::Market,
                TimeInForce::Ioc,
                None,
                OrderQuantity::Base(Qty(1 + self.random(20))),
            ),
            94..=95 => {
                (OrderType::Market, TimeInForce::Ioc, None, OrderQuantity::Quote(Notional(20_000)))
            }
            96..=97 => (
                OrderType::Limit,
                TimeInForce::Fok,
                Some(Price(995 + self.random(11) as i64)),
                OrderQuantity::Base(Qty(5)),
            ),
            98 => (
                OrderType::LimitMaker,
                TimeInForce::Gtc,
                Some(Price(990 + self.random(21) as i64)),
                OrderQuantity::Base(Qty(3)),
            ),
            99 => (
                OrderType::Limit,
                TimeInForce::Ioc,
                Some(Price(990 + self.random(21) as i64)),
                OrderQuantity::Base(Qty(4)),
            ),
            _ => (
                OrderType::Limit,
                TimeInForce::Gtc,
                Some(Price(990 + self.random(21) as i64)),
                OrderQuantity::Base(Qty(1 + self.random(10))),
            ),
        };
        if time_in_force == TimeInForce::Gtc {
            self.live.push((order_id, account_id));
        }
        BookCommand::Place(PlaceOrder {
            order_id,
            account_id,
            client_order_id: ClientOrderId::NONE,
            side,
            order_type,
            time_in_force,
            price,
            quantity,
            self_trade_prevention: stp,
            reduce_only: false,
            spend_limit: None,
        })
    }
}

#[test]
fn steady_state_matching_allocates_nothing() {
    let limits = BookLimits {
        terms: MarketTerms {
            min_price: Price(1),
            max_price: Price(1_000_000),
            min_qty: Qty(1),
            max_qty: Qty(1_000_000),
            min_notional: Notional(1),
            max_notional: Notional(1 << 50),
            price_band_bps: 2_000,
            maker_fee: FeeRate::ZERO,
            taker_fee: FeeRate::ZERO,
        },
        capacity: BookCapacity {
            orders_max: 100_000,
            account_orders_max: 10_000,
            orders_preallocated: 65_536,
        },
    };
    let mut engine = MatchingEngine::new(limits);
    let mut out = EngineOutput::with_capacity(65_536);
    let mut workload = Workload {
        state: 42,
        next_order_id: 0,
        input_seq: 0,
        live: Vec::with_capacity(LIVE_MAX + 1),
    };
    let mut run = |engine: &mut MatchingEngine, count: usize| {
        let (mut trades, mut refusals) = (0, 0);
        for _ in 0..count {
            let input = workload.next_input(engine);
            out.clear();
            refusals += usize::from(engine.apply(&input, &mut out).is_err());
            trades += out
                .events
                .iter()
                .filter(|event| matches!(event.kind, exchange_actors::model::EventKind::Traded(_)))
                .count();
        }
        (trades, refusals)
    };
    let warm_up = run(&mut engine, 200_000);
    let mut measured = (0, 0);
    let allocations = allocations_during(|| measured = run(&mut engine, 200_000));
    assert!(
        warm_up.0 > 10_000 && measured.0 > 10_000,
        "the workload trades: {warm_up:?} {measured:?}"
    );
    assert!(measured.1 > 100, "the workload exercises refusals too: {measured:?}");
    assert_eq!(allocations, 0, "allocations in 200,000 steady-state operations");
}
