//! [`SymbolListing`]: lists a symbol while the exchange runs and changes a listed symbol's
//! filters and fees (`POST /admin/symbols`, `PUT /admin/symbols/{symbol}`).
//!
//! Listing goes outside in, so nothing can see the symbol before what it needs exists: the
//! `symbols` row first (a restart opens it from there), then the account shards, the history
//! writer, the book, and last the API's markets, which is when clients can trade it.
//!
//! A change goes to the book as a journaled `SetTerms` command (a replay applies it at the
//! same input), and the API shows it once the book has journaled it. The symbol's tick size,
//! step size, assets and price range never change: resting orders and ledger units depend on
//! them.

use std::sync::Arc;

use actix::Addr;
use exchange_actors::book::actor::{BookSettings, GetTerms, SubmitCommands};
use exchange_actors::model::{BookCommand, MarketTerms, SymbolSpec};
use exchange_actors::supervisor::{
    AddBook, AddShardMarket, BookDirectory, BookSpec, ShardSupervisor, Supervisor,
};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::api::{ApiMarket, SharedMarkets};
use crate::config::{Config, Market};
use crate::store::Store;

/// Why a listing or change was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum ListingError {
    /// The request itself is wrong (the client's error).
    #[error("{0}")]
    Invalid(String),
    #[error("symbol {0} is listed already")]
    Listed(String),
    #[error("symbol {0} is not listed")]
    Unknown(String),
    /// The exchange failed (the store, an actor); nothing the client can fix.
    #[error("{0}")]
    Failed(String),
}

/// The terms an operator may change on a listed symbol (decimal strings; `priceBandBps` an
/// integer); absent fields stay as they are.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TermsChange {
    #[schema(value_type = Option<String>)]
    pub min_qty: Option<Decimal>,
    #[schema(value_type = Option<String>)]
    pub max_qty: Option<Decimal>,
    #[schema(value_type = Option<String>)]
    pub min_notional: Option<Decimal>,
    #[schema(value_type = Option<String>)]
    pub max_notional: Option<Decimal>,
    pub price_band_bps: Option<u32>,
    #[schema(value_type = Option<String>)]
    pub maker_fee_rate: Option<Decimal>,
    #[schema(value_type = Option<String>)]
    pub taker_fee_rate: Option<Decimal>,
    #[schema(value_type = Option<String>)]
    pub maker_fee_floor: Option<Decimal>,
}

impl TermsChange {
    /// `spec` with this change applied (not yet validated).
    pub fn apply_to(&self, spec: &SymbolSpec) -> SymbolSpec {
        let mut changed = spec.clone();
        let fields = [
            (&mut changed.min_qty, self.min_qty),
            (&mut changed.max_qty, self.max_qty),
            (&mut changed.min_notional, self.min_notional),
            (&mut changed.max_notional, self.max_notional),
            (&mut changed.maker_fee_rate, self.maker_fee_rate),
            (&mut changed.taker_fee_rate, self.taker_fee_rate),
            (&mut changed.maker_fee_floor, self.maker_fee_floor),
        ];
        for (field, value) in fields {
            if let Some(value) = value {
                *field = value;
            }
        }
        if let Some(bps) = self.price_band_bps {
            changed.price_band_bps = bps;
        }
        changed
    }
}

pub struct SymbolListing {
    config: Arc<Config>,
    store: Store,
    books: Arc<BookDirectory>,
    supervisor: Addr<Supervisor>,
    shard_supervisor: Addr<ShardSupervisor>,
    history: mpsc::UnboundedSender<exchange_actors::account::MarketSpec>,
    markets: Arc<SharedMarkets>,
    /// One listing or change at a time: two changes of one symbol must reach its book in the
    /// order the API shows them.
    serial: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for SymbolListing {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("SymbolListing").finish_non_exhaustive()
    }
}

/// What a listing needs from the running system.
#[derive(Debug)]
pub struct ListingPorts {
    pub store: Store,
    pub books: Arc<BookDirectory>,
    pub supervisor: Addr<Supervisor>,
    pub shard_supervisor: Addr<ShardSupervisor>,
    pub history: mpsc::UnboundedSender<exchange_actors::account::MarketSpec>,
    pub markets: Arc<SharedMarkets>,
}

impl SymbolListing {
    pub fn new(config: Arc<Config>, ports: ListingPorts) -> SymbolListing {
        SymbolListing {
            config,
            store: ports.store,
            books: ports.books,
            supervisor: ports.supervisor,
            shard_supervisor: ports.shard_supervisor,
            history: ports.history,
            markets: ports.markets,
            serial: tokio::sync::Mutex::new(()),
        }
    }

