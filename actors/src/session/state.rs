//! [`SessionState`]: one WebSocket connection's subscriptions, outbound buffer and heartbeat,
//! pure (time comes in as `now_ms`). The actor shell feeds it client text, hub pushes and
//! timer ticks, and writes what [`SessionState::next_frame`] hands out, one frame at a time.
//!
//! Backpressure: the outbound buffer holds at most `outbound_max` frames and
//! [`FRAME_BYTES_AVERAGE_MAX`] bytes per frame of that bound. A push that finds it
//! [`CONFLATE_PERCENT`] full (by either count) first drops every queued depth diff (and the new
//! one, if it is one): the client then sees a `U` that does not follow its last `u` and resyncs, as Binance
//! clients do. Any other frame that finds the buffer full ends the connection
//! ([`Pushed::Overflow`]); a silent drop of a trade would be a lie.

use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;

use super::request::{Method, Request, render_list, render_ok};
use super::streams::StreamName;

/// Streams one connection may hold (Binance allows 1,024).
pub const STREAMS_PER_SESSION_MAX: usize = 1024;
/// Frames waiting to be written per session.
pub const OUTBOUND_FRAMES_MAX: usize = 1024;
/// The byte bound of the buffer is this many bytes per frame of its frame bound (4 MiB for
/// [`OUTBOUND_FRAMES_MAX`]): a diff or trade is a few hundred bytes, a full subscription list
/// about 25 kB.
pub const FRAME_BYTES_AVERAGE_MAX: usize = 4 * 1024;
/// SUBSCRIBE and UNSUBSCRIBE requests per session per second (each one is a message to the
/// hub); more are refused with an error answer.
pub const SUBSCRIPTION_CHANGES_PER_SECOND_MAX: u32 = 10;
/// Past this fill (in percent of the bound) queued depth diffs are dropped.
pub const CONFLATE_PERCENT: usize = 70;
/// Control frames (pongs, pings) waiting at most; more are dropped (the peer pings again).
pub const CONTROL_FRAMES_MAX: usize = 8;
/// A peer heard from neither frame nor pong for this long is closed.
pub const PEER_SILENCE_MAX_MS: u64 = 60_000;

const _: () = assert!(CONFLATE_PERCENT > 0 && CONFLATE_PERCENT < 100);

/// One market frame from the hub: rendered once, shared by every subscriber.
#[derive(Clone, Debug)]
pub struct Push {
    pub stream: Arc<StreamName>,
    /// The canonical stream name (the `"stream"` of a combined frame).
    pub stream_text: Arc<str>,
    /// The Binance payload (`data` of a combined frame).
    pub payload: Arc<str>,
    /// When the frame was created: its `E` (a diff-depth frame's emit time, a trade's time),
    /// from which the push latency is measured.
    pub created_ns: u64,
}

