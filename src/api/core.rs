//! [`TradingCore`]: what the admin and signed trading routes need beyond [`ApiState`]
//! (the account shards, the asset scales, the key registry they fill, the store that keeps keys
//! and the audit trail, the admin token).
//!
//! [`ApiState`]: super::ApiState

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use actix::Addr;
use exchange_actors::account::actor::{AccountShard, ShardError};
use exchange_actors::market::actor::MarketData;
use exchange_actors::model::AccountId;
use exchange_actors::supervisor::{BookDirectory, ShardDirectory};

use super::errors::ApiError;
use super::keys::InMemoryApiKeys;
use super::rate_limit::SymbolOrderLimits;
use crate::control::{SwitchBoard, Switches};
use crate::store::Store;

/// Shared by the admin and trading routes (`web::Data<TradingCore>`).
pub struct TradingCore {
    pub shards: Arc<ShardDirectory>,
    pub books: Arc<BookDirectory>,
    /// Decimal places of each asset's minor unit (`[assets]` of the configuration).
    pub asset_scales: BTreeMap<String, u32>,
    pub keys: Arc<InMemoryApiKeys>,
    /// Where API keys and the admin audit trail are kept, and the journal's `orders` table for
    /// history the shards no longer hold in memory.
    pub store: Store,
    /// The kill switches the gateway checks every new order and cancel against.
    pub switches: Arc<SwitchBoard>,
    /// Where the last trade price comes from for price protection (`None`: no protection).
    pub market_data: Option<Addr<MarketData>>,
    /// The switches' per-symbol order-rate overrides.
    pub symbol_limits: SymbolOrderLimits,
    admin_token: String,
    next_account: AtomicU64,
}

impl TradingCore {
    /// `next_account` is the first account id never used (max in the database + 1).
    pub fn new(
        shards: Arc<ShardDirectory>,
        books: Arc<BookDirectory>,
        asset_scales: BTreeMap<String, u32>,
        keys: Arc<InMemoryApiKeys>,
        store: Store,
        admin_token: String,
        next_account: u64,
    ) -> TradingCore {
        TradingCore {
            shards,
            books,
            asset_scales,
            keys,
            switches: Arc::new(SwitchBoard::new(store.clone(), Switches::default())),
            market_data: None,
            symbol_limits: SymbolOrderLimits::default(),
            store,
            admin_token,
            next_account: AtomicU64::new(next_account),
        }
    }

    /// The core with the running exchange's switches and its market data (for price
    /// protection's last trade price).
    pub fn with_controls(
        self,
        switches: Arc<SwitchBoard>,
        market_data: Addr<MarketData>,
    ) -> TradingCore {
        TradingCore { switches, market_data: Some(market_data), ..self }
    }

    /// The shard that owns `account` (as [`crate::system::ExchangeSystem::shard`]).
    pub fn shard(&self, account: AccountId) -> Addr<AccountShard> {
        self.shards.shard(account)
    }

    /// Brings the `orders` and `ledger_entries` rows of `account`'s shard up to its last
    /// commit (the projector trails commits by a bounded lag), so a read of those tables that
    /// follows sees every acknowledged change; usually there is nothing to project.
    pub async fn project_shard_of(&self, account: AccountId) -> Result<(), ApiError> {
        let index = exchange_actors::account::shard_of(account, self.shards.len());
        let index = u16::try_from(index).map_err(|_| ApiError::internal("shard index"))?;
        self.store.finish_projection(index).await.map(drop).map_err(|error| store_error(&error))
    }

    /// A fresh account id, never handed out before in this process.
    pub fn allocate_account(&self) -> AccountId {
        AccountId(self.next_account.fetch_add(1, Ordering::Relaxed))
    }

    /// Whether `token` is the admin token, compared in constant time.
    pub fn is_admin(&self, token: &[u8]) -> bool {
        tokens_equal(token, self.admin_token.as_bytes())
    }
}

/// Whether two secrets are equal, in time independent of where they differ.
pub fn tokens_equal(given: &[u8], expected: &[u8]) -> bool {
    given.len() == expected.len()
        && given.iter().zip(expected).fold(0_u8, |diff, (a, b)| diff | (a ^ b)) == 0
}

impl fmt::Debug for TradingCore {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("TradingCore")
            .field("shards", &self.shards.len())
            .finish_non_exhaustive()
    }
}

/// A shard's answer as the client sees it.
pub fn shard_error(error: ShardError) -> ApiError {
    match error {
        ShardError::Rejected(reject) => reject.into(),
        ShardError::Book(error) => error.into(),
        ShardError::NoBook(_) => ApiError::invalid_symbol(),
        // The shard's commit failed: it may have happened all the same.
        ShardError::JournalFailed(_) => ApiError::status_unknown(),
        ShardError::Stopping => {
            ApiError::internal("Internal error; unable to process your request. Please try again.")
        }
        ShardError::TooManyOrders { .. } => ApiError::internal(error.to_string()),
    }
}

/// An actor that did not answer (stopped or its mailbox closed).
pub fn mailbox_error(error: &actix::MailboxError) -> ApiError {
    ApiError::internal(format!("Internal error; the exchange is unavailable: {error}"))
}

/// The journal could not be read: the exchange's failure, never the client's.
pub fn store_error(error: &exchange_actors::ports::JournalError) -> ApiError {
    tracing::warn!(%error, "history read failed");
    ApiError::internal("Internal error; unable to process your request. Please try again.")
}
