//! Target `market_stream`: one market-stream connection's pure state (`SessionState`), fed
//! as the `WsSession` actor feeds it. Field 0 is the URL the client opened (`/ws`,
//! `/ws/<stream>`, `/stream?streams=a/b`); every later field is one event, 50 ms after the
//! previous: a field of UTF-8 text is a client text frame; a field starting with one of the
//! bytes below (never in UTF-8 text) is that event; any other field is a binary frame.
//!
//! Properties: nothing panics; subscriptions change only by what a request's answer reports
//! and stay within `STREAMS_PER_SESSION_MAX`; the outbound buffer stays within its frame and
//! byte bounds, and its byte count returns to 0 when drained; every frame written is JSON.

use std::collections::BTreeSet;
use std::sync::Arc;

use exchange::ws::combined_streams;
use exchange_actors::session::{
    FRAME_BYTES_AVERAGE_MAX, Frame, Heartbeat, PING_INTERVAL, Push, Pushed, REQUEST_LEN_MAX,
    STREAMS_PER_SESSION_MAX, SessionState, StreamKind, StreamName,
};

use super::fields::field;

/// A ping from the peer; its payload follows.
pub const PING: u8 = 0xF8;
pub const PONG: u8 = 0xF9;
/// The hub pushes a frame to each of the first `1 + n % 8` subscribed streams and to one
/// stream the session does not hold; `[PUSH, n, size]`: the payload pads `size * 64` bytes.
pub const PUSH: u8 = 0xFA;
/// The heartbeat timer fires (time jumps by `PING_INTERVAL`).
pub const TICK: u8 = 0xFB;
/// The connection writes `[WRITE, n]`: up to `n` frames.
pub const WRITE: u8 = 0xFC;

/// A small buffer, so that conflation and overflow are reached by short inputs.
const OUTBOUND_MAX: usize = 16;
const EVENT_INTERVAL_MS: u64 = 50;

pub fn run(data: &[u8]) {
    let Some((combined, initial)) = url_streams(field(data, 0)) else { return };
    let mut now_ms = 0;
    let mut state = SessionState::new(combined, OUTBOUND_MAX, now_ms);
    let mut expected: BTreeSet<StreamName> = BTreeSet::new();
    if let Some(change) = state.subscribe_initial(initial) {
        expected.extend(change.added);
    }
    assert_eq!(*state.subscriptions(), expected);
    for (index, event) in data.split(|byte| *byte == 0).skip(1).enumerate() {
        now_ms += EVENT_INTERVAL_MS;
        let open = apply(&mut state, &mut expected, event, &mut now_ms, (index, combined));
        check_bounds(&state);
        if !open {
            // An answer that overflows closes the connection; the change it made is not
            // reported (nor needed: the hub drops every subscription of a closed session).
            return;
        }
        assert_eq!(*state.subscriptions(), expected, "subscriptions changed unreported");
    }
    while let Some(frame) = state.next_frame() {
        check_frame(frame, combined);
    }
    assert_eq!((state.queued(), state.queued_bytes()), (0, 0), "a drained buffer counts bytes");
}

/// The streams the URL subscribes and whether frames are combined; `None` when the gateway
/// refuses the connection.
fn url_streams(url: &[u8]) -> Option<(bool, Vec<StreamName>)> {
    let url = String::from_utf8_lossy(url);
    if let Some(query) = url.strip_prefix("/stream?") {
        return combined_streams(query).ok().map(|streams| (true, streams));
    }
    let raw = url.strip_prefix("/ws/").and_then(|path| StreamName::parse(path).ok());
    Some((false, raw.into_iter().collect()))
}

/// Applies one event; false when the connection ends.
fn apply(
    state: &mut SessionState,
    expected: &mut BTreeSet<StreamName>,
    event: &[u8],
    now_ms: &mut u64,
    (index, combined): (usize, bool),
) -> bool {
    if event.len() > REQUEST_LEN_MAX {
        return false; // the gateway's frame limit: a protocol error ends the connection
    }
    if let Ok(text) = std::str::from_utf8(event) {
        let Ok(change) = state.on_text(text, *now_ms) else { return false };
        assert!(change.added.iter().all(|stream| !change.removed.contains(stream)));
        assert!(change.added.iter().all(|stream| !expected.contains(stream)), "re-added");
        assert!(change.removed.iter().all(|stream| expected.contains(stream)), "not held");
        expected.extend(change.added);
        expected.retain(|stream| !change.removed.contains(stream));
        return true;
    }
    match event {
        [PING, payload @ ..] => {
            state.on_ping(payload.to_vec(), *now_ms);
        }
        [PONG, ..] => state.heard(*now_ms),
        [PUSH, rest @ ..] => return push(state, rest, *now_ms, index),
        [TICK, ..] => {
            *now_ms += u64::try_from(PING_INTERVAL.as_millis()).expect("20 s in ms");
            if state.heartbeat(*now_ms) == Heartbeat::TimedOut {
                return false;
            }
        }
        [WRITE, rest @ ..] => {
            let count = rest.first().copied().unwrap_or(1);
            for _ in 0..count {
                let Some(frame) = state.next_frame() else { break };
                check_frame(frame, combined);
            }
        }
        _ => state.heard(*now_ms), // a binary frame: ignored, but the peer is alive
    }
    true
}

/// The hub's pushes; false on overflow (the session closes).
fn push(state: &mut SessionState, rest: &[u8], now_ms: u64, index: usize) -> bool {
    let count = 1 + usize::from(rest.first().copied().unwrap_or(0) % 8);
    let padding = usize::from(rest.get(1).copied().unwrap_or(0)) * 64;
    let other = StreamName::new("BTCUSDT", StreamKind::Trade);
    let mut streams: Vec<StreamName> = state.subscriptions().iter().take(count).cloned().collect();
    streams.push(other);
    for stream in streams {
        let payload = format!(r#"{{"e":"fuzz","n":{index},"pad":"{}"}}"#, "x".repeat(padding));
        let push = Push {
            stream_text: Arc::from(stream.to_string()),
            stream: Arc::new(stream),
            payload: Arc::from(payload),
            created_ns: now_ms * 1_000_000,
        };
        if state.push(push) == Pushed::Overflow {
            return false;
        }
    }
    true
}

fn check_bounds(state: &SessionState) {
    assert!(state.subscriptions().len() <= STREAMS_PER_SESSION_MAX);
    assert!(state.queued() <= OUTBOUND_MAX, "{} frames queued", state.queued());
    let bytes_max = OUTBOUND_MAX * FRAME_BYTES_AVERAGE_MAX;
    assert!(state.queued_bytes() <= bytes_max, "{} bytes queued", state.queued_bytes());
}

/// A written text frame is JSON (a combined frame is `{"stream":..,"data":..}`).
fn check_frame(frame: Frame, combined: bool) {
    let Frame::Text { text, .. } = frame else { return };
    let value: serde_json::Value = serde_json::from_str(&text)
        .unwrap_or_else(|error| panic!("frame {text:?} is not JSON: {error}"));
    if combined && value.get("data").is_some() {
        assert!(value["stream"].is_string(), "combined frame without a stream: {text}");
    }
}
