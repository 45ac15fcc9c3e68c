//! Database schema, one migration file per change, each with `up` and `down`.
//!
//! The same migrations run on PostgreSQL (production) and SQLite (the embedded default), so every
//! migration sticks to the portable subset sea-query emits for both. `exchange migrate` and
//! `exchange serve` run [`Migrator`]. The journal, ledger and history tables arrive with the
//! actors (issue 3); until then the list is empty and `up` is a no-op that still creates
//! sea-orm's bookkeeping table.

pub use sea_orm_migration::prelude::*;

/// Every migration of the exchange, in the order they apply.
#[derive(Debug)]
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        Vec::new()
    }
}
