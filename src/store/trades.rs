//! The history's tables: `trades` and `klines` (migration 000004), written by the history
//! consumer one batch per transaction with its watermark, and read back by the market-data
//! restore and the history routes. Every read is a keyset range on an index: a bound is a
//! condition only when it was asked for, and each page is `LIMIT`ed in its direction.

use std::collections::BTreeMap;

use exchange_actors::market::{Kline, KlineInterval, KlineWindow, TradeBatch, TradeRecord};
use exchange_actors::model::{AccountId, OrderId, Price, Qty, Side, SymbolCode, TradeId};
use exchange_actors::ports::JournalError;
use sea_orm::sea_query::{
    ArrayType, Asterisk, Expr, ExprTrait, InsertStatement, OnConflict, Order, Query,
    SelectStatement, SimpleExpr, UnionType, Value,
};
use sea_orm::{ConnectionTrait, DatabaseTransaction, DbBackend, QueryResult, Statement};

use super::Store;
use super::codec::{from_db, store_error, to_db};
use super::watermarks::advance_watermark;

/// Most rows one read returns.
pub const TRADE_PAGE_ROWS_MAX: u32 = 10_000;
/// Rows per INSERT statement (well under both backends' bound-parameter limits).
const ROWS_PER_STATEMENT: usize = 500;

const TRADE_COLUMNS: [&str; 13] = [
    "symbol",
    "trade_id",
    "seq",
    "time_ms",
    "price",
    "qty",
    "buyer_is_maker",
    "maker_order_id",
    "maker_account_id",
    "taker_order_id",
    "taker_account_id",
    "maker_fee",
    "taker_fee",
];

const KLINE_COLUMNS: [&str; 14] = [
    "symbol",
    "interval",
    "open_time_ms",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "quote_volume",
    "trade_count",
    "taker_buy_volume",
    "taker_buy_quote_volume",
    "first_trade_id",
    "last_trade_id",
];

/// An account's trades of one symbol: trade ids in `from..=to`, optionally of one order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AccountTradeQuery {
    pub account_id: AccountId,
    pub symbol: SymbolCode,
    pub order_id: Option<OrderId>,
    pub from_trade_id: Option<TradeId>,
    pub to_trade_id: Option<TradeId>,
    pub newest_first: bool,
    pub limit: u32,
}

fn corrupt(detail: String) -> JournalError {
    JournalError::Corrupt { stream: "trades".to_owned(), position: 0, detail }
}

fn int(row: &QueryResult, column: &str) -> Result<u64, JournalError> {
    from_db(row.try_get("", column).map_err(store_error)?)
}

fn signed(row: &QueryResult, column: &str) -> Result<i64, JournalError> {
    row.try_get("", column).map_err(store_error)
}

fn parsed<T: std::str::FromStr>(row: &QueryResult, column: &str) -> Result<T, JournalError> {
    let text: String = row.try_get("", column).map_err(store_error)?;
    text.parse().map_err(|_| corrupt(format!("{column} {text:?} is not an integer")))
}

fn trade_of(row: &QueryResult) -> Result<TradeRecord, JournalError> {
    let symbol: String = row.try_get("", "symbol").map_err(store_error)?;
    let buyer_is_maker: bool = row.try_get("", "buyer_is_maker").map_err(store_error)?;
    Ok(TradeRecord {
        symbol: SymbolCode::new(&symbol).map_err(|error| corrupt(error.to_string()))?,
        trade_id: TradeId(int(row, "trade_id")?),
        seq: int(row, "seq")?,
        time_ms: int(row, "time_ms")?,
        price: Price(signed(row, "price")?),
        qty: Qty(int(row, "qty")?),
        taker_side: if buyer_is_maker { Side::Sell } else { Side::Buy },
        maker_order_id: OrderId(int(row, "maker_order_id")?),
        maker_account_id: AccountId(int(row, "maker_account_id")?),
        taker_order_id: OrderId(int(row, "taker_order_id")?),
        taker_account_id: AccountId(int(row, "taker_account_id")?),
        maker_fee: signed(row, "maker_fee")?,
        taker_fee: signed(row, "taker_fee")?,
    })
}

