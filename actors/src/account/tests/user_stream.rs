//! The user data stream's source: each own order change in the order applied, with its fill,
//! and each account's part of a drained batch.

use super::*;

#[derive(Debug, PartialEq, Eq)]
enum Kind {
    New,
    Trade { qty: u64, maker: bool },
    Canceled,
}

fn kinds(update: &AccountUpdate) -> Vec<(OrderId, Kind, OrderStatus, u64, i128)> {
    update
        .orders
        .iter()
        .map(|update| {
            let kind = match update.execution {
                Execution::New => Kind::New,
                Execution::Trade(fill) => Kind::Trade { qty: fill.qty.0, maker: fill.maker },
                Execution::Canceled => Kind::Canceled,
                other => panic!("unexpected {other:?}"),
            };
            let order = update.order;
            (order.order_id, kind, order.status, order.executed_qty.0, order.cumulative_quote)
        })
        .collect()
}

#[test]
fn every_change_of_an_own_order_is_reported_in_order_with_cumulative_fills() {
    let mut harness = Harness::new();
    let bought = harness.place(limit(ALICE, Side::Buy, 10_000, 600));
    let resting = harness.place(limit(ALICE, Side::Buy, 9_000, 100));
    let first = harness.place(limit(BOB, Side::Sell, 10_000, 200));
    let second = harness.place(limit(BOB, Side::Sell, 10_000, 400));
    harness.cancel(ALICE, resting);
    harness.state.deposit(ALICE, usdt(), 5, 9).unwrap();

    let mut changes = harness.state.drain_changes();
    let batch = UserBatch::take(&mut changes, 77);
    assert!(changes.order_updates.is_empty(), "taken out of the journaled changes");
    assert_eq!(batch.ts_ns, 77);
    let [alice, bob] = &batch.accounts[..] else { panic!("two accounts: {batch:?}") };
    assert_eq!((alice.account_id, bob.account_id), (ALICE, BOB));
    // One notional unit (tick x lot) is 10 quote minor units.
    let quote = |lots: i128| lots * 10_000 * 10;
    assert_eq!(
        kinds(alice),
        [
            (bought, Kind::New, OrderStatus::New, 0, 0),
            (resting, Kind::New, OrderStatus::New, 0, 0),
            (
                bought,
                Kind::Trade { qty: 200, maker: true },
                OrderStatus::PartiallyFilled,
                200,
                quote(200)
            ),
            (bought, Kind::Trade { qty: 400, maker: true }, OrderStatus::Filled, 600, quote(600)),
            (resting, Kind::Canceled, OrderStatus::Canceled, 0, 0),
        ]
    );
    assert_eq!(
        kinds(bob),
        [
            (first, Kind::New, OrderStatus::New, 0, 0),
            (first, Kind::Trade { qty: 200, maker: false }, OrderStatus::Filled, 200, quote(200)),
            (second, Kind::New, OrderStatus::New, 0, 0),
            (second, Kind::Trade { qty: 400, maker: false }, OrderStatus::Filled, 400, quote(400)),
        ]
    );
    let Execution::Trade(fill) = alice.orders[2].execution else { unreachable!() };
    assert_eq!((fill.commission_asset, fill.price), (btc(), Price(10_000)));
    let Execution::Trade(fill) = bob.orders[1].execution else { unreachable!() };
    assert_eq!(fill.commission_asset, usdt());
    assert!(fill.commission > 0, "a taker pays");
    // The deposit, and the new values of both assets of each account.
    assert_eq!(alice.transfers.len(), 1);
    assert_eq!((alice.transfers[0].kind, alice.transfers[0].amount), (EntryKind::Deposit, 5));
    assert!(bob.transfers.is_empty());
    for update in [alice, bob] {
        let assets: Vec<AssetCode> = update.balances.iter().map(|row| row.asset).collect();
        assert_eq!(assets, [btc(), usdt()]);
        for row in &update.balances {
            let balance = harness.state.balance(update.account_id, row.asset);
            assert_eq!((row.available, row.held), (balance.available, balance.held));
        }
    }
    // Nothing more until something changes.
    let mut changes = harness.state.drain_changes();
    assert!(UserBatch::take(&mut changes, 78).accounts.is_empty());
}
