//! `scripts/backup-db.sh` then `scripts/restore-db.sh` into an empty database, on PostgreSQL
//! and on SQLite: the exchange started on the restored database shows every account's
//! balances and open orders as before, and the database holds the same balances, ledger and
//! trades, with balances equal to the ledger's replay and the same clean reconciliation
//! (`GET /admin/reconcile`).
//!
//! The backup is taken while the exchange runs (online), after its trades have settled.

use std::process::Command;
use std::time::{Duration, Instant};

use exchange::store::Store;
use integration_tests::db::{Backend, TestDatabase};
use integration_tests::http::{ExchangeProcess, HttpClient, Trader};
use integration_tests::ledger_checks::{
    balances_conserved, balances_equal_ledger_replay, keyed_totals, trades_settled_exactly_once,
};
use integration_tests::workspace_root;
use reqwest::Method;
use serde_json::Value;

const SETTLE_DEADLINE: Duration = Duration::from_secs(30);

/// What must survive: every balance, the ledger per asset, the trades.
const SNAPSHOT_SQL: [&str; 4] = [
    "SELECT 'user:' || CAST(account_id AS TEXT) || '|' || asset, \
     CAST(available AS BIGINT) FROM balances \
     UNION ALL SELECT 'held:' || CAST(account_id AS TEXT) || '|' || asset, CAST(held AS BIGINT) \
     FROM balances ORDER BY 1",
    "SELECT CAST(shard AS TEXT) || '|' || account || '|' || asset, \
     CAST(available + held AS BIGINT) FROM system_balances ORDER BY 1",
    "SELECT asset, CAST(SUM(amount) AS BIGINT) FROM ledger_entries GROUP BY asset ORDER BY 1",
    "SELECT 'entries', CAST(COUNT(*) AS BIGINT) FROM ledger_entries",
];

async fn snapshot(store: &Store) -> Vec<Vec<(String, i64)>> {
    let mut tables = Vec::new();
    for sql in SNAPSHOT_SQL {
        tables.push(keyed_totals(store, sql).await.expect("snapshot query"));
    }
    tables
}

fn script(name: &str, args: &[&str]) {
    let output = Command::new(workspace_root().join("scripts").join(name))
        .args(args)
        .output()
        .expect("the script runs");
    assert!(
        output.status.success(),
        "{name} {args:?}: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// `GET /admin/reconcile` without its time: anomalies and what was checked.
fn reconciliation(client: &HttpClient) -> Value {
    let (status, mut report) = client.raw(
        reqwest::Method::GET,
        "/admin/reconcile",
        &[("X-Admin-Token", integration_tests::http::ADMIN_TOKEN)],
        None,
    );
    assert_eq!(status, 200, "{report}");
    report.as_object_mut().unwrap().remove("atMs");
    report
}

/// What a trader sees: balances and open orders.
fn view(client: &HttpClient, trader: &Trader) -> (Value, Value) {
    let (status, account) = client.signed(trader, Method::GET, "/api/v3/account", "");
    assert_eq!(status, 200, "{account}");
    let (status, open) = client.signed(trader, Method::GET, "/api/v3/openOrders", "symbol=BTCUSDT");
    assert_eq!(status, 200, "{open}");
    (account["balances"].clone(), open)
}

async fn settled(store: &Store) {
    let started = Instant::now();
    loop {
        let checks = async {
            trades_settled_exactly_once(store, &["BTCUSDT"]).await?;
            balances_equal_ledger_replay(store).await
        };
        match checks.await {
            Ok(()) => return,
            Err(why) if started.elapsed() > SETTLE_DEADLINE => panic!("not settled: {why}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

fn backup_then_restore_gives_identical_state(backend: Backend, extension: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let original = runtime.block_on(TestDatabase::create(backend));
    let server = ExchangeProcess::start(&original.url);
    let client = HttpClient::new(&server);
    let buyer = client.funded_trader("USDT", "100000");
    let seller = client.funded_trader("BTC", "2");
    client.place_order(
        &buyer,
        "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.5&price=50000",
    );
    client.place_order(
        &seller,
        "symbol=BTCUSDT&side=SELL&type=LIMIT&timeInForce=GTC&quantity=0.2&price=50000",
    );
    // Rests: the restored book must hold it.
    client.place_order(
        &seller,
        "symbol=BTCUSDT&side=SELL&type=LIMIT&timeInForce=GTC&quantity=0.3&price=51000",
    );
    let store = runtime.block_on(Store::connect(&original.url)).expect("connect");
    runtime.block_on(settled(&store));
    let before_views = [view(&client, &buyer), view(&client, &seller)];
    let before = runtime.block_on(snapshot(&store));
    assert!(before[3][0].1 > 0, "the ledger has entries");
    let reconciled_before = reconciliation(&client);
    assert_eq!(reconciled_before["anomalyCount"], 0, "{reconciled_before}");

    let directory = tempfile::tempdir().unwrap();
    let backup = directory.path().join(format!("exchange.{extension}"));
    let backup = backup.to_str().unwrap();
    script("backup-db.sh", &[&original.url, backup]);
    server.kill();

    let restored = runtime.block_on(TestDatabase::create(backend));
    script("restore-db.sh", &[backup, &restored.url]);
    let server = ExchangeProcess::start(&restored.url);
    let client = HttpClient::new(&server);
    let after_views = [view(&client, &buyer), view(&client, &seller)];
    assert_eq!(after_views, before_views, "balances and open orders as before the backup");
    assert_eq!(after_views[1].1.as_array().map(Vec::len), Some(1), "the resting ask is back");
    assert_eq!(reconciliation(&client), reconciled_before, "the same reconciliation");
    let restored_store = runtime.block_on(Store::connect(&restored.url)).expect("connect");
    let after = runtime.block_on(snapshot(&restored_store));
    assert_eq!(after, before, "balances, ledger sums and entry count");
    runtime.block_on(async {
        balances_equal_ledger_replay(&restored_store).await.expect("balances equal the ledger");
        balances_conserved(&restored_store).await.expect("every asset sums to zero");
    });
    // Restoring over a database that holds tables is refused.
    let refused = Command::new(workspace_root().join("scripts/restore-db.sh"))
        .args([backup, &restored.url])
        .output()
        .expect("the script runs");
    assert!(!refused.status.success(), "a restore over a live database is refused");
}

#[test]
fn postgres_backup_restores_into_an_empty_database() {
    backup_then_restore_gives_identical_state(Backend::Postgres, "dump");
}

#[test]
fn sqlite_backup_restores_into_a_new_file() {
    backup_then_restore_gives_identical_state(Backend::Sqlite, "db");
}
