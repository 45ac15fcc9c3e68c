//! The `exchange` server binary.
//!
//! `check-config` validates the configured markets, `migrate` brings the database schema up to
//! date, `serve` runs the exchange (migrations first). The HTTP/WebSocket front door is wired
//! in as it lands (see the README's status section).

use exchange::config;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "exchange", version, about = "Actor-model crypto exchange")]
struct Cli {
    /// Configuration file.
    #[arg(long, env = "EXCHANGE_CONFIG", default_value = "config/default.toml", global = true)]
    config: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Validate the configuration and list the markets it defines; exit non-zero naming the
    /// setting at fault.
    CheckConfig,
    /// Apply every pending database migration and exit.
    Migrate {
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Run the exchange: migrate, rebuild every book and account shard from the journal, and
    /// trade until SIGINT/SIGTERM.
    Serve {
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

#[derive(Debug, clap::Args)]
struct DatabaseArgs {
    /// PostgreSQL (`postgres://…`) or SQLite (`sqlite://…`) database.
    #[arg(long, env = "DATABASE_URL", default_value = exchange::store::SQLITE_DEFAULT_URL)]
    database_url: String,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: &Cli) -> anyhow::Result<()> {
    match &cli.command {
        Command::CheckConfig => check_config(cli),
        Command::Migrate { database } => actix::System::new().block_on(migrate(database)),
        Command::Serve { database } => {
            let config = config::Config::load(&cli.config)?;
            actix::System::new().block_on(serve(config, database))
        }
    }
}

/// The store `url` names, with `DB_SSL_MODE` and `DB_MAX_OPEN_CONNS` applied, migrated.
async fn connect(url: &str) -> anyhow::Result<exchange::store::Store> {
    let database =
        exchange::store::DatabaseSettings::resolve(url, |name| std::env::var(name).ok())?;
    let store = exchange::store::Store::connect_sized(&database.url, database.max_connections)
        .await
        .with_context(|| format!("connecting to {}", exchange::system::redact(url)))?;
    store.migrate().await.context("running migrations")?;
    Ok(store)
}

async fn migrate(database: &DatabaseArgs) -> anyhow::Result<()> {
    let url = &database.database_url;
    connect(url).await?;
    println!("database {} is up to date", exchange::system::redact(url));
    Ok(())
}

async fn serve(config: config::Config, database: &DatabaseArgs) -> anyhow::Result<()> {
    init_tracing();
    let problems = exchange::profile::problems(|name| std::env::var(name).ok());
    if !problems.is_empty() {
        let list: Vec<String> = problems.iter().map(ToString::to_string).collect();
        anyhow::bail!("refusing to start: {}", list.join("; "));
    }
    let profile = exchange::profile::Profile::resolve(&|name| std::env::var(name).ok())
        .map_err(|problem| anyhow::anyhow!("{problem}"))?;
    let settings = exchange::settings::ServeSettings::resolve(
        |name| std::env::var(name).ok(),
        &config.server.listen,
        exchange::server::generate_admin_token,
    );
    // Before the system starts: the bus counts reconnects and publishes from its first moment.
    let metrics = exchange::api::metrics::install_prometheus()?;
    let database_url = &database.database_url;
    let store = connect(database_url).await?;
    let system =
        exchange::system::ExchangeSystem::start_on_with_bus(&config, store, &settings.bus())
            .await?;
    tracing::info!(
        symbols = system.markets.len(),
        shards = system.shards.len(),
        database = %exchange::system::redact(database_url),
        "exchange running"
    );
    if let exchange::bus::BusSettings::Amqp { url, exchange } = settings.bus() {
        let url = exchange::system::redact(&url);
        println!("events go through RabbitMQ at {url}, exchange {exchange}");
    }
    if let Some(url) = &settings.redis_url {
        let url = exchange::system::redact(url);
        println!("the index oracle's leader lease and prices go through Redis at {url}");
    }
    if settings.admin_token_generated {
        let token = &settings.admin_token;
        println!("admin token (development; set ADMIN_TOKEN to choose one): {token}");
    }
    let index_settings =
        exchange::index::IndexSettings::resolve(&config, |name| std::env::var(name).ok())?;
    let index = exchange::index::IndexService::start_on(index_settings, &system)?;
    let perpetuals = config.perpetuals.resolve(|name| std::env::var(name).ok())?;
    exchange::perpetuals::start(
        &perpetuals,
        system.markets.values().map(|market| market.spec.clone()),
        index.board.clone(),
        system.depth_replicas.clone(),
        system.shards.clone(),
    );
    let metrics = exchange::api::metrics::MetricsEndpoint::new(metrics);
    let production = profile == exchange::profile::Profile::Production;
    let reconcile =
        exchange::control::ReconcileSettings::resolve(|name| std::env::var(name).ok(), production)
            .map_err(|problem| anyhow::anyhow!("{problem}"))?;
    let mut app =
        exchange::app::HttpApp::new(&config, &system, settings.admin_token, metrics).await?;
    app.start_reconciliation(reconcile);
    let rate_limits =
        exchange::api::rate_limit::RateLimitSettings::resolve(|name| std::env::var(name).ok())
            .map_err(|problem| anyhow::anyhow!("{problem}"))?;
    app.set_rate_limits(rate_limits);
    app.set_index(index);
    #[cfg(feature = "fault-injection")]
    if !production {
        app.allow_faults();
    }
    exchange::server::serve_http(app, &settings.listen).await?;
    tracing::info!("stopping");
    Ok(())
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).init();
}

fn check_config(cli: &Cli) -> anyhow::Result<()> {
    let problems = exchange::profile::problems(|name| std::env::var(name).ok());
    for problem in &problems {
        println!("environment: {problem}");
    }
    let config = config::Config::load(&cli.config)?;
    let markets = config.markets()?;
    let index = exchange::index::IndexSettings::resolve(&config, |name| std::env::var(name).ok())?;
    if !problems.is_empty() {
        anyhow::bail!("{} setting(s) of the environment are wrong (listed above)", problems.len());
    }
    println!("configuration {} is valid", cli.config.display());
    for market in &markets {
        let spec = &market.spec;
        println!(
            "{}: {}/{} tick {} step {} band {} bps, maker {} taker {}, up to {} resting orders",
            spec.symbol,
            spec.base_asset,
            spec.quote_asset,
            spec.tick_size,
            spec.step_size,
            spec.price_band_bps,
            spec.maker_fee_rate,
            spec.taker_fee_rate,
            market.limits.capacity.orders_max
        );
    }
    for index in &index.indexes {
        println!(
            "index {}: spot {:?}, {} feeds, stale after {} ms, at least {} sources within {} bps",
            index.name,
            index.spot_symbols,
            index.feed_urls.len(),
            index.staleness_ms,
            index.min_sources,
            index.outlier_bps
        );
    }
    Ok(())
}
