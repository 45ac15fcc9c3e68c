//! Settling perpetual fills and funding as ledger entries, all in the quote (settle) asset.
//!
//! A fill, per own side, in this order:
//! 1. the filled lots' margin is released (held -> available; see `perp_margin.rs`);
//! 2. the position moves (`positions.rs`) and the PnL it realizes is posted: a profit
//!    Clearing(symbol) -> available, a loss available -> Clearing(symbol);
//! 3. the fee on the fill's notional: available -> Fees (a maker rebate Subsidy -> available).
//!
//! Funding, once per interval id (a repeated or older interval changes nothing): each open
//! position pays or receives `rate x |size| x mark`; with a positive rate longs pay and shorts
//! receive, with a negative rate the reverse. Payers pay the Insurance fund rounded up, which
//! pays receivers rounded down (so the exchange never pays out more than it collected, and
//! the rounding stays in the fund).
//!
//! What an account cannot pay out of its available balance (a loss, fee or funding beyond it,
//! only possible past its bankruptcy price) the Insurance fund pays: no user balance ever goes
//! negative and every entry still debits one leg and credits another.

use super::close_out::INSURANCE_FUND;
use super::ledger::{Cause, EntryKind, Leg, Owner, SystemAccount};
use super::market::MarketSpec;
use super::orders::OrderRecord;
use super::perp_margin::perp_open_requirement;
use super::state::AccountState;
use super::user_updates::FillReport;
use crate::model::{
    AccountId, AssetCode, BookEvent, FeeRate, Liquidity, OrderType, Price, Qty, Side, SymbolCode,
    TradeExecuted,
};

/// What one funding interval did on this shard.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FundingApplied {
    /// False when the interval was already applied (nothing changed).
    pub fresh: bool,
    /// Positions that paid or received.
    pub payments: usize,
    /// Quote minor units positions paid (collected into the Insurance fund).
    pub paid: i128,
    /// Quote minor units positions received.
    pub received: i128,
}

impl AccountState {
    pub(super) fn settle_perp_fill(
        &mut self,
        market: &MarketSpec,
        order: &OrderRecord,
        liquidity: Liquidity,
        trade: &TradeExecuted,
        event: &BookEvent,
        cause: &Cause,
    ) {
        let order_id = order.order_id;
        let release = match (order.order_type, order.price, order.open_qty()) {
            (OrderType::Market, _, Some(open)) => {
                // Held at the mark; released in proportion to the lots filled.
                share(order.hold_remaining, trade.qty.0, open.0)
            }
            (_, Some(price), Some(open)) => {
                let left = Qty(open.0 - trade.qty.0);
                order.hold_remaining - perp_open_requirement(market, order, price, left)
            }
            _ => unreachable!("a perpetual order is by base quantity"),
        };
        self.release_hold(order_id, release, cause);
        let value = market.value(trade.price, trade.qty);
        let lots = i64::try_from(trade.qty.0).expect("a fill fits i64 lots");
        let signed_lots = if order.side == Side::Buy { lots } else { -lots };
        let account = order.account_id;
        let key = (account, market.symbol);
        let realized = self.positions.entry(key).or_default().apply_fill(signed_lots, value);
        self.changed_positions.insert(key);
        self.post_realized(account, market, realized, cause);
        let user = Leg::available(Owner::User(account));
        let fee = trade.fee(liquidity, value);
        if fee >= 0 {
            let fees = Leg::system(SystemAccount::Fees);
            self.charge(account, market.quote, fee, fees, EntryKind::Fee, cause);
        } else {
            let subsidy = Leg::system(SystemAccount::Subsidy);
            self.journal.post(market.quote, -fee, subsidy, user, EntryKind::Rebate, cause);
        }
        let fill = FillReport {
            trade_id: trade.trade_id,
            price: trade.price,
            qty: trade.qty,
            commission: fee,
            commission_asset: market.quote,
            maker: liquidity == Liquidity::Maker,
        };
        self.record_fill(market, order_id, fill, trade, event, cause);
    }

