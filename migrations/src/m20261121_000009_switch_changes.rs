//! `switch_changes`: every state the operator's kill switches were put in, as JSON, one row
//! per change, append-only like `admin_audit` (a trigger on each backend refuses UPDATE and
//! DELETE). The newest row is what the exchange starts with; the rows before it are history.

use sea_orm_migration::prelude::*;

use crate::append_only::{drop_function_of, forbid_update_and_delete};

#[derive(Debug, DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("switch_changes")
                    .col(
                        ColumnDef::new("change_id")
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new("at_ms").big_integer().not_null())
                    .col(ColumnDef::new("changed_by").text().not_null())
                    .col(ColumnDef::new("switches").text().not_null())
                    .to_owned(),
            )
            .await?;
        forbid_update_and_delete(manager, "switch_changes").await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("switch_changes").to_owned()).await?;
        drop_function_of(manager, "switch_changes").await
    }
}
