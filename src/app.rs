//! [`HttpApp`]: the HTTP application as `exchange serve` runs it and in-process tests drive
//! it (`actix_web::test`), assembled in one place so both see the same routes and app data:
//! the public, signed, admin, internal index and `/metrics` routes, the WebSocket market streams and API, over a running [`ExchangeSystem`], and
//! their reference (`/openapi.json`, `/docs`).
//!
//! API keys are stored in the database and loaded into the in-memory registry here, at start.

use std::sync::Arc;

use actix::{Actor as _, Addr};
use actix_web::web;
use anyhow::Context as _;
use exchange_actors::market::actor::DepthReplicas;
use exchange_actors::model::AccountId;
use exchange_actors::ports::{Clock, SystemClock};
use exchange_actors::session::{StreamHub, UserDataHub};
use sea_orm::{ConnectionTrait, Statement};

use crate::api::health::{Readiness, health, ready};
use crate::api::metrics::{MetricsEndpoint, metrics_text};
use crate::api::openapi::configure_reference;
use crate::api::rate_limit::{RateLimitSettings, RateLimiter};
use crate::api::{
    ApiCredential, ApiState, DeadManSwitch, InMemoryApiKeys, MarketView, TradingCore,
    configure_admin, configure_internal_index, configure_market_data, configure_public,
    configure_trading,
};
use crate::config::Config;
use crate::control::{ReconcileSettings, Reconciler, SwitchBoard};
use crate::index::IndexService;
use crate::listing::SymbolListing;
use crate::system::ExchangeSystem;
use crate::ws::api::configure_ws_api;
use crate::ws::configure_streams;

/// Everything the routes share; cloning shares it (each server worker holds a clone).
#[derive(Clone, Debug)]
pub struct HttpApp {
    state: web::Data<ApiState>,
    core: web::Data<TradingCore>,
    view: web::Data<MarketView>,
    metrics: web::Data<MetricsEndpoint>,
    readiness: web::Data<Readiness>,
    listing: web::Data<SymbolListing>,
    depth_replicas: web::Data<Addr<DepthReplicas>>,
    stream_hub: web::Data<Addr<StreamHub>>,
    user_hub: web::Data<UserDataHub>,
    /// The dead man's switch (one actor for every worker: the countdowns are per account).
    dead_man: web::Data<Addr<DeadManSwitch>>,
    /// The index oracle's internal routes, when it runs.
    index: Option<web::Data<IndexService>>,
    /// Reconciliation on demand (`GET /admin/reconcile`) and, once started, periodically.
    reconciler: web::Data<Reconciler>,
    /// The request-weight and order limits ([`limit_requests`](crate::api::rate_limit)).
    rate_limiter: web::Data<RateLimiter>,
    /// Whether `POST /admin/faults/stall-book` is served (never in the production profile).
    #[cfg(feature = "fault-injection")]
    faults_allowed: bool,
}

impl HttpApp {
    /// The application over `system`, with its stored API keys loaded.
    pub async fn new(
        config: &Config,
        system: &ExchangeSystem,
        admin_token: String,
        metrics: MetricsEndpoint,
    ) -> anyhow::Result<HttpApp> {
        let keys = load_api_keys(system).await?;
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let state = web::Data::new(ApiState {
            markets: system.api_markets.clone(),
            books: system.directory.clone(),
            keys: keys.clone(),
            clock,
            open_orders_per_account_max: config.accounts.open_orders_per_account_max,
        });
        let switches = SwitchBoard::load(system.store.clone()).await.context("loading switches")?;
        let core = web::Data::new(
            TradingCore::new(
                system.shards.clone(),
                system.directory.clone(),
                config.assets.clone(),
                keys,
                system.store.clone(),
                admin_token,
                next_account_id(system).await?,
            )
            .with_controls(Arc::new(switches), system.market_data.clone()),
        );
        let view = web::Data::new(MarketView {
            market_data: system.market_data.clone(),
            store: system.store.clone(),
        });
        let listing = web::Data::from(system.listing.clone());
        let depth_replicas = web::Data::new(system.depth_replicas.clone());
        let stream_hub = web::Data::new(system.stream_hub.clone());
        let user_hub = web::Data::from(system.user_hub.clone());
        let metrics = web::Data::new(metrics);
        let readiness =
            web::Data::new(Readiness::new(system.store.clone(), system.bus_probe.clone()));
        let dead_man = web::Data::new(DeadManSwitch::new(state.clone(), core.clone()).start());
        let reconciler = web::Data::new(Reconciler::new(
            system.store.clone(),
            system.shards.clone(),
            core.switches.clone(),
            false,
        ));
        Ok(HttpApp {
            state,
            core,
            view,
            metrics,
            readiness,
            listing,
            depth_replicas,
            stream_hub,
            user_hub,
            dead_man,
            index: None,
            reconciler,
            rate_limiter: web::Data::new(RateLimiter::new(RateLimitSettings::default())),
            #[cfg(feature = "fault-injection")]
            faults_allowed: false,
        })
    }

