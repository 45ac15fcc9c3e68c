//! The invariant audit the chaos runner runs after every fault, from outside, over the API:
//!
//! - `GET /admin/reconcile` finds nothing (per asset the ledger sums to zero, balances equal
//!   the ledger, none negative, each shard's held equals its open orders' requirements);
//! - every order the load generator saw acknowledged is in `allOrders` with its client order
//!   id, and every acknowledged cancel left its order CANCELED;
//! - no fill is applied twice: each (trade id, order id) of `myTrades` appears once, and each
//!   order's `executedQty` equals the sum of its fills;
//! - REST depth (the replica) is not stale and equals the book as the traders' open orders
//!   make it up (only the runner's traders trade on its exchange).
//!
//! Each check answers `Err(what differs)`; the runner polls until all pass or a deadline,
//! since settlement, projections and replicas trail the books by design.

use std::collections::{BTreeMap, BTreeSet};

use rust_decimal::Decimal;
use serde_json::Value;

use crate::http::Trader;
use crate::loadgen::{AckLog, Admin, Market, Outcome, RestClient};

/// Orders or trades one page asks for.
const PAGE: u64 = 1_000;

/// What the audit reads with.
#[derive(Debug)]
pub struct Auditor<'a> {
    pub rest: &'a RestClient,
    pub admin: &'a Admin,
    pub traders: &'a [Trader],
    pub markets: &'a [Market],
}

/// An order as `allOrders` shows it.
#[derive(Clone, Debug)]
struct StoredOrder {
    client_order_id: String,
    status: String,
    executed: Decimal,
}

fn decimal(value: &Value) -> Result<Decimal, String> {
    value
        .as_str()
        .and_then(|text| text.parse().ok())
        .ok_or_else(|| format!("not a decimal: {value}"))
}

impl Auditor<'_> {
    async fn signed(
        &self,
        trader: usize,
        path: &str,
        params: Vec<(&str, String)>,
    ) -> Result<Value, String> {
        match self.rest.signed(&self.traders[trader], &format!("GET {path}"), &params).await {
            Outcome::Acked(answer) => Ok(answer),
            Outcome::Refused(code) => Err(format!("GET {path} {params:?}: refused {code}")),
        }
    }

    /// Every check; the first that fails.
    pub async fn check(&self, log: &AckLog) -> Result<(), String> {
        self.reconciliation().await?;
        for trader in 0..self.traders.len() {
            for market in 0..self.markets.len() {
                let orders = self.all_orders(trader, market).await?;
                acknowledgements_kept(log, trader, market, &orders)?;
                self.fills_once(trader, market, &orders).await?;
            }
        }
        for market in 0..self.markets.len() {
            self.depth_equals_open_orders(market).await?;
        }
        Ok(())
    }

    async fn reconciliation(&self) -> Result<(), String> {
        let report =
            self.admin.request(reqwest::Method::GET, "/admin/reconcile", &Value::Null).await?;
        if report["anomalyCount"] == 0 { Ok(()) } else { Err(format!("reconciliation: {report}")) }
    }

    async fn all_orders(
        &self,
        trader: usize,
        market: usize,
    ) -> Result<BTreeMap<u64, StoredOrder>, String> {
        let symbol = &self.markets[market].symbol;
        let mut orders = BTreeMap::new();
        let mut from_id = 0;
        loop {
            let params = vec![
                ("symbol", symbol.clone()),
                ("orderId", from_id.to_string()),
                ("limit", PAGE.to_string()),
            ];
            let page = self.signed(trader, "/api/v3/allOrders", params).await?;
            let page = page.as_array().ok_or("allOrders is not a list")?;
            for order in page {
                let order_id = order["orderId"].as_u64().ok_or("orderId")?;
                let executed = decimal(&order["executedQty"])?;
                orders.insert(
                    order_id,
                    StoredOrder {
                        client_order_id: order["clientOrderId"].as_str().unwrap_or("").to_owned(),
                        status: order["status"].as_str().unwrap_or("").to_owned(),
                        executed,
                    },
                );
                from_id = from_id.max(order_id + 1);
            }
            if (page.len() as u64) < PAGE {
                return Ok(orders);
            }
        }
    }

    /// Each (trade, order) once; each order's executed quantity is the sum of its fills.
    async fn fills_once(
        &self,
        trader: usize,
        market: usize,
        orders: &BTreeMap<u64, StoredOrder>,
    ) -> Result<(), String> {
        let symbol = &self.markets[market].symbol;
        let mut seen = BTreeSet::new();
        let mut filled: BTreeMap<u64, Decimal> = BTreeMap::new();
        let mut from_id = 0;
        loop {
            let params = vec![
                ("symbol", symbol.clone()),
                ("fromId", from_id.to_string()),
                ("limit", PAGE.to_string()),
            ];
            let page = self.signed(trader, "/api/v3/myTrades", params).await?;
            let page = page.as_array().ok_or("myTrades is not a list")?;
            for trade in page {
                let (trade_id, order_id) = (
                    trade["id"].as_u64().ok_or("id")?,
                    trade["orderId"].as_u64().ok_or("orderId")?,
                );
                if !seen.insert((trade_id, order_id)) {
                    return Err(format!(
                        "{symbol} trade {trade_id} of order {order_id} appears twice"
                    ));
                }
                *filled.entry(order_id).or_default() += decimal(&trade["qty"])?;
                from_id = from_id.max(trade_id + 1);
            }
            if (page.len() as u64) < PAGE {
                break;
            }
        }
        for (order_id, order) in orders {
            let fills = filled.remove(order_id).unwrap_or_default();
            if fills != order.executed {
                return Err(format!(
                    "{symbol} order {order_id}: executedQty {} but fills sum to {fills}",
                    order.executed
                ));
            }
        }
        match filled.into_iter().next() {
            Some((order_id, qty)) => {
                Err(format!("{symbol}: fills of {qty} for order {order_id} not in allOrders"))
            }
            None => Ok(()),
        }
    }

    /// REST depth equals the open orders' remaining quantities per side and price.
    async fn depth_equals_open_orders(&self, market: usize) -> Result<(), String> {
        let symbol = &self.markets[market].symbol;
        let mut book: BTreeMap<(bool, Decimal), Decimal> = BTreeMap::new();
        for trader in 0..self.traders.len() {
            let open =
                self.signed(trader, "/api/v3/openOrders", vec![("symbol", symbol.clone())]).await?;
            for order in open.as_array().ok_or("openOrders is not a list")? {
                let remaining = decimal(&order["origQty"])? - decimal(&order["executedQty"])?;
                *book.entry((order["side"] == "BUY", decimal(&order["price"])?)).or_default() +=
                    remaining;
            }
        }
        let Some((200, depth)) =
            self.rest.get(&format!("/api/v3/depth?symbol={symbol}&limit=5000")).await
        else {
            return Err(format!("{symbol}: no depth"));
        };
        if depth["stale"] == true {
            return Err(format!("{symbol}: depth is stale"));
        }
        let mut replica = BTreeMap::new();
        for (side, buy) in [("bids", true), ("asks", false)] {
            for level in depth[side].as_array().ok_or("depth levels")? {
                replica.insert((buy, decimal(&level[0])?), decimal(&level[1])?);
            }
        }
        if replica == book {
            return Ok(());
        }
        let differing: Vec<String> = replica
            .keys()
            .chain(book.keys())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .filter(|level| replica.get(*level) != book.get(*level))
            .take(5)
            .map(|level| {
                format!(
                    "{level:?}: depth {:?}, open orders {:?}",
                    replica.get(level),
                    book.get(level)
                )
            })
            .collect();
        Err(format!("{symbol}: depth differs from the open orders: {differing:?}"))
    }
}