    /// Lists `spec` and opens its book; answers the market as clients now see it.
    pub async fn list(&self, spec: SymbolSpec, now_ms: u64) -> Result<ApiMarket, ListingError> {
        let _serial = self.serial.lock().await;
        let market: Market = self
            .config
            .market(&spec)
            .map_err(|error| ListingError::Invalid(format!("{error:#}")))?;
        if self.markets.load().get(&spec.symbol).is_some() {
            return Err(ListingError::Listed(spec.symbol));
        }
        let inserted = self.store.insert_symbol(&spec, now_ms).await.map_err(failed)?;
        if !inserted {
            // Listed with this very spec by an attempt that failed half way: finish it.
            let stored = self.store.load_symbols().await.map_err(failed)?;
            if !stored.contains(&spec) {
                return Err(ListingError::Listed(spec.symbol));
            }
        }
        self.open(&market).await?;
        Ok(api_market(&market))
    }

    /// Opens a stored symbol everywhere; each step is idempotent, so a retry after a failure
    /// half way finishes the listing.
    async fn open(&self, market: &Market) -> Result<(), ListingError> {
        self.shard_supervisor.send(AddShardMarket(market.ledger)).await.map_err(failed)?;
        self.history.send(market.ledger).map_err(|_| failed("the history writer stopped"))?;
        let book = BookSpec {
            symbol: market.spec.symbol.clone(),
            limits: market.limits,
            settings: BookSettings::default(),
        };
        self.supervisor.send(AddBook(book)).await.map_err(failed)?.map_err(failed)?;
        self.markets.put(api_market(market));
        Ok(())
    }

    /// Changes the filters and fees of `symbol`; answers the market as clients now see it.
    pub async fn change(
        &self,
        symbol: &str,
        change: &TermsChange,
    ) -> Result<ApiMarket, ListingError> {
        let _serial = self.serial.lock().await;
        let current = self
            .markets
            .load()
            .get(symbol)
            .cloned()
            .ok_or_else(|| ListingError::Unknown(symbol.to_owned()))?;
        let changed = change.apply_to(&current.spec);
        let market = self
            .config
            .market(&changed)
            .map_err(|error| ListingError::Invalid(format!("{error:#}")))?;
        let book = self.books.book(symbol).ok_or_else(|| ListingError::Unknown(symbol.into()))?;
        let command = BookCommand::SetTerms(market.limits.terms);
        let outcomes =
            book.send(SubmitCommands(vec![command])).await.map_err(failed)?.map_err(failed)?;
        let outcome = outcomes.first().ok_or_else(|| failed("the book answered nothing"))?;
        outcome.result.map_err(|reason| ListingError::Invalid(reason.to_string()))?;
        let api_market = api_market(&market);
        self.markets.put(api_market.clone());
        Ok(api_market)
    }
}

fn api_market(market: &Market) -> ApiMarket {
    ApiMarket { spec: market.spec.clone(), ledger: market.ledger }
}

fn failed(error: impl std::fmt::Display) -> ListingError {
    ListingError::Failed(error.to_string())
}

/// Every listed symbol's spec, listing the configured symbols not listed yet first. A
/// configured symbol that is listed already keeps its stored spec (its later changes are in
/// the journal); a difference is logged, since editing the file changes nothing for it.
pub async fn listed_specs(
    config: &Config,
    store: &Store,
    now_ms: u64,
) -> anyhow::Result<Vec<SymbolSpec>> {
    for spec in &config.symbols {
        store.insert_symbol(spec, now_ms).await?;
    }
    let listed = store.load_symbols().await?;
    for spec in &config.symbols {
        if listed.iter().any(|stored| stored.symbol == spec.symbol && stored != spec) {
            tracing::warn!(
                symbol = %spec.symbol,
                "[[symbols]] differs from the listed spec; it is ignored (use PUT /admin/symbols)"
            );
        }
    }
    Ok(listed)
}

/// The specs clients see: each book's current terms over the spec it was listed with.
pub async fn current_specs(
    markets: &[Market],
    books: &BookDirectory,
) -> anyhow::Result<Vec<ApiMarket>> {
    let mut current = Vec::with_capacity(markets.len());
    for market in markets {
        let symbol = &market.spec.symbol;
        let book = books.book(symbol).ok_or_else(|| anyhow::anyhow!("no book for {symbol}"))?;
        let terms: MarketTerms = book.send(GetTerms).await?;
        let spec = market.spec.with_terms(&terms);
        current.push(ApiMarket { spec, ledger: market.ledger });
    }
    Ok(current)
}
