//! [`Position`]: one account's signed position in one perpetual, the PnL of fills and marks,
//! and the prices at which an account's margin runs out.
//!
//! One-way mode: a position is long (size > 0) or short (size < 0). Cross margin: every
//! position of an account draws on the account's one wallet balance, so the liquidation and
//! bankruptcy prices of a position depend on the rest of the account (`others`).

use rust_decimal::Decimal;

/// Per-symbol margin rates (fractions, e.g. 0.01 = 1%).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MarginRates {
    /// Initial margin rate: 1 / maximum leverage.
    pub initial: Decimal,
    /// Maintenance margin rate; below it the account is liquidated.
    pub maintenance: Decimal,
}

/// One fill of a position: `qty` > 0 buys, < 0 sells, at `price`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fill {
    pub qty: Decimal,
    pub price: Decimal,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Position {
    /// Signed size in base units: > 0 long, < 0 short.
    pub size: Decimal,
    /// Average price of the open size; zero when flat.
    pub entry_price: Decimal,
}

impl Position {
    pub fn is_flat(&self) -> bool {
        self.size.is_zero()
    }

    /// Applies `fill`; returns the PnL it realizes (what closing part of the position earned).
    /// Adding to a position moves the entry to the size-weighted average; reducing keeps it;
    /// flipping closes the whole position and opens the rest at the fill price.
    pub fn apply(&mut self, fill: Fill) -> Decimal {
        if fill.qty.is_zero() {
            return Decimal::ZERO;
        }
        let same_direction =
            self.size.is_zero() || self.size.is_sign_positive() == fill.qty.is_sign_positive();
        if same_direction {
            let size = self.size + fill.qty;
            self.entry_price = (self.size * self.entry_price + fill.qty * fill.price) / size;
            self.size = size;
            return Decimal::ZERO;
        }
        let closed = fill.qty.abs().min(self.size.abs());
        let direction =
            if self.size.is_sign_positive() { Decimal::ONE } else { Decimal::NEGATIVE_ONE };
        let realized = closed * direction * (fill.price - self.entry_price);
        let remaining = self.size + fill.qty;
        if remaining.is_zero() {
            *self = Position::default();
        } else if remaining.is_sign_positive() == self.size.is_sign_positive() {
            self.size = remaining;
        } else {
            *self = Position { size: remaining, entry_price: fill.price };
        }
        realized
    }

    /// What the open position would realize if closed at `mark`.
    pub fn unrealized_pnl(&self, mark: Decimal) -> Decimal {
        self.size * (mark - self.entry_price)
    }

    pub fn notional(&self, mark: Decimal) -> Decimal {
        self.size.abs() * mark
    }

    pub fn maintenance_margin(&self, mark: Decimal, rates: MarginRates) -> Decimal {
        self.notional(mark) * rates.maintenance
    }

    pub fn initial_margin(&self, mark: Decimal, rates: MarginRates) -> Decimal {
        self.notional(mark) * rates.initial
    }

    /// The mark at which the account's margin balance is zero: `wallet` plus `others` (the
    /// unrealized PnL of the account's other positions) plus this one's PnL. `None` when flat.
    pub fn bankruptcy_price(&self, wallet: Decimal, others: Decimal) -> Option<Decimal> {
        if self.is_flat() {
            return None;
        }
        Some((self.entry_price - (wallet + others) / self.size).max(Decimal::ZERO))
    }
}

/// Wallet balance plus every position's unrealized PnL at its mark.
pub fn margin_balance(wallet: Decimal, positions: &[(Position, Decimal)]) -> Decimal {
    wallet
        + positions.iter().map(|(position, mark)| position.unrealized_pnl(*mark)).sum::<Decimal>()
}

/// The mark of `position` at which the account's margin balance equals its maintenance margin
/// (`others_maintenance` is the other positions' maintenance margin, held constant), i.e. where
/// it is liquidated. `None` when flat or when no positive price liquidates it.
///
/// Long: W + s(p - e) = s p m + M  =>  p = (s e - W + M) / (s (1 - m));
/// short: W + s(p - e) = -s p m + M  =>  p = (s e - W + M) / (s (1 + m)),
/// with W = wallet + others' PnL, s the signed size, e the entry, m the maintenance rate.
pub fn liquidation_price(
    position: &Position,
    wallet_and_others: Decimal,
    others_maintenance: Decimal,
    rates: MarginRates,
) -> Option<Decimal> {
    if position.is_flat() {
        return None;
    }
    let size = position.size;
    let factor = if size.is_sign_positive() {
        Decimal::ONE - rates.maintenance
    } else {
        Decimal::ONE + rates.maintenance
    };
    let price =
        (size * position.entry_price - wallet_and_others + others_maintenance) / (size * factor);
    (price > Decimal::ZERO).then_some(price)
}
