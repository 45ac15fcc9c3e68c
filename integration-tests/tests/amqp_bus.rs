//! The RabbitMQ event bus against the real broker: fan-out of two symbols to two consumer
//! groups with every (symbol, seq) applied once and in order; a group new to the broker gets
//! every batch published after `subscribe` returned; batches the relay's handoff could not
//! hold are read from the journal; a poison message dead-lettered
//! (counted, logged) without blocking the good ones behind it; and the outbox: events
//! journaled while the broker is unreachable are delivered once it is reachable.
//!
//! Each test uses its own exchange and queues and deletes them at the end. The tests of this
//! file and of `amqp_broker_restarts` run one at a time (nextest group `rabbitmq`), since the
//! latter stops the shared broker.

use std::collections::BTreeMap;
use std::time::Duration;

use exchange::bus::AmqpBus;
use exchange::bus::amqp::{HANDOFF_BATCHES_MAX, Topology, cursor_name};
use exchange_actors::ports::EventBus;
use integration_tests::amqp::{
    BusFixture, JournalFeeder, TopologyCleanup, WatermarkConsumer, amqp_url, counter_value,
    install_recorder,
};
use integration_tests::db::Backend;

const SYMBOLS: [&str; 2] = ["BTCUSDT", "ETHUSDT"];
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(30);

fn targets(feeder: &JournalFeeder) -> BTreeMap<String, u64> {
    SYMBOLS.iter().map(|symbol| ((*symbol).to_owned(), feeder.last_seq(symbol))).collect()
}

