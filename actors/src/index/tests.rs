use proptest::prelude::*;
use rust_decimal::Decimal;

use super::*;
use crate::ports::Epoch;

fn price(text: &str) -> Decimal {
    text.parse().unwrap()
}

fn sources_with(rules: IndexRules, quotes: &[(&str, &str, u64)]) -> IndexSources {
    let mut sources = IndexSources::new(rules);
    for (source, value, at_ms) in quotes {
        assert!(sources.observe(source, Quote { price: price(value), observed_at_ms: *at_ms }));
    }
    sources
}

const RULES: IndexRules = IndexRules { staleness_ms: 2_000, min_sources: 2, outlier_bps: 500 };

#[test]
fn the_index_is_the_median_of_fresh_quotes() {
    let odd = sources_with(RULES, &[("a", "100", 1_000), ("b", "101", 1_000), ("c", "103", 1_000)]);
    assert_eq!(odd.compute(1_500).unwrap().price, price("101"));
    let even = sources_with(RULES, &[("a", "100", 1_000), ("b", "101", 1_000)]);
    assert_eq!(even.compute(1_500).unwrap().price, price("100.5"));
}

#[test]
fn an_outlier_is_dropped_and_counted() {
    let sources = sources_with(
        RULES,
        &[("a", "100", 1_000), ("b", "101", 1_000), ("c", "102", 1_000), ("bad", "150", 1_000)],
    );
    let value = sources.compute(1_000).unwrap();
    assert_eq!(value.price, price("101"));
    assert_eq!((value.sources_used, value.outliers), (3, 1));
}

#[test]
fn stale_quotes_do_not_count_and_too_few_fresh_means_no_index() {
    let sources = sources_with(RULES, &[("a", "100", 1_000), ("b", "101", 3_500)]);
    assert_eq!(sources.compute(3_000).unwrap().price, price("100.5"), "both fresh at the limit");
    assert_eq!(
        sources.compute(3_001),
        Err(IndexUnavailable::TooFewFreshSources { fresh: 1, needed: 2 })
    );
}

#[test]
fn two_sources_that_disagree_give_no_index() {
    let sources = sources_with(RULES, &[("a", "100", 0), ("b", "130", 0)]);
    assert_eq!(
        sources.compute(0),
        Err(IndexUnavailable::TooFewAgreeing { agreeing: 0, needed: 2 })
    );
}

#[test]
fn an_older_quote_of_a_source_is_ignored() {
    let mut sources = sources_with(RULES, &[("a", "100", 2_000)]);
    assert!(!sources.observe("a", Quote { price: price("90"), observed_at_ms: 1_000 }));
    assert_eq!(sources.quotes().next().unwrap().1.price, price("100"));
}

#[test]
fn sources_are_bounded() {
    let mut sources = IndexSources::new(RULES);
    for number in 0..SOURCES_MAX {
        assert!(
            sources.observe(&format!("s{number}"), Quote { price: price("1"), observed_at_ms: 0 })
        );
    }
    assert!(!sources.observe("one-too-many", Quote { price: price("1"), observed_at_ms: 0 }));
    assert!(
        sources.observe("s0", Quote { price: price("2"), observed_at_ms: 1 }),
        "known still updates"
    );
}

#[test]
fn pushed_quotes_must_be_positive_sane_and_fresh() {
    let check = |value: &str, at_ms: u64, index: Option<&str>| {
        check_pushed_quote(price(value), at_ms, 10_000, 2_000, index.map(price))
    };
    assert_eq!(check("100", 9_000, None), Ok(()));
    assert_eq!(check("0", 9_000, None), Err(PushRefusal::NotPositive));
    assert_eq!(check("-5", 9_000, None), Err(PushRefusal::NotPositive));
    assert_eq!(check("1000000001", 9_000, None), Err(PushRefusal::Absurd));
    assert_eq!(check("1001", 9_000, Some("100")), Err(PushRefusal::Absurd));
    assert_eq!(check("9.99", 9_000, Some("100")), Err(PushRefusal::Absurd));
    assert_eq!(check("1000", 9_000, Some("100")), Ok(()), "exactly 10x is still a price");
    assert_eq!(check("100", 7_999, None), Err(PushRefusal::Stale));
    assert_eq!(check("100", 11_001, None), Err(PushRefusal::FromTheFuture));
}

fn published(epoch: u64, seq: u64) -> PublishedIndex {
    PublishedIndex {
        index: "BTCUSDT".to_owned(),
        price: price("100"),
        seq,
        epoch: Epoch(epoch),
        at_ms: 0,
        sources: 1,
    }
}

