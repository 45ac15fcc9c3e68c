//! Applying a symbol's book events to the shard: the one mechanism that settles fills and
//! releases holds. Exactly once per event, by a per-symbol watermark: events at or below it are
//! skipped, a gap is refused, and a refused batch changes nothing. Events naming orders of other
//! shards' accounts only advance the watermark.
//!
//! Per event, for the shard's own orders:
//! - Accepted: PENDING -> NEW.
//! - Rejected / Canceled / Expired: the whole remaining hold is released; REJECTED / CANCELED /
//!   EXPIRED (EXPIRED_IN_MATCH for self-trade prevention).
//! - Traded, per own side: spent Held -> Clearing(symbol), received Clearing(symbol) ->
//!   Available minus the fee in the received asset (fee Clearing -> Fees, rounded up; a maker
//!   rebate Subsidy -> Available, rounded down); a limit buy that trades below its limit
//!   releases the difference for those lots. A filled order releases any leftover hold. The
//!   book sends no terminal event for a taker that filled completely: the fill that completes
//!   it (base quantity done, or quote amount spent) closes it as FILLED.
//! - Amended: the hold follows the new price and quantity. The shell reserved any increase with
//!   `reserve_amend` before sending the amend; here the excess is released, or a shortfall (a
//!   fill raced the amend: the book's amend sets the open quantity, not the total) is taken from
//!   Available, and what Available cannot cover is lent by the Subsidy account and the order is
//!   listed in `orders_to_cancel` for the shell to cancel. Every invariant holds throughout.

use super::errors::ApplyError;
use super::ledger::{Cause, EntryKind, Leg, Owner, SystemAccount};
use super::market::MarketSpec;
use super::orders::OrderStatus;
use super::perp_margin::order_requirement;
use super::state::AccountState;
use super::user_updates::{Execution, FillReport};
use crate::model::{
    AccountId, BookEvent, EventKind, ExpireReason, Liquidity, Notional, OrderAmended, OrderId,
    OrderQuantity, Side, SymbolCode, TradeExecuted,
};

/// What one delivery did: events applied, and redelivered ones skipped by the watermark
/// (the idempotent-dedup hits the operations metrics count).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Applied {
    pub fresh: usize,
    pub duplicates: usize,
}

impl AccountState {
    /// Applies `symbol`'s events in sequence. Idempotent: redelivered events are skipped.
    pub fn apply_book_events(
        &mut self,
        symbol: SymbolCode,
        events: &[BookEvent],
    ) -> Result<Applied, ApplyError> {
        let market = *self.markets.get(&symbol).ok_or(ApplyError::UnknownSymbol(symbol))?;
        let watermark = self.watermark(symbol);
        let fresh_from =
            events.iter().position(|event| event.seq > watermark).unwrap_or(events.len());
        let fresh = &events[fresh_from..];
        let applied = Applied { fresh: fresh.len(), duplicates: fresh_from };
        if fresh.is_empty() {
            return Ok(applied);
        }
        let mut expected = watermark + 1;
        let mut own_orders = 0;
        for event in fresh {
            if event.seq != expected {
                return Err(ApplyError::Gap { symbol, expected, got: event.seq });
            }
            own_orders += self.check_known(symbol, event)?;
            expected += 1;
        }
        // Room for an update and an entry per own order at once: growing them one push at a
        // time copied a bulk cancel's 100,000 records over and over.
        self.order_updates.reserve(own_orders);
        self.journal.new_entries.reserve(own_orders);
        for event in fresh {
            self.apply_event(&market, event);
        }
        self.watermarks.insert(symbol, expected - 1);
        self.changed_watermarks.insert(symbol);
        Ok(applied)
    }

    /// Every own order an event names must be known here and not yet closed; answers how many
    /// it names.
    fn check_known(&self, symbol: SymbolCode, event: &BookEvent) -> Result<usize, ApplyError> {
        let seq = event.seq;
        let mut own = 0;
        for (order_id, account_id) in named_orders(&event.kind).into_iter().flatten() {
            if !self.accounts.contains(&account_id) {
                continue;
            }
            let order = self.orders.get(order_id).ok_or(ApplyError::UnknownOrder {
                symbol,
                seq,
                order_id,
                account_id,
            })?;
            if order.status.is_terminal() {
                return Err(ApplyError::OrderClosed { symbol, seq, order_id });
            }
            own += 1;
        }
        Ok(own)
    }

    fn is_own(&self, account: AccountId) -> bool {
        self.accounts.contains(&account)
    }

