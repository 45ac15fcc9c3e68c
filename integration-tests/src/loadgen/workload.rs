//! What the load generator sends next, and what it learned from each answer: a pure state
//! machine over the traders' known open orders. Placements rest or (one in ten) cross; cancels,
//! amends (keep priority, half the quantity or less) and bulk cancels pick among the orders
//! the trader saw acknowledged. An order filled since is not known to be gone, so some cancels
//! and amends are refused (`-2011`, `-2013`): the report counts them by code.
//!
//! The acknowledgements are kept (when asked) for the chaos runner's audit: every order and
//! cancel the server acknowledged must be found afterwards.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::Value;

use super::market::{Market, OrderShape};

/// Open orders one trader keeps track of; beyond this it cancels instead of placing.
pub const OPEN_ORDERS_PER_TRADER_MAX: usize = 2_000;

/// The kinds of request, in report order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum OpKind {
    Place,
    Cancel,
    Amend,
    BulkCancel,
}

impl OpKind {
    pub const ALL: [OpKind; 4] = [OpKind::Place, OpKind::Cancel, OpKind::Amend, OpKind::BulkCancel];

    pub fn name(self) -> &'static str {
        match self {
            OpKind::Place => "place",
            OpKind::Cancel => "cancel",
            OpKind::Amend => "amend",
            OpKind::BulkCancel => "bulk_cancel",
        }
    }
}

/// Percentages of each kind (summing to 100), e.g. `70,15,10,5` for place, cancel, amend and
/// bulk cancel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mix {
    pub place: u32,
    pub cancel: u32,
    pub amend: u32,
    pub bulk_cancel: u32,
}

impl Mix {
    pub const DEFAULT: Mix = Mix { place: 70, cancel: 15, amend: 10, bulk_cancel: 5 };
    pub const PLACE_ONLY: Mix = Mix { place: 100, cancel: 0, amend: 0, bulk_cancel: 0 };

    /// `place,cancel,amend,bulk_cancel` percentages.
    pub fn parse(text: &str) -> Result<Mix, String> {
        let parts: Vec<u32> = text
            .split(',')
            .map(|part| part.trim().parse().map_err(|_| format!("{part:?} is not a percentage")))
            .collect::<Result<_, _>>()?;
        let [place, cancel, amend, bulk_cancel] = parts[..] else {
            return Err(format!("{text:?}: four percentages: place,cancel,amend,bulk_cancel"));
        };
        if place + cancel + amend + bulk_cancel != 100 || place == 0 {
            return Err(format!("{text:?}: the percentages sum to 100 with some placements"));
        }
        Ok(Mix { place, cancel, amend, bulk_cancel })
    }

    fn pick(&self, rng: &mut impl Rng) -> OpKind {
        let roll = rng.gen_range(0..100);
        if roll < self.place {
            OpKind::Place
        } else if roll < self.place + self.cancel {
            OpKind::Cancel
        } else if roll < self.place + self.cancel + self.amend {
            OpKind::Amend
        } else {
            OpKind::BulkCancel
        }
    }
}

/// One request to send, for trader `trader` on market `market` (indexes into the run's lists).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    Place { trader: usize, market: usize, shape: OrderShape, client_order_id: String },
    Cancel { trader: usize, market: usize, order_id: u64 },
    Amend { trader: usize, market: usize, order_id: u64, new_qty_lots: u64 },
    BulkCancel { trader: usize, market: usize },
}

impl Op {
    pub fn kind(&self) -> OpKind {
        match self {
            Op::Place { .. } => OpKind::Place,
            Op::Cancel { .. } => OpKind::Cancel,
            Op::Amend { .. } => OpKind::Amend,
            Op::BulkCancel { .. } => OpKind::BulkCancel,
        }
    }

    pub fn trader(&self) -> usize {
        match self {
            Op::Place { trader, .. }
            | Op::Cancel { trader, .. }
            | Op::Amend { trader, .. }
            | Op::BulkCancel { trader, .. } => *trader,
        }
    }
}

