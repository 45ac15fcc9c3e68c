//! One projection step of an account shard: the journaled `shard_batches` after the shard's
//! cursor, written as `ledger_entries` and `orders` rows, and the cursor advanced, all in one
//! transaction. Idempotent and safe to race: the cursor row is locked first (a second
//! projector of the same shard waits, then sees the advanced cursor), entries insert with
//! DO NOTHING on their key, and each order is written once per step with its latest record.

use std::collections::BTreeMap;

use exchange_actors::model::OrderId;
use exchange_actors::ports::{JournalError, shard_stream};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Order, Query};
use sea_orm::{ConnectionTrait, DatabaseTransaction};

use super::Store;
use super::codec::{decode, from_db, max_seq, store_error, to_db};
use super::shard_journal::ShardBatchBody;
use super::shard_rows::{insert_entries, upsert_orders};

/// Batches read per projection step at most.
pub(super) const PROJECTION_BATCHES_MAX: u64 = 16;

/// Rows (entries and orders) a step stops adding batches at: a step holds SQLite's single
/// writer, so it must stay short next to the commits queued behind it.
const PROJECTION_ROWS_MAX: usize = 4_096;

/// Where a shard's projection stands after a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Projected {
    /// The last batch seq now in the tables.
    pub cursor: u64,
    /// Batches this step wrote (0: nothing was left).
    pub batches: u64,
}

fn shard_column(shard_index: u16) -> Result<i16, JournalError> {
    i16::try_from(shard_index).map_err(|_| JournalError::Store(format!("shard {shard_index}")))
}

/// The cursor and the last journaled batch seq, read without a write transaction.
async fn positions(
    db: &impl ConnectionTrait,
    shard: i16,
) -> Result<(Option<u64>, u64), JournalError> {
    let cursor = Query::select()
        .column("last_batch_seq")
        .from("shard_projections")
        .and_where(Expr::col("shard").eq(shard))
        .to_owned();
    let cursor: Option<i64> = match db.query_one(&cursor).await.map_err(store_error)? {
        Some(row) => Some(row.try_get("", "last_batch_seq").map_err(store_error)?),
        None => None,
    };
    let last = max_seq(db, "shard_batches", "batch_seq", ("shard", shard.into())).await?;
    Ok((cursor.map(from_db).transpose()?, last))
}

/// Locks the shard's cursor row (creating it at 0) and returns the cursor.
async fn lock_cursor(txn: &DatabaseTransaction, shard: i16) -> Result<u64, JournalError> {
    let create = Query::insert()
        .into_table("shard_projections")
        .columns(["shard", "last_batch_seq"])
        .values_panic([shard.into(), 0i64.into()])
        .on_conflict(OnConflict::column("shard").do_nothing().to_owned())
        .to_owned();
    txn.execute(&create).await.map_err(store_error)?;
    let touch = Query::update()
        .table("shard_projections")
        .value("last_batch_seq", Expr::col("last_batch_seq"))
        .and_where(Expr::col("shard").eq(shard))
        .to_owned();
    txn.execute(&touch).await.map_err(store_error)?;
    let (cursor, _) = positions(txn, shard).await?;
    Ok(cursor.unwrap_or(0))
}

impl Store {
    /// Projects up to [`PROJECTION_BATCHES_MAX`] batches of `shard_index` after its cursor.
    pub(super) async fn project_shard_step(
        &self,
        shard_index: u16,
    ) -> Result<Projected, JournalError> {
        let shard = shard_column(shard_index)?;
        let (cursor, last) = positions(self.connection(), shard).await?;
        let cursor = cursor.unwrap_or(0);
        if last <= cursor {
            return Ok(Projected { cursor, batches: 0 });
        }
        let write = self.begin_write().await.map_err(store_error)?;
        let txn = &write.txn;
        let cursor = lock_cursor(txn, shard).await?;
        let select = Query::select()
            .columns(["batch_seq", "body"])
            .from("shard_batches")
            .and_where(Expr::col("shard").eq(shard))
            .and_where(Expr::col("batch_seq").gt(to_db(cursor)?))
            .order_by("batch_seq", Order::Asc)
            .limit(PROJECTION_BATCHES_MAX)
            .to_owned();
        let rows = txn.query_all(&select).await.map_err(store_error)?;
        if rows.is_empty() {
            return Ok(Projected { cursor, batches: 0 });
        }
        let stream = shard_stream(shard_index);
        let mut entries = Vec::new();
        // The latest record of each order, written in order id order: an order that closed
        // before a newer one reused its client order id is written first (unique open index).
        let mut orders = BTreeMap::<OrderId, _>::new();
        let mut next = cursor;
        for row in &rows {
            let batch_seq = from_db(row.try_get("", "batch_seq").map_err(store_error)?)?;
            assert_eq!(batch_seq, next + 1, "shard {shard_index} batches are contiguous");
            next = batch_seq;
            let bytes: Vec<u8> = row.try_get("", "body").map_err(store_error)?;
            let body: ShardBatchBody = decode(&stream, batch_seq, &bytes)?;
            entries.extend(body.entries);
            orders.extend(body.orders.into_iter().map(|order| (order.order_id, order)));
            if entries.len() + orders.len() >= PROJECTION_ROWS_MAX {
                break;
            }
        }
        insert_entries(txn, shard, &entries).await?;
        upsert_orders(txn, &orders.into_values().collect::<Vec<_>>()).await?;
        let advance = Query::update()
            .table("shard_projections")
            .value("last_batch_seq", to_db(next)?)
            .and_where(Expr::col("shard").eq(shard))
            .to_owned();
        txn.execute(&advance).await.map_err(store_error)?;
        write.txn.commit().await.map_err(store_error)?;
        Ok(Projected { cursor: next, batches: next - cursor })
    }

    /// Projects every journaled batch of `shard_index`; returns the final cursor. A reader
    /// of `orders` or `ledger_entries` that must see every committed change calls this first
    /// (the projector trails commits by at most `PROJECTION_LAG_MAX` batches).
    pub async fn finish_projection(&self, shard_index: u16) -> Result<u64, JournalError> {
        loop {
            let step = self.project_shard_step(shard_index).await?;
            if step.batches == 0 {
                return Ok(step.cursor);
            }
        }
    }
}
