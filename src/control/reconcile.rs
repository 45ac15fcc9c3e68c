//! Reconciliation as pure functions over what the database and the shards show: per asset the
//! balances sum to zero, every balance equals the replay of its ledger entries, no user
//! balance is negative, and each shard's own invariants hold (held equals what its open orders
//! require). Zero tolerance: any difference is an anomaly.
//!
//! The hot commit writes balances and the projector writes ledger entries a moment later, and
//! a trade settles in the buyer's and the seller's shards at slightly different times; so a
//! single look may see a difference that is only in flight. An anomaly counts when two looks
//! taken apart (each after the projector caught up) show exactly the same one
//! ([`confirmed`]); an edited row shows the same difference every time.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use utoipa::ToSchema;

/// Anomalies a report lists at most (the gauge counts them all).
pub const ANOMALIES_LISTED_MAX: usize = 100;

/// Balances keyed `owner|bucket|asset` for users, `shard|owner|bucket|asset` for the system's
/// per-shard accounts; amounts in minor units. Zero balances may be left out of either map.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LedgerSnapshot {
    /// What the ledger entries add up to.
    pub replay: BTreeMap<String, i128>,
    /// What the balance tables say.
    pub stored: BTreeMap<String, i128>,
}

/// One difference found.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, ToSchema)]
#[serde(tag = "kind", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Anomaly {
    /// An asset's balances do not sum to zero.
    #[serde(rename_all = "camelCase")]
    AssetSumNotZero { asset: String, sum: String },
    /// A balance differs from the sum of its ledger entries.
    #[serde(rename_all = "camelCase")]
    BalanceNotLedger { balance: String, ledger_sum: String, stored: String },
    #[serde(rename_all = "camelCase")]
    NegativeBalance { balance: String, amount: String },
    /// A shard's in-memory invariant (asset sums, negatives, held vs open orders) failed.
    #[serde(rename_all = "camelCase")]
    ShardInvariant { shard: usize, violation: String },
}

/// A reconciliation's answer (`GET /admin/reconcile`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub at_ms: u64,
    pub anomaly_count: usize,
    /// The first [`ANOMALIES_LISTED_MAX`] anomalies.
    pub anomalies: Vec<Anomaly>,
    pub balances_checked: usize,
    pub shards_checked: usize,
    /// Whether this run switched the exchange to cancel-only.
    pub switched_to_cancel_only: bool,
}

impl Report {
    pub fn new(at_ms: u64, anomalies: Vec<Anomaly>, balances: usize, shards: usize) -> Report {
        let anomaly_count = anomalies.len();
        let anomalies = anomalies.into_iter().take(ANOMALIES_LISTED_MAX).collect();
        Report {
            at_ms,
            anomaly_count,
            anomalies,
            balances_checked: balances,
            shards_checked: shards,
            switched_to_cancel_only: false,
        }
    }
}

/// The asset of a balance key (its last part).
fn asset_of(key: &str) -> &str {
    key.rsplit('|').next().unwrap_or(key)
}

/// Every anomaly `snapshot` shows, in a stable order.
pub fn ledger_anomalies(snapshot: &LedgerSnapshot) -> Vec<Anomaly> {
    let mut anomalies = Vec::new();
    let mut sums: BTreeMap<&str, i128> = BTreeMap::new();
    for (key, amount) in &snapshot.stored {
        *sums.entry(asset_of(key)).or_default() += amount;
        if key.starts_with("user:") && *amount < 0 {
            let (balance, amount) = (key.clone(), amount.to_string());
            anomalies.push(Anomaly::NegativeBalance { balance, amount });
        }
    }
    for (asset, sum) in sums.into_iter().filter(|(_, sum)| *sum != 0) {
        anomalies.push(Anomaly::AssetSumNotZero { asset: asset.to_owned(), sum: sum.to_string() });
    }
    let keys: BTreeSet<&String> = snapshot.replay.keys().chain(snapshot.stored.keys()).collect();
    for key in keys {
        let ledger_sum = snapshot.replay.get(key).copied().unwrap_or(0);
        let stored = snapshot.stored.get(key).copied().unwrap_or(0);
        if ledger_sum != stored {
            anomalies.push(Anomaly::BalanceNotLedger {
                balance: key.clone(),
                ledger_sum: ledger_sum.to_string(),
                stored: stored.to_string(),
            });
        }
    }
    anomalies
}

