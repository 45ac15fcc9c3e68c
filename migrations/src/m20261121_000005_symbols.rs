//! `symbols`: every listed symbol with the spec it was listed with (JSON of `SymbolSpec`),
//! in listing order. Written once per symbol: at the first start for the configured ones,
//! by `POST /admin/symbols` for the others. Later changes of filters and fees are book
//! commands in the journal, never edits of this row, so a book replays from the spec it
//! started with.

use sea_orm_migration::prelude::*;

#[derive(Debug, DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let symbols = Table::create()
            .table("symbols")
            .col(ColumnDef::new("symbol").text().not_null().primary_key())
            .col(ColumnDef::new("spec").text().not_null())
            .col(ColumnDef::new("listed_at_ms").big_integer().not_null())
            .to_owned();
        manager.create_table(symbols).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("symbols").to_owned()).await
    }
}
