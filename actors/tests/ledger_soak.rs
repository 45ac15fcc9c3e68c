//! Ledger soak and cancel/fill race: two account shards and two real matching engines, every
//! book event delivered to both shards (some twice, some in split batches).
//!
//! Soak: 100,000 random commands over 1,000 accounts (500 per shard) and 2 symbols — limit
//! GTC/IOC/FOK, post-only, market by base and by quote, cancels and amends, with every
//! self-trade prevention mode — from a seeded ChaCha RNG. Every 1,000 commands: each shard's
//! invariants (per asset the balances sum to zero, no negative user balance, held equals the
//! open orders' holds), every open order holds exactly its requirement, the two shards'
//! Clearing(symbol) balances sum to zero per asset, every order's executed quantity equals the
//! trades the book reported for it (no fill applied twice), and the books' resting orders are
//! exactly the shards' open orders. Every drain is written to a per-shard in-memory
//! "database"; every 10,000 commands each shard is rebuilt from it with `AccountState::restore`,
//! must equal the live one, and the soak goes on with the rebuilt shard. Entry ids are checked
//! contiguous across drains. About 13 s in a debug build.
//!
//! Race: 1,000 resting orders, each hit by a cancel and by a crossing order in random order;
//! each ends in exactly one terminal state and its hold is released exactly once.

use std::collections::{BTreeMap, HashMap};

use exchange_actors::account::{
    AccountState, BalanceRow, Changes, EntryKind, LedgerEntry, MarketSpec, OrderRecord,
    OrderStatus, Owner, PlaceRequest, RestoredState, SystemAccount,
};
use exchange_actors::book::{BookCapacity, BookLimits, EngineOutput, MatchingEngine};
use exchange_actors::model::{
    AccountId, AssetCode, BookCommand, BookEvent, BookInput, CancelOrder, ClientOrderId, EventKind,
    Notional, OrderId, OrderQuantity, OrderType, Price, Qty, SelfTradePrevention, Side, SymbolCode,
    SymbolSpec, TimeInForce,
};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rust_decimal::Decimal;

const SHARDS: u16 = 2;
const ACCOUNTS: u64 = 1_000;
const COMMANDS: u32 = 100_000;
const CHECK_EVERY: u32 = 1_000;
const RACE_ORDERS: usize = 1_000;
/// Every this many commands each shard is rebuilt from its "database" and the soak goes on
/// with the rebuilt one.
const RESTORE_EVERY: u32 = 10_000;

fn dec(text: &str) -> Decimal {
    text.parse().expect("decimal")
}

fn asset(code: &str) -> AssetCode {
    AssetCode::new(code).expect("asset code")
}

fn spec(symbol: &str, base: &str, step: &str, maker: &str, taker: &str) -> SymbolSpec {
    SymbolSpec {
        symbol: symbol.into(),
        base_asset: base.into(),
        quote_asset: "USDT".into(),
        tick_size: dec("0.01"),
        min_price: dec("0.01"),
        max_price: dec("1000000"),
        step_size: dec(step),
        min_qty: dec(step),
        max_qty: dec("9000"),
        min_notional: dec("1"),
        max_notional: dec("9000000"),
        price_band_bps: 500,
        maker_fee_rate: dec(maker),
        taker_fee_rate: dec(taker),
        maker_fee_floor: dec("-0.0005"),
        perpetual: None,
    }
}

/// A symbol's book and what the test knows about it.
struct Market {
    spec: MarketSpec,
    engine: MatchingEngine,
    input_seq: u64,
    /// The last events, for redelivery.
    recent: Vec<BookEvent>,
    /// Lots the book reported traded, per order.
    traded: HashMap<OrderId, u64>,
    mid_ticks: i64,
}

/// What the shell would have written to the database for one shard: every drain applied.
#[derive(Default)]
struct Db {
    accounts: Vec<AccountId>,
    balances: BTreeMap<(Owner, AssetCode), BalanceRow>,
    orders: BTreeMap<OrderId, OrderRecord>,
    watermarks: BTreeMap<SymbolCode, u64>,
    next_order_counter: u64,
    next_entry_id: u64,
}

