//! Perpetual positions at the shard, driven through a real `MatchingEngine`: margin holds,
//! position changes and realized PnL, reduce-only refusals, funding once per interval, the
//! insurance fund covering a loss beyond the balance, restore, and conservation of collateral
//! through random trading and funding (proptest).
//!
//! BTCUSDT_PERP: tick 0.01 USDT, one lot (contract) 0.001 BTC, 8-decimal USDT: one notional
//! unit (tick x lot) is 1,000 USDT minor units, a price of 100.00 is 10,000 ticks, and 10 lots
//! at 100.00 are worth 1 USDT (10^8 minor units). Initial margin 5%, maintenance 2.5%.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::super::*;
use crate::book::{BookCapacity, BookLimits, EngineOutput, MatchingEngine};
use crate::model::{
    AccountId, BookCommand, BookEvent, BookInput, CancelOrder, FeeRate, OrderId, OrderType,
    PerpetualSpec, Price, Qty, Side, SymbolCode, SymbolSpec, TimeInForce, btcusdt, dec,
};

use super::{ALICE, BOB, usdt};

#[path = "liquidation.rs"]
mod liquidation;

const CAROL: AccountId = AccountId(3);
const ACCOUNTS: [AccountId; 3] = [ALICE, BOB, CAROL];
/// 1,000 USDT each.
const FUNDS: i128 = 100_000_000_000;
/// One USDT in minor units.
const USDT: i128 = 100_000_000;

fn perp() -> SymbolCode {
    SymbolCode::new("BTCUSDT_PERP").unwrap()
}

fn spot() -> SymbolCode {
    super::symbol()
}

fn perp_spec() -> SymbolSpec {
    SymbolSpec {
        symbol: "BTCUSDT_PERP".into(),
        step_size: dec("0.001"),
        min_qty: dec("0.001"),
        min_notional: dec("0.00001"),
        maker_fee_rate: dec("-0.0001"),
        taker_fee_rate: dec("0.0005"),
        price_band_bps: 0,
        perpetual: Some(PerpetualSpec {
            index: "BTCUSDT".into(),
            initial_margin_rate: dec("0.05"),
            maintenance_margin_rate: dec("0.025"),
            max_leverage: 20,
        }),
        ..btcusdt()
    }
}

struct Harness {
    state: AccountState,
    engine: MatchingEngine,
    input_seq: u64,
}

impl Harness {
    fn new() -> Harness {
        let perp_market = MarketSpec::new(&perp_spec(), 8, 8).unwrap();
        let spot_market = MarketSpec::new(&btcusdt(), 8, 8).unwrap();
        let markets = BTreeMap::from([(perp(), perp_market), (spot(), spot_market)]);
        let mut state = AccountState::new(0, markets);
        for account in ACCOUNTS {
            state.open_account(account).unwrap();
            state.deposit(account, usdt(), FUNDS, 1).unwrap();
        }
        // Market orders hold margin at the mark.
        state.set_mark(perp(), Price(10_000));
        state.drain_changes();
        let limits = BookLimits::from_spec(&perp_spec(), BookCapacity::default()).unwrap();
        Harness { state, engine: MatchingEngine::new(limits), input_seq: 0 }
    }

    fn book(&mut self, command: BookCommand) {
        self.input_seq += 1;
        let input = BookInput { input_seq: self.input_seq, ts_ns: self.input_seq * 10, command };
        let mut out = EngineOutput::default();
        let _ = self.engine.apply(&input, &mut out);
        self.deliver(&out.events);
    }

    fn deliver(&mut self, events: &[BookEvent]) {
        self.state.apply_book_events(perp(), events).unwrap();
        self.state.check_invariants().unwrap();
        self.state.check_holds_match_requirements().unwrap();
        assert_conserved(&self.state);
    }

    fn try_place(&mut self, request: PlaceRequest) -> Result<OrderId, AccountReject> {
        let command = self.state.place(request)?;
        self.book(BookCommand::Place(command));
        Ok(command.order_id)
    }

    fn place(&mut self, request: PlaceRequest) -> OrderId {
        self.try_place(request).unwrap()
    }

    fn available(&self, account: AccountId) -> i128 {
        self.state.balance(account, usdt()).available
    }

    fn size(&self, account: AccountId) -> i64 {
        self.state.position(account, perp()).size_lots
    }
}

