//! `exchange-actors`: the trading core of the exchange.
//!
//! - [`model`]: fixed-point numbers, ids, symbol specs, commands and events (pure data).
//! - [`book`]: the matching engine of one symbol (pure) — price-time priority, O(1) cancel,
//!   O(1) best bid/ask, deterministic snapshots.
//! - [`account`]: the pure state of one account shard — double-entry ledger, balances, order
//!   holds, fees and rebates, book events applied exactly once by a per-symbol watermark.
//! - [`market`]: trades with their fees, klines, the rolling ticker and aggregate trades
//!   (pure), and the `MarketData` actor the public market routes query.
//! - [`deadman`]: the countdown cancel-all (dead man's switch) of market makers: armed
//!   deadlines per (account, symbol), refreshed or disarmed by the client, expired by time (pure).
//! - [`faults`]: test-only faults (stall a book, drop book confirmations, slow the journal).
//! - [`session`]: WebSocket market streams — per-session subscriptions and bounded outbound
//!   buffer (pure), the `WsSession` shell, and the `StreamHub` fan-out fed by the bus.
//!
//! Every pure state machine here takes time, ids and sequence numbers as inputs and returns
//! ordered events; the actor shells (added with the actors) journal and publish them. This crate
//! never depends on a database, broker or web framework: those live behind `ports` in the server.

pub mod account;
pub mod book;
pub mod deadman;
pub mod faults;
pub mod market;
pub mod model;
pub mod ports;
pub mod session;
pub mod supervisor;
