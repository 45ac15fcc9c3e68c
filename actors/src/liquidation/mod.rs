//! Margin math of linear (USDT-margined) perpetuals, pure: positions, PnL, margin, the
//! liquidation and bankruptcy prices (`margin.rs`), and the mark price and funding rate of a
//! perpetual (`pricing.rs`). The account shards' positions (`account/positions.rs`) keep the
//! same PnL in exact ledger units and convert to these decimals for the margin math.
//!
//! The `Liquidator` actor (`actor.rs`) is a thin shell over [`LiquidationGate`] (`gate.rs`:
//! never on a stale index) and the account shards' pure reviews (`account/liquidation.rs`,
//! `account/close_out.rs`), which own the LIQUIDATING state of their accounts.
//!
//! Money here is `Decimal` (exact; a position's entry price is a weighted average that need not
//! be on any tick). Where these amounts become ledger entries they are rounded to minor units
//! by the ledger, with the residue booked explicitly, never lost.

pub mod actor;
mod gate;
mod margin;
mod pricing;
#[cfg(test)]
mod tests;

pub use gate::{GateDecision, LiquidationGate};
pub use margin::{Fill, MarginRates, Position, liquidation_price, margin_balance};
pub use pricing::{FUNDING_RATE_SCALE, FundingClock, FundingDue, mark_price};
