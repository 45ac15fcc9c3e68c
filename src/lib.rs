//! The exchange server: configuration, the adapters that implement the trading core's ports
//! (sea-orm [`store`], in-process [`bus`]), and the wiring the `exchange` binary runs.

pub mod bus;
pub mod config;
pub mod store;
pub mod system;
