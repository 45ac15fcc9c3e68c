//! Unit tests of the account shard, driven through a real `MatchingEngine` so the events are
//! exactly the ones production sees. BTCUSDT with 8-decimal assets: one lot is 1,000 satoshi,
//! one notional unit (tick x lot) is 10 quote minor units.

use std::collections::BTreeMap;

use rstest::rstest;

use super::*;
use crate::book::{BookCapacity, BookLimits, EngineOutput, MatchingEngine};
use crate::model::{
    AccountId, AssetCode, BookCommand, BookEvent, BookInput, CancelOrder, ClientOrderId, EventKind,
    Notional, OrderId, OrderQuantity, OrderType, Price, Qty, SelfTradePrevention, Side, SpendLimit,
    SymbolCode, TimeInForce, btcusdt,
};

mod perpetual;
mod user_stream;

const ALICE: AccountId = AccountId(1);
const BOB: AccountId = AccountId(2);
const FUNDS: i128 = 1_000_000_000_000;

fn btc() -> AssetCode {
    AssetCode::new("BTC").unwrap()
}

fn usdt() -> AssetCode {
    AssetCode::new("USDT").unwrap()
}

fn symbol() -> SymbolCode {
    SymbolCode::new("BTCUSDT").unwrap()
}

/// BTCUSDT with a minimum notional of one unit, so small test orders are not refused.
fn spec() -> crate::model::SymbolSpec {
    crate::model::SymbolSpec { min_notional: crate::model::dec("0.0000001"), ..btcusdt() }
}

/// One shard and one book, events delivered after every command.
struct Harness {
    state: AccountState,
    engine: MatchingEngine,
    input_seq: u64,
    log: Vec<BookEvent>,
}

impl Harness {
    fn new() -> Harness {
        let market = MarketSpec::new(&spec(), 8, 8).unwrap();
        let mut state = AccountState::new(3, BTreeMap::from([(symbol(), market)]));
        for account in [ALICE, BOB] {
            state.open_account(account).unwrap();
            state.deposit(account, btc(), FUNDS, 1).unwrap();
            state.deposit(account, usdt(), FUNDS, 2).unwrap();
        }
        state.drain_changes();
        let limits = BookLimits::from_spec(&spec(), BookCapacity::default()).unwrap();
        Harness { state, engine: MatchingEngine::new(limits), input_seq: 0, log: Vec::new() }
    }

    /// Feeds a command to the book and returns its events, without delivering them.
    fn book(&mut self, command: BookCommand) -> Vec<BookEvent> {
        self.input_seq += 1;
        let input = BookInput { input_seq: self.input_seq, ts_ns: self.input_seq * 10, command };
        let mut out = EngineOutput::default();
        let _ = self.engine.apply(&input, &mut out);
        self.log.extend_from_slice(&out.events);
        out.events
    }

    fn deliver(&mut self, events: &[BookEvent]) {
        self.state.apply_book_events(symbol(), events).unwrap();
        self.state.check_invariants().unwrap();
        self.state.check_holds_match_requirements().unwrap();
    }

    fn place(&mut self, request: PlaceRequest) -> OrderId {
        let command = self.state.place(request).unwrap();
        let events = self.book(BookCommand::Place(command));
        self.deliver(&events);
        command.order_id
    }

    fn cancel(&mut self, account_id: AccountId, order_id: OrderId) {
        let events = self.book(BookCommand::Cancel(CancelOrder { account_id, order_id }));
        self.deliver(&events);
    }

    fn order(&self, order_id: OrderId) -> OrderRecord {
        *self.state.order(order_id).unwrap()
    }
}

fn limit(account: AccountId, side: Side, price: i64, qty: u64) -> PlaceRequest {
    PlaceRequest {
        symbol: symbol(),
        account_id: account,
        client_order_id: ClientOrderId::NONE,
        side,
        order_type: OrderType::Limit,
        time_in_force: TimeInForce::Gtc,
        price: Some(Price(price)),
        quantity: OrderQuantity::Base(Qty(qty)),
        self_trade_prevention: SelfTradePrevention::None,
        reduce_only: false,
        ts_ns: 1,
    }
}

fn market(account: AccountId, side: Side, quantity: OrderQuantity) -> PlaceRequest {
    PlaceRequest {
        order_type: OrderType::Market,
        time_in_force: TimeInForce::Ioc,
        price: None,
        quantity,
        ..limit(account, side, 1, 1)
    }
}

fn with_client_id(mut request: PlaceRequest, text: &str) -> PlaceRequest {
    request.client_order_id = ClientOrderId::new(text).unwrap();
    request
}

// --- deposits and withdrawals ---