fn trade_row(trade: &TradeRecord) -> Result<[Value; 13], JournalError> {
    Ok([
        trade.symbol.as_str().into(),
        to_db(trade.trade_id.0)?.into(),
        to_db(trade.seq)?.into(),
        to_db(trade.time_ms)?.into(),
        trade.price.0.into(),
        to_db(trade.qty.0)?.into(),
        trade.buyer_is_maker().into(),
        to_db(trade.maker_order_id.0)?.into(),
        to_db(trade.maker_account_id.0)?.into(),
        to_db(trade.taker_order_id.0)?.into(),
        to_db(trade.taker_account_id.0)?.into(),
        trade.maker_fee.into(),
        trade.taker_fee.into(),
    ])
}

/// The PostgreSQL type of each of [`TRADE_COLUMNS`], as array element type and cast.
fn trade_column_types() -> [(ArrayType, &'static str); 13] {
    let bigint = || (ArrayType::BigInt, "bigint");
    [
        (ArrayType::String, "text"),
        bigint(),
        bigint(),
        bigint(),
        bigint(),
        bigint(),
        (ArrayType::Bool, "boolean"),
        bigint(),
        bigint(),
        bigint(),
        bigint(),
        bigint(),
        bigint(),
    ]
}

/// Writes `rows` to `trades`, skipping trades already stored. On PostgreSQL it is one
/// statement of one array per column (`UNNEST`): 13 parameters whatever the row count, where a
/// `VALUES` list binds every cell and is planned again per statement (measured: ~100 µs per
/// trade in 500-row statements, the history writer's whole budget). SQLite takes `VALUES`.
async fn insert_trades(
    txn: &DatabaseTransaction,
    rows: Vec<[Value; 13]>,
) -> Result<(), JournalError> {
    if rows.is_empty() {
        return Ok(());
    }
    if txn.get_database_backend() != DbBackend::Postgres {
        let insert = Query::insert()
            .into_table("trades")
            .columns(TRADE_COLUMNS)
            .on_conflict(OnConflict::columns(["symbol", "trade_id"]).do_nothing().to_owned())
            .to_owned();
        let rows = rows.into_iter().map(|row| row.into_iter().map(SimpleExpr::from).collect());
        return insert_rows(txn, &insert, rows.collect()).await;
    }
    let mut columns: Vec<Vec<Value>> =
        TRADE_COLUMNS.iter().map(|_| Vec::with_capacity(rows.len())).collect();
    for row in rows {
        for (column, value) in columns.iter_mut().zip(row) {
            column.push(value);
        }
    }
    let types = trade_column_types();
    let arrays: Vec<String> = types
        .iter()
        .enumerate()
        .map(|(index, (_, cast))| format!("${}::{cast}[]", index + 1))
        .collect();
    let sql = format!(
        "INSERT INTO trades ({}) SELECT * FROM UNNEST({}) ON CONFLICT (symbol, trade_id) DO NOTHING",
        TRADE_COLUMNS.join(", "),
        arrays.join(", ")
    );
    let values = columns
        .into_iter()
        .zip(types)
        .map(|(column, (element, _))| Value::Array(element, Some(Box::new(column))));
    let statement = Statement::from_sql_and_values(DbBackend::Postgres, sql, values);
    txn.execute_raw(statement).await.map_err(store_error)?;
    Ok(())
}

fn kline_of(row: &QueryResult) -> Result<Kline, JournalError> {
    Ok(Kline {
        open_time_ms: int(row, "open_time_ms")?,
        open: Price(signed(row, "open")?),
        high: Price(signed(row, "high")?),
        low: Price(signed(row, "low")?),
        close: Price(signed(row, "close")?),
        volume: parsed(row, "volume")?,
        quote_volume: parsed(row, "quote_volume")?,
        trade_count: int(row, "trade_count")?,
        taker_buy_volume: parsed(row, "taker_buy_volume")?,
        taker_buy_quote_volume: parsed(row, "taker_buy_quote_volume")?,
        first_trade_id: TradeId(int(row, "first_trade_id")?),
        last_trade_id: TradeId(int(row, "last_trade_id")?),
    })
}

fn kline_row(
    symbol: SymbolCode,
    interval: KlineInterval,
    kline: &Kline,
) -> Result<Vec<SimpleExpr>, JournalError> {
    Ok(vec![
        symbol.as_str().into(),
        interval.name().into(),
        to_db(kline.open_time_ms)?.into(),
        kline.open.0.into(),
        kline.high.0.into(),
        kline.low.0.into(),
        kline.close.0.into(),
        kline.volume.to_string().into(),
        kline.quote_volume.to_string().into(),
        to_db(kline.trade_count)?.into(),
        kline.taker_buy_volume.to_string().into(),
        kline.taker_buy_quote_volume.to_string().into(),
        to_db(kline.first_trade_id.0)?.into(),
        to_db(kline.last_trade_id.0)?.into(),
    ])
}

async fn insert_rows(
    txn: &DatabaseTransaction,
    template: &InsertStatement,
    rows: Vec<Vec<SimpleExpr>>,
) -> Result<(), JournalError> {
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let mut insert = template.clone();
        for row in chunk {
            insert.values_panic(row.iter().cloned());
        }
        txn.execute(&insert).await.map_err(store_error)?;
    }
    Ok(())
}

