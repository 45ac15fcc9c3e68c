//! Database schema, one migration file per change, each with `up` and `down`.
//!
//! The same migrations run on PostgreSQL (production) and SQLite (the embedded default), so every
//! migration sticks to the portable subset sea-query emits for both. `exchange migrate` and
//! `exchange serve` run [`Migrator`].

pub use sea_orm_migration::prelude::*;

mod append_only;

pub mod m20261121_000001_journal;
pub mod m20261121_000002_admin;
pub mod m20261121_000003_shard_batches;
pub mod m20261121_000004_trades;
pub mod m20261121_000005_symbols;
pub mod m20261121_000006_order_lookups;
pub mod m20261121_000007_covering_trade_lookups;
pub mod m20261121_000009_switch_changes;
pub mod m20261121_000010_append_only_ledger;
pub mod m20261121_000011_positions;
pub mod m20261121_000012_liquidations;

/// Every migration of the exchange, in the order they apply.
#[derive(Debug)]
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261121_000001_journal::Migration),
            Box::new(m20261121_000002_admin::Migration),
            Box::new(m20261121_000003_shard_batches::Migration),
            Box::new(m20261121_000004_trades::Migration),
            Box::new(m20261121_000005_symbols::Migration),
            Box::new(m20261121_000006_order_lookups::Migration),
            Box::new(m20261121_000007_covering_trade_lookups::Migration),
            Box::new(m20261121_000009_switch_changes::Migration),
            Box::new(m20261121_000010_append_only_ledger::Migration),
            Box::new(m20261121_000011_positions::Migration),
            Box::new(m20261121_000012_liquidations::Migration),
        ]
    }
}
