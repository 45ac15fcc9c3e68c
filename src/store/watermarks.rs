//! `consumer_watermarks` for consumers that keep only a position per symbol, such as the
//! AMQP outbox relay (its cursor: the last event seq the broker confirmed).

use std::collections::BTreeMap;

use exchange_actors::ports::JournalError;
use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Expr, ExprTrait, InsertStatement, OnConflict, Query};

use super::Store;
use super::codec::{from_db, store_error, to_db};

/// The upsert of (consumer, symbol, seq) rows.
pub fn watermark_upsert() -> InsertStatement {
    Query::insert()
        .into_table("consumer_watermarks")
        .columns(["consumer", "symbol", "seq"])
        .on_conflict(OnConflict::columns(["consumer", "symbol"]).update_column("seq").to_owned())
        .to_owned()
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