fn limit(account: AccountId, side: Side, price: i64, qty: u64) -> PlaceRequest {
    PlaceRequest { symbol: perp(), ..super::limit(account, side, price, qty) }
}

fn reduce_only(mut request: PlaceRequest) -> PlaceRequest {
    request.reduce_only = true;
    request
}

fn market(account: AccountId, side: Side, qty: u64) -> PlaceRequest {
    PlaceRequest {
        order_type: OrderType::Market,
        time_in_force: TimeInForce::Ioc,
        price: None,
        ..limit(account, side, 1, qty)
    }
}

fn system(state: &AccountState, account: SystemAccount) -> i128 {
    state.system_balance(account, usdt()).available
}

/// Collateral (every user's USDT, held included) + fees + insurance + subsidy + the open
/// positions' unrealized PnL at any one price is what was deposited less what was withdrawn
/// (External's balance, negated): the perpetual's clearing account is exactly the open
/// positions' unrealized PnL, whatever the price.
fn assert_conserved(state: &AccountState) {
    let collateral: i128 = ACCOUNTS
        .iter()
        .map(|account| {
            let balance = state.balance(*account, usdt());
            balance.available + balance.held
        })
        .sum();
    let house = [SystemAccount::Fees, SystemAccount::Insurance, SystemAccount::Subsidy]
        .iter()
        .map(|account| system(state, *account))
        .sum::<i128>();
    let market = *state.market(perp()).unwrap();
    for price in [1, 10_000, 12_345] {
        let unrealized: i128 = state
            .all_positions()
            .filter(|(_, _, position)| !position.is_flat())
            .map(|(_, _, position)| {
                position.unrealized_pnl(
                    market.value(Price(price), Qty(position.size_lots.unsigned_abs())),
                )
            })
            .sum();
        assert_eq!(system(state, SystemAccount::Clearing(perp())), unrealized, "at {price}");
        let deposited = -system(state, SystemAccount::External);
        assert_eq!(collateral + house + unrealized, deposited, "at {price}");
    }
}

#[test]
fn open_reduce_close_and_flip_move_positions_and_realize_pnl() {
    let mut harness = Harness::new();
    // Alice bids 10 lots at 100.00: holds 5% of 1 USDT.
    let bid = harness.place(limit(ALICE, Side::Buy, 10_000, 10));
    assert_eq!(harness.state.balance(ALICE, usdt()).held, 5 * USDT / 100);
    assert_eq!(harness.state.order(bid).unwrap().hold_asset, usdt());
    // Bob sells into it: Alice long 10, Bob short 10, margin released, fees charged.
    harness.place(market(BOB, Side::Sell, 10));
    assert_eq!((harness.size(ALICE), harness.size(BOB)), (10, -10));
    assert_eq!(harness.state.balance(ALICE, usdt()).held, 0);
    // Maker rebate 0.01% of 1 USDT, taker fee 0.05%.
    assert_eq!(harness.available(ALICE), FUNDS + USDT / 10_000);
    assert_eq!(harness.available(BOB), FUNDS - 5 * USDT / 10_000);
    assert_eq!(harness.state.position(ALICE, perp()).entry_cost, USDT);
    // The price rises: Carol bids 4 at 110.00 and Alice sells into it: +0.04 USDT realized.
    harness.place(limit(CAROL, Side::Buy, 11_000, 4));
    let before = harness.available(ALICE);
    harness.place(reduce_only(market(ALICE, Side::Sell, 4)));
    let alice = harness.state.position(ALICE, perp());
    assert_eq!(
        (alice.size_lots, alice.entry_cost, alice.realized_pnl),
        (6, 6 * USDT / 10, 4 * USDT / 100)
    );
    let fee = 44 * USDT / 100 * 5 / 10_000;
    assert_eq!(harness.available(ALICE), before + 4 * USDT / 100 - fee);
    // Carol (long 4) offers 14 at 110.00; Bob covers his 10 from it (-0.10 USDT) and Carol
    // flips to short 6; Bob buys 4 more and flips Carol to short 10.
    harness.place(limit(CAROL, Side::Sell, 11_000, 14));
    harness.place(market(BOB, Side::Buy, 10));
    assert_eq!((harness.size(BOB), harness.size(CAROL)), (0, -6));
    let bob = harness.state.position(BOB, perp());
    assert_eq!((bob.entry_cost, bob.realized_pnl), (0, -10 * USDT / 100));
    harness.place(market(BOB, Side::Buy, 4));
    assert_eq!((harness.size(BOB), harness.size(CAROL)), (4, -10));
}