fn select_trades(symbol: SymbolCode) -> SelectStatement {
    Query::select().columns(TRADE_COLUMNS).from("trades").and_where(symbol_is(symbol)).to_owned()
}

fn symbol_is(symbol: SymbolCode) -> SimpleExpr {
    Expr::col("symbol").eq(symbol.as_str())
}

fn trade_id_range(
    select: &mut SelectStatement,
    from: Option<TradeId>,
    to: Option<TradeId>,
) -> Result<(), JournalError> {
    if let Some(from) = from {
        select.and_where(Expr::col("trade_id").gte(to_db(from.0)?));
    }
    if let Some(to) = to {
        select.and_where(Expr::col("trade_id").lte(to_db(to.0)?));
    }
    Ok(())
}

fn direction(newest_first: bool) -> Order {
    if newest_first { Order::Desc } else { Order::Asc }
}

/// The statement of [`Store::trade_id_at`] (public so tests can `EXPLAIN` what runs).
/// A range on the `trades_symbol_time` index, read one row in the bound's direction.
pub fn trade_id_at_select(
    symbol: SymbolCode,
    time_ms: u64,
    at_or_after: bool,
) -> Result<SelectStatement, JournalError> {
    let time = to_db(time_ms)?;
    let mut select =
        Query::select().column("trade_id").from("trades").and_where(symbol_is(symbol)).to_owned();
    if at_or_after {
        select.and_where(Expr::col("time_ms").gte(time));
    } else {
        select.and_where(Expr::col("time_ms").lte(time));
    }
    let order = direction(!at_or_after);
    select.order_by("time_ms", order.clone()).order_by("trade_id", order).limit(1);
    Ok(select)
}

/// The statements of [`Store::account_trades`], maker side first (public so tests can
/// `EXPLAIN` what runs). Each is a keyset range on `trades_<side>_account` (or, by order,
/// `trades_<side>_order`): only the bounds asked for, `LIMIT`ed in the page's direction. A
/// self-trade is the maker side's only: the taker side leaves out trades the account also
/// made (a filter on a column the PostgreSQL index carries), so no trade comes twice.
pub fn account_trade_selects(
    query: &AccountTradeQuery,
) -> Result<[SelectStatement; 2], JournalError> {
    let limit = Ord::min(query.limit, TRADE_PAGE_ROWS_MAX);
    let side_select = |side: &str| -> Result<SelectStatement, JournalError> {
        let mut select = select_trades(query.symbol);
        select.and_where(Expr::col(format!("{side}_account_id")).eq(to_db(query.account_id.0)?));
        if let Some(order_id) = query.order_id {
            select.and_where(Expr::col(format!("{side}_order_id")).eq(to_db(order_id.0)?));
        }
        if side == "taker" {
            select.and_where(Expr::col("maker_account_id").ne(to_db(query.account_id.0)?));
        }
        trade_id_range(&mut select, query.from_trade_id, query.to_trade_id)?;
        select.order_by("trade_id", direction(query.newest_first)).limit(u64::from(limit));
        Ok(select)
    };
    Ok([side_select("maker")?, side_select("taker")?])
}

