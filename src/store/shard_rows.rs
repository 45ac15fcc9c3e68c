//! Rows of the account shards' tables and the multi-row statements that write them: the
//! hot commit's balances, accounts and watermarks, and the projector's ledger entries and
//! orders. Names of owners, buckets, kinds and statuses as stored.

use exchange_actors::account::{
    BalanceRow, Bucket, EntryKind, INSURANCE_FUND, LedgerEntry, LiquidationRecord, OrderRecord,
    OrderStatus, Owner, PositionRow, SystemAccount,
};
use exchange_actors::model::{AccountId, SymbolCode};
use exchange_actors::ports::JournalError;
use sea_orm::{DatabaseTransaction, Value};

use super::codec::{encode, to_db};
use super::row_insert::RowInsert;

const ACCOUNTS: RowInsert = RowInsert {
    table: "accounts",
    columns: &["account_id", "shard", "created_at_ms"],
    on_conflict: "",
};

const LEDGER_ENTRIES: RowInsert = RowInsert {
    table: "ledger_entries",
    columns: &[
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
    ],
    // Idempotent: a projection retried after a lost commit answer writes nothing twice.
    on_conflict: "ON CONFLICT (shard, entry_id) DO NOTHING",
};

const BALANCES: RowInsert = RowInsert {
    table: "balances",
    columns: &["account_id", "asset", "available", "held"],
    on_conflict: "ON CONFLICT (account_id, asset) DO UPDATE SET available = excluded.available, \
                  held = excluded.held",
};

const SYSTEM_BALANCES: RowInsert = RowInsert {
    table: "system_balances",
    columns: &["shard", "account", "asset", "available", "held"],
    on_conflict: "ON CONFLICT (shard, account, asset) DO UPDATE SET available = \
                  excluded.available, held = excluded.held",
};

const ORDERS: RowInsert = RowInsert {
    table: "orders",
    columns: &[
        "order_id",
        "account_id",
        "symbol",
        "client_order_id",
        "status",
        "created_at_ns",
        "updated_at_ns",
        "record",
    ],
    on_conflict: "ON CONFLICT (order_id) DO UPDATE SET status = excluded.status, \
                  updated_at_ns = excluded.updated_at_ns, record = excluded.record",
};

const POSITIONS: RowInsert = RowInsert {
    table: "positions",
    columns: &["account_id", "symbol", "size_lots", "entry_cost", "realized_pnl", "funding_pnl"],
    on_conflict: "ON CONFLICT (account_id, symbol) DO UPDATE SET size_lots = excluded.size_lots, \
                  entry_cost = excluded.entry_cost, realized_pnl = excluded.realized_pnl, \
                  funding_pnl = excluded.funding_pnl",
};

const INSURANCE_POSITIONS: RowInsert = RowInsert {
    table: "insurance_positions",
    columns: &["shard", "symbol", "size_lots", "entry_cost", "realized_pnl", "funding_pnl"],
    on_conflict: "ON CONFLICT (shard, symbol) DO UPDATE SET size_lots = excluded.size_lots, \
                  entry_cost = excluded.entry_cost, realized_pnl = excluded.realized_pnl, \
                  funding_pnl = excluded.funding_pnl",
};

const LIQUIDATIONS: RowInsert = RowInsert {
    table: "liquidations",
    columns: &["account_id", "shard", "asset", "entered_at_ns"],
    on_conflict: "ON CONFLICT (account_id) DO UPDATE SET asset = excluded.asset, \
                  entered_at_ns = excluded.entered_at_ns",
};

const FUNDING_INTERVALS: RowInsert = RowInsert {
    table: "funding_intervals",
    columns: &["shard", "symbol", "interval_id"],
    on_conflict: "ON CONFLICT (shard, symbol) DO UPDATE SET interval_id = excluded.interval_id",
};

const WATERMARKS: RowInsert = RowInsert {
    table: "consumer_watermarks",
    columns: &["consumer", "symbol", "seq"],
    on_conflict: "ON CONFLICT (consumer, symbol) DO UPDATE SET seq = excluded.seq",
};

/// The consumer name a shard's watermarks are stored under.
pub fn shard_consumer(shard_index: u16) -> String {
    format!("shard:{shard_index}")
}

pub(super) fn amount(value: i128) -> Result<i64, JournalError> {
    i64::try_from(value).map_err(|_| JournalError::Store(format!("amount {value} exceeds BIGINT")))
}

pub(super) fn system_account_name(account: SystemAccount) -> String {
    match account {
        SystemAccount::External => "external".to_owned(),
        SystemAccount::Fees => "fees".to_owned(),
        SystemAccount::Subsidy => "subsidy".to_owned(),
        SystemAccount::Clearing(symbol) => format!("clearing:{symbol}"),
        SystemAccount::Insurance => "insurance".to_owned(),
    }
}

