//! The journal and the account shards' projections.
//!
//! - `journal_streams`: the current writer epoch of each stream (fencing).
//! - `book_batches`: one row per group commit of a book: its inputs and events (postcard),
//!   keyed and unique by (symbol, first input seq) and by (symbol, last input seq); the event
//!   range it holds is indexed for consumers catching up by event seq.
//! - `book_snapshots`: periodic book snapshots with their state hash.
//! - `accounts`, `balances` (user balances: never negative, enforced by CHECK),
//!   `system_balances` (fees, subsidy, external, clearing: may go negative), `ledger_entries`
//!   (append-only double entry; amount > 0), `orders` (one row per order; a client order id is
//!   unique per account among open orders), `consumer_watermarks`, `shard_counters`.
//!
//! Amounts are integer minor units of their asset (BIGINT), prices and quantities integer ticks
//! and lots: exact on both backends.

use sea_orm_migration::prelude::*;

#[derive(Debug, DeriveMigrationName)]
pub struct Migration;

/// Statuses in which an order is open (its client order id is taken).
pub const OPEN_STATUSES_SQL: &str = "('PENDING', 'NEW', 'PARTIALLY_FILLED')";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            journal_streams(),
            book_batches(),
            book_snapshots(),
            accounts(),
            balances(),
            system_balances(),
            ledger_entries(),
            orders(),
            consumer_watermarks(),
            shard_counters(),
        ] {
            manager.create_table(table).await?;
        }
        for index in [
            Index::create()
                .name("book_batches_last_input_seq")
                .table("book_batches")
                .col("symbol")
                .col("last_input_seq")
                .unique()
                .to_owned(),
            Index::create()
                .name("book_batches_last_event_seq")
                .table("book_batches")
                .col("symbol")
                .col("last_event_seq")
                .to_owned(),
            Index::create()
                .name("orders_account_symbol_id")
                .table("orders")
                .col("account_id")
                .col("symbol")
                .col(("order_id", IndexOrder::Desc))
                .to_owned(),
            Index::create()
                .name("ledger_entries_order")
                .table("ledger_entries")
                .col("order_id")
                .to_owned(),
        ] {
            manager.create_index(index).await?;
        }
        // Partial unique index: the same SQL on PostgreSQL and SQLite.
        let open_client_ids = format!(
            "CREATE UNIQUE INDEX orders_open_client_order_id ON orders (account_id, \
             client_order_id) WHERE status IN {OPEN_STATUSES_SQL}"
        );
        manager.get_connection().execute_unprepared(&open_client_ids).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "shard_counters",
            "consumer_watermarks",
            "orders",
            "ledger_entries",
            "system_balances",
            "balances",
            "accounts",
            "book_snapshots",
            "book_batches",
            "journal_streams",
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}

fn journal_streams() -> TableCreateStatement {
    Table::create()
        .table("journal_streams")
        .col(ColumnDef::new("stream").text().not_null().primary_key())
        .col(ColumnDef::new("epoch").big_integer().not_null().check(Expr::col("epoch").gte(0)))
        .to_owned()
}

fn book_batches() -> TableCreateStatement {
    Table::create()
        .table("book_batches")
        .col(ColumnDef::new("symbol").text().not_null())
        .col(ColumnDef::new("first_input_seq").big_integer().not_null())
        .col(ColumnDef::new("last_input_seq").big_integer().not_null())
        .col(ColumnDef::new("first_event_seq").big_integer().not_null())
        .col(ColumnDef::new("last_event_seq").big_integer().not_null())
        .col(ColumnDef::new("epoch").big_integer().not_null())
        .col(ColumnDef::new("inputs").blob().not_null())
        .col(ColumnDef::new("events").blob().not_null())
        .col(ColumnDef::new("committed_at_ms").big_integer().not_null())
        .primary_key(Index::create().col("symbol").col("first_input_seq"))
        .check(Expr::col("first_input_seq").gte(1))
        .check(Expr::col("last_input_seq").gte(Expr::col("first_input_seq")))
        // An empty event range is written as first = last + 1.
        .check(Expr::col("last_event_seq").add(1).gte(Expr::col("first_event_seq")))
        .to_owned()
}

