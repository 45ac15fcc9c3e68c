//! The WebSocket API's requests against the same budgets as REST: each request is weighed as
//! the REST route it stands for (`order.place` as `POST /api/v3/order`, and so on; the session
//! methods 2, as on Binance), counted against the connection's IP and, when it names a
//! registered API key (its `apiKey`, or the key of the session's logon), that key's budget,
//! and new orders against the key's order counts. A refusal is Binance's WebSocket API
//! error: status 429 (418 when banned), `{"code":-1003|-1015,"msg":..,"data":{"serverTime",
//! "retryAfter"}}` with `retryAfter` the time (ms) from which the request may be sent again.

use actix_web::http::Method;
use serde_json::{Map, Value, json};

use super::limiter::{RateLimiter, Verdict};
use super::middleware::RATE_LIMITED_TOTAL;
use super::weights::{RequestCost, WEIGHT_DEFAULT, request_weight};
use crate::api::WsError;

/// `session.*` and `userDataStream.*` (Binance's weight for them).
pub const SESSION_METHOD_WEIGHT: u32 = 2;

/// The REST route a WebSocket API method answers as.
fn rest_route(method: &str) -> Option<(Method, &'static str)> {
    let route = match method {
        "order.place" => (Method::POST, "/api/v3/order"),
        "order.cancel" => (Method::DELETE, "/api/v3/order"),
        "order.status" => (Method::GET, "/api/v3/order"),
        "order.cancelReplace" => (Method::POST, "/api/v3/order/cancelReplace"),
        "order.amend.keepPriority" => (Method::PUT, "/api/v3/order/amend/keepPriority"),
        "openOrders.status" => (Method::GET, "/api/v3/openOrders"),
        "openOrders.cancelAll" => (Method::DELETE, "/api/v3/openOrders"),
        "openOrders.countdownCancelAll" => (Method::POST, "/api/v3/countdownCancelAll"),
        _ => return None,
    };
    Some(route)
}

/// What `method` with `params` costs: its REST route's weight (by whether a symbol is named)
/// and whether it places orders.
pub fn ws_request_cost(method: &str, params: &Map<String, Value>) -> RequestCost {
    let Some((rest_method, path)) = rest_route(method) else {
        let session = method.starts_with("session.") || method.starts_with("userDataStream.");
        let weight = if session { SESSION_METHOD_WEIGHT } else { WEIGHT_DEFAULT };
        return RequestCost { weight, places_orders: false };
    };
    let has_symbol = params.get("symbol").is_some_and(|symbol| match symbol {
        Value::String(text) => !text.is_empty(),
        Value::Null => false,
        _ => true,
    });
    let query = if has_symbol { "symbol=1" } else { "" };
    request_weight(&rest_method, path, query)
        .unwrap_or(RequestCost { weight: WEIGHT_DEFAULT, places_orders: false })
}

/// Admits a request of `cost` from `ip` (and `api_key`, when registered), or the refusal to
/// answer with, at `now_ms`.
pub fn admit_ws_request(
    limiter: &RateLimiter,
    ip: &str,
    api_key: Option<&str>,
    cost: RequestCost,
    now_ms: u64,
) -> Result<(), WsError> {
    let (status, retry_after_s, code, msg) = match limiter.admit(ip, api_key, cost) {
        Verdict::Admitted { .. } => return Ok(()),
        Verdict::Limited { retry_after_s, code, msg, .. } => (429, retry_after_s, code, msg),
        Verdict::Banned { retry_after_s, msg } => (418, retry_after_s, -1003, msg),
    };
    metrics::counter!(RATE_LIMITED_TOTAL, "status" => status.to_string()).increment(1);
    let retry_after_ms = now_ms.saturating_add(u64::from(retry_after_s) * 1_000);
    Err(WsError {
        status,
        error: json!({
            "code": code,
            "msg": msg,
            "data": { "serverTime": now_ms, "retryAfter": retry_after_ms },
        }),
    })
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;

    use rstest::rstest;

    use super::*;
    use crate::api::rate_limit::RateLimitSettings;

    fn params(pairs: Value) -> Map<String, Value> {
        pairs.as_object().cloned().unwrap_or_default()
    }

    #[rstest]
    #[case::place("order.place", json!({"symbol": "BTCUSDT"}), 1, true)]
    #[case::cancel("order.cancel", json!({"symbol": "BTCUSDT"}), 1, false)]
    #[case::status("order.status", json!({"symbol": "BTCUSDT"}), 4, false)]
    #[case::replace("order.cancelReplace", json!({"symbol": "BTCUSDT"}), 1, true)]
    #[case::open_one("openOrders.status", json!({"symbol": "BTCUSDT"}), 6, false)]
    #[case::open_all("openOrders.status", json!({}), 80, false)]
    #[case::logon("session.logon", json!({}), 2, false)]
    #[case::subscribe("userDataStream.subscribe", json!({}), 2, false)]
    #[case::unknown("no.such", json!({}), 1, false)]
    fn methods_weigh_as_their_rest_routes(
        #[case] method: &str,
        #[case] given: Value,
        #[case] weight: u32,
        #[case] places_orders: bool,
    ) {
        let cost = ws_request_cost(method, &params(given));
        assert_eq!(cost, RequestCost { weight, places_orders });
    }

    #[test]
    fn a_refusal_is_binances_websocket_error_with_retry_after() {
        let settings = RateLimitSettings {
            ip_weight_per_minute: NonZeroU32::new(5).unwrap(),
            ..RateLimitSettings::default()
        };
        let limiter = RateLimiter::new(settings);
        let cost = ws_request_cost("order.status", &params(json!({"symbol": "BTCUSDT"})));
        assert!(admit_ws_request(&limiter, "10.0.0.1", None, cost, 1_000).is_ok());
        let refused = admit_ws_request(&limiter, "10.0.0.1", None, cost, 1_000).unwrap_err();
        assert_eq!(refused.status, 429);
        assert_eq!(refused.error["code"], -1003);
        assert_eq!(refused.error["data"]["serverTime"], 1_000);
        let retry_after = refused.error["data"]["retryAfter"].as_u64().unwrap();
        assert!((2_000..=61_000).contains(&retry_after), "{retry_after}");
        // Another IP has its own budget.
        let light = ws_request_cost("order.cancel", &params(json!({"symbol": "BTCUSDT"})));
        assert!(admit_ws_request(&limiter, "10.0.0.2", None, light, 1_000).is_ok());
    }
}
