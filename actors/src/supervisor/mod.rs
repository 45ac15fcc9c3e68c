//! Liveness of the actors: heartbeats they report, and (with the actors) restarts of the ones
//! that stop answering, under a new journal epoch.

mod heartbeat;

pub use heartbeat::{Heartbeat, HeartbeatReading};
