//! Reading an account's orders of one symbol back from `orders` for the history routes
//! (`allOrders`, and queries of orders the shard no longer holds in memory). Keyset pages over
//! the `(account_id, symbol, order_id DESC)` index: a bound is a condition only when it was
//! asked for, and the page is `LIMIT`ed in the direction it is read.

use exchange_actors::account::OrderRecord;
use exchange_actors::model::{AccountId, ClientOrderId, OrderId, SymbolCode};
use exchange_actors::ports::JournalError;
use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Expr, ExprTrait, Order, Query, SelectStatement};

use super::Store;
use super::codec::{decode, store_error, to_db};

/// Most rows one page may ask for.
pub const ORDER_PAGE_ROWS_MAX: u32 = 1_000;

/// One page of an account's orders of one symbol. Ids and times are inclusive bounds; every
/// value must fit BIGINT (the caller refuses larger ones as bad input).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderPageQuery {
    pub account_id: AccountId,
    pub symbol: SymbolCode,
    pub from_order_id: Option<OrderId>,
    pub created_from_ns: Option<u64>,
    pub created_to_ns: Option<u64>,
    /// Read from the newest order down (`true`) or from the oldest up.
    pub newest_first: bool,
    pub limit: u32,
}

fn records(
    stream: &str,
    rows: Vec<sea_orm::QueryResult>,
) -> Result<Vec<OrderRecord>, JournalError> {
    rows.into_iter()
        .map(|row| {
            let bytes: Vec<u8> = row.try_get("", "record").map_err(store_error)?;
            decode::<OrderRecord>(stream, 0, &bytes)
        })
        .collect()
}

fn account_symbol(
    account_id: AccountId,
    symbol: SymbolCode,
) -> Result<SelectStatement, JournalError> {
    Ok(Query::select()
        .column("record")
        .from("orders")
        .and_where(Expr::col("account_id").eq(to_db(account_id.0)?))
        .and_where(Expr::col("symbol").eq(symbol.as_str()))
        .to_owned())
}

impl Store {
    /// The page `query` names, in the order it was read (see `newest_first`).
    pub async fn order_page(
        &self,
        query: &OrderPageQuery,
    ) -> Result<Vec<OrderRecord>, JournalError> {
        debug_assert!(query.limit <= ORDER_PAGE_ROWS_MAX);
        let mut select = account_symbol(query.account_id, query.symbol)?;
        if let Some(order_id) = query.from_order_id {
            select.and_where(Expr::col("order_id").gte(to_db(order_id.0)?));
        }
        if let Some(from_ns) = query.created_from_ns {
            select.and_where(Expr::col("created_at_ns").gte(to_db(from_ns)?));
        }
        if let Some(to_ns) = query.created_to_ns {
            select.and_where(Expr::col("created_at_ns").lte(to_db(to_ns)?));
        }
        let direction = if query.newest_first { Order::Desc } else { Order::Asc };
        select
            .order_by("order_id", direction)
            .limit(u64::from(Ord::min(query.limit, ORDER_PAGE_ROWS_MAX)));
        let rows = self.connection().query_all(&select).await.map_err(store_error)?;
        records("orders", rows)
    }

    /// One order of `account_id` on `symbol` by id or client order id (the newest with that
    /// client id), as last journaled.
    pub async fn stored_order(
        &self,
        account_id: AccountId,
        symbol: SymbolCode,
        order_id: Option<OrderId>,
        client_order_id: Option<ClientOrderId>,
    ) -> Result<Option<OrderRecord>, JournalError> {
        let mut select = account_symbol(account_id, symbol)?;
        match (order_id, client_order_id) {
            (Some(order_id), _) => select.and_where(Expr::col("order_id").eq(to_db(order_id.0)?)),
            (None, Some(client)) => {
                select.and_where(Expr::col("client_order_id").eq(client.as_str()))
            }
            (None, None) => return Ok(None),
        };
        select.order_by("order_id", Order::Desc).limit(1);
        let rows = self.connection().query_all(&select).await.map_err(store_error)?;
        Ok(records("orders", rows)?.pop())
    }
}
