//! Ledger reads for the operator: the balances as the ledger entries add them up and as the
//! balance tables hold them, read in one transaction, for reconciliation
//! (`crate::control::reconcile`); and whether an entry exists, for corrections.

use std::collections::BTreeMap;

use sea_orm::sea_query::{Cond, Expr, ExprTrait, Query};
use sea_orm::{
    AccessMode, ConnectionTrait, DatabaseTransaction, DbBackend, DbErr, IsolationLevel, Statement,
    TransactionTrait,
};

use super::Store;
use crate::control::LedgerSnapshot;

/// Each side of each entry as a signed delta, summed per balance.
const LEDGER_REPLAY: &str = "SELECT CAST(shard AS TEXT) || '|' || owner || '|' || bucket || '|' \
     || asset AS balance_key, CAST(SUM(delta) AS BIGINT) AS total FROM (\
     SELECT shard, credit_owner AS owner, credit_bucket AS bucket, asset, amount AS delta \
     FROM ledger_entries UNION ALL \
     SELECT shard, debit_owner, debit_bucket, asset, -amount FROM ledger_entries) t \
     GROUP BY shard, owner, bucket, asset";

/// Users' and the system's balances, both buckets.
const STORED_BALANCES: &str = "SELECT '-|user:' || CAST(account_id AS TEXT) || '|available|' \
     || asset AS balance_key, available AS total FROM balances UNION ALL \
     SELECT '-|user:' || CAST(account_id AS TEXT) || '|held|' || asset, held FROM balances \
     UNION ALL SELECT CAST(shard AS TEXT) || '|' || account || '|available|' || asset, \
     available FROM system_balances UNION ALL \
     SELECT CAST(shard AS TEXT) || '|' || account || '|held|' || asset, held \
     FROM system_balances";

/// `shard|owner|bucket|asset` rows folded into one key per balance: a user's balance lives in
/// one shard, so its key drops the shard; zero balances are left out.
fn fold(rows: Vec<(String, i64)>) -> Result<BTreeMap<String, i128>, DbErr> {
    let mut map: BTreeMap<String, i128> = BTreeMap::new();
    for (key, total) in rows {
        let (shard, rest) = key
            .split_once('|')
            .ok_or_else(|| DbErr::Custom(format!("malformed balance key {key}")))?;
        let key =
            if rest.starts_with("user:") { rest.to_owned() } else { format!("{shard}|{rest}") };
        *map.entry(key).or_default() += i128::from(total);
    }
    map.retain(|_, total| *total != 0);
    Ok(map)
}

async fn keyed_totals(txn: &DatabaseTransaction, sql: &str) -> Result<Vec<(String, i64)>, DbErr> {
    let rows = txn.query_all_raw(Statement::from_string(txn.get_database_backend(), sql)).await?;
    rows.iter()
        .map(|row| Ok((row.try_get("", "balance_key")?, row.try_get("", "total")?)))
        .collect()
}

impl Store {
    /// Both views of every balance from one snapshot of the database (REPEATABLE READ on
    /// PostgreSQL; a SQLite read transaction is a snapshot already).
    pub async fn ledger_snapshot(&self) -> Result<LedgerSnapshot, DbErr> {
        let txn = match self.backend() {
            DbBackend::Postgres => {
                self.connection()
                    .begin_with_config(
                        Some(IsolationLevel::RepeatableRead),
                        Some(AccessMode::ReadOnly),
                    )
                    .await?
            }
            _ => self.connection().begin().await?,
        };
        let replay = fold(keyed_totals(&txn, LEDGER_REPLAY).await?)?;
        let stored = fold(keyed_totals(&txn, STORED_BALANCES).await?)?;
        txn.commit().await?;
        Ok(LedgerSnapshot { replay, stored })
    }

    /// Whether shard `shard`'s ledger entry `entry_id` moved `asset` for `owner` (e.g.
    /// `user:7`), on either side.
    pub async fn entry_touches(
        &self,
        shard: u16,
        entry_id: u64,
        owner: &str,
        asset: &str,
    ) -> Result<bool, DbErr> {
        let Ok(entry_id) = i64::try_from(entry_id) else { return Ok(false) };
        let touches = Cond::any()
            .add(Expr::col("debit_owner").eq(owner))
            .add(Expr::col("credit_owner").eq(owner));
        let select = Query::select()
            .column("entry_id")
            .from("ledger_entries")
            .and_where(Expr::col("shard").eq(i32::from(shard)))
            .and_where(Expr::col("entry_id").eq(entry_id))
            .and_where(Expr::col("asset").eq(asset))
            .cond_where(touches)
            .to_owned();
        Ok(self.connection().query_one(&select).await?.is_some())
    }
}
