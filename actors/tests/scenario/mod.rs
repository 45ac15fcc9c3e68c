//! Random command scenarios for the book's property tests (shared by `model_based` and
//! `replay`).
//!
//! A scenario is a list of abstract [`Step`]s. Steps that name an existing order (cancel,
//! amend, a duplicate id) hold a proptest `Index` instead of an id, and [`Resolver`] turns them
//! into a concrete [`BookInput`] against the book's resting orders at that moment. So most
//! cancels and amends hit a live order, and shrinking a failing case keeps it meaningful.
//!
//! Shape: 5 accounts; buys at 88..=104 and sells at 96..=112 ticks (books build up and still
//! cross often); quantities of a few lots; a band of 5-20% around a reference near 100 (its
//! 5-22 tick half-width cuts through that range); small capacities (so BookFull and
//! TooManyOpenOrders happen); now and then a malformed order or an out-of-range value. About
//! half the market orders (and a few others) carry a spend limit of 0 to ~25 lots' worth,
//! now and then of the wrong asset or negative.

use exchange_actors::book::{BookCapacity, BookLimits, RestingOrder};
use exchange_actors::model::{
    AccountId, AmendOrder, BookCommand, BookInput, CancelAccountOrders, CancelOrder, CancelOrders,
    ClientOrderId, FeeRate, MarketTerms, Notional, OrderId, OrderQuantity, OrderType, PlaceOrder,
    Price, Qty, SelfTradePrevention, Side, SpendLimit, TimeInForce,
};
use proptest::prelude::*;
use proptest::sample::Index;
use rust_decimal::Decimal;

/// Accounts 1..=ACCOUNTS trade on the book.
pub const ACCOUNTS: u64 = 5;

/// Fresh order ids start here, far from the small ids that scenarios reuse on purpose.
const FRESH_ID_FIRST: u64 = 1_000;

/// Ids that no order ever has: cancels and amends of them must say `UnknownOrder`.
const NEVER_USED_ID_FIRST: u64 = 900;

#[derive(Clone, Debug)]
pub enum Step {
    Place(PlaceStep),
    Cancel {
        account: u64,
        target: Target,
    },
    CancelMany {
        account: u64,
        targets: Vec<Target>,
    },
    CancelAll {
        account: u64,
    },
    Amend {
        account: u64,
        target: Target,
        price: AmendPrice,
        qty: AmendQty,
    },
    SetReferencePrice(i64),
    /// New qty filters, band and fees (fees in millionths); `move_price_range` asks for the
    /// refused change of the price range.
    SetTerms {
        min_qty: u64,
        max_qty: u64,
        band_bps: u32,
        maker_fee_ppm: i64,
        taker_fee_ppm: i64,
        move_price_range: bool,
    },
    /// An input whose `input_seq` is not the next one (a replay or a gap).
    OutOfSequence {
        ahead: bool,
    },
}

#[derive(Clone, Debug)]
pub struct PlaceStep {
    account: u64,
    id: IdChoice,
    side: Side,
    order_type: OrderType,
    time_in_force: TimeInForce,
    price: Option<i64>,
    quantity: QuantityChoice,
    self_trade_prevention: SelfTradePrevention,
    reduce_only: bool,
    spend_limit: Option<SpendChoice>,
}

/// A spend limit, resolved against the order's side.
#[derive(Clone, Copy, Debug)]
pub enum SpendChoice {
    /// In the asset the order gives up: lots for a sell, this much notional for a buy.
    Given { lots: u64, notional: i128 },
    /// In the asset the order receives (refused).
    WrongAsset,
    /// A negative quote amount (refused for a buy; a sell gets the wrong asset).
    Negative,
}

#[derive(Clone, Copy, Debug)]
pub enum IdChoice {
    Fresh,
    /// One of a handful of ids reused across the scenario: a duplicate while that order rests,
    /// a legitimate reuse once it is gone.
    Small(u64),
    /// The id of a resting order (a duplicate), or a fresh one if the book is empty.
    Resting(Index),
}

#[derive(Clone, Copy, Debug)]
pub enum QuantityChoice {
    Base(u64),
    Quote(i128),
}

/// Which order a cancel or amend names (see `resolve_target` and `resolve_bulk_target`).
#[derive(Clone, Copy, Debug)]
pub enum Target {
    /// A resting order named by its owner: it acts (unknown id if nothing qualifies).
    Own(Index),
    /// Any resting order named by the step's account: often another account's (NotOwner).
    Any(Index),
    /// A raw id: one of the reused small ids (resting or not) or one never used.
    Unknown(u64),
}

