//! Helpers for the tests against the real RabbitMQ (`TEST_AMQP_URL`, default
//! `amqp://guest:guest@127.0.0.1:5672/%2f`): unique topology names per test, a broker link to
//! declare, inspect and delete them, a journal writer producing book events, and a consumer
//! model that applies batches by per-symbol watermark (reading the journal on a gap) and
//! records every (symbol, seq) it applied.

use std::collections::BTreeMap;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use exchange::bus::AmqpBus;
use exchange::bus::amqp::Topology;
use exchange::store::Store;
use exchange_actors::model::{
    BookCommand, BookEvent, BookInput, EventKind, LevelChanged, Price, Qty, Side,
};
use exchange_actors::ports::{BookBatch, Epoch, EventBatch, Journal, book_stream, shard_stream};
use lapin::options::{BasicPublishOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties};
use tokio::sync::mpsc;

use crate::db::{Backend, TestDatabase};

pub fn amqp_url() -> String {
    std::env::var("TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".to_owned())
}

/// The consumer groups `exchange serve` subscribes with `shards` account shards: what a test
/// of the real binary on RabbitMQ cleans up.
pub fn server_consumer_groups(shards: u16) -> Vec<String> {
    let mut groups: Vec<String> = (0..shards).map(shard_stream).collect();
    groups.extend(["history", "depth", "ws-streams"].map(str::to_owned));
    groups
}

/// An exchange name no other test uses.
pub fn unique_exchange(test: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .subsec_nanos();
    format!("test.{test}.{}.{nanos}", std::process::id())
}

/// What every bus test starts from: a fresh database, its own exchange for `symbols` with the
/// consumer groups' queues declared (so the first messages already have a queue), a broker
/// link of the test's own, and the deletion of those objects at the end.
#[derive(Debug)]
pub struct BusFixture {
    pub store: Store,
    pub topology: Topology,
    pub admin: BrokerAdmin,
    // Dropped in this order: the link, the broker objects, the database.
    _cleanup: TopologyCleanup,
    _database: TestDatabase,
}

impl BusFixture {
    pub async fn new(test: &str, backend: Backend, symbols: &[&str], groups: &[&str]) -> Self {
        let database = TestDatabase::create(backend).await;
        let store = database.store().await;
        let symbols = symbols.iter().map(|symbol| (*symbol).to_owned()).collect();
        let topology = Topology::new(&unique_exchange(test), symbols);
        let cleanup = TopologyCleanup::new(&topology, groups);
        let admin = BrokerAdmin::connect().await;
        for group in groups {
            topology.declare_consumer_group(&admin.channel, group).await.expect("declare");
        }
        BusFixture { store, topology, admin, _cleanup: cleanup, _database: database }
    }

    pub fn exchange(&self) -> &str {
        &self.topology.exchange
    }

    /// A bus on this fixture's exchange and database, connecting to `url`.
    pub async fn bus(&self, url: &str) -> Arc<AmqpBus> {
        let symbols = self.topology.symbols.clone();
        AmqpBus::start(url, self.exchange(), symbols, self.store.clone()).await.expect("bus")
    }
}

/// A connection of the test's own, to set up and inspect the broker.
#[derive(Debug)]
pub struct BrokerAdmin {
    _connection: Connection,
    pub channel: Channel,
}

impl BrokerAdmin {
    pub async fn connect() -> BrokerAdmin {
        let connection = Connection::connect(&amqp_url(), ConnectionProperties::default())
            .await
            .expect("RabbitMQ is reachable (scripts/services.sh starts it)");
        let channel = connection.create_channel().await.expect("channel opens");
        BrokerAdmin { _connection: connection, channel }
    }

    /// Messages ready in `queue` now.
    pub async fn ready_messages(&self, queue: &str) -> u32 {
        let passive = QueueDeclareOptions { passive: true, ..QueueDeclareOptions::default() };
        let declared = self
            .channel
            .queue_declare(queue.into(), passive, FieldTable::default())
            .await
            .expect("the queue exists");
        declared.message_count()
    }

    /// Publishes `body` as is (no format, no confirm) to the exchange with `routing_key`.
    pub async fn publish_raw(&self, exchange: &str, routing_key: &str, body: &[u8]) {
        self.channel
            .basic_publish(
                exchange.into(),
                routing_key.into(),
                BasicPublishOptions::default(),
                body,
                BasicProperties::default(),
            )
            .await
            .expect("publish");
    }
}

/// Deletes a test's exchanges and queues when dropped, also when the test fails (on a
/// runtime of its own: the test's may be gone already). Best effort, bounded.
#[derive(Debug)]
pub struct TopologyCleanup {
    topology: Topology,
    consumers: Vec<String>,
}