/// An order the server acknowledged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AckedOrder {
    pub trader: usize,
    pub market: usize,
    pub order_id: u64,
    pub client_order_id: String,
    pub status: String,
}

/// What the server acknowledged, for the audit.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AckLog {
    pub placed: Vec<AckedOrder>,
    /// `(trader, market, order_id)` of each acknowledged cancel (single or bulk).
    pub canceled: Vec<(usize, usize, u64)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct OpenOrder {
    market: usize,
    order_id: u64,
    qty_lots: u64,
}

/// The generator's state: per trader the open orders it knows of.
#[derive(Debug)]
pub struct Workload {
    markets: Vec<Market>,
    mix: Mix,
    rng: ChaCha8Rng,
    open: Vec<Vec<OpenOrder>>,
    /// Client order ids are `<run_tag>-<n>`: unique across runs on the same accounts.
    run_tag: String,
    next_client_order: u64,
    log: Option<AckLog>,
}

impl Workload {
    /// `keep_log`: keep every acknowledgement (the chaos runner's audit needs them).
    pub fn new(
        markets: Vec<Market>,
        traders: usize,
        mix: Mix,
        seed: u64,
        run_tag: &str,
        keep_log: bool,
    ) -> Workload {
        assert!(!markets.is_empty() && traders > 0, "a market and a trader at least");
        Workload {
            markets,
            mix,
            rng: ChaCha8Rng::seed_from_u64(seed),
            open: vec![Vec::new(); traders],
            run_tag: run_tag.to_owned(),
            next_client_order: 0,
            log: keep_log.then(AckLog::default),
        }
    }

    pub fn markets(&self) -> &[Market] {
        &self.markets
    }

    /// The next request. A cancel or amend takes a known open order of a random trader (a
    /// cancel forgets it at once, so two cancels never race for it); a trader with none, or a
    /// bulk cancel's market with none, places instead.
    pub fn next_op(&mut self) -> Op {
        let trader = self.rng.gen_range(0..self.open.len());
        let open = &mut self.open[trader];
        let mut kind = self.mix.pick(&mut self.rng);
        if kind == OpKind::Place && open.len() >= OPEN_ORDERS_PER_TRADER_MAX {
            kind = OpKind::BulkCancel;
        }
        if kind != OpKind::Place && open.is_empty() {
            kind = OpKind::Place;
        }
        match kind {
            OpKind::Place => {
                let market = self.rng.gen_range(0..self.markets.len());
                let shape = self.markets[market].order(&mut self.rng);
                self.next_client_order += 1;
                let client_order_id = format!("{}-{}", self.run_tag, self.next_client_order);
                Op::Place { trader, market, shape, client_order_id }
            }
            OpKind::Cancel => {
                let picked = open.swap_remove(self.rng.gen_range(0..open.len()));
                Op::Cancel { trader, market: picked.market, order_id: picked.order_id }
            }
            OpKind::Amend => {
                let picked = open[self.rng.gen_range(0..open.len())];
                let floor = self.markets[picked.market].qty_floor_lots;
                let new_qty_lots = picked.qty_lots / 2;
                if new_qty_lots < floor {
                    // Amended down to its floor already: cancel it instead.
                    open.retain(|order| order.order_id != picked.order_id);
                    return Op::Cancel { trader, market: picked.market, order_id: picked.order_id };
                }
                Op::Amend { trader, market: picked.market, order_id: picked.order_id, new_qty_lots }
            }
            OpKind::BulkCancel => {
                let market = open[self.rng.gen_range(0..open.len())].market;
                open.retain(|order| order.market != market);
                Op::BulkCancel { trader, market }
            }
        }
    }

