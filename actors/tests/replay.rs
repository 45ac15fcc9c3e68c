//! Replay and restore: the engine's state is a pure function of its input log (DESIGN.md,
//! invariant 2).
//!
//! For random scenarios (the same generator as the model-based test): the log, recorded and
//! round-tripped through postcard like a journal, applied to a fresh engine gives byte-identical
//! output (results, events, bulk-cancel failures) and the same state hash after every input.
//! And a snapshot taken at a random cut, round-tripped through postcard and restored, then fed
//! the rest of the log, gives the same output bytes and hashes as running straight through.
//!
//! Cases: 1,000 by default; `PROPTEST_CASES` overrides.

mod scenario;

use exchange_actors::book::{BookLimits, BookSnapshot, EngineOutput, MatchingEngine};
use exchange_actors::model::{AccountId, BookEvent, BookInput, RejectReason};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{FileFailurePersistence, RngAlgorithm};
use scenario::{ACCOUNTS, Resolver, Step, limits_strategy, steps_strategy};

const CASES_DEFAULT: u32 = 1_000;

const STEPS_MAX: usize = 200;

fn config() -> ProptestConfig {
    let defaults = ProptestConfig::default();
    let cases =
        if std::env::var_os("PROPTEST_CASES").is_some() { defaults.cases } else { CASES_DEFAULT };
    // XorShift: see model_based.rs (ChaCha dominates generation time in debug builds).
    // Tests run with the package as working directory: failing seeds go to
    // actors/proptest-regressions/ (commit it), and are replayed first on the next run.
    let regressions = FileFailurePersistence::Direct("proptest-regressions/replay.txt");
    ProptestConfig {
        cases,
        rng_algorithm: RngAlgorithm::XorShift,
        failure_persistence: Some(Box::new(regressions)),
        ..defaults
    }
}

/// What a run produced: per input, the postcard bytes of (result, events, bulk-cancel
/// failures) and the state hash after it; and all events in order.
#[derive(Debug, Default, PartialEq, Eq)]
struct Run {
    outputs: Vec<Vec<u8>>,
    hashes: Vec<[u8; 32]>,
    events: Vec<BookEvent>,
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn replayed_log_gives_identical_bytes_and_hashes(
        limits in limits_strategy(),
        steps in steps_strategy(STEPS_MAX),
    ) {
        let (log, recorded) = record(limits, &steps);
        let log = journal_round_trip(&log);
        let replayed = replay(&mut MatchingEngine::new(limits), &log);
        prop_assert_eq!(&replayed, &recorded);
        // A second replay, to be sure nothing outside the engine (no clock, no global) leaks in.
        prop_assert_eq!(&replay(&mut MatchingEngine::new(limits), &log), &recorded);
        // The whole log as one journal batch into one reused output: the same events.
        let mut batch = EngineOutput::default();
        let mut engine = MatchingEngine::new(limits);
        for input in &log {
            let _refusal_is_in_the_events = engine.apply(input, &mut batch);
        }
        prop_assert_eq!(&batch.events, &recorded.events);
    }

    #[test]
    fn restore_at_a_cut_then_continue_equals_straight_run(
        limits in limits_strategy(),
        steps in steps_strategy(STEPS_MAX),
        cut in any::<Index>(),
    ) {
        let (log, straight) = record(limits, &steps);
        let cut = cut.index(log.len() + 1);
        let mut before_cut = MatchingEngine::new(limits);
        let head = replay(&mut before_cut, &log[..cut]);
        let snapshot = before_cut.snapshot();
        let bytes = postcard::to_stdvec(&snapshot).expect("snapshot encodes");
        let decoded: BookSnapshot = postcard::from_bytes(&bytes).expect("snapshot decodes");
        prop_assert_eq!(&decoded, &snapshot);
        let mut restored = MatchingEngine::restore(limits, &decoded)
            .map_err(|error| TestCaseError::fail(format!("restore refused: {error}")))?;
        prop_assert_eq!(restored.state_hash(), before_cut.state_hash());
        same_queries(&restored, &before_cut)?;
        let tail = replay(&mut restored, &log[cut..]);
        prop_assert_eq!(&head.outputs[..], &straight.outputs[..cut]);
        prop_assert_eq!(&tail.outputs[..], &straight.outputs[cut..]);
        prop_assert_eq!(&tail.hashes[..], &straight.hashes[cut..]);
    }
}

/// Runs the scenario once, resolving its steps against the engine's own resting orders: the
/// recorded input log and what it produced.
fn record(limits: BookLimits, steps: &[Step]) -> (Vec<BookInput>, Run) {
    let mut engine = MatchingEngine::new(limits);
    let mut resolver = Resolver::default();
    let mut out = EngineOutput::default();
    let mut log = Vec::with_capacity(steps.len());
    let mut run = Run::default();
    for step in steps {
        let input = resolver.input(step, &engine.snapshot().orders, engine.last_input_seq());
        out.clear();
        let result = engine.apply(&input, &mut out);
        run.push(result, &out, &engine);
        log.push(input);
    }
    (log, run)
}

fn replay(engine: &mut MatchingEngine, log: &[BookInput]) -> Run {
    let mut out = EngineOutput::default();
    let mut run = Run::default();
    for input in log {
        out.clear();
        let result = engine.apply(input, &mut out);
        run.push(result, &out, engine);
    }
    run
}

impl Run {
    fn push(
        &mut self,
        result: Result<(), RejectReason>,
        out: &EngineOutput,
        engine: &MatchingEngine,
    ) {
        let bytes = postcard::to_stdvec(&(result, &out.events, &out.cancel_failures));
        self.outputs.push(bytes.expect("output encodes"));
        self.hashes.push(engine.state_hash());
        self.events.extend_from_slice(&out.events);
    }
}

/// The log as a journal would hand it back: encoded, then decoded.
fn journal_round_trip(log: &[BookInput]) -> Vec<BookInput> {
    let bytes = postcard::to_stdvec(log).expect("log encodes");
    let decoded: Vec<BookInput> = postcard::from_bytes(&bytes).expect("log decodes");
    assert_eq!(decoded, log, "postcard round trip of the input log");
    decoded
}

/// The hash covers the snapshot; these cover what it does not show directly: the level
/// ladders and each account's list.
fn same_queries(restored: &MatchingEngine, original: &MatchingEngine) -> Result<(), TestCaseError> {
    prop_assert_eq!(restored.depth(usize::MAX), original.depth(usize::MAX));
    prop_assert_eq!(restored.best_bid(), original.best_bid());
    prop_assert_eq!(restored.best_ask(), original.best_ask());
    prop_assert_eq!(restored.last_input_seq(), original.last_input_seq());
    prop_assert_eq!(restored.last_event_seq(), original.last_event_seq());
    prop_assert_eq!(restored.reference_price(), original.reference_price());
    for account in 1..=ACCOUNTS {
        let account_id = AccountId(account);
        let restored_orders: Vec<_> = restored.account_orders(account_id).collect();
        let original_orders: Vec<_> = original.account_orders(account_id).collect();
        prop_assert_eq!(restored_orders, original_orders);
    }
    Ok(())
}