fn book_snapshots() -> TableCreateStatement {
    Table::create()
        .table("book_snapshots")
        .col(ColumnDef::new("symbol").text().not_null())
        .col(ColumnDef::new("last_input_seq").big_integer().not_null())
        .col(ColumnDef::new("last_event_seq").big_integer().not_null())
        .col(ColumnDef::new("epoch").big_integer().not_null())
        .col(ColumnDef::new("state_hash").blob().not_null())
        .col(ColumnDef::new("payload").blob().not_null())
        .primary_key(Index::create().col("symbol").col("last_input_seq"))
        .to_owned()
}

fn accounts() -> TableCreateStatement {
    Table::create()
        .table("accounts")
        .col(ColumnDef::new("account_id").big_integer().not_null().primary_key())
        .col(ColumnDef::new("shard").small_integer().not_null())
        .col(ColumnDef::new("created_at_ms").big_integer().not_null())
        .to_owned()
}

fn balances() -> TableCreateStatement {
    Table::create()
        .table("balances")
        .col(ColumnDef::new("account_id").big_integer().not_null())
        .col(ColumnDef::new("asset").text().not_null())
        .col(
            ColumnDef::new("available")
                .big_integer()
                .not_null()
                .check(Expr::col("available").gte(0)),
        )
        .col(ColumnDef::new("held").big_integer().not_null().check(Expr::col("held").gte(0)))
        .primary_key(Index::create().col("account_id").col("asset"))
        .to_owned()
}

fn system_balances() -> TableCreateStatement {
    Table::create()
        .table("system_balances")
        .col(ColumnDef::new("shard").small_integer().not_null())
        .col(ColumnDef::new("account").text().not_null())
        .col(ColumnDef::new("asset").text().not_null())
        .col(ColumnDef::new("available").big_integer().not_null())
        .col(ColumnDef::new("held").big_integer().not_null())
        .primary_key(Index::create().col("shard").col("account").col("asset"))
        .to_owned()
}

fn ledger_entries() -> TableCreateStatement {
    Table::create()
        .table("ledger_entries")
        .col(ColumnDef::new("shard").small_integer().not_null())
        .col(ColumnDef::new("entry_id").big_integer().not_null())
        .col(ColumnDef::new("asset").text().not_null())
        .col(ColumnDef::new("amount").big_integer().not_null().check(Expr::col("amount").gt(0)))
        .col(ColumnDef::new("debit_owner").text().not_null())
        .col(ColumnDef::new("debit_bucket").text().not_null())
        .col(ColumnDef::new("credit_owner").text().not_null())
        .col(ColumnDef::new("credit_bucket").text().not_null())
        .col(ColumnDef::new("kind").text().not_null())
        .col(ColumnDef::new("order_id").big_integer().null())
        .col(ColumnDef::new("symbol").text().null())
        .col(ColumnDef::new("event_seq").big_integer().null())
        .col(ColumnDef::new("trade_id").big_integer().null())
        .col(ColumnDef::new("reference").big_integer().not_null())
        .primary_key(Index::create().col("shard").col("entry_id"))
        .to_owned()
}

fn orders() -> TableCreateStatement {
    Table::create()
        .table("orders")
        .col(ColumnDef::new("order_id").big_integer().not_null().primary_key())
        .col(ColumnDef::new("account_id").big_integer().not_null())
        .col(ColumnDef::new("symbol").text().not_null())
        .col(ColumnDef::new("client_order_id").text().not_null())
        .col(ColumnDef::new("status").text().not_null())
        .col(ColumnDef::new("created_at_ns").big_integer().not_null())
        .col(ColumnDef::new("updated_at_ns").big_integer().not_null())
        .col(ColumnDef::new("record").blob().not_null())
        .to_owned()
}

fn consumer_watermarks() -> TableCreateStatement {
    Table::create()
        .table("consumer_watermarks")
        .col(ColumnDef::new("consumer").text().not_null())
        .col(ColumnDef::new("symbol").text().not_null())
        .col(ColumnDef::new("seq").big_integer().not_null().check(Expr::col("seq").gte(0)))
        .primary_key(Index::create().col("consumer").col("symbol"))
        .to_owned()
}

fn shard_counters() -> TableCreateStatement {
    Table::create()
        .table("shard_counters")
        .col(ColumnDef::new("shard").small_integer().not_null().primary_key())
        .col(ColumnDef::new("next_order_counter").big_integer().not_null())
        .col(ColumnDef::new("next_entry_id").big_integer().not_null())
        .to_owned()
}