#[rstest]
#[case::unknown_account(AccountId(99), "BTC", 5, AccountReject::UnknownAccount(AccountId(99)))]
#[case::unknown_asset(ALICE, "ETH", 5, AccountReject::UnknownAsset(AssetCode::new("ETH").unwrap()))]
#[case::zero(ALICE, "BTC", 0, AccountReject::NonPositiveAmount(0))]
#[case::negative(ALICE, "BTC", -5, AccountReject::NonPositiveAmount(-5))]
#[case::insufficient(
    ALICE,
    "BTC",
    FUNDS + 1,
    AccountReject::InsufficientFunds { asset: btc(), needed: FUNDS + 1, available: FUNDS }
)]
fn refused_withdrawal_changes_nothing(
    #[case] account: AccountId,
    #[case] asset: &str,
    #[case] amount: i128,
    #[case] expected: AccountReject,
) {
    let mut harness = Harness::new();
    let asset = AssetCode::new(asset).unwrap();
    assert_eq!(harness.state.withdraw(account, asset, amount, 9), Err(expected));
    assert!(harness.state.drain_changes().is_empty());
}

#[test]
fn deposits_stop_where_balances_would_leave_the_stores_integers() {
    let mut harness = Harness::new();
    harness.state.set_shard_count(4);
    let max = SUPPLY_MAX / 4;
    let supply = -harness.state.system_balance(SystemAccount::External, btc()).available;
    let room = max - supply;
    harness.state.drain_changes();
    assert_eq!(
        harness.state.deposit(ALICE, btc(), room + 1, 1),
        Err(AccountReject::SupplyExceeded { asset: btc(), amount: room + 1, max })
    );
    assert!(harness.state.drain_changes().is_empty());
    harness.state.deposit(ALICE, btc(), room, 2).unwrap();
    // Full: only a withdrawal makes room again.
    assert!(harness.state.deposit(ALICE, btc(), 1, 3).is_err());
    harness.state.withdraw(ALICE, btc(), 1, 4).unwrap();
    harness.state.deposit(ALICE, btc(), 1, 5).unwrap();
    assert!(i64::try_from(harness.state.balance(ALICE, btc()).available).is_ok());
}

#[test]
fn deposit_and_withdrawal_move_between_external_and_available() {
    let mut harness = Harness::new();
    harness.state.withdraw(ALICE, btc(), 400, 77).unwrap();
    assert_eq!(harness.state.balance(ALICE, btc()).available, FUNDS - 400);
    assert_eq!(
        harness.state.system_balance(SystemAccount::External, btc()).available,
        -2 * FUNDS + 400
    );
    let changes = harness.state.drain_changes();
    let entry = changes.entries[0];
    assert_eq!((entry.kind, entry.amount, entry.reference), (EntryKind::Withdrawal, 400, 77));
    assert_eq!(entry.credit, Leg::system(SystemAccount::External));
    assert_eq!(changes.balances.len(), 2);
    assert_eq!(harness.state.open_account(ALICE), Err(AccountReject::AccountExists(ALICE)));
    harness.state.check_invariants().unwrap();
}

#[test]
fn a_correction_appends_an_entry_referencing_the_one_it_corrects() {
    let mut harness = Harness::new();
    harness.state.drain_changes();
    // Take back 400 of a deposit (entry 3, say) credited twice, then give 100 back.
    harness.state.correct(ALICE, btc(), 400, true, 3).unwrap();
    harness.state.correct(ALICE, btc(), 100, false, 3).unwrap();
    assert_eq!(harness.state.balance(ALICE, btc()).available, FUNDS - 300);
    let entries = harness.state.drain_changes().entries;
    let kinds: Vec<_> = entries.iter().map(|e| (e.kind, e.amount, e.reference)).collect();
    assert_eq!(kinds, [(EntryKind::Correction, 400, 3), (EntryKind::Correction, 100, 3)]);
    assert_eq!(entries[0].debit, Leg::available(Owner::User(ALICE)));
    assert_eq!(entries[0].credit, Leg::system(SystemAccount::External));
    assert_eq!(
        harness.state.correct(ALICE, btc(), FUNDS, true, 3),
        Err(AccountReject::InsufficientFunds {
            asset: btc(),
            needed: FUNDS,
            available: FUNDS - 300
        })
    );
    harness.state.check_invariants().unwrap();
}

// --- holds at placement ---