#[test]
fn the_gate_refuses_older_epochs_and_replays() {
    let mut gate = EpochGate::new(["BTCUSDT"]);
    assert_eq!(gate.accept(published(1, 1)), Ok(()));
    assert_eq!(gate.accept(published(1, 1)), Err(GateRefusal::Replayed { seq: 1, last: 1 }));
    assert_eq!(gate.accept(published(2, 1)), Ok(()), "a new leader starts its seq again");
    assert_eq!(gate.accept(published(1, 9)), Err(GateRefusal::StaleEpoch { epoch: 1, current: 2 }));
    assert_eq!(
        gate.latest("BTCUSDT").map(|latest| (latest.epoch, latest.seq)),
        Some((Epoch(2), 1))
    );
    let mut unknown = published(3, 1);
    unknown.index = "DOGEUSDT".to_owned();
    assert_eq!(gate.accept(unknown), Err(GateRefusal::UnknownIndex));
}

#[test]
fn leadership_follows_the_lock() {
    let mut leadership = Leadership::new(1_000);
    assert_eq!(leadership.step(), LeadershipStep::Acquire);
    assert_eq!(leadership.next_seq("BTCUSDT"), None, "a follower does not publish");
    leadership.acquired(None, 0);
    assert!(!leadership.is_leader());
    leadership.acquired(Some(Epoch(7)), 0);
    assert_eq!(leadership.step(), LeadershipStep::Renew);
    assert_eq!(leadership.next_seq("BTCUSDT"), Some((Epoch(7), 1)));
    assert_eq!(leadership.next_seq("BTCUSDT"), Some((Epoch(7), 2)));
    leadership.renewed(true, 500);
    leadership.lock_unreachable(1_499);
    assert!(leadership.is_leader(), "within the ttl of the last renewal");
    leadership.lock_unreachable(1_500);
    assert!(!leadership.is_leader(), "past it another process may lead");
    leadership.acquired(Some(Epoch(9)), 2_000);
    assert_eq!(leadership.next_seq("BTCUSDT"), Some((Epoch(9), 1)));
    leadership.renewed(false, 2_100);
    assert_eq!(leadership.step(), LeadershipStep::Acquire);
}

proptest! {
    /// The index lies within the fresh quotes' range, does not depend on the sources' names,
    /// and exists exactly when enough fresh quotes agree.
    #[test]
    fn the_index_is_within_the_fresh_quotes(
        quotes in proptest::collection::vec((1u32..200_000, 0u64..4_000), 0..SOURCES_MAX),
        now_ms in 0u64..6_000,
    ) {
        let rules = IndexRules { staleness_ms: 2_000, min_sources: 2, outlier_bps: 300 };
        let mut forward = IndexSources::new(rules);
        let mut reversed = IndexSources::new(rules);
        for (number, (cents, at_ms)) in quotes.iter().enumerate() {
            let quote = Quote { price: Decimal::new(i64::from(*cents), 2), observed_at_ms: *at_ms };
            forward.observe(&format!("a{number:02}"), quote);
            reversed.observe(&format!("z{:02}", quotes.len() - number), quote);
        }
        let fresh: Vec<Decimal> = quotes
            .iter()
            .filter(|(_, at_ms)| now_ms.saturating_sub(*at_ms) <= rules.staleness_ms)
            .map(|(cents, _)| Decimal::new(i64::from(*cents), 2))
            .collect();
        let value = forward.compute(now_ms);
        prop_assert_eq!(value, reversed.compute(now_ms));
        match value {
            Ok(value) => {
                prop_assert!(fresh.len() >= 2 && value.sources_used >= 2);
                prop_assert_eq!(value.sources_used + value.outliers, fresh.len());
                prop_assert!(fresh.iter().any(|quote| *quote <= value.price));
                prop_assert!(fresh.iter().any(|quote| *quote >= value.price));
            }
            Err(IndexUnavailable::TooFewFreshSources { fresh: counted, .. }) => {
                prop_assert_eq!(counted, fresh.len());
                prop_assert!(counted < 2);
            }
            Err(IndexUnavailable::TooFewAgreeing { agreeing, .. }) => {
                prop_assert!(fresh.len() >= 2 && agreeing < 2);
            }
        }
    }

    /// Whatever order prices arrive in, what the gate accepts rises strictly in (epoch, seq).
    #[test]
    fn the_gate_accepts_a_rising_sequence(
        arrivals in proptest::collection::vec((1u64..5, 1u64..6), 0..60),
    ) {
        let mut gate = EpochGate::new(["BTCUSDT"]);
        let mut last_accepted: Option<(u64, u64)> = None;
        for (epoch, seq) in arrivals {
            if gate.accept(published(epoch, seq)).is_ok() {
                prop_assert!(last_accepted.is_none_or(|last| (epoch, seq) > last));
                last_accepted = Some((epoch, seq));
            } else {
                prop_assert!(last_accepted.is_some_and(|last| (epoch, seq) <= last));
            }
        }
    }
}