#[test]
fn reduce_only_orders_that_would_open_increase_or_flip_are_refused() {
    let mut harness = Harness::new();
    harness.place(limit(ALICE, Side::Buy, 10_000, 10));
    harness.place(market(BOB, Side::Sell, 10));
    let refused = [
        reduce_only(limit(ALICE, Side::Buy, 9_000, 1)), // increases a long
        reduce_only(limit(ALICE, Side::Sell, 11_000, 11)), // flips it
        reduce_only(limit(CAROL, Side::Sell, 11_000, 1)), // no position
        PlaceRequest { symbol: spot(), ..reduce_only(limit(ALICE, Side::Sell, 11_000, 1)) },
    ];
    harness.state.drain_changes();
    for request in refused {
        assert_eq!(harness.state.place(request), Err(AccountReject::ReduceOnlyRejected));
        assert!(harness.state.drain_changes().is_empty(), "a refusal changes nothing");
    }
    // One that reduces is accepted and holds nothing; a second one on top of it would flip.
    let order = harness.place(reduce_only(limit(ALICE, Side::Sell, 11_000, 6)));
    assert_eq!(harness.state.order(order).unwrap().hold_remaining, 0);
    // A plain sell of 4 still only reduces (fits what the reduce-only order leaves): no margin.
    let plain = harness.place(limit(ALICE, Side::Sell, 11_000, 4));
    assert_eq!(harness.state.order(plain).unwrap().hold_remaining, 0);
    // One more lot would open a short: it holds margin.
    let opening = harness.place(limit(ALICE, Side::Sell, 11_000, 1));
    assert!(harness.state.order(opening).unwrap().hold_remaining > 0);
}

#[test]
fn orders_and_withdrawals_need_free_margin() {
    let mut harness = Harness::new();
    // 1,000 USDT at 5% margin opens at most 20,000 USDT: 200,000 lots at 100.00.
    let too_big = limit(ALICE, Side::Buy, 10_000, 200_001);
    assert!(matches!(harness.state.place(too_big), Err(AccountReject::InsufficientFunds { .. })));
    harness.place(limit(ALICE, Side::Buy, 10_000, 100_000));
    harness.place(market(BOB, Side::Sell, 100_000));
    // Long 10,000 USDT needs 500 of margin: only the rest (less the maker rebate) may leave.
    let free = harness.state.free_margin(ALICE, usdt());
    assert_eq!(free, FUNDS - 500 * USDT + USDT);
    let refused = harness.state.withdraw(ALICE, usdt(), free + 1, 9);
    assert!(matches!(refused, Err(AccountReject::InsufficientFunds { .. })));
    harness.state.withdraw(ALICE, usdt(), free, 9).unwrap();
    // The mark falls 1%: the unrealized loss of 100 USDT is no longer free either.
    harness.state.set_mark(perp(), Price(9_900));
    assert_eq!(harness.state.free_margin(ALICE, usdt()), -100 * USDT + 5 * USDT);
    assert_conserved(&harness.state);
}

#[test]
fn a_loss_beyond_the_balance_is_paid_by_the_insurance_fund() {
    let mut harness = Harness::new();
    // Bob is short 10,000 USDT at 100.00 and withdraws all but his margin.
    harness.place(limit(ALICE, Side::Buy, 10_000, 100_000));
    harness.place(market(BOB, Side::Sell, 100_000));
    let free = harness.state.free_margin(BOB, usdt());
    harness.state.withdraw(BOB, usdt(), free, 9).unwrap();
    let bob_before = harness.available(BOB);
    // The price doubles and Bob is closed out: he loses 10,000 USDT but has about 500.
    harness.place(limit(CAROL, Side::Sell, 20_000, 100_000));
    harness.place(reduce_only(market(BOB, Side::Buy, 100_000)));
    assert_eq!(harness.available(BOB), 0);
    let loss_and_fee = 10_000 * USDT + 20_000 * USDT * 5 / 10_000;
    assert_eq!(system(&harness.state, SystemAccount::Insurance), -(loss_and_fee - bob_before));
    harness.state.check_invariants().unwrap();
}

