//! The world every target runs against, built once per thread: the default configuration's
//! markets (the symbols and filters exchangeInfo lists), one registered API key, and a
//! clock that stands still at [`NOW_MS`].

use std::sync::Arc;

use actix_web::http::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use exchange::api::{
    API_KEY_HEADER, ApiCredential, ApiError, ApiMarket, ApiMarkets, ApiState, InMemoryApiKeys,
    SharedMarkets,
};
use exchange::config::Config;
use exchange_actors::model::AccountId;
use exchange_actors::ports::Clock;
use exchange_actors::supervisor::BookDirectory;

/// Binance's documented example key and secret.
pub const API_KEY: &str = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A";
pub const SECRET: &[u8] = b"NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j";
pub const ACCOUNT: AccountId = AccountId(42);
/// 2023-11-14T22:13:20Z in ms; the seeds' timestamps are near it.
pub const NOW_MS: u64 = 1_700_000_000_000;
pub const NOW_NS: u64 = NOW_MS * 1_000_000;

const DEFAULT_CONFIG: &str = include_str!("../../../config/default.toml");

#[derive(Debug)]
struct StillClock;

impl Clock for StillClock {
    fn now_ns(&self) -> u64 {
        NOW_NS
    }
}

thread_local! {
    static STATE: ApiState = build_state();
}

/// Runs `body` with the API state (markets, [`API_KEY`] of [`ACCOUNT`], the clock).
pub fn with_state<T>(body: impl FnOnce(&ApiState) -> T) -> T {
    STATE.with(body)
}

fn build_state() -> ApiState {
    let config: Config = toml::from_str(DEFAULT_CONFIG).expect("config/default.toml parses");
    let markets = config.markets().expect("the default configuration's markets are valid");
    let markets =
        markets.into_iter().map(|market| ApiMarket { spec: market.spec, ledger: market.ledger });
    let keys = InMemoryApiKeys::new();
    keys.insert(API_KEY, ApiCredential::new(ACCOUNT, SECRET)).expect("one key registers");
    ApiState {
        markets: SharedMarkets::new(ApiMarkets::new(markets)),
        books: BookDirectory::new(),
        keys,
        clock: Arc::new(StillClock),
        open_orders_per_account_max: config.accounts.open_orders_per_account_max,
    }
}

/// The headers a request sends: `Content-Type` and `X-MBX-APIKEY` when their fields are
/// non-empty and a valid header value (anything else never reaches a handler).
pub fn headers(content_type: &[u8], api_key: &[u8]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in
        [(CONTENT_TYPE, content_type), (HeaderName::from_static("x-mbx-apikey"), api_key)]
    {
        if let Ok(value) = HeaderValue::from_bytes(value)
            && !value.is_empty()
        {
            headers.insert(name, value);
        }
    }
    debug_assert!(API_KEY_HEADER.eq_ignore_ascii_case("x-mbx-apikey"));
    headers
}

/// A refusal as clients must see one: a 4xx with a negative Binance code and a message.
pub fn check_refusal(error: &ApiError) {
    assert!(error.status().is_client_error(), "{error:?} is not a client error");
    assert!(error.code() < 0, "{error:?} has no Binance code");
    assert!(!error.msg().is_empty(), "{error:?} has no message");
}
