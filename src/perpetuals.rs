//! The perpetuals' mark prices and funding as the server runs them: every `mark_interval_ms`,
//! each perpetual's mark is computed from its index (the [`IndexBoard`]'s latest fresh price,
//! i.e. one accepted by the epoch gate) and its own book's mid (the depth replica), and sent to
//! every account shard; each mark is also a premium sample of the funding interval, and when
//! an interval ends its funding is sent to every shard, which pays it once per interval id
//! (journaled), so a repeated send or a restart never pays twice. The formulas are pure
//! (`exchange_actors::liquidation::{mark_price, FundingClock}`).
//!
//! After each round the [`Liquidator`] gets the marks and the perpetuals whose index is stale;
//! it reviews the shards' margins only while every index is fresh.
//!
//! No fresh index, no mark: the shards keep the last one and `exchange_mark_price_age_seconds`
//! grows. An interval that ends while the process is down is not paid.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use actix::{Actor as _, Addr};
use anyhow::Context as _;
use exchange_actors::account::actor::{ApplyFunding, SetMarks};
use exchange_actors::liquidation::actor::{Liquidator, MarksPublished};
use exchange_actors::liquidation::{FundingClock, FundingDue, mark_price};
use exchange_actors::market::actor::DepthReplicas;
use exchange_actors::model::{FeeRate, SymbolCode, SymbolSpec};
use exchange_actors::supervisor::ShardDirectory;
use rust_decimal::Decimal;
use serde::Deserialize;

use crate::index::IndexBoard;

/// Seconds since each perpetual's mark was last computed (infinite before the first), by
/// `symbol`.
pub const MARK_PRICE_AGE: &str = "exchange_mark_price_age_seconds";
/// Funding intervals not yet acknowledged by every shard, kept for retry; the oldest beyond
/// this many are dropped (logged).
const FUNDING_RETRIES_MAX: usize = 16;

/// `[perpetuals]`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PerpetualsConfig {
    pub mark_interval_ms: u64,
    pub mark_band_bps: u32,
    /// `FUNDING_INTERVAL_MS` overrides.
    pub funding_interval_ms: u64,
    pub funding_rate_cap: Decimal,
}

impl Default for PerpetualsConfig {
    fn default() -> Self {
        PerpetualsConfig {
            mark_interval_ms: 250,
            mark_band_bps: 50,
            funding_interval_ms: 8 * 3_600_000,
            funding_rate_cap: Decimal::new(75, 4),
        }
    }
}

impl PerpetualsConfig {
    pub fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(self.mark_interval_ms > 0, "perpetuals.mark_interval_ms must be positive");
        anyhow::ensure!(
            self.funding_interval_ms >= self.mark_interval_ms,
            "perpetuals.funding_interval_ms must be at least mark_interval_ms"
        );
        anyhow::ensure!(
            self.mark_band_bps < exchange_actors::model::BASIS_POINTS_PER_WHOLE,
            "perpetuals.mark_band_bps must be below 10000"
        );
        anyhow::ensure!(
            self.funding_rate_cap >= Decimal::ZERO && self.funding_rate_cap < Decimal::new(1, 1),
            "perpetuals.funding_rate_cap must be in [0, 0.1)"
        );
        Ok(())
    }

    /// This configuration with `FUNDING_INTERVAL_MS` applied.
    pub fn resolve(&self, env: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let mut resolved = self.clone();
        if let Some(text) = env("FUNDING_INTERVAL_MS") {
            resolved.funding_interval_ms =
                text.parse().context("FUNDING_INTERVAL_MS must be a whole number of ms")?;
        }
        resolved.validate()?;
        Ok(resolved)
    }
}

/// One perpetual the driver prices.
struct Perpetual {
    symbol: SymbolCode,
    spec: SymbolSpec,
    index: String,
    clock: FundingClock,
    marked_at_ms: Option<u64>,
}

