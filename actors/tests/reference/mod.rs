//! A naive reference order book: the documented semantics of `MatchingEngine`, written as
//! plainly as possible so that it is obviously right, at the cost of speed.
//!
//! All resting orders live in one `Vec` in arrival (priority) order. A price level is not stored:
//! it is "the orders of one side at one price", found by scanning, so its FIFO is the `Vec`
//! order and its total is a sum. Fill-or-kill is decided by running the whole order on a clone
//! of the book and looking at the outcome, instead of a separate read-only walk. Everything is
//! O(n) per lookup; books in the tests hold at most a few dozen orders.
//!
//! A spend limit is tracked as what is left of it; each fill takes no more lots than it
//! affords at the maker's price, and a taker it cannot afford one lot for stops (and expires).
//!
//! Events come out in the engine's documented order: a refused place emits one `Rejected`;
//! a taker emits `Accepted`, then per level swept its trades (and STP maker expiries) followed by
//! that level's new total, then either its resting level's new total or its own expiry.

use exchange_actors::book::{BookLimits, BookSnapshot, Depth, RestingOrder};
use exchange_actors::model::{
    AccountId, AmendOrder, BookCommand, BookEvent, BookInput, CancelReason, EventKind,
    ExpireReason, LevelChanged, Notional, OrderAccepted, OrderAmended, OrderCanceled, OrderExpired,
    OrderId, OrderQuantity, OrderRejected, OrderType, PlaceOrder, Price, Qty, RejectReason,
    SelfTradePrevention, Side, SpendLimit, TimeInForce, TradeExecuted, TradeId,
};

/// What one input produced.
#[derive(Debug)]
pub struct Applied {
    pub result: Result<(), RejectReason>,
    pub events: Vec<BookEvent>,
    pub cancel_failures: Vec<(OrderId, RejectReason)>,
}

#[derive(Clone, Debug)]
pub struct ReferenceBook {
    limits: BookLimits,
    /// Resting orders in priority order (both sides, all prices).
    orders: Vec<RestingOrder>,
    reference_price: Option<Price>,
    last_input_seq: u64,
    last_event_seq: u64,
    last_trade_id: u64,
    ts_ns: u64,
    events: Vec<BookEvent>,
    cancel_failures: Vec<(OrderId, RejectReason)>,
}

/// An incoming order (or a moved amend) while it matches.
#[derive(Clone, Copy, Debug)]
struct Taker {
    order_id: OrderId,
    account_id: AccountId,
    side: Side,
    limit: Option<Price>,
    remaining: OrderQuantity,
    self_trade_prevention: SelfTradePrevention,
    post_only: bool,
    /// What is left of the spend limit; `None` = unlimited (always for a moved amend).
    spend_left: Option<SpendLimit>,
    last_trade_price: Option<Price>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stop {
    Filled,
    NothingCrossing,
    Band,
    SelfTrade,
    BudgetSpent,
}

impl ReferenceBook {
    pub fn new(limits: BookLimits) -> Self {
        ReferenceBook {
            limits,
            orders: Vec::new(),
            reference_price: None,
            last_input_seq: 0,
            last_event_seq: 0,
            last_trade_id: 0,
            ts_ns: 0,
            events: Vec::new(),
            cancel_failures: Vec::new(),
        }
    }

    pub fn apply(&mut self, input: &BookInput) -> Applied {
        self.events.clear();
        self.cancel_failures.clear();
        let result = if input.input_seq == self.last_input_seq + 1 {
            self.last_input_seq = input.input_seq;
            self.ts_ns = input.ts_ns;
            self.execute(&input.command)
        } else {
            Err(RejectReason::InputOutOfSequence)
        };
        Applied {
            result,
            events: std::mem::take(&mut self.events),
            cancel_failures: std::mem::take(&mut self.cancel_failures),
        }
    }