    fn apply_event(&mut self, market: &MarketSpec, event: &BookEvent) {
        let cause = |order_id| Cause {
            order_id: Some(order_id),
            symbol: Some(market.symbol),
            event_seq: Some(event.seq),
            ..Cause::default()
        };
        let ts_ns = event.ts_ns;
        match event.kind {
            EventKind::Accepted(accepted) if self.is_own(accepted.account_id) => {
                let order = self.orders.get_mut(accepted.order_id).expect("checked known");
                assert_eq!(
                    order.status,
                    OrderStatus::Pending,
                    "{:?} accepted twice",
                    order.order_id
                );
                order.status = OrderStatus::New;
                order.updated_ts_ns = ts_ns;
                self.touch(accepted.order_id);
                self.report(accepted.order_id, Execution::New, ts_ns);
            }
            EventKind::Rejected(rejected) if self.is_own(rejected.account_id) => {
                let order_id = rejected.order_id;
                self.close_order(order_id, OrderStatus::Rejected, ts_ns, &cause(order_id));
                self.report(order_id, Execution::Rejected, ts_ns);
            }
            EventKind::Canceled(canceled) if self.is_own(canceled.account_id) => {
                let order_id = canceled.order_id;
                let closed =
                    self.close_order(order_id, OrderStatus::Canceled, ts_ns, &cause(order_id));
                self.report_record(closed, Execution::Canceled, ts_ns);
            }
            EventKind::Expired(expired) if self.is_own(expired.account_id) => {
                let status = match expired.reason {
                    ExpireReason::SelfTradePrevention => OrderStatus::ExpiredInMatch,
                    ExpireReason::ImmediateOrCancel | ExpireReason::PriceBand => {
                        OrderStatus::Expired
                    }
                };
                self.close_order(expired.order_id, status, ts_ns, &cause(expired.order_id));
                self.report(expired.order_id, Execution::Expired, ts_ns);
            }
            EventKind::Amended(amended) if self.is_own(amended.account_id) => {
                self.reconcile_amend(market, &amended, ts_ns, &cause(amended.order_id));
                self.report(amended.order_id, Execution::Replaced, ts_ns);
            }
            EventKind::Traded(trade) => {
                self.last_trade_prices.insert(market.symbol, trade.price);
                if self.is_own(trade.maker_account_id) {
                    self.settle_fill(market, trade.maker_order_id, Liquidity::Maker, &trade, event);
                }
                if self.is_own(trade.taker_account_id) {
                    self.settle_fill(market, trade.taker_order_id, Liquidity::Taker, &trade, event);
                }
            }
            _ => {}
        }
    }

    /// One side of one trade for an own order.
    fn settle_fill(
        &mut self,
        market: &MarketSpec,
        order_id: OrderId,
        liquidity: Liquidity,
        trade: &TradeExecuted,
        event: &BookEvent,
    ) {
        let order = *self.orders.get(order_id).expect("checked known");
        let cause = Cause {
            order_id: Some(order_id),
            symbol: Some(market.symbol),
            event_seq: Some(event.seq),
            trade_id: Some(trade.trade_id),
            reference: 0,
        };
        if market.is_perpetual() {
            self.settle_perp_fill(market, &order, liquidity, trade, event, &cause);
            return;
        }
        let base_amount = market.base_amount(trade.qty);
        let quote_amount = market.quote_amount(Notional::of(trade.price, trade.qty));
        let (spent, received_asset, received) = match order.side {
            Side::Buy => (quote_amount, market.base, base_amount),
            Side::Sell => (base_amount, market.quote, quote_amount),
        };
        // A limit buy held its limit price for these lots; it may have traded below it.
        let consumed = match (order.side, order.price) {
            (Side::Buy, Some(limit)) => market.quote_amount(Notional::of(limit, trade.qty)),
            _ => spent,
        };
        assert!(
            consumed >= spent && consumed <= order.hold_remaining,
            "fill of order {order_id:?} needs {consumed} but it holds {}",
            order.hold_remaining
        );
        let user = Owner::User(order.account_id);
        let clearing = Leg::system(SystemAccount::Clearing(market.symbol));
        let post = |state: &mut AccountState, asset, amount, debit, credit, kind| {
            state.journal.post(asset, amount, debit, credit, kind, &cause);
        };
        post(self, order.hold_asset, spent, Leg::held(user), clearing, EntryKind::TradeSettle);
        self.orders.get_mut(order_id).expect("known").hold_remaining -= spent;
        self.release_hold(order_id, consumed - spent, &cause);
        let fee = trade.fee(liquidity, received);
        let net = received - fee.max(0);
        post(self, received_asset, net, clearing, Leg::available(user), EntryKind::TradeSettle);
        if fee > 0 {
            post(
                self,
                received_asset,
                fee,
                clearing,
                Leg::system(SystemAccount::Fees),
                EntryKind::Fee,
            );
        } else {
            let subsidy = Leg::system(SystemAccount::Subsidy);
            post(self, received_asset, -fee, subsidy, Leg::available(user), EntryKind::Rebate);
        }
        let fill = FillReport {
            trade_id: trade.trade_id,
            price: trade.price,
            qty: trade.qty,
            commission: fee,
            commission_asset: received_asset,
            maker: liquidity == Liquidity::Maker,
        };
        self.record_fill(market, order_id, fill, trade, event, &cause);
    }

