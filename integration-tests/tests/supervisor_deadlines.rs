//! Supervisor deadlines on transient states, with faults injected (issue 7), on the real
//! journal (SQLite and PostgreSQL):
//!
//! - a book stalled while 1,000 of its orders are CANCELING is replaced within 3 heartbeat
//!   intervals, and all 1,000 reach CANCELED within the CANCELING deadline + 1 s; each hold is
//!   released exactly once, the ledger invariants hold and no order is lost;
//! - a book confirmation dropped on its way to the account shard leaves the order PENDING, and
//!   the shard resolves it from the book's truth within the PENDING deadline: confirmed when the
//!   book journaled it, rejected with its hold released when it never reached a book that could;
//! - a book journal slower than the PENDING deadline gets the order confirmed, not abandoned;
//! - a book commit whose answer is lost (a database crash at commit) may have happened: the
//!   order is neither sent again nor abandoned, but settled from the journal (it is there), and
//!   a restart on the same database comes back with it;
//! - a shard restarted while its book still holds its order's place command keeps the order
//!   PENDING until the book's journal says what became of it.
//!
//! Metric assertions compare before and after, so they hold whichever tests share the process.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use actix::Addr;
use exchange::api::metrics::install_prometheus;
use exchange::bus::BusSettings;
use exchange::config::Config;
use exchange::supervision::SupervisorConfig;
use exchange::system::ExchangeSystem;
use exchange_actors::account::actor::{
    AccountShard, GetBalances, GetOpenOrders, GetOrdersById, GetTransientCounts, PlaceOrders,
    PoisonShard, RequestCancels, ShardError,
};
use exchange_actors::account::{Balance, OrderRecord, OrderStatus, shard_of};
use exchange_actors::book::actor::{GetBookView, SymbolBook};
use exchange_actors::faults::{
    StallBook, set_book_journal_delay, set_drop_book_events, set_lose_book_commit_answers,
};
use exchange_actors::model::{AccountId, AssetCode, OrderId, Side, SymbolCode};
use exchange_actors::supervisor::metrics::{
    ACTOR_RESTARTS_TOTAL, REDRIVES_TOTAL, TRANSIENT_ORDERS, TRANSIENT_STATE_AGE_SECONDS,
};
use exchange_actors::supervisor::{GetSupervisorReport, RestartReason, TransientState};
use integration_tests::db::Backend;
use integration_tests::ledger_checks::{
    balances_conserved, balances_equal_ledger_replay, keyed_totals,
};
use integration_tests::system::{TestExchange, default_config, limit};
use metrics_exporter_prometheus::PrometheusHandle;

const UNIT: i128 = 100_000_000;
const FUNDS: i128 = 1_000_000 * UNIT;
const ORDERS: usize = 1_000;
const HEARTBEAT_INTERVAL_MS: u64 = 300;
const CANCELING_DEADLINE_MS: u64 = 1_500;
const PENDING_DEADLINE_MS: u64 = 3_500;
const SYMBOL: &str = "BTCUSDT";

fn config() -> Config {
    let mut config = default_config();
    config.supervisor = SupervisorConfig {
        check_interval_ms: 25,
        book_heartbeat_interval_ms: HEARTBEAT_INTERVAL_MS,
        book_missed_heartbeats_max: 2,
        pending_deadline_ms: PENDING_DEADLINE_MS,
        canceling_deadline_ms: CANCELING_DEADLINE_MS,
        ..SupervisorConfig::default()
    };
    config
}

async fn start(backend: Backend) -> TestExchange {
    TestExchange::start_with_config(backend, &config(), &BusSettings::InProcess).await
}

/// The process-wide recorder `exchange serve` installs, installed once per test process.
fn prometheus() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| install_prometheus().expect("recorder installs"))
}