/// The anomalies both looks show identically (see the module doc).
pub fn confirmed(first: &[Anomaly], second: &[Anomaly]) -> Vec<Anomaly> {
    let first: BTreeSet<&Anomaly> = first.iter().collect();
    second.iter().filter(|anomaly| first.contains(anomaly)).cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deposit of 100 USDT to user 1 (owed to the external account), and 5 held by an order.
    fn consistent() -> LedgerSnapshot {
        let balances = BTreeMap::from([
            ("user:1|available|USDT".to_owned(), 95),
            ("user:1|held|USDT".to_owned(), 5),
            ("0|external|available|USDT".to_owned(), -100),
        ]);
        LedgerSnapshot { replay: balances.clone(), stored: balances }
    }

    #[test]
    fn a_consistent_ledger_has_no_anomaly() {
        assert_eq!(ledger_anomalies(&consistent()), Vec::new());
        assert_eq!(ledger_anomalies(&LedgerSnapshot::default()), Vec::new());
    }

    #[test]
    fn an_edited_balance_breaks_the_asset_sum_and_the_ledger_replay() {
        let mut edited = consistent();
        edited.stored.insert("user:1|available|USDT".to_owned(), 1_095);
        let anomalies = ledger_anomalies(&edited);
        assert_eq!(
            anomalies,
            vec![
                Anomaly::AssetSumNotZero { asset: "USDT".to_owned(), sum: "1000".to_owned() },
                Anomaly::BalanceNotLedger {
                    balance: "user:1|available|USDT".to_owned(),
                    ledger_sum: "95".to_owned(),
                    stored: "1095".to_owned(),
                },
            ]
        );
    }

    #[test]
    fn a_negative_user_balance_is_an_anomaly_a_negative_system_one_is_not() {
        let mut snapshot = consistent();
        snapshot.stored.insert("user:2|available|BTC".to_owned(), -1);
        snapshot.stored.insert("0|external|available|BTC".to_owned(), 1);
        snapshot.replay = snapshot.stored.clone();
        assert_eq!(
            ledger_anomalies(&snapshot),
            vec![Anomaly::NegativeBalance {
                balance: "user:2|available|BTC".to_owned(),
                amount: "-1".to_owned(),
            }]
        );
    }

    #[test]
    fn only_what_both_looks_show_identically_is_confirmed() {
        let edited = Anomaly::AssetSumNotZero { asset: "USDT".into(), sum: "1000".into() };
        let in_flight = Anomaly::AssetSumNotZero { asset: "BTC".into(), sum: "7".into() };
        let moved = Anomaly::AssetSumNotZero { asset: "BTC".into(), sum: "3".into() };
        let first = vec![edited.clone(), in_flight];
        let second = vec![moved, edited.clone()];
        assert_eq!(confirmed(&first, &second), vec![edited]);
    }

    #[test]
    fn a_report_counts_every_anomaly_and_lists_a_bounded_number() {
        let many: Vec<Anomaly> = (0..ANOMALIES_LISTED_MAX + 5)
            .map(|shard| Anomaly::ShardInvariant { shard, violation: "x".into() })
            .collect();
        let report = Report::new(1, many, 10, 2);
        assert_eq!(report.anomaly_count, ANOMALIES_LISTED_MAX + 5);
        assert_eq!(report.anomalies.len(), ANOMALIES_LISTED_MAX);
    }
}
