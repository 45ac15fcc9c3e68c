//! `ShardSupervisor`: starts the account shards (each on its own arbiter, rebuilt from the
//! journal), and replaces one that failed (its actor is gone: a handler panicked, or it stopped
//! after its journal refused a write) or stalled (it did not answer a ping within the stall
//! timeout). The replacement takes a new epoch before reading the journal, so a stalled
//! instance that wakes up later can never commit again; its clients get errors, never a
//! second, diverging acknowledgement.

use std::collections::BTreeMap;
use std::sync::Arc;

use actix::prelude::*;

use super::{RestartReason, ShardDirectory, SupervisorSettings};
use crate::account::MarketSpec;
use crate::account::actor::{AccountShard, PingShard, ShardPorts, ShardStartError};
use crate::model::SymbolCode;

pub struct ShardSupervisor {
    markets: BTreeMap<SymbolCode, MarketSpec>,
    ports: ShardPorts,
    directory: Arc<ShardDirectory>,
    settings: SupervisorSettings,
    /// Per shard index: a check or a restart is under way.
    busy: Vec<bool>,
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
    markets: BTreeMap<SymbolCode, MarketSpec>,
    ports: ShardPorts,
) -> Result<Addr<AccountShard>, ShardStartError> {
    let arbiter = Arbiter::new();
    AccountShard::start(shard_index, markets, ports, &arbiter.handle()).await
}

impl ShardSupervisor {
    /// Starts shards `0..count` in order and the supervisor watching them.
    pub async fn start(
        count: u16,
        markets: BTreeMap<SymbolCode, MarketSpec>,
        ports: ShardPorts,
        settings: SupervisorSettings,
    ) -> Result<(Addr<ShardSupervisor>, Arc<ShardDirectory>), ShardStartError> {
        let mut shards = Vec::with_capacity(usize::from(count));
        for shard_index in 0..count {
            shards.push(start_shard(shard_index, markets.clone(), ports.clone()).await?);
        }
        let directory = ShardDirectory::new(shards);
        let supervisor = ShardSupervisor {
            markets,
            ports,
            directory: directory.clone(),
            settings,
            busy: vec![false; usize::from(count)],
            restarts: BTreeMap::new(),
        };
        Ok((supervisor.start(), directory))
    }

    fn check(&mut self, ctx: &mut Context<Self>) {
        for index in 0..self.busy.len() {
            if self.busy[index] {
                continue;
            }
            let shard = self.directory.at(index);
            if !shard.connected() {
                self.restart(index, RestartReason::Failed, ctx);
                continue;
            }
            self.busy[index] = true;
            let ping = shard.send(PingShard).timeout(self.settings.stall_timeout);
            ctx.spawn(ping.into_actor(self).map(move |answer, supervisor, ctx| {
                supervisor.busy[index] = false;
                match answer {
                    Ok(_index) => {}
                    Err(MailboxError::Timeout) => {
                        supervisor.restart(index, RestartReason::Stalled, ctx);
                    }
                    Err(MailboxError::Closed) => {
                        supervisor.restart(index, RestartReason::Failed, ctx);
                    }
                }
            }));
        }
    }

    fn restart(&mut self, index: usize, reason: RestartReason, ctx: &mut Context<Self>) {
        let Ok(shard_index) = u16::try_from(index) else { return };
        self.busy[index] = true;
        tracing::warn!(shard_index, ?reason, "replacing account shard");
        let (markets, ports) = (self.markets.clone(), self.ports.clone());
        let start = start_shard(shard_index, markets, ports);
        ctx.spawn(start.into_actor(self).map(move |started, supervisor, _ctx| {
            supervisor.busy[index] = false;
            match started {
                Ok(address) => {
                    supervisor.directory.set(index, address);
                    *supervisor.restarts.entry(reason).or_default() += 1;
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