impl Db {
    fn write(&mut self, changes: &Changes) {
        for entry in &changes.entries {
            if self.next_entry_id != 0 {
                assert_eq!(entry.entry_id, self.next_entry_id, "entry ids are contiguous");
            }
            self.next_entry_id = entry.entry_id + 1;
        }
        assert!(changes.next_entry_id == self.next_entry_id || changes.entries.is_empty());
        self.accounts.extend(&changes.accounts);
        for row in &changes.balances {
            self.balances.insert((row.owner, row.asset), *row);
        }
        for order in &changes.orders {
            self.orders.insert(order.order_id, *order);
        }
        self.watermarks.extend(changes.watermarks.iter().copied());
        self.next_order_counter = changes.next_order_counter;
        self.next_entry_id = changes.next_entry_id;
    }

    fn restored(&self) -> RestoredState {
        RestoredState {
            accounts: self.accounts.clone(),
            balances: self.balances.values().copied().collect(),
            open_and_recent_orders: self.orders.values().copied().collect(),
            watermarks: self.watermarks.iter().map(|(symbol, seq)| (*symbol, *seq)).collect(),
            next_order_counter: self.next_order_counter,
            next_entry_id: self.next_entry_id,
            ..RestoredState::default()
        }
    }
}

/// Two shards and two books, wired as the actors will be.
struct Exchange {
    shards: Vec<AccountState>,
    dbs: Vec<Db>,
    markets: BTreeMap<SymbolCode, Market>,
    rng: ChaCha8Rng,
    ts_ns: u64,
    /// Every entry drained from a shard (only when `keep_entries`, for the race test).
    entries: Vec<LedgerEntry>,
    keep_entries: bool,
    /// Orders that rested when placed (some since closed), to pick cancels and amends from.
    resting: Vec<(AccountId, OrderId)>,
    /// What happened, so the test can require that the mix reached every path.
    tally: BTreeMap<String, u64>,
}

impl Exchange {
    fn new(seed: u64) -> Exchange {
        let specs = [
            (spec("BTCUSDT", "BTC", "0.00001", "-0.0001", "0.001"), 3_000_000),
            (spec("ETHUSDT", "ETH", "0.0001", "0.0002", "0.0007"), 200_000),
        ];
        let mut markets = BTreeMap::new();
        for (symbol_spec, mid_ticks) in specs {
            let spec = MarketSpec::new(&symbol_spec, 8, 8).expect("market spec");
            let limits =
                BookLimits::from_spec(&symbol_spec, BookCapacity::default()).expect("limits");
            let market = Market {
                spec,
                engine: MatchingEngine::new(limits),
                input_seq: 0,
                recent: Vec::new(),
                traded: HashMap::new(),
                mid_ticks,
            };
            markets.insert(spec.symbol, market);
        }
        let specs: BTreeMap<_, _> =
            markets.iter().map(|(symbol, market)| (*symbol, market.spec)).collect();
        let shards = (0..SHARDS)
            .map(|index| {
                let mut shard = AccountState::new(index, specs.clone());
                shard.set_shard_count(SHARDS);
                shard
            })
            .collect();
        Exchange {
            dbs: (0..SHARDS).map(|_| Db::default()).collect(),
            shards,
            markets,
            rng: ChaCha8Rng::seed_from_u64(seed),
            ts_ns: 0,
            entries: Vec::new(),
            keep_entries: false,
            resting: Vec::new(),
            tally: BTreeMap::new(),
        }
    }

    fn shard_of(account: AccountId) -> usize {
        usize::try_from(account.0 % u64::from(SHARDS)).expect("small")
    }

    fn shard(&mut self, account: AccountId) -> &mut AccountState {
        &mut self.shards[Self::shard_of(account)]
    }

    fn open_funded(&mut self, account: AccountId, funds: &[(&str, i128)]) {
        let shard = self.shard(account);
        shard.open_account(account).expect("new account");
        for (code, amount) in funds {
            shard.deposit(account, asset(code), *amount, account.0).expect("deposit");
        }
    }