/// The sum of every series of `name` whose labels include all of `labels` (whole counts).
fn metric(name: &str, labels: &[&str]) -> u64 {
    prometheus()
        .render()
        .lines()
        .filter(|line| {
            line.starts_with(&format!("{name}{{")) || line.starts_with(&format!("{name} "))
        })
        .filter(|line| labels.iter().all(|label| line.contains(label)))
        .map(|line| {
            let value = line.rsplit_once(' ').map_or("", |(_, value)| value);
            value.parse::<u64>().unwrap_or_else(|_| panic!("not a whole count: {line}"))
        })
        .sum()
}

fn usdt() -> AssetCode {
    AssetCode::new("USDT").unwrap()
}

fn symbol() -> SymbolCode {
    SymbolCode::new(SYMBOL).unwrap()
}

async fn usdt_balance(exchange: &TestExchange, account: u64) -> Balance {
    let shard = exchange.system.shard(AccountId(account));
    let balances = shard.send(GetBalances(AccountId(account))).await.unwrap().unwrap();
    balances.into_iter().find(|(asset, _)| *asset == usdt()).map(|(_, balance)| balance).unwrap()
}

async fn orders(exchange: &TestExchange, account: u64, order_ids: &[OrderId]) -> Vec<OrderRecord> {
    let shard = exchange.system.shard(AccountId(account));
    let query = GetOrdersById { account_id: AccountId(account), order_ids: order_ids.to_vec() };
    let found = shard.send(query).await.unwrap().unwrap();
    found.into_iter().map(|order| order.expect("the shard knows the order")).collect()
}

fn current_book(exchange: &TestExchange) -> Addr<SymbolBook> {
    exchange.system.directory.book(SYMBOL).expect("the symbol has a book")
}

