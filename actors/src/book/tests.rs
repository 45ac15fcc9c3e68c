//! Named cases for every order type, time in force, STP mode, amend rule and refusal. The
//! model-based property test (actors/tests/model_based.rs) covers the combinations.

use rstest::rstest;

use super::{BookCapacity, BookLimits, BookSnapshot, EngineOutput, MatchingEngine};
use crate::model::{
    AccountId, AmendOrder, BookCommand, BookInput, CancelAccountOrders, CancelOrder, CancelOrders,
    CancelReason, ClientOrderId, EventKind, ExpireReason, FeeRate, LevelChanged, MarketTerms,
    Notional, OrderId, OrderQuantity, OrderType, PlaceOrder, Price, Qty, RejectReason,
    SelfTradePrevention, Side, SpendLimit, TimeInForce,
};

const ALICE: AccountId = AccountId(1);
const BOB: AccountId = AccountId(2);

fn limits() -> BookLimits {
    BookLimits {
        terms: MarketTerms {
            min_price: Price(1),
            max_price: Price(1_000_000),
            min_qty: Qty(1),
            max_qty: Qty(1_000_000),
            min_notional: Notional(10),
            max_notional: Notional(1 << 40),
            price_band_bps: 1_000,
            maker_fee: FeeRate::ZERO,
            taker_fee: FeeRate::ZERO,
        },
        capacity: BookCapacity { orders_max: 8, account_orders_max: 4, orders_preallocated: 8 },
    }
}

/// Drives an engine with sequential inputs and returns each command's events without seqs.
struct Book {
    engine: MatchingEngine,
    out: EngineOutput,
    next_order_id: u64,
}

impl Book {
    fn new() -> Self {
        Book {
            engine: MatchingEngine::new(limits()),
            out: EngineOutput::default(),
            next_order_id: 1,
        }
    }

    fn apply(&mut self, command: BookCommand) -> (Result<(), RejectReason>, Vec<EventKind>) {
        self.out.clear();
        let input_seq = self.engine.last_input_seq() + 1;
        let first_seq = self.engine.last_event_seq() + 1;
        let result = self.engine.apply(&BookInput { input_seq, ts_ns: 7, command }, &mut self.out);
        for (offset, event) in self.out.events.iter().enumerate() {
            assert_eq!(event.seq, first_seq + offset as u64, "event seqs are contiguous");
        }
        (result, self.out.events.iter().map(|event| event.kind).collect())
    }

    fn order(&mut self, account_id: AccountId, side: Side) -> PlaceOrder {
        self.next_order_id += 1;
        PlaceOrder {
            order_id: OrderId(self.next_order_id),
            account_id,
            client_order_id: ClientOrderId::NONE,
            side,
            order_type: OrderType::Limit,
            time_in_force: TimeInForce::Gtc,
            price: None,
            quantity: OrderQuantity::Base(Qty(0)),
            self_trade_prevention: SelfTradePrevention::None,
            reduce_only: false,
            spend_limit: None,
        }
    }

    fn limit_order(&mut self, account: AccountId, side: Side, price: i64, qty: u64) -> PlaceOrder {
        PlaceOrder {
            price: Some(Price(price)),
            quantity: OrderQuantity::Base(Qty(qty)),
            ..self.order(account, side)
        }
    }

    /// Places a GTC limit order that is expected to be accepted; returns its id.
    fn rest(&mut self, account: AccountId, side: Side, price: i64, qty: u64) -> OrderId {
        let order = self.limit_order(account, side, price, qty);
        let (result, _) = self.apply(BookCommand::Place(order));
        assert_eq!(result, Ok(()));
        order.order_id
    }

    /// Applies a command that must succeed; returns its events.
    fn must(&mut self, command: BookCommand) -> Vec<EventKind> {
        let (result, events) = self.apply(command);
        assert_eq!(result, Ok(()));
        events
    }

    fn place(&mut self, order: PlaceOrder) -> (Result<(), RejectReason>, Vec<EventKind>) {
        self.apply(BookCommand::Place(order))
    }

    fn open_qty(&self, order_id: OrderId) -> Option<u64> {
        self.engine.order(order_id).map(|order| order.open_qty.0)
    }
}

fn amend_of(account_id: AccountId, order_id: OrderId, price: i64, qty: u64) -> BookCommand {
    BookCommand::Amend(AmendOrder {
        account_id,
        order_id,
        new_price: Price(price),
        new_qty: Qty(qty),
    })
}

fn trades(events: &[EventKind]) -> Vec<(u64, i64, u64)> {
    events
        .iter()
        .filter_map(|event| match event {
            EventKind::Traded(trade) => Some((trade.maker_order_id.0, trade.price.0, trade.qty.0)),
            _ => None,
        })
        .collect()
}

fn expiry(events: &[EventKind]) -> Option<(u64, u64, ExpireReason)> {
    events.iter().find_map(|event| match event {
        EventKind::Expired(expired) => {
            Some((expired.order_id.0, expired.expired_qty.0, expired.reason))
        }
        _ => None,
    })
}

