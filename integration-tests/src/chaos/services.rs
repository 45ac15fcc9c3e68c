//! Private PostgreSQL and RabbitMQ instances for the chaos runner: the shared ones on this
//! machine serve other tests at the same time, and restarting them would break those. Each
//! lives in a temporary directory on ports of its own and is stopped when dropped.
//!
//! - PostgreSQL: `initdb` + `pg_ctl` from `/usr/lib/postgresql/<version>/bin`, run as the
//!   `postgres` user when this process is root (initdb refuses root), trust auth on
//!   127.0.0.1. A restart is `pg_ctl stop -m immediate` (a crash: no checkpoint) and a start.
//! - RabbitMQ: `rabbitmq-server -detached` with its own node name, ports, database and logs
//!   (`RABBITMQ_*` variables); a kill is `kill -9` of the node's Erlang VM, then a fresh start
//!   on the same database (durable queues and their messages survive, as in production).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long a service may take to accept connections after a start.
const START_TIMEOUT: Duration = Duration::from_secs(120);

/// A port nobody listens on now (the OS's pick, released at once).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

pub fn port_open(port: u16) -> bool {
    std::net::TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(200))
        .is_ok()
}

/// Waits until `port` accepts (or `START_TIMEOUT`).
fn wait_for_port(what: &str, port: u16) -> Result<Duration, String> {
    let started = Instant::now();
    while !port_open(port) {
        if started.elapsed() > START_TIMEOUT {
            return Err(format!("{what} did not open port {port} within {START_TIMEOUT:?}"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(started.elapsed())
}

fn run(command: &mut Command) -> Result<(), String> {
    let output = command.output().map_err(|error| format!("{command:?}: {error}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{command:?}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|output| output.stdout.starts_with(b"0\n"))
}

/// The newest installed PostgreSQL's `bin` directory.
fn postgres_bin() -> Result<PathBuf, String> {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map_err(|error| format!("/usr/lib/postgresql: {error}"))?
        .filter_map(|entry| entry.ok().map(|entry| entry.path().join("bin")))
        .filter(|bin| bin.join("pg_ctl").exists())
        .collect();
    versions.sort();
    versions.pop().ok_or_else(|| "no PostgreSQL under /usr/lib/postgresql".to_owned())
}

/// A PostgreSQL cluster of the runner's own.
#[derive(Debug)]
pub struct PrivatePostgres {
    directory: tempfile::TempDir,
    bin: PathBuf,
    pub port: u16,
    as_postgres: bool,
}

impl PrivatePostgres {
    pub fn start() -> Result<PrivatePostgres, String> {
        let directory =
            tempfile::Builder::new().prefix("chaos-pg-").tempdir().map_err(|e| e.to_string())?;
        let as_postgres = is_root();
        if as_postgres {
            run(Command::new("chown").args(["postgres:postgres"]).arg(directory.path()))?;
        }
        let postgres =
            PrivatePostgres { directory, bin: postgres_bin()?, port: free_port(), as_postgres };
        let data = postgres.data();
        postgres
            .run_tool("initdb", &["-D", &data, "-A", "trust", "-U", "postgres", "--no-sync"])?;
        postgres.start_server()?;
        Ok(postgres)
    }

    fn data(&self) -> String {
        self.directory.path().join("data").display().to_string()
    }

    fn run_tool(&self, tool: &str, arguments: &[&str]) -> Result<(), String> {
        let program = self.bin.join(tool);
        let mut command = if self.as_postgres {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(program);
            command
        } else {
            Command::new(program)
        };
        run(command.args(arguments).current_dir(self.directory.path()))
    }

    fn start_server(&self) -> Result<Duration, String> {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200",
            self.port,
            self.directory.path().display()
        );
        let log = self.directory.path().join("postgres.log").display().to_string();
        self.run_tool("pg_ctl", &["-D", &self.data(), "-o", &options, "-l", &log, "-w", "start"])?;
        wait_for_port("PostgreSQL", self.port)
    }

    /// The URL of database `postgres` on this cluster.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// A crash (immediate stop, no checkpoint) and a start; how long the start took.
    pub fn restart(&self) -> Result<Duration, String> {
        self.run_tool("pg_ctl", &["-D", &self.data(), "-m", "immediate", "-w", "stop"])?;
        let started = Instant::now();
        self.start_server()?;
        Ok(started.elapsed())
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let _stopped =
            self.run_tool("pg_ctl", &["-D", &self.data(), "-m", "immediate", "-w", "stop"]);
    }
}

/// A RabbitMQ node of the runner's own.
#[derive(Debug)]
pub struct PrivateRabbit {
    directory: tempfile::TempDir,
    pub node: String,
    pub port: u16,
    dist_port: u16,
}

const RABBITMQ_BIN: &str = "/usr/lib/rabbitmq/bin";

impl PrivateRabbit {
    pub fn start() -> Result<PrivateRabbit, String> {
        let directory =
            tempfile::Builder::new().prefix("chaos-rmq-").tempdir().map_err(|e| e.to_string())?;
        std::fs::write(directory.path().join("enabled_plugins"), "[].\n")
            .map_err(|e| e.to_string())?;
        let rabbit = PrivateRabbit {
            node: format!("chaos{}@localhost", std::process::id()),
            port: free_port(),
            dist_port: free_port(),
            directory,
        };
        rabbit.start_node()?;
        Ok(rabbit)
    }

    fn tool(&self, tool: &str) -> Command {
        let path = |name: &str| self.directory.path().join(name).display().to_string();
        let mut command = Command::new(Path::new(RABBITMQ_BIN).join(tool));
        command
            .current_dir(self.directory.path())
            .env("HOME", self.directory.path())
            .env("RABBITMQ_NODENAME", &self.node)
            .env("RABBITMQ_NODE_IP_ADDRESS", "127.0.0.1")
            .env("RABBITMQ_NODE_PORT", self.port.to_string())
            .env("RABBITMQ_DIST_PORT", self.dist_port.to_string())
            .env("RABBITMQ_MNESIA_BASE", path("mnesia"))
            .env("RABBITMQ_LOG_BASE", path("log"))
            .env("RABBITMQ_PID_FILE", path("rabbit.pid"))
            .env("RABBITMQ_CONFIG_FILE", path("rabbitmq"))
            .env("RABBITMQ_ENABLED_PLUGINS_FILE", path("enabled_plugins"));
        command
    }

    fn start_node(&self) -> Result<Duration, String> {
        // status(), not output(): the detached node inherits the pipes and never closes them.
        let status = self
            .tool("rabbitmq-server")
            .arg("-detached")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map_err(|error| format!("rabbitmq-server: {error}"))?;
        if !status.success() {
            return Err(format!("rabbitmq-server -detached: {status}"));
        }
        wait_for_port("RabbitMQ", self.port)
    }

    fn pid(&self) -> Option<u32> {
        let text = std::fs::read_to_string(self.directory.path().join("rabbit.pid")).ok()?;
        text.trim().parse().ok()
    }

    pub fn url(&self) -> String {
        format!("amqp://guest:guest@127.0.0.1:{}/%2f", self.port)
    }

    /// `kill -9` of the node's VM, then a fresh start; how long the start took.
    pub fn kill_and_restart(&self) -> Result<Duration, String> {
        let pid = self.pid().ok_or("RabbitMQ's pid file is missing")?;
        run(Command::new("kill").args(["-9", &pid.to_string()]))?;
        let stopped = Instant::now();
        while port_open(self.port) && stopped.elapsed() < START_TIMEOUT {
            std::thread::sleep(Duration::from_millis(50));
        }
        self.start_node()
    }
}

impl Drop for PrivateRabbit {
    fn drop(&mut self) {
        if let Some(pid) = self.pid() {
            let _killed = Command::new("kill").args(["-9", &pid.to_string()]).status();
        }
    }
}