#[rstest]
#[case::buy_limit(limit(ALICE, Side::Buy, 10_000, 600), "USDT", 10_000 * 600 * 10)]
#[case::sell_limit(limit(ALICE, Side::Sell, 10_000, 600), "BTC", 600 * 1_000)]
#[case::sell_market_by_base(
    market(ALICE, Side::Sell, OrderQuantity::Base(Qty(600))),
    "BTC",
    600_000
)]
#[case::buy_market_by_quote(
    market(ALICE, Side::Buy, OrderQuantity::Quote(Notional(7_000_000))),
    "USDT",
    70_000_000
)]
#[case::buy_market_by_base_holds_everything(
    market(ALICE, Side::Buy, OrderQuantity::Base(Qty(600))),
    "USDT",
    FUNDS
)]
#[case::sell_market_by_quote_holds_everything(
    market(ALICE, Side::Sell, OrderQuantity::Quote(Notional(7_000_000))),
    "BTC",
    FUNDS
)]
fn place_holds_the_requirement(
    #[case] request: PlaceRequest,
    #[case] asset: &str,
    #[case] held: i128,
) {
    let mut harness = Harness::new();
    let asset = AssetCode::new(asset).unwrap();
    let command = harness.state.place(request).unwrap();
    let order = harness.order(command.order_id);
    assert_eq!(
        (order.status, order.hold_asset, order.hold_remaining),
        (OrderStatus::Pending, asset, held)
    );
    assert_eq!(harness.state.balance(ALICE, asset), Balance { available: FUNDS - held, held });
    let changes = harness.state.drain_changes();
    assert_eq!(changes.entries.len(), 1);
    let entry = changes.entries[0];
    assert_eq!((entry.kind, entry.amount, entry.asset), (EntryKind::Hold, held, asset));
    assert_eq!(entry.debit, Leg::available(Owner::User(ALICE)));
    assert_eq!(entry.credit, Leg::held(Owner::User(ALICE)));
    assert_eq!(changes.orders, vec![order]);
    harness.state.check_invariants().unwrap();
}

#[rstest]
#[case::buy_limit(limit(ALICE, Side::Buy, 10_000, 600), None)]
#[case::buy_market_by_quote(market(ALICE, Side::Buy, OrderQuantity::Quote(Notional(70))), None)]
#[case::buy_market_by_base(
    market(ALICE, Side::Buy, OrderQuantity::Base(Qty(6))),
    Some(SpendLimit::Quote(Notional(FUNDS / 10)))
)]
#[case::sell_market_by_quote(
    market(ALICE, Side::Sell, OrderQuantity::Quote(Notional(70))),
    Some(SpendLimit::Base(Qty(1_000_000_000)))
)]
fn spend_limit_is_the_whole_balance_hold(
    #[case] request: PlaceRequest,
    #[case] expected: Option<SpendLimit>,
) {
    let mut harness = Harness::new();
    let command = harness.state.place(request).unwrap();
    assert_eq!(command.spend_limit, expected);
    // The supervisor can rebuild the same command while the order is PENDING.
    assert_eq!(harness.state.pending_command(command.order_id), Some(command));
    let events = harness.book(BookCommand::Place(command));
    harness.deliver(&events);
    assert_eq!(harness.state.pending_command(command.order_id), None);
}

#[test]
fn client_retry_places_exactly_one_order() {
    let mut harness = Harness::new();
    let request = with_client_id(limit(ALICE, Side::Buy, 10_000, 10), "retry-1");
    let results: Vec<_> = (0..3).map(|_| harness.state.place(request)).collect();
    assert!(results[0].is_ok());
    assert_eq!(results[1..], [Err(AccountReject::DuplicateClientOrderId); 2]);
    assert_eq!(harness.state.open_orders(ALICE, symbol()).count(), 1);
    assert_eq!(harness.state.balance(ALICE, usdt()).held, 10_000 * 10 * 10);
}

#[test]
fn whole_balance_hold_is_whole_lots_and_refused_when_zero() {
    let mut harness = Harness::new();
    let carol = AccountId(7);
    harness.state.open_account(carol).unwrap();
    harness.state.deposit(carol, btc(), 2_500, 0).unwrap();
    let sell = market(carol, Side::Sell, OrderQuantity::Quote(Notional(1_000)));
    let command = harness.state.place(sell).unwrap();
    // 2,500 satoshi is 2 whole lots: 2,000 held, 500 stays available.
    assert_eq!(harness.order(command.order_id).hold_remaining, 2_000);
    assert_eq!(harness.state.balance(carol, btc()), Balance { available: 500, held: 2_000 });
    let refused = harness.state.place(sell);
    assert_eq!(
        refused,
        Err(AccountReject::InsufficientFunds { asset: btc(), needed: 1_000, available: 500 })
    );
}

#[test]
fn order_ids_are_counter_times_shard_count_plus_shard() {
    let mut harness = Harness::new();
    let first = harness.state.place(limit(ALICE, Side::Buy, 100, 1_000_000)).unwrap();
    let second = harness.state.place(limit(ALICE, Side::Buy, 100, 1_000_000)).unwrap();
    assert_eq!(first.order_id, OrderId(1_024 + 3));
    assert_eq!(second.order_id, OrderId(2 * 1_024 + 3));
    assert_eq!(first.client_order_id.as_str(), "auto:1027");
}

// --- refusals change nothing ---