    /// Applies a command to `symbol`'s book and delivers its events to both shards; returns
    /// whether the book accepted the command.
    fn book(&mut self, symbol: SymbolCode, command: BookCommand) -> bool {
        self.ts_ns += 1_000;
        let market = self.markets.get_mut(&symbol).expect("market");
        market.input_seq += 1;
        let input = BookInput { input_seq: market.input_seq, ts_ns: self.ts_ns, command };
        let mut out = EngineOutput::default();
        let accepted = market.engine.apply(&input, &mut out).is_ok();
        for event in &out.events {
            if let EventKind::Traded(trade) = event.kind {
                *market.traded.entry(trade.maker_order_id).or_default() += trade.qty.0;
                *market.traded.entry(trade.taker_order_id).or_default() += trade.qty.0;
            }
        }
        market.recent.extend_from_slice(&out.events);
        let keep = market.recent.len().saturating_sub(64);
        market.recent.drain(..keep);
        self.deliver(symbol, &out.events);
        accepted
    }

    /// Delivers `events` to both shards: usually at once, sometimes split in two overlapping
    /// batches, sometimes followed by a redelivery of recent events (all must be no-ops).
    fn deliver(&mut self, symbol: SymbolCode, events: &[BookEvent]) {
        let split = self.rng.gen_ratio(1, 10) && events.len() > 2;
        let redeliver = self.rng.gen_ratio(1, 20);
        for shard in &mut self.shards {
            if split {
                let cut = events.len() / 2;
                shard.apply_book_events(symbol, &events[..=cut]).expect("first half");
                shard.apply_book_events(symbol, &events[cut.saturating_sub(1)..]).expect("overlap");
            } else {
                shard.apply_book_events(symbol, events).expect("events apply");
            }
        }
        if redeliver {
            let recent = self.markets[&symbol].recent.clone();
            for shard in &mut self.shards {
                let before: Vec<_> = shard.balances().collect();
                shard.apply_book_events(symbol, &recent).expect("redelivery is a no-op");
                assert_eq!(
                    shard.balances().collect::<Vec<_>>(),
                    before,
                    "redelivery changed balances"
                );
            }
        }
        self.drain();
    }

    /// Writes every shard's changes to its database.
    fn drain(&mut self) {
        for (shard, db) in self.shards.iter_mut().zip(&mut self.dbs) {
            let changes = shard.drain_changes();
            db.write(&changes);
            for entry in &changes.entries {
                *self.tally.entry(format!("entry {:?}", entry.kind)).or_default() += 1;
            }
            for order in changes.orders.iter().filter(|order| order.status.is_terminal()) {
                *self.tally.entry(format!("status {:?}", order.status)).or_default() += 1;
            }
            if self.keep_entries {
                self.entries.extend(changes.entries);
            }
        }
    }

    /// Rebuilds every shard from its database; the rebuilt shard must equal the live one.
    fn restart_shards(&mut self) {
        self.drain();
        for (index, db) in self.dbs.iter().enumerate() {
            let live = &self.shards[index];
            let markets =
                self.markets.iter().map(|(symbol, market)| (*symbol, market.spec)).collect();
            let shard_index = u16::try_from(index).expect("two shards");
            let restored = AccountState::restore(shard_index, markets, db.restored());
            restored.check_invariants().expect("restored invariants");
            assert!(live.balances().eq(restored.balances()), "shard {index}: restored balances");
            assert!(live.all_open_orders().eq(restored.all_open_orders()), "shard {index}: orders");
            for symbol in self.markets.keys() {
                assert_eq!(live.watermark(*symbol), restored.watermark(*symbol));
            }
            self.shards[index] = restored;
        }
    }

    fn count(&mut self, what: String) {
        *self.tally.entry(what).or_default() += 1;
    }

    /// Places through the owner's shard and the book. `None` if the shard refused.
    fn place(&mut self, request: PlaceRequest) -> Option<OrderId> {
        let command = match self.shard(request.account_id).place(request) {
            Ok(command) => command,
            Err(reject) => {
                let name = format!("{reject:?}");
                let variant = name.split([' ', '(', '{']).next().unwrap_or_default();
                self.count(format!("refused {variant}"));
                return None;
            }
        };
        self.book(request.symbol, BookCommand::Place(command));
        let order = self.shard(request.account_id).order(command.order_id).expect("placed");
        if !order.status.is_terminal() {
            self.resting.push((request.account_id, command.order_id));
        }
        Some(command.order_id)
    }

    fn cancel(&mut self, symbol: SymbolCode, account_id: AccountId, order_id: OrderId) -> bool {
        self.book(symbol, BookCommand::Cancel(CancelOrder { account_id, order_id }))
    }

