//! The account shards' side of the journal: one transaction per drained batch of changes
//! (fenced by the shard's epoch), and loading a shard back.
//!
//! A commit writes one `shard_batches` row (the batch's ledger entries and changed order
//! records, postcard) and the rows a check or a restart needs at once: balances (`balances`
//! with its non-negative CHECK, `system_balances`), new accounts, watermarks and counters.
//! The projector (`shard_projector.rs`) later writes the entries and orders as rows of
//! `ledger_entries` and `orders`; loading a shard first finishes that projection, so a restart
//! reads complete tables. Amounts are minor units; an amount beyond BIGINT is refused, never
//! truncated.

use exchange_actors::account::{
    BalanceRow, Changes, INSURANCE_FUND, LedgerEntry, LiquidationRecord, OrderRecord, Owner,
    Position, PositionRow, RestoredState,
};
use exchange_actors::model::{AccountId, AssetCode, SymbolCode};
use exchange_actors::ports::{Epoch, JournalError, shard_stream};
use sea_orm::sea_query::{OnConflict, Query};
use sea_orm::{ConnectionTrait, DatabaseTransaction, Statement};
use serde::{Deserialize, Serialize};

use super::Store;
use super::codec::{decode, encode, from_db, max_seq, store_error, to_db};
use super::shard_rows::{
    insert_accounts, now_ms, parse_system_account, shard_consumer, upsert_balances,
    upsert_funding_intervals, upsert_positions, upsert_watermarks, write_liquidations,
};

/// What one `shard_batches` row holds (postcard): the commit's ledger entries in entry order
/// and its changed order records in order id order.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(super) struct ShardBatchBody {
    pub entries: Vec<LedgerEntry>,
    pub orders: Vec<OrderRecord>,
}

/// The same, borrowed from the changes being committed (postcard encodes both alike).
#[derive(Serialize)]
struct ShardBatchBodyRef<'a> {
    entries: &'a [LedgerEntry],
    orders: &'a [OrderRecord],
}

/// Appends the batch row for `changes` if it has entries or orders; returns its seq.
async fn insert_batch(
    txn: &DatabaseTransaction,
    shard: i16,
    epoch: Epoch,
    changes: &Changes,
) -> Result<Option<u64>, JournalError> {
    if changes.entries.is_empty() && changes.orders.is_empty() {
        return Ok(None);
    }
    // The epoch row is locked by this transaction, so no other writer of the shard races this.
    let batch_seq = max_seq(txn, "shard_batches", "batch_seq", ("shard", shard.into())).await? + 1;
    let body = ShardBatchBodyRef { entries: &changes.entries, orders: &changes.orders };
    let insert = Query::insert()
        .into_table("shard_batches")
        .columns(["shard", "batch_seq", "epoch", "body", "committed_at_ms"])
        .values_panic([
            shard.into(),
            to_db(batch_seq)?.into(),
            to_db(epoch.0)?.into(),
            encode(&body).into(),
            now_ms().into(),
        ])
        .to_owned();
    txn.execute(&insert).await.map_err(store_error)?;
    Ok(Some(batch_seq))
}

impl Store {
    pub(super) async fn commit_shard_changes_now(
        &self,
        shard_index: u16,
        epoch: Epoch,
        changes: Changes,
    ) -> Result<(), JournalError> {
        // Bounded projection lag: wait (before taking the writer's turn) while too far ahead.
        self.projector.wait_for_room(self, shard_index).await;
        let write = self.begin_write().await.map_err(store_error)?;
        let txn = &write.txn;
        Self::check_epoch(txn, &shard_stream(shard_index), epoch).await?;
        let shard = i16::try_from(shard_index).map_err(|_| JournalError::Store("shard".into()))?;
        insert_accounts(txn, shard, &changes.accounts).await?;
        let batch_seq = insert_batch(txn, shard, epoch, &changes).await?;
        upsert_balances(txn, shard, &changes.balances).await?;
        upsert_watermarks(txn, shard_index, &changes.watermarks).await?;
        upsert_positions(txn, shard, &changes.positions).await?;
        write_liquidations(txn, shard, &changes.liquidations).await?;
        upsert_funding_intervals(txn, shard, &changes.funding_intervals).await?;
        let counters = Query::insert()
            .into_table("shard_counters")
            .columns(["shard", "next_order_counter", "next_entry_id"])
            .values_panic([
                shard.into(),
                to_db(changes.next_order_counter)?.into(),
                to_db(changes.next_entry_id)?.into(),
            ])
            .on_conflict(
                OnConflict::column("shard")
                    .update_columns(["next_order_counter", "next_entry_id"])
                    .to_owned(),
            )
            .to_owned();
        txn.execute(&counters).await.map_err(store_error)?;
        write.txn.commit().await.map_err(store_error)?;
        if let Some(batch_seq) = batch_seq {
            self.projector.committed(self, shard_index, batch_seq);
        }
        Ok(())
    }

