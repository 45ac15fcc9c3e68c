//! An account shard whose handler panics (a test-only poisoned message) is replaced by the
//! shard supervisor within 1 s, rebuilt from the journal under a new epoch: its balances and
//! open orders equal the crashed instance's, and it trades on (SQLite and PostgreSQL).

use std::time::{Duration, Instant};

use exchange_actors::account::actor::{GetBalances, GetOpenOrders, PoisonShard};
use exchange_actors::model::{AccountId, Side};
use exchange_actors::supervisor::{GetShardRestarts, RestartReason};
use integration_tests::db::Backend;
use integration_tests::system::{TestExchange, limit};

const UNIT: i128 = 100_000_000;
const ACCOUNTS: u64 = 6;

async fn poisoned_shard_is_replaced_within_a_second(backend: Backend) {
    integration_tests::quiet_panics();
    let exchange = TestExchange::start(backend).await;
    for account in 1..=ACCOUNTS {
        exchange.fund(account, &[("USDT", 1_000_000 * UNIT), ("BTC", 100 * UNIT)]).await;
    }
    for account in 1..=ACCOUNTS {
        let side = if account % 2 == 0 { Side::Buy } else { Side::Sell };
        let price = if side == Side::Buy { 4_990_000 } else { 5_010_000 };
        for n in 0..5 {
            let request = limit("BTCUSDT", account, side, price + n, 100, &format!("r{n}"));
            exchange.place(request).await.expect("resting order placed");
        }
    }
    // A crossing order, so the crashed shard has trades settled too.
    exchange.place(limit("BTCUSDT", 2, Side::Buy, 5_010_000, 150, "cross")).await.expect("cross");
    exchange.settle().await;

    let victim = AccountId(1);
    let shard = exchange.system.shard(victim);
    let balances = |shard: &actix::Addr<_>| shard.send(GetBalances(victim));
    let before = balances(&shard).await.unwrap().unwrap();
    let open = GetOpenOrders { account_id: victim, symbol: None };
    let open_before = shard.send(open).await.unwrap();

    let poisoned_at = Instant::now();
    let _panicked = shard.send(PoisonShard).await;
    let replacement = loop {
        assert!(poisoned_at.elapsed() < Duration::from_secs(1), "not replaced in 1 s");
        let current = exchange.system.shard(victim);
        if current != shard && current.connected() {
            break current;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert_eq!(balances(&replacement).await.unwrap().unwrap(), before, "balances kept");
    let open = GetOpenOrders { account_id: victim, symbol: None };
    assert_eq!(replacement.send(open).await.unwrap(), open_before, "open orders kept");
    let restarts = exchange.system.shard_supervisor.send(GetShardRestarts).await.unwrap();
    assert_eq!(restarts.get(&RestartReason::Failed), Some(&1));

    // The replacement trades on: its sell is hit, and settlement reaches it.
    exchange.place(limit("BTCUSDT", 1, Side::Sell, 4_990_000, 50, "after")).await.expect("placed");
    exchange.place(limit("BTCUSDT", 4, Side::Buy, 5_020_000, 50, "hit")).await.expect("hit");
    exchange.settle().await;
    let after = balances(&exchange.system.shard(victim)).await.unwrap().unwrap();
    assert_ne!(after, before, "the replacement settled a new trade");
}

#[actix::test]
async fn sqlite_poisoned_shard_is_replaced_within_a_second() {
    poisoned_shard_is_replaced_within_a_second(Backend::Sqlite).await;
}

#[actix::test]
async fn postgres_poisoned_shard_is_replaced_within_a_second() {
    poisoned_shard_is_replaced_within_a_second(Backend::Postgres).await;
}