impl TopologyCleanup {
    pub fn new(topology: &Topology, consumers: &[&str]) -> TopologyCleanup {
        let consumers = consumers.iter().map(|consumer| (*consumer).to_owned()).collect();
        TopologyCleanup { topology: topology.clone(), consumers }
    }
}

impl Drop for TopologyCleanup {
    fn drop(&mut self) {
        let topology = self.topology.clone();
        let consumers = std::mem::take(&mut self.consumers);
        let delete = async move {
            let url = amqp_url();
            let connecting = Connection::connect(&url, ConnectionProperties::default());
            let Ok(Ok(connection)) = tokio::time::timeout(CLEANUP_TIMEOUT, connecting).await else {
                return;
            };
            let Ok(channel) = connection.create_channel().await else { return };
            let consumers: Vec<&str> = consumers.iter().map(String::as_str).collect();
            let deleting = topology.delete(&channel, &consumers);
            if let Ok(Err(error)) = tokio::time::timeout(CLEANUP_TIMEOUT, deleting).await {
                eprintln!("deleting the test's broker objects failed: {error}");
            }
        };
        crate::block_on_own_runtime(delete);
    }
}

const CLEANUP_TIMEOUT: Duration = Duration::from_secs(10);

/// Writes book batches of level-change events to the journal, as a book would.
#[derive(Debug)]
pub struct JournalFeeder {
    store: Store,
    epochs: BTreeMap<String, Epoch>,
    last_seq: BTreeMap<String, u64>,
    last_input_seq: BTreeMap<String, u64>,
}

impl JournalFeeder {
    pub async fn new(store: Store, symbols: &[&str]) -> JournalFeeder {
        let mut epochs = BTreeMap::new();
        for symbol in symbols {
            let epoch = store.acquire_epoch(book_stream(symbol)).await.expect("epoch");
            epochs.insert((*symbol).to_owned(), epoch);
        }
        JournalFeeder { store, epochs, last_seq: BTreeMap::new(), last_input_seq: BTreeMap::new() }
    }

    /// Journals `count` new events of `symbol` in one batch and returns them as the bus
    /// batch a book would publish.
    pub async fn journal(&mut self, symbol: &str, count: u64) -> EventBatch {
        let mut batches = self.journal_many(symbol, 1, count).await;
        batches.pop().expect("one batch")
    }

    /// Journals `batches` new batches of `count` events each of `symbol` in one transaction
    /// and returns them as the bus batches a book would publish.
    pub async fn journal_many(
        &mut self,
        symbol: &str,
        batches: u64,
        count: u64,
    ) -> Vec<EventBatch> {
        let mut journaled = Vec::new();
        let mut published = Vec::new();
        for _ in 0..batches {
            let (batch, events) = self.next_batch(symbol, count);
            journaled.push(batch);
            published.push(EventBatch { symbol: symbol.into(), events: events.into() });
        }
        self.store.append_book_batches(journaled).await.expect("journal append");
        published
    }

    /// The next batch of `symbol`: one input and `count` events.
    fn next_batch(&mut self, symbol: &str, count: u64) -> (BookBatch, Vec<BookEvent>) {
        let last = self.last_seq.entry(symbol.to_owned()).or_insert(0);
        let first = *last + 1;
        *last += count;
        let events: Vec<BookEvent> = (first..=*last).map(level_changed).collect();
        let input_seq = self.last_input_seq.entry(symbol.to_owned()).or_insert(0);
        *input_seq += 1;
        let input = BookInput {
            input_seq: *input_seq,
            ts_ns: first,
            command: BookCommand::SetReferencePrice(Price(100)),
        };
        let batch = BookBatch {
            symbol: symbol.to_owned(),
            epoch: self.epochs[symbol],
            inputs: vec![input],
            events: events.clone().into(),
            last_event_seq: *last,
            snapshot: None,
        };
        (batch, events)
    }

    pub fn last_seq(&self, symbol: &str) -> u64 {
        self.last_seq.get(symbol).copied().unwrap_or(0)
    }
}

fn level_changed(seq: u64) -> BookEvent {
    let changed = LevelChanged { side: Side::Buy, price: Price(100), qty: Qty(seq) };
    BookEvent { seq, ts_ns: seq, kind: EventKind::LevelChanged(changed) }
}

/// A consumer as the exchange's are: per symbol a watermark; a batch at or below it is
/// dropped, one after a gap makes it read the journal first.
#[derive(Debug, Default)]
pub struct WatermarkConsumer {
    pub watermarks: BTreeMap<String, u64>,
    /// Every (symbol, seq) applied, in the order applied.
    pub applied: BTreeMap<String, Vec<u64>>,
    pub gaps: u64,
    pub duplicates_dropped: u64,
}

