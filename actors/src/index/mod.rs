//! The index price: one price per index (e.g. `BTCUSDT`) from several independent sources, so
//! that margin and liquidation never hang on one feed, and exactly one stream of it.
//!
//! - [`IndexSources`] (pure): the latest quote of each source; the index is the median of the
//!   fresh quotes with outliers dropped, and only when enough fresh sources agree.
//! - [`check_pushed_quote`] (pure): what a price pushed by an internal publisher must satisfy.
//! - [`Leadership`] (pure): whether this process publishes, under which fencing epoch.
//! - [`EpochGate`] (pure): what every consumer applies to published prices, refusing those of
//!   an older epoch (a leader that was paused past its lease and woke up) and replays.
//! - [`IndexOracle`]: the actor shell that feeds quotes in, holds the lease through the
//!   [`LeaderLock`](crate::ports::LeaderLock) port and publishes through the
//!   [`IndexFeed`](crate::ports::IndexFeed) port.
//!
//! Prices are `Decimal`: exact, and an index is not on any book's tick grid.

mod actor;
mod gate;
mod leadership;
mod push;
mod sources;
#[cfg(test)]
mod tests;

pub use actor::{IndexOracle, IndexOracleSettings, LocalIndex, ObserveQuote};
pub use gate::{EpochGate, GateRefusal, PublishedIndex};
pub use leadership::{Leadership, LeadershipStep};
pub use push::{PRICE_ABSURD_RATIO, PRICE_MAX, PushRefusal, check_pushed_quote};
pub use sources::{IndexRules, IndexSources, IndexUnavailable, IndexValue, Quote, SOURCES_MAX};