/// Waits until the directory points at a running book other than `stalled`; how long from
/// `since`.
async fn wait_replaced(
    exchange: &TestExchange,
    stalled: &Addr<SymbolBook>,
    since: Instant,
) -> Duration {
    loop {
        let current = current_book(exchange);
        if current != *stalled && current.connected() {
            return since.elapsed();
        }
        assert!(
            since.elapsed() < Duration::from_secs(5),
            "the stalled book was not replaced in 5 s"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Waits until every order of `order_ids` has `status`; how long from `since`.
async fn wait_status(
    exchange: &TestExchange,
    account: u64,
    order_ids: &[OrderId],
    status: OrderStatus,
    since: Instant,
) -> Duration {
    loop {
        let found = orders(exchange, account, order_ids).await;
        if found.iter().all(|order| order.status == status) {
            return since.elapsed();
        }
        let other = found.iter().filter(|order| order.status != status).count();
        assert!(since.elapsed() < Duration::from_secs(15), "{other} orders not {status:?} in 15 s");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn open_in_book(exchange: &TestExchange) -> u32 {
    current_book(exchange).send(GetBookView { depth_levels: 0 }).await.unwrap().open_order_count
}

async fn shard_transient_counts(shard: &Addr<AccountShard>) -> Vec<usize> {
    shard.send(GetTransientCounts).await.unwrap().into_values().collect()
}

/// The ledger after the run: balances equal their ledger replay, every asset nets to zero, and
/// each of `order_ids` had exactly one hold and one release of the same amount.
async fn assert_ledger(exchange: &TestExchange, order_ids: &[OrderId]) {
    exchange.finish_projections().await;
    let store = &exchange.system.store;
    balances_equal_ledger_replay(store).await.expect("balances equal the ledger replay");
    balances_conserved(store).await.expect("balances conserved");
    let ids: Vec<String> = order_ids.iter().map(|order_id| order_id.0.to_string()).collect();
    let per_kind = |kind: &str| {
        format!(
            "SELECT CAST(order_id AS TEXT) || '|' || CAST(COUNT(*) AS TEXT), \
             CAST(SUM(amount) AS BIGINT) FROM ledger_entries \
             WHERE kind = '{kind}' AND order_id IN ({}) GROUP BY order_id",
            ids.join(",")
        )
    };
    let holds = keyed_totals(store, &per_kind("HOLD")).await.unwrap();
    let releases = keyed_totals(store, &per_kind("RELEASE")).await.unwrap();
    assert_eq!(holds.len(), order_ids.len(), "one hold row group per order");
    assert!(holds.iter().all(|(key, _)| key.ends_with("|1")), "each order held once");
    assert_eq!(releases, holds, "each hold released exactly once, in full");
}

/// After settling: `order_id` is the account's one order, NEW (confirmed, not abandoned), its
/// hold kept and the rest available; the book has it; nothing is transient; the ledger holds.
async fn assert_one_resting_order(exchange: &TestExchange, account: u64, order_id: OrderId) {
    exchange.settle().await;
    let [order] = orders(exchange, account, &[order_id]).await[..] else { unreachable!() };
    assert_eq!(order.status, OrderStatus::New, "confirmed, not abandoned");
    let hold = order.hold_remaining;
    assert!(hold > 0);
    let balance = usdt_balance(exchange, account).await;
    assert_eq!(balance, Balance { available: FUNDS - hold, held: hold });
    assert_eq!(open_in_book(exchange).await, 1);
    let shard = exchange.system.shard(AccountId(account));
    assert_eq!(shard_transient_counts(&shard).await, [0, 0, 0]);
    exchange.finish_projections().await;
    balances_equal_ledger_replay(&exchange.system.store).await.expect("ledger replay");
    balances_conserved(&exchange.system.store).await.expect("balances conserved");
}

async fn stalled_book_with_1000_canceling_orders(backend: Backend) {
    let restarts_before = metric(ACTOR_RESTARTS_TOTAL, &["kind=\"book\"", "reason=\"stalled\""]);
    let redrives_before = metric(REDRIVES_TOTAL, &["state=\"canceling\""]);
    let ages_name = format!("{TRANSIENT_STATE_AGE_SECONDS}_count");
    let ages_before = metric(&ages_name, &["state=\"canceling\""]);
    let exchange = start(backend).await;
    exchange.fund(1, &[("USDT", FUNDS)]).await;
    let requests = (0..ORDERS)
        .map(|n| {
            let price = 4_000_000 + i64::try_from(n).unwrap();
            limit(SYMBOL, 1, Side::Buy, price, 100, &format!("b{n}"))
        })
        .collect();
    let placed = exchange.place_many(requests).await;
    let order_ids: Vec<OrderId> =
        placed.into_iter().map(|placed| placed.expect("order placed").order_id).collect();
    exchange.settle().await;
    let held = usdt_balance(&exchange, 1).await;
    assert!(held.held > 0 && held.available + held.held == FUNDS, "{held:?}");
    assert_eq!(open_in_book(&exchange).await, 1_000);
    let shard = exchange.system.shard(AccountId(1));

    let stalled = current_book(&exchange);
    let stalled_at = Instant::now();
    stalled.do_send(StallBook(Duration::from_secs(5)));
    let request =
        RequestCancels { account_id: AccountId(1), symbol: symbol(), order_ids: order_ids.clone() };
    let canceled_at = Instant::now();
    let first_cancel = actix::spawn(shard.send(request));

    let replaced_after = wait_replaced(&exchange, &stalled, stalled_at).await;
    let three_intervals = Duration::from_millis(3 * HEARTBEAT_INTERVAL_MS);
    assert!(replaced_after <= three_intervals, "replaced after {replaced_after:?}");
    let canceled_after =
        wait_status(&exchange, 1, &order_ids, OrderStatus::Canceled, canceled_at).await;
    let bound = Duration::from_millis(CANCELING_DEADLINE_MS) + Duration::from_secs(1);
    assert!(canceled_after <= bound, "all canceled after {canceled_after:?}");
    eprintln!("book replaced after {replaced_after:?}; {ORDERS} canceled after {canceled_after:?}");

    // The stalled instance wakes up fenced: its copy of the cancel cannot be journaled.
    let answer = first_cancel.await.unwrap().expect("shard alive");
    assert!(matches!(answer, Err(ShardError::Book(_))), "{answer:?}");
    exchange.settle().await;
    assert_eq!(usdt_balance(&exchange, 1).await, Balance { available: FUNDS, held: 0 });
    assert_eq!(open_in_book(&exchange).await, 0);
    assert_eq!(shard_transient_counts(&shard).await, [0, 0, 0]);
    assert_ledger(&exchange, &order_ids).await;
    let statuses = keyed_totals(
        &exchange.system.store,
        "SELECT status, CAST(COUNT(*) AS BIGINT) FROM orders WHERE account_id = 1 GROUP BY status",
    )
    .await
    .unwrap();
    assert_eq!(statuses, [("CANCELED".to_owned(), 1_000)], "no order lost");

    let report = exchange.system.supervisor.send(GetSupervisorReport).await.unwrap();
    assert_eq!(report.restarts.get(&RestartReason::Stalled), Some(&1));
    let restarts = metric(ACTOR_RESTARTS_TOTAL, &["kind=\"book\"", "reason=\"stalled\""]);
    assert_eq!(restarts - restarts_before, 1);
    let redrives = metric(REDRIVES_TOTAL, &["state=\"canceling\""]) - redrives_before;
    assert!((1_000..=3_000).contains(&redrives), "{redrives} re-drives");
    let ages = metric(&ages_name, &["state=\"canceling\""]) - ages_before;
    assert_eq!(ages, 1_000, "one CANCELING age per order");
    assert_eq!(metric(TRANSIENT_ORDERS, &["state=\"canceling\""]), 0);
}

#[actix::test]
async fn sqlite_stalled_book_with_1000_canceling_orders() {
    stalled_book_with_1000_canceling_orders(Backend::Sqlite).await;
}

#[actix::test]
async fn postgres_stalled_book_with_1000_canceling_orders() {
    stalled_book_with_1000_canceling_orders(Backend::Postgres).await;
}

/// The book journals the order, the event batch to the shard is lost: the re-drive reads the
/// book's journal and confirms the order, its hold kept for the resting order.
async fn dropped_confirmation_of_an_order_the_book_has(backend: Backend) {
    let redrives_before = metric(REDRIVES_TOTAL, &["state=\"pending\""]);
    let exchange = start(backend).await;
    exchange.fund(2, &[("USDT", FUNDS)]).await;
    exchange.settle().await;

    let shard_count = exchange.system.shards.len();
    let shard_index = u16::try_from(shard_of(AccountId(2), shard_count)).unwrap();
    set_drop_book_events(Some(shard_index));
    let placed_at = Instant::now();
    let placed = exchange.place(limit(SYMBOL, 2, Side::Buy, 4_000_000, 100, "lost")).await;
    set_drop_book_events(None);
    let placed = placed.expect("the book journaled the order");
    let order_id = placed.order_id;
    let [order] = orders(&exchange, 2, &[order_id]).await[..] else { unreachable!() };
    assert_eq!(order.status, OrderStatus::Pending, "the confirmation was dropped");
    assert!(order.hold_remaining > 0, "funds held while PENDING");
    assert_eq!(open_in_book(&exchange).await, 1, "the book has the order");

    let resolved_after = wait_status(&exchange, 2, &[order_id], OrderStatus::New, placed_at).await;
    let deadline = Duration::from_millis(PENDING_DEADLINE_MS);
    assert!(resolved_after >= deadline - Duration::from_millis(100), "{resolved_after:?}");
    assert!(resolved_after <= deadline + Duration::from_secs(1), "{resolved_after:?}");
    eprintln!("confirmed from the journal after {resolved_after:?}");

    assert_one_resting_order(&exchange, 2, order_id).await;
    assert_eq!(metric(REDRIVES_TOTAL, &["state=\"pending\""]) - redrives_before, 1);
}

#[actix::test]
async fn sqlite_dropped_confirmation_of_an_order_the_book_has() {
    dropped_confirmation_of_an_order_the_book_has(Backend::Sqlite).await;
}

#[actix::test]
async fn postgres_dropped_confirmation_of_an_order_the_book_has() {
    dropped_confirmation_of_an_order_the_book_has(Backend::Postgres).await;
}

/// The order is forwarded to a book that stalls and is replaced: its confirmation never comes,
/// and the replacement never had it. The re-drive finds it in no journal and rejects it, its
/// hold released once; the stalled instance, waking up fenced, cannot journal it later.
async fn lost_order_the_book_never_had(backend: Backend) {
    let exchange = start(backend).await;
    exchange.fund(3, &[("USDT", FUNDS)]).await;
    exchange.settle().await;
    let shard = exchange.system.shard(AccountId(3));

    let stalled = current_book(&exchange);
    let stall = Duration::from_millis(PENDING_DEADLINE_MS) + Duration::from_secs(2);
    stalled.do_send(StallBook(stall));
    let placed_at = Instant::now();
    let request = limit(SYMBOL, 3, Side::Buy, 4_000_000, 100, "orphan");
    let place = actix::spawn(shard.send(PlaceOrders(vec![request])));
    let order_id = loop {
        let open = shard
            .send(exchange_actors::account::actor::GetOpenOrders {
                account_id: AccountId(3),
                symbol: None,
            })
            .await
            .unwrap();
        if let [order] = open[..] {
            assert_eq!(order.status, OrderStatus::Pending);
            break order.order_id;
        }
        assert!(placed_at.elapsed() < Duration::from_secs(2), "the order was not held");
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    wait_replaced(&exchange, &stalled, placed_at).await;
    let rejected_after =
        wait_status(&exchange, 3, &[order_id], OrderStatus::Rejected, placed_at).await;
    let deadline = Duration::from_millis(PENDING_DEADLINE_MS);
    assert!(rejected_after >= deadline - Duration::from_millis(100), "{rejected_after:?}");
    assert!(rejected_after <= deadline + Duration::from_secs(1), "{rejected_after:?}");
    eprintln!("rejected from the book's truth after {rejected_after:?}");
    assert_eq!(usdt_balance(&exchange, 3).await, Balance { available: FUNDS, held: 0 });
    assert_eq!(open_in_book(&exchange).await, 0);

    // The stalled instance wakes up and fails the forward (fenced); the forwarder gives up.
    let answers = place.await.unwrap().expect("shard alive");
    assert!(matches!(answers[..], [Err(ShardError::Book(_))]), "{answers:?}");
    exchange.settle().await;
    let [order] = orders(&exchange, 3, &[order_id]).await[..] else { unreachable!() };
    assert_eq!(order.status, OrderStatus::Rejected);
    assert_eq!(usdt_balance(&exchange, 3).await, Balance { available: FUNDS, held: 0 });
    assert_eq!(open_in_book(&exchange).await, 0, "no book journaled the order");
    assert_eq!(shard_transient_counts(&shard).await, [0, 0, 0]);
    assert_ledger(&exchange, &[order_id]).await;
}

#[actix::test]
async fn sqlite_lost_order_the_book_never_had() {
    lost_order_the_book_never_had(Backend::Sqlite).await;
}

#[actix::test]
async fn postgres_lost_order_the_book_never_had() {
    lost_order_the_book_never_had(Backend::Postgres).await;
}

/// The book's journal is slower than the PENDING deadline: the re-drive's barrier waits behind
/// the order's own commit, so the order is confirmed, never abandoned while a book journals it.
async fn slow_journal_past_the_deadline_confirms_the_order(backend: Backend) {
    let redrives_before = metric(REDRIVES_TOTAL, &["state=\"pending\""]);
    let exchange = start(backend).await;
    exchange.fund(4, &[("USDT", FUNDS)]).await;
    exchange.settle().await;

    let delay = Duration::from_millis(PENDING_DEADLINE_MS) + Duration::from_millis(1_500);
    set_book_journal_delay(delay);
    let placed_at = Instant::now();
    let placed = exchange.place(limit(SYMBOL, 4, Side::Buy, 4_000_000, 100, "slow")).await;
    set_book_journal_delay(Duration::ZERO);
    let order_id = placed.expect("the book journaled the order, late").order_id;
    assert!(placed_at.elapsed() >= delay, "the journal was slowed");
    wait_status(&exchange, 4, &[order_id], OrderStatus::New, placed_at).await;
    let redrives = metric(REDRIVES_TOTAL, &["state=\"pending\""]) - redrives_before;
    assert!(redrives >= 1, "the deadline passed while the book was journaling");

    assert_one_resting_order(&exchange, 4, order_id).await;
}

#[actix::test]
async fn sqlite_slow_journal_past_the_deadline_confirms_the_order() {
    slow_journal_past_the_deadline_confirms_the_order(Backend::Sqlite).await;
}

#[actix::test]
async fn postgres_slow_journal_past_the_deadline_confirms_the_order() {
    slow_journal_past_the_deadline_confirms_the_order(Backend::Postgres).await;
}

/// The account's one open order as its shard sees it, once it is there.
async fn only_open_order(shard: &Addr<AccountShard>, account: u64, since: Instant) -> OrderRecord {
    loop {
        let query = GetOpenOrders { account_id: AccountId(account), symbol: None };
        if let [order] = shard.send(query).await.unwrap()[..] {
            return order;
        }
        assert!(since.elapsed() < Duration::from_secs(2), "the order was not held");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The book's commit happens but its answer is lost, as when the database crashes at commit:
/// the caller hears an unknown outcome. The shard neither sends the order again (the book's
/// replacement, rebuilt from the journal, has it: a second copy would be refused as a duplicate
/// and close the order the book holds) nor abandons it: the re-drive confirms it from the
/// journal within the PENDING deadline, and a restart on the same database keeps it.
async fn lost_commit_answer_keeps_the_order(backend: Backend) {
    let exchange = start(backend).await;
    exchange.fund(5, &[("USDT", FUNDS)]).await;
    exchange.settle().await;
    let book = current_book(&exchange);

    set_lose_book_commit_answers(1);
    let placed_at = Instant::now();
    let placed = exchange.place(limit(SYMBOL, 5, Side::Buy, 4_000_000, 100, "lost-answer")).await;
    set_lose_book_commit_answers(0);
    let is_unknown = matches!(&placed, Err(ShardError::Book(error)) if error.may_be_journaled());
    assert!(is_unknown, "the caller hears an unknown outcome: {placed:?}");
    wait_replaced(&exchange, &book, placed_at).await;
    let shard = exchange.system.shard(AccountId(5));
    let order_id = only_open_order(&shard, 5, placed_at).await.order_id;
    let confirmed_after = wait_status(&exchange, 5, &[order_id], OrderStatus::New, placed_at).await;
    let deadline = Duration::from_millis(PENDING_DEADLINE_MS);
    assert!(confirmed_after <= deadline + Duration::from_secs(1), "{confirmed_after:?}");
    eprintln!("confirmed from the journal after {confirmed_after:?}");
    assert_one_resting_order(&exchange, 5, order_id).await;

    // A second system on the same database (new epochs fence the first): it starts, and has
    // the order open with its hold, in the shard and in the book.
    let restarted = ExchangeSystem::start_on(&config(), exchange.database.store().await)
        .await
        .expect("the exchange restarts on its journal");
    let query = GetOrdersById { account_id: AccountId(5), order_ids: vec![order_id] };
    let found = restarted.shard(AccountId(5)).send(query).await.unwrap().unwrap();
    let order = found[0].expect("the restarted shard knows the order");
    assert_eq!(order.status, OrderStatus::New);
    let balances = restarted.shard(AccountId(5)).send(GetBalances(AccountId(5))).await;
    let balances = balances.unwrap().unwrap();
    let usdt = balances.into_iter().find(|(asset, _)| *asset == usdt()).map(|(_, b)| b);
    let hold = order.hold_remaining;
    assert_eq!(usdt, Some(Balance { available: FUNDS - hold, held: hold }));
    let book = restarted.directory.book(SYMBOL).expect("book");
    let view = book.send(GetBookView { depth_levels: 0 }).await.unwrap();
    assert_eq!(view.open_order_count, 1);
}

#[actix::test]
async fn sqlite_lost_commit_answer_keeps_the_order() {
    lost_commit_answer_keeps_the_order(Backend::Sqlite).await;
}

#[actix::test]
async fn postgres_lost_commit_answer_keeps_the_order() {
    lost_commit_answer_keeps_the_order(Backend::Postgres).await;
}

/// The shard dies after forwarding an order its book has not yet taken (the book is slow, not
/// stalled long enough to be replaced). The replacement shard finds the order PENDING and must
/// not abandon it: the book journals it a moment later, and the shard confirms it.
async fn shard_restarted_while_its_book_holds_the_order(backend: Backend) {
    integration_tests::quiet_panics();
    let mut config = config();
    config.supervisor.book_missed_heartbeats_max = 100;
    let exchange = TestExchange::start_with_config(backend, &config, &BusSettings::InProcess).await;
    exchange.fund(6, &[("USDT", FUNDS)]).await;
    exchange.settle().await;
    let shard = exchange.system.shard(AccountId(6));

    let stall = Duration::from_secs(2);
    current_book(&exchange).do_send(StallBook(stall));
    let placed_at = Instant::now();
    let request = limit(SYMBOL, 6, Side::Buy, 4_000_000, 100, "slow-book");
    let _answer_lost_with_the_shard = actix::spawn(shard.send(PlaceOrders(vec![request])));
    let order_id = only_open_order(&shard, 6, placed_at).await.order_id;
    // Committed by the shard and forwarded: the shard supervises it as PENDING.
    loop {
        let counts = shard.send(GetTransientCounts).await.unwrap();
        if counts.get(&TransientState::Pending) == Some(&1) {
            break;
        }
        assert!(placed_at.elapsed() < Duration::from_secs(1), "the order was not forwarded");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    let _panicked = shard.send(PoisonShard).await;
    let replacement = loop {
        let current = exchange.system.shard(AccountId(6));
        if current != shard && current.connected() {
            break current;
        }
        assert!(placed_at.elapsed() < stall, "the shard was not replaced while the book slept");
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let query = GetOrdersById { account_id: AccountId(6), order_ids: vec![order_id] };
    let found = replacement.send(query).await.unwrap().unwrap();
    let order = found[0].expect("the replacement knows the order");
    assert!(placed_at.elapsed() < stall, "checked while the book still slept");
    assert_eq!(order.status, OrderStatus::Pending, "not abandoned while its book may take it");

    let confirmed_after = wait_status(&exchange, 6, &[order_id], OrderStatus::New, placed_at).await;
    assert!(confirmed_after >= stall, "{confirmed_after:?}");
    eprintln!("confirmed after the book woke, {confirmed_after:?}");
    assert_one_resting_order(&exchange, 6, order_id).await;
}

#[actix::test]
async fn sqlite_shard_restarted_while_its_book_holds_the_order() {
    shard_restarted_while_its_book_holds_the_order(Backend::Sqlite).await;
}

#[actix::test]
async fn postgres_shard_restarted_while_its_book_holds_the_order() {
    shard_restarted_while_its_book_holds_the_order(Backend::Postgres).await;
}
