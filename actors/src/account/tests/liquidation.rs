//! LIQUIDATING at the shard, through the same real `MatchingEngine` harness: a fall below
//! maintenance asks for a reduce-only IOC at the bankruptcy price, the book closes it; past the
//! deadline the insurance fund takes the position at the bankruptcy price; when the fund
//! cannot bear it, ADL closes it against the most profitable opposite positions; conservation
//! holds through all of it (and through random liquidations in the proptest of `perpetual.rs`).

use super::*;

/// The deadline the tests review against.
pub(super) const DEADLINE_NS: u64 = 10_000_000_000;

/// Alice long 100,000 lots (100 BTC) at 100.00 from Bob's short: 10,000 USDT on 1,000.
fn alice_long() -> Harness {
    let mut harness = Harness::new();
    harness.place(limit(ALICE, Side::Buy, 10_000, 100_000));
    harness.place(market(BOB, Side::Sell, 100_000));
    harness
}

/// Runs a review at `now_ns`, sends its cancels and orders through the book; returns it.
pub(super) fn review(harness: &mut Harness, now_ns: u64) -> Vec<LiquidationStep> {
    let steps = harness.state.review_liquidations(now_ns, DEADLINE_NS);
    for step in &steps {
        match step {
            LiquidationStep::Cancel { account, order_ids, .. } => {
                for order_id in order_ids {
                    let cancel = CancelOrder { account_id: *account, order_id: *order_id };
                    harness.book(BookCommand::Cancel(cancel));
                }
            }
            LiquidationStep::CloseThroughBook(request) => {
                let _placed_or_refused = harness.try_place(*request);
            }
            _ => {}
        }
    }
    harness.state.check_invariants().unwrap();
    assert_conserved(&harness.state);
    steps
}

fn closing_orders(steps: &[LiquidationStep]) -> Vec<PlaceRequest> {
    steps
        .iter()
        .filter_map(|step| match step {
            LiquidationStep::CloseThroughBook(request) => Some(*request),
            _ => None,
        })
        .collect()
}

#[test]
fn a_fall_below_maintenance_is_closed_through_the_book_at_the_bankruptcy_price_at_worst() {
    let mut harness = alice_long();
    // Alice's resting bid is canceled first; the IOC follows once nothing of hers is open.
    harness.place(limit(ALICE, Side::Buy, 9_000, 10));
    harness.state.set_mark(perp(), Price(9_230));
    assert!(review(&mut harness, 0).is_empty(), "above maintenance: nothing");
    harness.state.set_mark(perp(), Price(9_229));
    let steps = review(&mut harness, 1);
    assert!(matches!(steps[0], LiquidationStep::Entered(status) if status.account == ALICE));
    assert!(matches!(steps[1], LiquidationStep::Cancel { account: ALICE, .. }));
    assert!(closing_orders(&steps).is_empty(), "no IOC while an order of hers is open");
    assert!(harness.state.is_liquidating(ALICE));
    let opening = limit(ALICE, Side::Buy, 9_000, 1);
    assert_eq!(harness.state.place(opening), Err(AccountReject::Liquidating(ALICE)));
    // Nobody bids: the IOC at the bankruptcy price expires and she stays LIQUIDATING.
    let steps = review(&mut harness, 2);
    let orders = closing_orders(&steps);
    assert_eq!(orders.len(), 1);
    let order = orders[0];
    assert_eq!(
        (order.side, order.time_in_force, order.reduce_only),
        (Side::Sell, TimeInForce::Ioc, true)
    );
    // Bankrupt where the 10,000 USDT long has lost her wallet (1,000 USDT and a 1 USDT
    // rebate): (10,000 - 1,001) / 100 = 89.99.
    assert_eq!(order.price, Some(Price(8_999)));
    assert_eq!(harness.size(ALICE), 100_000);
    // Carol bids 91.00 for all of it: the next IOC sells into her bid; Alice leaves.
    harness.place(limit(CAROL, Side::Buy, 9_100, 100_000));
    let steps = review(&mut harness, 3);
    assert_eq!(closing_orders(&steps).len(), 1);
    assert_eq!(harness.size(ALICE), 0);
    let steps = review(&mut harness, 4);
    assert_eq!(steps, vec![LiquidationStep::Resolved { account: ALICE, age_ns: 3 }]);
    assert!(!harness.state.is_liquidating(ALICE));
    // What she had left above the bankruptcy price stays hers.
    assert!(harness.available(ALICE) > 0);
}

