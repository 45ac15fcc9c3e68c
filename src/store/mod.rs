//! The sea-orm store: one connection pool to PostgreSQL (production) or a SQLite file (the
//! embedded default), the migrations, and the [`Journal`](exchange_actors::ports::Journal)
//! port implemented on it. SQL is built with sea-query so the same code speaks both dialects.

mod admin_records;
mod book_journal;
mod codec;
mod database_settings;
mod ledger_reads;
mod order_history;
mod projector;
mod row_insert;
mod shard_journal;
mod shard_projection;
mod shard_rows;
mod switch_changes;
mod symbols;
mod trades;
mod watermarks;

pub use admin_records::{AuditRecord, StoredApiKey};
pub use database_settings::{DatabaseSettings, POOL_CONNECTIONS_DEFAULT};
pub use order_history::{
    ORDER_PAGE_ROWS_MAX, OrderPageQuery, order_page_select, stored_order_select,
};
pub use shard_rows::{shard_consumer, status_name};
pub use trades::{
    AccountTradeQuery, TRADE_PAGE_ROWS_MAX, account_trade_selects, account_trades_select,
    trade_id_at_select,
};

use std::sync::Arc;
use std::time::Duration;

use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, Database, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr,
    TransactionTrait,
};

use migration::{Migrator, MigratorTrait};

/// The default database of the embedded profile, relative to the working directory.
pub const SQLITE_DEFAULT_URL: &str = "sqlite://data/exchange.db?mode=rwc";

#[derive(Clone, Debug)]
pub struct Store {
    db: DatabaseConnection,
    /// SQLite has one writer at a time; writers that find it busy back off in sleeps of up to
    /// 100 ms. Queueing write transactions here instead keeps them FIFO and sleep-free.
    /// PostgreSQL writers run concurrently (`None`).
    sqlite_writer: Option<Arc<tokio::sync::Mutex<()>>>,
    /// Writes the shards' journaled batches into their row tables, off the commit path.
    projector: Arc<projector::Projector>,
}

impl Store {
    /// Connects to `url` (`postgres://…` or `sqlite://…`), creating a SQLite file's directory.
    /// SQLite runs in WAL mode with `synchronous = FULL`: a commit is on disk before it returns,
    /// so an acknowledged write survives `kill -9` and power loss alike.
    pub async fn connect(url: &str) -> Result<Store, DbErr> {
        Self::connect_sized(url, POOL_CONNECTIONS_DEFAULT).await
    }

    /// [`Store::connect`] with a pool of at most `max_connections`.
    pub async fn connect_sized(url: &str, max_connections: u32) -> Result<Store, DbErr> {
        if let Some(path) = sqlite_path(url)
            && let Some(directory) = std::path::Path::new(path).parent()
            && !directory.as_os_str().is_empty()
        {
            std::fs::create_dir_all(directory).map_err(|error| {
                DbErr::Custom(format!("creating {}: {error}", directory.display()))
            })?;
        }
        let mut options = ConnectOptions::new(url.to_owned());
        options
            .max_connections(max_connections)
            .connect_timeout(Duration::from_secs(10))
            .sqlx_logging(false)
            .map_sqlx_sqlite_opts(|sqlite| {
                sqlite
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Full)
                    .busy_timeout(Duration::from_secs(30))
                    .foreign_keys(true)
            });
        let db = Database::connect(options).await?;
        let sqlite_writer = (db.get_database_backend() == DbBackend::Sqlite)
            .then(|| Arc::new(tokio::sync::Mutex::new(())));
        Ok(Store { db, sqlite_writer, projector: Arc::default() })
    }

    /// Applies every pending migration.
    pub async fn migrate(&self) -> Result<(), DbErr> {
        Migrator::up(&self.db, None).await
    }

    pub fn connection(&self) -> &DatabaseConnection {
        &self.db
    }

    pub fn backend(&self) -> DbBackend {
        self.db.get_database_backend()
    }

    /// Starts a write transaction; on SQLite it first waits its turn (see `sqlite_writer`).
    pub(crate) async fn begin_write(&self) -> Result<WriteTransaction, DbErr> {
        let turn = match &self.sqlite_writer {
            Some(writer) => Some(writer.clone().lock_owned().await),
            None => None,
        };
        let txn = self.db.begin().await?;
        Ok(WriteTransaction { txn, _turn: turn })
    }
}

/// A write transaction and, on SQLite, the writer's turn it holds until dropped.
pub(crate) struct WriteTransaction {
    pub txn: DatabaseTransaction,
    _turn: Option<tokio::sync::OwnedMutexGuard<()>>,
}

/// The file path of a `sqlite:` URL, if it names a file.
fn sqlite_path(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && path != ":memory:").then_some(path)
}

#[cfg(test)]
mod tests {
    use super::sqlite_path;

    #[test]
    fn sqlite_paths() {
        assert_eq!(sqlite_path("sqlite://data/x.db?mode=rwc"), Some("data/x.db"));
        assert_eq!(sqlite_path("sqlite::memory:"), None);
        assert_eq!(sqlite_path("postgres://localhost/test"), None);
    }
}
