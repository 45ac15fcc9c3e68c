//! On PostgreSQL, the two per-account indexes of `trades` carry every other column
//! (`INCLUDE`), so a `myTrades` page is an index-only scan of consecutive leaf pages instead of
//! one heap page per row: at 5 million trades a page of 500 went from ~4.4 ms (334 random heap
//! reads) to ~0.25 ms of server time. The keys are unchanged, so every plan that used the old
//! indexes uses these. SQLite has no `INCLUDE`; its indexes stay as migration 000004 made them.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(Debug, DeriveMigrationName)]
pub struct Migration;

/// Each index's name, key and the columns carried besides (the rest of the table).
const INDEXES: [(&str, [&str; 3], [&str; 10]); 2] = [
    (
        "trades_maker_account",
        ["maker_account_id", "symbol", "trade_id"],
        [
            "seq",
            "time_ms",
            "price",
            "qty",
            "buyer_is_maker",
            "maker_order_id",
            "taker_order_id",
            "taker_account_id",
            "maker_fee",
            "taker_fee",
        ],
    ),
    (
        "trades_taker_account",
        ["taker_account_id", "symbol", "trade_id"],
        [
            "seq",
            "time_ms",
            "price",
            "qty",
            "buyer_is_maker",
            "maker_order_id",
            "maker_account_id",
            "taker_order_id",
            "maker_fee",
            "taker_fee",
        ],
    ),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        rebuild(manager, true).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        rebuild(manager, false).await
    }
}

/// Replaces each index by the same key with (`covering`) or without the carried columns.
async fn rebuild(manager: &SchemaManager<'_>, covering: bool) -> Result<(), DbErr> {
    if manager.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    for (name, key, carried) in INDEXES {
        manager.drop_index(Index::drop().name(name).table("trades").to_owned()).await?;
        let mut index = Index::create().name(name).table("trades").to_owned();
        for column in key {
            index.col(column);
        }
        if covering {
            for column in carried {
                index.include(column);
            }
        }
        manager.create_index(index).await?;
    }
    Ok(())
}