#[test]
fn funding_is_paid_once_per_interval_and_survives_a_restore() {
    let mut harness = Harness::new();
    harness.place(limit(ALICE, Side::Buy, 10_000, 100_000));
    harness.place(market(BOB, Side::Sell, 100_000));
    let (alice, bob) = (harness.available(ALICE), harness.available(BOB));
    let rate = FeeRate::from_decimal(dec("0.0001")).unwrap();
    // Longs pay 0.01% of 10,000 USDT at the mark 100.00.
    let applied = harness.state.apply_funding(perp(), 7, rate, Price(10_000)).unwrap();
    assert_eq!(
        (applied.fresh, applied.payments, applied.paid, applied.received),
        (true, 2, USDT, USDT)
    );
    assert_eq!((harness.available(ALICE), harness.available(BOB)), (alice - USDT, bob + USDT));
    for interval_id in [7, 6] {
        let again = harness.state.apply_funding(perp(), interval_id, rate, Price(10_000)).unwrap();
        assert!(!again.fresh);
    }
    assert_eq!((harness.available(ALICE), harness.available(BOB)), (alice - USDT, bob + USDT));
    assert_conserved(&harness.state);
    // Everything journaled since the start, read back: positions and the interval as they were.
    let mut fresh = Harness::new();
    let changes = harness.state.drain_changes();
    let restored = RestoredState {
        accounts: ACCOUNTS.to_vec(),
        balances: harness
            .state
            .balances()
            .map(|(owner, asset, balance)| BalanceRow {
                owner,
                asset,
                available: balance.available,
                held: balance.held,
            })
            .collect(),
        positions: changes.positions.clone(),
        funding_intervals: changes.funding_intervals.clone(),
        watermarks: vec![(perp(), harness.state.watermark(perp()))],
        ..RestoredState::default()
    };
    assert_eq!(changes.funding_intervals, vec![(perp(), 7)]);
    let markets = BTreeMap::from([(perp(), *harness.state.market(perp()).unwrap())]);
    fresh.state = AccountState::restore(0, markets, restored);
    let positions = |state: &AccountState| state.all_positions().collect::<Vec<_>>();
    assert_eq!(positions(&fresh.state), positions(&harness.state));
    assert!(!fresh.state.apply_funding(perp(), 7, rate, Price(10_000)).unwrap().fresh);
    assert_eq!(fresh.state.funding_interval(perp()), 7);
}

#[test]
fn an_account_is_liquidatable_from_the_liquidation_price_of_the_margin_math() {
    let mut harness = Harness::new();
    // Alice: long 100 BTC at 100.00 (10,000 USDT) on a wallet of 1,001 USDT (with the rebate).
    harness.place(limit(ALICE, Side::Buy, 10_000, 100_000));
    harness.place(market(BOB, Side::Sell, 100_000));
    let balance = harness.state.balance(ALICE, usdt());
    let wallet = rust_decimal::Decimal::from_i128_with_scale(balance.available + balance.held, 0);
    // The decimal margin math in lots and quote minor units per lot (1,000 per tick).
    let rates = crate::liquidation::MarginRates { initial: dec("0.05"), maintenance: dec("0.025") };
    let position = harness.state.position(ALICE, perp()).to_margin();
    let liquidation = crate::liquidation::liquidation_price(
        &position,
        wallet,
        rust_decimal::Decimal::ZERO,
        rates,
    )
    .expect("a long is liquidated at some positive price");
    let ticks = (liquidation / dec("1000")).floor();
    let ticks = i64::try_from(ticks.mantissa()).unwrap();
    assert_eq!(ticks, 9_229, "(10,000 - 1,001) / (100 x 0.975) = 92.297...");
    harness.state.set_mark(perp(), Price(ticks + 1));
    assert_eq!(harness.state.accounts_below_maintenance(), vec![]);
    harness.state.set_mark(perp(), Price(ticks));
    let below = harness.state.accounts_below_maintenance();
    assert_eq!(below.iter().map(|status| status.account).collect::<Vec<_>>(), vec![ALICE]);
    assert!(below[0].margin_balance <= below[0].maintenance_margin && below[0].margin_balance > 0);
}

