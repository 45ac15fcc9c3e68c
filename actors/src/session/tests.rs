//! The pure session state: requests and answers, the stream bound, conflation and overflow
//! of the outbound buffer (with a model-based property test), and the heartbeat.

use std::sync::Arc;

use proptest::prelude::*;

use super::*;

const NOW: u64 = 1_000;

fn name(text: &str) -> StreamName {
    StreamName::parse(text).unwrap()
}

fn push(stream: &str, created_ns: u64) -> Push {
    let stream = name(stream);
    Push {
        stream_text: stream.to_string().into(),
        stream: Arc::new(stream),
        payload: format!(r#"{{"n":{created_ns}}}"#).into(),
        created_ns,
    }
}

fn texts(state: &mut SessionState) -> Vec<String> {
    std::iter::from_fn(|| state.next_frame())
        .map(|frame| match frame {
            Frame::Text { text, .. } => text,
            other => format!("{other:?}"),
        })
        .collect()
}

fn subscribed(streams: &[&str]) -> SessionState {
    let mut state = SessionState::new(false, 100, NOW);
    state.subscribe_initial(streams.iter().map(|s| name(s)).collect()).unwrap();
    state
}

#[test]
fn subscribe_unsubscribe_and_list_answer_with_the_request_id() {
    let mut state = SessionState::new(false, 100, NOW);
    let sub = r#"{"method":"SUBSCRIBE","params":["btcusdt@trade","btcusdt@depth"],"id":1}"#;
    let change = state.on_text(sub, NOW).unwrap();
    assert_eq!(change.added, [name("btcusdt@depth"), name("btcusdt@trade")]);
    // A repeated subscribe is acknowledged again and changes nothing.
    let again = r#"{"method":"SUBSCRIBE","params":["btcusdt@trade"],"id":2}"#;
    assert_eq!(state.on_text(again, NOW).unwrap(), SubscriptionChange::default());
    let unsub = r#"{"method":"UNSUBSCRIBE","params":["btcusdt@depth","ethusdt@trade"],"id":3}"#;
    assert_eq!(state.on_text(unsub, NOW).unwrap().removed, [name("btcusdt@depth")]);
    state.on_text(r#"{"method":"LIST_SUBSCRIPTIONS","id":"x"}"#, NOW).unwrap();
    state.on_text(r#"{"method":"SUBSCRIBE","params":["nope"],"id":5}"#, NOW).unwrap();
    let answers = texts(&mut state);
    assert_eq!(
        answers[..4],
        [
            r#"{"result":null,"id":1}"#,
            r#"{"result":null,"id":2}"#,
            r#"{"result":null,"id":3}"#,
            r#"{"result":["btcusdt@trade"],"id":"x"}"#,
        ]
    );
    assert!(answers[4].starts_with(r#"{"error":{"code":2,"msg":"Invalid request: "#));
    assert!(answers[4].ends_with(r#""id":5}"#));
}

#[test]
fn streams_per_session_are_bounded() {
    let mut state = SessionState::new(false, 100, NOW);
    let streams: Vec<String> =
        (0..STREAMS_PER_SESSION_MAX).map(|i| format!("\"s{i}@trade\"")).collect();
    let request = format!(r#"{{"method":"SUBSCRIBE","params":[{}],"id":1}}"#, streams.join(","));
    assert_eq!(state.on_text(&request, NOW).unwrap().added.len(), STREAMS_PER_SESSION_MAX);
    let one_more = r#"{"method":"SUBSCRIBE","params":["x@trade"],"id":2}"#;
    assert_eq!(state.on_text(one_more, NOW).unwrap(), SubscriptionChange::default());
    let answers = texts(&mut state);
    assert!(answers[1].contains("too many streams"), "{}", answers[1]);
    assert_eq!(state.subscriptions().len(), STREAMS_PER_SESSION_MAX);
}

#[test]
fn past_the_threshold_queued_depth_diffs_are_dropped() {
    let mut state = subscribed(&["btcusdt@depth", "btcusdt@trade"]);
    for n in 0..35 {
        assert_eq!(state.push(push("btcusdt@depth", n)), Pushed::Queued);
        assert_eq!(state.push(push("btcusdt@trade", 1_000 + n)), Pushed::Queued);
    }
    // 70 of 100 queued: the next push drops the 35 diffs.
    assert_eq!(state.push(push("btcusdt@trade", 2_000)), Pushed::Conflated(35));
    assert_eq!(state.queued(), 36);
    assert_eq!(state.push(push("btcusdt@depth", 99)), Pushed::Queued);
    let frames = texts(&mut state);
    assert!(frames.iter().all(|frame| !frame.contains(r#""n":1}"#)));
    assert_eq!(frames.last().unwrap(), r#"{"n":99}"#);
}

#[test]
fn a_diff_that_finds_the_buffer_full_of_trades_is_dropped_and_trades_overflow() {
    let mut state = subscribed(&["btcusdt@depth", "btcusdt@trade"]);
    for n in 0..70 {
        assert_eq!(state.push(push("btcusdt@trade", n)), Pushed::Queued);
    }
    assert_eq!(state.push(push("btcusdt@depth", 1)), Pushed::Dropped { dropped: 1 });
    for n in 70..100 {
        assert_eq!(state.push(push("btcusdt@trade", n)), Pushed::Queued);
    }
    assert_eq!(state.push(push("btcusdt@trade", 100)), Pushed::Overflow);
    assert_eq!(state.queued(), 100);
}

#[test]
fn the_buffer_is_bounded_in_bytes_too() {
    let mut state = subscribed(&["btcusdt@depth", "btcusdt@trade"]);
    let big = |n: u64| Push {
        payload: "x".repeat(100 * FRAME_BYTES_AVERAGE_MAX / 8).into(),
        ..push("btcusdt@trade", n)
    };
    for n in 0..6 {
        assert_eq!(state.push(big(n)), Pushed::Queued);
    }
    // 6/8 of the bytes: diffs are dropped, then big trades overflow at the byte bound.
    assert_eq!(state.push(push("btcusdt@depth", 1)), Pushed::Dropped { dropped: 1 });
    assert_eq!(state.push(big(6)), Pushed::Queued);
    assert_eq!(state.push(big(7)), Pushed::Overflow);
    assert!(state.queued_bytes() <= 100 * FRAME_BYTES_AVERAGE_MAX);
    texts(&mut state);
    assert_eq!(state.queued_bytes(), 0);
}

#[test]
fn subscription_changes_are_rate_bounded() {
    let mut state = SessionState::new(false, 100, NOW);
    let request =
        |id: u32| format!(r#"{{"method":"SUBSCRIBE","params":["s{id}@trade"],"id":{id}}}"#);
    for id in 0..SUBSCRIPTION_CHANGES_PER_SECOND_MAX {
        assert_eq!(state.on_text(&request(id), NOW + 999).unwrap().added.len(), 1);
    }
    let refused = SUBSCRIPTION_CHANGES_PER_SECOND_MAX;
    assert_eq!(state.on_text(&request(refused), NOW + 999).unwrap(), SubscriptionChange::default());
    // Lists are not changes; a new second allows changes again.
    state.on_text(r#"{"method":"LIST_SUBSCRIPTIONS","id":0}"#, NOW + 999).unwrap();
    assert_eq!(state.on_text(&request(99), NOW + 1_000).unwrap().added.len(), 1);
    let answers = texts(&mut state);
    assert!(answers[usize::try_from(refused).unwrap()].contains("too many subscription changes"));
}

#[test]
fn pushes_of_streams_no_longer_subscribed_are_ignored_and_combined_frames_are_wrapped() {
    let mut state = SessionState::new(true, 100, NOW);
    state.subscribe_initial(vec![name("btcusdt@trade")]).unwrap();
    assert_eq!(state.push(push("btcusdt@depth", 1)), Pushed::Queued);
    assert_eq!(state.queued(), 0);
    state.push(push("btcusdt@trade", 7));
    assert_eq!(texts(&mut state), [r#"{"stream":"btcusdt@trade","data":{"n":7}}"#]);
}

#[test]
fn heartbeat_pings_then_gives_up_on_a_silent_peer_and_pongs_come_first() {
    let mut state = subscribed(&["btcusdt@trade"]);
    state.push(push("btcusdt@trade", 1));
    assert!(state.on_ping(b"hi".to_vec(), NOW + 10));
    assert_eq!(state.next_frame(), Some(Frame::Pong(b"hi".to_vec())));
    assert_eq!(state.heartbeat(NOW + 10 + PEER_SILENCE_MAX_MS), Heartbeat::Ping);
    assert_eq!(state.next_frame(), Some(Frame::Ping));
    assert_eq!(state.heartbeat(NOW + 11 + PEER_SILENCE_MAX_MS), Heartbeat::TimedOut);
    state.heard(NOW + 11 + PEER_SILENCE_MAX_MS);
    assert_eq!(state.heartbeat(NOW + 12 + PEER_SILENCE_MAX_MS), Heartbeat::Ping);
    for _ in 0..CONTROL_FRAMES_MAX {
        state.on_ping(Vec::new(), NOW);
    }
    assert!(!state.on_ping(Vec::new(), NOW), "pongs owed are bounded");
}

#[derive(Clone, Debug)]
enum Step {
    Diff,
    Trade,
    Pop(u8),
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    let step = prop_oneof![4 => Just(Step::Diff), 2 => Just(Step::Trade), 3 => (1u8..20).prop_map(Step::Pop)];
    prop::collection::vec(step, 1..600)
}

proptest! {
    /// Against a model: the buffer never exceeds its bound; every trade is delivered in order
    /// unless the session overflowed (and then it closes); diffs arrive in order, and every
    /// diff not delivered was reported dropped.
    #[test]
    fn the_outbound_buffer_keeps_its_promises(steps in steps(), bound in 10usize..60) {
        let mut state = SessionState::new(false, bound, NOW);
        state.subscribe_initial(vec![name("x@depth"), name("x@trade")]).unwrap();
        let (mut diffs, mut trades, mut dropped) = (0u64, 0u64, 0usize);
        let (mut got_diffs, mut got_trades) = (Vec::new(), Vec::new());
        let mut collect = |frame: Frame| {
            let Frame::Text { created_ns, .. } = frame else { return };
            if created_ns >= 1_000_000 { got_trades.push(created_ns) } else { got_diffs.push(created_ns) }
        };
        for step in steps {
            let pushed = match step {
                Step::Diff => { diffs += 1; state.push(push("x@depth", diffs)) }
                Step::Trade => { trades += 1; state.push(push("x@trade", 1_000_000 + trades)) }
                Step::Pop(count) => {
                    for _ in 0..count { if let Some(frame) = state.next_frame() { collect(frame) } }
                    Pushed::Queued
                }
            };
            prop_assert!(state.queued() <= bound);
            prop_assert!(state.queued_bytes() <= bound * FRAME_BYTES_AVERAGE_MAX);
            match pushed {
                Pushed::Conflated(n) | Pushed::Dropped { dropped: n } => dropped += n,
                Pushed::Overflow => {
                    prop_assert!(matches!(step, Step::Trade));
                    prop_assert_eq!(state.queued(), bound);
                    trades -= 1; // refused: the shell closes the connection
                    break;
                }
                Pushed::Queued => {}
            }
        }
        while let Some(frame) = state.next_frame() { collect(frame) }
        prop_assert_eq!(state.queued_bytes(), 0);
        let expected_trades: Vec<u64> = (1..=trades).map(|t| 1_000_000 + t).collect();
        prop_assert_eq!(got_trades, expected_trades);
        prop_assert!(got_diffs.windows(2).all(|pair| pair[0] < pair[1]));
        prop_assert_eq!(got_diffs.len() + dropped, usize::try_from(diffs).unwrap());
    }
}