#[derive(Clone, Copy, Debug)]
pub enum AmendPrice {
    Same,
    Delta(i64),
    Absolute(i64),
}

#[derive(Clone, Copy, Debug)]
pub enum AmendQty {
    Same,
    Down(u64),
    Up(u64),
    Absolute(u64),
}

/// Limits with a band (sometimes none) and small capacities.
pub fn limits_strategy() -> impl Strategy<Value = BookLimits> {
    let band_on = pick(vec![(1, false), (9, true)]);
    let min_qty = 1u64..=2;
    (band_on, 500u32..=2_000, min_qty, 8u32..=30, 3u32..=10).prop_map(
        |(band_on, band_bps, min_qty, orders_max, per_account)| BookLimits {
            terms: MarketTerms {
                min_price: Price(1),
                max_price: Price(1_000),
                min_qty: Qty(min_qty),
                max_qty: Qty(50),
                // One lot at ~100 ticks is below this: small orders hit NotionalBelowMin.
                min_notional: Notional(150),
                max_notional: Notional(4_000),
                price_band_bps: if band_on { band_bps } else { 0 },
                maker_fee: FeeRate::ZERO,
                taker_fee: FeeRate::ZERO,
            },
            capacity: BookCapacity {
                orders_max,
                account_orders_max: per_account,
                orders_preallocated: 8,
            },
        },
    )
}

pub fn steps_strategy(len_max: usize) -> impl Strategy<Value = Vec<Step>> {
    prop::collection::vec(step_strategy(), 1..=len_max)
}

/// Picks one of `choices` by weight with a single integer draw; shrinks toward the first.
///
/// Used instead of `prop_oneof!` for plain values: `prop_oneof!` clones the test runner for
/// every branch it did not take (to shrink lazily), which made generating 200-step scenarios
/// most of the run time in a debug build.
fn pick<T: Clone + std::fmt::Debug>(choices: Vec<(u32, T)>) -> impl Strategy<Value = T> {
    let total: u32 = choices.iter().map(|(weight, _)| weight).sum();
    (0..total).prop_map(move |mut roll| {
        for (weight, value) in &choices {
            if roll < *weight {
                return value.clone();
            }
            roll -= weight;
        }
        unreachable!("roll {roll} is below the total weight")
    })
}

fn step_strategy() -> impl Strategy<Value = Step> {
    let account = 1..=ACCOUNTS;
    prop_oneof![
        60 => place_strategy().prop_map(Step::Place),
        6 => (account.clone(), target_strategy())
            .prop_map(|(account, target)| Step::Cancel { account, target }),
        3 => (account.clone(), prop::collection::vec(target_strategy(), 0..=5))
            .prop_map(|(account, targets)| Step::CancelMany { account, targets }),
        1 => account.clone().prop_map(|account| Step::CancelAll { account }),
        17 => (account, target_strategy(), amend_price_strategy(), amend_qty_strategy())
            .prop_map(|(account, target, price, qty)| Step::Amend { account, target, price, qty }),
        5 => price_strategy().prop_map(Step::SetReferencePrice),
        1 => (1u64..=3, 0u64..=60, 0u32..=2_000, -500i64..=500, 0i64..=2_000, pick(vec![(9, false), (1, true)]))
            .prop_map(|(min_qty, max_qty, band_bps, maker_fee_ppm, taker_fee_ppm, move_price_range)| {
                Step::SetTerms { min_qty, max_qty, band_bps, maker_fee_ppm, taker_fee_ppm, move_price_range }
            }),
        1 => any::<bool>().prop_map(|ahead| Step::OutOfSequence { ahead }),
    ]
}

/// Mostly in 88..=112; now and then out of the book's range.
fn price_strategy() -> impl Strategy<Value = i64> {
    (pick(vec![(50, None), (1, Some(0)), (1, Some(1_001))]), 88i64..=112)
        .prop_map(|(odd, usual)| odd.unwrap_or(usual))
}

/// How a place step's numbers are drawn: usual, zero, or too large.
#[derive(Clone, Copy, Debug)]
enum Size {
    Usual,
    Zero,
    Large,
}