/// Journals and publishes `batches` batches per symbol of 1 to 7 events, symbols interleaved.
async fn journal_and_publish(feeder: &mut JournalFeeder, bus: &AmqpBus, batches: u64) {
    for round in 0..batches {
        for symbol in SYMBOLS {
            bus.publish(feeder.journal(symbol, 1 + round % 7).await);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_symbols_reach_two_consumer_groups_once_and_in_order() {
    let groups = ["history", "shard:0"];
    let fixture = BusFixture::new("fanout", Backend::Sqlite, &SYMBOLS, &groups).await;
    let store = &fixture.store;
    let bus = fixture.bus(&amqp_url()).await;
    let mut receivers: Vec<_> = groups.iter().map(|group| bus.subscribe(group)).collect();
    let mut feeder = JournalFeeder::new(store.clone(), &SYMBOLS).await;
    journal_and_publish(&mut feeder, &bus, 300).await;
    let targets = targets(&feeder);
    assert!(targets.values().all(|last| *last > 1_000), "{targets:?}");

    for (group, receiver) in groups.iter().zip(receivers.iter_mut()) {
        let mut consumer = WatermarkConsumer::default();
        let done = consumer.consume_until(receiver, store, &targets, DELIVERY_TIMEOUT).await;
        assert!(done, "{group} got everything within {DELIVERY_TIMEOUT:?}: {consumer:?}");
        consumer.assert_exactly_once(group, &targets);
        assert_eq!(consumer.gaps, 0, "{group}: the bus itself lost or reordered nothing");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_new_to_the_broker_gets_every_batch_published_after_subscribing() {
    let group = "history";
    let fixture = BusFixture::new("new-group", Backend::Sqlite, &SYMBOLS, &[]).await;
    let _cleanup = TopologyCleanup::new(&fixture.topology, &[group]);
    let store = &fixture.store;
    let bus = fixture.bus(&amqp_url()).await;
    let mut feeder = JournalFeeder::new(store.clone(), &SYMBOLS).await;
    // Let the relay connect and go idle first: then nothing but `subscribe` declares the queue.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut receiver = bus.subscribe(group);
    journal_and_publish(&mut feeder, &bus, 5).await;
    let targets = targets(&feeder);
    let mut consumer = WatermarkConsumer::default();
    let done = consumer.consume_until(&mut receiver, store, &targets, DELIVERY_TIMEOUT).await;
    assert!(done, "everything arrives: {consumer:?}");
    consumer.assert_exactly_once(group, &targets);
    assert_eq!(consumer.gaps, 0, "the first batches were not lost as unroutable");
}

/// On one thread the relay cannot take anything while the test hands batches over, so the
/// handoff overflows for sure; what did not fit comes from the journal (the relay reads it on
/// the overflow flag, or at the latest on its idle sweep), none lost, none doubled.
#[tokio::test(flavor = "current_thread")]
async fn batches_beyond_the_handoff_are_read_from_the_journal() {
    let metrics = install_recorder();
    let group = "history";
    let fixture = BusFixture::new("overflow", Backend::Sqlite, &SYMBOLS, &[group]).await;
    let store = &fixture.store;
    let bus = fixture.bus(&amqp_url()).await;
    let mut receiver = bus.subscribe(group);
    // Connected and idle first, so its start-up read of the journal is not what delivers.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut feeder = JournalFeeder::new(store.clone(), &SYMBOLS).await;
    let per_symbol = u64::try_from(HANDOFF_BATCHES_MAX / 2 + 100).unwrap();
    let mut batches = Vec::new();
    for symbol in SYMBOLS {
        batches.extend(feeder.journal_many(symbol, per_symbol, 2).await);
    }
    assert!(batches.len() > HANDOFF_BATCHES_MAX);
    for batch in batches {
        bus.publish(batch);
    }
    let overflowed = counter_value(&metrics.render(), "exchange_bus_relay_overflow_total");
    assert!(overflowed >= 200, "{overflowed} batches did not fit the handoff");
    let targets = targets(&feeder);
    let mut consumer = WatermarkConsumer::default();
    let done = consumer.consume_until(&mut receiver, store, &targets, DELIVERY_TIMEOUT).await;
    assert!(done, "everything arrives: {consumer:?}");
    consumer.assert_exactly_once(group, &targets);
    assert_eq!(consumer.gaps, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_message_is_dead_lettered_and_the_queue_moves_on() {
    let metrics = install_recorder();
    let group = "history";
    let fixture = BusFixture::new("poison", Backend::Sqlite, &SYMBOLS, &[group]).await;
    let (store, admin) = (&fixture.store, &fixture.admin);
    let bus = fixture.bus(&amqp_url()).await;
    let mut receiver = bus.subscribe(group);
    let mut feeder = JournalFeeder::new(store.clone(), &SYMBOLS).await;
    journal_and_publish(&mut feeder, &bus, 20).await;
    let mut consumer = WatermarkConsumer::default();
    let before = targets(&feeder);
    assert!(consumer.consume_until(&mut receiver, store, &before, DELIVERY_TIMEOUT).await);

    let routing_key = Topology::routing_key("BTCUSDT");
    admin.publish_raw(fixture.exchange(), &routing_key, b"\x01not postcard at all").await;
    admin.publish_raw(fixture.exchange(), &routing_key, b"").await;
    journal_and_publish(&mut feeder, &bus, 20).await;
    let after = targets(&feeder);
    let done = consumer.consume_until(&mut receiver, store, &after, DELIVERY_TIMEOUT).await;
    assert!(done, "the good batches behind the poison arrive: {consumer:?}");
    consumer.assert_exactly_once(group, &after);
    assert_eq!(consumer.gaps, 0);

    let dead_letter = fixture.topology.dead_letter();
    let deadline = tokio::time::Instant::now() + DELIVERY_TIMEOUT;
    while admin.ready_messages(&dead_letter).await < 2 {
        assert!(tokio::time::Instant::now() < deadline, "both poison messages dead-lettered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(admin.ready_messages(&dead_letter).await, 2);
    let rendered = metrics.render();
    assert!(rendered.contains("exchange_bus_dead_lettered_total 2"), "{rendered}");
}

/// A TCP forwarder to the broker, listening on `port` from now on.
async fn forward_to_broker(port: u16) -> tokio::task::JoinHandle<()> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.expect("port free");
    tokio::spawn(async move {
        loop {
            let Ok((mut client, _)) = listener.accept().await else { return };
            tokio::spawn(async move {
                let Ok(mut broker) = tokio::net::TcpStream::connect("127.0.0.1:5672").await else {
                    return;
                };
                let _closed = tokio::io::copy_bidirectional(&mut client, &mut broker).await;
            });
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_journaled_while_the_broker_is_unreachable_are_delivered_when_it_is() {
    let group = "history";
    let fixture = BusFixture::new("outbox", Backend::Postgres, &SYMBOLS, &[group]).await;
    let store = &fixture.store;
    // A port nothing listens on yet: the bus sees the broker as down.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let bus = fixture.bus(&format!("amqp://guest:guest@127.0.0.1:{port}/%2f")).await;
    let mut receiver = bus.subscribe(group);
    let mut feeder = JournalFeeder::new(store.clone(), &SYMBOLS).await;
    journal_and_publish(&mut feeder, &bus, 200).await;
    let targets = targets(&feeder);
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let queue = fixture.topology.consumer_queue(group);
    assert_eq!(fixture.admin.ready_messages(&queue).await, 0, "nothing reached the broker");
    let cursor = cursor_name(fixture.exchange());
    let cursors = store.consumer_watermarks(&cursor).await.unwrap();
    assert!(cursors.is_empty(), "nothing confirmed, nothing stored: {cursors:?}");

    let forwarder = forward_to_broker(port).await;
    let mut consumer = WatermarkConsumer::default();
    let done = consumer.consume_until(&mut receiver, store, &targets, DELIVERY_TIMEOUT).await;
    assert!(done, "everything journaled arrives once the broker is reachable: {consumer:?}");
    consumer.assert_exactly_once(group, &targets);
    assert_eq!(consumer.gaps, 0);
    // The relay stores its cursor once the broker confirmed.
    let deadline = tokio::time::Instant::now() + DELIVERY_TIMEOUT;
    while store.consumer_watermarks(&cursor).await.unwrap() != targets {
        assert!(tokio::time::Instant::now() < deadline, "cursors stored within the timeout");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop((receiver, bus));
    forwarder.abort();
}
