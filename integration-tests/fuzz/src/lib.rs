//! The bodies of the fuzz targets, one module each, over the exchange's own parsing and
//! checking functions (nothing here re-implements them): each `run(data)` must never panic,
//! whatever `data` is, and asserts the properties its module documents.
//!
//! - `order_params`: `POST /api/v3/order` parameters (query string and form or JSON body) ->
//!   the shard's place request, checked against the default configuration's symbols.
//! - `signature`: which bytes a REST signature covers and its HMAC-SHA256 verification.
//! - `market_stream`: a market-stream connection's URL and client frames into the pure
//!   session state (`SessionState`), with hub pushes and frame writes in between.
//! - `ws_api`: `/ws-api/v3` request envelopes, their JSON signatures and the order
//!   parameters they carry, into the pure API session state (`ApiSessionState`).
//!
//! Inputs are byte strings split on NUL into fields (`fields.rs`), so the committed seeds are
//! real requests, readable as text. The fuzz crate builds these modules as its library;
//! `integration-tests/tests/fuzz_corpus.rs` includes the same files to replay the corpus.

pub mod fields;
pub mod fixture;
pub mod market_stream;
pub mod order_params;
pub mod signature;
pub mod ws_api;

/// A target: its name (its directory under `corpus/`) and its body.
pub type Target = (&'static str, fn(&[u8]));

pub const TARGETS: [Target; 4] = [
    ("order_params", order_params::run),
    ("signature", signature::run),
    ("market_stream", market_stream::run),
    ("ws_api", ws_api::run),
];
