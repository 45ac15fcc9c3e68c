//! Two indexes of `orders` for the reads `orders_account_symbol_id` served only by filtering
//! every order of the account and symbol (an account with millions of orders read them all):
//!
//! - `orders_account_symbol_created` (account_id, symbol, created_at_ns, order_id): `allOrders`
//!   with `startTime`/`endTime` and no `orderId` is a keyset range on the time itself.
//! - `orders_account_symbol_client_id` (account_id, symbol, client_order_id, order_id): an
//!   ended order looked up by `origClientOrderId` (the newest with that id) is one index probe.
//!   The unique index of migration 000001 holds open orders only.

use sea_orm_migration::prelude::*;

#[derive(Debug, DeriveMigrationName)]
pub struct Migration;

/// Each index's name and columns.
const INDEXES: [(&str, [&str; 4]); 2] = [
    ("orders_account_symbol_created", ["account_id", "symbol", "created_at_ns", "order_id"]),
    ("orders_account_symbol_client_id", ["account_id", "symbol", "client_order_id", "order_id"]),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, columns) in INDEXES {
            let mut index = Index::create().name(name).table("orders").to_owned();
            for column in columns {
                index.col(column);
            }
            manager.create_index(index).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, _) in INDEXES {
            manager.drop_index(Index::drop().name(name).table("orders").to_owned()).await?;
        }
        Ok(())
    }
}