    /// Learns from `op`'s acknowledgement (`answer`, the result's JSON).
    pub fn acknowledged(&mut self, op: &Op, answer: &Value) {
        match op {
            Op::Place { trader, market, shape, client_order_id } => {
                let Some(order_id) = answer["orderId"].as_u64() else { return };
                let status = answer["status"].as_str().unwrap_or("").to_owned();
                if matches!(status.as_str(), "NEW" | "PARTIALLY_FILLED") {
                    let executed = answer["executedQty"]
                        .as_str()
                        .and_then(|qty| self.markets[*market].lots(qty))
                        .unwrap_or(0);
                    let qty_lots = shape.qty_lots.saturating_sub(executed);
                    self.open[*trader].push(OpenOrder { market: *market, order_id, qty_lots });
                }
                if let Some(log) = &mut self.log {
                    log.placed.push(AckedOrder {
                        trader: *trader,
                        market: *market,
                        order_id,
                        client_order_id: client_order_id.clone(),
                        status,
                    });
                }
            }
            Op::Cancel { trader, market, order_id } => {
                if let Some(log) = &mut self.log {
                    log.canceled.push((*trader, *market, *order_id));
                }
            }
            Op::Amend { trader, order_id, new_qty_lots, .. } => {
                let open = &mut self.open[*trader];
                if let Some(order) = open.iter_mut().find(|order| order.order_id == *order_id) {
                    order.qty_lots = *new_qty_lots;
                }
            }
            Op::BulkCancel { trader, market } => {
                let Some(log) = &mut self.log else { return };
                for canceled in answer.as_array().into_iter().flatten() {
                    if let Some(order_id) = canceled["orderId"].as_u64() {
                        log.canceled.push((*trader, *market, order_id));
                    }
                }
            }
        }
    }

    /// Learns from `op`'s refusal: an amended order that is gone is forgotten.
    pub fn refused(&mut self, op: &Op) {
        if let Op::Amend { trader, order_id, .. } = op {
            self.open[*trader].retain(|order| order.order_id != *order_id);
        }
    }

    /// The acknowledgements kept since the last call (empty unless `keep_log`).
    pub fn take_log(&mut self) -> AckLog {
        self.log.as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// Forgets every open order (after a bulk cancel of everything, or a restart).
    pub fn forget_open_orders(&mut self) {
        self.open.iter_mut().for_each(Vec::clear);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn market() -> Market {
        let info = json!({"symbols": [{
            "symbol": "BTCUSDT", "baseAsset": "BTC", "quoteAsset": "USDT",
            "filters": [
                {"filterType": "PRICE_FILTER", "tickSize": "0.01"},
                {"filterType": "LOT_SIZE", "minQty": "0.00001", "stepSize": "0.00001"}
            ]
        }]});
        Market::from_exchange_info(&info, "BTCUSDT", None).unwrap()
    }

    #[test]
    fn the_mix_is_parsed_and_checked() {
        assert_eq!(Mix::parse("70,15,10,5"), Ok(Mix::DEFAULT));
        assert!(Mix::parse("70,15,10").is_err());
        assert!(Mix::parse("70,15,10,6").is_err());
        assert!(Mix::parse("0,50,50,0").is_err());
    }

    #[test]
    fn cancels_amends_and_bulk_cancels_name_acknowledged_orders_only() {
        let mut workload = Workload::new(vec![market()], 3, Mix::DEFAULT, 1, "t", true);
        let mut next_order_id = 0;
        let mut acknowledged = std::collections::BTreeSet::new();
        let mut kinds = std::collections::BTreeMap::new();
        for _ in 0..5_000 {
            let op = workload.next_op();
            *kinds.entry(op.kind()).or_insert(0) += 1;
            match &op {
                Op::Place { .. } => {
                    next_order_id += 1;
                    acknowledged.insert(next_order_id);
                    let answer =
                        json!({"orderId": next_order_id, "status": "NEW", "executedQty": "0"});
                    workload.acknowledged(&op, &answer);
                }
                Op::Cancel { order_id, .. } | Op::Amend { order_id, .. } => {
                    assert!(acknowledged.contains(order_id), "{op:?}");
                    workload.acknowledged(&op, &json!({}));
                }
                Op::BulkCancel { .. } => workload.acknowledged(&op, &json!([])),
            }
        }
        assert!(kinds.len() == 4 && kinds[&OpKind::Place] > 3_000, "{kinds:?}");
        let log = workload.take_log();
        assert_eq!(log.placed.len(), kinds[&OpKind::Place]);
        assert!(workload.take_log().placed.is_empty(), "taken once");
    }
}
