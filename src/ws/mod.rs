//! The WebSocket gateway for market streams: `/ws`, `/ws/<anything>` (raw frames; path
//! segments that name streams are subscribed, others such as ccxt's `/ws/0` are ignored) and
//! `/stream?streams=a/b` (frames wrapped as `{"stream":..,"data":..}`). Each connection is a
//! [`WsSession`] actor over actix-ws; the [`StreamHub`] fans the market out to them.
//!
//! Limits: client frames of at most [`REQUEST_LEN_MAX`] bytes; at most
//! [`STREAMS_PER_SESSION_MAX`] streams in a URL (and per connection).

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
        .route("/ws", web::get().to(raw))
        .route("/ws/{path:.*}", web::get().to(raw))
        .route("/stream", web::get().to(combined));
}

async fn raw(
    request: HttpRequest,
    body: web::Payload,
    hub: web::Data<Addr<StreamHub>>,
) -> Result<HttpResponse, actix_web::Error> {
    let path = request.match_info().get("path").unwrap_or("");
    let streams: Vec<StreamName> =
        path.split('/').filter_map(|segment| StreamName::parse(segment).ok()).collect();
    if streams.len() > STREAMS_PER_SESSION_MAX {
        return Ok(too_many_streams());
    }
    open(&request, body, &hub, false, streams)
}

async fn combined(
    request: HttpRequest,
    body: web::Payload,
    hub: web::Data<Addr<StreamHub>>,
) -> Result<HttpResponse, actix_web::Error> {
    let query: Vec<(String, String)> =
        serde_urlencoded::from_str(request.query_string()).unwrap_or_default();
    let names = query.iter().find(|(key, _)| key == "streams").map_or("", |(_, v)| v.as_str());
    let mut streams = Vec::new();
    for name in names.split('/').filter(|name| !name.is_empty()) {
        match StreamName::parse(name) {
            Ok(stream) => streams.push(stream),
            Err(error) => {
                let body = json!({ "code": -1100, "msg": error.to_string() });
                return Ok(HttpResponse::BadRequest().json(body));
            }
        }
    }
    if streams.len() > STREAMS_PER_SESSION_MAX {
        return Ok(too_many_streams());
    }
    open(&request, body, &hub, true, streams)
}

fn too_many_streams() -> HttpResponse {
    let msg = format!("too many streams: at most {STREAMS_PER_SESSION_MAX} per connection");
    HttpResponse::BadRequest().json(json!({ "code": -1100, "msg": msg }))
}

fn open(
    request: &HttpRequest,
    body: web::Payload,
    hub: &Addr<StreamHub>,
    combined: bool,
    streams: Vec<StreamName>,
) -> Result<HttpResponse, actix_web::Error> {
    let (response, session, messages) = actix_ws::handle(request, body)?;
    let inbound = messages.max_frame_size(REQUEST_LEN_MAX).map(|message| match message {
        Ok(Message::Text(text)) => Inbound::Text(text.to_string()),
        Ok(Message::Ping(payload)) => Inbound::Ping(payload.to_vec()),
        Ok(Message::Pong(_)) => Inbound::Pong,
        Ok(Message::Close(_)) => Inbound::Close,
        Ok(Message::Binary(_) | Message::Continuation(_) | Message::Nop) => Inbound::Other,
        Err(error) => Inbound::Error(error.to_string()),
    });
    WsSession::start(hub.clone(), Box::new(ActixSink(session)), inbound, combined, streams);
    Ok(response)
}

/// [`FrameSink`] over an actix-ws session (a bounded channel to the connection's writer).
struct ActixSink(actix_ws::Session);

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
