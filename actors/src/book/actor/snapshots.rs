//! When a book journals a snapshot: with the batch after which `every_events` events have
//! passed since the last one. Recovery then replays at most about that many events after the
//! newest snapshot. Tools that write a book's journal without the actor (the recovery bench's
//! journal builder) use the same schedule, so their journal looks like the actor's.

use crate::book::MatchingEngine;
use crate::ports::StoredBookSnapshot;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SnapshotSchedule {
    every_events: u64,
    last_snapshot_event_seq: u64,
}

impl SnapshotSchedule {
    /// A schedule counting from `engine`'s last event (a recovered book counts from where its
    /// journal ends).
    pub fn new(every_events: u64, engine: &MatchingEngine) -> SnapshotSchedule {
        SnapshotSchedule { every_events, last_snapshot_event_seq: engine.last_event_seq() }
    }

    /// The snapshot to journal with the batch `engine` has just applied, when one is due.
    pub fn due(&mut self, engine: &MatchingEngine) -> Option<StoredBookSnapshot> {
        let last_event_seq = engine.last_event_seq();
        if last_event_seq - self.last_snapshot_event_seq < self.every_events {
            return None;
        }
        self.last_snapshot_event_seq = last_event_seq;
        let snapshot = engine.snapshot();
        let payload = postcard::to_allocvec(&snapshot).expect("a snapshot always serializes");
        Some(StoredBookSnapshot {
            last_input_seq: snapshot.last_input_seq,
            last_event_seq,
            state_hash: engine.state_hash(),
            payload,
        })
    }
}
