//! Request weights in Binance's manner (spot API documentation, 2024): every route costs a
//! weight, some by their parameters (depth by `limit`, tickers and openOrders by whether one
//! symbol is named). The operator's routes (`/admin`), `/metrics` and the API reference are not
//! weighed: the operator must never be locked out by a client's flood.

use actix_web::http::Method;

/// Weight of a route not in the table below (the WebSocket upgrades, for instance).
pub const WEIGHT_DEFAULT: u32 = 1;

/// What a request costs, `None` for a route that is not limited. Also whether it places
/// orders (counted against the order-count limits).
pub fn request_weight(method: &Method, path: &str, query: &str) -> Option<RequestCost> {
    if path.starts_with("/admin") || matches!(path, "/metrics" | "/openapi.json" | "/docs") {
        return None;
    }
    let has_symbol = query_has(query, "symbol");
    let places_orders = *method == Method::POST
        && matches!(path, "/api/v3/order" | "/api/v3/batchOrders" | "/api/v3/order/cancelReplace");
    let weight = match (method.as_str(), path) {
        (_, "/api/v3/ping" | "/api/v3/time") => 1,
        (_, "/api/v3/exchangeInfo") => 20,
        (_, "/api/v3/depth") => depth_weight(query),
        (_, "/api/v3/trades") => 25,
        (_, "/api/v3/aggTrades") => 4,
        (_, "/api/v3/klines") => 2,
        (_, "/api/v3/ticker/24hr") => {
            if has_symbol {
                2
            } else {
                80
            }
        }
        (_, "/api/v3/ticker/price") => {
            if has_symbol {
                2
            } else {
                4
            }
        }
        ("POST" | "DELETE", "/api/v3/order") => 1,
        ("GET", "/api/v3/order") => 4,
        ("GET", "/api/v3/openOrders") => {
            if has_symbol {
                6
            } else {
                80
            }
        }
        ("DELETE", "/api/v3/openOrders") => 1,
        (_, "/api/v3/allOrders" | "/api/v3/myTrades" | "/api/v3/account") => 20,
        (_, "/api/v3/order/cancelReplace") => 1,
        // Extensions: a batch costs what its orders would (at most 5 a batch on average).
        (_, "/api/v3/batchOrders") => 5,
        (_, "/api/v3/countdownCancelAll") => 1,
        _ => WEIGHT_DEFAULT,
    };
    Some(RequestCost { weight, places_orders })
}

/// A request's weight and whether it counts as a new order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestCost {
    pub weight: u32,
    pub places_orders: bool,
}

/// Binance's depth weights by `limit` (default 100).
fn depth_weight(query: &str) -> u32 {
    let limit: u32 = query_value(query, "limit").and_then(|text| text.parse().ok()).unwrap_or(100);
    match limit {
        0..=100 => 5,
        101..=500 => 25,
        501..=1_000 => 50,
        _ => 250,
    }
}

fn query_value<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    query.split('&').find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
}

fn query_has(query: &str, name: &str) -> bool {
    query_value(query, name).is_some_and(|value| !value.is_empty())
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    #[rstest]
    #[case::ping(Method::GET, "/api/v3/ping", "", 1)]
    #[case::info(Method::GET, "/api/v3/exchangeInfo", "", 20)]
    #[case::depth_default(Method::GET, "/api/v3/depth", "symbol=BTCUSDT", 5)]
    #[case::depth_500(Method::GET, "/api/v3/depth", "symbol=BTCUSDT&limit=500", 25)]
    #[case::depth_5000(Method::GET, "/api/v3/depth", "symbol=BTCUSDT&limit=5000", 250)]
    #[case::ticker_one(Method::GET, "/api/v3/ticker/24hr", "symbol=BTCUSDT", 2)]
    #[case::ticker_all(Method::GET, "/api/v3/ticker/24hr", "", 80)]
    #[case::order(Method::POST, "/api/v3/order", "", 1)]
    #[case::query(Method::GET, "/api/v3/order", "symbol=BTCUSDT&orderId=1", 4)]
    #[case::open_one(Method::GET, "/api/v3/openOrders", "symbol=BTCUSDT", 6)]
    #[case::open_all(Method::GET, "/api/v3/openOrders", "timestamp=1", 80)]
    #[case::account(Method::GET, "/api/v3/account", "", 20)]
    #[case::unknown(Method::GET, "/ws", "", 1)]
    fn weights_follow_binance(
        #[case] method: Method,
        #[case] path: &str,
        #[case] query: &str,
        #[case] weight: u32,
    ) {
        assert_eq!(request_weight(&method, path, query).map(|cost| cost.weight), Some(weight));
    }

    #[test]
    fn operator_routes_are_not_limited_and_only_new_orders_count_as_orders() {
        assert_eq!(request_weight(&Method::PUT, "/admin/switches", ""), None);
        assert_eq!(request_weight(&Method::GET, "/metrics", ""), None);
        let placing = |method: Method, path| {
            request_weight(&method, path, "").is_some_and(|cost| cost.places_orders)
        };
        assert!(placing(Method::POST, "/api/v3/order"));
        assert!(placing(Method::POST, "/api/v3/batchOrders"));
        assert!(!placing(Method::DELETE, "/api/v3/order"));
        assert!(!placing(Method::GET, "/api/v3/order"));
    }
}