    fn execute(&mut self, command: &BookCommand) -> Result<(), RejectReason> {
        match command {
            BookCommand::Place(order) => self.place(order),
            BookCommand::Cancel(cancel) => self.cancel(cancel.account_id, cancel.order_id),
            BookCommand::CancelMany(cancel) => {
                for &order_id in &cancel.order_ids {
                    if let Err(reason) = self.cancel(cancel.account_id, order_id) {
                        self.cancel_failures.push((order_id, reason));
                    }
                }
                Ok(())
            }
            BookCommand::CancelAll(cancel) => {
                let mine: Vec<OrderId> = self
                    .orders
                    .iter()
                    .filter(|order| order.account_id == cancel.account_id)
                    .map(|order| order.order_id)
                    .collect();
                for order_id in mine {
                    self.cancel(cancel.account_id, order_id).expect("own resting order");
                }
                Ok(())
            }
            BookCommand::Amend(amend) => self.amend(amend),
            BookCommand::SetReferencePrice(price) => {
                self.check_range(*price)?;
                self.reference_price = Some(*price);
                Ok(())
            }
            BookCommand::SetTerms(terms) => {
                let current = self.limits.terms;
                let same_range =
                    terms.min_price == current.min_price && terms.max_price == current.max_price;
                let ordered =
                    terms.min_qty <= terms.max_qty && terms.min_notional <= terms.max_notional;
                let level_fits = u128::from(terms.max_qty.0)
                    * u128::from(self.limits.capacity.orders_max)
                    <= u128::from(u64::MAX);
                if !(same_range && ordered && level_fits) {
                    return Err(RejectReason::InvalidTerms);
                }
                self.limits.terms = *terms;
                Ok(())
            }
        }
    }

    // ---- queries -------------------------------------------------------------------------

    pub fn resting(&self) -> &[RestingOrder] {
        &self.orders
    }

    pub fn last_input_seq(&self) -> u64 {
        self.last_input_seq
    }

    pub fn snapshot(&self) -> BookSnapshot {
        BookSnapshot {
            last_input_seq: self.last_input_seq,
            last_event_seq: self.last_event_seq,
            last_trade_id: self.last_trade_id,
            reference_price: self.reference_price,
            terms: self.limits.terms,
            orders: self.orders.clone(),
        }
    }

    /// Total open quantity of `side` at `price` (0 if no order rests there).
    fn level_total(&self, side: Side, price: Price) -> Qty {
        Qty(self
            .orders
            .iter()
            .filter(|order| order.side == side && order.price == price)
            .map(|order| order.open_qty.0)
            .sum())
    }

    /// Every level of `side`, best first.
    fn levels(&self, side: Side) -> Vec<(Price, Qty)> {
        let mut prices: Vec<Price> = self
            .orders
            .iter()
            .filter(|order| order.side == side)
            .map(|order| order.price)
            .collect();
        prices.sort_unstable();
        prices.dedup();
        if side == Side::Buy {
            prices.reverse();
        }
        prices.into_iter().map(|price| (price, self.level_total(side, price))).collect()
    }

    pub fn best(&self, side: Side) -> Option<(Price, Qty)> {
        self.levels(side).first().copied()
    }

    pub fn depth(&self) -> Depth {
        Depth {
            last_event_seq: self.last_event_seq,
            bids: self.levels(Side::Buy),
            asks: self.levels(Side::Sell),
        }
    }

    // ---- events --------------------------------------------------------------------------

    fn emit(&mut self, kind: EventKind) {
        self.last_event_seq += 1;
        self.events.push(BookEvent { seq: self.last_event_seq, ts_ns: self.ts_ns, kind });
    }

    fn emit_level(&mut self, side: Side, price: Price) {
        let qty = self.level_total(side, price);
        self.emit(EventKind::LevelChanged(LevelChanged { side, price, qty }));
    }

    fn position(&self, order_id: OrderId) -> Option<usize> {
        self.orders.iter().position(|order| order.order_id == order_id)
    }

    fn remove(&mut self, order_id: OrderId) -> RestingOrder {
        let position = self.position(order_id).expect("removing a resting order");
        self.orders.remove(position)
    }

    // ---- checks --------------------------------------------------------------------------

    fn check_range(&self, price: Price) -> Result<(), RejectReason> {
        if price < self.limits.terms.min_price || price > self.limits.terms.max_price {
            return Err(RejectReason::PriceOutOfRange);
        }
        Ok(())
    }