    fn amend(&mut self, order: &OrderRecord, new_price: Price, new_qty: Qty) {
        let ts_ns = self.ts_ns;
        let shard = self.shard(order.account_id);
        let Ok(amend) =
            shard.reserve_amend(order.account_id, order.order_id, new_price, new_qty, ts_ns)
        else {
            self.count("amend refused by the shard".into());
            return;
        };
        let accepted = self.book(order.symbol, BookCommand::Amend(amend));
        self.count(format!("amend accepted by the book: {accepted}"));
        if !accepted {
            let shard = self.shard(order.account_id);
            shard.release_unused_hold(order.order_id, ts_ns).expect("open order");
        }
    }

    fn check(&self) {
        for (index, shard) in self.shards.iter().enumerate() {
            shard.check_invariants().unwrap_or_else(|error| panic!("shard {index}: {error}"));
            shard
                .check_holds_match_requirements()
                .unwrap_or_else(|error| panic!("shard {index}: {error}"));
        }
        for (symbol, market) in &self.markets {
            for code in [market.spec.base, market.spec.quote] {
                let clearing: i128 = self
                    .shards
                    .iter()
                    .map(|shard| {
                        shard.system_balance(SystemAccount::Clearing(*symbol), code).available
                    })
                    .sum();
                assert_eq!(clearing, 0, "{symbol} clearing of {code} across shards");
            }
            let mut book: Vec<(OrderId, AccountId, Price, Qty)> = market
                .engine
                .snapshot()
                .orders
                .iter()
                .map(|order| (order.order_id, order.account_id, order.price, order.open_qty))
                .collect();
            book.sort();
            let mut shards: Vec<(OrderId, AccountId, Price, Qty)> = Vec::new();
            for shard in &self.shards {
                for order in shard.all_open_orders().filter(|order| order.symbol == *symbol) {
                    assert_ne!(
                        order.status,
                        OrderStatus::Pending,
                        "{:?} left pending",
                        order.order_id
                    );
                    let traded = market.traded.get(&order.order_id).copied().unwrap_or(0);
                    assert_eq!(order.executed_qty.0, traded, "{:?} executed", order.order_id);
                    let open = order.open_qty().expect("resting orders are by base qty");
                    shards.push((
                        order.order_id,
                        order.account_id,
                        order.price.expect("limit"),
                        open,
                    ));
                }
            }
            shards.sort();
            assert_eq!(book, shards, "{symbol}: the book's orders are the shards' open orders");
        }
    }
}