#[rstest]
#[case::insufficient(
    limit(ALICE, Side::Buy, 1_000_000, 1_000_000_000),
    AccountReject::InsufficientFunds { asset: usdt(), needed: 10_000_000_000_000_000, available: FUNDS }
)]
#[case::unknown_account(
    limit(AccountId(99), Side::Buy, 100, 1),
    AccountReject::UnknownAccount(AccountId(99))
)]
#[case::unknown_symbol(
    PlaceRequest { symbol: SymbolCode::new("ETHUSDT").unwrap(), ..limit(ALICE, Side::Buy, 100, 1) },
    AccountReject::UnknownSymbol(SymbolCode::new("ETHUSDT").unwrap())
)]
#[case::missing_price(
    PlaceRequest { price: None, ..limit(ALICE, Side::Buy, 100, 1) },
    AccountReject::InvalidOrder(crate::model::RejectReason::MissingPrice)
)]
#[case::zero_qty(
    limit(ALICE, Side::Sell, 100, 0),
    AccountReject::InvalidOrder(crate::model::RejectReason::ZeroQuantity)
)]
#[case::reserved_client_id(
    with_client_id(limit(ALICE, Side::Buy, 100, 1), "auto:5"),
    AccountReject::ReservedClientOrderId { prefix: GENERATED_CLIENT_ORDER_ID_PREFIX }
)]
fn refused_place_changes_nothing(#[case] request: PlaceRequest, #[case] expected: AccountReject) {
    let mut harness = Harness::new();
    let before: Vec<_> = harness.state.balances().collect();
    assert_eq!(harness.state.place(request), Err(expected));
    assert_eq!(harness.state.balances().collect::<Vec<_>>(), before);
    let changes = harness.state.drain_changes();
    assert!(changes.is_empty(), "{changes:?}");
    // The order id counter did not move either.
    let next = harness.state.place(limit(ALICE, Side::Buy, 100, 1_000_000)).unwrap();
    assert_eq!(next.order_id, OrderId(1_024 + 3));
}

#[test]
fn duplicate_client_order_id_among_open_and_recent_orders() {
    let mut harness = Harness::new();
    let request = with_client_id(limit(ALICE, Side::Buy, 10_000, 1_000), "my-1");
    let order_id = harness.place(request);
    assert_eq!(harness.state.place(request), Err(AccountReject::DuplicateClientOrderId));
    // Another account may use the same id.
    harness.place(with_client_id(limit(BOB, Side::Buy, 10_000, 1_000), "my-1"));
    harness.cancel(ALICE, order_id);
    assert_eq!(harness.order(order_id).status, OrderStatus::Canceled);
    assert_eq!(harness.state.place(request), Err(AccountReject::DuplicateClientOrderId));
    let client = ClientOrderId::new("my-1").unwrap();
    assert_eq!(harness.state.order_by_client_id(ALICE, client).map(|o| o.order_id), Some(order_id));
}

#[test]
fn recent_closed_orders_are_bounded() {
    let mut harness = Harness::new();
    let first = with_client_id(limit(ALICE, Side::Buy, 10_000, 1_000), "first");
    let first_id = harness.place(first);
    harness.cancel(ALICE, first_id);
    for _ in 0..RECENT_CLOSED_ORDERS_PER_ACCOUNT {
        let order_id = harness.place(limit(ALICE, Side::Buy, 10_000, 1_000));
        harness.cancel(ALICE, order_id);
    }
    assert!(harness.state.order(first_id).is_none());
    assert!(harness.state.place(first).is_ok(), "forgotten ids may be reused");
}

// --- settlement ---

#[test]
fn fees_round_up_and_rebates_round_down() {
    let mut harness = Harness::new();
    // Bob rests a buy of 3 lots at 100.01; Alice sells into it as taker.
    let maker = harness.place(limit(BOB, Side::Buy, 10_001, 3));
    let taker = harness.place(PlaceRequest {
        time_in_force: TimeInForce::Ioc,
        ..limit(ALICE, Side::Sell, 10_001, 3)
    });
    // Quote 10,001 x 3 x 10 = 300,030; taker fee 0.1% = 300.03 -> 301 (up).
    // Base 3 x 1,000 = 3,000; maker rebate 0.01% = 0.3 -> 0 (down).
    assert_eq!(harness.state.balance(ALICE, usdt()).available, FUNDS + 300_030 - 301);
    assert_eq!(harness.state.balance(ALICE, btc()).available, FUNDS - 3_000);
    assert_eq!(harness.state.balance(BOB, btc()).available, FUNDS + 3_000);
    assert_eq!(harness.state.balance(BOB, usdt()), Balance { available: FUNDS - 300_030, held: 0 });
    assert_eq!(harness.state.system_balance(SystemAccount::Fees, usdt()).available, 301);
    assert_eq!(harness.state.system_balance(SystemAccount::Subsidy, btc()).available, 0);
    for order in [maker, taker] {
        assert_eq!(harness.order(order).status, OrderStatus::Filled);
        assert_eq!(harness.order(order).hold_remaining, 0);
    }
    // Both sides on this shard: Clearing nets to zero.
    let clearing = SystemAccount::Clearing(symbol());
    assert_eq!(harness.state.system_balance(clearing, usdt()).available, 0);
    assert_eq!(harness.state.system_balance(clearing, btc()).available, 0);
}

