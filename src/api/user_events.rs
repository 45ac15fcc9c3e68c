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

#[cfg(test)]
mod tests {
    use exchange_actors::account::{
        BalanceRow, FillReport, LedgerEntry, Leg, OrderStatus, SystemAccount,
    };
    use exchange_actors::model::{AssetCode, Price, TradeId};

    use super::*;
    use crate::api::testing::{markets, order_record};

    fn asset(code: &str) -> AssetCode {
        AssetCode::new(code).unwrap()
    }

    #[test]
    fn a_fill_a_deposit_and_the_position_render_as_binance() {
        let mut order = order_record(7, 1_000, OrderStatus::PartiallyFilled);
        order.executed_qty = Qty(40);
        order.cumulative_quote = 4_000_000;
        let fill = FillReport {
            trade_id: TradeId(3),
            price: Price(10_000),
            qty: Qty(40),
            commission: -2,
            commission_asset: asset("BTC"),
            maker: true,
        };
        let account_id = order.account_id;
        let user = Leg::available(Owner::User(account_id));
        let update = AccountUpdate {
            account_id,
            orders: vec![OrderUpdate {
                order,
                execution: Execution::Trade(fill),
                ts_ns: 2_000_000_000,
            }],
            transfers: vec![LedgerEntry {
                entry_id: 1,
                asset: asset("USDT"),
                amount: 150_000_000,
                debit: user,
                credit: Leg::system(SystemAccount::External),
                kind: EntryKind::Withdrawal,
                order_id: None,
                symbol: None,
                event_seq: None,
                trade_id: None,
                reference: 0,
            }],
            balances: vec![BalanceRow {
                owner: Owner::User(account_id),
                asset: asset("USDT"),
                available: 123_456_789,
                held: 1,
            }],
        };
        let scales = BTreeMap::from([("BTC".to_owned(), 8), ("USDT".to_owned(), 8)]);
        let events = user_events(&update, 3_000_000_000, &markets(), &scales);
        let [report, withdrawal, position] = &events[..] else { panic!("{events:?}") };
        let picked: Vec<&Value> =
            ["e", "E", "x", "X", "i", "l", "z", "L", "Z", "Y", "n", "N", "t", "T", "m", "w", "O"]
                .iter()
                .map(|field| &report[*field])
                .collect();
        assert_eq!(
            picked,
            [
                &json!("executionReport"),
                &json!(3_000),
                &json!("TRADE"),
                &json!("PARTIALLY_FILLED"),
                &json!(7),
                &json!("0.00040"),
                &json!("0.00040"),
                &json!("100.00"),
                &json!("0.04000000"),
                &json!("0.04000000"),
                &json!("-0.00000002"),
                &json!("BTC"),
                &json!(3),
                &json!(2_000),
                &json!(true),
                &json!(true),
                &json!(1_000),
            ]
        );
        assert_eq!(
            withdrawal,
            &json!({"e":"balanceUpdate","E":3_000,"a":"USDT","d":"-1.50000000","T":3_000})
        );
        assert_eq!(
            position,
            &json!({"e":"outboundAccountPosition","E":3_000,"u":3_000,
                "B":[{"a":"USDT","f":"1.23456789","l":"0.00000001"}]})
        );
    }

    #[test]
    fn a_cancel_names_the_original_id_and_has_no_fill() {
        let order = order_record(8, 1_000, OrderStatus::Canceled);
        let update = OrderUpdate { order, execution: Execution::Canceled, ts_ns: 5_000_000 };
        let markets = markets();
        let report = execution_report(&update, markets.get("BTCUSDT").unwrap(), 6);
        assert_eq!(
            (&report["x"], &report["X"], &report["w"]),
            (&json!("CANCELED"), &json!("CANCELED"), &json!(false))
        );
        assert_eq!(
            (&report["l"], &report["N"], &report["t"]),
            (&json!("0.00000"), &Value::Null, &json!(-1))
        );
        assert_eq!(report["C"], report["c"]);
    }
}
