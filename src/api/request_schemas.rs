//! Request parameters as OpenAPI schemas: the signed routes' bodies, and the parameter sets
//! several routes share. The routes read their parameters by name through
//! [`Params`](super::param_set::Params) (query string, form body or JSON body alike, as
//! Binance does), so these types only describe them for the document; the names are
//! Binance's. Decimals are strings.

use serde::Serialize;
use utoipa::{IntoParams, ToSchema};

/// `timestamp` and `recvWindow`, which every signed request carries besides its own.
#[derive(Debug, Serialize, IntoParams, ToSchema)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct SignedFields {
    /// The client's time of the request, ms since the epoch; refused (-1021) when more than
    /// 1000 ms ahead of the server's clock or older than `recvWindow`.
    timestamp: u64,
    /// How long after `timestamp` the request stays valid, ms (default 5000, at most 60000).
    recv_window: Option<u64>,
}

/// Which markets a route answers for (exchangeInfo, the tickers).
#[derive(Debug, Serialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MarketSelection {
    /// One market, e.g. BTCUSDT (the tickers answer one object).
    symbol: Option<String>,
    /// Several markets, a JSON array of names: `["BTCUSDT","ETHUSDT"]`; neither: every market.
    symbols: Option<String>,
}

/// The order `GET` and `DELETE /api/v3/order` name: by id or by client id.
#[derive(Debug, Serialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct OrderLookupParams {
    /// The order's market.
    symbol: String,
    /// The order's id (or `origClientOrderId`).
    order_id: Option<u64>,
    /// The order's client id.
    orig_client_order_id: Option<String>,
}

/// A new order's parameters (`POST /api/v3/order`, each entry of `batchOrders`, the new half of
/// `order/cancelReplace`).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewOrderFields {
    /// The market, e.g. BTCUSDT.
    symbol: String,
    /// BUY or SELL.
    side: String,
    /// LIMIT, MARKET or LIMIT_MAKER (post-only: refused with -2010 when it would take).
    #[serde(rename = "type")]
    order_type: String,
    /// GTC, IOC or FOK; required for LIMIT, not sent for LIMIT_MAKER.
    time_in_force: Option<String>,
    /// Base quantity, a multiple of LOT_SIZE's stepSize.
    quantity: Option<String>,
    /// MARKET only, instead of `quantity`: spend (BUY) or receive (SELL) this much quote.
    quote_order_qty: Option<String>,
    /// Limit price, a multiple of PRICE_FILTER's tickSize; not sent for MARKET.
    price: Option<String>,
    /// The client's id of the order, up to 36 characters; a repeat of an open or recent order's
    /// id is refused ("Duplicate order sent.", -2010).
    new_client_order_id: Option<String>,
    /// ACK, RESULT or FULL (default FULL; ACK for LIMIT_MAKER).
    new_order_resp_type: Option<String>,
    /// NONE (default), EXPIRE_TAKER, EXPIRE_MAKER or EXPIRE_BOTH.
    self_trade_prevention_mode: Option<String>,
    /// Extension, perpetuals only (as Binance USD-M futures): `true` = the order may only
    /// reduce the position; refused with -2022 "ReduceOnly Order is rejected." when it would
    /// open, increase or flip it. Default `false`.
    reduce_only: Option<String>,
}

/// `POST /api/v3/order`'s parameters.
#[derive(Debug, Serialize, ToSchema)]
pub struct NewOrderRequest {
    #[serde(flatten)]
    order: NewOrderFields,
    #[serde(flatten)]
    signed: SignedFields,
}

/// `POST /api/v3/order/cancelReplace`'s parameters: the order to cancel and the new order's.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CancelReplaceRequest {
    /// STOP_ON_FAILURE (place only when the cancel succeeded) or ALLOW_FAILURE (place anyway).
    cancel_replace_mode: String,
    /// The order to cancel, by id (or `cancelOrigClientOrderId`).
    cancel_order_id: Option<u64>,
    /// The order to cancel, by client id.
    cancel_orig_client_order_id: Option<String>,
    /// ONLY_NEW or ONLY_PARTIALLY_FILLED: cancel only an order in that state.
    cancel_restrictions: Option<String>,
    #[serde(flatten)]
    order: NewOrderFields,
    #[serde(flatten)]
    signed: SignedFields,
}

/// `PUT /api/v3/order/amend/keepPriority`'s parameters.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AmendKeepPriorityRequest {
    /// The order's market.
    symbol: String,
    /// The order's id (or `origClientOrderId`).
    order_id: Option<u64>,
    /// The order's client id.
    orig_client_order_id: Option<String>,
    /// The order's new quantity: above what is executed, below its quantity now.
    new_qty: String,
    #[serde(flatten)]
    signed: SignedFields,
}

/// `POST /api/v3/batchOrders`'s parameters.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BatchPlaceRequest {
    /// A JSON array of 1 to 100 order objects with `POST /api/v3/order`'s parameters; in a
    /// JSON body the array itself, in a form body its text.
    #[schema(value_type = Vec<NewOrderFields>)]
    batch_orders: String,
    #[serde(flatten)]
    signed: SignedFields,
}

/// `DELETE /api/v3/batchOrders`'s parameters.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BatchCancelRequest {
    /// The market, e.g. BTCUSDT.
    symbol: String,
    /// A JSON array of 1 to 10,000 order ids (numbers or digit strings) of this market.
    order_ids: Vec<u64>,
    #[serde(flatten)]
    signed: SignedFields,
}