fn size_strategy() -> impl Strategy<Value = Size> {
    pick(vec![(20, Size::Usual), (1, Size::Zero), (1, Size::Large)])
}

/// Orders of every kind, a few of them malformed on purpose.
fn place_strategy() -> impl Strategy<Value = PlaceStep> {
    let id = (pick(vec![(16, 0), (2, 1), (1, 2)]), 1u64..=4, any::<Index>()).prop_map(
        |(kind, small, index)| match kind {
            0 => IdChoice::Fresh,
            1 => IdChoice::Small(small),
            _ => IdChoice::Resting(index),
        },
    );
    let base =
        (size_strategy(), 1u64..=10, 45u64..=55).prop_map(|(size, usual, large)| match size {
            Size::Usual => usual,
            Size::Zero => 0,
            Size::Large => large,
        });
    let quote =
        (size_strategy(), 100i128..=2_500, 3_900i128..=4_100).prop_map(|(size, usual, large)| {
            match size {
                Size::Usual => usual,
                Size::Zero => 0,
                Size::Large => large,
            }
        });
    // Ticks away from the far end of the range: buys at 88..=104, sells at 96..=112, so books
    // build up on both sides and still cross often. Now and then outside the book's range.
    let in_range = pick(vec![(50, true), (1, false)]);
    let header = (1..=ACCOUNTS, id, any::<bool>(), shape_strategy());
    let body = (in_range, 0i64..=16, base, quote, stp_strategy(), prop::bool::weighted(0.1));
    (header, body, 0u32..40, spend_strategy()).prop_map(|(header, body, roll, spend)| {
        let (account, id, buy, (order_type, time_in_force, priced, by_quote)) = header;
        let (in_range, offset, base, quote, self_trade_prevention, reduce_only) = body;
        // Half the market orders, one in twenty of the others.
        let limited = roll < if order_type == OrderType::Market { 20 } else { 2 };
        let price = match (in_range, buy) {
            (true, true) => 88 + offset,
            (true, false) => 112 - offset,
            (false, true) => 0,
            (false, false) => 1_001,
        };
        PlaceStep {
            account,
            id,
            side: if buy { Side::Buy } else { Side::Sell },
            order_type,
            time_in_force,
            price: priced.then_some(price),
            quantity: if by_quote {
                QuantityChoice::Quote(quote)
            } else {
                QuantityChoice::Base(base)
            },
            self_trade_prevention,
            reduce_only,
            spend_limit: limited.then_some(spend),
        }
    })
}

/// Mostly a limit of 0 to 12 lots (or 0 to 2,500 notional, ~25 lots at 100 ticks): often
/// enough to stop a taker before it fills, sometimes too small for a single lot.
fn spend_strategy() -> impl Strategy<Value = SpendChoice> {
    (pick(vec![(14, 0), (1, 1), (1, 2)]), 0u64..=12, 0i128..=2_500).prop_map(
        |(kind, lots, notional)| match kind {
            0 => SpendChoice::Given { lots, notional },
            1 => SpendChoice::WrongAsset,
            _ => SpendChoice::Negative,
        },
    )
}

/// (type, time in force, carries a price, by quote amount).
type Shape = (OrderType, TimeInForce, bool, bool);

fn shape_strategy() -> impl Strategy<Value = Shape> {
    use OrderType::{Limit, LimitMaker, Market};
    use TimeInForce::{Fok, Gtc, Ioc};
    pick(vec![
        (30, (Limit, Gtc, true, false)),
        (6, (Limit, Ioc, true, false)),
        (5, (Limit, Fok, true, false)),
        (6, (LimitMaker, Gtc, true, false)),
        (5, (Market, Ioc, false, false)),
        (4, (Market, Fok, false, false)),
        (5, (Market, Ioc, false, true)),
        // Malformed, each refused for its own reason.
        (1, (Market, Ioc, true, false)),
        (1, (Limit, Gtc, false, false)),
        (1, (Limit, Ioc, true, true)),
        (1, (LimitMaker, Ioc, true, false)),
        (1, (Market, Gtc, false, false)),
        (1, (Market, Fok, false, true)),
    ])
}

fn stp_strategy() -> impl Strategy<Value = SelfTradePrevention> {
    pick(vec![
        (4, SelfTradePrevention::None),
        (2, SelfTradePrevention::ExpireTaker),
        (2, SelfTradePrevention::ExpireMaker),
        (2, SelfTradePrevention::ExpireBoth),
    ])
}

