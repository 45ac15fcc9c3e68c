//! The SymbolBook actor on a real journal (SQLite and PostgreSQL): commands are answered only
//! once journaled, a restarted book equals the one that stopped, and a replaced book's old
//! instance is fenced.

use std::sync::Arc;

use actix::Arbiter;
use exchange::bus::InProcessBus;
use exchange::config::Config;
use exchange_actors::book::BookLimits;
use exchange_actors::book::actor::{
    BookPorts, BookSettings, GetBookView, SubmitCommands, SymbolBook,
};
use exchange_actors::model::{
    AccountId, BookCommand, CancelOrder, OrderId, PlaceOrder, Price, Qty, Side,
};
use exchange_actors::ports::{EventBus, SystemClock};
use integration_tests::db::{Backend, TestDatabase};
use integration_tests::workspace_root;

fn btcusdt_limits() -> BookLimits {
    let config = Config::load(&workspace_root().join("config/default.toml")).expect("config");
    let markets = config.markets().expect("markets");
    markets.into_iter().find(|market| market.spec.symbol == "BTCUSDT").expect("BTCUSDT").limits
}

fn limit(order_id: u64, account: u64, side: Side, price: i64, qty: u64) -> BookCommand {
    BookCommand::Place(PlaceOrder::limit_gtc(
        OrderId(order_id),
        AccountId(account),
        side,
        Price(price),
        Qty(qty),
    ))
}

/// A deterministic stream of crossing and resting orders with some cancels.
fn commands(count: u64) -> Vec<BookCommand> {
    let mut commands = Vec::new();
    for n in 1..=count {
        let side = if n % 2 == 0 { Side::Buy } else { Side::Sell };
        let price = 5_000_000 + i64::try_from(n % 7).unwrap() * 100 - 300;
        commands.push(limit(n, n % 5 + 1, side, price, 1_000 + n % 3 * 500));
        if n % 5 == 0 {
            let cancel =
                CancelOrder { account_id: AccountId((n - 3) % 5 + 1), order_id: OrderId(n - 3) };
            commands.push(BookCommand::Cancel(cancel));
        }
    }
    commands
}

async fn start(
    store: &exchange::store::Store,
    bus: Arc<InProcessBus>,
    settings: BookSettings,
) -> exchange_actors::book::actor::StartedBook {
    let ports = BookPorts { journal: Arc::new(store.clone()), bus, clock: Arc::new(SystemClock) };
    SymbolBook::start("BTCUSDT", btcusdt_limits(), settings, ports, &Arbiter::new().handle())
        .await
        .expect("book starts")
}

async fn restart_equals_the_book_that_stopped(backend: Backend) {
    let database = TestDatabase::create(backend).await;
    let store = database.store().await;
    let bus = InProcessBus::new();
    let mut events = bus.subscribe("test");
    // Small snapshot interval so recovery uses a snapshot and replays batches after it.
    let settings = BookSettings { snapshot_every_events: 150, ..BookSettings::default() };
    let first = start(&store, bus.clone(), settings).await;
    let mut answered = 0;
    for chunk in commands(400).chunks(7) {
        let outcomes = first.address.send(SubmitCommands(chunk.to_vec())).await.unwrap().unwrap();
        answered += outcomes.len();
    }
    // A cancel of an unknown order emits no event, so no snapshot follows it: recovery must
    // replay at least this batch after the last snapshot.
    let unknown = CancelOrder { account_id: AccountId(1), order_id: OrderId(999_999) };
    let outcomes = first.address.send(SubmitCommands(vec![BookCommand::Cancel(unknown)])).await;
    assert!(outcomes.unwrap().unwrap()[0].result.is_err());
    answered += 1;
    assert_eq!(answered, 481);
    let before = first.address.send(GetBookView { depth_levels: 50 }).await.unwrap();
    assert!(before.open_order_count > 0, "some orders rest");
    assert_eq!(before.last_input_seq, 481);

    // Every journaled event was published in order, contiguous from 1.
    let mut next_seq = 1;
    while next_seq <= before.last_event_seq {
        let batch = events.recv().await.expect("bus open");
        for event in batch.events.iter() {
            assert_eq!(event.seq, next_seq);
            next_seq += 1;
        }
    }

    let second = start(&store, bus.clone(), settings).await;
    assert!(second.epoch > first.epoch);
    assert!(second.recovery.snapshot_input_seq > 0, "recovery started from a snapshot");
    assert!(second.recovery.replayed_inputs > 0, "and replayed the batches after it");
    let after = second.address.send(GetBookView { depth_levels: 50 }).await.unwrap();
    assert_eq!(after, before);

    // The first instance is fenced: its next write fails and it stops.
    let stale = first
        .address
        .send(SubmitCommands(vec![limit(10_000, 1, Side::Buy, 4_000_000, 1_000)]))
        .await;
    assert!(matches!(stale, Ok(Err(_)) | Err(_)), "a fenced book cannot acknowledge: {stale:?}");
    let fresh = second
        .address
        .send(SubmitCommands(vec![limit(10_001, 1, Side::Buy, 4_000_000, 1_000)]))
        .await;
    assert!(fresh.unwrap().is_ok());
}