#[test]
fn maker_rebate_is_paid_by_subsidy() {
    let mut harness = Harness::new();
    harness.place(limit(BOB, Side::Sell, 10_001, 3));
    harness.place(limit(ALICE, Side::Buy, 10_001, 3));
    // Bob receives 300,030 quote; rebate 0.01% = 30.003 -> 30. Alice pays 0.1% of 3,000 = 3.
    assert_eq!(harness.state.balance(BOB, usdt()).available, FUNDS + 300_030 + 30);
    assert_eq!(harness.state.system_balance(SystemAccount::Subsidy, usdt()).available, -30);
    assert_eq!(harness.state.balance(ALICE, btc()).available, FUNDS + 3_000 - 3);
    assert_eq!(harness.state.system_balance(SystemAccount::Fees, btc()).available, 3);
}

#[test]
fn taker_buy_below_its_limit_releases_the_difference() {
    let mut harness = Harness::new();
    harness.place(limit(BOB, Side::Sell, 10_000, 5));
    let taker = harness.place(limit(ALICE, Side::Buy, 10_500, 8));
    let order = harness.order(taker);
    // 5 lots filled at 100.00, 3 rest at 105.00: holds exactly 105.00 x 3.
    assert_eq!(order.status, OrderStatus::PartiallyFilled);
    assert_eq!(order.executed_qty, Qty(5));
    assert_eq!(order.cumulative_quote, 10_000 * 5 * 10);
    assert_eq!(order.hold_remaining, 10_500 * 3 * 10);
    assert_eq!(
        harness.state.balance(ALICE, usdt()),
        Balance { available: FUNDS - 10_000 * 5 * 10 - 10_500 * 3 * 10, held: 10_500 * 3 * 10 }
    );
}

#[test]
fn market_buy_by_quote_spent_exactly_is_filled_without_an_event() {
    let mut harness = Harness::new();
    harness.place(limit(BOB, Side::Sell, 10_000, 5));
    let taker = harness.place(market(ALICE, Side::Buy, OrderQuantity::Quote(Notional(20_000))));
    let order = harness.order(taker);
    assert_eq!(
        (order.status, order.executed_qty, order.hold_remaining),
        (OrderStatus::Filled, Qty(2), 0)
    );
    assert_eq!(
        harness.state.balance(ALICE, usdt()),
        Balance { available: FUNDS - 200_000, held: 0 }
    );
}

#[test]
fn market_buy_by_base_releases_the_unspent_whole_balance() {
    let mut harness = Harness::new();
    harness.place(limit(BOB, Side::Sell, 10_000, 5));
    let taker = harness.place(market(ALICE, Side::Buy, OrderQuantity::Base(Qty(5))));
    let order = harness.order(taker);
    assert_eq!((order.status, order.hold_remaining), (OrderStatus::Filled, 0));
    assert_eq!(
        harness.state.balance(ALICE, usdt()),
        Balance { available: FUNDS - 500_000, held: 0 }
    );
}

#[rstest]
#[case::buy_by_base(Side::Buy, OrderQuantity::Base(Qty(5)), "USDT", 300_000)]
#[case::sell_by_quote(Side::Sell, OrderQuantity::Quote(Notional(50_000)), "BTC", 3_000)]
fn whole_balance_market_orders_stop_at_the_spend_limit(
    #[case] side: Side,
    #[case] quantity: OrderQuantity,
    #[case] asset: &str,
    #[case] funds: i128,
) {
    let mut harness = Harness::new();
    let carol = AccountId(7);
    let asset = AssetCode::new(asset).unwrap();
    harness.state.open_account(carol).unwrap();
    harness.state.deposit(carol, asset, funds, 0).unwrap();
    // 5 lots at 100.00 on the other side; Carol can pay for (or deliver) only 3.
    harness.place(limit(BOB, side.opposite(), 10_000, 5));
    let taker = harness.place(market(carol, side, quantity));
    let order = harness.order(taker);
    assert_eq!(
        (order.status, order.executed_qty, order.hold_remaining),
        (OrderStatus::Expired, Qty(3), 0)
    );
    assert_eq!(harness.state.balance(carol, asset), Balance::default());
}

#[rstest]
#[case::ioc_remainder_expires(TimeInForce::Ioc, OrderStatus::Expired)]
#[case::fok_that_cannot_fill_expires(TimeInForce::Fok, OrderStatus::Expired)]
fn unfilled_takers_release_their_hold(#[case] tif: TimeInForce, #[case] status: OrderStatus) {
    let mut harness = Harness::new();
    harness.place(limit(BOB, Side::Sell, 10_000, 5));
    let taker =
        harness.place(PlaceRequest { time_in_force: tif, ..limit(ALICE, Side::Buy, 10_000, 8) });
    let order = harness.order(taker);
    assert_eq!((order.status, order.hold_remaining), (status, 0));
    assert_eq!(harness.state.balance(ALICE, usdt()).held, 0);
}

