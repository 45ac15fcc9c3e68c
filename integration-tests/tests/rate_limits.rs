//! The real binary with a per-key request-weight limit of 40 a minute: a burst at 10x that
//! limit from one API key gets 429 with `Retry-After` and Binance's -1003, then a 418 ban once
//! it keeps going; another key from the same IP is unaffected; every answer carries
//! `X-MBX-USED-WEIGHT-1M`; exchangeInfo's `rateLimits` shows the limits.

use integration_tests::http::{ExchangeProcess, HttpClient, Trader, now_ms, sqlite_url};
use reqwest::Method;
use serde_json::Value;

const KEY_WEIGHT_PER_MINUTE: u32 = 40;
/// `GET /api/v3/account` weighs 20: two fit in a minute.
const ACCOUNT_WEIGHT: u32 = 20;
const BAN_AFTER_REFUSALS: usize = 10;

/// One signed `GET /api/v3/account`: status, `Retry-After`, `X-MBX-USED-WEIGHT-1M`, body.
fn account(base: &str, trader: &Trader) -> (u16, Option<u64>, Option<u32>, Value) {
    let query = format!("timestamp={}", now_ms());
    let signature = exchange::api::sign(trader.secret.as_bytes(), query.as_bytes());
    let response = reqwest::blocking::Client::new()
        .get(format!("{base}/api/v3/account?{query}&signature={signature}"))
        .header("X-MBX-APIKEY", &trader.api_key)
        .send()
        .expect("request");
    let header = |name: &str| {
        response.headers().get(name).and_then(|value| value.to_str().ok()?.parse::<u64>().ok())
    };
    let retry_after = header("Retry-After");
    let used = header("X-MBX-USED-WEIGHT-1M").and_then(|used| u32::try_from(used).ok());
    let status = response.status().as_u16();
    (status, retry_after, used, response.json().expect("JSON"))
}

#[test]
fn a_burst_at_ten_times_a_keys_limit_is_refused_then_banned_while_another_key_trades_on() {
    let directory = tempfile::tempdir().expect("temp dir");
    let limit = KEY_WEIGHT_PER_MINUTE.to_string();
    let ban_after = BAN_AFTER_REFUSALS.to_string();
    let environment = [
        ("RATE_LIMIT_KEY_WEIGHT_PER_MINUTE", limit.as_str()),
        ("RATE_LIMIT_BAN_AFTER_REFUSALS", ban_after.as_str()),
        ("RATE_LIMIT_BAN_S", "300"),
    ];
    let server = ExchangeProcess::start_with_env(&sqlite_url(&directory), &environment);
    let client = HttpClient::new(&server);
    let (noisy, quiet) = (client.open_trader(), client.open_trader());

    let (status, info) = client.raw(Method::GET, "/api/v3/exchangeInfo", &[], None);
    assert_eq!(status, 200);
    let weight = info["rateLimits"]
        .as_array()
        .expect("rateLimits")
        .iter()
        .find(|limit| limit["rateLimitType"] == "REQUEST_WEIGHT")
        .expect("REQUEST_WEIGHT")
        .clone();
    assert_eq!((weight["interval"].as_str(), weight["limit"].as_u64()), (Some("MINUTE"), Some(40)));

    let burst = usize::try_from(10 * KEY_WEIGHT_PER_MINUTE / ACCOUNT_WEIGHT).expect("small");
    let answers: Vec<_> = (0..burst).map(|_| account(&server.base, &noisy)).collect();
    let statuses: Vec<u16> = answers.iter().map(|answer| answer.0).collect();
    assert_eq!(&statuses[..2], [200, 200], "{statuses:?}");
    assert_eq!(answers[0].2, Some(ACCOUNT_WEIGHT), "the used weight after one request");
    // Less if the key's budget refilled a little between the two (one weight per 1.5 s).
    assert!(answers[1].2.is_some_and(|used| used > ACCOUNT_WEIGHT), "{:?}", answers[1]);
    let limited = &answers[2..2 + BAN_AFTER_REFUSALS - 1];
    for (status, retry_after, used, body) in limited {
        assert_eq!((*status, body["code"].as_i64()), (429, Some(-1003)), "{body}");
        assert!(retry_after.is_some_and(|seconds| (1..=60).contains(&seconds)), "{retry_after:?}");
        assert_eq!(*used, Some(KEY_WEIGHT_PER_MINUTE));
        assert!(body["msg"].as_str().expect("msg").contains("40 request weight per 1 MINUTE"));
    }
    for (status, retry_after, _, body) in &answers[1 + BAN_AFTER_REFUSALS..] {
        assert_eq!((*status, body["code"].as_i64()), (418, Some(-1003)), "{body}");
        assert!(retry_after.is_some_and(|seconds| seconds > 200), "{retry_after:?}");
    }
    assert_eq!(statuses.len(), burst);

    // The other key, from the same IP, is unaffected.
    let (status, _, used, body) = account(&server.base, &quiet);
    assert_eq!(status, 200, "{body}");
    assert_eq!(used, Some(ACCOUNT_WEIGHT));
    let metrics = client.metrics_text();
    assert!(metrics.contains("exchange_rate_limited_total{status=\"429\"} 9"), "{metrics}");
    assert!(metrics.contains("exchange_rate_limited_total{status=\"418\"}"), "{metrics}");
}
