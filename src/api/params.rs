//! Binance order parameters -> the core's typed requests: a new order ([`PlaceParams`],
//! decimals converted exactly to ticks and lots by the symbol's spec, refused with the filter's
//! name otherwise) and a reference to an existing order for cancel and query
//! ([`OrderLookup`]). Every missing or invalid parameter gets Binance's code; nothing here can
//! panic on client input (property-tested).

use exchange_actors::account::PlaceRequest;
use exchange_actors::model::{
    AccountId, ClientOrderId, OrderId, OrderQuantity, OrderType, Price, SelfTradePrevention, Side,
    SymbolSpec, TimeInForce,
};

use super::errors::ApiError;
use super::param_set::Params;
use super::state::{ApiMarket, ApiMarkets};

/// Binance's legal range for a symbol here.
pub const SYMBOL_LEGAL_RANGE: &str = "^[A-Z0-9_]{1,20}$";
/// Binance's legal range for a client order id.
pub const CLIENT_ORDER_ID_LEGAL_RANGE: &str = r"^[\.A-Z\:/a-z0-9_-]{1,36}$";

/// How much the answer to a new order says (`newOrderRespType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResponseType {
    /// Ids and time only.
    Ack,
    /// The order as it stands after matching.
    Result,
    /// The order and its fills.
    Full,
}

/// A new order, ready for the account's shard.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlaceParams {
    pub request: PlaceRequest,
    pub response_type: ResponseType,
}

/// Which order a cancel or query names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderRef {
    Id(OrderId),
    Client(ClientOrderId),
}

impl OrderRef {
    /// As the shard's and the store's lookups take it: (order id, client order id).
    pub fn parts(self) -> (Option<OrderId>, Option<ClientOrderId>) {
        match self {
            OrderRef::Id(id) => (Some(id), None),
            OrderRef::Client(client) => (None, Some(client)),
        }
    }
}

/// A cancel or query of one order of one symbol.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderLookup<'a> {
    pub market: &'a ApiMarket,
    pub order: OrderRef,
}

/// The market `symbol` names: -1102 when absent, -1100 outside the alphabet, -1121 unknown.
pub fn market<'a>(params: &Params, markets: &'a ApiMarkets) -> Result<&'a ApiMarket, ApiError> {
    let symbol = params.required("symbol")?;
    let well_formed = (1..=20).contains(&symbol.len())
        && symbol.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
    if !well_formed {
        return Err(ApiError::illegal_characters("symbol", SYMBOL_LEGAL_RANGE));
    }
    markets.get(symbol).ok_or_else(ApiError::invalid_symbol)
}

/// A new order of `account_id` from `POST /api/v3/order` parameters, stamped `ts_ns`.
pub fn place_params(
    params: &Params,
    markets: &ApiMarkets,
    account_id: AccountId,
    ts_ns: u64,
) -> Result<PlaceParams, ApiError> {
    let market = market(params, markets)?;
    let spec = &market.spec;
    let side = side(params.required("side")?)?;
    let order_type = order_type(params.required("type")?)?;
    let time_in_force = time_in_force(params, order_type)?;
    let price = price(params, spec, order_type)?;
    let quantity = quantity(params, spec, order_type)?;
    if order_type == OrderType::Market
        && time_in_force == TimeInForce::Fok
        && matches!(quantity, OrderQuantity::Quote(_))
    {
        return Err(ApiError::invalid_time_in_force());
    }
    let client_order_id = match params.optional("newClientOrderId")? {
        None => ClientOrderId::NONE,
        Some(text) => ClientOrderId::new(text).map_err(|_| {
            ApiError::illegal_characters("newClientOrderId", CLIENT_ORDER_ID_LEGAL_RANGE)
        })?,
    };
    let request = PlaceRequest {
        symbol: market.symbol(),
        account_id,
        client_order_id,
        side,
        order_type,
        time_in_force,
        price,
        quantity,
        self_trade_prevention: self_trade_prevention(params)?,
        reduce_only: reduce_only(params)?,
        ts_ns,
    };
    Ok(PlaceParams { request, response_type: response_type(params, order_type)? })
}

/// The order a cancel or query names: `orderId` if sent, else `origClientOrderId`.
pub fn order_lookup<'a>(
    params: &Params,
    markets: &'a ApiMarkets,
) -> Result<OrderLookup<'a>, ApiError> {
    let market = market(params, markets)?;
    let order_id = params.whole("orderId")?;
    let client_order_id = params.optional("origClientOrderId")?;
    let order = match (order_id, client_order_id) {
        (Some(order_id), _) => OrderRef::Id(OrderId(order_id)),
        (None, Some(text)) => OrderRef::Client(ClientOrderId::new(text).map_err(|_| {
            ApiError::illegal_characters("origClientOrderId", CLIENT_ORDER_ID_LEGAL_RANGE)
        })?),
        (None, None) => return Err(ApiError::mandatory_one_of("orderId", "origClientOrderId")),
    };
    Ok(OrderLookup { market, order })
}

