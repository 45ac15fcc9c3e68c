//! Liquidation of `BTCUSDT_PERP` (20x, maintenance 2.5%) through the real binary on SQLite (the
//! journaled LIQUIDATING across a restart on PostgreSQL too), the index pushed to the internal
//! endpoint as its only source.
//!
//! Alice opens 1 BTC long at 50,000 on 3,000 USDT (she pays a 10 USDT maker fee: her wallet is
//! 2,990, her liquidation price 48,215.38, her bankruptcy price 47,010); the counterparty is
//! Carol, short 1. Then, one server each:
//! - the index falls to 48,000 with Dave bidding 47,600: the Liquidator's reduce-only IOC sells
//!   Alice's long into Dave's bid through the book, and she keeps what was left;
//! - nobody bids: Alice is LIQUIDATING; the index goes stale and nothing is liquidated past the
//!   deadline (the pause gauge says why), a `kill -9` and restart keep her LIQUIDATING, and
//!   once the index is fresh again the insurance fund takes her position at 47,010;
//! - the index falls to 46,000, past her bankruptcy price, with the insurance fund empty: the
//!   fund cannot take it, so Carol's short is auto-deleveraged at 47,010.
//!
//! Each run ends with nobody LIQUIDATING and a clean reconciliation. Alice (id 1) and Carol
//! (id 3) share account shard 1 of the default 2, as ADL needs (it closes against positions of
//! the liquidated account's shard); Bob (id 2) only makes the ids line up.

use std::time::{Duration, Instant};

use integration_tests::db::{Backend, TestDatabase};
use integration_tests::http::{ExchangeProcess, HttpClient, Trader};
use integration_tests::perpetual::{
    INTERNAL_TOKEN, IndexPusher, WAIT, amount_is, minor, order, position, reconciliation_is_clean,
    usdt, wait_position,
};
use integration_tests::workspace_root;
use serde_json::Value;

/// The LIQUIDATING deadline of these servers: long enough for the index to go stale first
/// (its staleness limit is 2 s), short for a test.
const DEADLINE_MS: u64 = 6_000;

/// A server on `database_url` with the short deadline (its configuration in `directory`).
fn start(directory: &tempfile::TempDir, database_url: &str) -> ExchangeProcess {
    let config =
        std::fs::read_to_string(workspace_root().join("config/default.toml")).unwrap().replacen(
            "liquidating_deadline_ms = 10000",
            &format!("liquidating_deadline_ms = {DEADLINE_MS}"),
            1,
        );
    let path = directory.path().join("liquidation.toml");
    std::fs::write(&path, config).unwrap();
    ExchangeProcess::start_with(
        database_url,
        &["--config", path.to_str().unwrap()],
        &[("INTERNAL_TOKEN", INTERNAL_TOKEN)],
    )
}

