//! The production profile (`EXCHANGE_PROFILE=production`) against the real binary: a default
//! token or a short secret keeps `serve` from starting, naming the setting; `check-config`
//! lists every setting at fault; and a running production exchange reconciles every period,
//! finds a balance edited straight in the database, raises the metric and switches itself to
//! cancel-only (audited as done by `reconciler`): new orders are refused, cancels work; the
//! chaos runner's fault route is refused. On
//! PostgreSQL in development the same edit is reported on demand and nothing switches.

use std::process::Command;
use std::time::{Duration, Instant};

use integration_tests::db::{Backend, TestDatabase};
use integration_tests::http::{ExchangeProcess, HttpClient, sqlite_url};
use integration_tests::{exchange_binary, workspace_root};
use reqwest::Method;
use sea_orm::{ConnectionTrait as _, Database};
use serde_json::Value;

const ADMIN_TOKEN: &str = "prod-admin-7f3a9c1e5b2d8f4a6c0e";
const RECONCILE_PERIOD_MS: u64 = 500;
const RECONCILE_PERIOD: &str = "500";

/// A production environment with nothing wrong.
fn production() -> Vec<(&'static str, &'static str)> {
    vec![
        ("EXCHANGE_PROFILE", "production"),
        ("INTERNAL_TOKEN", "internal-5e8d2c7a9b1f3e6d"),
        ("AUTH_TOKEN_SECRET", "3f9a7c2e5b8d1f4a6c0e9b2d7a5c8e1f"),
        ("AUTH_TOKEN_TTL", "900"),
        ("ADMIN_TOKEN", ADMIN_TOKEN),
        ("EVENT_REPLAY_COUNT", "1000"),
        ("DB_SSL_MODE", "require"),
        ("DB_MAX_OPEN_CONNS", "16"),
    ]
}

fn with(changes: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    let mut environment = production();
    for (name, value) in changes {
        environment.retain(|(existing, _)| existing != name);
        environment.push((name, value));
    }
    environment
}

