//! Closing a liquidated account's positions without the book, when its LIQUIDATING deadline has
//! passed: the insurance fund takes them at the bankruptcy price, or, when the fund cannot
//! bear them, the most profitable opposite positions of the shard are auto-deleveraged (ADL)
//! at that price. Pure; every movement is a position transfer plus double-entry PnL postings.
//!
//! Bankruptcy price, in ledger units: the account's positions are closed in symbol order, all
//! but the last at their mark value, the last at the value that realizes exactly the account's
//! remaining available balance as a loss (long: `cost - available`, floored at 0; short:
//! `cost + available`), so the account ends at zero and nobody else pays for it. With one
//! position this is [`crate::liquidation::Position::bankruptcy_price`] in exact minor units.
//!
//! The insurance fund's positions are kept under [`INSURANCE_FUND`] (account id 0, which no
//! user can open), their PnL posts to `SystemAccount::Insurance` directly, and the fund can
//! bear a close-out while its balance plus its positions' unrealized PnL at the marks stays
//! non-negative after taking the account's positions (whose PnL at the marks is the account's
//! margin balance). ADL ranks opposite positions by `PnL / cost x mark value / margin balance`
//! (Binance's PnL percentage times effective leverage; divided by it for a loss), profitable
//! ones first; lots nobody on the shard can take go to the fund anyway (its balance may then go
//! negative: an alert, not a stuck account).

use rust_decimal::Decimal;

use super::ledger::{Cause, EntryKind, Leg, Owner, SystemAccount};
use super::market::MarketSpec;
use super::state::AccountState;
use crate::model::{AccountId, AssetCode, SymbolCode};

/// The owner of the insurance fund's positions (never a user: account ids start at 1).
pub const INSURANCE_FUND: AccountId = AccountId(0);

/// One auto-deleveraging fill: `lots` of `counterparty`'s position closed at `value`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deleveraged {
    pub symbol: SymbolCode,
    pub counterparty: AccountId,
    pub lots: u64,
    pub value: i128,
}

/// What one close-out did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClosedOut {
    /// Lots the insurance fund took, over all symbols.
    pub insurance_lots: u64,
    pub deleveraged: Vec<Deleveraged>,
    /// Whether the fund could bear the positions (else ADL was used).
    pub insurance_could: bool,
}

impl AccountState {
    /// The insurance fund's balance in `asset` plus its positions' unrealized PnL at the marks.
    pub fn insurance_equity(&self, asset: AssetCode) -> i128 {
        let balance = self.system_balance(SystemAccount::Insurance, asset).available;
        let unrealized: i128 = self
            .positions_of(INSURANCE_FUND)
            .filter(|(_, position)| !position.is_flat())
            .filter_map(|(symbol, position)| {
                let market = self.markets.get(&symbol).filter(|market| market.quote == asset)?;
                Some(position.unrealized_pnl(self.mark_value(market, &position)))
            })
            .sum();
        balance + unrealized
    }

    /// Closes every open position of `account` in `asset`'s perpetuals at the bankruptcy
    /// price: to the insurance fund when it can bear them, else by ADL.
    pub(super) fn close_out(&mut self, account: AccountId, asset: AssetCode) -> ClosedOut {
        assert_ne!(account, INSURANCE_FUND, "the fund is never liquidated");
        let margin_balance = self.margin_status(account, asset).margin_balance;
        let insurance_could = self.insurance_equity(asset) + margin_balance >= 0;
        let symbols: Vec<SymbolCode> = self
            .positions_of(account)
            .filter(|(symbol, position)| {
                !position.is_flat()
                    && self.markets.get(symbol).is_some_and(|market| market.quote == asset)
            })
            .map(|(symbol, _)| symbol)
            .collect();
        let mut closed = ClosedOut { insurance_could, ..ClosedOut::default() };
        for (index, symbol) in symbols.iter().enumerate() {
            let market = self.markets[symbol];
            let position = self.position(account, *symbol);
            let value = if index + 1 == symbols.len() {
                let available = self.balance(account, asset).available;
                if position.size_lots > 0 {
                    (position.entry_cost - available).max(0)
                } else {
                    position.entry_cost + available
                }
            } else {
                self.mark_value(&market, &position)
            };
            let mut lots = position.size_lots.unsigned_abs();
            let mut value_left = value;
            if !insurance_could {
                for (counterparty, take) in self.adl_ranking(account, &market, lots) {
                    let share = share_of(value_left, take, lots);
                    self.transfer_position(account, counterparty, &market, take, share);
                    closed.deleveraged.push(Deleveraged {
                        symbol: *symbol,
                        counterparty,
                        lots: take,
                        value: share,
                    });
                    lots -= take;
                    value_left -= share;
                }
            }
            if lots > 0 {
                self.transfer_position(account, INSURANCE_FUND, &market, lots, value_left);
                closed.insurance_lots += lots;
            }
        }
        // Only a floored bankruptcy value (a long worth less than nothing) leaves a balance.
        let left = self.balance(account, asset).available;
        let cause = Cause { reference: account.0, ..Cause::default() };
        let from = Leg::available(Owner::User(account));
        let insurance = Leg::system(SystemAccount::Insurance);
        self.journal.post(asset, left, from, insurance, EntryKind::Liquidation, &cause);
        closed
    }

