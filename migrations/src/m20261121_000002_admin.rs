//! What the operator's API keeps: `api_keys` (each key's account and signing secret, so keys
//! survive a restart) and `admin_audit` (one row per admin action, append-only: a trigger on
//! each backend refuses UPDATE and DELETE).
//!
//! The secret is stored as issued: HMAC-SHA256 signing (Binance's scheme) needs the server to
//! hold the same secret the client signs with, so it cannot be hashed like a password.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(Debug, DeriveMigrationName)]
pub struct Migration;

const APPEND_ONLY_SQLITE: [&str; 2] = [
    "CREATE TRIGGER admin_audit_no_update BEFORE UPDATE ON admin_audit \
     BEGIN SELECT RAISE(ABORT, 'admin_audit is append-only'); END",
    "CREATE TRIGGER admin_audit_no_delete BEFORE DELETE ON admin_audit \
     BEGIN SELECT RAISE(ABORT, 'admin_audit is append-only'); END",
];

const APPEND_ONLY_POSTGRES: [&str; 2] = [
    "CREATE FUNCTION admin_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS \
     $$ BEGIN RAISE EXCEPTION 'admin_audit is append-only'; END $$",
    "CREATE TRIGGER admin_audit_append_only BEFORE UPDATE OR DELETE ON admin_audit \
     FOR EACH ROW EXECUTE FUNCTION admin_audit_append_only()",
];

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
        let triggers = match manager.get_database_backend() {
            DbBackend::Postgres => APPEND_ONLY_POSTGRES.as_slice(),
            _ => APPEND_ONLY_SQLITE.as_slice(),
        };
        for sql in triggers {
            manager.get_connection().execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("admin_audit").to_owned()).await?;
        if manager.get_database_backend() == DbBackend::Postgres {
            let drop_function = "DROP FUNCTION IF EXISTS admin_audit_append_only()";
            manager.get_connection().execute_unprepared(drop_function).await?;
        }
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
