//! The countdown cancel-all (dead man's switch) of market makers, as a pure state machine.
//!
//! A client arms a countdown for its account, either for one symbol or for all its symbols,
//! and must re-arm (refresh) it before it runs out; when it runs out, every open order of the
//! account in that symbol (or in every symbol) is to be canceled. [`Countdowns`] holds the
//! armed deadlines per [`CountdownKey`] and answers, for a time given as an argument, which
//! keys expired; it knows nothing of actix, the clock or how orders are canceled.
//!
//! The actor shell (a timer that calls [`Countdowns::expire`] and runs the bulk cancels) lives
//! in the server (`src/api/dead_man.rs`), beside the cancel path of the REST API that it uses:
//! one bulk cancel command per symbol, the same path as `DELETE /api/v3/openOrders`.
//!
//! Invariants: a key has at most one deadline; every deadline is in the index by time and the
//! other way round; an account has at most [`COUNTDOWNS_PER_ACCOUNT_MAX`] armed keys and the
//! whole table at most [`COUNTDOWNS_MAX`]. Cost: arm, refresh and disarm O(log n); expire
//! O(k log n) for the k keys that expired; the next deadline O(log n).
//!
//! Not persisted: after a restart every switch is disarmed (see `Countdowns`' doc).

mod state;
#[cfg(test)]
mod tests;

pub use state::{
    COUNTDOWN_MS_MAX, COUNTDOWN_MS_MIN, COUNTDOWNS_MAX, COUNTDOWNS_PER_ACCOUNT_MAX, CountdownError,
    CountdownKey, Countdowns,
};
