//! The history tables on both databases: a batch of trades, klines and the watermark commits
//! as one; a replayed batch adds nothing; a commit from a watermark the table does not hold is
//! refused; keyset pages of one account's trades (maker and
//! taker sides merged, a self-trade once) in both directions, by order, by trade id range; time
//! bounds resolve to trade ids; klines upsert and page.

use exchange::store::{AccountTradeQuery, Store};
use exchange_actors::market::{Kline, KlineInterval, KlineWindow, TradeBatch, TradeRecord};
use exchange_actors::model::{AccountId, OrderId, Price, Qty, Side, SymbolCode, TradeId};
use exchange_actors::ports::JournalError;
use integration_tests::db::{Backend, TestDatabase};

const ALICE: AccountId = AccountId(1);
const BOB: AccountId = AccountId(2);

fn btcusdt() -> SymbolCode {
    SymbolCode::new("BTCUSDT").expect("symbol")
}

/// Trade `id` at `id` seconds: Alice makes the odd ones, takes the even ones (from Bob).
fn trade(id: u64) -> TradeRecord {
    let (maker, taker) = if id % 2 == 1 { (ALICE, BOB) } else { (BOB, ALICE) };
    TradeRecord {
        symbol: btcusdt(),
        trade_id: TradeId(id),
        seq: id * 2,
        time_ms: id * 1_000,
        price: Price(100 + i64::try_from(id).expect("small")),
        qty: Qty(id),
        taker_side: if id.is_multiple_of(3) { Side::Sell } else { Side::Buy },
        maker_order_id: OrderId(1_000 + id),
        maker_account_id: maker,
        taker_order_id: OrderId(5_000 + id / 4),
        taker_account_id: taker,
        maker_fee: -1,
        taker_fee: 7,
    }
}

fn batch(ids: std::ops::RangeInclusive<u64>) -> TradeBatch {
    let trades: Vec<TradeRecord> = ids.map(trade).collect();
    let mut klines = Vec::new();
    let mut kline: Option<Kline> = None;
    for trade in &trades {
        match kline.as_mut() {
            Some(kline) => kline.add(trade),
            None => kline = Some(Kline::opened_by(0, trade)),
        }
    }
    klines.extend(kline.map(|kline| (KlineInterval::Hour1, kline)));
    let watermark = trades.last().map_or(0, |trade| trade.seq);
    TradeBatch { symbol: btcusdt(), trades, klines, watermark }
}

fn query(newest_first: bool, limit: u32) -> AccountTradeQuery {
    AccountTradeQuery {
        account_id: ALICE,
        symbol: btcusdt(),
        order_id: None,
        from_trade_id: None,
        to_trade_id: None,
        newest_first,
        limit,
    }
}

async fn ids(store: &Store, query: AccountTradeQuery) -> Vec<u64> {
    let trades = store.account_trades(&query).await.expect("read");
    trades.iter().map(|trade| trade.trade_id.0).collect()
}

async fn history_tables(backend: Backend) {
    let database = TestDatabase::create(backend).await;
    let store = database.store().await;
    assert_eq!(store.consumer_watermark("history", btcusdt()).await.expect("read"), 0);
    store.commit_trade_batches("history", 0, &[batch(1..=6)]).await.expect("commit");
    // A replay of what is stored adds nothing; the next batch's kline replaces the row.
    let replay = [batch(1..=6), batch(1..=10)];
    store.commit_trade_batches("history", 12, &replay).await.expect("commit");
    assert_eq!(store.consumer_watermark("history", btcusdt()).await.expect("read"), 20);
    let all = store.trades_between(btcusdt(), None, None, 100).await.expect("read");
    assert_eq!(all, (1..=10).map(trade).collect::<Vec<_>>());
    let recent = store.recent_trades(btcusdt(), 3).await.expect("read");
    assert_eq!(recent.iter().map(|t| t.trade_id.0).collect::<Vec<_>>(), [8, 9, 10]);

    // Alice is maker or taker of every trade; Bob of every trade too.
    assert_eq!(ids(&store, query(true, 4)).await, [7, 8, 9, 10]);
    assert_eq!(ids(&store, query(false, 4)).await, [1, 2, 3, 4]);
    let from = AccountTradeQuery { from_trade_id: Some(TradeId(5)), ..query(false, 3) };
    assert_eq!(ids(&store, from).await, [5, 6, 7]);
    let to = AccountTradeQuery { to_trade_id: Some(TradeId(5)), ..query(true, 2) };
    assert_eq!(ids(&store, to).await, [4, 5]);
    // Taker order 5001 took trades 4..=7; Alice was its taker only in 4 and 6.
    let by_order = AccountTradeQuery { order_id: Some(OrderId(5_001)), ..query(false, 10) };
    assert_eq!(ids(&store, by_order).await, [4, 6]);
    let other = AccountTradeQuery { account_id: AccountId(3), ..query(false, 10) };
    assert!(ids(&store, other).await.is_empty());

    assert_eq!(store.trade_id_at(btcusdt(), 2_500, true).await.expect("read"), Some(TradeId(3)));
    assert_eq!(store.trade_id_at(btcusdt(), 2_500, false).await.expect("read"), Some(TradeId(2)));
    assert_eq!(store.trade_id_at(btcusdt(), 11_000, true).await.expect("read"), None);

    let klines = store.latest_klines(btcusdt(), KlineInterval::Hour1, 5).await.expect("read");
    assert_eq!(klines, [batch(1..=10).klines[0].1]);
    assert_eq!(klines[0].trade_count, 10);
    let window = KlineWindow { start_ms: Some(3_600_000), end_ms: None, limit: 10 };
    let page = store.kline_page(btcusdt(), KlineInterval::Hour1, &window).await.expect("read");
    assert!(page.is_empty());
    assert!(store.latest_klines(btcusdt(), KlineInterval::Day1, 5).await.expect("read").is_empty());

    // A self-trade (Alice on both sides, allowed with STP mode NONE) is in both side ranges
    // but is one trade of hers: listed once, and the page still holds `limit` trades.
    let mut self_trade = batch(11..=12);
    self_trade.trades[0].taker_account_id = ALICE;
    store.commit_trade_batches("history", 20, &[self_trade]).await.expect("commit");
    assert_eq!(ids(&store, query(true, 3)).await, [10, 11, 12]);
    let from_ten = AccountTradeQuery { from_trade_id: Some(TradeId(10)), ..query(false, 3) };
    assert_eq!(ids(&store, from_ten).await, [10, 11, 12]);

    // A commit from a watermark the table does not hold (the database lost commits this
    // writer saw succeed, or another writer moved it) is refused and writes nothing.
    for stale in [0, 20, 30] {
        let refused = store.commit_trade_batches("history", stale, &[batch(13..=14)]).await;
        assert!(
            matches!(refused, Err(JournalError::OutOfSequence { last: 24, .. })),
            "from {stale}: {refused:?}"
        );
    }
    assert_eq!(store.consumer_watermark("history", btcusdt()).await.expect("read"), 24);
    assert_eq!(ids(&store, query(true, 3)).await, [10, 11, 12]);
    store.commit_trade_batches("history", 24, &[batch(13..=14)]).await.expect("commit");
    assert_eq!(ids(&store, query(true, 3)).await, [12, 13, 14]);
}

#[tokio::test]
async fn history_tables_on_sqlite() {
    history_tables(Backend::Sqlite).await;
}

#[tokio::test]
async fn history_tables_on_postgres() {
    history_tables(Backend::Postgres).await;
}