#[test]
fn gtc_limit_rests_and_reports_its_level() {
    let mut book = Book::new();
    let order = book.limit_order(ALICE, Side::Buy, 100, 5);
    let (result, events) = book.place(order);
    assert_eq!(result, Ok(()));
    assert!(
        matches!(events[0], EventKind::Accepted(accepted) if accepted.order_id == order.order_id)
    );
    assert_eq!(
        events[1],
        EventKind::LevelChanged(LevelChanged { side: Side::Buy, price: Price(100), qty: Qty(5) })
    );
    assert_eq!(events.len(), 2);
    assert_eq!(book.engine.best_bid(), Some((Price(100), Qty(5))));
}

#[test]
fn taker_trades_at_maker_prices_best_price_first_then_arrival_order() {
    let mut book = Book::new();
    let first_at_101 = book.rest(BOB, Side::Sell, 101, 2);
    let at_100 = book.rest(BOB, Side::Sell, 100, 1);
    let second_at_101 = book.rest(BOB, Side::Sell, 101, 2);
    let taker = book.limit_order(ALICE, Side::Buy, 105, 4);
    let (_, events) = book.place(taker);
    assert_eq!(
        trades(&events),
        vec![(at_100.0, 100, 1), (first_at_101.0, 101, 2), (second_at_101.0, 101, 1)]
    );
    assert_eq!(book.open_qty(second_at_101), Some(1));
    assert_eq!(book.open_qty(taker.order_id), None, "fully filled taker does not rest");
    assert_eq!(book.engine.reference_price(), Some(Price(101)), "reference follows last trade");
}

#[test]
fn partially_filled_gtc_rests_its_remainder() {
    let mut book = Book::new();
    book.rest(BOB, Side::Sell, 100, 3);
    let taker = book.limit_order(ALICE, Side::Buy, 100, 5);
    book.must(BookCommand::Place(taker));
    assert_eq!(book.open_qty(taker.order_id), Some(2));
    assert_eq!(book.engine.best_bid(), Some((Price(100), Qty(2))));
    assert_eq!(book.engine.best_ask(), None);
}

#[rstest]
#[case::partial(3, vec![(2, 100, 3)], Some(2))]
#[case::nothing_crosses(0, vec![], Some(5))]
fn ioc_remainder_expires(
    #[case] resting_qty: u64,
    #[case] expected_trades: Vec<(u64, i64, u64)>,
    #[case] expired_qty: Option<u64>,
) {
    let mut book = Book::new();
    if resting_qty > 0 {
        book.rest(BOB, Side::Sell, 100, resting_qty);
    }
    let taker = PlaceOrder {
        time_in_force: TimeInForce::Ioc,
        ..book.limit_order(ALICE, Side::Buy, 100, 5)
    };
    let (result, events) = book.place(taker);
    assert_eq!(result, Ok(()));
    assert_eq!(trades(&events), expected_trades);
    let expected = expired_qty.map(|qty| (taker.order_id.0, qty, ExpireReason::ImmediateOrCancel));
    assert_eq!(expiry(&events), expected);
    assert_eq!(book.open_qty(taker.order_id), None, "IOC never rests");
}

#[test]
fn fok_fills_across_levels_when_it_can() {
    let mut book = Book::new();
    book.rest(BOB, Side::Sell, 100, 2);
    book.rest(BOB, Side::Sell, 101, 3);
    let taker = PlaceOrder {
        time_in_force: TimeInForce::Fok,
        ..book.limit_order(ALICE, Side::Buy, 101, 5)
    };
    let (result, events) = book.place(taker);
    assert_eq!(result, Ok(()));
    assert_eq!(trades(&events).iter().map(|trade| trade.2).sum::<u64>(), 5);
    assert_eq!(book.engine.best_ask(), None);
}

#[rstest]
#[case::not_enough_volume(SelfTradePrevention::None, 6)]
#[case::own_order_blocks_with_expire_taker(SelfTradePrevention::ExpireTaker, 5)]
#[case::own_order_blocks_with_expire_both(SelfTradePrevention::ExpireBoth, 5)]
#[case::own_order_not_counted_with_expire_maker(SelfTradePrevention::ExpireMaker, 5)]
fn fok_that_cannot_fill_expires_and_changes_nothing(
    #[case] stp: SelfTradePrevention,
    #[case] qty: u64,
) {
    let mut book = Book::new();
    book.rest(BOB, Side::Sell, 100, 2);
    book.rest(ALICE, Side::Sell, 100, 1);
    book.rest(BOB, Side::Sell, 101, 2);
    let taker = PlaceOrder {
        time_in_force: TimeInForce::Fok,
        self_trade_prevention: stp,
        ..book.limit_order(ALICE, Side::Buy, 101, qty)
    };
    assert_fok_expired_without_change(&mut book, taker);
}

#[test]
fn fok_beyond_its_limit_price_expires() {
    let mut book = Book::new();
    book.rest(BOB, Side::Sell, 100, 2);
    book.rest(BOB, Side::Sell, 102, 9);
    let taker = PlaceOrder {
        time_in_force: TimeInForce::Fok,
        ..book.limit_order(ALICE, Side::Buy, 101, 3)
    };
    assert_fok_expired_without_change(&mut book, taker);
}

