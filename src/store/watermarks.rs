//! `consumer_watermarks` for consumers that keep only a position per symbol, such as the
//! AMQP outbox relay (its cursor: the last event seq the broker confirmed), and the
//! compare-and-set by which the history writer moves its own inside each commit.

use std::collections::BTreeMap;

use exchange_actors::model::SymbolCode;
use exchange_actors::ports::JournalError;
use sea_orm::sea_query::{Expr, ExprTrait, InsertStatement, OnConflict, Query};
use sea_orm::{ConnectionTrait, DatabaseTransaction};

use super::Store;
use super::codec::{from_db, store_error, to_db};

/// The upsert of (consumer, symbol, seq) rows.
fn watermark_upsert() -> InsertStatement {
    Query::insert()
        .into_table("consumer_watermarks")
        .columns(["consumer", "symbol", "seq"])
        .on_conflict(OnConflict::columns(["consumer", "symbol"]).update_column("seq").to_owned())
        .to_owned()
}

/// Moves `consumer`'s watermark of `symbol` from `stored` to `next` in `txn`, or fails with
/// [`JournalError::OutOfSequence`] when the table does not hold `stored`. That happens when the
/// database lost commits the writer saw succeed (a crash after `synchronous_commit = off`
/// commits, a restore), or when another writer moved it: the caller must roll back, re-read
/// its state from the table and catch up from the journal, never write past a hole.
pub async fn advance_watermark(
    txn: &DatabaseTransaction,
    consumer: &str,
    symbol: SymbolCode,
    stored: u64,
    next: u64,
) -> Result<(), JournalError> {
    let is_row = || Expr::col("consumer").eq(consumer).and(Expr::col("symbol").eq(symbol.as_str()));
    // No row reads as 0, so only the first move may insert one.
    let moved = if stored == 0 {
        let insert = Query::insert()
            .into_table("consumer_watermarks")
            .columns(["consumer", "symbol", "seq"])
            .values_panic([consumer.into(), symbol.as_str().into(), to_db(next)?.into()])
            .on_conflict(
                OnConflict::columns(["consumer", "symbol"])
                    .update_column("seq")
                    .action_and_where(Expr::col(("consumer_watermarks", "seq")).eq(0))
                    .to_owned(),
            )
            .to_owned();
        txn.execute(&insert).await.map_err(store_error)?.rows_affected()
    } else {
        let update = Query::update()
            .table("consumer_watermarks")
            .value("seq", to_db(next)?)
            .and_where(is_row())
            .and_where(Expr::col("seq").eq(to_db(stored)?))
            .to_owned();
        txn.execute(&update).await.map_err(store_error)?.rows_affected()
    };
    if moved == 1 {
        return Ok(());
    }
    let select =
        Query::select().column("seq").from("consumer_watermarks").cond_where(is_row()).to_owned();
    let found = match txn.query_one(&select).await.map_err(store_error)? {
        Some(row) => from_db(row.try_get("", "seq").map_err(store_error)?)?,
        None => 0,
    };
    Err(JournalError::OutOfSequence {
        stream: format!("{consumer} watermark of {symbol} (expected {stored})"),
        first: stored + 1,
        last: found,
    })
}

impl Store {
    /// Every symbol's watermark of `consumer` (symbols it never wrote are absent).
    pub async fn consumer_watermarks(
        &self,
        consumer: &str,
    ) -> Result<BTreeMap<String, u64>, JournalError> {
        let select = Query::select()
            .columns(["symbol", "seq"])
            .from("consumer_watermarks")
            .and_where(Expr::col("consumer").eq(consumer))
            .to_owned();
        let rows = self.connection().query_all(&select).await.map_err(store_error)?;
        let mut watermarks = BTreeMap::new();
        for row in rows {
            let symbol: String = row.try_get("", "symbol").map_err(store_error)?;
            let seq: i64 = row.try_get("", "seq").map_err(store_error)?;
            watermarks.insert(symbol, from_db(seq)?);
        }
        Ok(watermarks)
    }

    /// Stores `consumer`'s watermarks (symbol, seq) in one statement.
    pub async fn save_consumer_watermarks(
        &self,
        consumer: &str,
        watermarks: &[(String, u64)],
    ) -> Result<(), JournalError> {
        if watermarks.is_empty() {
            return Ok(());
        }
        let mut upsert = watermark_upsert();
        for (symbol, seq) in watermarks {
            upsert.values_panic([consumer.into(), symbol.as_str().into(), to_db(*seq)?.into()]);
        }
        let write = self.begin_write().await.map_err(store_error)?;
        write.txn.execute(&upsert).await.map_err(store_error)?;
        write.txn.commit().await.map_err(store_error)
    }
}
