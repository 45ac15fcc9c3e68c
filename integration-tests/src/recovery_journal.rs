//! Builds the journal of a long-running exchange quickly, for the recovery bench: the real
//! account shards' state ([`AccountState`]) and the real matching engines, driven in-process
//! without their actor shells, and their output written through the [`Journal`] port as the
//! shells write it, only in larger transactions.
//!
//! Per order: the shard checks funds and holds them (PENDING), the engine applies the command
//! the shard returned, every shard applies the resulting events (its own orders settle, the
//! others advance its watermark), as the actors do. Orders either rest (until the end) or are
//! canceled right after being accepted (a market maker's churn); the two are interleaved
//! evenly. Nothing crosses, so the journal holds no trades. Books journal a snapshot on the
//! actor's own schedule ([`SnapshotSchedule`] with [`BookSettings`]' default), in batches of
//! [`BATCH_INPUTS`] inputs. Each flush commits every shard's changes (holds first, as the
//! shards do before forwarding) and then the books' batches.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use exchange::config::{Config, Market};
use exchange::listing::listed_specs;
use exchange::store::Store;
use exchange_actors::account::{AccountState, MarketSpec, shard_of};
use exchange_actors::book::actor::{BookSettings, SnapshotSchedule};
use exchange_actors::book::{EngineOutput, MatchingEngine};
use exchange_actors::model::{
    AccountId, AssetCode, BookCommand, BookEvent, BookInput, CancelOrder, Side, SymbolCode,
};
use exchange_actors::ports::{BookBatch, Epoch, Journal, book_stream, shard_stream};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::system::limit;

/// Inputs per book batch: about what a busy book commits at once.
pub const BATCH_INPUTS: usize = 1_024;
/// Book batches per journal transaction (and per shard commit).
const FLUSH_BATCHES: usize = 64;
/// One whole unit of an asset in minor units (8 decimal places in the default config).
const UNIT: i128 = 100_000_000;
/// Orders are priced up to this many ticks from the mid, on their own side (never crossing).
const OFFSET_TICKS_MAX: i64 = 500;
/// Spacing of the inputs' timestamps.
const INPUT_INTERVAL_NS: u64 = 1_000;

/// The journal to build.
#[derive(Clone, Copy, Debug)]
pub struct JournalShape {
    /// Orders left resting at the end, over the spot symbols.
    pub resting_orders: u64,
    /// Book events journaled in all, at least (a resting order is two events, accepted and a
    /// level change; a churned one four).
    pub events: u64,
    /// Accounts placing orders, ids `1..=accounts`.
    pub accounts: u64,
}

/// What was built, and how long each part took.
#[derive(Clone, Debug, Default)]
pub struct BuiltJournal {
    /// Per symbol: last event seq and open orders.
    pub books: Vec<(String, u64, u32)>,
    pub shard_open_orders: Vec<usize>,
    pub build: Duration,
    pub projection: Duration,
}

struct ShardWriter {
    index: u16,
    epoch: Epoch,
    state: AccountState,
}

struct BookWriter {
    symbol: SymbolCode,
    mid_ticks: i64,
    epoch: Epoch,
    engine: MatchingEngine,
    snapshots: SnapshotSchedule,
    out: EngineOutput,
    inputs: Vec<BookInput>,
    events: Vec<BookEvent>,
    batches: Vec<BookBatch>,
}

/// Writes a journal of `shape` into `store` (migrated, empty) for `config`'s markets.
pub async fn build_journal(store: &Store, config: &Config, shape: JournalShape) -> BuiltJournal {
    let started = Instant::now();
    let specs = listed_specs(config, store, 0).await.expect("symbols listed");
    let markets = config.markets_of(&specs).expect("markets");
    let mut shards = open_shards(store, config, &markets, shape.accounts).await;
    let mut books = open_books(store, &markets).await;
    assert!(!books.is_empty(), "a spot symbol to place orders on");
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let mut ts_ns = 1_700_000_000_000_000_000;
    let (mut resting, mut events) = (0_u64, 0_u64);
    for index in 0_usize.. {
        if events >= shape.events && resting >= shape.resting_orders {
            break;
        }
        // Rest in step with the events written, so resting orders spread over the whole
        // journal; at the end, whatever is still missing rests.
        let rests = resting < shape.resting_orders
            && (events >= shape.events
                || u128::from(resting) * u128::from(shape.events)
                    <= u128::from(events) * u128::from(shape.resting_orders));
        resting += u64::from(rests);
        let book_index = index % books.len();
        let book = &mut books[book_index];
        let events_before = book.engine.last_event_seq();
        let account = rng.gen_range(1..=shape.accounts);
        let side = if rng.gen_bool(0.5) { Side::Buy } else { Side::Sell };
        let offset = rng.gen_range(1..=OFFSET_TICKS_MAX);
        let price =
            if side == Side::Buy { book.mid_ticks - offset } else { book.mid_ticks + offset };
        let mut request =
            limit(book.symbol.as_str(), account, side, price, rng.gen_range(100..=1_000), "");
        ts_ns += INPUT_INTERVAL_NS;
        request.ts_ns = ts_ns;
        let shard_count = shards.len();
        let shard = &mut shards[shard_of(AccountId(account), shard_count)];
        let place = shard.state.place(request).expect("a funded account may place");
        let order_id = place.order_id;
        book.apply(BookCommand::Place(place), ts_ns);
        if !rests {
            ts_ns += INPUT_INTERVAL_NS;
            let cancel = CancelOrder { account_id: AccountId(account), order_id };
            book.apply(BookCommand::Cancel(cancel), ts_ns);
        }
        events += book.engine.last_event_seq() - events_before;
        if book.inputs.len() >= BATCH_INPUTS {
            book.close_batch(&mut shards);
            if book.batches.len() >= FLUSH_BATCHES {
                flush(store, &mut shards, &mut books).await;
            }
        }
    }
    for book in &mut books {
        book.close_batch(&mut shards);
    }
    flush(store, &mut shards, &mut books).await;
    let build = started.elapsed();
    let projecting = Instant::now();
    for shard in &shards {
        store.finish_projection(shard.index).await.expect("projection finishes");
    }
    BuiltJournal {
        books: books
            .iter()
            .map(|book| {
                let symbol = book.symbol.to_string();
                (symbol, book.engine.last_event_seq(), book.engine.open_order_count())
            })
            .collect(),
        shard_open_orders: shards
            .iter()
            .map(|shard| shard.state.all_open_orders().count())
            .collect(),
        build,
        projection: projecting.elapsed(),
    }
}

