//! The exchange mix (after the exchange-core benchmark): one symbol, about 1,000 resting orders
//! over about 750 price levels, 1,000 accounts; commands 9% GTC limit, 3% IOC, 6% cancel, 82%
//! move (amend to a new price, same quantity), about 6% of commands trading.
//!
//! Generated against a shadow engine so that every cancel and move names a live order of its
//! owner. Prices are drawn relative to the best opposite price: passive orders land
//! `1 + depth` ticks behind it, with `depth` skewed towards the touch (`depth_ticks * u^2`), and a
//! small, fixed share of GTC orders and moves (`cross_ppm`) are priced at it, so they trade
//! with that level only; IOC orders always are. `depth_ticks` sets the level count and
//! `cross_ppm` the trade share. The book size is held near its target by turning a cancel into a GTC order
//! when the book is short, and a GTC order into a cancel when it is long. Every trading command
//! removes at least one order (a filled maker, or the taker itself), so inflow must exceed the
//! cancels by about the trade share: the realized mix comes out near 10% GTC, 3% IOC, 5%
//! cancel, 82% move (printed each run). Taking the extra GTC orders from the moves instead
//! keeps cancels at exactly 6% but moves the mix further from the nominal one overall.

use exchange_actors::model::{AccountId, BookCommand, BookInput, EventKind, OrderId, Side};
use exchange_actors::model::{Price, TimeInForce};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use rustc_hash::FxHashMap;

use crate::commands::{OrderIds, amend, cancel, limit};
use crate::workloads::{ACCOUNTS, Recorder, TimedStats, Workload};

/// Shape of the mix; the defaults are tuned to the published workload.
#[derive(Clone, Copy, Debug)]
pub struct MixParams {
    pub target_orders: usize,
    /// Mixed commands applied untimed after the fill, so the timed part starts in steady state.
    pub warmup_commands: u32,
    /// Passive orders sit up to this many ticks behind the best opposite price.
    pub depth_ticks: i64,
    /// Share of GTC orders and moves priced to cross, per million.
    pub cross_ppm: u32,
    /// `BookCapacity::orders_preallocated` of the engines.
    pub orders_preallocated: u32,
}

impl Default for MixParams {
    fn default() -> Self {
        MixParams {
            target_orders: 1_000,
            warmup_commands: 200_000,
            depth_ticks: 1_500,
            cross_ppm: 32_000,
            orders_preallocated: ORDERS_PREALLOCATED,
        }
    }
}

/// Nominal mix, per thousand commands.
const MOVE_PER_MILLE: u32 = 820;
const CANCEL_PER_MILLE: u32 = 60;
const IOC_PER_MILLE: u32 = 30;
/// How far past the best opposite price a crossing order reaches.
const CROSS_REACH_TICKS: i64 = 0;
/// The book may drift this far from its target before the mix leans against it.
const TARGET_SLACK_ORDERS: usize = 20;
const START_PRICE_TICKS: i64 = 1_000_000;
const QTY_MAX_LOTS: u64 = 100;
/// IOC orders are small next to resting ones, so they rarely take a whole maker: every order
/// they removed would have to be replaced by a GTC order that the mix does not have.
const IOC_QTY_MAX_LOTS: u64 = 10;
/// Resting orders the engine reserves room for: 4x the ~1,000 the mix keeps, so nothing grows.
/// (With the hash-table order index of earlier engines, a larger reservation spread the ~1,000
/// live entries over megabytes and cost 15-35%; see docs/PERFORMANCE.md.)
const ORDERS_PREALLOCATED: u32 = 4_096;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Gtc,
    Ioc,
    Cancel,
    Move,
}

/// Live orders of the shadow book with O(1) insert, remove and uniform random pick.
#[derive(Debug, Default)]
struct LiveOrders {
    orders: Vec<(OrderId, AccountId)>,
    /// Position in `orders` by order id (only looked up, never iterated).
    slot_of: FxHashMap<OrderId, u32>,
}

impl LiveOrders {
    fn len(&self) -> usize {
        self.orders.len()
    }

    fn remember(&mut self, order_id: OrderId, account_id: AccountId) {
        if self.slot_of.contains_key(&order_id) {
            return;
        }
        self.slot_of.insert(order_id, u32::try_from(self.orders.len()).expect("fits"));
        self.orders.push((order_id, account_id));
    }

    fn forget(&mut self, order_id: OrderId) {
        let Some(slot) = self.slot_of.remove(&order_id) else { return };
        self.orders.swap_remove(slot as usize);
        if let Some(&(moved, _)) = self.orders.get(slot as usize) {
            self.slot_of.insert(moved, slot);
        }
    }

    fn pick(&self, rng: &mut ChaCha8Rng) -> (OrderId, AccountId) {
        self.orders[rng.gen_range(0..self.orders.len())]
    }
}

#[derive(Debug)]
struct MixGenerator {
    params: MixParams,
    rng: ChaCha8Rng,
    recorder: Recorder,
    live: LiveOrders,
    order_ids: OrderIds,
    last_trade_price: i64,
}