/// Every acknowledged order of `trader` on `market` is stored with its client order id, and
/// every acknowledged cancel left its order CANCELED.
fn acknowledgements_kept(
    log: &AckLog,
    trader: usize,
    market: usize,
    orders: &BTreeMap<u64, StoredOrder>,
) -> Result<(), String> {
    for acked in log.placed.iter().filter(|acked| acked.trader == trader && acked.market == market)
    {
        match orders.get(&acked.order_id) {
            Some(stored) if stored.client_order_id == acked.client_order_id => {}
            other => return Err(format!("acknowledged order {acked:?} stored as {other:?}")),
        }
    }
    for (_, _, order_id) in log.canceled.iter().filter(|(t, m, _)| *t == trader && *m == market) {
        match orders.get(order_id) {
            Some(stored) if stored.status == "CANCELED" => {}
            other => {
                return Err(format!(
                    "acknowledged cancel of order {order_id}: stored as {other:?}"
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loadgen::AckedOrder;

    fn stored(client_order_id: &str, status: &str) -> StoredOrder {
        StoredOrder {
            client_order_id: client_order_id.into(),
            status: status.into(),
            executed: Decimal::ZERO,
        }
    }

    #[test]
    fn a_lost_order_or_an_undone_cancel_is_reported() {
        let acked = AckedOrder {
            trader: 0,
            market: 1,
            order_id: 7,
            client_order_id: "c7".into(),
            status: "NEW".into(),
        };
        let log = AckLog { placed: vec![acked], canceled: vec![(0, 1, 7)] };
        let mut orders = BTreeMap::from([(7, stored("c7", "CANCELED"))]);
        assert_eq!(acknowledgements_kept(&log, 0, 1, &orders), Ok(()));
        assert_eq!(acknowledgements_kept(&log, 0, 0, &BTreeMap::new()), Ok(()), "another market");
        orders.insert(7, stored("c7", "NEW"));
        assert!(acknowledgements_kept(&log, 0, 1, &orders).is_err(), "cancel undone");
        assert!(acknowledgements_kept(&log, 0, 1, &BTreeMap::new()).is_err(), "order lost");
    }
}
