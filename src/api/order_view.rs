//! An order as Binance renders it (`GET /api/v3/order`, openOrders, the RESULT answer to a new
//! order): the fields ccxt reads, decimals as exact strings, times in ms. Also the enum names
//! (status, side, type, time in force, self-trade prevention) every order payload shares.

use exchange_actors::account::{OrderRecord, OrderStatus};
use exchange_actors::model::{
    OrderQuantity, OrderType, Qty, SelfTradePrevention, Side, TimeInForce,
};
use rust_decimal::Decimal;
use serde::Serialize;
use utoipa::ToSchema;

use super::render;
use super::state::ApiMarket;

const NANOS_PER_MILLI: u64 = 1_000_000;

/// Binance's status name. PENDING (funds held, the book has not answered yet) shows as NEW:
/// Binance has no such state for a single order, and it is live from the client's view.
pub fn status_name(status: OrderStatus) -> &'static str {
    match status {
        OrderStatus::Pending => "NEW",
        other => crate::store::status_name(other),
    }
}

pub fn side_name(side: Side) -> &'static str {
    match side {
        Side::Buy => "BUY",
        Side::Sell => "SELL",
    }
}

pub fn type_name(order_type: OrderType) -> &'static str {
    match order_type {
        OrderType::Limit => "LIMIT",
        OrderType::Market => "MARKET",
        OrderType::LimitMaker => "LIMIT_MAKER",
    }
}

pub fn time_in_force_name(time_in_force: TimeInForce) -> &'static str {
    match time_in_force {
        TimeInForce::Gtc => "GTC",
        TimeInForce::Ioc => "IOC",
        TimeInForce::Fok => "FOK",
    }
}

pub fn self_trade_prevention_name(mode: SelfTradePrevention) -> &'static str {
    match mode {
        SelfTradePrevention::None => "NONE",
        SelfTradePrevention::ExpireTaker => "EXPIRE_TAKER",
        SelfTradePrevention::ExpireMaker => "EXPIRE_MAKER",
        SelfTradePrevention::ExpireBoth => "EXPIRE_BOTH",
    }
}

/// Binance's order object. Never carries `code` (ccxt reads a body with `code` as an error).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderBody {
    pub symbol: String,
    pub order_id: u64,
    pub order_list_id: i64,
    pub client_order_id: String,
    pub price: String,
    pub orig_qty: String,
    pub executed_qty: String,
    pub cummulative_quote_qty: String,
    /// NEW, PARTIALLY_FILLED, FILLED, CANCELED, REJECTED, EXPIRED or EXPIRED_IN_MATCH.
    pub status: &'static str,
    pub time_in_force: &'static str,
    #[serde(rename = "type")]
    pub order_type: &'static str,
    pub side: &'static str,
    pub stop_price: String,
    pub iceberg_qty: String,
    pub time: u64,
    pub update_time: u64,
    pub is_working: bool,
    pub working_time: u64,
    pub orig_quote_order_qty: String,
    pub self_trade_prevention_mode: &'static str,
}

impl OrderBody {
    /// `order` of `market` (the caller looked the market up by `order.symbol`).
    pub fn new(order: &OrderRecord, market: &ApiMarket) -> OrderBody {
        debug_assert_eq!(order.symbol, market.symbol());
        let spec = &market.spec;
        let quote_zero = || render::with_places(Decimal::ZERO, market.quote_precision());
        let (orig_qty, orig_quote) = match order.quantity {
            OrderQuantity::Base(qty) => (render::qty(spec, qty), quote_zero()),
            OrderQuantity::Quote(notional) => {
                (render::qty(spec, Qty::ZERO), render::notional(spec, notional))
            }
        };
        let created_ms = order.created_ts_ns / NANOS_PER_MILLI;
        OrderBody {
            symbol: spec.symbol.clone(),
            order_id: order.order_id.0,
            order_list_id: -1,
            client_order_id: order.client_order_id.to_string(),
            price: order.price.map_or_else(quote_zero, |price| render::price(spec, price)),
            orig_qty,
            executed_qty: render::qty(spec, order.executed_qty),
            cummulative_quote_qty: render::minor_units(
                order.cumulative_quote,
                market.quote_precision(),
            ),
            status: status_name(order.status),
            time_in_force: time_in_force_name(order.time_in_force),
            order_type: type_name(order.order_type),
            side: side_name(order.side),
            stop_price: quote_zero(),
            iceberg_qty: render::qty(spec, Qty::ZERO),
            time: created_ms,
            update_time: order.updated_ts_ns / NANOS_PER_MILLI,
            is_working: !order.status.is_terminal(),
            working_time: created_ms,
            orig_quote_order_qty: orig_quote,
            self_trade_prevention_mode: self_trade_prevention_name(order.self_trade_prevention),
        }
    }
}

