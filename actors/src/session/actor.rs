//! `WsSession`: the actor shell of one WebSocket connection around its [`SessionState`]. The
//! gateway hands it the connection as two ports: a [`FrameSink`] to write frames and a stream
//! of [`Inbound`] frames from the peer (so this crate knows no web framework).
//!
//! One write is in flight at a time; everything else waits in the session's bounded buffer,
//! where the pure state applies the conflation and overflow rules. Hub pushes arrive through a
//! mailbox of [`MAILBOX_CAPACITY`] that the hub fills with `try_send`. A stopped session leaves
//! the hub (every subscription list) in `stopped`, whatever stopped it.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use actix::prelude::*;

use super::hub::{ChangeSubscriptions, Join, Leave, SessionId, StreamHub, ToSession};
use super::state::{
    Frame, Heartbeat, OUTBOUND_FRAMES_MAX, Pushed, SessionState, SubscriptionChange,
};
use super::streams::StreamName;
use crate::ports::{Clock, SystemClock};

/// The server pings every session this often (Binance: every 20 s).
pub const PING_INTERVAL: Duration = Duration::from_secs(20);
/// Hub frames waiting for the session actor at most.
pub const MAILBOX_CAPACITY: usize = OUTBOUND_FRAMES_MAX;
/// How long the close frame may wait behind frames already handed to the connection (a slow
/// reader's) before the connection is dropped without it.
const CLOSE_WAIT: Duration = Duration::from_secs(10);
/// Close codes (RFC 6455): 1008 policy violation (too slow a reader), 1001 going away.
pub const CLOSE_OVERFLOW: u16 = 1008;
pub const CLOSE_TIMEOUT: u16 = 1001;
pub const OVERFLOW_REASON: &str = "outbound buffer overflow: the client reads too slowly";

static NEXT_SESSION: AtomicU64 = AtomicU64::new(1);

pub type LocalFuture<T> = Pin<Box<dyn Future<Output = T>>>;

/// The peer is gone; nothing more can be written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SinkClosed;

/// Where a session writes; the gateway implements it over its WebSocket library.
pub trait FrameSink: 'static {
    fn text(&self, text: String) -> LocalFuture<Result<(), SinkClosed>>;
    fn ping(&self) -> LocalFuture<Result<(), SinkClosed>>;
    fn pong(&self, payload: Vec<u8>) -> LocalFuture<Result<(), SinkClosed>>;
    fn close(&self, code: u16, reason: String) -> LocalFuture<()>;
}

/// Starts closing `sink` with `code` and `reason` (the wait bounded by [`CLOSE_WAIT`]) unless
/// a close is already under way; true when this call started it, and the caller then stops
/// its actor. `label` is kept as the reason the session ended.
pub fn begin_close(
    sink: &dyn FrameSink,
    stop_reason: &mut Option<&'static str>,
    code: u16,
    reason: &str,
    label: &'static str,
) -> bool {
    if stop_reason.is_some() {
        return false;
    }
    *stop_reason = Some(label);
    let close = sink.close(code, reason.to_owned());
    actix::spawn(async move {
        let _timed_out = tokio::time::timeout(CLOSE_WAIT, close).await;
    });
    true
}

/// Milliseconds since `started`, the session clock both session shells feed their state.
pub fn elapsed_ms(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// A frame from the peer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Inbound {
    Text(String),
    Ping(Vec<u8>),
    Pong,
    /// A binary frame or a continuation: ignored but shows the peer is alive.
    Other,
    Close,
    /// A protocol error (frame too large, bad framing): the connection ends.
    Error(String),
}

pub struct WsSession {
    id: SessionId,
    state: SessionState,
    hub: Addr<StreamHub>,
    sink: Box<dyn FrameSink>,
    started: Instant,
    writing: bool,
    /// Why the session stopped (the disconnect metric's label); `None` while running.
    stop_reason: Option<&'static str>,
    initial: Option<SubscriptionChange>,
}

impl std::fmt::Debug for WsSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WsSession").field("id", &self.id).field("state", &self.state).finish()
    }
}

impl WsSession {
    /// A session over `sink` and `inbound`, subscribed to `initial` (streams named in the
    /// URL; at most [`super::STREAMS_PER_SESSION_MAX`], checked by the gateway).
    pub fn start(
        hub: Addr<StreamHub>,
        sink: Box<dyn FrameSink>,
        inbound: impl Stream<Item = Inbound> + 'static,
        combined: bool,
        initial: Vec<StreamName>,
    ) -> Addr<WsSession> {
        let mut state = SessionState::new(combined, OUTBOUND_FRAMES_MAX, 0);
        let initial = state.subscribe_initial(initial);
        let session = WsSession {
            id: NEXT_SESSION.fetch_add(1, Ordering::Relaxed),
            state,
            hub,
            sink,
            started: Instant::now(),
            writing: false,
            stop_reason: None,
            initial,
        };
        WsSession::create(move |ctx| {
            ctx.add_stream(inbound);
            session
        })
    }

