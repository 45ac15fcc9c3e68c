use proptest::prelude::*;
use rust_decimal::Decimal;

use super::*;

fn dec(text: &str) -> Decimal {
    text.parse().unwrap()
}

fn fill(qty: &str, price: &str) -> Fill {
    Fill { qty: dec(qty), price: dec(price) }
}

const RATES: MarginRates = MarginRates {
    initial: Decimal::from_parts(5, 0, 0, false, 2),
    maintenance: Decimal::from_parts(1, 0, 0, false, 2),
};

/// Decimal division rounds at 28 digits; identities hold to far better than a cent.
fn close(left: Decimal, right: Decimal) -> bool {
    (left - right).abs() <= dec("0.000000001")
}

#[test]
fn adding_averages_the_entry_reducing_realizes_and_flipping_reopens() {
    let mut position = Position::default();
    assert_eq!(position.apply(fill("2", "100")), Decimal::ZERO);
    assert_eq!(position.apply(fill("2", "110")), Decimal::ZERO);
    assert_eq!(position, Position { size: dec("4"), entry_price: dec("105") });
    assert_eq!(position.apply(fill("-1", "120")), dec("15"));
    assert_eq!(position.entry_price, dec("105"), "reducing keeps the entry");
    assert_eq!(position.apply(fill("-4", "100")), dec("-15"), "3 closed at 5 below the entry");
    assert_eq!(position, Position { size: dec("-1"), entry_price: dec("100") });
    assert_eq!(position.apply(fill("1", "90")), dec("10"), "a short gains when the price falls");
    assert!(position.is_flat());
    assert_eq!(position.entry_price, Decimal::ZERO);
}

#[test]
fn pnl_margin_and_the_prices_where_margin_runs_out() {
    let long = Position { size: dec("1"), entry_price: dec("100") };
    assert_eq!(long.unrealized_pnl(dec("90")), dec("-10"));
    assert_eq!(long.maintenance_margin(dec("100"), RATES), dec("1.00"));
    assert_eq!(long.initial_margin(dec("100"), RATES), dec("5.00"));
    assert_eq!(long.bankruptcy_price(dec("10"), Decimal::ZERO), Some(dec("90")));
    let short = Position { size: dec("-1"), entry_price: dec("100") };
    assert_eq!(short.bankruptcy_price(dec("10"), Decimal::ZERO), Some(dec("110")));
    // Long 1 at 100 with 10 of wallet, 1% maintenance: liquidated at 90 / 0.99.
    let price = liquidation_price(&long, dec("10"), Decimal::ZERO, RATES).unwrap();
    assert!(close(price, dec("90") / dec("0.99")), "{price}");
    // A wallet larger than the position's value: no positive price liquidates the long.
    assert_eq!(liquidation_price(&long, dec("1000"), Decimal::ZERO, RATES), None);
    assert_eq!(liquidation_price(&Position::default(), dec("10"), Decimal::ZERO, RATES), None);
}

fn fills() -> impl Strategy<Value = Vec<Fill>> {
    proptest::collection::vec(
        ((-50i64..=50).prop_filter("not zero", |qty| *qty != 0), 1i64..100_000),
        1..40,
    )
    .prop_map(|fills| {
        fills
            .into_iter()
            .map(|(qty, cents)| Fill { qty: Decimal::new(qty, 1), price: Decimal::new(cents, 2) })
            .collect()
    })
}

proptest! {
    /// Whatever the fills, realized plus unrealized PnL is the position's cash flow: what was
    /// paid for buys and received for sells, plus the open size valued at the mark.
    #[test]
    fn realized_plus_unrealized_is_the_cash_flow(fills in fills(), mark_cents in 1i64..100_000) {
        let mark = Decimal::new(mark_cents, 2);
        let mut position = Position::default();
        let realized: Decimal = fills.iter().map(|fill| position.apply(*fill)).sum();
        let cash: Decimal = fills.iter().map(|fill| -fill.qty * fill.price).sum();
        prop_assert!(close(realized + position.unrealized_pnl(mark), cash + position.size * mark));
        prop_assert_eq!(position.size, fills.iter().map(|fill| fill.qty).sum::<Decimal>());
    }

    /// Every trade has two sides: the PnL of a position and of its counterparty's sums to zero.
    #[test]
    fn the_two_sides_of_the_same_trades_sum_to_zero(fills in fills(), mark_cents in 1i64..100_000) {
        let mark = Decimal::new(mark_cents, 2);
        let (mut buyer, mut seller) = (Position::default(), Position::default());
        let mut total = Decimal::ZERO;
        for fill in &fills {
            total += buyer.apply(*fill);
            total += seller.apply(Fill { qty: -fill.qty, price: fill.price });
        }
        total += buyer.unrealized_pnl(mark) + seller.unrealized_pnl(mark);
        prop_assert!(close(total, Decimal::ZERO), "{}", total);
    }

    /// At the bankruptcy price the margin balance is zero; at the liquidation price it equals
    /// the maintenance margin; past the liquidation price the account is below maintenance.
    #[test]
    fn margin_runs_out_exactly_at_the_computed_prices(
        size_tenths in (-100i64..=100).prop_filter("not flat", |size| *size != 0),
        entry_cents in 1_000i64..10_000_000,
        wallet_cents in 0i64..10_000_000,
    ) {
        let position = Position { size: Decimal::new(size_tenths, 1), entry_price: Decimal::new(entry_cents, 2) };
        let wallet = Decimal::new(wallet_cents, 2);
        let bankrupt = position.bankruptcy_price(wallet, Decimal::ZERO).unwrap();
        if bankrupt > Decimal::ZERO {
            prop_assert!(close(margin_balance(wallet, &[(position, bankrupt)]), Decimal::ZERO));
        }
        if let Some(liquidation) = liquidation_price(&position, wallet, Decimal::ZERO, RATES) {
            let balance = margin_balance(wallet, &[(position, liquidation)]);
            prop_assert!(close(balance, position.maintenance_margin(liquidation, RATES)));
            let worse = if position.size.is_sign_positive() {
                liquidation * dec("0.99")
            } else {
                liquidation * dec("1.01")
            };
            prop_assert!(margin_balance(wallet, &[(position, worse)]) < position.maintenance_margin(worse, RATES));
            // Liquidation comes before bankruptcy: something is left for the insurance fund.
            if position.size.is_sign_positive() {
                prop_assert!(liquidation >= bankrupt);
            } else {
                prop_assert!(liquidation <= bankrupt);
            }
        }
    }
}
