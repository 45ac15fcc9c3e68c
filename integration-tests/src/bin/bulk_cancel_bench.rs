//! Bulk cancel of one account's `--orders` resting orders in one request (issue 7), in one
//! process through the trading core's actors, journal on SQLite or PostgreSQL (a fresh database
//! per run).
//!
//! `cargo run --release -p integration-tests --bin bulk_cancel_bench -- --backend sqlite`
//!
//! Each of `--runs` rounds: one market maker places `--orders` resting orders on BTCUSDT
//! (`accounts.open_orders_per_account_max` raised to allow them), then the clock starts and the
//! actor messages `DELETE /api/v3/openOrders` (without a symbol: every symbol) sends are sent:
//! the shard's markets with open orders, then one `CancelAll` per symbol straight to its book.
//! The clock stops when every book has answered (its cancels journaled, its events published)
//! and the shards have applied every event and committed (the maker's holds released,
//! journaled). HTTP parsing and rendering the answer are not included, nor the projection of
//! the shard's batch into `orders` and `ledger_entries` rows (behind the commit, as always).

use std::time::{Duration, Instant};

use clap::Parser;
use exchange::bus::BusSettings;
use exchange_actors::account::actor::{GetBalances, GetOpenSymbols};
use exchange_actors::book::actor::SubmitCommands;
use exchange_actors::model::{AccountId, BookCommand, CancelAccountOrders, EventKind, Side};
use integration_tests::db::Backend;
use integration_tests::load::fund_generously;
use integration_tests::system::{TestExchange, default_config, limit};

#[derive(Debug, Parser)]
struct Args {
    /// sqlite or postgres
    #[arg(long, default_value = "sqlite")]
    backend: String,
    #[arg(long, default_value_t = 100_000)]
    orders: usize,
    #[arg(long, default_value_t = 3)]
    runs: usize,
}

const SYMBOL: &str = "BTCUSDT";
const MAKER: u64 = 1;
/// Orders one placement message carries (a shard forwards at most 1,024 per book message).
const PLACE_CHUNK: usize = 1_000;
const LEVELS: usize = 1_000;

async fn rest_orders(exchange: &TestExchange, count: usize) {
    let requests: Vec<_> = (0..count)
        .map(|index| {
            let (side, price) = if index % 2 == 0 {
                (Side::Buy, 4_990_000 - i64::try_from(index % LEVELS).expect("small"))
            } else {
                (Side::Sell, 5_010_000 + i64::try_from(index % LEVELS).expect("small"))
            };
            limit(SYMBOL, MAKER, side, price, 100, "")
        })
        .collect();
    for chunk in requests.chunks(PLACE_CHUNK) {
        for placed in exchange.place_many(chunk.to_vec()).await {
            let placed = placed.expect("placed");
            assert!(placed.outcome.result.is_ok(), "rests: {:?}", placed.outcome);
        }
    }
    exchange.settle().await;
}

/// Cancels every open order of the maker as the per-account cancel-all does; answers how many
/// were canceled and the elapsed time until the books answered.
async fn cancel_everything(exchange: &TestExchange) -> (usize, Duration) {
    let account_id = AccountId(MAKER);
    let started = Instant::now();
    let symbols = exchange
        .system
        .shard(account_id)
        .send(GetOpenSymbols { account_id })
        .await
        .expect("shard alive");
    let mut canceled = 0;
    for symbol in symbols {
        let book = exchange.system.directory.book(symbol.as_str()).expect("book");
        let command = BookCommand::CancelAll(CancelAccountOrders { account_id });
        let outcomes =
            book.send(SubmitCommands(vec![command])).await.expect("book alive").expect("journaled");
        canceled += outcomes[0]
            .events
            .iter()
            .filter(|event| matches!(event.kind, EventKind::Canceled(_)))
            .count();
    }
    (canceled, started.elapsed())
}

/// Waits until the maker holds nothing any more (the shard applied every cancel), then until
/// every shard has committed every event; answers when, after `started`. Balances first: an
/// audit walks the whole shard, too slow to poll while 100,000 orders are open.
async fn settled_after(exchange: &TestExchange, started: Instant) -> Duration {
    let deadline = started + Duration::from_secs(60);
    let shard = exchange.system.shard(AccountId(MAKER));
    loop {
        let balances = shard.send(GetBalances(AccountId(MAKER))).await.expect("shard alive");
        if balances.expect("account exists").iter().all(|(_, balance)| balance.held == 0) {
            break;
        }
        assert!(Instant::now() < deadline, "holds not released in 60 s");
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
    loop {
        if exchange.settled().await.is_some() {
            return started.elapsed();
        }
        assert!(Instant::now() < deadline, "shards did not settle in 60 s");
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
}

fn main() {
    let args = Args::parse();
    let backend = Backend::named(&args.backend);
    let mut config = default_config();
    config.accounts.open_orders_per_account_max = args.orders;
    actix::System::new().block_on(async move {
        let exchange =
            TestExchange::start_with_config(backend, &config, &BusSettings::InProcess).await;
        fund_generously(&exchange, MAKER).await;
        let mut totals_ms = Vec::new();
        for run in 1..=args.runs {
            rest_orders(&exchange, args.orders).await;
            // The placements' rows are projected before the clock starts: on SQLite a
            // projection step holds the one writer, and what is measured is the cancel.
            exchange.finish_projections().await;
            let started = Instant::now();
            let (canceled, books_answered) = cancel_everything(&exchange).await;
            let settled = settled_after(&exchange, started).await;
            assert_eq!(canceled, args.orders, "every resting order canceled");
            println!(
                "{} run {run}: {canceled} orders canceled; books answered after {} ms, holds \
                 released and committed after {} ms",
                args.backend,
                books_answered.as_millis(),
                settled.as_millis()
            );
            totals_ms.push(settled.as_millis());
        }
        totals_ms.sort_unstable();
        println!("{} median: {} ms", args.backend, totals_ms[totals_ms.len() / 2]);
    });
}
