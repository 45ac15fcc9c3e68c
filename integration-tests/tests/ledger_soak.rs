//! Ledger soak through the real actors and journal (SQLite and PostgreSQL): 100,000 random
//! orders and cancels from 1,000 accounts on 2 symbols. Every 1,000 commands, once the shards
//! have applied every book event and committed: each shard's invariants hold (held equals its
//! open orders' holds, no negative balance, per asset zero sum), and in the database the
//! balances of every asset sum to zero, none is negative, and the clearing accounts of the
//! two shards net to zero. At the end the database balances equal the shards' memory and a
//! replay of the ledger, and every journaled trade is settled exactly once.

use exchange_actors::account::PlaceRequest;
use exchange_actors::account::actor::GetBalances;
use exchange_actors::book::actor::SubmitCommands;
use exchange_actors::model::{
    AccountId, BookCommand, CancelOrder, ClientOrderId, OrderId, OrderQuantity, OrderType, Price,
    Qty, SelfTradePrevention, Side, SymbolCode, TimeInForce,
};
use integration_tests::db::Backend;
use integration_tests::join_all;
use integration_tests::ledger_checks::{
    balances_conserved, balances_equal_ledger_replay, keyed_totals, trades_settled_exactly_once,
};
use integration_tests::system::TestExchange;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const ACCOUNTS: u64 = 1_000;
const COMMANDS: usize = 100_000;
const CHECK_EVERY: usize = 1_000;
const UNIT: i128 = 100_000_000;

/// (symbol, mid price in ticks, lots per order range)
const SYMBOLS: [(&str, i64, (u64, u64)); 2] =
    [("BTCUSDT", 5_000_000, (100, 5_000)), ("ETHUSDT", 300_000, (100, 50_000))];

fn random_order(rng: &mut ChaCha8Rng) -> PlaceRequest {
    let (symbol, mid, (lots_min, lots_max)) = SYMBOLS[rng.gen_range(0..SYMBOLS.len())];
    let side = if rng.gen_bool(0.5) { Side::Buy } else { Side::Sell };
    let kind = rng.gen_range(0..100);
    let (order_type, time_in_force, price) = match kind {
        0..=69 => (OrderType::Limit, TimeInForce::Gtc, Some(mid + rng.gen_range(-200..=200))),
        70..=79 => (OrderType::Limit, TimeInForce::Ioc, Some(mid + rng.gen_range(-100..=100))),
        80..=84 => (OrderType::Limit, TimeInForce::Fok, Some(mid + rng.gen_range(-100..=100))),
        85..=89 => (OrderType::LimitMaker, TimeInForce::Gtc, Some(mid + rng.gen_range(-200..=200))),
        _ => (OrderType::Market, TimeInForce::Ioc, None),
    };
    let quantity = if order_type == OrderType::Market && rng.gen_bool(0.3) {
        // By quote amount: lots x mid price worth of quote, in notional units.
        let lots = i128::from(rng.gen_range(lots_min..=lots_max));
        OrderQuantity::Quote(exchange_actors::model::Notional(lots * i128::from(mid)))
    } else {
        OrderQuantity::Base(Qty(rng.gen_range(lots_min..=lots_max)))
    };
    let stp = [
        SelfTradePrevention::None,
        SelfTradePrevention::ExpireTaker,
        SelfTradePrevention::ExpireMaker,
        SelfTradePrevention::ExpireBoth,
    ][rng.gen_range(0..4)];
    PlaceRequest {
        symbol: SymbolCode::new(symbol).unwrap(),
        account_id: AccountId(rng.gen_range(1..=ACCOUNTS)),
        client_order_id: ClientOrderId::NONE,
        side,
        order_type,
        time_in_force,
        price: price.map(Price),
        quantity,
        self_trade_prevention: stp,
        reduce_only: false,
        ts_ns: 0,
    }
}

async fn sum_query(exchange: &TestExchange, sql: &str) -> Vec<(String, i64)> {
    keyed_totals(&exchange.system.store, sql).await.expect("query runs")
}