#[test]
fn cancel_releases_the_remaining_hold_once() {
    let mut harness = Harness::new();
    let maker = harness.place(limit(ALICE, Side::Sell, 10_000, 10));
    harness.place(limit(BOB, Side::Buy, 10_000, 4));
    assert_eq!(harness.order(maker).hold_remaining, 6_000);
    harness.cancel(ALICE, maker);
    let order = harness.order(maker);
    assert_eq!(
        (order.status, order.executed_qty, order.hold_remaining),
        (OrderStatus::Canceled, Qty(4), 0)
    );
    assert_eq!(harness.state.balance(ALICE, btc()), Balance { available: FUNDS - 4_000, held: 0 });
    let changes = harness.state.drain_changes();
    let releases: Vec<_> =
        changes.entries.iter().filter(|e| e.kind == EntryKind::Release).collect();
    assert_eq!(releases.len(), 1);
    assert_eq!(releases[0].amount, 6_000);
}

#[test]
fn self_trade_prevention_expires_in_match() {
    let mut harness = Harness::new();
    let maker = harness.place(limit(ALICE, Side::Sell, 10_000, 10));
    let taker = harness.place(PlaceRequest {
        self_trade_prevention: SelfTradePrevention::ExpireBoth,
        ..limit(ALICE, Side::Buy, 10_000, 10)
    });
    for order in [maker, taker] {
        assert_eq!(harness.order(order).status, OrderStatus::ExpiredInMatch);
    }
    assert_eq!(harness.state.balance(ALICE, btc()), Balance { available: FUNDS, held: 0 });
    assert_eq!(harness.state.balance(ALICE, usdt()), Balance { available: FUNDS, held: 0 });
}

#[test]
fn book_rejection_nets_to_no_balance_change() {
    let mut harness = Harness::new();
    harness.state.drain_changes();
    // One lot above maxQty: the book rejects it.
    let order_id = harness.place(limit(ALICE, Side::Buy, 1, 900_000_001));
    assert_eq!(harness.order(order_id).status, OrderStatus::Rejected);
    let changes = harness.state.drain_changes();
    let kinds: Vec<_> = changes.entries.iter().map(|entry| entry.kind).collect();
    assert_eq!(kinds, vec![EntryKind::Hold, EntryKind::Release]);
    assert_eq!(
        changes.balances,
        vec![BalanceRow { owner: Owner::User(ALICE), asset: usdt(), available: FUNDS, held: 0 }]
    );
}

#[test]
fn abandon_pending_releases_and_rejects() {
    let mut harness = Harness::new();
    let command = harness.state.place(limit(ALICE, Side::Buy, 10_000, 10)).unwrap();
    harness.state.abandon_pending(command.order_id, 5).unwrap();
    assert_eq!(harness.order(command.order_id).status, OrderStatus::Rejected);
    assert_eq!(harness.state.balance(ALICE, usdt()), Balance { available: FUNDS, held: 0 });
    assert_eq!(
        harness.state.abandon_pending(command.order_id, 6),
        Err(AccountReject::OrderNotOpen { order_id: command.order_id })
    );
    harness.state.check_invariants().unwrap();
}

// --- exactly once ---

#[test]
fn redelivered_events_are_skipped() {
    let mut harness = Harness::new();
    harness.place(limit(BOB, Side::Sell, 10_000, 5));
    harness.place(limit(ALICE, Side::Buy, 10_000, 5));
    harness.state.drain_changes();
    let balances: Vec<_> = harness.state.balances().collect();
    let log = harness.log.clone();
    let again = harness.state.apply_book_events(symbol(), &log).unwrap();
    assert_eq!(again, Applied { fresh: 0, duplicates: log.len() });
    harness.state.apply_book_events(symbol(), &log[2..4]).unwrap();
    assert_eq!(harness.state.balances().collect::<Vec<_>>(), balances);
    assert!(harness.state.drain_changes().is_empty());
}

#[test]
fn a_gap_is_refused_and_changes_nothing() {
    let mut harness = Harness::new();
    let command = harness.state.place(limit(ALICE, Side::Buy, 10_000, 5)).unwrap();
    let events = harness.book(BookCommand::Place(command));
    harness.state.drain_changes();
    let watermark = harness.state.watermark(symbol());
    let result = harness.state.apply_book_events(symbol(), &events[1..]);
    assert_eq!(
        result,
        Err(ApplyError::Gap { symbol: symbol(), expected: watermark + 1, got: events[1].seq })
    );
    assert_eq!(harness.order(command.order_id).status, OrderStatus::Pending);
    assert!(harness.state.drain_changes().is_empty());
    harness.deliver(&events);
    assert_eq!(harness.order(command.order_id).status, OrderStatus::New);
}

