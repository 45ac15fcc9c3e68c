//! The account shards' side of the journal: one transaction per drained batch of changes
//! (fenced by the shard's epoch), and loading a shard back.
//!
//! Rows: user balances in `balances` (CHECK non-negative), the shard's system accounts in
//! `system_balances`, every ledger entry in `ledger_entries`, each order as one row in `orders`
//! (status and ids as columns, the full record as postcard), watermarks per (consumer, symbol).
//! Amounts are minor units; an amount beyond BIGINT is refused, never truncated.

use exchange_actors::account::{
    BalanceRow, Bucket, Changes, EntryKind, LedgerEntry, OrderRecord, OrderStatus, Owner,
    RestoredState, SystemAccount,
};
use exchange_actors::model::{AccountId, AssetCode, SymbolCode};
use exchange_actors::ports::{Epoch, JournalError, shard_stream};
use sea_orm::sea_query::{Expr, InsertStatement, OnConflict, Query};
use sea_orm::{ConnectionTrait, DatabaseTransaction, Statement, Value};

use super::Store;
use super::codec::{decode, encode, from_db, store_error, to_db};

/// Rows per multi-row INSERT (below SQLite's and PostgreSQL's bind-parameter limits).
const ROWS_PER_STATEMENT: usize = 1_000;

/// The consumer name a shard's watermarks are stored under.
pub fn shard_consumer(shard_index: u16) -> String {
    format!("shard:{shard_index}")
}

fn amount(value: i128) -> Result<i64, JournalError> {
    i64::try_from(value).map_err(|_| JournalError::Store(format!("amount {value} exceeds BIGINT")))
}

fn system_account_name(account: SystemAccount) -> String {
    match account {
        SystemAccount::External => "external".to_owned(),
        SystemAccount::Fees => "fees".to_owned(),
        SystemAccount::Subsidy => "subsidy".to_owned(),
        SystemAccount::Clearing(symbol) => format!("clearing:{symbol}"),
    }
}

fn parse_system_account(name: &str) -> Option<SystemAccount> {
    match name {
        "external" => Some(SystemAccount::External),
        "fees" => Some(SystemAccount::Fees),
        "subsidy" => Some(SystemAccount::Subsidy),
        _ => {
            let symbol = name.strip_prefix("clearing:")?;
            SymbolCode::new(symbol).ok().map(SystemAccount::Clearing)
        }
    }
}

fn owner_name(owner: Owner) -> String {
    match owner {
        Owner::User(account) => format!("user:{}", account.0),
        Owner::System(account) => system_account_name(account),
    }
}

fn bucket_name(bucket: Bucket) -> &'static str {
    match bucket {
        Bucket::Available => "available",
        Bucket::Held => "held",
    }
}

fn kind_name(kind: EntryKind) -> &'static str {
    match kind {
        EntryKind::Deposit => "DEPOSIT",
        EntryKind::Withdrawal => "WITHDRAWAL",
        EntryKind::Hold => "HOLD",
        EntryKind::Release => "RELEASE",
        EntryKind::TradeSettle => "TRADE",
        EntryKind::Fee => "FEE",
        EntryKind::Rebate => "REBATE",
        EntryKind::Shortfall => "SHORTFALL",
    }
}

/// Binance's status names (and PENDING).
pub fn status_name(status: OrderStatus) -> &'static str {
    match status {
        OrderStatus::Pending => "PENDING",
        OrderStatus::New => "NEW",
        OrderStatus::PartiallyFilled => "PARTIALLY_FILLED",
        OrderStatus::Filled => "FILLED",
        OrderStatus::Canceled => "CANCELED",
        OrderStatus::Rejected => "REJECTED",
        OrderStatus::Expired => "EXPIRED",
        OrderStatus::ExpiredInMatch => "EXPIRED_IN_MATCH",
    }
}

fn optional(value: Option<u64>) -> Result<Value, JournalError> {
    Ok(match value {
        Some(value) => Some(to_db(value)?).into(),
        None => Option::<i64>::None.into(),
    })
}

fn now_ms() -> i64 {
    let since_epoch =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
}

