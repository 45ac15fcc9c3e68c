//! What the routes share: [`ApiState`] (the markets, where the books live, the API keys and
//! the clock) and [`ApiMarket`], a symbol as the API presents it.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use arc_swap::ArcSwap;
use exchange_actors::account::{MarketSpec, MarketSpecError};
use exchange_actors::model::{SymbolCode, SymbolSpec};
use exchange_actors::ports::Clock;
use exchange_actors::supervisor::BookDirectory;

use super::keys::ApiKeyRegistry;

const NANOS_PER_MILLI: u64 = 1_000_000;

/// One tradable symbol: its spec (decimals, filters) and its ledger units, which give the
/// assets' precision (decimal places of their minor units).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiMarket {
    pub spec: SymbolSpec,
    pub ledger: MarketSpec,
}

impl ApiMarket {
    /// Checks that `spec` is tradable with assets of these scales (as the account shards do).
    pub fn new(
        spec: SymbolSpec,
        base_precision: u32,
        quote_precision: u32,
    ) -> Result<ApiMarket, MarketSpecError> {
        let ledger = MarketSpec::new(&spec, base_precision, quote_precision)?;
        Ok(ApiMarket { spec, ledger })
    }

    pub fn symbol(&self) -> SymbolCode {
        self.ledger.symbol
    }

    pub fn base_precision(&self) -> u32 {
        self.ledger.base_scale
    }

    pub fn quote_precision(&self) -> u32 {
        self.ledger.quote_scale
    }
}

/// The markets by symbol, in symbol order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ApiMarkets {
    by_symbol: BTreeMap<String, ApiMarket>,
}

impl ApiMarkets {
    /// A later market of the same symbol replaces an earlier one (config loading refuses
    /// duplicates before this).
    pub fn new(markets: impl IntoIterator<Item = ApiMarket>) -> ApiMarkets {
        let by_symbol =
            markets.into_iter().map(|market| (market.spec.symbol.clone(), market)).collect();
        ApiMarkets { by_symbol }
    }

    pub fn get(&self, symbol: &str) -> Option<&ApiMarket> {
        self.by_symbol.get(symbol)
    }

    pub fn iter(&self) -> impl Iterator<Item = &ApiMarket> {
        self.by_symbol.values()
    }

    /// These markets with `market` added, or replacing the one of its symbol.
    pub fn with(&self, market: ApiMarket) -> ApiMarkets {
        let mut by_symbol = self.by_symbol.clone();
        by_symbol.insert(market.spec.symbol.clone(), market);
        ApiMarkets { by_symbol }
    }
}

/// The markets as every route sees them, swapped whole when an operator lists a symbol or
/// changes one (`/admin/symbols`). A route takes one [`SharedMarkets::load`] and works on that
/// version throughout, so it never mixes two.
#[derive(Debug, Default)]
pub struct SharedMarkets {
    current: ArcSwap<ApiMarkets>,
}

impl SharedMarkets {
    pub fn new(markets: ApiMarkets) -> Arc<SharedMarkets> {
        Arc::new(SharedMarkets { current: ArcSwap::from_pointee(markets) })
    }

    pub fn load(&self) -> Arc<ApiMarkets> {
        self.current.load_full()
    }

    /// Adds `market`, or replaces the one of its symbol.
    pub fn put(&self, market: ApiMarket) {
        self.current.rcu(|markets| markets.with(market.clone()));
    }
}

/// Everything a route needs, shared by every worker (`web::Data<ApiState>`).
#[derive(Clone)]
pub struct ApiState {
    pub markets: Arc<SharedMarkets>,
    pub books: Arc<BookDirectory>,
    pub keys: Arc<dyn ApiKeyRegistry>,
    pub clock: Arc<dyn Clock>,
    /// The shards' open-orders limit per account (`accounts.open_orders_per_account_max`).
    pub open_orders_per_account_max: usize,
}

impl ApiState {
    /// The current markets (one version for the whole request).
    pub fn markets(&self) -> Arc<ApiMarkets> {
        self.markets.load()
    }

    /// Server time in milliseconds (Binance's unit).
    pub fn now_ms(&self) -> u64 {
        self.clock.now_ns() / NANOS_PER_MILLI
    }
}

impl fmt::Debug for ApiState {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("ApiState")
            .field("markets", &self.markets)
            .field("books", &self.books)
            .finish_non_exhaustive()
    }
}
