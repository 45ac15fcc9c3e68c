//! The WebSocket API, `/ws-api/v3`: signed requests answered as the REST routes answer them
//! (`crate::api::call`), and the user data stream (`executionReport`,
//! `outboundAccountPosition`, `balanceUpdate`) pushed from the account shards' commits through
//! the [`UserDataHub`]. Each connection is a [`WsApiSession`] actor. Every request is weighed
//! against the REST limiter's budgets (`crate::api::rate_limit`), as Binance weighs each one.

mod envelope;
mod session;

use std::sync::Arc;

use actix::Addr;
use actix_web::{HttpRequest, HttpResponse, web};
use exchange_actors::session::UserDataHub;

pub use envelope::{SUBSCRIPTION_ID, WsRequest, parse_request};
pub use session::WsApiSession;

use super::{ActixSink, inbound_frames};
use crate::api::rate_limit::RateLimiter;
use crate::api::{ApiState, DeadManSwitch, TradingCore, WsServices};

/// Mounts `/ws-api/v3`; the app data must hold [`ApiState`], [`TradingCore`] and the
/// `Arc<UserDataHub>` (as `web::Data<UserDataHub>`) and the `Addr<DeadManSwitch>`.
pub fn configure_ws_api(config: &mut web::ServiceConfig) {
    config.route("/ws-api/v3", web::get().to(ws_api));
}

/// WebSocket API: orders and the user data stream (WebSocket).
///
/// Upgrade to a WebSocket, then send `{"id":..,"method":..,"params":{..}}`; answers are
/// `{"id":..,"status":200,"result":..}` or `{"id":..,"status":4xx,"error":{"code":..,"msg":..}}`
/// with the REST routes' codes. Methods: `order.place`, `order.cancel`, `order.cancelReplace`,
/// `order.status`, `openOrders.status`, `openOrders.cancelAll`,
/// `openOrders.countdownCancelAll` (the dead man's switch), `session.logon`,
/// `session.status`, `session.logout`, `userDataStream.subscribe.signature`,
/// `userDataStream.subscribe`, `userDataStream.unsubscribe`. Signed as Binance's WebSocket
/// API: `apiKey`, `timestamp` (and `recvWindow`) among the params, `signature` the
/// HMAC-SHA256 of the other params sorted by name and joined `k=v&...` without URL encoding.
/// After a subscribe, events come as `{"subscriptionId":0,"event":{..}}`. Extension:
/// `cancelOnDisconnect=true` on `session.logon` or a subscribe cancels every open order of the
/// account when the connection drops.
#[utoipa::path(
    get,
    path = "/ws-api/v3",
    tag = "trading",
    responses(
        (status = 101, description = "Switching Protocols: the WebSocket is open."),
        (status = 400, description = super::HANDSHAKE),
    )
)]
pub(crate) async fn ws_api(
    request: HttpRequest,
    body: web::Payload,
    state: web::Data<ApiState>,
    core: web::Data<TradingCore>,
    hub: web::Data<UserDataHub>,
    dead_man: web::Data<Addr<DeadManSwitch>>,
    limiter: Option<web::Data<RateLimiter>>,
) -> Result<HttpResponse, actix_web::Error> {
    let (response, session, messages) = actix_ws::handle(&request, body)?;
    // The peer address, as the REST limiter reads it.
    let client_ip =
        request.peer_addr().map_or_else(|| "unknown".to_owned(), |peer| peer.ip().to_string());
    let services = WsServices { state, core, dead_man, limiter, client_ip: client_ip.into() };
    let hub: Arc<UserDataHub> = hub.into_inner();
    WsApiSession::start(services, hub, Box::new(ActixSink(session)), inbound_frames(messages));
    Ok(response)
}
