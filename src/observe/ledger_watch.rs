//! [`WatchedJournal`]: the journal as the books and account shards use it, watched on the way
//! through. It counts the writes that failed (`exchange_ledger_write_failures_total`,
//! components `book_batch` and `shard_commit`) and, from what the shards commit and load,
//! keeps the [`LedgerWatch`]: the maker rebates the subsidy account paid, its balance, and
//! each shard's committed watermark per symbol (the account shards' consumer lag).
//!
//! Everything is read from the data already on its way to the database: no query of its own.
//! Cost per shard commit: one pass over its entries, balances and watermarks, one short lock.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use exchange_actors::account::{
    BalanceRow, Changes, EntryKind, Owner, RestoredState, SystemAccount,
};
use exchange_actors::model::{AssetCode, BookEvent, SymbolCode};
use exchange_actors::ports::{
    BookBatch, Epoch, Journal, JournalError, PortFuture, StoredBookSnapshot,
};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive as _;

use crate::safety_metrics::{WriteComponent, count_write_failure};

/// Maker rebates paid out of the subsidy account, in the asset's minor units, by `asset`.
pub const REBATE_SUBSIDY_PAID_TOTAL: &str = "exchange_maker_rebate_subsidy_paid_minor_units_total";
/// The subsidy account's balance over every shard (available + held), in units of the asset:
/// negative by what it has paid and lent.
pub const SUBSIDY_BALANCE: &str = "exchange_subsidy_balance";

/// What the watched commits showed, shared with the sampler.
#[derive(Debug)]
pub struct LedgerWatch {
    asset_scales: BTreeMap<String, u32>,
    seen: Mutex<Seen>,
}

#[derive(Debug, Default)]
struct Seen {
    /// (asset, shard) -> the subsidy account's available + held, minor units.
    subsidy: BTreeMap<(AssetCode, u16), i128>,
    /// (symbol, shard) -> the last book event seq the shard committed as applied.
    watermarks: BTreeMap<(SymbolCode, u16), u64>,
}

/// What one shard commit carries that the watch wants, taken before the commit consumes it.
struct CommitDigest {
    rebates: BTreeMap<AssetCode, i128>,
    subsidy: Vec<(AssetCode, i128)>,
    watermarks: Vec<(SymbolCode, u64)>,
}

fn subsidy_rows(balances: &[BalanceRow]) -> Vec<(AssetCode, i128)> {
    balances
        .iter()
        .filter(|row| row.owner == Owner::System(SystemAccount::Subsidy))
        .map(|row| (row.asset, row.available + row.held))
        .collect()
}

impl CommitDigest {
    fn of(changes: &Changes) -> CommitDigest {
        let mut rebates = BTreeMap::new();
        for entry in changes.entries.iter().filter(|entry| entry.kind == EntryKind::Rebate) {
            *rebates.entry(entry.asset).or_insert(0) += entry.amount;
        }
        CommitDigest {
            rebates,
            subsidy: subsidy_rows(&changes.balances),
            watermarks: changes.watermarks.clone(),
        }
    }
}

impl LedgerWatch {
    /// A watch rendering balances with `asset_scales` (decimal places by asset name). Each
    /// asset's series start at zero, what they are on an empty ledger; the shards' loads,
    /// before they take any order, then set the subsidy balance the ledger holds.
    pub fn new(asset_scales: BTreeMap<String, u32>) -> Arc<LedgerWatch> {
        for asset in asset_scales.keys() {
            metrics::counter!(REBATE_SUBSIDY_PAID_TOTAL, "asset" => asset.clone()).increment(0);
            metrics::gauge!(SUBSIDY_BALANCE, "asset" => asset.clone()).set(0.0);
        }
        Arc::new(LedgerWatch { asset_scales, seen: Mutex::new(Seen::default()) })
    }

    /// Per symbol, the lowest seq every shard has committed (the slowest shard's position).
    pub fn account_shards_applied(&self) -> Vec<(String, u64)> {
        let seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        let mut slowest: BTreeMap<SymbolCode, u64> = BTreeMap::new();
        for ((symbol, _shard), seq) in &seen.watermarks {
            slowest.entry(*symbol).and_modify(|low| *low = (*low).min(*seq)).or_insert(*seq);
        }
        slowest.into_iter().map(|(symbol, seq)| (symbol.to_string(), seq)).collect()
    }

    fn loaded(&self, shard: u16, restored: &RestoredState) {
        let subsidy = subsidy_rows(&restored.balances);
        self.record(shard, &subsidy, &restored.watermarks);
    }

    fn committed(&self, shard: u16, digest: &CommitDigest) {
        for (asset, amount) in &digest.rebates {
            let minor_units = u64::try_from(*amount).unwrap_or(0);
            metrics::counter!(REBATE_SUBSIDY_PAID_TOTAL, "asset" => asset.to_string())
                .increment(minor_units);
        }
        self.record(shard, &digest.subsidy, &digest.watermarks);
    }

    fn record(&self, shard: u16, subsidy: &[(AssetCode, i128)], watermarks: &[(SymbolCode, u64)]) {
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        for (symbol, seq) in watermarks {
            seen.watermarks.insert((*symbol, shard), *seq);
        }
        for (asset, balance) in subsidy {
            seen.subsidy.insert((*asset, shard), *balance);
            let total: i128 = seen
                .subsidy
                .range((*asset, 0)..=(*asset, u16::MAX))
                .map(|(_, amount)| amount)
                .sum();
            self.publish_subsidy(*asset, total);
        }
    }