#[actix::test]
async fn sqlite_restart_equals_the_book_that_stopped() {
    restart_equals_the_book_that_stopped(Backend::Sqlite).await;
}

#[actix::test]
async fn postgres_restart_equals_the_book_that_stopped() {
    restart_equals_the_book_that_stopped(Backend::Postgres).await;
}

async fn poisoned_book_is_replaced_within_a_second(backend: Backend) {
    use exchange_actors::book::actor::PoisonBook;
    use exchange_actors::supervisor::{
        BookDirectory, BookSpec, GetSupervisorReport, RestartReason, Supervisor, SupervisorSettings,
    };

    integration_tests::quiet_panics();
    let database = TestDatabase::create(backend).await;
    let store = database.store().await;
    let ports = BookPorts {
        journal: Arc::new(store.clone()),
        bus: InProcessBus::new(),
        clock: Arc::new(SystemClock),
    };
    let spec = BookSpec {
        symbol: "BTCUSDT".to_owned(),
        limits: btcusdt_limits(),
        settings: BookSettings::default(),
    };
    let directory = BookDirectory::new();
    let supervisor =
        Supervisor::start(vec![spec], ports, directory.clone(), SupervisorSettings::default())
            .await
            .expect("supervisor starts");
    let book = directory.book("BTCUSDT").expect("book registered");
    for chunk in commands(200).chunks(10) {
        book.send(SubmitCommands(chunk.to_vec())).await.unwrap().unwrap();
    }
    let before = book.send(GetBookView { depth_levels: 100 }).await.unwrap();

    let poisoned_at = std::time::Instant::now();
    let _panicked = book.send(PoisonBook).await;
    let replacement = loop {
        assert!(poisoned_at.elapsed() < std::time::Duration::from_secs(1), "not replaced in 1 s");
        if let Some(current) = directory.book("BTCUSDT")
            && current != book
            && current.connected()
        {
            break current;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    };
    let after = replacement.send(GetBookView { depth_levels: 100 }).await.unwrap();
    assert_eq!(after, before, "the replacement is the book that crashed, minus nothing");
    let report = supervisor.send(GetSupervisorReport).await.unwrap();
    assert_eq!(report.restarts.get(&RestartReason::Failed), Some(&1));
    let next =
        replacement.send(SubmitCommands(vec![limit(50_000, 1, Side::Buy, 4_000_000, 1_000)]));
    assert!(next.await.unwrap().is_ok(), "the replacement trades");
}

#[actix::test]
async fn sqlite_poisoned_book_is_replaced_within_a_second() {
    poisoned_book_is_replaced_within_a_second(Backend::Sqlite).await;
}

#[actix::test]
async fn postgres_poisoned_book_is_replaced_within_a_second() {
    poisoned_book_is_replaced_within_a_second(Backend::Postgres).await;
}
