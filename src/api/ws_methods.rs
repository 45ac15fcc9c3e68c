//! The WebSocket API's methods (`/ws-api/v3`), over the same functions as their REST routes,
//! so both answer with the same results and the same error codes:
//!
//! | method | REST equivalent |
//! |---|---|
//! | `order.place` | `POST /api/v3/order` |
//! | `order.cancel` | `DELETE /api/v3/order` |
//! | `order.cancelReplace` | `POST /api/v3/order/cancelReplace` |
//! | `order.status` | `GET /api/v3/order` |
//! | `openOrders.status` | `GET /api/v3/openOrders` |
//! | `openOrders.cancelAll` | `DELETE /api/v3/openOrders` |
//! | `order.amend.keepPriority` | `PUT /api/v3/order/amend/keepPriority` |
//! | `openOrders.countdownCancelAll` | `POST /api/v3/countdownCancelAll` (extension) |
//!
//! plus `session.logon` / `session.logout` / `session.status`, `userDataStream.subscribe
//! .signature`, `userDataStream.subscribe` (after a logon) and `userDataStream.unsubscribe`.
//! Every request is signed as Binance's WebSocket API signs (see [`authenticate_json`]), or
//! unsigned after a `session.logon`. Extension: `cancelOnDisconnect=true` on a logon or a
//! subscribe asks that every open order of the account be canceled when the connection drops.

use std::sync::Arc;

use actix::Addr;
use actix_web::http::StatusCode;
use actix_web::web;
use exchange_actors::model::AccountId;
use serde_json::{Map, Value, json};

use super::amend::amend_keep_priority_of;
use super::auth::authenticate_json;
use super::cancel_replace::cancel_replace_order;
use super::core::TradingCore;
use super::countdown::set_countdown;
use super::dead_man::DeadManSwitch;
use super::errors::{ApiError, code};
use super::param_set::Params;
use super::rate_limit::{RateLimiter, admit_ws_request, ws_request_cost};
use super::state::ApiState;
use super::trading::{
    cancel_open_orders_of, cancel_order, open_orders_of, place_order, query_order,
};

/// What a WebSocket API session needs (cheap to clone).
#[derive(Clone, Debug)]
pub struct WsServices {
    pub state: web::Data<ApiState>,
    pub core: web::Data<TradingCore>,
    pub dead_man: web::Data<Addr<DeadManSwitch>>,
    /// The REST routes' limiter (none where no limits are mounted) and the peer's IP.
    pub limiter: Option<web::Data<RateLimiter>>,
    pub client_ip: Arc<str>,
}

impl WsServices {
    /// Weighs `method` against the connection's IP and `api_key`'s budgets (a key that is not
    /// registered has none); the refusal to answer with, if any.
    pub fn admit(
        &self,
        method: &str,
        params: &Map<String, Value>,
        api_key: Option<&str>,
    ) -> Result<(), WsError> {
        let Some(limiter) = &self.limiter else { return Ok(()) };
        let registered = api_key.filter(|key| self.state.keys.lookup(key).is_some());
        let cost = ws_request_cost(method, params);
        admit_ws_request(limiter, &self.client_ip, registered, cost, self.state.now_ms())
    }
}

/// What a method changes in the session besides its answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionEffect {
    None,
    /// Later requests may be unsigned; they act for this account.
    Logon {
        account_id: AccountId,
        cancel_on_disconnect: bool,
    },
    Logout,
    /// Push this account's user data from now on.
    Subscribe {
        account_id: AccountId,
        cancel_on_disconnect: bool,
    },
    Unsubscribe,
}

/// A refusal as the WebSocket API answers it: the status and `{code, msg[, data]}`.
#[derive(Clone, Debug, PartialEq)]
pub struct WsError {
    pub status: u16,
    pub error: Value,
}

impl From<ApiError> for WsError {
    fn from(error: ApiError) -> WsError {
        WsError {
            status: error.status().as_u16(),
            error: json!({ "code": error.code(), "msg": error.msg() }),
        }
    }
}

/// The session's authentication as a method sees it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SessionAuth {
    pub logged_on: Option<AccountId>,
    pub subscribed: bool,
}

