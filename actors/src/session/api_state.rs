//! [`ApiSessionState`]: the pure state of one WebSocket API connection (`/ws-api/v3`): the
//! requests waiting to be answered (at most [`REQUESTS_QUEUED_MAX`], answered one at a time in
//! the order received), the frames waiting to be written (at most [`OUTBOUND_FRAMES_MAX`];
//! overflow ends the connection, nothing is ever dropped silently), who the connection acts
//! for (logon, user data subscription, cancel-on-disconnect) and when the peer was last heard.
//! No I/O, no clock: times come in as arguments.

use std::collections::VecDeque;

use super::state::{OUTBOUND_FRAMES_MAX, PEER_SILENCE_MAX_MS};
use crate::model::AccountId;

/// Requests waiting behind the one being answered, at most.
pub const REQUESTS_QUEUED_MAX: usize = 64;

/// The outbound buffer is full: the connection must close.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutboundOverflow;

/// A request could not be queued: too many wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestsFull;

#[derive(Debug)]
pub struct ApiSessionState {
    outbound: VecDeque<(String, u64)>,
    outbound_max: usize,
    requests: VecDeque<String>,
    answering: bool,
    logged_on: Option<AccountId>,
    subscribed: Option<AccountId>,
    cancel_on_disconnect: Option<AccountId>,
    last_heard_ms: u64,
}

impl ApiSessionState {
    pub fn new(now_ms: u64) -> ApiSessionState {
        ApiSessionState::with_bound(OUTBOUND_FRAMES_MAX, now_ms)
    }

    pub fn with_bound(outbound_max: usize, now_ms: u64) -> ApiSessionState {
        assert!(outbound_max > 0, "an outbound buffer holds at least one frame");
        ApiSessionState {
            outbound: VecDeque::new(),
            outbound_max,
            requests: VecDeque::new(),
            answering: false,
            logged_on: None,
            subscribed: None,
            cancel_on_disconnect: None,
            last_heard_ms: now_ms,
        }
    }

    /// Queues a frame to write; `created_ns` is when what it carries was created (0: an
    /// answer, not timed).
    pub fn push_frame(&mut self, text: String, created_ns: u64) -> Result<(), OutboundOverflow> {
        if self.outbound.len() >= self.outbound_max {
            return Err(OutboundOverflow);
        }
        self.outbound.push_back((text, created_ns));
        Ok(())
    }

    /// The next frame to write.
    pub fn next_frame(&mut self) -> Option<(String, u64)> {
        self.outbound.pop_front()
    }

    pub fn queued_frames(&self) -> usize {
        self.outbound.len()
    }

    /// A request from the peer (who is therefore alive).
    pub fn on_request(&mut self, text: String, now_ms: u64) -> Result<(), RequestsFull> {
        self.last_heard_ms = now_ms;
        if self.requests.len() >= REQUESTS_QUEUED_MAX {
            return Err(RequestsFull);
        }
        self.requests.push_back(text);
        Ok(())
    }

    /// The next request to answer, unless one is being answered; it is being answered until
    /// [`ApiSessionState::answered`].
    pub fn next_request(&mut self) -> Option<String> {
        if self.answering {
            return None;
        }
        let request = self.requests.pop_front()?;
        self.answering = true;
        Some(request)
    }

    pub fn answered(&mut self) {
        debug_assert!(self.answering, "answered without a request");
        self.answering = false;
    }

    /// Any frame from the peer.
    pub fn heard(&mut self, now_ms: u64) {
        self.last_heard_ms = now_ms;
    }

    /// Whether the peer has been silent too long ([`PEER_SILENCE_MAX_MS`]).
    pub fn silent(&self, now_ms: u64) -> bool {
        now_ms.saturating_sub(self.last_heard_ms) > PEER_SILENCE_MAX_MS
    }

    pub fn logged_on(&self) -> Option<AccountId> {
        self.logged_on
    }

