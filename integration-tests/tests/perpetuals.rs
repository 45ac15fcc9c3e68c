//! A linear perpetual (`BTCUSDT_PERP` of config/default.toml) through the real binary, on SQLite
//! and on PostgreSQL: a long and a short open, the index moves, a reduce-only partial close
//! realizes PnL into USDT, funding (a 2 s interval) moves USDT from the longs to the short
//! while a market maker's quotes put the mark above the index, reduce-only orders that would
//! increase or flip a position are refused with -2022, `kill -9` and a restart restore every
//! position and balance exactly, and reconciliation finds nothing wrong. The index is pushed
//! to `POST /internal/index/prices` every 200 ms (its only source: the spot book is empty).

use std::time::{Duration, Instant};

use integration_tests::db::{Backend, TestDatabase};
use integration_tests::http::{ExchangeProcess, HttpClient, Trader};
use integration_tests::perpetual::{
    INTERNAL_TOKEN, IndexPusher, PERP, WAIT, amount_is, minor, order, position,
    reconciliation_is_clean, usdt, wait_position,
};
use reqwest::Method;
use serde_json::{Value, json};

fn start(database_url: &str, funding_interval_ms: &str) -> ExchangeProcess {
    ExchangeProcess::start_with_env(
        database_url,
        &[("INTERNAL_TOKEN", INTERNAL_TOKEN), ("FUNDING_INTERVAL_MS", funding_interval_ms)],
    )
}

/// The fields a restart must restore exactly (not the mark-dependent ones).
fn restored_fields(position: &Value) -> Value {
    json!([
        position["positionAmt"],
        position["entryPrice"],
        position["realizedPnl"],
        position["fundingPnl"]
    ])
}

