//! The kill switches at the gateway. Every new order, from REST (`order`, `batchOrders`,
//! `order/cancelReplace`) and the WebSocket API alike, enters through
//! [`place_orders`](super::placing::place_orders), and every cancel through
//! [`submit`](super::placing::submit); both ask here first, so a refused request never reaches
//! a shard or a book. Refusals are counted in `exchange_kill_switch_refusals_total{action}`.

use std::num::NonZeroU32;

use exchange_actors::account::PlaceRequest;
use exchange_actors::market::actor::GetTickers;
use exchange_actors::model::{BookCommand, OrderType, SymbolCode};

use super::core::TradingCore;
use super::errors::ApiError;
use super::order_view::type_name;
use crate::control::{Action, Refusal, Switches};

/// Requests the kill switches refused, by `action` (`new_order`, `cancel`, `transfer`,
/// `market_data`, `symbol_rate`).
pub const KILL_SWITCH_REFUSALS_TOTAL: &str = "exchange_kill_switch_refusals_total";

fn refused(refusal: Refusal) -> ApiError {
    let action = match &refusal {
        Refusal::Mode { action: Action::Cancel, .. } => "cancel",
        Refusal::Mode { action: Action::MarketData, .. } => "market_data",
        Refusal::Mode { action: Action::Transfer, .. } | Refusal::WithdrawalsDisabled => "transfer",
        Refusal::Mode { action: Action::NewOrder, .. }
        | Refusal::OrderTypeDisabled { .. }
        | Refusal::PriceProtection { .. } => "new_order",
    };
    metrics::counter!(KILL_SWITCH_REFUSALS_TOTAL, "action" => action).increment(1);
    refusal.into()
}

/// One verdict per request, in order. The last trade price is asked of the market data only
/// for limit orders on symbols with price protection on.
pub async fn check_new_orders(
    core: &TradingCore,
    requests: &[PlaceRequest],
) -> Vec<Result<(), ApiError>> {
    let switches = core.switches.current();
    let mut verdicts = Vec::with_capacity(requests.len());
    for request in requests {
        let symbol = request.symbol.as_str();
        let last = match request.price {
            Some(_) if protected(&switches, symbol) => last_price(core, request.symbol).await,
            _ => None,
        };
        let price_and_last = request.price.zip(last).map(|(price, last)| (price.0, last));
        let verdict =
            switches.check_new_order(symbol, type_name(request.order_type), price_and_last);
        let verdict = verdict
            .map_err(refused)
            .and_then(|()| symbol_rate(core, &switches, symbol, request.account_id.0));
        verdicts.push(verdict);
    }
    verdicts
}

/// The symbol's order-rate override, if it has one: 429 (-1003) with `Retry-After`.
fn symbol_rate(
    core: &TradingCore,
    switches: &Switches,
    symbol: &str,
    account: u64,
) -> Result<(), ApiError> {
    let Some(per_minute) = switches
        .symbol(symbol)
        .and_then(|own| own.request_weight_per_minute)
        .and_then(NonZeroU32::new)
    else {
        return Ok(());
    };
    core.symbol_limits.check(symbol, per_minute, account).map_err(|retry_after_s| {
        metrics::counter!(KILL_SWITCH_REFUSALS_TOTAL, "action" => "symbol_rate").increment(1);
        ApiError::rate_limited(
            format!("Too many new orders on {symbol}; current limit is {per_minute} orders per 1 MINUTE."),
            retry_after_s,
        )
    })
}

fn protected(switches: &Switches, symbol: &str) -> bool {
    switches.symbol(symbol).is_some_and(|own| own.price_protection_bps > 0)
}

/// The symbol's last trade price in ticks; `None` before its first trade (or without market
/// data), when there is nothing to protect against.
async fn last_price(core: &TradingCore, symbol: SymbolCode) -> Option<i64> {
    let market_data = core.market_data.as_ref()?;
    let now_ms = super::admin::now_ms();
    let tickers = market_data.send(GetTickers { symbols: vec![symbol], now_ms }).await.ok()?;
    tickers.into_iter().find_map(|(_, stats)| stats).map(|stats| stats.last.0)
}

/// Checks a command bound for `symbol`'s book: cancels against the cancel rule, anything that
/// moves or places an order against the new-order rule.
pub fn check_command(
    core: &TradingCore,
    symbol: &str,
    command: &BookCommand,
) -> Result<(), ApiError> {
    let switches = core.switches.current();
    let verdict = match command {
        BookCommand::Cancel(_) | BookCommand::CancelMany(_) | BookCommand::CancelAll(_) => {
            switches.check_cancel(symbol)
        }
        BookCommand::Place(order) => {
            switches.check_new_order(symbol, type_name(order.order_type), None)
        }
        BookCommand::Amend(_) => {
            switches.check_new_order(symbol, type_name(OrderType::Limit), None)
        }
        BookCommand::SetReferencePrice(_) | BookCommand::SetTerms(_) => Ok(()),
    };
    verdict.map_err(refused)
}

/// Deposits stop when the exchange is halted; withdrawals also when switched off.
pub fn check_transfer(core: &TradingCore, withdrawal: bool) -> Result<(), ApiError> {
    let switches = core.switches.current();
    let verdict = if withdrawal { switches.check_withdrawal() } else { switches.check_deposit() };
    verdict.map_err(refused)
}

/// A halted symbol's order book is not served.
pub fn check_market_data(switches: &Switches, symbol: &str) -> Result<(), ApiError> {
    switches.check_market_data(symbol).map_err(refused)
}
