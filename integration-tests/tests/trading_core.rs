//! The trading core's acceptance tests through the real actors and journal, on SQLite and on
//! PostgreSQL: client retries place one order, a cancel racing a fill ends each order exactly
//! once with its hold released once, and books and shards come back equal after a restart.

use exchange::system::ExchangeSystem;
use exchange_actors::account::AccountReject;
use exchange_actors::account::OrderStatus;
use exchange_actors::account::actor::{GetBalances, GetOrder, ShardError};
use exchange_actors::book::actor::SubmitCommands;
use exchange_actors::model::{AccountId, AssetCode, BookCommand, CancelOrder, OrderId, Side};
use integration_tests::db::Backend;
use integration_tests::join_all;
use integration_tests::system::{TestExchange, default_config, limit};

const BTC: i128 = 100_000_000;
const USDT: i128 = 100_000_000;

async fn client_retry_places_one_order(backend: Backend) {
    let exchange = TestExchange::start(backend).await;
    exchange.fund(7, &[("USDT", 1_000_000 * USDT)]).await;
    let request = limit("BTCUSDT", 7, Side::Buy, 4_900_000, 1_000, "retry-1");
    let (first, second, third) =
        tokio::join!(exchange.place(request), exchange.place(request), exchange.place(request));
    let answers = [first, second, third];
    let placed: Vec<_> = answers.iter().filter_map(|answer| answer.as_ref().ok()).collect();
    assert_eq!(placed.len(), 1, "exactly one placement: {answers:?}");
    let duplicates = answers
        .iter()
        .filter(|answer| {
            matches!(answer, Err(ShardError::Rejected(AccountReject::DuplicateClientOrderId)))
        })
        .count();
    assert_eq!(duplicates, 2);
    exchange.settle().await;
    let shard = exchange.system.shard(AccountId(7));
    let balances = shard.send(GetBalances(AccountId(7))).await.unwrap().unwrap();
    let usdt = balances.iter().find(|(asset, _)| asset.as_str() == "USDT").unwrap().1;
    // 49,000.00 x 0.01 BTC = 490 USDT held once.
    assert_eq!(usdt.held, 490 * USDT);
    assert_eq!(usdt.available, 1_000_000 * USDT - 490 * USDT);
}

#[actix::test]
async fn sqlite_client_retry_places_one_order() {
    client_retry_places_one_order(Backend::Sqlite).await;
}

#[actix::test]
async fn postgres_client_retry_places_one_order() {
    client_retry_places_one_order(Backend::Postgres).await;
}

const RACED_ORDERS: u64 = 1_000;

async fn cancel_racing_a_fill_ends_each_order_once(backend: Backend) {
    let exchange = TestExchange::start(backend).await;
    let (maker, taker) = (11, 12);
    exchange.fund(maker, &[("BTC", 100 * BTC)]).await;
    exchange.fund(taker, &[("USDT", 10_000_000 * USDT)]).await;
    let makers = (0..RACED_ORDERS)
        .map(|n| limit("BTCUSDT", maker, Side::Sell, 5_000_000, 1_000, &format!("m{n}")))
        .collect();
    let resting: Vec<OrderId> = exchange
        .place_many(makers)
        .await
        .into_iter()
        .map(|placed| placed.expect("maker order rests").order_id)
        .collect();
    let book = exchange.system.directory.book("BTCUSDT").unwrap();
    // Each crossing order races the cancel of "its" resting order. Cancels skip the shard and
    // the queue (priority lane), so a cancel sent with its crossing order mostly wins. Half the
    // cancels are sent only once their crossing order was acknowledged, so fills happen
    // however slow the machine is: the first of those takes finds at least half the book.
    let race = resting.iter().enumerate().map(|(n, order_id)| {
        let cancel =
            BookCommand::Cancel(CancelOrder { account_id: AccountId(maker), order_id: *order_id });
        let book = book.clone();
        let cancel = async move { book.send(SubmitCommands(vec![cancel])).await };
        let take =
            exchange.place(limit("BTCUSDT", taker, Side::Buy, 5_000_000, 1_000, &format!("t{n}")));
        async move {
            if n % 2 == 0 {
                let (cancel, take) = tokio::join!(cancel, take);
                (cancel.is_ok(), take.is_ok())
            } else {
                let take = take.await;
                (cancel.await.is_ok(), take.is_ok())
            }
        }
    });
    let results = join_all(race.collect()).await;
    assert!(results.iter().all(|(cancel, take)| *cancel && *take), "every command answered");
    exchange.settle().await;

    let shard = exchange.system.shard(AccountId(maker));
    let (mut filled, mut canceled) = (0, 0);
    for order_id in &resting {
        let query = GetOrder {
            account_id: AccountId(maker),
            order_id: Some(*order_id),
            client_order_id: None,
        };
        let order = shard.send(query).await.unwrap().expect("maker order known");
        assert_eq!(order.hold_remaining, 0, "hold released at the end of {order_id:?}");
        match order.status {
            OrderStatus::Filled => filled += 1,
            OrderStatus::Canceled => canceled += 1,
            other => panic!("order {order_id:?} ended {other:?}"),
        }
    }
    assert_eq!(filled + canceled, RACED_ORDERS);
    assert!(
        filled > 0 && canceled > 0,
        "both outcomes happened: {filled} filled, {canceled} canceled"
    );
    let maker_btc = balance(&exchange.system, maker, "BTC").await;
    assert_eq!(maker_btc.held, 0);
    // Every filled order sold 0.01 BTC; every canceled one gave its 0.01 back exactly once.
    assert_eq!(maker_btc.available, 100 * BTC - i128::from(filled) * BTC / 100);
}