    pub fn log_on(&mut self, account: AccountId, cancel_on_disconnect: bool) {
        self.logged_on = Some(account);
        self.arm(account, cancel_on_disconnect);
    }

    pub fn log_out(&mut self) {
        self.logged_on = None;
    }

    pub fn subscribed(&self) -> Option<AccountId> {
        self.subscribed
    }

    /// Subscribed to `account`'s user data; returns the subscription it replaces, if any.
    pub fn subscribe(
        &mut self,
        account: AccountId,
        cancel_on_disconnect: bool,
    ) -> Option<AccountId> {
        let previous = self.subscribed.replace(account);
        self.arm(account, cancel_on_disconnect);
        previous
    }

    /// Ends the subscription; returns the account it was for.
    pub fn unsubscribe(&mut self) -> Option<AccountId> {
        self.subscribed.take()
    }

    /// Arms cancel-on-disconnect for `account` (never disarmed by a later request without it:
    /// opting in is for the connection's lifetime).
    fn arm(&mut self, account: AccountId, armed: bool) {
        if armed {
            self.cancel_on_disconnect = Some(account);
        }
    }

    /// The account whose open orders are canceled when the connection drops.
    pub fn cancel_on_disconnect(&self) -> Option<AccountId> {
        self.cancel_on_disconnect
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_bounded_and_written_in_order() {
        let mut state = ApiSessionState::with_bound(2, 0);
        state.push_frame("a".into(), 0).unwrap();
        state.push_frame("b".into(), 5).unwrap();
        assert_eq!(state.push_frame("c".into(), 0), Err(OutboundOverflow));
        assert_eq!(state.next_frame(), Some(("a".into(), 0)));
        state.push_frame("c".into(), 0).unwrap();
        let rest: Vec<_> = std::iter::from_fn(|| state.next_frame()).collect();
        assert_eq!(rest, [("b".into(), 5), ("c".into(), 0)]);
    }

    #[test]
    fn requests_are_answered_one_at_a_time_in_order_and_bounded() {
        let mut state = ApiSessionState::new(0);
        for n in 0..REQUESTS_QUEUED_MAX {
            state.on_request(n.to_string(), 1).unwrap();
        }
        assert_eq!(state.on_request("late".into(), 2), Err(RequestsFull));
        assert_eq!(state.next_request().as_deref(), Some("0"));
        assert_eq!(state.next_request(), None, "one at a time");
        state.answered();
        assert_eq!(state.next_request().as_deref(), Some("1"));
        state.answered();
        state.on_request("after".into(), 3).unwrap();
    }

    #[test]
    fn silence_is_measured_from_the_last_frame_heard() {
        let mut state = ApiSessionState::new(1_000);
        assert!(!state.silent(1_000 + PEER_SILENCE_MAX_MS));
        assert!(state.silent(1_001 + PEER_SILENCE_MAX_MS));
        state.heard(2_000);
        assert!(!state.silent(1_001 + PEER_SILENCE_MAX_MS));
    }

    #[test]
    fn cancel_on_disconnect_stays_armed_for_the_connection() {
        let (alice, bob) = (AccountId(1), AccountId(2));
        let mut state = ApiSessionState::new(0);
        assert_eq!(state.cancel_on_disconnect(), None);
        state.log_on(alice, false);
        assert_eq!((state.logged_on(), state.cancel_on_disconnect()), (Some(alice), None));
        assert_eq!(state.subscribe(alice, true), None);
        assert_eq!(state.subscribe(alice, false), Some(alice));
        assert_eq!(state.cancel_on_disconnect(), Some(alice), "a later request does not disarm");
        state.log_out();
        assert_eq!(state.unsubscribe(), Some(alice));
        assert_eq!((state.logged_on(), state.subscribed()), (None, None));
        state.log_on(bob, true);
        assert_eq!(state.cancel_on_disconnect(), Some(bob));
    }
}