#[test]
fn events_of_other_shards_only_advance_the_watermark() {
    let mut harness = Harness::new();
    let mut other = Harness::new().state;
    let command = harness.state.place(limit(ALICE, Side::Buy, 10_000, 5)).unwrap();
    let events = harness.book(BookCommand::Place(command));
    let fresh =
        AccountState::new(0, BTreeMap::from([(symbol(), *other.market(symbol()).unwrap())]));
    other = fresh;
    other.apply_book_events(symbol(), &events).unwrap();
    assert_eq!(other.watermark(symbol()), events.last().unwrap().seq);
    let changes = other.drain_changes();
    assert!(changes.entries.is_empty() && changes.orders.is_empty());
    assert_eq!(changes.watermarks, vec![(symbol(), events.last().unwrap().seq)]);
}

#[test]
fn an_unknown_own_order_is_refused() {
    let mut harness = Harness::new();
    let command = harness.state.place(limit(ALICE, Side::Buy, 10_000, 5)).unwrap();
    let mut events = harness.book(BookCommand::Place(command));
    if let EventKind::Accepted(accepted) = &mut events[0].kind {
        accepted.order_id = OrderId(42);
    }
    assert!(matches!(
        harness.state.apply_book_events(symbol(), &events),
        Err(ApplyError::UnknownOrder { order_id: OrderId(42), .. })
    ));
}

// --- amends ---

#[rstest]
#[case::up_in_price(10_100, 10)]
#[case::down_in_qty(10_000, 4)]
#[case::up_in_qty(10_000, 20)]
fn amend_hold_follows_the_new_requirement(#[case] new_price: i64, #[case] new_qty: u64) {
    let mut harness = Harness::new();
    let order_id = harness.place(limit(ALICE, Side::Buy, 10_000, 10));
    let amend =
        harness.state.reserve_amend(ALICE, order_id, Price(new_price), Qty(new_qty), 9).unwrap();
    harness.state.check_invariants().unwrap();
    let events = harness.book(BookCommand::Amend(amend));
    harness.deliver(&events);
    let needed = i128::from(new_price) * i128::from(new_qty) * 10;
    assert_eq!(harness.order(order_id).hold_remaining, needed);
    assert_eq!(
        harness.state.balance(ALICE, usdt()),
        Balance { available: FUNDS - needed, held: needed }
    );
}

#[test]
fn amend_refused_by_the_shard_or_the_book() {
    let mut harness = Harness::new();
    let order_id = harness.place(limit(ALICE, Side::Buy, 10_000, 10));
    assert_eq!(
        harness.state.reserve_amend(BOB, order_id, Price(10_000), Qty(5), 9),
        Err(AccountReject::NotOwner(order_id))
    );
    assert!(matches!(
        harness.state.reserve_amend(ALICE, order_id, Price(10_000), Qty(u64::MAX / 2), 9),
        Err(AccountReject::InsufficientFunds { .. })
    ));
    // An amend the book refuses (price above maxPrice): the shell releases the reserve.
    let amend =
        harness.state.reserve_amend(ALICE, order_id, Price(100_000_001), Qty(10), 9).unwrap();
    assert!(harness.book(BookCommand::Amend(amend)).is_empty());
    assert!(harness.state.check_holds_match_requirements().is_err());
    let unused = (100_000_001 - 10_000) * 10 * 10;
    assert_eq!(harness.state.release_unused_hold(order_id, 10), Ok(unused));
    harness.state.check_holds_match_requirements().unwrap();
}

#[test]
fn amend_raced_by_a_fill_is_covered_and_listed_for_cancel() {
    let mut harness = Harness::new();
    let carol = AccountId(7);
    harness.state.open_account(carol).unwrap();
    harness.state.deposit(carol, btc(), 10_000, 0).unwrap();
    let order_id = harness.place(limit(carol, Side::Sell, 10_000, 10));
    // Carol asks for 10 open lots again (no extra needed in her view)...
    let amend = harness.state.reserve_amend(carol, order_id, Price(10_000), Qty(10), 9).unwrap();
    // ...but 6 lots fill first; the book then re-opens 10 lots, and she holds only 4.
    harness.place(limit(BOB, Side::Buy, 10_000, 6));
    let events = harness.book(BookCommand::Amend(amend));
    harness.deliver(&events);
    let order = harness.order(order_id);
    assert_eq!((order.hold_remaining, order.hold_subsidized), (10_000, 6_000));
    assert_eq!(harness.state.system_balance(SystemAccount::Subsidy, btc()).available, -6_000);
    assert_eq!(
        harness.state.orders_to_cancel().map(|o| o.order_id).collect::<Vec<_>>(),
        vec![order_id]
    );
    harness.cancel(carol, order_id);
    // The lent part goes back to Subsidy, not to Carol.
    assert_eq!(harness.state.system_balance(SystemAccount::Subsidy, btc()).available, 0);
    assert_eq!(harness.state.balance(carol, btc()), Balance { available: 4_000, held: 0 });
}

// --- drain and restore ---

