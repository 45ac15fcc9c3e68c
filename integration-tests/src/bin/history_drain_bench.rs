//! History backlog drain: `--events` trade events (default 2,000,000) of two symbols wait in the
//! history consumer group's RabbitMQ queue, as after the writer was down for a while; then the
//! history writer starts, as the server starts it, and the time until both symbols' stored
//! watermarks reach their last event is the drain time. Each run uses a fresh PostgreSQL
//! database and exchange; every trade must be in `trades` at the end.
//!
//! Messages hold `--message-events` events each (a book batch; the outbox relay sends at most
//! 1,000 per message when it publishes a backlog from the journal).
//!
//! `cargo run --release -p integration-tests --bin history_drain_bench`

// Rates are display figures, not money.
#![allow(clippy::float_arithmetic)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use clap::Parser;
use exchange::bus::amqp::codec;
use exchange::bus::amqp::topology::Topology;
use exchange::config::Config;
use exchange::history::{self, EVENT_REPLAY_COUNT_DEFAULT, HISTORY_CONSUMER};
use exchange_actors::model::{
    AccountId, BookEvent, EventKind, FeeRate, OrderId, Price, Qty, Side, SymbolCode, TradeExecuted,
    TradeId,
};
use integration_tests::amqp::{BusFixture, amqp_url};
use integration_tests::db::Backend;
use integration_tests::workspace_root;
use lapin::BasicProperties;
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use sea_orm::ConnectionTrait;

#[derive(Debug, Parser)]
struct Args {
    #[arg(long, default_value_t = 2_000_000)]
    events: u64,
    #[arg(long, default_value_t = 100)]
    message_events: u64,
    #[arg(long, default_value_t = 3)]
    runs: u64,
}

const SYMBOLS: [&str; 2] = ["BTCUSDT", "ETHUSDT"];
/// Messages published between waits for the broker's confirms.
const CONFIRM_WINDOW_MESSAGES: usize = 500;
/// Longest a drain may take before the run is declared failed.
const DRAIN_TIME_MAX: Duration = Duration::from_secs(600);
const ACCOUNTS: u64 = 10_000;

/// Trade `n` (1-based) of a symbol: seq `n`, trade id `n`, one trade per millisecond.
fn traded(n: u64) -> BookEvent {
    let trade = TradeExecuted {
        trade_id: TradeId(n),
        price: Price(10_000 + i64::try_from(n % 50).expect("small")),
        qty: Qty(1 + n % 7),
        taker_side: if n.is_multiple_of(2) { Side::Buy } else { Side::Sell },
        maker_order_id: OrderId(2 * n),
        maker_account_id: AccountId(1 + n * 7_919 % ACCOUNTS),
        taker_order_id: OrderId(2 * n + 1),
        taker_account_id: AccountId(1 + n * 104_729 % ACCOUNTS),
        maker_open_qty: Qty(0),
        maker_fee: FeeRate::ZERO,
        taker_fee: FeeRate::ZERO,
    };
    let ts_ns = (1_700_000_000_000 + n) * 1_000_000;
    BookEvent { seq: n, ts_ns, kind: EventKind::Traded(trade) }
}

/// Publishes `per_symbol` trades of each symbol, interleaved message by message, and waits
/// for every confirm.
async fn publish_backlog(fixture: &BusFixture, per_symbol: u64, message_events: u64) {
    let channel = &fixture.admin.channel;
    channel.confirm_select(ConfirmSelectOptions::default()).await.expect("confirms");
    let mut pending = Vec::new();
    let mut first = 1;
    while first <= per_symbol {
        let last = Ord::min(first + message_events - 1, per_symbol);
        let events: Vec<BookEvent> = (first..=last).map(traded).collect();
        for symbol in SYMBOLS {
            let body = codec::encode(symbol, &events);
            let routing_key = Topology::routing_key(symbol);
            let properties = BasicProperties::default().with_delivery_mode(2);
            let publishing = channel.basic_publish(
                fixture.exchange().into(),
                routing_key.as_str().into(),
                BasicPublishOptions { mandatory: true, ..BasicPublishOptions::default() },
                &body,
                properties,
            );
            pending.push(publishing.await.expect("publish"));
        }
        if pending.len() >= CONFIRM_WINDOW_MESSAGES {
            for confirm in pending.drain(..) {
                assert!(confirm.await.expect("confirm").is_ack(), "the broker refused a message");
            }
        }
        first = last + 1;
    }
    for confirm in pending {
        assert!(confirm.await.expect("confirm").is_ack(), "the broker refused a message");
    }
}

/// One run: backlog, then the writer drains it; returns the drain time.
async fn run(args: &Args, markets: &BTreeMap<SymbolCode, exchange_actors::account::MarketSpec>) {
    let per_symbol = args.events / SYMBOLS.len() as u64;
    let fixture =
        BusFixture::new("history_drain", Backend::Postgres, &SYMBOLS, &[HISTORY_CONSUMER]).await;
    let published = Instant::now();
    publish_backlog(&fixture, per_symbol, args.message_events).await;
    let queue = fixture.topology.consumer_queue(HISTORY_CONSUMER);
    let ready = fixture.admin.ready_messages(&queue).await;
    println!(
        "backlog: {} events in {ready} messages, published in {:.1} s",
        per_symbol * SYMBOLS.len() as u64,
        published.elapsed().as_secs_f64()
    );

    let bus = fixture.bus(&amqp_url()).await;
    let started = Instant::now();
    let _history = history::start(
        fixture.store.clone(),
        bus.as_ref(),
        markets.clone(),
        EVENT_REPLAY_COUNT_DEFAULT,
    )
    .await
    .expect("history starts");
    loop {
        let mut behind = 0;
        for symbol in markets.keys() {
            let stored = fixture
                .store
                .consumer_watermark(HISTORY_CONSUMER, *symbol)
                .await
                .expect("watermark");
            behind += per_symbol - stored;
        }
        if behind == 0 {
            break;
        }
        assert!(started.elapsed() < DRAIN_TIME_MAX, "{behind} events still undrained");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let drained = started.elapsed();
    let events = per_symbol * SYMBOLS.len() as u64;
    let rows = fixture
        .store
        .connection()
        .query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SELECT count(*) AS n FROM trades",
        ))
        .await
        .expect("count")
        .expect("a row");
    let stored: i64 = rows.try_get("", "n").expect("n");
    assert_eq!(u64::try_from(stored).expect("count"), events, "every trade is stored once");
    println!(
        "drained {events} events in {:.2} s: {:.0} events/s",
        drained.as_secs_f64(),
        events as f64 / drained.as_secs_f64()
    );
}

#[actix::main]
async fn main() {
    let args = Args::parse();
    // The writer's warnings (e.g. a failed commit) are shown; RUST_LOG selects more.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let config = Config::load(&workspace_root().join("config/default.toml")).expect("config");
    let markets: BTreeMap<SymbolCode, _> = config
        .markets()
        .expect("markets")
        .into_iter()
        .filter(|market| SYMBOLS.contains(&market.ledger.symbol.as_str()))
        .map(|market| (market.ledger.symbol, market.ledger))
        .collect();
    assert_eq!(markets.len(), SYMBOLS.len(), "config/default.toml lists both symbols");
    for run_index in 1..=args.runs {
        println!("run {run_index} of {}", args.runs);
        run(&args, &markets).await;
    }
}
