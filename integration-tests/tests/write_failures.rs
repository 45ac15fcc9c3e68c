//! The funds-safety counters move on real failures: the real binary on PostgreSQL, each
//! failure made by a trigger that has the database refuse inserts into one table.
//!
//! - `admin_audit` refused: a deposit is refused (nothing done) and
//!   `exchange_audit_write_failures_total` rises; once the table accepts again the deposit
//!   runs and `exchange_admin_operations_total{operation="deposit",outcome="ok"}` rises;
//! - `trades`, `ledger_entries`, `book_batches`, `shard_batches` refused: the history writer,
//!   the projector, a book's journal batch, an account shard's commit fail, and
//!   `exchange_ledger_write_failures_total{component}` rises for each; while the history
//!   writer cannot write, its consumer lag on the symbol is above 0 (the shards' stays 0) and
//!   returns to 0 once it can.

use std::time::{Duration, Instant};

use integration_tests::db::{Backend, TestDatabase};
use integration_tests::http::{ADMIN_TOKEN, ExchangeProcess, HttpClient, Trader};
use integration_tests::prometheus::sample;
use reqwest::Method;
use sea_orm::{ConnectionTrait as _, Database, DatabaseConnection};
use tokio::runtime::Runtime;

const DEADLINE: Duration = Duration::from_secs(15);

/// The test's own connection to the exchange's database, to add and drop triggers.
struct Saboteur {
    runtime: Runtime,
    db: DatabaseConnection,
}

impl Saboteur {
    fn connect(url: &str) -> Saboteur {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let db = runtime.block_on(Database::connect(url)).expect("PostgreSQL");
        runtime
            .block_on(db.execute_unprepared(
                "CREATE FUNCTION refuse_insert() RETURNS trigger AS $$ \
                 BEGIN RAISE EXCEPTION 'inserts refused by the test'; END $$ LANGUAGE plpgsql",
            ))
            .expect("function");
        Saboteur { runtime, db }
    }

    fn refuse_inserts(&self, table: &str) {
        let sql = format!(
            "CREATE TRIGGER refuse_{table} BEFORE INSERT ON {table} \
             FOR EACH ROW EXECUTE FUNCTION refuse_insert()"
        );
        self.runtime.block_on(self.db.execute_unprepared(&sql)).expect("trigger");
    }

    fn allow_inserts(&self, table: &str) {
        let sql = format!("DROP TRIGGER refuse_{table} ON {table}");
        self.runtime.block_on(self.db.execute_unprepared(&sql)).expect("drop trigger");
    }
}

/// `POST /admin/deposits` of `amount` USDT: the status.
fn deposit(client: &HttpClient, trader: &Trader, amount: &str) -> u16 {
    let body =
        format!(r#"{{"accountId":{},"asset":"USDT","amount":"{amount}"}}"#, trader.account_id);
    let headers = [("X-Admin-Token", ADMIN_TOKEN)];
    let body = Some(("application/json", body.into_bytes()));
    client.raw(Method::POST, "/admin/deposits", &headers, body).0
}

fn value(client: &HttpClient, series: &str) -> f64 {
    sample(&client.metrics_text(), series).unwrap_or_else(|| panic!("{series} is exported"))
}

/// Waits until `series` is exported with a value that `holds`.
fn await_until(client: &HttpClient, series: &str, holds: impl Fn(f64) -> bool) {
    let started = Instant::now();
    loop {
        let now = sample(&client.metrics_text(), series);
        if now.is_some_and(&holds) {
            return;
        }
        assert!(started.elapsed() < DEADLINE, "{series} stayed at {now:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Waits until `series` exceeds `floor` (the value before the failure was caused).
fn await_above(client: &HttpClient, series: &str, floor: f64) {
    await_until(client, series, |now| now > floor);
}

fn failures(component: &str) -> String {
    format!("exchange_ledger_write_failures_total{{component=\"{component}\"}}")
}

#[test]
fn failed_audit_and_ledger_writes_are_counted_by_component() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let database = runtime.block_on(TestDatabase::create(Backend::Postgres));
    let server = ExchangeProcess::start(&database.url);
    let client = HttpClient::new(&server);
    let saboteur = Saboteur::connect(&database.url);
    let buyer = client.funded_trader("USDT", "100000");
    let seller = client.funded_trader("BTC", "1");
    let deposits_ok = "exchange_admin_operations_total{operation=\"deposit\",outcome=\"ok\"}";
    let audit_failures = "exchange_audit_write_failures_total";
    for component in ["shard_commit", "book_batch", "projector", "history_writer"] {
        assert_eq!(value(&client, &failures(component)), 0.0, "{component} starts at 0");
    }

    // The audit trail refuses: the deposit is not done, and counted as an audit failure.
    let (audited, done) = (value(&client, audit_failures), value(&client, deposits_ok));
    saboteur.refuse_inserts("admin_audit");
    assert_eq!(deposit(&client, &buyer, "1"), 503);
    saboteur.allow_inserts("admin_audit");
    assert_eq!(value(&client, audit_failures), audited + 1.0);
    assert_eq!(value(&client, deposits_ok), done, "a refused deposit is not an operation done");
    client.expect_balance(&buyer, "USDT", ("100000.00000000", "0.00000000"));
    assert_eq!(deposit(&client, &buyer, "1"), 200);
    assert_eq!(value(&client, deposits_ok), done + 1.0);

    // The history writer cannot write a trade.
    saboteur.refuse_inserts("trades");
    let bid = "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01&price=50000";
    client.place_order(&buyer, bid);
    client.place_order(&seller, "symbol=BTCUSDT&side=SELL&type=MARKET&quantity=0.01");
    await_above(&client, &failures("history_writer"), 0.0);
    // Meanwhile the history lags behind the book (it rebuilt from its table), settlement not.
    let history_lag = "exchange_consumer_lag_events{consumer=\"history\",symbol=\"BTCUSDT\"}";
    let shards_lag = "exchange_consumer_lag_events{consumer=\"account_shards\",symbol=\"BTCUSDT\"}";
    await_until(&client, history_lag, |lag| lag > 0.0);
    await_until(&client, shards_lag, |lag| lag == 0.0);
    saboteur.allow_inserts("trades");
    // The next book event shows the history its gap; it catches up from the journal.
    client.place_order(&buyer, bid);
    await_until(&client, history_lag, |lag| lag == 0.0);

    // The projector cannot write ledger rows (the deposit itself is committed and answered).
    saboteur.refuse_inserts("ledger_entries");
    assert_eq!(deposit(&client, &buyer, "1"), 200);
    await_above(&client, &failures("projector"), 0.0);
    saboteur.allow_inserts("ledger_entries");

    // A book cannot journal its batch: the order is refused.
    saboteur.refuse_inserts("book_batches");
    let (status, _) =
        client.try_signed(&buyer, Method::POST, "/api/v3/order", bid).expect("an answer");
    assert!(status >= 400, "an order its book could not journal is refused: {status}");
    await_above(&client, &failures("book_batch"), 0.0);
    saboteur.allow_inserts("book_batches");

    // An account shard cannot commit: the deposit is refused.
    saboteur.refuse_inserts("shard_batches");
    assert_ne!(deposit(&client, &seller, "1"), 200, "a deposit its shard could not commit");
    await_above(&client, &failures("shard_commit"), 0.0);
    saboteur.allow_inserts("shard_batches");
}