/// One random step of the conservation property.
#[derive(Clone, Debug)]
enum Step {
    Limit {
        account: usize,
        buy: bool,
        price: i64,
        qty: u64,
        reduce: bool,
    },
    Market {
        account: usize,
        buy: bool,
        qty: u64,
        reduce: bool,
    },
    CancelOldest {
        account: usize,
    },
    Funding {
        rate_bps: i64,
        mark: i64,
    },
    Mark {
        mark: i64,
    },
    /// A liquidation review at `mark`, `late` past the deadline; its orders go to the book.
    Review {
        mark: i64,
        late: bool,
    },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0..3usize, any::<bool>(), 9_000i64..11_000, 1u64..50_000, any::<bool>()).prop_map(
            |(account, buy, price, qty, reduce)| Step::Limit { account, buy, price, qty, reduce }
        ),
        3 => (0..3usize, any::<bool>(), 1u64..50_000, any::<bool>())
            .prop_map(|(account, buy, qty, reduce)| Step::Market { account, buy, qty, reduce }),
        1 => (0..3usize).prop_map(|account| Step::CancelOldest { account }),
        1 => (-50i64..=50, 5_000i64..20_000).prop_map(|(rate_bps, mark)| Step::Funding { rate_bps, mark }),
        1 => (5_000i64..20_000).prop_map(|mark| Step::Mark { mark }),
        2 => (5_000i64..20_000, any::<bool>()).prop_map(|(mark, late)| Step::Review { mark, late }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Collateral + fees + insurance (+ subsidy for rebates) + the open positions' unrealized
    /// PnL (the insurance fund's included) stays what was deposited through random trading,
    /// marks, funding and liquidations (book IOCs, fund take-overs, ADL); no balance goes
    /// negative and held is always the open orders' margin (checked after every step).
    #[test]
    fn collateral_fees_and_insurance_are_conserved(steps in prop::collection::vec(step(), 1..60)) {
        let mut harness = Harness::new();
        let mut interval_id = 0;
        let mut now_ns = 0;
        for step in steps {
            match step {
                Step::Limit { account, buy, price, qty, reduce } => {
                    let side = if buy { Side::Buy } else { Side::Sell };
                    let request = PlaceRequest { reduce_only: reduce, ..limit(ACCOUNTS[account], side, price, qty) };
                    let _refused_or_placed = harness.try_place(request);
                }
                Step::Market { account, buy, qty, reduce } => {
                    let side = if buy { Side::Buy } else { Side::Sell };
                    let request = PlaceRequest { reduce_only: reduce, ..market(ACCOUNTS[account], side, qty) };
                    let _refused_or_placed = harness.try_place(request);
                }
                Step::CancelOldest { account } => {
                    let account_id = ACCOUNTS[account];
                    let oldest = harness.state.open_orders(account_id, perp()).next().map(|order| order.order_id);
                    if let Some(order_id) = oldest {
                        harness.book(BookCommand::Cancel(CancelOrder { account_id, order_id }));
                    }
                }
                Step::Funding { rate_bps, mark } => {
                    interval_id += 1;
                    let rate = FeeRate::from_decimal(rust_decimal::Decimal::new(rate_bps, 4)).unwrap();
                    harness.state.apply_funding(perp(), interval_id, rate, Price(mark)).unwrap();
                    harness.state.check_invariants().unwrap();
                    assert_conserved(&harness.state);
                }
                Step::Mark { mark } => {
                    harness.state.set_mark(perp(), Price(mark));
                }
                Step::Review { mark, late } => {
                    harness.state.set_mark(perp(), Price(mark));
                    now_ns += if late { liquidation::DEADLINE_NS } else { 1 };
                    liquidation::review(&mut harness, now_ns);
                }
            }
        }
        // Late reviews (a first one cancels what is open, an IOC may push a counterparty
        // under) leave nobody LIQUIDATING within a few rounds.
        for _ in 0..10 {
            if harness.state.liquidations().count() == 0
                && harness.state.accounts_below_maintenance().is_empty()
            {
                break;
            }
            now_ns += liquidation::DEADLINE_NS;
            liquidation::review(&mut harness, now_ns);
        }
        prop_assert_eq!(harness.state.liquidations().count(), 0);
        prop_assert!(harness.state.accounts_below_maintenance().is_empty());
        let sizes: i64 = harness.state.all_positions().map(|(_, _, position)| position.size_lots).sum();
        prop_assert_eq!(sizes, 0);
    }
}
