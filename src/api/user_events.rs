//! The user data stream's events as Binance renders them (`executionReport`,
//! `balanceUpdate`, `outboundAccountPosition`), from one account's part of a committed shard
//! batch: order updates in the order applied, then deposits and withdrawals, then one
//! position of the balances that changed. Decimals are exact strings, times in ms.

use std::collections::BTreeMap;

use exchange_actors::account::{
    AccountUpdate, EntryKind, Execution, OrderStatus, OrderUpdate, Owner,
};
use exchange_actors::model::{Notional, Qty};
use serde_json::{Value, json};

use super::order_view::OrderBody;
use super::render;
use super::state::{ApiMarket, ApiMarkets};

const NANOS_PER_MILLI: u64 = 1_000_000;

/// The events for `update`, committed at `ts_ns`. An order of a market not (or no longer)
/// listed is skipped.
pub fn user_events(
    update: &AccountUpdate,
    ts_ns: u64,
    markets: &ApiMarkets,
    asset_scales: &BTreeMap<String, u32>,
) -> Vec<Value> {
    let event_ms = ts_ns / NANOS_PER_MILLI;
    let scale = |asset: &str| asset_scales.get(asset).copied().unwrap_or(0);
    let mut events = Vec::with_capacity(update.orders.len() + update.transfers.len() + 1);
    for order in &update.orders {
        let symbol = order.order.symbol.to_string();
        if let Some(market) = markets.get(&symbol) {
            events.push(execution_report(order, market, event_ms));
        }
    }
    for entry in &update.transfers {
        let asset = entry.asset.to_string();
        let amount = match entry.kind {
            EntryKind::Withdrawal => -entry.amount,
            _ => entry.amount,
        };
        events.push(json!({
            "e": "balanceUpdate", "E": event_ms, "a": asset,
            "d": render::minor_units(amount, scale(&asset)), "T": event_ms,
        }));
    }
    if !update.balances.is_empty() {
        let balances: Vec<Value> = update
            .balances
            .iter()
            .filter(|row| row.owner == Owner::User(update.account_id))
            .map(|row| {
                let asset = row.asset.to_string();
                let places = scale(&asset);
                json!({
                    "a": asset,
                    "f": render::minor_units(row.available, places),
                    "l": render::minor_units(row.held, places),
                })
            })
            .collect();
        events.push(json!({
            "e": "outboundAccountPosition", "E": event_ms, "u": event_ms, "B": balances,
        }));
    }
    events
}

fn execution_type(execution: Execution) -> &'static str {
    match execution {
        Execution::New => "NEW",
        Execution::Trade(_) => "TRADE",
        Execution::Canceled => "CANCELED",
        Execution::Expired => "EXPIRED",
        Execution::Replaced => "REPLACED",
        Execution::Rejected => "REJECTED",
    }
}

/// Binance's `executionReport` for one change of one order.
pub fn execution_report(update: &OrderUpdate, market: &ApiMarket, event_ms: u64) -> Value {
    let order = &update.order;
    let body = OrderBody::new(order, market);
    let spec = &market.spec;
    let quote_places = market.quote_precision();
    let zero_qty = render::qty(spec, Qty::ZERO);
    let zero_quote = render::with_places(rust_decimal::Decimal::ZERO, quote_places);
    let (last_qty, last_price, last_quote, commission, commission_asset, trade_id, maker) =
        match update.execution {
            Execution::Trade(fill) => {
                let quote = market.ledger.quote_amount(Notional::of(fill.price, fill.qty));
                let places = if fill.commission_asset == market.ledger.base {
                    market.base_precision()
                } else {
                    quote_places
                };
                (
                    render::qty(spec, fill.qty),
                    render::price(spec, fill.price),
                    render::minor_units(quote, quote_places),
                    render::minor_units(fill.commission, places),
                    Value::String(fill.commission_asset.to_string()),
                    i64::try_from(fill.trade_id.0).unwrap_or(i64::MAX),
                    fill.maker,
                )
            }
            _ => (
                zero_qty,
                zero_quote.clone(),
                zero_quote.clone(),
                "0".to_owned(),
                Value::Null,
                -1,
                false,
            ),
        };
    let canceled = update.execution == Execution::Canceled;
    let reject_reason = if order.status == OrderStatus::Rejected { "UNKNOWN" } else { "NONE" };
    json!({
        "e": "executionReport",
        "E": event_ms,
        "s": body.symbol,
        "c": body.client_order_id,
        "S": body.side,
        "o": body.order_type,
        "f": body.time_in_force,
        "q": body.orig_qty,
        "p": body.price,
        "P": body.stop_price,
        "F": body.iceberg_qty,
        "g": -1,
        "C": if canceled { body.client_order_id.clone() } else { String::new() },
        "x": execution_type(update.execution),
        "X": body.status,
        "r": reject_reason,
        "i": body.order_id,
        "l": last_qty,
        "z": body.executed_qty,
        "L": last_price,
        "n": commission,
        "N": commission_asset,
        "T": update.ts_ns / NANOS_PER_MILLI,
        "t": trade_id,
        "I": 0,
        "w": !order.status.is_terminal() && order.status != OrderStatus::Pending,
        "m": maker,
        "M": false,
        "O": body.time,
        "Z": body.cummulative_quote_qty,
        "Y": last_quote,
        "Q": body.orig_quote_order_qty,
        "W": body.working_time,
        "V": body.self_trade_prevention_mode,
    })
}
