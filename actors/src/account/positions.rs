//! [`Position`]: one account's signed position in one linear perpetual, in exact ledger units.
//!
//! One-way mode: long (size > 0) or short (size < 0). The open size's cost is kept as an exact
//! amount of quote minor units (`entry_cost`, the notional paid for a long or received for a
//! short), so the average entry price is `entry_cost / size` and never rounded. Reducing by
//! `q` of `|size|` lots takes `entry_cost * q / |size|` (rounded down) out of the cost; whatever
//! that rounding leaves stays in the cost and is realized with the last lot. So, per account,
//! `realized_pnl - signed cost` always equals the cash the account's fills exchanged, and over
//! all accounts (whose sizes sum to zero) the realized PnL is exactly the negative of the open
//! positions' unrealized PnL at any common price: what the perpetual's clearing account holds.
//!
//! The margin math on decimals (liquidation and bankruptcy prices) is
//! [`crate::liquidation::Position`]; [`Position::to_margin`] converts.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::model::{AccountId, SymbolCode};

/// One account's position in one perpetual. Amounts are quote minor units.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    /// Signed size in lots (contracts): > 0 long, < 0 short.
    pub size_lots: i64,
    /// What the open size cost (long) or brought in (short), in quote minor units; 0 when flat.
    pub entry_cost: i128,
    /// PnL realized by reducing fills since the position was first opened (fees excluded).
    pub realized_pnl: i128,
    /// Funding received (> 0) or paid (< 0) since the position was first opened.
    pub funding_pnl: i128,
}

/// A position as the shell stores it (one row per account and perpetual).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PositionRow {
    pub account: AccountId,
    pub symbol: SymbolCode,
    pub position: Position,
}

impl Position {
    pub fn is_flat(&self) -> bool {
        self.size_lots == 0
    }

    /// `size_lots` with the sign of `entry_cost`: + paid for a long, - received for a short.
    pub fn signed_cost(&self) -> i128 {
        if self.size_lots < 0 { -self.entry_cost } else { self.entry_cost }
    }

    /// Applies a fill of `lots` (> 0 bought, < 0 sold) worth `value` quote minor units (price x
    /// |lots|, exact); returns the PnL it realizes. Adding keeps the cost exact; reducing takes
    /// the closed lots' share of the cost; flipping closes the whole position and opens the rest
    /// at the fill's price.
    pub fn apply_fill(&mut self, lots: i64, value: i128) -> i128 {
        assert!(value >= 0, "fill value {value} is negative");
        if lots == 0 {
            return 0;
        }
        let fill_lots = i128::from(lots.unsigned_abs());
        if self.size_lots == 0 || (self.size_lots > 0) == (lots > 0) {
            self.size_lots = self.size_lots.checked_add(lots).expect("position size overflows i64");
            self.entry_cost = self.entry_cost.checked_add(value).expect("cost overflows i128");
            return 0;
        }
        let open_lots = i128::from(self.size_lots.unsigned_abs());
        let closed_lots = fill_lots.min(open_lots);
        let closed_cost = mul_div(self.entry_cost, closed_lots, open_lots);
        // value is price x fill_lots, so its share for the closed lots is exact.
        let closed_value = mul_div(value, closed_lots, fill_lots);
        let realized = if self.size_lots > 0 {
            closed_value - closed_cost
        } else {
            closed_cost - closed_value
        };
        self.realized_pnl += realized;
        if fill_lots <= open_lots {
            self.size_lots += lots;
            self.entry_cost -= closed_cost;
            if self.size_lots == 0 {
                debug_assert_eq!(self.entry_cost, 0, "a closed position keeps no cost");
                self.entry_cost = 0;
            }
        } else {
            self.size_lots += lots;
            self.entry_cost = value - closed_value;
        }
        realized
    }

    /// What the open position would realize if closed where `size x price` is worth
    /// `mark_value` quote minor units (the value of `|size|` lots at the mark).
    pub fn unrealized_pnl(&self, mark_value: i128) -> i128 {
        if self.size_lots > 0 { mark_value - self.entry_cost } else { self.entry_cost - mark_value }
    }