    /// Who takes `lots` of `account`'s position on `market` by ADL, in rank order, with how
    /// many lots each (their total may fall short of `lots`).
    fn adl_ranking(
        &self,
        account: AccountId,
        market: &MarketSpec,
        lots: u64,
    ) -> Vec<(AccountId, u64)> {
        let long = self.position(account, market.symbol).size_lots > 0;
        let mut candidates: Vec<(Decimal, AccountId, u64)> = self
            .positions
            .iter()
            .filter(|((holder, symbol), position)| {
                *symbol == market.symbol
                    && *holder != account
                    && *holder != INSURANCE_FUND
                    && !self.liquidations.contains_key(holder)
                    && !position.is_flat()
                    && (position.size_lots > 0) != long
            })
            .map(|(&(holder, _), position)| {
                let mark_value = self.mark_value(market, position);
                let pnl = position.unrealized_pnl(mark_value);
                let equity = self.margin_status(holder, market.quote).margin_balance.max(1);
                let pnl_ratio = Decimal::from_i128_with_scale(pnl, 0)
                    / Decimal::from_i128_with_scale(position.entry_cost.max(1), 0);
                let leverage = Decimal::from_i128_with_scale(mark_value.max(1), 0)
                    / Decimal::from_i128_with_scale(equity, 0);
                // Binance's ranking: a loss ranks better with less leverage, a profit with more.
                let rank = if pnl >= 0 { pnl_ratio * leverage } else { pnl_ratio / leverage };
                (rank, holder, position.size_lots.unsigned_abs())
            })
            .collect();
        candidates.sort_by(|left, right| right.0.cmp(&left.0).then(left.1.cmp(&right.1)));
        let mut left = lots;
        let mut takers = Vec::new();
        for (_, holder, size) in candidates {
            if left == 0 {
                break;
            }
            let take = size.min(left);
            takers.push((holder, take));
            left -= take;
        }
        takers
    }

    /// Moves `lots` of `from`'s position on `market` to `to` at `value` quote minor units:
    /// `from` closes them, `to` takes the other side (opening, adding, or reducing its own
    /// opposite position); each side's realized PnL is posted against the symbol's clearing.
    fn transfer_position(
        &mut self,
        from: AccountId,
        to: AccountId,
        market: &MarketSpec,
        lots: u64,
        value: i128,
    ) {
        let symbol = market.symbol;
        let signed = i64::try_from(lots).expect("a position fits i64 lots");
        let from_long = self.position(from, symbol).size_lots > 0;
        let closing = if from_long { -signed } else { signed };
        let cause = Cause { symbol: Some(symbol), reference: from.0, ..Cause::default() };
        for (account, fill_lots) in [(from, closing), (to, -closing)] {
            let key = (account, symbol);
            let realized = self.positions.entry(key).or_default().apply_fill(fill_lots, value);
            self.changed_positions.insert(key);
            self.post_realized(account, market, realized, &cause);
        }
    }

    /// Posts `account`'s realized PnL on `market` against the symbol's clearing account: a
    /// user's profit to its available balance, a loss charged from it (the fund covering what
    /// it cannot pay); the insurance fund's PnL to or from its balance directly.
    pub(super) fn post_realized(
        &mut self,
        account: AccountId,
        market: &MarketSpec,
        realized: i128,
        cause: &Cause,
    ) {
        let clearing = Leg::system(SystemAccount::Clearing(market.symbol));
        let owner = if account == INSURANCE_FUND {
            Leg::system(SystemAccount::Insurance)
        } else {
            Leg::available(Owner::User(account))
        };
        if realized >= 0 {
            self.journal.post(
                market.quote,
                realized,
                clearing,
                owner,
                EntryKind::RealizedPnl,
                cause,
            );
        } else if account == INSURANCE_FUND {
            self.journal.post(
                market.quote,
                -realized,
                owner,
                clearing,
                EntryKind::RealizedPnl,
                cause,
            );
        } else {
            self.charge(account, market.quote, -realized, clearing, EntryKind::RealizedPnl, cause);
        }
    }
}

/// `value x part / whole` rounded down, or all of `value` for the last part.
fn share_of(value: i128, part: u64, whole: u64) -> i128 {
    assert!(part <= whole && whole > 0, "{part} of {whole}");
    if part == whole { value } else { value * i128::from(part) / i128::from(whole) }
}