#[test]
fn restore_from_drained_rows_continues_identically() {
    let mut harness = Harness::new();
    let mut rows = RestoredState::default();
    let store = |changes: Changes, rows: &mut RestoredState| {
        rows.accounts.extend(changes.accounts);
        for row in changes.balances {
            rows.balances.retain(|old| (old.owner, old.asset) != (row.owner, row.asset));
            rows.balances.push(row);
        }
        for order in changes.orders {
            rows.open_and_recent_orders.retain(|old| old.order_id != order.order_id);
            rows.open_and_recent_orders.push(order);
        }
        for (symbol, seq) in changes.watermarks {
            rows.watermarks.retain(|old| old.0 != symbol);
            rows.watermarks.push((symbol, seq));
        }
        rows.next_order_counter = changes.next_order_counter;
        rows.next_entry_id = changes.next_entry_id;
    };
    // Re-create the harness's history with everything drained into rows.
    let market = *harness.state.market(symbol()).unwrap();
    let markets = BTreeMap::from([(symbol(), market)]);
    harness.state = AccountState::new(3, markets.clone());
    for account in [ALICE, BOB] {
        harness.state.open_account(account).unwrap();
        harness.state.deposit(account, btc(), FUNDS, 1).unwrap();
        harness.state.deposit(account, usdt(), FUNDS, 2).unwrap();
    }
    harness.place(limit(BOB, Side::Sell, 10_000, 5));
    let resting = harness.place(limit(ALICE, Side::Buy, 10_000, 8));
    store(harness.state.drain_changes(), &mut rows);
    let restored = AccountState::restore(3, markets, rows.clone());
    restored.check_invariants().unwrap();
    assert_eq!(
        restored.balances().collect::<Vec<_>>(),
        harness.state.balances().collect::<Vec<_>>()
    );
    assert_eq!(restored.order(resting), harness.state.order(resting));
    assert_eq!(restored.watermark(symbol()), harness.state.watermark(symbol()));
    // It goes on exactly as the original: same ids, same entries.
    let mut original = harness;
    let mut copy = Harness { state: restored, ..Harness::new() };
    copy.engine =
        MatchingEngine::new(BookLimits::from_spec(&spec(), BookCapacity::default()).unwrap());
    let a = original.state.place(limit(BOB, Side::Sell, 10_000, 3)).unwrap();
    let b = copy.state.place(limit(BOB, Side::Sell, 10_000, 3)).unwrap();
    assert_eq!(a, b);
    assert_eq!(original.state.drain_changes(), copy.state.drain_changes());
}

// --- the gateway's view of a just-placed order agrees with settlement ---

#[rstest]
#[case::rests(limit(ALICE, Side::Buy, 9_000, 4))]
#[case::partly_fills_then_rests(limit(ALICE, Side::Buy, 10_500, 8))]
#[case::fills(limit(ALICE, Side::Buy, 10_000, 3))]
#[case::ioc_remainder_expires(PlaceRequest { time_in_force: TimeInForce::Ioc, ..limit(ALICE, Side::Buy, 10_000, 9) })]
#[case::market_by_quote(market(ALICE, Side::Buy, OrderQuantity::Quote(Notional(20_000))))]
#[case::sell_into_bids(limit(ALICE, Side::Sell, 8_000, 2))]
#[case::post_only_refused(PlaceRequest { order_type: OrderType::LimitMaker, ..limit(ALICE, Side::Buy, 10_000, 1) })]
fn own_events_view_matches_settlement(#[case] request: PlaceRequest) {
    let mut harness = Harness::new();
    harness.place(limit(BOB, Side::Sell, 10_000, 5));
    harness.place(limit(BOB, Side::Buy, 8_500, 5));
    let command = harness.state.place(request).unwrap();
    let pending = harness.order(command.order_id);
    let events = harness.book(BookCommand::Place(command));
    let market = *harness.state.market(symbol()).unwrap();
    let (view, fills) = order_after_own_events(&pending, &market, &events);
    harness.deliver(&events);
    let settled = harness.order(command.order_id);
    assert_eq!(
        (view.status, view.executed_qty, view.cumulative_quote),
        (settled.status, settled.executed_qty, settled.cumulative_quote)
    );
    let fees_charged: i128 = fills.iter().map(|fill| fill.commission).sum();
    let traded: u64 = fills.iter().map(|fill| fill.qty.0).sum();
    assert_eq!(traded, settled.executed_qty.0);
    assert!(fees_charged >= 0);
}

#[test]
fn the_configured_open_orders_limit_refuses_the_next_order_until_one_ends() {
    let mut harness = Harness::new();
    harness.state.set_open_orders_max(2);
    let first = harness.place(limit(ALICE, Side::Buy, 100, 1));
    harness.place(limit(ALICE, Side::Buy, 101, 1));
    let refused = harness.state.place(limit(ALICE, Side::Buy, 102, 1));
    assert_eq!(refused, Err(AccountReject::TooManyOpenOrders));
    assert!(harness.state.place(limit(BOB, Side::Buy, 102, 1)).is_ok(), "per account");
    harness.cancel(ALICE, first);
    assert!(harness.state.place(limit(ALICE, Side::Buy, 102, 1)).is_ok());
}
