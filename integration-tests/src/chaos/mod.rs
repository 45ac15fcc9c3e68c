//! The chaos runner's parts (issue 11), shared by the `chaos` binary and the short chaos test:
//! the real exchange under the load generator's load while faults are injected one at a time,
//! each followed by the wait for `/ready` and the invariant audit.
//!
//! - `faults.rs`: the faults and the seeded plan; `services.rs`: private PostgreSQL and
//!   RabbitMQ (the shared ones serve other tests); `cluster.rs`: the exchange processes;
//! - `audit.rs`: the invariants, checked over the API; `runner.rs`: the run and its summary.

pub mod audit;
pub mod cluster;
pub mod faults;
pub mod runner;
pub mod services;

pub use faults::{Fault, plan};
pub use runner::{ChaosSettings, Summary, run};
