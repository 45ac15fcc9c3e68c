//! The shard's side of liquidation: [`ReviewLiquidations`] runs one pure review
//! (`account/liquidation.rs`) at the shard's clock against its LIQUIDATING deadline, journals
//! what it changed (entries into and out of LIQUIDATING, close-outs) and answers the steps the
//! Liquidator must carry out through the book (cancels, reduce-only IOCs). Also the metrics of
//! LIQUIDATING: the supervisor's transient gauges count accounts in it (state `liquidating`),
//! how each liquidation ended, ADL fills, and the insurance fund's balance.

use actix::prelude::*;
use tokio::sync::oneshot;

use super::pipeline::Deferred;
use super::{AccountShard, Reply, ShardError, answer_later};
use crate::account::{LiquidationStep, MarketSpec, SystemAccount};
use crate::supervisor::TransientState;
use crate::supervisor::metrics::record_transient_age;

/// Liquidations that ended, by `outcome`: `book` (closed through the book or margin restored
/// before the deadline), `insurance` (the fund took the rest), `adl` (deleveraged).
pub const LIQUIDATIONS_TOTAL: &str = "exchange_liquidations_total";
/// Auto-deleveraging fills (one per counterparty position closed), by `symbol`.
pub const ADL_EVENTS_TOTAL: &str = "exchange_adl_events_total";
/// The insurance fund's balance on this shard (its positions' PnL aside), by `shard` and
/// `asset`, in the asset's minor units.
pub const INSURANCE_FUND_BALANCE: &str = "exchange_insurance_fund_balance_minor_units";

const OUTCOMES: [&str; 3] = ["book", "insurance", "adl"];

/// One liquidation review (see the module doc); answered after its changes are journaled.
#[derive(Debug, Message)]
#[rtype(result = "Result<Vec<LiquidationStep>, ShardError>")]
pub struct ReviewLiquidations;

impl Handler<ReviewLiquidations> for AccountShard {
    type Result = Reply<Result<Vec<LiquidationStep>, ShardError>>;

    fn handle(&mut self, _review: ReviewLiquidations, ctx: &mut Self::Context) -> Self::Result {
        let now_ns = self.ports.clock.now_ns();
        let deadline = self.deadlines.of(TransientState::Liquidating);
        let deadline_ns = u64::try_from(deadline.as_nanos()).unwrap_or(u64::MAX);
        let steps = self.state.review_liquidations(now_ns, deadline_ns);
        self.count_liquidation_steps(&steps);
        self.report_insurance_fund();
        if steps.is_empty() {
            return Box::pin(std::future::ready(Ok(steps)));
        }
        let (reply, receiver) = oneshot::channel();
        self.park(Deferred::Unit(reply), ctx);
        let committed = answer_later(receiver, Err(ShardError::Stopping));
        Box::pin(async move { committed.await.map(|()| steps) })
    }
}

impl AccountShard {
    fn count_liquidation_steps(&self, steps: &[LiquidationStep]) {
        let mut closed_out = std::collections::BTreeSet::new();
        for step in steps {
            match step {
                LiquidationStep::Entered(status) => {
                    tracing::warn!(
                        shard = self.shard_index,
                        account = status.account.0,
                        margin_balance = status.margin_balance,
                        maintenance_margin = status.maintenance_margin,
                        "account LIQUIDATING"
                    );
                }
                LiquidationStep::ClosedOut { account, closed } => {
                    closed_out.insert(*account);
                    let outcome = if closed.deleveraged.is_empty() { "insurance" } else { "adl" };
                    metrics::counter!(LIQUIDATIONS_TOTAL, "outcome" => outcome).increment(1);
                    for fill in &closed.deleveraged {
                        let symbol = fill.symbol.to_string();
                        metrics::counter!(ADL_EVENTS_TOTAL, "symbol" => symbol).increment(1);
                    }
                    tracing::warn!(
                        shard = self.shard_index,
                        account = account.0,
                        insurance_lots = closed.insurance_lots,
                        deleveraged = closed.deleveraged.len(),
                        "LIQUIDATING deadline passed: closed out without the book"
                    );
                }
                LiquidationStep::Resolved { account, age_ns } => {
                    if !closed_out.contains(account) {
                        metrics::counter!(LIQUIDATIONS_TOTAL, "outcome" => "book").increment(1);
                    }
                    record_transient_age(TransientState::Liquidating, *age_ns);
                }
                LiquidationStep::Cancel { .. } | LiquidationStep::CloseThroughBook(_) => {}
            }
        }
    }

    /// Sets the insurance fund gauge of every settle asset of the shard's perpetuals.
    pub(super) fn report_insurance_fund(&self) {
        let shard = self.shard_index.to_string();
        for asset in self.perpetual_settle_assets() {
            let balance = self.state.system_balance(SystemAccount::Insurance, asset).available;
            // A gauge is f64: exact up to 2^53 minor units, a display beyond that.
            let gauge = metrics::gauge!(
                INSURANCE_FUND_BALANCE,
                "shard" => shard.clone(),
                "asset" => asset.to_string()
            );
            gauge.set(balance as f64);
        }
    }

    fn perpetual_settle_assets(&self) -> std::collections::BTreeSet<crate::model::AssetCode> {
        self.symbols
            .iter()
            .filter_map(|symbol| self.state.market(*symbol))
            .filter(|market| market.is_perpetual())
            .map(|market: &MarketSpec| market.quote)
            .collect()
    }

    /// Exports the liquidation counters at 0 from the start (and the fund's balance).
    pub(super) fn register_liquidation_metrics(&self) {
        for outcome in OUTCOMES {
            metrics::counter!(LIQUIDATIONS_TOTAL, "outcome" => outcome).increment(0);
        }
        for symbol in &self.symbols {
            if self.state.market(*symbol).is_some_and(MarketSpec::is_perpetual) {
                metrics::counter!(ADL_EVENTS_TOTAL, "symbol" => symbol.to_string()).increment(0);
            }
        }
        self.report_insurance_fund();
    }
}