#[test]
fn market_by_base_sweeps_and_expires_the_rest_when_liquidity_runs_out() {
    let mut book = Book::new();
    book.rest(BOB, Side::Buy, 100, 2);
    book.rest(BOB, Side::Buy, 99, 2);
    let taker = PlaceOrder {
        order_type: OrderType::Market,
        time_in_force: TimeInForce::Ioc,
        quantity: OrderQuantity::Base(Qty(6)),
        ..book.order(ALICE, Side::Sell)
    };
    let (result, events) = book.place(taker);
    assert_eq!(result, Ok(()));
    assert_eq!(
        trades(&events).iter().map(|trade| (trade.1, trade.2)).collect::<Vec<_>>(),
        vec![(100, 2), (99, 2)]
    );
    assert_eq!(expiry(&events), Some((taker.order_id.0, 2, ExpireReason::ImmediateOrCancel)));
}

#[test]
fn market_stops_at_the_price_band() {
    let mut book = Book::new();
    book.rest(BOB, Side::Sell, 1050, 2);
    book.rest(BOB, Side::Sell, 1100, 2);
    book.rest(BOB, Side::Sell, 1101, 2);
    // Rested before the reference existed; now beyond reference + 10%.
    book.must(BookCommand::SetReferencePrice(Price(1000)));
    let taker = PlaceOrder {
        order_type: OrderType::Market,
        time_in_force: TimeInForce::Ioc,
        quantity: OrderQuantity::Base(Qty(6)),
        ..book.order(ALICE, Side::Buy)
    };
    let (_, events) = book.place(taker);
    assert_eq!(trades(&events).iter().map(|trade| trade.1).collect::<Vec<_>>(), vec![1050, 1100]);
    assert_eq!(expiry(&events), Some((taker.order_id.0, 2, ExpireReason::PriceBand)));
    assert_eq!(book.engine.best_ask(), Some((Price(1101), Qty(2))));
}

#[test]
fn market_without_reference_is_banded_around_the_best_opposite_price() {
    let mut book = Book::new();
    book.rest(BOB, Side::Sell, 1000, 1);
    book.rest(BOB, Side::Sell, 2000, 1);
    let taker = PlaceOrder {
        order_type: OrderType::Market,
        time_in_force: TimeInForce::Ioc,
        quantity: OrderQuantity::Base(Qty(2)),
        ..book.order(ALICE, Side::Buy)
    };
    let (_, events) = book.place(taker);
    assert_eq!(trades(&events).iter().map(|trade| trade.1).collect::<Vec<_>>(), vec![1000]);
    assert_eq!(expiry(&events), Some((taker.order_id.0, 1, ExpireReason::PriceBand)));
}

#[test]
fn market_by_quote_spends_whole_lots_within_budget() {
    let mut book = Book::new();
    book.rest(BOB, Side::Sell, 100, 3);
    book.rest(BOB, Side::Sell, 101, 5);
    // 3 lots at 100 = 300, then 250 left buys 2 lots at 101 = 202, leaving 48.
    let taker = PlaceOrder {
        order_type: OrderType::Market,
        time_in_force: TimeInForce::Ioc,
        quantity: OrderQuantity::Quote(Notional(550)),
        ..book.order(ALICE, Side::Buy)
    };
    let (_, events) = book.place(taker);
    assert_eq!(
        trades(&events).iter().map(|trade| (trade.1, trade.2)).collect::<Vec<_>>(),
        vec![(100, 3), (101, 2)]
    );
    let expired = events.iter().find_map(|event| match event {
        EventKind::Expired(expired) => Some((expired.remaining_quote, expired.reason)),
        _ => None,
    });
    assert_eq!(expired, Some((Notional(48), ExpireReason::ImmediateOrCancel)));
}

/// Bob's liquidity for a spend-limited taker on `side`: asks 3 @ 100 and 5 @ 101 for a buy,
/// bids 3 @ 100 and 5 @ 99 for a sell.
fn book_for_spend_limit(taker_side: Side) -> Book {
    let mut book = Book::new();
    let further = match taker_side {
        Side::Buy => 101,
        Side::Sell => 99,
    };
    book.rest(BOB, taker_side.opposite(), 100, 3);
    book.rest(BOB, taker_side.opposite(), further, 5);
    book
}

fn market(book: &mut Book, side: Side, quantity: OrderQuantity, limit: SpendLimit) -> PlaceOrder {
    PlaceOrder {
        order_type: OrderType::Market,
        time_in_force: TimeInForce::Ioc,
        quantity,
        spend_limit: Some(limit),
        ..book.order(ALICE, side)
    }
}