/// `reduceOnly` (`true` or `false`, default false; as Binance USD-M futures): a perpetual order
/// that may only reduce the position. A spot order with `true` is refused by its shard.
fn reduce_only(params: &Params) -> Result<bool, ApiError> {
    match params.optional("reduceOnly")? {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(_) => Err(ApiError::invalid_parameter("reduceOnly")),
    }
}

fn side(text: &str) -> Result<Side, ApiError> {
    match text {
        "BUY" => Ok(Side::Buy),
        "SELL" => Ok(Side::Sell),
        _ => Err(ApiError::invalid_side()),
    }
}

fn order_type(text: &str) -> Result<OrderType, ApiError> {
    match text {
        "LIMIT" => Ok(OrderType::Limit),
        "MARKET" => Ok(OrderType::Market),
        "LIMIT_MAKER" => Ok(OrderType::LimitMaker),
        _ => Err(ApiError::invalid_order_type()),
    }
}

/// LIMIT needs one; LIMIT_MAKER is GTC; MARKET is IOC unless FOK is asked for.
fn time_in_force(params: &Params, order_type: OrderType) -> Result<TimeInForce, ApiError> {
    let sent = params.optional("timeInForce")?;
    let parsed = match sent {
        None => None,
        Some("GTC") => Some(TimeInForce::Gtc),
        Some("IOC") => Some(TimeInForce::Ioc),
        Some("FOK") => Some(TimeInForce::Fok),
        Some(_) => return Err(ApiError::invalid_time_in_force()),
    };
    match (order_type, parsed) {
        (OrderType::Limit, None) => Err(ApiError::mandatory("timeInForce")),
        (OrderType::LimitMaker, None | Some(TimeInForce::Gtc)) => Ok(TimeInForce::Gtc),
        (OrderType::Market, None) => Ok(TimeInForce::Ioc),
        (OrderType::Market, Some(TimeInForce::Gtc)) | (OrderType::LimitMaker, Some(_)) => {
            Err(ApiError::invalid_time_in_force())
        }
        (_, Some(time_in_force)) => Ok(time_in_force),
    }
}

fn price(
    params: &Params,
    spec: &SymbolSpec,
    order_type: OrderType,
) -> Result<Option<Price>, ApiError> {
    let price = params.decimal("price")?;
    match (order_type, price) {
        (OrderType::Market, None) => Ok(None),
        (OrderType::Market, Some(_)) => Err(ApiError::not_required("price")),
        (_, None) => Err(ApiError::mandatory("price")),
        (_, Some(price)) => Ok(Some(spec.price_to_ticks(price)?)),
    }
}

/// `quantity` in lots, or (MARKET only) `quoteOrderQty` in notional units; exactly one.
fn quantity(
    params: &Params,
    spec: &SymbolSpec,
    order_type: OrderType,
) -> Result<OrderQuantity, ApiError> {
    let base = params.decimal("quantity")?;
    let quote = params.decimal("quoteOrderQty")?;
    match (order_type, base, quote) {
        (_, Some(qty), None) => Ok(OrderQuantity::Base(spec.qty_to_lots(qty)?)),
        (OrderType::Market, None, Some(amount)) => {
            Ok(OrderQuantity::Quote(spec.quote_to_notional(amount)?))
        }
        (OrderType::Market, Some(_), Some(_)) => Err(ApiError::bad_combination()),
        (OrderType::Market, None, None) => {
            Err(ApiError::mandatory_one_of("quantity", "quoteOrderQty"))
        }
        (_, _, Some(_)) => Err(ApiError::not_required("quoteOrderQty")),
        (_, None, None) => Err(ApiError::mandatory("quantity")),
    }
}

fn self_trade_prevention(params: &Params) -> Result<SelfTradePrevention, ApiError> {
    match params.optional("selfTradePreventionMode")? {
        None | Some("NONE") => Ok(SelfTradePrevention::None),
        Some("EXPIRE_TAKER") => Ok(SelfTradePrevention::ExpireTaker),
        Some("EXPIRE_MAKER") => Ok(SelfTradePrevention::ExpireMaker),
        Some("EXPIRE_BOTH") => Ok(SelfTradePrevention::ExpireBoth),
        Some(_) => Err(ApiError::invalid_parameter("selfTradePreventionMode")),
    }
}

/// Binance's default: FULL for LIMIT and MARKET, ACK otherwise.
fn response_type(params: &Params, order_type: OrderType) -> Result<ResponseType, ApiError> {
    match params.optional("newOrderRespType")? {
        None if order_type == OrderType::LimitMaker => Ok(ResponseType::Ack),
        None | Some("FULL") => Ok(ResponseType::Full),
        Some("ACK") => Ok(ResponseType::Ack),
        Some("RESULT") => Ok(ResponseType::Result),
        Some(_) => Err(ApiError::invalid_parameter("newOrderRespType")),
    }
}

#[cfg(test)]
mod tests;