impl Store {
    pub(super) async fn commit_shard_changes_now(
        &self,
        shard_index: u16,
        epoch: Epoch,
        changes: Changes,
    ) -> Result<(), JournalError> {
        let write = self.begin_write().await.map_err(store_error)?;
        let txn = &write.txn;
        Self::check_epoch(txn, &shard_stream(shard_index), epoch).await?;
        let shard = i16::try_from(shard_index).map_err(|_| JournalError::Store("shard".into()))?;
        insert_accounts(txn, shard, &changes.accounts).await?;
        insert_entries(txn, shard, &changes.entries).await?;
        upsert_balances(txn, shard, &changes.balances).await?;
        upsert_orders(txn, &changes.orders).await?;
        upsert_watermarks(txn, shard_index, &changes.watermarks).await?;
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
        write.txn.commit().await.map_err(store_error)
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

async fn execute_chunks(
    txn: &DatabaseTransaction,
    template: &InsertStatement,
    rows: Vec<Vec<Value>>,
) -> Result<(), JournalError> {
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let mut insert = template.clone();
        for row in chunk {
            insert.values_panic(row.iter().cloned().map(Expr::val));
        }
        txn.execute(&insert).await.map_err(store_error)?;
    }
    Ok(())
}

async fn insert_accounts(
    txn: &DatabaseTransaction,
    shard: i16,
    accounts: &[AccountId],
) -> Result<(), JournalError> {
    let template = Query::insert()
        .into_table("accounts")
        .columns(["account_id", "shard", "created_at_ms"])
        .to_owned();
    let created_at_ms = now_ms();
    let rows = accounts
        .iter()
        .map(|account| Ok(vec![to_db(account.0)?.into(), shard.into(), created_at_ms.into()]))
        .collect::<Result<Vec<_>, JournalError>>()?;
    execute_chunks(txn, &template, rows).await
}

async fn insert_entries(
    txn: &DatabaseTransaction,
    shard: i16,
    entries: &[LedgerEntry],
) -> Result<(), JournalError> {
    let template = Query::insert()
        .into_table("ledger_entries")
        .columns([
            "shard",
            "entry_id",
            "asset",
            "amount",
            "debit_owner",
            "debit_bucket",
            "credit_owner",
            "credit_bucket",
            "kind",
            "order_id",
            "symbol",
            "event_seq",
            "trade_id",
            "reference",
        ])
        .to_owned();
    let rows = entries
        .iter()
        .map(|entry| {
            Ok(vec![
                shard.into(),
                to_db(entry.entry_id)?.into(),
                entry.asset.as_str().into(),
                amount(entry.amount)?.into(),
                owner_name(entry.debit.owner).into(),
                bucket_name(entry.debit.bucket).into(),
                owner_name(entry.credit.owner).into(),
                bucket_name(entry.credit.bucket).into(),
                kind_name(entry.kind).into(),
                optional(entry.order_id.map(|id| id.0))?,
                entry.symbol.map(|symbol| symbol.as_str().to_owned()).into(),
                optional(entry.event_seq)?,
                optional(entry.trade_id.map(|id| id.0))?,
                to_db(entry.reference)?.into(),
            ])
        })
        .collect::<Result<Vec<_>, JournalError>>()?;
    execute_chunks(txn, &template, rows).await
}

async fn upsert_balances(
    txn: &DatabaseTransaction,
    shard: i16,
    balances: &[BalanceRow],
) -> Result<(), JournalError> {
    let user = Query::insert()
        .into_table("balances")
        .columns(["account_id", "asset", "available", "held"])
        .on_conflict(
            OnConflict::columns(["account_id", "asset"])
                .update_columns(["available", "held"])
                .to_owned(),
        )
        .to_owned();
    let system = Query::insert()
        .into_table("system_balances")
        .columns(["shard", "account", "asset", "available", "held"])
        .on_conflict(
            OnConflict::columns(["shard", "account", "asset"])
                .update_columns(["available", "held"])
                .to_owned(),
        )
        .to_owned();
    let (mut user_rows, mut system_rows) = (Vec::new(), Vec::new());
    for row in balances {
        let (available, held) = (amount(row.available)?, amount(row.held)?);
        let asset = row.asset.as_str();
        match row.owner {
            Owner::User(account) => user_rows.push(vec![
                to_db(account.0)?.into(),
                asset.into(),
                available.into(),
                held.into(),
            ]),
            Owner::System(account) => system_rows.push(vec![
                shard.into(),
                system_account_name(account).into(),
                asset.into(),
                available.into(),
                held.into(),
            ]),
        }
    }
    execute_chunks(txn, &user, user_rows).await?;
    execute_chunks(txn, &system, system_rows).await
}

async fn upsert_orders(
    txn: &DatabaseTransaction,
    orders: &[OrderRecord],
) -> Result<(), JournalError> {
    let template = Query::insert()
        .into_table("orders")
        .columns([
            "order_id",
            "account_id",
            "symbol",
            "client_order_id",
            "status",
            "created_at_ns",
            "updated_at_ns",
            "record",
        ])
        .on_conflict(
            OnConflict::column("order_id")
                .update_columns(["status", "updated_at_ns", "record"])
                .to_owned(),
        )
        .to_owned();
    let rows = orders
        .iter()
        .map(|order| {
            Ok(vec![
                to_db(order.order_id.0)?.into(),
                to_db(order.account_id.0)?.into(),
                order.symbol.as_str().into(),
                order.client_order_id.as_str().into(),
                status_name(order.status).into(),
                to_db(order.created_ts_ns)?.into(),
                to_db(order.updated_ts_ns)?.into(),
                encode(order).into(),
            ])
        })
        .collect::<Result<Vec<_>, JournalError>>()?;
    execute_chunks(txn, &template, rows).await
}

async fn upsert_watermarks(
    txn: &DatabaseTransaction,
    shard_index: u16,
    watermarks: &[(SymbolCode, u64)],
) -> Result<(), JournalError> {
    let template = Query::insert()
        .into_table("consumer_watermarks")
        .columns(["consumer", "symbol", "seq"])
        .on_conflict(OnConflict::columns(["consumer", "symbol"]).update_column("seq").to_owned())
        .to_owned();
    let consumer = shard_consumer(shard_index);
    let rows = watermarks
        .iter()
        .map(|(symbol, seq)| {
            Ok(vec![consumer.as_str().into(), symbol.as_str().into(), to_db(*seq)?.into()])
        })
        .collect::<Result<Vec<_>, JournalError>>()?;
    execute_chunks(txn, &template, rows).await
}
