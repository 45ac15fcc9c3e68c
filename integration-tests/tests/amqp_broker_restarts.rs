//! The RabbitMQ bus while the broker restarts: `rabbitmqctl stop_app` / `start_app` three
//! times while two symbols are journaled and published; afterwards both consumer groups have
//! applied every (symbol, seq) exactly once, in order. The relay and the consumers reconnect
//! by themselves; nothing the journal holds is lost.
//!
//! Bounded: every wait has a deadline and the whole test ends within about two minutes. It
//! leaves the broker running whatever happens (a guard runs `start_app` on the way out). It
//! stops the shared broker, so it runs alone with the other AMQP tests (nextest group
//! `rabbitmq`, .config/nextest.toml).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use exchange_actors::ports::EventBus;
use integration_tests::amqp::{
    BrokerRunningGuard, BusFixture, JournalFeeder, WatermarkConsumer, amqp_url, counter_value,
    install_recorder, switch_broker,
};
use integration_tests::db::Backend;

const SYMBOLS: [&str; 2] = ["BTCUSDT", "ETHUSDT"];
const RESTARTS: usize = 3;
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_lost_or_doubled_across_three_broker_restarts() {
    let started = Instant::now();
    // The bus's reconnect log lines, shown when the test fails.
    tracing_subscriber::fmt().with_env_filter("exchange=info,lapin=warn").with_test_writer().init();
    let metrics = install_recorder();
    let groups = ["history", "shard:0"];
    let fixture = BusFixture::new("restarts", Backend::Postgres, &SYMBOLS, &groups).await;
    // Dropped before the fixture: the broker runs again when its objects are deleted.
    let _broker_running = BrokerRunningGuard;
    let store = fixture.store.clone();
    let bus = fixture.bus(&amqp_url()).await;
    let receivers: Vec<_> = groups.iter().map(|group| bus.subscribe(group)).collect();

    // Load: batches journaled and published continuously until the restarts are over.
    let restarting = Arc::new(AtomicBool::new(true));
    let publisher = {
        let (bus, store, restarting) = (bus.clone(), store.clone(), restarting.clone());
        tokio::spawn(async move {
            let mut feeder = JournalFeeder::new(store, &SYMBOLS).await;
            let mut round = 0_u64;
            while restarting.load(Ordering::Acquire) {
                for symbol in SYMBOLS {
                    bus.publish(feeder.journal(symbol, 1 + round % 5).await);
                }
                round += 1;
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            feeder
        })
    };
    // Consumers apply as they go (the subscriber channels are bounded).
    let consumers: Vec<_> = receivers
        .into_iter()
        .map(|mut receiver| {
            let (store, restarting) = (store.clone(), restarting.clone());
            tokio::spawn(async move {
                let mut consumer = WatermarkConsumer::default();
                while restarting.load(Ordering::Acquire) {
                    let wait = Duration::from_millis(100);
                    if let Ok(Some(batch)) = tokio::time::timeout(wait, receiver.recv()).await {
                        consumer.apply(&batch, &store).await;
                    }
                }
                (consumer, receiver)
            })
        })
        .collect();

    for restart in 0..RESTARTS {
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        assert!(switch_broker("stop_app", false).await, "stop_app {restart}");
        tokio::time::sleep(Duration::from_millis(1_000)).await;
        assert!(switch_broker("start_app", true).await, "start_app {restart}");
    }
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    restarting.store(false, Ordering::Release);
    let feeder = publisher.await.unwrap();
    let targets: BTreeMap<String, u64> =
        SYMBOLS.iter().map(|symbol| ((*symbol).to_owned(), feeder.last_seq(symbol))).collect();
    assert!(targets.values().all(|last| *last > 500), "load was published: {targets:?}");

    for (group, consuming) in groups.iter().zip(consumers) {
        let (mut consumer, mut receiver) = consuming.await.unwrap();
        let done = consumer.consume_until(&mut receiver, &store, &targets, DELIVERY_TIMEOUT).await;
        assert!(done, "{group} got everything after the restarts: {consumer:?}");
        consumer.assert_exactly_once(group, &targets);
        eprintln!(
            "{group}: {} gaps read from the journal, {} duplicates dropped",
            consumer.gaps, consumer.duplicates_dropped
        );
    }
    // The restarts really cut the bus off: the relay and both consumers reconnected each time.
    let rendered = metrics.render();
    for (role, at_least) in [("relay", RESTARTS), ("consumer", RESTARTS * groups.len())] {
        let reconnects =
            counter_value(&rendered, &format!("exchange_bus_reconnects_total{{role=\"{role}\"}}"));
        assert!(
            reconnects >= at_least as u64,
            "{role} reconnected {reconnects} times:\n{rendered}"
        );
    }
    assert!(started.elapsed() < Duration::from_secs(120), "took {:?}", started.elapsed());
}