    fn publish_subsidy(&self, asset: AssetCode, total_minor_units: i128) {
        let name = asset.to_string();
        let scale = self.asset_scales.get(&name).copied().unwrap_or(0);
        // A gauge is a float: exact enough for a dashboard, never used for money.
        let units = Decimal::try_from_i128_with_scale(total_minor_units, scale)
            .ok()
            .and_then(|units| units.to_f64())
            .unwrap_or(f64::NAN);
        metrics::gauge!(SUBSIDY_BALANCE, "asset" => name).set(units);
    }
}

/// `inner` with its book and shard writes watched by `watch`.
#[derive(Debug)]
pub struct WatchedJournal<J> {
    inner: J,
    watch: Arc<LedgerWatch>,
}

impl<J: Journal> WatchedJournal<J> {
    pub fn new(inner: J, watch: Arc<LedgerWatch>) -> WatchedJournal<J> {
        WatchedJournal { inner, watch }
    }
}

impl<J: Journal> Journal for WatchedJournal<J> {
    fn acquire_epoch(&self, stream: String) -> PortFuture<Result<Epoch, JournalError>> {
        self.inner.acquire_epoch(stream)
    }

    fn append_book_batches(&self, batches: Vec<BookBatch>) -> PortFuture<Result<(), JournalError>> {
        let appended = self.inner.append_book_batches(batches);
        Box::pin(async move {
            appended.await.inspect_err(|_| count_write_failure(WriteComponent::BookBatch))
        })
    }

    fn latest_book_snapshot(
        &self,
        symbol: String,
    ) -> PortFuture<Result<Option<StoredBookSnapshot>, JournalError>> {
        self.inner.latest_book_snapshot(symbol)
    }

    fn book_batches_after(
        &self,
        symbol: String,
        after_input_seq: u64,
        limit: u32,
    ) -> PortFuture<Result<Vec<BookBatch>, JournalError>> {
        self.inner.book_batches_after(symbol, after_input_seq, limit)
    }

    fn book_events_after(
        &self,
        symbol: String,
        after_event_seq: u64,
        limit: u32,
    ) -> PortFuture<Result<Vec<BookEvent>, JournalError>> {
        self.inner.book_events_after(symbol, after_event_seq, limit)
    }

    fn commit_shard_changes(
        &self,
        shard_index: u16,
        epoch: Epoch,
        changes: Changes,
    ) -> PortFuture<Result<(), JournalError>> {
        let digest = CommitDigest::of(&changes);
        let committed = self.inner.commit_shard_changes(shard_index, epoch, changes);
        let watch = self.watch.clone();
        Box::pin(async move {
            let result = committed.await;
            match &result {
                Ok(()) => watch.committed(shard_index, &digest),
                Err(_) => count_write_failure(WriteComponent::ShardCommit),
            }
            result
        })
    }

    fn load_shard(
        &self,
        shard_index: u16,
        recent_closed_per_account: u32,
    ) -> PortFuture<Result<RestoredState, JournalError>> {
        let loaded = self.inner.load_shard(shard_index, recent_closed_per_account);
        let watch = self.watch.clone();
        Box::pin(async move {
            let restored = loaded.await?;
            watch.loaded(shard_index, &restored);
            Ok(restored)
        })
    }
}

#[cfg(test)]
mod tests {
    use exchange_actors::account::{LedgerEntry, Leg};
    use exchange_actors::model::AccountId;
    use metrics_exporter_prometheus::PrometheusBuilder;

    use super::*;

    fn usdt() -> AssetCode {
        AssetCode::new("USDT").unwrap()
    }

    fn rebate(amount: i128) -> LedgerEntry {
        LedgerEntry {
            entry_id: 1,
            asset: usdt(),
            amount,
            debit: Leg::system(SystemAccount::Subsidy),
            credit: Leg::available(Owner::User(AccountId(7))),
            kind: EntryKind::Rebate,
            order_id: None,
            symbol: None,
            event_seq: None,
            trade_id: None,
            reference: 0,
        }
    }

    fn subsidy(available: i128) -> BalanceRow {
        BalanceRow {
            owner: Owner::System(SystemAccount::Subsidy),
            asset: usdt(),
            available,
            held: 0,
        }
    }

    #[test]
    fn rebates_count_and_the_subsidy_balance_sums_over_shards() {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        let watch = LedgerWatch::new(BTreeMap::from([("USDT".to_owned(), 2)]));
        let btc = SymbolCode::new("BTCUSDT").unwrap();
        metrics::with_local_recorder(&recorder, || {
            let changes = Changes {
                entries: vec![rebate(30), rebate(20)],
                balances: vec![subsidy(-50)],
                watermarks: vec![(btc, 40)],
                ..Changes::default()
            };
            watch.committed(0, &CommitDigest::of(&changes));
            let other = Changes {
                balances: vec![subsidy(-25)],
                watermarks: vec![(btc, 12)],
                ..Changes::default()
            };
            watch.committed(1, &CommitDigest::of(&other));
        });
        let text = handle.render();
        assert!(
            text.contains(
                "exchange_maker_rebate_subsidy_paid_minor_units_total{asset=\"USDT\"} 50"
            ),
            "{text}"
        );
        assert!(text.contains("exchange_subsidy_balance{asset=\"USDT\"} -0.75"), "{text}");
        // The slowest shard sets the account shards' position.
        assert_eq!(watch.account_shards_applied(), vec![("BTCUSDT".to_owned(), 12)]);
    }
}