#[cfg(test)]
mod tests {
    use exchange_actors::model::{
        AccountId, AssetCode, ClientOrderId, Notional, OrderId, Price, SymbolCode,
    };
    use serde_json::json;

    use super::*;
    use crate::api::testing::markets;

    fn record(quantity: OrderQuantity, price: Option<Price>, status: OrderStatus) -> OrderRecord {
        OrderRecord {
            order_id: OrderId(77),
            account_id: AccountId(1),
            symbol: SymbolCode::new("BTCUSDT").unwrap(),
            client_order_id: ClientOrderId::new("my-1").unwrap(),
            side: Side::Buy,
            order_type: if price.is_some() { OrderType::Limit } else { OrderType::Market },
            time_in_force: if price.is_some() { TimeInForce::Gtc } else { TimeInForce::Ioc },
            self_trade_prevention: SelfTradePrevention::ExpireMaker,
            reduce_only: false,
            price,
            quantity,
            executed_qty: Qty(20_000),
            cumulative_quote: 2_000_200_000,
            status,
            hold_asset: AssetCode::new("USDT").unwrap(),
            hold_remaining: 0,
            hold_subsidized: 0,
            created_ts_ns: 1_700_000_000_123_456_789,
            updated_ts_ns: 1_700_000_001_000_000_000,
        }
    }

    #[test]
    fn limit_order_renders_as_binance() {
        let markets = markets();
        let order = record(
            OrderQuantity::Base(Qty(50_000)),
            Some(Price(10_001)),
            OrderStatus::PartiallyFilled,
        );
        let body = serde_json::to_value(OrderBody::new(&order, markets.get("BTCUSDT").unwrap()));
        assert_eq!(
            body.unwrap(),
            json!({
                "symbol": "BTCUSDT", "orderId": 77, "orderListId": -1, "clientOrderId": "my-1",
                "price": "100.01", "origQty": "0.50000", "executedQty": "0.20000",
                "cummulativeQuoteQty": "20.00200000", "status": "PARTIALLY_FILLED",
                "timeInForce": "GTC", "type": "LIMIT", "side": "BUY",
                "stopPrice": "0.00000000", "icebergQty": "0.00000",
                "time": 1_700_000_000_123_u64, "updateTime": 1_700_000_001_000_u64,
                "isWorking": true, "workingTime": 1_700_000_000_123_u64,
                "origQuoteOrderQty": "0.00000000", "selfTradePreventionMode": "EXPIRE_MAKER"
            })
        );
    }

    #[test]
    fn market_order_by_quote_and_terminal_states() {
        let markets = markets();
        let market = markets.get("BTCUSDT").unwrap();
        let order = record(OrderQuantity::Quote(Notional(100_000_000)), None, OrderStatus::Filled);
        let body = OrderBody::new(&order, market);
        assert_eq!(body.price, "0.00000000");
        assert_eq!(body.orig_qty, "0.00000");
        assert_eq!(body.orig_quote_order_qty, "10.0000000");
        assert_eq!((body.status, body.order_type, body.is_working), ("FILLED", "MARKET", false));
        let pending = record(OrderQuantity::Base(Qty(1)), Some(Price(1)), OrderStatus::Pending);
        assert_eq!(OrderBody::new(&pending, market).status, "NEW");
        let stp = record(OrderQuantity::Base(Qty(1)), Some(Price(1)), OrderStatus::ExpiredInMatch);
        assert_eq!(OrderBody::new(&stp, market).status, "EXPIRED_IN_MATCH");
    }
}