/// Runs `exchange <args>` in `environment` (and nothing else of the profile's variables).
fn run(args: &[&str], environment: &[(&str, &str)], database_url: &str) -> (bool, String) {
    let output = Command::new(exchange_binary())
        .args(args)
        .current_dir(workspace_root())
        .env_remove("EXCHANGE_CONFIG")
        .env("EXCHANGE_LISTEN", "127.0.0.1:0")
        .env("DATABASE_URL", database_url)
        .envs(environment.iter().copied())
        .output()
        .expect("the exchange binary runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[test]
fn a_default_token_or_a_short_secret_refuses_to_start_naming_the_setting() {
    let directory = tempfile::tempdir().expect("temp dir");
    let url = sqlite_url(&directory);
    let default_token = with(&[("ADMIN_TOKEN", "test-admin-token")]);
    let (started, output) = run(&["serve"], &default_token, &url);
    assert!(!started, "{output}");
    assert!(output.contains("ADMIN_TOKEN is a default value"), "{output}");
    let short_secret = with(&[("AUTH_TOKEN_SECRET", "only-twenty-chars-xx")]);
    let (started, output) = run(&["serve"], &short_secret, &url);
    assert!(!started, "{output}");
    assert!(output.contains("AUTH_TOKEN_SECRET is 20 characters; at least 32"), "{output}");
    assert!(!output.contains("only-twenty-chars-xx"), "a secret is never printed: {output}");
}

#[test]
fn check_config_prints_everything_that_is_wrong() {
    let directory = tempfile::tempdir().expect("temp dir");
    let mut broken = with(&[("DB_SSL_MODE", "disable"), ("INTERNAL_TOKEN", "changeme")]);
    broken.retain(|(name, _)| *name != "DB_MAX_OPEN_CONNS");
    let (valid, output) = run(&["check-config"], &broken, &sqlite_url(&directory));
    assert!(!valid, "{output}");
    for line in [
        "environment: INTERNAL_TOKEN is a default value",
        "environment: DB_SSL_MODE is \"disable\"",
        "environment: DB_MAX_OPEN_CONNS is not set",
    ] {
        assert!(output.contains(line), "{line:?} missing from {output}");
    }
    let (valid, output) = run(&["check-config"], &production(), &sqlite_url(&directory));
    assert!(valid, "{output}");
}

fn gauge(client: &HttpClient, name: &str) -> f64 {
    let text = client.metrics_text();
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or(0.0)
}

fn admin_get(client: &HttpClient, path: &str) -> Value {
    let (status, body) = client.raw(Method::GET, path, &[("X-Admin-Token", ADMIN_TOKEN)], None);
    assert_eq!(status, 200, "{path}: {body}");
    body
}

#[test]
fn an_edited_balance_is_found_within_a_period_and_pauses_new_orders_but_not_cancels() {
    let directory = tempfile::tempdir().expect("temp dir");
    let url = sqlite_url(&directory);
    let environment = with(&[("RECONCILE_PERIOD_MS", RECONCILE_PERIOD)]);
    let server = ExchangeProcess::start_with_env(&url, &environment);
    let client = HttpClient::new(&server).with_admin_token(ADMIN_TOKEN);
    let trader = client.funded_trader("USDT", "1000");
    let buy = "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.001&price=40000";
    let (status, resting) = client.signed(&trader, Method::POST, "/api/v3/order", buy);
    assert_eq!(status, 200, "{resting}");
    let clean = admin_get(&client, "/admin/reconcile");
    assert_eq!(clean["anomalyCount"], 0, "{clean}");
    assert!(clean["balancesChecked"].as_u64().is_some_and(|count| count >= 2), "{clean}");
    assert_eq!(gauge(&client, "exchange_reconciliation_anomalies"), 0.0);
    // The chaos runner's fault route (in this test build of the binary) is refused here.
    let stall = br#"{"symbol":"BTCUSDT","stallMs":1000}"#.to_vec();
    let headers = [("X-Admin-Token", ADMIN_TOKEN)];
    let path = "/admin/faults/stall-book";
    let (status, refused) =
        client.raw(Method::POST, path, &headers, Some(("application/json", stall)));
    assert_eq!(status, 403, "{refused}");

    // An operator (or a bug) edits a balance row behind the ledger's back.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let db = Database::connect(url.as_str()).await.expect("connect");
        let sql = format!(
            "UPDATE balances SET available = available + 100000000 \
             WHERE account_id = {} AND asset = 'USDT'",
            trader.account_id
        );
        let edited = db.execute_unprepared(&sql).await.expect("update");
        assert_eq!(edited.rows_affected(), 1);
    });
    let edited_at = Instant::now();
    while gauge(&client, "exchange_reconciliation_anomalies") == 0.0 {
        assert!(edited_at.elapsed() < Duration::from_secs(10), "no anomaly found in 10 s");
        std::thread::sleep(Duration::from_millis(20));
    }
    println!(
        "anomaly found {} ms after the edit (period {RECONCILE_PERIOD_MS} ms)",
        edited_at.elapsed().as_millis()
    );

    // The report names the balance (before the cancel rewrites that balance row).
    let report = admin_get(&client, "/admin/reconcile");
    let balance = format!("user:{}|available|USDT", trader.account_id);
    let anomalies = report["anomalies"].as_array().expect("anomalies");
    assert!(
        anomalies.iter().any(|anomaly| anomaly["kind"] == "BALANCE_NOT_LEDGER"
            && anomaly["balance"] == balance.as_str()),
        "{report}"
    );
    // Cancel-only: new orders refused, the cancel works.
    let another = "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.001&price=39000";
    let (status, refused) = client.signed(&trader, Method::POST, "/api/v3/order", another);
    assert_eq!((status, refused["code"].as_i64()), (400, Some(-2010)), "{refused}");
    assert!(refused["msg"].as_str().expect("msg").contains("CANCEL_ONLY"), "{refused}");
    let cancel = format!("symbol=BTCUSDT&orderId={}", resting["orderId"]);
    let (status, canceled) = client.signed(&trader, Method::DELETE, "/api/v3/order", &cancel);
    assert_eq!((status, canceled["status"].as_str()), (200, Some("CANCELED")), "{canceled}");
    assert_eq!(gauge(&client, "exchange_trading_mode"), 1.0);

    // The switch is audited as the reconciler's.
    let audit = admin_get(&client, "/admin/audit?limit=50");
    let switched = audit.as_array().expect("records").iter().any(|record| {
        record["action"] == "switch_global"
            && record["detail"].as_str().is_some_and(|detail| {
                detail.contains("\"by\":\"reconciler\"") && detail.contains("CANCEL_ONLY")
            })
    });
    assert!(switched, "{audit}");
}

/// On PostgreSQL (the snapshot is a REPEATABLE READ transaction) and in the development
/// profile: the edit is reported on demand, but nothing switches by itself.
#[test]
fn on_postgres_in_development_an_edit_is_reported_and_nothing_switches() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let database = runtime.block_on(TestDatabase::create(Backend::Postgres));
    let server = ExchangeProcess::start(&database.url);
    let client = HttpClient::new(&server);
    let trader = client.funded_trader("BTC", "2");
    let headers = [("X-Admin-Token", integration_tests::http::ADMIN_TOKEN)];
    let (status, clean) = client.raw(Method::GET, "/admin/reconcile", &headers, None);
    assert_eq!((status, clean["anomalyCount"].as_u64()), (200, Some(0)), "{clean}");
    runtime.block_on(async {
        let db = Database::connect(database.url.as_str()).await.expect("connect");
        let sql = format!(
            "UPDATE balances SET available = available - 1 WHERE account_id = {} AND asset = 'BTC'",
            trader.account_id
        );
        assert_eq!(db.execute_unprepared(&sql).await.expect("update").rows_affected(), 1);
    });
    let (status, report) = client.raw(Method::GET, "/admin/reconcile", &headers, None);
    assert_eq!((status, report["anomalyCount"].as_u64()), (200, Some(2)), "{report}");
    assert_eq!(report["switchedToCancelOnly"], false, "{report}");
    let sell = "symbol=BTCUSDT&side=SELL&type=LIMIT&timeInForce=GTC&quantity=0.001&price=90000";
    assert_eq!(client.signed(&trader, Method::POST, "/api/v3/order", sell).0, 200);
}