/// The statement [`Store::account_trades`] runs: both sides' ranges
/// ([`account_trade_selects`]) as one `UNION ALL`, ordered and cut to the page, so a page is
/// one round trip. Each side is a derived table, which keeps its own `ORDER BY ... LIMIT`
/// (and lets SQLite, which refuses parenthesised compound members, run it too). The sides
/// share no trade, so the merge stops at `limit` rows: a market maker's page reads about
/// `limit / 2` rows of each side, not `limit` of both.
pub fn account_trades_select(query: &AccountTradeQuery) -> Result<SelectStatement, JournalError> {
    let limit = Ord::min(query.limit, TRADE_PAGE_ROWS_MAX);
    let [maker, taker] = account_trade_selects(query)?;
    let side = |select: SelectStatement, alias: &'static str| {
        Query::select().column(Asterisk).from_subquery(select, alias).to_owned()
    };
    let mut both = side(maker, "maker_side");
    both.union(UnionType::All, side(taker, "taker_side"))
        .order_by("trade_id", direction(query.newest_first))
        .limit(u64::from(limit));
    Ok(both)
}

impl Store {
    /// Writes `batches` (all of one symbol) and moves `consumer`'s watermark of that symbol
    /// from `stored` to the last batch's, in one transaction; fails without writing when the
    /// table does not hold `stored` (see [`advance_watermark`]). Trades already stored are
    /// skipped (the watermark makes that rare: only a replay after a lost commit answer).
    ///
    /// On PostgreSQL the commit is asynchronous (`synchronous_commit = off` for this
    /// transaction only): it returns before its WAL is flushed, so a database crash may lose
    /// the last few hundred milliseconds of history commits. Nothing is lost for good: the
    /// watermark is lost with its trades, the compare-and-set refuses the next commit, and the
    /// writer refills the hole from the journal, whose commits stay synchronous.
    pub async fn commit_trade_batches(
        &self,
        consumer: &str,
        stored: u64,
        batches: &[TradeBatch],
    ) -> Result<(), JournalError> {
        let Some(last) = batches.last() else { return Ok(()) };
        assert!(
            batches.iter().all(|batch| batch.symbol == last.symbol),
            "one commit moves one symbol's watermark"
        );
        let write = self.begin_write().await.map_err(store_error)?;
        let txn = &write.txn;
        if txn.get_database_backend() == DbBackend::Postgres {
            txn.execute_unprepared("SET LOCAL synchronous_commit = off")
                .await
                .map_err(store_error)?;
        }
        advance_watermark(txn, consumer, last.symbol, stored, last.watermark).await?;
        let rows = batches.iter().flat_map(|batch| &batch.trades).map(trade_row);
        insert_trades(txn, rows.collect::<Result<_, _>>()?).await?;
        let klines = Query::insert()
            .into_table("klines")
            .columns(KLINE_COLUMNS)
            .on_conflict(
                OnConflict::columns(["symbol", "interval", "open_time_ms"])
                    .update_columns(KLINE_COLUMNS.into_iter().skip(3))
                    .to_owned(),
            )
            .to_owned();
        // One row per kline: the last version of each (a statement may not touch a row twice).
        let mut latest = BTreeMap::new();
        for batch in batches {
            for (interval, kline) in &batch.klines {
                latest.insert((batch.symbol, *interval, kline.open_time_ms), *kline);
            }
        }
        let rows = latest
            .iter()
            .map(|((symbol, interval, _), kline)| kline_row(*symbol, *interval, kline));
        insert_rows(txn, &klines, rows.collect::<Result<_, _>>()?).await?;
        write.txn.commit().await.map_err(store_error)
    }

    /// `consumer`'s watermark per symbol (0 for a symbol it never wrote).
    pub async fn consumer_watermark(
        &self,
        consumer: &str,
        symbol: SymbolCode,
    ) -> Result<u64, JournalError> {
        let select = Query::select()
            .column("seq")
            .from("consumer_watermarks")
            .and_where(Expr::col("consumer").eq(consumer))
            .and_where(symbol_is(symbol))
            .to_owned();
        let row = self.connection().query_one(&select).await.map_err(store_error)?;
        row.map_or(Ok(0), |row| int(&row, "seq"))
    }

