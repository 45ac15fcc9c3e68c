//! The end-to-end load generator's parts, shared by the `loadgen` and `chaos` binaries and
//! the chaos test: signed place / cancel / amend (keep priority) / bulk cancel requests over
//! REST and the WebSocket API against a real server on the loopback, open loop at a fixed rate
//! or closed loop flat out, bounded by time or count, with HDR histograms of acknowledgement
//! latency per request kind and refusals counted by code.
//!
//! - `market.rs`: a symbol's filters (from `exchangeInfo`) and valid order shapes (pure);
//! - `workload.rs`: what to send next and what each answer taught (pure);
//! - `client.rs`: the REST and WebSocket API transports, answers as [`Outcome`]s;
//! - `driver.rs`: open and closed loops, bounded; `stats.rs`: histograms and reports;
//! - `setup.rs`: loopback check, markets, funded traders through the admin API.

pub mod client;
pub mod driver;
pub mod market;
pub mod setup;
pub mod stats;
pub mod workload;

pub use client::{OpClient, Outcome, RestClient, Transport};
pub use driver::{Bound, Load, Pace};
pub use market::Market;
pub use setup::{Admin, check_loopback, funded_traders, markets};
pub use stats::{Stats, report_text};
pub use workload::{AckLog, AckedOrder, Mix, Op, OpKind, Workload};
