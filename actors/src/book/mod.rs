//! The matching engine of one symbol ([`MatchingEngine`], pure) — the SymbolBook actor shell
//! that journals and publishes its events arrives with the actors.
//!
//! Ordering: price-time priority. A taker sweeps the best opposite level first, each level in
//! arrival order, and every trade is at the resting order's price. A market order stops at the
//! price band; a post-only order that would take is refused, never repriced; fill-or-kill is
//! all or nothing (one that cannot fill completely is accepted and expires untouched, as on
//! Binance); self-trade prevention follows the taker's mode.
//!
//! Costs: best bid/ask O(1); cancel O(1) (direct-mapped id lookup + intrusive unlink); insert
//! O(1) (a price-indexed ladder: a new level sets three bits); an amend that moves an order
//! relinks its node. Levels far behind the best price (64 Ki ticks or more) fall back to a
//! sorted vector. Once storage has reached its high-water mark no operation allocates: events
//! go into the caller's reused [`EngineOutput`].
//!
//! Limits: resting orders per book and per account ([`BookCapacity`]); a refusal is an event
//! and an error with a stable [`RejectReason`](crate::model::RejectReason), and changes nothing.
//!
//! Determinism: the state is a function of the input log; [`MatchingEngine::snapshot`] and
//! [`MatchingEngine::restore`] round-trip exactly, and [`MatchingEngine::state_hash`] compares.

pub mod actor;
mod amend;
mod arena;
mod cancel;
mod depth;
mod engine;
mod ladder;
mod limits;
mod matching;
mod order_index;
mod place;
mod snapshot;

#[cfg(test)]
mod tests;

pub use depth::Depth;
pub use engine::{EngineOutput, MatchingEngine, RestingOrder};
pub use limits::{BookCapacity, BookLimits, PriceBand};
pub use order_index::ORDER_ID_SHARD_BITS;
pub use snapshot::{BookSnapshot, RestoreError};