    /// The decimal view for the margin math: size in lots, entry in quote minor units per lot.
    pub fn to_margin(&self) -> crate::liquidation::Position {
        if self.is_flat() {
            return crate::liquidation::Position::default();
        }
        let size = Decimal::from(self.size_lots);
        let entry_price =
            Decimal::from_i128_with_scale(self.entry_cost, 0) / Decimal::from(self.size_lots.abs());
        crate::liquidation::Position { size, entry_price }
    }
}

/// `amount * numerator / denominator`, rounded towards zero, without intermediate overflow for
/// any amount a ledger can hold (i128).
fn mul_div(amount: i128, numerator: i128, denominator: i128) -> i128 {
    assert!(denominator > 0 && (0..=denominator).contains(&numerator), "a share of a whole");
    if numerator == denominator {
        return amount;
    }
    amount.checked_mul(numerator).map_or_else(
        // Split to stay in range: (q d + r) n / d = q n + r n / d.
        || (amount / denominator) * numerator + (amount % denominator) * numerator / denominator,
        |product| product / denominator,
    )
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use rstest::rstest;

    use super::*;

    #[rstest]
    // Open long 10 at 100, add 10 at 110: cost 2,100, nothing realized.
    #[case::open_and_add(&[(10, 1_000), (10, 1_100)], 20, 2_100, 0)]
    // Long 10 at 100, sell 4 at 120: +80, cost 600 left.
    #[case::reduce_with_profit(&[(10, 1_000), (-4, 480)], 6, 600, 80)]
    // Short 10 at 100, buy 10 at 90: +100, flat.
    #[case::close_short_with_profit(&[(-10, 1_000), (10, 900)], 0, 0, 100)]
    // Long 3 at 100, sell 5 at 90: -30 realized, short 2 at 90.
    #[case::flip(&[(3, 300), (-5, 450)], -2, 180, -30)]
    // Long 3 for 100 (33.33 each), sell 1 at 40: cost share 33 (floored), +7; then 2 at 40: +13.
    #[case::rounding_realized_with_the_last_lot(&[(3, 100), (-1, 40), (-2, 80)], 0, 0, 20)]
    fn fills_move_size_cost_and_pnl(
        #[case] fills: &[(i64, i128)],
        #[case] size_lots: i64,
        #[case] entry_cost: i128,
        #[case] realized_pnl: i128,
    ) {
        let mut position = Position::default();
        for &(lots, value) in fills {
            position.apply_fill(lots, value);
        }
        assert_eq!(
            (position.size_lots, position.entry_cost, position.realized_pnl),
            (size_lots, entry_cost, realized_pnl)
        );
    }

    #[test]
    fn mul_div_splits_instead_of_overflowing() {
        assert_eq!(mul_div(i128::MAX, 1, 2), i128::MAX / 2);
        assert_eq!(mul_div(7, 2, 3), 4);
    }

    proptest! {
        /// Realized PnL minus the signed cost is the cash the fills exchanged, exactly, and the
        /// decimal margin math realizes the same PnL when the entry price is exact.
        #[test]
        fn realized_minus_cost_is_the_cash_exchanged(
            fills in prop::collection::vec((-50i64..=50, 1i128..=1_000), 1..40)
        ) {
            let mut position = Position::default();
            let mut decimal = crate::liquidation::Position::default();
            let mut cash = 0i128;
            for (lots, price) in fills {
                let value = i128::from(lots.unsigned_abs()) * price;
                cash += if lots > 0 { -value } else { value };
                let before = position;
                let realized = position.apply_fill(lots, value);
                let fill = crate::liquidation::Fill {
                    qty: Decimal::from(lots),
                    price: Decimal::from_i128_with_scale(price, 0),
                };
                let decimal_realized = decimal.apply(fill);
                if before.is_flat() || before.entry_cost % i128::from(before.size_lots.abs()) == 0 {
                    prop_assert_eq!(Decimal::from_i128_with_scale(realized, 0), decimal_realized);
                }
                decimal = position.to_margin();
                prop_assert_eq!(position.realized_pnl - position.signed_cost(), cash);
                prop_assert!(position.entry_cost >= 0);
                prop_assert_eq!(position.size_lots == 0, position.entry_cost == 0);
            }
        }
    }
}