fn target_strategy() -> impl Strategy<Value = Target> {
    let unknown =
        prop::sample::select(vec![1, 2, 3, 4, NEVER_USED_ID_FIRST, NEVER_USED_ID_FIRST + 1]);
    (pick(vec![(6, 0), (2, 1), (1, 2)]), any::<Index>(), unknown).prop_map(
        |(kind, index, unknown)| match kind {
            0 => Target::Own(index),
            1 => Target::Any(index),
            _ => Target::Unknown(unknown),
        },
    )
}

fn amend_price_strategy() -> impl Strategy<Value = AmendPrice> {
    (pick(vec![(4, 0), (5, 1), (1, 2)]), -8i64..=8, price_strategy()).prop_map(
        |(kind, delta, absolute)| match kind {
            0 => AmendPrice::Same,
            1 => AmendPrice::Delta(delta),
            _ => AmendPrice::Absolute(absolute),
        },
    )
}

fn amend_qty_strategy() -> impl Strategy<Value = AmendQty> {
    (pick(vec![(2, 0), (4, 1), (3, 2), (1, 3)]), 1u64..=5, 0u64..=60).prop_map(
        |(kind, lots, absolute)| match kind {
            0 => AmendQty::Same,
            1 => AmendQty::Down(lots),
            2 => AmendQty::Up(lots),
            _ => AmendQty::Absolute(absolute),
        },
    )
}

/// Turns steps into inputs: assigns fresh ids, timestamps and input sequence numbers, and
/// resolves order picks against the book's resting orders.
#[derive(Debug)]
pub struct Resolver {
    next_fresh_id: u64,
    ts_ns: u64,
}

impl Default for Resolver {
    fn default() -> Self {
        Resolver { next_fresh_id: FRESH_ID_FIRST, ts_ns: 1_000 }
    }
}

impl Resolver {
    /// The input for `step`, given the resting orders (in priority order) and the last input
    /// sequence the book applied.
    pub fn input(
        &mut self,
        step: &Step,
        resting: &[RestingOrder],
        last_input_seq: u64,
    ) -> BookInput {
        self.ts_ns += 1_000;
        let mut input_seq = last_input_seq + 1;
        let command = match step {
            Step::Place(place) => BookCommand::Place(self.place(place, resting)),
            Step::Cancel { account, target } => {
                let (account_id, order_id) = resolve_target(*account, *target, resting);
                BookCommand::Cancel(CancelOrder { account_id, order_id })
            }
            Step::CancelMany { account, targets } => {
                let account_id = AccountId(*account);
                let order_ids = targets
                    .iter()
                    .map(|target| resolve_bulk_target(account_id, *target, resting))
                    .collect();
                BookCommand::CancelMany(CancelOrders { account_id, order_ids })
            }
            Step::CancelAll { account } => {
                BookCommand::CancelAll(CancelAccountOrders { account_id: AccountId(*account) })
            }
            Step::Amend { account, target, price, qty } => {
                BookCommand::Amend(resolve_amend(*account, *target, *price, *qty, resting))
            }
            Step::SetReferencePrice(ticks) => BookCommand::SetReferencePrice(Price(*ticks)),
            Step::SetTerms {
                min_qty,
                max_qty,
                band_bps,
                maker_fee_ppm,
                taker_fee_ppm,
                move_price_range,
            } => {
                let fee = |ppm| FeeRate::from_decimal(Decimal::new(ppm, 6)).expect("below 1");
                BookCommand::SetTerms(MarketTerms {
                    min_price: Price(1),
                    max_price: Price(if *move_price_range { 999 } else { 1_000 }),
                    min_qty: Qty(*min_qty),
                    max_qty: Qty(*max_qty),
                    min_notional: Notional(150),
                    max_notional: Notional(4_000),
                    price_band_bps: *band_bps,
                    maker_fee: fee(*maker_fee_ppm),
                    taker_fee: fee(*taker_fee_ppm),
                })
            }
            Step::OutOfSequence { ahead } => {
                input_seq = if *ahead { last_input_seq + 2 } else { last_input_seq };
                BookCommand::SetReferencePrice(Price(100))
            }
        };
        BookInput { input_seq, ts_ns: self.ts_ns, command }
    }

