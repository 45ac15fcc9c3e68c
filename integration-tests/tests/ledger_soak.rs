//! Ledger soak through the real actors and journal (SQLite and PostgreSQL): 100,000 random
//! orders and cancels from 1,000 accounts on 2 symbols. Every 1,000 commands, once the shards
//! have applied every book event and committed: each shard's invariants hold (held equals its
//! open orders' holds, no negative balance, per asset zero sum), and in the database the
//! balances of every asset sum to zero, none is negative, and the clearing accounts of the
//! two shards net to zero. At the end the database balances equal the shards' memory and the
//! replay of the projected ledger entries.

use std::collections::BTreeMap;

use exchange_actors::account::PlaceRequest;
use exchange_actors::account::actor::GetBalances;
use exchange_actors::book::actor::SubmitCommands;
use exchange_actors::model::{
    AccountId, BookCommand, CancelOrder, ClientOrderId, OrderId, OrderQuantity, OrderType, Price,
    Qty, SelfTradePrevention, Side, SymbolCode, TimeInForce,
};
use integration_tests::db::Backend;
use integration_tests::join_all;
use integration_tests::system::TestExchange;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sea_orm::{ConnectionTrait, Statement};

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
    let db = exchange.system.store.connection();
    let rows = db
        .query_all_raw(Statement::from_string(exchange.system.store.backend(), sql.to_owned()))
        .await
        .expect("query runs");
    rows.iter()
        .map(|row| {
            let key: String = row.try_get_by_index(0).unwrap();
            // SUM over BIGINT is NUMERIC on PostgreSQL; cast in SQL keeps one type.
            let total: i64 = row.try_get_by_index(1).unwrap();
            (key, total)
        })
        .collect()
}

async fn check_database(exchange: &TestExchange) {
    let per_asset = sum_query(
        exchange,
        "SELECT asset, CAST(SUM(total) AS BIGINT) FROM (\
         SELECT asset, available + held AS total FROM balances UNION ALL \
         SELECT asset, available + held AS total FROM system_balances) t GROUP BY asset",
    )
    .await;
    assert!(per_asset.len() >= 3, "all three assets moved: {per_asset:?}");
    for (asset, total) in &per_asset {
        assert_eq!(*total, 0, "{asset} balances sum to {total}, not zero");
    }
    let negative = sum_query(
        exchange,
        "SELECT 'negative', CAST(COUNT(*) AS BIGINT) FROM balances WHERE available < 0 OR held < 0",
    )
    .await;
    assert_eq!(negative[0].1, 0, "negative user balances");
    let clearing = sum_query(
        exchange,
        "SELECT account || ' ' || asset, CAST(SUM(available + held) AS BIGINT) FROM system_balances \
         WHERE account LIKE 'clearing:%' GROUP BY account, asset",
    )
    .await;
    for (account, total) in &clearing {
        assert_eq!(*total, 0, "{account} nets to {total} over the shards");
    }
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
        assert!(
            cancel_answers.iter().all(|answer| matches!(answer, Ok(Ok(_)))),
            "cancels answered"
        );
        exchange.settle().await;
        check_database(&exchange).await;
    }
    assert!(accepted > COMMANDS / 2, "most orders were accepted: {accepted} of {COMMANDS}");
    eprintln!("soak: {accepted} placed, {refused} refused, {cancels} cancels");

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
    check_ledger_replay(&exchange).await;
}

/// Every balance row (user and system, both buckets) equals the replay of the projected
/// `ledger_entries`: credits minus debits per (shard, owner, asset, bucket).
async fn check_ledger_replay(exchange: &TestExchange) {
    for shard_index in 0..exchange.system.shards.len() {
        let shard_index = u16::try_from(shard_index).unwrap();
        exchange.system.store.finish_projection(shard_index).await.expect("projection finishes");
    }
    let replayed = sum_query(
        exchange,
        "SELECT k, CAST(SUM(delta) AS BIGINT) FROM (\
         SELECT CAST(shard AS TEXT) || ' ' || credit_owner || ' ' || asset || ' ' || credit_bucket \
         AS k, amount AS delta FROM ledger_entries UNION ALL \
         SELECT CAST(shard AS TEXT) || ' ' || debit_owner || ' ' || asset || ' ' || debit_bucket, \
         -amount FROM ledger_entries) t GROUP BY k",
    )
    .await;
    let stored = sum_query(
        exchange,
        "SELECT CAST(a.shard AS TEXT) || ' user:' || CAST(b.account_id AS TEXT) || ' ' || b.asset \
         || ' available', b.available FROM balances b JOIN accounts a ON a.account_id = b.account_id \
         UNION ALL \
         SELECT CAST(a.shard AS TEXT) || ' user:' || CAST(b.account_id AS TEXT) || ' ' || b.asset \
         || ' held', b.held FROM balances b JOIN accounts a ON a.account_id = b.account_id \
         UNION ALL \
         SELECT CAST(shard AS TEXT) || ' ' || account || ' ' || asset || ' available', available \
         FROM system_balances UNION ALL \
         SELECT CAST(shard AS TEXT) || ' ' || account || ' ' || asset || ' held', held \
         FROM system_balances",
    )
    .await;
    let nonzero = |rows: Vec<(String, i64)>| {
        rows.into_iter().filter(|(_, total)| *total != 0).collect::<BTreeMap<_, _>>()
    };
    let (replayed, stored) = (nonzero(replayed), nonzero(stored));
    assert!(
        replayed.len() > usize::try_from(ACCOUNTS).unwrap(),
        "the ledger moved money: {}",
        replayed.len()
    );
    assert_eq!(replayed, stored, "balances equal the replay of the ledger");
}

#[actix::test]
async fn sqlite_ledger_soak() {
    soak(Backend::Sqlite).await;
}

#[actix::test]
async fn postgres_ledger_soak() {
    soak(Backend::Postgres).await;
}
