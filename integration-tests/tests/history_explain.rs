//! The history routes' queries stay on their indexes at 1 million rows: a database of its own
//! is migrated, `trades` and `orders` are loaded with 1,000,000 rows each (10,000 accounts,
//! 3 symbols, and one market maker in a tenth of them), analyzed, and every statement the store
//! runs for `myTrades`, `allOrders` and `GET /api/v3/order` (an ended order) is explained, with
//! its values (the custom plan) and without (the generic plan a prepared statement may switch
//! to). Each plan must read the index its keyset range is built for and never scan the table.
//!
//! The statements come from the store's own builders, so the test explains exactly what runs.
//! There is no ledger-history route, hence no ledger query here.

use std::time::Duration;

use exchange::store::{
    AccountTradeQuery, OrderPageQuery, Store, account_trade_selects, account_trades_select,
    order_page_select, stored_order_select, trade_id_at_select,
};
use exchange_actors::model::{AccountId, ClientOrderId, OrderId, SymbolCode, TradeId};
use integration_tests::db::{Backend, TestDatabase};
use integration_tests::history_rows::{
    NANOS_PER_MILLI, TIME_ZERO_MS, load_orders, load_trades, set_aside_indexes,
};
use sea_orm::sea_query::{PostgresQueryBuilder, QueryBuilder, SelectStatement};
use sea_orm::{ConnectionTrait, DbBackend, Statement, TransactionTrait};

/// Rows loaded into each of `trades` and `orders`.
const ROWS: u64 = 1_000_000;
/// Loading, indexing, vacuuming and explaining take ~20 s on a quiet 2-core machine and over
/// 60 s beside other builds; the bound only stops a hung run.
const TEST_TIME_MAX: Duration = Duration::from_secs(240);

/// One trade and one order in ten is the market maker's: its pages are long, the worst case
/// for a plan that filters instead of ranging.
const MARKET_MAKER: AccountId = AccountId(1);
/// One of the other 9,999 accounts, with ~30 trades and orders per symbol.
const TYPICAL_ACCOUNT: AccountId = AccountId(4_242);

fn btcusdt() -> SymbolCode {
    SymbolCode::new("BTCUSDT").expect("symbol")
}

/// A statement the store runs and the indexes its plan may read.
struct Explained {
    name: String,
    select: SelectStatement,
    indexes: Vec<&'static str>,
    /// Indexes SQLite's plan may read besides `indexes` (see `sqlite_plan_fault`).
    sqlite_also: Vec<&'static str>,
}

/// The account statements of `myTrades` for `account` on a table of `rows`: maker and taker
/// side of the newest page, from `fromId`, between the trade ids of `startTime` and `endTime`,
/// and of one order.
fn my_trades_statements(account: AccountId, rows: u64) -> Vec<Explained> {
    let newest = AccountTradeQuery {
        account_id: account,
        symbol: btcusdt(),
        order_id: None,
        from_trade_id: None,
        to_trade_id: None,
        newest_first: true,
        limit: 500,
    };
    let variants = [
        ("newest", newest),
        ("fromId", AccountTradeQuery { from_trade_id: Some(TradeId(rows / 2)), ..newest }),
        (
            "time range",
            AccountTradeQuery {
                from_trade_id: Some(TradeId(rows / 2)),
                to_trade_id: Some(TradeId(rows / 2 + 10_000)),
                newest_first: false,
                ..newest
            },
        ),
        ("orderId", AccountTradeQuery { order_id: Some(OrderId(rows)), ..newest }),
    ];
    let mut statements = Vec::new();
    for (variant, query) in variants {
        let [maker, taker] = account_trade_selects(&query).expect("statements");
        let both = account_trades_select(&query).expect("statement");
        for (side, select, indexes) in [
            ("maker", maker, ["trades_maker_account", "trades_maker_order"]),
            ("taker", taker, ["trades_taker_account", "trades_taker_order"]),
        ] {
            // By order the planner may range on either index: both hold only a few rows.
            let indexes =
                if query.order_id.is_some() { indexes.to_vec() } else { vec![indexes[0]] };
            let both_bounds = query.from_trade_id.is_some() && query.to_trade_id.is_some();
            let sqlite_also = if both_bounds { vec![TRADES_PRIMARY_KEY_ON_SQLITE] } else { vec![] };
            // Each side alone, and the statement that runs (both sides in one): there too this
            // side must be on its index.
            for (form, select) in [("alone", select), ("in the page statement", both.clone())] {
                let name = format!("myTrades {variant} {side} {form}, account {}", account.0);
                let (indexes, sqlite_also) = (indexes.clone(), sqlite_also.clone());
                statements.push(Explained { name, select, indexes, sqlite_also });
            }
        }
    }
    statements
}