/// One random command of the soak's mix.
fn random_command(exchange: &mut Exchange) {
    let rng = &mut exchange.rng;
    // A tenth of the accounts make half the flow, so self-trades (and STP) happen.
    let account = if rng.gen_bool(0.5) {
        rng.gen_range(1..=ACCOUNTS / 10)
    } else {
        rng.gen_range(1..=ACCOUNTS)
    };
    let account = AccountId(account);
    let symbol = *exchange.markets.keys().nth(rng.gen_range(0..2)).expect("two symbols");
    let mid = exchange.markets[&symbol].mid_ticks;
    let roll = rng.gen_range(0..100);
    let side = if rng.gen_bool(0.5) { Side::Buy } else { Side::Sell };
    // Mostly on the order's own side of the mid, a fifth of the range across it.
    let away = rng.gen_range(-mid / 400..=mid / 100);
    let price = Price(if side == Side::Buy { mid - away } else { mid + away });
    let qty = Qty(rng.gen_range(1..=3_000));
    let stp = [
        SelfTradePrevention::None,
        SelfTradePrevention::None,
        SelfTradePrevention::ExpireTaker,
        SelfTradePrevention::ExpireMaker,
        SelfTradePrevention::ExpireBoth,
    ][rng.gen_range(0..5)];
    let client_order_id = if rng.gen_ratio(1, 10) {
        // A small space of ids, so duplicates are refused now and then.
        ClientOrderId::new(&format!("c{}", rng.gen_range(0..50))).expect("client id")
    } else {
        ClientOrderId::NONE
    };
    let request = PlaceRequest {
        symbol,
        account_id: account,
        client_order_id,
        side,
        order_type: OrderType::Limit,
        time_in_force: TimeInForce::Gtc,
        price: Some(price),
        quantity: OrderQuantity::Base(qty),
        self_trade_prevention: stp,
        reduce_only: false,
        ts_ns: exchange.ts_ns,
    };
    let market_order = |quantity| PlaceRequest {
        order_type: OrderType::Market,
        time_in_force: TimeInForce::Ioc,
        price: None,
        quantity,
        ..request
    };
    let placed = match roll {
        0..=39 => exchange.place(request),
        40..=46 => exchange.place(PlaceRequest { time_in_force: TimeInForce::Ioc, ..request }),
        47..=50 => exchange.place(PlaceRequest { time_in_force: TimeInForce::Fok, ..request }),
        51..=56 => exchange.place(PlaceRequest { order_type: OrderType::LimitMaker, ..request }),
        57..=62 => exchange.place(market_order(OrderQuantity::Base(qty))),
        63..=68 => {
            let notional = Notional::of(Price(mid), qty);
            exchange.place(market_order(OrderQuantity::Quote(notional)))
        }
        _ => None,
    };
    if roll <= 68 {
        exchange.count(format!("placed {}", placed.is_some()));
        return;
    }
    match roll {
        69..=85 => {
            if let Some(order) = random_open_order(exchange) {
                exchange.cancel(order.symbol, order.account_id, order.order_id);
            } else {
                // Unknown order: the book refuses, nothing changes.
                exchange.cancel(symbol, account, OrderId(7));
            }
        }
        86..=97 => {
            if let Some(order) = random_open_order(exchange) {
                let new_qty = Qty(exchange.rng.gen_range(1..=3_000));
                let new_price =
                    if exchange.rng.gen_bool(0.5) { order.price.expect("limit") } else { price };
                exchange.amend(&order, new_price, new_qty);
            }
        }
        _ => {
            let code = if exchange.rng.gen_bool(0.5) {
                "USDT"
            } else {
                exchange.markets[&symbol].spec.base.as_str()
            };
            let amount = exchange.rng.gen_range(1..=1_000_000_000);
            let code = asset(code);
            let deposit = exchange.rng.gen_bool(0.5);
            let shard = exchange.shard(account);
            if deposit {
                shard.deposit(account, code, amount, 1).expect("deposit");
            } else {
                let _refused_when_short = shard.withdraw(account, code, amount, 2);
            }
        }
    }
}

/// A random open order of any account, or `None` now and then.
fn random_open_order(exchange: &mut Exchange) -> Option<OrderRecord> {
    for _ in 0..4 {
        if exchange.resting.is_empty() {
            return None;
        }
        let index = exchange.rng.gen_range(0..exchange.resting.len());
        let (account, order_id) = exchange.resting[index];
        match exchange.shards[Exchange::shard_of(account)].order(order_id) {
            Some(order) if !order.status.is_terminal() => return Some(*order),
            _ => drop(exchange.resting.swap_remove(index)),
        }
    }
    None
}

#[test]
fn ledger_soak() {
    let mut exchange = Exchange::new(0x1ed6e5);
    for account in 1..=ACCOUNTS {
        // Mostly well funded; every tenth account is poor, so funds run short.
        let scale = if account % 10 == 0 { 1 } else { 1_000 };
        let funds = [
            ("USDT", 10_000_000_000 * scale),
            ("BTC", 1_000_000 * scale),
            ("ETH", 10_000_000 * scale),
        ];
        exchange.open_funded(AccountId(account), &funds);
    }
    exchange.drain();
    for command in 1..=COMMANDS {
        random_command(&mut exchange);
        if command % CHECK_EVERY == 0 {
            exchange.check();
        }
        if command % RESTORE_EVERY == 0 {
            exchange.restart_shards();
        }
    }
    for (what, count) in &exchange.tally {
        println!("{what}: {count}");
    }
    for what in [
        "entry Fee",
        "entry Rebate",
        "entry Release",
        "status Filled",
        "status Canceled",
        "status Expired",
        "status ExpiredInMatch",
        "status Rejected",
        "refused InsufficientFunds",
        "refused DuplicateClientOrderId",
        "amend accepted by the book: true",
        "amend accepted by the book: false",
    ] {
        assert!(
            exchange.tally.get(what).copied().unwrap_or(0) > 0,
            "the soak never reached {what}"
        );
    }
    let trades =
        exchange.markets.values().map(|market| market.engine.snapshot().last_trade_id).sum::<u64>();
    assert!(trades > 10_000, "the mix should trade a lot, traded {trades}");
    let fees: i128 = exchange
        .shards
        .iter()
        .map(|shard| shard.system_balance(SystemAccount::Fees, asset("USDT")).available)
        .sum();
    assert!(fees > 0);
}

