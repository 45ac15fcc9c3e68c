//! `ledger_entries` becomes append-only like `admin_audit`: a trigger on each backend refuses
//! UPDATE and DELETE, so a mistake can only be answered by a new entry that references it
//! (`POST /admin/corrections`). The projector only inserts (`ON CONFLICT DO NOTHING`, which
//! fires no update trigger).

use sea_orm_migration::prelude::*;

use crate::append_only::{allow_update_and_delete, forbid_update_and_delete};

#[derive(Debug, DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        forbid_update_and_delete(manager, "ledger_entries").await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        allow_update_and_delete(manager, "ledger_entries").await
    }
}