/// Expected trades as (price, qty); expiry as (expired qty, remaining quote), `None` = filled.
#[rstest]
#[case::buy_by_base_capped_by_quote(Side::Buy, OrderQuantity::Base(Qty(6)), SpendLimit::Quote(Notional(502)), vec![(100, 3), (101, 2)], Some((1, 0)))]
#[case::buy_by_base_cap_between_lots(Side::Buy, OrderQuantity::Base(Qty(6)), SpendLimit::Quote(Notional(550)), vec![(100, 3), (101, 2)], Some((1, 0)))]
#[case::buy_by_quote_capped_by_quote(Side::Buy, OrderQuantity::Quote(Notional(1_000)), SpendLimit::Quote(Notional(502)), vec![(100, 3), (101, 2)], Some((0, 498)))]
#[case::sell_by_quote_capped_by_base(Side::Sell, OrderQuantity::Quote(Notional(1_000)), SpendLimit::Base(Qty(4)), vec![(100, 3), (99, 1)], Some((0, 601)))]
#[case::sell_by_base_capped_by_base(Side::Sell, OrderQuantity::Base(Qty(6)), SpendLimit::Base(Qty(4)), vec![(100, 3), (99, 1)], Some((2, 0)))]
#[case::buy_cap_exactly_sufficient(Side::Buy, OrderQuantity::Base(Qty(5)), SpendLimit::Quote(Notional(502)), vec![(100, 3), (101, 2)], None)]
#[case::sell_cap_exactly_sufficient(Side::Sell, OrderQuantity::Base(Qty(4)), SpendLimit::Base(Qty(4)), vec![(100, 3), (99, 1)], None)]
fn market_never_spends_more_than_its_spend_limit(
    #[case] side: Side,
    #[case] quantity: OrderQuantity,
    #[case] limit: SpendLimit,
    #[case] expected_trades: Vec<(i64, u64)>,
    #[case] expected_expiry: Option<(u64, i128)>,
) {
    let mut book = book_for_spend_limit(side);
    let taker = market(&mut book, side, quantity, limit);
    let (result, events) = book.place(taker);
    assert_eq!(result, Ok(()));
    assert_eq!(
        trades(&events).iter().map(|trade| (trade.1, trade.2)).collect::<Vec<_>>(),
        expected_trades
    );
    let expired = events.iter().find_map(|event| match event {
        EventKind::Expired(expired) => {
            Some((expired.expired_qty.0, expired.remaining_quote.0, expired.reason))
        }
        _ => None,
    });
    let expected =
        expected_expiry.map(|(qty, quote)| (qty, quote, ExpireReason::ImmediateOrCancel));
    assert_eq!(expired, expected);
}

#[rstest]
#[case::buy(Side::Buy, SpendLimit::Quote(Notional(99)))]
#[case::sell(Side::Sell, SpendLimit::Base(Qty(0)))]
fn spend_limit_too_small_for_one_lot_expires_without_trading(
    #[case] side: Side,
    #[case] limit: SpendLimit,
) {
    let mut book = book_for_spend_limit(side);
    let before = book.engine.snapshot();
    let taker = market(&mut book, side, OrderQuantity::Base(Qty(2)), limit);
    let (result, events) = book.place(taker);
    assert_eq!(result, Ok(()));
    assert!(matches!(events.as_slice(), [EventKind::Accepted(_), EventKind::Expired(_)]));
    assert_eq!(expiry(&events), Some((taker.order_id.0, 2, ExpireReason::ImmediateOrCancel)));
    assert_eq!(book.engine.snapshot().orders, before.orders, "no trade, nothing rests");
}

#[test]
fn gtc_limit_stopped_by_its_spend_limit_expires_instead_of_resting() {
    let mut book = book_for_spend_limit(Side::Buy);
    let taker = PlaceOrder {
        spend_limit: Some(SpendLimit::Quote(Notional(300))),
        ..book.limit_order(ALICE, Side::Buy, 101, 6)
    };
    let (_, events) = book.place(taker);
    assert_eq!(trades(&events).iter().map(|trade| trade.2).collect::<Vec<_>>(), vec![3]);
    assert_eq!(expiry(&events), Some((taker.order_id.0, 3, ExpireReason::ImmediateOrCancel)));
    assert_eq!(book.open_qty(taker.order_id), None);
}

#[test]
fn a_resting_order_keeps_no_spend_limit_when_an_amend_moves_it() {
    let mut book = book_for_spend_limit(Side::Buy);
    let bid = PlaceOrder {
        spend_limit: Some(SpendLimit::Quote(Notional(0))),
        ..book.limit_order(ALICE, Side::Buy, 99, 5)
    };
    book.must(BookCommand::Place(bid));
    let events = book.must(amend_of(ALICE, bid.order_id, 101, 5));
    assert_eq!(
        trades(&events).iter().map(|trade| (trade.1, trade.2)).collect::<Vec<_>>(),
        vec![(100, 3), (101, 2)]
    );
}

#[rstest]
#[case::base_limit_on_a_buy(Side::Buy, SpendLimit::Base(Qty(5)))]
#[case::quote_limit_on_a_sell(Side::Sell, SpendLimit::Quote(Notional(500)))]
#[case::negative_quote_limit(Side::Buy, SpendLimit::Quote(Notional(-1)))]
fn spend_limit_of_the_wrong_asset_is_refused(#[case] side: Side, #[case] limit: SpendLimit) {
    let mut book = book_for_spend_limit(side);
    let order = market(&mut book, side, OrderQuantity::Base(Qty(2)), limit);
    assert_refused_without_change(&mut book, order, RejectReason::InvalidSpendLimit);
}

