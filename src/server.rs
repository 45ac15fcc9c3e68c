//! `exchange serve`'s HTTP front door: builds [`ApiState`] and [`TradingCore`] from a running
//! [`ExchangeSystem`] and serves the public, signed and admin routes with actix-web.
//!
//! API keys are stored in the database and loaded into the in-memory registry at start.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::{App, HttpServer, web};
use anyhow::Context as _;
use exchange_actors::model::AccountId;
use exchange_actors::ports::{Clock, SystemClock};
use rand::Rng as _;
use rand::distributions::Alphanumeric;
use sea_orm::{ConnectionTrait, Statement};

use crate::api::{
    ApiCredential, ApiMarket, ApiMarkets, ApiState, InMemoryApiKeys, MarketView, TradingCore,
    configure_admin, configure_market_data, configure_public, configure_trading,
};
use crate::config::Config;
use crate::system::ExchangeSystem;

/// Where `serve` listens unless `EXCHANGE_LISTEN` says otherwise.
pub const LISTEN_DEFAULT: &str = "127.0.0.1:8080";
const ADMIN_TOKEN_LEN: usize = 40;

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

/// A random admin token for development runs.
pub fn generate_admin_token() -> String {
    rand::thread_rng().sample_iter(&Alphanumeric).take(ADMIN_TOKEN_LEN).map(char::from).collect()
}

/// Serves until the server stops (SIGINT/SIGTERM). Prints `listening on ADDR` once bound.
pub async fn serve_http(
    config: &Config,
    system: &ExchangeSystem,
    listen: &str,
    admin_token: String,
) -> anyhow::Result<()> {
    let markets = ApiMarkets::new(
        system
            .markets
            .values()
            .map(|market| ApiMarket { spec: market.spec.clone(), ledger: market.ledger }),
    );
    let keys = load_api_keys(system).await?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let state = web::Data::new(ApiState {
        markets: Arc::new(markets),
        books: system.directory.clone(),
        keys: keys.clone(),
        clock,
    });
    let core = web::Data::new(TradingCore::new(
        system.shards.clone(),
        system.directory.clone(),
        config.assets.clone(),
        keys,
        system.store.clone(),
        admin_token,
        next_account_id(system).await?,
    ));
    let view = web::Data::new(MarketView {
        market_data: system.market_data.clone(),
        store: system.store.clone(),
    });
    let listener = TcpListener::bind(listen).with_context(|| format!("binding {listen}"))?;
    let address = listener.local_addr()?;
    let server = HttpServer::new(move || {
        let state = state.clone();
        let view = view.clone();
        App::new()
            .app_data(core.clone())
            .configure(|config| configure_public(config, state))
            .configure(|config| configure_market_data(config, view))
            .configure(configure_admin)
            .configure(configure_trading)
    })
    .listen(listener)?
    .run();
    println!("listening on {address}");
    tracing::info!(%address, "HTTP API listening");
    server.await?;
    Ok(())
}
