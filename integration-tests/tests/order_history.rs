//! The history reads of the `orders` table on both databases: keyset pages in either
//! direction with only the bounds asked for, scoped to one account and symbol, and one order
//! by id or client order id.

use exchange::store::{OrderPageQuery, Store};
use exchange_actors::account::{Changes, OrderRecord, OrderStatus};
use exchange_actors::model::{
    AccountId, AssetCode, ClientOrderId, OrderId, OrderQuantity, OrderType, Price, Qty,
    SelfTradePrevention, Side, SymbolCode, TimeInForce,
};
use exchange_actors::ports::{Journal, shard_stream};
use integration_tests::db::{Backend, TestDatabase};

const ALICE: AccountId = AccountId(1);
const BOB: AccountId = AccountId(2);

fn symbol(text: &str) -> SymbolCode {
    SymbolCode::new(text).expect("symbol")
}

/// Order `id` of `account` on `symbol`, created at `id` ms, client id `c-<id>`.
fn order(id: u64, account: AccountId, on: &str) -> OrderRecord {
    OrderRecord {
        order_id: OrderId(id),
        account_id: account,
        symbol: symbol(on),
        client_order_id: ClientOrderId::new(&format!("c-{id}")).expect("client id"),
        side: Side::Buy,
        order_type: OrderType::Limit,
        time_in_force: TimeInForce::Gtc,
        self_trade_prevention: SelfTradePrevention::None,
        reduce_only: false,
        price: Some(Price(100)),
        quantity: OrderQuantity::Base(Qty(1)),
        executed_qty: Qty::ZERO,
        cumulative_quote: 0,
        status: if id.is_multiple_of(2) { OrderStatus::Canceled } else { OrderStatus::New },
        hold_asset: AssetCode::new("USDT").expect("asset"),
        hold_remaining: 0,
        hold_subsidized: 0,
        created_ts_ns: id * 1_000_000,
        updated_ts_ns: id * 1_000_000,
    }
}

async fn journaled(backend: Backend) -> (TestDatabase, Store) {
    let database = TestDatabase::create(backend).await;
    let store = database.store().await;
    let epoch = store.acquire_epoch(shard_stream(0)).await.expect("epoch");
    let mut orders: Vec<OrderRecord> = (1..=12).map(|id| order(id, ALICE, "BTCUSDT")).collect();
    orders.extend([order(13, ALICE, "ETHUSDT"), order(14, BOB, "BTCUSDT")]);
    let changes = Changes {
        accounts: vec![ALICE, BOB],
        orders,
        next_order_counter: 15,
        next_entry_id: 1,
        ..Changes::default()
    };
    store.commit_shard_changes(0, epoch, changes).await.expect("commit");
    // The orders table is a projection of the journaled batch, written behind the commit.
    store.finish_projection(0).await.expect("projection");
    (database, store)
}

fn page(
    from_order_id: Option<u64>,
    created_ms: (Option<u64>, Option<u64>),
    newest_first: bool,
    limit: u32,
) -> OrderPageQuery {
    OrderPageQuery {
        account_id: ALICE,
        symbol: symbol("BTCUSDT"),
        from_order_id: from_order_id.map(OrderId),
        created_from_ns: created_ms.0.map(|ms| ms * 1_000_000),
        created_to_ns: created_ms.1.map(|ms| ms * 1_000_000),
        newest_first,
        limit,
    }
}

async fn ids(store: &Store, query: OrderPageQuery) -> Vec<u64> {
    let orders = store.order_page(&query).await.expect("page");
    assert!(orders.iter().all(|order| order.account_id == ALICE));
    orders.iter().map(|order| order.order_id.0).collect()
}

async fn pages_and_lookups(backend: Backend) {
    let (_database, store) = journaled(backend).await;
    assert_eq!(ids(&store, page(None, (None, None), true, 3)).await, [12, 11, 10]);
    assert_eq!(ids(&store, page(None, (None, None), true, 100)).await.len(), 12);
    assert_eq!(ids(&store, page(Some(5), (None, None), false, 3)).await, [5, 6, 7]);
    assert_eq!(ids(&store, page(Some(11), (None, None), false, 3)).await, [11, 12]);
    assert_eq!(ids(&store, page(None, (Some(4), Some(6)), false, 10)).await, [4, 5, 6]);
    assert_eq!(ids(&store, page(Some(5), (None, Some(8)), true, 2)).await, [8, 7]);
    let decoded = store.order_page(&page(Some(12), (None, None), false, 1)).await.unwrap();
    assert_eq!(decoded, [order(12, ALICE, "BTCUSDT")]);

    let btc = symbol("BTCUSDT");
    let by_id = store.stored_order(ALICE, btc, Some(OrderId(7)), None).await.unwrap();
    assert_eq!(by_id, Some(order(7, ALICE, "BTCUSDT")));
    let client = ClientOrderId::new("c-9").unwrap();
    let by_client = store.stored_order(ALICE, btc, None, Some(client)).await.unwrap();
    assert_eq!(by_client.map(|order| order.order_id), Some(OrderId(9)));
    // Another account's order, or another symbol's, is not found.
    assert_eq!(store.stored_order(ALICE, btc, Some(OrderId(14)), None).await.unwrap(), None);
    assert_eq!(store.stored_order(ALICE, btc, Some(OrderId(13)), None).await.unwrap(), None);
    assert_eq!(store.stored_order(ALICE, btc, None, None).await.unwrap(), None);
}

#[actix::test]
async fn order_history_on_sqlite() {
    pages_and_lookups(Backend::Sqlite).await;
}

#[actix::test]
async fn order_history_on_postgres() {
    pages_and_lookups(Backend::Postgres).await;
}