/// The sum of every sample of `name` whose labels contain each of `labels` (`key="value"`).
fn metric(client: &HttpClient, name: &str, labels: &[&str]) -> f64 {
    client
        .metrics_text()
        .lines()
        .filter(|line| {
            line.strip_prefix(name).is_some_and(|rest| rest.starts_with(['{', ' ']))
                && labels.iter().all(|label| line.contains(label))
        })
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

fn liquidating(client: &HttpClient) -> f64 {
    metric(client, "exchange_transient_orders", &["state=\"liquidating\""])
}

/// Waits until `check` holds.
fn wait_for(what: &str, check: impl Fn() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !check() {
        assert!(Instant::now() < deadline, "waited {WAIT:?} for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

struct Market {
    alice: Trader,
    carol: Trader,
    dave: Trader,
}

/// One server with Alice's long open.
struct Run {
    directory: tempfile::TempDir,
    database: TestDatabase,
    server: ExchangeProcess,
    client: HttpClient,
    pusher: Option<IndexPusher>,
    market: Market,
}

impl Run {
    fn open(backend: Backend) -> Run {
        let runtime =
            tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let database = runtime.block_on(TestDatabase::create(backend));
        let directory = tempfile::tempdir().unwrap();
        let server = start(&directory, &database.url);
        let client = HttpClient::new(&server);
        let pusher = Some(IndexPusher::start(&client, "50000"));
        let market = open_positions(&client);
        Run { directory, database, server, client, pusher, market }
    }

    /// `kill -9` and a restart on the same database.
    fn restart(&mut self) {
        std::mem::replace(&mut self.server, start(&self.directory, &self.database.url)).kill();
        self.client = HttpClient::new(&self.server);
    }

    fn push(&self, price: &str) {
        self.pusher.as_ref().expect("pushing").set(price);
    }

    /// Nobody stays LIQUIDATING, one liquidation ended by `outcome`, the ledger reconciles.
    fn finish(self, outcome: &str) {
        let client = &self.client;
        wait_for("nobody LIQUIDATING", || liquidating(client) == 0.0);
        let ended = |outcome: &str| {
            metric(client, "exchange_liquidations_total", &[&format!("outcome=\"{outcome}\"")])
        };
        let others: f64 = ["book", "insurance", "adl"]
            .iter()
            .filter(|other| **other != outcome)
            .map(|other| ended(other))
            .sum();
        assert_eq!((ended(outcome), others), (1.0, 0.0), "liquidations ended by {outcome}");
        reconciliation_is_clean(client);
        drop(self.pusher);
        drop(self.server);
        drop(self.database);
    }
}

/// Alice long 1 at 50,000 on 3,000 USDT against Carol's short, the index at 50,000.
fn open_positions(client: &HttpClient) -> Market {
    let alice = client.funded_trader("USDT", "3000");
    let _bob = client.funded_trader("USDT", "100000");
    let carol = client.funded_trader("USDT", "100000");
    let dave = client.funded_trader("USDT", "100000");
    assert_eq!((alice.account_id % 2, carol.account_id % 2), (1, 1), "one shard");
    let (status, answer) =
        order(client, &alice, "side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=50000");
    assert_eq!(status, 200, "{answer}");
    let (status, answer) =
        order(client, &carol, "side=SELL&type=LIMIT&timeInForce=GTC&quantity=1&price=50000");
    assert_eq!(status, 200, "{answer}");
    wait_position(client, &alice, "alice long", |p| amount_is(p, "1"));
    // Marks flow (so the index is fresh and liquidations are not paused).
    wait_position(client, &alice, "a mark", |p| p["markPrice"] == "50000");
    assert_eq!(usdt(client, &alice), (minor("2990"), 0));
    Market { alice, carol, dave }
}

fn flat(position: &Value) -> bool {
    amount_is(position, "0")
}

#[test]
fn a_price_fall_liquidates_through_the_book() {
    let run = Run::open(Backend::Sqlite);
    let (client, Market { alice, dave, .. }) = (&run.client, &run.market);
    let (status, answer) =
        order(client, dave, "side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=47600");
    assert_eq!(status, 200, "{answer}");
    // Still above her liquidation price: nothing happens.
    run.push("48300");
    std::thread::sleep(Duration::from_secs(1));
    assert!(amount_is(&position(client, alice), "1"));
    run.push("48000");
    let closed = wait_position(client, alice, "alice closed through the book", flat);
    // Sold at Dave's 47,600: -2,400 realized, a 23.8 USDT taker fee; the rest is still hers.
    assert_eq!(closed["realizedPnl"], "-2400");
    assert_eq!(usdt(client, alice), (minor("2990") - minor("2400") - minor("23.8"), 0));
    wait_position(client, dave, "dave bought it", |p| amount_is(p, "1"));
    wait_for("nobody LIQUIDATING", || liquidating(client) == 0.0);
    // While LIQUIDATING she could only reduce; now she may trade again (inside the band
    // around the last trade, 47,600).
    let (status, answer) =
        order(client, alice, "side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.001&price=47000");
    assert_eq!(status, 200, "{answer}");
    run.finish("book");
}

#[test]
fn sqlite_no_liquidity_the_insurance_fund_takes_it_at_the_deadline_never_on_a_stale_index() {
    insurance_at_the_deadline_never_on_a_stale_index(Backend::Sqlite);
}

#[test]
fn postgres_no_liquidity_the_insurance_fund_takes_it_at_the_deadline_never_on_a_stale_index() {
    insurance_at_the_deadline_never_on_a_stale_index(Backend::Postgres);
}

fn insurance_at_the_deadline_never_on_a_stale_index(backend: Backend) {
    let mut run = Run::open(backend);
    let paused = |client: &HttpClient| {
        metric(client, "exchange_liquidations_paused", &["symbol=\"BTCUSDT_PERP\""])
    };
    assert_eq!(paused(&run.client), 0.0);
    run.push("48000");
    wait_for("alice LIQUIDATING", || liquidating(&run.client) == 1.0);
    let entered = Instant::now();
    // Only reduce-only orders while LIQUIDATING.
    let alice = &run.market.alice.clone();
    let (status, answer) =
        order(&run.client, alice, "side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.001&price=49000");
    assert_eq!((status, answer["code"].as_i64()), (400, Some(-2010)), "{answer}");
    // The index goes stale before her deadline: liquidations pause and say why.
    drop(run.pusher.take());
    wait_for("liquidations paused", || paused(&run.client) == 1.0);
    assert!(entered.elapsed() < Duration::from_millis(DEADLINE_MS), "stale before the deadline");
    std::thread::sleep(Duration::from_millis(DEADLINE_MS) + Duration::from_secs(1));
    assert!(amount_is(&position(&run.client, alice), "1"), "nothing liquidated on a stale index");
    assert_eq!(liquidating(&run.client), 1.0);
    // kill -9 and a restart: she is still LIQUIDATING (journaled), still paused.
    run.restart();
    wait_for("LIQUIDATING restored", || liquidating(&run.client) == 1.0);
    assert!(amount_is(&position(&run.client, alice), "1"));
    // Fresh again: past her deadline, the fund takes her long at the bankruptcy price 47,010.
    run.pusher = Some(IndexPusher::start(&run.client, "48000"));
    let closed = wait_position(&run.client, alice, "the fund took alice's long", flat);
    assert_eq!(closed["realizedPnl"], "-2990");
    assert_eq!(usdt(&run.client, alice), (0, 0));
    assert_eq!(paused(&run.client), 0.0);
    run.finish("insurance");
}

#[test]
fn past_the_bankruptcy_price_with_an_empty_fund_the_opposite_position_is_deleveraged() {
    let run = Run::open(Backend::Sqlite);
    let (client, Market { alice, carol, .. }) = (&run.client, &run.market);
    let carol_before = usdt(client, carol).0;
    assert_eq!(metric(client, "exchange_insurance_fund_balance_minor_units", &[]), 0.0);
    run.push("46000");
    let closed = wait_position(client, alice, "alice deleveraged", flat);
    assert_eq!(closed["realizedPnl"], "-2990");
    // Carol's short closed at Alice's bankruptcy price, 47,010: +2,990, not the 4,000 the
    // mark would give.
    let carol_position = wait_position(client, carol, "carol deleveraged", flat);
    assert_eq!(carol_position["realizedPnl"], "2990");
    assert_eq!(usdt(client, carol).0, carol_before + minor("2990"));
    let adl = metric(client, "exchange_adl_events_total", &["symbol=\"BTCUSDT_PERP\""]);
    assert_eq!(adl, 1.0);
    run.finish("adl");
}