    /// The newest `count` trades of `symbol`, oldest first.
    pub async fn recent_trades(
        &self,
        symbol: SymbolCode,
        count: u32,
    ) -> Result<Vec<TradeRecord>, JournalError> {
        let mut select = select_trades(symbol);
        select.order_by("trade_id", Order::Desc).limit(u64::from(count));
        let rows = self.connection().query_all(&select).await.map_err(store_error)?;
        let mut trades = rows.iter().map(trade_of).collect::<Result<Vec<_>, _>>()?;
        trades.reverse();
        Ok(trades)
    }

    /// Trades of `symbol` with ids in `from..=to`, ascending, at most `limit`.
    pub async fn trades_between(
        &self,
        symbol: SymbolCode,
        from: Option<TradeId>,
        to: Option<TradeId>,
        limit: u32,
    ) -> Result<Vec<TradeRecord>, JournalError> {
        let mut select = select_trades(symbol);
        trade_id_range(&mut select, from, to)?;
        select
            .order_by("trade_id", Order::Asc)
            .limit(u64::from(Ord::min(limit, TRADE_PAGE_ROWS_MAX)));
        let rows = self.connection().query_all(&select).await.map_err(store_error)?;
        rows.iter().map(trade_of).collect()
    }

    /// The first trade of `symbol` at or after `time_ms` (`at_or_after`), or the last one at
    /// or before it: where a time bound starts in trade ids.
    pub async fn trade_id_at(
        &self,
        symbol: SymbolCode,
        time_ms: u64,
        at_or_after: bool,
    ) -> Result<Option<TradeId>, JournalError> {
        let select = trade_id_at_select(symbol, time_ms, at_or_after)?;
        let row = self.connection().query_one(&select).await.map_err(store_error)?;
        row.map(|row| int(&row, "trade_id").map(TradeId)).transpose()
    }

    /// One account's trades of one symbol, oldest first: the first `limit` in the query's
    /// direction of the maker side's and the taker side's keyset ranges, in one statement.
    pub async fn account_trades(
        &self,
        query: &AccountTradeQuery,
    ) -> Result<Vec<TradeRecord>, JournalError> {
        let select = account_trades_select(query)?;
        let rows = self.connection().query_all(&select).await.map_err(store_error)?;
        let mut trades = rows.iter().map(trade_of).collect::<Result<Vec<_>, _>>()?;
        debug_assert!(trades.windows(2).all(|pair| pair[0].trade_id != pair[1].trade_id));
        if query.newest_first {
            trades.reverse();
        }
        Ok(trades)
    }

    /// The newest `count` klines of `symbol` and `interval`, oldest first.
    pub async fn latest_klines(
        &self,
        symbol: SymbolCode,
        interval: KlineInterval,
        count: u32,
    ) -> Result<Vec<Kline>, JournalError> {
        let window = KlineWindow {
            start_ms: None,
            end_ms: None,
            limit: usize::try_from(count).unwrap_or(usize::MAX),
        };
        self.kline_page(symbol, interval, &window).await
    }

    /// The klines `window` selects, oldest first.
    pub async fn kline_page(
        &self,
        symbol: SymbolCode,
        interval: KlineInterval,
        window: &KlineWindow,
    ) -> Result<Vec<Kline>, JournalError> {
        let mut select = Query::select()
            .columns(KLINE_COLUMNS)
            .from("klines")
            .and_where(symbol_is(symbol))
            .and_where(Expr::col("interval").eq(interval.name()))
            .to_owned();
        if let Some(start) = window.start_ms {
            select.and_where(Expr::col("open_time_ms").gte(to_db(interval.open_time(start))?));
        }
        if let Some(end) = window.end_ms {
            select.and_where(Expr::col("open_time_ms").lte(to_db(end)?));
        }
        let limit = Ord::min(
            u64::try_from(window.limit).unwrap_or(u64::MAX),
            u64::from(TRADE_PAGE_ROWS_MAX),
        );
        select.order_by("open_time_ms", direction(!window.oldest_first())).limit(limit);
        let rows = self.connection().query_all(&select).await.map_err(store_error)?;
        let mut klines = rows.iter().map(kline_of).collect::<Result<Vec<_>, _>>()?;
        if !window.oldest_first() {
            klines.reverse();
        }
        Ok(klines)
    }
}
