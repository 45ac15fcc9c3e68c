//! REST depth is served from a replica per symbol fed by the bus. A replica fed a gap on
//! purpose resyncs from the book within 1 s; while it cannot (its book was killed and is being
//! replaced) it answers its last good levels marked stale, never an error; once resynced it
//! equals the book.

use std::time::{Duration, Instant};

use exchange_actors::book::Depth;
use exchange_actors::book::actor::{GetDepth, PoisonBook};
use exchange_actors::market::actor::{GetReplicaDepth, GetResyncCount, ReplicaEvents};
use exchange_actors::model::{BookEvent, EventKind, LevelChanged, Price, Qty, Side};
use exchange_actors::ports::EventBatch;
use integration_tests::db::Backend;
use integration_tests::system::{TestExchange, limit};

const UNIT: i128 = 100_000_000;
const LEVELS_ALL: usize = 1_000;

async fn replica(exchange: &TestExchange) -> (Depth, bool) {
    let query = GetReplicaDepth { symbol: "BTCUSDT".into(), levels_max: LEVELS_ALL };
    exchange.system.depth_replicas.send(query).await.unwrap().expect("a replica of BTCUSDT")
}

/// The book's depth; `None` while it is dead and not yet replaced.
async fn book_depth(exchange: &TestExchange) -> Option<Depth> {
    let book = exchange.system.directory.book("BTCUSDT").expect("book");
    book.send(GetDepth { levels_max: LEVELS_ALL }).await.ok()
}

/// A batch that skips `skipped` seqs past the replica's position, with a level no book has.
fn gap_batch(after_seq: u64, skipped: u64) -> EventBatch {
    let kind =
        EventKind::LevelChanged(LevelChanged { side: Side::Buy, price: Price(1), qty: Qty(77) });
    let event = BookEvent { seq: after_seq + skipped + 1, ts_ns: 0, kind };
    EventBatch { symbol: "BTCUSDT".into(), events: vec![event].into() }
}

/// Waits (at most 1 s) until the replica is current and equals the book.
async fn resynced_within_a_second(exchange: &TestExchange, since: Instant) -> Duration {
    loop {
        let (depth, stale) = replica(exchange).await;
        let book = book_depth(exchange).await;
        if !stale && Some(&depth) == book.as_ref() {
            return since.elapsed();
        }
        assert!(
            since.elapsed() < Duration::from_secs(1),
            "not resynced within 1 s: replica {depth:?} (stale {stale}), book {book:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[actix::test]
async fn a_replica_fed_a_gap_resyncs_and_is_stale_meanwhile() {
    integration_tests::quiet_panics();
    let exchange = TestExchange::start(Backend::Sqlite).await;
    for account in 1..=2 {
        exchange.fund(account, &[("USDT", 1_000_000 * UNIT), ("BTC", 100 * UNIT)]).await;
    }
    for n in 0..5 {
        exchange
            .place(limit("BTCUSDT", 1, Side::Buy, 4_990_000 - n, 100, &format!("b{n}")))
            .await
            .expect("bid");
        exchange
            .place(limit("BTCUSDT", 2, Side::Sell, 5_010_000 + n, 100, &format!("a{n}")))
            .await
            .expect("ask");
    }
    exchange.settle().await;
    let since = Instant::now();
    resynced_within_a_second(&exchange, since).await;
    let (good, _) = replica(&exchange).await;
    assert_eq!(good.bids.len(), 5);

    // A gap with the book alive: resynced from a snapshot, the invented level gone.
    let resyncs = exchange.system.depth_replicas.send(GetResyncCount).await.unwrap();
    let injected = Instant::now();
    exchange
        .system
        .depth_replicas
        .send(ReplicaEvents(gap_batch(good.last_event_seq, 3)))
        .await
        .unwrap();
    let took = resynced_within_a_second(&exchange, injected).await;
    assert!(exchange.system.depth_replicas.send(GetResyncCount).await.unwrap() > resyncs);
    println!("resynced after a gap in {took:?}");

    // A gap while the book is dead: the last good levels, marked stale, until the supervisor
    // has replaced the book and the replica resynced from the replacement.
    let book = exchange.system.directory.book("BTCUSDT").expect("book");
    let _panicked = book.send(PoisonBook).await;
    let injected = Instant::now();
    exchange
        .system
        .depth_replicas
        .send(ReplicaEvents(gap_batch(good.last_event_seq, 5)))
        .await
        .unwrap();
    let (during, stale) = replica(&exchange).await;
    assert!(stale, "a replica that cannot resync says so");
    assert_eq!(during, good, "and serves its last good levels");
    resynced_within_a_second(&exchange, injected).await;
    assert_eq!(replica(&exchange).await.0, good, "the replacement book has the same levels");

    // And it follows the book again: a new order's level arrives through the bus.
    exchange.place(limit("BTCUSDT", 1, Side::Buy, 4_995_000, 100, "after")).await.expect("bid");
    exchange.settle().await;
    resynced_within_a_second(&exchange, Instant::now()).await;
    assert_eq!(replica(&exchange).await.0.bids[0], (Price(4_995_000), Qty(100)));
}