async fn check_database(exchange: &TestExchange) {
    balances_conserved(&exchange.system.store).await.expect("balances conserved in the database");
}

async fn soak(backend: Backend) {
    let exchange = TestExchange::start(backend).await;
    for account in 1..=ACCOUNTS {
        exchange
            .fund(
                account,
                &[("BTC", 100 * UNIT), ("ETH", 1_000 * UNIT), ("USDT", 10_000_000 * UNIT)],
            )
            .await;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(20261121);
    let mut placed: Vec<(SymbolCode, AccountId, OrderId)> = Vec::new();
    let (mut accepted, mut refused, mut cancels) = (0, 0, 0);
    for chunk_start in (0..COMMANDS).step_by(CHECK_EVERY) {
        let mut places = Vec::new();
        let mut cancel_commands = Vec::new();
        for _ in chunk_start..(chunk_start + CHECK_EVERY).min(COMMANDS) {
            if !placed.is_empty() && rng.gen_range(0..100) < 25 {
                let (symbol, account_id, order_id) =
                    placed.swap_remove(rng.gen_range(0..placed.len()));
                cancel_commands
                    .push((symbol, BookCommand::Cancel(CancelOrder { account_id, order_id })));
            } else {
                places.push(random_order(&mut rng));
            }
        }
        let place_futures = places.iter().map(|request| exchange.place(*request));
        let cancel_futures = cancel_commands.iter().map(|(symbol, command)| {
            let book = exchange.system.directory.book(symbol.as_str()).unwrap();
            book.send(SubmitCommands(vec![command.clone()]))
        });
        let (place_answers, cancel_answers) =
            tokio::join!(join_all(place_futures.collect()), join_all(cancel_futures.collect()));
        for (request, answer) in places.iter().zip(place_answers) {
            match answer {
                Ok(order) => {
                    accepted += 1;
                    placed.push((request.symbol, request.account_id, order.order_id));
                }
                Err(_refused) => refused += 1,
            }
        }
        cancels += cancel_answers.len();
        let failed: Vec<String> = cancel_answers
            .iter()
            .filter(|answer| !matches!(answer, Ok(Ok(_))))
            .map(|answer| format!("{answer:?}"))
            .collect();
        assert!(
            failed.is_empty(),
            "cancels answered: {} failed, e.g. {:?}",
            failed.len(),
            failed.first()
        );
        exchange.settle().await;
        check_database(&exchange).await;
    }
    assert!(accepted > COMMANDS / 2, "most orders were accepted: {accepted} of {COMMANDS}");
    eprintln!("soak: {accepted} placed, {refused} refused, {cancels} cancels");
    exchange.finish_projections().await;
    let store = &exchange.system.store;
    balances_equal_ledger_replay(store).await.expect("balances equal the ledger replay");
    trades_settled_exactly_once(store, &["BTCUSDT", "ETHUSDT"]).await.expect("trades settled once");

    for account in 1..=ACCOUNTS {
        let memory = exchange
            .system
            .shard(AccountId(account))
            .send(GetBalances(AccountId(account)))
            .await
            .unwrap()
            .unwrap();
        let rows = sum_query(
            &exchange,
            &format!("SELECT asset || ':' || CAST(available AS TEXT), held FROM balances WHERE account_id = {account} ORDER BY asset"),
        )
        .await;
        let stored: Vec<String> = rows.iter().map(|(key, held)| format!("{key}:{held}")).collect();
        let mut expected: Vec<String> = memory
            .iter()
            .map(|(asset, balance)| format!("{asset}:{}:{}", balance.available, balance.held))
            .collect();
        expected.sort();
        assert_eq!(stored, expected, "account {account}: database equals memory");
    }
}

#[actix::test]
async fn sqlite_ledger_soak() {
    soak(Backend::Sqlite).await;
}

#[actix::test]
async fn postgres_ledger_soak() {
    soak(Backend::Postgres).await;
}
