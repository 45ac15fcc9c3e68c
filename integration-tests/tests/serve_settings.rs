//! `exchange serve` reads its environment: AMQP_URL selects the RabbitMQ bus (said at start,
//! the password redacted; serve starts even when the broker refuses it, and retries), REDIS_URL
//! (the index oracle's lease and prices) is said at start, and an unset ADMIN_TOKEN is
//! generated and printed; EXCHANGE_LISTEN picks the address.

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};

use integration_tests::http::sqlite_url;
use integration_tests::{exchange_binary, workspace_root};

#[test]
fn serve_announces_its_bus_its_redis_and_a_generated_admin_token() {
    let directory = tempfile::tempdir().expect("temp dir");
    let mut child = Command::new(exchange_binary())
        .arg("serve")
        .current_dir(workspace_root())
        .env_remove("EXCHANGE_CONFIG")
        .env_remove("ADMIN_TOKEN")
        .env("EXCHANGE_LISTEN", "127.0.0.1:0")
        .env("DATABASE_URL", sqlite_url(&directory))
        .env("AMQP_URL", "amqp://guest:hunter2@127.0.0.1:5672/%2f")
        .env("AMQP_EXCHANGE", "serve-settings-test")
        .env("REDIS_URL", "redis://127.0.0.1:6379")
        .env("INDEX_LOCK_KEY", format!("exchange:serve-settings-test:{}", std::process::id()))
        .env("RUST_LOG", "error")
        .stdout(Stdio::piped())
        .spawn()
        .expect("the exchange binary starts");
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut printed = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("stdout reads");
        let done = line.starts_with("listening on 127.0.0.1:");
        printed.push(line);
        if done {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let printed = printed.join("\n");
    assert!(printed.contains("listening on 127.0.0.1:"), "{printed}");
    assert!(
        printed.contains(
            "events go through RabbitMQ at amqp://guest:***@127.0.0.1:5672/%2f, exchange serve-settings-test"
        ),
        "{printed}"
    );
    assert!(
        printed.contains(
            "the index oracle's leader lease and prices go through Redis at redis://127.0.0.1:6379"
        ),
        "{printed}"
    );
    assert!(!printed.contains("hunter2"), "{printed}");
    let token = printed
        .lines()
        .find_map(|line| {
            line.strip_prefix("admin token (development; set ADMIN_TOKEN to choose one): ")
        })
        .expect("the generated token is printed");
    assert_eq!(token.len(), 40, "{token}");
}