/// Fill-or-kill for 5: 3 @ 100 and 2 @ 101 cost 502 (buy); a sell needs a limit of 5 lots.
/// `fills` false: it cannot fill completely, so it expires untouched.
#[rstest]
#[case::limit_buy_cap_short_by_one(
    OrderType::Limit,
    Side::Buy,
    SpendLimit::Quote(Notional(501)),
    false
)]
#[case::limit_buy_cap_exact(OrderType::Limit, Side::Buy, SpendLimit::Quote(Notional(502)), true)]
#[case::market_buy_cap_short(OrderType::Market, Side::Buy, SpendLimit::Quote(Notional(400)), false)]
#[case::market_sell_cap_short(OrderType::Market, Side::Sell, SpendLimit::Base(Qty(4)), false)]
#[case::market_sell_cap_exact(OrderType::Market, Side::Sell, SpendLimit::Base(Qty(5)), true)]
fn fok_counts_the_spend_limit(
    #[case] order_type: OrderType,
    #[case] side: Side,
    #[case] limit: SpendLimit,
    #[case] fills: bool,
) {
    let mut book = book_for_spend_limit(side);
    let price = match (order_type, side) {
        (OrderType::Market, _) => None,
        (_, Side::Buy) => Some(Price(101)),
        (_, Side::Sell) => Some(Price(99)),
    };
    let order = PlaceOrder {
        order_type,
        time_in_force: TimeInForce::Fok,
        price,
        quantity: OrderQuantity::Base(Qty(5)),
        spend_limit: Some(limit),
        ..book.order(ALICE, side)
    };
    if fills {
        let (result, events) = book.place(order);
        assert_eq!(result, Ok(()));
        assert_eq!(trades(&events).iter().map(|trade| trade.2).sum::<u64>(), 5);
    } else {
        assert_fok_expired_without_change(&mut book, order);
    }
}

#[test]
fn market_fok_by_base_is_all_or_nothing() {
    let mut book = Book::new();
    book.rest(BOB, Side::Sell, 100, 3);
    let order = PlaceOrder {
        order_type: OrderType::Market,
        time_in_force: TimeInForce::Fok,
        quantity: OrderQuantity::Base(Qty(4)),
        ..book.order(ALICE, Side::Buy)
    };
    assert_fok_expired_without_change(&mut book, order);
    let fills =
        PlaceOrder { quantity: OrderQuantity::Base(Qty(3)), ..book.order(ALICE, Side::Buy) };
    let fills =
        PlaceOrder { order_type: OrderType::Market, time_in_force: TimeInForce::Fok, ..fills };
    let (result, events) = book.place(fills);
    assert_eq!((result, trades(&events).len()), (Ok(()), 1));
}

#[test]
fn post_only_rests_when_it_would_not_take() {
    let mut book = Book::new();
    book.rest(BOB, Side::Sell, 101, 1);
    let maker = PlaceOrder {
        order_type: OrderType::LimitMaker,
        ..book.limit_order(ALICE, Side::Buy, 100, 2)
    };
    assert_eq!(book.place(maker).0, Ok(()));
    assert_eq!(book.open_qty(maker.order_id), Some(2));
}

#[test]
fn post_only_that_would_take_is_refused_never_repriced() {
    let mut book = Book::new();
    book.rest(BOB, Side::Sell, 101, 1);
    let taker = PlaceOrder {
        order_type: OrderType::LimitMaker,
        ..book.limit_order(ALICE, Side::Buy, 101, 2)
    };
    assert_refused_without_change(&mut book, taker, RejectReason::PostOnlyWouldTake);
}

/// Alice rests 2 at 100 behind Bob's 1 at 100, then Alice's taker for 3 meets her own order.
#[rstest]
#[case::none_allows_self_trade(SelfTradePrevention::None, vec![1, 2], None, None)]
#[case::expire_taker(SelfTradePrevention::ExpireTaker, vec![1], None, Some(2))]
#[case::expire_maker(SelfTradePrevention::ExpireMaker, vec![1, 1], Some(2), None)]
#[case::expire_both(SelfTradePrevention::ExpireBoth, vec![1], Some(2), Some(2))]
fn self_trade_prevention_follows_the_taker_mode(
    #[case] mode: SelfTradePrevention,
    #[case] filled: Vec<u64>,
    #[case] maker_expired: Option<u64>,
    #[case] taker_expired: Option<u64>,
) {
    let mut book = Book::new();
    book.rest(BOB, Side::Sell, 100, 1);
    let own = book.rest(ALICE, Side::Sell, 100, 2);
    book.rest(BOB, Side::Sell, 101, 1);
    let taker = PlaceOrder {
        self_trade_prevention: mode,
        time_in_force: TimeInForce::Ioc,
        ..book.limit_order(ALICE, Side::Buy, 101, 3)
    };
    let (_, events) = book.place(taker);
    assert_eq!(trades(&events).iter().map(|trade| trade.2).collect::<Vec<_>>(), filled);
    let expired_of = |order_id: OrderId| {
        events.iter().find_map(|event| match event {
            EventKind::Expired(expired)
                if expired.order_id == order_id
                    && expired.reason == ExpireReason::SelfTradePrevention =>
            {
                Some(expired.expired_qty.0)
            }
            _ => None,
        })
    };
    assert_eq!(expired_of(own), maker_expired);
    assert_eq!(expired_of(taker.order_id), taker_expired);
    let own_still_rests = maker_expired.is_none() && mode != SelfTradePrevention::None;
    assert_eq!(book.open_qty(own).is_some(), own_still_rests);
}