    fn check_price(&self, price: Price, band: Option<(Price, Price)>) -> Result<(), RejectReason> {
        self.check_range(price)?;
        if band.is_some_and(|(low, high)| price < low || price > high) {
            return Err(RejectReason::OutsidePriceBand);
        }
        Ok(())
    }

    fn check_qty(&self, qty: Qty) -> Result<(), RejectReason> {
        match qty {
            Qty(0) => Err(RejectReason::ZeroQuantity),
            qty if qty < self.limits.terms.min_qty => Err(RejectReason::QtyBelowMin),
            qty if qty > self.limits.terms.max_qty => Err(RejectReason::QtyAboveMax),
            _ => Ok(()),
        }
    }

    fn check_notional(&self, notional: Notional) -> Result<(), RejectReason> {
        match notional {
            notional if notional.0 <= 0 => Err(RejectReason::ZeroQuantity),
            notional if notional < self.limits.terms.min_notional => {
                Err(RejectReason::NotionalBelowMin)
            }
            notional if notional > self.limits.terms.max_notional => {
                Err(RejectReason::NotionalAboveMax)
            }
            _ => Ok(()),
        }
    }

    /// The band (inclusive low, high) around the reference price; a market order on a book with
    /// no reference yet uses the best opposite price. The half-width rounds down.
    fn band_for(&self, side: Side, limit: Option<Price>) -> Option<(Price, Price)> {
        let reference = match limit {
            Some(_) => self.reference_price,
            None => self.reference_price.or(self.best(side.opposite()).map(|(price, _)| price)),
        }?;
        if self.limits.terms.price_band_bps == 0 {
            return None;
        }
        let width = reference.0 * i64::from(self.limits.terms.price_band_bps) / 10_000;
        Some((Price(reference.0 - width), Price(reference.0 + width)))
    }

    fn would_take(&self, side: Side, price: Price) -> bool {
        match (side, self.best(side.opposite())) {
            (Side::Buy, Some((ask, _))) => ask <= price,
            (Side::Sell, Some((bid, _))) => bid >= price,
            (_, None) => false,
        }
    }

    // ---- place ---------------------------------------------------------------------------

    fn place(&mut self, order: &PlaceOrder) -> Result<(), RejectReason> {
        let band = self.band_for(order.side, order.price);
        if let Err(reason) = self.check_place(order, band) {
            self.emit(EventKind::Rejected(OrderRejected {
                order_id: order.order_id,
                account_id: order.account_id,
                client_order_id: order.client_order_id,
                reason,
            }));
            return Err(reason);
        }
        self.emit(EventKind::Accepted(OrderAccepted {
            order_id: order.order_id,
            account_id: order.account_id,
            client_order_id: order.client_order_id,
            side: order.side,
            order_type: order.order_type,
            time_in_force: order.time_in_force,
            price: order.price,
            quantity: order.quantity,
            self_trade_prevention: order.self_trade_prevention,
            reduce_only: order.reduce_only,
        }));
        if order.time_in_force == TimeInForce::Fok {
            // Try it for real on a copy of the book: all or nothing. Nothing: it expires whole.
            let mut trial = self.clone();
            if trial.sweep(&mut taker_of(order), band) != Stop::Filled {
                self.expire_taker(&taker_of(order), ExpireReason::ImmediateOrCancel);
                return Ok(());
            }
        }
        let rests =
            order.order_type != OrderType::Market && order.time_in_force == TimeInForce::Gtc;
        self.take_then_rest_or_expire(taker_of(order), band, rests);
        Ok(())
    }

    /// Every refusal, in the engine's documented order: shape, quantity, price, notional,
    /// duplicate id, room to rest, post-only.
    fn check_place(
        &self,
        order: &PlaceOrder,
        band: Option<(Price, Price)>,
    ) -> Result<(), RejectReason> {
        check_shape(order)?;
        match order.quantity {
            OrderQuantity::Base(qty) => self.check_qty(qty)?,
            OrderQuantity::Quote(amount) => self.check_notional(amount)?,
        }
        if let (Some(price), OrderQuantity::Base(qty)) = (order.price, order.quantity) {
            self.check_price(price, band)?;
            self.check_notional(Notional::of(price, qty))?;
        }
        if self.position(order.order_id).is_some() {
            return Err(RejectReason::DuplicateOrderId);
        }
        if order.order_type != OrderType::Market && order.time_in_force == TimeInForce::Gtc {
            if self.orders.len() >= self.limits.capacity.orders_max as usize {
                return Err(RejectReason::BookFull);
            }
            let mine = self.orders.iter().filter(|o| o.account_id == order.account_id).count();
            if mine >= self.limits.capacity.account_orders_max as usize {
                return Err(RejectReason::TooManyOpenOrders);
            }
        }
        if let (OrderType::LimitMaker, Some(price)) = (order.order_type, order.price)
            && self.would_take(order.side, price)
        {
            return Err(RejectReason::PostOnlyWouldTake);
        }
        Ok(())
    }