#[test]
fn cancel_fill_race() {
    let mut exchange = Exchange::new(0xc0ffee);
    let symbol = SymbolCode::new("BTCUSDT").expect("symbol");
    // Makers on shard 0 (even ids), takers on shard 1 (odd ids): every trade crosses shards.
    let funds = [("USDT", 1_000_000_000_000_000), ("BTC", 1_000_000_000_000)];
    for account in 1..=20 {
        exchange.open_funded(AccountId(account), &funds);
    }
    let mut resting = Vec::new();
    for index in 0..RACE_ORDERS {
        let maker = AccountId(2 + 2 * (index as u64 % 10));
        let request = PlaceRequest {
            symbol,
            account_id: maker,
            client_order_id: ClientOrderId::NONE,
            side: Side::Sell,
            order_type: OrderType::Limit,
            time_in_force: TimeInForce::Gtc,
            price: Some(Price(3_000_000 + index as i64)),
            quantity: OrderQuantity::Base(Qty(100 + index as u64)),
            self_trade_prevention: SelfTradePrevention::None,
            reduce_only: false,
            ts_ns: 0,
        };
        let order_id = exchange.place(request).expect("funded");
        resting.push(*exchange.shards[0].order(order_id).expect("placed"));
    }
    exchange.entries.clear();
    exchange.keep_entries = true;
    enum Hit {
        Cancel(OrderRecord),
        Cross(OrderRecord),
    }
    let mut hits: Vec<Hit> =
        resting.iter().flat_map(|order| [Hit::Cancel(*order), Hit::Cross(*order)]).collect();
    hits.shuffle(&mut exchange.rng);
    for hit in hits {
        match hit {
            Hit::Cancel(order) => {
                exchange.cancel(symbol, order.account_id, order.order_id);
            }
            Hit::Cross(order) => {
                let taker = AccountId(1 + 2 * (order.order_id.0 % 10));
                let request = PlaceRequest {
                    account_id: taker,
                    side: Side::Buy,
                    time_in_force: TimeInForce::Ioc,
                    ..PlaceRequest { ts_ns: exchange.ts_ns, ..race_request(symbol, &order) }
                };
                exchange.place(request).expect("funded taker");
            }
        }
    }
    exchange.check();
    for order in &resting {
        let now = exchange.shards[0].order(order.order_id).expect("recent");
        assert!(
            matches!(now.status, OrderStatus::Filled | OrderStatus::Canceled),
            "{:?} ended {:?}",
            order.order_id,
            now.status
        );
        assert_eq!(now.hold_remaining, 0);
        let mine = |entry: &&LedgerEntry| entry.order_id == Some(order.order_id);
        let releases: Vec<_> =
            exchange.entries.iter().filter(mine).filter(|e| e.kind == EntryKind::Release).collect();
        let spent: i128 = exchange
            .entries
            .iter()
            .filter(mine)
            .filter(|e| e.kind == EntryKind::TradeSettle && e.asset == order.hold_asset)
            .map(|e| e.amount)
            .sum();
        let released: i128 = releases.iter().map(|e| e.amount).sum();
        assert!(releases.len() <= 1, "{:?} released {} times", order.order_id, releases.len());
        assert_eq!(
            spent + released,
            order.hold_remaining,
            "{:?}: spent + released = held",
            order.order_id
        );
        assert_eq!(releases.is_empty(), now.status == OrderStatus::Filled);
    }
}

fn race_request(symbol: SymbolCode, order: &OrderRecord) -> PlaceRequest {
    PlaceRequest {
        symbol,
        account_id: order.account_id,
        client_order_id: ClientOrderId::NONE,
        side: order.side,
        order_type: OrderType::Limit,
        time_in_force: TimeInForce::Gtc,
        price: order.price,
        quantity: order.quantity,
        self_trade_prevention: SelfTradePrevention::None,
        reduce_only: false,
        ts_ns: 0,
    }
}
