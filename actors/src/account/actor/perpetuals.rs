//! The shard's perpetual messages: mark prices (in memory, republished every interval),
//! funding (journaled like any change: answered after its commit, applied once per interval)
//! and the positions query.

use actix::prelude::*;
use tokio::sync::oneshot;

use super::pipeline::Deferred;
use super::{AccountShard, Reply, ShardError, answer_later};
use crate::account::{FundingApplied, Position};
use crate::model::{AccountId, AssetCode, FeeRate, Price, SymbolCode};

/// Funding paid by positions (into the Insurance fund), in quote minor units, by `symbol`.
pub const FUNDING_PAID: &str = "exchange_funding_paid_minor_units_total";
/// Funding received by positions, in quote minor units, by `symbol`.
pub const FUNDING_RECEIVED: &str = "exchange_funding_received_minor_units_total";
/// Open (non-flat) positions, by `shard`.
pub const POSITIONS_OPEN: &str = "exchange_positions_open";

/// The latest mark prices (perpetuals only; others are ignored).
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct SetMarks(pub Vec<(SymbolCode, Price)>);

/// Pays funding interval `interval_id` of `symbol`; answered after the payments are journaled.
#[derive(Debug, Message)]
#[rtype(result = "Result<FundingApplied, ShardError>")]
pub struct ApplyFunding {
    pub symbol: SymbolCode,
    pub interval_id: u64,
    pub rate: FeeRate,
    pub mark: Price,
}

/// An account's positions with the marks and the wallet balances they are valued against.
#[derive(Debug, Message)]
#[rtype(result = "Result<PositionsView, ShardError>")]
pub struct GetPositions(pub AccountId);

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PositionsView {
    /// Each position (flat ones too) with its symbol's mark, by symbol.
    pub positions: Vec<(SymbolCode, Position, Option<Price>)>,
    /// Per settle asset: available + held (the wallet balance).
    pub wallets: Vec<(AssetCode, i128)>,
}

impl Handler<SetMarks> for AccountShard {
    type Result = ();

    fn handle(&mut self, SetMarks(marks): SetMarks, _ctx: &mut Self::Context) {
        for (symbol, mark) in marks {
            self.state.set_mark(symbol, mark);
        }
    }
}

impl Handler<ApplyFunding> for AccountShard {
    type Result = Reply<Result<FundingApplied, ShardError>>;

    fn handle(&mut self, funding: ApplyFunding, ctx: &mut Self::Context) -> Self::Result {
        let ApplyFunding { symbol, interval_id, rate, mark } = funding;
        let applied = match self.state.apply_funding(symbol, interval_id, rate, mark) {
            Ok(applied) => applied,
            Err(reject) => return Box::pin(std::future::ready(Err(reject.into()))),
        };
        if applied.fresh {
            let symbol = symbol.to_string();
            let paid = u64::try_from(applied.paid).unwrap_or(u64::MAX);
            let received = u64::try_from(applied.received).unwrap_or(u64::MAX);
            metrics::counter!(FUNDING_PAID, "symbol" => symbol.clone()).increment(paid);
            metrics::counter!(FUNDING_RECEIVED, "symbol" => symbol).increment(received);
        }
        let (reply, receiver) = oneshot::channel();
        self.park(Deferred::Unit(reply), ctx);
        let committed = answer_later(receiver, Err(ShardError::Stopping));
        Box::pin(async move { committed.await.map(|()| applied) })
    }
}

impl Handler<GetPositions> for AccountShard {
    type Result = MessageResult<GetPositions>;

    fn handle(
        &mut self,
        GetPositions(account): GetPositions,
        _ctx: &mut Self::Context,
    ) -> Self::Result {
        if !self.state.has_account(account) {
            let reject = crate::account::AccountReject::UnknownAccount(account);
            return MessageResult(Err(reject.into()));
        }
        let positions: Vec<_> = self
            .state
            .positions_of(account)
            .map(|(symbol, position)| (symbol, position, self.state.mark(symbol)))
            .collect();
        let mut wallets: Vec<(AssetCode, i128)> = Vec::new();
        for (symbol, _, _) in &positions {
            let Some(market) = self.state.market(*symbol) else { continue };
            if !wallets.iter().any(|(asset, _)| *asset == market.quote) {
                let balance = self.state.balance(account, market.quote);
                wallets.push((market.quote, balance.available + balance.held));
            }
        }
        MessageResult(Ok(PositionsView { positions, wallets }))
    }
}

impl AccountShard {
    /// Exports the funding counters of every perpetual at 0 from the start.
    pub(super) fn register_perpetual_metrics(&self) {
        for symbol in &self.symbols {
            if self.state.market(*symbol).is_some_and(crate::account::MarketSpec::is_perpetual) {
                let symbol = symbol.to_string();
                metrics::counter!(FUNDING_PAID, "symbol" => symbol.clone()).increment(0);
                metrics::counter!(FUNDING_RECEIVED, "symbol" => symbol).increment(0);
            }
        }
    }

    /// Sets the open positions gauge (sampled with the negative balances scan).
    pub(super) fn report_positions(&self) {
        let open =
            self.state.all_positions().filter(|(_, _, position)| !position.is_flat()).count();
        // Exact: a count of positions, far below 2^53.
        metrics::gauge!(POSITIONS_OPEN, "shard" => self.shard_index.to_string()).set(open as f64);
    }
}
