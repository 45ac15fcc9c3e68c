//! A chaos run: load on the exchange through the load generator's client, one fault at a time
//! from the plan, and after each the wait for `/ready` and the invariant audit. Bounded: the
//! plan has at most [`FAULTS_MAX`](super::faults::FAULTS_MAX) faults, every wait has a
//! deadline, and no fault starts after the run's time limit.

// Seconds are display figures, not money.
#![allow(clippy::float_arithmetic)]

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::json;

use super::audit::Auditor;
use super::cluster::{Cluster, LEASE_TTL_MS, Services, metric_sum, signal, wait_ready};
use super::faults::Fault;
use crate::http::ADMIN_TOKEN;
use crate::loadgen::{
    AckLog, Admin, Bound, Load, Mix, OpClient, Pace, RestClient, Stats, Transport, Workload,
    funded_traders, markets,
};

/// How long a stalled book blocks (the supervisor replaces it after 2 s without a heartbeat).
const STALL_MS: u64 = 4_000;
/// Requests outstanding at most during a load phase.
const IN_FLIGHT_MAX: usize = 2_000;

/// What a run does.
#[derive(Clone, Debug)]
pub struct ChaosSettings {
    pub faults: Vec<Fault>,
    /// A private PostgreSQL and RabbitMQ (else the embedded SQLite and in-process bus).
    pub services: bool,
    pub traders: usize,
    pub symbols: Vec<String>,
    pub transport: Transport,
    /// Requests per second during each load phase.
    pub rate: f64,
    /// How long the load runs around each fault (the fault comes in its middle half).
    pub phase: Duration,
    /// How long the audit may wait for settlement, projections and replicas to catch up.
    pub settle_timeout: Duration,
    /// No fault starts this long after the set-up (services, exchange, funded traders).
    pub time_limit: Duration,
    pub seed: u64,
}

/// One fault's outcome.
#[derive(Clone, Debug)]
pub struct FaultRecord {
    pub fault: Fault,
    pub detail: String,
    pub violations: Vec<String>,
}

/// The run's outcome.
#[derive(Debug)]
pub struct Summary {
    pub records: Vec<FaultRecord>,
    pub planned: usize,
    pub elapsed: Duration,
    pub orders_acked: usize,
    pub cancels_acked: usize,
    pub load: serde_json::Value,
}

impl Summary {
    pub fn violations(&self) -> Vec<String> {
        self.records
            .iter()
            .flat_map(|record| {
                record.violations.iter().map(|v| format!("{}: {v}", record.fault.name()))
            })
            .collect()
    }

    pub fn text(&self) -> String {
        let mut text = format!(
            "chaos: {} of {} faults in {:.0} s; {} orders and {} cancels acknowledged; {} violations\n",
            self.records.len(),
            self.planned,
            self.elapsed.as_secs_f64(),
            self.orders_acked,
            self.cancels_acked,
            self.violations().len()
        );
        for fault in Fault::ALL {
            let records: Vec<&FaultRecord> =
                self.records.iter().filter(|record| record.fault == fault).collect();
            if !records.is_empty() {
                let failed = records.iter().filter(|record| !record.violations.is_empty()).count();
                text.push_str(&format!(
                    "  {:<13} {:>3} injected, {failed} with violations\n",
                    fault.name(),
                    records.len()
                ));
            }
        }
        for violation in self.violations() {
            text.push_str(&format!("  VIOLATION {violation}\n"));
        }
        text
    }
}

