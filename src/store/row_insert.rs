//! Multi-row INSERTs written as SQL text with bind placeholders. The values are moved into the
//! statement, never cloned, and no expression tree is built: with sea-query's builder, making
//! the statements of a projection step cost more CPU than the database spent executing them.
//! The SQL is the subset PostgreSQL and SQLite (>= 3.24) read alike; only placeholders differ.

use std::fmt::Write as _;

use exchange_actors::ports::JournalError;
use sea_orm::{ConnectionTrait, DatabaseTransaction, DbBackend, Statement, Value};

use super::codec::store_error;

/// Bind parameters per statement at most (SQLite's default limit is 32,766, PostgreSQL's 65,535).
const PARAMETERS_PER_STATEMENT_MAX: usize = 16_000;

/// One table's INSERT: its columns and what to do on a key conflict (may be empty).
#[derive(Debug)]
pub(super) struct RowInsert {
    pub table: &'static str,
    pub columns: &'static [&'static str],
    pub on_conflict: &'static str,
}

impl RowInsert {
    fn sql(&self, backend: DbBackend, rows: usize) -> String {
        let width = self.columns.len();
        let mut sql = format!("INSERT INTO {} ({}) VALUES ", self.table, self.columns.join(", "));
        for row in 0..rows {
            sql.push_str(if row == 0 { "(" } else { ", (" });
            for column in 0..width {
                if column > 0 {
                    sql.push_str(", ");
                }
                match backend {
                    DbBackend::Postgres => {
                        let _infallible = write!(sql, "${}", row * width + column + 1);
                    }
                    _ => sql.push('?'),
                }
            }
            sql.push(')');
        }
        if !self.on_conflict.is_empty() {
            sql.push(' ');
            sql.push_str(self.on_conflict);
        }
        sql
    }

    /// Inserts `values` (row after row, `columns.len()` each) in as few statements as the
    /// parameter limit allows.
    pub async fn execute(
        &self,
        txn: &DatabaseTransaction,
        values: Vec<Value>,
    ) -> Result<(), JournalError> {
        let width = self.columns.len();
        assert_eq!(values.len() % width, 0, "{}: whole rows of {width} values", self.table);
        let rows_per_statement = PARAMETERS_PER_STATEMENT_MAX / width;
        let backend = txn.get_database_backend();
        let mut values = values.into_iter().peekable();
        while values.peek().is_some() {
            let chunk: Vec<Value> = values.by_ref().take(rows_per_statement * width).collect();
            let sql = self.sql(backend, chunk.len() / width);
            let statement = Statement::from_sql_and_values(backend, sql, chunk);
            txn.execute_raw(statement).await.map_err(store_error)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAIRS: RowInsert = RowInsert {
        table: "pairs",
        columns: &["a", "b"],
        on_conflict: "ON CONFLICT (a) DO NOTHING",
    };

    #[test]
    fn placeholders_per_backend() {
        assert_eq!(
            PAIRS.sql(DbBackend::Postgres, 2),
            "INSERT INTO pairs (a, b) VALUES ($1, $2), ($3, $4) ON CONFLICT (a) DO NOTHING"
        );
        assert_eq!(
            PAIRS.sql(DbBackend::Sqlite, 1),
            "INSERT INTO pairs (a, b) VALUES (?, ?) ON CONFLICT (a) DO NOTHING"
        );
    }
}