/// Runs `method` with `params`; the answer's `result` and what it changes in the session.
pub async fn call(
    services: &WsServices,
    auth: SessionAuth,
    method: &str,
    params: Map<String, Value>,
) -> Result<(Value, SessionEffect), WsError> {
    let state = services.state.as_ref();
    let core = services.core.as_ref();
    match method {
        "session.logon" => {
            let signed = authenticate_json(state, params)?;
            let cancel_on_disconnect = cancel_on_disconnect(&signed.params)?;
            let account_id = signed.account_id;
            let result = session_status(state, Some(account_id), auth.subscribed);
            Ok((result, SessionEffect::Logon { account_id, cancel_on_disconnect }))
        }
        "session.status" => {
            Ok((session_status(state, auth.logged_on, auth.subscribed), SessionEffect::None))
        }
        "session.logout" => {
            Ok((session_status(state, None, auth.subscribed), SessionEffect::Logout))
        }
        "userDataStream.subscribe.signature" => {
            let signed = authenticate_json(state, params)?;
            let cancel_on_disconnect = cancel_on_disconnect(&signed.params)?;
            let effect =
                SessionEffect::Subscribe { account_id: signed.account_id, cancel_on_disconnect };
            Ok((json!({ "subscriptionId": 0 }), effect))
        }
        "userDataStream.subscribe" => {
            let account_id = auth.logged_on.ok_or_else(not_logged_on)?;
            let params = Params::from_json_object(params)?;
            let cancel_on_disconnect = cancel_on_disconnect(&params)?;
            let effect = SessionEffect::Subscribe { account_id, cancel_on_disconnect };
            Ok((json!({ "subscriptionId": 0 }), effect))
        }
        "userDataStream.unsubscribe" => Ok((json!({}), SessionEffect::Unsubscribe)),
        "openOrders.countdownCancelAll" => {
            let (account_id, params) = authorize(state, auth, params)?;
            let set = set_countdown(state, &services.dead_man, account_id, &params).await;
            Ok((json_of(set)?, SessionEffect::None))
        }
        _ => {
            let (account_id, params) = authorize(state, auth, params)?;
            let result = trade(state, core, account_id, method, &params).await?;
            Ok((result, SessionEffect::None))
        }
    }
}

/// The order methods, each the REST route's function.
async fn trade(
    state: &ApiState,
    core: &TradingCore,
    account_id: AccountId,
    method: &str,
    params: &Params,
) -> Result<Value, WsError> {
    match method {
        "order.place" => Ok(place_order(state, core, account_id, params).await?),
        "order.cancel" => Ok(cancel_order(state, core, account_id, params).await?),
        "order.status" => json_of(query_order(state, core, account_id, params).await),
        "openOrders.status" => json_of(open_orders_of(state, core, account_id, params).await),
        "order.amend.keepPriority" => {
            json_of(amend_keep_priority_of(state, core, account_id, params).await)
        }
        "openOrders.cancelAll" => {
            json_of(cancel_open_orders_of(state, core, account_id, params).await)
        }
        "order.cancelReplace" => {
            let (status, body) = cancel_replace_order(state, core, account_id, params).await?;
            if status == StatusCode::OK {
                return Ok(body);
            }
            Err(WsError { status: status.as_u16(), error: body })
        }
        _ => Err(unknown_method(method).into()),
    }
}

fn json_of<T: serde::Serialize>(value: Result<T, ApiError>) -> Result<Value, WsError> {
    Ok(serde_json::to_value(value?).unwrap_or_default())
}

/// Who a request acts for: its signature's key, or the logged-on account when unsigned.
fn authorize(
    state: &ApiState,
    auth: SessionAuth,
    params: Map<String, Value>,
) -> Result<(AccountId, Params), ApiError> {
    if let Some(account_id) = auth.logged_on
        && !params.contains_key("signature")
    {
        return Ok((account_id, Params::from_json_object(params)?));
    }
    let signed = authenticate_json(state, params)?;
    Ok((signed.account_id, signed.params))
}

/// The extension parameter `cancelOnDisconnect` (`true` or `false`, default false).
fn cancel_on_disconnect(params: &Params) -> Result<bool, ApiError> {
    match params.optional("cancelOnDisconnect")? {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(_) => Err(ApiError::invalid_parameter("cancelOnDisconnect")),
    }
}

fn session_status(state: &ApiState, account: Option<AccountId>, subscribed: bool) -> Value {
    json!({
        "apiKey": Value::Null,
        "authorizedSince": account.map(|_| state.now_ms()),
        "connectedSince": Value::Null,
        "returnRateLimits": false,
        "serverTime": state.now_ms(),
        "userDataStream": subscribed,
    })
}

fn not_logged_on() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        code::REJECTED_MBX_KEY,
        "Invalid API-key, IP, or permissions for action: log on first (session.logon).",
    )
}

fn unknown_method(method: &str) -> ApiError {
    ApiError::bad_request(code::ILLEGAL_CHARS, format!("Unknown method '{method}'."))
}
