//! The index oracle as the server runs it: the lease and price channel (Redis when `REDIS_URL`
//! is set, in-process otherwise), the `IndexOracle` actor, its sources (spot books, the
//! external feeds, pushed prices through `POST /internal/index/prices`), and the
//! [`IndexBoard`] every consumer reads.

mod binance_feed;
mod board;
mod in_process;
mod redis;
mod settings;
pub(crate) mod spot_source;

use std::collections::BTreeMap;
use std::sync::Arc;

use actix::{Actor as _, Addr};
use exchange_actors::index::{IndexOracle, IndexOracleSettings};
use exchange_actors::market::actor::DepthReplicas;
use exchange_actors::model::SymbolSpec;
use exchange_actors::ports::{IndexFeed, LeaderLock, SystemClock};

pub use board::{BoardEntry, IndexBoard};
pub use in_process::{InProcessIndexFeed, InProcessLock};
pub use redis::{RedisIndexFeed, RedisLeaderLock, redis_pool};
pub use settings::IndexSettings;

/// Milliseconds since the Unix epoch, as prices are stamped.
pub fn wall_clock_ms() -> u64 {
    let since_epoch =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    u64::try_from(since_epoch.as_millis()).unwrap_or(u64::MAX)
}

/// The running oracle and what the routes need of it.
#[derive(Debug)]
pub struct IndexService {
    pub oracle: Addr<IndexOracle>,
    pub board: Arc<IndexBoard>,
    pub settings: IndexSettings,
    pub lock_probe: LockProbe,
}

/// Whether the leader lock can be reached, for `/ready`.
#[derive(Clone)]
pub enum LockProbe {
    InProcess,
    Redis(deadpool_redis::Pool),
}

impl std::fmt::Debug for LockProbe {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(match self {
            LockProbe::InProcess => "LockProbe::InProcess",
            LockProbe::Redis(_) => "LockProbe::Redis",
        })
    }
}

impl LockProbe {
    pub async fn check(&self, timeout: std::time::Duration) -> Result<(), String> {
        match self {
            LockProbe::InProcess => Ok(()),
            LockProbe::Redis(pool) => redis::ping(pool, timeout).await,
        }
    }
}

impl IndexService {
    /// Starts the oracle over `system`'s spot books (on the current actix system).
    pub fn start_on(
        settings: IndexSettings,
        system: &crate::system::ExchangeSystem,
    ) -> anyhow::Result<IndexService> {
        let specs = system
            .markets
            .values()
            .map(|market| (market.spec.symbol.clone(), market.spec.clone()))
            .collect();
        Self::start(settings, &specs, system.depth_replicas.clone())
    }

    /// Starts the oracle on the current actix system. `specs` are the open spot symbols by
    /// name; `replicas` give their mid prices.
    pub fn start(
        settings: IndexSettings,
        specs: &BTreeMap<String, SymbolSpec>,
        replicas: Addr<DepthReplicas>,
    ) -> anyhow::Result<IndexService> {
        let (lock, feed, lock_probe): (Arc<dyn LeaderLock>, Arc<dyn IndexFeed>, LockProbe) =
            match &settings.redis_url {
                Some(url) => {
                    let pool = redis_pool(url)?;
                    let probe = LockProbe::Redis(pool.clone());
                    let lock = RedisLeaderLock::new(
                        pool.clone(),
                        settings.lock_key.clone(),
                        settings.epoch_key(),
                    );
                    (lock, RedisIndexFeed::start(url, pool, settings.price_channel()), probe)
                }
                None => (InProcessLock::new(), InProcessIndexFeed::new(), LockProbe::InProcess),
            };
        let staleness =
            settings.indexes.iter().map(|index| (index.name.clone(), index.staleness_ms)).collect();
        let board = IndexBoard::start(feed.as_ref(), staleness);
        let oracle_settings = IndexOracleSettings {
            publish_interval: settings.publish_interval,
            lease_ttl_ms: settings.lease_ttl_ms,
            holder: holder_name(),
        };
        tracing::info!(holder = %oracle_settings.holder, redis = settings.redis_url.is_some(), "index oracle starting");
        let oracle =
            IndexOracle::new(oracle_settings, settings.rules(), lock, feed, Arc::new(SystemClock))
                .start();
        spot_source::start_spot_sources(
            spot_source::spot_sources(&settings.indexes, specs),
            replicas,
            oracle.clone(),
            settings.publish_interval,
        );
        for index in &settings.indexes {
            for url in &index.feed_urls {
                binance_feed::start_feed(index.name.clone(), url.clone(), oracle.clone());
            }
        }
        Ok(IndexService { oracle, board, settings, lock_probe })
    }
}

/// This process at the lock: host, pid and a random part (a restarted process with a reused
/// pid must not pass for its predecessor).
fn holder_name() -> String {
    use rand::Rng as _;
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "host".to_owned());
    let nonce: u32 = rand::thread_rng().r#gen();
    format!("{host}-{}-{nonce:08x}", std::process::id())
}
