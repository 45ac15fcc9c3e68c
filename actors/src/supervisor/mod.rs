//! Liveness of the actors (DESIGN.md invariants 6-7): heartbeats they report, the directory
//! callers find them in, and the [`Supervisor`] that replaces a failed or stalled book with a
//! fresh one rebuilt from the journal under a new epoch.

mod actor;
mod directory;
mod heartbeat;

pub use actor::{
    BookSpec, GetSupervisorReport, RestartReason, Supervisor, SupervisorReport, SupervisorSettings,
};
pub use directory::BookDirectory;
pub use heartbeat::{Heartbeat, HeartbeatReading};