/// What the shell writes next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    /// A market frame, with the creation time of its event (0 for replies).
    Text {
        text: String,
        created_ns: u64,
    },
    Ping,
    Pong(Vec<u8>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pushed {
    Queued,
    /// Queued after dropping this many queued depth diffs.
    Conflated(usize),
    /// A depth diff dropped (with the queued ones, counted in `dropped`).
    Dropped {
        dropped: usize,
    },
    /// The buffer is full of frames that may not be dropped: close the connection.
    Overflow,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Heartbeat {
    Ping,
    TimedOut,
}

/// A change to pass on to the hub.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SubscriptionChange {
    pub added: Vec<StreamName>,
    pub removed: Vec<StreamName>,
}

#[derive(Debug)]
enum Queued {
    Push(Push),
    Reply(String),
}

impl Queued {
    /// Bytes the frame takes once written (the combined wrapper counted for every push).
    fn bytes(&self) -> usize {
        match self {
            Queued::Push(push) => push.payload.len() + push.stream_text.len() + 22,
            Queued::Reply(text) => text.len(),
        }
    }
}

#[derive(Debug)]
pub struct SessionState {
    subscriptions: BTreeSet<StreamName>,
    outbound: VecDeque<Queued>,
    control: VecDeque<Frame>,
    outbound_max: usize,
    outbound_bytes: usize,
    outbound_bytes_max: usize,
    /// Start of the current one-second window of subscription changes, and their count in it.
    changes_window_ms: u64,
    changes_in_window: u32,
    /// `/stream` connections get `{"stream":..,"data":..}` frames.
    combined: bool,
    last_heard_ms: u64,
}

impl SessionState {
    pub fn new(combined: bool, outbound_max: usize, now_ms: u64) -> SessionState {
        assert!(outbound_max >= 10, "a buffer of {outbound_max} frames cannot conflate");
        SessionState {
            subscriptions: BTreeSet::new(),
            outbound: VecDeque::with_capacity(outbound_max.min(64)),
            control: VecDeque::new(),
            outbound_max,
            outbound_bytes: 0,
            outbound_bytes_max: outbound_max * FRAME_BYTES_AVERAGE_MAX,
            changes_window_ms: now_ms,
            changes_in_window: 0,
            combined,
            last_heard_ms: now_ms,
        }
    }

    pub fn subscriptions(&self) -> &BTreeSet<StreamName> {
        &self.subscriptions
    }

    pub fn queued(&self) -> usize {
        self.outbound.len()
    }

    /// Bytes waiting in the buffer.
    pub fn queued_bytes(&self) -> usize {
        self.outbound_bytes
    }

    fn past_conflation_threshold(&self) -> bool {
        self.outbound.len() * 100 >= self.outbound_max * CONFLATE_PERCENT
            || self.outbound_bytes * 100 >= self.outbound_bytes_max * CONFLATE_PERCENT
    }

    fn has_room_for(&self, queued: &Queued) -> bool {
        self.outbound.len() < self.outbound_max
            && self.outbound_bytes + queued.bytes() <= self.outbound_bytes_max
    }

    fn enqueue(&mut self, queued: Queued) {
        self.outbound_bytes += queued.bytes();
        self.outbound.push_back(queued);
    }

    /// Subscribes the streams named in the URL; false (nothing changed) past the bound.
    pub fn subscribe_initial(&mut self, streams: Vec<StreamName>) -> Option<SubscriptionChange> {
        let fresh: BTreeSet<StreamName> = streams.into_iter().collect();
        if fresh.len() > STREAMS_PER_SESSION_MAX {
            return None;
        }
        self.subscriptions.extend(fresh.iter().cloned());
        Some(SubscriptionChange { added: fresh.into_iter().collect(), removed: Vec::new() })
    }

    /// A client text frame: queues the answer and returns what changed, or `Overflow` when
    /// the answer does not fit (the connection must close).
    pub fn on_text(&mut self, text: &str, now_ms: u64) -> Result<SubscriptionChange, Pushed> {
        self.heard(now_ms);
        let (reply, change) = match Request::parse(text) {
            Err(error) => (error.render(), SubscriptionChange::default()),
            Ok(request) => self.apply(request, now_ms),
        };
        let reply = Queued::Reply(reply);
        if !self.has_room_for(&reply) {
            return Err(Pushed::Overflow);
        }
        self.enqueue(reply);
        Ok(change)
    }

    /// Counts a subscription change; false past [`SUBSCRIPTION_CHANGES_PER_SECOND_MAX`].
    fn allow_change(&mut self, now_ms: u64) -> bool {
        if now_ms.saturating_sub(self.changes_window_ms) >= 1_000 {
            self.changes_window_ms = now_ms;
            self.changes_in_window = 0;
        }
        self.changes_in_window += 1;
        self.changes_in_window <= SUBSCRIPTION_CHANGES_PER_SECOND_MAX
    }

    fn apply(&mut self, request: Request, now_ms: u64) -> (String, SubscriptionChange) {
        let mut change = SubscriptionChange::default();
        let changes = matches!(request.method, Method::Subscribe(_) | Method::Unsubscribe(_));
        if changes && !self.allow_change(now_ms) {
            let max = SUBSCRIPTION_CHANGES_PER_SECOND_MAX;
            let msg = format!("too many subscription changes: at most {max} per second");
            return (super::request::RequestError::invalid(request.id, msg).render(), change);
        }
        match request.method {
            Method::Subscribe(streams) => {
                let fresh: BTreeSet<StreamName> =
                    streams.into_iter().filter(|s| !self.subscriptions.contains(s)).collect();
                if self.subscriptions.len() + fresh.len() > STREAMS_PER_SESSION_MAX {
                    let error = super::request::RequestError::invalid(
                        request.id,
                        format!(
                            "too many streams: at most {STREAMS_PER_SESSION_MAX} per connection"
                        ),
                    );
                    return (error.render(), change);
                }
                self.subscriptions.extend(fresh.iter().cloned());
                change.added = fresh.into_iter().collect();
                (render_ok(&request.id), change)
            }
            Method::Unsubscribe(streams) => {
                let gone: BTreeSet<StreamName> =
                    streams.into_iter().filter(|s| self.subscriptions.remove(s)).collect();
                change.removed = gone.into_iter().collect();
                (render_ok(&request.id), change)
            }
            Method::ListSubscriptions => {
                (render_list(self.subscriptions.iter(), &request.id), change)
            }
        }
    }

    /// A market frame from the hub (ignored when no longer subscribed: an unsubscribe and a
    /// push may cross).
    pub fn push(&mut self, push: Push) -> Pushed {
        if !self.subscriptions.contains(&*push.stream) {
            return Pushed::Queued;
        }
        let droppable = push.stream.kind.is_droppable();
        let mut dropped = 0;
        if self.past_conflation_threshold() {
            let before = self.outbound.len();
            self.outbound.retain(|queued| match queued {
                Queued::Push(push) => !push.stream.kind.is_droppable(),
                Queued::Reply(_) => true,
            });
            dropped = before - self.outbound.len();
            self.outbound_bytes = self.outbound.iter().map(Queued::bytes).sum();
            if droppable && self.past_conflation_threshold() {
                return Pushed::Dropped { dropped: dropped + 1 };
            }
        }
        let push = Queued::Push(push);
        if !self.has_room_for(&push) {
            return Pushed::Overflow;
        }
        self.enqueue(push);
        if dropped == 0 { Pushed::Queued } else { Pushed::Conflated(dropped) }
    }

    /// A ping from the peer: a pong is owed (dropped past [`CONTROL_FRAMES_MAX`]).
    pub fn on_ping(&mut self, payload: Vec<u8>, now_ms: u64) -> bool {
        self.heard(now_ms);
        self.push_control(Frame::Pong(payload))
    }

    /// Any frame from the peer (a pong included) shows it is alive.
    pub fn heard(&mut self, now_ms: u64) {
        self.last_heard_ms = self.last_heard_ms.max(now_ms);
    }

    /// The heartbeat timer: ping the peer, or give up on a silent one.
    pub fn heartbeat(&mut self, now_ms: u64) -> Heartbeat {
        if now_ms.saturating_sub(self.last_heard_ms) > PEER_SILENCE_MAX_MS {
            return Heartbeat::TimedOut;
        }
        self.push_control(Frame::Ping);
        Heartbeat::Ping
    }

    fn push_control(&mut self, frame: Frame) -> bool {
        if self.control.len() >= CONTROL_FRAMES_MAX {
            return false;
        }
        self.control.push_back(frame);
        true
    }

    /// The next frame to write: control frames first, then the buffer in order.
    pub fn next_frame(&mut self) -> Option<Frame> {
        if let Some(control) = self.control.pop_front() {
            return Some(control);
        }
        let queued = self.outbound.pop_front()?;
        self.outbound_bytes -= queued.bytes();
        Some(match queued {
            Queued::Reply(text) => Frame::Text { text, created_ns: 0 },
            Queued::Push(push) => {
                let text = if self.combined {
                    format!(r#"{{"stream":"{}","data":{}}}"#, push.stream_text, push.payload)
                } else {
                    push.payload.to_string()
                };
                Frame::Text { text, created_ns: push.created_ns }
            }
        })
    }
}