/// The statements of `myTrades` that turn `startTime` and `endTime` into trade ids.
fn trade_time_statements(rows: u64) -> Vec<Explained> {
    let middle_ms = TIME_ZERO_MS + 10 * (rows / 2);
    [("startTime", true), ("endTime", false)]
        .into_iter()
        .map(|(bound, at_or_after)| Explained {
            name: format!("myTrades {bound} to trade id"),
            select: trade_id_at_select(btcusdt(), middle_ms, at_or_after).expect("statement"),
            indexes: vec!["trades_symbol_time"],
            sqlite_also: vec![],
        })
        .collect()
}

/// Every statement of `allOrders` for `account` on a table of `rows`: the newest page, from
/// `orderId`, from `startTime`, up to `endTime`, and between both.
fn all_orders_statements(account: AccountId, rows: u64) -> Vec<Explained> {
    let newest = OrderPageQuery {
        account_id: account,
        symbol: btcusdt(),
        from_order_id: None,
        created_from_ns: None,
        created_to_ns: None,
        newest_first: true,
        limit: 500,
    };
    let middle_ns = (TIME_ZERO_MS + rows / 2) * NANOS_PER_MILLI;
    let day_ns = 24 * 60 * 60 * 1_000 * NANOS_PER_MILLI;
    let by_id = vec!["orders_account_symbol_id"];
    let by_time = vec!["orders_account_symbol_created"];
    let variants = [
        ("newest", newest, by_id.clone()),
        (
            "orderId",
            OrderPageQuery {
                from_order_id: Some(OrderId(rows / 2)),
                newest_first: false,
                ..newest
            },
            by_id,
        ),
        (
            "startTime",
            OrderPageQuery { created_from_ns: Some(middle_ns), newest_first: false, ..newest },
            by_time.clone(),
        ),
        ("endTime", OrderPageQuery { created_to_ns: Some(middle_ns), ..newest }, by_time.clone()),
        (
            "startTime and endTime",
            OrderPageQuery {
                created_from_ns: Some(middle_ns - day_ns),
                created_to_ns: Some(middle_ns),
                newest_first: false,
                ..newest
            },
            by_time,
        ),
    ];
    variants
        .into_iter()
        .map(|(variant, query, indexes)| Explained {
            name: format!("allOrders {variant} of account {}", account.0),
            select: order_page_select(&query).expect("statement"),
            indexes,
            sqlite_also: vec![],
        })
        .collect()
}

/// The statements of `GET /api/v3/order` for an order the shard no longer holds: by id and
/// by client order id.
fn stored_order_statements(account: AccountId, rows: u64) -> Vec<Explained> {
    let client_order_id = ClientOrderId::new(&format!("c-{}", rows / 2)).expect("client id");
    let lookups = [
        // By id every condition is an equality on either index: a probe of one row.
        (
            "orderId",
            Some(OrderId(rows / 2)),
            None,
            vec!["orders_pkey", "orders_account_symbol_id"],
            vec![ORDERS_PRIMARY_KEY_ON_SQLITE],
        ),
        (
            "origClientOrderId",
            None,
            Some(client_order_id),
            vec!["orders_account_symbol_client_id"],
            vec![],
        ),
    ];
    lookups
        .into_iter()
        .map(|(variant, order_id, client_order_id, indexes, sqlite_also)| Explained {
            name: format!("order by {variant} of account {}", account.0),
            select: stored_order_select(account, btcusdt(), order_id, client_order_id)
                .expect("statement")
                .expect("an id"),
            indexes,
            sqlite_also,
        })
        .collect()
}

/// The statements of the history routes for the market maker and a typical account.
fn every_statement(rows: u64) -> Vec<Explained> {
    let mut statements = trade_time_statements(rows);
    for account in [MARKET_MAKER, TYPICAL_ACCOUNT] {
        statements.extend(my_trades_statements(account, rows));
        statements.extend(all_orders_statements(account, rows));
        statements.extend(stored_order_statements(account, rows));
    }
    statements
}

/// Every node of a PostgreSQL JSON plan, depth first.
fn plan_nodes<'plan>(node: &'plan serde_json::Value, nodes: &mut Vec<&'plan serde_json::Value>) {
    nodes.push(node);
    for child in node.get("Plans").and_then(|plans| plans.as_array()).into_iter().flatten() {
        plan_nodes(child, nodes);
    }
}

