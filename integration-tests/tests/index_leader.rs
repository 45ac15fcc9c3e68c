//! Exactly one index price stream across processes: two `exchange serve` processes share one
//! Redis; exactly one publishes. `kill -9` of the leader and the other publishes within the
//! lease's ttl + 1 s; SIGSTOP of the leader past its ttl, then SIGCONT, and the prices it
//! sends on waking carry an old epoch and are refused. Five rounds of each.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use integration_tests::amqp::counter_value;
use integration_tests::http::{ExchangeProcess, HttpClient, now_ms, sqlite_url};
use serde_json::{Value, json};

const TTL_MS: u64 = 1_000;
const INTERNAL_TOKEN: &str = "test-internal-token";
const ROUNDS: usize = 5;

struct Node {
    directory: tempfile::TempDir,
    server: ExchangeProcess,
    client: HttpClient,
}

fn start_process(directory: &tempfile::TempDir, lock_key: &str) -> ExchangeProcess {
    let redis_url =
        std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let ttl = TTL_MS.to_string();
    ExchangeProcess::start_with_env(
        &sqlite_url(directory),
        &[
            ("REDIS_URL", redis_url.as_str()),
            ("INDEX_LEASE_TTL_MS", ttl.as_str()),
            ("INDEX_LOCK_KEY", lock_key),
            ("INTERNAL_TOKEN", INTERNAL_TOKEN),
        ],
    )
}

impl Node {
    fn start(lock_key: &str) -> Node {
        let directory = tempfile::tempdir().unwrap();
        let server = start_process(&directory, lock_key);
        let client = HttpClient::new(&server);
        Node { directory, server, client }
    }

    /// `kill -9`; what is left to start it again.
    fn kill(self) -> tempfile::TempDir {
        self.server.kill();
        self.directory
    }

    /// A fresh process on the database of a killed one.
    fn restart(directory: tempfile::TempDir, lock_key: &str) -> Node {
        let server = start_process(&directory, lock_key);
        let client = HttpClient::new(&server);
        Node { directory, server, client }
    }

    fn signal(&self, signal: &str) {
        let status = std::process::Command::new("kill")
            .args([signal, &self.server.pid().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill {signal}");
    }

    fn metric(&self, series: &str) -> u64 {
        counter_value(&self.client.metrics_text(), series)
    }

    fn leads(&self) -> bool {
        self.metric("exchange_index_leader") == 1
    }

    fn published(&self) -> u64 {
        self.metric("exchange_index_published_total{index=\"BTCUSDT\"}")
    }

    fn stale_epoch_refusals(&self) -> u64 {
        self.metric("exchange_index_refused_total{reason=\"stale_epoch\"}")
    }

    /// The epoch of the latest BTCUSDT price this process accepted (0 before any).
    fn accepted_epoch(&self) -> u64 {
        let (status, answer) = self.client.raw(
            reqwest::Method::GET,
            "/internal/index",
            &[("X-Internal-Token", INTERNAL_TOKEN)],
            None,
        );
        assert_eq!(status, 200, "{answer}");
        let entry: &Value = answer["indexes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|entry| entry["index"] == "BTCUSDT")
            .unwrap();
        entry["latest"]["epoch"].as_u64().unwrap_or(0)
    }
}

/// Pushes a BTCUSDT price to every base in `bases` every 100 ms (the only index source in this
/// test) until `stop`; a stopped process just times out.
fn start_pusher(
    bases: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let client = reqwest::blocking::Client::builder()
            .timeout(Duration::from_millis(300))
            .build()
            .unwrap();
        while !stop.load(Ordering::Relaxed) {
            let targets = bases.lock().unwrap().clone();
            for base in targets {
                let timestamp = u64::try_from(now_ms()).unwrap();
                let body = json!({ "index": "BTCUSDT", "source": "test", "price": "65000", "timestamp": timestamp });
                let _ = client
                    .post(format!("{base}/internal/index/prices"))
                    .header("X-Internal-Token", INTERNAL_TOKEN)
                    .json(&body)
                    .send();
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    })
}

fn wait_until(what: &str, within: Duration, mut done: impl FnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < within, "{what}: not within {within:?}");
        std::thread::sleep(Duration::from_millis(25));
    }
    started.elapsed()
}

/// `(leader, follower)` once exactly one of them leads and publishes.
fn roles(first: Node, second: Node) -> (Node, Node) {
    wait_until("exactly one leader", Duration::from_secs(15), || {
        (first.leads() != second.leads()) && (first.published() + second.published() > 0)
    });
    if first.leads() { (first, second) } else { (second, first) }
}

/// Over half a second, the leader publishes and the follower does not.
fn assert_one_publisher(leader: &Node, follower: &Node) {
    let (leader_before, follower_before) = (leader.published(), follower.published());
    std::thread::sleep(Duration::from_millis(600));
    assert!(leader.published() > leader_before, "the leader publishes");
    assert_eq!(follower.published(), follower_before, "the follower does not");
}

#[test]
fn one_publisher_fails_over_on_kill_and_fences_a_paused_leader() {
    let lock_key = format!("exchange:test-index-leader:{}:{}", std::process::id(), now_ms());
    let bases = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let pusher = start_pusher(bases.clone(), stop.clone());
    let set_bases = |nodes: [&Node; 2]| {
        *bases.lock().unwrap() = nodes.iter().map(|node| node.server.base.clone()).collect();
    };

    let (first, second) = (Node::start(&lock_key), Node::start(&lock_key));
    set_bases([&first, &second]);
    let (mut leader, mut follower) = roles(first, second);
    assert_one_publisher(&leader, &follower);
    let (status, ready) = leader.client.raw(reqwest::Method::GET, "/ready", &[], None);
    assert_eq!((status, &ready["checks"]["lock"]), (200, &json!("up")), "{ready}");

    let within = Duration::from_millis(TTL_MS + 1_000);
    for round in 1..=ROUNDS {
        let epoch_before = follower.accepted_epoch();
        let published_before = follower.published();
        let directory = leader.kill();
        let took = wait_until("the survivor publishes after kill -9", within, || {
            follower.leads() && follower.published() > published_before
        });
        eprintln!("round {round}: kill -9, the other published after {took:?}");
        assert!(follower.accepted_epoch() > epoch_before, "round {round}: a new epoch");
        let restarted = Node::restart(directory, &lock_key);
        set_bases([&restarted, &follower]);
        (leader, follower) = (follower, restarted);
        assert_one_publisher(&leader, &follower);
    }

    for round in 1..=ROUNDS {
        let refusals_before = follower.stale_epoch_refusals();
        let published_before = follower.published();
        leader.signal("-STOP");
        let took = wait_until("the other publishes while the leader is stopped", within, || {
            follower.leads() && follower.published() > published_before
        });
        eprintln!("round {round}: SIGSTOP, the other published after {took:?}");
        let new_epoch = follower.accepted_epoch();
        leader.signal("-CONT");
        wait_until("the woken leader's stale price is refused", Duration::from_secs(5), || {
            follower.stale_epoch_refusals() > refusals_before
        });
        wait_until("the woken leader steps down", Duration::from_secs(5), || !leader.leads());
        wait_until("the woken leader follows the new epoch", Duration::from_secs(5), || {
            leader.accepted_epoch() >= new_epoch
        });
        assert!(follower.accepted_epoch() >= new_epoch, "round {round}: the epoch never goes back");
        (leader, follower) = (follower, leader);
        assert_one_publisher(&leader, &follower);
    }
    stop.store(true, Ordering::Relaxed);
    pusher.join().unwrap();
}
