//! What the operator's API keeps: `api_keys` (each key's account and signing secret, so keys
//! survive a restart) and `admin_audit` (one row per admin action, append-only: a trigger on
//! each backend refuses UPDATE and DELETE).
//!
//! The secret is stored as issued: HMAC-SHA256 signing (Binance's scheme) needs the server to
//! hold the same secret the client signs with, so it cannot be hashed like a password.

use sea_orm_migration::prelude::*;

use crate::append_only::{drop_function_of, forbid_update_and_delete};

#[derive(Debug, DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.create_table(api_keys()).await?;
        manager.create_table(admin_audit()).await?;
        manager
            .create_index(
                Index::create()
                    .name("api_keys_account")
                    .table("api_keys")
                    .col("account_id")
                    .to_owned(),
            )
            .await?;
        forbid_update_and_delete(manager, "admin_audit").await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("admin_audit").to_owned()).await?;
        drop_function_of(manager, "admin_audit").await?;
        manager.drop_table(Table::drop().table("api_keys").to_owned()).await?;
        Ok(())
    }
}

fn api_keys() -> TableCreateStatement {
    Table::create()
        .table("api_keys")
        .col(ColumnDef::new("api_key").text().not_null().primary_key())
        .col(ColumnDef::new("account_id").big_integer().not_null())
        .col(ColumnDef::new("secret").text().not_null())
        .col(ColumnDef::new("created_at_ms").big_integer().not_null())
        .to_owned()
}

fn admin_audit() -> TableCreateStatement {
    Table::create()
        .table("admin_audit")
        .col(ColumnDef::new("audit_id").big_integer().not_null().auto_increment().primary_key())
        .col(ColumnDef::new("at_ms").big_integer().not_null())
        .col(ColumnDef::new("action").text().not_null())
        .col(ColumnDef::new("subject").text().not_null())
        .col(ColumnDef::new("detail").text().not_null())
        .col(ColumnDef::new("outcome").text().not_null())
        .to_owned()
}