#[test]
fn amend_down_at_same_price_keeps_queue_priority() {
    let mut book = Book::new();
    let first = book.rest(ALICE, Side::Buy, 100, 5);
    let second = book.rest(BOB, Side::Buy, 100, 5);
    let amend =
        AmendOrder { account_id: ALICE, order_id: first, new_price: Price(100), new_qty: Qty(3) };
    let (result, events) = book.apply(BookCommand::Amend(amend));
    assert_eq!(result, Ok(()));
    assert!(matches!(events[0], EventKind::Amended(amended) if amended.kept_priority));
    let seller = book.limit_order(BOB, Side::Sell, 100, 3);
    let (_, events) = book.place(seller);
    assert_eq!(trades(&events), vec![(first.0, 100, 3)]);
    assert_eq!(book.open_qty(second), Some(5));
}

#[rstest]
#[case::quantity_up(100, 6)]
#[case::price_change(99, 5)]
#[case::price_back_and_forth(100, 5)]
fn amend_that_is_not_a_shrink_loses_priority(#[case] new_price: i64, #[case] new_qty: u64) {
    let mut book = Book::new();
    let first = book.rest(ALICE, Side::Buy, 100, 5);
    let second = book.rest(BOB, Side::Buy, new_price, 5);
    if new_price == 100 && new_qty == 5 {
        // Same price and quantity after a move away and back: the order is re-queued.
        let away = AmendOrder {
            account_id: ALICE,
            order_id: first,
            new_price: Price(98),
            new_qty: Qty(5),
        };
        book.must(BookCommand::Amend(away));
    }
    let amend = AmendOrder {
        account_id: ALICE,
        order_id: first,
        new_price: Price(new_price),
        new_qty: Qty(new_qty),
    };
    let (result, events) = book.apply(BookCommand::Amend(amend));
    assert_eq!(result, Ok(()));
    let seller = book.limit_order(BOB, Side::Sell, new_price, 5);
    let (_, fills) = book.place(seller);
    assert_eq!(trades(&fills), vec![(second.0, new_price, 5)], "amended order went to the back");
    let kept = events
        .iter()
        .any(|event| matches!(event, EventKind::Amended(amended) if amended.kept_priority));
    assert!(!kept);
}

#[test]
fn amend_to_a_crossing_price_trades_then_rests() {
    let mut book = Book::new();
    let ask = book.rest(BOB, Side::Sell, 101, 2);
    let bid = book.rest(ALICE, Side::Buy, 99, 5);
    let amend =
        AmendOrder { account_id: ALICE, order_id: bid, new_price: Price(101), new_qty: Qty(5) };
    let (_, events) = book.apply(BookCommand::Amend(amend));
    assert_eq!(trades(&events), vec![(ask.0, 101, 2)]);
    assert_eq!(book.open_qty(bid), Some(3));
    assert_eq!(book.engine.best_bid(), Some((Price(101), Qty(3))));
}

#[test]
fn amend_of_post_only_to_a_crossing_price_is_refused() {
    let mut book = Book::new();
    book.rest(BOB, Side::Sell, 101, 2);
    let maker = PlaceOrder {
        order_type: OrderType::LimitMaker,
        ..book.limit_order(ALICE, Side::Buy, 99, 5)
    };
    book.must(BookCommand::Place(maker));
    let amend = amend_of(ALICE, maker.order_id, 101, 5);
    assert_command_refused_without_change(&mut book, amend, RejectReason::PostOnlyWouldTake);
}

#[rstest]
#[case::unknown(ALICE, OrderId(999), RejectReason::UnknownOrder)]
#[case::not_owner(BOB, OrderId(2), RejectReason::NotOwner)]
fn cancel_and_amend_check_existence_and_owner(
    #[case] account_id: AccountId,
    #[case] order_id: OrderId,
    #[case] reason: RejectReason,
) {
    let mut book = Book::new();
    assert_eq!(book.rest(ALICE, Side::Buy, 100, 5), OrderId(2));
    let cancel = BookCommand::Cancel(CancelOrder { account_id, order_id });
    assert_command_refused_without_change(&mut book, cancel, reason);
    let amend = AmendOrder { account_id, order_id, new_price: Price(100), new_qty: Qty(1) };
    assert_command_refused_without_change(&mut book, BookCommand::Amend(amend), reason);
}

#[test]
fn cancel_removes_the_order_and_an_emptied_level() {
    let mut book = Book::new();
    let order = book.rest(ALICE, Side::Buy, 100, 5);
    let (result, events) =
        book.apply(BookCommand::Cancel(CancelOrder { account_id: ALICE, order_id: order }));
    assert_eq!(result, Ok(()));
    assert!(matches!(events[0], EventKind::Canceled(canceled)
        if canceled.canceled_qty == Qty(5) && canceled.reason == CancelReason::UserRequest));
    assert_eq!(
        events[1],
        EventKind::LevelChanged(LevelChanged { side: Side::Buy, price: Price(100), qty: Qty(0) })
    );
    assert_eq!((book.engine.best_bid(), book.engine.open_order_count()), (None, 0));
}

#[test]
fn cancel_many_cancels_what_it_can_and_reports_the_rest() {
    let mut book = Book::new();
    let mine = [book.rest(ALICE, Side::Buy, 100, 1), book.rest(ALICE, Side::Buy, 99, 1)];
    let theirs = book.rest(BOB, Side::Buy, 98, 1);
    let ids = vec![mine[0], OrderId(999), theirs, mine[1], mine[0]];
    let (result, events) =
        book.apply(BookCommand::CancelMany(CancelOrders { account_id: ALICE, order_ids: ids }));
    assert_eq!(result, Ok(()));
    let canceled = events.iter().filter(|event| matches!(event, EventKind::Canceled(_))).count();
    assert_eq!(canceled, 2);
    assert_eq!(
        book.out.cancel_failures,
        vec![
            (OrderId(999), RejectReason::UnknownOrder),
            (theirs, RejectReason::NotOwner),
            (mine[0], RejectReason::UnknownOrder)
        ]
    );
    assert_eq!(book.open_qty(theirs), Some(1));
}