/// The statement of `explained` on `backend`, and it behind `command` with the same values.
fn explain(backend: DbBackend, command: &str, explained: &Explained) -> (Statement, Statement) {
    let statement = backend.build(&explained.select);
    let values = statement.values.clone().map(|values| values.0).unwrap_or_default();
    let sql = format!("{command} {}", statement.sql);
    (statement, Statement::from_sql_and_values(backend, sql, values))
}

/// The custom plan PostgreSQL makes of `explained` for its values.
async fn custom_plan(store: &Store, explained: &Explained) -> serde_json::Value {
    let (_, explain) = explain(DbBackend::Postgres, "EXPLAIN (FORMAT JSON)", explained);
    let row = store.connection().query_one_raw(explain).await.expect("explain").expect("a plan");
    row.try_get("", "QUERY PLAN").expect("json plan")
}

/// The generic plan of `explained`: the one a prepared statement switches to after five runs
/// when it is priced no worse, made without looking at the values. A sentinel condition
/// (`x = $1 OR $1 = -1`) is folded away in a custom plan and defeats the index here.
async fn generic_plan(store: &Store, explained: &Explained) -> serde_json::Value {
    let statement = DbBackend::Postgres.build(&explained.select);
    let values = statement.values.map(|values| values.0).unwrap_or_default();
    // EXECUTE takes no bound parameters: its arguments are the values as literals.
    let arguments: Vec<String> =
        values.iter().map(|value| PostgresQueryBuilder.value_to_string(value)).collect();
    let txn = store.connection().begin().await.expect("transaction");
    let prepare = format!("PREPARE history_statement AS {}", statement.sql);
    for setup in ["SET LOCAL plan_cache_mode = force_generic_plan", &prepare] {
        txn.execute_unprepared(setup).await.expect("prepare");
    }
    let sql = format!("EXPLAIN (FORMAT JSON) EXECUTE history_statement({})", arguments.join(", "));
    let explain = Statement::from_string(DbBackend::Postgres, sql);
    let row = txn.query_one_raw(explain).await.expect("explain").expect("a plan");
    // Prepared statements outlive the transaction: the pooled connection must not keep it.
    txn.execute_unprepared("DEALLOCATE history_statement").await.expect("deallocate");
    txn.rollback().await.expect("rollback");
    row.try_get("", "QUERY PLAN").expect("json plan")
}

/// Where a PostgreSQL plan of `explained` (custom or generic) fails its index, if it does.
async fn postgres_plan_fault(store: &Store, explained: &Explained) -> Option<String> {
    let plans = [
        ("custom", custom_plan(store, explained).await),
        ("generic", generic_plan(store, explained).await),
    ];
    let mut faults = Vec::new();
    for (kind, plan) in plans {
        let mut nodes = Vec::new();
        plan_nodes(&plan[0]["Plan"], &mut nodes);
        let text =
            |node: &serde_json::Value, key: &str| node[key].as_str().unwrap_or("").to_owned();
        let summary: Vec<String> = nodes
            .iter()
            .map(|node| {
                let (index, condition) = (text(node, "Index Name"), text(node, "Index Cond"));
                let filter = text(node, "Filter");
                format!("{} {index} {condition} {filter}", text(node, "Node Type"))
            })
            .collect();
        println!("{} ({kind}): {}", explained.name, summary.join(" > "));
        let seq_scan = nodes.iter().any(|node| text(node, "Node Type") == "Seq Scan");
        let on_index = nodes.iter().any(|node| {
            ["Index Scan", "Index Only Scan", "Bitmap Index Scan"]
                .contains(&text(node, "Node Type").as_str())
                && explained.indexes.contains(&text(node, "Index Name").as_str())
        });
        if seq_scan || !on_index {
            faults.push(format!(
                "{} ({kind} plan): expected a scan of {:?} and no Seq Scan\nplan: {}",
                explained.name,
                explained.indexes,
                summary.join(" > ")
            ));
        }
    }
    (!faults.is_empty()).then(|| faults.join("\n"))
}

/// Loads both tables (unlogged: this database lives for one test) and vacuums them.
async fn load_postgres(store: &Store) {
    let db = store.connection();
    for table in ["trades", "orders"] {
        let unlogged = format!("ALTER TABLE {table} SET UNLOGGED");
        db.execute_unprepared(&unlogged).await.expect("unlogged");
        let definitions = set_aside_indexes(store, table).await;
        assert!(!definitions.is_empty(), "{table} has secondary indexes");
        let load = if table == "trades" {
            load_trades(DbBackend::Postgres, ROWS)
        } else {
            load_orders(DbBackend::Postgres, ROWS)
        };
        let loaded = db.execute_unprepared(&load).await.expect("load");
        assert_eq!(loaded.rows_affected(), ROWS);
        for definition in definitions {
            db.execute_unprepared(&definition).await.expect("restore index");
        }
        // What autovacuum does after a load: statistics, and the visibility map that lets a
        // page's ids come from the index alone.
        db.execute_unprepared(&format!("VACUUM ANALYZE {table}")).await.expect("vacuum");
    }
}

