//! WebSocket market streams: per-session state (pure), the session actor shell, and the hub
//! that fans the market out to sessions.
//!
//! - `streams.rs`: [`StreamName`], Binance's stream names parsed and printed.
//! - `request.rs`: SUBSCRIBE / UNSUBSCRIBE / LIST_SUBSCRIPTIONS and Binance's answers.
//! - `state.rs`: [`SessionState`], one connection's subscriptions (at most
//!   [`STREAMS_PER_SESSION_MAX`]), bounded outbound buffer (depth diffs dropped past
//!   [`CONFLATE_PERCENT`], overflow of anything else ends the connection) and heartbeat.
//! - `diff.rs`: [`DiffCursor`], book batches to diff depth (`U`/`u` = book event seqs, the
//!   sequence of REST depth's `lastUpdateId`) and trades; gaps passed through, never hidden.
//! - `pending_diff.rs`: [`PendingDiff`], one diff-depth stream's changes merged between two
//!   frames (Binance's 100 ms and 1000 ms speeds); `U`/`u` keep chaining, gaps are not
//!   merged across.
//! - `hub.rs`: the `StreamHub` actor (bus consumer [`STREAMS_CONSUMER`]): per-stream
//!   subscriber lists, one render per frame, `try_send` to sessions (never waits for one).
//! - `api_state.rs`: [`ApiSessionState`], one `/ws-api/v3` connection's queued requests and
//!   frames (both bounded), logon, subscription and cancel-on-disconnect (the gateway's
//!   `WsApiSession` actor is its shell: it calls the REST handlers' functions).
//! - `user_hub.rs`: [`UserDataHub`], the user data stream's per-account fan-out, fed by the
//!   account shards after each commit; `try_send` to sessions, a full one is evicted.
//! - `actor.rs`: the `WsSession` actor shell over a [`FrameSink`] port (the gateway implements
//!   it over its WebSocket library).
//!
//! Ordering: a session gets each stream's frames in the hub's order; diffs of one symbol in
//! book seq order. Limits: every buffer above has a named bound; overflow is counted
//! (`exchange_ws_dropped_messages_total`, `exchange_ws_disconnects_total`).

mod actor;
mod api_state;
mod diff;
mod hub;
mod pending_diff;
mod request;
mod state;
mod streams;
mod user_hub;

#[cfg(test)]
mod tests;

pub use actor::{
    CLOSE_OVERFLOW, CLOSE_TIMEOUT, FrameSink, Inbound, LocalFuture, MAILBOX_CAPACITY,
    OVERFLOW_REASON, PING_INTERVAL, SinkClosed, WsSession, begin_close, elapsed_ms,
};
pub use api_state::{ApiSessionState, OutboundOverflow, REQUESTS_QUEUED_MAX, RequestsFull};
pub use diff::{BatchStreams, DepthDiff, DiffCursor, StreamTrade, aggregate_batch};
pub use hub::{
    ChangeSubscriptions, FrameRenderer, GetHubCounts, HubSources, Join, Leave, POLL_INTERVAL,
    STREAMS_CONSUMER, SessionId, StreamHub, ToSession,
};
pub use pending_diff::{PENDING_LEVELS_MAX, PendingDiff};
pub use request::{INVALID_JSON, INVALID_REQUEST, Method, REQUEST_LEN_MAX, Request, RequestError};
pub use state::{
    CONFLATE_PERCENT, CONTROL_FRAMES_MAX, FRAME_BYTES_AVERAGE_MAX, Frame, Heartbeat,
    OUTBOUND_FRAMES_MAX, PEER_SILENCE_MAX_MS, Push, Pushed, STREAMS_PER_SESSION_MAX,
    SUBSCRIPTION_CHANGES_PER_SECOND_MAX, SessionState, SubscriptionChange,
};
pub use streams::{StreamKind, StreamName, StreamNameError};
pub use user_hub::{SubscribeError, USER_STREAMS_PER_ACCOUNT_MAX, UserDataHub, UserPush};
