//! `WsApiSession`: the actor of one `/ws-api/v3` connection. Requests are answered one at a
//! time, in the order received (at most [`REQUESTS_QUEUED_MAX`] wait; more are refused with
//! 429), each first weighed against the rate limits (429 / 418 with `retryAfter`). After a user data subscription, the [`UserDataHub`] pushes the account's updates
//! into the bounded mailbox ([`MAILBOX_CAPACITY`]); they are rendered and queued behind the
//! answers. At most [`OUTBOUND_FRAMES_MAX`] frames wait to be written: overflow, or the hub
//! evicting the session, closes it with [`CLOSE_OVERFLOW`] (the client reconnects and asks
//! for its state). One write is in flight at a time.
//!
//! On stop, whatever stopped it, the session leaves the hub; with cancel-on-disconnect it
//! then cancels every open order of its account (one book command per market, within a few
//! ms of the drop), and again after 200 ms and 1 s for orders that were PENDING (on their way
//! to the book) the first time.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use actix::prelude::*;
use exchange_actors::model::AccountId;
use exchange_actors::ports::{Clock, SystemClock};
use exchange_actors::session::{
    ApiSessionState, CLOSE_OVERFLOW, CLOSE_TIMEOUT, FrameSink, Inbound, MAILBOX_CAPACITY,
    OVERFLOW_REASON, PING_INTERVAL, REQUESTS_QUEUED_MAX, UserDataHub, UserPush, begin_close,
    elapsed_ms,
};
use serde_json::Value;

use super::envelope::{WsRequest, error_frame, event_frame, parse_request, result_frame};
use crate::api::{
    SessionAuth, SessionEffect, WsError, WsServices, call, cancel_account_orders, code, user_events,
};

static NEXT_SESSION: AtomicU64 = AtomicU64::new(1);

pub struct WsApiSession {
    id: u64,
    services: WsServices,
    hub: Arc<UserDataHub>,
    sink: Box<dyn FrameSink>,
    state: ApiSessionState,
    started: Instant,
    writing: bool,
    stop_reason: Option<&'static str>,
    /// The API key of the session's logon: unsigned requests count against its budget.
    logon_key: Option<String>,
}