    /// The order's side of a settled fill: executed quantity, status (FILLED closes it and
    /// releases any leftover hold), and the execution report.
    pub(super) fn record_fill(
        &mut self,
        market: &MarketSpec,
        order_id: OrderId,
        fill: FillReport,
        trade: &TradeExecuted,
        event: &BookEvent,
        cause: &Cause,
    ) {
        let record = self.orders.get_mut(order_id).expect("known");
        record.executed_qty.0 += trade.qty.0;
        record.cumulative_quote += market.value(trade.price, trade.qty);
        record.updated_ts_ns = event.ts_ns;
        let complete = match record.quantity {
            OrderQuantity::Base(qty) => record.executed_qty == qty,
            OrderQuantity::Quote(notional) => {
                record.cumulative_quote == market.quote_amount(notional)
            }
        };
        if fill.maker {
            debug_assert_eq!(record.open_qty(), Some(trade.maker_open_qty), "maker open qty");
        }
        if complete {
            self.close_order(order_id, OrderStatus::Filled, event.ts_ns, cause);
        } else {
            record.status = OrderStatus::PartiallyFilled;
            self.touch(order_id);
        }
        self.report(order_id, Execution::Trade(fill), event.ts_ns);
    }

    /// Makes the hold of an amended order exactly the requirement of its new open quantity at
    /// its new price.
    fn reconcile_amend(
        &mut self,
        market: &MarketSpec,
        amended: &OrderAmended,
        ts_ns: u64,
        cause: &Cause,
    ) {
        let order_id = amended.order_id;
        let order = self.orders.get_mut(order_id).expect("checked known");
        debug_assert_eq!(order.open_qty(), Some(amended.old_qty), "amend of a different open qty");
        order.price = Some(amended.new_price);
        order.quantity =
            OrderQuantity::Base(crate::model::Qty(order.executed_qty.0 + amended.new_qty.0));
        order.updated_ts_ns = ts_ns;
        let (account, asset, held) = (order.account_id, order.hold_asset, order.hold_remaining);
        let needed = order_requirement(market, order, amended.new_price, amended.new_qty);
        if held > needed {
            self.release_hold(order_id, held - needed, cause);
        } else if held < needed {
            let shortfall = needed - held;
            let from_account = shortfall.min(self.balance(account, asset).available);
            self.add_hold(order_id, from_account, cause);
            let lent = shortfall - from_account;
            if lent > 0 {
                let order = self.orders.get_mut(order_id).expect("known");
                order.hold_remaining += lent;
                order.hold_subsidized += lent;
                let subsidy = Leg::system(SystemAccount::Subsidy);
                let held_leg = Leg::held(Owner::User(account));
                self.journal.post(asset, lent, subsidy, held_leg, EntryKind::Shortfall, cause);
            }
        }
        self.touch(order_id);
    }
}

/// The (order, account) pairs an event names.
fn named_orders(kind: &EventKind) -> [Option<(OrderId, AccountId)>; 2] {
    match *kind {
        EventKind::Accepted(event) => [Some((event.order_id, event.account_id)), None],
        EventKind::Rejected(event) => [Some((event.order_id, event.account_id)), None],
        EventKind::Canceled(event) => [Some((event.order_id, event.account_id)), None],
        EventKind::Expired(event) => [Some((event.order_id, event.account_id)), None],
        EventKind::Amended(event) => [Some((event.order_id, event.account_id)), None],
        EventKind::Traded(trade) => [
            Some((trade.maker_order_id, trade.maker_account_id)),
            Some((trade.taker_order_id, trade.taker_account_id)),
        ],
        EventKind::LevelChanged(_) => [None, None],
    }
}