pub(super) fn parse_system_account(name: &str) -> Option<SystemAccount> {
    match name {
        "external" => Some(SystemAccount::External),
        "fees" => Some(SystemAccount::Fees),
        "subsidy" => Some(SystemAccount::Subsidy),
        "insurance" => Some(SystemAccount::Insurance),
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
        EntryKind::Correction => "CORRECTION",
        EntryKind::RealizedPnl => "REALIZED_PNL",
        EntryKind::Funding => "FUNDING",
        EntryKind::InsuranceCover => "INSURANCE_COVER",
        EntryKind::Liquidation => "LIQUIDATION",
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

pub(super) fn now_ms() -> i64 {
    let since_epoch =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
}

pub(super) async fn insert_accounts(
    txn: &DatabaseTransaction,
    shard: i16,
    accounts: &[AccountId],
) -> Result<(), JournalError> {
    let created_at_ms = now_ms();
    let mut values = Vec::with_capacity(accounts.len() * ACCOUNTS.columns.len());
    for account in accounts {
        values.extend([to_db(account.0)?.into(), shard.into(), created_at_ms.into()]);
    }
    ACCOUNTS.execute(txn, values).await
}

pub(super) async fn insert_entries(
    txn: &DatabaseTransaction,
    shard: i16,
    entries: &[LedgerEntry],
) -> Result<(), JournalError> {
    let mut values = Vec::with_capacity(entries.len() * LEDGER_ENTRIES.columns.len());
    for entry in entries {
        values.extend([
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
        ]);
    }
    LEDGER_ENTRIES.execute(txn, values).await
}

pub(super) async fn upsert_balances(
    txn: &DatabaseTransaction,
    shard: i16,
    balances: &[BalanceRow],
) -> Result<(), JournalError> {
    let (mut user, mut system) = (Vec::new(), Vec::new());
    for row in balances {
        let (available, held) = (amount(row.available)?, amount(row.held)?);
        let asset = row.asset.as_str();
        match row.owner {
            Owner::User(account) => {
                user.extend([to_db(account.0)?.into(), asset.into(), available.into(), held.into()])
            }
            Owner::System(account) => system.extend([
                shard.into(),
                system_account_name(account).into(),
                asset.into(),
                available.into(),
                held.into(),
            ]),
        }
    }
    BALANCES.execute(txn, user).await?;
    SYSTEM_BALANCES.execute(txn, system).await
}

pub(super) async fn upsert_orders(
    txn: &DatabaseTransaction,
    orders: &[OrderRecord],
) -> Result<(), JournalError> {
    let mut values = Vec::with_capacity(orders.len() * ORDERS.columns.len());
    for order in orders {
        values.extend([
            to_db(order.order_id.0)?.into(),
            to_db(order.account_id.0)?.into(),
            order.symbol.as_str().into(),
            order.client_order_id.as_str().into(),
            status_name(order.status).into(),
            to_db(order.created_ts_ns)?.into(),
            to_db(order.updated_ts_ns)?.into(),
            encode(order).into(),
        ]);
    }
    ORDERS.execute(txn, values).await
}

pub(super) async fn upsert_watermarks(
    txn: &DatabaseTransaction,
    shard_index: u16,
    watermarks: &[(SymbolCode, u64)],
) -> Result<(), JournalError> {
    let consumer = shard_consumer(shard_index);
    let mut values = Vec::with_capacity(watermarks.len() * WATERMARKS.columns.len());
    for (symbol, seq) in watermarks {
        values.extend([consumer.as_str().into(), symbol.as_str().into(), to_db(*seq)?.into()]);
    }
    WATERMARKS.execute(txn, values).await
}

/// Users' positions into `positions`, the insurance fund's into `insurance_positions`.
pub(super) async fn upsert_positions(
    txn: &DatabaseTransaction,
    shard: i16,
    positions: &[PositionRow],
) -> Result<(), JournalError> {
    let mut users = Vec::with_capacity(positions.len() * POSITIONS.columns.len());
    let mut fund = Vec::new();
    for row in positions {
        let position = row.position;
        let (values, owner): (&mut Vec<Value>, Value) = if row.account == INSURANCE_FUND {
            (&mut fund, shard.into())
        } else {
            (&mut users, to_db(row.account.0)?.into())
        };
        values.extend([
            owner,
            row.symbol.as_str().into(),
            position.size_lots.into(),
            amount(position.entry_cost)?.into(),
            amount(position.realized_pnl)?.into(),
            amount(position.funding_pnl)?.into(),
        ]);
    }
    POSITIONS.execute(txn, users).await?;
    INSURANCE_POSITIONS.execute(txn, fund).await
}

/// Accounts entering LIQUIDATING are inserted, those leaving it deleted.
pub(super) async fn write_liquidations(
    txn: &DatabaseTransaction,
    shard: i16,
    liquidations: &[(AccountId, Option<LiquidationRecord>)],
) -> Result<(), JournalError> {
    let mut values = Vec::new();
    let mut left = Vec::new();
    for (account, record) in liquidations {
        match record {
            Some(record) => values.extend([
                to_db(account.0)?.into(),
                shard.into(),
                record.asset.as_str().into(),
                to_db(record.entered_at_ns)?.into(),
            ]),
            None => left.push(to_db(account.0)?),
        }
    }
    LIQUIDATIONS.execute(txn, values).await?;
    if !left.is_empty() {
        let delete = sea_orm::sea_query::Query::delete()
            .from_table("liquidations")
            .and_where(sea_orm::ExprTrait::is_in(sea_orm::sea_query::Expr::col("account_id"), left))
            .to_owned();
        sea_orm::ConnectionTrait::execute(txn, &delete).await.map_err(super::codec::store_error)?;
    }
    Ok(())
}

pub(super) async fn upsert_funding_intervals(
    txn: &DatabaseTransaction,
    shard: i16,
    intervals: &[(SymbolCode, u64)],
) -> Result<(), JournalError> {
    let mut values = Vec::with_capacity(intervals.len() * FUNDING_INTERVALS.columns.len());
    for (symbol, interval_id) in intervals {
        values.extend([shard.into(), symbol.as_str().into(), to_db(*interval_id)?.into()]);
    }
    FUNDING_INTERVALS.execute(txn, values).await
}