/// Generates the exchange mix: a fill and warm-up as `setup`, then `ops` timed commands.
pub fn exchange_mix(ops: u32, seed: u64, params: MixParams) -> Workload {
    let mut generator = MixGenerator {
        params,
        rng: ChaCha8Rng::seed_from_u64(seed),
        recorder: Recorder::new(params.orders_preallocated),
        live: LiveOrders::default(),
        order_ids: OrderIds::default(),
        last_trade_price: START_PRICE_TICKS,
    };
    let mut setup = Vec::new();
    while generator.live.len() < params.target_orders {
        let command = generator.new_order(TimeInForce::Gtc, false);
        setup.push(generator.record(command));
    }
    for _ in 0..params.warmup_commands {
        let command = generator.next_command();
        setup.push(generator.record(command));
    }
    let mut stats = TimedStats::default();
    let mut timed = Vec::with_capacity(ops as usize);
    for _ in 0..ops {
        let command = generator.next_command();
        stats.count_command(&command);
        timed.push(generator.record(command));
        stats.count_outcome(&generator.recorder.out, &generator.recorder.shadow);
    }
    Workload {
        name: "exchange-mix",
        setup,
        timed,
        orders_preallocated: params.orders_preallocated,
        stats,
        final_state_hash: generator.recorder.shadow.state_hash(),
    }
}

impl MixGenerator {
    fn next_command(&mut self) -> BookCommand {
        match self.choose_kind() {
            Kind::Gtc => {
                let crossing = self.rng.gen_ratio(self.params.cross_ppm, 1_000_000);
                self.new_order(TimeInForce::Gtc, crossing)
            }
            Kind::Ioc => self.new_order(TimeInForce::Ioc, true),
            Kind::Cancel => {
                let (order_id, account_id) = self.live.pick(&mut self.rng);
                cancel(order_id, account_id)
            }
            Kind::Move => self.move_order(),
        }
    }

    /// The nominal mix, leaning against a book that has drifted from its target size.
    fn choose_kind(&mut self) -> Kind {
        if self.live.len() == 0 {
            return Kind::Gtc;
        }
        let roll = self.rng.gen_range(0..1_000);
        let kind = if roll < MOVE_PER_MILLE {
            Kind::Move
        } else if roll < MOVE_PER_MILLE + CANCEL_PER_MILLE {
            Kind::Cancel
        } else if roll < MOVE_PER_MILLE + CANCEL_PER_MILLE + IOC_PER_MILLE {
            Kind::Ioc
        } else {
            Kind::Gtc
        };
        let target = self.params.target_orders;
        match kind {
            Kind::Cancel if self.live.len() + TARGET_SLACK_ORDERS < target => Kind::Gtc,
            Kind::Gtc if self.live.len() > target + TARGET_SLACK_ORDERS => Kind::Cancel,
            other => other,
        }
    }

    fn new_order(&mut self, time_in_force: TimeInForce, crossing: bool) -> BookCommand {
        let side = if self.rng.r#gen::<bool>() { Side::Buy } else { Side::Sell };
        let price = self.price(side, crossing);
        let qty_max = match time_in_force {
            TimeInForce::Ioc => IOC_QTY_MAX_LOTS,
            _ => QTY_MAX_LOTS,
        };
        let qty = self.rng.gen_range(1..=qty_max);
        let account_id = self.rng.gen_range(1..=ACCOUNTS);
        let order_id = self.order_ids.next(account_id).0;
        limit(order_id, account_id, side, price, qty, time_in_force)
    }

    /// Moves a random live order to a new price (passive, or crossing like a new GTC order).
    fn move_order(&mut self) -> BookCommand {
        let (order_id, account_id) = self.live.pick(&mut self.rng);
        let order = self.recorder.shadow.order(order_id).expect("live orders rest");
        let crossing = self.rng.gen_ratio(self.params.cross_ppm, 1_000_000);
        let mut price = self.price(order.side, crossing);
        if price == order.price.0 {
            // Same price would be a no-op amend: step one tick away from the touch instead.
            price += match order.side {
                Side::Buy => -1,
                Side::Sell => 1,
            };
        }
        amend(order_id, account_id, Price(price), order.open_qty)
    }

    /// A price on `side`: behind the best opposite price, or crossing it.
    fn price(&mut self, side: Side, crossing: bool) -> i64 {
        let anchor = self.best_opposite(side);
        let offset = if crossing {
            -self.rng.gen_range(0..=CROSS_REACH_TICKS)
        } else {
            let unit = self.rng.gen_range(0..1_024_i64);
            1 + self.params.depth_ticks * unit * unit / (1 << 20)
        };
        match side {
            Side::Buy => anchor - offset,
            Side::Sell => anchor + offset,
        }
    }

    /// The best price an order on `side` could take, or a stand-in when that side is empty.
    fn best_opposite(&self, side: Side) -> i64 {
        let book = &self.recorder.shadow;
        let (opposite, same, step) = match side {
            Side::Buy => (book.best_ask(), book.best_bid(), 1),
            Side::Sell => (book.best_bid(), book.best_ask(), -1),
        };
        match (opposite, same) {
            (Some((price, _)), _) => price.0,
            (None, Some((price, _))) => price.0 + step,
            (None, None) => self.last_trade_price,
        }
    }

    /// Applies `command` to the shadow book and follows which orders are still live.
    fn record(&mut self, command: BookCommand) -> BookInput {
        let input = self.recorder.record(command);
        for event in &self.recorder.out.events {
            match event.kind {
                EventKind::Traded(trade) => {
                    self.last_trade_price = trade.price.0;
                    if trade.maker_open_qty.is_zero() {
                        self.live.forget(trade.maker_order_id);
                    }
                }
                EventKind::Canceled(canceled) => self.live.forget(canceled.order_id),
                _ => {}
            }
        }
        let resting_candidate = match &input.command {
            BookCommand::Place(order) if order.time_in_force == TimeInForce::Gtc => {
                Some((order.order_id, order.account_id))
            }
            BookCommand::Amend(amended) => Some((amended.order_id, amended.account_id)),
            _ => None,
        };
        if let Some((order_id, account_id)) = resting_candidate {
            if self.recorder.shadow.order(order_id).is_some() {
                self.live.remember(order_id, account_id);
            } else {
                self.live.forget(order_id);
            }
        }
        input
    }
}