    fn place(&mut self, step: &PlaceStep, resting: &[RestingOrder]) -> PlaceOrder {
        let order_id = match step.id {
            IdChoice::Small(id) => OrderId(id),
            IdChoice::Resting(pick) if !resting.is_empty() => {
                resting[pick.index(resting.len())].order_id
            }
            IdChoice::Fresh | IdChoice::Resting(_) => {
                self.next_fresh_id += 1;
                OrderId(self.next_fresh_id)
            }
        };
        let client_order_id = ClientOrderId::new(&format!("c-{}", order_id.0)).expect("valid");
        PlaceOrder {
            order_id,
            account_id: AccountId(step.account),
            client_order_id,
            side: step.side,
            order_type: step.order_type,
            time_in_force: step.time_in_force,
            price: step.price.map(Price),
            quantity: match step.quantity {
                QuantityChoice::Base(lots) => OrderQuantity::Base(Qty(lots)),
                QuantityChoice::Quote(amount) => OrderQuantity::Quote(Notional(amount)),
            },
            self_trade_prevention: step.self_trade_prevention,
            reduce_only: step.reduce_only,
            spend_limit: step.spend_limit.map(|spend| resolve_spend(spend, step.side)),
        }
    }
}

fn resolve_spend(spend: SpendChoice, side: Side) -> SpendLimit {
    match (spend, side) {
        (SpendChoice::Given { notional, .. }, Side::Buy) => SpendLimit::Quote(Notional(notional)),
        (SpendChoice::Given { lots, .. }, Side::Sell) => SpendLimit::Base(Qty(lots)),
        (SpendChoice::WrongAsset, Side::Buy) => SpendLimit::Base(Qty(5)),
        (SpendChoice::WrongAsset, Side::Sell) | (SpendChoice::Negative, _) => {
            SpendLimit::Quote(Notional(-100))
        }
    }
}

/// The (account, order id) a cancel or amend names. `Own` names a resting order as its owner
/// (whoever that is, so that most cancels and amends act); `Any` names one as `account`.
fn resolve_target(account: u64, target: Target, resting: &[RestingOrder]) -> (AccountId, OrderId) {
    match target {
        Target::Own(index) if !resting.is_empty() => {
            let order = &resting[index.index(resting.len())];
            (order.account_id, order.order_id)
        }
        Target::Any(index) if !resting.is_empty() => {
            (AccountId(account), resting[index.index(resting.len())].order_id)
        }
        Target::Own(_) | Target::Any(_) => (AccountId(account), OrderId(NEVER_USED_ID_FIRST)),
        Target::Unknown(id) => (AccountId(account), OrderId(id)),
    }
}

/// An id for a bulk cancel by `account`: `Own` picks among its own orders, `Any` among all.
fn resolve_bulk_target(account: AccountId, target: Target, resting: &[RestingOrder]) -> OrderId {
    let own: Vec<&RestingOrder> = match target {
        Target::Own(_) => resting.iter().filter(|order| order.account_id == account).collect(),
        Target::Any(_) | Target::Unknown(_) => resting.iter().collect(),
    };
    match target {
        Target::Own(index) | Target::Any(index) if !own.is_empty() => {
            own[index.index(own.len())].order_id
        }
        Target::Own(_) | Target::Any(_) => OrderId(NEVER_USED_ID_FIRST),
        Target::Unknown(id) => OrderId(id),
    }
}

fn resolve_amend(
    account: u64,
    target: Target,
    price: AmendPrice,
    qty: AmendQty,
    resting: &[RestingOrder],
) -> AmendOrder {
    let (account_id, order_id) = resolve_target(account, target, resting);
    // An unknown target has no current price or quantity: amend as if from 100 x 5.
    let (old_price, old_qty) = resting
        .iter()
        .find(|order| order.order_id == order_id)
        .map_or((100, 5), |order| (order.price.0, order.open_qty.0));
    let new_price = match price {
        AmendPrice::Same => old_price,
        AmendPrice::Delta(delta) => old_price + delta,
        AmendPrice::Absolute(ticks) => ticks,
    };
    let new_qty = match qty {
        AmendQty::Same => old_qty,
        AmendQty::Down(lots) => old_qty.saturating_sub(lots).max(1),
        AmendQty::Up(lots) => old_qty + lots,
        AmendQty::Absolute(lots) => lots,
    };
    AmendOrder { account_id, order_id, new_price: Price(new_price), new_qty: Qty(new_qty) }
}