#[test]
fn cancel_all_cancels_only_that_account_in_priority_order() {
    let mut book = Book::new();
    let first = book.rest(ALICE, Side::Sell, 105, 1);
    let theirs = book.rest(BOB, Side::Buy, 90, 1);
    let second = book.rest(ALICE, Side::Buy, 95, 1);
    let (_, events) = book.apply(BookCommand::CancelAll(CancelAccountOrders { account_id: ALICE }));
    let canceled: Vec<OrderId> = events
        .iter()
        .filter_map(|event| match event {
            EventKind::Canceled(canceled) => Some(canceled.order_id),
            _ => None,
        })
        .collect();
    assert_eq!(canceled, vec![first, second]);
    assert_eq!(book.engine.account_open_order_count(ALICE), 0);
    assert_eq!(book.open_qty(theirs), Some(1));
}

/// A refused place emits exactly one `Rejected` event; nothing else about the book changes.
fn assert_refused_without_change(book: &mut Book, order: PlaceOrder, reason: RejectReason) {
    let before = book.engine.snapshot();
    let (result, events) = book.place(order);
    assert_eq!(result, Err(reason));
    assert!(
        matches!(events.as_slice(), [EventKind::Rejected(rejected)] if rejected.reason == reason
        && rejected.order_id == order.order_id)
    );
    assert_only_events_changed(book, &before, 1);
}

/// A fill-or-kill that cannot fill completely is accepted and expires at once with its whole
/// quantity (as Binance: EXPIRED, not refused), and the book is as it was.
fn assert_fok_expired_without_change(book: &mut Book, order: PlaceOrder) {
    let before = book.engine.snapshot();
    let (result, events) = book.place(order);
    assert_eq!(result, Ok(()));
    let OrderQuantity::Base(qty) = order.quantity else { unreachable!("FOK is by base quantity") };
    assert!(
        matches!(events.as_slice(), [EventKind::Accepted(accepted), EventKind::Expired(expired)]
            if accepted.order_id == order.order_id && expired.order_id == order.order_id
            && expired.expired_qty == qty && expired.reason == ExpireReason::ImmediateOrCancel),
        "{events:?}"
    );
    assert_only_events_changed(book, &before, 2);
}

/// Since `before`, the book emitted `events_emitted` events and changed nothing else.
fn assert_only_events_changed(book: &Book, before: &BookSnapshot, events_emitted: u64) {
    let after = book.engine.snapshot();
    assert_eq!(after.orders, before.orders);
    assert_eq!(after.last_event_seq, before.last_event_seq + events_emitted);
    assert_eq!(
        (after.last_trade_id, after.reference_price),
        (before.last_trade_id, before.reference_price)
    );
}

/// A refused cancel or amend emits nothing and changes nothing but the input sequence.
fn assert_command_refused_without_change(
    book: &mut Book,
    command: BookCommand,
    reason: RejectReason,
) {
    let before = book.engine.snapshot();
    let (result, events) = book.apply(command);
    assert_eq!((result, events), (Err(reason), vec![]));
    let after = book.engine.snapshot();
    assert_eq!(after.last_input_seq, before.last_input_seq + 1);
    assert_eq!(BookSnapshotWithoutInput::of(&after), BookSnapshotWithoutInput::of(&before));
}

#[derive(Debug, PartialEq)]
struct BookSnapshotWithoutInput(super::BookSnapshot);

impl BookSnapshotWithoutInput {
    fn of(snapshot: &super::BookSnapshot) -> Self {
        BookSnapshotWithoutInput(super::BookSnapshot { last_input_seq: 0, ..snapshot.clone() })
    }
}