    /// Pays funding interval `interval_id` of `symbol` at `rate` (a signed fraction) and
    /// `mark`, once: an interval at or below the last one paid changes nothing.
    pub fn apply_funding(
        &mut self,
        symbol: SymbolCode,
        interval_id: u64,
        rate: FeeRate,
        mark: Price,
    ) -> Result<FundingApplied, super::AccountReject> {
        let market = *self
            .markets
            .get(&symbol)
            .filter(|market| market.is_perpetual())
            .ok_or(super::AccountReject::UnknownSymbol(symbol))?;
        if self.funding_intervals.get(&symbol).is_some_and(|last| *last >= interval_id) {
            return Ok(FundingApplied::default());
        }
        self.funding_intervals.insert(symbol, interval_id);
        self.changed_funding.insert(symbol);
        let mut applied = FundingApplied { fresh: true, ..FundingApplied::default() };
        let rate_decimal = rate.to_decimal();
        if rate_decimal.is_zero() || mark.0 <= 0 {
            return Ok(applied);
        }
        let pay_rate = FeeRate::from_decimal(rate_decimal.abs()).expect("|rate| < 1");
        let receive_rate = FeeRate::from_decimal(-rate_decimal.abs()).expect("|rate| < 1");
        let longs_pay = rate_decimal.is_sign_positive();
        let cause = Cause { symbol: Some(symbol), reference: interval_id, ..Cause::default() };
        let insurance = Leg::system(SystemAccount::Insurance);
        let open: Vec<(AccountId, i64)> = self
            .positions
            .iter()
            // The insurance fund's positions would pay and receive the fund itself: nothing moves.
            .filter(|((account, position_symbol), position)| {
                *position_symbol == symbol && !position.is_flat() && *account != INSURANCE_FUND
            })
            .map(|(&(account, _), position)| (account, position.size_lots))
            .collect();
        for (account, size_lots) in open {
            let value = market.value(mark, Qty(size_lots.unsigned_abs()));
            let user = Leg::available(Owner::User(account));
            let pays = (size_lots > 0) == longs_pay;
            let moved = if pays {
                let owed = pay_rate.fee_on(value);
                // What the account cannot pay, the fund has already promised the receivers.
                let paid = owed.min(self.balance(account, market.quote).available.max(0));
                self.journal.post(market.quote, paid, user, insurance, EntryKind::Funding, &cause);
                applied.paid += paid;
                -paid
            } else {
                let received = -receive_rate.fee_on(value);
                self.journal.post(
                    market.quote,
                    received,
                    insurance,
                    user,
                    EntryKind::Funding,
                    &cause,
                );
                applied.received += received;
                received
            };
            let key = (account, symbol);
            self.positions.get_mut(&key).expect("listed above").funding_pnl += moved;
            self.changed_positions.insert(key);
            applied.payments += 1;
        }
        Ok(applied)
    }

    /// The last funding interval paid for `symbol` (0 before any).
    pub fn funding_interval(&self, symbol: SymbolCode) -> u64 {
        self.funding_intervals.get(&symbol).copied().unwrap_or(0)
    }

    /// Moves `amount` owed by `account` to `to`: from its available balance as far as it goes,
    /// the rest from the Insurance fund.
    pub(super) fn charge(
        &mut self,
        account: AccountId,
        asset: AssetCode,
        amount: i128,
        to: Leg,
        kind: EntryKind,
        cause: &Cause,
    ) {
        let available = self.balance(account, asset).available.max(0);
        let from_user = amount.min(available);
        self.journal.post(asset, from_user, Leg::available(Owner::User(account)), to, kind, cause);
        let insurance = Leg::system(SystemAccount::Insurance);
        self.journal.post(
            asset,
            amount - from_user,
            insurance,
            to,
            EntryKind::InsuranceCover,
            cause,
        );
    }
}

/// `amount x part / whole`, rounded down (`part <= whole`).
fn share(amount: i128, part: u64, whole: u64) -> i128 {
    assert!(part <= whole && whole > 0, "{part} of {whole}");
    amount * i128::from(part) / i128::from(whole)
}
