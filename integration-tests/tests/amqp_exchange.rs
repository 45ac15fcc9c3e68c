//! The real `exchange serve` with `AMQP_URL` set, on PostgreSQL: orders crossing over HTTP
//! settle in both accounts and reach the trade history through RabbitMQ (the account shards
//! and the history writer consume the broker's queues; the relay publishes from the journal),
//! and after a `kill -9` and a restart on the same database and exchange, a new trade
//! settles the same way.

use std::time::{Duration, Instant};

use exchange::bus::amqp::Topology;
use integration_tests::amqp::{
    BrokerAdmin, TopologyCleanup, amqp_url, counter_value, server_consumer_groups, unique_exchange,
};
use integration_tests::db::{Backend, TestDatabase};
use integration_tests::http::{ExchangeProcess, HttpClient, Trader};
use reqwest::Method;
use serde_json::Value;

/// `config/default.toml`'s account shards and symbols.
const SHARDS: u16 = 2;
const SYMBOLS: [&str; 2] = ["BTCUSDT", "ETHUSDT"];

fn order(client: &HttpClient, trader: &Trader, params: &str) -> Value {
    let (status, body) = client.signed(trader, Method::POST, "/api/v3/order", params);
    assert_eq!(status, 200, "{params}: {body}");
    body
}

/// Buyer bids 0.01 BTC at 50000; the seller's ask crosses it.
fn cross(client: &HttpClient, buyer: &Trader, seller: &Trader) {
    let bid = "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01&price=50000";
    assert_eq!(order(client, buyer, bid)["status"], "NEW");
    let ask = "symbol=BTCUSDT&side=SELL&type=LIMIT&timeInForce=GTC&quantity=0.01&price=50000";
    assert_eq!(order(client, seller, ask)["status"], "FILLED");
}

/// Waits until each (trader, asset) has `free` and nothing locked: settled from the book's
/// events, which reach the account shards through RabbitMQ.
fn expect_free<const N: usize>(client: &HttpClient, expected: [(&Trader, &str, &str); N]) {
    for (trader, asset, free) in expected {
        client.expect_balance(trader, asset, (free, "0.00000000"));
    }
}

/// Waits until the history serves `count` trades of BTCUSDT.
fn await_trades(client: &HttpClient, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let url = format!("{}/api/v3/trades?symbol=BTCUSDT", client.base);
        let trades: Value = reqwest::blocking::get(url).expect("trades").json().expect("JSON");
        let written = trades.as_array().expect("a list").len();
        if written == count {
            return;
        }
        assert!(written < count && Instant::now() < deadline, "{written} trades of {count}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn trades_settle_and_reach_history_through_rabbitmq_across_a_restart() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let database = runtime.block_on(TestDatabase::create(Backend::Postgres));
    let exchange = unique_exchange("serve");
    let symbols = SYMBOLS.iter().map(|symbol| (*symbol).to_owned()).collect();
    let topology = Topology::new(&exchange, symbols);
    let groups = server_consumer_groups(SHARDS);
    let groups: Vec<&str> = groups.iter().map(String::as_str).collect();
    let _cleanup = TopologyCleanup::new(&topology, &groups);
    let url = amqp_url();
    let environment = [("AMQP_URL", url.as_str()), ("AMQP_EXCHANGE", exchange.as_str())];

    let server = ExchangeProcess::start_with_env(&database.url, &environment);
    let client = HttpClient::new(&server);
    let buyer = client.funded_trader("USDT", "1000");
    let seller = client.funded_trader("BTC", "1");
    cross(&client, &buyer, &seller);
    expect_free(&client, [(&buyer, "USDT", "500.00000000"), (&buyer, "BTC", "0.00999900")]);
    expect_free(&client, [(&seller, "BTC", "0.99000000"), (&seller, "USDT", "499.50000000")]);
    await_trades(&client, 1);
    let metrics = client.metrics_text();
    assert!(counter_value(&metrics, "exchange_bus_published_messages_total") > 0, "{metrics}");
    // Every consumer group of the server has its queue on the broker.
    runtime.block_on(async {
        let admin = BrokerAdmin::connect().await;
        for group in &groups {
            admin.ready_messages(&topology.consumer_queue(group)).await;
        }
    });
    server.kill();

    let server = ExchangeProcess::start_with_env(&database.url, &environment);
    let client = HttpClient::new(&server);
    await_trades(&client, 1);
    cross(&client, &buyer, &seller);
    expect_free(&client, [(&buyer, "USDT", "0.00000000"), (&buyer, "BTC", "0.01999800")]);
    expect_free(&client, [(&seller, "BTC", "0.98000000"), (&seller, "USDT", "999.00000000")]);
    await_trades(&client, 2);
    drop(server);
}

/// `exchange_bus_queue_depth{queue}` reads the broker: three undecodable messages published to
/// the exchange are dead-lettered by the consumer groups that take them, and the dead-letter
/// queue's gauge (sampled every 5 s) shows what the broker counts.
#[test]
fn the_queue_depth_gauge_shows_what_waits_in_the_broker() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let directory = tempfile::tempdir().unwrap();
    let exchange = unique_exchange("queue-depth");
    let topology = Topology::new(&exchange, Vec::new());
    let groups = server_consumer_groups(SHARDS);
    let groups: Vec<&str> = groups.iter().map(String::as_str).collect();
    let _cleanup = TopologyCleanup::new(&topology, &groups);
    let url = amqp_url();
    let environment = [("AMQP_URL", url.as_str()), ("AMQP_EXCHANGE", exchange.as_str())];
    let database = integration_tests::http::sqlite_url(&directory);
    let server = ExchangeProcess::start_with_env(&database, &environment);
    let client = HttpClient::new(&server);
    let admin = runtime.block_on(BrokerAdmin::connect());
    // Every group's queue exists once the server is up (the relay declares them).
    client.funded_trader("USDT", "1");
    for _ in 0..3 {
        runtime.block_on(admin.publish_raw(&exchange, &Topology::routing_key("BTCUSDT"), b"?"));
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    let series = "exchange_bus_queue_depth{queue=\"dead-letter\"}";
    loop {
        let in_broker = runtime.block_on(admin.ready_messages(&topology.dead_letter()));
        let gauge = integration_tests::prometheus::sample(&client.metrics_text(), series);
        if in_broker >= 3 && gauge == Some(f64::from(in_broker)) {
            break;
        }
        assert!(Instant::now() < deadline, "broker {in_broker}, gauge {gauge:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}