#[rstest]
#[case::missing_price(|order: &mut PlaceOrder| order.price = None, RejectReason::MissingPrice)]
#[case::zero_qty(|order: &mut PlaceOrder| order.quantity = OrderQuantity::Base(Qty(0)), RejectReason::ZeroQuantity)]
#[case::price_below_min(|order: &mut PlaceOrder| order.price = Some(Price(0)), RejectReason::PriceOutOfRange)]
#[case::price_above_max(|order: &mut PlaceOrder| order.price = Some(Price(1_000_001)), RejectReason::PriceOutOfRange)]
#[case::qty_above_max(|order: &mut PlaceOrder| order.quantity = OrderQuantity::Base(Qty(1_000_001)), RejectReason::QtyAboveMax)]
#[case::qty_far_above_max(|order: &mut PlaceOrder| order.quantity = OrderQuantity::Base(Qty(1 << 34)), RejectReason::QtyAboveMax)]
#[case::outside_band(|order: &mut PlaceOrder| order.price = Some(Price(1_101)), RejectReason::OutsidePriceBand)]
#[case::quote_on_limit(|order: &mut PlaceOrder| order.quantity = OrderQuantity::Quote(Notional(100)), RejectReason::QuoteQuantityNotAllowed)]
#[case::post_only_ioc(|order: &mut PlaceOrder| { order.order_type = OrderType::LimitMaker; order.time_in_force = TimeInForce::Ioc }, RejectReason::InvalidTimeInForce)]
#[case::market_with_price(|order: &mut PlaceOrder| order.order_type = OrderType::Market, RejectReason::UnexpectedPrice)]
#[case::market_gtc(|order: &mut PlaceOrder| { order.order_type = OrderType::Market; order.price = None }, RejectReason::InvalidTimeInForce)]
#[case::market_fok_by_quote(|order: &mut PlaceOrder| {
    order.order_type = OrderType::Market;
    order.price = None;
    order.time_in_force = TimeInForce::Fok;
    order.quantity = OrderQuantity::Quote(Notional(100));
}, RejectReason::InvalidTimeInForce)]
#[case::market_quote_below_min_notional(|order: &mut PlaceOrder| {
    order.order_type = OrderType::Market;
    order.price = None;
    order.time_in_force = TimeInForce::Ioc;
    order.quantity = OrderQuantity::Quote(Notional(9));
}, RejectReason::NotionalBelowMin)]
#[case::duplicate_id(|order: &mut PlaceOrder| order.order_id = OrderId(2), RejectReason::DuplicateOrderId)]
fn invalid_orders_are_refused_and_change_nothing(
    #[case] break_it: fn(&mut PlaceOrder),
    #[case] reason: RejectReason,
) {
    let mut book = Book::new();
    assert_eq!(book.rest(BOB, Side::Sell, 1_050, 1), OrderId(2));
    book.must(BookCommand::SetReferencePrice(Price(1_000)));
    let mut order = book.limit_order(ALICE, Side::Buy, 1_000, 5);
    break_it(&mut order);
    assert_refused_without_change(&mut book, order, reason);
}

#[test]
fn notional_below_min_is_refused() {
    let mut book = Book::new();
    let order = book.limit_order(ALICE, Side::Buy, 3, 3);
    assert_refused_without_change(&mut book, order, RejectReason::NotionalBelowMin);
}

#[test]
fn notional_above_max_is_refused() {
    let mut book = Book::new();
    book.engine.limits.terms.max_notional = Notional(999);
    let order = book.limit_order(ALICE, Side::Buy, 100, 10);
    assert_refused_without_change(&mut book, order, RejectReason::NotionalAboveMax);
}

#[test]
fn capacity_limits_refuse_orders_that_could_rest() {
    let mut book = Book::new();
    for price in 1..=4 {
        book.rest(ALICE, Side::Buy, 100 + price, 1);
    }
    let fifth = book.limit_order(ALICE, Side::Buy, 90, 1);
    assert_refused_without_change(&mut book, fifth, RejectReason::TooManyOpenOrders);
    for price in 1..=4 {
        book.rest(BOB, Side::Buy, 50 + price, 1);
    }
    let ninth = book.limit_order(AccountId(3), Side::Buy, 90, 1);
    assert_refused_without_change(&mut book, ninth, RejectReason::BookFull);
    // An IOC order cannot rest, so a full book still takes it.
    let ioc = PlaceOrder {
        time_in_force: TimeInForce::Ioc,
        ..book.limit_order(AccountId(3), Side::Sell, 104, 1)
    };
    assert_eq!(book.place(ioc).0, Ok(()));
}

#[test]
fn inputs_out_of_sequence_are_refused_without_consuming() {
    let mut book = Book::new();
    let mut out = EngineOutput::default();
    let stale =
        BookInput { input_seq: 5, ts_ns: 0, command: BookCommand::SetReferencePrice(Price(10)) };
    assert_eq!(book.engine.apply(&stale, &mut out), Err(RejectReason::InputOutOfSequence));
    assert_eq!((book.engine.last_input_seq(), book.engine.reference_price()), (0, None));
}

#[test]
fn depth_lists_the_top_levels_best_first_with_the_sequence() {
    let mut book = Book::new();
    for (price, qty) in [(98, 1), (100, 2), (99, 3)] {
        book.rest(ALICE, Side::Buy, price, qty);
    }
    book.rest(BOB, Side::Sell, 101, 4);
    book.rest(BOB, Side::Sell, 101, 1);
    let depth = book.engine.depth(2);
    assert_eq!(depth.bids, vec![(Price(100), Qty(2)), (Price(99), Qty(3))]);
    assert_eq!(depth.asks, vec![(Price(101), Qty(5))]);
    assert_eq!(depth.last_event_seq, book.engine.last_event_seq());
}

#[test]
fn snapshot_restores_queues_and_counters_exactly() {
    let mut book = Book::new();
    let first = book.rest(ALICE, Side::Buy, 100, 5);
    book.rest(BOB, Side::Buy, 100, 5);
    book.rest(BOB, Side::Sell, 103, 2);
    book.must(BookCommand::Amend(AmendOrder {
        account_id: ALICE,
        order_id: first,
        new_price: Price(100),
        new_qty: Qty(6),
    }));
    let snapshot = book.engine.snapshot();
    let restored = MatchingEngine::restore(limits(), &snapshot).unwrap();
    assert_eq!(restored.snapshot(), snapshot);
    assert_eq!(restored.state_hash(), book.engine.state_hash());
    assert_eq!(restored.depth(10), book.engine.depth(10));
}