/// Runs the plan (on a multi-threaded runtime: process starts block one worker while the
/// load runs on another); panics only on set-up failures (services or the exchange not starting).
pub async fn run(settings: &ChaosSettings) -> Summary {
    let started = Instant::now();
    let services = if settings.services {
        tokio::task::spawn_blocking(Services::start)
            .await
            .expect("no panic")
            .expect("private services start")
    } else {
        Services::default()
    };
    let with_peer = settings.faults.contains(&Fault::LeaderPause);
    let mut cluster = tokio::task::block_in_place(|| Cluster::start(services, with_peer));
    let base = cluster.base();
    wait_ready(&base).await.expect("the exchange is ready");
    eprintln!("chaos: exchange ready at {base} after {:.1} s", started.elapsed().as_secs_f64());
    let rest = RestClient::new(&base);
    let admin = Admin::new(&base, ADMIN_TOKEN);
    let markets = markets(&rest, &settings.symbols).await.expect("markets");
    let traders = funded_traders(&admin, &markets, settings.traders).await.expect("funded traders");
    let workload =
        Workload::new(markets.clone(), traders.len(), Mix::DEFAULT, settings.seed, "chaos", true);
    let workload = Arc::new(Mutex::new(workload));
    let stats: Arc<Mutex<Stats>> = Arc::default();
    let mut rng = ChaCha8Rng::seed_from_u64(settings.seed);
    let mut acked = AckLog::default();
    let mut records = Vec::new();
    let faults_started = Instant::now();
    for (number, fault) in settings.faults.iter().copied().enumerate() {
        if faults_started.elapsed() > settings.time_limit {
            eprintln!("chaos: time limit reached before fault {}", number + 1);
            break;
        }
        let client =
            OpClient::connect(&base, settings.transport, traders.clone(), markets.clone()).await;
        let client = match client {
            Ok(client) => client,
            Err(error) => {
                records.push(FaultRecord {
                    fault,
                    detail: String::new(),
                    violations: vec![format!("load client: {error}")],
                });
                break;
            }
        };
        let load =
            Load { client: Arc::new(client), workload: workload.clone(), stats: stats.clone() };
        let pace = Pace::PerSecond { rate: settings.rate, in_flight_max: IN_FLIGHT_MAX };
        let bound = Bound { duration: settings.phase, requests_max: u64::MAX };
        let load_task =
            tokio::spawn(
                async move { load.run(pace, bound, false, &AtomicBool::new(false)).await },
            );
        let phase_ms = u64::try_from(settings.phase.as_millis()).unwrap_or(u64::MAX).max(4);
        tokio::time::sleep(Duration::from_millis(rng.gen_range(phase_ms / 4..=phase_ms * 3 / 4)))
            .await;
        let (detail, mut violations) =
            inject(fault, &mut cluster, &admin, &markets[rng.gen_range(0..markets.len())].symbol)
                .await;
        let _report = load_task.await;
        violations.extend(recover(&mut cluster).await);
        let log = workload.lock().expect("workload lock").take_log();
        acked.canceled.extend(log.canceled);
        acked.placed.extend(log.placed);
        let auditor = Auditor { rest: &rest, admin: &admin, traders: &traders, markets: &markets };
        let audit_started = Instant::now();
        let audit = audit_until_clean(&auditor, &acked, settings.settle_timeout).await;
        let audited = format!(
            "audit {} in {:.1} s",
            if audit.is_ok() { "clean" } else { "FAILED" },
            audit_started.elapsed().as_secs_f64()
        );
        violations.extend(audit.err());
        eprintln!(
            "chaos: fault {}/{} {} at {:.0} s: {detail}; {audited}; {} orders acknowledged so far",
            number + 1,
            settings.faults.len(),
            fault.name(),
            started.elapsed().as_secs_f64(),
            acked.placed.len()
        );
        for violation in &violations {
            eprintln!("chaos: VIOLATION after {}: {violation}", fault.name());
        }
        let stopped = cluster.main.is_none();
        records.push(FaultRecord { fault, detail, violations });
        if stopped {
            eprintln!("chaos: the exchange does not start any more; the run stops here");
            break;
        }
    }
    let load = stats.lock().expect("stats lock").report(started.elapsed());
    Summary {
        records,
        planned: settings.faults.len(),
        elapsed: started.elapsed(),
        orders_acked: acked.placed.len(),
        cancels_acked: acked.canceled.len(),
        load,
    }
}

/// Injects `fault` (a stall on `symbol`'s book); what was done, and any violation seen.
async fn inject(
    fault: Fault,
    cluster: &mut Cluster,
    admin: &Admin,
    symbol: &str,
) -> (String, Vec<String>) {
    let services = cluster.services.clone();
    let outcome = match fault {
        Fault::Kill9 => {
            let took = tokio::task::block_in_place(|| cluster.kill_and_restart());
            took.map(|took| format!("killed, restarted in {:.1} s", took.as_secs_f64()))
        }
        Fault::RabbitMq => tokio::task::spawn_blocking(move || {
            let rabbit = services.rabbit.as_ref().ok_or("rabbitmq needs --services")?;
            rabbit
                .kill_and_restart()
                .map(|took| format!("RabbitMQ killed, up again in {:.1} s", took.as_secs_f64()))
        })
        .await
        .expect("no panic"),
        Fault::Postgres => tokio::task::spawn_blocking(move || {
            let postgres = services.postgres.as_ref().ok_or("postgres needs --services")?;
            postgres
                .restart()
                .map(|took| format!("PostgreSQL crashed, up again in {:.1} s", took.as_secs_f64()))
        })
        .await
        .expect("no panic"),
        Fault::Stall => stall(cluster, admin, symbol).await,
        Fault::LeaderPause => pause_leader(cluster).await,
    };
    match outcome {
        Ok(detail) => (detail, Vec::new()),
        Err(violation) => (String::new(), vec![violation]),
    }
}

