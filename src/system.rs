//! The running trading core: store, bus, the books under their supervisor, the account
//! shards, and the history writer with market data, started in that order (books first, so
//! shards can catch up and forward at once).

use std::collections::BTreeMap;
use std::sync::Arc;

use actix::Addr;
use anyhow::Context as _;
use exchange_actors::account::MarketSpec;
use exchange_actors::account::actor::{AccountShard, ShardPorts};
use exchange_actors::book::actor::{BookPorts, BookSettings};
use exchange_actors::market::actor::{DepthReplicas, MarketData};
use exchange_actors::model::{AccountId, SymbolCode};
use exchange_actors::ports::{Clock, EventBus, SystemClock};
use exchange_actors::session::{HubSources, StreamHub, UserDataHub};
use exchange_actors::supervisor::{
    BookDirectory, BookSpec, ShardDirectory, ShardSupervisor, Supervisor,
};

use crate::api::{ApiMarkets, SharedMarkets};
use crate::bus::{AmqpBus, BusProbe, BusSettings, InProcessBus};
use crate::config::{Config, Market};
use crate::history;
use crate::listing::{ListingPorts, SymbolListing, current_specs, listed_specs};
use crate::observe::{LagSources, LedgerWatch, WatchedJournal};
use crate::store::Store;
use crate::ws::SpecRenderer;

const NANOS_PER_MILLI: u64 = 1_000_000;

#[derive(Debug)]
pub struct ExchangeSystem {
    pub store: Store,
    pub bus: Arc<dyn EventBus>,
    /// What `/ready` asks whether the bus is reachable.
    pub bus_probe: BusProbe,
    pub directory: Arc<BookDirectory>,
    pub supervisor: Addr<Supervisor>,
    pub shard_supervisor: Addr<ShardSupervisor>,
    pub shards: Arc<ShardDirectory>,
    /// The markets open at start (listed ones included), with the spec they were listed with.
    pub markets: BTreeMap<SymbolCode, Market>,
    /// The markets as clients see them now (current terms; symbols listed since start).
    pub api_markets: Arc<SharedMarkets>,
    pub listing: Arc<SymbolListing>,
    pub market_data: Addr<MarketData>,
    /// Every symbol's depth, rebuilt from the bus; REST depth reads it.
    pub depth_replicas: Addr<DepthReplicas>,
    /// The WebSocket market streams' fan-out (its own bus consumer).
    pub stream_hub: Addr<StreamHub>,
    /// The user data stream's per-account fan-out; the account shards feed it after commits.
    pub user_hub: Arc<UserDataHub>,
}

impl ExchangeSystem {
    /// Connects to `database_url`, migrates, and starts every actor from the journal, on the
    /// in-process bus.
    pub async fn start(config: &Config, database_url: &str) -> anyhow::Result<ExchangeSystem> {
        Self::start_with_bus(config, database_url, &BusSettings::InProcess).await
    }

    /// [`ExchangeSystem::start`] on the bus `bus` says.
    pub async fn start_with_bus(
        config: &Config,
        database_url: &str,
        bus: &BusSettings,
    ) -> anyhow::Result<ExchangeSystem> {
        let store = Store::connect(database_url)
            .await
            .with_context(|| format!("connecting to {}", redact(database_url)))?;
        store.migrate().await.context("running migrations")?;
        Self::start_on_with_bus(config, store, bus).await
    }

    /// Starts the actors on an already migrated store, on the in-process bus.
    pub async fn start_on(config: &Config, store: Store) -> anyhow::Result<ExchangeSystem> {
        Self::start_on_with_bus(config, store, &BusSettings::InProcess).await
    }

