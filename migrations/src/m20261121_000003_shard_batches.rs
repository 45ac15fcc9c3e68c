//! The account shards' journal as one compact row per commit, projected into rows later.
//!
//! - `shard_batches`: one row per shard commit: its ledger entries and changed order records
//!   (postcard), keyed by (shard, batch seq), the seq increasing by one per commit. With the
//!   `balances` rows written in the same transaction it is the shard's durable truth.
//! - `shard_projections`: per shard, the last batch seq whose entries and orders have been
//!   written into `ledger_entries` and `orders` (the projector's durable cursor).
//! - On PostgreSQL, the journal's blob columns (`shard_batches.body`, and `book_batches.inputs`
//!   and `.events` of the first migration) are stored uncompressed (`STORAGE EXTERNAL`).

use sea_orm_migration::prelude::*;

#[derive(Debug, DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let batches = Table::create()
            .table("shard_batches")
            .col(ColumnDef::new("shard").small_integer().not_null())
            .col(ColumnDef::new("batch_seq").big_integer().not_null())
            .col(ColumnDef::new("epoch").big_integer().not_null())
            .col(ColumnDef::new("body").blob().not_null())
            .col(ColumnDef::new("committed_at_ms").big_integer().not_null())
            .primary_key(Index::create().col("shard").col("batch_seq"))
            .check(Expr::col("batch_seq").gte(1))
            .to_owned();
        manager.create_table(batches).await?;
        let projections = Table::create()
            .table("shard_projections")
            .col(ColumnDef::new("shard").small_integer().not_null().primary_key())
            .col(
                ColumnDef::new("last_batch_seq")
                    .big_integer()
                    .not_null()
                    .check(Expr::col("last_batch_seq").gte(0)),
            )
            .to_owned();
        manager.create_table(projections).await?;
        if manager.get_database_backend() == sea_orm_migration::sea_orm::DbBackend::Postgres {
            // Postcard is already compact; PostgreSQL's default pglz compression of large
            // values cost more CPU than any other part of a commit. Stored out of line as is.
            for (table, column) in
                [("shard_batches", "body"), ("book_batches", "inputs"), ("book_batches", "events")]
            {
                let sql = format!("ALTER TABLE {table} ALTER COLUMN {column} SET STORAGE EXTERNAL");
                manager.get_connection().execute_unprepared(&sql).await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == sea_orm_migration::sea_orm::DbBackend::Postgres {
            for column in ["inputs", "events"] {
                let sql =
                    format!("ALTER TABLE book_batches ALTER COLUMN {column} SET STORAGE EXTENDED");
                manager.get_connection().execute_unprepared(&sql).await?;
            }
        }
        for table in ["shard_projections", "shard_batches"] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