    /// Mounts the index oracle's internal routes over `index` and checks its lock in `/ready`
    /// (before serving).
    pub fn set_index(&mut self, index: IndexService) {
        let readiness = self.readiness.as_ref().clone().with_lock(index.lock_probe.clone());
        self.readiness = web::Data::new(readiness);
        self.index = Some(web::Data::new(index));
    }

    /// Limits requests as `settings` say (before serving: workers share the limiter).
    pub fn set_rate_limits(&mut self, settings: RateLimitSettings) {
        self.rate_limiter = web::Data::new(RateLimiter::new(settings));
    }

    /// Reconciles every `settings.period_ms` from now on, pausing new orders on an anomaly
    /// when `settings.auto_cancel_only`; call before serving (workers share this reconciler).
    pub fn start_reconciliation(&mut self, settings: ReconcileSettings) {
        let core = &self.core;
        let reconciler = Reconciler::new(
            core.store.clone(),
            core.shards.clone(),
            core.switches.clone(),
            settings.auto_cancel_only,
        );
        self.reconciler = web::Data::new(reconciler);
        let period = std::time::Duration::from_millis(settings.period_ms);
        self.reconciler.clone().into_inner().spawn_periodic(period);
    }

    /// Serves the chaos runner's fault route (outside the production profile only).
    #[cfg(feature = "fault-injection")]
    pub fn allow_faults(&mut self) {
        self.faults_allowed = true;
    }

    /// Mounts every route with its app data: `App::new().configure(|c| app.configure(c))`.
    pub fn configure(&self, config: &mut web::ServiceConfig) {
        config
            .app_data(self.core.clone())
            .app_data(web::Data::from(self.core.switches.clone()))
            .app_data(self.metrics.clone())
            .app_data(self.readiness.clone())
            .app_data(self.listing.clone())
            .app_data(self.depth_replicas.clone())
            .app_data(self.stream_hub.clone())
            .app_data(self.user_hub.clone())
            .app_data(self.dead_man.clone())
            .app_data(self.reconciler.clone())
            .app_data(self.rate_limiter.clone())
            .route("/metrics", web::get().to(metrics_text))
            .route("/health", web::get().to(health))
            .route("/ready", web::get().to(ready));
        configure_public(config, self.state.clone());
        configure_market_data(config, self.view.clone());
        configure_admin(config);
        configure_trading(config);
        configure_reference(config);
        configure_streams(config);
        configure_ws_api(config);
        #[cfg(feature = "fault-injection")]
        crate::api::configure_faults(
            config,
            crate::api::FaultInjection { allowed: self.faults_allowed },
        );
        if let Some(index) = &self.index {
            configure_internal_index(config, index.clone());
        }
    }
}

/// The first account id never used: one past the largest in `accounts` (1 when empty).
pub async fn next_account_id(system: &ExchangeSystem) -> anyhow::Result<u64> {
    let connection = system.store.connection();
    let statement = Statement::from_string(
        connection.get_database_backend(),
        "SELECT COALESCE(MAX(account_id), 0) AS max_id FROM accounts",
    );
    let row = connection.query_one_raw(statement).await?.context("MAX returned no row")?;
    let max_id: i64 = row.try_get("", "max_id")?;
    Ok(u64::try_from(max_id).context("negative account id")? + 1)
}

/// The registry with every stored key.
async fn load_api_keys(system: &ExchangeSystem) -> anyhow::Result<Arc<InMemoryApiKeys>> {
    let keys = InMemoryApiKeys::new();
    for stored in system.store.load_api_keys().await.context("loading API keys")? {
        let credential = ApiCredential::new(AccountId(stored.account_id), stored.secret.as_bytes());
        keys.insert(&stored.api_key, credential).with_context(|| {
            format!("registering the stored key of account {}", stored.account_id)
        })?;
    }
    Ok(keys)
}
