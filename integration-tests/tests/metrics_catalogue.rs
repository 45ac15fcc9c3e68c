//! Every metric the shipped dashboards (`config/grafana/dashboards/*.json`) and alert rules
//! (`config/prometheus/alerts.yml`) query is exported by a running server at `/metrics`, and
//! `/health` and `/ready` answer as the runbook says.
//!
//! The server is the real binary on SQLite and RabbitMQ (the production bus, so the broker's
//! queue depths are exported too); before scraping it pays makers a rebate, trades (so
//! per-symbol histograms, consumer lags and the subsidy have values), refuses a wrong admin
//! token (auth failures), and serves a WebSocket depth stream that gets a push and then closes
//! (push latency, disconnects).
//! Names a later issue adds are listed in [`PENDING`] with that issue: the test fails if one
//! of them is exported already (take it off the list) or no longer used (likewise).

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use exchange::bus::amqp::Topology;
use futures_util::{SinkExt as _, StreamExt as _};
use integration_tests::amqp::{TopologyCleanup, amqp_url, server_consumer_groups, unique_exchange};
use integration_tests::http::{ADMIN_TOKEN, ExchangeProcess, HttpClient, sqlite_url};
use integration_tests::prometheus::{histogram_quantile, metric_names, sample};
use integration_tests::workspace_root;
use reqwest::Method;
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

/// Queried by the shipped files, exported once the named work lands.
const PENDING: [(&str, &str); 0] = [];
const SCRAPE_DEADLINE: Duration = Duration::from_secs(20);
/// Account shards in `config/default.toml` (one consumer group each on the broker).
const SHARDS: u16 = 2;

/// The metric names in a PromQL expression: identifiers of our two families.
fn names_in(expression: &str) -> BTreeSet<String> {
    expression
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .filter(|token| token.starts_with("exchange_") || token.starts_with("process_"))
        .map(str::to_owned)
        .collect()
}

