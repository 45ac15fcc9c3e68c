//! Liveness of the actors (DESIGN.md invariants 6-7): heartbeats they report, the directory
//! callers find them in, and the supervisors that replace a failed or stalled book
//! ([`Supervisor`]) or account shard ([`ShardSupervisor`]) with a fresh one rebuilt from the
//! journal under a new epoch; and the deadlines of the orders' transient states
//! ([`TransientOrders`]), which the account shards enforce.

mod actor;
mod directory;
mod heartbeat;
pub mod metrics;
mod progress;
mod shard_directory;
mod shards;
mod transient;

pub use actor::{
    AddBook, BookSpec, GetSupervisorReport, RestartReason, Supervisor, SupervisorReport,
    SupervisorSettings,
};
pub use directory::BookDirectory;
pub use heartbeat::{Heartbeat, HeartbeatReading};
pub use progress::{
    GetAppliedSeqs, GetBookProgress, GetShardProgress, consumer_lag_events, settlement_lag_events,
};
pub use shard_directory::ShardDirectory;
pub use shards::{AddShardMarket, GetShardRestarts, ShardSupervisor};
pub use transient::{Deadlines, Left, Overdue, TrackerFull, TransientOrders, TransientState};
