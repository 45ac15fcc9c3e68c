//! The ccxt conformance suite (`integration-tests/ccxt/`, Python): a pinned ccxt from PyPI,
//! configured only with our base URLs, trades against the real `exchange` binary over REST
//! and WebSocket. This test runs it through `run.sh` (which builds its virtual environment
//! under `target/` on first use) so the README's test command covers it, and fails with
//! pytest's report: the failing assertion, the exchange's log tail and ccxt's last request.

use std::process::Command;

use integration_tests::{exchange_binary, workspace_root};

#[test]
fn ccxt_trades_against_the_exchange_unchanged() {
    let output = Command::new(workspace_root().join("integration-tests/ccxt/run.sh"))
        .arg("-q")
        .env("EXCHANGE_BINARY", exchange_binary())
        .output()
        .expect("run.sh starts (bash and python3 on PATH)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "ccxt suite failed ({:?})\nstdout:\n{stdout}\nstderr:\n{stderr}",
        output.status
    );
}