#[test]
fn past_the_deadline_the_insurance_fund_takes_the_position_at_the_bankruptcy_price() {
    let mut harness = alice_long();
    harness.state.set_mark(perp(), Price(9_229));
    review(&mut harness, 0);
    let wallet = harness.available(ALICE);
    let cost = harness.state.position(ALICE, perp()).entry_cost;
    let steps = review(&mut harness, DEADLINE_NS);
    let closed = steps.iter().find_map(|step| match step {
        LiquidationStep::ClosedOut { closed, .. } => Some(closed.clone()),
        _ => None,
    });
    let closed = closed.expect("closed out at the deadline");
    assert!(closed.insurance_could && closed.deleveraged.is_empty());
    assert_eq!(closed.insurance_lots, 100_000);
    assert_eq!((harness.size(ALICE), harness.available(ALICE)), (0, 0));
    let fund = harness.state.position(INSURANCE_FUND, perp());
    assert_eq!((fund.size_lots, fund.entry_cost), (100_000, cost - wallet));
    // At the mark (above the bankruptcy price) the fund's position is worth more than it paid.
    assert!(harness.state.insurance_equity(usdt()) > 0);
    assert!(!harness.state.is_liquidating(ALICE));
    assert!(harness.state.accounts_below_maintenance().is_empty(), "the fund is never liquidated");
    let changes = harness.state.drain_changes();
    assert_eq!(changes.liquidations, vec![(ALICE, None)]);
}

#[test]
fn when_the_fund_cannot_the_most_profitable_opposite_positions_are_deleveraged() {
    let mut harness = Harness::new();
    // Alice long 100,000: 60,000 from Bob, 40,000 from Carol; Bob then withdraws what he can,
    // so his leverage (and his ADL rank) is the higher.
    harness.place(limit(ALICE, Side::Buy, 10_000, 100_000));
    harness.place(market(BOB, Side::Sell, 60_000));
    harness.place(market(CAROL, Side::Sell, 40_000));
    let free = harness.state.free_margin(BOB, usdt());
    harness.state.withdraw(BOB, usdt(), free, 9).unwrap();
    // The mark falls past Alice's bankruptcy price (89.99): the empty fund cannot take it.
    harness.state.set_mark(perp(), Price(8_500));
    review(&mut harness, 0);
    let (bob_before, carol_before) = (harness.available(BOB), harness.available(CAROL));
    let steps = review(&mut harness, DEADLINE_NS);
    let closed = steps.iter().find_map(|step| match step {
        LiquidationStep::ClosedOut { closed, .. } => Some(closed.clone()),
        _ => None,
    });
    let closed = closed.expect("closed out at the deadline");
    assert!(!closed.insurance_could);
    assert_eq!(closed.insurance_lots, 0);
    let order: Vec<(AccountId, u64)> =
        closed.deleveraged.iter().map(|fill| (fill.counterparty, fill.lots)).collect();
    assert_eq!(order, vec![(BOB, 60_000), (CAROL, 40_000)]);
    assert_eq!((harness.size(ALICE), harness.size(BOB), harness.size(CAROL)), (0, 0, 0));
    assert_eq!(harness.available(ALICE), 0);
    // The shorts realized their profit at the bankruptcy price (89.99), not at the mark.
    // Bob's 60% of the 8,999 USDT Alice's long was worth at 89.99: 6,000 - 5,399.4.
    assert_eq!(harness.available(BOB) - bob_before, 60_060 * USDT / 100);
    assert!(harness.available(CAROL) > carol_before);
    assert_eq!(harness.state.position(INSURANCE_FUND, perp()).size_lots, 0);
}

#[test]
fn the_closing_order_stays_inside_the_books_price_band() {
    let mut harness = alice_long();
    // A 5% band around the last trade (100.00): a sell below 95.00 would be refused, so the
    // IOC asks 95.00 rather than her bankruptcy price of 89.99.
    harness.state.markets.get_mut(&perp()).unwrap().price_band_bps = 500;
    harness.state.set_mark(perp(), Price(9_229));
    let steps = harness.state.review_liquidations(0, DEADLINE_NS);
    let orders = closing_orders(&steps);
    assert_eq!(
        orders.iter().map(|order| order.price).collect::<Vec<_>>(),
        vec![Some(Price(9_500))]
    );
}