async fn stall(cluster: &Cluster, admin: &Admin, symbol: &str) -> Result<String, String> {
    let base = cluster.base();
    let restarts_before = metric_sum(&base, "exchange_actor_restarts_total").await.unwrap_or(0);
    let body = json!({"symbol": symbol, "stallMs": STALL_MS});
    admin.request(reqwest::Method::POST, "/admin/faults/stall-book", &body).await?;
    let deadline = Instant::now() + Duration::from_millis(STALL_MS + 3_000);
    loop {
        let restarts = metric_sum(&base, "exchange_actor_restarts_total").await.unwrap_or(0);
        if restarts > restarts_before {
            return Ok(format!("{symbol}'s book stalled {STALL_MS} ms, replaced"));
        }
        if Instant::now() > deadline {
            return Err(format!("{symbol}'s book stalled {STALL_MS} ms and was not replaced"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// SIGSTOP of whichever process leads the index, past its lease; the other must take over
/// within the lease + 1 s; SIGCONT; exactly one leads again within 5 s.
async fn pause_leader(cluster: &Cluster) -> Result<String, String> {
    let (main, peer) = (cluster.base(), cluster.peer_base().ok_or("no peer process")?);
    let pids = (cluster.main.as_ref().map(|p| p.pid()), cluster.peer.as_ref().map(|p| p.pid()));
    let (Some(main_pid), Some(peer_pid)) = pids else { return Err("a process is missing".into()) };
    let leads =
        |base: String| async move { metric_sum(&base, "exchange_index_leader").await == Some(1) };
    let deadline = Instant::now() + Duration::from_secs(10);
    let (leader_pid, follower) = loop {
        match (leads(main.clone()).await, leads(peer.clone()).await) {
            (true, false) => break (main_pid, peer.clone()),
            (false, true) => break (peer_pid, main.clone()),
            _ if Instant::now() > deadline => {
                return Err("not exactly one index leader before the pause".into());
            }
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    };
    signal(leader_pid, "STOP")?;
    let paused = Instant::now();
    let mut took_over = None;
    while paused.elapsed() < Duration::from_millis(2 * LEASE_TTL_MS + 1_000) {
        if took_over.is_none() && leads(follower.clone()).await {
            took_over = Some(paused.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    signal(leader_pid, "CONT")?;
    let took_over = took_over
        .ok_or("the other process did not take the index lead while the leader was paused")?;
    if took_over > Duration::from_millis(LEASE_TTL_MS + 1_000) {
        return Err(format!(
            "the other process took the lead after {took_over:?}, beyond the lease + 1 s"
        ));
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if leads(main.clone()).await != leads(peer.clone()).await {
            return Ok(format!(
                "leader paused, the other led after {:.1} s",
                took_over.as_secs_f64()
            ));
        }
        if Instant::now() > deadline {
            return Err("not exactly one index leader 5 s after the resume".into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits for `/ready` of every process; one not ready in time is a violation, and is killed
/// and started again so the run goes on.
async fn recover(cluster: &mut Cluster) -> Vec<String> {
    let mut violations = Vec::new();
    let Some(base) = cluster.main.as_ref().map(|main| main.base.clone()) else {
        return vec!["the exchange is not running".to_owned()];
    };
    if let Err(error) = wait_ready(&base).await {
        violations.push(error);
        if let Err(error) = tokio::task::block_in_place(|| cluster.kill_and_restart()) {
            violations.push(error);
            return violations;
        }
        violations.extend(wait_ready(&cluster.base()).await.err());
    }
    if let Some(peer) = cluster.peer_base() {
        violations.extend(wait_ready(&peer).await.err());
    }
    violations
}

async fn audit_until_clean(
    auditor: &Auditor<'_>,
    acked: &AckLog,
    timeout: Duration,
) -> Result<(), String> {
    let started = Instant::now();
    loop {
        match auditor.check(acked).await {
            Ok(()) => return Ok(()),
            Err(error) if started.elapsed() > timeout => return Err(error),
            Err(_catching_up) => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    }
}