    /// Starts the actors on an already migrated store and the bus `bus` says. The AMQP bus's
    /// tasks run on the runtime calling this, which must outlive the system.
    pub async fn start_on_with_bus(
        config: &Config,
        store: Store,
        bus: &BusSettings,
    ) -> anyhow::Result<ExchangeSystem> {
        let specs = listed_specs(config, &store, SystemClock.now_ns() / NANOS_PER_MILLI)
            .await
            .context("listing the configured symbols")?;
        let markets: BTreeMap<SymbolCode, Market> = config
            .markets_of(&specs)?
            .into_iter()
            .map(|market| (market.ledger.symbol, market))
            .collect();
        let symbols = markets.keys().map(|symbol| symbol.to_string()).collect();
        let (bus, bus_probe) = start_bus(bus, symbols, &store).await?;
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let directory = BookDirectory::new();
        let ledger_watch = LedgerWatch::new(config.assets.clone());
        let journal: Arc<WatchedJournal<Store>> =
            Arc::new(WatchedJournal::new(store.clone(), ledger_watch.clone()));
        let book_ports =
            BookPorts { journal: journal.clone(), bus: bus.clone(), clock: clock.clone() };
        let specs = markets
            .values()
            .map(|market| BookSpec {
                symbol: market.spec.symbol.clone(),
                limits: market.limits,
                settings: BookSettings::default(),
            })
            .collect();
        let supervision = config.supervisor.settings().context("[supervisor]")?;
        let supervisor = Supervisor::start(specs, book_ports, directory.clone(), supervision)
            .await
            .context("starting the books")?;
        let ledger_markets: BTreeMap<SymbolCode, MarketSpec> =
            markets.iter().map(|(symbol, market)| (*symbol, market.ledger)).collect();
        let user_hub = UserDataHub::new();
        let shard_ports = ShardPorts {
            journal,
            bus: bus.clone(),
            clock,
            directory: directory.clone(),
            user_feed: user_hub.clone(),
        };
        let shard_count = config.accounts.shards;
        let (shard_supervisor, shards) = ShardSupervisor::start(
            config.accounts.layout(),
            ledger_markets.clone(),
            shard_ports,
            supervision,
        )
        .await
        .with_context(|| format!("starting {shard_count} account shards"))?;
        let history =
            history::start(store.clone(), bus.as_ref(), ledger_markets, event_replay_count()?)
                .await
                .context("starting the history writer")?;
        let market_data = history.market_data;
        let depth_replicas = DepthReplicas::start(bus.as_ref(), directory.clone());
        let open: Vec<Market> = markets.values().cloned().collect();
        let api_markets = SharedMarkets::new(ApiMarkets::new(
            current_specs(&open, &directory).await.context("reading the books' terms")?,
        ));
        let stream_hub = StreamHub::start(
            bus.as_ref(),
            HubSources {
                replicas: depth_replicas.clone(),
                market_data: market_data.clone(),
                clock: Arc::new(SystemClock),
                renderer: Arc::new(SpecRenderer::new(api_markets.clone())),
            },
        );
        crate::observe::start_lag_sampler(LagSources {
            books: supervisor.clone(),
            shards: shard_supervisor.clone(),
            ledger: ledger_watch,
            history: history.applied,
            depth: depth_replicas.clone(),
            streams: stream_hub.clone(),
        });
        let listing = Arc::new(SymbolListing::new(
            Arc::new(config.clone()),
            ListingPorts {
                store: store.clone(),
                books: directory.clone(),
                supervisor: supervisor.clone(),
                shard_supervisor: shard_supervisor.clone(),
                history: history.listings,
                markets: api_markets.clone(),
            },
        ));
        Ok(ExchangeSystem {
            store,
            bus,
            bus_probe,
            directory,
            supervisor,
            shard_supervisor,
            shards,
            markets,
            api_markets,
            listing,
            market_data,
            depth_replicas,
            stream_hub,
            user_hub,
        })
    }

    /// The shard that owns `account`.
    pub fn shard(&self, account: AccountId) -> Addr<AccountShard> {
        self.shards.shard(account)
    }
}

async fn start_bus(
    settings: &BusSettings,
    symbols: Vec<String>,
    store: &Store,
) -> anyhow::Result<(Arc<dyn EventBus>, BusProbe)> {
    match settings {
        BusSettings::InProcess => Ok((InProcessBus::new(), BusProbe::InProcess)),
        BusSettings::Amqp { url, exchange } => {
            let bus = AmqpBus::start(url, exchange, symbols, store.clone())
                .await
                .context("starting the AMQP bus")?;
            tracing::info!(url = %redact(url), %exchange, "events go through RabbitMQ");
            Ok((bus.clone(), BusProbe::Amqp(bus)))
        }
    }
}

/// Trades restored into memory per symbol: `EVENT_REPLAY_COUNT`, default
/// [`history::EVENT_REPLAY_COUNT_DEFAULT`], 1 to [`history::EVENT_REPLAY_COUNT_MAX`].
fn event_replay_count() -> anyhow::Result<usize> {
    let Ok(text) = std::env::var("EVENT_REPLAY_COUNT") else {
        return Ok(history::EVENT_REPLAY_COUNT_DEFAULT);
    };
    text.parse()
        .ok()
        .filter(|count| (1..=history::EVENT_REPLAY_COUNT_MAX).contains(count))
        .with_context(|| {
            let max = history::EVENT_REPLAY_COUNT_MAX;
            format!("EVENT_REPLAY_COUNT {text:?} is not a count from 1 to {max}")
        })
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
