//! Configuration: `config/default.toml`, with each setting overridable later by environment
//! variables. Loading validates every symbol, so a bad spec stops the server at start with the
//! field and value at fault instead of refusing orders at run time.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use exchange_actors::account::actor::ShardLayout;
use exchange_actors::account::{MarketSpec, OPEN_ORDERS_PER_ACCOUNT_MAX, SHARD_COUNT_MAX};
use exchange_actors::book::{BookCapacity, BookLimits};
use exchange_actors::model::SymbolSpec;
use serde::Deserialize;

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `[server]`; absent = its defaults.
    #[serde(default)]
    pub server: ServerConfig,
    pub book: BookConfig,
    pub accounts: AccountsConfig,
    /// `[supervisor]`; absent = its defaults.
    #[serde(default)]
    pub supervisor: crate::supervision::SupervisorConfig,
    /// Asset code -> decimal places of its ledger amounts.
    pub assets: BTreeMap<String, u32>,
    pub symbols: Vec<SymbolSpec>,
    /// `[index_oracle]`; absent = its defaults.
    #[serde(default)]
    pub index_oracle: IndexOracleConfig,
    /// `[[indexes]]`: the index prices the oracle computes (none = no oracle work).
    #[serde(default)]
    pub indexes: Vec<IndexConfig>,
    /// `[perpetuals]`: mark prices and funding; absent = its defaults.
    #[serde(default)]
    pub perpetuals: crate::perpetuals::PerpetualsConfig,
}

/// How the index oracle runs; `INDEX_LEASE_TTL_MS` and `INDEX_LOCK_KEY` override.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexOracleConfig {
    pub publish_interval_ms: u64,
    pub lease_ttl_ms: u64,
    /// The Redis key of the leader lease; the fencing counter and the price channel are named
    /// after it, so processes sharing it share one index stream.
    pub lock_key: String,
}

impl Default for IndexOracleConfig {
    fn default() -> Self {
        IndexOracleConfig {
            publish_interval_ms: 250,
            lease_ttl_ms: 3_000,
            lock_key: "exchange:index-leader".to_owned(),
        }
    }
}

/// One index and its sources.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexConfig {
    pub name: String,
    /// Our spot books whose mid price is a source.
    #[serde(default)]
    pub spot_symbols: Vec<String>,
    /// Binance-style public WebSocket streams (`<symbol>@bookTicker` or `@trade`) to read.
    #[serde(default)]
    pub feed_urls: Vec<String>,
    pub staleness_ms: u64,
    pub min_sources: usize,
    pub outlier_bps: u32,
}

impl IndexConfig {
    pub fn rules(&self) -> exchange_actors::index::IndexRules {
        exchange_actors::index::IndexRules {
            staleness_ms: self.staleness_ms,
            min_sources: self.min_sources,
            outlier_bps: self.outlier_bps,
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Where the HTTP API listens; `EXCHANGE_LISTEN` overrides it.
    pub listen: String,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig { listen: crate::server::LISTEN_DEFAULT.to_owned() }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountsConfig {
    pub shards: u16,
    /// Open orders one account may have over all symbols (a market maker quoting deep books may
    /// need more than the default).
    #[serde(default = "default_open_orders_per_account_max")]
    pub open_orders_per_account_max: usize,
}

fn default_open_orders_per_account_max() -> usize {
    OPEN_ORDERS_PER_ACCOUNT_MAX
}

impl AccountsConfig {
    pub fn layout(&self) -> ShardLayout {
        ShardLayout {
            shard_count: self.shards,
            open_orders_per_account_max: self.open_orders_per_account_max,
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BookConfig {
    pub orders_max: u32,
    pub account_orders_max: u32,
    pub orders_preallocated: u32,
}

impl BookConfig {
    pub fn capacity(&self) -> BookCapacity {
        BookCapacity {
            orders_max: self.orders_max,
            account_orders_max: self.account_orders_max,
            orders_preallocated: self.orders_preallocated,
        }
    }
}

/// A market ready to open: its spec, the integer limits its book enforces, and its ledger
/// units.
#[derive(Clone, Debug)]
pub struct Market {
    pub spec: SymbolSpec,
    pub limits: BookLimits,
    pub ledger: MarketSpec,
}

impl Config {
    pub fn load(path: &Path) -> anyhow::Result<Config> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading configuration {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("parsing configuration {}", path.display()))
    }

    /// Every configured symbol, validated; the first invalid one is the error. A perpetual
    /// must mark against a configured index.
    pub fn markets(&self) -> anyhow::Result<Vec<Market>> {
        for spec in &self.symbols {
            if let Some(perpetual) = &spec.perpetual {
                anyhow::ensure!(
                    self.indexes.iter().any(|index| index.name == perpetual.index),
                    "symbol {}: index {} is not among the [[indexes]]",
                    spec.symbol,
                    perpetual.index
                );
            }
        }
        self.perpetuals.validate()?;
        self.markets_of(&self.symbols)
    }

    /// `specs` as markets under this configuration's assets and capacity, validated; the
    /// first invalid one is the error.
    pub fn markets_of(&self, specs: &[SymbolSpec]) -> anyhow::Result<Vec<Market>> {
        anyhow::ensure!(
            (1..=SHARD_COUNT_MAX).contains(&self.accounts.shards),
            "accounts.shards must be 1..={SHARD_COUNT_MAX}, got {}",
            self.accounts.shards
        );
        anyhow::ensure!(
            self.accounts.open_orders_per_account_max > 0,
            "accounts.open_orders_per_account_max must be at least 1"
        );
        let mut seen = std::collections::BTreeSet::new();
        specs
            .iter()
            .map(|spec| {
                anyhow::ensure!(
                    seen.insert(&spec.symbol),
                    "symbol {} is defined twice",
                    spec.symbol
                );
                self.market(spec)
            })
            .collect()
    }

    /// One symbol as a market: its spec checked against the book's capacity and the scales
    /// of its assets.
    pub fn market(&self, spec: &SymbolSpec) -> anyhow::Result<Market> {
        let limits = BookLimits::from_spec(spec, self.book.capacity())
            .with_context(|| format!("symbol {}", spec.symbol))?;
        let scale = |asset: &str| {
            self.assets.get(asset).copied().with_context(|| {
                format!("symbol {}: asset {asset} has no scale in [assets]", spec.symbol)
            })
        };
        let ledger = MarketSpec::new(spec, scale(&spec.base_asset)?, scale(&spec.quote_asset)?)
            .with_context(|| format!("symbol {}", spec.symbol))?;
        Ok(Market { spec: spec.clone(), limits, ledger })
    }
}
