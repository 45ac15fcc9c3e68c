//! Trade history and klines, written by the history consumer (one transaction per batch,
//! with its watermark in `consumer_watermarks`).
//!
//! - `trades`: one row per trade, unique by (symbol, trade_id); the maker's and taker's
//!   order, account and fee (minor units of the asset each received; negative is a rebate).
//!   Indexes: per account and symbol by trade id for each side (myTrades reads two keyset
//!   ranges and merges them), per order for each side (myTrades by orderId), and per symbol
//!   by time (time bounds resolve to trade ids).
//! - `klines`: one row per (symbol, interval, open time), every interval from 1m to 1M, so
//!   klines over any range are an indexed range read; volumes are exact integers (lots and
//!   notional units) stored as decimal text, since a month's notional can pass BIGINT.

use sea_orm_migration::prelude::*;

#[derive(Debug, DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.create_table(trades()).await?;
        manager.create_table(klines()).await?;
        let indexes = [
            ("trades_maker_account", ["maker_account_id", "symbol", "trade_id"]),
            ("trades_taker_account", ["taker_account_id", "symbol", "trade_id"]),
            ("trades_maker_order", ["maker_order_id", "symbol", "trade_id"]),
            ("trades_taker_order", ["taker_order_id", "symbol", "trade_id"]),
            ("trades_symbol_time", ["symbol", "time_ms", "trade_id"]),
        ];
        for (name, columns) in indexes {
            let mut index = Index::create().name(name).table("trades").to_owned();
            for column in columns {
                index.col(column);
            }
            manager.create_index(index).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["klines", "trades"] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}

fn trades() -> TableCreateStatement {
    Table::create()
        .table("trades")
        .col(ColumnDef::new("symbol").text().not_null())
        .col(ColumnDef::new("trade_id").big_integer().not_null())
        .col(ColumnDef::new("seq").big_integer().not_null())
        .col(ColumnDef::new("time_ms").big_integer().not_null())
        .col(ColumnDef::new("price").big_integer().not_null())
        .col(ColumnDef::new("qty").big_integer().not_null().check(Expr::col("qty").gt(0)))
        .col(ColumnDef::new("buyer_is_maker").boolean().not_null())
        .col(ColumnDef::new("maker_order_id").big_integer().not_null())
        .col(ColumnDef::new("maker_account_id").big_integer().not_null())
        .col(ColumnDef::new("taker_order_id").big_integer().not_null())
        .col(ColumnDef::new("taker_account_id").big_integer().not_null())
        .col(ColumnDef::new("maker_fee").big_integer().not_null())
        .col(ColumnDef::new("taker_fee").big_integer().not_null())
        .primary_key(Index::create().col("symbol").col("trade_id"))
        .to_owned()
}

fn klines() -> TableCreateStatement {
    Table::create()
        .table("klines")
        .col(ColumnDef::new("symbol").text().not_null())
        .col(ColumnDef::new("interval").text().not_null())
        .col(ColumnDef::new("open_time_ms").big_integer().not_null())
        .col(ColumnDef::new("open").big_integer().not_null())
        .col(ColumnDef::new("high").big_integer().not_null())
        .col(ColumnDef::new("low").big_integer().not_null())
        .col(ColumnDef::new("close").big_integer().not_null())
        .col(ColumnDef::new("volume").text().not_null())
        .col(ColumnDef::new("quote_volume").text().not_null())
        .col(ColumnDef::new("trade_count").big_integer().not_null())
        .col(ColumnDef::new("taker_buy_volume").text().not_null())
        .col(ColumnDef::new("taker_buy_quote_volume").text().not_null())
        .col(ColumnDef::new("first_trade_id").big_integer().not_null())
        .col(ColumnDef::new("last_trade_id").big_integer().not_null())
        .primary_key(Index::create().col("symbol").col("interval").col("open_time_ms"))
        .to_owned()
}
