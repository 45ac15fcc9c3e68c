//! Balances as a projection of the ledger: per (owner, asset) an available and a held amount.
//! [`Journal::post`] is the only way a balance changes, and it always writes the entry that
//! explains the change. User balances never go negative: callers check first (a refusal), and
//! `post` asserts it (a bug stops the shard rather than letting it continue wrong).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::ledger::{Bucket, Cause, EntryKind, LedgerEntry, Leg, Owner};
use crate::model::AssetCode;

/// One owner's holding of one asset, in minor units.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Balance {
    pub available: i128,
    pub held: i128,
}

impl Balance {
    fn bucket_mut(&mut self, bucket: Bucket) -> &mut i128 {
        match bucket {
            Bucket::Available => &mut self.available,
            Bucket::Held => &mut self.held,
        }
    }
}

/// A balance as the shell stores it (one row per owner and asset).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BalanceRow {
    pub owner: Owner,
    pub asset: AssetCode,
    pub available: i128,
    pub held: i128,
}

/// The balances of one shard, the entries written since the last drain, and which balances
/// those entries touched.
#[derive(Debug, Default)]
pub(super) struct Journal {
    pub balances: BTreeMap<(Owner, AssetCode), Balance>,
    pub next_entry_id: u64,
    pub new_entries: Vec<LedgerEntry>,
    pub touched: BTreeSet<(Owner, AssetCode)>,
}

impl Journal {
    pub fn balance(&self, owner: Owner, asset: AssetCode) -> Balance {
        self.balances.get(&(owner, asset)).copied().unwrap_or_default()
    }

    /// Moves `amount` of `asset` from `debit` to `credit` and records the entry. A zero amount
    /// writes nothing. Panics (always on) if a user bucket would go negative.
    pub fn post(
        &mut self,
        asset: AssetCode,
        amount: i128,
        debit: Leg,
        credit: Leg,
        kind: EntryKind,
        cause: &Cause,
    ) {
        assert!(amount >= 0, "ledger amount {amount} is negative ({kind:?} {asset})");
        if amount == 0 {
            return;
        }
        debug_assert_ne!(debit, credit, "an entry must move between two different legs");
        let from = self.balances.entry((debit.owner, asset)).or_default().bucket_mut(debit.bucket);
        *from = from.checked_sub(amount).expect("balance overflows i128");
        let after = *from;
        assert!(
            !debit.owner.is_user() || after >= 0,
            "{kind:?} of {amount} {asset} would leave {debit:?} at {after}"
        );
        let to = self.balances.entry((credit.owner, asset)).or_default().bucket_mut(credit.bucket);
        *to = to.checked_add(amount).expect("balance overflows i128");
        self.touched.insert((debit.owner, asset));
        self.touched.insert((credit.owner, asset));
        self.new_entries.push(LedgerEntry {
            entry_id: self.next_entry_id,
            asset,
            amount,
            debit,
            credit,
            kind,
            order_id: cause.order_id,
            symbol: cause.symbol,
            event_seq: cause.event_seq,
            trade_id: cause.trade_id,
            reference: cause.reference,
        });
        self.next_entry_id += 1;
    }

    /// The touched balances as rows, and forgets what was touched.
    pub fn drain_touched(&mut self) -> Vec<BalanceRow> {
        let touched = std::mem::take(&mut self.touched);
        touched
            .into_iter()
            .map(|(owner, asset)| {
                let balance = self.balance(owner, asset);
                BalanceRow { owner, asset, available: balance.available, held: balance.held }
            })
            .collect()
    }
}