async fn balance(
    system: &ExchangeSystem,
    account: u64,
    asset: &str,
) -> exchange_actors::account::Balance {
    let balances = system
        .shard(AccountId(account))
        .send(GetBalances(AccountId(account)))
        .await
        .unwrap()
        .unwrap();
    let asset = AssetCode::new(asset).unwrap();
    balances
        .into_iter()
        .find(|(code, _)| *code == asset)
        .map(|(_, balance)| balance)
        .unwrap_or_default()
}

#[actix::test]
async fn sqlite_cancel_racing_a_fill_ends_each_order_once() {
    cancel_racing_a_fill_ends_each_order_once(Backend::Sqlite).await;
}

#[actix::test]
async fn postgres_cancel_racing_a_fill_ends_each_order_once() {
    cancel_racing_a_fill_ends_each_order_once(Backend::Postgres).await;
}

async fn restart_keeps_orders_and_balances(backend: Backend) {
    let exchange = TestExchange::start(backend).await;
    exchange.fund(21, &[("BTC", 10 * BTC)]).await;
    exchange.fund(22, &[("USDT", 1_000_000 * USDT)]).await;
    let resting =
        exchange.place(limit("BTCUSDT", 21, Side::Sell, 5_100_000, 2_000, "keep")).await.unwrap();
    exchange.place(limit("BTCUSDT", 21, Side::Sell, 5_000_000, 1_000, "hit")).await.unwrap();
    exchange.place(limit("BTCUSDT", 22, Side::Buy, 5_000_000, 1_000, "take")).await.unwrap();
    exchange.settle().await;
    let before =
        (balance(&exchange.system, 21, "USDT").await, balance(&exchange.system, 22, "BTC").await);

    // A second system on the same database: new epochs fence the first one's writers.
    let restarted =
        ExchangeSystem::start_on(&default_config(), exchange.database.store().await).await.unwrap();
    let after = (balance(&restarted, 21, "USDT").await, balance(&restarted, 22, "BTC").await);
    assert_eq!(after, before);
    // Taker received 0.01 BTC minus the 0.1% taker fee; maker 500 USDT minus the 0.01% maker fee.
    assert_eq!(after.1.available, BTC / 100 - BTC / 100_000);
    assert_eq!(after.0.available, 500 * USDT - 5 * USDT / 100);
    let query = GetOrder {
        account_id: AccountId(21),
        order_id: Some(resting.order_id),
        client_order_id: None,
    };
    let order = restarted.shard(AccountId(21)).send(query).await.unwrap().unwrap();
    assert_eq!(order.status, OrderStatus::New);
    let book = restarted.directory.book("BTCUSDT").unwrap();
    let view =
        book.send(exchange_actors::book::actor::GetBookView { depth_levels: 5 }).await.unwrap();
    assert_eq!(view.open_order_count, 1);
}

#[actix::test]
async fn sqlite_restart_keeps_orders_and_balances() {
    restart_keeps_orders_and_balances(Backend::Sqlite).await;
}

#[actix::test]
async fn postgres_restart_keeps_orders_and_balances() {
    restart_keeps_orders_and_balances(Backend::Postgres).await;
}
