//! What the recovery bench runs in a fresh process on a built journal: the whole trading core
//! started from it until the first order is accepted ([`start_and_trade`]), or each part of a
//! start timed on its own ([`time_parts`]: a book's snapshot load and replay per symbol, a
//! shard's load and restore). Results are printed as `key=value` lines for the parent.

// Times are display figures, not money.
#![allow(clippy::float_arithmetic)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use exchange::config::Config;
use exchange::listing::listed_specs;
use exchange::store::Store;
use exchange::system::ExchangeSystem;
use exchange_actors::account::actor::{AuditShard, PlaceOrders};
use exchange_actors::account::{AccountState, MarketSpec, RECENT_CLOSED_ORDERS_PER_ACCOUNT};
use exchange_actors::book::actor::{GetBookView, recover_engine};
use exchange_actors::model::{AccountId, Side, SymbolCode};
use exchange_actors::ports::Journal;

use crate::system::limit;

/// The line a start prints once its first order is accepted (the parent stops its clock).
pub const TRADING_LINE: &str = "trading";

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1_000.0
}

/// Starts the exchange on `database_url` (connect, migrate, every actor from the journal),
/// places one resting order for account 1 and, once accepted, prints [`TRADING_LINE`]; then
/// waits until every shard has applied every book event and checks the invariants: each
/// shard's audit (ledger sums, no negatives, held = open orders) and the shards' open orders
/// against the books'. `process_started` is the child's first instant.
pub async fn start_and_trade(config: &Config, database_url: &str, process_started: Instant) {
    let store = Store::connect(database_url).await.expect("connect");
    store.migrate().await.expect("migrations");
    let connected = process_started.elapsed();
    let system = ExchangeSystem::start_on(config, store).await.expect("exchange starts");
    let started = process_started.elapsed();
    let probe = limit("BTCUSDT", 1, Side::Buy, 4_000_000, 100, "");
    let placed = system
        .shard(AccountId(1))
        .send(PlaceOrders(vec![probe]))
        .await
        .expect("shard alive")
        .pop()
        .expect("one answer")
        .expect("placed");
    assert!(placed.outcome.result.is_ok(), "accepted: {:?}", placed.outcome);
    let trading = process_started.elapsed();
    println!("{TRADING_LINE}");
    println!("connected_ms={:.1}", millis(connected));
    println!("system_started_ms={:.1}", millis(started));
    println!("trading_ms={:.1}", millis(trading));
    let open = audit_when_settled(&system).await;
    println!("audited_open_orders={open}");
}

/// Polls until every shard's watermarks reach every book's last event; then every shard's
/// audit must pass and the shards' open orders must equal the books'. Answers that count.
async fn audit_when_settled(system: &ExchangeSystem) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let mut books = Vec::new();
        for symbol in system.directory.symbols() {
            let book = system.directory.book(&symbol).expect("book");
            let view = book.send(GetBookView { depth_levels: 0 }).await.expect("book alive");
            books.push((SymbolCode::new(&symbol).expect("symbol"), view));
        }
        let mut shard_open = 0;
        let mut settled = true;
        for shard in system.shards.all() {
            let audit = shard.send(AuditShard).await.expect("shard alive");
            let audit = audit.unwrap_or_else(|violation| panic!("invariant: {violation}"));
            shard_open += u64::try_from(audit.open_orders).expect("fits");
            settled &= !audit.busy
                && books.iter().all(|(symbol, view)| {
                    audit.watermarks.iter().any(|(s, w)| s == symbol && *w == view.last_event_seq)
                });
        }
        if settled {
            let book_open: u64 =
                books.iter().map(|(_, view)| u64::from(view.open_order_count)).sum();
            assert_eq!(shard_open, book_open, "held orders at the shards = resting in the books");
            return book_open;
        }
        assert!(Instant::now() < deadline, "shards did not settle in 120 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Times each part of a start on its own, in the order the system runs them: per symbol the
/// newest snapshot read, then the whole recovery (snapshot decode, restore and hash check, and
/// the replay of the batches after it); per shard the load (which first finishes the row
/// projection) and the in-memory restore.
pub async fn time_parts(config: &Config, database_url: &str) {
    let store = Store::connect(database_url).await.expect("connect");
    let specs = listed_specs(config, &store, 0).await.expect("symbols listed");
    let markets = config.markets_of(&specs).expect("markets");
    for market in &markets {
        let symbol = market.ledger.symbol.to_string();
        let reading = Instant::now();
        let snapshot = store.latest_book_snapshot(symbol.clone()).await.expect("snapshot read");
        let read = reading.elapsed();
        let recovering = Instant::now();
        let (engine, stats) =
            recover_engine(&store, &symbol, market.limits).await.expect("book recovers");
        println!(
            "book {symbol}: snapshot_read_ms={:.1} snapshot_bytes={} recover_ms={:.1} \
             replayed_inputs={} open_orders={} last_event_seq={}",
            millis(read),
            snapshot.map_or(0, |snapshot| snapshot.payload.len()),
            millis(recovering.elapsed()),
            stats.replayed_inputs,
            engine.open_order_count(),
            stats.last_event_seq,
        );
    }
    let ledger: BTreeMap<SymbolCode, MarketSpec> =
        markets.iter().map(|market| (market.ledger.symbol, market.ledger)).collect();
    let recent = u32::try_from(RECENT_CLOSED_ORDERS_PER_ACCOUNT).expect("fits");
    for index in 0..config.accounts.shards {
        let loading = Instant::now();
        let restored = store.load_shard(index, recent).await.expect("shard loads");
        let loaded = loading.elapsed();
        let rows = restored.open_and_recent_orders.len();
        let restoring = Instant::now();
        let state = AccountState::restore(index, ledger.clone(), restored);
        println!(
            "shard {index}: load_ms={:.1} order_rows={rows} restore_ms={:.1} open_orders={}",
            millis(loaded),
            millis(restoring.elapsed()),
            state.all_open_orders().count(),
        );
    }
}
