//! The shard's money invariants, checked on demand (tests, the shell after restore, the
//! reconciliation job): per asset all balances sum to zero; no user balance is negative; per
//! (account, asset) the held balance is exactly what its open orders still hold; closed orders
//! hold nothing.

use std::collections::BTreeMap;

use super::ledger::Owner;
use super::state::AccountState;
use crate::model::{AccountId, AssetCode, OrderId};

/// The first invariant found broken, with the values that show it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InvariantViolation {
    #[error("{asset} balances sum to {sum}, not 0")]
    AssetSumNotZero { asset: AssetCode, sum: i128 },
    #[error("{owner:?} has a negative {asset} balance: available {available}, held {held}")]
    NegativeBalance { owner: Owner, asset: AssetCode, available: i128, held: i128 },
    #[error("{account:?} holds {held} {asset} but its open orders hold {orders_hold}")]
    HeldMismatch { account: AccountId, asset: AssetCode, held: i128, orders_hold: i128 },
    #[error("closed order {order_id:?} still holds {hold_remaining}")]
    ClosedOrderHolds { order_id: OrderId, hold_remaining: i128 },
    #[error("open order {order_id:?} holds {held} but its open quantity needs {needed}")]
    HoldNotRequirement { order_id: OrderId, held: i128, needed: i128 },
}

impl AccountState {
    /// User balances (account, asset) with a negative available or held part: 0 unless an
    /// invariant broke. O(balances); the shell samples it on a slow timer for a gauge.
    pub fn negative_user_balances(&self) -> usize {
        let negative = |balance: &super::Balance| balance.available < 0 || balance.held < 0;
        self.balances()
            .filter(|(owner, _, balance)| matches!(owner, Owner::User(_)) && negative(balance))
            .count()
    }

    pub fn check_invariants(&self) -> Result<(), InvariantViolation> {
        let mut sums: BTreeMap<AssetCode, i128> = BTreeMap::new();
        let mut user_held: BTreeMap<(AccountId, AssetCode), i128> = BTreeMap::new();
        for (owner, asset, balance) in self.balances() {
            *sums.entry(asset).or_default() += balance.available + balance.held;
            if let Owner::User(account) = owner {
                if balance.available < 0 || balance.held < 0 {
                    return Err(InvariantViolation::NegativeBalance {
                        owner,
                        asset,
                        available: balance.available,
                        held: balance.held,
                    });
                }
                if balance.held != 0 {
                    user_held.insert((account, asset), balance.held);
                }
            }
        }
        if let Some((&asset, &sum)) = sums.iter().find(|(_, sum)| **sum != 0) {
            return Err(InvariantViolation::AssetSumNotZero { asset, sum });
        }
        let mut orders_hold: BTreeMap<(AccountId, AssetCode), i128> = BTreeMap::new();
        for order in self.orders.by_id.values() {
            if order.status.is_terminal() {
                if order.hold_remaining != 0 {
                    return Err(InvariantViolation::ClosedOrderHolds {
                        order_id: order.order_id,
                        hold_remaining: order.hold_remaining,
                    });
                }
            } else if order.hold_remaining != 0 {
                *orders_hold.entry((order.account_id, order.hold_asset)).or_default() +=
                    order.hold_remaining;
            }
        }
        if user_held != orders_hold {
            let keys = user_held.keys().chain(orders_hold.keys());
            for &(account, asset) in keys {
                let held = user_held.get(&(account, asset)).copied().unwrap_or(0);
                let by_orders = orders_hold.get(&(account, asset)).copied().unwrap_or(0);
                if held != by_orders {
                    return Err(InvariantViolation::HeldMismatch {
                        account,
                        asset,
                        held,
                        orders_hold: by_orders,
                    });
                }
            }
        }
        Ok(())
    }

    /// Stricter, for quiet moments (no amend in flight): every open limit order holds exactly
    /// the requirement of its open quantity at its price.
    pub fn check_holds_match_requirements(&self) -> Result<(), InvariantViolation> {
        for order in self.orders.all_open() {
            if let Some(needed) = self.hold_requirement(order.order_id)
                && needed != order.hold_remaining
            {
                return Err(InvariantViolation::HoldNotRequirement {
                    order_id: order.order_id,
                    held: order.hold_remaining,
                    needed,
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::account::{BalanceRow, RestoredState};

    fn row(owner: Owner, available: i128, held: i128) -> BalanceRow {
        BalanceRow { owner, asset: AssetCode::new("USDT").unwrap(), available, held }
    }

    #[test]
    fn a_negative_balance_read_back_is_counted() {
        let (alice, bob) = (AccountId(1), AccountId(2));
        let balances = vec![
            row(Owner::User(alice), -5, 0),
            row(Owner::User(bob), 10, -1),
            row(Owner::User(AccountId(3)), 7, 0),
        ];
        let restored = RestoredState {
            accounts: vec![alice, bob, AccountId(3)],
            balances,
            ..RestoredState::default()
        };
        let state = AccountState::restore(0, BTreeMap::new(), restored);
        assert_eq!(state.negative_user_balances(), 2);
        assert!(matches!(
            state.check_invariants(),
            Err(InvariantViolation::NegativeBalance { .. })
        ));
    }
}