    /// Matches `taker`, moves the reference price to its last trade, then rests what is left
    /// (if allowed and nothing crosses any more) or expires it with the reason it stopped.
    fn take_then_rest_or_expire(
        &mut self,
        mut taker: Taker,
        band: Option<(Price, Price)>,
        rests: bool,
    ) {
        let stop = self.sweep(&mut taker, band);
        if let Some(price) = taker.last_trade_price {
            self.reference_price = Some(price);
        }
        let reason = match stop {
            Stop::Filled => return,
            Stop::NothingCrossing if rests => {
                let (OrderQuantity::Base(open_qty), Some(price)) = (taker.remaining, taker.limit)
                else {
                    panic!("only limit orders by base quantity rest");
                };
                self.orders.push(RestingOrder {
                    order_id: taker.order_id,
                    account_id: taker.account_id,
                    side: taker.side,
                    price,
                    open_qty,
                    // The queue position is taken after the last event so far.
                    priority_seq: self.last_event_seq,
                    self_trade_prevention: taker.self_trade_prevention,
                    post_only: taker.post_only,
                });
                self.emit_level(taker.side, price);
                return;
            }
            Stop::NothingCrossing | Stop::BudgetSpent => ExpireReason::ImmediateOrCancel,
            Stop::Band => ExpireReason::PriceBand,
            Stop::SelfTrade => ExpireReason::SelfTradePrevention,
        };
        self.expire_taker(&taker, reason);
    }

    fn expire_taker(&mut self, taker: &Taker, reason: ExpireReason) {
        let (expired_qty, remaining_quote) = match taker.remaining {
            OrderQuantity::Base(qty) => (qty, Notional::ZERO),
            OrderQuantity::Quote(amount) => (Qty::ZERO, amount),
        };
        self.emit(EventKind::Expired(OrderExpired {
            order_id: taker.order_id,
            account_id: taker.account_id,
            expired_qty,
            remaining_quote,
            reason,
        }));
    }

    // ---- matching ------------------------------------------------------------------------

    /// Takes from the best opposite level outwards until filled or stopped.
    fn sweep(&mut self, taker: &mut Taker, band: Option<(Price, Price)>) -> Stop {
        loop {
            if taker.is_filled() {
                return Stop::Filled;
            }
            let Some((price, _)) = self.best(taker.side.opposite()) else {
                return Stop::NothingCrossing;
            };
            let crosses = match (taker.limit, taker.side) {
                (None, _) => true,
                (Some(limit), Side::Buy) => price <= limit,
                (Some(limit), Side::Sell) => price >= limit,
            };
            if !crosses {
                return Stop::NothingCrossing;
            }
            if band.is_some_and(|(low, high)| price < low || price > high) {
                return Stop::Band;
            }
            if let Some(stop) = self.sweep_level(taker, price) {
                return stop;
            }
        }
    }

    /// Takes from the orders at one price in arrival order; emits the level's new total if
    /// anything there changed.
    fn sweep_level(&mut self, taker: &mut Taker, price: Price) -> Option<Stop> {
        let side = taker.side.opposite();
        let total_before = self.level_total(side, price);
        let queue: Vec<RestingOrder> = self
            .orders
            .iter()
            .filter(|order| order.side == side && order.price == price)
            .copied()
            .collect();
        let mut stop = None;
        for maker in queue {
            if taker.is_filled() {
                break;
            }
            let stp = taker.self_trade_prevention;
            if maker.account_id == taker.account_id && stp != SelfTradePrevention::None {
                if matches!(stp, SelfTradePrevention::ExpireMaker | SelfTradePrevention::ExpireBoth)
                {
                    self.expire_maker(maker);
                }
                if stp == SelfTradePrevention::ExpireMaker {
                    continue;
                }
                stop = Some(Stop::SelfTrade);
                break;
            }
            let qty = taker.fill_qty(price, maker.open_qty);
            if qty.is_zero() {
                stop = Some(Stop::BudgetSpent);
                break;
            }
            self.trade(taker, maker, qty);
        }
        if self.level_total(side, price) != total_before {
            self.emit_level(side, price);
        }
        stop
    }

