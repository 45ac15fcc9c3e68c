//! The account shard's pure state ([`AccountState`]): accounts, a double-entry ledger of
//! balances, order holds, fees and rebates, and the application of book events — no actix, no
//! I/O, no clock. The AccountShard actor shell feeds it commands and events and journals what
//! [`AccountState::drain_changes`] returns in one transaction.
//!
//! Map:
//! - `market.rs`: [`MarketSpec`], a symbol in ledger units (minor units per lot and per
//!   notional unit, exact fee fractions; fees round in the exchange's favour).
//! - `ledger.rs`: [`LedgerEntry`], [`Leg`], [`Owner`], [`SystemAccount`], [`EntryKind`].
//! - `balances.rs`: balances as a projection; the only place a balance changes.
//! - `orders.rs`: [`OrderRecord`], [`OrderStatus`], open and recent orders with their indexes.
//! - `state.rs`: [`AccountState`] itself, deposits, withdrawals, queries, restore.
//! - `place.rs`: placing (checks, hold, PENDING), abandoning a pending order, amend reserves.
//! - `settle.rs`: applying book events exactly once (watermark per symbol).
//! - `outcome.rs`: a just-placed order as its own book command left it (the gateway's answer).
//! - `positions.rs`: [`Position`], a perpetual position in exact ledger units.
//! - `perp_margin.rs`: cross margin for perpetual orders (holds, reduce-only, free margin, marks).
//! - `perp_settle.rs`: perpetual fills (margin release, realized PnL, fees) and funding.
//! - `perp_risk.rs`: [`MarginStatus`], the accounts at or below maintenance margin.
//! - `liquidation.rs`: LIQUIDATING ([`LiquidationRecord`]) and what each review asks for
//!   ([`LiquidationStep`]: cancels, reduce-only IOCs at the bankruptcy price, a close-out).
//! - `close_out.rs`: past the deadline, the insurance fund ([`INSURANCE_FUND`]) takes the
//!   positions at the bankruptcy price, or ADL closes them against opposite positions.
//! - `user_updates.rs`: what each owner is told after a commit (the user data stream).
//! - `invariants.rs`, `changes.rs`, `errors.rs`.
//!
//! Invariants: per asset the balances of a shard sum to zero (every movement is one entry that
//! debits one leg and credits another); no user balance is ever negative (refused before
//! anything changes, asserted always-on in posting); per (account, asset) held equals the sum
//! of its open orders' `hold_remaining`, which is 0 in every terminal state. System accounts
//! may be negative: External (deposits), Subsidy (rebates), Clearing(symbol) until the
//! counterparty's shard applies its side of a cross-shard trade (over all shards it is zero).
//!
//! Units: amounts are `i128` counts of an asset's minor unit. Order ids are
//! `counter * SHARD_COUNT_MAX + shard_index`.
//!
//! Limits: [`RECENT_CLOSED_ORDERS_PER_ACCOUNT`] closed orders remembered per account (client id
//! uniqueness), [`OPEN_ORDERS_PER_ACCOUNT_MAX`] open orders per account. Costs: O(log n) per
//! order and per balance touched (BTreeMaps, for deterministic iteration).

pub mod actor;
mod balances;
mod changes;
mod close_out;
mod errors;
mod invariants;
mod ledger;
mod liquidation;
mod market;
mod orders;
mod outcome;
mod perp_margin;
mod perp_risk;
mod perp_settle;
mod place;
mod positions;
mod settle;
mod state;
mod user_updates;

#[cfg(test)]
mod tests;

pub use balances::{Balance, BalanceRow};
pub use changes::Changes;
pub use close_out::{ClosedOut, Deleveraged, INSURANCE_FUND};
pub use errors::{AccountReject, ApplyError};
pub use invariants::InvariantViolation;
pub use ledger::{Bucket, EntryKind, LedgerEntry, Leg, Owner, SystemAccount};
pub use liquidation::{LiquidationRecord, LiquidationStep};
pub use market::{ASSET_SCALE_MAX, MarketSpec, MarketSpecError};
pub use orders::{
    OPEN_ORDERS_PER_ACCOUNT_MAX, OrderRecord, OrderStatus, RECENT_CLOSED_ORDERS_PER_ACCOUNT,
};
pub use outcome::{TakerFill, order_after_own_events};
pub use perp_risk::MarginStatus;
pub use perp_settle::FundingApplied;
pub use place::{GENERATED_CLIENT_ORDER_ID_PREFIX, PlaceRequest};
pub use positions::{Position, PositionRow};
pub use settle::Applied;
pub use state::{
    AccountState, RestoredState, SHARD_COUNT_MAX, SUPPLY_MAX, shard_of, shard_supply_max,
};
pub use user_updates::{AccountUpdate, Execution, FillReport, OrderUpdate, UserBatch};
