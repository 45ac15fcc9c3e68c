//! Helpers shared by the black-box tests: find (or build) the real `exchange` binary and run
//! it from the workspace root, as an operator would.

pub mod amqp;
pub mod chaos;
pub mod db;
pub mod history_rows;
pub mod http;
pub mod ledger_checks;
pub mod load;
pub mod loadgen;
pub mod perpetual;
pub mod prometheus;
pub mod recovery_journal;
pub mod recovery_probe;
pub mod system;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The workspace root (where `config/` lives).
pub fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("integration-tests sits in the workspace")
}

/// The `exchange` binary of this build profile, built once per test process if missing.
pub fn exchange_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| workspace_root().join("target"));
        let profile = if cfg!(debug_assertions) { "debug" } else { "release" };
        let binary = target.join(profile).join("exchange");
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut build = Command::new(cargo);
        // The whole workspace's binaries, so features unify as in `cargo nextest run
        // --workspace` (integration-tests turns on `fault-injection`) and the binary that run
        // built is fresh; `-p exchange` alone would rebuild it with other features.
        build.args(["build", "--quiet", "--workspace", "--bins"]);
        // What cargo set for this test crate would leak into build scripts that watch it
        // (ring's watches CARGO_MANIFEST_DIR) and mark the whole tree dirty.
        for (name, _) in std::env::vars_os() {
            if name.to_str().is_some_and(is_crate_variable) {
                build.env_remove(name);
            }
        }
        if profile == "release" {
            build.arg("--release");
        }
        // Building is a no-op when the binary is fresh; it makes a lone test run self-sufficient.
        let status = build.current_dir(workspace_root()).status().expect("cargo runs");
        assert!(status.success(), "building the exchange binary failed");
        binary
    })
}

/// Whether cargo sets `name` for the crate it compiles or runs (not a configuration variable).
fn is_crate_variable(name: &str) -> bool {
    const PREFIXES: [&str; 4] = ["CARGO_PKG_", "CARGO_MANIFEST_", "CARGO_BIN_", "CARGO_CRATE_"];
    const NAMES: [&str; 3] =
        ["CARGO_PRIMARY_PACKAGE", "CARGO_TARGET_TMPDIR", "CARGO_RUSTC_CURRENT_DIR"];
    PREFIXES.iter().any(|prefix| name.starts_with(prefix)) || NAMES.contains(&name)
}

/// Makes a panic print its message only. Tests that panic an actor on purpose time its
/// replacement from the poisoned message on; the default hook with `RUST_BACKTRACE` set would
/// first symbolize a backtrace of the whole debug binary, seconds on a loaded machine, which is
/// not part of the restart path being measured.
pub fn quiet_panics() {
    std::panic::set_hook(Box::new(|info| eprintln!("{info}")));
}

/// Runs `future` to completion on a new runtime in a thread of its own: for clean-ups in
/// `Drop`, where the test's runtime may be gone or may not be blocked on.
pub fn block_on_own_runtime(future: impl std::future::Future<Output = ()> + Send + 'static) {
    let _ignored = std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map(|runtime| runtime.block_on(future))
    })
    .join();
}

/// Runs `exchange <args>` from the workspace root and returns its output.
pub fn run_exchange(args: &[&str]) -> Output {
    Command::new(exchange_binary())
        .args(args)
        .current_dir(workspace_root())
        .env_remove("EXCHANGE_CONFIG")
        .output()
        .expect("the exchange binary starts")
}

/// Awaits every future concurrently on the current task (no spawning: actix `Addr`s and
/// `!Send` futures are fine) and returns their outputs in order.
pub async fn join_all<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut pinned: Vec<_> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = pinned.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut done = true;
        for (future, output) in pinned.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(value) => *output = Some(value),
                    std::task::Poll::Pending => done = false,
                }
            }
        }
        if done { std::task::Poll::Ready(()) } else { std::task::Poll::Pending }
    })
    .await;
    outputs.into_iter().map(|output| output.expect("completed")).collect()
}