    fn now_ms(&self) -> u64 {
        elapsed_ms(self.started)
    }

    fn close(&mut self, code: u16, reason: &str, label: &'static str, ctx: &mut Context<Self>) {
        if begin_close(self.sink.as_ref(), &mut self.stop_reason, code, reason, label) {
            ctx.stop();
        }
    }

    /// Starts writing the next frame unless one is being written.
    fn pump(&mut self, ctx: &mut Context<Self>) {
        if self.writing || self.stop_reason.is_some() {
            return;
        }
        let Some(frame) = self.state.next_frame() else { return };
        let (write, created_ns) = match frame {
            Frame::Text { text, created_ns } => (self.sink.text(text), created_ns),
            Frame::Ping => (self.sink.ping(), 0),
            Frame::Pong(payload) => (self.sink.pong(payload), 0),
        };
        self.writing = true;
        ctx.spawn(write.into_actor(self).map(move |written, session, ctx| {
            session.writing = false;
            if written.is_err() {
                session.stop_reason.get_or_insert("write_failed");
                ctx.stop();
                return;
            }
            if created_ns > 0 {
                // Push latency: frame created (its `E`) -> handed to the socket's writer.
                let latency = SystemClock.now_ns().saturating_sub(created_ns);
                metrics::histogram!("exchange_ws_push_latency_seconds")
                    .record(Duration::from_nanos(latency).as_secs_f64());
            }
            session.pump(ctx);
        }));
    }

    fn conflated(dropped: usize) {
        metrics::counter!("exchange_ws_dropped_messages_total", "reason" => "conflated")
            .increment(u64::try_from(dropped).unwrap_or(u64::MAX));
    }
}

impl Actor for WsSession {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(MAILBOX_CAPACITY);
        metrics::gauge!("exchange_ws_sessions").increment(1.0);
        // Control messages go with do_send: at most one Join and one Leave per session, and
        // one change per client request; losing one would leak a subscription.
        self.hub.do_send(Join { session: self.id, recipient: ctx.address().recipient() });
        if let Some(change) = self.initial.take().filter(|change| !change.added.is_empty()) {
            self.hub.do_send(ChangeSubscriptions { session: self.id, change });
        }
        ctx.run_interval(PING_INTERVAL, |session, ctx| {
            match session.state.heartbeat(session.now_ms()) {
                Heartbeat::Ping => session.pump(ctx),
                Heartbeat::TimedOut => {
                    session.close(CLOSE_TIMEOUT, "heartbeat timeout", "heartbeat_timeout", ctx);
                }
            }
        });
    }

    fn stopped(&mut self, _ctx: &mut Self::Context) {
        self.hub.do_send(Leave { session: self.id });
        metrics::gauge!("exchange_ws_sessions").decrement(1.0);
        let reason = self.stop_reason.unwrap_or("client_closed");
        metrics::counter!("exchange_ws_disconnects_total", "reason" => reason).increment(1);
    }
}

impl Handler<ToSession> for WsSession {
    type Result = ();

    fn handle(&mut self, message: ToSession, ctx: &mut Self::Context) {
        let push = match message {
            ToSession::Frame(push) => push,
            ToSession::Evicted => {
                return self.close(CLOSE_OVERFLOW, OVERFLOW_REASON, "overflow", ctx);
            }
        };
        match self.state.push(push) {
            Pushed::Queued => {}
            Pushed::Conflated(dropped) | Pushed::Dropped { dropped } => Self::conflated(dropped),
            Pushed::Overflow => {
                return self.close(CLOSE_OVERFLOW, OVERFLOW_REASON, "overflow", ctx);
            }
        }
        self.pump(ctx);
    }
}

impl StreamHandler<Inbound> for WsSession {
    fn handle(&mut self, frame: Inbound, ctx: &mut Self::Context) {
        let now_ms = self.now_ms();
        match frame {
            Inbound::Text(text) => match self.state.on_text(&text, now_ms) {
                Ok(change) => {
                    if !change.added.is_empty() || !change.removed.is_empty() {
                        self.hub.do_send(ChangeSubscriptions { session: self.id, change });
                    }
                }
                Err(_) => return self.close(CLOSE_OVERFLOW, OVERFLOW_REASON, "overflow", ctx),
            },
            Inbound::Ping(payload) => {
                if !self.state.on_ping(payload, now_ms) {
                    metrics::counter!("exchange_ws_dropped_messages_total", "reason" => "pong")
                        .increment(1);
                }
            }
            Inbound::Pong | Inbound::Other => self.state.heard(now_ms),
            Inbound::Close => return self.close(1000, "", "client_closed", ctx),
            Inbound::Error(error) => {
                tracing::debug!(session = self.id, %error, "websocket protocol error");
                return self.close(1002, "protocol error", "protocol_error", ctx);
            }
        }
        self.pump(ctx);
    }
}
