//! An in-process exchange (all actors, real journal) on a fresh test database, with helpers
//! to fund accounts, place orders and wait until every shard has applied every book event.

use std::time::Duration;

use exchange::bus::BusSettings;
use exchange::config::Config;
use exchange::system::ExchangeSystem;
use exchange_actors::account::PlaceRequest;
use exchange_actors::account::actor::{
    AuditShard, OpenAccount, PlaceOrders, PlacedOrder, ShardAudit, ShardError, Transfer,
    TransferDirection,
};
use exchange_actors::book::actor::GetDepth;
use exchange_actors::model::{
    AccountId, AssetCode, ClientOrderId, OrderQuantity, OrderType, Price, Qty, SelfTradePrevention,
    Side, SymbolCode, TimeInForce,
};

use crate::db::{Backend, TestDatabase};
use crate::workspace_root;

pub fn default_config() -> Config {
    Config::load(&workspace_root().join("config/default.toml")).expect("default config loads")
}

/// The exchange and the database it runs on (dropped together).
#[derive(Debug)]
pub struct TestExchange {
    pub system: ExchangeSystem,
    pub database: TestDatabase,
}

impl TestExchange {
    pub async fn start(backend: Backend) -> TestExchange {
        TestExchange::start_with_bus(backend, &BusSettings::InProcess).await
    }

    /// On the bus `bus` says (RabbitMQ: its tasks run on the calling runtime).
    pub async fn start_with_bus(backend: Backend, bus: &BusSettings) -> TestExchange {
        TestExchange::start_with_config(backend, &default_config(), bus).await
    }

    /// With `config` instead of the default configuration.
    pub async fn start_with_config(
        backend: Backend,
        config: &Config,
        bus: &BusSettings,
    ) -> TestExchange {
        let database = TestDatabase::create(backend).await;
        let system = ExchangeSystem::start_on_with_bus(config, database.store().await, bus)
            .await
            .expect("exchange starts");
        TestExchange { system, database }
    }

    /// Opens `account` and deposits `amounts` (asset, minor units).
    pub async fn fund(&self, account: u64, amounts: &[(&str, i128)]) {
        let shard = self.system.shard(AccountId(account));
        shard.send(OpenAccount(AccountId(account))).await.unwrap().expect("account opens");
        for (asset, amount) in amounts {
            let transfer = Transfer {
                direction: TransferDirection::Deposit,
                account_id: AccountId(account),
                asset: AssetCode::new(asset).unwrap(),
                amount: *amount,
                reference: 0,
            };
            shard.send(transfer).await.unwrap().expect("deposit");
        }
    }

    pub async fn place(&self, request: PlaceRequest) -> Result<PlacedOrder, ShardError> {
        let shard = self.system.shard(request.account_id);
        let mut answers = shard.send(PlaceOrders(vec![request])).await.expect("shard alive");
        answers.pop().expect("one answer per request")
    }

    /// Places `requests` of one account in one message (one shard batch, one book message).
    pub async fn place_many(
        &self,
        requests: Vec<PlaceRequest>,
    ) -> Vec<Result<PlacedOrder, ShardError>> {
        let account = requests.first().expect("at least one request").account_id;
        assert!(requests.iter().all(|request| request.account_id == account));
        self.system.shard(account).send(PlaceOrders(requests)).await.expect("shard alive")
    }

    /// Projects every shard's journaled batches into `orders` and `ledger_entries` now (the
    /// projector trails commits), for checks that read those tables.
    pub async fn finish_projections(&self) {
        for shard_index in 0..self.system.shards.len() {
            let shard_index = u16::try_from(shard_index).expect("shard index fits u16");
            self.system.store.finish_projection(shard_index).await.expect("projection finishes");
        }
    }

    /// Waits until every shard's watermark has reached every book's last event and its
    /// changes are committed; returns the audits (each shard's invariants hold, or this
    /// panics).
    pub async fn settle(&self) -> Vec<ShardAudit> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(audits) = self.settled().await {
                return audits;
            }
            assert!(tokio::time::Instant::now() < deadline, "shards did not catch up in 30 s");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// The audits, if every shard has applied every book event and committed its changes.
    pub async fn settled(&self) -> Option<Vec<ShardAudit>> {
        let mut last_seqs = Vec::new();
        for symbol in self.system.directory.symbols() {
            let book = self.system.directory.book(&symbol).expect("book");
            // GetDepth, not GetBookView: the latter hashes the whole book on every poll.
            let depth = book.send(GetDepth { levels_max: 0 }).await.expect("book alive");
            last_seqs.push((SymbolCode::new(&symbol).unwrap(), depth.last_event_seq));
        }
        let mut audits = Vec::new();
        for shard in self.system.shards.all() {
            let audit = shard.send(AuditShard).await.expect("shard alive");
            audits.push(audit.unwrap_or_else(|violation| panic!("invariant: {violation}")));
        }
        let settled = audits.iter().all(|audit| {
            !audit.busy
                && last_seqs.iter().all(|(symbol, seq)| {
                    audit.watermarks.iter().any(|(s, w)| s == symbol && w == seq)
                })
        });
        settled.then_some(audits)
    }
}

/// A limit GTC order request.
pub fn limit(
    symbol: &str,
    account: u64,
    side: Side,
    price_ticks: i64,
    qty_lots: u64,
    client_order_id: &str,
) -> PlaceRequest {
    PlaceRequest {
        symbol: SymbolCode::new(symbol).unwrap(),
        account_id: AccountId(account),
        client_order_id: ClientOrderId::new(client_order_id).unwrap(),
        side,
        order_type: OrderType::Limit,
        time_in_force: TimeInForce::Gtc,
        price: Some(Price(price_ticks)),
        quantity: OrderQuantity::Base(Qty(qty_lots)),
        self_trade_prevention: SelfTradePrevention::None,
        reduce_only: false,
        ts_ns: 0,
    }
}
