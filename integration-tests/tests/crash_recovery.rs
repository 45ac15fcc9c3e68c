//! `kill -9` of the real binary under load, 5 times, on SQLite and on PostgreSQL.
//!
//! Each cycle starts `exchange serve` on the same database, lets traders place and cancel
//! orders over signed HTTP (FULL answers, so every acknowledged fill is known), kills the
//! process at a random moment, and restarts it. After every restart, once the shards have
//! caught up from the journal:
//! - every acknowledged order is in the database with its account and client id, and a status
//!   that agrees with its acknowledgement (an acknowledged cancel is CANCELED);
//! - every acknowledged fill is a journaled trade, and every journaled trade is settled
//!   exactly once (two user credits, none for a trade no book journaled);
//! - balances equal a fresh replay of the ledger, sum to zero per asset, none negative;
//! - API keys issued before the crash still work, and each trader's balances over HTTP equal
//!   the database's.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use exchange::store::Store;
use integration_tests::db::{Backend, TestDatabase};
use integration_tests::http::{ExchangeProcess, HttpClient, Trader};
use integration_tests::ledger_checks::{
    balances_conserved, balances_equal_ledger_replay, journaled_trades, keyed_totals,
    trades_settled_exactly_once,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::Value;

const CYCLES: u64 = 5;
const TRADERS: usize = 4;
const SYMBOLS: [&str; 2] = ["BTCUSDT", "ETHUSDT"];
/// Decimal places of every configured asset (config/default.toml).
const ASSET_SCALE: usize = 8;
/// How long after the load starts the process may be killed.
const KILL_AFTER_MS: std::ops::Range<u64> = 200..1_500;
/// How long the shards get to catch up after a restart.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(30);

/// An order the server acknowledged with 200.
#[derive(Clone, Debug)]
struct AckedOrder {
    order_id: u64,
    account_id: u64,
    client_order_id: String,
    status: String,
    /// `symbol|trade_id` of each fill in the FULL answer.
    trades: Vec<String>,
}

/// One trader's load: limit orders around the mid (about half cross), and a cancel of its
/// newest resting order every fourth step, until `stop` or the server is gone.
fn trade_until_killed(
    client: &HttpClient,
    trader: &Trader,
    cycle: u64,
    seed: u64,
    stop: &AtomicBool,
) -> (Vec<AckedOrder>, Vec<u64>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut placed, mut canceled) = (Vec::new(), Vec::new());
    let mut resting: Vec<(&str, u64)> = Vec::new();
    for step in 0_u64.. {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        if step % 4 == 3
            && let Some((symbol, order_id)) = resting.pop()
        {
            let params = format!("symbol={symbol}&orderId={order_id}");
            match client.try_signed(trader, reqwest::Method::DELETE, "/api/v3/order", &params) {
                Ok((200, _)) => canceled.push(order_id),
                Ok(_refused) => {} // filled meanwhile
                Err(_gone) => break,
            }
            continue;
        }
        let symbol = SYMBOLS[rng.gen_range(0..SYMBOLS.len())];
        let (mid, quantity) =
            if symbol == "BTCUSDT" { (50_000, "0.00100") } else { (3_000, "0.0100") };
        let side = if rng.gen_bool(0.5) { "BUY" } else { "SELL" };
        let price = mid + rng.gen_range(-5..=5);
        let client_order_id = format!("c{cycle}-{}-{step}", trader.account_id);
        let params = format!(
            "symbol={symbol}&side={side}&type=LIMIT&timeInForce=GTC&quantity={quantity}\
             &price={price}&newClientOrderId={client_order_id}&newOrderRespType=FULL"
        );
        let answer =
            match client.try_signed(trader, reqwest::Method::POST, "/api/v3/order", &params) {
                Ok((200, answer)) => answer,
                Ok(_refused) => continue,
                Err(_gone) => break,
            };
        let order = acked_order(symbol, trader.account_id, &answer);
        if order.status == "NEW" || order.status == "PARTIALLY_FILLED" {
            resting.push((symbol, order.order_id));
        }
        placed.push(order);
    }
    (placed, canceled)
}