/// Rows per table of the SQLite check: the embedded profile's tables are small, and SQLite
/// loads rows one by one (a million would take most of a minute).
const SQLITE_ROWS: u64 = 100_000;

/// SQLite's name of the primary key index of `trades` (symbol, trade_id).
const TRADES_PRIMARY_KEY_ON_SQLITE: &str = "sqlite_autoindex_trades_1";
/// How SQLite names a probe of `orders` by its key (`order_id` is the rowid there).
const ORDERS_PRIMARY_KEY_ON_SQLITE: &str = "INTEGER PRIMARY KEY";

/// Where the SQLite plan of `explained` fails, if it does: it must search an expected index and
/// scan no table. With both trade-id bounds SQLite's samples may price the range on the
/// primary key below the account index (seen for the market maker): also a bounded range.
async fn sqlite_plan_fault(store: &Store, explained: &Explained) -> Option<String> {
    let (statement, explain) = explain(DbBackend::Sqlite, "EXPLAIN QUERY PLAN", explained);
    let rows = store.connection().query_all_raw(explain).await.expect("explain");
    let details: Vec<String> =
        rows.iter().map(|row| row.try_get("", "detail").expect("detail")).collect();
    println!("{} (SQLite): {}", explained.name, details.join(" > "));
    // `SCAN maker_side` reads a derived table's rows, not a table.
    let table_scan = details.iter().any(|detail| {
        ["SCAN trades", "SCAN orders"]
            .iter()
            .any(|scan| detail == scan || detail.starts_with(&format!("{scan} ")))
    });
    let on_index = details.iter().any(|detail| {
        explained.indexes.iter().chain(&explained.sqlite_also).any(|index| {
            let names =
                [format!("INDEX {index}"), format!("COVERING INDEX {index}"), index.to_string()];
            detail.starts_with("SEARCH ")
                && names.iter().any(|name| detail.contains(&format!(" USING {name} ")))
        })
    });
    (table_scan || !on_index).then(|| {
        format!(
            "{}: expected a search of {:?} and no SCAN\n{}\nplan: {}",
            explained.name,
            explained.indexes.iter().chain(&explained.sqlite_also).collect::<Vec<_>>(),
            statement.sql,
            details.join(" > ")
        )
    })
}

/// Loads both tables (fewer rows, see [`SQLITE_ROWS`]) and analyzes them.
async fn load_sqlite(store: &Store) {
    let db = store.connection();
    for load in
        [load_trades(DbBackend::Sqlite, SQLITE_ROWS), load_orders(DbBackend::Sqlite, SQLITE_ROWS)]
    {
        let loaded = db.execute_unprepared(&load).await.expect("load");
        assert_eq!(loaded.rows_affected(), SQLITE_ROWS);
    }
    db.execute_unprepared("ANALYZE").await.expect("analyze");
}

/// Loads a fresh database of `backend` and checks the plan of every history statement.
async fn plans_on_indexes(backend: Backend) {
    let database = TestDatabase::create(backend).await;
    let store = database.store().await;
    let rows = match backend {
        Backend::Postgres => {
            load_postgres(&store).await;
            ROWS
        }
        Backend::Sqlite => {
            load_sqlite(&store).await;
            SQLITE_ROWS
        }
    };
    let mut faults = Vec::new();
    for explained in every_statement(rows) {
        let fault = match backend {
            Backend::Postgres => postgres_plan_fault(&store, &explained).await,
            Backend::Sqlite => sqlite_plan_fault(&store, &explained).await,
        };
        faults.extend(fault);
    }
    assert!(faults.is_empty(), "{} plans off their index:\n{}", faults.len(), faults.join("\n"));
}

#[tokio::test(flavor = "multi_thread")]
async fn history_queries_use_their_indexes_on_postgres() {
    // On a timeout the database is dropped WITH (FORCE), which ends its running statements.
    let check = plans_on_indexes(Backend::Postgres);
    tokio::time::timeout(TEST_TIME_MAX, check).await.expect("within the time bound");
}

#[tokio::test(flavor = "multi_thread")]
async fn history_queries_use_their_indexes_on_sqlite() {
    let check = plans_on_indexes(Backend::Sqlite);
    tokio::time::timeout(TEST_TIME_MAX, check).await.expect("within the time bound");
}
