//! Perpetual positions: `positions`, one row per (account, perpetual) with the signed size in
//! lots, the open size's entry cost and the realized and funding PnL in quote minor units
//! (written by the account shard's commit, like `balances`); `funding_intervals`, per (shard,
//! perpetual) the last funding interval the shard paid, so a funding is applied once across
//! restarts.

use sea_orm_migration::prelude::*;

#[derive(Debug, DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                position_columns(
                    Table::create()
                        .table("positions")
                        .col(ColumnDef::new("account_id").big_integer().not_null())
                        .col(ColumnDef::new("symbol").text().not_null()),
                )
                .primary_key(Index::create().col("account_id").col("symbol"))
                .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("funding_intervals")
                    .col(ColumnDef::new("shard").small_integer().not_null())
                    .col(ColumnDef::new("symbol").text().not_null())
                    .col(
                        ColumnDef::new("interval_id")
                            .big_integer()
                            .not_null()
                            .check(Expr::col("interval_id").gte(0)),
                    )
                    .primary_key(Index::create().col("shard").col("symbol"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("funding_intervals").to_owned()).await?;
        manager.drop_table(Table::drop().table("positions").to_owned()).await
    }
}

/// A position's columns after its owner and symbol: signed size in lots, the open size's entry
/// cost (never negative), realized and funding PnL (also `insurance_positions`, 000012).
pub(crate) fn position_columns(table: &mut TableCreateStatement) -> &mut TableCreateStatement {
    table
        .col(ColumnDef::new("size_lots").big_integer().not_null())
        .col(
            ColumnDef::new("entry_cost")
                .big_integer()
                .not_null()
                .check(Expr::col("entry_cost").gte(0)),
        )
        .col(ColumnDef::new("realized_pnl").big_integer().not_null())
        .col(ColumnDef::new("funding_pnl").big_integer().not_null())
}
