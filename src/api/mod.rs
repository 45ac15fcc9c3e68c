//! The HTTP front door in Binance spot conventions (`/work/shared/BINANCE_COMPAT.md`), on
//! actix-web. Routes only translate: parameters in, a typed request to an actor, its answer
//! out; the decisions are the core's.
//!
//! Map:
//! - `state.rs`: [`ApiState`] (markets, book directory, API keys, clock), shared by all routes;
//!   [`ApiMarket`], a symbol with its spec and asset precisions.
//! - `errors.rs`: [`ApiError`], `{"code","msg"}` with its status; the one place every core
//!   refusal and auth failure becomes a Binance code.
//! - `signing.rs`: which bytes a signature covers, HMAC-SHA256 verification in constant time,
//!   the timestamp / recvWindow check (pure). `keys.rs`: [`ApiKeyRegistry`], key -> account.
//! - `auth.rs`: [`Authenticated`], the extractor signed routes take.
//! - `param_set.rs`: [`Params`], a request's parameters with Binance's refusals.
//! - `params.rs`: order parameters -> [`PlaceRequest`](exchange_actors::account::PlaceRequest)
//!   and cancel / query lookups, converted exactly by the symbol's spec.
//! - `core.rs`: [`TradingCore`], the shards and admin token for the routes below.
//! - `admin.rs`: `/admin/...` (accounts, deposits, withdrawals). `trading.rs`: signed routes.
//! - `placing.rs`: placing and canceling as the signed routes share them, and their answers.
//! - `rate_limit/`: request weights, per-IP and per-key limits, bans (actix middleware).
//! - `gate.rs`: the kill switches checked where every new order and cancel enters.
//! - `admin_switches.rs`: `/admin/switches` (read and change the kill switches, audited) and
//!   `/admin/audit` (the audit trail); `admin_reconcile.rs`: `GET /admin/reconcile`;
//!   `admin_faults.rs`: `POST /admin/faults/stall-book` (`fault-injection` builds only);
//!   `admin_corrections.rs`: `POST /admin/corrections` (ledger repairs by appending only).
//! - `all_orders.rs` (history: the journal merged with the shard's memory),
//!   `cancel_replace.rs`, `batch_orders.rs` (bulk place and bulk cancel extensions).
//! - `countdown.rs`: `POST /api/v3/countdownCancelAll`, the dead man's switch; `dead_man.rs`:
//!   [`DeadManSwitch`], its actor (the pure table is `exchange_actors::deadman`).
//! - `market.rs`, `exchange_info.rs`: the public routes. `render.rs`: exact decimal strings.
//! - `metrics.rs`: the auth-failure counter and `GET /metrics` (Prometheus text, histograms
//!   with buckets, process metrics). `health.rs`: `GET /health` (liveness), `GET /ready`
//!   (journal and bus reachable).
//! - `market_data.rs` (trades, aggTrades, klines), `ticker.rs` (ticker/24hr, ticker/price):
//!   public market data from the `MarketData` actor and the history tables; `my_trades.rs`:
//!   signed `myTrades` from the trades table.
//! - `order_view.rs`: [`OrderBody`], an order as Binance renders it, and the enum names.
//! - `openapi.rs`: the OpenAPI document generated from each handler's `#[utoipa::path]`
//!   (`GET /openapi.json`); `reference_page.rs` renders it as HTML (`GET /docs`).
//!
//! Invariants: a request gets a 4xx with a stable code and changes nothing unless every check
//! passed; no client input panics (property-tested); decimals are converted and rendered
//! exactly, never rounded. Limits: [`BODY_BYTES_MAX`], [`PARAMS_MAX`], [`DEPTH_LIMIT_MAX`].

mod admin;
mod admin_corrections;
#[cfg(feature = "fault-injection")]
mod admin_faults;
mod admin_reconcile;
mod admin_switches;
mod admin_symbols;
mod all_orders;
mod amend;
mod auth;
mod batch_orders;
mod cancel_replace;
mod core;
mod countdown;
mod dead_man;
mod errors;
mod exchange_info;
mod gate;
pub mod health;
mod internal_index;
mod keys;
mod market;
mod market_data;
pub mod metrics;
mod my_trades;
pub mod openapi;
mod order_view;
mod param_set;
mod params;
mod placing;
mod positions;
pub mod rate_limit;
mod reference_page;
pub mod render;
mod request_schemas;
mod signing;
mod state;
mod ticker;
mod trading;
mod user_events;
mod ws_methods;

#[cfg(test)]
mod testing;

use actix_web::web;

pub use admin::{ADMIN_TOKEN_HEADER, configure_admin, to_minor_units};
#[cfg(feature = "fault-injection")]
pub use admin_faults::{FaultInjection, STALL_MS_MAX, configure_faults};
pub use auth::{
    API_KEY_HEADER, Authenticated, BODY_BYTES_MAX, SignedRequest, authenticate, authenticate_json,
};
pub use core::TradingCore;
pub use countdown::{CountdownBody, set_countdown};
pub use dead_man::{DeadManSwitch, SetCountdown, TICK as DEAD_MAN_TICK};
pub use errors::{ApiError, INSUFFICIENT_BALANCE_MSG, code};
pub use exchange_info::{ExchangeInfo, Filter, RateLimit, SymbolInfo, exchange_info, symbol_info};
pub use internal_index::{INTERNAL_TOKEN_HEADER, configure_internal_index};
pub use keys::{
    API_KEY_LEN_MAX, API_KEYS_MAX, ApiCredential, ApiKeyRegistry, InMemoryApiKeys, KeyRegistryError,
};
pub use market::{DEPTH_LIMIT_DEFAULT, DEPTH_LIMIT_MAX, DepthBody};
pub use market_data::{
    KLINES_LIMIT_MAX, MarketView, TRADES_LIMIT_MAX, configure_market_data, kline_body,
};
pub use order_view::{
    OrderBody, self_trade_prevention_name, side_name, status_name, time_in_force_name, type_name,
};
pub use param_set::{PARAMS_MAX, Params, parse_decimal, parse_whole};
pub use params::{
    OrderLookup, OrderRef, PlaceParams, ResponseType, market as market_of, order_lookup,
    place_params,
};
pub use signing::{
    AuthError, BodyKind, RECV_WINDOW_DEFAULT_MS, RECV_WINDOW_MAX_MS, SignedPayload,
    check_timestamp, sign, signed_payload, verify,
};
pub use state::{ApiMarket, ApiMarkets, ApiState, SharedMarkets};
pub use ticker::{Ticker24hr, ticker_body};
pub use trading::{cancel_account_orders, configure_trading};
pub use user_events::user_events;
pub use ws_methods::{SessionAuth, SessionEffect, WsError, WsServices, call};

/// Mounts the public market routes (`/api/v3/ping`, `time`, `exchangeInfo`, `depth`) and
/// `state` as app data (signed routes' [`Authenticated`] reads the same state).
pub fn configure_public(config: &mut web::ServiceConfig, state: web::Data<ApiState>) {
    config
        .app_data(state)
        .route("/api/v3/ping", web::get().to(market::ping))
        .route("/api/v3/time", web::get().to(market::time))
        .route("/api/v3/exchangeInfo", web::get().to(market::exchange_info))
        .route("/api/v3/depth", web::get().to(market::depth));
}
