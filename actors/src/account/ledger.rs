//! The ledger's vocabulary: who owns a balance, which bucket of it, and one double-entry
//! movement. Entries are append-only; a correction is a new entry, never an edit.

use serde::{Deserialize, Serialize};

use crate::model::{AccountId, AssetCode, OrderId, SymbolCode, TradeId};

/// The exchange's own accounts. They may go negative: `External` by deposits, `Subsidy` by
/// rebates and shortfall cover, `Clearing` while the counterparty's shard has not yet applied
/// its side of a trade.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum SystemAccount {
    /// The world outside the exchange: deposits come from it, withdrawals go to it.
    External,
    /// Fee income.
    Fees,
    /// Pays maker rebates (and covers a hold shortfall after a raced amend).
    Subsidy,
    /// A symbol's settlement account: per asset, summed over all shards, it is zero for a spot
    /// symbol; for a perpetual it is the counterpart of realized PnL (over all shards: the open
    /// positions' unrealized PnL).
    Clearing(SymbolCode),
    /// The insurance fund: pays what an account cannot (a loss, fee or funding beyond its
    /// balance), collects funding payments and pays them out (keeping the rounding).
    Insurance,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Owner {
    User(AccountId),
    System(SystemAccount),
}

impl Owner {
    pub fn is_user(&self) -> bool {
        matches!(self, Owner::User(_))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Bucket {
    Available,
    Held,
}

/// One side of an entry: a bucket of an owner's balance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Leg {
    pub owner: Owner,
    pub bucket: Bucket,
}

impl Leg {
    pub const fn available(owner: Owner) -> Leg {
        Leg { owner, bucket: Bucket::Available }
    }

    pub const fn held(owner: Owner) -> Leg {
        Leg { owner, bucket: Bucket::Held }
    }

    pub const fn system(account: SystemAccount) -> Leg {
        Leg::available(Owner::System(account))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum EntryKind {
    Deposit,
    Withdrawal,
    /// Available -> Held for an order (or an amend that needs more).
    Hold,
    /// Held -> Available: a reject, cancel, expiry, price improvement or leftover.
    Release,
    /// A trade's spent side (Held -> Clearing) or received side (Clearing -> Available).
    TradeSettle,
    /// Clearing -> Fees.
    Fee,
    /// Subsidy -> Available (a negative maker fee).
    Rebate,
    /// Subsidy -> Held when an amend raced a fill and the account cannot fund the new hold,
    /// and back (Held -> Subsidy) when that hold is released.
    Shortfall,
    /// An operator's correction between External and a user's available balance, either way;
    /// its `reference` is the id of the entry it corrects (a reversal or an adjustment).
    /// Entries are never edited: a mistake is answered by appending one of these.
    Correction,
    /// A perpetual's realized PnL: Clearing(symbol) <-> the user's available quote.
    RealizedPnl,
    /// A perpetual's funding payment: payer -> Insurance -> receiver.
    Funding,
    /// Insurance -> wherever a user's loss, fee or funding beyond its balance was owed.
    InsuranceCover,
    /// A liquidated account's balance left after its positions were closed at the bankruptcy
    /// price: available -> Insurance (`reference` is the account id).
    Liquidation,
}

/// One movement of `amount` minor units of `asset`: the debited leg decreases, the credited
/// leg increases. `entry_id` increases by one per entry within a shard.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    pub entry_id: u64,
    pub asset: AssetCode,
    pub amount: i128,
    pub debit: Leg,
    pub credit: Leg,
    pub kind: EntryKind,
    pub order_id: Option<OrderId>,
    pub symbol: Option<SymbolCode>,
    pub event_seq: Option<u64>,
    pub trade_id: Option<TradeId>,
    /// The caller's reference for deposits and withdrawals (e.g. the chain transaction's id),
    /// the corrected entry's id for a correction; 0 elsewhere.
    pub reference: u64,
}

/// What caused an entry; copied into each entry it produces.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Cause {
    pub order_id: Option<OrderId>,
    pub symbol: Option<SymbolCode>,
    pub event_seq: Option<u64>,
    pub trade_id: Option<TradeId>,
    pub reference: u64,
}
