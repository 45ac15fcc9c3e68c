//! Where each account shard currently lives, by shard index. The shard supervisor swaps in a
//! replacement's address; callers look the address up per request (an atomic pointer load), so
//! after a restart they reach the new instance.

use std::sync::Arc;

use actix::Addr;
use arc_swap::ArcSwap;

use crate::account::actor::AccountShard;
use crate::account::shard_of;
use crate::model::AccountId;

#[derive(Debug)]
pub struct ShardDirectory {
    shards: ArcSwap<Vec<Addr<AccountShard>>>,
}

impl ShardDirectory {
    /// The shards in index order; their count never changes afterwards.
    pub fn new(shards: Vec<Addr<AccountShard>>) -> Arc<ShardDirectory> {
        assert!(!shards.is_empty(), "at least one account shard");
        Arc::new(ShardDirectory { shards: ArcSwap::from_pointee(shards) })
    }

    /// The shard that owns `account`.
    pub fn shard(&self, account: AccountId) -> Addr<AccountShard> {
        let shards = self.shards.load();
        shards[shard_of(account, shards.len())].clone()
    }

    /// The shard at `index` (0-based, below [`ShardDirectory::len`]).
    pub fn at(&self, index: usize) -> Addr<AccountShard> {
        self.shards.load()[index].clone()
    }

    pub fn len(&self) -> usize {
        self.shards.load().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn all(&self) -> Vec<Addr<AccountShard>> {
        self.shards.load().as_ref().clone()
    }

    /// Points shard `index` at `address` (its replacement).
    pub fn set(&self, index: usize, address: Addr<AccountShard>) {
        self.shards.rcu(|shards| {
            let mut shards = Vec::clone(shards);
            shards[index] = address.clone();
            shards
        });
    }
}
