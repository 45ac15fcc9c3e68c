//! The exchange server: configuration, the adapters that implement the trading core's ports
//! (sea-orm [`store`], in-process [`bus`]), the HTTP front door ([`api`], assembled by [`app`]), and the wiring the
//! `exchange` binary runs.

pub mod api;
pub mod app;
pub mod bus;
pub mod config;
pub mod control;
pub mod history;
pub mod index;
pub mod listing;
pub mod observe;
pub mod perpetuals;
pub mod profile;
pub mod safety_metrics;
pub mod server;
pub mod settings;
pub mod store;
pub mod supervision;
pub mod system;
pub mod ws;
