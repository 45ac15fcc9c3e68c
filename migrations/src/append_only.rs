//! Append-only tables: a trigger on each backend refuses every UPDATE and DELETE of `table`
//! (`admin_audit`, `switch_changes`, `ledger_entries`). Names derive from the table:
//! `<table>_no_update` / `<table>_no_delete` on SQLite, `<table>_append_only` (trigger and
//! function) on PostgreSQL.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

/// Makes `table` append-only.
pub async fn forbid_update_and_delete(
    manager: &SchemaManager<'_>,
    table: &str,
) -> Result<(), DbErr> {
    let statements = match manager.get_database_backend() {
        DbBackend::Postgres => vec![
            format!(
                "CREATE FUNCTION {table}_append_only() RETURNS trigger LANGUAGE plpgsql AS \
                 $$ BEGIN RAISE EXCEPTION '{table} is append-only'; END $$"
            ),
            format!(
                "CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} \
                 FOR EACH ROW EXECUTE FUNCTION {table}_append_only()"
            ),
        ],
        _ => vec![
            format!(
                "CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} \
                 BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
            ),
            format!(
                "CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} \
                 BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
            ),
        ],
    };
    for sql in statements {
        manager.get_connection().execute_unprepared(&sql).await?;
    }
    Ok(())
}

/// Undoes [`forbid_update_and_delete`] on a table that stays (a dropped table takes its
/// triggers along; its PostgreSQL function stays and is dropped here too).
pub async fn allow_update_and_delete(
    manager: &SchemaManager<'_>,
    table: &str,
) -> Result<(), DbErr> {
    let statements = match manager.get_database_backend() {
        DbBackend::Postgres => vec![
            format!("DROP TRIGGER IF EXISTS {table}_append_only ON {table}"),
            format!("DROP FUNCTION IF EXISTS {table}_append_only()"),
        ],
        _ => vec![
            format!("DROP TRIGGER IF EXISTS {table}_no_update"),
            format!("DROP TRIGGER IF EXISTS {table}_no_delete"),
        ],
    };
    for sql in statements {
        manager.get_connection().execute_unprepared(&sql).await?;
    }
    Ok(())
}

/// After dropping `table`: its PostgreSQL trigger function stays behind unless dropped.
pub async fn drop_function_of(manager: &SchemaManager<'_>, table: &str) -> Result<(), DbErr> {
    if manager.get_database_backend() == DbBackend::Postgres {
        let sql = format!("DROP FUNCTION IF EXISTS {table}_append_only()");
        manager.get_connection().execute_unprepared(&sql).await?;
    }
    Ok(())
}