    fn expire_maker(&mut self, maker: RestingOrder) {
        self.remove(maker.order_id);
        self.emit(EventKind::Expired(OrderExpired {
            order_id: maker.order_id,
            account_id: maker.account_id,
            expired_qty: maker.open_qty,
            remaining_quote: Notional::ZERO,
            reason: ExpireReason::SelfTradePrevention,
        }));
    }

    fn trade(&mut self, taker: &mut Taker, maker: RestingOrder, qty: Qty) {
        let position = self.position(maker.order_id).expect("maker rests");
        let maker_open_qty = Qty(self.orders[position].open_qty.0 - qty.0);
        self.orders[position].open_qty = maker_open_qty;
        if maker_open_qty.is_zero() {
            self.orders.remove(position);
        }
        taker.remaining = match taker.remaining {
            OrderQuantity::Base(left) => OrderQuantity::Base(Qty(left.0 - qty.0)),
            OrderQuantity::Quote(left) => {
                OrderQuantity::Quote(Notional(left.0 - Notional::of(maker.price, qty).0))
            }
        };
        taker.spend_left = match taker.spend_left {
            None => None,
            Some(SpendLimit::Base(left)) => Some(SpendLimit::Base(Qty(left.0 - qty.0))),
            Some(SpendLimit::Quote(left)) => {
                Some(SpendLimit::Quote(Notional(left.0 - Notional::of(maker.price, qty).0)))
            }
        };
        taker.last_trade_price = Some(maker.price);
        self.last_trade_id += 1;
        self.emit(EventKind::Traded(TradeExecuted {
            trade_id: TradeId(self.last_trade_id),
            price: maker.price,
            qty,
            taker_side: taker.side,
            maker_order_id: maker.order_id,
            maker_account_id: maker.account_id,
            taker_order_id: taker.order_id,
            taker_account_id: taker.account_id,
            maker_open_qty,
            maker_fee: self.limits.terms.maker_fee,
            taker_fee: self.limits.terms.taker_fee,
        }));
    }

    // ---- cancel and amend ----------------------------------------------------------------

    fn owned(
        &self,
        account_id: AccountId,
        order_id: OrderId,
    ) -> Result<RestingOrder, RejectReason> {
        let order = self.position(order_id).map(|position| self.orders[position]);
        match order {
            None => Err(RejectReason::UnknownOrder),
            Some(order) if order.account_id != account_id => Err(RejectReason::NotOwner),
            Some(order) => Ok(order),
        }
    }

    fn cancel(&mut self, account_id: AccountId, order_id: OrderId) -> Result<(), RejectReason> {
        let order = self.owned(account_id, order_id)?;
        self.remove(order_id);
        self.emit(EventKind::Canceled(OrderCanceled {
            order_id,
            account_id,
            canceled_qty: order.open_qty,
            reason: CancelReason::UserRequest,
        }));
        self.emit_level(order.side, order.price);
        Ok(())
    }

