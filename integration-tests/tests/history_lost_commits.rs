//! History commits are asynchronous on PostgreSQL (`synchronous_commit = off`), so a database
//! crash may lose history commits the writer already saw succeed. This test makes the loss
//! happen (it puts the history tables back as they were several commits earlier: the state a
//! crash leaves) under the real binary, and checks that no trade is lost for good:
//!
//! - while running: the writer's next commit finds the stored watermark behind its own and is
//!   refused (counted as a history write failure), and the writer refills the hole from the
//!   journal: every trade is stored once and every interval's klines count each trade once;
//! - across a restart: the same loss, then the server starts on it and catches up from the
//!   journal before serving.

use std::time::{Duration, Instant};

use integration_tests::db::{Backend, TestDatabase};
use integration_tests::http::{ExchangeProcess, HttpClient, Trader};
use integration_tests::prometheus::sample;
use sea_orm::{ConnectionTrait as _, Database, DatabaseConnection, DbBackend, Statement};
use tokio::runtime::Runtime;

const DEADLINE: Duration = Duration::from_secs(20);
/// The history tables, as the snapshot copies them (`consumer_watermarks` only the history's
/// rows).
const SNAPSHOT: [(&str, &str); 3] =
    [("trades", "TRUE"), ("klines", "TRUE"), ("consumer_watermarks", "consumer = 'history'")];

/// The test's own connection to the exchange's database, to snapshot and roll back the history.
struct HistoryTables {
    runtime: Runtime,
    db: DatabaseConnection,
}

impl HistoryTables {
    fn connect(url: &str) -> HistoryTables {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let db = runtime.block_on(Database::connect(url)).expect("PostgreSQL");
        HistoryTables { runtime, db }
    }

    fn execute(&self, sql: &str) {
        self.runtime.block_on(self.db.execute_unprepared(sql)).expect(sql);
    }

    fn number(&self, sql: &str) -> i64 {
        let statement = Statement::from_string(DbBackend::Postgres, sql);
        let row = self.runtime.block_on(self.db.query_one_raw(statement)).expect(sql);
        row.expect("a row").try_get_by_index(0).expect("a number")
    }

    /// Copies the history tables aside: the state a later crash will go back to.
    fn snapshot(&self) {
        for (table, rows) in SNAPSHOT {
            self.execute(&format!(
                "CREATE TABLE saved_{table} AS SELECT * FROM {table} WHERE {rows}"
            ));
        }
    }

    /// Puts the history tables back as the snapshot holds them, as one transaction: what the
    /// database shows after losing every history commit since.
    fn lose_commits_since_snapshot(&self) {
        let mut sql = String::from("BEGIN;");
        for (table, rows) in SNAPSHOT {
            sql += &format!(
                "DELETE FROM {table} WHERE {rows}; INSERT INTO {table} SELECT * FROM saved_{table};"
            );
        }
        self.execute(&(sql + "COMMIT;"));
    }

    /// Waits until `trades` holds `count` rows.
    fn await_trades(&self, count: i64) {
        let started = Instant::now();
        loop {
            let stored = self.number("SELECT count(*) FROM trades");
            if stored == count {
                return;
            }
            assert!(started.elapsed() < DEADLINE, "trades holds {stored} rows, not {count}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Every trade id 1..=count once, and each interval's klines count each trade once.
    fn assert_history_of(&self, count: i64) {
        let ids = "SELECT count(DISTINCT trade_id) FROM trades WHERE trade_id BETWEEN 1 AND ";
        assert_eq!(self.number(&format!("{ids}{count}")), count, "trade ids 1..={count}");
        assert_eq!(self.number("SELECT count(*) FROM trades"), count, "no other trade");
        let miscounted = "SELECT count(*) FROM (SELECT interval FROM klines GROUP BY interval \
                          HAVING sum(trade_count) <> (SELECT count(*) FROM trades)) miscounted";
        assert_eq!(self.number(miscounted), 0, "every interval's klines count each trade once");
        let intervals = self.number("SELECT count(DISTINCT interval) FROM klines");
        assert!(intervals > 1, "klines of every interval are written ({intervals})");
    }
}

/// One trade of 0.01 BTC: a resting bid, a market sell.
fn trade(client: &HttpClient, buyer: &Trader, seller: &Trader) {
    let bid = "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01&price=50000";
    client.place_order(buyer, bid);
    client.place_order(seller, "symbol=BTCUSDT&side=SELL&type=MARKET&quantity=0.01");
}

fn history_failures(client: &HttpClient) -> f64 {
    let series = "exchange_ledger_write_failures_total{component=\"history_writer\"}";
    sample(&client.metrics_text(), series).expect("the history failure counter is exported")
}

#[test]
fn history_commits_lost_by_the_database_are_refilled_from_the_journal() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let database = runtime.block_on(TestDatabase::create(Backend::Postgres));
    let server = ExchangeProcess::start(&database.url);
    let client = HttpClient::new(&server);
    let tables = HistoryTables::connect(&database.url);
    let buyer = client.funded_trader("USDT", "1000000");
    let seller = client.funded_trader("BTC", "10");

    for _ in 0..5 {
        trade(&client, &buyer, &seller);
    }
    tables.await_trades(5);
    tables.snapshot();
    for _ in 0..5 {
        trade(&client, &buyer, &seller);
    }
    tables.await_trades(10);
    assert_eq!(history_failures(&client), 0.0);

    // The database loses trades 6..=10; the writer, which committed them, learns it from the
    // next commit, which must not store trade 11 past the hole.
    tables.lose_commits_since_snapshot();
    assert_eq!(tables.number("SELECT count(*) FROM trades"), 5);
    trade(&client, &buyer, &seller);
    tables.await_trades(11);
    tables.assert_history_of(11);
    assert!(history_failures(&client) > 0.0, "the refused commit is counted");

    // The same loss found by a starting server.
    server.kill();
    tables.lose_commits_since_snapshot();
    let server = ExchangeProcess::start(&database.url);
    let client = HttpClient::new(&server);
    tables.await_trades(11);
    trade(&client, &buyer, &seller);
    tables.await_trades(12);
    tables.assert_history_of(12);
}