/// Every shard of `config` under a new epoch, with its accounts opened and funded.
async fn open_shards(
    store: &Store,
    config: &Config,
    markets: &[Market],
    accounts: u64,
) -> Vec<ShardWriter> {
    let ledger: BTreeMap<SymbolCode, MarketSpec> =
        markets.iter().map(|market| (market.ledger.symbol, market.ledger)).collect();
    let layout = config.accounts.layout();
    let mut shards = Vec::new();
    for index in 0..layout.shard_count {
        let epoch = store.acquire_epoch(shard_stream(index)).await.expect("shard epoch");
        let mut state = AccountState::new(index, ledger.clone());
        state.set_shard_count(layout.shard_count);
        state.set_open_orders_max(layout.open_orders_per_account_max);
        shards.push(ShardWriter { index, epoch, state });
    }
    let funds = [("BTC", 100 * UNIT), ("ETH", 1_000 * UNIT), ("USDT", 1_000_000 * UNIT)];
    let shard_count = shards.len();
    for account in 1..=accounts {
        let state = &mut shards[shard_of(AccountId(account), shard_count)].state;
        state.open_account(AccountId(account)).expect("a new account");
        for (asset, amount) in funds {
            let asset = AssetCode::new(asset).expect("asset");
            state.deposit(AccountId(account), asset, amount, account).expect("deposit");
        }
    }
    shards
}

/// A book writer per spot market, each under a new epoch of its stream.
async fn open_books(store: &Store, markets: &[Market]) -> Vec<BookWriter> {
    let mut books = Vec::new();
    for market in markets.iter().filter(|market| !market.ledger.is_perpetual()) {
        let symbol = market.ledger.symbol;
        let epoch = store.acquire_epoch(book_stream(symbol.as_str())).await.expect("book epoch");
        let engine = MatchingEngine::new(market.limits);
        let snapshots =
            SnapshotSchedule::new(BookSettings::default().snapshot_every_events, &engine);
        // The benches' mids: BTC at 50,000 and ETH at 3,000 USDT (ticks of 0.01).
        let mid_ticks = if symbol.as_str().starts_with("BTC") { 5_000_000 } else { 300_000 };
        books.push(BookWriter {
            symbol,
            mid_ticks,
            epoch,
            engine,
            snapshots,
            out: EngineOutput::with_capacity(16),
            inputs: Vec::with_capacity(BATCH_INPUTS),
            events: Vec::new(),
            batches: Vec::new(),
        });
    }
    books
}

impl BookWriter {
    fn apply(&mut self, command: BookCommand, ts_ns: u64) {
        let input = BookInput { input_seq: self.engine.last_input_seq() + 1, ts_ns, command };
        self.out.clear();
        let applied = self.engine.apply(&input, &mut self.out);
        assert!(applied.is_ok(), "{:?} applies: {applied:?}", input.command);
        self.events.extend_from_slice(&self.out.events);
        self.inputs.push(input);
    }

    /// Ends the current batch (with a snapshot when due) and settles its events at every shard.
    fn close_batch(&mut self, shards: &mut [ShardWriter]) {
        if self.inputs.is_empty() {
            return;
        }
        for shard in shards.iter_mut() {
            shard.state.apply_book_events(self.symbol, &self.events).expect("events apply");
        }
        self.batches.push(BookBatch {
            symbol: self.symbol.to_string(),
            epoch: self.epoch,
            inputs: std::mem::take(&mut self.inputs),
            events: std::mem::take(&mut self.events).into(),
            last_event_seq: self.engine.last_event_seq(),
            snapshot: self.snapshots.due(&self.engine),
        });
    }
}

/// Commits every shard's changes, then appends every book's closed batches.
async fn flush(store: &Store, shards: &mut [ShardWriter], books: &mut [BookWriter]) {
    for shard in shards.iter_mut() {
        let changes = shard.state.drain_changes();
        if !changes.is_empty() {
            store.commit_shard_changes(shard.index, shard.epoch, changes).await.expect("commit");
        }
    }
    for book in books.iter_mut() {
        let batches = std::mem::take(&mut book.batches);
        store.append_book_batches(batches).await.expect("append");
    }
}