    /// Same price and no more quantity: changed in place, priority kept. Anything else: out of
    /// the book, then in again like a new GTC limit order at the back (it may trade first).
    fn amend(&mut self, amend: &AmendOrder) -> Result<(), RejectReason> {
        let order = self.owned(amend.account_id, amend.order_id)?;
        let same_price = amend.new_price == order.price;
        let keeps_priority = same_price && amend.new_qty <= order.open_qty;
        // A new price must be inside the band; the current one was already checked.
        let band = if same_price { None } else { self.band_for(order.side, Some(amend.new_price)) };
        // The same checks in the same order as a place, so both give the same reason.
        self.check_qty(amend.new_qty)?;
        self.check_price(amend.new_price, band)?;
        self.check_notional(Notional::of(amend.new_price, amend.new_qty))?;
        if !keeps_priority && order.post_only && self.would_take(order.side, amend.new_price) {
            return Err(RejectReason::PostOnlyWouldTake);
        }
        self.emit(EventKind::Amended(OrderAmended {
            order_id: order.order_id,
            account_id: order.account_id,
            old_price: order.price,
            new_price: amend.new_price,
            old_qty: order.open_qty,
            new_qty: amend.new_qty,
            kept_priority: keeps_priority,
        }));
        if keeps_priority {
            let position = self.position(order.order_id).expect("resting");
            self.orders[position].open_qty = amend.new_qty;
            if amend.new_qty != order.open_qty {
                self.emit_level(order.side, order.price);
            }
            return Ok(());
        }
        self.remove(order.order_id);
        self.emit_level(order.side, order.price);
        let taker = Taker {
            order_id: order.order_id,
            account_id: order.account_id,
            side: order.side,
            limit: Some(amend.new_price),
            remaining: OrderQuantity::Base(amend.new_qty),
            self_trade_prevention: order.self_trade_prevention,
            post_only: order.post_only,
            spend_left: None,
            last_trade_price: None,
        };
        self.take_then_rest_or_expire(taker, band, true);
        Ok(())
    }
}

impl Taker {
    fn is_filled(&self) -> bool {
        match self.remaining {
            OrderQuantity::Base(qty) => qty.is_zero(),
            OrderQuantity::Quote(amount) => amount.0 == 0,
        }
    }

    /// Lots this taker takes from a maker with `open_qty` at `price`: a quote budget and a
    /// quote spend limit buy only whole lots; a base spend limit caps the lots.
    fn fill_qty(&self, price: Price, open_qty: Qty) -> Qty {
        let whole_lots = |amount: Notional| {
            Qty(u64::try_from(amount.0 / i128::from(price.0)).expect("amount is not negative"))
        };
        let mut qty = match self.remaining {
            OrderQuantity::Base(qty) => qty.min(open_qty),
            OrderQuantity::Quote(budget) => whole_lots(budget).min(open_qty),
        };
        match self.spend_left {
            None => {}
            Some(SpendLimit::Base(left)) => qty = qty.min(left),
            Some(SpendLimit::Quote(left)) => qty = qty.min(whole_lots(left)),
        }
        qty
    }
}

fn taker_of(order: &PlaceOrder) -> Taker {
    Taker {
        order_id: order.order_id,
        account_id: order.account_id,
        side: order.side,
        limit: order.price,
        remaining: order.quantity,
        self_trade_prevention: order.self_trade_prevention,
        post_only: order.order_type == OrderType::LimitMaker,
        spend_left: order.spend_limit,
        last_trade_price: None,
    }
}

/// Type, time in force, price and quantity kind must fit together.
fn check_shape(order: &PlaceOrder) -> Result<(), RejectReason> {
    let by_quote = matches!(order.quantity, OrderQuantity::Quote(_));
    let tif = order.time_in_force;
    match order.order_type {
        OrderType::Limit | OrderType::LimitMaker if order.price.is_none() => {
            Err(RejectReason::MissingPrice)
        }
        OrderType::Limit | OrderType::LimitMaker if by_quote => {
            Err(RejectReason::QuoteQuantityNotAllowed)
        }
        OrderType::LimitMaker if tif != TimeInForce::Gtc => Err(RejectReason::InvalidTimeInForce),
        OrderType::Market if order.price.is_some() => Err(RejectReason::UnexpectedPrice),
        OrderType::Market if tif == TimeInForce::Gtc || (tif == TimeInForce::Fok && by_quote) => {
            Err(RejectReason::InvalidTimeInForce)
        }
        // The spend limit is in the asset given up: quote for a buy, base for a sell.
        _ => match (order.side, order.spend_limit) {
            (_, None) => Ok(()),
            (Side::Buy, Some(SpendLimit::Quote(amount))) if amount.0 >= 0 => Ok(()),
            (Side::Sell, Some(SpendLimit::Base(_))) => Ok(()),
            _ => Err(RejectReason::InvalidSpendLimit),
        },
    }
}
