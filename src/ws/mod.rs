//! The WebSocket gateway for market streams: `/ws`, `/ws/<anything>` (raw frames; a path
//! segment that names a stream is subscribed, another such as ccxt's `/ws/0` is ignored) and
//! `/stream?streams=a/b` (frames wrapped as `{"stream":..,"data":..}`). Each connection is a
//! [`WsSession`] actor over actix-ws; the [`StreamHub`] fans the market out to them.
//!
//! Limits: client frames of at most [`REQUEST_LEN_MAX`] bytes; at most
//! [`STREAMS_PER_SESSION_MAX`] streams in a URL (and per connection).

pub mod api;
mod render;

use actix::Addr;
use actix_web::{HttpRequest, HttpResponse, web};
use actix_ws::{CloseCode, CloseReason, Message};
use exchange_actors::session::{
    FrameSink, Inbound, LocalFuture, REQUEST_LEN_MAX, STREAMS_PER_SESSION_MAX, SinkClosed,
    StreamHub, StreamName, WsSession,
};
use futures_util::StreamExt as _;
use serde_json::json;

pub use render::SpecRenderer;

/// Mounts the stream routes; the app data must hold the hub's `Addr<StreamHub>`.
pub fn configure_streams(config: &mut web::ServiceConfig) {
    config
        .route("/ws", web::get().to(raw_root))
        .route("/ws/{path}", web::get().to(raw))
        .route("/stream", web::get().to(combined));
}

pub(crate) const HANDSHAKE: &str =
    "Not a WebSocket handshake (the upgrade headers are missing or wrong).";

/// Market streams, raw frames (WebSocket).
///
/// Upgrade to a WebSocket, then `{"method":"SUBSCRIBE","params":["btcusdt@depth"],"id":1}`
/// (answered `{"result":null,"id":1}`), `UNSUBSCRIBE`, `LIST_SUBSCRIPTIONS`. Streams:
/// `<symbol>@depth`, `@depth@100ms`, `@depth5|10|20[@100ms]`, `@trade`, `@aggTrade`,
/// `@bookTicker`, `@ticker`, `@kline_1m`. Frames are the streams' payloads.
#[utoipa::path(
    get,
    path = "/ws",
    tag = "market",
    responses(
        (status = 101, description = "Switching Protocols: the WebSocket is open."),
        (status = 400, description = HANDSHAKE),
    )
)]
pub(crate) async fn raw_root(
    request: HttpRequest,
    body: web::Payload,
    hub: web::Data<Addr<StreamHub>>,
) -> Result<HttpResponse, actix_web::Error> {
    open(&request, body, &hub, false, Vec::new())
}

/// Market streams, raw frames, with one stream named in the path (WebSocket).
///
/// As `/ws`; a path segment that is a stream name (`/ws/btcusdt@trade`) is subscribed at
/// once, any other (ccxt's `/ws/0`, `/ws/1`, ...) is ignored.
#[utoipa::path(
    get,
    path = "/ws/{path}",
    tag = "market",
    params(("path" = String, Path, description = "A stream name, or anything.")),
    responses(
        (status = 101, description = "Switching Protocols: the WebSocket is open."),
        (status = 400, description = HANDSHAKE),
    )
)]
pub(crate) async fn raw(
    request: HttpRequest,
    body: web::Payload,
    hub: web::Data<Addr<StreamHub>>,
) -> Result<HttpResponse, actix_web::Error> {
    let path = request.match_info().get("path").unwrap_or("");
    let streams = StreamName::parse(path).ok().into_iter().collect();
    open(&request, body, &hub, false, streams)
}

