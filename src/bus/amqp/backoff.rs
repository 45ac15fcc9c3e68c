//! Reconnect pauses: doubling from [`BACKOFF_FIRST_MS`] up to [`BACKOFF_MAX_MS`], back to the
//! first after a connection that worked. The number of attempts is not bounded on purpose:
//! the journal keeps every event, so the bus retries until the broker returns, and each pause
//! is bounded so it notices promptly.

use std::time::Duration;

pub const BACKOFF_FIRST_MS: u64 = 100;
pub const BACKOFF_MAX_MS: u64 = 5_000;
const _: () = assert!(BACKOFF_FIRST_MS > 0 && BACKOFF_FIRST_MS <= BACKOFF_MAX_MS);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    next_ms: u64,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff { next_ms: BACKOFF_FIRST_MS }
    }
}

impl Backoff {
    /// The pause before the next attempt; each call doubles the following one, up to the cap.
    pub fn next_pause(&mut self) -> Duration {
        let pause_ms = self.next_ms;
        self.next_ms = self.next_ms.saturating_mul(2).min(BACKOFF_MAX_MS);
        Duration::from_millis(pause_ms)
    }

    /// A connection worked: the next failure starts over from the first pause.
    pub fn reset(&mut self) {
        *self = Backoff::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_double_up_to_the_cap_and_reset() {
        let mut backoff = Backoff::default();
        let pauses_ms: Vec<u128> = (0..8).map(|_| backoff.next_pause().as_millis()).collect();
        assert_eq!(pauses_ms, [100, 200, 400, 800, 1_600, 3_200, 5_000, 5_000]);
        backoff.reset();
        assert_eq!(backoff.next_pause(), Duration::from_millis(BACKOFF_FIRST_MS));
    }
}