fn acked_order(symbol: &str, account_id: u64, answer: &Value) -> AckedOrder {
    let trades = answer["fills"]
        .as_array()
        .expect("FULL answers carry fills")
        .iter()
        .map(|fill| format!("{symbol}|{}", fill["tradeId"].as_u64().expect("tradeId")))
        .collect();
    AckedOrder {
        order_id: answer["orderId"].as_u64().expect("orderId"),
        account_id,
        client_order_id: answer["clientOrderId"].as_str().expect("clientOrderId").to_owned(),
        status: answer["status"].as_str().expect("status").to_owned(),
        trades,
    }
}

/// Minor units of a rendered amount ("12.34000000" -> 1234000000).
fn minor_units(amount: &str) -> i64 {
    let (whole, fraction) = amount.split_once('.').unwrap_or((amount, ""));
    let padded = format!("{whole}{fraction:0<ASSET_SCALE$}");
    padded.parse().expect("an amount in minor units")
}

/// `account|asset` -> (available, held) of the traders' balance rows.
async fn stored_balances(store: &Store) -> Result<BTreeMap<String, (i64, i64)>, String> {
    let available = keyed_totals(
        store,
        "SELECT CAST(account_id AS TEXT) || '|' || asset, available FROM balances",
    )
    .await?;
    let held =
        keyed_totals(store, "SELECT CAST(account_id AS TEXT) || '|' || asset, held FROM balances")
            .await?;
    let held: BTreeMap<String, i64> = held.into_iter().collect();
    Ok(available
        .into_iter()
        .map(|(key, available)| {
            let held = held.get(&key).copied().unwrap_or(0);
            (key, (available, held))
        })
        .collect())
}

/// Every acknowledged order and cancel is in the `orders` table as acknowledged.
async fn acknowledgements_kept(
    store: &Store,
    placed: &[AckedOrder],
    canceled: &[u64],
) -> Result<(), String> {
    let statement = sea_orm::Statement::from_string(
        store.backend(),
        "SELECT order_id, account_id, client_order_id, status FROM orders",
    );
    let rows = sea_orm::ConnectionTrait::query_all_raw(store.connection(), statement)
        .await
        .map_err(|error| error.to_string())?;
    let mut stored = BTreeMap::new();
    for row in &rows {
        let get = |column: &str| row.try_get::<i64>("", column).map_err(|error| error.to_string());
        let text = |column: &str| row.try_get::<String>("", column).map_err(|e| e.to_string());
        stored.insert(
            get("order_id")?,
            (get("account_id")?, text("client_order_id")?, text("status")?),
        );
    }
    for order in placed {
        let id = i64::try_from(order.order_id).map_err(|_| "order id beyond BIGINT")?;
        let Some((account, client_order_id, status)) = stored.get(&id) else {
            return Err(format!("acknowledged order {order:?} is missing"));
        };
        let expected_account = i64::try_from(order.account_id).map_err(|_| "account id")?;
        let agrees = match order.status.as_str() {
            "NEW" | "PARTIALLY_FILLED" => status != "PENDING",
            terminal => status == terminal,
        };
        if *account != expected_account || *client_order_id != order.client_order_id || !agrees {
            return Err(format!(
                "order {order:?} stored as ({account}, {client_order_id}, {status})"
            ));
        }
    }
    for order_id in canceled {
        let id = i64::try_from(*order_id).map_err(|_| "order id beyond BIGINT")?;
        match stored.get(&id) {
            Some((_, _, status)) if status == "CANCELED" => {}
            other => return Err(format!("acknowledged cancel of {order_id} stored as {other:?}")),
        }
    }
    Ok(())
}

/// Every check of the module comment that reads the database; `Err` until the shards caught up.
async fn database_checks(
    store: &Store,
    placed: &[AckedOrder],
    canceled: &[u64],
) -> Result<(), String> {
    acknowledgements_kept(store, placed, canceled).await?;
    let mut journaled = std::collections::BTreeSet::new();
    for symbol in SYMBOLS {
        journaled.extend(journaled_trades(store, symbol).await?);
    }
    if let Some(lost) =
        placed.iter().flat_map(|order| &order.trades).find(|t| !journaled.contains(*t))
    {
        return Err(format!("acknowledged fill {lost} is not in the journal"));
    }
    trades_settled_exactly_once(store, &SYMBOLS).await?;
    balances_equal_ledger_replay(store).await?;
    balances_conserved(store).await
}