/// Starts the mark and funding loop on the current actix system (nothing without perpetuals).
pub fn start(
    config: &PerpetualsConfig,
    specs: impl IntoIterator<Item = SymbolSpec>,
    board: Arc<IndexBoard>,
    replicas: Addr<DepthReplicas>,
    shards: Arc<ShardDirectory>,
) {
    let mut perpetuals: Vec<Perpetual> = specs
        .into_iter()
        .filter_map(|spec| {
            let index = spec.perpetual.as_ref()?.index.clone();
            let symbol = SymbolCode::new(&spec.symbol).ok()?;
            let clock = FundingClock::new(config.funding_interval_ms, config.funding_rate_cap);
            Some(Perpetual { symbol, spec, index, clock, marked_at_ms: None })
        })
        .collect();
    if perpetuals.is_empty() {
        return;
    }
    let symbols = perpetuals.iter().map(|perpetual| perpetual.symbol).collect();
    let liquidator = Liquidator::new(shards.clone(), symbols).start();
    let band_bps = config.mark_band_bps;
    let interval = Duration::from_millis(config.mark_interval_ms);
    tracing::info!(
        perpetuals = perpetuals.len(),
        funding_interval_ms = config.funding_interval_ms,
        "perpetual marks and funding starting"
    );
    actix::spawn(async move {
        let mut ticks = tokio::time::interval(interval);
        let mut unpaid: VecDeque<(SymbolCode, FundingDue)> = VecDeque::new();
        loop {
            ticks.tick().await;
            let now_ms = crate::index::wall_clock_ms();
            let mut marks = Vec::new();
            let mut stale = BTreeSet::new();
            for perpetual in &mut perpetuals {
                let Some(index) = board.fresh(&perpetual.index, now_ms) else {
                    stale.insert(perpetual.symbol);
                    continue;
                };
                let mid = crate::index::spot_source::mid_price(&replicas, &perpetual.spec).await;
                let tick_size = perpetual.spec.tick_size;
                let Some(mark) = mark_price(index.price, mid, band_bps, tick_size) else {
                    stale.insert(perpetual.symbol);
                    continue;
                };
                marks.push((perpetual.symbol, mark));
                perpetual.marked_at_ms = Some(now_ms);
                let mark_decimal = perpetual.spec.ticks_to_price(mark);
                if let Some(due) = perpetual.clock.sample(now_ms, index.price, mark_decimal, mark) {
                    unpaid.push_back((perpetual.symbol, due));
                }
            }
            report_ages(&perpetuals, now_ms);
            for shard in shards.all() {
                if shard.send(SetMarks(marks.clone())).await.is_err() {
                    tracing::warn!("an account shard is gone; marks not delivered to it");
                }
            }
            // After every shard has the marks: the liquidator reviews against them.
            if liquidator.send(MarksPublished { marks: marks.clone(), stale }).await.is_err() {
                tracing::error!("the liquidator is gone; nothing is liquidated");
            }
            while unpaid.len() > FUNDING_RETRIES_MAX {
                let (symbol, due) = unpaid.pop_front().expect("not empty");
                tracing::error!(%symbol, interval_id = due.interval_id, "funding dropped after retries");
            }
            let mut retry = VecDeque::new();
            for (symbol, due) in unpaid.drain(..) {
                if !pay(&shards, symbol, due).await {
                    retry.push_back((symbol, due));
                }
            }
            unpaid = retry;
        }
    });
}

/// Sends `due` to every shard; true when all of them journaled it (or had already).
async fn pay(shards: &ShardDirectory, symbol: SymbolCode, due: FundingDue) -> bool {
    let Ok(rate) = FeeRate::from_decimal(due.rate) else {
        tracing::error!(%symbol, rate = %due.rate, "funding rate out of range; not paid");
        return true;
    };
    let mut all = true;
    for shard in shards.all() {
        let message = ApplyFunding { symbol, interval_id: due.interval_id, rate, mark: due.mark };
        match shard.send(message).await {
            Ok(Ok(_)) => {}
            Ok(Err(error)) => {
                tracing::warn!(%symbol, interval_id = due.interval_id, %error, "funding refused");
                all = false;
            }
            Err(error) => {
                tracing::warn!(%symbol, %error, "funding not delivered; retrying");
                all = false;
            }
        }
    }
    if all {
        tracing::info!(%symbol, interval_id = due.interval_id, rate = %due.rate, "funding paid");
    }
    all
}

fn report_ages(perpetuals: &[Perpetual], now_ms: u64) {
    let mut ages = BTreeMap::new();
    for perpetual in perpetuals {
        let age = perpetual.marked_at_ms.map_or(f64::INFINITY, |at_ms| {
            Duration::from_millis(now_ms.saturating_sub(at_ms)).as_secs_f64()
        });
        ages.insert(perpetual.symbol.to_string(), age);
    }
    for (symbol, age) in ages {
        metrics::gauge!(MARK_PRICE_AGE, "symbol" => symbol).set(age);
    }
}