fn perpetual_round_trip(backend: Backend) {
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let database = runtime.block_on(TestDatabase::create(backend));
    let started = Instant::now();
    let phase = |name: &str| eprintln!("{backend:?} {name} at {:?}", started.elapsed());
    let server = start(&database.url, "2000");
    phase("started");
    let client = HttpClient::new(&server);
    let pusher = IndexPusher::start(&client, "50000");
    let [alice, bob, carol, dave]: [Trader; 4] =
        std::array::from_fn(|_| client.funded_trader("USDT", "100000"));

    // Spot clients do not see the perpetual.
    let (status, info) = client.raw(Method::GET, "/api/v3/exchangeInfo", &[], None);
    assert_eq!(status, 200);
    let listed: Vec<&str> =
        info["symbols"].as_array().unwrap().iter().map(|s| s["symbol"].as_str().unwrap()).collect();
    assert!(listed.contains(&"BTCUSDT") && !listed.contains(&PERP), "{listed:?}");

    // Alice bids 1 BTC at 50,000 and holds 5% of it (2,500 USDT) as margin, not BTC.
    let (status, answer) =
        order(&client, &alice, "side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=50000");
    assert_eq!(status, 200, "{answer}");
    assert_eq!(usdt(&client, &alice), (minor("97500"), minor("2500")));
    // Bob sells into it: long 1 and short 1.
    let (status, answer) =
        order(&client, &bob, "side=SELL&type=LIMIT&timeInForce=GTC&quantity=1&price=50000");
    assert_eq!(status, 200, "{answer}");
    let long = wait_position(&client, &alice, "alice long", |p| amount_is(p, "1"));
    assert_eq!(long["entryPrice"], "50000");
    assert_eq!(long["marginType"], "cross");
    wait_position(&client, &bob, "bob short", |p| amount_is(p, "-1"));
    phase("long and short open");

    // Reduce-only orders that would increase or flip a position, or open one, are refused.
    for (trader, params) in [
        (&bob, "side=SELL&type=LIMIT&timeInForce=GTC&quantity=0.1&price=60000&reduceOnly=true"),
        (&alice, "side=SELL&type=LIMIT&timeInForce=GTC&quantity=1.001&price=60000&reduceOnly=true"),
        (&carol, "side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.1&price=40000&reduceOnly=true"),
    ] {
        let (status, answer) = order(&client, trader, params);
        assert_eq!((status, answer["code"].as_i64()), (400, Some(-2022)), "{params}: {answer}");
        assert_eq!(answer["msg"], "ReduceOnly Order is rejected.");
    }

    phase("reduce-only refused");
    // The index rises to 51,000; Alice closes 0.4 to Carol's bid: +400 USDT realized.
    pusher.set("51000");
    let alice_before = usdt(&client, &alice);
    order(&client, &carol, "side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.4&price=51000");
    let (status, answer) = order(
        &client,
        &alice,
        "side=SELL&type=LIMIT&timeInForce=GTC&quantity=0.4&price=51000&reduceOnly=true",
    );
    assert_eq!(status, 200, "{answer}");
    let partial = wait_position(&client, &alice, "alice partial close", |p| amount_is(p, "0.6"));
    assert_eq!((&partial["entryPrice"], &partial["realizedPnl"]), (&json!("50000"), &json!("400")));
    // +400 realized, less the taker fee of 0.05% on 20,400 (10.2 USDT); nothing held.
    assert_eq!(usdt(&client, &alice), (alice_before.0 + minor("400") - minor("10.2"), 0));

    phase("partial close realized");
    // Dave quotes 51,200 / 51,400: the mid is 0.6% above the index, the mark 0.5% (its band):
    // funding at up to 0.5% per 2 s interval, the longs (Alice, Carol) paying the short (Bob).
    order(&client, &dave, "side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.1&price=51200");
    order(&client, &dave, "side=SELL&type=LIMIT&timeInForce=GTC&quantity=0.1&price=51400");
    let funded = wait_position(&client, &bob, "bob receives funding", |p| {
        p["fundingPnl"].as_str().is_some_and(|funding| minor(funding) > 0)
    });
    assert!(funded["markPrice"] == "51255", "mark is the mid clamped to the band: {funded}");
    let (status, _) =
        client.signed(&dave, Method::DELETE, "/api/v3/openOrders", &format!("symbol={PERP}"));
    assert_eq!(status, 200);
    // Without quotes the premium is 0: funding stops changing within two intervals.
    let funding =
        |trader: &Trader| minor(position(&client, trader)["fundingPnl"].as_str().unwrap());
    let deadline = Instant::now() + WAIT;
    let mut last = (0, 0, 0);
    loop {
        std::thread::sleep(Duration::from_millis(4_500));
        let now = (funding(&alice), funding(&bob), funding(&carol));
        if now == last {
            break;
        }
        last = now;
        assert!(Instant::now() < deadline, "funding keeps moving: {now:?}");
    }
    eprintln!("{backend:?} funding (alice, bob, carol) in USDT minor units: {last:?}");
    let (alice_funding, bob_funding, carol_funding) = last;
    assert!(alice_funding < 0 && carol_funding < 0 && bob_funding > 0, "{last:?}");
    // The short received what the longs paid, less the rounding the insurance fund keeps.
    let paid = -(alice_funding + carol_funding);
    assert!(bob_funding <= paid && paid - bob_funding < 100, "{last:?}");

    phase("funding settled");
    // kill -9 and a restart (a long funding interval: nothing more is paid) restore it all.
    let traders = [&alice, &bob, &carol, &dave];
    let before: Vec<(Value, (i128, i128))> = traders
        .iter()
        .map(|trader| (restored_fields(&position(&client, trader)), usdt(&client, trader)))
        .collect();
    drop(pusher);
    server.kill();
    let server = start(&database.url, "3600000");
    let client = HttpClient::new(&server);
    let after: Vec<(Value, (i128, i128))> = traders
        .iter()
        .map(|trader| (restored_fields(&position(&client, trader)), usdt(&client, trader)))
        .collect();
    assert_eq!(after, before);
    phase("restored");
    reconciliation_is_clean(&client);
    phase("reconciled");
    drop(server);
}

#[test]
fn sqlite_perpetual_positions_pnl_funding_and_restart() {
    perpetual_round_trip(Backend::Sqlite);
}

#[test]
fn postgres_perpetual_positions_pnl_funding_and_restart() {
    perpetual_round_trip(Backend::Postgres);
}