/// Each trader's balances over HTTP (its pre-crash key still signing) equal the database's.
fn http_agrees_with_database(
    client: &HttpClient,
    traders: &[Trader],
    stored: &BTreeMap<String, (i64, i64)>,
) -> Result<(), String> {
    for trader in traders {
        for asset in ["BTC", "ETH", "USDT"] {
            let (free, locked) = client.balance(trader, asset);
            let key = format!("{}|{asset}", trader.account_id);
            let expected = stored.get(&key).copied().unwrap_or((0, 0));
            let seen = (minor_units(&free), minor_units(&locked));
            if seen != expected {
                return Err(format!("{key}: HTTP {seen:?}, database {expected:?}"));
            }
        }
    }
    Ok(())
}

fn wait_until_consistent(
    runtime: &tokio::runtime::Runtime,
    database: &TestDatabase,
    client: &HttpClient,
    traders: &[Trader],
    placed: &[AckedOrder],
    canceled: &[u64],
) {
    let store = runtime.block_on(Store::connect(&database.url)).expect("store connects");
    let deadline = Instant::now() + SETTLE_TIMEOUT;
    loop {
        let checked = runtime.block_on(async {
            database_checks(&store, placed, canceled).await?;
            stored_balances(&store).await
        });
        let checked =
            checked.and_then(|stored| http_agrees_with_database(client, traders, &stored));
        match checked {
            Ok(()) => break,
            Err(error) if Instant::now() > deadline => panic!("after restart: {error}"),
            Err(_catching_up) => std::thread::sleep(Duration::from_millis(200)),
        }
    }
    runtime.block_on(store.connection().clone().close()).expect("store closes");
}

fn crash_cycles(backend: Backend) {
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let database = runtime.block_on(TestDatabase::create(backend));
    let seed: u64 = rand::thread_rng().r#gen();
    eprintln!("{backend:?} crash test seed {seed}");
    let started = Instant::now();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);

    let mut server = ExchangeProcess::start(&database.url);
    let mut client = HttpClient::new(&server);
    let traders: Vec<Trader> = (0..TRADERS).map(|_| client.open_trader()).collect();
    for trader in &traders {
        client.deposit(trader, "USDT", "10000000");
        client.deposit(trader, "BTC", "1000");
        client.deposit(trader, "ETH", "10000");
    }
    let (mut placed, mut canceled) = (Vec::new(), Vec::new());
    for cycle in 0..CYCLES {
        let stop = Arc::new(AtomicBool::new(false));
        let loads: Vec<_> = traders
            .iter()
            .map(|trader| {
                let (client, trader, stop) = (client.clone(), trader.clone(), stop.clone());
                let load_seed = rng.r#gen();
                std::thread::spawn(move || {
                    trade_until_killed(&client, &trader, cycle, load_seed, &stop)
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(rng.gen_range(KILL_AFTER_MS)));
        server.kill();
        stop.store(true, Ordering::Relaxed);
        let before = placed.len();
        for load in loads {
            let (orders, cancels) = load.join().expect("load thread");
            placed.extend(orders);
            canceled.extend(cancels);
        }
        let fills: usize = placed[before..].iter().map(|order| order.trades.len()).sum();
        eprintln!(
            "cycle {cycle} at {:?}: {} orders and {fills} fills acknowledged",
            started.elapsed(),
            placed.len() - before
        );
        assert!(placed.len() > before, "cycle {cycle} acknowledged orders before the kill");

        server = ExchangeProcess::start(&database.url);
        client = HttpClient::new(&server);
        wait_until_consistent(&runtime, &database, &client, &traders, &placed, &canceled);
        eprintln!("cycle {cycle}: consistent after restart at {:?}", started.elapsed());
    }
    assert!(placed.iter().any(|order| !order.trades.is_empty()), "some orders traded");
    assert!(!canceled.is_empty(), "some cancels were acknowledged");
    drop(server);
}

#[test]
fn sqlite_survives_kill_9_under_load() {
    crash_cycles(Backend::Sqlite);
}

#[test]
fn postgres_survives_kill_9_under_load() {
    crash_cycles(Backend::Postgres);
}
