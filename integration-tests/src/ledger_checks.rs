//! What the database must show after any run, crash or not, checked from outside the actors:
//! balances equal a fresh replay of the ledger, every asset sums to zero over all owners, no
//! user balance is negative, and every trade the books journaled is settled exactly once.
//!
//! Each check answers `Err(what differs)` rather than panicking, so a test can poll until the
//! shards have caught up and only then fail.

use std::collections::{BTreeMap, BTreeSet};

use exchange::store::Store;
use exchange_actors::model::EventKind;
use exchange_actors::ports::Journal as _;
use sea_orm::{ConnectionTrait, Statement};

/// Events read from the journal per request while collecting trades.
const EVENTS_PER_READ: u32 = 10_000;

/// Rows of `(key, total)`; totals are cast to BIGINT in SQL (SUM is NUMERIC on PostgreSQL).
pub async fn keyed_totals(store: &Store, sql: &str) -> Result<Vec<(String, i64)>, String> {
    let statement = Statement::from_string(store.backend(), sql.to_owned());
    let rows =
        store.connection().query_all_raw(statement).await.map_err(|error| error.to_string())?;
    rows.iter()
        .map(|row| {
            let key: String = row.try_get_by_index(0).map_err(|error| error.to_string())?;
            let total: i64 = row.try_get_by_index(1).map_err(|error| error.to_string())?;
            Ok((key, total))
        })
        .collect()
}

/// `shard|owner|bucket|asset` for system owners (one balance per shard), `owner|bucket|asset`
/// for users (each lives in one shard).
fn balance_key(shard: &str, owner: &str, bucket: &str, asset: &str) -> String {
    if owner.starts_with("user:") {
        format!("{owner}|{bucket}|{asset}")
    } else {
        format!("{shard}|{owner}|{bucket}|{asset}")
    }
}

fn nonzero_map(rows: Vec<(String, i64)>) -> Result<BTreeMap<String, i64>, String> {
    let mut map = BTreeMap::new();
    for (key, total) in rows {
        let parts: Vec<&str> = key.split('|').collect();
        let [shard, owner, bucket, asset] = parts[..] else {
            return Err(format!("malformed key {key}"));
        };
        *map.entry(balance_key(shard, owner, bucket, asset)).or_insert(0) += total;
    }
    map.retain(|_, total| *total != 0);
    Ok(map)
}

/// Every balance (user and system, available and held) equals the sum of the ledger entries
/// that credit it minus those that debit it.
pub async fn balances_equal_ledger_replay(store: &Store) -> Result<(), String> {
    let replay = keyed_totals(
        store,
        "SELECT CAST(shard AS TEXT) || '|' || owner || '|' || bucket || '|' || asset, \
         CAST(SUM(delta) AS BIGINT) FROM (\
         SELECT shard, credit_owner AS owner, credit_bucket AS bucket, asset, amount AS delta \
         FROM ledger_entries UNION ALL \
         SELECT shard, debit_owner, debit_bucket, asset, -amount FROM ledger_entries) t \
         GROUP BY shard, owner, bucket, asset",
    )
    .await?;
    let stored = keyed_totals(
        store,
        "SELECT '-|user:' || CAST(account_id AS TEXT) || '|available|' || asset, available \
         FROM balances UNION ALL \
         SELECT '-|user:' || CAST(account_id AS TEXT) || '|held|' || asset, held FROM balances \
         UNION ALL SELECT CAST(shard AS TEXT) || '|' || account || '|available|' || asset, \
         available FROM system_balances UNION ALL \
         SELECT CAST(shard AS TEXT) || '|' || account || '|held|' || asset, held \
         FROM system_balances",
    )
    .await?;
    let (replay, stored) = (nonzero_map(replay)?, nonzero_map(stored)?);
    if replay == stored {
        return Ok(());
    }
    let differing: Vec<String> = replay
        .keys()
        .chain(stored.keys())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .filter(|key| replay.get(*key) != stored.get(*key))
        .take(10)
        .map(|key| format!("{key}: ledger {:?}, balance {:?}", replay.get(key), stored.get(key)))
        .collect();
    Err(format!("balances differ from the ledger replay: {differing:?}"))
}

