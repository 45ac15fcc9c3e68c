//! The running trading core: store, bus, the books under their supervisor, and the account
//! shards, started in that order (books first, so shards can catch up and forward at once).

use std::collections::BTreeMap;
use std::sync::Arc;

use actix::Addr;
use anyhow::Context as _;
use exchange_actors::account::MarketSpec;
use exchange_actors::account::actor::{AccountShard, ShardPorts};
use exchange_actors::book::actor::{BookPorts, BookSettings};
use exchange_actors::model::{AccountId, SymbolCode};
use exchange_actors::ports::{Clock, SystemClock};
use exchange_actors::supervisor::{
    BookDirectory, BookSpec, ShardDirectory, ShardSupervisor, Supervisor, SupervisorSettings,
};

use crate::bus::InProcessBus;
use crate::config::{Config, Market};
use crate::store::Store;

#[derive(Debug)]
pub struct ExchangeSystem {
    pub store: Store,
    pub bus: Arc<InProcessBus>,
    pub directory: Arc<BookDirectory>,
    pub supervisor: Addr<Supervisor>,
    pub shard_supervisor: Addr<ShardSupervisor>,
    pub shards: Arc<ShardDirectory>,
    pub markets: BTreeMap<SymbolCode, Market>,
}

impl ExchangeSystem {
    /// Connects to `database_url`, migrates, and starts every actor from the journal.
    pub async fn start(config: &Config, database_url: &str) -> anyhow::Result<ExchangeSystem> {
        let store = Store::connect(database_url)
            .await
            .with_context(|| format!("connecting to {}", redact(database_url)))?;
        store.migrate().await.context("running migrations")?;
        Self::start_on(config, store).await
    }

    /// Starts the actors on an already migrated store.
    pub async fn start_on(config: &Config, store: Store) -> anyhow::Result<ExchangeSystem> {
        let markets: BTreeMap<SymbolCode, Market> =
            config.markets()?.into_iter().map(|market| (market.ledger.symbol, market)).collect();
        let bus = InProcessBus::new();
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let directory = BookDirectory::new();
        let book_ports =
            BookPorts { journal: Arc::new(store.clone()), bus: bus.clone(), clock: clock.clone() };
        let specs = markets
            .values()
            .map(|market| BookSpec {
                symbol: market.spec.symbol.clone(),
                limits: market.limits,
                settings: BookSettings::default(),
            })
            .collect();
        let supervisor =
            Supervisor::start(specs, book_ports, directory.clone(), SupervisorSettings::default())
                .await
                .context("starting the books")?;
        let ledger_markets: BTreeMap<SymbolCode, MarketSpec> =
            markets.iter().map(|(symbol, market)| (*symbol, market.ledger)).collect();
        let shard_ports = ShardPorts {
            journal: Arc::new(store.clone()),
            bus: bus.clone(),
            clock,
            directory: directory.clone(),
        };
        let shard_count = config.accounts.shards;
        let (shard_supervisor, shards) = ShardSupervisor::start(
            shard_count,
            ledger_markets,
            shard_ports,
            SupervisorSettings::default(),
        )
        .await
        .with_context(|| format!("starting {shard_count} account shards"))?;
        Ok(ExchangeSystem { store, bus, directory, supervisor, shard_supervisor, shards, markets })
    }

    /// The shard that owns `account`.
    pub fn shard(&self, account: AccountId) -> Addr<AccountShard> {
        self.shards.shard(account)
    }
}

/// A database URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.split_once(':') {
                Some((user, _password)) => {
                    format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..])
                }
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}
