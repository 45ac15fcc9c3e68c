//! Margin math of linear (USDT-margined) perpetuals, pure: positions, PnL, margin, the
//! liquidation and bankruptcy prices. The `Liquidator` actor and the positions of the account
//! shards build on it (issue 8: not yet).
//!
//! Money here is `Decimal` (exact; a position's entry price is a weighted average that need not
//! be on any tick). Where these amounts become ledger entries they are rounded to minor units
//! by the ledger, with the residue booked explicitly, never lost.

mod margin;
#[cfg(test)]
mod tests;

pub use margin::{Fill, MarginRates, Position, liquidation_price, margin_balance};
