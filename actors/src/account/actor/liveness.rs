//! What the shard supervisor asks a shard to tell that it is alive and responsive, and (in test
//! builds) a poisoned message that makes its handler panic.

use actix::prelude::*;

use super::AccountShard;

/// Answered at once with the shard's index; a shard that does not answer within the stall
/// timeout is replaced.
#[derive(Clone, Copy, Debug, Message)]
#[rtype(result = "u16")]
pub struct PingShard;

impl Handler<PingShard> for AccountShard {
    type Result = u16;

    fn handle(&mut self, _ping: PingShard, _ctx: &mut Self::Context) -> u16 {
        self.shard_index
    }
}

/// Test-only: the handler panics, as a bug would, taking down the shard's arbiter thread.
#[cfg(feature = "fault-injection")]
#[derive(Clone, Copy, Debug, Message)]
#[rtype(result = "()")]
pub struct PoisonShard;

#[cfg(feature = "fault-injection")]
impl Handler<PoisonShard> for AccountShard {
    type Result = ();

    fn handle(&mut self, _poison: PoisonShard, _ctx: &mut Self::Context) {
        panic!("poisoned message for account shard {}", self.shard_index);
    }
}