/// Every string under an `expr` or `query` key (panel targets, template variables).
fn queries(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(object) => {
            for (key, inner) in object {
                match (key.as_str(), inner) {
                    ("expr" | "query" | "definition", Value::String(text)) => {
                        found.push(text.clone());
                    }
                    _ => queries(inner, found),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| queries(item, found)),
        _ => {}
    }
}

/// Every dashboard: file name and parsed JSON.
fn dashboards() -> Vec<(String, Value)> {
    let directory = workspace_root().join("config/grafana/dashboards");
    let mut dashboards = Vec::new();
    for entry in std::fs::read_dir(&directory).expect("dashboards directory") {
        let path = entry.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("dashboard reads");
        let dashboard: Value = serde_json::from_str(&text).expect("dashboard is JSON");
        dashboards.push((path.file_name().unwrap().to_string_lossy().into_owned(), dashboard));
    }
    dashboards
}

/// Metric name -> the files that query it.
fn queried_names() -> BTreeMap<String, BTreeSet<String>> {
    let mut used: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut dashboard_count = 0;
    for (file, dashboard) in dashboards() {
        let panels = dashboard["panels"].as_array().expect("panels");
        for panel in panels {
            let targets = panel["targets"].as_array().map_or(0, Vec::len);
            assert!(targets > 0, "{file}: panel {} has no query", panel["title"]);
        }
        let mut found = Vec::new();
        queries(&dashboard, &mut found);
        for name in found.iter().flat_map(|query| names_in(query)) {
            used.entry(name).or_default().insert(file.clone());
        }
        dashboard_count += 1;
    }
    assert_eq!(dashboard_count, 5, "trading core, hot symbols, funds safety, risk, perpetuals");
    // The rules file is YAML; only `expr:` lines (one-line expressions) carry queries.
    let rules = std::fs::read_to_string(workspace_root().join("config/prometheus/alerts.yml"))
        .expect("alert rules read");
    let expressions: Vec<&str> =
        rules.lines().filter_map(|line| line.trim().strip_prefix("expr:")).collect();
    assert!(expressions.len() >= 13, "every required alert has a rule: {expressions:?}");
    for name in expressions.iter().flat_map(|expression| names_in(expression)) {
        used.entry(name).or_default().insert("alerts.yml".to_owned());
    }
    used
}

/// A maker rebate, trades, a refused admin token, and one WebSocket push then close.
fn exercise(server: &ExchangeProcess, client: &HttpClient) {
    let rebate = br#"{"makerFeeFloor":"-0.001","makerFeeRate":"-0.0005"}"#.to_vec();
    let (status, body) = client.raw(
        Method::PUT,
        "/admin/symbols/BTCUSDT",
        &[("X-Admin-Token", ADMIN_TOKEN)],
        Some(("application/json", rebate)),
    );
    assert_eq!(status, 200, "{body}");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let url = format!("{}/ws/btcusdt@trade", server.base.replacen("http://", "ws://", 1));
    let mut socket = runtime.block_on(async {
        tokio_tungstenite::connect_async(url).await.expect("WebSocket connects").0
    });
    let buyer = client.funded_trader("USDT", "100000");
    let seller = client.funded_trader("BTC", "1");
    client.place_order(
        &buyer,
        "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01&price=50000",
    );
    client.place_order(&seller, "symbol=BTCUSDT&side=SELL&type=MARKET&quantity=0.01");
    // A price off the tick: the engine or the gateway refuses it.
    let refused = "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01&price=1";
    let _ = client.signed(&buyer, Method::POST, "/api/v3/order", refused);
    runtime.block_on(async {
        let frame = tokio::time::timeout(SCRAPE_DEADLINE, socket.next()).await.expect("a trade");
        assert!(matches!(frame, Some(Ok(Message::Text(_)))), "{frame:?}");
        socket.send(Message::Close(None)).await.expect("close");
        while socket.next().await.is_some() {}
    });
    let (status, _) =
        client.raw(Method::POST, "/admin/accounts", &[("X-Admin-Token", "wrong")], None);
    assert_eq!(status, 401);
}

#[test]
fn every_metric_the_dashboards_and_alerts_query_is_exported() {
    let used = queried_names();
    let directory = tempfile::tempdir().unwrap();
    let exchange = unique_exchange("catalogue");
    let groups = server_consumer_groups(SHARDS);
    let groups: Vec<&str> = groups.iter().map(String::as_str).collect();
    let _cleanup = TopologyCleanup::new(&Topology::new(&exchange, Vec::new()), &groups);
    let url = amqp_url();
    let environment = [("AMQP_URL", url.as_str()), ("AMQP_EXCHANGE", exchange.as_str())];
    let server = ExchangeProcess::start_with_env(&sqlite_url(&directory), &environment);
    let client = HttpClient::new(&server);
    exercise(&server, &client);
    let pending: BTreeMap<&str, &str> = PENDING.into_iter().collect();
    // Lazily registered series (the disconnect, the lag sampler's first round) appear within
    // moments; wait for them rather than race.
    let started = Instant::now();
    let (text, missing) = loop {
        let text = client.metrics_text();
        let exported = metric_names(&text);
        let missing: Vec<(&String, &BTreeSet<String>)> = used
            .iter()
            .filter(|(name, _)| !exported.contains(*name) && !pending.contains_key(name.as_str()))
            .collect();
        if missing.is_empty() || started.elapsed() > SCRAPE_DEADLINE {
            let missing: Vec<String> =
                missing.iter().map(|(name, files)| format!("{name} (in {files:?})")).collect();
            break (text, missing);
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(missing.is_empty(), "queried but not exported: {missing:#?}");
    let exported = metric_names(&text);
    for (name, issue) in PENDING {
        assert!(!exported.contains(name), "{name} is exported now: take it off PENDING ({issue})");
        assert!(used.contains_key(name), "{name} is no longer queried: take it off PENDING");
    }
    // The series carry what the dashboards read: a trade, a matching latency, the symbol label.
    assert!(sample(&text, "exchange_trades_total{symbol=\"BTCUSDT\"}").unwrap() >= 1.0, "{text}");
    let matching = histogram_quantile(&text, "exchange_matching_latency_seconds", 0.99);
    assert!(matching.is_some(), "matching latency has observations");
    assert!(histogram_quantile(&text, "exchange_ws_push_latency_seconds", 0.5).is_some());
    assert!(sample(&text, "exchange_negative_balances{shard=\"0\"}") == Some(0.0), "{text}");
    // Settlement and the samplers run behind the trade: wait for what they report.
    let started = Instant::now();
    let text = loop {
        let text = client.metrics_text();
        if settled_series_missing(&text).is_empty() || started.elapsed() > SCRAPE_DEADLINE {
            break text;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(
        settled_series_missing(&text).is_empty(),
        "{:?} in {text}",
        settled_series_missing(&text)
    );
}

/// What the trade should have moved, not yet seen in `text`: the maker's rebate paid by the
/// subsidy account (the buyer is the maker, paid in what it receives, BTC), every consumer
/// group's lag on BTCUSDT, the broker's queue depth.
fn settled_series_missing(text: &str) -> Vec<String> {
    let mut missing = Vec::new();
    let paid = "exchange_maker_rebate_subsidy_paid_minor_units_total{asset=\"BTC\"}";
    if !sample(text, paid).is_some_and(|paid| paid > 0.0) {
        missing.push(paid.to_owned());
    }
    let subsidy = "exchange_subsidy_balance{asset=\"BTC\"}";
    if !sample(text, subsidy).is_some_and(|balance| balance < 0.0) {
        missing.push(subsidy.to_owned());
    }
    for consumer in ["account_shards", "history", "depth", "ws-streams"] {
        let lag =
            format!("exchange_consumer_lag_events{{consumer=\"{consumer}\",symbol=\"BTCUSDT\"}}");
        if sample(text, &lag).is_none() {
            missing.push(lag);
        }
    }
    let depth = "exchange_bus_queue_depth{queue=\"history\"}";
    if sample(text, depth).is_none() {
        missing.push(depth.to_owned());
    }
    missing
}

/// promtool checks PromQL only in rule files: each panel query becomes a recording rule of a
/// scratch rules file, with the `$symbol` template variable as Grafana's "All" (`.*`).
/// scripts/test.sh installs promtool before the tests (scripts/check-monitoring.sh).
#[test]
fn every_dashboard_query_is_valid_promql() {
    let mut rules = String::from("groups:\n  - name: dashboard-queries\n    rules:\n");
    let mut count = 0;
    for (file, dashboard) in dashboards() {
        for panel in dashboard["panels"].as_array().expect("panels") {
            for target in panel["targets"].as_array().expect("targets") {
                let expr = target["expr"].as_str().expect("expr").replace("$symbol", ".*");
                let quoted = serde_json::to_string(&expr).unwrap();
                rules.push_str(&format!("      - record: dashboard:query_{count}\n"));
                rules.push_str(&format!("        expr: {quoted}\n"));
                count += 1;
                assert!(!expr.contains('$'), "{file}: an unknown variable in {expr}");
            }
        }
    }
    assert!(count >= 30, "{count} panel queries");
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("dashboard-queries.yml");
    std::fs::write(&path, rules).unwrap();
    let output = std::process::Command::new("promtool")
        .args(["check", "rules"])
        .arg(&path)
        .output()
        .expect("promtool runs (scripts/check-monitoring.sh installs it)");
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn health_is_up_and_ready_names_its_checks() {
    let directory = tempfile::tempdir().unwrap();
    let server = ExchangeProcess::start(&sqlite_url(&directory));
    let client = HttpClient::new(&server);
    let (status, body) = client.raw(Method::GET, "/health", &[], None);
    assert_eq!((status, body["status"].as_str()), (200, Some("up")), "{body}");
    let (status, body) = client.raw(Method::GET, "/ready", &[], None);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "ready");
    assert_eq!(body["checks"]["journal"], "up");
    assert_eq!(body["checks"]["bus"], "up");
}

/// On RabbitMQ, readiness opens a connection: a broker address nobody listens on is `down`,
/// named, with 503, while liveness stays up.
#[test]
fn ready_is_503_naming_the_bus_when_the_broker_is_unreachable() {
    let directory = tempfile::tempdir().unwrap();
    // A port that was free a moment ago: nothing answers AMQP there.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let amqp_url = format!("amqp://guest:guest@127.0.0.1:{port}/%2f");
    let server =
        ExchangeProcess::start_with_env(&sqlite_url(&directory), &[("AMQP_URL", &amqp_url)]);
    let client = HttpClient::new(&server);
    let (status, body) = client.raw(Method::GET, "/ready", &[], None);
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["status"], "not_ready");
    assert_eq!(body["down"], serde_json::json!(["bus"]));
    assert!(body["checks"]["bus"].as_str().unwrap().starts_with("down: "), "{body}");
    assert_eq!(body["checks"]["journal"], "up");
    let (status, _) = client.raw(Method::GET, "/health", &[], None);
    assert_eq!(status, 200);
}

/// On PostgreSQL, a database that goes away makes the journal check fail: 503 naming it,
/// within the check timeout, while liveness stays up.
#[test]
fn ready_is_503_naming_the_journal_when_the_database_is_gone() {
    use integration_tests::db::{Backend, TestDatabase};
    use sea_orm::{ConnectionTrait as _, Database};

    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let database = runtime.block_on(TestDatabase::create(Backend::Postgres));
    let server = ExchangeProcess::start(&database.url);
    let client = HttpClient::new(&server);
    let (status, body) = client.raw(Method::GET, "/ready", &[], None);
    assert_eq!(status, 200, "{body}");
    let name = database.url.rsplit('/').next().unwrap().to_owned();
    runtime.block_on(async {
        let admin_url = database.url.replace(&name, "test");
        let admin = Database::connect(admin_url).await.expect("PostgreSQL");
        let sql = format!("DROP DATABASE {name} WITH (FORCE)");
        admin.execute_unprepared(&sql).await.expect("drop the exchange's database");
    });
    let started = Instant::now();
    let (status, body) = client.raw(Method::GET, "/ready", &[], None);
    assert!(started.elapsed() < Duration::from_secs(5), "answered within the check timeout");
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["down"], serde_json::json!(["journal"]), "{body}");
    assert_eq!(body["checks"]["bus"], "up");
    let (status, _) = client.raw(Method::GET, "/health", &[], None);
    assert_eq!(status, 200);
}