/// Per asset all balances sum to zero (deposits are owed to the external account), no user
/// balance is negative, and each symbol's clearing account nets to zero over the shards.
pub async fn balances_conserved(store: &Store) -> Result<(), String> {
    let per_asset = keyed_totals(
        store,
        "SELECT asset, CAST(SUM(total) AS BIGINT) FROM (\
         SELECT asset, available + held AS total FROM balances UNION ALL \
         SELECT asset, available + held AS total FROM system_balances) t GROUP BY asset",
    )
    .await?;
    if let Some((asset, total)) = per_asset.iter().find(|(_, total)| *total != 0) {
        return Err(format!("{asset} balances sum to {total}, not zero"));
    }
    let negative = keyed_totals(
        store,
        "SELECT 'negative', CAST(COUNT(*) AS BIGINT) FROM balances WHERE available < 0 OR held < 0",
    )
    .await?;
    if negative.first().is_some_and(|(_, count)| *count != 0) {
        return Err(format!("{negative:?} user balances are negative"));
    }
    let clearing = keyed_totals(
        store,
        "SELECT account || ' ' || asset, CAST(SUM(available + held) AS BIGINT) \
         FROM system_balances WHERE account LIKE 'clearing:%' GROUP BY account, asset",
    )
    .await?;
    match clearing.iter().find(|(_, total)| *total != 0) {
        Some((account, total)) => Err(format!("{account} nets to {total} over the shards")),
        None => Ok(()),
    }
}

/// The trades `symbol`'s book journaled, as `symbol|trade_id`.
pub async fn journaled_trades(store: &Store, symbol: &str) -> Result<BTreeSet<String>, String> {
    let mut trades = BTreeSet::new();
    let mut after_seq = 0;
    loop {
        let events = store
            .book_events_after(symbol.to_owned(), after_seq, EVENTS_PER_READ)
            .await
            .map_err(|error| error.to_string())?;
        let Some(last) = events.last() else { return Ok(trades) };
        after_seq = last.seq;
        for event in &events {
            if let EventKind::Traded(trade) = event.kind {
                trades.insert(format!("{symbol}|{}", trade.trade_id.0));
            }
        }
    }
}

/// Every journaled trade of `symbols` credited exactly two users' available balances (the
/// buyer's base, the seller's quote), and the ledger holds no trade the books did not journal.
pub async fn trades_settled_exactly_once(store: &Store, symbols: &[&str]) -> Result<(), String> {
    let mut journaled = BTreeSet::new();
    for symbol in symbols {
        journaled.extend(journaled_trades(store, symbol).await?);
    }
    let credits = keyed_totals(
        store,
        "SELECT symbol || '|' || CAST(trade_id AS TEXT), CAST(COUNT(*) AS BIGINT) \
         FROM ledger_entries WHERE kind = 'TRADE' AND credit_owner LIKE 'user:%' \
         GROUP BY symbol, trade_id",
    )
    .await?;
    let settled: BTreeMap<String, i64> = credits.into_iter().collect();
    if let Some((trade, count)) = settled.iter().find(|(_, count)| **count != 2) {
        return Err(format!("trade {trade} credited {count} times, not 2"));
    }
    if let Some(unknown) = settled.keys().find(|trade| !journaled.contains(*trade)) {
        return Err(format!("trade {unknown} is in the ledger but no book journaled it"));
    }
    let unsettled: Vec<&String> =
        journaled.iter().filter(|trade| !settled.contains_key(*trade)).take(10).collect();
    if unsettled.is_empty() {
        Ok(())
    } else {
        Err(format!("journaled trades not settled: {unsettled:?}"))
    }
}
