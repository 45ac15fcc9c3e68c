//! Test builds only: a poisoned message that makes a shard's handler panic, as a bug would, to
//! test that the shard supervisor replaces it.

use actix::prelude::*;

use super::AccountShard;

/// The handler panics, taking down the shard's actor.
#[derive(Clone, Copy, Debug, Message)]
#[rtype(result = "()")]
pub struct PoisonShard;

impl Handler<PoisonShard> for AccountShard {
    type Result = ();

    fn handle(&mut self, _poison: PoisonShard, _ctx: &mut Self::Context) {
        panic!("poisoned message for account shard {}", self.shard_index);
    }
}