impl WatermarkConsumer {
    pub async fn apply(&mut self, batch: &EventBatch, journal: &Store) {
        let symbol = batch.symbol.to_string();
        let watermark = self.watermarks.get(&symbol).copied().unwrap_or(0);
        let first = batch.first_seq().expect("bus batches have events");
        if first > watermark + 1 {
            self.gaps += 1;
            let missing = journal
                .book_events_after(symbol.clone(), watermark, 100_000)
                .await
                .expect("journal read");
            self.apply_events(&symbol, &missing);
        }
        self.apply_events(&symbol, &batch.events);
    }

    fn apply_events(&mut self, symbol: &str, events: &[BookEvent]) {
        let watermark = self.watermarks.entry(symbol.to_owned()).or_insert(0);
        for event in events {
            if event.seq <= *watermark {
                self.duplicates_dropped += 1;
                continue;
            }
            assert_eq!(event.seq, *watermark + 1, "{symbol}: applied in order, no hole");
            *watermark = event.seq;
            self.applied.entry(symbol.to_owned()).or_default().push(event.seq);
        }
    }

    /// Receives and applies until every symbol reaches its `targets` seq; false on timeout.
    pub async fn consume_until(
        &mut self,
        receiver: &mut mpsc::Receiver<EventBatch>,
        journal: &Store,
        targets: &BTreeMap<String, u64>,
        timeout: Duration,
    ) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        while !self.reached(targets) {
            match tokio::time::timeout_at(deadline, receiver.recv()).await {
                Ok(Some(batch)) => self.apply(&batch, journal).await,
                Ok(None) => panic!("the bus closed the subscription"),
                Err(_) => return false,
            }
        }
        true
    }

    pub fn reached(&self, targets: &BTreeMap<String, u64>) -> bool {
        targets
            .iter()
            .all(|(symbol, seq)| self.watermarks.get(symbol).copied().unwrap_or(0) >= *seq)
    }

    /// Each symbol's applied seqs are exactly 1..=target, each once, in order.
    pub fn assert_exactly_once(&self, name: &str, targets: &BTreeMap<String, u64>) {
        for (symbol, target) in targets {
            let applied = self.applied.get(symbol).map(Vec::as_slice).unwrap_or_default();
            let expected: Vec<u64> = (1..=*target).collect();
            assert_eq!(applied, expected.as_slice(), "{name} {symbol}: every seq once, in order");
        }
    }
}

/// The value of the counter `series` (name and labels, as rendered) in Prometheus text; 0
/// when absent.
pub fn counter_value(rendered: &str, series: &str) -> u64 {
    rendered
        .lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or(0)
}

/// A Prometheus recorder for this test process (nextest runs each test in its own), to read
/// the bus's counters.
pub fn install_recorder() -> metrics_exporter_prometheus::PrometheusHandle {
    metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .expect("the first recorder of this test process")
}

/// How long the broker may take to stop or start.
pub const BROKER_WAIT: Duration = Duration::from_secs(60);

/// `rabbitmqctl <action>`, bounded by `timeout(1)`; whether it succeeded.
pub fn rabbitmqctl(action: &str) -> bool {
    let status = Command::new("timeout")
        .args(["60", "rabbitmqctl", "-q", action])
        .status()
        .expect("timeout and rabbitmqctl run");
    status.success()
}

pub fn broker_port_open() -> bool {
    let address = "127.0.0.1:5672".parse().expect("address");
    std::net::TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok()
}

/// Waits until the broker accepts connections (or panics after [`BROKER_WAIT`]).
pub fn wait_for_broker(open: bool) {
    let deadline = Instant::now() + BROKER_WAIT;
    while broker_port_open() != open {
        assert!(Instant::now() < deadline, "broker port open={open} within {BROKER_WAIT:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `rabbitmqctl <action>`, then waits until the port is `open`; whether the action succeeded.
pub async fn switch_broker(action: &'static str, open: bool) -> bool {
    let switching = tokio::task::spawn_blocking(move || {
        let succeeded = rabbitmqctl(action);
        wait_for_broker(open);
        succeeded
    });
    switching.await.expect("the switch does not panic")
}

/// Starts the broker's application again when dropped, so a failing test leaves it running.
#[derive(Debug)]
pub struct BrokerRunningGuard;

impl Drop for BrokerRunningGuard {
    fn drop(&mut self) {
        if !broker_port_open() {
            rabbitmqctl("start_app");
            let deadline = Instant::now() + BROKER_WAIT;
            while !broker_port_open() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}