/// Combined market streams (WebSocket).
///
/// As `/ws`, subscribed at once to `streams` (names joined by `/`); every frame is
/// `{"stream":"<name>","data":<payload>}`.
#[utoipa::path(
    get,
    path = "/stream",
    tag = "market",
    params(("streams" = Option<String>, Query,
        description = "Stream names joined by `/`, e.g. `btcusdt@trade/btcusdt@depth`.")),
    responses(
        (status = 101, description = "Switching Protocols: the WebSocket is open."),
        (status = 400, description = "A stream name is invalid, there are more than 1,024, or \
            the request is not a WebSocket handshake.", body = crate::api::openapi::ErrorBody),
    )
)]
pub(crate) async fn combined(
    request: HttpRequest,
    body: web::Payload,
    hub: web::Data<Addr<StreamHub>>,
) -> Result<HttpResponse, actix_web::Error> {
    let streams = match combined_streams(request.query_string()) {
        Ok(streams) => streams,
        Err(msg) => {
            return Ok(HttpResponse::BadRequest().json(json!({ "code": -1100, "msg": msg })));
        }
    };
    open(&request, body, &hub, true, streams)
}

/// The streams a `/stream` query names (`streams=a/b`, at most [`STREAMS_PER_SESSION_MAX`]),
/// or why the connection is refused (the 400 answer's message).
pub fn combined_streams(query: &str) -> Result<Vec<StreamName>, String> {
    let query: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
    let names = query.iter().find(|(key, _)| key == "streams").map_or("", |(_, v)| v.as_str());
    let mut streams = Vec::new();
    for name in names.split('/').filter(|name| !name.is_empty()) {
        streams.push(StreamName::parse(name).map_err(|error| error.to_string())?);
    }
    if streams.len() > STREAMS_PER_SESSION_MAX {
        return Err(format!("too many streams: at most {STREAMS_PER_SESSION_MAX} per connection"));
    }
    Ok(streams)
}

fn open(
    request: &HttpRequest,
    body: web::Payload,
    hub: &Addr<StreamHub>,
    combined: bool,
    streams: Vec<StreamName>,
) -> Result<HttpResponse, actix_web::Error> {
    let (response, session, messages) = actix_ws::handle(request, body)?;
    let inbound = inbound_frames(messages);
    WsSession::start(hub.clone(), Box::new(ActixSink(session)), inbound, combined, streams);
    Ok(response)
}

/// The peer's frames (each at most [`REQUEST_LEN_MAX`] bytes) as the sessions read them.
pub(crate) fn inbound_frames(
    messages: actix_ws::MessageStream,
) -> impl futures_util::Stream<Item = Inbound> + 'static {
    messages.max_frame_size(REQUEST_LEN_MAX).map(|message| match message {
        Ok(Message::Text(text)) => Inbound::Text(text.to_string()),
        Ok(Message::Ping(payload)) => Inbound::Ping(payload.to_vec()),
        Ok(Message::Pong(_)) => Inbound::Pong,
        Ok(Message::Close(_)) => Inbound::Close,
        Ok(Message::Binary(_) | Message::Continuation(_) | Message::Nop) => Inbound::Other,
        Err(error) => Inbound::Error(error.to_string()),
    })
}

/// [`FrameSink`] over an actix-ws session (a bounded channel to the connection's writer).
pub(crate) struct ActixSink(pub(crate) actix_ws::Session);

impl FrameSink for ActixSink {
    fn text(&self, text: String) -> LocalFuture<Result<(), SinkClosed>> {
        let mut session = self.0.clone();
        Box::pin(async move { session.text(text).await.map_err(|_| SinkClosed) })
    }

    fn ping(&self) -> LocalFuture<Result<(), SinkClosed>> {
        let mut session = self.0.clone();
        Box::pin(async move { session.ping(b"").await.map_err(|_| SinkClosed) })
    }

    fn pong(&self, payload: Vec<u8>) -> LocalFuture<Result<(), SinkClosed>> {
        let mut session = self.0.clone();
        Box::pin(async move { session.pong(&payload).await.map_err(|_| SinkClosed) })
    }

    fn close(&self, code: u16, reason: String) -> LocalFuture<()> {
        let session = self.0.clone();
        let reason = CloseReason { code: CloseCode::from(code), description: Some(reason) };
        Box::pin(async move {
            if session.close(Some(reason)).await.is_err() {
                tracing::debug!("websocket already closed");
            }
        })
    }
}