impl std::fmt::Debug for WsApiSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WsApiSession")
            .field("id", &self.id)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl WsApiSession {
    pub fn start(
        services: WsServices,
        hub: Arc<UserDataHub>,
        sink: Box<dyn FrameSink>,
        inbound: impl Stream<Item = Inbound> + 'static,
    ) -> Addr<WsApiSession> {
        let session = WsApiSession {
            id: NEXT_SESSION.fetch_add(1, Ordering::Relaxed),
            services,
            hub,
            sink,
            state: ApiSessionState::new(0),
            started: Instant::now(),
            writing: false,
            stop_reason: None,
            logon_key: None,
        };
        WsApiSession::create(move |ctx| {
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

    /// Queues a frame; past the bound the session closes.
    fn queue(&mut self, text: String, created_ns: u64, ctx: &mut Context<Self>) {
        if self.state.push_frame(text, created_ns).is_err() {
            metrics::counter!("exchange_ws_dropped_messages_total", "reason" => "user_overflow")
                .increment(1);
            return self.close(CLOSE_OVERFLOW, OVERFLOW_REASON, "overflow", ctx);
        }
        self.pump(ctx);
    }

    /// Starts writing the next frame unless one is being written.
    fn pump(&mut self, ctx: &mut Context<Self>) {
        if self.writing || self.stop_reason.is_some() {
            return;
        }
        let Some((text, created_ns)) = self.state.next_frame() else { return };
        self.writing = true;
        ctx.spawn(self.sink.text(text).into_actor(self).map(move |written, session, ctx| {
            session.writing = false;
            if written.is_err() {
                session.stop_reason.get_or_insert("write_failed");
                ctx.stop();
                return;
            }
            if created_ns > 0 {
                let latency = SystemClock.now_ns().saturating_sub(created_ns);
                metrics::histogram!("exchange_ws_user_push_latency_seconds")
                    .record(Duration::from_nanos(latency).as_secs_f64());
            }
            session.pump(ctx);
        }));
    }

    /// Answers the next waiting request unless one is being answered.
    fn answer_next(&mut self, ctx: &mut Context<Self>) {
        if self.stop_reason.is_some() {
            return;
        }
        let Some(text) = self.state.next_request() else { return };
        let request = match parse_request(&text) {
            Ok(request) => request,
            Err((id, error)) => {
                self.state.answered();
                self.queue(error_frame(&id, &error), 0, ctx);
                return self.answer_next(ctx);
            }
        };
        let services = self.services.clone();
        let auth = SessionAuth {
            logged_on: self.state.logged_on(),
            subscribed: self.state.subscribed().is_some(),
        };
        let WsRequest { id, method, params } = request;
        let api_key = params.get("apiKey").and_then(Value::as_str).map(str::to_owned);
        let budget_key = api_key.as_deref().or(self.logon_key.as_deref());
        if let Err(refused) = self.services.admit(&method, &params, budget_key) {
            self.state.answered();
            count_request(&method, refused.status);
            self.queue(error_frame(&id, &refused), 0, ctx);
            return self.answer_next(ctx);
        }
        let answer = async move {
            let answer = call(&services, auth, &method, params).await;
            (method, answer)
        };
        ctx.spawn(answer.into_actor(self).map(move |(method, answer), session, ctx| {
            session.state.answered();
            let answer = answer.and_then(|(result, effect)| {
                session.apply(effect, api_key, ctx)?;
                Ok(result)
            });
            let frame = match answer {
                Ok(result) => {
                    count_request(&method, 200);
                    result_frame(&id, &result)
                }
                Err(error) => {
                    count_request(&method, error.status);
                    error_frame(&id, &error)
                }
            };
            session.queue(frame, 0, ctx);
            session.answer_next(ctx);
        }));
    }

    /// Applies what a method changed; `api_key` is the key the request was signed with.
    fn apply(
        &mut self,
        effect: SessionEffect,
        api_key: Option<String>,
        ctx: &mut Context<Self>,
    ) -> Result<(), WsError> {
        match effect {
            SessionEffect::None => {}
            SessionEffect::Logon { account_id, cancel_on_disconnect } => {
                self.state.log_on(account_id, cancel_on_disconnect);
                self.logon_key = api_key;
            }
            SessionEffect::Logout => {
                self.state.log_out();
                self.logon_key = None;
            }
            SessionEffect::Subscribe { account_id, cancel_on_disconnect } => {
                self.unsubscribe();
                let recipient = ctx.address().recipient();
                self.hub.subscribe(account_id, self.id, recipient).map_err(|refused| WsError {
                    status: 429,
                    error: serde_json::json!({
                        "code": code::TOO_MANY_REQUESTS, "msg": refused.to_string(),
                    }),
                })?;
                self.state.subscribe(account_id, cancel_on_disconnect);
            }
            SessionEffect::Unsubscribe => self.unsubscribe(),
        }
        Ok(())
    }

    fn unsubscribe(&mut self) {
        if let Some(account_id) = self.state.unsubscribe() {
            self.hub.unsubscribe(account_id, self.id);
        }
    }
}

fn count_request(method: &str, status: u16) {
    // Only known method names become label values (bounded cardinality).
    const METHODS: [&str; 12] = [
        "session.logon",
        "session.logout",
        "session.status",
        "userDataStream.subscribe.signature",
        "userDataStream.subscribe",
        "userDataStream.unsubscribe",
        "order.place",
        "order.cancel",
        "order.cancelReplace",
        "order.status",
        "openOrders.status",
        "openOrders.cancelAll",
    ];
    let method = METHODS.iter().find(|known| **known == method).copied().unwrap_or("other");
    let status = if status == 200 { "ok" } else { "error" };
    metrics::counter!("exchange_ws_api_requests_total", "method" => method, "status" => status)
        .increment(1);
}

impl Actor for WsApiSession {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(MAILBOX_CAPACITY);
        metrics::gauge!("exchange_ws_api_sessions").increment(1.0);
        ctx.run_interval(PING_INTERVAL, |session, ctx| {
            if session.state.silent(session.now_ms()) {
                return session.close(CLOSE_TIMEOUT, "heartbeat timeout", "heartbeat_timeout", ctx);
            }
            let ping = session.sink.ping();
            ctx.spawn(ping.into_actor(session).map(|written, session, ctx| {
                if written.is_err() {
                    session.stop_reason.get_or_insert("write_failed");
                    ctx.stop();
                }
            }));
        });
    }

    fn stopped(&mut self, _ctx: &mut Self::Context) {
        self.unsubscribe();
        metrics::gauge!("exchange_ws_api_sessions").decrement(1.0);
        let reason = self.stop_reason.unwrap_or("client_closed");
        metrics::counter!("exchange_ws_disconnects_total", "reason" => reason).increment(1);
        let Some(account_id) = self.state.cancel_on_disconnect() else { return };
        let dropped_ns = self.services.state.clock.now_ns();
        actix::spawn(cancel_on_disconnect(self.services.clone(), account_id, dropped_ns));
    }
}

/// When after the drop the account's open orders are canceled: at once (one bulk cancel per
/// market), then again, order by order, for any that was still on its way to its book
/// (PENDING) the first time. Only orders created before the drop: a client that reconnected
/// meanwhile keeps its new orders.
const CANCEL_ON_DISCONNECT_AFTER: [Duration; 3] =
    [Duration::ZERO, Duration::from_millis(200), Duration::from_millis(800)];

async fn cancel_on_disconnect(services: WsServices, account_id: AccountId, dropped_ns: u64) {
    for (pass, pause) in CANCEL_ON_DISCONNECT_AFTER.into_iter().enumerate() {
        tokio::time::sleep(pause).await;
        let (state, core) = (&services.state, &services.core);
        match cancel_account_orders(state, core, account_id, None, dropped_ns, pass == 0).await {
            Ok(0) => {}
            Ok(count) => {
                metrics::counter!("exchange_ws_cancel_on_disconnect_orders_total")
                    .increment(u64::try_from(count).unwrap_or(u64::MAX));
                tracing::info!(account = account_id.0, count, "canceled on disconnect");
            }
            Err(error) => {
                tracing::warn!(account = account_id.0, ?error, "cancel on disconnect failed");
            }
        }
    }
}

impl Handler<UserPush> for WsApiSession {
    type Result = ();

    fn handle(&mut self, push: UserPush, ctx: &mut Self::Context) {
        let (update, ts_ns) = match push {
            UserPush::Update(update, ts_ns) => (update, ts_ns),
            UserPush::Evicted => {
                self.state.unsubscribe();
                return self.close(CLOSE_OVERFLOW, OVERFLOW_REASON, "overflow", ctx);
            }
        };
        if self.state.subscribed() != Some(update.account_id) {
            return;
        }
        let markets = self.services.state.markets();
        let events = user_events(&update, ts_ns, &markets, &self.services.core.asset_scales);
        for event in &events {
            self.queue(event_frame(event), ts_ns, ctx);
        }
    }
}

impl StreamHandler<Inbound> for WsApiSession {
    fn handle(&mut self, frame: Inbound, ctx: &mut Self::Context) {
        let now_ms = self.now_ms();
        self.state.heard(now_ms);
        match frame {
            Inbound::Text(text) => {
                if self.state.on_request(text.clone(), now_ms).is_err() {
                    let error = WsError {
                        status: 429,
                        error: serde_json::json!({
                            "code": code::TOO_MANY_REQUESTS,
                            "msg": format!("Too many requests queued; at most {REQUESTS_QUEUED_MAX}."),
                        }),
                    };
                    let id = parse_request(&text).map_or(Value::Null, |request| request.id);
                    return self.queue(error_frame(&id, &error), 0, ctx);
                }
                self.answer_next(ctx);
            }
            Inbound::Ping(payload) => {
                let pong = self.sink.pong(payload);
                ctx.spawn(pong.into_actor(self).map(|_written, _session, _ctx| {}));
            }
            Inbound::Pong | Inbound::Other => {}
            Inbound::Close => self.close(1000, "", "client_closed", ctx),
            Inbound::Error(error) => {
                tracing::debug!(session = self.id, %error, "websocket protocol error");
                self.close(1002, "protocol error", "protocol_error", ctx);
            }
        }
    }
}
