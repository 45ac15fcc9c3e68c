//! Which accounts the liquidator must act on: an account's margin balance (its wallet in the
//! settle asset, held included, plus its positions' unrealized PnL at the marks) against the
//! maintenance margin of its positions at the marks. At or below it the account is to be
//! liquidated (Binance's margin ratio of 100%). Pure: the marks are what the shard was last
//! sent; the Liquidator decides what to do and must not act on a stale index.

use super::close_out::INSURANCE_FUND;
use super::state::AccountState;
use crate::model::{AccountId, AssetCode, SymbolCode};

/// One account's cross margin in one settle asset, in its minor units.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MarginStatus {
    pub account: AccountId,
    pub asset: AssetCode,
    /// Wallet (available + held) + every open position's unrealized PnL at its mark.
    pub margin_balance: i128,
    /// Sum of the open positions' maintenance margin at their marks (rounded up).
    pub maintenance_margin: i128,
    pub open_positions: usize,
}

impl MarginStatus {
    /// Open positions and no more margin than their maintenance needs.
    pub fn is_liquidatable(&self) -> bool {
        self.open_positions > 0 && self.margin_balance <= self.maintenance_margin
    }
}

impl AccountState {
    /// `account`'s margin in `asset` at the current marks (the entry where no mark came yet).
    pub fn margin_status(&self, account: AccountId, asset: AssetCode) -> MarginStatus {
        let balance = self.balance(account, asset);
        let mut status = MarginStatus {
            account,
            asset,
            margin_balance: balance.available + balance.held,
            maintenance_margin: 0,
            open_positions: 0,
        };
        let positions =
            self.positions.range((account, SymbolCode::MIN)..=(account, SymbolCode::MAX));
        for ((_, symbol), position) in positions.filter(|(_, position)| !position.is_flat()) {
            let Some(market) = self.markets.get(symbol).filter(|market| market.quote == asset)
            else {
                continue;
            };
            let Some(margin) = market.margin else { continue };
            let mark_value = self.mark_value(market, position);
            status.margin_balance += position.unrealized_pnl(mark_value);
            status.maintenance_margin += margin.maintenance.fee_on(mark_value);
            status.open_positions += 1;
        }
        status
    }

    /// Every account of the shard with open positions whose margin balance is at or below
    /// its maintenance margin, by (account, asset). O(positions).
    pub fn accounts_below_maintenance(&self) -> Vec<MarginStatus> {
        let pairs: std::collections::BTreeSet<(AccountId, AssetCode)> = self
            .positions
            .iter()
            .filter(|((account, _), position)| !position.is_flat() && *account != INSURANCE_FUND)
            .filter_map(|((account, symbol), _)| Some((*account, self.markets.get(symbol)?.quote)))
            .collect();
        pairs
            .into_iter()
            .map(|(account, asset)| self.margin_status(account, asset))
            .filter(MarginStatus::is_liquidatable)
            .collect()
    }
}
