//! `Liquidator`: the actor shell over [`LiquidationGate`] and the shards' pure reviews. The
//! mark loop sends it every round of marks ([`MarksPublished`], after the shards got them);
//! when the gate allows a review it asks each account shard in turn to review its accounts
//! ([`ReviewLiquidations`]: journaled there) and carries out the steps through the normal
//! order path: cancels ([`RequestCancels`], tracked as CANCELING) and reduce-only IOC orders
//! ([`PlaceOrders`], held, journaled and matched like a client's). Close-outs past the deadline
//! happen inside the review. While an index is stale it reviews nothing and
//! [`LIQUIDATIONS_PAUSED`] says which.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;

use super::gate::{GateDecision, LiquidationGate};
use crate::account::LiquidationStep;
use crate::account::actor::{
    AccountShard, PlaceOrders, RequestCancels, ReviewLiquidations, ShardError,
};
use crate::model::{Price, SymbolCode};
use crate::supervisor::ShardDirectory;

/// 1 while liquidations are paused because `symbol`'s index is stale, else 0, by `symbol` and
/// `reason` (`stale_index`).
pub const LIQUIDATIONS_PAUSED: &str = "exchange_liquidations_paused";

/// How long one shard's review, or one of its steps, may take before the round moves on (the
/// next round retries whatever was left).
const STEP_TIMEOUT: Duration = Duration::from_secs(5);

/// One round of marks from the mark loop.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct MarksPublished {
    /// The marks computed this round (from fresh indexes).
    pub marks: Vec<(SymbolCode, Price)>,
    /// Every perpetual whose index is stale this round.
    pub stale: BTreeSet<SymbolCode>,
}

#[derive(Debug)]
pub struct Liquidator {
    gate: LiquidationGate,
    shards: Arc<ShardDirectory>,
    perpetuals: Vec<SymbolCode>,
}

impl Liquidator {
    pub fn new(shards: Arc<ShardDirectory>, perpetuals: Vec<SymbolCode>) -> Liquidator {
        Liquidator { gate: LiquidationGate::default(), shards, perpetuals }
    }

    fn report_pause(&self) {
        for symbol in &self.perpetuals {
            let paused = if self.gate.stale().contains(symbol) { 1.0 } else { 0.0 };
            let symbol = symbol.to_string();
            metrics::gauge!(LIQUIDATIONS_PAUSED, "symbol" => symbol, "reason" => "stale_index")
                .set(paused);
        }
    }
}

impl Actor for Liquidator {
    type Context = Context<Self>;

    fn started(&mut self, _ctx: &mut Context<Self>) {
        self.report_pause();
    }
}

impl Handler<MarksPublished> for Liquidator {
    type Result = ();

    fn handle(&mut self, round: MarksPublished, ctx: &mut Context<Self>) {
        let was_paused = !self.gate.stale().is_empty();
        let decision = self.gate.on_marks(&round.marks, round.stale);
        self.report_pause();
        match decision {
            GateDecision::Paused(stale) => {
                if !was_paused {
                    let stale: Vec<String> = stale.iter().map(ToString::to_string).collect();
                    tracing::warn!(?stale, "liquidations paused: stale index");
                }
            }
            GateDecision::Idle => {}
            GateDecision::Review => {
                if was_paused {
                    tracing::info!("liquidations resumed: every index is fresh");
                }
                let shards = self.shards.all();
                let review = async move {
                    let mut work_left = false;
                    for shard in shards {
                        work_left |= review_shard(&shard).await;
                    }
                    work_left
                };
                ctx.spawn(review.into_actor(self).map(|work_left, liquidator, _ctx| {
                    liquidator.gate.review_done(work_left);
                }));
            }
        }
    }
}

/// Reviews one shard and carries out its steps; whether there was anything to do (a shard
/// that failed counts as work left, so the next round retries).
async fn review_shard(shard: &Addr<AccountShard>) -> bool {
    let steps = match ask(shard, ReviewLiquidations).await {
        Ok(steps) => steps,
        Err(error) => {
            tracing::warn!(%error, "liquidation review failed; retried next round");
            return true;
        }
    };
    for step in &steps {
        match step {
            LiquidationStep::Cancel { account, symbol, order_ids } => {
                let cancel = RequestCancels {
                    account_id: *account,
                    symbol: *symbol,
                    order_ids: order_ids.clone(),
                };
                if let Err(error) = ask(shard, cancel).await {
                    tracing::warn!(account = account.0, %error, "liquidation cancel failed");
                }
            }
            LiquidationStep::CloseThroughBook(request) => {
                match tokio::time::timeout(STEP_TIMEOUT, shard.send(PlaceOrders(vec![*request])))
                    .await
                {
                    Ok(Ok(results)) => {
                        for result in results.into_iter().filter_map(Result::err) {
                            let account = request.account_id.0;
                            tracing::warn!(account, %result, "liquidation order refused");
                        }
                    }
                    Ok(Err(mailbox)) => tracing::warn!(%mailbox, "liquidation order not sent"),
                    Err(_elapsed) => tracing::warn!("liquidation order unanswered"),
                }
            }
            LiquidationStep::Entered(_)
            | LiquidationStep::ClosedOut { .. }
            | LiquidationStep::Resolved { .. } => {}
        }
    }
    !steps.is_empty()
}

/// Sends `message` to `shard`; mailbox errors, timeouts and refusals alike as text.
async fn ask<M, T>(shard: &Addr<AccountShard>, message: M) -> Result<T, String>
where
    M: Message<Result = Result<T, ShardError>> + Send + 'static,
    T: Send + 'static,
    AccountShard: Handler<M>,
{
    match tokio::time::timeout(STEP_TIMEOUT, shard.send(message)).await {
        Ok(Ok(answer)) => answer.map_err(|error| error.to_string()),
        Ok(Err(mailbox)) => Err(mailbox.to_string()),
        Err(_elapsed) => Err(format!("no answer in {STEP_TIMEOUT:?}")),
    }
}
