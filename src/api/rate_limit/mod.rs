//! Rate limits in Binance's manner: request weight per minute per IP and per API key, new
//! orders per 10 s and per day per API key, 429 with `Retry-After` (code -1003, or -1015 for
//! orders) when a limit is reached, a temporary 418 ban for a client that keeps going, and the
//! used weight on every answer (`X-MBX-USED-WEIGHT-1M`).
//!
//! - `weights.rs`: what each route costs (the one table).
//! - `limiter.rs`: [`RateLimiter`] (governor keyed limiters) and [`RateLimitSettings`].
//! - `bans.rs`: [`BanTable`](bans::BanTable), the bounded, expiring bans (pure).
//! - `middleware.rs`: the actix middleware that applies them to every request.
//! - `symbol_limits.rs`: [`SymbolOrderLimits`], the kill switches' per-symbol override.
//! - `ws_api.rs`: each WebSocket API request weighed and admitted against the same budgets.

mod bans;
mod limiter;
mod middleware;
mod symbol_limits;
mod weights;
mod ws_api;

pub use limiter::{RateLimitSettings, RateLimiter, Verdict};
pub use middleware::{
    ORDER_COUNT_1D_HEADER, ORDER_COUNT_10S_HEADER, RATE_LIMITED_TOTAL, USED_WEIGHT_HEADER,
    limit_requests,
};
pub use symbol_limits::SymbolOrderLimits;
pub use weights::{RequestCost, request_weight};
pub use ws_api::{admit_ws_request, ws_request_cost};
