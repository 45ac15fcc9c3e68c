//! Bulk history rows for the tests and benchmarks that need history at scale: `trades` and
//! `orders` filled by one `INSERT ... SELECT` over a number series (seconds for a million
//! rows), with a realistic spread: three symbols, 10,000 accounts, one market maker in every
//! tenth row.

use exchange::store::Store;
use sea_orm::{ConnectionTrait, DbBackend, Statement};

/// Trade `n` is at `TIME_ZERO_MS + 10 n`; order `n` is created at `TIME_ZERO_MS + n` ms.
pub const TIME_ZERO_MS: u64 = 1_700_000_000_000;
pub const NANOS_PER_MILLI: u64 = 1_000_000;

/// The rows `n` in 1..=rows, as a common table expression `series(n)` of each backend.
pub fn series(backend: DbBackend, rows: u64) -> String {
    match backend {
        DbBackend::Postgres => {
            format!("WITH series(n) AS (SELECT generate_series(1::bigint, {rows}))")
        }
        _ => format!(
            "WITH RECURSIVE series(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM series \
             WHERE n < {rows})"
        ),
    }
}

/// The symbol of row `n`: three symbols, evenly.
pub const SYMBOL_OF_N: &str =
    "CASE n % 3 WHEN 0 THEN 'BTCUSDT' WHEN 1 THEN 'ETHUSDT' ELSE 'SOLUSDT' END";
/// Account of row `n`: the market maker every tenth row, else spread over 10,000 accounts
/// (7919 is prime to 30,000, so every account trades every symbol).
pub const MAKER_OF_N: &str = "CASE WHEN n % 10 = 0 THEN 1 ELSE n * 7919 % 10000 + 1 END";

pub fn load_trades(backend: DbBackend, rows: u64) -> String {
    format!(
        "{series} INSERT INTO trades (symbol, trade_id, seq, time_ms, price, qty, \
         buyer_is_maker, maker_order_id, maker_account_id, taker_order_id, taker_account_id, \
         maker_fee, taker_fee) SELECT {SYMBOL_OF_N}, n, 2 * n, {TIME_ZERO_MS} + 10 * n, \
         100 + n % 50, 1 + n % 7, n % 2 = 0, 2 * n, {MAKER_OF_N}, 2 * n + 1, \
         n * 104729 % 10000 + 1, -1, 7 FROM series",
        series = series(backend, rows),
    )
}

pub fn load_orders(backend: DbBackend, rows: u64) -> String {
    let created_ns = format!("({TIME_ZERO_MS} + n) * {NANOS_PER_MILLI}");
    format!(
        "{series} INSERT INTO orders (order_id, account_id, symbol, client_order_id, status, \
         created_at_ns, updated_at_ns, record) SELECT n, {MAKER_OF_N}, {SYMBOL_OF_N}, \
         'c-' || n, 'FILLED', {created_ns}, {created_ns}, '' FROM series",
        series = series(backend, rows),
    )
}

/// Drops the indexes of `table` that back no constraint and returns their definitions: one
/// index build over the loaded rows is several times faster than updating it per row.
pub async fn set_aside_indexes(store: &Store, table: &str) -> Vec<String> {
    let select = format!(
        "SELECT pg_get_indexdef(indexrelid) AS definition, indexrelid::regclass::text AS name \
         FROM pg_index WHERE indrelid = '{table}'::regclass AND NOT indisprimary"
    );
    let statement = Statement::from_string(DbBackend::Postgres, select);
    let rows = store.connection().query_all_raw(statement).await.expect("index definitions");
    let mut definitions = Vec::new();
    for row in rows {
        let name: String = row.try_get("", "name").expect("name");
        definitions.push(row.try_get("", "definition").expect("definition"));
        let drop = format!("DROP INDEX {name}");
        store.connection().execute_unprepared(&drop).await.expect("drop index");
    }
    definitions
}
