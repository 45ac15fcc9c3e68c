//! Liquidation: `liquidations`, one row per account in LIQUIDATING (its settle asset and when it
//! entered, so a restart resumes it against the same deadline; the row is deleted when it
//! leaves), and `insurance_positions`, per (shard, perpetual) the position the shard's insurance
//! fund took over from liquidated accounts, in the units of `positions`.

use sea_orm_migration::prelude::*;

use crate::m20261121_000011_positions::position_columns;

#[derive(Debug, DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("liquidations")
                    .col(ColumnDef::new("account_id").big_integer().not_null().primary_key())
                    .col(ColumnDef::new("shard").small_integer().not_null())
                    .col(ColumnDef::new("asset").text().not_null())
                    .col(
                        ColumnDef::new("entered_at_ns")
                            .big_integer()
                            .not_null()
                            .check(Expr::col("entered_at_ns").gte(0)),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                position_columns(
                    Table::create()
                        .table("insurance_positions")
                        .col(ColumnDef::new("shard").small_integer().not_null())
                        .col(ColumnDef::new("symbol").text().not_null()),
                )
                .primary_key(Index::create().col("shard").col("symbol"))
                .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("insurance_positions").to_owned()).await?;
        manager.drop_table(Table::drop().table("liquidations").to_owned()).await
    }
}
