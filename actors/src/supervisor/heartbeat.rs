//! A lock-free heartbeat an actor updates and its supervisor reads: when it last made progress,
//! how far it got, how much waits for it, and its slowest handler since the last look.

use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Default)]
pub struct Heartbeat {
    beat_at_ns: AtomicU64,
    last_seq: AtomicU64,
    queue_depth: AtomicU64,
    handler_ns_max: AtomicU64,
}

/// One reading of a [`Heartbeat`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HeartbeatReading {
    pub beat_at_ns: u64,
    pub last_seq: u64,
    pub queue_depth: u64,
    /// The longest handler since the previous reading.
    pub handler_ns_max: u64,
}

impl Heartbeat {
    /// The actor is alive at `now_ns`, has processed up to `last_seq`, has `queue_depth` waiting.
    pub fn beat(&self, now_ns: u64, last_seq: u64, queue_depth: usize) {
        self.last_seq.store(last_seq, Ordering::Relaxed);
        self.queue_depth.store(u64::try_from(queue_depth).unwrap_or(u64::MAX), Ordering::Relaxed);
        self.beat_at_ns.store(now_ns, Ordering::Release);
    }

    /// A handler took `handler_ns`.
    pub fn record_handler(&self, handler_ns: u64) {
        self.handler_ns_max.fetch_max(handler_ns, Ordering::Relaxed);
    }

    /// How far the actor got, as of its latest beat (leaves the slowest-handler window alone).
    pub fn last_seq(&self) -> u64 {
        self.last_seq.load(Ordering::Relaxed)
    }

    /// Reads the heartbeat and restarts the slowest-handler window.
    pub fn read(&self) -> HeartbeatReading {
        HeartbeatReading {
            beat_at_ns: self.beat_at_ns.load(Ordering::Acquire),
            last_seq: self.last_seq.load(Ordering::Relaxed),
            queue_depth: self.queue_depth.load(Ordering::Relaxed),
            handler_ns_max: self.handler_ns_max.swap(0, Ordering::Relaxed),
        }
    }
}
