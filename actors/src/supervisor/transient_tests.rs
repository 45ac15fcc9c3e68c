use std::collections::BTreeMap;
use std::time::Duration;

use proptest::prelude::*;

use super::*;

const MS: u64 = 1_000_000;

fn symbol() -> SymbolCode {
    SymbolCode::new("BTCUSDT").unwrap()
}

fn deadlines() -> Deadlines {
    Deadlines {
        pending: Duration::from_millis(100),
        canceling: Duration::from_millis(50),
        liquidating: Duration::from_millis(200),
    }
}

fn ids(overdue: &[Overdue]) -> Vec<(u64, TransientState)> {
    overdue.iter().map(|item| (item.order_id.0, item.state)).collect()
}

#[test]
fn an_order_is_overdue_once_its_state_deadline_has_passed() {
    let mut orders = TransientOrders::new(10);
    orders.enter(OrderId(1), symbol(), TransientState::Pending, 0).unwrap();
    orders.enter(OrderId(2), symbol(), TransientState::Canceling, 0).unwrap();
    orders.enter(OrderId(3), symbol(), TransientState::Liquidating, 0).unwrap();
    assert!(orders.overdue(49 * MS, &deadlines()).is_empty());
    assert_eq!(ids(&orders.overdue(50 * MS, &deadlines())), [(2, TransientState::Canceling)]);
    assert_eq!(
        ids(&orders.overdue(100 * MS, &deadlines())),
        [(1, TransientState::Pending), (2, TransientState::Canceling)]
    );
    assert_eq!(orders.overdue(200 * MS, &deadlines()).len(), 3);
}

#[test]
fn entering_the_same_state_again_keeps_the_first_deadline() {
    let mut orders = TransientOrders::new(10);
    orders.enter(OrderId(1), symbol(), TransientState::Canceling, 0).unwrap();
    orders.enter(OrderId(1), symbol(), TransientState::Canceling, 40 * MS).unwrap();
    assert_eq!(orders.overdue(50 * MS, &deadlines()).len(), 1);
}

#[test]
fn a_pending_order_being_canceled_starts_the_canceling_clock() {
    let mut orders = TransientOrders::new(10);
    orders.enter(OrderId(1), symbol(), TransientState::Pending, 0).unwrap();
    orders.enter(OrderId(1), symbol(), TransientState::Canceling, 90 * MS).unwrap();
    assert_eq!(orders.state_of(OrderId(1)), Some(TransientState::Canceling));
    assert!(orders.overdue(100 * MS, &deadlines()).is_empty());
    assert_eq!(ids(&orders.overdue(140 * MS, &deadlines())), [(1, TransientState::Canceling)]);
}

#[test]
fn retain_forgets_resolved_orders_and_reports_their_age() {
    let mut orders = TransientOrders::new(10);
    orders.enter(OrderId(1), symbol(), TransientState::Pending, 10 * MS).unwrap();
    orders.enter(OrderId(2), symbol(), TransientState::Canceling, 20 * MS).unwrap();
    let left = orders.retain(35 * MS, |order_id, _| order_id == OrderId(2));
    assert_eq!(
        left,
        [Left { order_id: OrderId(1), state: TransientState::Pending, age_ns: 25 * MS }]
    );
    assert_eq!(
        (orders.count(TransientState::Pending), orders.count(TransientState::Canceling)),
        (0, 1)
    );
    assert_eq!(orders.state_of(OrderId(1)), None);
}

#[test]
fn a_full_tracker_refuses_new_orders_but_moves_known_ones() {
    let mut orders = TransientOrders::new(1);
    orders.enter(OrderId(1), symbol(), TransientState::Pending, 0).unwrap();
    assert_eq!(
        orders.enter(OrderId(2), symbol(), TransientState::Pending, 0),
        Err(TrackerFull { capacity: 1 })
    );
    orders.enter(OrderId(1), symbol(), TransientState::Canceling, 0).unwrap();
    assert_eq!(orders.len(), 1);
}

#[derive(Clone, Debug)]
enum Step {
    Enter(u64, TransientState),
    Resolve(u64),
    Advance(u64),
}

fn step() -> impl Strategy<Value = Step> {
    let state = prop::sample::select(TransientState::ALL.to_vec());
    prop_oneof![
        (0..20u64, state).prop_map(|(id, state)| Step::Enter(id, state)),
        (0..20u64).prop_map(Step::Resolve),
        (0..80u64).prop_map(|ms| Step::Advance(ms * MS)),
    ]
}

proptest! {
    /// Against a model (a map of order -> state and the time its current state began): the
    /// overdue list is exactly the orders whose state deadline has passed, the counts match,
    /// and every resolved order is reported once with its true age.
    #[test]
    fn tracker_matches_a_model(steps in prop::collection::vec(step(), 1..200)) {
        let mut orders = TransientOrders::new(15);
        let mut model: BTreeMap<u64, (TransientState, u64)> = BTreeMap::new();
        let mut now_ns = 0;
        for step in steps {
            match step {
                Step::Enter(id, state) => {
                    let entered = orders.enter(OrderId(id), symbol(), state, now_ns);
                    match model.get(&id) {
                        Some(&(known, _)) if known == state => prop_assert!(entered.is_ok()),
                        Some(_) => {
                            prop_assert!(entered.is_ok());
                            model.insert(id, (state, now_ns));
                        }
                        None if model.len() >= 15 => prop_assert!(entered.is_err()),
                        None => {
                            prop_assert!(entered.is_ok());
                            model.insert(id, (state, now_ns));
                        }
                    }
                }
                Step::Resolve(id) => {
                    let left = orders.retain(now_ns, |order_id, _| order_id != OrderId(id));
                    let expected: Vec<Left> = model
                        .remove(&id)
                        .map(|(state, at)| Left { order_id: OrderId(id), state, age_ns: now_ns - at })
                        .into_iter()
                        .collect();
                    prop_assert_eq!(left, expected);
                }
                Step::Advance(ns) => now_ns += ns,
            }
            let expected: Vec<(u64, TransientState)> = model
                .iter()
                .filter(|(_, (state, at))| {
                    u128::from(now_ns - at) >= deadlines().of(*state).as_nanos()
                })
                .map(|(id, (state, _))| (*id, *state))
                .collect();
            prop_assert_eq!(ids(&orders.overdue(now_ns, &deadlines())), expected);
            for state in TransientState::ALL {
                let count = model.values().filter(|(known, _)| *known == state).count();
                prop_assert_eq!(orders.count(state), count);
            }
        }
    }
}
