//! Faults that tests switch on to prove the supervisor recovers: stall a book (the
//! `StallBook` message, on the book actor), drop the book confirmations an account shard
//! receives from the bus, and slow every book journal write.
//!
//! Compiled only with the `fault-injection` feature, which only `integration-tests` enables;
//! without it every switch reads as off and costs nothing. The switches are process-wide
//! (each integration test runs in its own process under nextest) and all start off.

#[cfg(feature = "fault-injection")]
mod switches {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::time::Duration;

    static DROP_BOOK_EVENTS: AtomicBool = AtomicBool::new(false);
    static BOOK_JOURNAL_DELAY_MS: AtomicU64 = AtomicU64::new(0);

    /// While on, account shards drop every batch of book events the bus brings them, as a lost
    /// message would be lost.
    pub fn set_drop_book_events(on: bool) {
        DROP_BOOK_EVENTS.store(on, Ordering::SeqCst);
    }

    pub fn dropping_book_events() -> bool {
        DROP_BOOK_EVENTS.load(Ordering::SeqCst)
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
}

#[cfg(not(feature = "fault-injection"))]
mod switches {
    pub fn dropping_book_events() -> bool {
        false
    }

    pub fn book_journal_delay() -> Option<std::time::Duration> {
        None
    }
}

pub use switches::*;

#[cfg(feature = "fault-injection")]
pub use crate::book::actor::StallBook;
