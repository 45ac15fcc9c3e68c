//! What a workload is (a pre-generated input list plus what generating it observed), the shadow
//! engine that generates lists, and the insert-only workload. The exchange mix is in `mix.rs`.

use exchange_actors::book::{EngineOutput, MatchingEngine};
use exchange_actors::model::{BookCommand, BookInput, EventKind, Side, TimeInForce};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::commands::{InputLog, OrderIds, bench_limits, limit};

/// Accounts orders are spread over (both workloads).
pub const ACCOUNTS: u64 = 1_000;

/// Events one command may produce before the reused output vector would grow. A sweep emits a
/// trade per maker, so this bounds the makers one command takes without allocating.
pub const EVENTS_PREALLOCATED: usize = 4_096;

/// A pre-generated input list. `setup` brings a fresh engine to the steady state untimed;
/// `timed` continues the same input sequence and is what gets measured.
#[derive(Debug)]
pub struct Workload {
    pub name: &'static str,
    pub setup: Vec<BookInput>,
    pub timed: Vec<BookInput>,
    pub orders_preallocated: u32,
    pub stats: TimedStats,
    /// The shadow engine's state after the whole list; every timed replay must end here.
    pub final_state_hash: [u8; 32],
}

/// What the shadow engine saw while generating the timed part.
#[derive(Debug, Default)]
pub struct TimedStats {
    pub gtc: u64,
    pub ioc: u64,
    pub cancels: u64,
    pub moves: u64,
    /// Commands that produced at least one `Traded` event.
    pub trading_commands: u64,
    pub trades: u64,
    pub events: u64,
    /// Resting orders and price levels, summed over every command (for the averages).
    pub resting_orders_sum: u64,
    pub levels_sum: u64,
    pub resting_orders_max: u64,
}

impl TimedStats {
    pub fn commands(&self) -> u64 {
        self.gtc + self.ioc + self.cancels + self.moves
    }

    /// Counts one command's kind.
    pub fn count_command(&mut self, command: &BookCommand) {
        match command {
            BookCommand::Place(order) if order.time_in_force == TimeInForce::Gtc => self.gtc += 1,
            BookCommand::Place(_) => self.ioc += 1,
            BookCommand::Cancel(_) => self.cancels += 1,
            BookCommand::Amend(_) => self.moves += 1,
            _ => unreachable!("the workloads issue only place, cancel and amend"),
        }
    }

    /// Counts what one applied command produced and the book it left.
    pub fn count_outcome(&mut self, out: &EngineOutput, engine: &MatchingEngine) {
        let trades = out.events.iter().filter(|e| matches!(e.kind, EventKind::Traded(_))).count();
        let trades = u64::try_from(trades).expect("fits");
        self.trades += trades;
        self.trading_commands += u64::from(trades > 0);
        self.events += u64::try_from(out.events.len()).expect("fits");
        let resting = u64::from(engine.open_order_count());
        self.resting_orders_sum += resting;
        self.resting_orders_max = self.resting_orders_max.max(resting);
        let levels = engine.level_count(Side::Buy) + engine.level_count(Side::Sell);
        self.levels_sum += u64::try_from(levels).expect("fits");
    }
}

/// Generates inputs by applying each one to a shadow engine first, so that every command is
/// valid for the state it will meet (cancels and moves target live orders of their owner).
#[derive(Debug)]
pub struct Recorder {
    pub shadow: MatchingEngine,
    /// The events of the last command recorded.
    pub out: EngineOutput,
    log: InputLog,
}

impl Recorder {
    pub fn new(orders_preallocated: u32) -> Self {
        Recorder {
            shadow: MatchingEngine::new(bench_limits(orders_preallocated)),
            out: EngineOutput::with_capacity(EVENTS_PREALLOCATED),
            log: InputLog::default(),
        }
    }

    /// Numbers `command`, applies it to the shadow engine (events in `self.out`), returns it.
    pub fn record(&mut self, command: BookCommand) -> BookInput {
        let input = self.log.next(command);
        self.out.clear();
        if let Err(reason) = self.shadow.apply(&input, &mut self.out) {
            panic!("generator produced a refused command {input:?}: {reason}");
        }
        input
    }
}

/// Insert-only: one symbol, buy and sell alternate, buys uniform in 1880..=1889 ticks, sells in
/// 1884..=1893, quantity 100..=1000 lots in steps of 100, all GTC limits, no cancels. The
/// outer levels never trade, so the book grows by roughly 40% of the orders placed.
pub fn insert_only(ops: u32, seed: u64) -> Workload {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut recorder = Recorder::new(ops);
    let mut stats = TimedStats::default();
    let mut timed = Vec::with_capacity(ops as usize);
    let mut order_ids = OrderIds::default();
    for count in 1..=u64::from(ops) {
        let (side, price) = if count % 2 == 1 {
            (Side::Buy, rng.gen_range(1880..=1889))
        } else {
            (Side::Sell, rng.gen_range(1884..=1893))
        };
        let qty = 100 * rng.gen_range(1..=10);
        let account_id = rng.gen_range(1..=ACCOUNTS);
        let order_id = order_ids.next(account_id).0;
        let command = limit(order_id, account_id, side, price, qty, TimeInForce::Gtc);
        stats.count_command(&command);
        let input = recorder.record(command);
        stats.count_outcome(&recorder.out, &recorder.shadow);
        timed.push(input);
    }
    // Room for the largest book the list builds, and a margin: enough never to grow, and no
    // more, since the engine sizes its hash tables from it.
    let resting_max = u32::try_from(stats.resting_orders_max).expect("at most `ops` orders rest");
    Workload {
        name: "insert-only",
        setup: Vec::new(),
        timed,
        orders_preallocated: resting_max + resting_max / 8 + 1_024,
        stats,
        final_state_hash: recorder.shadow.state_hash(),
    }
}
