//! `ShardSupervisor`: starts the account shards (each on its own arbiter, rebuilt from the
//! journal), and replaces one that failed (its actor is gone: a handler panicked, or it stopped
//! after its journal refused a write) or stalled (its heartbeat, beaten by a timer on the
//! shard's own arbiter, is older than the stall timeout). The replacement takes a new epoch before reading the journal, so a stalled
//! instance that wakes up later can never commit again; its clients get errors, never a
//! second, diverging acknowledgement.

use std::collections::BTreeMap;
use std::sync::Arc;

use actix::prelude::*;

use super::metrics::{ActorKind, count_restart, register_restarts};
use super::{Heartbeat, RestartReason, ShardDirectory, SupervisorSettings};
use crate::account::MarketSpec;
use crate::account::actor::{AccountShard, AddMarket, ShardLayout, ShardPorts, ShardStartError};
use crate::model::SymbolCode;

pub struct ShardSupervisor {
    layout: ShardLayout,
    markets: BTreeMap<SymbolCode, MarketSpec>,
    ports: ShardPorts,
    directory: Arc<ShardDirectory>,
    settings: SupervisorSettings,
    /// Per shard index: the current instance's heartbeat.
    heartbeats: Vec<Arc<Heartbeat>>,
    /// Per shard index: a restart is under way.
    restarting: Vec<bool>,
    restarts: BTreeMap<RestartReason, u64>,
}

impl std::fmt::Debug for ShardSupervisor {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("ShardSupervisor")
            .field("shards", &self.directory.len())
            .field("restarts", &self.restarts)
            .finish_non_exhaustive()
    }
}

async fn start_shard(
    shard_index: u16,
    layout: ShardLayout,
    markets: BTreeMap<SymbolCode, MarketSpec>,
    ports: ShardPorts,
    settings: SupervisorSettings,
) -> Result<(Addr<AccountShard>, Arc<Heartbeat>), ShardStartError> {
    let arbiter = Arbiter::new();
    let heartbeat = Arc::new(Heartbeat::default());
    let address = AccountShard::start(
        shard_index,
        layout,
        markets,
        ports,
        &arbiter.handle(),
        heartbeat.clone(),
        settings,
    )
    .await?;
    Ok((address, heartbeat))
}

impl ShardSupervisor {
    /// Starts shards `0..layout.shard_count` in order and the supervisor watching them.
    pub async fn start(
        layout: ShardLayout,
        markets: BTreeMap<SymbolCode, MarketSpec>,
        ports: ShardPorts,
        settings: SupervisorSettings,
    ) -> Result<(Addr<ShardSupervisor>, Arc<ShardDirectory>), ShardStartError> {
        let (mut shards, mut heartbeats) = (Vec::new(), Vec::new());
        for shard_index in 0..layout.shard_count {
            let (shard, heartbeat) =
                start_shard(shard_index, layout, markets.clone(), ports.clone(), settings).await?;
            shards.push(shard);
            heartbeats.push(heartbeat);
        }
        let directory = ShardDirectory::new(shards);
        register_restarts(ActorKind::AccountShard);
        let supervisor = ShardSupervisor {
            layout,
            markets,
            ports,
            directory: directory.clone(),
            settings,
            heartbeats,
            restarting: vec![false; usize::from(layout.shard_count)],
            restarts: BTreeMap::new(),
        };
        Ok((supervisor.start(), directory))
    }

    pub(super) fn shard_heartbeats(&self) -> impl Iterator<Item = &Heartbeat> {
        self.heartbeats.iter().map(AsRef::as_ref)
    }

    fn check(&mut self, ctx: &mut Context<Self>) {
        let now_ns = self.ports.clock.now_ns();
        let stall_ns = u64::try_from(self.settings.stall_timeout.as_nanos()).unwrap_or(u64::MAX);
        for index in 0..self.restarting.len() {
            if self.restarting[index] {
                continue;
            }
            let reason = if !self.directory.at(index).connected() {
                Some(RestartReason::Failed)
            } else {
                let beat_at_ns = self.heartbeats[index].read().beat_at_ns;
                (now_ns.saturating_sub(beat_at_ns) > stall_ns).then_some(RestartReason::Stalled)
            };
            if let Some(reason) = reason {
                self.restart(index, reason, ctx);
            }
        }
    }

    fn restart(&mut self, index: usize, reason: RestartReason, ctx: &mut Context<Self>) {
        let Ok(shard_index) = u16::try_from(index) else { return };
        self.restarting[index] = true;
        tracing::warn!(shard_index, ?reason, "replacing account shard");
        let (markets, ports) = (self.markets.clone(), self.ports.clone());
        let start = start_shard(shard_index, self.layout, markets, ports, self.settings);
        ctx.spawn(start.into_actor(self).map(move |started, supervisor, _ctx| {
            supervisor.restarting[index] = false;
            match started {
                Ok((address, heartbeat)) => {
                    // Markets listed while it was starting (idempotent for the others).
                    for market in supervisor.markets.values() {
                        address.do_send(AddMarket(*market));
                    }
                    supervisor.directory.set(index, address);
                    supervisor.heartbeats[index] = heartbeat;
                    *supervisor.restarts.entry(reason).or_default() += 1;
                    count_restart(ActorKind::AccountShard, reason);
                    tracing::info!(shard_index, ?reason, "account shard replaced");
                }
                // Retried on the next check.
                Err(error) => tracing::error!(shard_index, %error, "shard restart failed"),
            }
        }));
    }
}

impl Actor for ShardSupervisor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.run_interval(self.settings.check_interval, |supervisor, ctx| supervisor.check(ctx));
    }
}

/// Lists a market on every shard (and on every replacement started later); answers once each
/// running shard has it.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct AddShardMarket(pub MarketSpec);

impl Handler<AddShardMarket> for ShardSupervisor {
    type Result = ResponseFuture<()>;

    fn handle(
        &mut self,
        AddShardMarket(market): AddShardMarket,
        _ctx: &mut Self::Context,
    ) -> Self::Result {
        self.markets.insert(market.symbol, market);
        let shards = self.directory.all();
        Box::pin(async move {
            for shard in shards {
                // A shard that is gone is being replaced, and its replacement starts with the
                // supervisor's markets, this one included.
                let _gone = shard.send(AddMarket(market)).await;
            }
        })
    }
}

/// How many shards the supervisor replaced, by reason.
#[derive(Debug, Message)]
#[rtype(result = "BTreeMap<RestartReason, u64>")]
pub struct GetShardRestarts;

impl Handler<GetShardRestarts> for ShardSupervisor {
    type Result = MessageResult<GetShardRestarts>;

    fn handle(&mut self, _query: GetShardRestarts, _ctx: &mut Self::Context) -> Self::Result {
        MessageResult(self.restarts.clone())
    }
}
