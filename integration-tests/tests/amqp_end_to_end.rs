//! The whole exchange on RabbitMQ and PostgreSQL while the broker restarts three times under
//! load: orders of two symbols cross, book events reach the account shards, the history writer
//! and the depth replicas through the broker. Afterwards, per (symbol, seq), nothing is
//! missing or applied twice: every shard caught up with every book, the ledger settled each
//! journaled trade exactly once and balances equal its replay, the history holds exactly the
//! journaled trades, and each depth replica equals its book.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use exchange::bus::BusSettings;
use exchange::bus::amqp::Topology;
use exchange_actors::book::actor::GetDepth;
use exchange_actors::market::actor::GetReplicaDepth;
use exchange_actors::model::Side;
use integration_tests::amqp::{
    BrokerRunningGuard, TopologyCleanup, amqp_url, switch_broker, unique_exchange,
};
use integration_tests::db::Backend;
use integration_tests::ledger_checks::{
    balances_conserved, balances_equal_ledger_replay, journaled_trades, trades_settled_exactly_once,
};
use integration_tests::system::{TestExchange, limit};
use sea_orm::{ConnectionTrait, Statement};

const SYMBOLS: [&str; 2] = ["BTCUSDT", "ETHUSDT"];
/// Every consumer group the system starts (their queues are deleted after the test).
const CONSUMERS: [&str; 5] = ["shard:0", "shard:1", "history", "depth", "ws-streams"];
const RESTARTS: usize = 3;
const UNIT: i128 = 100_000_000;
const TRADERS: u64 = 4;
const HISTORY_TIMEOUT: Duration = Duration::from_secs(60);

/// Places crossing pairs on both symbols until `stop`; counts the pairs placed.
async fn trade_until(exchange: Arc<TestExchange>, stop: Arc<AtomicBool>, pairs: Arc<AtomicU64>) {
    let mut n: u64 = 0;
    while !stop.load(Ordering::Acquire) {
        n += 1;
        let symbol = SYMBOLS[usize::try_from(n % 2).expect("0 or 1")];
        let (seller, buyer) = (1 + n % TRADERS, 1 + (n + 1) % TRADERS);
        let price = 5_000_000 + i64::try_from(n % 7).expect("small");
        let sell = limit(symbol, seller, Side::Sell, price, 10, &format!("s{n}"));
        let buy = limit(symbol, buyer, Side::Buy, price, 10, &format!("b{n}"));
        // Refusals (a shard busy reconnecting is not one: placing does not use the bus) are
        // counted out; the checks below hold for whatever was accepted.
        if exchange.place(sell).await.is_ok() && exchange.place(buy).await.is_ok() {
            pairs.fetch_add(1, Ordering::Relaxed);
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn history_trades(exchange: &TestExchange) -> BTreeSet<String> {
    let connection = exchange.system.store.connection();
    let sql = "SELECT symbol || '|' || CAST(trade_id AS TEXT) AS trade FROM trades";
    let statement = Statement::from_string(connection.get_database_backend(), sql);
    let rows = connection.query_all_raw(statement).await.expect("trades read");
    rows.iter().map(|row| row.try_get::<String>("", "trade").expect("trade")).collect()
}

#[actix::test]
async fn three_broker_restarts_under_load_lose_and_double_nothing() {
    let _broker_running = BrokerRunningGuard;
    let exchange_name = unique_exchange("end-to-end");
    let topology = Topology::new(&exchange_name, SYMBOLS.map(String::from).to_vec());
    let _cleanup = TopologyCleanup::new(&topology, &CONSUMERS);
    let bus = BusSettings::Amqp { url: amqp_url(), exchange: exchange_name.clone() };
    let exchange = Arc::new(TestExchange::start_with_bus(Backend::Postgres, &bus).await);
    for account in 1..=TRADERS {
        exchange
            .fund(
                account,
                &[("USDT", 100_000_000 * UNIT), ("BTC", 1_000 * UNIT), ("ETH", 1_000 * UNIT)],
            )
            .await;
    }

    let stop = Arc::new(AtomicBool::new(false));
    let pairs = Arc::new(AtomicU64::new(0));
    let load = actix::spawn(trade_until(exchange.clone(), stop.clone(), pairs.clone()));
    for restart in 1..=RESTARTS {
        tokio::time::sleep(Duration::from_millis(700)).await;
        assert!(switch_broker("stop_app", false).await, "stop_app {restart}");
        tokio::time::sleep(Duration::from_millis(700)).await;
        assert!(switch_broker("start_app", true).await, "start_app {restart}");
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    stop.store(true, Ordering::Release);
    load.await.expect("load finishes");
    let pairs = pairs.load(Ordering::Relaxed);
    assert!(pairs > 20, "the load placed only {pairs} crossing pairs");

    // Shards: every watermark at every book's last event, invariants hold (bounded wait).
    exchange.settle().await;
    exchange.finish_projections().await;
    let store = &exchange.system.store;
    trades_settled_exactly_once(store, &SYMBOLS).await.expect("each trade settled once");
    balances_equal_ledger_replay(store).await.expect("balances = ledger replay");
    balances_conserved(store).await.expect("conserved");

    // History: exactly the journaled trades (bounded wait for the writer to drain).
    let mut journaled = BTreeSet::new();
    for symbol in SYMBOLS {
        journaled.extend(journaled_trades(store, symbol).await.expect("journal reads"));
    }
    assert!(journaled.len() >= usize::try_from(pairs).expect("fits"), "a trade per pair");
    let deadline = tokio::time::Instant::now() + HISTORY_TIMEOUT;
    loop {
        let history = history_trades(&exchange).await;
        if history == journaled {
            break;
        }
        assert!(history.is_subset(&journaled), "history holds trades the books never made");
        assert!(tokio::time::Instant::now() < deadline, "history misses trades after 60 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Depth replicas: current and equal to their books once the depth consumer has drained
    // its queue (bounded wait, like the history's).
    for symbol in SYMBOLS {
        let book = exchange.system.directory.book(symbol).expect("book");
        let expected = book.send(GetDepth { levels_max: 1_000 }).await.expect("book answers");
        let deadline = tokio::time::Instant::now() + HISTORY_TIMEOUT;
        loop {
            let query = GetReplicaDepth { symbol: symbol.to_owned(), levels_max: 1_000 };
            let replica = exchange.system.depth_replicas.send(query).await.expect("alive");
            if replica.as_ref() == Some(&(expected.clone(), false)) {
                break;
            }
            let late = tokio::time::Instant::now() > deadline;
            assert!(!late, "{symbol} replica {replica:?} != book {expected:?} after 60 s");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    println!(
        "{pairs} crossing pairs, {} trades, across {RESTARTS} broker restarts",
        journaled.len()
    );
}
