//! The processes a chaos run owns: the exchange under load (and, when the plan pauses the
//! index leader, a second exchange sharing its Redis lock), on a private PostgreSQL and
//! RabbitMQ or on an embedded SQLite file. The exchange keeps its first port across restarts,
//! so the load generator's URL stays valid.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::chaos::services::{PrivatePostgres, PrivateRabbit};
use crate::http::{ExchangeProcess, sqlite_url};

/// How long an exchange may take to answer `/ready` 200 after a fault.
pub const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// The index leader's lease in the chaos run (short, so a pause outlives it quickly).
pub const LEASE_TTL_MS: u64 = 1_000;
const INTERNAL_TOKEN: &str = "chaos-internal-token";

/// The private services, when the run has them.
#[derive(Debug, Default)]
pub struct Services {
    pub postgres: Option<PrivatePostgres>,
    pub rabbit: Option<PrivateRabbit>,
}

impl Services {
    /// Starts PostgreSQL and RabbitMQ side by side (RabbitMQ takes tens of seconds).
    pub fn start() -> Result<Services, String> {
        let rabbit = std::thread::spawn(PrivateRabbit::start);
        let postgres = PrivatePostgres::start()?;
        let rabbit = rabbit.join().map_err(|_| "RabbitMQ start panicked")??;
        Ok(Services { postgres: Some(postgres), rabbit: Some(rabbit) })
    }
}

/// The exchange processes and how to start them again.
#[derive(Debug)]
pub struct Cluster {
    pub services: Arc<Services>,
    environment: Vec<(String, String)>,
    database_url: String,
    pub main: Option<ExchangeProcess>,
    /// The second exchange sharing the index lock, on a SQLite file of its own.
    pub peer: Option<ExchangeProcess>,
    _peer_directory: Option<tempfile::TempDir>,
    _sqlite_directory: Option<tempfile::TempDir>,
}

fn start_process(database_url: &str, environment: &[(String, String)]) -> ExchangeProcess {
    let environment: Vec<(&str, &str)> =
        environment.iter().map(|(name, value)| (name.as_str(), value.as_str())).collect();
    ExchangeProcess::start_with_env(database_url, &environment)
}

impl Cluster {
    /// Starts the exchange (and the peer when `with_peer`, which needs Redis at `REDIS_URL`,
    /// default 127.0.0.1:6379, under a lock key of this run's own).
    pub fn start(services: Services, with_peer: bool) -> Cluster {
        let sqlite_directory =
            services.postgres.is_none().then(|| tempfile::tempdir().expect("temporary directory"));
        let database_url = match (&services.postgres, &sqlite_directory) {
            (Some(postgres), _) => postgres.url(),
            (None, Some(directory)) => sqlite_url(directory),
            (None, None) => unreachable!("a SQLite directory without PostgreSQL"),
        };
        let mut environment = Vec::new();
        if let Some(rabbit) = &services.rabbit {
            environment.push(("AMQP_URL".to_owned(), rabbit.url()));
        }
        if with_peer {
            let redis =
                std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
            let lock_key = format!(
                "exchange:chaos-index-leader:{}:{}",
                std::process::id(),
                crate::http::now_ms()
            );
            environment.push(("REDIS_URL".to_owned(), redis));
            environment.push(("INDEX_LOCK_KEY".to_owned(), lock_key));
            environment.push(("INDEX_LEASE_TTL_MS".to_owned(), LEASE_TTL_MS.to_string()));
            environment.push(("INTERNAL_TOKEN".to_owned(), INTERNAL_TOKEN.to_owned()));
        }
        let main = start_process(&database_url, &environment);
        let listen = main.base.trim_start_matches("http://").to_owned();
        let peer_directory = with_peer.then(|| tempfile::tempdir().expect("temporary directory"));
        // The peer shares only the index lock: its own SQLite file and in-process bus (on the
        // broker its books' events would reach the main exchange's shards).
        let peer_environment: Vec<(String, String)> =
            environment.iter().filter(|(name, _)| name != "AMQP_URL").cloned().collect();
        let peer = peer_directory
            .as_ref()
            .map(|directory| start_process(&sqlite_url(directory), &peer_environment));
        environment.push(("EXCHANGE_LISTEN".to_owned(), listen));
        Cluster {
            services: Arc::new(services),
            environment,
            database_url,
            main: Some(main),
            peer,
            _peer_directory: peer_directory,
            _sqlite_directory: sqlite_directory,
        }
    }

    pub fn base(&self) -> String {
        self.main.as_ref().expect("the exchange runs").base.clone()
    }

    /// `kill -9` of the exchange (when it runs) and a start on the same database and port.
    /// `Err` when it does not start again (it printed why on stderr); then no exchange runs.
    pub fn kill_and_restart(&mut self) -> Result<Duration, String> {
        if let Some(main) = self.main.take() {
            main.kill();
        }
        let started = Instant::now();
        let (url, environment) = (self.database_url.clone(), self.environment.clone());
        let process = std::panic::catch_unwind(move || start_process(&url, &environment))
            .map_err(|_| "the exchange did not start again (its stderr says why)".to_owned())?;
        self.main = Some(process);
        Ok(started.elapsed())
    }

    /// The peer's base URL, if there is a peer.
    pub fn peer_base(&self) -> Option<String> {
        self.peer.as_ref().map(|peer| peer.base.clone())
    }
}

/// Waits until `base` answers `/ready` with 200; how long it took, or `Err` after
/// [`READY_TIMEOUT`].
pub async fn wait_ready(base: &str) -> Result<Duration, String> {
    let client =
        reqwest::Client::builder().timeout(Duration::from_secs(3)).build().expect("HTTP client");
    let started = Instant::now();
    loop {
        let ready = client
            .get(format!("{base}/ready"))
            .send()
            .await
            .is_ok_and(|response| response.status() == 200);
        if ready {
            return Ok(started.elapsed());
        }
        if started.elapsed() > READY_TIMEOUT {
            return Err(format!("{base} was not ready within {READY_TIMEOUT:?}"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The sum of every series of counter or gauge `name` in `base`'s `/metrics` (whole values).
pub async fn metric_sum(base: &str, name: &str) -> Option<u64> {
    let client =
        reqwest::Client::builder().timeout(Duration::from_secs(3)).build().expect("HTTP client");
    let text = client.get(format!("{base}/metrics")).send().await.ok()?.text().await.ok()?;
    let sum = text
        .lines()
        .filter(|line| {
            line.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .filter_map(|line| line.rsplit(' ').next()?.parse::<u64>().ok())
        .sum();
    Some(sum)
}

/// `kill -<signal> pid`.
pub fn signal(pid: u32, signal: &str) -> Result<(), String> {
    let status = std::process::Command::new("kill")
        .args([format!("-{signal}"), pid.to_string()])
        .status()
        .map_err(|error| error.to_string())?;
    if status.success() { Ok(()) } else { Err(format!("kill -{signal} {pid} failed")) }
}