    pub(super) async fn load_shard_now(
        &self,
        shard_index: u16,
        recent_closed_per_account: u32,
    ) -> Result<RestoredState, JournalError> {
        let db = self.connection();
        let backend = self.backend();
        let raw = |sql: String| Statement::from_string(backend, sql);
        let shard = i64::from(shard_index);
        let stream = shard_stream(shard_index);
        let mut restored = RestoredState::default();
        // Orders are read from their rows: write every journaled batch into them first.
        self.finish_projection(shard_index).await?;

        let rows = db
            .query_all_raw(raw(format!(
                "SELECT account_id FROM accounts WHERE shard = {shard} ORDER BY account_id"
            )))
            .await
            .map_err(store_error)?;
        for row in rows {
            let account: i64 = row.try_get("", "account_id").map_err(store_error)?;
            restored.accounts.push(AccountId(from_db(account)?));
        }

        let rows = db
            .query_all_raw(raw(format!(
                "SELECT b.account_id, b.asset, b.available, b.held FROM balances b \
                 JOIN accounts a ON a.account_id = b.account_id WHERE a.shard = {shard}"
            )))
            .await
            .map_err(store_error)?;
        for row in rows {
            let account: i64 = row.try_get("", "account_id").map_err(store_error)?;
            let owner = Owner::User(AccountId(from_db(account)?));
            restored.balances.push(balance_row(&stream, owner, &row)?);
        }
        let rows = db
            .query_all_raw(raw(format!(
                "SELECT account, asset, available, held FROM system_balances WHERE shard = {shard}"
            )))
            .await
            .map_err(store_error)?;
        for row in rows {
            let name: String = row.try_get("", "account").map_err(store_error)?;
            let account = parse_system_account(&name).ok_or_else(|| JournalError::Corrupt {
                stream: stream.clone(),
                position: 0,
                detail: format!("unknown system account {name}"),
            })?;
            restored.balances.push(balance_row(&stream, Owner::System(account), &row)?);
        }

        let open = migration::m20261121_000001_journal::OPEN_STATUSES_SQL;
        let recent = recent_closed_per_account;
        let rows = db
            .query_all_raw(raw(format!(
                "SELECT record FROM orders o JOIN accounts a ON a.account_id = o.account_id \
                 WHERE a.shard = {shard} AND o.status IN {open} \
                 UNION ALL \
                 SELECT record FROM (SELECT o.record, ROW_NUMBER() OVER (PARTITION BY o.account_id \
                 ORDER BY o.updated_at_ns DESC, o.order_id DESC) AS recency FROM orders o \
                 JOIN accounts a ON a.account_id = o.account_id \
                 WHERE a.shard = {shard} AND o.status NOT IN {open}) closed \
                 WHERE closed.recency <= {recent}"
            )))
            .await
            .map_err(store_error)?;
        for row in rows {
            let bytes: Vec<u8> = row.try_get("", "record").map_err(store_error)?;
            restored.open_and_recent_orders.push(decode::<OrderRecord>(&stream, 0, &bytes)?);
        }

        let consumer = shard_consumer(shard_index);
        let rows = db
            .query_all_raw(raw(format!(
                "SELECT symbol, seq FROM consumer_watermarks WHERE consumer = '{consumer}'"
            )))
            .await
            .map_err(store_error)?;
        for row in rows {
            let symbol: String = row.try_get("", "symbol").map_err(store_error)?;
            let seq: i64 = row.try_get("", "seq").map_err(store_error)?;
            let symbol = SymbolCode::new(&symbol).map_err(|error| JournalError::Corrupt {
                stream: stream.clone(),
                position: 0,
                detail: error.to_string(),
            })?;
            restored.watermarks.push((symbol, from_db(seq)?));
        }

        Self::load_positions(db, backend, shard, &stream, &mut restored).await?;

        let counters = db
            .query_one_raw(raw(format!(
                "SELECT next_order_counter, next_entry_id FROM shard_counters WHERE shard = {shard}"
            )))
            .await
            .map_err(store_error)?;
        if let Some(row) = counters {
            let orders: i64 = row.try_get("", "next_order_counter").map_err(store_error)?;
            let entries: i64 = row.try_get("", "next_entry_id").map_err(store_error)?;
            restored.next_order_counter = from_db(orders)?;
            restored.next_entry_id = from_db(entries)?;
        }
        Ok(restored)
    }
}

