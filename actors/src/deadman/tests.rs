//! The countdown table: named cases, and a model-based property test against a naive map.

use std::collections::BTreeMap;

use proptest::prelude::*;
use rstest::rstest;

use super::*;
use crate::model::{AccountId, SymbolCode};

fn key(account: u64, symbol: Option<&str>) -> CountdownKey {
    CountdownKey {
        account_id: AccountId(account),
        symbol: symbol.map(|text| SymbolCode::new(text).unwrap()),
    }
}

#[rstest]
#[case::zero_disarms(0, Ok(None))]
#[case::shortest(COUNTDOWN_MS_MIN, Ok(Some(10_000 + COUNTDOWN_MS_MIN)))]
#[case::longest(COUNTDOWN_MS_MAX, Ok(Some(10_000 + COUNTDOWN_MS_MAX)))]
#[case::too_short(COUNTDOWN_MS_MIN - 1, Err(CountdownError::OutOfRange { countdown_ms: 999 }))]
#[case::one_ms(1, Err(CountdownError::OutOfRange { countdown_ms: 1 }))]
#[case::too_long(COUNTDOWN_MS_MAX + 1, Err(CountdownError::OutOfRange { countdown_ms: 600_001 }))]
#[case::huge(u64::MAX, Err(CountdownError::OutOfRange { countdown_ms: u64::MAX }))]
fn countdown_range(
    #[case] countdown_ms: u64,
    #[case] expected: Result<Option<u64>, CountdownError>,
) {
    let mut countdowns = Countdowns::new();
    assert_eq!(countdowns.set(key(1, None), countdown_ms, 10_000), expected);
    assert_eq!(countdowns.armed(), usize::from(matches!(expected, Ok(Some(_)))));
}

#[test]
fn expires_at_the_deadline_not_before() {
    let mut countdowns = Countdowns::new();
    countdowns.set(key(1, Some("BTCUSDT")), 1_000, 5_000).unwrap();
    assert!(countdowns.expire(5_999).is_empty());
    assert_eq!(countdowns.next_deadline_ms(), Some(6_000));
    assert_eq!(countdowns.expire(6_000), vec![key(1, Some("BTCUSDT"))]);
    assert_eq!(countdowns.armed(), 0);
    assert!(countdowns.expire(u64::MAX).is_empty(), "an expired switch fires once");
}

#[test]
fn refresh_moves_the_deadline() {
    let mut countdowns = Countdowns::new();
    let btc = key(1, Some("BTCUSDT"));
    countdowns.set(btc, 1_000, 0).unwrap();
    for now_ms in [900, 1_800, 2_700] {
        assert!(countdowns.expire(now_ms).is_empty());
        assert_eq!(countdowns.set(btc, 1_000, now_ms), Ok(Some(now_ms + 1_000)));
    }
    assert!(countdowns.expire(3_699).is_empty());
    assert_eq!(countdowns.expire(3_700), vec![btc]);
}

#[test]
fn zero_disarms_and_disarming_nothing_is_fine() {
    let mut countdowns = Countdowns::new();
    countdowns.set(key(1, None), 1_000, 0).unwrap();
    assert_eq!(countdowns.set(key(1, None), 0, 500), Ok(None));
    assert_eq!(countdowns.set(key(2, None), 0, 500), Ok(None));
    assert!(countdowns.expire(u64::MAX).is_empty());
    assert_eq!(countdowns.next_deadline_ms(), None);
}

#[test]
fn all_symbols_and_one_symbol_are_independent() {
    let mut countdowns = Countdowns::new();
    countdowns.set(key(1, None), 1_000, 0).unwrap();
    countdowns.set(key(1, Some("BTCUSDT")), 2_000, 0).unwrap();
    countdowns.set(key(2, None), 1_000, 0).unwrap();
    assert_eq!(countdowns.set(key(1, None), 0, 10), Ok(None));
    assert_eq!(countdowns.expire(1_000), vec![key(2, None)]);
    assert_eq!(countdowns.expire(2_000), vec![key(1, Some("BTCUSDT"))]);
}

#[test]
fn an_account_holds_at_most_its_bound_but_may_refresh() {
    let mut countdowns = Countdowns::new();
    let symbol = |index: usize| key(7, Some(&format!("S{index}")));
    for index in 0..COUNTDOWNS_PER_ACCOUNT_MAX {
        countdowns.set(symbol(index), 1_000, 0).unwrap();
    }
    let full = CountdownError::AccountFull { account_id: AccountId(7) };
    assert_eq!(countdowns.set(key(7, None), 1_000, 0), Err(full));
    assert_eq!(countdowns.armed_of(AccountId(7)), COUNTDOWNS_PER_ACCOUNT_MAX);
    assert_eq!(countdowns.set(symbol(0), 5_000, 0), Ok(Some(5_000)), "refresh is never refused");
    assert!(countdowns.set(key(8, None), 1_000, 0).is_ok(), "other accounts are not affected");
    assert_eq!(countdowns.set(symbol(1), 0, 0), Ok(None));
    assert!(countdowns.set(key(7, None), 1_000, 0).is_ok(), "a disarm frees a place");
}

