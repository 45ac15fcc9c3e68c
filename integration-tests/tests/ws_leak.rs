//! Issue 6, leak: 10,000 connect / subscribe / disconnect cycles against the real binary
//! (SQLite, in-process bus, 127.0.0.1), run by a few concurrent clients, half closing with a
//! close frame and half dropping the TCP connection. Afterwards the sessions and subscriptions
//! gauges are back to 0 and the server's RSS is within 5% of its baseline, taken after a
//! warm-up of 500 cycles (so the allocator's first growth does not count).

use std::time::{Duration, Instant};

use futures_util::{SinkExt as _, StreamExt as _};
use integration_tests::http::{ExchangeProcess, sqlite_url};
use tokio_tungstenite::tungstenite::Message;

const WARM_UP_CYCLES: usize = 500;
const CYCLES: usize = 10_000;
const CLIENTS: usize = 16;
const SETTLE: Duration = Duration::from_secs(15);
const READ_TIMEOUT: Duration = Duration::from_secs(20);

/// One session: connects subscribed to a diff stream, subscribes to a second stream and
/// waits for the answer, then closes (even `cycle`) or drops the connection (odd).
async fn cycle(url: &str, cycle: usize) {
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.expect("ws connects");
    let request = format!(r#"{{"method":"SUBSCRIBE","params":["btcusdt@trade"],"id":{cycle}}}"#);
    socket.send(Message::text(request)).await.expect("send");
    let expected = format!(r#"{{"result":null,"id":{cycle}}}"#);
    loop {
        let frame = tokio::time::timeout(READ_TIMEOUT, socket.next())
            .await
            .expect("an answer in time")
            .expect("open")
            .expect("a valid frame");
        if let Message::Text(text) = frame
            && text.as_str() == expected
        {
            break;
        }
    }
    if cycle.is_multiple_of(2) {
        let _closed = socket.close(None).await;
    }
}

/// `count` cycles spread over `CLIENTS` concurrent loops.
async fn cycles(url: &str, first: usize, count: usize) {
    let loops = (0..CLIENTS).map(|client| async move {
        for index in (first + client..first + count).step_by(CLIENTS) {
            cycle(url, index).await;
        }
    });
    integration_tests::join_all(loops.collect()).await;
}

fn metric(text: &str, series: &str) -> f64 {
    text.lines().find_map(|line| line.strip_prefix(series)?.trim().parse().ok()).unwrap_or(0.0)
}

/// Waits until the sessions and subscriptions gauges read 0; panics after `SETTLE`.
async fn gauges_back_to_zero(client: &reqwest::Client, base: &str) {
    let deadline = Instant::now() + SETTLE;
    loop {
        let text = client.get(format!("{base}/metrics")).send().await.unwrap().text().await;
        let text = text.unwrap();
        let gauges =
            (metric(&text, "exchange_ws_sessions "), metric(&text, "exchange_ws_subscriptions "));
        if gauges == (0.0, 0.0) {
            return;
        }
        assert!(Instant::now() < deadline, "sessions, subscriptions still {gauges:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[test]
fn connect_subscribe_disconnect_cycles_leave_no_session_and_no_memory() {
    let directory = tempfile::tempdir().unwrap();
    let server = ExchangeProcess::start(&sqlite_url(&directory));
    let url = format!("{}/ws/btcusdt@depth", server.base.replacen("http://", "ws://", 1));
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let client = reqwest::Client::new();
    runtime.block_on(async {
        cycles(&url, 0, WARM_UP_CYCLES).await;
        gauges_back_to_zero(&client, &server.base).await;
        let baseline = server.rss_kib();
        let started = Instant::now();
        cycles(&url, WARM_UP_CYCLES, CYCLES).await;
        let took = started.elapsed();
        gauges_back_to_zero(&client, &server.base).await;
        // Freed memory may take a moment to be returned (sessions stop asynchronously).
        let deadline = Instant::now() + SETTLE;
        let mut rss = server.rss_kib();
        while rss * 100 > baseline * 105 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(250)).await;
            rss = server.rss_kib();
        }
        println!(
            "{CYCLES} cycles in {:.1} s; server RSS baseline {baseline} KiB, after {rss} KiB",
            took.as_secs_f64()
        );
        assert!(rss * 100 <= baseline * 105, "RSS {rss} KiB vs baseline {baseline} KiB");
    });
}