impl Store {
    /// The shard's position rows (its insurance fund's under [`INSURANCE_FUND`]), funding
    /// intervals and accounts in LIQUIDATING into `restored`.
    async fn load_positions(
        db: &impl ConnectionTrait,
        backend: sea_orm::DatabaseBackend,
        shard: i64,
        stream: &str,
        restored: &mut RestoredState,
    ) -> Result<(), JournalError> {
        let raw = |sql: String| Statement::from_string(backend, sql);
        let symbol_of = |text: &str| {
            SymbolCode::new(text).map_err(|error| JournalError::Corrupt {
                stream: stream.to_owned(),
                position: 0,
                detail: error.to_string(),
            })
        };
        let rows = db
            .query_all_raw(raw(format!(
                "SELECT p.account_id, p.symbol, p.size_lots, p.entry_cost, p.realized_pnl, \
                 p.funding_pnl FROM positions p JOIN accounts a ON a.account_id = p.account_id \
                 WHERE a.shard = {shard} \
                 UNION ALL SELECT {fund} AS account_id, symbol, size_lots, entry_cost, \
                 realized_pnl, funding_pnl FROM insurance_positions WHERE shard = {shard} \
                 ORDER BY account_id, symbol",
                fund = INSURANCE_FUND.0
            )))
            .await
            .map_err(store_error)?;
        for row in rows {
            let get = |column| row.try_get::<i64>("", column).map_err(store_error);
            let symbol: String = row.try_get("", "symbol").map_err(store_error)?;
            restored.positions.push(PositionRow {
                account: AccountId(from_db(get("account_id")?)?),
                symbol: symbol_of(&symbol)?,
                position: Position {
                    size_lots: get("size_lots")?,
                    entry_cost: i128::from(get("entry_cost")?),
                    realized_pnl: i128::from(get("realized_pnl")?),
                    funding_pnl: i128::from(get("funding_pnl")?),
                },
            });
        }
        let rows = db
            .query_all_raw(raw(format!(
                "SELECT symbol, interval_id FROM funding_intervals WHERE shard = {shard}"
            )))
            .await
            .map_err(store_error)?;
        for row in rows {
            let symbol: String = row.try_get("", "symbol").map_err(store_error)?;
            let interval_id: i64 = row.try_get("", "interval_id").map_err(store_error)?;
            restored.funding_intervals.push((symbol_of(&symbol)?, from_db(interval_id)?));
        }
        let rows = db
            .query_all_raw(raw(format!(
                "SELECT account_id, asset, entered_at_ns FROM liquidations \
                 WHERE shard = {shard} ORDER BY account_id"
            )))
            .await
            .map_err(store_error)?;
        for row in rows {
            let get = |column| row.try_get::<i64>("", column).map_err(store_error);
            let asset: String = row.try_get("", "asset").map_err(store_error)?;
            let asset = AssetCode::new(&asset).map_err(|error| JournalError::Corrupt {
                stream: stream.to_owned(),
                position: 0,
                detail: error.to_string(),
            })?;
            restored.liquidations.push(LiquidationRecord {
                account: AccountId(from_db(get("account_id")?)?),
                asset,
                entered_at_ns: from_db(get("entered_at_ns")?)?,
            });
        }
        Ok(())
    }
}

fn balance_row(
    stream: &str,
    owner: Owner,
    row: &sea_orm::QueryResult,
) -> Result<BalanceRow, JournalError> {
    let asset: String = row.try_get("", "asset").map_err(store_error)?;
    let available: i64 = row.try_get("", "available").map_err(store_error)?;
    let held: i64 = row.try_get("", "held").map_err(store_error)?;
    let asset = AssetCode::new(&asset).map_err(|error| JournalError::Corrupt {
        stream: stream.to_owned(),
        position: 0,
        detail: error.to_string(),
    })?;
    Ok(BalanceRow { owner, asset, available: i128::from(available), held: i128::from(held) })
}
