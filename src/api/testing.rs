//! Test fixtures shared by the API's unit tests: the default configuration's markets, a clock
//! that stands still, and a state with one registered key.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use exchange_actors::model::{AccountId, SymbolSpec};
use exchange_actors::ports::Clock;
use exchange_actors::supervisor::BookDirectory;
use rust_decimal::Decimal;

use super::keys::{ApiCredential, InMemoryApiKeys};
use super::state::{ApiMarket, ApiMarkets, ApiState, SharedMarkets};
use crate::config::Config;

pub(crate) const API_KEY: &str = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A";
pub(crate) const SECRET: &[u8] =
    b"NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j";
pub(crate) const ACCOUNT: AccountId = AccountId(42);
/// 2023-11-14T22:13:20Z in ms.
pub(crate) const NOW_MS: u64 = 1_700_000_000_000;

pub(crate) fn dec(text: &str) -> Decimal {
    text.parse().expect("test decimal")
}

pub(crate) fn default_config() -> Config {
    Config::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("config/default.toml"))
        .expect("default configuration")
}

pub(crate) fn spec(symbol: &str) -> SymbolSpec {
    let config = default_config();
    config.symbols.into_iter().find(|spec| spec.symbol == symbol).expect("configured symbol")
}

pub(crate) fn btcusdt() -> SymbolSpec {
    spec("BTCUSDT")
}

/// Every configured market, with 8-decimal assets.
pub(crate) fn markets() -> ApiMarkets {
    let specs = default_config().symbols;
    ApiMarkets::new(specs.into_iter().map(|spec| ApiMarket::new(spec, 8, 8).expect("market")))
}

/// A clock that reads what the test set.
#[derive(Debug)]
pub(crate) struct FixedClock(AtomicU64);

impl FixedClock {
    pub(crate) fn at_ms(ms: u64) -> Arc<FixedClock> {
        Arc::new(FixedClock(AtomicU64::new(ms * 1_000_000)))
    }
}

impl Clock for FixedClock {
    fn now_ns(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// The default markets, no books, [`API_KEY`] of [`ACCOUNT`], the clock at [`NOW_MS`].
pub(crate) fn state_with_books(books: Arc<BookDirectory>) -> ApiState {
    let keys = InMemoryApiKeys::new();
    keys.insert(API_KEY, ApiCredential::new(ACCOUNT, SECRET)).expect("test key");
    ApiState {
        markets: SharedMarkets::new(markets()),
        books,
        keys,
        clock: FixedClock::at_ms(NOW_MS),
        open_orders_per_account_max: exchange_actors::account::OPEN_ORDERS_PER_ACCOUNT_MAX,
    }
}

pub(crate) fn state() -> ApiState {
    state_with_books(BookDirectory::new())
}

/// A BTCUSDT limit buy of [`ACCOUNT`] with id `order_id`, created at `created_ms`.
pub(crate) fn order_record(
    order_id: u64,
    created_ms: u64,
    status: exchange_actors::account::OrderStatus,
) -> exchange_actors::account::OrderRecord {
    use exchange_actors::model::{
        AssetCode, ClientOrderId, OrderId, OrderQuantity, OrderType, Price, Qty,
        SelfTradePrevention, Side, SymbolCode, TimeInForce,
    };
    exchange_actors::account::OrderRecord {
        order_id: OrderId(order_id),
        account_id: ACCOUNT,
        symbol: SymbolCode::new("BTCUSDT").expect("symbol"),
        client_order_id: ClientOrderId::NONE,
        side: Side::Buy,
        order_type: OrderType::Limit,
        time_in_force: TimeInForce::Gtc,
        self_trade_prevention: SelfTradePrevention::None,
        reduce_only: false,
        price: Some(Price(10_000)),
        quantity: OrderQuantity::Base(Qty(100)),
        executed_qty: Qty::ZERO,
        cumulative_quote: 0,
        status,
        hold_asset: AssetCode::new("USDT").expect("asset"),
        hold_remaining: 0,
        hold_subsidized: 0,
        created_ts_ns: created_ms * 1_000_000,
        updated_ts_ns: created_ms * 1_000_000,
    }
}
