//! The index oracle through the real binary: prices pushed over the internal endpoint, our spot
//! book's mid and an external Binance-style feed as sources; bad pushes refused and counted;
//! a stale index shown as stale.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use futures_util::SinkExt as _;
use integration_tests::amqp::counter_value;
use integration_tests::http::{ExchangeProcess, HttpClient, now_ms, sqlite_url};
use integration_tests::workspace_root;
use serde_json::{Value, json};

pub const INTERNAL_TOKEN: &str = "test-internal-token";

fn push(client: &HttpClient, token: &str, body: Value) -> (u16, Value) {
    let bytes = serde_json::to_vec(&body).unwrap();
    client.raw(
        reqwest::Method::POST,
        "/internal/index/prices",
        &[("X-Internal-Token", token)],
        Some(("application/json", bytes)),
    )
}

fn price_body(price: &str, timestamp: u128) -> Value {
    json!({ "index": "BTCUSDT", "source": "desk-1", "price": price, "timestamp": u64::try_from(timestamp).unwrap() })
}

/// The BTCUSDT entry of `GET /internal/index`.
fn board(client: &HttpClient) -> Value {
    let (status, answer) = client.raw(
        reqwest::Method::GET,
        "/internal/index",
        &[("X-Internal-Token", INTERNAL_TOKEN)],
        None,
    );
    assert_eq!(status, 200, "{answer}");
    answer["indexes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|entry| entry["index"] == "BTCUSDT")
        .unwrap()
        .clone()
}

/// Waits until the board's BTCUSDT price is `expected` (and fresh).
fn wait_for_index(client: &HttpClient, expected: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let entry = board(client);
        if entry["latest"]["price"] == expected && entry["stale"] == false {
            return entry;
        }
        assert!(Instant::now() < deadline, "index never became {expected}: {entry}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn refused(client: &HttpClient, reason: &str) -> u64 {
    let series = format!("exchange_index_push_refused_total{{reason=\"{reason}\"}}");
    counter_value(&client.metrics_text(), &series)
}

#[test]
fn spot_and_pushed_prices_make_the_index_and_bad_pushes_are_refused_and_counted() {
    let directory = tempfile::tempdir().unwrap();
    let server = ExchangeProcess::start_with_env(
        &sqlite_url(&directory),
        &[("INTERNAL_TOKEN", INTERNAL_TOKEN)],
    );
    let client = HttpClient::new(&server);

    // Our spot book as the only source: its mid price.
    let buyer = client.funded_trader("USDT", "100000");
    let seller = client.funded_trader("BTC", "1");
    for (trader, side, price) in [(&buyer, "BUY", "60000.00"), (&seller, "SELL", "60010.00")] {
        let params = format!(
            "symbol=BTCUSDT&side={side}&type=LIMIT&timeInForce=GTC&quantity=0.01&price={price}"
        );
        let (status, answer) =
            client.signed(trader, reqwest::Method::POST, "/api/v3/order", &params);
        assert_eq!(status, 200, "{answer}");
    }
    let entry = wait_for_index(&client, "60005");
    assert_eq!(entry["latest"]["epoch"], 1, "the in-process lock's first epoch");
    assert_eq!(entry["latest"]["sources"], 1);

    // A pushed price joins: the median of two.
    let (status, answer) = push(&client, INTERNAL_TOKEN, price_body("60006", now_ms()));
    assert_eq!((status, &answer), (200, &json!({ "accepted": true })));
    let entry = wait_for_index(&client, "60005.5");
    assert_eq!(entry["latest"]["sources"], 2);

    let cases: [(&str, Value, &str, u16); 8] = [
        ("wrong-token", price_body("60000", now_ms()), "bad_token", 401),
        (INTERNAL_TOKEN, price_body("-1", now_ms()), "not_positive", 400),
        (INTERNAL_TOKEN, price_body("0", now_ms()), "not_positive", 400),
        (INTERNAL_TOKEN, price_body("10000000000000", now_ms()), "absurd", 400),
        (INTERNAL_TOKEN, price_body("600100", now_ms()), "absurd", 400),
        (INTERNAL_TOKEN, price_body("60000", now_ms() - 10_000), "stale", 400),
        (INTERNAL_TOKEN, price_body("60000", now_ms() + 60_000), "future", 400),
        (INTERNAL_TOKEN, json!({ "index": "BTCUSDT", "price": 1 }), "malformed", 400),
    ];
    for (token, body, reason, status_expected) in cases {
        let before = refused(&client, reason);
        let (status, answer) = push(&client, token, body.clone());
        assert_eq!(status, status_expected, "{body} -> {answer}");
        assert!(answer["msg"].as_str().is_some_and(|msg| !msg.is_empty()), "{answer}");
        assert_eq!(refused(&client, reason), before + 1, "{reason} counted once");
    }
    let mut unknown = price_body("60000", now_ms());
    unknown["index"] = json!("DOGEUSDT");
    assert_eq!(push(&client, INTERNAL_TOKEN, unknown).0, 400);
    assert_eq!(refused(&client, "unknown_index"), 1);
    // Nothing refused moved the index.
    assert_eq!(board(&client)["latest"]["price"], "60005.5");
}

#[test]
fn pushing_without_an_internal_token_configured_is_disabled() {
    let directory = tempfile::tempdir().unwrap();
    let server = ExchangeProcess::start(&sqlite_url(&directory));
    let client = HttpClient::new(&server);
    let (status, answer) = push(&client, "", price_body("60000", now_ms()));
    assert_eq!(status, 403, "{answer}");
    assert!(answer["msg"].as_str().unwrap().contains("INTERNAL_TOKEN"), "{answer}");
}

/// A local server speaking Binance's bookTicker stream: one message every 100 ms, bid and ask
/// around `mid`, until `stop` is dropped.
fn start_feed_server(mid: u32) -> (String, std::sync::mpsc::Sender<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("ws://{}/ws/btcusdt@bookTicker", listener.local_addr().unwrap());
    let (stop, stopped) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let (socket, _) = listener.accept().await.unwrap();
            let mut stream = tokio_tungstenite::accept_async(socket).await.unwrap();
            for update in 1u64.. {
                if !matches!(stopped.try_recv(), Err(std::sync::mpsc::TryRecvError::Empty)) {
                    return;
                }
                let message = json!({
                    "u": update, "s": "BTCUSDT",
                    "b": format!("{}.00", mid - 1), "B": "1.5",
                    "a": format!("{}.00", mid + 1), "A": "2.5",
                });
                let sent = stream.send(message.to_string().into()).await;
                if sent.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
    });
    (url, stop)
}

#[test]
fn an_external_feed_is_a_source_and_its_silence_makes_the_index_stale() {
    let (url, stop_feed) = start_feed_server(64_000);
    let config = std::fs::read_to_string(workspace_root().join("config/default.toml"))
        .unwrap()
        .replacen("feed_urls = []", &format!("feed_urls = [\"{url}\"]"), 1);
    let directory = tempfile::tempdir().unwrap();
    let config_path = directory.path().join("feed.toml");
    std::fs::write(&config_path, config).unwrap();
    let server = ExchangeProcess::start_with(
        &sqlite_url(&directory),
        &["--config", config_path.to_str().unwrap()],
        &[("INTERNAL_TOKEN", INTERNAL_TOKEN)],
    );
    let client = HttpClient::new(&server);
    let entry = wait_for_index(&client, "64000");
    assert_eq!(entry["latest"]["sources"], 1);
    // The gauges are refreshed every 500 ms.
    let deadline = Instant::now() + Duration::from_secs(3);
    while counter_value(&client.metrics_text(), "exchange_index_stale{index=\"BTCUSDT\"}") != 0 {
        assert!(Instant::now() < deadline, "exchange_index_stale never went to 0");
        std::thread::sleep(Duration::from_millis(100));
    }

    drop(stop_feed);
    // The feed's last quote ages past the 2 s staleness limit: no new index, stale shown.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let entry = board(&client);
        let metrics = client.metrics_text();
        let stale_metric = counter_value(&metrics, "exchange_index_stale{index=\"BTCUSDT\"}");
        let available =
            counter_value(&metrics, "exchange_index_sources_available{index=\"BTCUSDT\"}");
        if entry["stale"] == true && stale_metric == 1 && available == 0 {
            assert_eq!(
                entry["latest"]["price"], "64000",
                "the last good price is kept, marked stale"
            );
            break;
        }
        assert!(Instant::now() < deadline, "the index never went stale: {entry}");
        std::thread::sleep(Duration::from_millis(100));
    }
}
