//! Faults that tests switch on to prove the supervisor recovers: stall a book (the
//! `StallBook` message, on the book actor), drop the book confirmations an account shard
//! receives from the bus, slow every book journal write, and lose a commit's answer.
//!
//! Compiled only with the `fault-injection` feature, which only `integration-tests` enables;
//! without it every switch reads as off and costs nothing. The switches are process-wide
//! (each integration test runs in its own process under nextest) and all start off.

#[cfg(feature = "fault-injection")]
mod switches {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::Duration;

    /// The account shard index whose book events are dropped; `NO_SHARD` when none.
    static DROP_BOOK_EVENTS_TO: AtomicU64 = AtomicU64::new(NO_SHARD);
    static BOOK_JOURNAL_DELAY_MS: AtomicU64 = AtomicU64::new(0);
    static LOST_BOOK_COMMIT_ANSWERS: AtomicU64 = AtomicU64::new(0);
    const NO_SHARD: u64 = u64::MAX;

    /// While `Some(shard_index)`, that account shard drops every batch of book events the bus
    /// brings it, as a lost message would be lost.
    pub fn set_drop_book_events(shard_index: Option<u16>) {
        DROP_BOOK_EVENTS_TO.store(shard_index.map_or(NO_SHARD, u64::from), Ordering::SeqCst);
    }

    pub fn dropping_book_events(shard_index: u16) -> bool {
        DROP_BOOK_EVENTS_TO.load(Ordering::SeqCst) == u64::from(shard_index)
    }

    /// Every book journal write waits `delay` first (zero: off).
    pub fn set_book_journal_delay(delay: Duration) {
        let delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        BOOK_JOURNAL_DELAY_MS.store(delay_ms, Ordering::SeqCst);
    }

    pub fn book_journal_delay() -> Option<Duration> {
        let delay_ms = BOOK_JOURNAL_DELAY_MS.load(Ordering::SeqCst);
        (delay_ms > 0).then(|| Duration::from_millis(delay_ms))
    }

    /// The next `count` book journal writes commit, then report a failure, as a commit whose
    /// answer a database crash lost would.
    pub fn set_lose_book_commit_answers(count: u64) {
        LOST_BOOK_COMMIT_ANSWERS.store(count, Ordering::SeqCst);
    }

    /// Whether this committed write's answer is to be lost (counts it down).
    pub fn losing_book_commit_answer() -> bool {
        LOST_BOOK_COMMIT_ANSWERS
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| left.checked_sub(1))
            .is_ok()
    }
}

#[cfg(not(feature = "fault-injection"))]
mod switches {
    pub fn dropping_book_events(_shard_index: u16) -> bool {
        false
    }

    pub fn book_journal_delay() -> Option<std::time::Duration> {
        None
    }

    pub fn losing_book_commit_answer() -> bool {
        false
    }
}

pub use switches::*;

#[cfg(feature = "fault-injection")]
pub use crate::book::actor::StallBook;