#[test]
fn account_count_does_not_leak_into_neighbours() {
    let mut countdowns = Countdowns::new();
    countdowns.set(key(u64::MAX, None), 1_000, 0).unwrap();
    countdowns.set(key(u64::MAX - 1, Some("A")), 1_000, 0).unwrap();
    countdowns.set(key(0, Some("A")), 1_000, 0).unwrap();
    assert_eq!(countdowns.armed_of(AccountId(u64::MAX)), 1);
    assert_eq!(countdowns.armed_of(AccountId(u64::MAX - 1)), 1);
    assert_eq!(countdowns.armed_of(AccountId(1)), 0);
}

#[derive(Clone, Debug)]
enum Step {
    Set { account: u64, symbol: Option<u8>, countdown_ms: u64 },
    Advance { ms: u64 },
}

fn step() -> impl Strategy<Value = Step> {
    let countdown = prop_oneof![
        Just(0_u64),
        COUNTDOWN_MS_MIN..=COUNTDOWN_MS_MIN + 3_000,
        Just(COUNTDOWN_MS_MAX),
        Just(COUNTDOWN_MS_MIN - 1),
        Just(COUNTDOWN_MS_MAX + 1),
    ];
    prop_oneof![
        3 => (0..3_u64, proptest::option::of(0..80_u8), countdown)
            .prop_map(|(account, symbol, countdown_ms)| Step::Set { account, symbol, countdown_ms }),
        1 => (0..2_500_u64).prop_map(|ms| Step::Advance { ms }),
    ]
}

proptest! {
    /// Random arms, refreshes, disarms and time steps: the table agrees with a naive map of
    /// deadlines after every step, expires exactly the keys at or past their deadline, and
    /// never holds more than the per-account bound.
    #[test]
    fn agrees_with_a_naive_model(steps in proptest::collection::vec(step(), 1..300)) {
        let mut countdowns = Countdowns::new();
        let mut model: BTreeMap<CountdownKey, u64> = BTreeMap::new();
        let mut now_ms = 1_000_u64;
        for step in steps {
            match step {
                Step::Set { account, symbol, countdown_ms } => {
                    let symbol = symbol.map(|index| format!("S{index}"));
                    let key = key(account, symbol.as_deref());
                    let got = countdowns.set(key, countdown_ms, now_ms);
                    let in_range = (COUNTDOWN_MS_MIN..=COUNTDOWN_MS_MAX).contains(&countdown_ms);
                    let account_armed =
                        model.keys().filter(|armed| armed.account_id == key.account_id).count();
                    let expected = if countdown_ms == 0 {
                        model.remove(&key);
                        Ok(None)
                    } else if !in_range {
                        Err(CountdownError::OutOfRange { countdown_ms })
                    } else if !model.contains_key(&key)
                        && account_armed >= COUNTDOWNS_PER_ACCOUNT_MAX
                    {
                        Err(CountdownError::AccountFull { account_id: key.account_id })
                    } else {
                        model.insert(key, now_ms + countdown_ms);
                        Ok(Some(now_ms + countdown_ms))
                    };
                    prop_assert_eq!(got, expected);
                }
                Step::Advance { ms } => {
                    now_ms += ms;
                    let mut expired = countdowns.expire(now_ms);
                    let mut due: Vec<CountdownKey> = model
                        .iter()
                        .filter(|(_, deadline_ms)| **deadline_ms <= now_ms)
                        .map(|(key, _)| *key)
                        .collect();
                    model.retain(|_, deadline_ms| *deadline_ms > now_ms);
                    expired.sort();
                    due.sort();
                    prop_assert_eq!(expired, due);
                }
            }
            prop_assert_eq!(countdowns.armed(), model.len());
            prop_assert_eq!(countdowns.next_deadline_ms(), model.values().min().copied());
            for (key, deadline_ms) in &model {
                prop_assert_eq!(countdowns.deadline_ms(*key), Some(*deadline_ms));
            }
            for account in 0..3 {
                prop_assert!(countdowns.armed_of(AccountId(account)) <= COUNTDOWNS_PER_ACCOUNT_MAX);
            }
        }
    }
}
